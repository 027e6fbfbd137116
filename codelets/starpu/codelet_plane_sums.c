/* SPDX-License-Identifier: MIT */
/**
 * @file codelet_plane_sums.c
 * @brief Global-average-pool partial sums codelet: sums[n*C + c] = sum of a region of each
 * plane (starhalo_kern_plane_sums_cpu; CPU only for now).
 */
#include "codelets_cnn.h"

static void plane_sums_cpu(void *buffers[], void *cl_arg)
{
    const starhalo__cnn_region_args_t *a = cl_arg;
    const float *x = (const float *)STARPU_VECTOR_GET_PTR(buffers[0]);
    double *sums = (double *)STARPU_VECTOR_GET_PTR(buffers[1]);
    starhalo__cl_record(a->status, starhalo_kern_plane_sums_cpu(&a->tile, x, &a->region, sums));
}

static uint32_t plane_sums_footprint(struct starpu_task *task)
{
    const starhalo__cnn_region_args_t *a = task->cl_arg;
    return starhalo__cl_cnn_footprint(&a->tile, &a->region, 0);
}

static struct starpu_perfmodel plane_sums_model = {
    .type = STARPU_HISTORY_BASED,
    .symbol = "starhalo_plane_sums",
    .footprint = plane_sums_footprint,
};

struct starpu_codelet starhalo_cl_plane_sums = {
    .cpu_funcs = {plane_sums_cpu},
    .cpu_funcs_name = {"plane_sums_cpu"},
    .nbuffers = 2,
    .modes = {STARPU_R, STARPU_W},
    .model = &plane_sums_model,
    .name = "starhalo_plane_sums",
};

starhalo_status_t starhalo__insert_plane_sums(const struct starhalo__task_opts *o,
                                              starpu_data_handle_t x, starpu_data_handle_t sums,
                                              const starhalo__cnn_region_args_t *args)
{
    const char *what = "plane_sums";
    STARHALO_REQUIRE(args, STARHALO_ERR_INVALID_ARG, "%s: NULL arguments", what);
    STARHALO_CHECK(starhalo__cl_check_vector(what, "x", x, sizeof(float),
                                             starhalo_kern_tile_elems(&args->tile)));
    STARHALO_CHECK(starhalo__cl_check_vector(what, "sums", sums, sizeof(double),
                                             args->tile.batch * args->tile.channels));
    starhalo__cnn_region_args_t a = *args;
    a.status = o ? o->status : NULL;
    const starpu_data_handle_t h[2] = {x, sums};
    return starhalo__cl_submit(&starhalo_cl_plane_sums, o, &a, sizeof a, 2, h);
}
