/* SPDX-License-Identifier: MIT */
/**
 * @file codelet_conv2d_bwd_data.c
 * @brief conv2d backward data codelet: the gradient of a whole ghosted input tile from the
 * output gradient of a region: oneDNN's backward data on a CPU
 * (starhalo_kern_conv2d_bwd_data_dnnl), the per-cell kernel on CUDA
 * (starhalo_kern_conv2d_bwd_data_cuda).
 */
#include "codelets_cnn.h"

/* On a CPU (stream NULL) or queued on the CUDA worker's stream. */
static void bwd_data(void *buffers[], const starhalo__conv_bwd_args_t *a, void *stream)
{
    const float *grad_out = (const float *)STARPU_VECTOR_GET_PTR(buffers[0]);
    const float *w = (const float *)STARPU_VECTOR_GET_PTR(buffers[1]);
    float *grad_in = (float *)STARPU_VECTOR_GET_PTR(buffers[2]);
#if STARHALO_USE_CUDA && defined(STARPU_USE_CUDA)
    if (stream) {
        starhalo__cl_record(a->status, starhalo_kern_conv2d_bwd_data_cuda(
                                           &a->out_tile, grad_out, w, &a->layer, &a->in_tile,
                                           grad_in, &a->region, stream));
        return;
    }
#endif
    (void)stream;
    starhalo__cl_record(a->status,
                        starhalo_kern_conv2d_bwd_data_dnnl_g(&a->out_tile, grad_out, w, &a->layer,
                                                             starhalo__cl_conv_groups(a->groups),
                                                             &a->in_tile, grad_in, &a->region));
}

static void bwd_data_cpu(void *buffers[], void *cl_arg)
{
    bwd_data(buffers, cl_arg, NULL);
}

#if STARHALO_USE_CUDA && defined(STARPU_USE_CUDA)
static void bwd_data_cuda(void *buffers[], void *cl_arg)
{
    bwd_data(buffers, cl_arg, starpu_cuda_get_local_stream());
}
#endif

static struct starpu_perfmodel bwd_data_model = {
    .type = STARPU_HISTORY_BASED,
    .symbol = "starhalo_conv2d_bwd_data",
    .footprint = starhalo__cl_conv_bwd_footprint,
};

/* The input gradient is wholly overwritten (ghosts included), so W is the right mode. */
struct starpu_codelet starhalo_cl_conv2d_bwd_data = {
    .cpu_funcs = {bwd_data_cpu},
    .cpu_funcs_name = {"bwd_data_cpu"},
#if STARHALO_USE_CUDA && defined(STARPU_USE_CUDA)
    .cuda_funcs = {bwd_data_cuda},
    .cuda_flags = {STARPU_CUDA_ASYNC},
    .can_execute = starhalo__cl_conv_bwd_can_execute,
#endif
    .nbuffers = 3,
    .modes = {STARPU_R, STARPU_R, STARPU_W},
    .model = &bwd_data_model,
    .name = "starhalo_conv2d_bwd_data",
};

starhalo_status_t starhalo__insert_conv2d_bwd_data(const struct starhalo__task_opts *o,
                                                   starpu_data_handle_t grad_out,
                                                   starpu_data_handle_t weights,
                                                   starpu_data_handle_t grad_in,
                                                   const starhalo__conv_bwd_args_t *args)
{
    STARHALO_REQUIRE(grad_out && weights && grad_in && args, STARHALO_ERR_INVALID_ARG,
                     "conv2d_bwd_data: NULL handle or arguments");
    STARHALO_REQUIRE(args->groups >= 0, STARHALO_ERR_INVALID_ARG,
                     "conv2d_bwd_data: groups %d must be >= 0 (0, 1: ungrouped)", args->groups);
    starhalo__conv_bwd_args_t a = *args;
    a.status = o ? o->status : NULL;
    const starpu_data_handle_t h[3] = {grad_out, weights, grad_in};
    return starhalo__cl_submit(&starhalo_cl_conv2d_bwd_data, o, &a, sizeof a, 3, h);
}
