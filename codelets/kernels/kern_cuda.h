/* SPDX-License-Identifier: MIT */
/**
 * @file kern_cuda.h
 * @brief Internal kernels: the CUDA entry points (end in _cuda, take the stream as void * so
 * callers need no CUDA headers) and the per-element CPU pack/unpack that runs their index math
 * on the CPU, so tests check it without a GPU.
 */
#ifndef STARHALO_KERN_CUDA_H
#define STARHALO_KERN_CUDA_H

#include <starhalo/starhalo_kernels.h>

STARHALO_BEGIN_DECLS

/* ---------------------------------------------------------------------------------------- */
/* Per-element pack/unpack: the CUDA kernels' index math, run on the CPU                     */
/* ---------------------------------------------------------------------------------------- */

/** prefix[r] = elements in runs 0..r-1, prefix[nruns] = count; offsets[r] = runs[r].offset.
 * Both arrays have nruns + 1 entries (what the CUDA pack/unpack kernels take). */
void starhalo_kern_runs_prefix(const starhalo_run_t *runs, int nruns, int64_t *offsets,
                               int64_t *prefix);

/** Same result as starhalo_kern_pack_cpu, one element at a time through kern_index.h. */
void starhalo_kern_pack_by_element_cpu(starhalo_dtype_t dtype, const void *src, int64_t plane_size,
                                       int64_t planes, const int64_t *offsets,
                                       const int64_t *prefix, int nruns, int64_t count, void *dst);

/** Same result as starhalo_kern_unpack_cpu, one element at a time through kern_index.h. */
void starhalo_kern_unpack_by_element_cpu(starhalo_dtype_t dtype, const void *src, int64_t count,
                                         int64_t planes, const int64_t *offsets,
                                         const int64_t *prefix, int nruns, void *dst,
                                         int64_t plane_size, starhalo_reduce_op_t op);

/* ---------------------------------------------------------------------------------------- */
/* CUDA entry points (built when nvcc is found; StarPU-free; pointers are device pointers)   */
/* ---------------------------------------------------------------------------------------- */

/**
 * Upload @p nlists run lists for starhalo_kern_pack_cuda / _unpack_cuda: list i (@p runs[i],
 * @p nruns[i] runs) becomes the device tables @p d_offsets[i] and @p d_prefix[i] (nruns[i] + 1
 * entries each, as starhalo_kern_runs_prefix), copied on @p stream into a buffer of the
 * calling thread. They stay valid for kernels queued on @p stream until the thread's next
 * call, whose copy is queued behind those kernels: use one stream per thread (as StarPU's
 * CUDA workers do).
 */
starhalo_status_t starhalo_kern_runs_upload_cuda(int nlists, const starhalo_run_t *const *runs,
                                                 const int *nruns, const int64_t **d_offsets,
                                                 const int64_t **d_prefix, void *stream);

/** Pack on @p stream; @p offsets and @p prefix (nruns + 1 entries each, see
 * starhalo_kern_runs_prefix) are device arrays. */
starhalo_status_t starhalo_kern_pack_cuda(starhalo_dtype_t dtype, const void *src,
                                          int64_t plane_size, int64_t planes,
                                          const int64_t *offsets, const int64_t *prefix, int nruns,
                                          int64_t count, void *dst, void *stream);
starhalo_status_t starhalo_kern_unpack_cuda(starhalo_dtype_t dtype, const void *src, int64_t count,
                                            int64_t planes, const int64_t *offsets,
                                            const int64_t *prefix, int nruns, void *dst,
                                            int64_t plane_size, starhalo_reduce_op_t op,
                                            void *stream);
starhalo_status_t starhalo_kern_stencil5_cuda(starhalo_dtype_t dtype,
                                              const starhalo_kern_tile_t *tile, const void *in,
                                              void *out, const starhalo_box_t *region,
                                              void *stream);
starhalo_status_t starhalo_kern_stencil9_cuda(starhalo_dtype_t dtype,
                                              const starhalo_kern_tile_t *tile, const void *in,
                                              void *out, const starhalo_box_t *region,
                                              void *stream);
/** A window whose padding differs on its two sides (a region at the image border, clipped
 * to @p domain) runs on a dense padded copy of the window, since cuDNN pads symmetrically
 * only; STARHALO_POOL_AVG_EXCLUDE cannot and returns STARHALO_ERR_UNSUPPORTED there. */
starhalo_status_t starhalo_kern_conv2d_cuda(const starhalo_kern_tile_t *in_tile, const float *in,
                                            const float *weights, const float *bias,
                                            const starhalo_layer_t *layer,
                                            const starhalo_kern_tile_t *out_tile, float *out,
                                            const starhalo_box_t *region,
                                            const starhalo_box_t *domain, void *stream);
starhalo_status_t starhalo_kern_pool2d_cuda(starhalo_pool_kind_t kind,
                                            const starhalo_kern_tile_t *in_tile, const float *in,
                                            const starhalo_layer_t *layer,
                                            const starhalo_kern_tile_t *out_tile, float *out,
                                            const starhalo_box_t *region,
                                            const starhalo_box_t *domain, void *stream);

STARHALO_END_DECLS

#endif
