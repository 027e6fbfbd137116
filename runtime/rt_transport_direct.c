/* SPDX-License-Identifier: MIT */
/**
 * @file rt_transport_direct.c
 * @brief The direct MPI transport: the pack task starts persistent MPI requests and the
 * unpack task completes them, so a message costs one MPI_Isend/MPI_Irecv pair and no handoff
 * to the StarPU-MPI progress thread (which stays asleep).
 *
 * Why it cannot deadlock: one token per context (ctx->token); packs access it RW|COMMUTE,
 * unpacks R. So the direct tasks of a rank run in phases that follow submission order (a run
 * of packs, then the run of unpacks submitted after them, then the next packs, ...), across
 * every exchange of the context. Ranks submit in the same order, so an unpack blocking in
 * MPI_Waitall in phase k waits only for peer packs of phase <= k, which need only the peer's
 * unpacks of earlier phases (induction over phases). A per-exchange token would not do: with
 * two exchanges in flight, rank A could block in exchange 1's unpack while B blocks in
 * exchange 2's unpack, each waiting for a pack queued behind the other's blocked worker. The
 * unpack's MPI_Waitall covers this part's sends too, so buffers are free when the next pack
 * runs.
 *
 * Rank tasks keep the phases: a rank pack task is one pack of its phase, a rank unpack task
 * one unpack; a fused task (submit) takes the token RW, so it is a phase of its own that
 * starts all its sends before it waits. An inline run (starhalo_exchange_run) holds the token
 * acquired RW, i.e. it is such a fused phase executed by the calling thread. Ranks may choose
 * differently (per part, per rank, fused, inline): each blocking step still waits only for
 * peer sends of the same or earlier phases, which are started before anything of that
 * phase blocks.
 *
 * With the progress thread (split exchanges with large messages, rt_progress.c) an unpack
 * also reads its part's arrival handle, released once the thread saw the requests complete:
 * it then waits for the same peer sends without holding a worker, so the argument holds.
 * Messages to other nodes are several persistent requests (chunks) that match in order.
 *
 * MPI errors: the context's private communicator returns them; a failed start or wait is
 * recorded in the exchange (starhalo__exchange_fail) and reported by its next end, submit,
 * run or wait. A rank whose send failed cannot make its peer's receive complete: MPI gives no
 * way to cancel a peer's wait, so the peer still waits (docs/RUNTIME.md, "MPI errors").
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "codelet_xfer.h"
#include "mpi_requests.h"
#include "rt_exchange_internal.h"
#include "rt_trace.h"

/** Phases of a rank task. */
enum { PHASE_PACK = 1, PHASE_UNPACK = 2, PHASE_BOTH = 3 };

/** What one direct task of one part works on: its exchange, part, direction, reduction. */
typedef struct direct_task {
    starhalo_exchange_t *ex;
    rt_xpart_t *xp;
    int reverse;
    starhalo_reduce_op_t op;
    starhalo_cl_call_t call[2]; /**< [0] pack, [1] unpack */
} direct_task_t;

/** A task that covers every local part of the rank in one phase. */
typedef struct rank_task {
    starhalo_exchange_t *ex;
    int phase; /**< PHASE_* */
    int reverse;
    starhalo_reduce_op_t op;
    starhalo_cl_call_t call;
} rank_task_t;

/** Per local part: persistent requests per direction (the plain-MPI executor's request sets,
 * receives first) and task scratch. */
typedef struct direct_part {
    mx_requests_t requests[2];
    rt_reqinfo_t *request_info[2]; /**< per request: peer and bytes, for the trace */
    rt_watch_t watch[2];           /**< requests handed to the progress thread */
    rt_arrival_t arrival;          /**< gates the unpack when the progress thread is used */
    void **tile_ptrs;              /**< nfields entries */
    void **msg_ptrs;               /**< nneighbors entries */
    direct_task_t tasks[1 + NOPS]; /**< [0] forward, [1 + op] reverse */
    /* Forward messages with a remote neighbour that are one run per plane (the rows of a
     * horizontal split) travel from and into the tile itself through an MPI datatype: no
     * pack copy. The forward pack and unpack copy only the others: [0] pack, [1] unpack. */
    starhalo_cl_xfer_args_t copy_args[2];
    starhalo_cl_msg_t *copy_msgs[2];
    void **copy_ptrs[2];
    MPI_Datatype *types; /**< the in-place datatypes, to free */
    int ntypes;
    int recv_in_place; /**< MPI writes ghosts from the pack on: the pack takes the tiles RW */
} direct_part_t;

typedef struct direct_state {
    /* One task per rank and phase instead of one per part (few parts or small messages:
     * a task costs ~5-10 us here). */
    int rank_tasks;
    /* Split exchanges (begin ... end) hand their requests to the progress thread when the
     * largest message reaches STARHALO_PROGRESS_BYTES. */
    int progress;
    /* STARHALO_FAULT_MPI_WAIT=<this rank>: every completion reports MPI_ERR_OTHER after the
     * messages did complete (the tests' way to see an MPI error surface as a status). */
    int fault_wait;
    rank_task_t rank[3][1 + NOPS];   /**< [phase - 1][0 forward, 1 + op reverse] */
    struct starpu_data_descr *descr; /**< rank-task scratch: tiles, arrival handles, token */
    direct_part_t *parts;            /**< per local part */
} direct_state_t;

static direct_state_t *state_of(const starhalo_exchange_t *ex)
{
    return ex->transport_state;
}

static direct_part_t *part_of(const rt_xpart_t *xp)
{
    return xp->transport_state;
}

static int task_index(int reverse, starhalo_reduce_op_t op)
{
    return reverse ? 1 + (int)op : 0;
}

static void fail_if(starhalo_exchange_t *ex, starhalo_status_t st)
{
    if (st != STARHALO_OK)
        starhalo__exchange_fail(ex, st);
}

static void trace_posts(direct_part_t *dp, int d, int first, int n)
{
    if (starhalo__trace_enabled())
        for (int i = first; i < first + n; i++)
            starhalo__trace_req_post(&dp->request_info[d][i]);
}

static void start_recvs(const direct_task_t *t)
{
    direct_part_t *dp = part_of(t->xp);
    mx_requests_t *set = &dp->requests[t->reverse];
    fail_if(t->ex, starhalo__mx_requests_start_recvs(set));
    trace_posts(dp, t->reverse, 0, set->nrecv);
}

static void pack_and_send(const direct_task_t *t)
{
    direct_part_t *dp = part_of(t->xp);
    const int d = t->reverse;
    starhalo__layout_tile_ptrs(t->ex, t->xp, dp->tile_ptrs);
    if (d == RT_FORWARD) {
        starhalo__xfer_pack(&dp->copy_args[0], dp->tile_ptrs, dp->copy_ptrs[0]);
    } else {
        starhalo__layout_message_ptrs(t->ex, t->xp, t->reverse, 0, dp->msg_ptrs);
        starhalo__xfer_pack(&t->xp->pack_args[d], dp->tile_ptrs, dp->msg_ptrs);
    }
    mx_requests_t *set = &dp->requests[d];
    fail_if(t->ex, starhalo__mx_requests_start_sends(set));
    trace_posts(dp, d, set->nrecv, set->nsend);
}

/* Between a pack task and its unpack task the workers compute: the progress thread keeps
 * rendezvous messages moving meanwhile (rt_progress.c). */
static void hand_to_progress(const direct_task_t *t)
{
    if (state_of(t->ex)->progress)
        starhalo__progress_watch(&t->ex->ctx->progress, &part_of(t->xp)->watch[t->reverse]);
}

/* On the calling thread of an inline run, poll and yield instead of MPI_Waitall: Open MPI
 * does not yield in MPI_Waitall unless it thinks the node is oversubscribed, and two ranks'
 * main threads that the kernel put on one core (their workers spinning on the other) then
 * take turns only at the 4 ms tick: 8 ms per exchange in about one launch in ten. */
static starhalo_status_t wait_requests(mx_requests_t *set, int yielding, double spin_s)
{
    if (!yielding)
        return starhalo__mx_requests_wait(set);
    /* Poll without yielding first (most exchanges finish within it), unless there are more
     * ranks than cores: then a peer likely waits for this core (Open MPI yields at once too). */
    const double spin_until = MPI_Wtime() + spin_s;
    for (;;) {
        int done = 0;
        STARHALO_CHECK(starhalo__mx_requests_test_all(set, &done));
        if (done)
            return STARHALO_OK;
        if (MPI_Wtime() > spin_until)
            sched_yield();
    }
}

static void wait_and_unpack(const direct_task_t *t, int yielding)
{
    starhalo_context_t *ctx = t->ex->ctx;
    const double spin_s = ctx->nlocal > ctx->ncores ? 0.0 : 20e-6;
    direct_part_t *dp = part_of(t->xp);
    const int d = t->reverse;
    mx_requests_t *set = &dp->requests[d];
    const int nreq = set->nrecv + set->nsend;
    starhalo__progress_unwatch(&ctx->progress, &dp->watch[d]);
    if (nreq) {
        starhalo_status_t st = wait_requests(set, yielding, spin_s);
        if (st == STARHALO_OK && state_of(t->ex)->fault_wait)
            st = starhalo__mpi_error(MPI_ERR_OTHER, "completing %d messages (injected)", nreq);
        if (st != STARHALO_OK) {
            starhalo__exchange_fail(t->ex, st);
            return; /* the buffers hold no message: leave the ghosts as they were */
        }
    }
    for (int i = 0; starhalo__trace_enabled() && i < nreq; i++)
        starhalo__trace_req_done(&dp->request_info[d][i]);
    starhalo__layout_tile_ptrs(t->ex, t->xp, dp->tile_ptrs);
    if (d == RT_FORWARD) {
        starhalo__xfer_unpack(&dp->copy_args[1], dp->copy_ptrs[1], dp->tile_ptrs);
    } else {
        starhalo__layout_message_ptrs(t->ex, t->xp, t->reverse, 1, dp->msg_ptrs);
        starhalo__xfer_unpack(&t->xp->unpack_args[d][t->op], dp->msg_ptrs, dp->tile_ptrs);
    }
}

static void part_pack(void *arg)
{
    start_recvs(arg);
    pack_and_send(arg);
    hand_to_progress(arg);
}

static void part_unpack(void *arg)
{
    wait_and_unpack(arg, 0);
}

static direct_task_t *rank_part_task(const rank_task_t *r, int li)
{
    return &part_of(&r->ex->xparts[li])->tasks[task_index(r->reverse, r->op)];
}

/* Every local part in one task: all receives are posted before any pack, and every local
 * part is packed before any unpack reads a local neighbour's send buffer. */
static void rank_body(const rank_task_t *r, int yielding)
{
    const starhalo_exchange_t *ex = r->ex;
    if (r->phase & PHASE_PACK) {
        for (int li = 0; li < ex->nxparts; li++)
            start_recvs(rank_part_task(r, li));
        for (int li = 0; li < ex->nxparts; li++)
            pack_and_send(rank_part_task(r, li));
        if (!(r->phase & PHASE_UNPACK))
            for (int li = 0; li < ex->nxparts; li++)
                hand_to_progress(rank_part_task(r, li));
    }
    if (r->phase & PHASE_UNPACK)
        for (int li = 0; li < ex->nxparts; li++)
            wait_and_unpack(rank_part_task(r, li), yielding);
}

static void rank_task(void *arg)
{
    rank_body(arg, 0);
}

/* ---- setup ------------------------------------------------------------------------- */

/* Bytes per chunk for messages with @p rank: 0 (one request per message) unless the context
 * chunks messages that leave the node (rt_context.c, docs/OVERLAP.md). */
static int64_t chunk_for(const starhalo_exchange_t *ex, int rank)
{
    const starhalo_context_t *ctx = ex->ctx;
    return ctx->chunk_bytes > 0 && (ctx->chunk_all || !ctx->on_node[rank]) ? ctx->chunk_bytes : 0;
}

/* Runs at least this long (bytes on average) travel in place: MPI then moves whole rows;
 * shorter ones (the columns of a vertical split) are cheaper to pack by hand.
 * STARHALO_IN_PLACE_BYTES overrides it (the tests send every message in place with 1). */
#define IN_PLACE_RUN_BYTES 256

/* Messages of several blocks travel in place only up to this size. Above it Open MPI's
 * shared-memory transport moves a derived datatype through its fragment pipeline, while a
 * packed message goes in one single-copy transfer: measured on 4096-wide rows with halo 3
 * (2 ranks, one node, 49 KiB per channel), in place against the pack copy took 0.015 / 0.024
 * ms at 2 channels, 0.042 / 0.051 at 4, 0.081 / 0.069 at 8 and 0.165 / 0.112 at 16
 * (docs/PERFORMANCE.md). One contiguous block always travels in place.
 * STARHALO_IN_PLACE_MAX_BYTES overrides it. */
#define IN_PLACE_MAX_BYTES (256 * 1024)

/* The datatype of a message over the tiles themselves, in the copy path's message layout
 * ([field][plane][runs]), in *type with its buffer in *base; 0 if its runs are too short. */
static int in_place_type(const starhalo_exchange_t *ex, const rt_xpart_t *xp,
                         const starhalo_run_t *runs, int nruns, int64_t count, int64_t run_bytes,
                         MPI_Datatype *type, void **base)
{
    const int64_t esz = (int64_t)starhalo_dtype_size(ex->dtype);
    if (nruns < 1 || count * esz < run_bytes * nruns || count * esz > INT32_MAX)
        return 0;
    const int64_t plane_bytes = xp->pack_args[RT_FORWARD].plane_size * esz;
    int lengths[nruns];
    MPI_Aint offsets[nruns];
    for (int r = 0; r < nruns; r++) {
        lengths[r] = (int)(runs[r].length * esz);
        offsets[r] = (MPI_Aint)(runs[r].offset * esz);
    }
    MPI_Datatype plane;
    if (MPI_Type_create_hindexed(nruns, lengths, offsets, MPI_BYTE, &plane) != MPI_SUCCESS)
        return 0;
    const int nf = ex->nfields;
    MPI_Datatype one[nf];
    MPI_Aint where[nf];
    int blocks[nf], rc = MPI_SUCCESS;
    for (int f = 0; f < nf && rc == MPI_SUCCESS; f++) {
        rc = MPI_Type_create_hvector((int)ex->planes[f], 1, plane_bytes, plane, &one[f]);
        MPI_Get_address(xp->tiles[f]->data, &where[f]);
        blocks[f] = 1;
    }
    MPI_Type_free(&plane);
    if (rc != MPI_SUCCESS)
        return 0;
    if (nf == 1) {
        *type = one[0];
        *base = xp->tiles[0]->data;
    } else {
        rc = MPI_Type_create_struct(nf, blocks, where, one, type);
        *base = MPI_BOTTOM;
        for (int f = 0; f < nf; f++)
            MPI_Type_free(&one[f]);
    }
    if (rc == MPI_SUCCESS)
        rc = MPI_Type_commit(type);
    return rc == MPI_SUCCESS;
}

/* A message with remote neighbour @p nb in direction @p d: @p bytes of @p buf, cut into chunks
 * for messages that leave the node (mpi_requests.h), or, when @p type is given, one element
 * of that in-place datatype at @p buf. */
static mx_message_t message(const starhalo_exchange_t *ex, const rt_neighbor_t *nb, int d,
                            int is_send, void *buf, int64_t bytes, const MPI_Datatype *type)
{
    return (mx_message_t){.peer = nb->rank,
                          .tag = (int)(is_send ? nb->send_tag[d] : nb->recv_tag[d]),
                          .is_send = is_send,
                          .buf = buf,
                          .bytes = bytes,
                          .chunk_bytes = type ? 0 : chunk_for(ex, nb->rank),
                          .typed = type != NULL,
                          .type = type ? *type : MPI_BYTE};
}

/* A forward message with a remote neighbour that can travel in place (one request over the
 * tiles): returns 1 with its datatype kept in dp->types, or 0 to copy it. */
static int in_place_message(const starhalo_exchange_t *ex, const rt_xpart_t *xp, direct_part_t *dp,
                            int is_send, int64_t bytes, const rt_neighbor_t *nb, int64_t run_bytes,
                            int64_t max_bytes, mx_message_t *out)
{
    const starhalo_peer_xfer_t *x = nb->xfer;
    const int64_t blocks = (int64_t)(is_send ? x->nsend_runs : x->nrecv_runs) * ex->msg_planes;
    MPI_Datatype type;
    void *base;
    if ((blocks > 1 && bytes > max_bytes) ||
        starhalo__mx_requests_count(bytes, chunk_for(ex, nb->rank)) != 1 ||
        !in_place_type(ex, xp, is_send ? x->send_runs : x->recv_runs,
                       is_send ? x->nsend_runs : x->nrecv_runs,
                       is_send ? x->send_count : x->recv_count, run_bytes, &type, &base))
        return 0;
    dp->types[dp->ntypes++] = type;
    *out = message(ex, nb, RT_FORWARD, is_send, base, bytes, &type);
    return 1;
}

static starhalo_status_t alloc_part(starhalo_exchange_t *ex, rt_xpart_t *xp, direct_part_t *dp)
{
    size_t nreq = 1;
    for (int i = 0; i < xp->nneighbors; i++) {
        const rt_neighbor_t *nb = &xp->neighbors[i];
        if (nb->local_index >= 0)
            continue;
        const int64_t sb = starhalo__layout_message_bytes(ex, nb, 1);
        const int64_t rb = starhalo__layout_message_bytes(ex, nb, 0);
        STARHALO_REQUIRE(sb < INT32_MAX && rb < INT32_MAX, STARHALO_ERR_UNSUPPORTED,
                         "a %lld-byte message is too large for the direct transport",
                         (long long)(sb > rb ? sb : rb));
        nreq += (size_t)starhalo__mx_requests_count(sb, chunk_for(ex, nb->rank)) +
                (size_t)starhalo__mx_requests_count(rb, chunk_for(ex, nb->rank));
    }
    /* Scratch of the tasks, allocated here so that they never allocate. */
    const size_t nb1 = (size_t)(xp->nneighbors + 1);
    dp->tile_ptrs = calloc((size_t)ex->nfields, sizeof(void *));
    dp->msg_ptrs = calloc(nb1, sizeof(void *));
    dp->types = calloc(2 * nb1, sizeof(MPI_Datatype));
    int ok = dp->tile_ptrs && dp->msg_ptrs && dp->types;
    for (int k = 0; k < 2; k++) {
        dp->copy_msgs[k] = calloc(nb1, sizeof(starhalo_cl_msg_t));
        dp->copy_ptrs[k] = calloc(nb1, sizeof(void *));
        ok = ok && dp->copy_msgs[k] && dp->copy_ptrs[k];
    }
    for (int d = 0; d < 2; d++) {
        dp->request_info[d] = calloc(nreq, sizeof(rt_reqinfo_t));
        dp->watch[d].idx = calloc(nreq, sizeof(int));
        ok = ok && dp->request_info[d] && dp->watch[d].idx;
    }
    STARHALO_REQUIRE(ok, STARHALO_ERR_NO_MEMORY, "exchange_create: no memory");
    return STARHALO_OK;
}

/* The forward pack and unpack arguments of the messages that are copied: all but those that
 * travel in place (in_place[is_send][neighbour]); their pointers are fixed from here on. */
static void keep_copied(const starhalo_exchange_t *ex, const rt_xpart_t *xp, direct_part_t *dp,
                        unsigned char in_place[2][xp->nneighbors + 1])
{
    for (int unpack = 0; unpack < 2; unpack++) {
        starhalo__layout_message_ptrs(ex, xp, RT_FORWARD, unpack, dp->msg_ptrs);
        const starhalo_cl_xfer_args_t *all =
            unpack ? &xp->unpack_args[RT_FORWARD][0] : &xp->pack_args[RT_FORWARD];
        const int *which = unpack ? xp->recv_neighbor : xp->send_neighbor;
        int n = 0;
        for (int k = 0; k < all->nmsgs; k++) {
            if (in_place[!unpack][which[k]])
                continue;
            dp->copy_msgs[unpack][n] = all->msgs[k];
            dp->copy_ptrs[unpack][n++] = dp->msg_ptrs[k];
        }
        dp->copy_args[unpack] = *all;
        dp->copy_args[unpack].nmsgs = n;
        dp->copy_args[unpack].msgs = dp->copy_msgs[unpack];
    }
}

/* Persistent requests per remote message (or chunk) and direction; receives first in each
 * array. Forward sends the send buffer and receives into the recv buffer; reverse swaps. */
static starhalo_status_t setup_part(starhalo_exchange_t *ex, rt_xpart_t *xp, direct_part_t *dp)
{
    STARHALO_CHECK(alloc_part(ex, xp, dp));
    /* STARHALO_IN_PLACE=0 copies every message (to measure what in place saves). */
    const int in_place_ok = starhalo__env_int64("STARHALO_IN_PLACE", 1, 1) == 1;
    const int64_t run_bytes =
        starhalo__env_int64("STARHALO_IN_PLACE_BYTES", IN_PLACE_RUN_BYTES, INT32_MAX);
    const int64_t max_bytes =
        starhalo__env_int64("STARHALO_IN_PLACE_MAX_BYTES", IN_PLACE_MAX_BYTES, INT64_MAX);
    unsigned char in_place[2][xp->nneighbors + 1]; /* [is_send][neighbour] */
    memset(in_place, 0, sizeof in_place);
    for (int i = 0; i <= NOPS; i++) {
        const starhalo_reduce_op_t op =
            i > 0 ? (starhalo_reduce_op_t)(i - 1) : STARHALO_REDUCE_REPLACE;
        direct_task_t *t = &dp->tasks[i];
        *t = (direct_task_t){ex, xp, i > 0, op, {{part_pack, t}, {part_unpack, t}}};
    }
    /* Per direction, a receive and a send per remote neighbour: the set orders the receives
     * first. Forward sends the send buffer and receives into the recv buffer; reverse swaps. */
    const size_t nmax = 2 * (size_t)xp->nneighbors + 1;
    mx_message_t *msgs[2] = {calloc(nmax, sizeof(mx_message_t)),
                             calloc(nmax, sizeof(mx_message_t))};
    int nmsgs[2] = {0, 0};
    starhalo_status_t st = msgs[0] && msgs[1] ? STARHALO_OK
                                              : starhalo_error_set(STARHALO_ERR_NO_MEMORY,
                                                                   "exchange_create: no memory");
    for (int i = 0; st == STARHALO_OK && i < xp->nneighbors; i++) {
        rt_neighbor_t *nb = &xp->neighbors[i];
        if (nb->local_index >= 0)
            continue;
        for (int is_send = 0; is_send < 2; is_send++) {
            const int64_t fwd = starhalo__layout_message_bytes(ex, nb, is_send);
            const int64_t rev = starhalo__layout_message_bytes(ex, nb, !is_send);
            char *fwd_buf = is_send ? nb->sendbuf : nb->recvbuf;
            char *rev_buf = is_send ? nb->recvbuf : nb->sendbuf;
            mx_message_t *m = &msgs[RT_FORWARD][nmsgs[RT_FORWARD]++];
            if (in_place_ok &&
                in_place_message(ex, xp, dp, is_send, fwd, nb, run_bytes, max_bytes, m)) {
                in_place[is_send][i] = 1;
                dp->recv_in_place |= !is_send;
            } else {
                *m = message(ex, nb, RT_FORWARD, is_send, fwd_buf, fwd, NULL);
            }
            msgs[RT_REVERSE][nmsgs[RT_REVERSE]++] =
                message(ex, nb, RT_REVERSE, is_send, rev_buf, rev, NULL);
        }
    }
    for (int d = 0; d < 2 && st == STARHALO_OK; d++) {
        st = starhalo__mx_requests_init(&dp->requests[d], ex->ctx->dcomm, MPI_BYTE, msgs[d],
                                        nmsgs[d], MX_REQUESTS_PERSISTENT);
        const mx_requests_t *set = &dp->requests[d];
        for (int r = 0; st == STARHALO_OK && r < set->nrecv + set->nsend; r++)
            dp->request_info[d][r] =
                (rt_reqinfo_t){set->desc[r].peer, set->desc[r].is_send, set->desc[r].bytes, 0, 0};
    }
    free(msgs[0]);
    free(msgs[1]);
    STARHALO_CHECK(st);
    keep_copied(ex, xp, dp, in_place);
    for (int d = 0; d < 2; d++)
        dp->watch[d] = (rt_watch_t){.req = dp->requests[d].req,
                                    .n = dp->requests[d].nrecv + dp->requests[d].nsend,
                                    .idx = dp->watch[d].idx,
                                    .info = dp->request_info[d]};
    return STARHALO_OK;
}

/* Per-part tasks pay off when a rank's parts have enough to copy for two workers to share;
 * below this many bytes per exchange and rank, one task per phase is faster (measured in
 * docs/PERFORMANCE.md). STARHALO_RANK_TASK_BYTES overrides it (0: always per part, even
 * with one part). */
#define RANK_TASK_BYTES ((int64_t)1 << 20)

/* Rank tasks or part tasks, and whether split exchanges use the progress thread. */
static starhalo_status_t choose_tasks(starhalo_exchange_t *ex, direct_state_t *st)
{
    int64_t bytes = 0, largest_remote = 0;
    for (int li = 0; li < ex->nxparts; li++)
        for (int i = 0; i < ex->xparts[li].nneighbors; i++) {
            const rt_neighbor_t *nb = &ex->xparts[li].neighbors[i];
            const int64_t sb = starhalo__layout_message_bytes(ex, nb, 1);
            const int64_t rb = starhalo__layout_message_bytes(ex, nb, 0);
            bytes += sb + rb;
            if (nb->local_index < 0 && (sb > largest_remote || rb > largest_remote))
                largest_remote = sb > rb ? sb : rb;
        }
    const int64_t progress_bytes =
        starhalo__env_int64("STARHALO_PROGRESS_BYTES", RT_PROGRESS_BYTES, INT64_MAX);
    st->progress = largest_remote > 0 && largest_remote >= progress_bytes;
    if (st->progress)
        STARHALO_CHECK(starhalo__progress_start(&ex->ctx->progress));
    for (int li = 0; st->progress && li < ex->nxparts; li++) {
        direct_part_t *dp = &st->parts[li];
        if (dp->watch[0].n + dp->watch[1].n == 0)
            continue;
        starpu_void_data_register(&dp->arrival.handle);
        dp->watch[0].arrival = dp->watch[1].arrival = &dp->arrival;
    }
    const int64_t limit =
        starhalo__env_int64("STARHALO_RANK_TASK_BYTES", RANK_TASK_BYTES, INT64_MAX);
    st->rank_tasks = ex->nxparts > 0 && limit > 0 && (ex->nxparts == 1 || bytes < limit);
    st->descr = calloc((size_t)(ex->nxparts * (ex->nfields + 1) + 1), sizeof(*st->descr));
    STARHALO_REQUIRE(st->descr, STARHALO_ERR_NO_MEMORY, "exchange_create: no memory");
    for (int ph = 0; ph < 3; ph++)
        for (int i = 0; i <= NOPS; i++) {
            rank_task_t *r = &st->rank[ph][i];
            *r = (rank_task_t){ex,
                               ph + 1,
                               i > 0,
                               i > 0 ? (starhalo_reduce_op_t)(i - 1) : STARHALO_REDUCE_REPLACE,
                               {rank_task, r}};
        }
    return STARHALO_OK;
}

static starhalo_status_t setup(starhalo_exchange_t *ex)
{
    direct_state_t *st = calloc(1, sizeof *st);
    STARHALO_REQUIRE(st, STARHALO_ERR_NO_MEMORY, "exchange_create: no memory");
    ex->transport_state = st;
    st->fault_wait = starhalo__env_int64("STARHALO_FAULT_MPI_WAIT", -1, INT32_MAX) == ex->ctx->rank;
    st->parts = calloc((size_t)(ex->nxparts ? ex->nxparts : 1), sizeof(direct_part_t));
    STARHALO_REQUIRE(st->parts, STARHALO_ERR_NO_MEMORY, "exchange_create: no memory");
    for (int li = 0; li < ex->nxparts; li++) {
        ex->xparts[li].transport_state = &st->parts[li];
        STARHALO_CHECK(setup_part(ex, &ex->xparts[li], &st->parts[li]));
    }
    return choose_tasks(ex, st);
}

/* ---- submission ---------------------------------------------------------------------- */

/* Tiles R to pack, RW to unpack; the token as the per-part tasks take it (see the top of
 * this file), and exclusively for a task that does both: it is a phase of its own. */
static starhalo_status_t submit_rank_task(starhalo_exchange_t *ex, int phase, int reverse)
{
    direct_state_t *st = state_of(ex);
    int n = 0;
    for (int li = 0; li < ex->nxparts; li++) {
        /* A forward pack that starts receives into the ghosts writes the tile. */
        const int writes = phase != PHASE_PACK || (!reverse && st->parts[li].recv_in_place);
        for (int f = 0; f < ex->nfields; f++)
            st->descr[n++] = (struct starpu_data_descr){ex->xparts[li].tiles[f]->handle,
                                                        writes ? STARPU_RW : STARPU_R};
    }
    for (int li = 0; phase == PHASE_UNPACK && li < ex->nxparts; li++)
        if (st->parts[li].arrival.handle)
            st->descr[n++] = (struct starpu_data_descr){st->parts[li].arrival.handle, STARPU_R};
    const int token_mode = phase == PHASE_PACK     ? STARPU_RW | STARPU_COMMUTE
                           : phase == PHASE_UNPACK ? STARPU_R
                                                   : STARPU_RW;
    st->descr[n++] =
        (struct starpu_data_descr){ex->ctx->token, (enum starpu_data_access_mode)token_mode};
    rank_task_t *r = &st->rank[phase - 1][task_index(reverse, ex->rev_op)];
    return starhalo__exchange_task(ex, &starhalo_cl_call, st->descr, n, &r->call, sizeof r->call,
                                   phase == PHASE_BOTH   ? "starhalo_exchange"
                                   : phase == PHASE_PACK ? "starhalo_pack"
                                                         : "starhalo_unpack");
}

/* Per-part tasks: the layout's data plus the token (packs commute on it, unpacks read it, so
 * no unpack, which blocks in MPI_Waitall, runs before this rank's last pack) and, gating an
 * unpack, the part's arrival handle. */
static starhalo_status_t submit_part_tasks(starhalo_exchange_t *ex, int reverse, int unpack)
{
    for (int li = 0; li < ex->nxparts; li++) {
        rt_xpart_t *xp = &ex->xparts[li];
        direct_part_t *dp = part_of(xp);
        int n = unpack ? starhalo__layout_unpack_descr(ex, xp, reverse)
                       : starhalo__layout_pack_descr(ex, xp, reverse);
        for (int f = 0; !unpack && !reverse && dp->recv_in_place && f < ex->nfields; f++)
            xp->descr[f].mode = STARPU_RW; /* the receives write the ghosts from here on */
        const int mode = unpack ? STARPU_R : STARPU_RW | STARPU_COMMUTE;
        xp->descr[n++] =
            (struct starpu_data_descr){ex->ctx->token, (enum starpu_data_access_mode)mode};
        if (unpack && dp->arrival.handle)
            xp->descr[n++] = (struct starpu_data_descr){dp->arrival.handle, STARPU_R};
        direct_task_t *t = &dp->tasks[task_index(reverse, ex->rev_op)];
        STARHALO_CHECK(starhalo__exchange_task(
            ex, &starhalo_cl_call, xp->descr, n, &t->call[unpack], sizeof t->call[unpack],
            unpack ? (reverse ? "starhalo_unpack_rev" : "starhalo_unpack")
                   : (reverse ? "starhalo_pack_rev" : "starhalo_pack")));
    }
    return STARHALO_OK;
}

/* After the packs of a split exchange are submitted: gate its unpacks (rt_progress.c). */
static starhalo_status_t arm_arrivals(starhalo_exchange_t *ex, int reverse)
{
    direct_state_t *st = state_of(ex);
    for (int li = 0; st->progress && li < ex->nxparts; li++)
        if (st->parts[li].arrival.handle && st->parts[li].watch[reverse].n > 0)
            STARHALO_CHECK(starhalo__arrival_arm(&st->parts[li].arrival));
    return STARHALO_OK;
}

static starhalo_status_t begin(starhalo_exchange_t *ex, int reverse)
{
    if (state_of(ex)->rank_tasks)
        STARHALO_CHECK(submit_rank_task(ex, PHASE_PACK, reverse));
    else
        STARHALO_CHECK(submit_part_tasks(ex, reverse, 0));
    return arm_arrivals(ex, reverse);
}

static starhalo_status_t end(starhalo_exchange_t *ex, int reverse)
{
    if (state_of(ex)->rank_tasks)
        return submit_rank_task(ex, PHASE_UNPACK, reverse);
    return submit_part_tasks(ex, reverse, 1);
}

static starhalo_status_t submit(starhalo_exchange_t *ex, int reverse)
{
    if (state_of(ex)->rank_tasks)
        return submit_rank_task(ex, PHASE_BOTH, reverse);
    STARHALO_CHECK(begin(ex, reverse));
    return end(ex, reverse);
}

/* Handle k of an inline run: 0 is the token, then every local part's tile of every field. */
static starpu_data_handle_t inline_handle(const starhalo_exchange_t *ex, int k)
{
    return k == 0 ? ex->ctx->token
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
 * rank's next phase exactly as the fused task would be (the argument at the top of this
 * file); peers progress on their own workers or threads, never on ours. */
static starhalo_status_t run(starhalo_exchange_t *ex, int reverse)
{
    direct_state_t *st = state_of(ex);
    if (st->rank_tasks && ex->nxparts > 0 && try_acquire_all(ex)) {
        starhalo__context_inline_enter(ex->ctx);
        rank_body(&st->rank[PHASE_BOTH - 1][task_index(reverse, ex->rev_op)], 1);
        starhalo__context_inline_leave(ex->ctx);
        release_first(ex, 1 + ex->nxparts * ex->nfields);
        return STARHALO_OK;
    }
    STARHALO_CHECK(submit(ex, reverse));
    starhalo__pending_wait(&ex->pending);
    return STARHALO_OK;
}

/* Wait for every started persistent request (inactive ones return at once). */
static void abandon(starhalo_exchange_t *ex)
{
    direct_state_t *st = state_of(ex);
    for (int li = 0; st && st->parts && li < ex->nxparts; li++) {
        direct_part_t *dp = &st->parts[li];
        for (int d = 0; d < 2; d++) {
            const int taken = starhalo__progress_unwatch(&ex->ctx->progress, &dp->watch[d]);
            (void)starhalo__mx_requests_wait(&dp->requests[d]); /* abandoning: no status */
            if (taken && dp->watch[d].arrival)
                starhalo__arrival_event(dp->watch[d].arrival); /* the thread will not */
        }
    }
}

static void free_part(direct_part_t *dp)
{
    if (dp->arrival.handle)
        starpu_data_unregister(dp->arrival.handle);
    for (int d = 0; d < 2; d++) {
        starhalo__mx_requests_free(&dp->requests[d]);
        free(dp->request_info[d]);
        free(dp->watch[d].idx);
    }
    for (int i = 0; i < dp->ntypes; i++)
        MPI_Type_free(&dp->types[i]);
    free(dp->types);
    for (int k = 0; k < 2; k++) {
        free(dp->copy_msgs[k]);
        free(dp->copy_ptrs[k]);
    }
    free(dp->tile_ptrs);
    free(dp->msg_ptrs);
}

static void teardown(starhalo_exchange_t *ex)
{
    direct_state_t *st = state_of(ex);
    if (!st)
        return;
    for (int li = 0; st->parts && li < ex->nxparts; li++) {
        free_part(&st->parts[li]);
        ex->xparts[li].transport_state = NULL;
    }
    free(st->parts);
    free(st->descr);
    free(st);
    ex->transport_state = NULL;
}

const rt_transport_ops_t starhalo__transport_direct = {
    .name = "direct",
    .setup = setup,
    .begin = begin,
    .end = end,
    .submit = submit,
    .run = run,
    .abandon = abandon,
    .teardown = teardown,
};

starhalo_status_t starhalo__direct_available(const starhalo_context_t *ctx)
{
#ifdef STARHALO_SIMGRID
    (void)ctx;
    return starhalo_error_set(STARHALO_ERR_UNSUPPORTED, "the direct MPI transport is not "
                                                        "simulated (docs/SIMULATION.md)");
#endif
    STARHALO_REQUIRE(ctx->thread_level >= MPI_THREAD_MULTIPLE, STARHALO_ERR_UNSUPPORTED,
                     "the direct MPI transport needs MPI_THREAD_MULTIPLE (MPI was initialised "
                     "with level %d)",
                     ctx->thread_level);
    return STARHALO_OK;
}

long starhalo__direct_open_requests(const starhalo_exchange_t *ex)
{
    const direct_state_t *st = ex->ops == &starhalo__transport_direct ? state_of(ex) : NULL;
    long open = 0;
    for (int li = 0; st && li < ex->nxparts; li++)
        for (int d = 0; d < 2; d++) {
            const direct_part_t *dp = &st->parts[li];
            const mx_requests_t *set = &dp->requests[d];
            for (int r = 0; r < set->nrecv + set->nsend; r++) {
                int done = 1;
                MPI_Status status;
                if (set->req[r] != MPI_REQUEST_NULL &&
                    MPI_Request_get_status(set->req[r], &done, &status) == MPI_SUCCESS && !done)
                    open++;
            }
        }
    return open;
}
