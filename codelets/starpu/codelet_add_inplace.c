/* SPDX-License-Identifier: MIT */
/**
 * @file codelet_add_inplace.c
 * @brief In-place add codelet a += b on a region (residual accumulation;
 * starhalo_kern_add_cpu with out == a; CPU only for now). Submitted by starhalo__insert_add
 * (codelet_add.c) when out is a or b: one handle cannot be passed twice with R and RW.
 */
#include "codelets_cnn.h"

static void add_inplace_cpu(void *buffers[], void *cl_arg)
{
    const starhalo__cnn_region_args_t *a = cl_arg;
    float *acc = (float *)STARPU_VECTOR_GET_PTR(buffers[0]);
    const float *b = (const float *)STARPU_VECTOR_GET_PTR(buffers[1]);
    starhalo__cl_record(a->status, starhalo_kern_add_cpu(&a->tile, acc, b, acc, &a->region));
}

static uint32_t add_inplace_footprint(struct starpu_task *task)
{
    const starhalo__cnn_region_args_t *a = task->cl_arg;
    return starhalo__cl_cnn_footprint(&a->tile, &a->region, 1);
}

static struct starpu_perfmodel add_inplace_model = {
    .type = STARPU_HISTORY_BASED,
    .symbol = "starhalo_add_inplace",
    .footprint = add_inplace_footprint,
};

struct starpu_codelet starhalo_cl_add_inplace = {
    .cpu_funcs = {add_inplace_cpu},
    .cpu_funcs_name = {"add_inplace_cpu"},
    .nbuffers = 2,
    .modes = {STARPU_RW | STARPU_COMMUTE, STARPU_R},
    .model = &add_inplace_model,
    .name = "starhalo_add_inplace",
};
