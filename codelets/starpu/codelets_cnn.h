/* SPDX-License-Identifier: MIT */
/**
 * @file codelets_cnn.h
 * @brief The conv2d backward codelets (backward data, backward weights) and their cl_args.
 */
#ifndef STARHALO_CODELETS_CNN_H
#define STARHALO_CODELETS_CNN_H

#include "codelets.h"
#include "starhalo_kernels_cnn.h"

/** cl_args of starhalo_cl_conv2d_bwd_data / _bwd_weights (float32 tiles). bwd_data buffers:
 * grad_out tile (R), weights (R, Cout x Cin x k x k), grad_in tile (W: wholly overwritten).
 * bwd_weights buffers: input tile (R), grad_out tile (R), weight gradient (W, Cout x Cin x k x k
 * doubles). */
typedef struct starhalo__conv_bwd_args {
    starhalo_kern_tile_t in_tile, out_tile;
    starhalo_layer_t layer;
    starhalo_box_t region; /**< output cells whose gradient flows back */
    int *status;
} starhalo__conv_bwd_args_t;

/** cl_args of starhalo_cl_relu (float32). Buffers: pre-activation tile (R), out / gradient
 * tile (RW|COMMUTE: only the region is written), same geometry. */
typedef struct starhalo__relu_args {
    starhalo_kern_tile_t tile;
    starhalo_box_t region;
    int backward; /**< 0: out = max(pre, 0); 1: grad = pre > 0 ? grad : 0 */
    int *status;
} starhalo__relu_args_t;

extern struct starpu_codelet starhalo_cl_relu;

/** Submit one ReLU (forward or backward) region task. */
starhalo_status_t starhalo__insert_relu(const struct starhalo__task_opts *o,
                                        starpu_data_handle_t pre, starpu_data_handle_t out,
                                        const starhalo__relu_args_t *args);

extern struct starpu_codelet starhalo_cl_conv2d_bwd_data;
extern struct starpu_codelet starhalo_cl_conv2d_bwd_weights;

/** Submit one backward-data task (grad_in = the whole ghosted input-gradient tile). */
starhalo_status_t starhalo__insert_conv2d_bwd_data(const struct starhalo__task_opts *o,
                                                   starpu_data_handle_t grad_out,
                                                   starpu_data_handle_t weights,
                                                   starpu_data_handle_t grad_in,
                                                   const starhalo__conv_bwd_args_t *args);
/** Submit one backward-weights task into a Cout x Cin x k x k double vector handle. */
starhalo_status_t starhalo__insert_conv2d_bwd_weights(const struct starhalo__task_opts *o,
                                                      starpu_data_handle_t in,
                                                      starpu_data_handle_t grad_out,
                                                      starpu_data_handle_t grad_w,
                                                      const starhalo__conv_bwd_args_t *args);

/** History-model footprint of a backward task: region extents, channels, kernel. */
static inline uint32_t starhalo__cl_conv_bwd_footprint(struct starpu_task *task)
{
    const starhalo__conv_bwd_args_t *a = task->cl_arg;
    const int64_t shape[4] = {a->in_tile.channels, a->out_tile.channels, a->in_tile.batch,
                              a->layer.kernel * 64 + a->layer.stride * 8 + a->layer.dilation};
    return starhalo__cl_region_footprint(&a->region,
                                         starpu_hash_crc32c_be_n(shape, sizeof shape, 0));
}

#endif
