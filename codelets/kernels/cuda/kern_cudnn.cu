/* SPDX-License-Identifier: MIT */
/**
 * @file kern_cudnn.cu
 * @brief conv2d and pooling forward through cuDNN (legacy descriptor API, float32) on an output
 * region of a ghosted tile. The window and its padding come from kern_geom.h, exactly as for
 * the oneDNN kernels; the tensor descriptors carry the tile strides, so no copy is made.
 * One cuDNN handle per calling thread (bound to the caller's stream at each call).
 */
#include <cuda_runtime.h>
#include <cudnn.h>

#include "kern_geom.h"

namespace
{

thread_local cudnnHandle_t tls_handle = nullptr;

starhalo_status_t cudnn_fail(cudnnStatus_t st, const char *what)
{
    return starhalo__error_set(STARHALO_ERR_CUDA, "cuDNN %s failed: %s", what,
                               cudnnGetErrorString(st));
}

#define CUDNN_TRY(call, what)                                                                      \
    do {                                                                                           \
        cudnnStatus_t st_ = (call);                                                                \
        if (st_ != CUDNN_STATUS_SUCCESS) {                                                         \
            rc = cudnn_fail(st_, what);                                                            \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

starhalo_status_t handle_get(void *stream, cudnnHandle_t *out)
{
    if (!tls_handle) {
        const cudnnStatus_t st = cudnnCreate(&tls_handle);
        if (st != CUDNN_STATUS_SUCCESS) {
            tls_handle = nullptr;
            return cudnn_fail(st, "cudnnCreate");
        }
    }
    const cudnnStatus_t st = cudnnSetStream(tls_handle, (cudaStream_t)stream);
    if (st != CUDNN_STATUS_SUCCESS)
        return cudnn_fail(st, "cudnnSetStream");
    *out = tls_handle;
    return STARHALO_OK;
}

/* cuDNN pads symmetrically: the window's padding must be the same on both sides. */
starhalo_status_t symmetric_padding(const char *what, const starhalo__layer_geom_t *g)
{
    for (int d = 0; d < 2; d++)
        STARHALO_REQUIRE(g->pl[d] == g->pr[d], STARHALO_ERR_UNSUPPORTED,
                         "%s: cuDNN needs symmetric padding, the window of dim %d has %" PRId64
                         " before and %" PRId64 " after",
                         what, 1 - d, g->pl[d], g->pr[d]);
    return STARHALO_OK;
}

/* Strided views into the tiles: the window of the input, the region of the output. */
cudnnStatus_t set_views(const starhalo__layer_geom_t *g, cudnnTensorDescriptor_t x,
                        cudnnTensorDescriptor_t y)
{
    cudnnStatus_t st = cudnnSetTensor4dDescriptorEx(
        x, CUDNN_DATA_FLOAT, (int)g->n, (int)g->cin, (int)g->ih, (int)g->iw,
        (int)(g->cin * g->igh * g->igw), (int)(g->igh * g->igw), (int)g->igw, 1);
    if (st != CUDNN_STATUS_SUCCESS)
        return st;
    return cudnnSetTensor4dDescriptorEx(y, CUDNN_DATA_FLOAT, (int)g->n, (int)g->cout, (int)g->oh,
                                        (int)g->ow, (int)(g->cout * g->ogh * g->ogw),
                                        (int)(g->ogh * g->ogw), (int)g->ogw, 1);
}

} // namespace

starhalo_status_t starhalo_kern_conv2d_cuda(const starhalo_kern_tile_t *in_tile, const float *in,
                                            const float *weights, const float *bias,
                                            const starhalo_layer_t *layer,
                                            const starhalo_kern_tile_t *out_tile, float *out,
                                            const starhalo_box_t *region,
                                            const starhalo_box_t *domain, void *stream)
{
    STARHALO_REQUIRE(region, STARHALO_ERR_INVALID_ARG, "conv2d_cuda: NULL region");
    if (starhalo__kern_region_empty(region))
        return STARHALO_OK;
    starhalo__layer_geom_t g;
    STARHALO_CHECK(
        starhalo__kern_layer_geom("conv2d_cuda", 0, in_tile, layer, out_tile, region, domain, &g));
    STARHALO_CHECK(symmetric_padding("conv2d_cuda", &g));
    cudnnHandle_t h;
    STARHALO_CHECK(handle_get(stream, &h));
    starhalo_status_t rc = STARHALO_OK;
    cudnnTensorDescriptor_t xd = nullptr, yd = nullptr, bd = nullptr;
    cudnnFilterDescriptor_t wd = nullptr;
    cudnnConvolutionDescriptor_t cd = nullptr;
    void *ws = nullptr;
    size_t ws_size = 0;
    int n, c, hh, ww, returned = 0;
    cudnnConvolutionFwdAlgoPerf_t perf;
    const float one = 1.0f, zero = 0.0f;
    const float *x = in + g.in_y0 * g.igw + g.in_x0;
    float *y = out + g.out_y0 * g.ogw + g.out_x0;
    CUDNN_TRY(cudnnCreateTensorDescriptor(&xd), "descriptor");
    CUDNN_TRY(cudnnCreateTensorDescriptor(&yd), "descriptor");
    CUDNN_TRY(cudnnCreateTensorDescriptor(&bd), "descriptor");
    CUDNN_TRY(cudnnCreateFilterDescriptor(&wd), "descriptor");
    CUDNN_TRY(cudnnCreateConvolutionDescriptor(&cd), "descriptor");
    CUDNN_TRY(set_views(&g, xd, yd), "tensor views");
    CUDNN_TRY(cudnnSetFilter4dDescriptor(wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, (int)g.cout,
                                         (int)g.cin, layer->kernel, layer->kernel),
              "filter");
    CUDNN_TRY(cudnnSetConvolution2dDescriptor(cd, (int)g.pl[0], (int)g.pl[1], layer->stride,
                                              layer->stride, layer->dilation, layer->dilation,
                                              CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
              "convolution");
    CUDNN_TRY(cudnnGetConvolution2dForwardOutputDim(cd, xd, wd, &n, &c, &hh, &ww), "output dim");
    if (hh != (int)g.oh || ww != (int)g.ow) {
        rc = starhalo__error_set(STARHALO_ERR_INTERNAL,
                                 "conv2d_cuda: cuDNN output %dx%d != region %" PRId64 "x%" PRId64,
                                 hh, ww, g.oh, g.ow);
        goto done;
    }
    CUDNN_TRY(cudnnGetConvolutionForwardAlgorithm_v7(h, xd, wd, cd, yd, 1, &returned, &perf),
              "algorithm choice");
    CUDNN_TRY(cudnnGetConvolutionForwardWorkspaceSize(h, xd, wd, cd, yd, perf.algo, &ws_size),
              "workspace size");
    if (ws_size > 0 && cudaMallocAsync(&ws, ws_size, (cudaStream_t)stream) != cudaSuccess) {
        rc = starhalo__error_set(STARHALO_ERR_CUDA, "conv2d_cuda: workspace of %zu bytes", ws_size);
        goto done;
    }
    CUDNN_TRY(cudnnConvolutionForward(h, &one, xd, x, wd, weights, cd, perf.algo, ws, ws_size,
                                      &zero, yd, y),
              "convolution forward");
    if (bias) {
        CUDNN_TRY(cudnnSetTensor4dDescriptor(bd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1,
                                             (int)g.cout, 1, 1),
                  "bias descriptor");
        CUDNN_TRY(cudnnAddTensor(h, &one, bd, bias, &one, yd, y), "bias");
    }
done:
    if (ws)
        cudaFreeAsync(ws, (cudaStream_t)stream);
    cudnnDestroyConvolutionDescriptor(cd);
    cudnnDestroyFilterDescriptor(wd);
    cudnnDestroyTensorDescriptor(bd);
    cudnnDestroyTensorDescriptor(yd);
    cudnnDestroyTensorDescriptor(xd);
    return rc;
}

starhalo_status_t starhalo_kern_pool2d_cuda(starhalo_pool_kind_t kind,
                                            const starhalo_kern_tile_t *in_tile, const float *in,
                                            const starhalo_layer_t *layer,
                                            const starhalo_kern_tile_t *out_tile, float *out,
                                            const starhalo_box_t *region,
                                            const starhalo_box_t *domain, void *stream)
{
    STARHALO_REQUIRE(region, STARHALO_ERR_INVALID_ARG, "pool2d_cuda: NULL region");
    if (starhalo__kern_region_empty(region))
        return STARHALO_OK;
    const cudnnPoolingMode_t mode = kind == STARHALO_POOL_MAX ? CUDNN_POOLING_MAX
                                    : kind == STARHALO_POOL_AVG
                                        ? CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING
                                        : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
    STARHALO_REQUIRE(kind == STARHALO_POOL_MAX || kind == STARHALO_POOL_AVG ||
                         kind == STARHALO_POOL_AVG_EXCLUDE,
                     STARHALO_ERR_INVALID_ARG, "pool2d_cuda: unknown pooling kind %d", (int)kind);
    STARHALO_REQUIRE(layer && layer->dilation == 1, STARHALO_ERR_UNSUPPORTED,
                     "pool2d_cuda: cuDNN pooling has no dilation (got %d)",
                     layer ? layer->dilation : 0);
    starhalo__layer_geom_t g;
    STARHALO_CHECK(
        starhalo__kern_layer_geom("pool2d_cuda", 1, in_tile, layer, out_tile, region, domain, &g));
    STARHALO_CHECK(symmetric_padding("pool2d_cuda", &g));
    cudnnHandle_t h;
    STARHALO_CHECK(handle_get(stream, &h));
    starhalo_status_t rc = STARHALO_OK;
    cudnnTensorDescriptor_t xd = nullptr, yd = nullptr;
    cudnnPoolingDescriptor_t pd = nullptr;
    const float one = 1.0f, zero = 0.0f;
    CUDNN_TRY(cudnnCreateTensorDescriptor(&xd), "descriptor");
    CUDNN_TRY(cudnnCreateTensorDescriptor(&yd), "descriptor");
    CUDNN_TRY(cudnnCreatePoolingDescriptor(&pd), "descriptor");
    CUDNN_TRY(set_views(&g, xd, yd), "tensor views");
    CUDNN_TRY(cudnnSetPooling2dDescriptor(pd, mode, CUDNN_NOT_PROPAGATE_NAN, layer->kernel,
                                          layer->kernel, (int)g.pl[0], (int)g.pl[1], layer->stride,
                                          layer->stride),
              "pooling");
    CUDNN_TRY(cudnnPoolingForward(h, pd, &one, xd, in + g.in_y0 * g.igw + g.in_x0, &zero, yd,
                                  out + g.out_y0 * g.ogw + g.out_x0),
              "pooling forward");
done:
    cudnnDestroyPoolingDescriptor(pd);
    cudnnDestroyTensorDescriptor(yd);
    cudnnDestroyTensorDescriptor(xd);
    return rc;
}
