/* SPDX-License-Identifier: MIT */
/**
 * @file kern_cuda_cnn.cu
 * @brief CUDA conv2d backward data / backward weights and ReLU forward / backward (float32
 * data, weight gradients in double). StarPU-free, the caller's stream as void *.
 *
 * Why own kernels and not cuDNN's backward calls: the CPU kernels fix the summation order
 * (backward data over the whole ghosted tile, backward weights in double, kern_conv_backward.c)
 * and the GPU gives the same bits by running kern_index.h's per-cell functions: one thread per
 * input-gradient cell, per weight tap, per ReLU cell. cuDNN's float weight gradient and its
 * own reduction order would not match the CPU's bits.
 */
#include "kern_cuda_util.cuh"
#include "kern_index.h"
#include "starhalo_kernels_cnn.h"

namespace
{

using namespace starhalo_cuda;

__global__ void bwd_data_kernel(starhalo_kidx_bwd_t g, const float *__restrict__ grad_out,
                                const float *__restrict__ w, float *__restrict__ grad_in,
                                int64_t total, int empty)
{
    for (int64_t e = first_index(); e < total; e += grid_stride())
        grad_in[e] = empty ? 0.0f : starhalo_kidx_conv_bwd_data_cell(&g, grad_out, w, e);
}

__global__ void bwd_weights_kernel(starhalo_kidx_bwd_t g, const float *__restrict__ in,
                                   const float *__restrict__ grad_out, double *__restrict__ grad_w,
                                   int64_t total, int empty)
{
    for (int64_t t = first_index(); t < total; t += grid_stride())
        grad_w[t] = empty ? 0.0 : starhalo_kidx_conv_bwd_weights_tap(&g, in, grad_out, t);
}

__global__ void relu_kernel(int backward, const float *a, float *b, int64_t total, /* may alias */
                            int64_t rw, int64_t rh, int64_t x0, int64_t y0, int64_t gw, int64_t gh)
{
    for (int64_t i = first_index(); i < total; i += grid_stride()) {
        const int64_t t = starhalo_kidx_region_to_tile(i, rw, rh, x0, y0, gw, gh);
        b[t] = starhalo_kidx_relu(backward, a[t], b[t]);
    }
}

starhalo_status_t relu_cuda(const char *what, int backward, const starhalo_kern_tile_t *tile,
                            const float *a, float *b, const starhalo_box_t *region, void *stream)
{
    STARHALO_CHECK(starhalo__kern_check_region(what, tile, region, 0));
    STARHALO_REQUIRE(a && b, STARHALO_ERR_INVALID_ARG, "%s: NULL data pointer", what);
    if (starhalo__kern_region_empty_2d(region))
        return STARHALO_OK;
    const int64_t gw = tile->box.hi[0] - tile->box.lo[0], gh = tile->box.hi[1] - tile->box.lo[1];
    const int64_t rw = region->hi[0] - region->lo[0], rh = region->hi[1] - region->lo[1];
    const int64_t total = rw * rh * tile->batch * tile->channels;
    relu_kernel<<<blocks_for(total), kThreads, 0, (cudaStream_t)stream>>>(
        backward, a, b, total, rw, rh, region->lo[0] - tile->box.lo[0],
        region->lo[1] - tile->box.lo[1], gw, gh);
    return launched(what);
}

} // namespace

starhalo_status_t starhalo_kern_conv2d_bwd_data_cuda(const starhalo_kern_tile_t *out_tile,
                                                     const float *grad_out, const float *weights,
                                                     const starhalo_layer_t *layer,
                                                     const starhalo_kern_tile_t *in_tile,
                                                     float *grad_in, const starhalo_box_t *region,
                                                     void *stream)
{
    starhalo_kidx_bwd_t g;
    STARHALO_CHECK(starhalo__kern_bwd_prepare("conv2d_bwd_data_cuda", in_tile, out_tile, layer,
                                              region, grad_out, weights, grad_in, &g));
    const int64_t total = starhalo_kern_tile_elems(in_tile);
    bwd_data_kernel<<<blocks_for(total), kThreads, 0, (cudaStream_t)stream>>>(
        g, grad_out, weights, grad_in, total, starhalo__kern_region_empty_2d(region));
    return launched("conv2d_bwd_data_cuda");
}

starhalo_status_t
starhalo_kern_conv2d_bwd_weights_cuda(const starhalo_kern_tile_t *in_tile, const float *in,
                                      const starhalo_kern_tile_t *out_tile, const float *grad_out,
                                      const starhalo_layer_t *layer, const starhalo_box_t *region,
                                      double *grad_w, void *stream)
{
    starhalo_kidx_bwd_t g;
    STARHALO_CHECK(starhalo__kern_bwd_prepare("conv2d_bwd_weights_cuda", in_tile, out_tile, layer,
                                              region, in, grad_out, grad_w, &g));
    const int64_t total = g.cout * g.cin * g.k * g.k;
    bwd_weights_kernel<<<blocks_for(total), kThreads, 0, (cudaStream_t)stream>>>(
        g, in, grad_out, grad_w, total, starhalo__kern_region_empty_2d(region));
    return launched("conv2d_bwd_weights_cuda");
}

starhalo_status_t starhalo_kern_relu_cuda(const starhalo_kern_tile_t *tile, const float *in,
                                          float *out, const starhalo_box_t *region, void *stream)
{
    return relu_cuda("relu_cuda", 0, tile, in, out, region, stream);
}

starhalo_status_t starhalo_kern_relu_bwd_cuda(const starhalo_kern_tile_t *tile, const float *pre,
                                              float *grad, const starhalo_box_t *region,
                                              void *stream)
{
    return relu_cuda("relu_bwd_cuda", 1, tile, pre, grad, region, stream);
}
