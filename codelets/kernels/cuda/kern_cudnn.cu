/* SPDX-License-Identifier: MIT */
/**
 * @file kern_cudnn.cu
 * @brief conv2d and pooling forward through cuDNN (legacy descriptor API, float32) on an output
 * region of a ghosted tile. The window and its padding come from kern_geom.h, exactly as for
 * the oneDNN kernels; the tensor descriptors carry the tile strides, so no copy is made when
 * the window's padding is symmetric (interior regions, and every region without a domain).
 * cuDNN pads symmetrically only: a region at the image border (padding on one side, the
 * clipped domain) runs on a dense copy of its window with the padding written out (zeros;
 * -inf for max pooling, which ignores padding as oneDNN does), in a stream-ordered scratch
 * buffer; average pooling that excludes padding cannot, and returns UNSUPPORTED there.
 * One cuDNN handle per calling thread (bound to the caller's stream at each call).
 */
#include <cuda_runtime.h>
#include <cudnn.h>
#include <math.h>

#include "kern_cuda_util.cuh"

namespace
{

thread_local cudnnHandle_t tls_handle = nullptr;

starhalo_status_t cudnn_fail(cudnnStatus_t st, const char *what)
{
    return starhalo_error_set(STARHALO_ERR_CUDA, "cuDNN %s failed: %s", what,
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

int symmetric(const starhalo__layer_geom_t *g)
{
    return g->pl[0] == g->pr[0] && g->pl[1] == g->pr[1];
}

/* The input cuDNN reads: the window inside the tile with symmetric padding pad[] (H, W), or a
 * dense padded copy of it (owned scratch, freed in stream order by input_release). */
struct input_view {
    const float *x;
    int64_t h, w, pitch, plane; /* dims and strides of the view */
    int64_t pad[2];
    float *scratch;
};

__global__ void pad_copy_kernel(const float *__restrict__ src, int64_t s_pitch, int64_t s_plane,
                                float *__restrict__ dst, int64_t dw, int64_t dh, int64_t iw,
                                int64_t ih, int64_t px, int64_t py, int64_t total, float fill)
{
    for (int64_t e = starhalo_cuda::first_index(); e < total; e += starhalo_cuda::grid_stride()) {
        const int64_t x = e % dw - px, y = (e / dw) % dh - py, p = e / (dw * dh);
        dst[e] = x >= 0 && x < iw && y >= 0 && y < ih ? src[p * s_plane + y * s_pitch + x] : fill;
    }
}

void input_release(input_view *v, cudaStream_t s)
{
    if (v->scratch)
        cudaFreeAsync(v->scratch, s);
    v->scratch = nullptr;
}

starhalo_status_t input_prepare(const char *what, const starhalo__layer_geom_t *g, const float *in,
                                float fill, cudaStream_t s, input_view *v)
{
    const float *window = in + g->in_y0 * g->igw + g->in_x0;
    if (symmetric(g)) {
        *v = {window, g->ih, g->iw, g->igw, g->igh * g->igw, {g->pl[0], g->pl[1]}, nullptr};
        return STARHALO_OK;
    }
    const int64_t dh = g->ih + g->pl[0] + g->pr[0], dw = g->iw + g->pl[1] + g->pr[1];
    const int64_t total = g->n * g->cin * dh * dw;
    float *buf = nullptr;
    if (cudaMallocAsync((void **)&buf, sizeof(float) * (size_t)total, s) != cudaSuccess)
        return starhalo_error_set(STARHALO_ERR_CUDA, "%s: padded window of %" PRId64 " floats",
                                  what, total);
    pad_copy_kernel<<<starhalo_cuda::blocks_for(total), starhalo_cuda::kThreads, 0, s>>>(
        window, g->igw, g->igh * g->igw, buf, dw, dh, g->iw, g->ih, g->pl[1], g->pl[0], total,
        fill);
    *v = {buf, dh, dw, dw, dh * dw, {0, 0}, buf};
    const starhalo_status_t rc = starhalo_cuda::launched(what);
    if (rc != STARHALO_OK)
        input_release(v, s);
    return rc;
}

/* Strided views: the input as prepared, the region of the output tile. */
cudnnStatus_t set_views(const starhalo__layer_geom_t *g, const input_view *v,
                        cudnnTensorDescriptor_t x, cudnnTensorDescriptor_t y)
{
    cudnnStatus_t st = cudnnSetTensor4dDescriptorEx(x, CUDNN_DATA_FLOAT, (int)g->n, (int)g->cin,
                                                    (int)v->h, (int)v->w, (int)(g->cin * v->plane),
                                                    (int)v->plane, (int)v->pitch, 1);
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
    cudnnHandle_t h;
    STARHALO_CHECK(handle_get(stream, &h));
    input_view v;
    STARHALO_CHECK(input_prepare("conv2d_cuda", &g, in, 0.0f, (cudaStream_t)stream, &v));
    starhalo_status_t rc = STARHALO_OK;
    cudnnTensorDescriptor_t xd = nullptr, yd = nullptr, bd = nullptr;
    cudnnFilterDescriptor_t wd = nullptr;
    cudnnConvolutionDescriptor_t cd = nullptr;
    void *ws = nullptr;
    size_t ws_size = 0;
    int n, c, hh, ww, returned = 0;
    cudnnConvolutionFwdAlgoPerf_t perf;
    const float one = 1.0f, zero = 0.0f;
    float *y = out + g.out_y0 * g.ogw + g.out_x0;
    CUDNN_TRY(cudnnCreateTensorDescriptor(&xd), "descriptor");
    CUDNN_TRY(cudnnCreateTensorDescriptor(&yd), "descriptor");
    CUDNN_TRY(cudnnCreateTensorDescriptor(&bd), "descriptor");
    CUDNN_TRY(cudnnCreateFilterDescriptor(&wd), "descriptor");
    CUDNN_TRY(cudnnCreateConvolutionDescriptor(&cd), "descriptor");
    CUDNN_TRY(set_views(&g, &v, xd, yd), "tensor views");
    CUDNN_TRY(cudnnSetFilter4dDescriptor(wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, (int)g.cout,
                                         (int)g.cin, layer->kernel, layer->kernel),
              "filter");
    CUDNN_TRY(cudnnSetConvolution2dDescriptor(cd, (int)v.pad[0], (int)v.pad[1], layer->stride,
                                              layer->stride, layer->dilation, layer->dilation,
                                              CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
              "convolution");
    CUDNN_TRY(cudnnGetConvolution2dForwardOutputDim(cd, xd, wd, &n, &c, &hh, &ww), "output dim");
    if (hh != (int)g.oh || ww != (int)g.ow) {
        rc = starhalo_error_set(STARHALO_ERR_INTERNAL,
                                "conv2d_cuda: cuDNN output %dx%d != region %" PRId64 "x%" PRId64,
                                hh, ww, g.oh, g.ow);
        goto done;
    }
    CUDNN_TRY(cudnnGetConvolutionForwardAlgorithm_v7(h, xd, wd, cd, yd, 1, &returned, &perf),
              "algorithm choice");
    CUDNN_TRY(cudnnGetConvolutionForwardWorkspaceSize(h, xd, wd, cd, yd, perf.algo, &ws_size),
              "workspace size");
    if (ws_size > 0 && cudaMallocAsync(&ws, ws_size, (cudaStream_t)stream) != cudaSuccess) {
        rc = starhalo_error_set(STARHALO_ERR_CUDA, "conv2d_cuda: workspace of %zu bytes", ws_size);
        goto done;
    }
    CUDNN_TRY(cudnnConvolutionForward(h, &one, xd, v.x, wd, weights, cd, perf.algo, ws, ws_size,
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
    input_release(&v, (cudaStream_t)stream);
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
    STARHALO_REQUIRE(kind != STARHALO_POOL_AVG_EXCLUDE || symmetric(&g), STARHALO_ERR_UNSUPPORTED,
                     "pool2d_cuda: average pooling without padding needs symmetric padding, the "
                     "window has %" PRId64 "/%" PRId64 " (H) and %" PRId64 "/%" PRId64 " (W)",
                     g.pl[0], g.pr[0], g.pl[1], g.pr[1]);
    cudnnHandle_t h;
    STARHALO_CHECK(handle_get(stream, &h));
    input_view v;
    STARHALO_CHECK(input_prepare("pool2d_cuda", &g, in,
                                 kind == STARHALO_POOL_MAX ? -INFINITY : 0.0f, (cudaStream_t)stream,
                                 &v));
    starhalo_status_t rc = STARHALO_OK;
    cudnnTensorDescriptor_t xd = nullptr, yd = nullptr;
    cudnnPoolingDescriptor_t pd = nullptr;
    const float one = 1.0f, zero = 0.0f;
    CUDNN_TRY(cudnnCreateTensorDescriptor(&xd), "descriptor");
    CUDNN_TRY(cudnnCreateTensorDescriptor(&yd), "descriptor");
    CUDNN_TRY(cudnnCreatePoolingDescriptor(&pd), "descriptor");
    CUDNN_TRY(set_views(&g, &v, xd, yd), "tensor views");
    CUDNN_TRY(cudnnSetPooling2dDescriptor(pd, mode, CUDNN_NOT_PROPAGATE_NAN, layer->kernel,
                                          layer->kernel, (int)v.pad[0], (int)v.pad[1],
                                          layer->stride, layer->stride),
              "pooling");
    CUDNN_TRY(
        cudnnPoolingForward(h, pd, &one, xd, v.x, &zero, yd, out + g.out_y0 * g.ogw + g.out_x0),
        "pooling forward");
done:
    input_release(&v, (cudaStream_t)stream);
    cudnnDestroyPoolingDescriptor(pd);
    cudnnDestroyTensorDescriptor(yd);
    cudnnDestroyTensorDescriptor(xd);
    return rc;
}
