/* SPDX-License-Identifier: MIT */
/**
 * @file kern_cuda_util.cuh
 * @brief Launch helpers shared by the element-wise CUDA kernels (grid-stride loops).
 */
#ifndef STARHALO_KERN_CUDA_UTIL_CUH
#define STARHALO_KERN_CUDA_UTIL_CUH

#include <cuda_runtime.h>

#include "kern_cuda.h"
#include "kern_geom.h"

namespace starhalo_cuda
{

const int kThreads = 256;

/* Enough blocks for one element per thread, capped: the loops are grid-stride. */
inline unsigned blocks_for(int64_t n)
{
    const int64_t b = (n + kThreads - 1) / kThreads;
    return (unsigned)(b < 65535 ? (b > 0 ? b : 1) : 65535);
}

inline starhalo_status_t launched(const char *what)
{
    const cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess)
        return starhalo_error_set(STARHALO_ERR_CUDA, "%s: kernel launch failed: %s", what,
                                   cudaGetErrorString(err));
    return STARHALO_OK;
}

/* First index of this thread and the grid stride of a grid-stride loop. */
__device__ inline int64_t first_index()
{
    return blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
}
__device__ inline int64_t grid_stride()
{
    return (int64_t)gridDim.x * blockDim.x;
}

} // namespace starhalo_cuda

#endif
