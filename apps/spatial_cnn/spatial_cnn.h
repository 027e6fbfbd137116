/* SPDX-License-Identifier: MIT */
/**
 * @file spatial_cnn.h
 * @brief spatial_cnn: options and the distributed network (net.c). The net description is
 * netfile.h's, the single-rank reference ref.h's.
 */
#ifndef SPATIAL_CNN_H
#define SPATIAL_CNN_H

#include <stdint.h>

#include <starhalo/starhalo_cnn.h>

#include "netfile.h"
#include "ref.h"

typedef struct cnn_opts {
    const char *net_file; /**< --net FILE; NULL: the two-layer net of --channels */
    const char *input;    /**< --input FILE.npy; NULL: cnn_data_input */
    float *input_data;    /**< its N x C x S x S floats (every rank reads the file) */
    cnn_netdesc_t *net;   /**< parsed and inferred (owned by main) */
    cnn_train_t train;    /**< batch, input channels, size, lr, momentum, bn eps */
    int64_t ch[3];        /**< --channels C0,C1,C2 of the two-layer net */
    int parts, parts_per_rank;
    starhalo_split_t split;
    int steps;
    int validate;
    double tolerance; /**< --validate's bound on the max-norm relative errors */
    const char *dump;
    const char *checkpoint;    /**< parameters (+ momentum) + step, every checkpoint_every steps */
    int checkpoint_every;      /**< 0: only at the end */
    const char *restart;       /**< resume from these parameters at their step */
    starhalo_step_mode_t mode; /**< task (overlap) or bsp (the baseline) */
} cnn_opts_t;

/** What one training step produced. */
typedef struct cnn_step_out {
    double loss;
    double *grad;  /**< all parameter gradients (before the update), cnn_net_param_count */
    float *output; /**< with gather, on rank 0: the net's output (logits N x K, or the last
                        image N x C x H x W) */
    float *dx;     /**< with gather, on rank 0: dL/d(input), N x C0 x S x S */
} cnn_step_out_t;

/** The decomposition of the input: size x size split in o->parts, @p halo per side, BOX. */
void cnn_decomp_desc(const cnn_opts_t *o, int64_t channels, int halo, starhalo_decomp_desc_t *d);

/** The distributed network. */
typedef struct cnn_net cnn_net_t;
starhalo_status_t cnn_net_create(starhalo_context_t *ctx, const cnn_opts_t *o, cnn_net_t **out);
void cnn_net_destroy(cnn_net_t *net);
/** One SGD step: forward, loss, backward, parameter-gradient sums, update. With @p gather,
 * the output and dx are gathered to rank 0 into @p out (allocated there by the caller). */
starhalo_status_t cnn_net_step(cnn_net_t *net, int gather, cnn_step_out_t *out);

/** Parameters: one flat vector, layers in order, each layer's in cnn_layer_params order. */
int64_t cnn_net_param_count(const cnn_net_t *net);
/** Element offset of parameter @p p of layer @p l in that vector. */
int64_t cnn_net_param_offset(const cnn_net_t *net, int l, int p);
/** The current parameters (and the momentum buffer, same layout; NULL not wanted). */
void cnn_net_params(const cnn_net_t *net, float *params, float *velocity);
/** Replace them (a restart; the same on every rank); @p velocity NULL: zero. */
starhalo_status_t cnn_net_set_params(cnn_net_t *net, const float *params, const float *velocity);
/** Replace the input by @p global (N x C0 x S x S, every rank the same). */
starhalo_status_t cnn_net_set_input(cnn_net_t *net, const float *global);
/** Gather the input (N x C0 x S x S) or, for an MSE net, the target to rank 0. */
starhalo_status_t cnn_net_gather_input(cnn_net_t *net, int target, float *global);
/** Element count of the output (cnn_step_out_t.output). */
int64_t cnn_net_output_count(const cnn_net_t *net);

#endif
