/* SPDX-License-Identifier: MIT */
/**
 * @file codelet_stencil9.c
 * @brief The 9-point Jacobi codelet: one output region of a tile (starhalo_kern_stencil9_*).
 */
#include "codelets.h"

static void stencil9_cpu(void *buffers[], void *cl_arg)
{
    const starhalo__stencil_args_t *a = cl_arg;
    starhalo__cl_record(a->status,
                        starhalo_kern_stencil9_cpu(
                            a->dtype, &a->tile, (const void *)STARPU_VECTOR_GET_PTR(buffers[0]),
                            (void *)STARPU_VECTOR_GET_PTR(buffers[1]), &a->region));
}

#if STARHALO_USE_CUDA && defined(STARPU_USE_CUDA)
static void stencil9_cuda(void *buffers[], void *cl_arg)
{
    const starhalo__stencil_args_t *a = cl_arg;
    starhalo__cl_record(a->status,
                        starhalo_kern_stencil9_cuda(a->dtype, &a->tile,
                                                    (const void *)STARPU_VECTOR_GET_PTR(buffers[0]),
                                                    (void *)STARPU_VECTOR_GET_PTR(buffers[1]),
                                                    &a->region, starpu_cuda_get_local_stream()));
}
#endif

static uint32_t stencil9_footprint(struct starpu_task *task)
{
    const starhalo__stencil_args_t *a = task->cl_arg;
    return starhalo__cl_region_footprint(&a->region, (uint32_t)a->dtype);
}

static struct starpu_perfmodel stencil9_model = {
    .type = STARPU_HISTORY_BASED,
    .symbol = "starhalo_stencil9",
    .footprint = stencil9_footprint,
};

struct starpu_codelet starhalo_cl_stencil9 = {
    .cpu_funcs = {stencil9_cpu},
    .cpu_funcs_name = {"stencil9_cpu"},
#if STARHALO_USE_CUDA && defined(STARPU_USE_CUDA)
    .cuda_funcs = {stencil9_cuda},
    .cuda_flags = {STARPU_CUDA_ASYNC},
#endif
    .nbuffers = 2,
    .modes = {STARPU_R, STARPU_RW | STARPU_COMMUTE},
    .model = &stencil9_model,
    .name = "starhalo_stencil9",
};

starhalo_status_t starhalo__insert_stencil9(const struct starhalo__task_opts *o,
                                            starpu_data_handle_t in, starpu_data_handle_t out,
                                            starhalo_dtype_t dtype,
                                            const starhalo_kern_tile_t *tile,
                                            const starhalo_box_t *region)
{
    STARHALO_REQUIRE(in && out && tile && region && in != out, STARHALO_ERR_INVALID_ARG,
                     "stencil9: NULL or identical in/out handles, tile or region");
    const starhalo__stencil_args_t a = {dtype, *tile, *region, o ? o->status : NULL};
    const starpu_data_handle_t h[2] = {in, out};
    return starhalo__cl_submit(&starhalo_cl_stencil9, o, &a, sizeof a, 2, h);
}
