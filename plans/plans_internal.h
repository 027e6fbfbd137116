/* SPDX-License-Identifier: MIT */
/**
 * @file plans_internal.h
 * @brief Private struct definitions of the plans layer (decomposition, part plan, transfer
 * plan). Only the sources of plans/ include this.
 */
#ifndef STARHALO_PLANS_INTERNAL_H
#define STARHALO_PLANS_INTERNAL_H

#include <starhalo/starhalo_plan.h>

/** 3^3 - 1 directions: the most neighbours a part can have. */
#define STARHALO__MAX_NEIGHBORS 26

struct starhalo_decomp {
    starhalo_decomp_desc_t desc; /**< normalised copy: unused dims have extent 1, halo 0 */
    int grid[STARHALO_MAX_DIMS]; /**< parts per dim (1 for unused dims) */
    /** Per dim, grid[d] + 1 prefix offsets: part c owns [offsets[d][c], offsets[d][c+1]). */
    int64_t *offsets[STARHALO_MAX_DIMS];
};

struct starhalo_part_plan {
    int part;
    int ndims;
    int coord[STARHALO_MAX_DIMS];
    starhalo_box_t owned;
    starhalo_box_t ghosted;
    int halo[2 * STARHALO_MAX_DIMS];
    /** Non-zero when a part (possibly this one, periodic) lies on side s = 2d (minus) or
     * 2d+1 (plus): ghosts there are filled by messages, not zero padding. */
    int has_side[2 * STARHALO_MAX_DIMS];
    int64_t planes; /**< batch x channels */
    int nneighbors;
    starhalo_neighbor_t neighbors[STARHALO__MAX_NEIGHBORS];
};

struct starhalo_xfer_plan {
    int npeers;
    starhalo_peer_xfer_t *peers; /**< run pointers point into @ref runs */
    starhalo_run_t *runs;
    int64_t plane_size;
    int64_t planes;
};

/** Direction slot 0..26 of a direction vector (dim 0 fastest): the message tag. */
static inline int starhalo__dir_slot(const int dir[STARHALO_MAX_DIMS])
{
    return (dir[0] + 1) + 3 * (dir[1] + 1) + 9 * (dir[2] + 1);
}

/** The box [0, 1) in every dim: what unused dims look like. */
static inline starhalo_box_t starhalo__box_unit(void)
{
    starhalo_box_t b;
    for (int d = 0; d < STARHALO_MAX_DIMS; d++) {
        b.lo[d] = 0;
        b.hi[d] = 1;
    }
    return b;
}

/** An empty box (lo == hi == 0): what invalid parts and NULL plans report. */
static inline starhalo_box_t starhalo__box_empty(void)
{
    starhalo_box_t b = starhalo__box_unit();
    for (int d = 0; d < STARHALO_MAX_DIMS; d++)
        b.hi[d] = b.lo[d];
    return b;
}

#endif
