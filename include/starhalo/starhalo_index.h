/* SPDX-License-Identifier: MIT */
/**
 * @file starhalo_index.h
 * @brief StarPU-free, MPI-free index distributions and index-based halo plans (LAMA's
 * HaloExchangePlan built by required indexes).
 *
 * Conventions
 * - A distribution maps each global index g in [0, n) to one owner rank in [0, P) and to a
 *   local index on that owner; local indexes of a rank are its owned globals in ascending order.
 * - The local array of an index plan is [owned values (local_size)] followed by [halo values
 *   (halo_size)]. Halo entries are sorted by owner rank, ascending global index inside one
 *   owner's part, so each owner's part is one contiguous segment.
 * - Required indexes: duplicates are removed and indexes the rank owns itself are dropped (they
 *   are already in the owned part of the local array; keep them in your lookup as
 *   "local index = starhalo_distribution_global_to_local(g)").
 * - Building a plan needs one all-to-all (which global indexes each rank requests from each
 *   owner). The pure steps are here (begin / finish); the collective MPI driver is
 *   starhalo_index_plan_create_mpi() in starhalo_mpi_exchange.h.
 */
#ifndef STARHALO_INDEX_H
#define STARHALO_INDEX_H

#include <stdint.h>

#include <starhalo/starhalo_plan.h>

STARHALO_BEGIN_DECLS

/** Kind of a distribution. */
typedef enum starhalo_dist_kind {
    STARHALO_DIST_BLOCK = 0,    /**< contiguous blocks, the first n % P ranks get one more */
    STARHALO_DIST_CYCLIC,       /**< g -> rank g % P */
    STARHALO_DIST_BLOCK_CYCLIC, /**< blocks of b round-robin: g -> rank (g / b) % P */
    STARHALO_DIST_GENERAL       /**< explicit owner array */
} starhalo_dist_kind_t;

/** Opaque, immutable distribution of n global indexes over P ranks. */
typedef struct starhalo_distribution starhalo_distribution_t;

/** @retval STARHALO_ERR_INVALID_ARG n < 0, nranks < 1, NULL out */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_distribution_create_block(int64_t n, int nranks, starhalo_distribution_t **out);
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_distribution_create_cyclic(int64_t n, int nranks, starhalo_distribution_t **out);
/** @retval STARHALO_ERR_INVALID_ARG also for block < 1 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_distribution_create_block_cyclic(
    int64_t n, int nranks, int64_t block, starhalo_distribution_t **out);
/** @p owners[g] is the rank owning g (copied).
 * @retval STARHALO_ERR_OUT_OF_RANGE an owner outside [0, nranks) (the message names g) */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_distribution_create_general(
    int64_t n, int nranks, const int *owners, starhalo_distribution_t **out);
/** NULL is allowed. */
STARHALO_API void starhalo_distribution_destroy(starhalo_distribution_t *dist);

STARHALO_API starhalo_dist_kind_t starhalo_distribution_kind(const starhalo_distribution_t *dist);
/** @return "block", "cyclic", "block-cyclic", "general". */
STARHALO_API const char *starhalo_dist_kind_name(starhalo_dist_kind_t kind);
STARHALO_API int64_t starhalo_distribution_global_size(const starhalo_distribution_t *dist);
STARHALO_API int starhalo_distribution_num_ranks(const starhalo_distribution_t *dist);
/** Owner of @p g, or -1 when g is outside [0, n). O(1). */
STARHALO_API int starhalo_distribution_owner(const starhalo_distribution_t *dist, int64_t g);
/** Number of indexes @p rank owns (0 for a rank outside [0, P)). */
STARHALO_API int64_t starhalo_distribution_local_size(const starhalo_distribution_t *dist,
                                                      int rank);
/** Local index of @p g on its owner, or -1 when g is outside [0, n). O(1). */
STARHALO_API int64_t starhalo_distribution_global_to_local(const starhalo_distribution_t *dist,
                                                           int64_t g);
/** Global index of local index @p l on @p rank, or -1 when out of range. O(1). */
STARHALO_API int64_t starhalo_distribution_local_to_global(const starhalo_distribution_t *dist,
                                                           int rank, int64_t l);
/** A 64-bit fingerprint of kind, n, P, block and (general) the owner array: ranks compare it
 * to check they were given the same distribution. */
STARHALO_API uint64_t starhalo_distribution_hash(const starhalo_distribution_t *dist);

/* ---------------------------------------------------------------------------------------- */
/* Index plans                                                                              */
/* ---------------------------------------------------------------------------------------- */

/** Opaque halo plan of one rank built from required global indexes. */
typedef struct starhalo_index_plan starhalo_index_plan_t;

/**
 * Step 1 (local): validate, deduplicate and sort @p rank's required indexes into the halo.
 * After it, starhalo_index_plan_halo_counts() and starhalo_index_plan_halo_globals() say what
 * to request from each owner. The plan keeps a pointer to @p dist: keep it alive.
 * @retval STARHALO_ERR_OUT_OF_RANGE a required index outside [0, n) (the message names it);
 *         @p out is still set to NULL.
 * @retval STARHALO_ERR_INVALID_ARG rank outside [0, P), nrequired < 0, NULL arrays
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_index_plan_begin(const starhalo_distribution_t *dist, int rank, const int64_t *required,
                          int64_t nrequired, starhalo_index_plan_t **out);

/**
 * Step 2 (local): @p requested_counts[r] global indexes were requested from this rank by rank
 * r, listed in @p requested (concatenated in rank order). They become the provides (local
 * indexes gathered for each requester).
 * @retval STARHALO_ERR_PLAN_INVALID a requested index this rank does not own
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_index_plan_finish(
    starhalo_index_plan_t *plan, const int64_t *requested_counts, const int64_t *requested);

/** NULL is allowed. */
STARHALO_API void starhalo_index_plan_destroy(starhalo_index_plan_t *plan);

STARHALO_API int starhalo_index_plan_rank(const starhalo_index_plan_t *plan);
STARHALO_API int starhalo_index_plan_num_ranks(const starhalo_index_plan_t *plan);
STARHALO_API const starhalo_distribution_t *
starhalo_index_plan_distribution(const starhalo_index_plan_t *plan);
/** Owned values of this rank (start of the local array). */
STARHALO_API int64_t starhalo_index_plan_local_size(const starhalo_index_plan_t *plan);
/** Halo values (after the owned values in the local array). */
STARHALO_API int64_t starhalo_index_plan_halo_size(const starhalo_index_plan_t *plan);
/** Global index of each halo entry (halo_size entries, sorted by owner then index). */
STARHALO_API const int64_t *starhalo_index_plan_halo_globals(const starhalo_index_plan_t *plan);
/** Per owner rank: halo entries received from it (P entries) and their start (P + 1). */
STARHALO_API const int64_t *starhalo_index_plan_halo_counts(const starhalo_index_plan_t *plan);
STARHALO_API const int64_t *starhalo_index_plan_halo_offsets(const starhalo_index_plan_t *plan);
/** Per requester rank: local indexes gathered for it (P entries), their start (P + 1) and
 * the local indexes themselves. Valid after finish. */
STARHALO_API const int64_t *starhalo_index_plan_provides_counts(const starhalo_index_plan_t *plan);
STARHALO_API const int64_t *starhalo_index_plan_provides_offsets(const starhalo_index_plan_t *plan);
STARHALO_API const int64_t *starhalo_index_plan_provides(const starhalo_index_plan_t *plan);
/** Halo position of global @p g (O(log halo_size)), or -1 when g is not in the halo. */
STARHALO_API int64_t starhalo_index_plan_global_to_halo(const starhalo_index_plan_t *plan,
                                                        int64_t g);
/** Global index of halo entry @p h, or -1 when out of range. */
STARHALO_API int64_t starhalo_index_plan_halo_to_global(const starhalo_index_plan_t *plan,
                                                        int64_t h);

/**
 * Lower to a transfer plan: one peer per rank exchanged with (ascending rank, tags 0); send
 * runs are the provides (consecutive local indexes merged), the recv run is the peer's halo
 * segment at local_size + halo offset. plane_size = local_size + halo_size; @p planes values
 * per index (>= 1), stored plane-major.
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_index_plan_lower(
    const starhalo_index_plan_t *plan, int64_t planes, starhalo_xfer_plan_t **out);

STARHALO_END_DECLS

#endif
