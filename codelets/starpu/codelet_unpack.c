/* SPDX-License-Identifier: MIT */
/**
 * @file codelet_unpack.c
 * @brief Unpack codelet: scatter each message into the runs of every field's tile, combining
 * with the args' reduction (REPLACE for a forward update, SUM/MAX/MIN for a reverse one).
 *
 * Messages are applied in order, so an owned cell that several neighbours send back (a
 * corner) accumulates every contribution.
 */
#include "codelet_xfer.h"

#include "starhalo_kernels.h"

#define XFER_STACK 64

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
    const starhalo_cl_xfer_args_t *a = cl_arg;
    void *ptrs[XFER_STACK] = {NULL};
    const int n = a->nfields + a->nmsgs;
    void **p = n <= XFER_STACK ? ptrs : malloc(sizeof(void *) * (size_t)n);
    if (!p)
        return;
    for (int i = 0; i < n; i++)
        p[i] = (void *)STARPU_VECTOR_GET_PTR(buffers[i]);
    starhalo__xfer_unpack(a, p, p + a->nmsgs);
    if (p != ptrs)
        free(p);
}

#if defined(STARHALO_SIMGRID) || defined(STARHALO_EXCHANGE_MODELS)
/* A simulation needs a time for every codelet: tools/simulate calibrates this model with a
 * STARHALO_EXCHANGE_MODELS build. Other builds leave it out (no model files to maintain). */
static struct starpu_perfmodel unpack_model = {
    .type = STARPU_HISTORY_BASED,
    .symbol = "starhalo_unpack",
};
#endif

struct starpu_codelet starhalo_cl_unpack = {
    .cpu_funcs = {unpack_cpu},
    .cpu_funcs_name = {"unpack_cpu"},
    .nbuffers = STARPU_VARIABLE_NBUFFERS,
#if defined(STARHALO_SIMGRID) || defined(STARHALO_EXCHANGE_MODELS)
    .model = &unpack_model,
#endif
    .name = "starhalo_unpack",
};
