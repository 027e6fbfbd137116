/* SPDX-License-Identifier: MIT */
/**
 * @file codelet_stencil5.c
 * @brief The 5-point Jacobi codelet: one output region of a tile (starhalo_kern_stencil5_*).
 */
#include "codelets.h"

static void stencil5_cpu(void *buffers[], void *cl_arg)
{
    const starhalo__stencil_args_t *a = cl_arg;
    starhalo__cl_record(a->status,
                        starhalo_kern_stencil5_cpu(
                            a->dtype, &a->tile, (const void *)STARPU_VECTOR_GET_PTR(buffers[0]),
                            (void *)STARPU_VECTOR_GET_PTR(buffers[1]), &a->region));
}

#if STARHALO_USE_CUDA && defined(STARPU_USE_CUDA)
static void stencil5_cuda(void *buffers[], void *cl_arg)
{
    const starhalo__stencil_args_t *a = cl_arg;
    starhalo__cl_record(a->status,
                        starhalo_kern_stencil5_cuda(a->dtype, &a->tile,
                                                    (const void *)STARPU_VECTOR_GET_PTR(buffers[0]),
                                                    (void *)STARPU_VECTOR_GET_PTR(buffers[1]),
                                                    &a->region, starpu_cuda_get_local_stream()));
}
#endif

static uint32_t stencil5_footprint(struct starpu_task *task)
{
    const starhalo__stencil_args_t *a = task->cl_arg;
    return starhalo__cl_region_footprint(&a->region, (uint32_t)a->dtype);
}

static struct starpu_perfmodel stencil5_model = {
    .type = STARPU_HISTORY_BASED,
    .symbol = "starhalo_stencil5",
    .footprint = stencil5_footprint,
};

struct starpu_codelet starhalo_cl_stencil5 = {
    .cpu_funcs = {stencil5_cpu},
    .cpu_funcs_name = {"stencil5_cpu"},
#if STARHALO_USE_CUDA && defined(STARPU_USE_CUDA)
    .cuda_funcs = {stencil5_cuda},
    .cuda_flags = {STARPU_CUDA_ASYNC},
#endif
    .nbuffers = 2,
    .modes = {STARPU_R, STARPU_RW | STARPU_COMMUTE},
    .model = &stencil5_model,
    .name = "starhalo_stencil5",
};

starhalo_status_t starhalo__insert_stencil5(const struct starhalo__task_opts *o,
                                            starpu_data_handle_t in, starpu_data_handle_t out,
                                            starhalo_dtype_t dtype,
                                            const starhalo_kern_tile_t *tile,
                                            const starhalo_box_t *region)
{
    STARHALO_REQUIRE(in && out && tile && region && in != out, STARHALO_ERR_INVALID_ARG,
                     "stencil5: NULL or identical in/out handles, tile or region");
    const starhalo__stencil_args_t a = {dtype, *tile, *region, o ? o->status : NULL};
    const starpu_data_handle_t h[2] = {in, out};
    return starhalo__cl_submit(&starhalo_cl_stencil5, o, &a, sizeof a, 2, h);
}
