/* SPDX-License-Identifier: MIT */
/**
 * @file codelet_xfer.h
 * @brief The pack/unpack loops behind starhalo_cl_pack / starhalo_cl_unpack, callable on raw
 * pointers so that the runtime's direct-MPI transport runs exactly the same code.
 */
#ifndef STARHALO_CODELET_XFER_H
#define STARHALO_CODELET_XFER_H

#include "codelets.h"

/** Gather every field's runs into each message: tiles[nfields], msgs[a->nmsgs]. */
void starhalo__xfer_pack(const starhalo_cl_xfer_args_t *a, void *const *tiles, void *const *msgs);
/** Scatter each message into every field's runs with a->op: msgs[a->nmsgs], tiles[nfields]. */
void starhalo__xfer_unpack(const starhalo_cl_xfer_args_t *a, void *const *msgs, void *const *tiles);

#endif
