/* SPDX-License-Identifier: MIT */
/**
 * @file codelet_conv2d.c
 * @brief The conv2d forward codelet: one output region (starhalo_kern_conv2d_*, float32), any
 * conv groups on a CPU (starhalo_kern_conv2d_cpu_g), ungrouped on CUDA.
 */
#include "codelets.h"

/* Weights buffer: Cout x Cin/groups x k x k weights, then the bias when has_bias. */
static const float *bias_of(const starhalo__conv_args_t *a, const float *w)
{
    const int64_t k = a->layer.kernel;
    const int64_t cin = a->in_tile.channels / starhalo__cl_conv_groups(a->groups);
    return a->has_bias ? w + a->out_tile.channels * cin * k * k : NULL;
}

/* The task reads the whole input tile (R) and holds the whole output tile exclusively (RW; one
 * writer at a time, COMMUTE only reorders), so the kernel may run an interior region on the
 * dense tile and write the result in place (READ_WHOLE_TILE | EXCLUSIVE_OUTPUT). A codelet
 * on a partitioned (child) output handle must not pass EXCLUSIVE_OUTPUT. */
static void conv2d_cpu(void *buffers[], void *cl_arg)
{
    const starhalo__conv_args_t *a = cl_arg;
    const float *w = (const float *)STARPU_VECTOR_GET_PTR(buffers[1]);
    starhalo__cl_record(
        a->status,
        starhalo_kern_conv2d_cpu_g(&a->in_tile, (const float *)STARPU_VECTOR_GET_PTR(buffers[0]), w,
                                   bias_of(a, w), &a->layer, starhalo__cl_conv_groups(a->groups),
                                   &a->out_tile, (float *)STARPU_VECTOR_GET_PTR(buffers[2]),
                                   &a->region, a->has_domain ? &a->domain : NULL,
                                   STARHALO_KERN_READ_WHOLE_TILE | STARHALO_KERN_EXCLUSIVE_OUTPUT));
}

#if STARHALO_USE_CUDA && defined(STARPU_USE_CUDA)
static void conv2d_cuda(void *buffers[], void *cl_arg)
{
    const starhalo__conv_args_t *a = cl_arg;
    const float *w = (const float *)STARPU_VECTOR_GET_PTR(buffers[1]);
    starhalo__cl_record(a->status,
                        starhalo_kern_conv2d_cuda(
                            &a->in_tile, (const float *)STARPU_VECTOR_GET_PTR(buffers[0]), w,
                            bias_of(a, w), &a->layer, &a->out_tile,
                            (float *)STARPU_VECTOR_GET_PTR(buffers[2]), &a->region,
                            a->has_domain ? &a->domain : NULL, starpu_cuda_get_local_stream()));
}

/* The CUDA kernel is ungrouped: a grouped task runs on a CPU worker. */
static int conv2d_can_execute(unsigned workerid, struct starpu_task *task, unsigned nimpl)
{
    (void)nimpl;
    const starhalo__conv_args_t *a = task->cl_arg;
    return a->groups <= 1 || starpu_worker_get_type((int)workerid) != STARPU_CUDA_WORKER;
}
#endif

/* Region extents and channel counts: the cost of a conv region. */
static uint32_t conv2d_footprint(struct starpu_task *task)
{
    const starhalo__conv_args_t *a = task->cl_arg;
    const int64_t shape[4] = {a->in_tile.channels, a->out_tile.channels, a->in_tile.batch,
                              a->layer.kernel * 64 + a->layer.stride * 8 + a->layer.dilation};
    uint32_t kind = starpu_hash_crc32c_be_n(shape, sizeof shape, 0);
    if (a->groups > 1) /* ungrouped tasks keep their footprints */
        kind = starpu_hash_crc32c_be((uint32_t)a->groups, kind);
    return starhalo__cl_region_footprint(&a->region, kind);
}

static struct starpu_perfmodel conv2d_model = {
    .type = STARPU_HISTORY_BASED,
    .symbol = "starhalo_conv2d",
    .footprint = conv2d_footprint,
};

struct starpu_codelet starhalo_cl_conv2d = {
    .cpu_funcs = {conv2d_cpu},
    .cpu_funcs_name = {"conv2d_cpu"},
#if STARHALO_USE_CUDA && defined(STARPU_USE_CUDA)
    .cuda_funcs = {conv2d_cuda},
    .cuda_flags = {STARPU_CUDA_ASYNC},
    .can_execute = conv2d_can_execute,
#endif
    .nbuffers = 3,
    .modes = {STARPU_R, STARPU_R, STARPU_RW | STARPU_COMMUTE},
    .model = &conv2d_model,
    .name = "starhalo_conv2d",
};

starhalo_status_t
starhalo__insert_conv2d(const struct starhalo__task_opts *o, starpu_data_handle_t in,
                        starpu_data_handle_t weights, starpu_data_handle_t out,
                        const starhalo_kern_tile_t *in_tile, const starhalo_kern_tile_t *out_tile,
                        const starhalo_layer_t *layer, int has_bias, const starhalo_box_t *region,
                        const starhalo_box_t *domain)
{
    return starhalo__insert_conv2d_g(o, in, weights, out, in_tile, out_tile, layer, 1, has_bias,
                                     region, domain);
}

starhalo_status_t
starhalo__insert_conv2d_g(const struct starhalo__task_opts *o, starpu_data_handle_t in,
                          starpu_data_handle_t weights, starpu_data_handle_t out,
                          const starhalo_kern_tile_t *in_tile, const starhalo_kern_tile_t *out_tile,
                          const starhalo_layer_t *layer, int groups, int has_bias,
                          const starhalo_box_t *region, const starhalo_box_t *domain)
{
    STARHALO_REQUIRE(in && weights && out && in_tile && out_tile && layer && region,
                     STARHALO_ERR_INVALID_ARG, "conv2d: NULL handle, tile, layer or region");
    STARHALO_REQUIRE(groups >= 1, STARHALO_ERR_INVALID_ARG, "conv2d: groups %d must be >= 1",
                     groups);
    starhalo__conv_args_t a;
    memset(&a, 0, sizeof a);
    a.in_tile = *in_tile;
    a.out_tile = *out_tile;
    a.layer = *layer;
    a.groups = groups;
    a.has_bias = has_bias != 0;
    a.has_domain = domain != NULL;
    if (domain)
        a.domain = *domain;
    a.region = *region;
    a.status = o ? o->status : NULL;
    const starpu_data_handle_t h[3] = {in, weights, out};
    return starhalo__cl_submit(&starhalo_cl_conv2d, o, &a, sizeof a, 3, h);
}
