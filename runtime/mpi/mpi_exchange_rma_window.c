/* SPDX-License-Identifier: MIT */
/**
 * @file mpi_exchange_rma_window.c
 * @brief The window of both RMA transports: every rank allocates one window [recv_buf |
 * send_buf]; forward messages land in the target's recv_buf segment of the matching entry,
 * reverse messages in its send_buf segment. Where each message lands is exchanged once at
 * creation (two-sided, tag-matched per entry, so a peer reached twice with different tags
 * stays distinct).
 */
#include <stdlib.h>
#include <string.h>

#include "mpi_exchange_rma.h"

/* What this rank tells a peer about one entry and way: where the message lands here, and
 * which of this rank's counters the peer credits (RMA_LOCK). */
struct landing {
    int64_t disp;
    int64_t credit_slot;
};

/* Messages of the landing exchange: entry i's forward target learns where reverse data lands
 * here (my send_buf), its forward source where forward data lands (my recv_buf); each replies
 * likewise. The tags are the entry's message tags, so they match as the data messages do. */
static int landing_messages(const starhalo_mpi_exchange_t *ex, int credit_base,
                            struct landing *mine, struct landing *theirs, mx_message_t *msgs)
{
    const int n = ex->nentries;
    int k = 0;
    for (int i = 0; i < n; i++)
        for (int reverse = 0; reverse < 2; reverse++) {
            /* Forward target (reverse = 0: I send forward) / forward source (reverse = 1). */
            if (starhalo__mx_out_elems(ex, reverse, i) == 0)
                continue;
            struct landing *m = &mine[2 * i + reverse];
            m->disp = reverse ? ex->recv_offset[i] : ex->recv_total + ex->send_offset[i];
            m->credit_slot = credit_base + (reverse ? n : 0) + i;
            msgs[k++] = (mx_message_t){.peer = ex->entry_rank[i],
                                       .tag = starhalo__mx_out_tag(ex, reverse, i),
                                       .is_send = 1,
                                       .buf = m,
                                       .bytes = sizeof *m};
            msgs[k++] = (mx_message_t){.peer = ex->entry_rank[i],
                                       .tag = starhalo__mx_in_tag(ex, !reverse, i),
                                       .is_send = 0,
                                       .buf = &theirs[2 * i + reverse],
                                       .bytes = sizeof *m};
        }
    return k;
}

static starhalo_status_t exchange_landing(const starhalo_mpi_exchange_t *ex,
                                          struct mx_rma_window *w, int credit_base)
{
    const size_t n = (size_t)ex->nentries;
    struct landing *mine = calloc(2 * n + 1, sizeof *mine);
    struct landing *theirs = calloc(2 * n + 1, sizeof *theirs);
    mx_message_t *msgs = calloc(4 * n + 1, sizeof *msgs);
    mx_requests_t set = {0};
    starhalo_status_t st = STARHALO_ERR_NO_MEMORY;
    if (mine && theirs && msgs) {
        const int nmsgs = landing_messages(ex, credit_base, mine, theirs, msgs);
        st = starhalo__mx_requests_init(&set, ex->comm, MPI_BYTE, msgs, nmsgs,
                                        MX_REQUESTS_IMMEDIATE);
        if (st == STARHALO_OK) {
            const starhalo_status_t started = starhalo__mx_requests_start_all(&set);
            st = starhalo__mx_requests_wait(&set);
            st = started != STARHALO_OK ? started : st;
        }
    } else {
        starhalo_error_set(st, "MPI exchange: out of memory");
    }
    for (size_t i = 0; st == STARHALO_OK && i < n; i++) {
        w->fwd_disp[i] = theirs[2 * i].disp; /* from my forward target */
        w->rev_credit_slot[i] = (int)theirs[2 * i].credit_slot;
        w->rev_disp[i] = theirs[2 * i + 1].disp; /* from my forward source */
        w->fwd_credit_slot[i] = (int)theirs[2 * i + 1].credit_slot;
    }
    starhalo__mx_requests_free(&set);
    free(mine);
    free(theirs);
    free(msgs);
    return starhalo__agree_status(ex->comm, st, 0, "RMA landing exchange");
}

starhalo_status_t starhalo__mx_rma_window_setup(starhalo_mpi_exchange_t *ex,
                                                struct mx_rma_window *w, int credit_base)
{
    const size_t np = (size_t)ex->nentries + 1;
    w->win = MPI_WIN_NULL;
    w->fwd_disp = calloc(np, sizeof *w->fwd_disp);
    w->rev_disp = calloc(np, sizeof *w->rev_disp);
    w->fwd_credit_slot = calloc(np, sizeof *w->fwd_credit_slot);
    w->rev_credit_slot = calloc(np, sizeof *w->rev_credit_slot);
    const int ok = w->fwd_disp && w->rev_disp && w->fwd_credit_slot && w->rev_credit_slot;
    STARHALO_CHECK(starhalo__agree_status(
        ex->comm,
        ok ? STARHALO_OK
           : starhalo_error_set(STARHALO_ERR_NO_MEMORY, "MPI exchange: out of memory"),
        0, "RMA window setup"));

    void *base = NULL;
    const MPI_Aint bytes = (MPI_Aint)((size_t)(ex->recv_total + ex->send_total) * ex->elem_size);
    int rc = MPI_Win_allocate(bytes, (int)ex->elem_size, MPI_INFO_NULL, ex->comm, &base, &w->win);
    if (rc == MPI_SUCCESS)
        rc = MPI_Win_set_errhandler(w->win, MPI_ERRORS_RETURN);
    const starhalo_status_t st =
        rc == MPI_SUCCESS
            ? STARHALO_OK
            : starhalo__mpi_error(rc, "MPI_Win_allocate of %lld bytes", (long long)bytes);
    STARHALO_CHECK(starhalo__agree_status(ex->comm, st, 0, "RMA window"));
    ex->recv_buf = base;
    ex->send_buf = (char *)base + (size_t)ex->recv_total * ex->elem_size;
    return exchange_landing(ex, w, credit_base);
}

void starhalo__mx_rma_window_teardown(struct mx_rma_window *w)
{
    if (w->win != MPI_WIN_NULL)
        MPI_Win_free(&w->win);
    free(w->fwd_disp);
    free(w->rev_disp);
    free(w->fwd_credit_slot);
    free(w->rev_credit_slot);
}

int starhalo__mx_rma_put(const starhalo_mpi_exchange_t *ex, const struct mx_rma_window *w,
                         int reverse, int i, int accumulate)
{
    const int count = (int)starhalo__mx_out_elems(ex, reverse, i);
    char *src = starhalo__mx_out_buf(ex, reverse, i);
    const MPI_Aint disp = (MPI_Aint)(reverse ? w->rev_disp[i] : w->fwd_disp[i]);
    if (accumulate)
        return MPI_Accumulate(src, count, ex->elem_type, ex->entry_rank[i], disp, count,
                              ex->elem_type, MPI_SUM, w->win);
    return MPI_Put(src, count, ex->elem_type, ex->entry_rank[i], disp, count, ex->elem_type,
                   w->win);
}

int starhalo__mx_rma_prepare_accumulate(const starhalo_mpi_exchange_t *ex, int reverse,
                                        starhalo_reduce_op_t op)
{
    if (!reverse || op != STARHALO_REDUCE_SUM)
        return 0;
    memset(ex->send_buf, 0, (size_t)ex->send_total * ex->elem_size);
    return 1;
}
