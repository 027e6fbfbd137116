/* SPDX-License-Identifier: MIT */
/**
 * @file starhalo_cnn.h
 * @brief A trainable, spatially parallel conv2d layer (forward and backward as StarPU tasks)
 * and ReLU tasks, for small CNNs whose activations are distributed fields.
 *
 * Differentiable halo exchange (CREDIT, DistDL, Distconv): the forward pass pads each part's
 * input with halo cells from its neighbours (a forward exchange; image-border ghosts stay
 * zero = zero padding); the backward pass computes the gradient of the WHOLE ghosted input
 * tile, and a reverse exchange with STARHALO_REDUCE_SUM sends the ghost part of it back to the
 * parts that own those cells, which add it. Weight gradients are summed over parts and ranks
 * in a fixed order, so every rank gets the same bits. docs/SPATIAL_CNN.md.
 *
 * Every call is collective (same calls, same order, on every rank).
 */
#ifndef STARHALO_CNN_H
#define STARHALO_CNN_H

#include <starhalo/starhalo_compute.h>
#include <starhalo/starhalo_kernels.h>

STARHALO_BEGIN_DECLS

/** Opaque conv2d layer with weights (no bias) and its gradient buffers. */
typedef struct starhalo_cnn_conv starhalo_cnn_conv_t;

/**
 * Prepare `out = conv2d(in, w) [+ bias]` (float32, cross-correlation, zero padding at the
 * image border, any kernel, stride, dilation and padding) and its backward pass.
 * @p in: input field with halos >= starhalo_layer_halo(layer) per side, BOX shape when any;
 * @p ex_in: a forward exchange over @p in; @p out: the layer's output field, decomposed by
 * starhalo_layer_output_decomp(in's decomposition, layer, ...) with the same part mapping
 * (the part owning input cell o*stride owns output cell o; uneven splits allowed);
 * @p grad_out: dL/d(out), same tiles as @p out; @p grad_in: dL/d(in) with the tiles and halos
 * of @p in, or NULL when the input gradient is not needed; @p ex_grad_in: an exchange over
 * @p grad_in (used in reverse, SUM), NULL iff grad_in is NULL.
 * @p weights: Cout x Cin x k x k, copied. No bias until starhalo_cnn_conv_set_bias.
 * Destroy the layer before the fields.
 * @retval STARHALO_ERR_INVALID_ARG mismatching fields (the message says which)
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_cnn_conv_create(
    starhalo_context_t *ctx, starhalo_field_t *in, starhalo_exchange_t *ex_in,
    starhalo_field_t *out, starhalo_field_t *grad_out, starhalo_field_t *grad_in,
    starhalo_exchange_t *ex_grad_in, const starhalo_layer_t *layer, const float *weights,
    starhalo_cnn_conv_t **out_cv);

/**
 * starhalo_cnn_conv_create for a grouped conv (PyTorch's groups): the input and output channels
 * form @p groups groups and output channel co reads only the input channels of its group
 * (co / (Cout/groups)); groups = Cin = Cout is a depthwise conv. @p weights: Cout x
 * (Cin/groups) x k x k, copied; starhalo_cnn_conv_set_weights / _get_weights and
 * starhalo_cnn_conv_grad_weights use that count too. groups = 1 is starhalo_cnn_conv_create.
 * Grouped layers run on CPU workers only (the CUDA kernels are ungrouped).
 * @retval STARHALO_ERR_INVALID_ARG @p groups < 1 or not dividing Cin and Cout, or as
 *         starhalo_cnn_conv_create
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_cnn_conv_create_grouped(
    starhalo_context_t *ctx, starhalo_field_t *in, starhalo_exchange_t *ex_in,
    starhalo_field_t *out, starhalo_field_t *grad_out, starhalo_field_t *grad_in,
    starhalo_exchange_t *ex_grad_in, const starhalo_layer_t *layer, int groups,
    const float *weights, starhalo_cnn_conv_t **out_cv);

/** Waits for the layer's tasks and unregisters its buffers. Collective. NULL is allowed. */
STARHALO_API void starhalo_cnn_conv_destroy(starhalo_cnn_conv_t *cv);

/** Replace the weights (waits for the tasks that read the old ones). */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_cnn_conv_set_weights(starhalo_cnn_conv_t *cv, const float *weights);
/** Copy the current weights (Cout x Cin x k x k) into @p weights. */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_cnn_conv_get_weights(starhalo_cnn_conv_t *cv, float *weights);

/** Give the layer a bias (Cout values, copied; later calls replace it) and read it back. */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_cnn_conv_set_bias(starhalo_cnn_conv_t *cv, const float *bias);
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_cnn_conv_get_bias(starhalo_cnn_conv_t *cv, float *bias);

/**
 * How forward and backward are submitted: STARHALO_STEP_TASK (the default) overlaps the
 * interior conv with the forward exchange and the weight gradients with the reverse one;
 * STARHALO_STEP_BSP is the bulk-synchronous baseline (exchange, wait, then one conv task per
 * part; backward data, reverse exchange, wait, then the weight gradients). Same results up
 * to rounding: one conv over the owned box may round differently from its interior and
 * boundary pieces.
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_cnn_conv_set_mode(starhalo_cnn_conv_t *cv, starhalo_step_mode_t mode);

/** Submit the forward pass: exchange begin, interior tasks, exchange end, boundary tasks. */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_cnn_conv_forward(starhalo_cnn_conv_t *cv);

/**
 * Submit the backward pass from grad_out (which the caller has written): one
 * backward-weights task per part (reads the ghosted input tile as the forward left it), and,
 * with grad_in, one backward-data task per part writing the whole ghosted grad_in tile, then
 * the reverse exchange (SUM) that adds the ghost gradients into their owners' cells.
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_cnn_conv_backward(starhalo_cnn_conv_t *cv);

/**
 * dL/dw of the last backward pass, summed over all parts and ranks: per-part sums (double)
 * are added in part order on each rank, then the ranks' sums in rank order (MPI_Allgather),
 * so every rank gets the same bits. Waits. Collective. Needs MPI_THREAD_MULTIPLE.
 * @p grad_w: Cout x Cin x k x k doubles.
 * @retval STARHALO_ERR_UNSUPPORTED MPI was initialised with a lower thread level
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_cnn_conv_grad_weights(starhalo_cnn_conv_t *cv, double *grad_w);

/** dL/d(bias) of the last backward pass (Cout doubles), summed like the weight gradient.
 * @retval STARHALO_ERR_INVALID_ARG the layer has no bias */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_cnn_conv_grad_bias(starhalo_cnn_conv_t *cv, double *grad_b);

/** Submit one ReLU task per local part on its owned cells: out = max(pre, 0). Two distinct
 * float32 fields with the same tiles (same decomposition and mapping).
 * @retval STARHALO_ERR_INVALID_ARG the same field twice, other dtype, other geometry */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_cnn_relu(starhalo_field_t *pre,
                                                                    starhalo_field_t *out);
/** Submit ReLU backward tasks on owned cells: grad = pre > 0 ? grad : 0. */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_cnn_relu_backward(starhalo_field_t *pre, starhalo_field_t *grad);

STARHALO_END_DECLS

/* ---------------------------------------------------------------------------------------- */
/* Pooling, batch normalisation, residual add, global average pool                          */
/* ---------------------------------------------------------------------------------------- */

/** Opaque max / average pooling layer. */
typedef struct starhalo_cnn_pool starhalo_cnn_pool_t;

/**
 * Prepare `out = pool(in)` (@p kind: STARHALO_POOL_MAX, padding cells never win;
 * STARHALO_POOL_AVG, divisor k*k; STARHALO_POOL_AVG_EXCLUDE, divisor the in-image cells) and
 * its backward pass. Fields and exchanges as for starhalo_cnn_conv_create (output field from
 * starhalo_layer_output_decomp; grad_in with the tiles of in, or NULL with ex_grad_in NULL).
 * Backward: max sends each output's gradient to the first maximum of its window (window
 * order, like PyTorch), average spreads it; then the reverse SUM exchange of grad_in.
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_cnn_pool_create(
    starhalo_context_t *ctx, starhalo_pool_kind_t kind, starhalo_field_t *in,
    starhalo_exchange_t *ex_in, starhalo_field_t *out, starhalo_field_t *grad_out,
    starhalo_field_t *grad_in, starhalo_exchange_t *ex_grad_in, const starhalo_layer_t *layer,
    starhalo_cnn_pool_t **out_pool);
/** Submit the forward pass (exchange; interior tasks while halos travel; boundary tasks). */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_cnn_pool_forward(starhalo_cnn_pool_t *pool);
/** Submit the backward pass from grad_out: whole grad_in tiles, then the reverse exchange. */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_cnn_pool_backward(starhalo_cnn_pool_t *pool);
/** Waits for the layer's tasks. NULL is allowed. */
STARHALO_API void starhalo_cnn_pool_destroy(starhalo_cnn_pool_t *pool);

/** Opaque batch normalisation layer (training mode: batch statistics). */
typedef struct starhalo_cnn_bn starhalo_cnn_bn_t;

/**
 * Prepare y = gamma * (x - mean) / sqrt(var + eps) + beta per channel, mean and (biased)
 * variance over the batch and the whole image. @p x, @p y, @p grad_y and @p grad_x (NULL: not
 * needed) are distinct float32 fields with the same tiles. Per-part sums are reduced over
 * parts and ranks in a fixed order, so every rank normalises with the same bits.
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_cnn_bn_create(
    starhalo_context_t *ctx, starhalo_field_t *x, starhalo_field_t *y, starhalo_field_t *grad_y,
    starhalo_field_t *grad_x, double eps, starhalo_cnn_bn_t **out_bn);
/**
 * Forward with @p gamma, @p beta (C values each): statistics tasks, their sum (waits: a
 * collective), then the normalisation tasks. Collective.
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_cnn_bn_forward(starhalo_cnn_bn_t *bn,
                                                                          const float *gamma,
                                                                          const float *beta);
/**
 * Backward from grad_y with the last forward's statistics and gamma: per-channel sums of
 * grad_y and grad_y * x_hat (waits: a collective), giving @p grad_gamma and @p grad_beta (C
 * doubles each, the same bits on every rank), then, with grad_x, the input gradient tasks.
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_cnn_bn_backward(starhalo_cnn_bn_t *bn,
                                                                           double *grad_gamma,
                                                                           double *grad_beta);
/** Waits for the layer's tasks. NULL is allowed. */
STARHALO_API void starhalo_cnn_bn_destroy(starhalo_cnn_bn_t *bn);

/** Submit out = a + b on the owned cells of every local part (residual add; also the
 * accumulation of a residual's gradient). @p out may be @p a; same tiles for all three. */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_cnn_add(starhalo_field_t *a,
                                                                   starhalo_field_t *b,
                                                                   starhalo_field_t *out);
/** Submit out = in on the owned cells (same tiles). */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_cnn_copy(starhalo_field_t *in,
                                                                    starhalo_field_t *out);

/**
 * Global average pool: @p means[n * C + c] = mean of x over the whole image, on every rank
 * with the same bits (fixed-order sum over parts and ranks). Waits. Collective.
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_cnn_gap_forward(starhalo_context_t *ctx,
                                                                           starhalo_field_t *x,
                                                                           double *means);
/** Its backward: submit grad_x = grad_means[n * C + c] / (H * W) on the owned cells. */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_cnn_gap_backward(starhalo_field_t *grad_x, const double *grad_means);

#endif
