/* SPDX-License-Identifier: MIT */
/**
 * @file codelet_pack.c
 * @brief Pack codelet: gather the runs of every field's tile into each message buffer.
 */
#include "codelet_xfer.h"

#include "starhalo_kernels.h"

/* Tiles and messages of one task: at most this many of each (more go through the heap). */
#define XFER_STACK 64

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
    const starhalo_cl_xfer_args_t *a = cl_arg;
    void *ptrs[XFER_STACK] = {NULL};
    const int n = a->nfields + a->nmsgs;
    void **p = n <= XFER_STACK ? ptrs : malloc(sizeof(void *) * (size_t)n);
    if (!p)
        return; /* cannot happen for real exchanges (a few dozen buffers) */
    for (int i = 0; i < n; i++)
        p[i] = (void *)STARPU_VECTOR_GET_PTR(buffers[i]);
    starhalo__xfer_pack(a, p, p + a->nfields);
    if (p != ptrs)
        free(p);
}

#if defined(STARHALO_SIMGRID) || defined(STARHALO_EXCHANGE_MODELS)
/* A simulation needs a time for every codelet: tools/simulate calibrates this model with a
 * STARHALO_EXCHANGE_MODELS build. Other builds leave it out (no model files to maintain). */
static struct starpu_perfmodel pack_model = {
    .type = STARPU_HISTORY_BASED,
    .symbol = "starhalo_pack",
};
#endif

struct starpu_codelet starhalo_cl_pack = {
    .cpu_funcs = {pack_cpu},
    .cpu_funcs_name = {"pack_cpu"},
    .nbuffers = STARPU_VARIABLE_NBUFFERS,
#if defined(STARHALO_SIMGRID) || defined(STARHALO_EXCHANGE_MODELS)
    .model = &pack_model,
#endif
    .name = "starhalo_pack",
};
