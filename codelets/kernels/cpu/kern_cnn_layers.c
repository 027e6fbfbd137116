/* SPDX-License-Identifier: MIT */
/**
 * @file kern_cnn_layers.c
 * @brief The CNN layer kernels beyond conv: pooling backward (max / average), batch-norm
 * statistics, apply and backward, per-channel affine (bias), residual add, global-average-pool
 * sums and fill. Plain loops on float32 tiles, CPU only for now.
 *
 * Every sum is accumulated in double in a fixed order (n ascending, then y, then x, per
 * channel), so a result does not depend on threads or vector width; the caller adds the
 * partial sums of the parts in its own fixed order. Pooling backward scatters into a double
 * accumulator per plane and rounds once, so a cell shared by several windows gets the same
 * value whatever the window order.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kern_geom.h"
#include "starhalo_kernels_cnn.h"

/* Tile-local geometry of a region: plane width / height of the tile, the region's origin in
 * the tile and its extents. */
typedef struct span2 {
    int64_t gw, gh, x0, y0, w, h, planes, channels;
} span2_t;

static span2_t span_of(const starhalo_kern_tile_t *t, const starhalo_box_t *r)
{
    span2_t s;
    s.gw = t->box.hi[0] - t->box.lo[0];
    s.gh = t->box.hi[1] - t->box.lo[1];
    s.x0 = r->lo[0] - t->box.lo[0];
    s.y0 = r->lo[1] - t->box.lo[1];
    s.w = r->hi[0] - r->lo[0];
    s.h = r->hi[1] - r->lo[1];
    s.planes = t->batch * t->channels;
    s.channels = t->channels;
    return s;
}

/* Offset of row y of the region in plane p. */
static inline int64_t row_off(const span2_t *s, int64_t p, int64_t y)
{
    return (p * s->gh + s->y0 + y) * s->gw + s->x0;
}

/* ---------------------------------------------------------------------------------------- */
/* Pooling backward                                                                          */
/* ---------------------------------------------------------------------------------------- */

starhalo_status_t starhalo_kern_pool2d_bwd_cpu(starhalo_pool_kind_t kind,
                                               const starhalo_kern_tile_t *in_tile, const float *in,
                                               const starhalo_kern_tile_t *out_tile,
                                               const float *grad_out, const starhalo_layer_t *layer,
                                               const starhalo_box_t *domain, float *grad_in,
                                               const starhalo_box_t *region)
{
    const char *what = "pool2d_bwd";
    STARHALO_REQUIRE(kind == STARHALO_POOL_MAX || kind == STARHALO_POOL_AVG ||
                         kind == STARHALO_POOL_AVG_EXCLUDE,
                     STARHALO_ERR_INVALID_ARG, "%s: unknown pooling kind %d", what, (int)kind);
    STARHALO_CHECK(starhalo__kern_layer_check(what, in_tile, layer, out_tile, region));
    STARHALO_CHECK(starhalo__kern_check_region(what, in_tile, &in_tile->box, 0));
    STARHALO_REQUIRE(in_tile->channels == out_tile->channels, STARHALO_ERR_INVALID_ARG,
                     "%s: pooling keeps channels, got %" PRId64 " in and %" PRId64 " out", what,
                     in_tile->channels, out_tile->channels);
    STARHALO_REQUIRE(grad_out && grad_in && (in || kind != STARHALO_POOL_MAX),
                     STARHALO_ERR_INVALID_ARG, "%s: NULL data pointer", what);
    const starhalo_box_t dom = domain ? *domain : in_tile->box;
    const int64_t k = layer->kernel, s = layer->stride, dil = layer->dilation, p = layer->padding;
    /* Every in-domain cell of the region's windows must be in the tile (bounding interval of
     * the windows, clipped to the domain, per dim). */
    if (!starhalo__kern_region_empty_2d(region))
        for (int d = 0; d < 2; d++) {
            int64_t first = region->lo[d] * s - p,
                    last = (region->hi[d] - 1) * s - p + dil * (k - 1);
            first = first < dom.lo[d] ? dom.lo[d] : first;
            last = last > dom.hi[d] - 1 ? dom.hi[d] - 1 : last;
            STARHALO_REQUIRE(first > last ||
                                 (first >= in_tile->box.lo[d] && last < in_tile->box.hi[d]),
                             STARHALO_ERR_INVALID_ARG,
                             "%s: the in-image input window [%" PRId64 ", %" PRId64
                             "] of dim %d leaves the input tile [%" PRId64 ", %" PRId64 ")",
                             what, first, last, d, in_tile->box.lo[d], in_tile->box.hi[d]);
        }
    if (starhalo__kern_region_empty_2d(region)) {
        memset(grad_in, 0, sizeof(float) * (size_t)starhalo_kern_tile_elems(in_tile));
        return STARHALO_OK;
    }
    const span2_t is = span_of(in_tile, &in_tile->box), os = span_of(out_tile, region);
    const int64_t ipl = is.gw * is.gh;
    double *acc = malloc(sizeof(double) * (size_t)ipl);
    if (!acc)
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "%s: accumulator of %" PRId64 " doubles",
                                  what, ipl);
    const double full = (double)(k * k);
    /* Tile-local window origin of output (gx, gy) and the domain in tile-local coordinates. */
    const int64_t dx0 = dom.lo[0] - in_tile->box.lo[0], dx1 = dom.hi[0] - in_tile->box.lo[0];
    const int64_t dy0 = dom.lo[1] - in_tile->box.lo[1], dy1 = dom.hi[1] - in_tile->box.lo[1];
    for (int64_t pl = 0; pl < is.planes; pl++) {
        memset(acc, 0, sizeof(double) * (size_t)ipl);
        const float *xin = in ? in + pl * ipl : NULL;
        for (int64_t y = 0; y < os.h; y++) {
            const float *go = grad_out + row_off(&os, pl, y);
            const int64_t iy0 = (region->lo[1] + y) * s - p - in_tile->box.lo[1];
            for (int64_t x = 0; x < os.w; x++) {
                const double g = go[x];
                const int64_t ix0 = (region->lo[0] + x) * s - p - in_tile->box.lo[0];
                if (kind == STARHALO_POOL_MAX) {
                    int64_t best = -1;
                    float bv = 0.0f;
                    for (int64_t ky = 0; ky < k; ky++) {
                        const int64_t iy = iy0 + ky * dil;
                        if (iy < dy0 || iy >= dy1)
                            continue;
                        for (int64_t kx = 0; kx < k; kx++) {
                            const int64_t ix = ix0 + kx * dil;
                            if (ix < dx0 || ix >= dx1)
                                continue;
                            const float v = xin[iy * is.gw + ix];
                            if (best < 0 || v > bv || (isnan(v) && !isnan(bv))) {
                                best = iy * is.gw + ix;
                                bv = v;
                            }
                        }
                    }
                    if (best >= 0)
                        acc[best] += g;
                    continue;
                }
                double div = full;
                if (kind == STARHALO_POOL_AVG_EXCLUDE) {
                    int64_t ny = 0, nx = 0;
                    for (int64_t ky = 0; ky < k; ky++)
                        ny += iy0 + ky * dil >= dy0 && iy0 + ky * dil < dy1;
                    for (int64_t kx = 0; kx < k; kx++)
                        nx += ix0 + kx * dil >= dx0 && ix0 + kx * dil < dx1;
                    if (ny * nx == 0)
                        continue;
                    div = (double)(ny * nx);
                }
                const double v = g / div;
                for (int64_t ky = 0; ky < k; ky++) {
                    const int64_t iy = iy0 + ky * dil;
                    if (iy < dy0 || iy >= dy1)
                        continue;
                    for (int64_t kx = 0; kx < k; kx++) {
                        const int64_t ix = ix0 + kx * dil;
                        if (ix >= dx0 && ix < dx1)
                            acc[iy * is.gw + ix] += v;
                    }
                }
            }
        }
        float *gi = grad_in + pl * ipl; /* every cell: the tile is wholly overwritten */
        for (int64_t e = 0; e < ipl; e++)
            gi[e] = (float)acc[e];
    }
    free(acc);
    return STARHALO_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Batch norm, channel affine, add                                                           */
/* ---------------------------------------------------------------------------------------- */

starhalo_status_t starhalo_kern_bn_sums_cpu(const starhalo_kern_tile_t *tile, const float *x,
                                            const float *dy, const double *mean,
                                            const double *invstd, const starhalo_box_t *region,
                                            double *sums)
{
    const char *what = dy ? "bn_sums (backward)" : "bn_sums";
    STARHALO_CHECK(starhalo__kern_check_region(what, tile, region, 0));
    STARHALO_REQUIRE(x && sums, STARHALO_ERR_INVALID_ARG, "%s: NULL x or sums", what);
    STARHALO_REQUIRE(!dy || (mean && invstd), STARHALO_ERR_INVALID_ARG, "%s: NULL mean or invstd",
                     what);
    const span2_t sp = span_of(tile, region);
    const int64_t C = sp.channels;
    memset(sums, 0, sizeof(double) * (size_t)(2 * C));
    if (starhalo__kern_region_empty_2d(region))
        return STARHALO_OK;
    for (int64_t c = 0; c < C; c++) {
        double s0 = 0.0, s1 = 0.0;
        const double m = dy ? mean[c] : 0.0, is = dy ? invstd[c] : 0.0;
        for (int64_t n = 0; n < tile->batch; n++)
            for (int64_t y = 0; y < sp.h; y++) {
                const int64_t off = row_off(&sp, n * C + c, y);
                const float *xr = x + off;
                if (!dy) {
                    for (int64_t i = 0; i < sp.w; i++) {
                        const double v = xr[i];
                        s0 += v;
                        s1 += v * v;
                    }
                } else {
                    const float *gr = dy + off;
                    for (int64_t i = 0; i < sp.w; i++) {
                        const double g = gr[i];
                        s0 += g;
                        s1 += g * ((xr[i] - m) * is);
                    }
                }
            }
        sums[c] = s0;
        sums[C + c] = s1;
    }
    return STARHALO_OK;
}

starhalo_status_t starhalo_kern_channel_affine_cpu(const starhalo_kern_tile_t *tile, const float *x,
                                                   float *y, const double *scale,
                                                   const double *shift,
                                                   const starhalo_box_t *region)
{
    STARHALO_CHECK(starhalo__kern_check_region("channel_affine", tile, region, 0));
    STARHALO_REQUIRE(x && y, STARHALO_ERR_INVALID_ARG, "channel_affine: NULL x or y");
    if (starhalo__kern_region_empty_2d(region))
        return STARHALO_OK;
    const span2_t sp = span_of(tile, region);
    for (int64_t p = 0; p < sp.planes; p++) {
        const int64_t c = p % sp.channels;
        const double a = scale ? scale[c] : 1.0, b = shift ? shift[c] : 0.0;
        for (int64_t r = 0; r < sp.h; r++) {
            const int64_t off = row_off(&sp, p, r);
            for (int64_t i = 0; i < sp.w; i++)
                y[off + i] = (float)((double)x[off + i] * a + b);
        }
    }
    return STARHALO_OK;
}

starhalo_status_t starhalo_kern_bn_bwd_cpu(const starhalo_kern_tile_t *tile, const float *x,
                                           const float *dy, float *dx, const double *mean,
                                           const double *invstd, const double *gamma,
                                           const double *sums, double count,
                                           const starhalo_box_t *region)
{
    STARHALO_CHECK(starhalo__kern_check_region("bn_bwd", tile, region, 0));
    STARHALO_REQUIRE(x && dy && dx && mean && invstd && sums, STARHALO_ERR_INVALID_ARG,
                     "bn_bwd: NULL x, dy, dx, mean, invstd or sums");
    STARHALO_REQUIRE(count > 0.0, STARHALO_ERR_INVALID_ARG,
                     "bn_bwd: count %g (cells per channel) must be > 0", count);
    if (starhalo__kern_region_empty_2d(region))
        return STARHALO_OK;
    const span2_t sp = span_of(tile, region);
    const int64_t C = sp.channels;
    for (int64_t p = 0; p < sp.planes; p++) {
        const int64_t c = p % C;
        const double m = mean[c], is = invstd[c], sdy = sums[c], sdx = sums[C + c];
        const double f = (gamma ? gamma[c] : 1.0) * is / count;
        for (int64_t r = 0; r < sp.h; r++) {
            const int64_t off = row_off(&sp, p, r);
            for (int64_t i = 0; i < sp.w; i++) {
                const double xhat = ((double)x[off + i] - m) * is;
                dx[off + i] = (float)(f * (count * (double)dy[off + i] - sdy - xhat * sdx));
            }
        }
    }
    return STARHALO_OK;
}

starhalo_status_t starhalo_kern_add_cpu(const starhalo_kern_tile_t *tile, const float *a,
                                        const float *b, float *out, const starhalo_box_t *region)
{
    STARHALO_CHECK(starhalo__kern_check_region("add", tile, region, 0));
    STARHALO_REQUIRE(a && b && out, STARHALO_ERR_INVALID_ARG, "add: NULL a, b or out");
    if (starhalo__kern_region_empty_2d(region))
        return STARHALO_OK;
    const span2_t sp = span_of(tile, region);
    for (int64_t p = 0; p < sp.planes; p++)
        for (int64_t r = 0; r < sp.h; r++) {
            const int64_t off = row_off(&sp, p, r);
            for (int64_t i = 0; i < sp.w; i++)
                out[off + i] = a[off + i] + b[off + i];
        }
    return STARHALO_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Global average pool: plane sums and fill                                                  */
/* ---------------------------------------------------------------------------------------- */

starhalo_status_t starhalo_kern_plane_sums_cpu(const starhalo_kern_tile_t *tile, const float *x,
                                               const starhalo_box_t *region, double *sums)
{
    STARHALO_CHECK(starhalo__kern_check_region("plane_sums", tile, region, 0));
    STARHALO_REQUIRE(x && sums, STARHALO_ERR_INVALID_ARG, "plane_sums: NULL x or sums");
    const span2_t sp = span_of(tile, region);
    memset(sums, 0, sizeof(double) * (size_t)sp.planes);
    if (starhalo__kern_region_empty_2d(region))
        return STARHALO_OK;
    for (int64_t p = 0; p < sp.planes; p++) {
        double acc = 0.0;
        for (int64_t r = 0; r < sp.h; r++) {
            const float *xr = x + row_off(&sp, p, r);
            for (int64_t i = 0; i < sp.w; i++)
                acc += xr[i];
        }
        sums[p] = acc;
    }
    return STARHALO_OK;
}

starhalo_status_t starhalo_kern_plane_fill_cpu(const starhalo_kern_tile_t *tile, float *x,
                                               const starhalo_box_t *region, const double *values)
{
    STARHALO_CHECK(starhalo__kern_check_region("plane_fill", tile, region, 0));
    STARHALO_REQUIRE(x && values, STARHALO_ERR_INVALID_ARG, "plane_fill: NULL x or values");
    if (starhalo__kern_region_empty_2d(region))
        return STARHALO_OK;
    const span2_t sp = span_of(tile, region);
    for (int64_t p = 0; p < sp.planes; p++) {
        const float v = (float)values[p];
        for (int64_t r = 0; r < sp.h; r++) {
            float *xr = x + row_off(&sp, p, r);
            for (int64_t i = 0; i < sp.w; i++)
                xr[i] = v;
        }
    }
    return STARHALO_OK;
}
