/* SPDX-License-Identifier: MIT */
/**
 * @file mpi_exchange_internal.h
 * @brief The plain-MPI executor's private parts: the state every transport shares (plan,
 * message layout, buffers), the transport ops table, and the message layer the transports
 * use (mpi_exchange_messages.c). StarPU-free.
 *
 * Files, from the bottom up (each calls only the ones above it in this list):
 *   mpi_status.c, mpi_requests.c   MPI results as statuses, agreement, request sets
 *   mpi_exchange_messages.c        message layout, pack / unpack, the per-direction messages
 *   mpi_exchange_p2p.c             TWO_SIDED and PERSISTENT (request sets)
 *   mpi_exchange_rma_window.c      the window and landing exchange of both RMA transports
 *   mpi_exchange_rma_fence.c       RMA_FENCE
 *   mpi_exchange_rma_lock.c        RMA_LOCK
 *   mpi_exchange.c                 the public API: checks, create, dispatch, destroy
 */
#ifndef STARHALO_MPI_EXCHANGE_INTERNAL_H
#define STARHALO_MPI_EXCHANGE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <mpi.h>

#include <starhalo/starhalo_mpi_exchange.h>

#include "mpi_requests.h"
#include "mpi_status.h"

/** A transport of the executor. Every function is collective over the executor's
 * communicator (all ranks call it in the same order), as the public API documents. */
struct mx_transport_ops {
    starhalo_mpi_transport_t transport;
    /** Make the transport's private state (*state, also on failure, for teardown) and set
     * ex->send_buf / ex->recv_buf. Returns a status agreed on every rank. */
    starhalo_status_t (*setup)(starhalo_mpi_exchange_t *ex, void **state);
    /** One update of direction @p reverse: pack (starhalo__mx_pack), move, unpack with @p op
     * (forward: REPLACE into the recv runs; reverse: combined into the send runs). */
    starhalo_status_t (*update)(starhalo_mpi_exchange_t *ex, void *state, void *array, int reverse,
                                starhalo_reduce_op_t op);
    /** Free @p state (NULL allowed; also a partly set-up one). */
    void (*teardown)(starhalo_mpi_exchange_t *ex, void *state);
};

extern const struct mx_transport_ops starhalo__mx_two_sided_ops, starhalo__mx_persistent_ops,
    starhalo__mx_rma_fence_ops, starhalo__mx_rma_lock_ops;

/** What every transport shares. Messages are packed plane-major per plan entry into one send
 * buffer (forward) and received into one receive buffer; the reverse direction uses the same
 * two buffers the other way round, so a transport only moves bytes between their segments. */
struct starhalo_mpi_exchange {
    MPI_Comm comm; /**< private duplicate with MPI_ERRORS_RETURN: nothing else matches its tags */
    int rank;
    const struct mx_transport_ops *ops;
    void *transport_state; /**< the transport's own struct */
    const starhalo_xfer_plan_t *plan;
    starhalo_dtype_t dtype;
    MPI_Datatype elem_type;
    size_t elem_size;
    int nentries;    /**< plan peer entries */
    int *entry_rank; /**< rank of each entry's peer */
    int64_t planes, plane_size;
    int64_t *send_offset; /**< element offset of each entry's message in send_buf */
    int64_t *recv_offset; /**< ... in recv_buf */
    int64_t send_total, recv_total;
    int64_t **send_index; /**< per entry: the send runs as element indexes (short runs), or NULL */
    int64_t **recv_index; /**< per entry: the same for the recv runs */
    char *send_buf, *recv_buf; /**< set by the transport's setup */
};

/** Message layout of @p ex's plan (offsets, totals, expanded short runs, peer ranks).
 * Local. @retval STARHALO_ERR_NO_MEMORY */
starhalo_status_t starhalo__mx_layout_init(starhalo_mpi_exchange_t *ex, const int *part_rank);
void starhalo__mx_layout_free(starhalo_mpi_exchange_t *ex);

/** Pack direction @p reverse's outgoing messages from @p array (forward: the send runs into
 * send_buf; reverse: the recv runs into recv_buf). */
void starhalo__mx_pack(const starhalo_mpi_exchange_t *ex, int reverse, const void *array);
/** Unpack direction @p reverse's incoming messages into @p array with @p op (forward: recv_buf
 * into the recv runs, REPLACE; reverse: send_buf combined into the send runs). */
void starhalo__mx_unpack(const starhalo_mpi_exchange_t *ex, int reverse, void *array,
                         starhalo_reduce_op_t op);

/** Elements of entry @p i's message in direction @p reverse that this rank sends / receives. */
int64_t starhalo__mx_out_elems(const starhalo_mpi_exchange_t *ex, int reverse, int i);
int64_t starhalo__mx_in_elems(const starhalo_mpi_exchange_t *ex, int reverse, int i);
/** Where entry @p i's outgoing / incoming message of direction @p reverse lies in the
 * buffers (forward: out of send_buf, into recv_buf; reverse: the other way round). */
char *starhalo__mx_out_buf(const starhalo_mpi_exchange_t *ex, int reverse, int i);
char *starhalo__mx_in_buf(const starhalo_mpi_exchange_t *ex, int reverse, int i);
/** MPI tags of entry @p i's outgoing / incoming message of direction @p reverse (the
 * library's scheme, starhalo__mx_message_tag, with base 0 and part 0). */
int starhalo__mx_out_tag(const starhalo_mpi_exchange_t *ex, int reverse, int i);
int starhalo__mx_in_tag(const starhalo_mpi_exchange_t *ex, int reverse, int i);

/** The messages of direction @p reverse (receives and sends, one each per entry and way
 * with data) into @p msgs (2 * nentries entries); returns how many. */
int starhalo__mx_direction_messages(const starhalo_mpi_exchange_t *ex, int reverse,
                                    mx_message_t *msgs);

#endif
