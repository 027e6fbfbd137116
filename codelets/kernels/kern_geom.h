/* SPDX-License-Identifier: MIT */
/**
 * @file kern_internal.h
 * @brief Geometry checks shared by the CPU kernels (and the CUDA entry points).
 */
#ifndef STARHALO_KERN_INTERNAL_H
#define STARHALO_KERN_INTERNAL_H

#include "starhalo_kernels.h"

STARHALO_BEGIN_DECLS

/**
 * Check that @p tile is a valid 2-D tile and that @p region grown by @p grow cells on each
 * side of dims 0 and 1 lies inside it; @p what names the caller in the error message.
 * An empty region is valid.
 */
starhalo_status_t starhalo__kern_check_region(const char *what, const starhalo_kern_tile_t *tile,
                                              const starhalo_box_t *region, int grow);

STARHALO_END_DECLS

#endif
