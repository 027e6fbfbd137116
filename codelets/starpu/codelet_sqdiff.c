/* SPDX-License-Identifier: MIT */
/**
 * @file codelet_sqdiff.c
 * @brief The squared difference of two tiles over one part's owned box (the residual of the
 * stencil graph, starhalo_field_sqdiff). CPU only: it runs every few steps, on the host.
 */
#include "codelets.h"

static void sqdiff_cpu(void *buffers[], void *cl_arg)
{
    const starhalo__sqdiff_args_t *a = cl_arg;
    const void *x = (const void *)STARPU_VECTOR_GET_PTR(buffers[0]);
    const void *y = (const void *)STARPU_VECTOR_GET_PTR(buffers[1]);
    double *sum = (double *)STARPU_VARIABLE_GET_PTR(buffers[2]);
    starhalo__cl_record(a->status,
                        starhalo_kern_sqdiff_cpu(a->dtype, &a->tile, x, y, &a->region, sum));
}

static struct starpu_perfmodel sqdiff_model = {
    .type = STARPU_HISTORY_BASED,
    .symbol = "starhalo_sqdiff",
};

struct starpu_codelet starhalo_cl_sqdiff = {
    .cpu_funcs = {sqdiff_cpu},
    .cpu_funcs_name = {"sqdiff_cpu"},
    .nbuffers = 3,
    .modes = {STARPU_R, STARPU_R, STARPU_W},
    .model = &sqdiff_model,
    .name = "starhalo_sqdiff",
};
