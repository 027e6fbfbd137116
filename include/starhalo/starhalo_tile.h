/* SPDX-License-Identifier: MIT */
/**
 * @file starhalo_tile.h
 * @brief The memory layout of one part's ghosted tile, for codelets and host code: boxes in
 * global coordinates, strides, planes, element type. StarPU-free and MPI-free (CUDA kernels
 * and plain C code can include it).
 *
 * A tile holds the part's ghosted box (owned box grown by the halos, image-border ghosts
 * included), stored W fastest, for each of the batch x channels planes:
 *
 *     element (plane p, global cell x, y, z) is at
 *     p * plane + (z - ghosted.lo[2]) * slice + (y - ghosted.lo[1]) * ld + (x - ghosted.lo[0])
 *
 * which starhalo_tile_offset() computes. 2-D tiles have z = 0 and one slice per plane.
 *
 * The geometry is the same on every rank (it comes from the decomposition), so any rank can
 * describe any part's tile, local or remote.
 */
#ifndef STARHALO_TILE_H
#define STARHALO_TILE_H

#include <stddef.h>
#include <stdint.h>

#include <starhalo/starhalo_plan.h>
#include <starhalo/starhalo_types.h>

STARHALO_BEGIN_DECLS

/** Geometry of one part's ghosted tile. All counts are in elements, not bytes. */
typedef struct starhalo_tile {
    int part;               /**< part index in the decomposition */
    int ndims;              /**< spatial dims of the decomposition (2 or 3) */
    starhalo_dtype_t dtype; /**< element type */
    int elemsize;           /**< bytes per element (4 or 8) */
    starhalo_box_t ghosted; /**< the cells the tile stores (global coordinates) */
    starhalo_box_t owned;   /**< the cells the part owns (inside ghosted) */
    int64_t ld;             /**< leading dimension: elements between rows (y) = ghosted W */
    int64_t slice;          /**< elements between slices (z) = ld * ghosted H */
    int64_t plane;          /**< elements of one plane = slice * ghosted D */
    int64_t planes;         /**< planes of the tile = batch * channels */
    int64_t batch;          /**< N (>= 1) */
    int64_t channels;       /**< C (>= 1) */
} starhalo_tile_t;

/**
 * The tile of @p part of @p decomp with elements of @p dtype (any part, O(1)).
 * @retval STARHALO_ERR_INVALID_ARG NULL decomp or out, unknown dtype
 * @retval STARHALO_ERR_OUT_OF_RANGE part outside [0, nparts)
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_decomp_part_tile(
    const starhalo_decomp_t *decomp, int part, starhalo_dtype_t dtype, starhalo_tile_t *out);

/** Element offset of plane @p plane, global cell (@p x, @p y, @p z) in @p tile (z = 0 in 2-D).
 * No bounds check: the cell must lie in tile->ghosted (starhalo_tile_holds). */
static inline int64_t starhalo_tile_offset(const starhalo_tile_t *tile, int64_t plane, int64_t x,
                                           int64_t y, int64_t z)
{
    return plane * tile->plane + (z - tile->ghosted.lo[2]) * tile->slice +
           (y - tile->ghosted.lo[1]) * tile->ld + (x - tile->ghosted.lo[0]);
}

/** 1 if global cell (@p x, @p y, @p z) is stored in the tile (inside the ghosted box). */
static inline int starhalo_tile_holds(const starhalo_tile_t *tile, int64_t x, int64_t y, int64_t z)
{
    return x >= tile->ghosted.lo[0] && x < tile->ghosted.hi[0] && y >= tile->ghosted.lo[1] &&
           y < tile->ghosted.hi[1] && z >= tile->ghosted.lo[2] && z < tile->ghosted.hi[2];
}

/** Elements of the whole tile (plane * planes). */
static inline int64_t starhalo_tile_elems(const starhalo_tile_t *tile)
{
    return tile->plane * tile->planes;
}

/* ---------------------------------------------------------------------------------------- */
/* What a codelet submitted by starhalo_bands_insert() receives (starhalo_starpu.h)          */
/* ---------------------------------------------------------------------------------------- */

/** Most regions one task computes: an interior piece, or the boundary pieces of one band. */
#define STARHALO_TASK_MAX_REGIONS (STARHALO_MAX_BOUNDARY_BOXES + 1)

/** Which cells of a part a task computes. */
typedef enum starhalo_region_kind {
    STARHALO_REGION_INTERIOR = 0, /**< cells whose footprint needs no ghost (run while the
                                       halo travels, between exchange begin and end) */
    STARHALO_REGION_BOUNDARY = 1, /**< the rest of the owned box (after exchange end) */
    STARHALO_REGION_OWNED = 2     /**< the whole owned box in one task per part */
} starhalo_region_kind_t;

/**
 * The head of the cl_arg of every task starhalo_bands_insert() submits; the caller's own
 * argument bytes follow it (starhalo_task_arg()). Buffer 0 of the task is the piece: a
 * contiguous range [offset, offset + count) of the tile's elements (a row band, or the whole
 * tile with offset 0), so a codelet addresses cell (p, x, y, z) of the tile at
 * `buffer0 + (starhalo_tile_offset(&info->tile, p, x, y, z) - info->offset)` elements
 * (starhalo_task_tile_base()). It must write only the cells of region[0 .. nregions), which
 * lie inside the piece. Buffers 1.. are whole tiles of other fields (offset 0, same geometry).
 */
typedef struct starhalo_task_info {
    starhalo_tile_t tile;        /**< geometry of the part's tile */
    starhalo_region_kind_t kind; /**< which kind of piece this task computes */
    int nregions;                /**< boxes to compute, 1 .. STARHALO_TASK_MAX_REGIONS */
    int64_t offset;              /**< first tile element held by buffer 0 */
    int64_t count;               /**< elements held by buffer 0 */
    starhalo_box_t region[STARHALO_TASK_MAX_REGIONS]; /**< global coordinates, disjoint */
    int64_t arg_size; /**< bytes of the caller's argument after this struct */
} starhalo_task_info_t;

/** The caller's argument bytes that follow the info in a task's cl_arg (NULL if none); they
 * start 8-byte aligned (sizeof(starhalo_task_info_t) is a multiple of 8). */
static inline void *starhalo_task_arg(void *cl_arg)
{
    starhalo_task_info_t *info = (starhalo_task_info_t *)cl_arg;
    return info->arg_size > 0 ? (void *)((char *)cl_arg + sizeof *info) : NULL;
}

/** Turn buffer 0's pointer into a pointer to tile element 0, so that starhalo_tile_offset()
 * addresses it directly (only the elements of the piece may be accessed). */
static inline void *starhalo_task_tile_base(const starhalo_task_info_t *info, void *buffer0)
{
    return (char *)buffer0 - info->offset * (int64_t)info->tile.elemsize;
}

STARHALO_END_DECLS

#endif
