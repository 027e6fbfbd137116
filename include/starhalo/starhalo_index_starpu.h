/* SPDX-License-Identifier: MIT */
/**
 * @file starhalo_index_starpu.h
 * @brief Index plans executed as StarPU tasks: distributed index vectors and their reusable
 * exchanges (forward update, reverse update-by-halo with a reduction).
 *
 * An index vector is the StarPU-registered local array of an index plan on every rank:
 * `planes` planes of [owned values (local_size)] [halo values (halo_size)], plane-major. It is
 * a starhalo_field_t with one local part (part number = rank, no decomposition), so
 * starhalo_field_part_data(), _acquire(), _release() and starhalo_field_part_handle() give its
 * host pointer and its StarPU vector handle for the caller's own tasks.
 *
 * An index exchange is a starhalo_exchange_t over the plan lowered to a transfer plan: the same
 * gather (pack) and scatter (unpack) codelets, per-peer message buffers, tags booked once, and
 * both runtime transports (STARPU_MPI detached transfers, DIRECT_MPI persistent requests
 * started by the pack task and completed by the unpack task). Run it with the structured
 * calls: starhalo_exchange_submit() (update), starhalo_exchange_submit_reverse() (update by
 * halo with SUM / MAX / MIN / REPLACE), the begin/end halves, starhalo_exchange_wait() and
 * starhalo_exchange_destroy(). Reverse semantics are the plain-MPI executor's: each owner
 * combines the incoming halo values peer by peer in ascending rank order, so an index held by
 * k ranks is combined k times.
 *
 * Every call below is collective over the context's communicator; every rank gets the same
 * status (agreed with one MPI_Allreduce before any other communication).
 */
#ifndef STARHALO_INDEX_STARPU_H
#define STARHALO_INDEX_STARPU_H

#include <starhalo/starhalo_index.h>
#include <starhalo/starhalo_runtime.h>

STARHALO_BEGIN_DECLS

/**
 * Allocate (zeroed) and register this rank's local array of @p plan: planes x (local_size +
 * halo_size) elements of @p dtype. The plan must have been built over the context's
 * communicator (starhalo_index_plan_create_mpi); keep it alive until the vector is destroyed.
 * @retval STARHALO_ERR_INVALID_ARG NULL argument, planes < 1, unknown dtype, a plan of another
 *         rank or rank count than the context (on every rank)
 * @retval STARHALO_ERR_MISMATCH ranks passed different dtypes, planes or distributions
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_index_field_create(starhalo_context_t *ctx, const starhalo_index_plan_t *plan,
                            starhalo_dtype_t dtype, int64_t planes, starhalo_field_t **out);

/** The index plan of an index field, or NULL for a structured field. */
STARHALO_API const starhalo_index_plan_t *starhalo_index_field_plan(const starhalo_field_t *field);

/**
 * Build a reusable exchange of @p nfields index fields of the same plan and dtype (planes may
 * differ; all of a peer's values travel in one message). Destroy it with
 * starhalo_exchange_destroy() before the fields.
 * @retval STARHALO_ERR_INVALID_ARG NULL / structured / mixed fields, unknown transport (on
 *         every rank)
 * @retval STARHALO_ERR_UNSUPPORTED DIRECT_MPI without MPI_THREAD_MULTIPLE
 * @retval STARHALO_ERR_MISMATCH ranks chose different transports or field counts / planes
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_index_exchange_create(
    starhalo_context_t *ctx, starhalo_field_t *const *fields, int nfields,
    starhalo_transport_t transport, starhalo_exchange_t **out);

STARHALO_END_DECLS

#endif
