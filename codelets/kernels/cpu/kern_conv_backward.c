/* SPDX-License-Identifier: MIT */
/**
 * @file kern_conv_backward.c
 * @brief conv2d backward data / backward weights and ReLU forward / backward as plain loops
 * (float32 data; weight gradients in double).
 *
 * Why loops and not oneDNN's backward primitives: the backward-data result must cover the
 * whole ghosted tile (ghost cells included, they are routed to their owners), which is what
 * oneDNN's diff_src with zero padding gives only on a dense copy, and the weight gradient of a
 * part must be summed in a fixed order with the other parts'. The loops run one weight tap at
 * a time over contiguous output rows, so the inner loop is an axpy (backward data) or a dot
 * product (backward weights) that GCC vectorises.
 */
#if !defined(__clang__) /* clang has no optimize pragma (the sanitized build uses clang) */
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif

#include <inttypes.h>
#include <string.h>

#include "kern_geom.h"
#include "starhalo_kernels_cnn.h"

/* Geometry of one backward call in tile-local coordinates. */
typedef struct bwd_geom {
    int64_t n, cin, cout, k, s, dil;
    int64_t oy0, ox0, oh, ow;   /* region, local to the output tile */
    int64_t iy0, ix0;           /* input cell of tap 0 of region cell (0, 0), local to in tile */
    int64_t ogh, ogw, igh, igw; /* tile sizes */
} bwd_geom_t;

static starhalo_status_t bwd_geom(const char *what, const starhalo_kern_tile_t *in_tile,
                                  const starhalo_kern_tile_t *out_tile,
                                  const starhalo_layer_t *layer, const starhalo_box_t *region,
                                  bwd_geom_t *g)
{
    STARHALO_CHECK(starhalo__kern_layer_check(what, in_tile, layer, out_tile, region));
    STARHALO_REQUIRE(in_tile->box.hi[2] - in_tile->box.lo[2] == 1, STARHALO_ERR_INVALID_ARG,
                     "%s: 2-D kernel: input tile dim 2 must be one cell thick", what);
    memset(g, 0, sizeof *g);
    g->n = out_tile->batch;
    g->cin = in_tile->channels;
    g->cout = out_tile->channels;
    g->k = layer->kernel;
    g->s = layer->stride;
    g->dil = layer->dilation;
    const int64_t reach = g->dil * (g->k - 1);
    int64_t first[2], last[2];
    for (int d = 0; d < 2; d++) {
        first[d] = region->lo[d] * g->s - layer->padding;
        last[d] = (region->hi[d] - 1) * g->s - layer->padding + reach;
        if (region->hi[d] <= region->lo[d])
            continue;
        STARHALO_REQUIRE(first[d] >= in_tile->box.lo[d] && last[d] < in_tile->box.hi[d],
                         STARHALO_ERR_INVALID_ARG,
                         "%s: the input window [%" PRId64 ", %" PRId64 "] of dim %d leaves the "
                         "input tile [%" PRId64 ", %" PRId64 ")",
                         what, first[d], last[d], d, in_tile->box.lo[d], in_tile->box.hi[d]);
    }
    g->ogw = out_tile->box.hi[0] - out_tile->box.lo[0];
    g->ogh = out_tile->box.hi[1] - out_tile->box.lo[1];
    g->igw = in_tile->box.hi[0] - in_tile->box.lo[0];
    g->igh = in_tile->box.hi[1] - in_tile->box.lo[1];
    g->ox0 = region->lo[0] - out_tile->box.lo[0];
    g->oy0 = region->lo[1] - out_tile->box.lo[1];
    g->ow = region->hi[0] - region->lo[0];
    g->oh = region->hi[1] - region->lo[1];
    g->ix0 = first[0] - in_tile->box.lo[0];
    g->iy0 = first[1] - in_tile->box.lo[1];
    return STARHALO_OK;
}

/* sum a[x] * b[x * s] in double with LANES independent partial sums in a fixed order: an FP
 * reduction is not vectorised without reassociation, independent lanes are. */
#define LANES 8
static double row_dot(const float *restrict a, const float *restrict b, int64_t n, int64_t s)
{
    double lane[LANES] = {0};
    int64_t x = 0;
    if (s == 1)
        for (; x + LANES <= n; x += LANES)
            for (int j = 0; j < LANES; j++)
                lane[j] += (double)a[x + j] * (double)b[x + j];
    double tail = 0.0;
    for (; x < n; x++)
        tail += (double)a[x] * (double)b[x * s];
    double sum = tail;
    for (int j = 0; j < LANES; j++)
        sum += lane[j];
    return sum;
}

static int region_empty(const starhalo_box_t *r)
{
    return r->hi[0] <= r->lo[0] || r->hi[1] <= r->lo[1];
}

starhalo_status_t starhalo_kern_conv2d_bwd_data_cpu(const starhalo_kern_tile_t *out_tile,
                                                    const float *grad_out, const float *weights,
                                                    const starhalo_layer_t *layer,
                                                    const starhalo_kern_tile_t *in_tile,
                                                    float *grad_in, const starhalo_box_t *region)
{
    bwd_geom_t g;
    STARHALO_CHECK(bwd_geom("conv2d_bwd_data", in_tile, out_tile, layer, region, &g));
    STARHALO_REQUIRE(grad_out && weights && grad_in, STARHALO_ERR_INVALID_ARG,
                     "conv2d_bwd_data: NULL data pointer");
    memset(grad_in, 0, sizeof(float) * (size_t)starhalo_kern_tile_elems(in_tile));
    if (region_empty(region))
        return STARHALO_OK;
    const int64_t ipl = g.igh * g.igw, opl = g.ogh * g.ogw;
    for (int64_t n = 0; n < g.n; n++)
        for (int64_t ci = 0; ci < g.cin; ci++) {
            float *gi = grad_in + (n * g.cin + ci) * ipl;
            for (int64_t co = 0; co < g.cout; co++) {
                const float *go = grad_out + (n * g.cout + co) * opl;
                const float *w = weights + (co * g.cin + ci) * g.k * g.k;
                for (int64_t ky = 0; ky < g.k; ky++)
                    for (int64_t kx = 0; kx < g.k; kx++) {
                        const float wv = w[ky * g.k + kx];
                        for (int64_t y = 0; y < g.oh; y++) {
                            const float *src = go + (g.oy0 + y) * g.ogw + g.ox0;
                            float *dst =
                                gi + (g.iy0 + y * g.s + ky * g.dil) * g.igw + g.ix0 + kx * g.dil;
                            if (g.s == 1)
                                for (int64_t x = 0; x < g.ow; x++)
                                    dst[x] += wv * src[x];
                            else
                                for (int64_t x = 0; x < g.ow; x++)
                                    dst[x * g.s] += wv * src[x];
                        }
                    }
            }
        }
    return STARHALO_OK;
}

starhalo_status_t starhalo_kern_conv2d_bwd_weights_cpu(const starhalo_kern_tile_t *in_tile,
                                                       const float *in,
                                                       const starhalo_kern_tile_t *out_tile,
                                                       const float *grad_out,
                                                       const starhalo_layer_t *layer,
                                                       const starhalo_box_t *region, double *grad_w)
{
    bwd_geom_t g;
    STARHALO_CHECK(bwd_geom("conv2d_bwd_weights", in_tile, out_tile, layer, region, &g));
    STARHALO_REQUIRE(in && grad_out && grad_w, STARHALO_ERR_INVALID_ARG,
                     "conv2d_bwd_weights: NULL data pointer");
    memset(grad_w, 0, sizeof(double) * (size_t)(g.cout * g.cin * g.k * g.k));
    if (region_empty(region))
        return STARHALO_OK;
    const int64_t ipl = g.igh * g.igw, opl = g.ogh * g.ogw, kk = g.k * g.k;
    /* One (co, ci) pair at a time, all taps per output row: the row and the k input rows it
     * meets stay in L1 instead of streaming both planes once per tap. */
    for (int64_t co = 0; co < g.cout; co++)
        for (int64_t ci = 0; ci < g.cin; ci++) {
            double *acc = grad_w + (co * g.cin + ci) * kk;
            for (int64_t n = 0; n < g.n; n++) {
                const float *go = grad_out + (n * g.cout + co) * opl;
                const float *xi = in + (n * g.cin + ci) * ipl;
                for (int64_t y = 0; y < g.oh; y++) {
                    const float *a = go + (g.oy0 + y) * g.ogw + g.ox0;
                    for (int64_t ky = 0; ky < g.k; ky++)
                        for (int64_t kx = 0; kx < g.k; kx++) {
                            const float *b =
                                xi + (g.iy0 + y * g.s + ky * g.dil) * g.igw + g.ix0 + kx * g.dil;
                            acc[ky * g.k + kx] += row_dot(a, b, g.ow, g.s);
                        }
                }
            }
        }
    return STARHALO_OK;
}

/* Apply ReLU (mask = 0) or its backward (mask = 1) on the region's rows. */
static starhalo_status_t relu_rows(const char *what, const starhalo_kern_tile_t *tile,
                                   const float *a, float *b, const starhalo_box_t *region, int mask)
{
    STARHALO_CHECK(starhalo__kern_check_region(what, tile, region, 0));
    STARHALO_REQUIRE(a && b, STARHALO_ERR_INVALID_ARG, "%s: NULL data pointer", what);
    if (region_empty(region))
        return STARHALO_OK;
    const int64_t gw = tile->box.hi[0] - tile->box.lo[0], gh = tile->box.hi[1] - tile->box.lo[1];
    const int64_t x0 = region->lo[0] - tile->box.lo[0], y0 = region->lo[1] - tile->box.lo[1];
    const int64_t w = region->hi[0] - region->lo[0], h = region->hi[1] - region->lo[1];
    for (int64_t p = 0; p < tile->batch * tile->channels; p++)
        for (int64_t y = 0; y < h; y++) {
            const int64_t off = (p * gh + y0 + y) * gw + x0;
            const float *src = a + off;
            float *dst = b + off;
            if (mask)
                for (int64_t x = 0; x < w; x++)
                    dst[x] = src[x] > 0.0f ? dst[x] : 0.0f;
            else
                for (int64_t x = 0; x < w; x++)
                    dst[x] = src[x] > 0.0f ? src[x] : 0.0f;
        }
    return STARHALO_OK;
}

starhalo_status_t starhalo_kern_relu_cpu(const starhalo_kern_tile_t *tile, const float *in,
                                         float *out, const starhalo_box_t *region)
{
    return relu_rows("relu", tile, in, out, region, 0);
}

starhalo_status_t starhalo_kern_relu_bwd_cpu(const starhalo_kern_tile_t *tile, const float *pre,
                                             float *grad, const starhalo_box_t *region)
{
    return relu_rows("relu_bwd", tile, pre, grad, region, 1);
}
