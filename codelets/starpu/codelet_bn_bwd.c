/* SPDX-License-Identifier: MIT */
/**
 * @file codelet_bn_bwd.c
 * @brief Batch-norm backward codelet: dx on a region from x, dy and the global backward sums
 * (starhalo_kern_bn_bwd_cpu; CPU only for now).
 */
#include "codelets_cnn.h"

static void bn_bwd_cpu(void *buffers[], void *cl_arg)
{
    const starhalo__bn_bwd_args_t *a = cl_arg;
    const float *x = (const float *)STARPU_VECTOR_GET_PTR(buffers[0]);
    const float *dy = (const float *)STARPU_VECTOR_GET_PTR(buffers[1]);
    const double *p = (const double *)STARPU_VECTOR_GET_PTR(buffers[2]);
    float *dx = (float *)STARPU_VECTOR_GET_PTR(buffers[3]);
    const int64_t C = a->tile.channels;
    starhalo__cl_record(a->status,
                        starhalo_kern_bn_bwd_cpu(&a->tile, x, dy, dx, p, p + C, p + 2 * C,
                                                 p + 3 * C, a->count, &a->region));
}

static uint32_t bn_bwd_footprint(struct starpu_task *task)
{
    const starhalo__bn_bwd_args_t *a = task->cl_arg;
    return starhalo__cl_cnn_footprint(&a->tile, &a->region, 2);
}

static struct starpu_perfmodel bn_bwd_model = {
    .type = STARPU_HISTORY_BASED,
    .symbol = "starhalo_bn_bwd",
    .footprint = bn_bwd_footprint,
};

struct starpu_codelet starhalo_cl_bn_bwd = {
    .cpu_funcs = {bn_bwd_cpu},
    .cpu_funcs_name = {"bn_bwd_cpu"},
    .nbuffers = 4,
    .modes = {STARPU_R, STARPU_R, STARPU_R, STARPU_RW},
    .model = &bn_bwd_model,
    .name = "starhalo_bn_bwd",
};

starhalo_status_t starhalo__insert_bn_bwd(const struct starhalo__task_opts *o,
                                          starpu_data_handle_t x, starpu_data_handle_t dy,
                                          starpu_data_handle_t params, starpu_data_handle_t dx,
                                          const starhalo__bn_bwd_args_t *args)
{
    const char *what = "bn_bwd";
    STARHALO_REQUIRE(args, STARHALO_ERR_INVALID_ARG, "%s: NULL arguments", what);
    const int64_t elems = starhalo_kern_tile_elems(&args->tile), C = args->tile.channels;
    STARHALO_CHECK(starhalo__cl_check_vector(what, "x", x, sizeof(float), elems));
    STARHALO_CHECK(starhalo__cl_check_vector(what, "dy", dy, sizeof(float), elems));
    STARHALO_CHECK(starhalo__cl_check_vector(what, "params", params, sizeof(double), 5 * C));
    STARHALO_CHECK(starhalo__cl_check_vector(what, "dx", dx, sizeof(float), elems));
    STARHALO_REQUIRE(dx != x && dx != dy && dx != params, STARHALO_ERR_INVALID_ARG,
                     "%s: dx must be a different handle than x, dy and params", what);
    STARHALO_REQUIRE(args->count > 0.0, STARHALO_ERR_INVALID_ARG,
                     "%s: count %g (cells per channel) must be > 0", what, args->count);
    starhalo__bn_bwd_args_t a = *args;
    a.status = o ? o->status : NULL;
    const starpu_data_handle_t h[4] = {x, dy, params, dx};
    return starhalo__cl_submit(&starhalo_cl_bn_bwd, o, &a, sizeof a, 4, h);
}
