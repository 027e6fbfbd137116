/* SPDX-License-Identifier: MIT */
/**
 * @file codelet_unpack.c
 * @brief Unpack codelet: scatter each message into the runs of every field's tile, combining
 * with the args' reduction (REPLACE for a forward update, SUM/MAX/MIN for a reverse one), on
 * a CPU or (CUDA StarPU) on the GPU that holds the tiles (host to device, unpack on the GPU).
 *
 * Messages are applied in order, so an owned cell that several neighbours send back (a
 * corner) accumulates every contribution.
 */
#include "codelet_xfer.h"

#include <starhalo/starhalo_kernels.h>

void starhalo__xfer_unpack(const starhalo_cl_xfer_args_t *a, void *const *msgs, void *const *tiles)
{
    const size_t esz = starhalo_dtype_size(a->dtype);
    for (int m = 0; m < a->nmsgs; m++) {
        const char *in = msgs[m];
        for (int f = 0; f < a->nfields; f++) {
            starhalo_kern_unpack_cpu(a->dtype, in, a->msgs[m].count, a->planes[f], a->msgs[m].runs,
                                     a->msgs[m].nruns, tiles[f], a->plane_size, a->op);
            in += (size_t)(a->planes[f] * a->msgs[m].count) * esz;
        }
    }
}

static void unpack_cpu(void *buffers[], void *cl_arg)
{
    starhalo__xfer_task(buffers, cl_arg, 1, 0);
}

#if STARHALO_USE_CUDA && defined(STARPU_USE_CUDA)
static void unpack_cuda(void *buffers[], void *cl_arg)
{
    starhalo__xfer_task(buffers, cl_arg, 1, 1);
}
#endif

#if STARHALO__XFER_MODELS
static struct starpu_perfmodel unpack_model = {
    .type = STARPU_HISTORY_BASED,
    .symbol = "starhalo_unpack",
};
#endif

struct starpu_codelet starhalo_cl_unpack = {
    .cpu_funcs = {unpack_cpu},
    .cpu_funcs_name = {"unpack_cpu"},
#if STARHALO_USE_CUDA && defined(STARPU_USE_CUDA)
    .cuda_funcs = {unpack_cuda},
    .cuda_flags = {STARPU_CUDA_ASYNC},
#endif
    .nbuffers = STARPU_VARIABLE_NBUFFERS,
#if STARHALO__XFER_MODELS
    .model = &unpack_model,
#endif
    .name = "starhalo_unpack",
};
