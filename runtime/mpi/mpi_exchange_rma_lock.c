/* SPDX-License-Identifier: MIT */
/**
 * @file mpi_exchange_rma_lock.c
 * @brief RMA_LOCK: MPI_Put under a permanent passive-target lock_all with counter-based
 * notification (no barrier, no two-sided message per call).
 *
 * A counter window holds, per rank, [forward arrivals, reverse arrivals, one credit slot per
 * entry and direction]. Call k of a direction:
 *   1. each target adds 1 to the credit slot its source keeps for it ("my buffer is free":
 *      the target finished unpacking call k - 1, since it is in call k);
 *   2. each source waits for credit >= k, MPI_Put (or MPI_Accumulate for SUM), MPI_Win_flush
 *      (the data is complete at the target), then adds 1 to the target's arrival counter;
 *   3. each target waits for arrivals >= k * (messages per call), MPI_Win_sync, unpacks.
 * Credits stop a fast source from overwriting a buffer the target is still reading; counters
 * only grow, so no reset races. Counters are read with MPI_Fetch_and_op(MPI_NO_OP), which is
 * atomic with respect to the remote MPI_Accumulate increments.
 *
 * Errors: a failed put still counts as an arrival at its target (that message's data is then
 * undefined there for this call), so that no peer waits forever for a notification; the rank
 * that saw the error returns it. A counter that cannot be read ends the wait with the error.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_exchange_rma.h"

/** Counter slots of a rank (int64 each). */
enum { ARRIVED_FWD = 0, ARRIVED_REV = 1, FIRST_CREDIT = 2 };

struct rma_lock_state {
    struct mx_rma_window data; /**< the messages' window */
    MPI_Win counter_win;       /**< the counters of every rank */
    int64_t *counters;         /**< this rank's counters (inside counter_win) */
    int locked;                /**< both windows are under lock_all */
    int msgs_in[2];            /**< messages arriving per [forward, reverse] call */
    int64_t calls[2];          /**< calls so far per direction */
};

static starhalo_status_t lock_windows(starhalo_mpi_exchange_t *ex, struct rma_lock_state *s)
{
    const MPI_Aint ncounters = FIRST_CREDIT + 2 * (MPI_Aint)ex->nentries;
    void *base = NULL;
    int rc = MPI_Win_allocate(ncounters * (MPI_Aint)sizeof(int64_t), sizeof(int64_t), MPI_INFO_NULL,
                              ex->comm, &base, &s->counter_win);
    if (rc == MPI_SUCCESS)
        rc = MPI_Win_set_errhandler(s->counter_win, MPI_ERRORS_RETURN);
    starhalo_status_t st = rc == MPI_SUCCESS
                               ? STARHALO_OK
                               : starhalo__mpi_error(rc, "rma-lock: MPI_Win_allocate of the "
                                                         "counters");
    STARHALO_CHECK(starhalo__agree_status(ex->comm, st, 0, "RMA counter window"));
    s->counters = base;
    memset(s->counters, 0, (size_t)ncounters * sizeof(int64_t));
    /* Nobody may bump a counter before its owner zeroed it. */
    rc = MPI_Barrier(ex->comm);
    if (rc == MPI_SUCCESS)
        rc = MPI_Win_lock_all(MPI_MODE_NOCHECK, s->data.win);
    if (rc == MPI_SUCCESS) {
        rc = MPI_Win_lock_all(MPI_MODE_NOCHECK, s->counter_win);
        if (rc != MPI_SUCCESS)
            MPI_Win_unlock_all(s->data.win);
    }
    s->locked = rc == MPI_SUCCESS;
    st = s->locked ? STARHALO_OK : starhalo__mpi_error(rc, "rma-lock: MPI_Win_lock_all");
    return starhalo__agree_status(ex->comm, st, 0, "RMA locks");
}

static starhalo_status_t setup(starhalo_mpi_exchange_t *ex, void **state)
{
    struct rma_lock_state *s = calloc(1, sizeof *s);
    *state = s;
    if (s)
        s->data.win = s->counter_win = MPI_WIN_NULL; /* for teardown after a failure */
    const starhalo_status_t st =
        s ? STARHALO_OK : starhalo_error_set(STARHALO_ERR_NO_MEMORY, "MPI exchange: out of memory");
    STARHALO_CHECK(starhalo__agree_status(ex->comm, st, 0, "transport setup"));
    for (int i = 0; i < ex->nentries; i++)
        for (int reverse = 0; reverse < 2; reverse++)
            s->msgs_in[reverse] += starhalo__mx_in_elems(ex, reverse, i) > 0;
    STARHALO_CHECK(starhalo__mx_rma_window_setup(ex, &s->data, FIRST_CREDIT));
    return lock_windows(ex, s);
}

static void teardown(starhalo_mpi_exchange_t *ex, void *state)
{
    struct rma_lock_state *s = state;
    (void)ex;
    if (!s)
        return;
    if (s->locked) {
        MPI_Win_unlock_all(s->data.win);
        MPI_Win_unlock_all(s->counter_win);
    }
    if (s->counter_win != MPI_WIN_NULL)
        MPI_Win_free(&s->counter_win);
    starhalo__mx_rma_window_teardown(&s->data);
    free(s);
}

static int read_counter(starhalo_mpi_exchange_t *ex, struct rma_lock_state *s, int slot,
                        int64_t *value)
{
    const int rc =
        MPI_Fetch_and_op(NULL, value, MPI_INT64_T, ex->rank, slot, MPI_NO_OP, s->counter_win);
    return rc == MPI_SUCCESS ? MPI_Win_flush(ex->rank, s->counter_win) : rc;
}

/* Poll a counter of this rank until it reaches @p target. After a short spin, yield the core:
 * with more ranks than cores (tests, CI) the rank we wait for may need it. */
static starhalo_status_t wait_counter(starhalo_mpi_exchange_t *ex, struct rma_lock_state *s,
                                      int slot, int64_t target)
{
    for (int spins = 0;; spins++) {
        int64_t value = 0;
        STARHALO_CHECK_MPI(read_counter(ex, s, slot, &value),
                           "rma-lock: reading counter %d (MPI_Fetch_and_op)", slot);
        if (value >= target)
            return STARHALO_OK;
        if (spins >= 64)
            sched_yield();
    }
}

static int bump(const struct rma_lock_state *s, int rank, int slot)
{
    static const int64_t one = 1;
    return MPI_Accumulate(&one, 1, MPI_INT64_T, rank, slot, 1, MPI_INT64_T, MPI_SUM,
                          s->counter_win);
}

/* Step 1: credit each source of this direction. */
static starhalo_status_t grant(starhalo_mpi_exchange_t *ex, struct rma_lock_state *s, int reverse)
{
    for (int i = 0; i < ex->nentries; i++)
        if (starhalo__mx_in_elems(ex, reverse, i) > 0)
            STARHALO_CHECK_MPI(
                bump(s, ex->entry_rank[i],
                     reverse ? s->data.rev_credit_slot[i] : s->data.fwd_credit_slot[i]),
                "rma-lock: crediting rank %d (MPI_Accumulate)", ex->entry_rank[i]);
    STARHALO_CHECK_MPI(MPI_Win_flush_all(s->counter_win), "rma-lock: MPI_Win_flush_all");
    return STARHALO_OK;
}

/* Steps 2 and 3. The first put error is kept and returned after the arrivals are signalled. */
static starhalo_status_t move(starhalo_mpi_exchange_t *ex, struct rma_lock_state *s, int reverse,
                              int accumulate)
{
    const int64_t k = s->calls[reverse];
    starhalo_status_t st = STARHALO_OK;
    for (int i = 0; i < ex->nentries; i++) {
        if (starhalo__mx_out_elems(ex, reverse, i) == 0)
            continue;
        STARHALO_CHECK(wait_counter(ex, s, FIRST_CREDIT + (reverse ? ex->nentries : 0) + i, k));
        const int rc = starhalo__mx_rma_put(ex, &s->data, reverse, i, accumulate);
        if (rc != MPI_SUCCESS && st == STARHALO_OK)
            st = starhalo__mpi_error(rc, "rma-lock: %s to rank %d",
                                     accumulate ? "MPI_Accumulate" : "MPI_Put", ex->entry_rank[i]);
    }
    int rc = MPI_Win_flush_all(s->data.win);
    if (rc != MPI_SUCCESS && st == STARHALO_OK)
        st = starhalo__mpi_error(rc, "rma-lock: MPI_Win_flush_all of the messages");
    const int arrived = reverse ? ARRIVED_REV : ARRIVED_FWD;
    for (int i = 0; i < ex->nentries; i++)
        if (starhalo__mx_out_elems(ex, reverse, i) > 0)
            STARHALO_CHECK_MPI(bump(s, ex->entry_rank[i], arrived),
                               "rma-lock: notifying rank %d (MPI_Accumulate)", ex->entry_rank[i]);
    STARHALO_CHECK_MPI(MPI_Win_flush_all(s->counter_win), "rma-lock: MPI_Win_flush_all");
    STARHALO_CHECK(wait_counter(ex, s, arrived, k * s->msgs_in[reverse]));
    STARHALO_CHECK_MPI(MPI_Win_sync(s->data.win), "rma-lock: MPI_Win_sync");
    return st;
}

static starhalo_status_t update(starhalo_mpi_exchange_t *ex, void *state, void *array, int reverse,
                                starhalo_reduce_op_t op)
{
    struct rma_lock_state *s = state;
    s->calls[reverse]++;
    int accumulate = 0;
    if (reverse) {
        /* This rank's puts of the last forward call are complete before send_buf is zeroed. */
        STARHALO_CHECK_MPI(MPI_Win_sync(s->data.win), "rma-lock: MPI_Win_sync");
        accumulate = starhalo__mx_rma_prepare_accumulate(ex, reverse, op);
        STARHALO_CHECK_MPI(MPI_Win_sync(s->data.win), "rma-lock: MPI_Win_sync");
        STARHALO_CHECK(grant(ex, s, reverse));
    } else {
        STARHALO_CHECK(grant(ex, s, reverse));
        STARHALO_CHECK_MPI(MPI_Win_sync(s->data.win), "rma-lock: MPI_Win_sync");
    }
    starhalo__mx_pack(ex, reverse, array);
    STARHALO_CHECK(move(ex, s, reverse, accumulate));
    starhalo__mx_unpack(ex, reverse, array, op);
    return STARHALO_OK;
}

const struct mx_transport_ops starhalo__mx_rma_lock_ops = {
    .transport = STARHALO_MPI_RMA_LOCK,
    .setup = setup,
    .update = update,
    .teardown = teardown,
};
