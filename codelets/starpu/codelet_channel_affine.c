/* SPDX-License-Identifier: MIT */
/**
 * @file codelet_channel_affine.c
 * @brief Per-channel affine codelet y = x*scale[c] + shift[c] on a region
 * (starhalo_kern_channel_affine_cpu; CPU only for now): batch-norm apply and conv bias.
 * starhalo__insert_channel_affine runs it in place (codelet_channel_affine_inplace.c) when
 * x and y are the same handle.
 */
#include "codelets_cnn.h"

static void channel_affine_cpu(void *buffers[], void *cl_arg)
{
    const starhalo__channel_affine_args_t *a = cl_arg;
    const float *x = (const float *)STARPU_VECTOR_GET_PTR(buffers[0]);
    const double *p = (const double *)STARPU_VECTOR_GET_PTR(buffers[1]);
    float *y = (float *)STARPU_VECTOR_GET_PTR(buffers[2]);
    const int64_t C = a->tile.channels;
    starhalo__cl_record(a->status,
                        starhalo_kern_channel_affine_cpu(&a->tile, x, y, a->has_scale ? p : NULL,
                                                         a->has_scale ? p + C : p, &a->region));
}

static uint32_t channel_affine_footprint(struct starpu_task *task)
{
    const starhalo__channel_affine_args_t *a = task->cl_arg;
    return starhalo__cl_cnn_footprint(&a->tile, &a->region, a->has_scale);
}

static struct starpu_perfmodel channel_affine_model = {
    .type = STARPU_HISTORY_BASED,
    .symbol = "starhalo_channel_affine",
    .footprint = channel_affine_footprint,
};

struct starpu_codelet starhalo_cl_channel_affine = {
    .cpu_funcs = {channel_affine_cpu},
    .cpu_funcs_name = {"channel_affine_cpu"},
    .nbuffers = 3,
    .modes = {STARPU_R, STARPU_R, STARPU_RW},
    .model = &channel_affine_model,
    .name = "starhalo_channel_affine",
};

starhalo_status_t starhalo__insert_channel_affine(const struct starhalo__task_opts *o,
                                                  starpu_data_handle_t x,
                                                  starpu_data_handle_t params,
                                                  starpu_data_handle_t y,
                                                  const starhalo__channel_affine_args_t *args)
{
    const char *what = "channel_affine";
    STARHALO_REQUIRE(args, STARHALO_ERR_INVALID_ARG, "%s: NULL arguments", what);
    const int64_t elems = starhalo_kern_tile_elems(&args->tile), C = args->tile.channels;
    STARHALO_CHECK(starhalo__cl_check_vector(what, "x", x, sizeof(float), elems));
    STARHALO_CHECK(starhalo__cl_check_vector(what, "params", params, sizeof(double),
                                             args->has_scale ? 2 * C : C));
    STARHALO_CHECK(starhalo__cl_check_vector(what, "y", y, sizeof(float), elems));
    STARHALO_REQUIRE(params != x && params != y, STARHALO_ERR_INVALID_ARG,
                     "%s: params must be a different handle than x and y", what);
    starhalo__channel_affine_args_t a = *args;
    a.status = o ? o->status : NULL;
    if (x == y) {
        const starpu_data_handle_t h[2] = {params, y};
        return starhalo__cl_submit(&starhalo_cl_channel_affine_inplace, o, &a, sizeof a, 2, h);
    }
    const starpu_data_handle_t h[3] = {x, params, y};
    return starhalo__cl_submit(&starhalo_cl_channel_affine, o, &a, sizeof a, 3, h);
}
