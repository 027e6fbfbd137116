/* SPDX-License-Identifier: MIT */
/**
 * @file codelet_bn_sums_bwd.c
 * @brief Batch-norm backward sums codelet: per-channel sum dy and sum dy*xhat over a region
 * (starhalo_kern_bn_sums_cpu with dy; CPU only for now). Submitted by
 * starhalo__insert_bn_sums (codelet_bn_sums.c) when it gets a dy handle.
 */
#include "codelets_cnn.h"

static void bn_sums_bwd_cpu(void *buffers[], void *cl_arg)
{
    const starhalo__bn_sums_args_t *a = cl_arg;
    const float *x = (const float *)STARPU_VECTOR_GET_PTR(buffers[0]);
    const float *dy = (const float *)STARPU_VECTOR_GET_PTR(buffers[1]);
    const double *params = (const double *)STARPU_VECTOR_GET_PTR(buffers[2]);
    double *sums = (double *)STARPU_VECTOR_GET_PTR(buffers[3]);
    const int64_t C = a->tile.channels;
    starhalo__cl_record(a->status, starhalo_kern_bn_sums_cpu(&a->tile, x, dy, params, params + C,
                                                             &a->region, sums));
}

static uint32_t bn_sums_bwd_footprint(struct starpu_task *task)
{
    const starhalo__bn_sums_args_t *a = task->cl_arg;
    return starhalo__cl_cnn_footprint(&a->tile, &a->region, 1);
}

static struct starpu_perfmodel bn_sums_bwd_model = {
    .type = STARPU_HISTORY_BASED,
    .symbol = "starhalo_bn_sums_bwd",
    .footprint = bn_sums_bwd_footprint,
};

struct starpu_codelet starhalo_cl_bn_sums_bwd = {
    .cpu_funcs = {bn_sums_bwd_cpu},
    .cpu_funcs_name = {"bn_sums_bwd_cpu"},
    .nbuffers = 4,
    .modes = {STARPU_R, STARPU_R, STARPU_R, STARPU_W},
    .model = &bn_sums_bwd_model,
    .name = "starhalo_bn_sums_bwd",
};
