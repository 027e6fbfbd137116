/* SPDX-License-Identifier: MIT */
/**
 * @file rt_exchange_direct.c
 * @brief The direct MPI transport: the pack task starts persistent MPI requests and the
 * unpack task completes them, so a message costs one MPI_Isend/MPI_Irecv pair and no handoff
 * to the StarPU-MPI progress thread (which stays asleep).
 *
 * Why it cannot deadlock: one token per context; packs access it RW|COMMUTE, unpacks R. So
 * the direct tasks of a rank run in phases that follow submission order (a run of packs, then
 * the run of unpacks submitted after them, then the next packs, ...), across every exchange of
 * the context. Ranks submit in the same order, so an unpack blocking in MPI_Waitall in phase k
 * waits only for peer packs of phase <= k, which need only the peer's unpacks of earlier
 * phases (induction over phases). A per-exchange token would not do: with two exchanges in
 * flight, rank A could block in exchange 1's unpack while B blocks in exchange 2's unpack,
 * each waiting for a pack queued behind the other's blocked worker. The unpack's MPI_Waitall
 * covers this part's sends too, so buffers are free when the next pack runs.
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
 */
#include <sched.h>
#include <stdlib.h>

#include "codelet_xfer.h"
#include "rt_trace.h"
#include "runtime_internal.h"

/* Message pointers of one task: remote messages use this part's own buffers, local ones the
 * neighbour's matching buffer (the same memory the StarPU handles describe). */
static void **msg_ptrs(const rt_direct_arg_t *a, int unpack, int *nmsgs)
{
    const rt_xpart_t *xp = a->xp;
    const int use_send = a->reverse == unpack; /* fwd pack / rev unpack: send side */
    const int n = use_send ? xp->nsend : xp->nrecv;
    void **p = xp->dmsgs;
    for (int k = 0; k < n; k++) {
        const rt_peer_t *pe = &xp->peers[use_send ? xp->send_idx[k] : xp->recv_idx[k]];
        if (!unpack || pe->local < 0) {
            p[k] = use_send ? pe->sendbuf : pe->recvbuf;
        } else {
            const rt_peer_t *m = &a->ex->xparts[pe->local].peers[pe->match];
            p[k] = a->reverse ? m->recvbuf : m->sendbuf;
        }
    }
    *nmsgs = n;
    return p;
}

/* Bytes of @p pe's messages: out of its send buffer (@p sb) and into its recv buffer. */
static void peer_bytes(const starhalo_exchange_t *ex, const rt_peer_t *pe, int64_t *sb, int64_t *rb)
{
    const int64_t esz = (int64_t)starhalo_dtype_size(ex->dtype);
    *sb = pe->x->send_count * ex->msg_planes * esz;
    *rb = pe->x->recv_count * ex->msg_planes * esz;
}

static void **tile_ptrs(const rt_direct_arg_t *a)
{
    for (int f = 0; f < a->ex->nfields; f++)
        a->xp->dptrs[f] = a->xp->tiles[f]->data;
    return a->xp->dptrs;
}

void starhalo__trace_req_post(rt_reqinfo_t *r)
{
    r->id = starhalo__trace_next_id();
    r->done = 0;
    starhalo__trace_xfer(0, r->is_send, r->peer, r->bytes, r->id);
}

/* Once per post: the progress thread may have reported the request before the unpack. */
void starhalo__trace_req_done(rt_reqinfo_t *r)
{
    if (!starhalo__trace_enabled() || r->done)
        return;
    r->done = 1;
    starhalo__trace_xfer(1, r->is_send, r->peer, r->bytes, r->id);
}

static void trace_posts(rt_xpart_t *xp, int d, int first, int n)
{
    if (starhalo__trace_enabled())
        for (int i = first; i < first + n; i++)
            starhalo__trace_req_post(&xp->dinfo[d][i]);
}

static void start_recvs(const rt_direct_arg_t *a)
{
    rt_xpart_t *xp = a->xp;
    const int d = a->reverse;
    if (xp->ndrecv[d]) {
        MPI_Startall(xp->ndrecv[d], xp->dreq[d]);
        trace_posts(xp, d, 0, xp->ndrecv[d]);
    }
}

static void pack_and_send(const rt_direct_arg_t *a)
{
    rt_xpart_t *xp = a->xp;
    const int d = a->reverse;
    int n;
    void **msgs = msg_ptrs(a, 0, &n);
    starhalo__xfer_pack(a->reverse ? &xp->pack_rev : &xp->pack_fwd, tile_ptrs(a), msgs);
    if (xp->ndsend[d]) {
        MPI_Startall(xp->ndsend[d], xp->dreq[d] + xp->ndrecv[d]);
        trace_posts(xp, d, xp->ndrecv[d], xp->ndsend[d]);
    }
}

/* Between a pack task and its unpack task the workers compute: the progress thread keeps
 * rendezvous messages moving meanwhile (rt_progress.c). */
static void hand_to_progress(const rt_direct_arg_t *a)
{
    if (a->ex->progress)
        starhalo__progress_watch(&a->ex->ctx->progress, &a->xp->watch[a->reverse]);
}

/* On the calling thread of an inline run, poll and yield instead of MPI_Waitall: Open MPI
 * does not yield in MPI_Waitall unless it thinks the node is oversubscribed, and two ranks'
 * main threads that the kernel put on one core (their workers spinning on the other) then
 * take turns only at the 4 ms tick: 8 ms per exchange in about one launch in ten. */
static void wait_requests(int n, MPI_Request *req, int yielding, double spin_s)
{
    if (!yielding) {
        MPI_Waitall(n, req, MPI_STATUSES_IGNORE);
        return;
    }
    /* Poll without yielding first (most exchanges finish within it), unless there are more
     * ranks than cores: then a peer likely waits for this core (Open MPI yields at once too). */
    const double spin_until = MPI_Wtime() + spin_s;
    int done = 0;
    for (;;) {
        MPI_Testall(n, req, &done, MPI_STATUSES_IGNORE);
        if (done)
            return;
        if (MPI_Wtime() > spin_until)
            sched_yield();
    }
}

static void wait_and_unpack(const rt_direct_arg_t *a, int yielding)
{
    starhalo_context_t *ctx = a->ex->ctx;
    const double spin_s = ctx->nlocal > ctx->ncores ? 0.0 : 20e-6;
    rt_xpart_t *xp = a->xp;
    const int d = a->reverse;
    const int nreq = xp->ndrecv[d] + xp->ndsend[d];
    starhalo__progress_unwatch(&ctx->progress, &xp->watch[d]);
    if (nreq)
        wait_requests(nreq, xp->dreq[d], yielding, spin_s);
    for (int i = 0; starhalo__trace_enabled() && i < nreq; i++)
        starhalo__trace_req_done(&xp->dinfo[d][i]);
    int n;
    void **msgs = msg_ptrs(a, 1, &n);
    starhalo__xfer_unpack(a->reverse ? &xp->unpack_rev[a->op] : &xp->unpack_fwd, msgs,
                          tile_ptrs(a));
}

static void direct_pack_cpu(void *buffers[], void *cl_arg)
{
    (void)buffers; /* main-RAM handles: the registered pointers are the buffers */
    start_recvs(cl_arg);
    pack_and_send(cl_arg);
    hand_to_progress(cl_arg);
}

static void direct_unpack_cpu(void *buffers[], void *cl_arg)
{
    (void)buffers;
    wait_and_unpack(cl_arg, 0);
}

/* Every local part in one task: all receives are posted before any pack, and every local
 * part is packed before any unpack reads a local neighbour's send buffer. */
static void rank_body(const rt_rank_arg_t *r, int yielding)
{
    const starhalo_exchange_t *ex = r->ex;
    const int k = r->reverse ? 1 + (int)r->op : 0;
    if (r->phase & RT_PHASE_PACK) {
        for (int li = 0; li < ex->nxparts; li++)
            start_recvs(&ex->xparts[li].dargs[k]);
        for (int li = 0; li < ex->nxparts; li++)
            pack_and_send(&ex->xparts[li].dargs[k]);
        if (!(r->phase & RT_PHASE_UNPACK))
            for (int li = 0; li < ex->nxparts; li++)
                hand_to_progress(&ex->xparts[li].dargs[k]);
    }
    if (r->phase & RT_PHASE_UNPACK)
        for (int li = 0; li < ex->nxparts; li++)
            wait_and_unpack(&ex->xparts[li].dargs[k], yielding);
}

static void direct_rank_cpu(void *buffers[], void *cl_arg)
{
    (void)buffers;
    rank_body(cl_arg, 0);
}

struct starpu_codelet starhalo__cl_direct_pack = {
    .cpu_funcs = {direct_pack_cpu},
    .cpu_funcs_name = {"direct_pack_cpu"},
    .nbuffers = STARPU_VARIABLE_NBUFFERS,
    .name = "starhalo_direct_pack",
};

struct starpu_codelet starhalo__cl_direct_unpack = {
    .cpu_funcs = {direct_unpack_cpu},
    .cpu_funcs_name = {"direct_unpack_cpu"},
    .nbuffers = STARPU_VARIABLE_NBUFFERS,
    .name = "starhalo_direct_unpack",
};

struct starpu_codelet starhalo__cl_direct_rank = {
    .cpu_funcs = {direct_rank_cpu},
    .cpu_funcs_name = {"direct_rank_cpu"},
    .nbuffers = STARPU_VARIABLE_NBUFFERS,
    .name = "starhalo_direct_rank",
};

/* Per-part tasks pay off when a rank's parts have enough to copy for two workers to share;
 * below this many bytes per exchange and rank, one task per phase is faster (measured in
 * docs/PERFORMANCE.md). STARHALO_RANK_TASK_BYTES overrides it (0: always per part, even
 * with one part). */
#define RANK_TASK_BYTES ((int64_t)1 << 20)

starhalo_status_t starhalo__direct_setup_rank(starhalo_exchange_t *ex)
{
    int64_t bytes = 0, largest_remote = 0;
    for (int li = 0; li < ex->nxparts; li++)
        for (int i = 0; i < ex->xparts[li].npeers; i++) {
            const rt_peer_t *pe = &ex->xparts[li].peers[i];
            int64_t sb, rb;
            peer_bytes(ex, pe, &sb, &rb);
            bytes += sb + rb;
            if (pe->local < 0 && (sb > largest_remote || rb > largest_remote))
                largest_remote = sb > rb ? sb : rb;
        }
    const int64_t progress_bytes =
        starhalo__env_int64("STARHALO_PROGRESS_BYTES", RT_PROGRESS_BYTES, INT64_MAX);
    ex->progress = largest_remote > 0 && largest_remote >= progress_bytes;
    if (ex->progress)
        STARHALO_CHECK(starhalo__progress_start(&ex->ctx->progress));
    for (int li = 0; ex->progress && li < ex->nxparts; li++) {
        rt_xpart_t *xp = &ex->xparts[li];
        if (xp->watch[0].n + xp->watch[1].n == 0)
            continue;
        starpu_void_data_register(&xp->arrival.handle);
        xp->watch[0].arrival = xp->watch[1].arrival = &xp->arrival;
    }
    const int64_t limit =
        starhalo__env_int64("STARHALO_RANK_TASK_BYTES", RANK_TASK_BYTES, INT64_MAX);
    ex->rank_tasks = ex->nxparts > 0 && limit > 0 && (ex->nxparts == 1 || bytes < limit);
    ex->rdescr = calloc((size_t)(ex->nxparts * (ex->nfields + 1) + 1), sizeof(*ex->rdescr));
    STARHALO_REQUIRE(ex->rdescr, STARHALO_ERR_NO_MEMORY, "exchange_create: no memory");
    for (int ph = 0; ph < 3; ph++)
        for (int i = 0; i <= NOPS; i++)
            ex->rargs[ph][i] = (rt_rank_arg_t){
                ex, ph + 1, i > 0, i > 0 ? (starhalo_reduce_op_t)(i - 1) : STARHALO_REDUCE_REPLACE};
    return STARHALO_OK;
}

void starhalo__direct_complete_started(starhalo_exchange_t *ex)
{
    for (int li = 0; li < ex->nxparts; li++) {
        rt_xpart_t *xp = &ex->xparts[li];
        for (int d = 0; d < 2; d++) {
            const int taken = starhalo__progress_unwatch(&ex->ctx->progress, &xp->watch[d]);
            if (xp->dreq[d] && xp->ndrecv[d] + xp->ndsend[d])
                MPI_Waitall(xp->ndrecv[d] + xp->ndsend[d], xp->dreq[d], MPI_STATUSES_IGNORE);
            if (taken && xp->watch[d].arrival)
                starhalo__arrival_event(xp->watch[d].arrival); /* the thread will not */
        }
    }
}

void starhalo__direct_run_inline(starhalo_exchange_t *ex, int reverse)
{
    rank_body(&ex->rargs[RT_PHASE_BOTH - 1][reverse ? 1 + (int)ex->rev_op : 0], 1);
}

/* Tiles R to pack, RW to unpack; the token as the per-part tasks take it (see the top of
 * this file), and exclusively for a task that does both: it is a phase of its own. */
starhalo_status_t starhalo__direct_submit_rank(starhalo_exchange_t *ex, int phase, int reverse)
{
    int n = 0;
    const enum starpu_data_access_mode tile_mode = phase == RT_PHASE_PACK ? STARPU_R : STARPU_RW;
    for (int li = 0; li < ex->nxparts; li++)
        for (int f = 0; f < ex->nfields; f++)
            ex->rdescr[n++] =
                (struct starpu_data_descr){ex->xparts[li].tiles[f]->handle, tile_mode};
    for (int li = 0; phase == RT_PHASE_UNPACK && li < ex->nxparts; li++)
        if (ex->xparts[li].arrival.handle)
            ex->rdescr[n++] = (struct starpu_data_descr){ex->xparts[li].arrival.handle, STARPU_R};
    const int token_mode = phase == RT_PHASE_PACK     ? STARPU_RW | STARPU_COMMUTE
                           : phase == RT_PHASE_UNPACK ? STARPU_R
                                                      : STARPU_RW;
    ex->rdescr[n++] =
        (struct starpu_data_descr){ex->token, (enum starpu_data_access_mode)token_mode};
    rt_rank_arg_t *arg = &ex->rargs[phase - 1][reverse ? 1 + (int)ex->rev_op : 0];
    return starhalo__exchange_insert(ex, &starhalo__cl_direct_rank, ex->rdescr, n, arg, sizeof *arg,
                                     phase == RT_PHASE_BOTH   ? "starhalo_exchange"
                                     : phase == RT_PHASE_PACK ? "starhalo_pack"
                                                              : "starhalo_unpack");
}

starhalo_status_t starhalo__direct_available(const starhalo_context_t *ctx)
{
#ifdef STARHALO_SIMGRID
    (void)ctx;
    return starhalo__error_set(STARHALO_ERR_UNSUPPORTED, "the direct MPI transport is not "
                                                         "simulated (docs/SIMULATION.md)");
#endif
    STARHALO_REQUIRE(ctx->thread_level >= MPI_THREAD_MULTIPLE, STARHALO_ERR_UNSUPPORTED,
                     "the direct MPI transport needs MPI_THREAD_MULTIPLE (MPI was initialised "
                     "with level %d)",
                     ctx->thread_level);
    return STARHALO_OK;
}

/* Bytes per chunk for messages with @p rank: 0 (one request per message) unless the context
 * chunks messages that leave the node (rt_context.c, docs/OVERLAP.md). */
static int64_t chunk_for(const starhalo_exchange_t *ex, int rank)
{
    const starhalo_context_t *ctx = ex->ctx;
    return ctx->chunk_bytes > 0 && (ctx->chunk_all || !ctx->on_node[rank]) ? ctx->chunk_bytes : 0;
}

static int nchunks(int64_t bytes, int64_t chunk)
{
    return bytes <= 0 ? 0 : chunk <= 0 || bytes <= chunk ? 1 : (int)((bytes + chunk - 1) / chunk);
}

/* Persistent requests for one message, cut into equal chunks of at most the chunk size
 * (128 KiB: three of 43691 bytes, not 65472 + 65472 + 128) that match in order (same source, tag
 * and communicator: MPI does not let them overtake each other). */
static int init_message(starhalo_exchange_t *ex, rt_xpart_t *xp, int d, int is_send, char *buf,
                        int64_t bytes, const rt_peer_t *pe, int64_t tag)
{
    const int n = nchunks(bytes, chunk_for(ex, pe->rank));
    const int64_t each = n > 0 ? (bytes + n - 1) / n : 0;
    for (int c = 0; c < n; c++) {
        const int64_t off = c * each;
        const int64_t len = bytes - off < each ? bytes - off : each;
        const int i = is_send ? xp->ndrecv[d] + xp->ndsend[d]++ : xp->ndrecv[d]++;
        xp->dinfo[d][i] = (rt_reqinfo_t){pe->rank, is_send, len, 0, 0};
        const int rc = is_send ? MPI_Send_init(buf + off, (int)len, MPI_BYTE, pe->rank, (int)tag,
                                               ex->dcomm, &xp->dreq[d][i])
                               : MPI_Recv_init(buf + off, (int)len, MPI_BYTE, pe->rank, (int)tag,
                                               ex->dcomm, &xp->dreq[d][i]);
        if (rc != MPI_SUCCESS)
            return rc;
    }
    return MPI_SUCCESS;
}

/* Persistent requests per remote message (or chunk) and direction; receives first in each
 * array. Forward sends the send buffer and receives into the recv buffer; reverse swaps. */
starhalo_status_t starhalo__direct_setup(starhalo_exchange_t *ex, rt_xpart_t *xp)
{
    size_t nreq = 1;
    for (int i = 0; i < xp->npeers; i++) {
        const rt_peer_t *pe = &xp->peers[i];
        if (pe->local >= 0)
            continue;
        int64_t sb, rb;
        peer_bytes(ex, pe, &sb, &rb);
        STARHALO_REQUIRE(sb < INT32_MAX && rb < INT32_MAX, STARHALO_ERR_UNSUPPORTED,
                         "a %lld-byte message is too large for the direct transport",
                         (long long)(sb > rb ? sb : rb));
        nreq += (size_t)nchunks(sb, chunk_for(ex, pe->rank)) +
                (size_t)nchunks(rb, chunk_for(ex, pe->rank));
    }
    /* Scratch of the tasks, allocated here so that they never allocate. */
    xp->dptrs = calloc((size_t)ex->nfields, sizeof(void *));
    xp->dmsgs = calloc((size_t)(xp->npeers + 1), sizeof(void *));
    xp->dargs = calloc(1 + NOPS, sizeof(rt_direct_arg_t));
    int ok = xp->dptrs && xp->dmsgs && xp->dargs;
    for (int d = 0; d < 2; d++) {
        xp->dreq[d] = calloc(nreq, sizeof(MPI_Request));
        xp->dinfo[d] = calloc(nreq, sizeof(rt_reqinfo_t));
        xp->watch[d].idx = calloc(nreq, sizeof(int));
        ok = ok && xp->dreq[d] && xp->dinfo[d] && xp->watch[d].idx;
    }
    STARHALO_REQUIRE(ok, STARHALO_ERR_NO_MEMORY, "exchange_create: no memory");
    for (int i = 0; i <= NOPS; i++)
        xp->dargs[i] = (rt_direct_arg_t){
            ex, xp, i > 0, i > 0 ? (starhalo_reduce_op_t)(i - 1) : STARHALO_REDUCE_REPLACE};
    int rc = MPI_SUCCESS;
    for (int pass = 0; pass < 2; pass++) /* receives, then sends */
        for (int i = 0; rc == MPI_SUCCESS && i < xp->npeers; i++) {
            rt_peer_t *pe = &xp->peers[i];
            if (pe->local >= 0)
                continue;
            int64_t sb, rb;
            peer_bytes(ex, pe, &sb, &rb);
            if (pass == 0) {
                rc = init_message(ex, xp, 0, 0, (char *)pe->recvbuf, rb, pe, pe->fwd_recv_tag);
                if (rc == MPI_SUCCESS)
                    rc = init_message(ex, xp, 1, 0, (char *)pe->sendbuf, sb, pe, pe->rev_recv_tag);
            } else {
                rc = init_message(ex, xp, 0, 1, (char *)pe->sendbuf, sb, pe, pe->fwd_send_tag);
                if (rc == MPI_SUCCESS)
                    rc = init_message(ex, xp, 1, 1, (char *)pe->recvbuf, rb, pe, pe->rev_send_tag);
            }
            STARHALO_REQUIRE(rc == MPI_SUCCESS, STARHALO_ERR_MPI,
                             "creating persistent requests with rank %d failed", pe->rank);
        }
    for (int d = 0; d < 2; d++)
        xp->watch[d] = (rt_watch_t){.req = xp->dreq[d],
                                    .n = xp->ndrecv[d] + xp->ndsend[d],
                                    .idx = xp->watch[d].idx,
                                    .info = xp->dinfo[d]};
    return STARHALO_OK;
}

starhalo_status_t starhalo__direct_arm_arrivals(starhalo_exchange_t *ex, int reverse)
{
    for (int li = 0; ex->progress && li < ex->nxparts; li++)
        if (ex->xparts[li].arrival.handle && ex->xparts[li].watch[reverse].n > 0)
            STARHALO_CHECK(starhalo__arrival_arm(&ex->xparts[li].arrival));
    return STARHALO_OK;
}

void starhalo__direct_free(rt_xpart_t *xp)
{
    if (xp->arrival.handle)
        starpu_data_unregister(xp->arrival.handle);
    xp->arrival.handle = NULL;
    for (int d = 0; d < 2; d++) {
        for (int i = 0; xp->dreq[d] && i < xp->ndrecv[d] + xp->ndsend[d]; i++)
            MPI_Request_free(&xp->dreq[d][i]);
        free(xp->dreq[d]);
        free(xp->dinfo[d]);
        free(xp->watch[d].idx);
        xp->dreq[d] = NULL;
        xp->dinfo[d] = NULL;
        xp->watch[d].idx = NULL;
    }
    free(xp->dptrs);
    free(xp->dmsgs);
    free(xp->dargs);
}
