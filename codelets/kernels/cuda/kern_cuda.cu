/* SPDX-License-Identifier: MIT */
/**
 * @file kern_cuda.cu
 * @brief CUDA pack/unpack (REPLACE/SUM/MAX/MIN) and 5/9-point Jacobi kernels. StarPU-free:
 * the caller passes its stream as void *. Every element's position and value come from
 * kern_index.h, the same functions the CPU tests run (pack_by_element, stencils).
 */
#include <cuda_runtime.h>

#include "kern_cuda_util.cuh"
#include "kern_index.h"

namespace
{

using namespace starhalo_cuda;

template <typename T>
__global__ void pack_kernel(const T *__restrict__ src, int64_t plane_size, int64_t count,
                            int64_t total, const int64_t *__restrict__ offsets,
                            const int64_t *__restrict__ prefix, int nruns, T *__restrict__ dst)
{
    for (int64_t k = first_index(); k < total; k += grid_stride())
        dst[k] = src[starhalo_kidx_packed_to_tile(k, count, plane_size, offsets, prefix, nruns)];
}

__device__ inline float combine(int op, float io, float in)
{
    return starhalo_kidx_combine_f32(op, io, in);
}
__device__ inline double combine(int op, double io, double in)
{
    return starhalo_kidx_combine_f64(op, io, in);
}

template <typename T>
__global__ void unpack_kernel(const T *__restrict__ src, int64_t plane_size, int64_t count,
                              int64_t total, const int64_t *__restrict__ offsets,
                              const int64_t *__restrict__ prefix, int nruns, T *__restrict__ dst,
                              int op)
{
    for (int64_t k = first_index(); k < total; k += grid_stride()) {
        const int64_t t =
            starhalo_kidx_packed_to_tile(k, count, plane_size, offsets, prefix, nruns);
        dst[t] = combine(op, dst[t], src[k]);
    }
}

__device__ inline float stencil(int nine, const float *c, int64_t w)
{
    return nine ? starhalo_kidx_stencil9_f32(c, w) : starhalo_kidx_stencil5_f32(c, w);
}
__device__ inline double stencil(int nine, const double *c, int64_t w)
{
    return nine ? starhalo_kidx_stencil9_f64(c, w) : starhalo_kidx_stencil5_f64(c, w);
}

template <typename T>
__global__ void stencil_kernel(int nine, const T *__restrict__ in, T *__restrict__ out,
                               int64_t total, int64_t rw, int64_t rh, int64_t x0, int64_t y0,
                               int64_t gw, int64_t gh)
{
    for (int64_t i = first_index(); i < total; i += grid_stride()) {
        const int64_t t = starhalo_kidx_region_to_tile(i, rw, rh, x0, y0, gw, gh);
        out[t] = stencil(nine, in + t, gw);
    }
}

starhalo_status_t stencil_cuda(int nine, starhalo_dtype_t dtype, const starhalo_kern_tile_t *tile,
                               const void *in, void *out, const starhalo_box_t *region,
                               void *stream)
{
    const char *what = nine ? "stencil9_cuda" : "stencil5_cuda";
    STARHALO_CHECK(starhalo__kern_check_region(what, tile, region, 1));
    if (starhalo__kern_region_empty(region))
        return STARHALO_OK;
    const int64_t gw = tile->box.hi[0] - tile->box.lo[0], gh = tile->box.hi[1] - tile->box.lo[1];
    const int64_t rw = region->hi[0] - region->lo[0], rh = region->hi[1] - region->lo[1];
    const int64_t x0 = region->lo[0] - tile->box.lo[0], y0 = region->lo[1] - tile->box.lo[1];
    const int64_t total = rw * rh * tile->batch * tile->channels;
    cudaStream_t s = (cudaStream_t)stream;
    if (dtype == STARHALO_FLOAT32)
        stencil_kernel<float><<<blocks_for(total), kThreads, 0, s>>>(
            nine, (const float *)in, (float *)out, total, rw, rh, x0, y0, gw, gh);
    else if (dtype == STARHALO_FLOAT64)
        stencil_kernel<double><<<blocks_for(total), kThreads, 0, s>>>(
            nine, (const double *)in, (double *)out, total, rw, rh, x0, y0, gw, gh);
    else
        return starhalo_error_set(STARHALO_ERR_INVALID_ARG, "%s: unknown dtype %d", what,
                                  (int)dtype);
    return launched(what);
}

/* The run tables of the calling thread: a pageable host staging buffer and a device buffer,
 * both grown on demand. Pageable on purpose: cudaMemcpyAsync from pageable memory returns
 * once the data is staged, so the next call may refill the host buffer at once (a pinned one
 * would be read later, by the DMA). The device buffer is reused in stream order. */
thread_local int64_t *tls_host_runs = nullptr;
thread_local int64_t *tls_dev_runs = nullptr;
thread_local size_t tls_runs_cap = 0;

starhalo_status_t runs_reserve(size_t n, cudaStream_t s)
{
    if (n <= tls_runs_cap)
        return STARHALO_OK;
    size_t cap = tls_runs_cap ? tls_runs_cap : 1024;
    while (cap < n)
        cap *= 2;
    int64_t *host = (int64_t *)realloc(tls_host_runs, cap * sizeof(int64_t));
    if (!host)
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "runs_upload_cuda: %zu host entries",
                                  cap);
    tls_host_runs = host;
    /* Stream-ordered: the old buffer is freed after the kernels queued before that read it. */
    if (tls_dev_runs)
        cudaFreeAsync(tls_dev_runs, s);
    tls_dev_runs = nullptr;
    tls_runs_cap = 0;
    const cudaError_t err = cudaMallocAsync((void **)&tls_dev_runs, cap * sizeof(int64_t), s);
    if (err != cudaSuccess) {
        tls_dev_runs = nullptr;
        return starhalo_error_set(STARHALO_ERR_CUDA, "runs_upload_cuda: %zu device entries: %s",
                                  cap, cudaGetErrorString(err));
    }
    tls_runs_cap = cap;
    return STARHALO_OK;
}

} // namespace

starhalo_status_t starhalo_kern_runs_upload_cuda(int nlists, const starhalo_run_t *const *runs,
                                                 const int *nruns, const int64_t **d_offsets,
                                                 const int64_t **d_prefix, void *stream)
{
    cudaStream_t s = (cudaStream_t)stream;
    size_t n = 0;
    for (int i = 0; i < nlists; i++)
        n += 2 * (size_t)(nruns[i] + 1);
    if (n == 0)
        return STARHALO_OK;
    STARHALO_CHECK(runs_reserve(n, s));
    size_t at = 0;
    for (int i = 0; i < nlists; i++) {
        const size_t len = (size_t)nruns[i] + 1;
        starhalo_kern_runs_prefix(runs[i], nruns[i], tls_host_runs + at, tls_host_runs + at + len);
        d_offsets[i] = tls_dev_runs + at;
        d_prefix[i] = tls_dev_runs + at + len;
        at += 2 * len;
    }
    const cudaError_t err = cudaMemcpyAsync(tls_dev_runs, tls_host_runs, n * sizeof(int64_t),
                                            cudaMemcpyHostToDevice, s);
    if (err != cudaSuccess)
        return starhalo_error_set(STARHALO_ERR_CUDA, "runs_upload_cuda: copy of %zu entries: %s", n,
                                  cudaGetErrorString(err));
    return STARHALO_OK;
}

starhalo_status_t starhalo_kern_pack_cuda(starhalo_dtype_t dtype, const void *src,
                                          int64_t plane_size, int64_t planes,
                                          const int64_t *offsets, const int64_t *prefix, int nruns,
                                          int64_t count, void *dst, void *stream)
{
    const int64_t total = count * planes;
    if (total <= 0)
        return STARHALO_OK;
    cudaStream_t s = (cudaStream_t)stream;
    if (dtype == STARHALO_FLOAT32)
        pack_kernel<float><<<blocks_for(total), kThreads, 0, s>>>(
            (const float *)src, plane_size, count, total, offsets, prefix, nruns, (float *)dst);
    else if (dtype == STARHALO_FLOAT64)
        pack_kernel<double><<<blocks_for(total), kThreads, 0, s>>>(
            (const double *)src, plane_size, count, total, offsets, prefix, nruns, (double *)dst);
    else
        return starhalo_error_set(STARHALO_ERR_INVALID_ARG, "pack_cuda: unknown dtype %d",
                                  (int)dtype);
    return launched("pack_cuda");
}

starhalo_status_t starhalo_kern_unpack_cuda(starhalo_dtype_t dtype, const void *src, int64_t count,
                                            int64_t planes, const int64_t *offsets,
                                            const int64_t *prefix, int nruns, void *dst,
                                            int64_t plane_size, starhalo_reduce_op_t op,
                                            void *stream)
{
    const int64_t total = count * planes;
    if (total <= 0)
        return STARHALO_OK;
    cudaStream_t s = (cudaStream_t)stream;
    if (dtype == STARHALO_FLOAT32)
        unpack_kernel<float><<<blocks_for(total), kThreads, 0, s>>>((const float *)src, plane_size,
                                                                    count, total, offsets, prefix,
                                                                    nruns, (float *)dst, (int)op);
    else if (dtype == STARHALO_FLOAT64)
        unpack_kernel<double>
            <<<blocks_for(total), kThreads, 0, s>>>((const double *)src, plane_size, count, total,
                                                    offsets, prefix, nruns, (double *)dst, (int)op);
    else
        return starhalo_error_set(STARHALO_ERR_INVALID_ARG, "unpack_cuda: unknown dtype %d",
                                  (int)dtype);
    return launched("unpack_cuda");
}

starhalo_status_t starhalo_kern_stencil5_cuda(starhalo_dtype_t dtype,
                                              const starhalo_kern_tile_t *tile, const void *in,
                                              void *out, const starhalo_box_t *region, void *stream)
{
    return stencil_cuda(0, dtype, tile, in, out, region, stream);
}

starhalo_status_t starhalo_kern_stencil9_cuda(starhalo_dtype_t dtype,
                                              const starhalo_kern_tile_t *tile, const void *in,
                                              void *out, const starhalo_box_t *region, void *stream)
{
    return stencil_cuda(1, dtype, tile, in, out, region, stream);
}
