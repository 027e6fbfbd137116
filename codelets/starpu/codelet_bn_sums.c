/* SPDX-License-Identifier: MIT */
/**
 * @file codelet_bn_sums.c
 * @brief Batch-norm forward statistics codelet: per-channel sum x and sum x*x over a region
 * (starhalo_kern_bn_sums_cpu with dy NULL; CPU only for now). starhalo__insert_bn_sums picks
 * this codelet or the backward one (codelet_bn_sums_bwd.c).
 */
#include "codelets_cnn.h"

static void bn_sums_cpu(void *buffers[], void *cl_arg)
{
    const starhalo__bn_sums_args_t *a = cl_arg;
    const float *x = (const float *)STARPU_VECTOR_GET_PTR(buffers[0]);
    double *sums = (double *)STARPU_VECTOR_GET_PTR(buffers[1]);
    starhalo__cl_record(a->status,
                        starhalo_kern_bn_sums_cpu(&a->tile, x, NULL, NULL, NULL, &a->region, sums));
}

static uint32_t bn_sums_footprint(struct starpu_task *task)
{
    const starhalo__bn_sums_args_t *a = task->cl_arg;
    return starhalo__cl_cnn_footprint(&a->tile, &a->region, 0);
}

static struct starpu_perfmodel bn_sums_model = {
    .type = STARPU_HISTORY_BASED,
    .symbol = "starhalo_bn_sums",
    .footprint = bn_sums_footprint,
};

struct starpu_codelet starhalo_cl_bn_sums = {
    .cpu_funcs = {bn_sums_cpu},
    .cpu_funcs_name = {"bn_sums_cpu"},
    .nbuffers = 2,
    .modes = {STARPU_R, STARPU_W},
    .model = &bn_sums_model,
    .name = "starhalo_bn_sums",
};

starhalo_status_t starhalo__insert_bn_sums(const struct starhalo__task_opts *o,
                                           starpu_data_handle_t x, starpu_data_handle_t dy,
                                           starpu_data_handle_t params, starpu_data_handle_t sums,
                                           const starhalo__bn_sums_args_t *args)
{
    const char *what = "bn_sums";
    STARHALO_REQUIRE(args, STARHALO_ERR_INVALID_ARG, "%s: NULL arguments", what);
    STARHALO_REQUIRE(!dy == !params, STARHALO_ERR_INVALID_ARG,
                     "%s: give both dy and params (backward) or neither (forward)", what);
    const int64_t elems = starhalo_kern_tile_elems(&args->tile), C = args->tile.channels;
    STARHALO_CHECK(starhalo__cl_check_vector(what, "x", x, sizeof(float), elems));
    STARHALO_CHECK(starhalo__cl_check_vector(what, "sums", sums, sizeof(double), 2 * C));
    starhalo__bn_sums_args_t a = *args;
    a.status = o ? o->status : NULL;
    a.backward = dy != NULL;
    if (!dy) {
        const starpu_data_handle_t h[2] = {x, sums};
        return starhalo__cl_submit(&starhalo_cl_bn_sums, o, &a, sizeof a, 2, h);
    }
    STARHALO_CHECK(starhalo__cl_check_vector(what, "dy", dy, sizeof(float), elems));
    STARHALO_CHECK(starhalo__cl_check_vector(what, "params", params, sizeof(double), 2 * C));
    const starpu_data_handle_t h[4] = {x, dy, params, sums};
    return starhalo__cl_submit(&starhalo_cl_bn_sums_bwd, o, &a, sizeof a, 4, h);
}
