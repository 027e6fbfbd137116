/* SPDX-License-Identifier: MIT */
/**
 * @file codelet_plane_fill.c
 * @brief Global-average-pool backward codelet: x[n][c][cell] = values[n*C + c] on a region
 * (starhalo_kern_plane_fill_cpu; CPU only for now).
 */
#include "codelets_cnn.h"

static void plane_fill_cpu(void *buffers[], void *cl_arg)
{
    const starhalo__cnn_region_args_t *a = cl_arg;
    const double *values = (const double *)STARPU_VECTOR_GET_PTR(buffers[0]);
    float *x = (float *)STARPU_VECTOR_GET_PTR(buffers[1]);
    starhalo__cl_record(a->status, starhalo_kern_plane_fill_cpu(&a->tile, x, &a->region, values));
}

static uint32_t plane_fill_footprint(struct starpu_task *task)
{
    const starhalo__cnn_region_args_t *a = task->cl_arg;
    return starhalo__cl_cnn_footprint(&a->tile, &a->region, 0);
}

static struct starpu_perfmodel plane_fill_model = {
    .type = STARPU_HISTORY_BASED,
    .symbol = "starhalo_plane_fill",
    .footprint = plane_fill_footprint,
};

struct starpu_codelet starhalo_cl_plane_fill = {
    .cpu_funcs = {plane_fill_cpu},
    .cpu_funcs_name = {"plane_fill_cpu"},
    .nbuffers = 2,
    .modes = {STARPU_R, STARPU_RW},
    .model = &plane_fill_model,
    .name = "starhalo_plane_fill",
};

starhalo_status_t starhalo__insert_plane_fill(const struct starhalo__task_opts *o,
                                              starpu_data_handle_t values, starpu_data_handle_t x,
                                              const starhalo__cnn_region_args_t *args)
{
    const char *what = "plane_fill";
    STARHALO_REQUIRE(args, STARHALO_ERR_INVALID_ARG, "%s: NULL arguments", what);
    STARHALO_CHECK(starhalo__cl_check_vector(what, "values", values, sizeof(double),
                                             args->tile.batch * args->tile.channels));
    STARHALO_CHECK(starhalo__cl_check_vector(what, "x", x, sizeof(float),
                                             starhalo_kern_tile_elems(&args->tile)));
    starhalo__cnn_region_args_t a = *args;
    a.status = o ? o->status : NULL;
    const starpu_data_handle_t h[2] = {values, x};
    return starhalo__cl_submit(&starhalo_cl_plane_fill, o, &a, sizeof a, 2, h);
}
