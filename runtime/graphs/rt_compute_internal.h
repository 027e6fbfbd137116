/* SPDX-License-Identifier: MIT */
/**
 * @file rt_compute_internal.h
 * @brief What the files of the compute task graphs share (runtime/graphs only); their codelets
 * are in codelets/starpu (codelet_band_stencil.c, codelet_sqdiff.c, ...).
 */
#ifndef STARHALO_RT_COMPUTE_INTERNAL_H
#define STARHALO_RT_COMPUTE_INTERNAL_H

#include <starpu.h>

#include <starhalo/starhalo_compute.h>

#include "codelets.h"
#include <starhalo/starhalo_kernels.h>

/** The local parts of @p field in a new array (*ids, free() it; never NULL) and their count. */
starhalo_status_t starhalo__compute_local_parts(const starhalo_field_t *field, int **ids, int *n);

/** STARHALO_ERR_INVALID_ARG unless @p field has a decomposition (index fields have none):
 * the message names the call @p what and the argument @p which. */
starhalo_status_t starhalo__compute_require_structured(const starhalo_field_t *field,
                                                       const char *what, const char *which);

/** The kernel tile geometry of a part of @p field: its starhalo_tile_t (starhalo_field_part_tile)
 * as the kernels see it, the one conversion between the two. */
starhalo_kern_tile_t starhalo__compute_tile(const starhalo_field_t *field, int part);

/** The image box of @p field (global coordinates; dims 0 and 1 of the extent, dim 2 one cell):
 * the domain whose outside the conv and pooling kernels treat as padding. */
starhalo_box_t starhalo__compute_image_box(const starhalo_field_t *field);

/** STARHALO_ERR_INVALID_ARG (the message starts with @p what) unless @p in and @p out are
 * 2-D float32 fields of one batch, @p in has the layer's halos (starhalo_layer_halo; BOX shape
 * when any), and @p out has the layer's output decomposition (starhalo_layer_output_decomp of
 * in's, parts on the same ranks). */
starhalo_status_t starhalo__compute_check_layer(const char *what, const starhalo_field_t *in,
                                                const starhalo_field_t *out,
                                                const starhalo_layer_t *layer);

#endif
