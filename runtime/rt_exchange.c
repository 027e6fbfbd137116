/* SPDX-License-Identifier: MIT */
/**
 * @file rt_exchange.c
 * @brief Reusable halo exchanges as StarPU tasks and detached StarPU-MPI transfers.
 *
 * Per local part and neighbour there is one send buffer and one receive buffer (vector
 * handles) holding every field's planes, so one message per neighbour per exchange. Per part
 * and direction there is ONE pack task (tiles R -> all send buffers W) and ONE unpack task
 * (all incoming buffers R -> tiles RW): few tasks, because each costs microseconds here. The
 * direct transport goes further for small exchanges: one task per rank and phase, one fused
 * task for submit, or no task at all in starhalo_exchange_run (rt_exchange_direct.c).
 *
 * Forward: irecv(recv buf) ; pack ; isend(send buf) ... unpack(recv bufs -> ghost runs).
 * A neighbour on the same rank exchanges no MPI message: the receiver's unpack reads the
 * sender's send buffer directly. Reverse swaps the roles: pack the ghost runs into the recv
 * buffers, send them back, the owner unpacks into its send runs with SUM/MAX/MIN.
 *
 * Tags: one range of 2 * 27 * nparts tags is booked at create; the message of part q's
 * direction slot s uses base + 2 * (27 q + s) forward and + 1 reverse, on every call.
 */
#include <stdlib.h>
#include <string.h>

#include "codelets.h"
#include "runtime_internal.h"

void starhalo__context_add_exchange(starhalo_context_t *ctx, struct starhalo_exchange *ex)
{
    ex->next = ctx->exchanges;
    ctx->exchanges = ex;
}

void starhalo__context_remove_exchange(starhalo_context_t *ctx, struct starhalo_exchange *ex)
{
    for (struct starhalo_exchange **p = &ctx->exchanges; *p; p = &(*p)->next) {
        if (*p == ex) {
            *p = ex->next;
            return;
        }
    }
}

/* Fields of one exchange must share geometry, map and element type (planes may differ). */
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
        STARHALO_REQUIRE(f->dtype == f0->dtype, STARHALO_ERR_INVALID_ARG,
                         "exchange_create: field %d has another dtype than field 0", i);
        STARHALO_REQUIRE(f->nparts == f0->nparts &&
                             !memcmp(f->part_rank, f0->part_rank, sizeof(int) * (size_t)f->nparts),
                         STARHALO_ERR_INVALID_ARG,
                         "exchange_create: field %d has another part count or part map", i);
        const starhalo_decomp_desc_t *a = starhalo_decomp_desc(f->decomp);
        const starhalo_decomp_desc_t *b = starhalo_decomp_desc(f0->decomp);
        int same = a->ndims == b->ndims && a->shape == b->shape &&
                   !memcmp(a->halo, b->halo, sizeof a->halo) &&
                   !memcmp(a->periodic, b->periodic, sizeof a->periodic);
        for (int p = 0; same && p < f->nparts; p++) {
            const starhalo_box_t x = starhalo_decomp_owned_box(f->decomp, p);
            const starhalo_box_t y = starhalo_decomp_owned_box(f0->decomp, p);
            same = !memcmp(&x, &y, sizeof x);
        }
        STARHALO_REQUIRE(same, STARHALO_ERR_INVALID_ARG,
                         "exchange_create: field %d has another decomposition than field 0", i);
    }
    return STARHALO_OK;
}

static starhalo_status_t register_vec(void **buf, starpu_data_handle_t *h, int64_t n, size_t esz)
{
    *buf = malloc((size_t)n * esz);
    STARHALO_REQUIRE(*buf, STARHALO_ERR_NO_MEMORY, "no memory for a %lld-element message buffer",
                     (long long)n);
    starpu_vector_data_register(h, STARPU_MAIN_RAM, (uintptr_t)*buf, (uint32_t)n, esz);
    return STARHALO_OK;
}

static void set_args(starhalo_cl_xfer_args_t *a, const starhalo_exchange_t *ex, int64_t plane_size,
                     int nmsgs, const starhalo_cl_msg_t *msgs, starhalo_reduce_op_t op)
{
    a->dtype = ex->dtype;
    a->nfields = ex->nfields;
    a->planes = ex->planes;
    a->plane_size = plane_size;
    a->nmsgs = nmsgs;
    a->msgs = msgs;
    a->op = op;
}

/* Lower one local part and allocate its buffers. */
static starhalo_status_t build_xpart(starhalo_exchange_t *ex, int li, rt_xpart_t *xp,
                                     starhalo__exchange_lower_fn lower)
{
    const starhalo_field_t *f0 = ex->fields[0];
    const rt_part_t *rp = &f0->parts[li];
    const int me = rp->part;
    const size_t esz = starhalo_dtype_size(ex->dtype);
    xp->tiles = malloc(sizeof(rt_part_t *) * (size_t)ex->nfields);
    STARHALO_REQUIRE(xp->tiles, STARHALO_ERR_NO_MEMORY, "exchange_create: no memory");
    for (int f = 0; f < ex->nfields; f++)
        xp->tiles[f] = &ex->fields[f]->parts[li];
    if (lower) /* index exchanges (rt_index_exchange.c) lower their own plan */
        STARHALO_CHECK(lower(ex, li, &xp->plan));
    else
        STARHALO_CHECK(starhalo_part_plan_lower(rp->plan, &xp->plan));
    xp->npeers = starhalo_xfer_plan_num_peers(xp->plan);
    const size_t np = (size_t)(xp->npeers ? xp->npeers : 1);
    xp->peers = calloc(np, sizeof(rt_peer_t));
    xp->send_msgs = calloc(np, sizeof(starhalo_cl_msg_t));
    xp->recv_msgs = calloc(np, sizeof(starhalo_cl_msg_t));
    xp->send_idx = calloc(np, sizeof(int));
    xp->recv_idx = calloc(np, sizeof(int));
    xp->descr = calloc(np + (size_t)ex->nfields + 2, sizeof(struct starpu_data_descr));
    STARHALO_REQUIRE(xp->peers && xp->send_msgs && xp->recv_msgs && xp->send_idx && xp->recv_idx &&
                         xp->descr,
                     STARHALO_ERR_NO_MEMORY, "exchange_create: no memory");
    for (int i = 0; i < xp->npeers; i++) {
        rt_peer_t *pe = &xp->peers[i];
        const starhalo_peer_xfer_t *x = starhalo_xfer_plan_peer(xp->plan, i);
        pe->x = x;
        STARHALO_REQUIRE(
            x->peer >= 0 && x->peer < f0->nparts && x->send_tag >= 0 &&
                x->send_tag < STARHALO__SLOTS && x->recv_tag >= 0 &&
                x->recv_tag < STARHALO__SLOTS && x->send_count >= 0 && x->recv_count >= 0,
            STARHALO_ERR_PLAN_INVALID,
            "part %d neighbour %d: peer %d, tags %d/%d, counts %lld/%lld", me, i, x->peer,
            x->send_tag, x->recv_tag, (long long)x->send_count, (long long)x->recv_count);
        pe->rank = f0->part_rank[x->peer];
        pe->local = f0->local_of[x->peer];
        const int64_t s = STARHALO__SLOTS;
        pe->fwd_send_tag = ex->tag_base + 2 * (me * s + x->send_tag);
        pe->fwd_recv_tag = ex->tag_base + 2 * (x->peer * s + x->recv_tag);
        pe->rev_send_tag = pe->fwd_recv_tag + 1;
        pe->rev_recv_tag = pe->fwd_send_tag + 1;
        if (x->send_count > 0) {
            xp->send_idx[xp->nsend] = i;
            xp->send_msgs[xp->nsend++] =
                (starhalo_cl_msg_t){x->send_runs, x->nsend_runs, x->send_count};
            STARHALO_CHECK(
                register_vec(&pe->sendbuf, &pe->hsend, x->send_count * ex->msg_planes, esz));
        }
        if (x->recv_count > 0) {
            xp->recv_idx[xp->nrecv] = i;
            xp->recv_msgs[xp->nrecv++] =
                (starhalo_cl_msg_t){x->recv_runs, x->nrecv_runs, x->recv_count};
            STARHALO_CHECK(
                register_vec(&pe->recvbuf, &pe->hrecv, x->recv_count * ex->msg_planes, esz));
        }
    }
    set_args(&xp->pack_fwd, ex, rp->plane_size, xp->nsend, xp->send_msgs, STARHALO_REDUCE_REPLACE);
    set_args(&xp->unpack_fwd, ex, rp->plane_size, xp->nrecv, xp->recv_msgs,
             STARHALO_REDUCE_REPLACE);
    set_args(&xp->pack_rev, ex, rp->plane_size, xp->nrecv, xp->recv_msgs, STARHALO_REDUCE_REPLACE);
    for (int op = 0; op < NOPS; op++)
        set_args(&xp->unpack_rev[op], ex, rp->plane_size, xp->nsend, xp->send_msgs,
                 (starhalo_reduce_op_t)op);
    return STARHALO_OK;
}

/* For a neighbour on this rank, find its entry that sends what we receive. */
static starhalo_status_t match_local(starhalo_exchange_t *ex)
{
    const starhalo_field_t *f0 = ex->fields[0];
    for (int li = 0; li < ex->nxparts; li++) {
        rt_xpart_t *xp = &ex->xparts[li];
        const int me = f0->parts[li].part;
        for (int i = 0; i < xp->npeers; i++) {
            rt_peer_t *pe = &xp->peers[i];
            if (pe->local < 0)
                continue;
            const rt_xpart_t *other = &ex->xparts[pe->local];
            pe->match = -1;
            for (int j = 0; j < other->npeers; j++) {
                const starhalo_peer_xfer_t *y = other->peers[j].x;
                if (y->peer == me && y->send_tag == pe->x->recv_tag &&
                    y->recv_tag == pe->x->send_tag && y->send_count == pe->x->recv_count &&
                    y->recv_count == pe->x->send_count)
                    pe->match = j;
            }
            STARHALO_REQUIRE(pe->match >= 0, STARHALO_ERR_PLAN_INVALID,
                             "part %d receives slot %d from part %d, which sends no matching "
                             "message",
                             me, pe->x->recv_tag, pe->x->peer);
        }
    }
    return STARHALO_OK;
}

static starhalo_status_t build(starhalo_exchange_t *ex, starhalo__exchange_lower_fn lower)
{
    ex->nxparts = ex->fields[0]->nlocal;
    ex->xparts = calloc((size_t)(ex->nxparts ? ex->nxparts : 1), sizeof(rt_xpart_t));
    STARHALO_REQUIRE(ex->xparts, STARHALO_ERR_NO_MEMORY, "exchange_create: no memory");
    for (int li = 0; li < ex->nxparts; li++)
        STARHALO_CHECK(build_xpart(ex, li, &ex->xparts[li], lower));
    STARHALO_CHECK(match_local(ex));
    if (ex->transport == STARHALO_TRANSPORT_DIRECT_MPI) {
        if (!ex->ctx->token)
            starpu_void_data_register(&ex->ctx->token);
        ex->token = ex->ctx->token;
        for (int li = 0; li < ex->nxparts; li++)
            STARHALO_CHECK(starhalo__direct_setup(ex, &ex->xparts[li]));
        STARHALO_CHECK(starhalo__direct_setup_rank(ex));
    }
    return STARHALO_OK;
}

static void free_xparts(starhalo_exchange_t *ex)
{
    for (int li = 0; ex->xparts && li < ex->nxparts; li++) {
        rt_xpart_t *xp = &ex->xparts[li];
        starhalo__direct_free(xp);
        for (int i = 0; xp->peers && i < xp->npeers; i++) {
            rt_peer_t *pe = &xp->peers[i];
            if (pe->hsend)
                starpu_data_unregister(pe->hsend);
            if (pe->hrecv)
                starpu_data_unregister(pe->hrecv);
            free(pe->sendbuf);
            free(pe->recvbuf);
        }
        starhalo_xfer_plan_destroy(xp->plan);
        free(xp->peers);
        free(xp->send_msgs);
        free(xp->recv_msgs);
        free(xp->send_idx);
        free(xp->recv_idx);
        free(xp->descr);
        free(xp->tiles);
    }
    free(ex->xparts);
    free(ex->rdescr);
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
    return ctx->thread_level >= MPI_THREAD_MULTIPLE ? STARHALO_TRANSPORT_DIRECT_MPI
                                                    : STARHALO_TRANSPORT_STARPU_MPI;
}

starhalo_transport_t starhalo__exchange_default_transport(const starhalo_context_t *ctx)
{
    return default_transport(ctx);
}

starhalo_status_t starhalo_exchange_create(starhalo_context_t *ctx, starhalo_field_t *const *fields,
                                           int nfields, starhalo_transport_t transport,
                                           starhalo_exchange_t **out)
{
    STARHALO_REQUIRE(ctx && out, STARHALO_ERR_INVALID_ARG, "exchange_create: ctx or out is NULL");
    *out = NULL;
    starhalo_status_t local = check_fields(ctx, fields, nfields);
    if (transport == STARHALO_TRANSPORT_DEFAULT)
        transport = default_transport(ctx);
    if (local == STARHALO_OK && transport != STARHALO_TRANSPORT_STARPU_MPI &&
        transport != STARHALO_TRANSPORT_DIRECT_MPI)
        local =
            starhalo__error_set(STARHALO_ERR_INVALID_ARG, "unknown transport %d", (int)transport);
    if (local == STARHALO_OK && transport == STARHALO_TRANSPORT_DIRECT_MPI)
        local = starhalo__direct_available(ctx);
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
    starhalo_status_t rc = starhalo__agree(ctx->comm, h, local, "exchange fields");
    if (rc != STARHALO_OK) {
        if (local == STARHALO_OK)
            starhalo__tags_release(ctx, base, ntags);
        return rc;
    }
    return starhalo__exchange_new(ctx, fields, nfields, transport, base, ntags, NULL, out);
}

starhalo_status_t starhalo__exchange_new(starhalo_context_t *ctx, starhalo_field_t *const *fields,
                                         int nfields, starhalo_transport_t transport, int64_t base,
                                         int64_t ntags, starhalo__exchange_lower_fn lower,
                                         starhalo_exchange_t **out)
{
    starhalo_exchange_t *ex = calloc(1, sizeof(*ex));
    if (!ex) {
        starhalo__tags_release(ctx, base, ntags);
        return starhalo__error_set(STARHALO_ERR_NO_MEMORY, "exchange_create: no memory");
    }
    /* Spin only where no other rank shares the cores: with several ranks per node a spinning
     * waiter takes the core its own worker or a peer needs (docs/PERFORMANCE.md). */
    starhalo__pending_init(&ex->pending, ctx->nlocal <= 1 ? 50 : 0);
    ex->ctx = ctx;
    ex->transport = transport;
    ex->dcomm = ctx->dcomm;
    ex->tag_base = base;
    ex->ntags = ntags;
    ex->nfields = nfields;
    ex->dtype = fields[0]->dtype;
    ex->fields = malloc(sizeof(*ex->fields) * (size_t)nfields);
    ex->planes = malloc(sizeof(int64_t) * (size_t)nfields);
    starhalo_status_t rc;
    if (!ex->fields || !ex->planes) {
        rc = starhalo__error_set(STARHALO_ERR_NO_MEMORY, "exchange_create: no memory");
    } else {
        for (int i = 0; i < nfields; i++) {
            ex->fields[i] = fields[i];
            ex->planes[i] = fields[i]->planes;
            ex->msg_planes += fields[i]->planes;
        }
        rc = build(ex, lower);
    }
    starhalo__context_add_exchange(ctx, ex);
    if (rc != STARHALO_OK) {
        /* A local failure here (memory, plan) is not agreed on: report it, keep no state. */
        starhalo_exchange_destroy(ex);
        return rc;
    }
    *out = ex;
    return STARHALO_OK;
}

static starhalo_status_t end(starhalo_exchange_t *ex, int reverse);

void starhalo_exchange_destroy(starhalo_exchange_t *ex)
{
    if (!ex)
        return;
    /* Destroyed between begin and end: submit the end, so that no pack task, started
     * request or detached transfer still uses the buffers freed below when they go (and
     * peers that call end get their messages). */
    starhalo_status_t rc = ex->state == IDLE ? STARHALO_OK : end(ex, ex->state == REVERSE);
    if (rc != STARHALO_OK || starhalo_exchange_wait(ex) != STARHALO_OK) {
        starpu_task_wait_for_all(); /* best effort: unregister below waits too */
        /* The end could not be submitted: complete the requests the packs started (peers
         * started theirs too), so that no receive lands in the buffers freed below. */
        if (ex->transport == STARHALO_TRANSPORT_DIRECT_MPI)
            starhalo__direct_complete_started(ex);
    }
    free_xparts(ex);
    starhalo__tags_release(ex->ctx, ex->tag_base, ex->ntags);
    starhalo__context_remove_exchange(ex->ctx, ex);
    starhalo__pending_fini(&ex->pending);
    free(ex->fields);
    free(ex->planes);
    free(ex);
}

/* Post the MPI side: receives first (so early data lands in place), or sends. */
static starhalo_status_t post_mpi(starhalo_exchange_t *ex, int reverse, int send)
{
    const MPI_Comm comm = ex->ctx->comm;
    for (int li = 0; li < ex->nxparts; li++) {
        rt_xpart_t *xp = &ex->xparts[li];
        for (int i = 0; i < xp->npeers; i++) {
            rt_peer_t *pe = &xp->peers[i];
            /* Forward sends and reverse receives use the send buffer, the others the recv
             * one; an empty message has no buffer and is skipped. */
            const starpu_data_handle_t h = send == reverse ? pe->hrecv : pe->hsend;
            if (pe->local >= 0 || !h)
                continue;
            int ret;
            starhalo__pending_add(&ex->pending, 1);
            if (send)
                ret = starpu_mpi_isend_detached_prio(
                    h, pe->rank, reverse ? pe->rev_send_tag : pe->fwd_send_tag, STARPU_MAX_PRIO,
                    comm, starhalo__pending_done, &ex->pending);
            else
                ret = starpu_mpi_irecv_detached(h, pe->rank,
                                                reverse ? pe->rev_recv_tag : pe->fwd_recv_tag, comm,
                                                starhalo__pending_done, &ex->pending);
            if (ret != 0)
                starhalo__pending_done(&ex->pending); /* not submitted: not to wait for */
            if (ret != 0)
                return starhalo__error_set(STARHALO_ERR_STARPU,
                                           "starpu_mpi_%s to/from rank %d failed (%d)",
                                           send ? "isend" : "irecv", pe->rank, ret);
        }
    }
    return STARHALO_OK;
}

static starhalo_status_t insert(starhalo_exchange_t *ex, struct starpu_codelet *cl, void *args,
                                size_t args_size, rt_xpart_t *xp, int n, int reverse, int unpack,
                                const char *name)
{
    if (ex->transport == STARHALO_TRANSPORT_DIRECT_MPI) {
        /* Same data, direct codelet, plus the token: packs commute on it, unpacks read it,
         * so no unpack (which blocks in MPI_Waitall) runs before this rank's last pack. */
        const int mode = unpack ? STARPU_R : STARPU_RW | STARPU_COMMUTE;
        xp->descr[n++] = (struct starpu_data_descr){ex->token, (enum starpu_data_access_mode)mode};
        if (unpack && xp->arrival.handle)
            xp->descr[n++] = (struct starpu_data_descr){xp->arrival.handle, STARPU_R};
        cl = unpack ? &starhalo__cl_direct_unpack : &starhalo__cl_direct_pack;
        args = &xp->dargs[reverse ? 1 + ex->rev_op : 0];
        args_size = sizeof(rt_direct_arg_t);
    }
    return starhalo__exchange_insert(ex, cl, xp->descr, n, args, args_size, name);
}

starhalo_status_t starhalo__exchange_insert(starhalo_exchange_t *ex, struct starpu_codelet *cl,
                                            struct starpu_data_descr *descr, int n, void *args,
                                            size_t args_size, const char *name)
{
    starhalo__pending_add(&ex->pending, 1);
    int ret = starpu_task_insert(cl, STARPU_DATA_MODE_ARRAY, descr, n, STARPU_CL_ARGS_NFREE, args,
                                 args_size, STARPU_PRIORITY, STARPU_MAX_PRIO,
                                 STARPU_CALLBACK_WITH_ARG_NFREE, starhalo__pending_done,
                                 &ex->pending, STARPU_NAME, name, 0);
    if (ret != 0) {
        starhalo__pending_done(&ex->pending); /* not submitted: not to wait for */
        return starhalo__error_set(ret == -ENODEV ? STARHALO_ERR_NO_DEVICE : STARHALO_ERR_STARPU,
                                   "submitting %s failed (%d)", name, ret);
    }
    return STARHALO_OK;
}

/* Pack every part: tiles R, then its per-neighbour buffers W (send bufs forward, recv bufs
 * reverse). */
static starhalo_status_t submit_packs(starhalo_exchange_t *ex, int reverse)
{
    for (int li = 0; li < ex->nxparts; li++) {
        rt_xpart_t *xp = &ex->xparts[li];
        int n = 0;
        for (int f = 0; f < ex->nfields; f++)
            xp->descr[n++] = (struct starpu_data_descr){xp->tiles[f]->handle, STARPU_R};
        const int nm = reverse ? xp->nrecv : xp->nsend;
        for (int k = 0; k < nm; k++) {
            const rt_peer_t *pe = &xp->peers[reverse ? xp->recv_idx[k] : xp->send_idx[k]];
            xp->descr[n++] = (struct starpu_data_descr){reverse ? pe->hrecv : pe->hsend, STARPU_W};
        }
        STARHALO_CHECK(insert(ex, &starhalo_cl_pack, reverse ? &xp->pack_rev : &xp->pack_fwd,
                              sizeof(starhalo_cl_xfer_args_t), xp, n, reverse, 0,
                              reverse ? "starhalo_pack_rev" : "starhalo_pack"));
    }
    return STARHALO_OK;
}

/* Unpack every part: incoming buffers R (own buffer for a remote neighbour, the local
 * neighbour's outgoing buffer otherwise), then tiles RW. */
static starhalo_status_t submit_unpacks(starhalo_exchange_t *ex, int reverse,
                                        starhalo_reduce_op_t op)
{
    for (int li = 0; li < ex->nxparts; li++) {
        rt_xpart_t *xp = &ex->xparts[li];
        int n = 0;
        const int nm = reverse ? xp->nsend : xp->nrecv;
        for (int k = 0; k < nm; k++) {
            const rt_peer_t *pe = &xp->peers[reverse ? xp->send_idx[k] : xp->recv_idx[k]];
            starpu_data_handle_t h;
            if (pe->local < 0)
                h = reverse ? pe->hsend : pe->hrecv;
            else if (reverse)
                h = ex->xparts[pe->local].peers[pe->match].hrecv;
            else
                h = ex->xparts[pe->local].peers[pe->match].hsend;
            xp->descr[n++] = (struct starpu_data_descr){h, STARPU_R};
        }
        for (int f = 0; f < ex->nfields; f++)
            xp->descr[n++] = (struct starpu_data_descr){xp->tiles[f]->handle, STARPU_RW};
        STARHALO_CHECK(insert(ex, &starhalo_cl_unpack,
                              reverse ? &xp->unpack_rev[op] : &xp->unpack_fwd,
                              sizeof(starhalo_cl_xfer_args_t), xp, n, reverse, 1,
                              reverse ? "starhalo_unpack_rev" : "starhalo_unpack"));
    }
    return STARHALO_OK;
}

static starhalo_status_t begin(starhalo_exchange_t *ex, int reverse)
{
    STARHALO_REQUIRE(ex, STARHALO_ERR_INVALID_ARG, "exchange is NULL");
    STARHALO_REQUIRE(ex->state == IDLE, STARHALO_ERR_INVALID_ARG,
                     "exchange begin called twice without end");
    const int via_starpu_mpi = ex->transport == STARHALO_TRANSPORT_STARPU_MPI;
    if (via_starpu_mpi)
        STARHALO_CHECK(post_mpi(ex, reverse, 0));
    if (ex->rank_tasks)
        STARHALO_CHECK(starhalo__direct_submit_rank(ex, RT_PHASE_PACK, reverse));
    else
        STARHALO_CHECK(submit_packs(ex, reverse));
    if (ex->transport == STARHALO_TRANSPORT_DIRECT_MPI)
        STARHALO_CHECK(starhalo__direct_arm_arrivals(ex, reverse));
    if (via_starpu_mpi)
        STARHALO_CHECK(post_mpi(ex, reverse, 1));
    ex->state = reverse ? REVERSE : FORWARD;
    return STARHALO_OK;
}

static starhalo_status_t end(starhalo_exchange_t *ex, int reverse)
{
    STARHALO_REQUIRE(ex, STARHALO_ERR_INVALID_ARG, "exchange is NULL");
    STARHALO_REQUIRE(ex->state == (reverse ? REVERSE : FORWARD), STARHALO_ERR_INVALID_ARG,
                     "exchange %s called without a matching begin",
                     reverse ? "end_reverse" : "end");
    /* IDLE only once the unpacks are in: after a failed submission destroy tries again, so
     * the requests the packs started are completed before their buffers go. */
    if (ex->rank_tasks)
        STARHALO_CHECK(starhalo__direct_submit_rank(ex, RT_PHASE_UNPACK, reverse));
    else
        STARHALO_CHECK(submit_unpacks(ex, reverse, ex->rev_op));
    ex->state = IDLE;
    return STARHALO_OK;
}

/* begin + end; with rank tasks, one task that does both. */
static starhalo_status_t submit_both(starhalo_exchange_t *ex, int reverse)
{
    STARHALO_REQUIRE(ex, STARHALO_ERR_INVALID_ARG, "exchange is NULL");
    if (!ex->rank_tasks) {
        STARHALO_CHECK(begin(ex, reverse));
        return end(ex, reverse);
    }
    STARHALO_REQUIRE(ex->state == IDLE, STARHALO_ERR_INVALID_ARG,
                     "exchange submitted between a begin and its end");
    return starhalo__direct_submit_rank(ex, RT_PHASE_BOTH, reverse);
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
 * the direct transport picks its task args by op when it submits). */
static starhalo_status_t set_reverse_op(starhalo_exchange_t *ex, starhalo_reduce_op_t op)
{
    STARHALO_REQUIRE(op >= STARHALO_REDUCE_REPLACE && op <= STARHALO_REDUCE_MIN,
                     STARHALO_ERR_INVALID_ARG, "unknown reduction %d", (int)op);
    STARHALO_REQUIRE(ex, STARHALO_ERR_INVALID_ARG, "exchange is NULL");
    if (ex->state == IDLE)
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

/* Handle k of an inline run: 0 is the token, then every local part's tile of every field. */
static starpu_data_handle_t inline_handle(const starhalo_exchange_t *ex, int k)
{
    return k == 0 ? ex->token
                  : ex->xparts[(k - 1) / ex->nfields].tiles[(k - 1) % ex->nfields]->handle;
}

/* Give back the first @p n handles, last taken first. */
static void release_first(const starhalo_exchange_t *ex, int n)
{
    while (n-- > 0)
        starpu_data_release(inline_handle(ex, n));
}

/* Acquire the token and every local tile RW if nothing uses them; all or none. */
static int try_acquire_all(const starhalo_exchange_t *ex)
{
    const int n = 1 + ex->nxparts * ex->nfields;
    for (int k = 0; k < n; k++)
        if (starpu_data_acquire_try(inline_handle(ex, k), STARPU_RW) != 0) {
            release_first(ex, k);
            return 0;
        }
    return 1;
}

/* Inline only with rank tasks: the inline body is the fused rank task's. Why it cannot
 * deadlock: holding the token means no direct task of this rank is pending, so this is the
 * rank's next phase exactly as the fused task would be (argument in rt_exchange_direct.c);
 * peers progress on their own workers or threads, never on ours. */
static starhalo_status_t run_blocking(starhalo_exchange_t *ex, int reverse)
{
    STARHALO_REQUIRE(ex->state == IDLE, STARHALO_ERR_INVALID_ARG,
                     "exchange run between a begin and its end");
    if (ex->rank_tasks && ex->nxparts > 0 && try_acquire_all(ex)) {
        __atomic_add_fetch(&ex->ctx->inline_runs, 1, __ATOMIC_RELAXED);
        starhalo__direct_run_inline(ex, reverse);
        __atomic_sub_fetch(&ex->ctx->inline_runs, 1, __ATOMIC_RELAXED);
        release_first(ex, 1 + ex->nxparts * ex->nfields);
        return STARHALO_OK;
    }
    STARHALO_CHECK(submit_both(ex, reverse));
    return starhalo_exchange_wait(ex);
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
 * signals from its callback (rt_pending.c: why not starpu_data_acquire). */
starhalo_status_t starhalo_exchange_wait(starhalo_exchange_t *ex)
{
    STARHALO_REQUIRE(ex, STARHALO_ERR_INVALID_ARG, "exchange is NULL");
    starhalo__pending_wait(&ex->pending);
    return STARHALO_OK;
}

starhalo_status_t starhalo__exchange_wait_list(struct starhalo_exchange *first)
{
    for (struct starhalo_exchange *ex = first; ex; ex = ex->next)
        STARHALO_CHECK(starhalo_exchange_wait(ex));
    return STARHALO_OK;
}
