/* SPDX-License-Identifier: MIT */
/**
 * @file codelet_pool2d.c
 * @brief The pooling forward codelet (max / average): one output region, float32.
 */
#include "codelets.h"
#include "kern_geom.h"

/* Same access as conv2d (whole input tile R, output tile exclusive): see codelet_conv2d.c. */
static void pool2d_cpu(void *buffers[], void *cl_arg)
{
    const starhalo__pool_args_t *a = cl_arg;
    starhalo__cl_record(a->status,
                        starhalo_kern_pool2d_cpu_ex(
                            a->kind, &a->in_tile, (const float *)STARPU_VECTOR_GET_PTR(buffers[0]),
                            &a->layer, &a->out_tile, (float *)STARPU_VECTOR_GET_PTR(buffers[1]),
                            &a->region, a->has_domain ? &a->domain : NULL,
                            STARHALO_KERN_READ_WHOLE_TILE | STARHALO_KERN_EXCLUSIVE_OUTPUT));
}

#if STARHALO_USE_CUDA && defined(STARPU_USE_CUDA)
static void pool2d_cuda(void *buffers[], void *cl_arg)
{
    const starhalo__pool_args_t *a = cl_arg;
    starhalo__cl_record(a->status,
                        starhalo_kern_pool2d_cuda(
                            a->kind, &a->in_tile, (const float *)STARPU_VECTOR_GET_PTR(buffers[0]),
                            &a->layer, &a->out_tile, (float *)STARPU_VECTOR_GET_PTR(buffers[1]),
                            &a->region, a->has_domain ? &a->domain : NULL,
                            starpu_cuda_get_local_stream()));
}

/* cuDNN's average pooling that excludes padding needs the same padding on both sides of the
 * window (starhalo_kern_pool2d_cuda): such a region at the image border runs on a CPU. */
static int pool2d_can_execute(unsigned workerid, struct starpu_task *task, unsigned nimpl)
{
    (void)nimpl;
    const starhalo__pool_args_t *a = task->cl_arg;
    if (starpu_worker_get_type((int)workerid) != STARPU_CUDA_WORKER ||
        a->kind != STARHALO_POOL_AVG_EXCLUDE)
        return 1;
    starhalo__layer_geom_t g;
    if (starhalo__kern_layer_geom("pool2d", 1, &a->in_tile, &a->layer, &a->out_tile, &a->region,
                                  a->has_domain ? &a->domain : NULL, &g) != STARHALO_OK)
        return 1; /* bad geometry: the kernel reports it wherever it runs */
    return g.pl[0] == g.pr[0] && g.pl[1] == g.pr[1];
}
#endif

static uint32_t pool2d_footprint(struct starpu_task *task)
{
    const starhalo__pool_args_t *a = task->cl_arg;
    const int64_t shape[3] = {a->in_tile.channels * a->in_tile.batch, a->kind,
                              a->layer.kernel * 64 + a->layer.stride * 8 + a->layer.dilation};
    return starhalo__cl_region_footprint(&a->region,
                                         starpu_hash_crc32c_be_n(shape, sizeof shape, 0));
}

static struct starpu_perfmodel pool2d_model = {
    .type = STARPU_HISTORY_BASED,
    .symbol = "starhalo_pool2d",
    .footprint = pool2d_footprint,
};

struct starpu_codelet starhalo_cl_pool2d = {
    .cpu_funcs = {pool2d_cpu},
    .cpu_funcs_name = {"pool2d_cpu"},
#if STARHALO_USE_CUDA && defined(STARPU_USE_CUDA)
    .cuda_funcs = {pool2d_cuda},
    .cuda_flags = {STARPU_CUDA_ASYNC},
    .can_execute = pool2d_can_execute,
#endif
    .nbuffers = 2,
    .modes = {STARPU_R, STARPU_RW | STARPU_COMMUTE},
    .model = &pool2d_model,
    .name = "starhalo_pool2d",
};

starhalo_status_t
starhalo__insert_pool2d(const struct starhalo__task_opts *o, starpu_data_handle_t in,
                        starpu_data_handle_t out, starhalo_pool_kind_t kind,
                        const starhalo_kern_tile_t *in_tile, const starhalo_kern_tile_t *out_tile,
                        const starhalo_layer_t *layer, const starhalo_box_t *region,
                        const starhalo_box_t *domain)
{
    STARHALO_REQUIRE(in && out && in_tile && out_tile && layer && region, STARHALO_ERR_INVALID_ARG,
                     "pool2d: NULL handle, tile, layer or region");
    starhalo__pool_args_t a;
    memset(&a, 0, sizeof a);
    a.kind = kind;
    a.in_tile = *in_tile;
    a.out_tile = *out_tile;
    a.layer = *layer;
    a.has_domain = domain != NULL;
    if (domain)
        a.domain = *domain;
    a.region = *region;
    a.status = o ? o->status : NULL;
    const starpu_data_handle_t h[2] = {in, out};
    return starhalo__cl_submit(&starhalo_cl_pool2d, o, &a, sizeof a, 2, h);
}
