/* SPDX-License-Identifier: MIT */
/**
 * @file codelet_relu.c
 * @brief ReLU forward / backward codelet on a region of a tile (starhalo_kern_relu_*,
 * starhalo_kern_relu_bwd_*).
 */
#include "codelets_cnn.h"

static void relu_cpu(void *buffers[], void *cl_arg)
{
    const starhalo__relu_args_t *a = cl_arg;
    const float *pre = (const float *)STARPU_VECTOR_GET_PTR(buffers[0]);
    float *out = (float *)STARPU_VECTOR_GET_PTR(buffers[1]);
    starhalo__cl_record(a->status, a->backward
                                       ? starhalo_kern_relu_bwd_cpu(&a->tile, pre, out, &a->region)
                                       : starhalo_kern_relu_cpu(&a->tile, pre, out, &a->region));
}

#if STARHALO_USE_CUDA && defined(STARPU_USE_CUDA)
static void relu_cuda(void *buffers[], void *cl_arg)
{
    const starhalo__relu_args_t *a = cl_arg;
    const float *pre = (const float *)STARPU_VECTOR_GET_PTR(buffers[0]);
    float *out = (float *)STARPU_VECTOR_GET_PTR(buffers[1]);
    void *s = starpu_cuda_get_local_stream();
    starhalo__cl_record(a->status,
                        a->backward ? starhalo_kern_relu_bwd_cuda(&a->tile, pre, out, &a->region, s)
                                    : starhalo_kern_relu_cuda(&a->tile, pre, out, &a->region, s));
}
#endif

static uint32_t relu_footprint(struct starpu_task *task)
{
    const starhalo__relu_args_t *a = task->cl_arg;
    const int64_t shape[2] = {a->tile.batch * a->tile.channels, a->backward};
    return starhalo__cl_region_footprint(&a->region,
                                         starpu_hash_crc32c_be_n(shape, sizeof shape, 0));
}

static struct starpu_perfmodel relu_model = {
    .type = STARPU_HISTORY_BASED,
    .symbol = "starhalo_relu",
    .footprint = relu_footprint,
};

struct starpu_codelet starhalo_cl_relu = {
    .cpu_funcs = {relu_cpu},
    .cpu_funcs_name = {"relu_cpu"},
#if STARHALO_USE_CUDA && defined(STARPU_USE_CUDA)
    .cuda_funcs = {relu_cuda},
    .cuda_flags = {STARPU_CUDA_ASYNC},
#endif
    .nbuffers = 2,
    .modes = {STARPU_R, STARPU_RW},
    .model = &relu_model,
    .name = "starhalo_relu",
};

starhalo_status_t starhalo__insert_relu(const struct starhalo__task_opts *o,
                                        starpu_data_handle_t pre, starpu_data_handle_t out,
                                        const starhalo__relu_args_t *args)
{
    STARHALO_REQUIRE(pre && out && args && pre != out, STARHALO_ERR_INVALID_ARG,
                     "relu: NULL or identical handles, or NULL arguments");
    starhalo__relu_args_t a = *args;
    a.status = o ? o->status : NULL;
    const starpu_data_handle_t h[2] = {pre, out};
    return starhalo__cl_submit(&starhalo_cl_relu, o, &a, sizeof a, 2, h);
}
