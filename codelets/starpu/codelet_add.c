/* SPDX-License-Identifier: MIT */
/**
 * @file codelet_add.c
 * @brief Element-wise add codelet out = a + b on a region (starhalo_kern_add_cpu; CPU only for
 * now): residual connections. starhalo__insert_add accumulates in place
 * (codelet_add_inplace.c) when out is a or b.
 */
#include "codelets_cnn.h"

static void add_cpu(void *buffers[], void *cl_arg)
{
    const starhalo__cnn_region_args_t *a = cl_arg;
    const float *x = (const float *)STARPU_VECTOR_GET_PTR(buffers[0]);
    const float *y = (const float *)STARPU_VECTOR_GET_PTR(buffers[1]);
    float *out = (float *)STARPU_VECTOR_GET_PTR(buffers[2]);
    starhalo__cl_record(a->status, starhalo_kern_add_cpu(&a->tile, x, y, out, &a->region));
}

static uint32_t add_footprint(struct starpu_task *task)
{
    const starhalo__cnn_region_args_t *a = task->cl_arg;
    return starhalo__cl_cnn_footprint(&a->tile, &a->region, 0);
}

static struct starpu_perfmodel add_model = {
    .type = STARPU_HISTORY_BASED,
    .symbol = "starhalo_add",
    .footprint = add_footprint,
};

struct starpu_codelet starhalo_cl_add = {
    .cpu_funcs = {add_cpu},
    .cpu_funcs_name = {"add_cpu"},
    .nbuffers = 3,
    .modes = {STARPU_R, STARPU_R, STARPU_RW},
    .model = &add_model,
    .name = "starhalo_add",
};

starhalo_status_t starhalo__insert_add(const struct starhalo__task_opts *o, starpu_data_handle_t a,
                                       starpu_data_handle_t b, starpu_data_handle_t out,
                                       const starhalo__cnn_region_args_t *args)
{
    const char *what = "add";
    STARHALO_REQUIRE(args, STARHALO_ERR_INVALID_ARG, "%s: NULL arguments", what);
    const int64_t elems = starhalo_kern_tile_elems(&args->tile);
    STARHALO_CHECK(starhalo__cl_check_vector(what, "a", a, sizeof(float), elems));
    STARHALO_CHECK(starhalo__cl_check_vector(what, "b", b, sizeof(float), elems));
    STARHALO_CHECK(starhalo__cl_check_vector(what, "out", out, sizeof(float), elems));
    STARHALO_REQUIRE(a != b, STARHALO_ERR_INVALID_ARG, "%s: a and b must be different handles",
                     what);
    starhalo__cnn_region_args_t r = *args;
    r.status = o ? o->status : NULL;
    if (out == a || out == b) {
        /* Float addition is commutative, so out = b + a gives the bits of a + b. */
        const starpu_data_handle_t h[2] = {out, out == a ? b : a};
        return starhalo__cl_submit(&starhalo_cl_add_inplace, o, &r, sizeof r, 2, h);
    }
    const starpu_data_handle_t h[3] = {a, b, out};
    return starhalo__cl_submit(&starhalo_cl_add, o, &r, sizeof r, 3, h);
}
