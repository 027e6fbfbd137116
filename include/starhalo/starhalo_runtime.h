/* SPDX-License-Identifier: MIT */
/**
 * @file starhalo_runtime.h
 * @brief StarPU-MPI execution: a context, distributed fields over a decomposition, and
 * reusable halo exchanges (forward update and reverse update-with-reduction) submitted as
 * StarPU tasks with data dependencies.
 *
 * The only public header that needs <mpi.h>. StarPU types appear only in starhalo_starpu.h.
 *
 * Model: every rank submits the same calls in the same order (StarPU-MPI's sequential task
 * flow). Submission is asynchronous; the exchange completes through data dependencies, so the
 * caller may submit tasks that only read tile interiors between begin and end, and they run
 * while halos travel (PETSc's Begin/End).
 */
#ifndef STARHALO_RUNTIME_H
#define STARHALO_RUNTIME_H

#include <mpi.h>

#include <starhalo/starhalo_plan.h>
#include <starhalo/starhalo_tile.h>
#include <starhalo/starhalo_types.h>

STARHALO_BEGIN_DECLS

/** Opaque StarPU-MPI context. */
typedef struct starhalo_context starhalo_context_t;

/** Context settings; starhalo_context_conf_init() fills the defaults. */
typedef struct starhalo_context_conf {
    MPI_Comm comm;     /**< communicator (default MPI_COMM_WORLD) */
    int ncpus;         /**< CPU workers per rank; -1 = chosen from the hwloc topology and the
                            number of ranks on this node (docs/LAUNCH.md) */
    const char *sched; /**< StarPU scheduler; NULL = "prio" unless STARPU_SCHED is set */
    int bind_workers;  /**< 1 binds workers to cores, 0 leaves them unbound, -1 = default */
} starhalo_context_conf_t;

/** Fill @p conf with the defaults. */
STARHALO_API void starhalo_context_conf_init(starhalo_context_conf_t *conf);

/**
 * Initialise MPI (if the caller has not, with MPI_THREAD_MULTIPLE, which the direct transport
 * needs; StarPU-MPI alone needs MPI_THREAD_SERIALIZED), StarPU and StarPU-MPI.
 * Collective on conf->comm.
 * @retval STARHALO_ERR_STARPU, STARHALO_ERR_MPI, STARHALO_ERR_NO_MEMORY, STARHALO_ERR_INVALID_ARG
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_context_create(const starhalo_context_conf_t *conf, starhalo_context_t **out);

/** Wait for all tasks, shut StarPU-MPI down, and finalise MPI if the context initialised it.
 * Collective. NULL is allowed. */
STARHALO_API void starhalo_context_destroy(starhalo_context_t *ctx);

STARHALO_API int starhalo_context_rank(const starhalo_context_t *ctx);
STARHALO_API int starhalo_context_size(const starhalo_context_t *ctx);
STARHALO_API MPI_Comm starhalo_context_comm(const starhalo_context_t *ctx);
/** Number of CPU workers StarPU started on this rank. */
STARHALO_API int starhalo_context_ncpus(const starhalo_context_t *ctx);

/** Wait until every submitted task and transfer of this rank has completed. */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_context_wait_all(starhalo_context_t *ctx);

/**
 * The calling thread is about to block in MPI (a collective of its own, e.g. a reduction of
 * partial sums) and this rank's CPU workers may run out of tasks meanwhile: until
 * starhalo_context_host_wait_end, idle workers yield the core instead of spinning, so that
 * the other ranks on the node get it (Debian's StarPU workers spin). Nestable; any thread.
 */
STARHALO_API void starhalo_context_host_wait_begin(starhalo_context_t *ctx);
/** Ends starhalo_context_host_wait_begin. */
STARHALO_API void starhalo_context_host_wait_end(starhalo_context_t *ctx);

/** Opaque distributed field: one N x C x [D x] H x W tensor over a decomposition. */
typedef struct starhalo_field starhalo_field_t;

/**
 * Create a field: each rank allocates (zeroed) and registers the ghosted tiles of the parts
 * it owns, with StarPU and with StarPU-MPI (nparts tags booked from the context's range, see
 * starhalo_field_part_handle). @p part_rank maps part -> rank (NULL: contiguous blocks of
 * nparts/size parts per rank). Collective; checks that every rank passed the same
 * decomposition and mapping.
 * @retval STARHALO_ERR_MISMATCH ranks disagree (same error on every rank)
 * @retval STARHALO_ERR_TAGS_EXHAUSTED no nparts free tags left (same error on every rank)
 * @retval STARHALO_ERR_INVALID_ARG a rank outside [0, size), or nparts not a multiple of size
 *         when part_rank is NULL
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_field_create(starhalo_context_t *ctx, const starhalo_decomp_t *decomp,
                      const int *part_rank, starhalo_dtype_t dtype, starhalo_field_t **out);
/**
 * Create a field over the caller's memory (GHEX wrap_field, PETSc VecCreateMPIWithArray):
 * as starhalo_field_create, but the tile of each part this rank owns is @p tiles[part]
 * (indexed by part number, @p tiles has nparts entries; entries of other ranks' parts are
 * ignored and may be NULL). Each tile must hold starhalo_tile_elems() elements of @p dtype in
 * the layout of starhalo_decomp_part_tile() (ghosted box, W fastest, planes after each
 * other), aligned to the element size. Its content is kept (not zeroed); the ghosts are
 * whatever the caller left until an exchange fills them. The field never frees the memory,
 * which must outlive it; between tasks, access it through starhalo_field_acquire() like any
 * tile (StarPU may hold it while tasks run). Collective; the arguments are checked and
 * agreed on like starhalo_field_create's.
 * @retval STARHALO_ERR_INVALID_ARG NULL tiles, a NULL or misaligned tile of a local part
 *         (every rank gets an error), and the errors of starhalo_field_create
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_field_wrap(starhalo_context_t *ctx, const starhalo_decomp_t *decomp, const int *part_rank,
                    starhalo_dtype_t dtype, void *const *tiles, starhalo_field_t **out);

/** Unregister and free (a wrapped field's tiles stay the caller's). Collective. NULL is
 * allowed. */
STARHALO_API void starhalo_field_destroy(starhalo_field_t *field);

STARHALO_API const starhalo_decomp_t *starhalo_field_decomp(const starhalo_field_t *field);
STARHALO_API starhalo_dtype_t starhalo_field_dtype(const starhalo_field_t *field);
STARHALO_API int starhalo_field_part_rank(const starhalo_field_t *field, int part);
/** Parts owned by this rank, in increasing order; @p parts may be NULL to get the count. */
STARHALO_API int starhalo_field_local_parts(const starhalo_field_t *field, int *parts);
/** The plan of a local part (owned/ghosted boxes, neighbours). */
STARHALO_API const starhalo_part_plan_t *starhalo_field_part_plan(const starhalo_field_t *field,
                                                                  int part);

/** What two fields must share for starhalo_field_match(), beyond what they always share:
 * the context, the part count, each part's owned box and each part's rank. */
typedef enum starhalo_field_match_flags {
    STARHALO_MATCH_PARTS = 0,         /**< only the always-shared part map */
    STARHALO_MATCH_DTYPE = 1 << 0,    /**< the element type */
    STARHALO_MATCH_HALOS = 1 << 1,    /**< halo widths, periodicity and stencil shape: the
                                           same exchange plan serves both */
    STARHALO_MATCH_BATCH = 1 << 2,    /**< the batch N */
    STARHALO_MATCH_CHANNELS = 1 << 3, /**< the channels C */
    STARHALO_MATCH_TILES = 1 << 4     /**< the same tile per part (ghosted box, strides,
                                           planes): one's geometry addresses the other */
} starhalo_field_match_flags_t;

/**
 * Check that @p b can be used beside @p a (the one field-compatibility check of the library:
 * exchanges, stencils, conv layers and sqdiff call it). @p match is an OR of
 * starhalo_field_match_flags_t. Local (no communication); structured fields only.
 * @p what names the caller in the error message (NULL: "field_match").
 * @retval STARHALO_ERR_INVALID_ARG NULL fields, an index field, another context, or the
 *         first property that differs (named in the message, with the part where it applies)
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_field_match(const starhalo_field_t *a,
                                                                       const starhalo_field_t *b,
                                                                       unsigned match,
                                                                       const char *what);

/**
 * The tile geometry (boxes, strides, planes, dtype) of any part of @p field, local or remote
 * (starhalo_decomp_part_tile with the field's dtype).
 * @retval STARHALO_ERR_INVALID_ARG NULL out, an index field (its local array has no boxes)
 * @retval STARHALO_ERR_OUT_OF_RANGE NULL field, part outside [0, nparts)
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_field_part_tile(const starhalo_field_t *field, int part, starhalo_tile_t *out);

/**
 * Flush StarPU-MPI's cache of @p field's tiles (starpu_mpi_cache_flush of every tile handle
 * and every remote-part handle this rank registered): call it after writes StarPU-MPI did
 * not see (host writes, the conv/CNN tasks) when another rank reads the tiles through
 * starpu_mpi_task_insert, so that it receives the new values instead of its cached copy.
 * Exchanges and starhalo_stencil_step flush the fields they write themselves.
 * Collective (same point of the task flow on every rank); a no-op with the cache disabled.
 * @retval STARHALO_ERR_INVALID_ARG NULL field
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_field_mpi_flush(starhalo_field_t *field);

/**
 * Host pointer to the ghosted tile of a local part: planes (batch x channels) of the ghosted
 * box, W fastest. Reading or writing it requires starhalo_field_acquire() first (or no task
 * in flight on the field).
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_field_part_data(starhalo_field_t *field,
                                                                           int part, void **ptr);
/** Wait for the tasks on a local part's tile and lock it for the host (1 = write access). */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_field_acquire(starhalo_field_t *field,
                                                                         int part, int write);
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_field_release(starhalo_field_t *field,
                                                                         int part);

/** Opaque reusable exchange of one or more fields over the same decomposition and mapping. */
typedef struct starhalo_exchange starhalo_exchange_t;

/** Transport of an exchange. */
typedef enum starhalo_transport {
    /** Chosen at exchange creation: $STARHALO_TRANSPORT ("starpu" or "direct") if set, else
     * DIRECT_MPI when MPI provides MPI_THREAD_MULTIPLE, else STARPU_MPI (docs/LAUNCH.md). */
    STARHALO_TRANSPORT_DEFAULT = -1,
    STARHALO_TRANSPORT_STARPU_MPI = 0, /**< starpu_mpi_isend/irecv_detached on buffer handles */
    /** The pack task starts persistent MPI requests itself and the unpack task waits for
     * them: no StarPU-MPI progress thread involvement, no envelope messages. Needs
     * MPI_THREAD_MULTIPLE (the context asks for it when it initialises MPI). docs/LAUNCH.md */
    STARHALO_TRANSPORT_DIRECT_MPI = 1
} starhalo_transport_t;

/**
 * Build the exchange: lower every local part's plan, allocate and register per-neighbour send
 * and receive buffers (all fields, channels and batch of one neighbour travel in one message),
 * and book MPI tags once (reused by every call: no tag growth). Collective.
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_exchange_create(starhalo_context_t *ctx, starhalo_field_t *const *fields, int nfields,
                         starhalo_transport_t transport, starhalo_exchange_t **out);
/** Collective. NULL is allowed. Between a begin and its end it first submits the end (as
 * starhalo_exchange_end() / starhalo_exchange_end_reverse() would) and waits for it. */
STARHALO_API void starhalo_exchange_destroy(starhalo_exchange_t *ex);

/** Forward update, first half: submit pack tasks and the transfers. Returns at once. */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_exchange_begin(starhalo_exchange_t *ex);
/** Forward update, second half: submit the unpack tasks that write the ghost cells. */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_exchange_end(starhalo_exchange_t *ex);
/** begin + end. */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_exchange_submit(starhalo_exchange_t *ex);

/**
 * Reverse update: ghost values go back to their owners and are combined into the owned cells
 * with @p op (SUM for gradients). Ghost cells are left unchanged. begin/end split as forward.
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_exchange_begin_reverse(starhalo_exchange_t *ex, starhalo_reduce_op_t op);
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_exchange_end_reverse(starhalo_exchange_t *ex);
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_exchange_submit_reverse(starhalo_exchange_t *ex, starhalo_reduce_op_t op);

/**
 * Blocking forward update: begin + end + wait in one call. When no earlier task still uses
 * this rank's tiles or a direct exchange (starpu_data_acquire_try succeeds on all of them) and
 * the exchange uses one task per rank (direct transport, small exchanges; docs/RUNTIME.md),
 * the calling thread does the exchange itself while holding the tiles acquired, skipping the
 * hand-off to a worker and back (~20-40 us on a loaded 2-core node); otherwise it submits the
 * tasks and waits. Same results and ordering either way; ranks may take different paths.
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_exchange_run(starhalo_exchange_t *ex);
/** Blocking reverse update, as starhalo_exchange_run(). */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_exchange_run_reverse(starhalo_exchange_t *ex, starhalo_reduce_op_t op);

/** Wait for every task this exchange submitted on this rank. */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_exchange_wait(starhalo_exchange_t *ex);

STARHALO_END_DECLS

#endif
