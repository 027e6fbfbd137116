/* SPDX-License-Identifier: MIT */
/**
 * @file rt_cnn_layers.c
 * @brief The CNN layers besides conv: pooling (forward with the interior overlapping the
 * exchange, backward into whole ghosted tiles + reverse SUM exchange), batch normalisation
 * (per-part statistics, a deterministic sum over parts and ranks, then per-part tasks),
 * residual add and copy, global average pool.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rt_cnn_internal.h"

static starhalo_box_t owned(const starhalo_field_t *f, int part)
{
    return starhalo_part_plan_owned(starhalo_field_part_plan(f, part));
}

/* Fields that one task reads with one geometry: float32, structured, the same tiles. */
static starhalo_status_t check_same_tiles(const char *what, starhalo_field_t *const *f, int n)
{
    for (int i = 0; i < n; i++) {
        if (!f[i])
            continue;
        STARHALO_CHECK(starhalo__compute_require_structured(f[i], what, "field"));
        STARHALO_REQUIRE(starhalo_field_dtype(f[i]) == STARHALO_FLOAT32, STARHALO_ERR_INVALID_ARG,
                         "%s: fields must be float32", what);
        for (int j = 0; j < i; j++)
            STARHALO_REQUIRE(f[j] != f[i], STARHALO_ERR_INVALID_ARG, "%s: the same field twice",
                             what);
        if (i > 0)
            STARHALO_CHECK(starhalo_field_match(
                f[0], f[i], STARHALO_MATCH_TILES | STARHALO_MATCH_CHANNELS, what));
    }
    return STARHALO_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Pooling                                                                                  */
/* ---------------------------------------------------------------------------------------- */

typedef struct pool_part {
    int part;
    starpu_data_handle_t in, out, gin, gout;
    starhalo_box_t owned;
    starhalo_regions_t region;
} pool_part_t;

struct starhalo_cnn_pool {
    starhalo_field_t *in, *out, *gin, *gout;
    starhalo_exchange_t *ex_in, *ex_gin;
    starhalo_pool_kind_t kind;
    starhalo_layer_t layer;
    starhalo_box_t domain;
    int nlocal;
    pool_part_t *parts;
    int status;
};

starhalo_status_t starhalo_cnn_pool_create(starhalo_context_t *ctx, starhalo_pool_kind_t kind,
                                           starhalo_field_t *in, starhalo_exchange_t *ex_in,
                                           starhalo_field_t *out, starhalo_field_t *grad_out,
                                           starhalo_field_t *grad_in,
                                           starhalo_exchange_t *ex_grad_in,
                                           const starhalo_layer_t *layer,
                                           starhalo_cnn_pool_t **out_pool)
{
    STARHALO_REQUIRE(out_pool, STARHALO_ERR_INVALID_ARG, "cnn_pool_create: NULL result pointer");
    *out_pool = NULL;
    STARHALO_REQUIRE(ctx && in && ex_in && out && grad_out && layer, STARHALO_ERR_INVALID_ARG,
                     "cnn_pool_create: NULL context, field, exchange or layer");
    STARHALO_REQUIRE(kind == STARHALO_POOL_MAX || kind == STARHALO_POOL_AVG ||
                         kind == STARHALO_POOL_AVG_EXCLUDE,
                     STARHALO_ERR_INVALID_ARG, "cnn_pool_create: unknown kind %d", (int)kind);
    STARHALO_REQUIRE(!grad_in == !ex_grad_in, STARHALO_ERR_INVALID_ARG,
                     "cnn_pool_create: grad_in and its exchange must both be given or both be "
                     "NULL");
    STARHALO_CHECK(starhalo__compute_require_structured(in, "cnn_pool_create", "input"));
    STARHALO_CHECK(starhalo__compute_require_structured(out, "cnn_pool_create", "output"));
    STARHALO_CHECK(starhalo__compute_check_layer("cnn_pool", in, out, layer));
    STARHALO_REQUIRE(starhalo__cnn_channels(in) == starhalo__cnn_channels(out),
                     STARHALO_ERR_INVALID_ARG, "cnn_pool: input has %lld channels, output %lld",
                     (long long)starhalo__cnn_channels(in), (long long)starhalo__cnn_channels(out));
    starhalo_field_t *pair[2] = {out, grad_out};
    STARHALO_CHECK(check_same_tiles("cnn_pool: grad_out against out", pair, 2));
    if (grad_in) {
        starhalo_field_t *ipair[2] = {in, grad_in};
        STARHALO_CHECK(check_same_tiles("cnn_pool: grad_in against in", ipair, 2));
    }
    starhalo_cnn_pool_t *pl = calloc(1, sizeof *pl);
    if (!pl)
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "cnn_pool_create");
    *pl = (starhalo_cnn_pool_t){.in = in,
                                .out = out,
                                .gin = grad_in,
                                .gout = grad_out,
                                .ex_in = ex_in,
                                .ex_gin = ex_grad_in,
                                .kind = kind,
                                .layer = *layer,
                                .domain = starhalo__compute_image_box(in)};
    int *ids = NULL;
    starhalo_status_t rc = starhalo__compute_local_parts(out, &ids, &pl->nlocal);
    pl->parts = calloc((size_t)pl->nlocal + 1, sizeof *pl->parts);
    if (rc == STARHALO_OK && !pl->parts)
        rc = starhalo_error_set(STARHALO_ERR_NO_MEMORY, "cnn_pool_create");
    for (int i = 0; i < pl->nlocal && rc == STARHALO_OK; i++) {
        pool_part_t *pp = &pl->parts[i];
        pp->part = ids[i];
        rc = starhalo_field_part_handle(in, pp->part, &pp->in);
        if (rc == STARHALO_OK)
            rc = starhalo_field_part_handle(out, pp->part, &pp->out);
        if (rc == STARHALO_OK)
            rc = starhalo_field_part_handle(grad_out, pp->part, &pp->gout);
        if (rc == STARHALO_OK && grad_in)
            rc = starhalo_field_part_handle(grad_in, pp->part, &pp->gin);
        pp->owned = owned(out, pp->part);
        const starhalo_box_t in_owned = owned(in, pp->part);
        if (rc == STARHALO_OK)
            rc = starhalo_layer_output_regions(layer, &in_owned, &pp->owned, &pp->region);
    }
    free(ids);
    if (rc != STARHALO_OK) {
        free(pl->parts);
        free(pl);
        return rc;
    }
    *out_pool = pl;
    return STARHALO_OK;
}

void starhalo_cnn_pool_destroy(starhalo_cnn_pool_t *pool)
{
    if (!pool)
        return;
    starpu_task_wait_for_all();
    free(pool->parts);
    free(pool);
}

static starhalo_status_t pool_fwd(starhalo_cnn_pool_t *pl, const pool_part_t *pp,
                                  const starhalo_box_t *region, int priority)
{
    if (starhalo_box_volume(region) <= 0)
        return STARHALO_OK;
    const starhalo_kern_tile_t it = starhalo__compute_tile(pl->in, pp->part);
    const starhalo_kern_tile_t ot = starhalo__compute_tile(pl->out, pp->part);
    const struct starhalo__task_opts o = {.priority = priority, .status = &pl->status};
    /* The image box as the domain: max pooling must not take image-border ghosts (zeros) for
     * input cells. */
    return starhalo__insert_pool2d(&o, pp->in, pp->out, pl->kind, &it, &ot, &pl->layer, region,
                                   &pl->domain);
}

starhalo_status_t starhalo_cnn_pool_forward(starhalo_cnn_pool_t *pool)
{
    STARHALO_REQUIRE(pool, STARHALO_ERR_INVALID_ARG, "cnn_pool_forward: NULL layer");
    STARHALO_CHECK(starhalo__cnn_task_status(&pool->status, "cnn_pool_forward"));
    STARHALO_CHECK(starhalo_exchange_begin(pool->ex_in));
    for (int i = 0; i < pool->nlocal; i++)
        STARHALO_CHECK(pool_fwd(pool, &pool->parts[i], &pool->parts[i].region.interior, 0));
    STARHALO_CHECK(starhalo_exchange_end(pool->ex_in));
    const int hi = starpu_sched_get_max_priority();
    for (int i = 0; i < pool->nlocal; i++)
        for (int k = 0; k < pool->parts[i].region.nboundary; k++)
            STARHALO_CHECK(pool_fwd(pool, &pool->parts[i], &pool->parts[i].region.boundary[k], hi));
    return STARHALO_OK;
}

starhalo_status_t starhalo_cnn_pool_backward(starhalo_cnn_pool_t *pool)
{
    STARHALO_REQUIRE(pool, STARHALO_ERR_INVALID_ARG, "cnn_pool_backward: NULL layer");
    STARHALO_CHECK(starhalo__cnn_task_status(&pool->status, "cnn_pool_backward"));
    if (!pool->gin)
        return STARHALO_OK;
    const struct starhalo__task_opts o = {.status = &pool->status,
                                          .priority = starpu_sched_get_max_priority()};
    for (int i = 0; i < pool->nlocal; i++) {
        const pool_part_t *pp = &pool->parts[i];
        starhalo__pool_bwd_args_t a;
        memset(&a, 0, sizeof a);
        a.kind = pool->kind;
        a.in_tile = starhalo__compute_tile(pool->gin, pp->part);
        a.out_tile = starhalo__compute_tile(pool->gout, pp->part);
        a.layer = pool->layer;
        a.domain = pool->domain;
        a.region = pp->owned;
        STARHALO_CHECK(starhalo__insert_pool2d_bwd(&o, pp->in, pp->gout, pp->gin, &a));
    }
    /* Ghost gradients belong to the neighbours' cells: send them back, added there. */
    return starhalo_exchange_submit_reverse(pool->ex_gin, STARHALO_REDUCE_SUM);
}

/* ---------------------------------------------------------------------------------------- */
/* Batch normalisation                                                                      */
/* ---------------------------------------------------------------------------------------- */

typedef struct bn_part {
    int part;
    starpu_data_handle_t x, y, gy, gx, sums;
    double *sums_buf; /**< 2C */
    starhalo_box_t owned;
} bn_part_t;

struct starhalo_cnn_bn {
    starhalo_context_t *ctx;
    starhalo_field_t *x, *y, *gy, *gx;
    double eps, count; /**< count: cells per channel, whole image and batch */
    int64_t c;
    int nlocal;
    bn_part_t *parts;
    double *affine; /**< scale C | shift C */
    double *params; /**< mean C | invstd C | gamma C | backward sums 2C */
    starpu_data_handle_t affine_h, params_h;
    double *tot; /**< 2C */
    int forwarded;
    int status;
};

static void bn_free(starhalo_cnn_bn_t *bn)
{
    for (int i = 0; bn->parts && i < bn->nlocal; i++) {
        if (bn->parts[i].sums)
            starpu_data_unregister(bn->parts[i].sums);
        free(bn->parts[i].sums_buf);
    }
    if (bn->affine_h)
        starpu_data_unregister(bn->affine_h);
    if (bn->params_h)
        starpu_data_unregister(bn->params_h);
    free(bn->parts), free(bn->affine), free(bn->params), free(bn->tot);
    free(bn);
}

starhalo_status_t starhalo_cnn_bn_create(starhalo_context_t *ctx, starhalo_field_t *x,
                                         starhalo_field_t *y, starhalo_field_t *grad_y,
                                         starhalo_field_t *grad_x, double eps,
                                         starhalo_cnn_bn_t **out_bn)
{
    STARHALO_REQUIRE(out_bn, STARHALO_ERR_INVALID_ARG, "cnn_bn_create: NULL result pointer");
    *out_bn = NULL;
    STARHALO_REQUIRE(ctx && x && y && grad_y, STARHALO_ERR_INVALID_ARG,
                     "cnn_bn_create: NULL context or field");
    STARHALO_REQUIRE(eps > 0.0 && isfinite(eps), STARHALO_ERR_INVALID_ARG,
                     "cnn_bn_create: eps %g must be > 0", eps);
    starhalo_field_t *f[4] = {x, y, grad_y, grad_x};
    STARHALO_CHECK(check_same_tiles("cnn_bn_create", f, 4));
    starhalo_cnn_bn_t *bn = calloc(1, sizeof *bn);
    if (!bn)
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "cnn_bn_create");
    const starhalo_decomp_desc_t *d = starhalo_decomp_desc(starhalo_field_decomp(x));
    *bn = (starhalo_cnn_bn_t){.ctx = ctx,
                              .x = x,
                              .y = y,
                              .gy = grad_y,
                              .gx = grad_x,
                              .eps = eps,
                              .c = starhalo__cnn_channels(x),
                              .count = (double)starhalo__cnn_batch(x) * (double)d->extent[0] *
                                       (double)d->extent[1]};
    const size_t c = (size_t)bn->c;
    bn->affine = calloc(2 * c, sizeof(double));
    bn->params = calloc(5 * c, sizeof(double));
    bn->tot = calloc(2 * c, sizeof(double));
    int *ids = NULL;
    starhalo_status_t rc = bn->affine && bn->params && bn->tot
                               ? starhalo__compute_local_parts(x, &ids, &bn->nlocal)
                               : starhalo_error_set(STARHALO_ERR_NO_MEMORY, "cnn_bn_create");
    if (rc == STARHALO_OK) {
        starpu_vector_data_register(&bn->affine_h, STARPU_MAIN_RAM, (uintptr_t)bn->affine,
                                    (uint32_t)(2 * c), sizeof(double));
        starpu_vector_data_register(&bn->params_h, STARPU_MAIN_RAM, (uintptr_t)bn->params,
                                    (uint32_t)(5 * c), sizeof(double));
        bn->parts = calloc((size_t)bn->nlocal + 1, sizeof *bn->parts);
        if (!bn->parts)
            rc = starhalo_error_set(STARHALO_ERR_NO_MEMORY, "cnn_bn_create");
    }
    for (int i = 0; i < bn->nlocal && rc == STARHALO_OK; i++) {
        bn_part_t *bp = &bn->parts[i];
        bp->part = ids[i];
        bp->owned = owned(x, bp->part);
        rc = starhalo_field_part_handle(x, bp->part, &bp->x);
        if (rc == STARHALO_OK)
            rc = starhalo_field_part_handle(y, bp->part, &bp->y);
        if (rc == STARHALO_OK)
            rc = starhalo_field_part_handle(grad_y, bp->part, &bp->gy);
        if (rc == STARHALO_OK && grad_x)
            rc = starhalo_field_part_handle(grad_x, bp->part, &bp->gx);
        bp->sums_buf = calloc(2 * c, sizeof(double));
        if (rc == STARHALO_OK && !bp->sums_buf)
            rc = starhalo_error_set(STARHALO_ERR_NO_MEMORY, "cnn_bn_create");
        if (rc == STARHALO_OK)
            starpu_vector_data_register(&bp->sums, STARPU_MAIN_RAM, (uintptr_t)bp->sums_buf,
                                        (uint32_t)(2 * c), sizeof(double));
    }
    free(ids);
    if (rc != STARHALO_OK) {
        bn_free(bn);
        return rc;
    }
    *out_bn = bn;
    return STARHALO_OK;
}

void starhalo_cnn_bn_destroy(starhalo_cnn_bn_t *bn)
{
    if (!bn)
        return;
    starpu_task_wait_for_all();
    bn_free(bn);
}

/* The per-part sums of the tasks just submitted, added over parts and ranks into bn->tot;
 * agrees on @p local (this rank's failure so far) and the tasks' status first. */
static starhalo_status_t bn_total(starhalo_cnn_bn_t *bn, const char *what, starhalo_status_t local)
{
    starpu_data_handle_t *h = calloc((size_t)bn->nlocal + 1, sizeof *h);
    double **b = calloc((size_t)bn->nlocal + 1, sizeof *b);
    starhalo_status_t rc = local;
    if (rc == STARHALO_OK && (!h || !b))
        rc = starhalo_error_set(STARHALO_ERR_NO_MEMORY, "%s", what);
    for (int i = 0; rc == STARHALO_OK && i < bn->nlocal; i++)
        h[i] = bn->parts[i].sums, b[i] = bn->parts[i].sums_buf;
    rc = starhalo__cnn_sum_parts(bn->ctx, what, rc, &bn->status, bn->nlocal, h, b,
                                 (size_t)(2 * bn->c), bn->tot);
    free(h), free(b);
    return rc;
}

/* Acquire a host-written parameter vector for writing (waits for its readers). */
static starhalo_status_t host_write(starpu_data_handle_t h, int acquire)
{
    if (acquire) {
        if (starpu_data_acquire(h, STARPU_RW) != 0)
            return starhalo_error_set(STARHALO_ERR_STARPU, "cnn_bn: acquiring parameters");
    } else
        starpu_data_release(h);
    return STARHALO_OK;
}

starhalo_status_t starhalo_cnn_bn_forward(starhalo_cnn_bn_t *bn, const float *gamma,
                                          const float *beta)
{
    STARHALO_REQUIRE(bn && gamma && beta, STARHALO_ERR_INVALID_ARG,
                     "cnn_bn_forward: NULL layer, gamma or beta");
    /* No return before the sums' collective: a local failure travels into its agreement. */
    starhalo_status_t rc = starhalo__cnn_task_status(&bn->status, "cnn_bn_forward");
    const struct starhalo__task_opts o = {.status = &bn->status};
    for (int i = 0; rc == STARHALO_OK && i < bn->nlocal; i++) {
        starhalo__bn_sums_args_t a;
        memset(&a, 0, sizeof a);
        a.tile = starhalo__compute_tile(bn->x, bn->parts[i].part);
        a.region = bn->parts[i].owned;
        rc = starhalo__insert_bn_sums(&o, bn->parts[i].x, NULL, NULL, bn->parts[i].sums, &a);
    }
    STARHALO_CHECK(bn_total(bn, "cnn_bn_forward", rc));
    const int64_t c = bn->c;
    STARHALO_CHECK(host_write(bn->affine_h, 1));
    STARHALO_CHECK(host_write(bn->params_h, 1));
    for (int64_t k = 0; k < c; k++) {
        const double mean = bn->tot[k] / bn->count;
        const double var = fmax(bn->tot[c + k] / bn->count - mean * mean, 0.0); /* biased */
        const double invstd = 1.0 / sqrt(var + bn->eps);
        bn->params[k] = mean;
        bn->params[c + k] = invstd;
        bn->params[2 * c + k] = gamma[k];
        bn->affine[k] = (double)gamma[k] * invstd;
        bn->affine[c + k] = (double)beta[k] - mean * bn->affine[k];
    }
    STARHALO_CHECK(host_write(bn->params_h, 0));
    STARHALO_CHECK(host_write(bn->affine_h, 0));
    for (int i = 0; i < bn->nlocal; i++) {
        starhalo__channel_affine_args_t a;
        memset(&a, 0, sizeof a);
        a.tile = starhalo__compute_tile(bn->x, bn->parts[i].part);
        a.region = bn->parts[i].owned;
        a.has_scale = 1;
        STARHALO_CHECK(
            starhalo__insert_channel_affine(&o, bn->parts[i].x, bn->affine_h, bn->parts[i].y, &a));
    }
    bn->forwarded = 1;
    return STARHALO_OK;
}

starhalo_status_t starhalo_cnn_bn_backward(starhalo_cnn_bn_t *bn, double *grad_gamma,
                                           double *grad_beta)
{
    STARHALO_REQUIRE(bn && grad_gamma && grad_beta, STARHALO_ERR_INVALID_ARG,
                     "cnn_bn_backward: NULL layer or gradient");
    STARHALO_REQUIRE(bn->forwarded, STARHALO_ERR_INVALID_ARG,
                     "cnn_bn_backward: no forward pass yet");
    starhalo_status_t rc = starhalo__cnn_task_status(&bn->status, "cnn_bn_backward");
    const struct starhalo__task_opts o = {.status = &bn->status};
    for (int i = 0; rc == STARHALO_OK && i < bn->nlocal; i++) {
        starhalo__bn_sums_args_t a;
        memset(&a, 0, sizeof a);
        a.tile = starhalo__compute_tile(bn->x, bn->parts[i].part);
        a.region = bn->parts[i].owned;
        rc = starhalo__insert_bn_sums(&o, bn->parts[i].x, bn->parts[i].gy, bn->params_h,
                                      bn->parts[i].sums, &a);
    }
    STARHALO_CHECK(bn_total(bn, "cnn_bn_backward", rc));
    const int64_t c = bn->c;
    for (int64_t k = 0; k < c; k++) {
        grad_beta[k] = bn->tot[k];
        grad_gamma[k] = bn->tot[c + k];
    }
    if (!bn->gx)
        return STARHALO_OK;
    STARHALO_CHECK(host_write(bn->params_h, 1));
    memcpy(bn->params + 3 * c, bn->tot, sizeof(double) * (size_t)(2 * c));
    STARHALO_CHECK(host_write(bn->params_h, 0));
    for (int i = 0; i < bn->nlocal; i++) {
        starhalo__bn_bwd_args_t a;
        memset(&a, 0, sizeof a);
        a.tile = starhalo__compute_tile(bn->x, bn->parts[i].part);
        a.region = bn->parts[i].owned;
        a.count = bn->count;
        STARHALO_CHECK(starhalo__insert_bn_bwd(&o, bn->parts[i].x, bn->parts[i].gy, bn->params_h,
                                               bn->parts[i].gx, &a));
    }
    return STARHALO_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Residual add, copy, global average pool                                                  */
/* ---------------------------------------------------------------------------------------- */

starhalo_status_t starhalo_cnn_add(starhalo_field_t *a, starhalo_field_t *b, starhalo_field_t *out)
{
    STARHALO_REQUIRE(a && b && out && b != out, STARHALO_ERR_INVALID_ARG,
                     "cnn_add: NULL field, or out is b (use out = a)");
    starhalo_field_t *f[3] = {a, b, out == a ? NULL : out};
    STARHALO_CHECK(check_same_tiles("cnn_add", f, 3));
    int *ids = NULL, n = 0;
    STARHALO_CHECK(starhalo__compute_local_parts(a, &ids, &n));
    starhalo_status_t rc = STARHALO_OK;
    for (int i = 0; i < n && rc == STARHALO_OK; i++) {
        starpu_data_handle_t ha = NULL, hb = NULL, ho = NULL;
        rc = starhalo_field_part_handle(a, ids[i], &ha);
        if (rc == STARHALO_OK)
            rc = starhalo_field_part_handle(b, ids[i], &hb);
        if (rc == STARHALO_OK)
            rc = starhalo_field_part_handle(out, ids[i], &ho);
        starhalo__cnn_region_args_t r;
        memset(&r, 0, sizeof r);
        r.tile = starhalo__compute_tile(a, ids[i]);
        r.region = owned(a, ids[i]);
        if (rc == STARHALO_OK)
            rc = starhalo__insert_add(NULL, ha, hb, ho, &r);
    }
    free(ids);
    return rc;
}

starhalo_status_t starhalo_cnn_copy(starhalo_field_t *in, starhalo_field_t *out)
{
    STARHALO_REQUIRE(in && out, STARHALO_ERR_INVALID_ARG, "cnn_copy: NULL field");
    starhalo_field_t *f[2] = {in, out};
    STARHALO_CHECK(check_same_tiles("cnn_copy", f, 2));
    int *ids = NULL, n = 0;
    STARHALO_CHECK(starhalo__compute_local_parts(in, &ids, &n));
    starhalo_status_t rc = STARHALO_OK;
    for (int i = 0; i < n && rc == STARHALO_OK; i++) {
        starpu_data_handle_t hi = NULL, ho = NULL;
        rc = starhalo_field_part_handle(in, ids[i], &hi);
        if (rc == STARHALO_OK)
            rc = starhalo_field_part_handle(out, ids[i], &ho);
        /* The same tiles: StarPU copies the whole handle, as a task in the graph. */
        if (rc == STARHALO_OK && starpu_data_cpy(ho, hi, 1, NULL, NULL) != 0)
            rc = starhalo_error_set(STARHALO_ERR_STARPU, "cnn_copy: starpu_data_cpy");
    }
    free(ids);
    return rc;
}

/* Per-part N*C vectors for the global average pool, registered for one call. */
typedef struct plane_bufs {
    int n;
    int *ids;
    starpu_data_handle_t *h;
    double **b;
} plane_bufs_t;

static void plane_bufs_free(plane_bufs_t *p)
{
    for (int i = 0; p->h && i < p->n; i++)
        if (p->h[i])
            starpu_data_unregister(p->h[i]); /* waits for its tasks */
    for (int i = 0; p->b && i < p->n; i++)
        free(p->b[i]);
    free(p->ids), free(p->h), free(p->b);
}

static starhalo_status_t plane_bufs_make(starhalo_field_t *x, size_t count, plane_bufs_t *p)
{
    memset(p, 0, sizeof *p);
    STARHALO_CHECK(starhalo__compute_local_parts(x, &p->ids, &p->n));
    p->h = calloc((size_t)p->n + 1, sizeof *p->h);
    p->b = calloc((size_t)p->n + 1, sizeof *p->b);
    STARHALO_REQUIRE(p->h && p->b, STARHALO_ERR_NO_MEMORY, "cnn_gap");
    for (int i = 0; i < p->n; i++) {
        p->b[i] = calloc(count, sizeof(double));
        STARHALO_REQUIRE(p->b[i], STARHALO_ERR_NO_MEMORY, "cnn_gap");
        starpu_vector_data_register(&p->h[i], STARPU_MAIN_RAM, (uintptr_t)p->b[i], (uint32_t)count,
                                    sizeof(double));
    }
    return STARHALO_OK;
}

starhalo_status_t starhalo_cnn_gap_forward(starhalo_context_t *ctx, starhalo_field_t *x,
                                           double *means)
{
    STARHALO_REQUIRE(ctx && x && means, STARHALO_ERR_INVALID_ARG, "cnn_gap_forward: NULL");
    starhalo_field_t *f[1] = {x};
    STARHALO_CHECK(check_same_tiles("cnn_gap_forward", f, 1));
    const size_t count = (size_t)(starhalo__cnn_batch(x) * starhalo__cnn_channels(x));
    plane_bufs_t p;
    int status = 0;
    starhalo_status_t rc = plane_bufs_make(x, count, &p);
    const struct starhalo__task_opts o = {.status = &status};
    for (int i = 0; i < p.n && rc == STARHALO_OK; i++) {
        starhalo__cnn_region_args_t r;
        memset(&r, 0, sizeof r);
        r.tile = starhalo__compute_tile(x, p.ids[i]);
        r.region = owned(x, p.ids[i]);
        starpu_data_handle_t hx = NULL;
        rc = starhalo_field_part_handle(x, p.ids[i], &hx);
        if (rc == STARHALO_OK)
            rc = starhalo__insert_plane_sums(&o, hx, p.h[i], &r);
    }
    /* Even after a local failure: the other ranks are in the collective. */
    rc = starhalo__cnn_sum_parts(ctx, "cnn_gap_forward", rc, &status, p.n, p.h, p.b, count, means);
    const starhalo_box_t img = starhalo__compute_image_box(x);
    const double cells = (double)starhalo_box_volume(&img);
    for (size_t k = 0; rc == STARHALO_OK && k < count; k++)
        means[k] /= cells;
    plane_bufs_free(&p);
    return rc;
}

starhalo_status_t starhalo_cnn_gap_backward(starhalo_field_t *grad_x, const double *grad_means)
{
    STARHALO_REQUIRE(grad_x && grad_means, STARHALO_ERR_INVALID_ARG, "cnn_gap_backward: NULL");
    starhalo_field_t *f[1] = {grad_x};
    STARHALO_CHECK(check_same_tiles("cnn_gap_backward", f, 1));
    const size_t count = (size_t)(starhalo__cnn_batch(grad_x) * starhalo__cnn_channels(grad_x));
    const starhalo_box_t img = starhalo__compute_image_box(grad_x);
    const double cells = (double)starhalo_box_volume(&img);
    plane_bufs_t p;
    int status = 0;
    starhalo_status_t rc = plane_bufs_make(grad_x, count, &p);
    const struct starhalo__task_opts o = {.status = &status};
    for (int i = 0; i < p.n && rc == STARHALO_OK; i++) {
        for (size_t k = 0; k < count; k++)
            p.b[i][k] = grad_means[k] / cells;
        starhalo__cnn_region_args_t r;
        memset(&r, 0, sizeof r);
        r.tile = starhalo__compute_tile(grad_x, p.ids[i]);
        r.region = owned(grad_x, p.ids[i]);
        starpu_data_handle_t hx = NULL;
        rc = starhalo_field_part_handle(grad_x, p.ids[i], &hx);
        if (rc == STARHALO_OK)
            rc = starhalo__insert_plane_fill(&o, p.h[i], hx, &r);
    }
    plane_bufs_free(&p); /* waits for the fill tasks: they read the buffers */
    if (rc == STARHALO_OK)
        rc = starhalo__cnn_task_status(&status, "cnn_gap_backward");
    return rc;
}
