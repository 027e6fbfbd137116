/* SPDX-License-Identifier: MIT */
/**
 * @file rt_cnn.c
 * @brief Trainable conv2d layer: forward (conv2d codelet, interior overlapping the input
 * exchange), backward (backward-weights and backward-data codelets, reverse SUM exchange of
 * the input gradient's ghosts), deterministic weight-gradient sum; ReLU tasks. Grouped convs
 * (starhalo_cnn_conv_create_grouped) pass their groups to the codelets, which run them on CPUs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_cnn_internal.h"

typedef struct cnn_part {
    int part;
    starpu_data_handle_t in, out, gin, gout, gw;
    double *gw_buf;
    starpu_data_handle_t gb; /**< bias gradient: sum and sum of squares of grad_out (2 Cout) */
    double *gb_buf;
    starhalo_box_t owned;
    starhalo_regions_t region; /**< interior / boundary of the owned output */
} cnn_part_t;

struct starhalo_cnn_conv {
    starhalo_context_t *ctx;
    starhalo_field_t *in, *out, *gin, *gout;
    starhalo_exchange_t *ex_in, *ex_gin;
    starhalo_layer_t layer;
    int groups;   /**< conv groups (1: ungrouped) */
    int64_t nw;   /**< Cout x Cin/groups x k x k */
    int64_t cout; /**< the bias (when has_bias) follows the weights in w */
    int has_bias;
    float *w;
    starpu_data_handle_t wh;
    int nlocal;
    cnn_part_t *parts;
    starhalo_step_mode_t mode;
    int status;
};

/* @p b owns the same cells as @p a on the same ranks, with the same batch; with @p halo >= 0,
 * b also has halos >= halo on every side and BOX shape when halo > 0. */
static starhalo_status_t check_pair(const char *an, const starhalo_field_t *a, const char *bn,
                                    const starhalo_field_t *b, int halo)
{
    const starhalo_decomp_desc_t *y = starhalo_decomp_desc(starhalo_field_decomp(b));
    STARHALO_REQUIRE(starhalo_field_dtype(b) == STARHALO_FLOAT32, STARHALO_ERR_INVALID_ARG,
                     "cnn_conv: %s must be float32", bn);
    STARHALO_REQUIRE(y->ndims == 2, STARHALO_ERR_INVALID_ARG, "cnn_conv: %s is %d-D", bn, y->ndims);
    char what[64];
    snprintf(what, sizeof what, "cnn_conv: %s against %s", bn, an);
    STARHALO_CHECK(starhalo_field_match(a, b, STARHALO_MATCH_BATCH, what));
    for (int k = 0; k < 2 * 2 && halo >= 0; k++)
        STARHALO_REQUIRE(y->halo[k] >= halo, STARHALO_ERR_INVALID_ARG,
                         "cnn_conv: %s has halo %d on side %d, the layer needs %d", bn, y->halo[k],
                         k, halo);
    STARHALO_REQUIRE(halo <= 0 || y->shape == STARHALO_STENCIL_BOX, STARHALO_ERR_INVALID_ARG,
                     "cnn_conv: %s needs the BOX shape (corner ghosts)", bn);
    return STARHALO_OK;
}

static starhalo_status_t check_conv(const starhalo_cnn_conv_t *cv)
{
    const starhalo_layer_t *l = &cv->layer;
    STARHALO_CHECK(starhalo__compute_check_layer("cnn_conv", cv->in, cv->out, l));
    STARHALO_CHECK(check_pair("out", cv->out, "grad_out", cv->gout, -1));
    STARHALO_REQUIRE(starhalo__cnn_channels(cv->gout) == starhalo__cnn_channels(cv->out),
                     STARHALO_ERR_INVALID_ARG, "cnn_conv: grad_out has %lld channels, out %lld",
                     (long long)starhalo__cnn_channels(cv->gout),
                     (long long)starhalo__cnn_channels(cv->out));
    STARHALO_REQUIRE(!cv->gin == !cv->ex_gin, STARHALO_ERR_INVALID_ARG,
                     "cnn_conv: grad_in and its exchange must both be given or both be NULL");
    if (cv->gin) {
        /* The backward data writes grad_in's whole tile with the input's geometry. */
        STARHALO_CHECK(starhalo_field_match(cv->in, cv->gin,
                                            STARHALO_MATCH_DTYPE | STARHALO_MATCH_HALOS |
                                                STARHALO_MATCH_TILES | STARHALO_MATCH_CHANNELS,
                                            "cnn_conv: grad_in against in"));
    }
    return STARHALO_OK;
}

static starhalo_status_t make_part(starhalo_cnn_conv_t *cv, cnn_part_t *cp)
{
    STARHALO_CHECK(starhalo_field_part_handle(cv->in, cp->part, &cp->in));
    STARHALO_CHECK(starhalo_field_part_handle(cv->out, cp->part, &cp->out));
    STARHALO_CHECK(starhalo_field_part_handle(cv->gout, cp->part, &cp->gout));
    if (cv->gin)
        STARHALO_CHECK(starhalo_field_part_handle(cv->gin, cp->part, &cp->gin));
    cp->owned = starhalo_part_plan_owned(starhalo_field_part_plan(cv->out, cp->part));
    /* Outputs whose window reads no ghost run while the halos travel (any stride). */
    const starhalo_box_t in_owned =
        starhalo_part_plan_owned(starhalo_field_part_plan(cv->in, cp->part));
    STARHALO_CHECK(starhalo_layer_output_regions(&cv->layer, &in_owned, &cp->owned, &cp->region));
    cp->gw_buf = calloc((size_t)cv->nw, sizeof(double));
    if (!cp->gw_buf)
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "cnn_conv: weight gradient");
    starpu_vector_data_register(&cp->gw, STARPU_MAIN_RAM, (uintptr_t)cp->gw_buf, (uint32_t)cv->nw,
                                sizeof(double));
    cp->gb_buf = calloc((size_t)(2 * cv->cout), sizeof(double));
    if (!cp->gb_buf)
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "cnn_conv: bias gradient");
    starpu_vector_data_register(&cp->gb, STARPU_MAIN_RAM, (uintptr_t)cp->gb_buf,
                                (uint32_t)(2 * cv->cout), sizeof(double));
    return STARHALO_OK;
}

static void conv_free(starhalo_cnn_conv_t *cv)
{
    for (int i = 0; cv->parts && i < cv->nlocal; i++) {
        if (cv->parts[i].gw)
            starpu_data_unregister(cv->parts[i].gw);
        if (cv->parts[i].gb)
            starpu_data_unregister(cv->parts[i].gb);
        free(cv->parts[i].gw_buf);
        free(cv->parts[i].gb_buf);
    }
    if (cv->wh)
        starpu_data_unregister(cv->wh);
    free(cv->w);
    free(cv->parts);
    free(cv);
}

starhalo_status_t starhalo_cnn_conv_create(starhalo_context_t *ctx, starhalo_field_t *in,
                                           starhalo_exchange_t *ex_in, starhalo_field_t *out,
                                           starhalo_field_t *grad_out, starhalo_field_t *grad_in,
                                           starhalo_exchange_t *ex_grad_in,
                                           const starhalo_layer_t *layer, const float *weights,
                                           starhalo_cnn_conv_t **out_cv)
{
    return starhalo_cnn_conv_create_grouped(ctx, in, ex_in, out, grad_out, grad_in, ex_grad_in,
                                            layer, 1, weights, out_cv);
}

starhalo_status_t
starhalo_cnn_conv_create_grouped(starhalo_context_t *ctx, starhalo_field_t *in,
                                 starhalo_exchange_t *ex_in, starhalo_field_t *out,
                                 starhalo_field_t *grad_out, starhalo_field_t *grad_in,
                                 starhalo_exchange_t *ex_grad_in, const starhalo_layer_t *layer,
                                 int groups, const float *weights, starhalo_cnn_conv_t **out_cv)
{
    STARHALO_REQUIRE(out_cv, STARHALO_ERR_INVALID_ARG, "cnn_conv_create: NULL result pointer");
    *out_cv = NULL;
    STARHALO_REQUIRE(ctx && in && ex_in && out && grad_out && layer && weights,
                     STARHALO_ERR_INVALID_ARG,
                     "cnn_conv_create: NULL context, field, exchange, layer or weights");
    STARHALO_REQUIRE(in != out && in != grad_in && out != grad_out, STARHALO_ERR_INVALID_ARG,
                     "cnn_conv_create: in, out, grad_in and grad_out must be distinct fields");
    STARHALO_CHECK(starhalo__compute_require_structured(in, "cnn_conv_create", "input"));
    STARHALO_CHECK(starhalo__compute_require_structured(out, "cnn_conv_create", "output"));
    STARHALO_CHECK(
        starhalo__compute_require_structured(grad_out, "cnn_conv_create", "output gradient"));
    if (grad_in)
        STARHALO_CHECK(
            starhalo__compute_require_structured(grad_in, "cnn_conv_create", "input gradient"));
    STARHALO_REQUIRE(groups >= 1 && starhalo__cnn_channels(in) % groups == 0 &&
                         starhalo__cnn_channels(out) % groups == 0,
                     STARHALO_ERR_INVALID_ARG,
                     "cnn_conv_create: groups %d must be >= 1 and divide the input channels "
                     "(%lld) and the output channels (%lld)",
                     groups, (long long)starhalo__cnn_channels(in),
                     (long long)starhalo__cnn_channels(out));
    starhalo_cnn_conv_t *cv = calloc(1, sizeof *cv);
    if (!cv)
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "cnn_conv_create");
    *cv = (starhalo_cnn_conv_t){.ctx = ctx,
                                .in = in,
                                .out = out,
                                .gin = grad_in,
                                .gout = grad_out,
                                .ex_in = ex_in,
                                .ex_gin = ex_grad_in,
                                .layer = *layer,
                                .groups = groups};
    starhalo_status_t rc = check_conv(cv);
    cv->nw = starhalo__cnn_channels(out) * (starhalo__cnn_channels(in) / groups) * layer->kernel *
             layer->kernel;
    cv->cout = starhalo__cnn_channels(out);
    cv->w = calloc((size_t)(cv->nw + cv->cout), sizeof(float));
    if (rc == STARHALO_OK && !cv->w)
        rc = starhalo_error_set(STARHALO_ERR_NO_MEMORY, "cnn_conv_create: weights");
    if (rc == STARHALO_OK) {
        memcpy(cv->w, weights, sizeof(float) * (size_t)cv->nw);
        starpu_vector_data_register(&cv->wh, STARPU_MAIN_RAM, (uintptr_t)cv->w,
                                    (uint32_t)(cv->nw + cv->cout), sizeof(float));
    }
    int *ids = NULL;
    if (rc == STARHALO_OK)
        rc = starhalo__compute_local_parts(out, &ids, &cv->nlocal);
    cv->parts = calloc((size_t)cv->nlocal + 1, sizeof *cv->parts);
    if (rc == STARHALO_OK && !cv->parts)
        rc = starhalo_error_set(STARHALO_ERR_NO_MEMORY, "cnn_conv_create");
    for (int i = 0; i < cv->nlocal && rc == STARHALO_OK; i++) {
        cv->parts[i].part = ids[i];
        rc = make_part(cv, &cv->parts[i]);
    }
    free(ids);
    if (rc != STARHALO_OK) {
        conv_free(cv);
        return rc;
    }
    *out_cv = cv;
    return STARHALO_OK;
}

void starhalo_cnn_conv_destroy(starhalo_cnn_conv_t *cv)
{
    if (!cv)
        return;
    starpu_task_wait_for_all();
    conv_free(cv);
}

/* Copy the weights (bias: 0) or the bias (1) between the registered buffer and @p w
 * (to_layer: into the layer). */
static starhalo_status_t copy_params(starhalo_cnn_conv_t *cv, float *w, int bias, int to_layer)
{
    STARHALO_REQUIRE(cv && w, STARHALO_ERR_INVALID_ARG, "cnn_conv parameters: NULL argument");
    /* RW, not W: the bias and the weights share the buffer. */
    if (starpu_data_acquire(cv->wh, to_layer ? STARPU_RW : STARPU_R) != 0)
        return starhalo_error_set(STARHALO_ERR_STARPU, "cnn_conv: acquiring the weights");
    float *mine = bias ? cv->w + cv->nw : cv->w;
    const size_t n = sizeof(float) * (size_t)(bias ? cv->cout : cv->nw);
    if (to_layer)
        memcpy(mine, w, n);
    else
        memcpy(w, mine, n);
    starpu_data_release(cv->wh);
    return STARHALO_OK;
}

starhalo_status_t starhalo_cnn_conv_set_weights(starhalo_cnn_conv_t *cv, const float *weights)
{
    return copy_params(cv, (float *)weights, 0, 1);
}

starhalo_status_t starhalo_cnn_conv_get_weights(starhalo_cnn_conv_t *cv, float *weights)
{
    return copy_params(cv, weights, 0, 0);
}

starhalo_status_t starhalo_cnn_conv_set_bias(starhalo_cnn_conv_t *cv, const float *bias)
{
    STARHALO_CHECK(copy_params(cv, (float *)bias, 1, 1));
    cv->has_bias = 1;
    return STARHALO_OK;
}

starhalo_status_t starhalo_cnn_conv_get_bias(starhalo_cnn_conv_t *cv, float *bias)
{
    STARHALO_REQUIRE(!cv || cv->has_bias, STARHALO_ERR_INVALID_ARG,
                     "cnn_conv_get_bias: the layer has no bias (starhalo_cnn_conv_set_bias)");
    return copy_params(cv, bias, 1, 0);
}

static starhalo_status_t submit_fwd(starhalo_cnn_conv_t *cv, const cnn_part_t *cp,
                                    const starhalo_box_t *region, int priority)
{
    if (starhalo_box_volume(region) <= 0)
        return STARHALO_OK;
    const starhalo_kern_tile_t it = starhalo__compute_tile(cv->in, cp->part);
    const starhalo_kern_tile_t ot = starhalo__compute_tile(cv->out, cp->part);
    const struct starhalo__task_opts o = {.priority = priority, .status = &cv->status};
    return starhalo__insert_conv2d_g(&o, cp->in, cv->wh, cp->out, &it, &ot, &cv->layer, cv->groups,
                                     cv->has_bias, region, NULL);
}

starhalo_status_t starhalo_cnn_conv_set_mode(starhalo_cnn_conv_t *cv, starhalo_step_mode_t mode)
{
    STARHALO_REQUIRE(cv, STARHALO_ERR_INVALID_ARG, "cnn_conv_set_mode: NULL layer");
    STARHALO_REQUIRE(mode == STARHALO_STEP_TASK || mode == STARHALO_STEP_BSP,
                     STARHALO_ERR_INVALID_ARG, "cnn_conv_set_mode: unknown mode %d", (int)mode);
    cv->mode = mode;
    return STARHALO_OK;
}

starhalo_status_t starhalo_cnn_conv_forward(starhalo_cnn_conv_t *cv)
{
    STARHALO_REQUIRE(cv, STARHALO_ERR_INVALID_ARG, "cnn_conv_forward: NULL layer");
    STARHALO_CHECK(starhalo__cnn_task_status(&cv->status, "cnn_conv_forward"));
    if (cv->mode == STARHALO_STEP_BSP) {
        /* The baseline: the halo arrives before any conv of this layer starts. */
        STARHALO_CHECK(starhalo_exchange_submit(cv->ex_in));
        STARHALO_CHECK(starhalo_exchange_wait(cv->ex_in));
        for (int i = 0; i < cv->nlocal; i++)
            STARHALO_CHECK(submit_fwd(cv, &cv->parts[i], &cv->parts[i].owned, 0));
        return STARHALO_OK;
    }
    STARHALO_CHECK(starhalo_exchange_begin(cv->ex_in));
    for (int i = 0; i < cv->nlocal; i++)
        STARHALO_CHECK(submit_fwd(cv, &cv->parts[i], &cv->parts[i].region.interior, 0));
    STARHALO_CHECK(starhalo_exchange_end(cv->ex_in));
    const int hi = starpu_sched_get_max_priority();
    for (int i = 0; i < cv->nlocal; i++)
        for (int k = 0; k < cv->parts[i].region.nboundary; k++)
            STARHALO_CHECK(submit_fwd(cv, &cv->parts[i], &cv->parts[i].region.boundary[k], hi));
    return STARHALO_OK;
}

starhalo_status_t starhalo_cnn_conv_backward(starhalo_cnn_conv_t *cv)
{
    STARHALO_REQUIRE(cv, STARHALO_ERR_INVALID_ARG, "cnn_conv_backward: NULL layer");
    STARHALO_CHECK(starhalo__cnn_task_status(&cv->status, "cnn_conv_backward"));
    /* Backward data first, at high priority, then the reverse exchange of its ghost
     * gradients: the messages travel while the (more expensive) weight-gradient tasks run;
     * these only read the input and grad_out, so nothing orders them after the exchange. */
    const struct starhalo__task_opts hi = {.status = &cv->status,
                                           .priority = starpu_sched_get_max_priority()};
    const struct starhalo__task_opts lo = {.status = &cv->status};
    for (int pass = cv->gin ? 0 : 1; pass < 2; pass++) {
        for (int i = 0; i < cv->nlocal; i++) {
            const cnn_part_t *cp = &cv->parts[i];
            starhalo__conv_bwd_args_t a;
            memset(&a, 0, sizeof a);
            a.in_tile = starhalo__compute_tile(pass == 0 ? cv->gin : cv->in, cp->part);
            a.out_tile = starhalo__compute_tile(cv->gout, cp->part);
            a.layer = cv->layer;
            a.groups = cv->groups;
            a.region = cp->owned;
            if (pass == 0)
                STARHALO_CHECK(
                    starhalo__insert_conv2d_bwd_data(&hi, cp->gout, cv->wh, cp->gin, &a));
            else
                STARHALO_CHECK(
                    starhalo__insert_conv2d_bwd_weights(&lo, cp->in, cp->gout, cp->gw, &a));
        }
        /* The ghost cells of grad_in hold gradient of cells other parts own: send it back.
         * BSP: nothing else runs until they have arrived. */
        if (pass == 0)
            STARHALO_CHECK(starhalo_exchange_submit_reverse(cv->ex_gin, STARHALO_REDUCE_SUM));
        if (pass == 0 && cv->mode == STARHALO_STEP_BSP)
            STARHALO_CHECK(starhalo_exchange_wait(cv->ex_gin));
    }
    /* The bias gradient: per-channel sums of grad_out over the owned cells. */
    for (int i = 0; cv->has_bias && i < cv->nlocal; i++) {
        starhalo__bn_sums_args_t a;
        memset(&a, 0, sizeof a);
        a.tile = starhalo__compute_tile(cv->gout, cv->parts[i].part);
        a.region = cv->parts[i].owned;
        STARHALO_CHECK(
            starhalo__insert_bn_sums(&lo, cv->parts[i].gout, NULL, NULL, cv->parts[i].gb, &a));
    }
    return STARHALO_OK;
}

/* Sum one per-part gradient (bias: 0, weights: 1) over parts and ranks. */
static starhalo_status_t sum_grad(starhalo_cnn_conv_t *cv, int weights, const char *what, size_t n,
                                  double *out)
{
    STARHALO_REQUIRE(cv && out, STARHALO_ERR_INVALID_ARG, "%s: NULL", what);
    starpu_data_handle_t *h = calloc((size_t)cv->nlocal + 1, sizeof *h);
    double **b = calloc((size_t)cv->nlocal + 1, sizeof *b);
    starhalo_status_t rc = STARHALO_OK;
    if (!h || !b)
        rc = starhalo_error_set(STARHALO_ERR_NO_MEMORY, "%s", what);
    for (int i = 0; rc == STARHALO_OK && i < cv->nlocal; i++) {
        h[i] = weights ? cv->parts[i].gw : cv->parts[i].gb;
        b[i] = weights ? cv->parts[i].gw_buf : cv->parts[i].gb_buf;
    }
    /* Even after a local failure: the other ranks are in the collective, which agrees on
     * the statuses (the layer's tasks' included) before it sums. */
    rc = starhalo__cnn_sum_parts(cv->ctx, what, rc, &cv->status, cv->nlocal, h, b, n, out);
    free(h);
    free(b);
    return rc;
}

starhalo_status_t starhalo_cnn_conv_grad_weights(starhalo_cnn_conv_t *cv, double *grad_w)
{
    STARHALO_REQUIRE(cv, STARHALO_ERR_INVALID_ARG, "cnn_conv_grad_weights: NULL layer");
    return sum_grad(cv, 1, "cnn_conv_grad_weights", (size_t)cv->nw, grad_w);
}

starhalo_status_t starhalo_cnn_conv_grad_bias(starhalo_cnn_conv_t *cv, double *grad_b)
{
    STARHALO_REQUIRE(cv, STARHALO_ERR_INVALID_ARG, "cnn_conv_grad_bias: NULL layer");
    STARHALO_REQUIRE(cv->has_bias, STARHALO_ERR_INVALID_ARG,
                     "cnn_conv_grad_bias: the layer has no bias (starhalo_cnn_conv_set_bias)");
    /* The per-part buffers hold sum(grad_out) then sum(grad_out^2) per channel; the first
     * Cout are the bias gradient. */
    return sum_grad(cv, 0, "cnn_conv_grad_bias", (size_t)cv->cout, grad_b);
}

/* One ReLU task (forward or backward) per local part, on its owned cells. */
static starhalo_status_t relu_pass(const char *what, starhalo_field_t *a, starhalo_field_t *b,
                                   int backward)
{
    STARHALO_REQUIRE(a && b && a != b, STARHALO_ERR_INVALID_ARG, "%s: NULL or identical fields",
                     what);
    STARHALO_CHECK(starhalo__compute_require_structured(a, what, "first"));
    STARHALO_CHECK(starhalo__compute_require_structured(b, what, "second"));
    STARHALO_REQUIRE(starhalo_field_dtype(a) == STARHALO_FLOAT32, STARHALO_ERR_INVALID_ARG,
                     "%s: fields must be float32", what);
    /* One task reads both tiles with b's geometry. */
    STARHALO_CHECK(starhalo_field_match(a, b, STARHALO_MATCH_DTYPE | STARHALO_MATCH_TILES, what));
    int *ids = NULL, n = 0;
    STARHALO_CHECK(starhalo__compute_local_parts(b, &ids, &n));
    starhalo_status_t rc = STARHALO_OK;
    for (int i = 0; i < n && rc == STARHALO_OK; i++) {
        starhalo__relu_args_t r;
        memset(&r, 0, sizeof r);
        r.tile = starhalo__compute_tile(b, ids[i]);
        r.region = starhalo_part_plan_owned(starhalo_field_part_plan(b, ids[i]));
        r.backward = backward;
        starpu_data_handle_t ha = NULL, hb = NULL;
        rc = starhalo_field_part_handle(a, ids[i], &ha);
        if (rc == STARHALO_OK)
            rc = starhalo_field_part_handle(b, ids[i], &hb);
        if (rc == STARHALO_OK)
            rc = starhalo__insert_relu(NULL, ha, hb, &r);
    }
    free(ids);
    return rc;
}

starhalo_status_t starhalo_cnn_relu(starhalo_field_t *pre, starhalo_field_t *out)
{
    return relu_pass("cnn_relu", pre, out, 0);
}

starhalo_status_t starhalo_cnn_relu_backward(starhalo_field_t *pre, starhalo_field_t *grad)
{
    return relu_pass("cnn_relu_backward", pre, grad, 1);
}
