/* SPDX-License-Identifier: MIT */
/**
 * @file rt_compute_internal.h
 * @brief Codelets and cl_args of the compute task graph (rt_compute*.c only).
 */
#ifndef STARHALO_RT_COMPUTE_INTERNAL_H
#define STARHALO_RT_COMPUTE_INTERNAL_H

#include <starpu.h>

#include <starhalo/starhalo_compute.h>

#include "codelets.h"
#include "starhalo_kernels.h"

/** Most regions one band task computes: the interior piece, or the boundary pieces of a band. */
#define STARHALO__BAND_MAX_REGIONS (STARHALO_MAX_BOUNDARY_BOXES + 1)

/**
 * cl_args of starhalo__cl_band_stencil (copied by StarPU). Buffers: the input tile (R), the
 * output band (RW). The band is a contiguous piece of the output tile starting at element
 * @p band_offset, so the kernel runs on the tile geometry with out = band - band_offset (the
 * band handle is a child of the tile: same allocation).
 */
typedef struct starhalo__band_args {
    starhalo_stencil_kind_t kind;
    starhalo_dtype_t dtype;
    starhalo_kern_tile_t tile;
    int64_t band_offset;
    int nregions;
    starhalo_box_t region[STARHALO__BAND_MAX_REGIONS];
    int *status; /**< first failure of any task of the owner (atomic), 0 = none */
} starhalo__band_args_t;

/** cl_args of starhalo__cl_sqdiff. Buffers: tile a (R), tile b (R), one double (W). */
typedef struct starhalo__sqdiff_args {
    starhalo_dtype_t dtype;
    starhalo_kern_tile_t tile;
    starhalo_box_t region;
    int *status;
} starhalo__sqdiff_args_t;

extern struct starpu_codelet starhalo__cl_band_stencil;
extern struct starpu_codelet starhalo__cl_sqdiff;

/** The local parts of @p field in a new array (*ids, free() it; never NULL) and their count. */
starhalo_status_t starhalo__compute_local_parts(const starhalo_field_t *field, int **ids, int *n);

/** STARHALO_ERR_INVALID_ARG unless @p field has a decomposition (index fields have none):
 * the message names the call @p what and the argument @p which. */
starhalo_status_t starhalo__compute_require_structured(const starhalo_field_t *field,
                                                       const char *what, const char *which);

/** The kernel tile geometry of a part of @p field: its starhalo_tile_t (starhalo_field_part_tile)
 * as the kernels see it, the one conversion between the two. */
starhalo_kern_tile_t starhalo__compute_tile(const starhalo_field_t *field, int part);

#endif
