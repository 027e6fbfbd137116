/* SPDX-License-Identifier: MIT */
/**
 * @file starhalo_starpu.h
 * @brief StarPU view of starhalo objects, for users who submit their own StarPU tasks on
 * field tiles (e.g. a stencil between starhalo_exchange_begin() and _end()).
 *
 * A tile is a StarPU VECTOR handle of planes x plane_size elements (elemsize = dtype size),
 * registered on STARPU_MAIN_RAM of the owning rank; geometry comes from
 * starhalo_field_part_plan(). Tasks that read the tile may run concurrently with the
 * exchange's pack tasks; tasks that write it are ordered by StarPU's data dependencies.
 */
#ifndef STARHALO_STARPU_H
#define STARHALO_STARPU_H

#include <starpu.h>

#include <starhalo/starhalo_runtime.h>

STARHALO_BEGIN_DECLS

/** The vector handle of a local part's ghosted tile (do not unregister it). */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_field_part_handle(starhalo_field_t *field, int part, starpu_data_handle_t *out);

STARHALO_END_DECLS

#endif
