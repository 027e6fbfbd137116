/* SPDX-License-Identifier: MIT */
/**
 * @file starhalo_kernels_cnn.h
 * @brief Backward kernels of a spatially parallel CNN (float32; plain loops, and oneDNN for the
 * conv backward that the CPU codelets run): conv2d backward data into a whole ghosted input
 * tile, conv2d backward weights over an output region, ReLU forward / backward on a region, and the
 * layer kernels of kern_cnn_layers.c (pooling backward, batch norm, channel affine, add, global
 * average pool; CPU only). Same tile and region conventions as starhalo_kernels.h (global
 * coordinates, [batch][channels][H][W], W fastest).
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

/**
 * starhalo_kern_conv2d_bwd_data_cpu through oneDNN's convolution_backward_data primitive
 * (kern_dnnl_backward.c): same arguments, checks and contract (the whole @p grad_in tile
 * overwritten, zeros where no output of the region reads), oneDNN's float summation order.
 * The region and its input window are read and written in place, through oneDNN reorders into
 * the layout the primitive picks when it is not theirs. starhalo_kern_dnnl_last_impl() then
 * names oneDNN's implementation and sets in_place to 1 when diff_src needed no reorder. One
 * state and primitive cache per thread (as starhalo_kern_conv2d_cpu). What the CPU codelet runs.
 * @retval STARHALO_ERR_INVALID_ARG bad geometry (as the loop kernel)
 * @retval STARHALO_ERR_DNNL oneDNN refused the shape or failed
 * @retval STARHALO_ERR_NO_MEMORY a per-thread scratch buffer
 */
starhalo_status_t starhalo_kern_conv2d_bwd_data_dnnl(const starhalo_kern_tile_t *out_tile,
                                                     const float *grad_out, const float *weights,
                                                     const starhalo_layer_t *layer,
                                                     const starhalo_kern_tile_t *in_tile,
                                                     float *grad_in, const starhalo_box_t *region);

/**
 * starhalo_kern_conv2d_bwd_weights_cpu through oneDNN's convolution_backward_weights
 * primitive: same arguments, checks and contract (Cout x Cin x k x k doubles overwritten).
 * oneDNN accumulates in float, so the region runs in bands of output rows (at most 4096
 * products per weight tap each) whose float results are added in double. What the CPU codelet
 * runs.
 * @retval STARHALO_ERR_INVALID_ARG bad geometry (as the loop kernel)
 * @retval STARHALO_ERR_DNNL oneDNN refused the shape or failed
 * @retval STARHALO_ERR_NO_MEMORY a per-thread scratch buffer
 */
starhalo_status_t
starhalo_kern_conv2d_bwd_weights_dnnl(const starhalo_kern_tile_t *in_tile, const float *in,
                                      const starhalo_kern_tile_t *out_tile, const float *grad_out,
                                      const starhalo_layer_t *layer, const starhalo_box_t *region,
                                      double *grad_w);

/**
 * Grouped versions of the four conv backward kernels above: @p groups (>= 1) splits Cin and
 * Cout into groups as in starhalo_kern_conv2d_cpu_g (output channel co reads the input channels
 * of its group only), weights and weight gradients Cout x Cin/groups x k x k. groups = 1 is the
 * ungrouped kernel (same code, same bits).
 * @retval STARHALO_ERR_INVALID_ARG also when @p groups is < 1 or does not divide Cin and Cout
 */
starhalo_status_t starhalo_kern_conv2d_bwd_data_cpu_g(const starhalo_kern_tile_t *out_tile,
                                                      const float *grad_out, const float *weights,
                                                      const starhalo_layer_t *layer, int groups,
                                                      const starhalo_kern_tile_t *in_tile,
                                                      float *grad_in, const starhalo_box_t *region);
starhalo_status_t
starhalo_kern_conv2d_bwd_weights_cpu_g(const starhalo_kern_tile_t *in_tile, const float *in,
                                       const starhalo_kern_tile_t *out_tile, const float *grad_out,
                                       const starhalo_layer_t *layer, int groups,
                                       const starhalo_box_t *region, double *grad_w);
starhalo_status_t starhalo_kern_conv2d_bwd_data_dnnl_g(const starhalo_kern_tile_t *out_tile,
                                                       const float *grad_out, const float *weights,
                                                       const starhalo_layer_t *layer, int groups,
                                                       const starhalo_kern_tile_t *in_tile,
                                                       float *grad_in,
                                                       const starhalo_box_t *region);
starhalo_status_t
starhalo_kern_conv2d_bwd_weights_dnnl_g(const starhalo_kern_tile_t *in_tile, const float *in,
                                        const starhalo_kern_tile_t *out_tile, const float *grad_out,
                                        const starhalo_layer_t *layer, int groups,
                                        const starhalo_box_t *region, double *grad_w);

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

/* ---------------------------------------------------------------------------------------- */
/* CNN layers at model scale: pooling backward, batch norm, bias, residual add, global       */
/* average pool (kern_cnn_layers.c). CPU only for now (no CUDA versions). Float32 data,      */
/* double accumulation in a fixed order (n ascending, then y, then x): deterministic.        */
/* Every kernel checks its geometry (STARHALO_ERR_INVALID_ARG: a region leaving the tile, a  */
/* NULL pointer); an empty region is valid.                                                  */
/* ---------------------------------------------------------------------------------------- */

/**
 * Pooling backward. For each output cell o of @p region (global output coordinates, inside
 * @p out_tile) the window cells are i = o*stride - padding + k*dilation, k in [0, kernel) per
 * dim; cells outside @p domain (the image box, global input coordinates; NULL = the input
 * tile box) are padding and get nothing.
 *   MAX: grad_out[o] goes to the first window cell (ky outer, kx inner) holding the maximum
 *        of the in-domain cells of @p in (ties: the first, like PyTorch; a NaN wins).
 *   AVG: grad_out[o] / (kernel*kernel) to every in-domain cell (count_include_pad=True).
 *   AVG_EXCLUDE: grad_out[o] / (number of in-domain window cells).
 * @p grad_in has @p in_tile's geometry and is WHOLLY overwritten (zeroed first); its ghost
 * cells receive the gradient of their owners' cells (route it with a reverse SUM exchange),
 * as starhalo_kern_conv2d_bwd_data_cpu. Accumulated in double per plane, rounded once.
 * @p in is read only for MAX (may be NULL otherwise).
 * @retval STARHALO_ERR_INVALID_ARG bad geometry: an in-domain window cell outside @p in_tile,
 *         the region outside @p out_tile, channels or batch that differ, an unknown kind
 * @retval STARHALO_ERR_NO_MEMORY the per-plane double accumulator
 */
starhalo_status_t starhalo_kern_pool2d_bwd_cpu(starhalo_pool_kind_t kind,
                                               const starhalo_kern_tile_t *in_tile, const float *in,
                                               const starhalo_kern_tile_t *out_tile,
                                               const float *grad_out, const starhalo_layer_t *layer,
                                               const starhalo_box_t *domain, float *grad_in,
                                               const starhalo_box_t *region);

/**
 * Per-channel sums over the batch and the cells of @p region, 2*C doubles, overwritten.
 * @p dy == NULL (forward statistics): sums[c] = sum x, sums[C+c] = sum x*x.
 * @p dy != NULL (backward; same geometry as @p x): sums[c] = sum dy,
 * sums[C+c] = sum dy*(x - mean[c])*invstd[c] (@p mean, @p invstd: C values, read only then).
 * Partial sums of disjoint regions add up to the whole image's.
 */
starhalo_status_t starhalo_kern_bn_sums_cpu(const starhalo_kern_tile_t *tile, const float *x,
                                            const float *dy, const double *mean,
                                            const double *invstd, const starhalo_box_t *region,
                                            double *sums);

/**
 * y = (float)(x*scale[c] + shift[c]) computed in double on the cells of @p region; @p scale
 * NULL means 1, @p shift NULL means 0; @p y may alias @p x. Batch-norm apply (scale =
 * gamma*invstd, shift = beta - mean*scale) and conv bias (scale NULL).
 */
starhalo_status_t starhalo_kern_channel_affine_cpu(const starhalo_kern_tile_t *tile, const float *x,
                                                   float *y, const double *scale,
                                                   const double *shift,
                                                   const starhalo_box_t *region);

/**
 * Batch-norm backward on the cells of @p region, with xhat = (x - mean[c])*invstd[c]:
 *   dx = gamma[c]*invstd[c]/M * (M*dy - sums[c] - xhat*sums[C+c]),  M = @p count
 * @p sums: the GLOBAL backward sums of starhalo_kern_bn_sums_cpu (2C: sum dy, sum dy*xhat);
 * @p count: cells per channel over the whole image and batch (> 0); @p gamma NULL means 1;
 * @p dx may alias @p dy.
 */
starhalo_status_t starhalo_kern_bn_bwd_cpu(const starhalo_kern_tile_t *tile, const float *x,
                                           const float *dy, float *dx, const double *mean,
                                           const double *invstd, const double *gamma,
                                           const double *sums, double count,
                                           const starhalo_box_t *region);

/** out = a + b on the cells of @p region (float); @p out may alias @p a or @p b. */
starhalo_status_t starhalo_kern_add_cpu(const starhalo_kern_tile_t *tile, const float *a,
                                        const float *b, float *out, const starhalo_box_t *region);

/** sums[n*C + c] = sum of x[n][c] over the cells of @p region (N*C doubles, overwritten):
 * global-average-pool partial sums. */
starhalo_status_t starhalo_kern_plane_sums_cpu(const starhalo_kern_tile_t *tile, const float *x,
                                               const starhalo_box_t *region, double *sums);

/** x[n][c][cell] = (float)values[n*C + c] on the cells of @p region (global-average-pool
 * backward: values = grad / (H*W)). */
starhalo_status_t starhalo_kern_plane_fill_cpu(const starhalo_kern_tile_t *tile, float *x,
                                               const starhalo_box_t *region, const double *values);

STARHALO_END_DECLS

#endif
