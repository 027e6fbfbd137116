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

STARHALO_BEGIN_DECLS

/** Opaque conv2d layer with weights (no bias) and its gradient buffers. */
typedef struct starhalo_cnn_conv starhalo_cnn_conv_t;

/**
 * Prepare `out = conv2d(in, w)` (float32, cross-correlation, stride 1, "same" zero padding:
 * 2*padding == dilation*(kernel-1)) and its backward pass.
 * @p in: input field with halo >= padding on every side, BOX shape when padding > 0;
 * @p ex_in: a forward exchange over @p in; @p out: output field whose parts own the same cells
 * on the same ranks as @p in; @p grad_out: dL/d(out), same owned cells as @p out;
 * @p grad_in: dL/d(in) (halo >= padding, BOX) or NULL when the input gradient is not needed;
 * @p ex_grad_in: an exchange over @p grad_in (used in reverse, SUM), NULL iff grad_in is NULL.
 * @p weights: Cout x Cin x k x k, copied. Destroy the layer before the fields.
 * @retval STARHALO_ERR_INVALID_ARG mismatching fields or an unsupported layer (message says
 *         which)
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_cnn_conv_create(
    starhalo_context_t *ctx, starhalo_field_t *in, starhalo_exchange_t *ex_in,
    starhalo_field_t *out, starhalo_field_t *grad_out, starhalo_field_t *grad_in,
    starhalo_exchange_t *ex_grad_in, const starhalo_layer_t *layer, const float *weights,
    starhalo_cnn_conv_t **out_cv);

/** Waits for the layer's tasks and unregisters its buffers. Collective. NULL is allowed. */
STARHALO_API void starhalo_cnn_conv_destroy(starhalo_cnn_conv_t *cv);

/** Replace the weights (waits for the tasks that read the old ones). */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_cnn_conv_set_weights(starhalo_cnn_conv_t *cv, const float *weights);
/** Copy the current weights (Cout x Cin x k x k) into @p weights. */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_cnn_conv_get_weights(starhalo_cnn_conv_t *cv, float *weights);

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

/** Submit one ReLU task per local part on its owned cells: out = max(pre, 0). Two distinct
 * float32 fields with the same tiles (same decomposition and mapping).
 * @retval STARHALO_ERR_INVALID_ARG the same field twice, other dtype, other geometry */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_cnn_relu(starhalo_field_t *pre,
                                                                    starhalo_field_t *out);
/** Submit ReLU backward tasks on owned cells: grad = pre > 0 ? grad : 0. */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_cnn_relu_backward(starhalo_field_t *pre, starhalo_field_t *grad);

STARHALO_END_DECLS

#endif
