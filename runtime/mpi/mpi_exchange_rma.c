/* SPDX-License-Identifier: MIT */
/**
 * @file mpi_exchange_rma.c
 * @brief One-sided transports of the plain-MPI executor: MPI_Put between fences, and MPI_Put
 * under a permanent passive-target lock_all with counter-based notification.
 *
 * Every rank allocates one window [rbuf | sbuf]: forward messages land in the target's rbuf
 * segment of the matching entry, reverse messages in its sbuf segment. Where each message
 * lands is exchanged once at creation (two-sided, tag-matched per entry, so a peer reached
 * twice with different tags stays distinct).
 *
 * RMA_LOCK notification (no barrier, no two-sided message per call): a counter window holds,
 * per rank, [forward arrivals, reverse arrivals, one credit slot per entry and direction].
 * Call k of a direction:
 *   1. each target adds 1 to the credit slot its source keeps for it ("my buffer is free":
 *      the target finished unpacking call k - 1, since it is in call k);
 *   2. each source waits for credit >= k, MPI_Put (or MPI_Accumulate for SUM), MPI_Win_flush
 *      (the data is complete at the target), then adds 1 to the target's arrival counter;
 *   3. each target waits for arrivals >= k * (messages per call), MPI_Win_sync, unpacks.
 * Credits stop a fast source from overwriting a buffer the target is still reading; counters
 * only grow, so no reset races. Counters are read with MPI_Fetch_and_op(MPI_NO_OP), which is
 * atomic with respect to the remote MPI_Accumulate increments.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "index_mpi_internal.h"

static int is_rma(const starhalo_mpi_exchange_t *ex)
{
    return ex->transport == STARHALO_MPI_RMA_FENCE || ex->transport == STARHALO_MPI_RMA_LOCK;
}

/* Tell each peer where its messages land here and which credit slot to bump there. */
static starhalo_status_t exchange_landing(starhalo_mpi_exchange_t *ex)
{
    const int n = ex->npeers;
    int64_t *outv = calloc((size_t)(4 * n + 1), sizeof *outv);
    int64_t *inv = calloc((size_t)(4 * n + 1), sizeof *inv);
    MPI_Request *reqs = calloc((size_t)(4 * n + 1), sizeof *reqs);
    int nr = 0, fail = !outv || !inv || !reqs;
    for (int i = 0; i < n && !fail; i++) {
        const starhalo_peer_xfer_t *p = starhalo_xfer_plan_peer(ex->plan, i);
        const int pr = ex->peer_rank[i];
        if (p->send_count > 0) {
            /* To my forward target: land reverse data in my sbuf; credit my slot. */
            outv[4 * i] = ex->rtotal + ex->soff[i];
            outv[4 * i + 1] = STARHALO__CTR_CREDITS + i;
            fail |= MPI_Isend(&outv[4 * i], 2, MPI_INT64_T, pr, 2 * p->send_tag, ex->comm,
                              &reqs[nr++]) != MPI_SUCCESS;
            fail |= MPI_Irecv(&inv[4 * i], 2, MPI_INT64_T, pr, 2 * p->send_tag + 1, ex->comm,
                              &reqs[nr++]) != MPI_SUCCESS;
        }
        if (p->recv_count > 0) {
            /* To my forward source: land forward data in my rbuf; credit my reverse slot. */
            outv[4 * i + 2] = ex->roff[i];
            outv[4 * i + 3] = STARHALO__CTR_CREDITS + n + i;
            fail |= MPI_Isend(&outv[4 * i + 2], 2, MPI_INT64_T, pr, 2 * p->recv_tag + 1, ex->comm,
                              &reqs[nr++]) != MPI_SUCCESS;
            fail |= MPI_Irecv(&inv[4 * i + 2], 2, MPI_INT64_T, pr, 2 * p->recv_tag, ex->comm,
                              &reqs[nr++]) != MPI_SUCCESS;
        }
    }
    if (!fail && MPI_Waitall(nr, reqs, MPI_STATUSES_IGNORE) != MPI_SUCCESS)
        fail = 1;
    for (int i = 0; i < n && !fail; i++) {
        ex->fwd_disp[i] = inv[4 * i]; /* from my forward target */
        ex->rev_credit_slot[i] = (int)inv[4 * i + 1];
        ex->rev_disp[i] = inv[4 * i + 2]; /* from my forward source */
        ex->fwd_credit_slot[i] = (int)inv[4 * i + 3];
    }
    free(outv);
    free(inv);
    free(reqs);
    return starhalo__mpi_agree(ex->comm, fail ? STARHALO_ERR_MPI : STARHALO_OK);
}

starhalo_status_t starhalo__rma_setup(starhalo_mpi_exchange_t *ex)
{
    const size_t np = (size_t)ex->npeers + 1;
    ex->fwd_disp = calloc(np, sizeof *ex->fwd_disp);
    ex->rev_disp = calloc(np, sizeof *ex->rev_disp);
    ex->fwd_credit_slot = calloc(np, sizeof *ex->fwd_credit_slot);
    ex->rev_credit_slot = calloc(np, sizeof *ex->rev_credit_slot);
    int fail = !ex->fwd_disp || !ex->rev_disp || !ex->fwd_credit_slot || !ex->rev_credit_slot;
    STARHALO_CHECK(starhalo__mpi_agree(ex->comm, fail ? STARHALO_ERR_NO_MEMORY : STARHALO_OK));

    void *base = NULL;
    const MPI_Aint bytes = (MPI_Aint)((size_t)(ex->rtotal + ex->stotal) * ex->esz);
    if (MPI_Win_allocate(bytes, (int)ex->esz, MPI_INFO_NULL, ex->comm, &base, &ex->win) !=
        MPI_SUCCESS)
        return starhalo__error_set(STARHALO_ERR_MPI, "MPI exchange: MPI_Win_allocate failed");
    ex->rbuf = base;
    ex->sbuf = (char *)base + (size_t)ex->rtotal * ex->esz;
    STARHALO_CHECK(exchange_landing(ex));
    if (ex->transport != STARHALO_MPI_RMA_LOCK)
        return STARHALO_OK;

    const MPI_Aint nctr = STARHALO__CTR_CREDITS + 2 * (MPI_Aint)ex->npeers;
    void *cbase = NULL;
    if (MPI_Win_allocate(nctr * (MPI_Aint)sizeof(int64_t), sizeof(int64_t), MPI_INFO_NULL, ex->comm,
                         &cbase, &ex->cwin) != MPI_SUCCESS)
        return starhalo__error_set(STARHALO_ERR_MPI, "MPI exchange: MPI_Win_allocate failed");
    ex->ctr = cbase;
    memset(ex->ctr, 0, (size_t)nctr * sizeof(int64_t));
    /* Nobody may bump a counter before its owner zeroed it. */
    if (MPI_Barrier(ex->comm) != MPI_SUCCESS ||
        MPI_Win_lock_all(MPI_MODE_NOCHECK, ex->win) != MPI_SUCCESS ||
        MPI_Win_lock_all(MPI_MODE_NOCHECK, ex->cwin) != MPI_SUCCESS)
        return starhalo__error_set(STARHALO_ERR_MPI, "MPI exchange: MPI_Win_lock_all failed");
    return STARHALO_OK;
}

void starhalo__rma_teardown(starhalo_mpi_exchange_t *ex)
{
    if (ex->transport == STARHALO_MPI_RMA_LOCK && ex->ctr) {
        MPI_Win_unlock_all(ex->win);
        MPI_Win_unlock_all(ex->cwin);
    }
    if (ex->cwin != MPI_WIN_NULL)
        MPI_Win_free(&ex->cwin);
    if (ex->win != MPI_WIN_NULL)
        MPI_Win_free(&ex->win);
    free(ex->fwd_disp);
    free(ex->rev_disp);
    free(ex->fwd_credit_slot);
    free(ex->rev_credit_slot);
}

/* One direction's data movement. Forward: sbuf segment i -> peer's fwd_disp[i]; reverse:
 * rbuf segment i -> peer's rev_disp[i], with MPI_Accumulate(SUM) when summing. */
static int move(starhalo_mpi_exchange_t *ex, int reverse, int i, int accumulate)
{
    const starhalo_peer_xfer_t *p = starhalo_xfer_plan_peer(ex->plan, i);
    const int64_t count = (reverse ? p->recv_count : p->send_count) * ex->planes;
    char *src = reverse ? ex->rbuf + (size_t)ex->roff[i] * ex->esz
                        : ex->sbuf + (size_t)ex->soff[i] * ex->esz;
    const MPI_Aint disp = (MPI_Aint)(reverse ? ex->rev_disp[i] : ex->fwd_disp[i]);
    if (accumulate)
        return MPI_Accumulate(src, (int)count, ex->mtype, ex->peer_rank[i], disp, (int)count,
                              ex->mtype, MPI_SUM, ex->win);
    return MPI_Put(src, (int)count, ex->mtype, ex->peer_rank[i], disp, (int)count, ex->mtype,
                   ex->win);
}

/* Does entry i send a message in this direction? */
static int sends(const starhalo_mpi_exchange_t *ex, int reverse, int i)
{
    const starhalo_peer_xfer_t *p = starhalo_xfer_plan_peer(ex->plan, i);
    return (reverse ? p->recv_count : p->send_count) > 0;
}

static int receives(const starhalo_mpi_exchange_t *ex, int reverse, int i)
{
    return sends(ex, !reverse, i);
}

static starhalo_status_t fence_move(starhalo_mpi_exchange_t *ex, int reverse, int accumulate)
{
    int rc = MPI_Win_fence(MPI_MODE_NOPRECEDE, ex->win);
    for (int i = 0; i < ex->npeers && rc == MPI_SUCCESS; i++)
        if (sends(ex, reverse, i))
            rc = move(ex, reverse, i, accumulate);
    if (rc == MPI_SUCCESS)
        rc = MPI_Win_fence(MPI_MODE_NOSUCCEED, ex->win);
    return rc == MPI_SUCCESS ? STARHALO_OK
                             : starhalo__error_set(STARHALO_ERR_MPI, "rma-fence exchange: "
                                                                     "MPI_Put / MPI_Win_fence "
                                                                     "failed");
}

static int64_t read_counter(starhalo_mpi_exchange_t *ex, int slot)
{
    int64_t v = 0;
    MPI_Fetch_and_op(NULL, &v, MPI_INT64_T, ex->rank, slot, MPI_NO_OP, ex->cwin);
    MPI_Win_flush(ex->rank, ex->cwin);
    return v;
}

/* Poll a counter of this rank until it reaches @p target. After a short spin, yield the core:
 * with more ranks than cores (tests, CI) the rank we wait for may need it. */
static void wait_counter(starhalo_mpi_exchange_t *ex, int slot, int64_t target)
{
    for (int spins = 0; read_counter(ex, slot) < target; spins++)
        if (spins >= 64)
            sched_yield();
}

static int bump(starhalo_mpi_exchange_t *ex, int rank, int slot)
{
    static const int64_t one = 1;
    return MPI_Accumulate(&one, 1, MPI_INT64_T, rank, slot, 1, MPI_INT64_T, MPI_SUM, ex->cwin);
}

static starhalo_status_t lock_grant(starhalo_mpi_exchange_t *ex, int reverse)
{
    int rc = MPI_SUCCESS;
    for (int i = 0; i < ex->npeers && rc == MPI_SUCCESS; i++)
        if (receives(ex, reverse, i))
            rc = bump(ex, ex->peer_rank[i],
                      reverse ? ex->rev_credit_slot[i] : ex->fwd_credit_slot[i]);
    if (rc == MPI_SUCCESS)
        rc = MPI_Win_flush_all(ex->cwin);
    return rc == MPI_SUCCESS ? STARHALO_OK
                             : starhalo__error_set(STARHALO_ERR_MPI, "rma-lock exchange: granting "
                                                                     "credits failed");
}

static starhalo_status_t lock_move(starhalo_mpi_exchange_t *ex, int reverse, int accumulate)
{
    const int64_t k = reverse ? ex->nrev_calls : ex->nfwd_calls;
    int rc = MPI_SUCCESS;
    for (int i = 0; i < ex->npeers && rc == MPI_SUCCESS; i++) {
        if (!sends(ex, reverse, i))
            continue;
        const int slot = STARHALO__CTR_CREDITS + (reverse ? ex->npeers : 0) + i;
        wait_counter(ex, slot, k);
        rc = move(ex, reverse, i, accumulate);
    }
    if (rc == MPI_SUCCESS)
        rc = MPI_Win_flush_all(ex->win);
    const int arrived = reverse ? STARHALO__CTR_REV_ARRIVED : STARHALO__CTR_FWD_ARRIVED;
    for (int i = 0; i < ex->npeers && rc == MPI_SUCCESS; i++)
        if (sends(ex, reverse, i))
            rc = bump(ex, ex->peer_rank[i], arrived);
    if (rc == MPI_SUCCESS)
        rc = MPI_Win_flush_all(ex->cwin);
    if (rc != MPI_SUCCESS)
        return starhalo__error_set(STARHALO_ERR_MPI, "rma-lock exchange: MPI_Put / "
                                                     "MPI_Accumulate / MPI_Win_flush failed");
    const int64_t expect = k * (reverse ? ex->nrev_msgs_in : ex->nfwd_msgs_in);
    wait_counter(ex, arrived, expect);
    MPI_Win_sync(ex->win);
    return STARHALO_OK;
}

starhalo_status_t starhalo__rma_update(starhalo_mpi_exchange_t *ex, void *array)
{
    if (!is_rma(ex))
        return starhalo__error_set(STARHALO_ERR_INTERNAL, "rma update on a non-RMA executor");
    if (ex->transport == STARHALO_MPI_RMA_LOCK) {
        ex->nfwd_calls++;
        STARHALO_CHECK(lock_grant(ex, 0));
        MPI_Win_sync(ex->win);
        starhalo__mx_pack_fwd(ex, array);
        STARHALO_CHECK(lock_move(ex, 0, 0));
    } else {
        starhalo__mx_pack_fwd(ex, array);
        STARHALO_CHECK(fence_move(ex, 0, 0));
    }
    starhalo__mx_unpack_fwd(ex, array);
    return STARHALO_OK;
}

starhalo_status_t starhalo__rma_update_by_halo(starhalo_mpi_exchange_t *ex, void *array,
                                               starhalo_reduce_op_t op)
{
    if (!is_rma(ex))
        return starhalo__error_set(STARHALO_ERR_INTERNAL, "rma update on a non-RMA executor");
    /* SUM lands through MPI_Accumulate into a zeroed sbuf; the other ops are plain puts (each
     * segment has exactly one writer) and are combined while unpacking. */
    const int accumulate = op == STARHALO_REDUCE_SUM;
    if (ex->transport == STARHALO_MPI_RMA_LOCK) {
        ex->nrev_calls++;
        MPI_Win_sync(ex->win);
        if (accumulate)
            memset(ex->sbuf, 0, (size_t)ex->stotal * ex->esz);
        MPI_Win_sync(ex->win);
        STARHALO_CHECK(lock_grant(ex, 1));
        starhalo__mx_pack_rev(ex, array);
        STARHALO_CHECK(lock_move(ex, 1, accumulate));
    } else {
        if (accumulate)
            memset(ex->sbuf, 0, (size_t)ex->stotal * ex->esz);
        starhalo__mx_pack_rev(ex, array);
        STARHALO_CHECK(fence_move(ex, 1, accumulate));
    }
    starhalo__mx_unpack_rev(ex, array, op);
    return STARHALO_OK;
}
