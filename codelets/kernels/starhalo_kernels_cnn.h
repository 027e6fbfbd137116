/* SPDX-License-Identifier: MIT */
/**
 * @file starhalo_kernels_cnn.h
 * @brief Backward kernels of a spatially parallel CNN (float32, plain loops, no oneDNN): conv2d
 * backward data into a whole ghosted input tile, conv2d backward weights over an output
 * region, and ReLU forward / backward on a region. Same tile and region conventions as
 * starhalo_kernels.h (global coordinates, [batch][channels][H][W], W fastest).
 */
#ifndef STARHALO_KERNELS_CNN_H
#define STARHALO_KERNELS_CNN_H

#include "kern_cuda.h"

STARHALO_BEGIN_DECLS

/**
 * conv2d backward data. Forward convention as starhalo_kern_conv2d_cpu: output cell o reads
 * input cell i = o*stride - padding + kk*dilation (global coordinates). For the output cells of
 * @p region only:
 *   grad_in[n][ci][i] = sum over co, kk, o with o*stride - padding + kk*dilation = i of
 *                       grad_out[n][co][o] * w[co][ci][kk]
 * The WHOLE @p grad_in tile is overwritten (zeroed first): cells no output of the region reads
 * get 0, ghost cells get the gradient that belongs to their owners (the caller routes it with a
 * reverse exchange, SUM). The region's whole input window must lie inside @p in_tile (the
 * ghosts carry it; a zero-padded whole image is a tile grown by the padding).
 * @retval STARHALO_ERR_INVALID_ARG bad geometry (the message names the dim and the values)
 */
starhalo_status_t starhalo_kern_conv2d_bwd_data_cpu(const starhalo_kern_tile_t *out_tile,
                                                    const float *grad_out, const float *weights,
                                                    const starhalo_layer_t *layer,
                                                    const starhalo_kern_tile_t *in_tile,
                                                    float *grad_in, const starhalo_box_t *region);

/**
 * conv2d backward weights over the output cells of @p region:
 *   grad_w[co][ci][kk] = sum over n, o in region of grad_out[n][co][o] * in[n][ci][i(o, kk)]
 * accumulated and stored (overwritten) in double, Cout x Cin x k x k. Partial sums of
 * disjoint regions add up to the whole image's gradient.
 */
starhalo_status_t
starhalo_kern_conv2d_bwd_weights_cpu(const starhalo_kern_tile_t *in_tile, const float *in,
                                     const starhalo_kern_tile_t *out_tile, const float *grad_out,
                                     const starhalo_layer_t *layer, const starhalo_box_t *region,
                                     double *grad_w);

/** out = max(in, 0) on the cells of @p region (both tiles of geometry @p tile; may alias). */
starhalo_status_t starhalo_kern_relu_cpu(const starhalo_kern_tile_t *tile, const float *in,
                                         float *out, const starhalo_box_t *region);

/** grad = (pre > 0) ? grad : 0 on the cells of @p region (ReLU backward, in place). */
starhalo_status_t starhalo_kern_relu_bwd_cpu(const starhalo_kern_tile_t *tile, const float *pre,
                                             float *grad, const starhalo_box_t *region);

/** Same result as starhalo_kern_conv2d_bwd_data_cpu (bitwise), one input cell at a time
 * through starhalo_kidx_conv_bwd_data_cell: what the CUDA kernel runs per thread. */
starhalo_status_t starhalo_kern_conv2d_bwd_data_by_element_cpu(
    const starhalo_kern_tile_t *out_tile, const float *grad_out, const float *weights,
    const starhalo_layer_t *layer, const starhalo_kern_tile_t *in_tile, float *grad_in,
    const starhalo_box_t *region);

/** Same result as starhalo_kern_conv2d_bwd_weights_cpu (bitwise), one weight tap at a time
 * through starhalo_kidx_conv_bwd_weights_tap: what the CUDA kernel runs per thread. */
starhalo_status_t starhalo_kern_conv2d_bwd_weights_by_element_cpu(
    const starhalo_kern_tile_t *in_tile, const float *in, const starhalo_kern_tile_t *out_tile,
    const float *grad_out, const starhalo_layer_t *layer, const starhalo_box_t *region,
    double *grad_w);

/* CUDA versions (built when nvcc is found; device pointers; queued on @p stream). Same
 * contracts and the same bits as the CPU kernels: one thread per input cell (backward data),
 * per weight tap (backward weights) or per region cell (ReLU), kern_index.h's formulas. */
starhalo_status_t starhalo_kern_conv2d_bwd_data_cuda(const starhalo_kern_tile_t *out_tile,
                                                     const float *grad_out, const float *weights,
                                                     const starhalo_layer_t *layer,
                                                     const starhalo_kern_tile_t *in_tile,
                                                     float *grad_in, const starhalo_box_t *region,
                                                     void *stream);
starhalo_status_t
starhalo_kern_conv2d_bwd_weights_cuda(const starhalo_kern_tile_t *in_tile, const float *in,
                                      const starhalo_kern_tile_t *out_tile, const float *grad_out,
                                      const starhalo_layer_t *layer, const starhalo_box_t *region,
                                      double *grad_w, void *stream);
starhalo_status_t starhalo_kern_relu_cuda(const starhalo_kern_tile_t *tile, const float *in,
                                          float *out, const starhalo_box_t *region, void *stream);
starhalo_status_t starhalo_kern_relu_bwd_cuda(const starhalo_kern_tile_t *tile, const float *pre,
                                              float *grad, const starhalo_box_t *region,
                                              void *stream);

STARHALO_END_DECLS

#endif
