/* SPDX-License-Identifier: MIT */
/**
 * @file kern_conv_backward.c
 * @brief conv2d backward data / backward weights and ReLU forward / backward as plain loops
 * (float32 data; weight gradients in double).
 *
 * The CPU codelets run oneDNN's backward primitives instead (kern_dnnl_backward.c, the _dnnl
 * kernels: same contracts; several times faster from 8 channels, slower for backward data with
 * fewer input channels). These loops are the reference the tests compare them with, and the
 * CUDA kernels mirror them: one input cell or one weight tap per thread through kern_index.h in
 * the same summation order (the _by_element functions below run those per-cell functions here,
 * so the CPU tests check them bit for bit). The loops run one weight tap at a time over
 * contiguous output rows, so the inner loop is an axpy (backward data) or a dot product
 * (backward weights) that GCC vectorises. The _g variants take conv groups (weights Cout x
 * Cin/G x k x k); the per-element ones (and CUDA) are ungrouped.
 */
#if !defined(__clang__) /* clang has no optimize pragma (the sanitized build uses clang) */
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif

#include <inttypes.h>
#include <string.h>

#include "kern_geom.h"
#include "starhalo_kernels_cnn.h"

starhalo_status_t starhalo_kern_conv2d_bwd_data_cpu(const starhalo_kern_tile_t *out_tile,
                                                    const float *grad_out, const float *weights,
                                                    const starhalo_layer_t *layer,
                                                    const starhalo_kern_tile_t *in_tile,
                                                    float *grad_in, const starhalo_box_t *region)
{
    return starhalo_kern_conv2d_bwd_data_cpu_g(out_tile, grad_out, weights, layer, 1, in_tile,
                                               grad_in, region);
}

starhalo_status_t starhalo_kern_conv2d_bwd_data_cpu_g(const starhalo_kern_tile_t *out_tile,
                                                      const float *grad_out, const float *weights,
                                                      const starhalo_layer_t *layer, int groups,
                                                      const starhalo_kern_tile_t *in_tile,
                                                      float *grad_in, const starhalo_box_t *region)
{
    starhalo_kidx_bwd_t g;
    STARHALO_CHECK(starhalo__kern_bwd_prepare("conv2d_bwd_data", in_tile, out_tile, layer, region,
                                              grad_out, weights, grad_in, &g));
    STARHALO_CHECK(starhalo__kern_groups_check("conv2d_bwd_data", groups, in_tile, out_tile));
    memset(grad_in, 0, sizeof(float) * (size_t)starhalo_kern_tile_elems(in_tile));
    if (starhalo__kern_region_empty_2d(region))
        return STARHALO_OK;
    const int64_t ipl = g.igh * g.igw, opl = g.ogh * g.ogw;
    const int64_t cig = g.cin / groups, cog = g.cout / groups; /* channels per group */
    for (int64_t n = 0; n < g.n; n++)
        for (int64_t ci = 0; ci < g.cin; ci++) {
            float *gi = grad_in + (n * g.cin + ci) * ipl;
            const int64_t grp = ci / cig;
            for (int64_t co = grp * cog; co < (grp + 1) * cog; co++) {
                const float *go = grad_out + (n * g.cout + co) * opl;
                const float *w = weights + (co * cig + ci - grp * cig) * g.k * g.k;
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
    return starhalo_kern_conv2d_bwd_weights_cpu_g(in_tile, in, out_tile, grad_out, layer, 1, region,
                                                  grad_w);
}

starhalo_status_t
starhalo_kern_conv2d_bwd_weights_cpu_g(const starhalo_kern_tile_t *in_tile, const float *in,
                                       const starhalo_kern_tile_t *out_tile, const float *grad_out,
                                       const starhalo_layer_t *layer, int groups,
                                       const starhalo_box_t *region, double *grad_w)
{
    starhalo_kidx_bwd_t g;
    STARHALO_CHECK(starhalo__kern_bwd_prepare("conv2d_bwd_weights", in_tile, out_tile, layer,
                                              region, in, grad_out, grad_w, &g));
    STARHALO_CHECK(starhalo__kern_groups_check("conv2d_bwd_weights", groups, in_tile, out_tile));
    const int64_t cig = g.cin / groups, cog = g.cout / groups; /* channels per group */
    memset(grad_w, 0, sizeof(double) * (size_t)(g.cout * cig * g.k * g.k));
    if (starhalo__kern_region_empty_2d(region))
        return STARHALO_OK;
    const int64_t ipl = g.igh * g.igw, opl = g.ogh * g.ogw, kk = g.k * g.k;
    /* One (co, ci) pair at a time (ci in co's group), all taps per output row: the row and the
     * k input rows it meets stay in L1 instead of streaming both planes once per tap. */
    for (int64_t co = 0; co < g.cout; co++)
        for (int64_t cl = 0; cl < cig; cl++) {
            const int64_t ci = co / cog * cig + cl;
            double *acc = grad_w + (co * cig + cl) * kk;
            for (int64_t n = 0; n < g.n; n++) {
                const float *go = grad_out + (n * g.cout + co) * opl;
                const float *xi = in + (n * g.cin + ci) * ipl;
                for (int64_t y = 0; y < g.oh; y++) {
                    const float *a = go + (g.oy0 + y) * g.ogw + g.ox0;
                    for (int64_t ky = 0; ky < g.k; ky++)
                        for (int64_t kx = 0; kx < g.k; kx++) {
                            const float *b =
                                xi + (g.iy0 + y * g.s + ky * g.dil) * g.igw + g.ix0 + kx * g.dil;
                            acc[ky * g.k + kx] += starhalo_kidx_row_dot(a, b, g.ow, g.s);
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
    if (starhalo__kern_region_empty_2d(region))
        return STARHALO_OK;
    const int64_t gw = tile->box.hi[0] - tile->box.lo[0], gh = tile->box.hi[1] - tile->box.lo[1];
    const int64_t x0 = region->lo[0] - tile->box.lo[0], y0 = region->lo[1] - tile->box.lo[1];
    const int64_t w = region->hi[0] - region->lo[0], h = region->hi[1] - region->lo[1];
    for (int64_t p = 0; p < tile->batch * tile->channels; p++)
        for (int64_t y = 0; y < h; y++) {
            const int64_t off = (p * gh + y0 + y) * gw + x0;
            const float *src = a + off;
            float *dst = b + off;
            for (int64_t x = 0; x < w; x++)
                dst[x] = starhalo_kidx_relu(mask, src[x], dst[x]);
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

starhalo_status_t starhalo_kern_conv2d_bwd_data_by_element_cpu(
    const starhalo_kern_tile_t *out_tile, const float *grad_out, const float *weights,
    const starhalo_layer_t *layer, const starhalo_kern_tile_t *in_tile, float *grad_in,
    const starhalo_box_t *region)
{
    starhalo_kidx_bwd_t g;
    STARHALO_CHECK(starhalo__kern_bwd_prepare("conv2d_bwd_data", in_tile, out_tile, layer, region,
                                              grad_out, weights, grad_in, &g));
    const int64_t n = starhalo_kern_tile_elems(in_tile);
    const int empty = starhalo__kern_region_empty_2d(region);
    for (int64_t e = 0; e < n; e++)
        grad_in[e] = empty ? 0.0f : starhalo_kidx_conv_bwd_data_cell(&g, grad_out, weights, e);
    return STARHALO_OK;
}

starhalo_status_t starhalo_kern_conv2d_bwd_weights_by_element_cpu(
    const starhalo_kern_tile_t *in_tile, const float *in, const starhalo_kern_tile_t *out_tile,
    const float *grad_out, const starhalo_layer_t *layer, const starhalo_box_t *region,
    double *grad_w)
{
    starhalo_kidx_bwd_t g;
    STARHALO_CHECK(starhalo__kern_bwd_prepare("conv2d_bwd_weights", in_tile, out_tile, layer,
                                              region, in, grad_out, grad_w, &g));
    const int empty = starhalo__kern_region_empty_2d(region);
    for (int64_t t = 0; t < g.cout * g.cin * g.k * g.k; t++)
        grad_w[t] = empty ? 0.0 : starhalo_kidx_conv_bwd_weights_tap(&g, in, grad_out, t);
    return STARHALO_OK;
}
