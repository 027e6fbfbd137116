/* SPDX-License-Identifier: MIT */
/**
 * @file codelet_conv2d_bwd_weights.c
 * @brief conv2d backward weights codelet: one part's weight gradient (double) from its input
 * tile and the output gradient of its region: oneDNN's backward weights on a CPU
 * (starhalo_kern_conv2d_bwd_weights_dnnl), the per-tap kernel on CUDA (_cuda).
 */
#include "codelets_cnn.h"

/* On a CPU (stream NULL) or queued on the CUDA worker's stream. */
static void bwd_weights(void *buffers[], const starhalo__conv_bwd_args_t *a, void *stream)
{
    const float *in = (const float *)STARPU_VECTOR_GET_PTR(buffers[0]);
    const float *grad_out = (const float *)STARPU_VECTOR_GET_PTR(buffers[1]);
    double *grad_w = (double *)STARPU_VECTOR_GET_PTR(buffers[2]);
#if STARHALO_USE_CUDA && defined(STARPU_USE_CUDA)
    if (stream) {
        starhalo__cl_record(a->status, starhalo_kern_conv2d_bwd_weights_cuda(
                                           &a->in_tile, in, &a->out_tile, grad_out, &a->layer,
                                           &a->region, grad_w, stream));
        return;
    }
#endif
    (void)stream;
    starhalo__cl_record(a->status, starhalo_kern_conv2d_bwd_weights_dnnl_g(
                                       &a->in_tile, in, &a->out_tile, grad_out, &a->layer,
                                       starhalo__cl_conv_groups(a->groups), &a->region, grad_w));
}

static void bwd_weights_cpu(void *buffers[], void *cl_arg)
{
    bwd_weights(buffers, cl_arg, NULL);
}

#if STARHALO_USE_CUDA && defined(STARPU_USE_CUDA)
static void bwd_weights_cuda(void *buffers[], void *cl_arg)
{
    bwd_weights(buffers, cl_arg, starpu_cuda_get_local_stream());
}
#endif

static struct starpu_perfmodel bwd_weights_model = {
    .type = STARPU_HISTORY_BASED,
    .symbol = "starhalo_conv2d_bwd_weights",
    .footprint = starhalo__cl_conv_bwd_footprint,
};

struct starpu_codelet starhalo_cl_conv2d_bwd_weights = {
    .cpu_funcs = {bwd_weights_cpu},
    .cpu_funcs_name = {"bwd_weights_cpu"},
#if STARHALO_USE_CUDA && defined(STARPU_USE_CUDA)
    .cuda_funcs = {bwd_weights_cuda},
    .cuda_flags = {STARPU_CUDA_ASYNC},
    .can_execute = starhalo__cl_conv_bwd_can_execute,
#endif
    .nbuffers = 3,
    .modes = {STARPU_R, STARPU_R, STARPU_W},
    .model = &bwd_weights_model,
    .name = "starhalo_conv2d_bwd_weights",
};

starhalo_status_t starhalo__insert_conv2d_bwd_weights(const struct starhalo__task_opts *o,
                                                      starpu_data_handle_t in,
                                                      starpu_data_handle_t grad_out,
                                                      starpu_data_handle_t grad_w,
                                                      const starhalo__conv_bwd_args_t *args)
{
    STARHALO_REQUIRE(in && grad_out && grad_w && args, STARHALO_ERR_INVALID_ARG,
                     "conv2d_bwd_weights: NULL handle or arguments");
    STARHALO_REQUIRE(args->groups >= 0, STARHALO_ERR_INVALID_ARG,
                     "conv2d_bwd_weights: groups %d must be >= 0 (0, 1: ungrouped)", args->groups);
    starhalo__conv_bwd_args_t a = *args;
    a.status = o ? o->status : NULL;
    const starpu_data_handle_t h[3] = {in, grad_out, grad_w};
    return starhalo__cl_submit(&starhalo_cl_conv2d_bwd_weights, o, &a, sizeof a, 3, h);
}
