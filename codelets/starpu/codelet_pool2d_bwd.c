/* SPDX-License-Identifier: MIT */
/**
 * @file codelet_pool2d_bwd.c
 * @brief Pooling backward codelet: the gradient of a whole ghosted input tile from the output
 * gradient of a region (starhalo_kern_pool2d_bwd_cpu; CPU only for now).
 */
#include "codelets_cnn.h"

static void pool2d_bwd_cpu(void *buffers[], void *cl_arg)
{
    const starhalo__pool_bwd_args_t *a = cl_arg;
    const float *in = (const float *)STARPU_VECTOR_GET_PTR(buffers[0]);
    const float *grad_out = (const float *)STARPU_VECTOR_GET_PTR(buffers[1]);
    float *grad_in = (float *)STARPU_VECTOR_GET_PTR(buffers[2]);
    starhalo__cl_record(a->status, starhalo_kern_pool2d_bwd_cpu(a->kind, &a->in_tile, in,
                                                                &a->out_tile, grad_out, &a->layer,
                                                                &a->domain, grad_in, &a->region));
}

static uint32_t pool2d_bwd_footprint(struct starpu_task *task)
{
    const starhalo__pool_bwd_args_t *a = task->cl_arg;
    const int64_t tag =
        ((int64_t)a->kind * 4096 + a->layer.kernel * 64 + a->layer.stride * 8 + a->layer.dilation);
    return starhalo__cl_cnn_footprint(&a->out_tile, &a->region, tag);
}

static struct starpu_perfmodel pool2d_bwd_model = {
    .type = STARPU_HISTORY_BASED,
    .symbol = "starhalo_pool2d_bwd",
    .footprint = pool2d_bwd_footprint,
};

/* The input gradient is wholly overwritten (ghosts included), so W is the right mode. */
struct starpu_codelet starhalo_cl_pool2d_bwd = {
    .cpu_funcs = {pool2d_bwd_cpu},
    .cpu_funcs_name = {"pool2d_bwd_cpu"},
    .nbuffers = 3,
    .modes = {STARPU_R, STARPU_R, STARPU_W},
    .model = &pool2d_bwd_model,
    .name = "starhalo_pool2d_bwd",
};

starhalo_status_t starhalo__insert_pool2d_bwd(const struct starhalo__task_opts *o,
                                              starpu_data_handle_t in,
                                              starpu_data_handle_t grad_out,
                                              starpu_data_handle_t grad_in,
                                              const starhalo__pool_bwd_args_t *args)
{
    const char *what = "pool2d_bwd";
    STARHALO_REQUIRE(args, STARHALO_ERR_INVALID_ARG, "%s: NULL arguments", what);
    STARHALO_CHECK(starhalo__cl_check_vector(what, "input", in, sizeof(float),
                                             starhalo_kern_tile_elems(&args->in_tile)));
    STARHALO_CHECK(starhalo__cl_check_vector(what, "grad_out", grad_out, sizeof(float),
                                             starhalo_kern_tile_elems(&args->out_tile)));
    STARHALO_CHECK(starhalo__cl_check_vector(what, "grad_in", grad_in, sizeof(float),
                                             starhalo_kern_tile_elems(&args->in_tile)));
    STARHALO_REQUIRE(grad_in != in && grad_in != grad_out, STARHALO_ERR_INVALID_ARG,
                     "%s: grad_in must differ from the input and grad_out handles", what);
    starhalo__pool_bwd_args_t a = *args;
    a.status = o ? o->status : NULL;
    const starpu_data_handle_t h[3] = {in, grad_out, grad_in};
    return starhalo__cl_submit(&starhalo_cl_pool2d_bwd, o, &a, sizeof a, 3, h);
}
