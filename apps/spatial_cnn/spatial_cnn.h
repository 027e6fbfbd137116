/* SPDX-License-Identifier: MIT */
/**
 * @file spatial_cnn.h
 * @brief spatial_cnn: options, the distributed network (net.c) and the single-rank
 * whole-image reference (ref.c).
 */
#ifndef SPATIAL_CNN_H
#define SPATIAL_CNN_H

#include <stdint.h>

#include <starhalo/starhalo_cnn.h>

typedef struct cnn_opts {
    int64_t size;  /**< image is size x size */
    int64_t ch[3]; /**< C0 (input), C1 (hidden), C2 (output) */
    int64_t batch;
    int parts, parts_per_rank;
    starhalo_split_t split;
    int steps;
    double lr;
    int validate;
    const char *dump;
    const char *checkpoint;    /**< weights + step, every checkpoint_every steps and at the end */
    int checkpoint_every;      /**< 0: only at the end */
    const char *restart;       /**< resume from these weights at their step */
    starhalo_step_mode_t mode; /**< task (overlap) or bsp (the baseline) */
} cnn_opts_t;

/** Deterministic data, the same on every rank: input and target by global cell, weights from
 * a seeded generator (w1: C1 x C0 x 3 x 3, w2: C2 x C1 x 3 x 3). */
float cnn_input(int64_t n, int64_t c, int64_t y, int64_t x);
float cnn_target(int64_t n, int64_t c, int64_t y, int64_t x);
void cnn_init_weights(const cnn_opts_t *o, float *w1, float *w2);

/** What one training step produced (on rank 0 when gathered). */
typedef struct cnn_step_out {
    double loss;
    double *gw1, *gw2; /**< weight gradients (before the update) */
    float *y, *dx;     /**< whole output and input gradient; NULL unless asked for */
} cnn_step_out_t;

/** The decomposition of a C-channel activation: size x size split in o->parts, halo 1, BOX. */
void cnn_decomp_desc(const cnn_opts_t *o, int64_t channels, starhalo_decomp_desc_t *d);

/** The distributed network. */
typedef struct cnn_net cnn_net_t;
starhalo_status_t cnn_net_create(starhalo_context_t *ctx, const cnn_opts_t *o, cnn_net_t **out);
void cnn_net_destroy(cnn_net_t *net);
/** One SGD step: forward, loss, backward, weight-gradient sum, update. With @p gather, y and
 * dx are gathered to rank 0 into @p out (allocated there by the caller, global layout). */
starhalo_status_t cnn_net_step(cnn_net_t *net, int gather, cnn_step_out_t *out);
starhalo_status_t cnn_net_weights(cnn_net_t *net, float *w1, float *w2);
/** Replace the weights (a restart); the same on every rank. */
starhalo_status_t cnn_net_set_weights(cnn_net_t *net, const float *w1, const float *w2);

/** The single-rank, undistributed reference on the whole zero-padded image (naive loops,
 * double accumulation), same step semantics as cnn_net_step. */
typedef struct cnn_ref cnn_ref_t;
cnn_ref_t *cnn_ref_create(const cnn_opts_t *o);
void cnn_ref_destroy(cnn_ref_t *r);
void cnn_ref_step(cnn_ref_t *r, cnn_step_out_t *out);
void cnn_ref_weights(const cnn_ref_t *r, const float **w1, const float **w2);

#endif
