/* SPDX-License-Identifier: MIT */
/**
 * @file ref.h
 * @brief spatial_cnn's independent reference: the same training as the distributed net, on
 * the whole image in one process, with naive loops (double accumulation, explicit zero
 * padding, gather-form backward), its own SGD. Shares only netfile.h (the net, the data and
 * parameter generators) with the distributed code, no kernel and no starhalo call.
 */
#ifndef SPATIAL_CNN_REF_H
#define SPATIAL_CNN_REF_H

#include "netfile.h"

typedef struct cnn_ref cnn_ref_t;

/** Training setup shared by the reference and the distributed net. */
typedef struct cnn_train {
    int64_t batch, channels, size; /**< input N x C x size x size */
    double lr, momentum;           /**< SGD: v = momentum*v + g; w -= lr*v (PyTorch's) */
    double bn_eps;                 /**< 1e-5 */
} cnn_train_t;

/** Build from a net that cnn_net_infer accepted for this input. Parameters from
 * cnn_param_init, input from cnn_data_input, target / labels from cnn_data_target /
 * cnn_data_label. NULL when out of memory. */
cnn_ref_t *cnn_ref_create(const cnn_netdesc_t *net, const cnn_train_t *t);
void cnn_ref_destroy(cnn_ref_t *r);

/** One step: forward, loss, backward, SGD update. Returns the loss of this step (before the
 * update): classify: mean over the batch of softmax cross-entropy; else 0.5*sum((y-t)^2). */
double cnn_ref_step(cnn_ref_t *r);

/** Current value of parameter @p p of layer @p l (cnn_layer_params order and count). */
const float *cnn_ref_param(const cnn_ref_t *r, int l, int p);
/** Gradient of parameter @p p of layer @p l from the last step (before the update). */
const double *cnn_ref_grad(const cnn_ref_t *r, int l, int p);
/** Replace the input (N x C x size x size floats, e.g. spatial_cnn --input). */
void cnn_ref_set_input(cnn_ref_t *r, const float *x);
/** Overwrite parameter @p p of layer @p l (count elements of cnn_layer_params). */
void cnn_ref_set_param(cnn_ref_t *r, int l, int p, const float *v);

/** Output of layer @p l in the last step's forward pass (N x out_c x out_h x out_w floats,
 * the distributed fields' global layout; N x C for flat layers), and dL/d(input) of the last
 * step (N x C x size x size). */
const float *cnn_ref_activation(const cnn_ref_t *r, int l);
const float *cnn_ref_input_grad(const cnn_ref_t *r);

#endif
