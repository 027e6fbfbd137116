/* SPDX-License-Identifier: MIT */
/**
 * @file mpi_exchange_rma.h
 * @brief The window both RMA transports of the plain-MPI executor share
 * (mpi_exchange_rma_window.c): one window [recv_buf | send_buf] per rank, and where each of
 * this rank's messages lands at its peer.
 */
#ifndef STARHALO_MPI_EXCHANGE_RMA_H
#define STARHALO_MPI_EXCHANGE_RMA_H

#include "mpi_exchange_internal.h"

struct mx_rma_window {
    MPI_Win win;          /**< [recv_buf | send_buf] of every rank, disp unit elem_size */
    int64_t *fwd_disp;    /**< per entry: where my forward message lands at the peer */
    int64_t *rev_disp;    /**< per entry: where my reverse message lands at the peer */
    int *fwd_credit_slot; /**< per entry: the peer's counter I credit when I can receive forward */
    int *rev_credit_slot; /**< per entry: the same for reverse */
};

/**
 * Allocate the window (MPI_ERRORS_RETURN), set ex->send_buf / recv_buf inside it, and tell
 * each peer where its messages land here; the credit slots (RMA_LOCK) are numbered from
 * @p credit_base: forward entry i at credit_base + i, reverse at credit_base + nentries + i.
 * Collective; returns a status agreed on every rank. @p w starts zeroed (win MPI_WIN_NULL).
 */
starhalo_status_t starhalo__mx_rma_window_setup(starhalo_mpi_exchange_t *ex,
                                                struct mx_rma_window *w, int credit_base);
/** Collective (MPI_Win_free); a partly set-up window is fine. */
void starhalo__mx_rma_window_teardown(struct mx_rma_window *w);

/** Put (or MPI_Accumulate SUM when @p accumulate) entry @p i's message of direction
 * @p reverse where it lands at the peer. Returns the MPI result. */
int starhalo__mx_rma_put(const starhalo_mpi_exchange_t *ex, const struct mx_rma_window *w,
                         int reverse, int i, int accumulate);

/** Reverse SUM lands through MPI_Accumulate into a zeroed send_buf (zeroed here); the other
 * ops, and forward, are plain puts (each segment has exactly one writer), combined while
 * unpacking. Returns whether the moves accumulate. */
int starhalo__mx_rma_prepare_accumulate(const starhalo_mpi_exchange_t *ex, int reverse,
                                        starhalo_reduce_op_t op);

#endif
