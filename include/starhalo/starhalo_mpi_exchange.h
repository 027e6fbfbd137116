/* SPDX-License-Identifier: MIT */
/**
 * @file starhalo_mpi_exchange.h
 * @brief Plain-MPI (no StarPU) halo exchange over any transfer plan, and the collective build
 * of index plans.
 *
 * An executor is created once (collectively over the communicator), then `update` (forward:
 * owners' send runs -> peers' recv runs) and `update_by_halo` (reverse: recv runs back to the
 * owners, combined into their send runs) run any number of times. Every rank of the
 * communicator must call create, update, update_by_halo and destroy the same number of times
 * in the same order (the RMA transports synchronise collectively).
 *
 * Transports
 * - TWO_SIDED: MPI_Irecv / MPI_Isend / MPI_Waitall per call.
 * - PERSISTENT: MPI_Recv_init / MPI_Send_init at create, MPI_Startall / MPI_Waitall per call.
 * - RMA_FENCE: one window (MPI_Win_allocate) over the receive buffers; MPI_Put between two
 *   MPI_Win_fence; reverse SUM with MPI_Accumulate.
 * - RMA_LOCK: the same window under a permanent MPI_Win_lock_all; per call, each target
 *   grants its sources a credit (MPI_Accumulate +1 on a counter at the source: "my buffer is
 *   free"), the source waits for the credit, MPI_Put, MPI_Win_flush, then MPI_Accumulate +1 on
 *   the target's arrival counter; the target polls its counter (MPI_Fetch_and_op NO_OP) until
 *   every source arrived. No barrier, no two-sided message. Reverse SUM with MPI_Accumulate.
 *
 * Messages use a private duplicate of the communicator and fixed tags (2 * plan tag + direction),
 * so nothing else can match them and tags never grow.
 *
 * MPI errors: the private communicator and the windows have the error handler
 * MPI_ERRORS_RETURN, and every MPI result is checked: a failure returns STARHALO_ERR_MPI, whose
 * message (starhalo_last_error_message) names the call, the peer rank and tag where known,
 * and MPI's error string (e.g. "MPI_ERR_TRUNCATE: message truncated" for a message larger
 * than its receive, which happens when ranks pass plans that do not match). Create agrees on
 * its result, so it fails on every rank or on none. An update does not agree (that would
 * cost a reduction per call): the rank that saw the error returns it, and its peers may
 * return STARHALO_OK with that message's data undefined. Where it can, the failing rank still
 * keeps the protocol going so that no peer is left waiting: after a failed start it starts
 * the remaining messages and completes the started ones, after a failed put it still closes
 * the fence (RMA_FENCE) or signals the arrival (RMA_LOCK). MPI itself guarantees little after
 * an error (MPI 3.1 leaves its state undefined; Open MPI keeps working after argument and
 * truncation errors, not after a lost process), so after STARHALO_ERR_MPI agree on it (e.g.
 * MPI_Allreduce of the status) and destroy the executor. Calls on the caller's communicator
 * (the argument agreement, MPI_Comm_dup) use the caller's error handler.
 */
#ifndef STARHALO_MPI_EXCHANGE_H
#define STARHALO_MPI_EXCHANGE_H

#include <mpi.h>

#include <starhalo/starhalo_index.h>
#include <starhalo/starhalo_plan.h>
#include <starhalo/starhalo_types.h>

STARHALO_BEGIN_DECLS

/**
 * Build this rank's index plan collectively over @p comm (every rank calls it).
 * The distribution must have as many ranks as @p comm and be the same on every rank.
 * @retval STARHALO_ERR_MISMATCH   ranks passed distributions of different kind / size / owners,
 *         or a distribution whose rank count differs from the communicator size (on EVERY rank)
 * @retval STARHALO_ERR_OUT_OF_RANGE some rank required an index outside [0, n) (on EVERY rank;
 *         the message names the first offending rank)
 * @retval STARHALO_ERR_INVALID_ARG a NULL argument on some rank (on every rank)
 * @retval STARHALO_ERR_MPI
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_index_plan_create_mpi(
    MPI_Comm comm, const starhalo_distribution_t *dist, const int64_t *required, int64_t nrequired,
    starhalo_index_plan_t **out);

/** Transport of a plain-MPI executor. */
typedef enum starhalo_mpi_transport {
    STARHALO_MPI_TWO_SIDED = 0,
    STARHALO_MPI_PERSISTENT,
    STARHALO_MPI_RMA_FENCE,
    STARHALO_MPI_RMA_LOCK
} starhalo_mpi_transport_t;

#define STARHALO_MPI_NUM_TRANSPORTS 4

/** Parse "two-sided", "persistent", "rma-fence", "rma-lock". */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_mpi_transport_parse(const char *name, starhalo_mpi_transport_t *out);
STARHALO_API const char *starhalo_mpi_transport_name(starhalo_mpi_transport_t transport);

typedef struct starhalo_mpi_exchange starhalo_mpi_exchange_t;

/**
 * Create an executor for @p plan (collective over @p comm). @p part_rank maps a plan peer to
 * its rank (one part per rank); NULL means identity (index plans). The plan is copied by
 * reference: keep it alive until destroy.
 * @retval STARHALO_ERR_MISMATCH ranks chose different transports (on every rank)
 * @retval STARHALO_ERR_INVALID_ARG a NULL plan, unknown dtype or transport, a peer mapped
 *         outside the communicator (on every rank)
 * @retval STARHALO_ERR_TAGS_EXHAUSTED a plan tag above (MPI_TAG_UB - 1) / 2 (on every rank)
 * @retval STARHALO_ERR_UNSUPPORTED a message over INT_MAX elements (on every rank)
 * @retval STARHALO_ERR_NO_MEMORY, STARHALO_ERR_MPI (on every rank)
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_mpi_exchange_create(
    MPI_Comm comm, const starhalo_xfer_plan_t *plan, const int *part_rank, starhalo_dtype_t dtype,
    starhalo_mpi_transport_t transport, starhalo_mpi_exchange_t **out);

/** Forward: fill @p array's recv runs with the peers' send runs (planes x plane_size).
 * @retval STARHALO_ERR_INVALID_ARG NULL executor or array
 * @retval STARHALO_ERR_MPI on the rank that saw an MPI failure (see "MPI errors" above) */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_mpi_exchange_update(starhalo_mpi_exchange_t *ex, void *array);

/** Reverse: send @p array's recv runs back to their owners, which combine them into their send
 * runs with @p op (an index received by k ranks is combined k times).
 * @retval STARHALO_ERR_INVALID_ARG NULL executor or array, unknown @p op
 * @retval STARHALO_ERR_MPI on the rank that saw an MPI failure */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_mpi_exchange_update_by_halo(
    starhalo_mpi_exchange_t *ex, void *array, starhalo_reduce_op_t op);

STARHALO_API starhalo_mpi_transport_t
starhalo_mpi_exchange_transport(const starhalo_mpi_exchange_t *ex);
/** Bytes this rank sends per forward update. */
STARHALO_API int64_t starhalo_mpi_exchange_send_bytes(const starhalo_mpi_exchange_t *ex);

/** Collective; frees requests, windows and the private communicator. NULL is allowed (then it
 * is not collective). */
STARHALO_API void starhalo_mpi_exchange_destroy(starhalo_mpi_exchange_t *ex);

STARHALO_END_DECLS

#endif
