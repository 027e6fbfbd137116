/* SPDX-License-Identifier: MIT */
/**
 * @file tile.c
 * @brief The public tile geometry of a part (starhalo_tile.h): ghosted and owned boxes,
 * strides and planes, from the decomposition alone (the same on every rank).
 */
#include <starhalo/starhalo_tile.h>

#include "plans_internal.h"

starhalo_status_t starhalo_decomp_part_tile(const starhalo_decomp_t *decomp, int part,
                                            starhalo_dtype_t dtype, starhalo_tile_t *out)
{
    STARHALO_REQUIRE(decomp && out, STARHALO_ERR_INVALID_ARG, "decomp_part_tile: NULL argument");
    const size_t esz = starhalo_dtype_size(dtype);
    STARHALO_REQUIRE(esz != 0, STARHALO_ERR_INVALID_ARG, "decomp_part_tile: unknown dtype %d",
                     (int)dtype);
    const starhalo_decomp_desc_t *d = starhalo_decomp_desc(decomp);
    STARHALO_REQUIRE(part >= 0 && part < starhalo_decomp_num_parts(decomp),
                     STARHALO_ERR_OUT_OF_RANGE, "decomp_part_tile: part %d is outside [0, %d)",
                     part, starhalo_decomp_num_parts(decomp));
    starhalo_tile_t t = {0};
    t.part = part;
    t.ndims = d->ndims;
    t.dtype = dtype;
    t.elemsize = (int)esz;
    t.owned = starhalo_decomp_owned_box(decomp, part);
    t.ghosted = t.owned;
    for (int k = 0; k < STARHALO_MAX_DIMS; k++) {
        t.ghosted.lo[k] -= d->halo[2 * k];
        t.ghosted.hi[k] += d->halo[2 * k + 1];
    }
    t.ld = t.ghosted.hi[0] - t.ghosted.lo[0];
    t.slice = t.ld * (t.ghosted.hi[1] - t.ghosted.lo[1]);
    t.plane = t.slice * (t.ghosted.hi[2] - t.ghosted.lo[2]);
    t.batch = d->batch > 0 ? d->batch : 1;
    t.channels = d->channels > 0 ? d->channels : 1;
    t.planes = t.batch * t.channels;
    *out = t;
    return STARHALO_OK;
}
