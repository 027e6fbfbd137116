/* SPDX-License-Identifier: MIT */
/**
 * @file codelet_pack.c
 * @brief Pack codelet: gather the runs of every field's tile into each message buffer, on a
 * CPU or (CUDA StarPU) on the GPU that holds the tiles, so a GPU-resident tile sends only its
 * message buffers through the host (pack on the GPU, device to host, MPI).
 */
#include "codelet_xfer.h"

#include <starhalo/starhalo_kernels.h>

int starhalo__xfer_status = 0;

void starhalo__xfer_pack(const starhalo_cl_xfer_args_t *a, void *const *tiles, void *const *msgs)
{
    const size_t esz = starhalo_dtype_size(a->dtype);
    for (int m = 0; m < a->nmsgs; m++) {
        char *out = msgs[m];
        for (int f = 0; f < a->nfields; f++) {
            starhalo_kern_pack_cpu(a->dtype, tiles[f], a->plane_size, a->planes[f], a->msgs[m].runs,
                                   a->msgs[m].nruns, a->msgs[m].count, out);
            out += (size_t)(a->planes[f] * a->msgs[m].count) * esz;
        }
    }
}

static void pack_cpu(void *buffers[], void *cl_arg)
{
    starhalo__xfer_task(buffers, cl_arg, 0, 0);
}

#if STARHALO_USE_CUDA && defined(STARPU_USE_CUDA)
static void pack_cuda(void *buffers[], void *cl_arg)
{
    starhalo__xfer_task(buffers, cl_arg, 0, 1);
}
#endif

#if STARHALO__XFER_MODELS
static struct starpu_perfmodel pack_model = {
    .type = STARPU_HISTORY_BASED,
    .symbol = "starhalo_pack",
};
#endif

struct starpu_codelet starhalo_cl_pack = {
    .cpu_funcs = {pack_cpu},
    .cpu_funcs_name = {"pack_cpu"},
#if STARHALO_USE_CUDA && defined(STARPU_USE_CUDA)
    .cuda_funcs = {pack_cuda},
    .cuda_flags = {STARPU_CUDA_ASYNC},
#endif
    .nbuffers = STARPU_VARIABLE_NBUFFERS,
#if STARHALO__XFER_MODELS
    .model = &pack_model,
#endif
    .name = "starhalo_pack",
};
