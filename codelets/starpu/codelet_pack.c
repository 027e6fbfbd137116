/* SPDX-License-Identifier: MIT */
/**
 * @file codelet_pack.c
 * @brief Pack codelet: gather the runs of every field's tile into each message buffer.
 */
#include "codelets.h"

#include "starhalo_kernels.h"

static void pack_cpu(void *buffers[], void *cl_arg)
{
    const starhalo_cl_xfer_args_t *a = cl_arg;
    const size_t esz = starhalo_dtype_size(a->dtype);
    for (int m = 0; m < a->nmsgs; m++) {
        char *out = (char *)STARPU_VECTOR_GET_PTR(buffers[a->nfields + m]);
        for (int f = 0; f < a->nfields; f++) {
            const void *tile = (const void *)STARPU_VECTOR_GET_PTR(buffers[f]);
            starhalo_kern_pack_cpu(a->dtype, tile, a->plane_size, a->planes[f], a->msgs[m].runs,
                                   a->msgs[m].nruns, a->msgs[m].count, out);
            out += (size_t)(a->planes[f] * a->msgs[m].count) * esz;
        }
    }
}

struct starpu_codelet starhalo_cl_pack = {
    .cpu_funcs = {pack_cpu},
    .cpu_funcs_name = {"pack_cpu"},
    .nbuffers = STARPU_VARIABLE_NBUFFERS,
    .name = "starhalo_pack",
};
