/* SPDX-License-Identifier: MIT */
/**
 * @file rt_exchange.c
 * @brief Reusable halo exchanges: the public API, the one create path of structured and index
 * exchanges, and the begin / end state. What moves the data is the transport's ops table
 * (rt_transport_starpu_mpi.c, rt_transport_direct.c) over the layout of
 * rt_exchange_layout.c; this file only dispatches to them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_exchange_internal.h"

/* Fields of one exchange share the part map, halos and element type (planes may differ). */
static starhalo_status_t check_fields(starhalo_context_t *ctx, starhalo_field_t *const *fields,
                                      int nfields)
{
    STARHALO_REQUIRE(fields && nfields > 0, STARHALO_ERR_INVALID_ARG,
                     "exchange_create: no fields (nfields %d)", nfields);
    for (int i = 0; i < nfields; i++) {
        const starhalo_field_t *f = fields[i], *f0 = fields[0];
        STARHALO_REQUIRE(f && f->ctx == ctx, STARHALO_ERR_INVALID_ARG,
                         "exchange_create: field %d is NULL or from another context", i);
        STARHALO_REQUIRE(f->decomp, STARHALO_ERR_INVALID_ARG,
                         "exchange_create: field %d is an index field (use "
                         "starhalo_index_exchange_create)",
                         i);
        for (int j = 0; j < i; j++)
            STARHALO_REQUIRE(fields[j] != f, STARHALO_ERR_INVALID_ARG,
                             "exchange_create: field %d is passed twice (also %d)", i, j);
        char what[64];
        snprintf(what, sizeof what, "exchange_create: field %d against field 0", i);
        STARHALO_CHECK(
            starhalo_field_match(f0, f, STARHALO_MATCH_DTYPE | STARHALO_MATCH_HALOS, what));
    }
    return STARHALO_OK;
}

/* Measured (docs/LAUNCH.md): the direct transport is 10-1000x faster per exchange on this
 * machine class, so it is the default whenever MPI allows calls from worker threads. */
static starhalo_transport_t default_transport(const starhalo_context_t *ctx)
{
#ifdef STARHALO_SIMGRID
    /* SimGrid simulates StarPU-MPI's requests; the direct transport's MPI calls inside tasks
     * and its progress thread are not simulated (docs/SIMULATION.md). */
    (void)ctx;
    return STARHALO_TRANSPORT_STARPU_MPI;
#endif
    const char *env = getenv("STARHALO_TRANSPORT");
    if (env && !strcmp(env, "starpu"))
        return STARHALO_TRANSPORT_STARPU_MPI;
    if (env && !strcmp(env, "direct"))
        return STARHALO_TRANSPORT_DIRECT_MPI;
    /* CUDA workers: only the StarPU-MPI transport's pack/unpack tasks can run on the GPU that
     * holds the tiles (the direct transport packs on a CPU: whole tiles to the host on every
     * exchange); docs/GPU.md. */
    if (starpu_cuda_worker_get_count() > 0)
        return STARHALO_TRANSPORT_STARPU_MPI;
    return ctx->thread_level >= MPI_THREAD_MULTIPLE ? STARHALO_TRANSPORT_DIRECT_MPI
                                                    : STARHALO_TRANSPORT_STARPU_MPI;
}

/* The ops of @p transport (resolved from DEFAULT), or an error if it is unknown or this MPI
 * cannot run it. */
static starhalo_status_t pick_transport(const starhalo_context_t *ctx,
                                        starhalo_transport_t *transport, const char *what,
                                        const rt_transport_ops_t **ops)
{
    if (*transport == STARHALO_TRANSPORT_DEFAULT)
        *transport = default_transport(ctx);
    switch (*transport) {
    case STARHALO_TRANSPORT_STARPU_MPI:
        *ops = &starhalo__transport_starpu_mpi;
        return STARHALO_OK;
    case STARHALO_TRANSPORT_DIRECT_MPI:
        *ops = &starhalo__transport_direct;
        return starhalo__direct_available(ctx);
    default:
        return starhalo_error_set(STARHALO_ERR_INVALID_ARG, "%s: unknown transport %d", what,
                                  (int)*transport);
    }
}

/* A build failure injected on one rank (STARHALO_FAULT_EXCHANGE_BUILD=<rank>), so that the
 * tests can check every rank gets the error (docs/HARDENING.md). */
static starhalo_status_t injected_build_fault(const starhalo_context_t *ctx)
{
    const int64_t rank = starhalo__env_int64("STARHALO_FAULT_EXCHANGE_BUILD", -1, INT32_MAX);
    STARHALO_REQUIRE(rank != ctx->rank, STARHALO_ERR_NO_MEMORY,
                     "exchange_create: injected build failure on rank %d "
                     "(STARHALO_FAULT_EXCHANGE_BUILD)",
                     ctx->rank);
    return STARHALO_OK;
}

static starhalo_status_t build(starhalo_exchange_t *ex, starhalo_field_t *const *fields,
                               starhalo__exchange_lower_fn lower)
{
    ex->fields = malloc(sizeof(*ex->fields) * (size_t)ex->nfields);
    ex->planes = malloc(sizeof(int64_t) * (size_t)ex->nfields);
    STARHALO_REQUIRE(ex->fields && ex->planes, STARHALO_ERR_NO_MEMORY,
                     "exchange_create: no memory");
    for (int i = 0; i < ex->nfields; i++) {
        ex->fields[i] = fields[i];
        ex->planes[i] = fields[i]->planes;
        ex->msg_planes += fields[i]->planes;
    }
    STARHALO_CHECK(injected_build_fault(ex->ctx));
    STARHALO_CHECK(starhalo__layout_build(ex, lower));
    return ex->ops->setup(ex);
}

/* Free what build made (any part of it); the exchange's tasks are done. */
static void free_exchange(starhalo_exchange_t *ex)
{
    if (ex->ops)
        ex->ops->teardown(ex);
    starhalo__layout_free(ex);
    starhalo__tags_release(ex->ctx, ex->tag_base, ex->ntags);
    starhalo__context_untrack(ex->ctx, &ex->pending);
    starhalo__pending_fini(&ex->pending);
    free(ex->fields);
    free(ex->planes);
    free(ex);
}

starhalo_status_t starhalo__exchange_create(starhalo_context_t *ctx,
                                            starhalo_field_t *const *fields, int nfields,
                                            starhalo_transport_t transport,
                                            starhalo__exchange_check_fn check,
                                            starhalo__exchange_lower_fn lower, const char *what,
                                            int spread, starhalo_exchange_t **out)
{
    STARHALO_REQUIRE(ctx, STARHALO_ERR_INVALID_ARG, "%s: ctx is NULL", what);
    if (out)
        *out = NULL;
    const rt_transport_ops_t *ops = NULL;
    starhalo_status_t local =
        out ? check(ctx, fields, nfields)
            : starhalo_error_set(STARHALO_ERR_INVALID_ARG, "%s: out is NULL", what);
    if (local == STARHALO_OK)
        local = pick_transport(ctx, &transport, what, &ops);
    /* Tags: 2 x 27 direction slots per part; booked in the same order everywhere. */
    int64_t base = -1, ntags = 0;
    if (local == STARHALO_OK) {
        ntags = 2 * STARHALO__SLOTS * (int64_t)fields[0]->nparts;
        local = starhalo__tags_book(ctx, ntags, &base);
    }
    uint64_t h = starhalo__hash(0, &nfields, sizeof nfields);
    h = starhalo__hash(h, &base, sizeof base);
    h = starhalo__hash(h, &transport, sizeof transport);
    for (int i = 0; local == STARHALO_OK && i < nfields; i++)
        h = starhalo__hash(h, &fields[i]->planes, sizeof(int64_t));
    starhalo_status_t rc =
        starhalo__agree(ctx->comm, h, local, "exchange fields or transport", spread);
    if (rc != STARHALO_OK) {
        if (local == STARHALO_OK)
            starhalo__tags_release(ctx, base, ntags);
        return rc;
    }
    starhalo_exchange_t *ex = calloc(1, sizeof(*ex));
    if (!ex) {
        starhalo__tags_release(ctx, base, ntags);
        local = starhalo_error_set(STARHALO_ERR_NO_MEMORY, "%s: no memory", what);
    } else {
        /* Spin only where no other rank shares the cores: with several ranks per node a
         * spinning waiter takes the core its own worker or a peer needs (PERFORMANCE.md). */
        starhalo__pending_init(&ex->pending, ctx->nlocal <= 1 ? 50 : 0);
        starhalo__context_track(ctx, &ex->pending);
        ex->ctx = ctx;
        ex->transport = transport;
        ex->ops = ops;
        ex->tag_base = base;
        ex->ntags = ntags;
        ex->nfields = nfields;
        ex->dtype = fields[0]->dtype;
        local = build(ex, fields, lower);
    }
    /* The build's failures are local (memory, plans, MPI requests): agree on them, so that
     * no rank goes on alone and hangs in its first exchange. */
    rc = starhalo__agree(ctx->comm, 0, local, "exchange build", 1);
    if (rc != STARHALO_OK) {
        if (ex)
            free_exchange(ex); /* nothing was submitted yet */
        return rc;
    }
    *out = ex;
    return STARHALO_OK;
}

static starhalo_status_t structured_check(starhalo_context_t *ctx, starhalo_field_t *const *fields,
                                          int nfields)
{
    return check_fields(ctx, fields, nfields);
}

starhalo_status_t starhalo_exchange_create(starhalo_context_t *ctx, starhalo_field_t *const *fields,
                                           int nfields, starhalo_transport_t transport,
                                           starhalo_exchange_t **out)
{
    STARHALO_REQUIRE(ctx && out, STARHALO_ERR_INVALID_ARG, "exchange_create: ctx or out is NULL");
    return starhalo__exchange_create(ctx, fields, nfields, transport, structured_check, NULL,
                                     "exchange_create", 0, out);
}

void starhalo__exchange_fail(starhalo_exchange_t *ex, starhalo_status_t status)
{
    /* The first failure wins; its message (this thread's) travels with it. */
    pthread_mutex_lock(&ex->pending.mutex);
    if (ex->failed == STARHALO_OK) {
        ex->failed = status;
        snprintf(ex->failed_msg, sizeof ex->failed_msg, "%s", starhalo_last_error_message());
    }
    pthread_mutex_unlock(&ex->pending.mutex);
}

/* The failure a task or transfer recorded, once (then the exchange is usable again). */
static starhalo_status_t take_failure(starhalo_exchange_t *ex)
{
    if (__atomic_load_n(&ex->failed, __ATOMIC_ACQUIRE) == STARHALO_OK)
        return STARHALO_OK;
    char msg[sizeof ex->failed_msg];
    pthread_mutex_lock(&ex->pending.mutex);
    const starhalo_status_t f = ex->failed;
    snprintf(msg, sizeof msg, "%s", ex->failed_msg);
    ex->failed = STARHALO_OK;
    pthread_mutex_unlock(&ex->pending.mutex);
    return starhalo_error_set(f, "a transfer of this exchange failed, its ghosts are stale: %s",
                              msg);
}

starhalo_status_t starhalo__exchange_task(starhalo_exchange_t *ex, struct starpu_codelet *cl,
                                          struct starpu_data_descr *descr, int n, void *args,
                                          size_t args_size, const char *name)
{
    return starhalo__task_submit(&ex->pending, cl, descr, n, args, args_size, STARPU_MAX_PRIO,
                                 name);
}

static starhalo_status_t end(starhalo_exchange_t *ex, int reverse);

void starhalo_exchange_destroy(starhalo_exchange_t *ex)
{
    if (!ex)
        return;
    /* Destroyed between begin and end: submit the end, so that no pack task, started
     * request or detached transfer still uses the buffers freed below when they go (and
     * peers that call end get their messages). */
    starhalo_status_t rc = ex->state == RT_IDLE ? STARHALO_OK : end(ex, ex->state == RT_IN_REVERSE);
    if (rc != STARHALO_OK || starhalo_exchange_wait(ex) != STARHALO_OK) {
        starpu_task_wait_for_all(); /* best effort: unregister below waits too */
        /* The end could not be submitted: complete what the packs started (peers started
         * theirs too), so that no receive lands in the buffers freed below. */
        ex->ops->abandon(ex);
    }
    free_exchange(ex);
}

/* An exchange writes its fields' tiles with plain tasks, which StarPU-MPI's cache does not
 * see: drop the cached copies (every rank reaches this point in the same order, as
 * starpu_mpi_cache_flush wants), so a later starpu_mpi_task_insert reading a tile on another
 * rank receives the exchanged values. Cheap: a mutex and a loop over ranks per tile. */
static void flush_mpi_cache(starhalo_exchange_t *ex)
{
    for (int i = 0; i < ex->nfields; i++)
        if (starhalo_field_mpi_flush(ex->fields[i]) != STARHALO_OK)
            starhalo_error_clear(); /* only for a NULL field, which no exchange holds */
}

static starhalo_status_t begin(starhalo_exchange_t *ex, int reverse)
{
    STARHALO_REQUIRE(ex, STARHALO_ERR_INVALID_ARG, "exchange is NULL");
    STARHALO_REQUIRE(ex->state == RT_IDLE, STARHALO_ERR_INVALID_ARG,
                     "exchange begin called twice without end");
    STARHALO_CHECK(ex->ops->begin(ex, reverse));
    ex->state = reverse ? RT_IN_REVERSE : RT_IN_FORWARD;
    return STARHALO_OK;
}

static starhalo_status_t end(starhalo_exchange_t *ex, int reverse)
{
    STARHALO_REQUIRE(ex, STARHALO_ERR_INVALID_ARG, "exchange is NULL");
    STARHALO_REQUIRE(ex->state == (reverse ? RT_IN_REVERSE : RT_IN_FORWARD),
                     STARHALO_ERR_INVALID_ARG, "exchange %s called without a matching begin",
                     reverse ? "end_reverse" : "end");
    /* IDLE only once the unpacks are in: after a failed submission destroy tries again, so
     * the requests the packs started are completed before their buffers go. */
    STARHALO_CHECK(ex->ops->end(ex, reverse));
    ex->state = RT_IDLE;
    flush_mpi_cache(ex);
    return take_failure(ex);
}

static starhalo_status_t submit_both(starhalo_exchange_t *ex, int reverse)
{
    STARHALO_REQUIRE(ex, STARHALO_ERR_INVALID_ARG, "exchange is NULL");
    STARHALO_REQUIRE(ex->state == RT_IDLE, STARHALO_ERR_INVALID_ARG,
                     "exchange submitted between a begin and its end");
    STARHALO_CHECK(ex->ops->submit(ex, reverse));
    flush_mpi_cache(ex);
    return take_failure(ex);
}

starhalo_status_t starhalo_exchange_begin(starhalo_exchange_t *ex)
{
    return begin(ex, 0);
}

starhalo_status_t starhalo_exchange_end(starhalo_exchange_t *ex)
{
    return end(ex, 0);
}

starhalo_status_t starhalo_exchange_submit(starhalo_exchange_t *ex)
{
    return submit_both(ex, 0);
}

/* Check @p op and record it for the reverse exchange about to start (an idle exchange only:
 * the tasks pick their arguments by op when they are submitted). */
static starhalo_status_t set_reverse_op(starhalo_exchange_t *ex, starhalo_reduce_op_t op)
{
    STARHALO_REQUIRE(op >= STARHALO_REDUCE_REPLACE && op <= STARHALO_REDUCE_MIN,
                     STARHALO_ERR_INVALID_ARG, "unknown reduction %d", (int)op);
    STARHALO_REQUIRE(ex, STARHALO_ERR_INVALID_ARG, "exchange is NULL");
    if (ex->state == RT_IDLE)
        ex->rev_op = op;
    return STARHALO_OK;
}

starhalo_status_t starhalo_exchange_begin_reverse(starhalo_exchange_t *ex, starhalo_reduce_op_t op)
{
    STARHALO_CHECK(set_reverse_op(ex, op));
    return begin(ex, 1);
}

starhalo_status_t starhalo_exchange_end_reverse(starhalo_exchange_t *ex)
{
    return end(ex, 1);
}

starhalo_status_t starhalo_exchange_submit_reverse(starhalo_exchange_t *ex, starhalo_reduce_op_t op)
{
    STARHALO_CHECK(set_reverse_op(ex, op));
    return submit_both(ex, 1);
}

static starhalo_status_t run_blocking(starhalo_exchange_t *ex, int reverse)
{
    STARHALO_REQUIRE(ex->state == RT_IDLE, STARHALO_ERR_INVALID_ARG,
                     "exchange run between a begin and its end");
    STARHALO_CHECK(ex->ops->run(ex, reverse));
    flush_mpi_cache(ex);
    return take_failure(ex);
}

starhalo_status_t starhalo_exchange_run(starhalo_exchange_t *ex)
{
    STARHALO_REQUIRE(ex, STARHALO_ERR_INVALID_ARG, "exchange is NULL");
    return run_blocking(ex, 0);
}

starhalo_status_t starhalo_exchange_run_reverse(starhalo_exchange_t *ex, starhalo_reduce_op_t op)
{
    STARHALO_CHECK(set_reverse_op(ex, op));
    return run_blocking(ex, 1);
}

/* Every pack and unpack task and detached transfer counts itself in ex->pending and
 * signals from its callback (rt_submit.c: why not starpu_data_acquire). */
starhalo_status_t starhalo_exchange_wait(starhalo_exchange_t *ex)
{
    STARHALO_REQUIRE(ex, STARHALO_ERR_INVALID_ARG, "exchange is NULL");
    starhalo__pending_wait(&ex->pending);
    return take_failure(ex);
}
