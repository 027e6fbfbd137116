/* SPDX-License-Identifier: MIT */
/**
 * @file codelet_channel_affine_inplace.c
 * @brief In-place per-channel affine codelet y = y*scale[c] + shift[c] on a region (conv bias
 * added to the conv output; starhalo_kern_channel_affine_cpu with y == x; CPU only for now).
 * Submitted by starhalo__insert_channel_affine (codelet_channel_affine.c) when x == y: one
 * handle cannot be passed twice with R and RW.
 */
#include "codelets_cnn.h"

static void channel_affine_inplace_cpu(void *buffers[], void *cl_arg)
{
    const starhalo__channel_affine_args_t *a = cl_arg;
    const double *p = (const double *)STARPU_VECTOR_GET_PTR(buffers[0]);
    float *y = (float *)STARPU_VECTOR_GET_PTR(buffers[1]);
    const int64_t C = a->tile.channels;
    starhalo__cl_record(a->status,
                        starhalo_kern_channel_affine_cpu(&a->tile, y, y, a->has_scale ? p : NULL,
                                                         a->has_scale ? p + C : p, &a->region));
}

static uint32_t channel_affine_inplace_footprint(struct starpu_task *task)
{
    const starhalo__channel_affine_args_t *a = task->cl_arg;
    return starhalo__cl_cnn_footprint(&a->tile, &a->region, a->has_scale);
}

static struct starpu_perfmodel channel_affine_inplace_model = {
    .type = STARPU_HISTORY_BASED,
    .symbol = "starhalo_channel_affine_inplace",
    .footprint = channel_affine_inplace_footprint,
};

struct starpu_codelet starhalo_cl_channel_affine_inplace = {
    .cpu_funcs = {channel_affine_inplace_cpu},
    .cpu_funcs_name = {"channel_affine_inplace_cpu"},
    .nbuffers = 2,
    .modes = {STARPU_R, STARPU_RW},
    .model = &channel_affine_inplace_model,
    .name = "starhalo_channel_affine_inplace",
};
