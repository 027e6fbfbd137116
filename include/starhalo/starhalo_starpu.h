/* SPDX-License-Identifier: MIT */
/**
 * @file starhalo_starpu.h
 * @brief StarPU view of starhalo objects, for users who submit their own StarPU tasks on
 * field tiles (e.g. a stencil between starhalo_exchange_begin() and _end()).
 *
 * A tile is a StarPU VECTOR handle of starhalo_tile_elems() elements (elemsize = dtype size),
 * registered on STARPU_MAIN_RAM of the owning rank and with StarPU-MPI; its layout is the
 * starhalo_tile_t of starhalo_field_part_tile(). Tasks that read the tile may run
 * concurrently with the exchange's pack tasks; tasks that write it are ordered by StarPU's
 * data dependencies. starhalo_bands_t gives interior and boundary sub-handles of the tiles
 * and submits a codelet over them with the geometry in its cl_arg.
 */
#ifndef STARHALO_STARPU_H
#define STARHALO_STARPU_H

#include <starpu.h>

#include <starhalo/starhalo_runtime.h>
#include <starhalo/starhalo_tile.h>

STARHALO_BEGIN_DECLS

/**
 * The StarPU handle of @p part's tile (do not unregister it). Every tile is registered with
 * StarPU-MPI (starpu_mpi_data_register_comm on starhalo_context_comm(), owner = the part's
 * rank, a tag from starhalo's booked range), so it can be passed to starpu_mpi_task_insert()
 * together with the application's own data and StarPU-MPI decides where each task runs and
 * which tiles travel (as StarPU's mpi/examples/stencil/stencil5.c).
 *
 * Local part: the tile itself. Remote part: a placeholder (home node -1, no memory) that this
 * call registers on first use (local, not collective); StarPU-MPI receives the tile into it
 * when a task on this rank reads it. The handle is valid until the field is destroyed.
 *
 * StarPU-MPI caches received tiles. starhalo's own writers are plain tasks on the owner that
 * other ranks do not see; exchanges and starhalo_stencil_step() flush the cache of the
 * fields they write themselves. After the others (host writes, conv/CNN tasks), call
 * starhalo_field_mpi_flush() (collective) before a remote rank reads the tile again through
 * starpu_mpi_task_insert() (docs/RUNTIME.md).
 * @retval STARHALO_ERR_INVALID_ARG NULL out
 * @retval STARHALO_ERR_OUT_OF_RANGE part outside [0, nparts), or a remote part of an index
 *         field (index fields are not registered with StarPU-MPI)
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_field_part_handle(starhalo_field_t *field, int part, starpu_data_handle_t *out);

/* ---------------------------------------------------------------------------------------- */
/* Interior and boundary sub-handles, and the task-insert helper                            */
/* ---------------------------------------------------------------------------------------- */

/**
 * Opaque sub-handles of every local tile of one field for a compute reach: each tile is
 * planned as a StarPU partition (starpu_data_partition_plan) into contiguous row bands (dim 1,
 * or dim 2 in 3-D): one band holding the minus-side ghost and boundary rows, nbands interior
 * bands, one band holding the plus-side boundary and ghost rows. Pieces are the units of work:
 * one INTERIOR piece per interior band (its interior rows), one BOUNDARY piece per band that
 * holds boundary cells (the slabs, and the left/right strips of an interior band merged into
 * one piece), one OWNED piece per part (the whole tile).
 *
 * Use it on the field the tasks WRITE, and read other fields' whole tiles (extra buffers of
 * starhalo_bands_insert): then the interior tasks of one part run at once, and alongside the
 * exchange of the input field. The tile is not partitioned when the interior is empty, when
 * it has more than one plane, or when fewer than two interior bands fit: its pieces then use
 * the whole tile (one task at a time per part, same regions).
 *
 * Switching between pieces and the whole tile is StarPU's (asynchronous partitioning, StarPU
 * 1.3): a task or acquire on a band submits the partition of the tile, one on the whole tile
 * (exchanges, host access, starpu_mpi_task_insert, OWNED pieces) the unpartition, ordered
 * like any data access. starhalo_bands_partition() / _unpartition() submit them explicitly
 * (e.g. the partition before an exchange begin, so that it is not queued behind it).
 * Sub-handles are local StarPU data (not registered with StarPU-MPI): submit on them with
 * starpu_task_insert (or starhalo_bands_insert).
 */
typedef struct starhalo_bands starhalo_bands_t;

/** Flags of starhalo_bands_create(). */
enum {
    /** One BOUNDARY piece per boundary box piece of a band instead of one merged per band
     * (more, smaller tasks). */
    STARHALO_BANDS_SPLIT_STRIPS = 1u
};

/**
 * Plan the sub-handles of every local tile of @p field for @p reach (reach[2d], reach[2d+1]:
 * how far one output cell reads on the minus / plus side of dim d, each <= that halo; see
 * starhalo_part_plan_regions). @p nbands: interior bands per part (0 = the CPU workers of
 * this rank; at most 60, at most the interior rows). Destroy before the field. Local (no
 * communication); every rank should call it with the same arguments.
 * @retval STARHALO_ERR_INVALID_ARG NULL field or out, an index field, negative nbands, a
 *         reach that is negative or wider than the halo, unknown flags
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_bands_create(starhalo_field_t *field, const int reach[2 * STARHALO_MAX_DIMS], int nbands,
                      unsigned flags, starhalo_bands_t **out);

/** Forget the plans: unpartitions the tiles (submitted, if partitioned) and unregisters the
 * sub-handles once their tasks are done. Call it before destroying the field. NULL is
 * allowed. */
STARHALO_API void starhalo_bands_destroy(starhalo_bands_t *bands);

/** The field the sub-handles belong to. */
STARHALO_API starhalo_field_t *starhalo_bands_field(const starhalo_bands_t *bands);

/** One piece: its handle, where it lies in the tile, the regions a task on it computes. */
typedef struct starhalo_piece {
    starpu_data_handle_t handle; /**< a row band (child of the tile) or the tile itself */
    int64_t offset;              /**< first tile element held by the handle */
    int64_t count;               /**< elements held by the handle */
    int nregions;                /**< 1 .. STARHALO_TASK_MAX_REGIONS */
    starhalo_box_t region[STARHALO_TASK_MAX_REGIONS]; /**< global coordinates, disjoint */
} starhalo_piece_t;

/** Pieces of @p kind of local part @p part (0 for a remote part or an empty interior). */
STARHALO_API int starhalo_bands_num_pieces(const starhalo_bands_t *bands, int part,
                                           starhalo_region_kind_t kind);
/** Piece @p i of @p kind of local part @p part, or NULL. */
STARHALO_API const starhalo_piece_t *starhalo_bands_piece(const starhalo_bands_t *bands, int part,
                                                          starhalo_region_kind_t kind, int i);

/** Submit the partition of every local tile that is split (no-op if already partitioned). */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_bands_partition(starhalo_bands_t *bands);
/** Submit the unpartition (gather onto main memory) of every partitioned local tile, so that
 * the whole tile can be used again (no-op if not partitioned). */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_bands_unpartition(starhalo_bands_t *bands);

/** What starhalo_bands_insert() submits for each piece. Zero-initialise, set cl. */
typedef struct starhalo_insert_desc {
    struct starpu_codelet *cl;                 /**< the caller's codelet: nbuffers = 1 + nfields (or
                                                    STARPU_VARIABLE_NBUFFERS) */
    enum starpu_data_access_mode mode;         /**< access to buffer 0, the piece; 0 = STARPU_RW */
    int nfields;                               /**< extra buffers: the same part's whole tile ... */
    starhalo_field_t *const *fields;           /**< ... in each of these fields (same tile geometry,
                                                    not the banded field itself) */
    const enum starpu_data_access_mode *modes; /**< their access modes; NULL = STARPU_R */
    const void *arg;                           /**< bytes copied after the starhalo_task_info_t */
    size_t arg_size;
    int priority;     /**< StarPU priority of the tasks (e.g. starpu_sched_get_max_priority()
                           for boundary tasks that later exchanges wait for) */
    const char *name; /**< task name in traces; NULL = the codelet's */
} starhalo_insert_desc_t;

/**
 * Submit @p desc->cl once per piece of @p kind of every local part (parts in increasing
 * order, pieces in band order), with starpu_task_insert: buffer 0 the piece, buffers 1.. the
 * extra fields' tiles, cl_arg a starhalo_task_info_t (tile geometry, regions, the piece's
 * offset) followed by the desc->arg bytes. StarPU itself submits the partition of a split
 * tile before the first task on a band, and the unpartition before the next access to the
 * whole tile (OWNED pieces, exchanges, host access).
 * Typical step, overlapping the halo of u with the interior of v = f(u):
 *
 *     starhalo_exchange_begin(ex_u);
 *     starhalo_bands_insert(bands_v, STARHALO_REGION_INTERIOR, &d, NULL); // reads u's tile
 *     starhalo_exchange_end(ex_u);
 *     starhalo_bands_insert(bands_v, STARHALO_REGION_BOUNDARY, &d, NULL);
 *
 * @p ntasks (may be NULL) receives the number of tasks submitted on this rank. On an error
 * the tasks submitted before it stay submitted.
 * @retval STARHALO_ERR_INVALID_ARG NULL bands/desc/cl, unknown kind, an extra field that is
 *         the banded field, NULL or of another tile geometry, nbuffers that does not match
 * @retval STARHALO_ERR_NO_DEVICE no worker can run the codelet (StarPU -ENODEV)
 * @retval STARHALO_ERR_STARPU another StarPU submission error
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_bands_insert(starhalo_bands_t *bands, starhalo_region_kind_t kind,
                      const starhalo_insert_desc_t *desc, int *ntasks);

STARHALO_END_DECLS

#endif
