/* SPDX-License-Identifier: MIT */
/**
 * @file starhalo_kernels.h
 * @brief Runtime-free compute kernels (no StarPU, no MPI). CPU entry points end in _cpu; CUDA
 * entry points end in _cuda and take the stream as void * so callers need no CUDA headers.
 *
 * Packed message layout (shared by every executor): plane-major, [planes][count], where a
 * plane is one (batch, channel) slice and count is the number of elements the runs select in
 * one plane, in run order.
 */
#ifndef STARHALO_KERNELS_H
#define STARHALO_KERNELS_H

#include <stdint.h>

#include <starhalo/starhalo_plan.h>
#include <starhalo/starhalo_types.h>

STARHALO_BEGIN_DECLS

/** Gather the runs of every plane of @p src (planes of @p plane_size elements) into @p dst. */
void starhalo_kern_pack_cpu(starhalo_dtype_t dtype, const void *src, int64_t plane_size,
                            int64_t planes, const starhalo_run_t *runs, int nruns, int64_t count,
                            void *dst);

/** Scatter packed @p src into the runs of every plane of @p dst, combining with @p op
 * (REPLACE overwrites; SUM adds; MAX/MIN keep the larger/smaller). */
void starhalo_kern_unpack_cpu(starhalo_dtype_t dtype, const void *src, int64_t count,
                              int64_t planes, const starhalo_run_t *runs, int nruns, void *dst,
                              int64_t plane_size, starhalo_reduce_op_t op);

/** Combine packed @p src into packed @p dst element-wise with @p op (n elements). */
void starhalo_kern_reduce_cpu(starhalo_dtype_t dtype, const void *src, void *dst, int64_t n,
                              starhalo_reduce_op_t op);

STARHALO_END_DECLS

#endif
