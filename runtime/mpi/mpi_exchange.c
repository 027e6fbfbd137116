/* SPDX-License-Identifier: MIT */
/**
 * @file mpi_exchange.c
 * @brief Plain-MPI executor of transfer plans: creation, packing, and the two-sided and
 * persistent transports (the RMA ones are in mpi_exchange_rma.c).
 *
 * Messages are packed plane-major per peer entry into one send buffer (forward) and received
 * into one receive buffer; the reverse direction reuses the same two buffers swapped, so a
 * transport only moves bytes between sbuf and rbuf segments.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "index_mpi_internal.h"
#include "starhalo_kernels.h"

starhalo_status_t starhalo_mpi_transport_parse(const char *name, starhalo_mpi_transport_t *out)
{
    STARHALO_REQUIRE(name && out, STARHALO_ERR_INVALID_ARG, "transport: NULL argument");
    for (int t = 0; t < STARHALO_MPI_NUM_TRANSPORTS; t++)
        if (!strcmp(name, starhalo_mpi_transport_name((starhalo_mpi_transport_t)t))) {
            *out = (starhalo_mpi_transport_t)t;
            return STARHALO_OK;
        }
    return starhalo__error_set(STARHALO_ERR_INVALID_ARG,
                               "unknown transport '%s' (two-sided, persistent, rma-fence, "
                               "rma-lock)",
                               name);
}

const char *starhalo_mpi_transport_name(starhalo_mpi_transport_t transport)
{
    switch (transport) {
    case STARHALO_MPI_TWO_SIDED:
        return "two-sided";
    case STARHALO_MPI_PERSISTENT:
        return "persistent";
    case STARHALO_MPI_RMA_FENCE:
        return "rma-fence";
    case STARHALO_MPI_RMA_LOCK:
        return "rma-lock";
    }
    return "unknown";
}

starhalo_mpi_transport_t starhalo_mpi_exchange_transport(const starhalo_mpi_exchange_t *ex)
{
    return ex ? ex->transport : (starhalo_mpi_transport_t)-1;
}

int64_t starhalo_mpi_exchange_send_bytes(const starhalo_mpi_exchange_t *ex)
{
    return ex ? ex->stotal * (int64_t)ex->esz : 0;
}

/* ---- packing ------------------------------------------------------------------------- */

/* Index plans gather scattered single elements: one memcpy call per run costs more than the
 * copy, and walking runs costs twice a flat index gather. So runs averaging fewer than
 * SHORT_RUN elements are expanded once, at create, into element indexes. */
#define SHORT_RUN 4

/* Expanded element indexes of a run list, or NULL (long runs, or no memory: the kernels then
 * serve it). */
static int64_t *expand_short_runs(const starhalo_run_t *runs, int nruns, int64_t count)
{
    if (nruns == 0 || count >= (int64_t)SHORT_RUN * nruns)
        return NULL;
    int64_t *idx = malloc((size_t)count * sizeof *idx), k = 0;
    for (int r = 0; idx && r < nruns; r++)
        for (int64_t e = 0; e < runs[r].length; e++)
            idx[k++] = runs[r].offset + e;
    return idx;
}

#define GATHER_LOOP(T)                                                                             \
    do {                                                                                           \
        for (int64_t p_ = 0; p_ < planes; p_++) {                                                  \
            const T *in_ = (const T *)src + p_ * plane_size;                                       \
            T *out_ = (T *)dst + p_ * count;                                                       \
            for (int64_t i_ = 0; i_ < count; i_++)                                                 \
                out_[i_] = in_[idx[i_]];                                                           \
        }                                                                                          \
    } while (0)

static void pack(const starhalo_mpi_exchange_t *ex, const void *src, const starhalo_run_t *runs,
                 int nruns, const int64_t *idx, int64_t count, void *dst)
{
    const int64_t planes = ex->planes, plane_size = ex->plane_size;
    if (!idx)
        starhalo_kern_pack_cpu(ex->dtype, src, plane_size, planes, runs, nruns, count, dst);
    else if (ex->dtype == STARHALO_FLOAT64)
        GATHER_LOOP(double);
    else
        GATHER_LOOP(float);
}

#define SCATTER_LOOP(T, OPEXPR)                                                                    \
    do {                                                                                           \
        for (int64_t p_ = 0; p_ < planes; p_++) {                                                  \
            const T *in_ = (const T *)src + p_ * count;                                            \
            T *out_ = (T *)dst + p_ * plane_size;                                                  \
            for (int64_t i_ = 0; i_ < count; i_++) {                                               \
                const T a = out_[idx[i_]], b = in_[i_];                                            \
                out_[idx[i_]] = (OPEXPR);                                                          \
            }                                                                                      \
        }                                                                                          \
    } while (0)

#define SCATTER_OPS(T)                                                                             \
    do {                                                                                           \
        switch (op) {                                                                              \
        case STARHALO_REDUCE_SUM:                                                                  \
            SCATTER_LOOP(T, a + b);                                                                \
            break;                                                                                 \
        case STARHALO_REDUCE_MAX:                                                                  \
            SCATTER_LOOP(T, a > b ? a : b);                                                        \
            break;                                                                                 \
        case STARHALO_REDUCE_MIN:                                                                  \
            SCATTER_LOOP(T, a < b ? a : b);                                                        \
            break;                                                                                 \
        default:                                                                                   \
            SCATTER_LOOP(T, ((void)a, b));                                                         \
            break;                                                                                 \
        }                                                                                          \
    } while (0)

static void unpack(const starhalo_mpi_exchange_t *ex, const void *src, const starhalo_run_t *runs,
                   int nruns, const int64_t *idx, int64_t count, void *dst, starhalo_reduce_op_t op)
{
    const int64_t planes = ex->planes, plane_size = ex->plane_size;
    if (!idx)
        starhalo_kern_unpack_cpu(ex->dtype, src, count, planes, runs, nruns, dst, plane_size, op);
    else if (ex->dtype == STARHALO_FLOAT64)
        SCATTER_OPS(double);
    else
        SCATTER_OPS(float);
}

void starhalo__mx_pack_fwd(starhalo_mpi_exchange_t *ex, const void *array)
{
    for (int i = 0; i < ex->npeers; i++) {
        const starhalo_peer_xfer_t *p = starhalo_xfer_plan_peer(ex->plan, i);
        if (p->send_count > 0)
            pack(ex, array, p->send_runs, p->nsend_runs, ex->sidx[i], p->send_count,
                 ex->sbuf + (size_t)ex->soff[i] * ex->esz);
    }
}

void starhalo__mx_unpack_fwd(starhalo_mpi_exchange_t *ex, void *array)
{
    for (int i = 0; i < ex->npeers; i++) {
        const starhalo_peer_xfer_t *p = starhalo_xfer_plan_peer(ex->plan, i);
        if (p->recv_count > 0)
            unpack(ex, ex->rbuf + (size_t)ex->roff[i] * ex->esz, p->recv_runs, p->nrecv_runs,
                   ex->ridx[i], p->recv_count, array, STARHALO_REDUCE_REPLACE);
    }
}

void starhalo__mx_pack_rev(starhalo_mpi_exchange_t *ex, const void *array)
{
    for (int i = 0; i < ex->npeers; i++) {
        const starhalo_peer_xfer_t *p = starhalo_xfer_plan_peer(ex->plan, i);
        if (p->recv_count > 0)
            pack(ex, array, p->recv_runs, p->nrecv_runs, ex->ridx[i], p->recv_count,
                 ex->rbuf + (size_t)ex->roff[i] * ex->esz);
    }
}

void starhalo__mx_unpack_rev(starhalo_mpi_exchange_t *ex, void *array, starhalo_reduce_op_t op)
{
    /* Entries are combined one after another, so an index sent to k peers is combined k times
     * in entry order (deterministic for SUM of floats; REPLACE keeps the last entry's value). */
    for (int i = 0; i < ex->npeers; i++) {
        const starhalo_peer_xfer_t *p = starhalo_xfer_plan_peer(ex->plan, i);
        if (p->send_count > 0)
            unpack(ex, ex->sbuf + (size_t)ex->soff[i] * ex->esz, p->send_runs, p->nsend_runs,
                   ex->sidx[i], p->send_count, array, op);
    }
}

/* ---- two-sided and persistent --------------------------------------------------------- */

typedef int (*recv_fn)(void *, int, MPI_Datatype, int, int, MPI_Comm, MPI_Request *);
typedef int (*send_fn)(const void *, int, MPI_Datatype, int, int, MPI_Comm, MPI_Request *);

/* Post one direction's receives and sends with @p rf / @p sf (MPI_Irecv / MPI_Isend, or
 * MPI_Recv_init / MPI_Send_init). Forward: sbuf -> peers' rbuf with tag 2 * tag; reverse:
 * rbuf -> peers' sbuf with tag 2 * tag + 1. Returns the number of requests or -1. */
static int post(starhalo_mpi_exchange_t *ex, int reverse, recv_fn rf, send_fn sf, MPI_Request *reqs)
{
    int n = 0;
    for (int i = 0; i < ex->npeers; i++) {
        const starhalo_peer_xfer_t *p = starhalo_xfer_plan_peer(ex->plan, i);
        const int64_t in = reverse ? p->send_count : p->recv_count;
        const int64_t out = reverse ? p->recv_count : p->send_count;
        char *inbuf = reverse ? ex->sbuf + (size_t)ex->soff[i] * ex->esz
                              : ex->rbuf + (size_t)ex->roff[i] * ex->esz;
        char *outbuf = reverse ? ex->rbuf + (size_t)ex->roff[i] * ex->esz
                               : ex->sbuf + (size_t)ex->soff[i] * ex->esz;
        const int intag = 2 * (reverse ? p->send_tag : p->recv_tag) + reverse;
        const int outtag = 2 * (reverse ? p->recv_tag : p->send_tag) + reverse;
        if (in > 0 && rf(inbuf, (int)(in * ex->planes), ex->mtype, ex->peer_rank[i], intag,
                         ex->comm, &reqs[n++]) != MPI_SUCCESS)
            return -1;
        if (out > 0 && sf(outbuf, (int)(out * ex->planes), ex->mtype, ex->peer_rank[i], outtag,
                          ex->comm, &reqs[n++]) != MPI_SUCCESS)
            return -1;
    }
    return n;
}

static starhalo_status_t run_two_sided(starhalo_mpi_exchange_t *ex, int reverse)
{
    int n;
    if (ex->transport == STARHALO_MPI_PERSISTENT) {
        n = reverse ? ex->nprev : ex->npfwd;
        MPI_Request *r = reverse ? ex->prev : ex->pfwd;
        if (n > 0 && (MPI_Startall(n, r) != MPI_SUCCESS ||
                      MPI_Waitall(n, r, MPI_STATUSES_IGNORE) != MPI_SUCCESS))
            return starhalo__error_set(STARHALO_ERR_MPI, "persistent exchange: MPI_Startall / "
                                                         "MPI_Waitall failed");
        return STARHALO_OK;
    }
    n = post(ex, reverse, MPI_Irecv, MPI_Isend, ex->reqs);
    if (n < 0 || MPI_Waitall(n, ex->reqs, MPI_STATUSES_IGNORE) != MPI_SUCCESS)
        return starhalo__error_set(STARHALO_ERR_MPI, "two-sided exchange: MPI_Irecv / MPI_Isend "
                                                     "/ MPI_Waitall failed");
    return STARHALO_OK;
}

/* ---- create / destroy ----------------------------------------------------------------- */

/* Local validation; the caller agrees on the result before any collective. */
static starhalo_status_t check_local(MPI_Comm comm, const starhalo_xfer_plan_t *plan,
                                     const int *part_rank, starhalo_dtype_t dtype,
                                     starhalo_mpi_transport_t transport)
{
    int size, *tag_ub = NULL, flag = 0;
    MPI_Comm_size(comm, &size);
    MPI_Comm_get_attr(comm, MPI_TAG_UB, &tag_ub, &flag);
    const int max_tag = flag && tag_ub ? (*tag_ub - 1) / 2 : 16383;
    STARHALO_REQUIRE(plan, STARHALO_ERR_INVALID_ARG, "MPI exchange: NULL plan");
    STARHALO_REQUIRE(starhalo_dtype_size(dtype) > 0, STARHALO_ERR_INVALID_ARG,
                     "MPI exchange: unknown dtype %d", (int)dtype);
    STARHALO_REQUIRE((int)transport >= 0 && (int)transport < STARHALO_MPI_NUM_TRANSPORTS,
                     STARHALO_ERR_INVALID_ARG, "MPI exchange: unknown transport %d",
                     (int)transport);
    const int64_t planes = starhalo_xfer_plan_planes(plan);
    for (int i = 0; i < starhalo_xfer_plan_num_peers(plan); i++) {
        const starhalo_peer_xfer_t *p = starhalo_xfer_plan_peer(plan, i);
        const int r = part_rank ? part_rank[p->peer] : p->peer;
        STARHALO_REQUIRE(r >= 0 && r < size, STARHALO_ERR_INVALID_ARG,
                         "MPI exchange: plan peer %d maps to rank %d, outside the "
                         "communicator's [0, %d)",
                         p->peer, r, size);
        STARHALO_REQUIRE(p->send_tag >= 0 && p->send_tag <= max_tag && p->recv_tag >= 0 &&
                             p->recv_tag <= max_tag,
                         STARHALO_ERR_TAGS_EXHAUSTED,
                         "MPI exchange: peer entry %d has tags %d/%d beyond %d", i, p->send_tag,
                         p->recv_tag, max_tag);
        STARHALO_REQUIRE(p->send_count * planes <= INT_MAX && p->recv_count * planes <= INT_MAX,
                         STARHALO_ERR_UNSUPPORTED,
                         "MPI exchange: a message to peer %d exceeds INT_MAX elements", p->peer);
    }
    return STARHALO_OK;
}

starhalo_status_t starhalo_mpi_exchange_create(MPI_Comm comm, const starhalo_xfer_plan_t *plan,
                                               const int *part_rank, starhalo_dtype_t dtype,
                                               starhalo_mpi_transport_t transport,
                                               starhalo_mpi_exchange_t **out)
{
    STARHALO_REQUIRE(out, STARHALO_ERR_INVALID_ARG, "MPI exchange: NULL output pointer");
    *out = NULL;
    STARHALO_REQUIRE(comm != MPI_COMM_NULL, STARHALO_ERR_INVALID_ARG,
                     "MPI exchange: comm is MPI_COMM_NULL");
    starhalo_status_t st = check_local(comm, plan, part_rank, dtype, transport);
    /* Same transport everywhere: agree on min and max in one reduction. */
    int tv[2] = {(int)transport, -(int)transport}, tall[2];
    if (MPI_Allreduce(tv, tall, 2, MPI_INT, MPI_MAX, comm) != MPI_SUCCESS)
        return starhalo__error_set(STARHALO_ERR_MPI, "MPI exchange: MPI_Allreduce failed");
    const starhalo_status_t all = starhalo__mpi_agree(comm, st);
    if (all != STARHALO_OK)
        /* The agreed (most negative) code everywhere; a failing rank keeps its own message. */
        return st != STARHALO_OK ? all
                                 : starhalo__error_set(all,
                                                       "MPI exchange: another rank rejected "
                                                       "its arguments (%s)",
                                                       starhalo_err_name(all));
    if (tall[0] != -tall[1])
        return starhalo__error_set(STARHALO_ERR_MISMATCH,
                                   "MPI exchange: ranks chose different transports (this rank: "
                                   "%s)",
                                   starhalo_mpi_transport_name(transport));

    starhalo_mpi_exchange_t *ex = calloc(1, sizeof *ex);
    STARHALO_REQUIRE(ex, STARHALO_ERR_NO_MEMORY, "MPI exchange: out of memory");
    ex->comm = MPI_COMM_NULL;
    ex->win = ex->cwin = MPI_WIN_NULL;
    ex->plan = plan;
    ex->dtype = dtype;
    ex->mtype = dtype == STARHALO_FLOAT32 ? MPI_FLOAT : MPI_DOUBLE;
    ex->esz = starhalo_dtype_size(dtype);
    ex->transport = transport;
    ex->npeers = starhalo_xfer_plan_num_peers(plan);
    ex->planes = starhalo_xfer_plan_planes(plan);
    ex->plane_size = starhalo_xfer_plan_plane_size(plan);
    const size_t np = (size_t)ex->npeers + 1;
    ex->peer_rank = calloc(np, sizeof *ex->peer_rank);
    ex->soff = calloc(np, sizeof *ex->soff);
    ex->roff = calloc(np, sizeof *ex->roff);
    ex->reqs = calloc(2 * np, sizeof *ex->reqs);
    ex->pfwd = calloc(2 * np, sizeof *ex->pfwd);
    ex->prev = calloc(2 * np, sizeof *ex->prev);
    ex->sidx = calloc(np, sizeof *ex->sidx);
    ex->ridx = calloc(np, sizeof *ex->ridx);
    int fail = !ex->sidx || !ex->ridx || !ex->peer_rank || !ex->soff || !ex->roff || !ex->reqs ||
               !ex->pfwd || !ex->prev;
    if (!fail) {
        for (int i = 0; i < ex->npeers; i++) {
            const starhalo_peer_xfer_t *p = starhalo_xfer_plan_peer(plan, i);
            ex->peer_rank[i] = part_rank ? part_rank[p->peer] : p->peer;
            ex->soff[i + 1] = ex->soff[i] + p->send_count * ex->planes;
            ex->roff[i + 1] = ex->roff[i] + p->recv_count * ex->planes;
            ex->nfwd_msgs_in += p->recv_count > 0;
            ex->nrev_msgs_in += p->send_count > 0;
            ex->sidx[i] = expand_short_runs(p->send_runs, p->nsend_runs, p->send_count);
            ex->ridx[i] = expand_short_runs(p->recv_runs, p->nrecv_runs, p->recv_count);
        }
        ex->stotal = ex->soff[ex->npeers];
        ex->rtotal = ex->roff[ex->npeers];
    }
    if (!fail && MPI_Comm_dup(comm, &ex->comm) != MPI_SUCCESS)
        fail = 2;
    if (!fail)
        MPI_Comm_rank(ex->comm, &ex->rank);
    if (!fail && (transport == STARHALO_MPI_TWO_SIDED || transport == STARHALO_MPI_PERSISTENT)) {
        ex->heap = malloc((size_t)(ex->stotal + ex->rtotal + 1) * ex->esz);
        fail = !ex->heap;
        ex->sbuf = ex->heap;
        ex->rbuf = ex->heap + (size_t)ex->stotal * ex->esz;
    }
    /* Window creation is collective: agree first so no rank waits alone. */
    MPI_Comm agree_comm = ex->comm != MPI_COMM_NULL ? ex->comm : comm;
    st = starhalo__mpi_agree(agree_comm, fail ? STARHALO_ERR_NO_MEMORY : STARHALO_OK);
    if (st == STARHALO_OK && transport == STARHALO_MPI_PERSISTENT) {
        ex->npfwd = post(ex, 0, MPI_Recv_init, MPI_Send_init, ex->pfwd);
        ex->nprev = post(ex, 1, MPI_Recv_init, MPI_Send_init, ex->prev);
        st = starhalo__mpi_agree(ex->comm,
                                 ex->npfwd < 0 || ex->nprev < 0 ? STARHALO_ERR_MPI : STARHALO_OK);
    } else if (st == STARHALO_OK &&
               (transport == STARHALO_MPI_RMA_FENCE || transport == STARHALO_MPI_RMA_LOCK)) {
        st = starhalo__rma_setup(ex);
    }
    if (st != STARHALO_OK) {
        if (ex->npfwd < 0)
            ex->npfwd = 0;
        if (ex->nprev < 0)
            ex->nprev = 0;
        starhalo_mpi_exchange_destroy(ex);
        return starhalo__error_set(st,
                                   "MPI exchange: creating the %s executor failed on some "
                                   "rank (%s)",
                                   starhalo_mpi_transport_name(transport), starhalo_err_name(st));
    }
    *out = ex;
    return STARHALO_OK;
}

starhalo_status_t starhalo_mpi_exchange_update(starhalo_mpi_exchange_t *ex, void *array)
{
    STARHALO_REQUIRE(ex && (array || ex->plane_size * ex->planes == 0), STARHALO_ERR_INVALID_ARG,
                     "MPI exchange update: NULL argument");
    if (ex->transport == STARHALO_MPI_RMA_FENCE || ex->transport == STARHALO_MPI_RMA_LOCK)
        return starhalo__rma_update(ex, array);
    starhalo__mx_pack_fwd(ex, array);
    STARHALO_CHECK(run_two_sided(ex, 0));
    starhalo__mx_unpack_fwd(ex, array);
    return STARHALO_OK;
}

starhalo_status_t starhalo_mpi_exchange_update_by_halo(starhalo_mpi_exchange_t *ex, void *array,
                                                       starhalo_reduce_op_t op)
{
    STARHALO_REQUIRE(ex && (array || ex->plane_size * ex->planes == 0), STARHALO_ERR_INVALID_ARG,
                     "MPI exchange update_by_halo: NULL argument");
    STARHALO_REQUIRE(op >= STARHALO_REDUCE_REPLACE && op <= STARHALO_REDUCE_MIN,
                     STARHALO_ERR_INVALID_ARG, "MPI exchange update_by_halo: unknown op %d",
                     (int)op);
    if (ex->transport == STARHALO_MPI_RMA_FENCE || ex->transport == STARHALO_MPI_RMA_LOCK)
        return starhalo__rma_update_by_halo(ex, array, op);
    starhalo__mx_pack_rev(ex, array);
    STARHALO_CHECK(run_two_sided(ex, 1));
    starhalo__mx_unpack_rev(ex, array, op);
    return STARHALO_OK;
}

void starhalo_mpi_exchange_destroy(starhalo_mpi_exchange_t *ex)
{
    if (!ex)
        return;
    for (int i = 0; i < ex->npfwd; i++)
        MPI_Request_free(&ex->pfwd[i]);
    for (int i = 0; i < ex->nprev; i++)
        MPI_Request_free(&ex->prev[i]);
    starhalo__rma_teardown(ex);
    if (ex->comm != MPI_COMM_NULL)
        MPI_Comm_free(&ex->comm);
    free(ex->peer_rank);
    free(ex->soff);
    free(ex->roff);
    free(ex->reqs);
    free(ex->pfwd);
    free(ex->prev);
    for (int i = 0; ex->sidx && ex->ridx && i < ex->npeers; i++) {
        free(ex->sidx[i]);
        free(ex->ridx[i]);
    }
    free(ex->sidx);
    free(ex->ridx);
    free(ex->heap);
    free(ex);
}
