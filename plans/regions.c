/* SPDX-License-Identifier: MIT */
/**
 * @file regions.c
 * @brief Interior / boundary split of a part's owned box for a compute footprint (GT4Py's
 * internal / foreign_halo split), so interior compute overlaps the halo exchange.
 */
#include "plans_internal.h"

#include <string.h>

starhalo_status_t starhalo_part_plan_regions(const starhalo_part_plan_t *plan,
                                             const int reach[2 * STARHALO_MAX_DIMS],
                                             starhalo_regions_t *out)
{
    STARHALO_REQUIRE(plan && reach && out, STARHALO_ERR_INVALID_ARG, "regions: NULL argument");
    memset(out, 0, sizeof *out);
    static const char *const side_name[2] = {"minus", "plus"};
    for (int d = 0; d < plan->ndims; d++)
        for (int s = 0; s < 2; s++) {
            const int r = reach[2 * d + s], h = plan->halo[2 * d + s];
            STARHALO_REQUIRE(r >= 0 && r <= h, STARHALO_ERR_INVALID_ARG,
                             "reach %d on the %s side of dim %d of part %d is outside [0, %d] "
                             "(the halo width)",
                             r, side_name[s], d, plan->part, h);
        }

    /* Only sides filled by messages shrink the interior; zero-padded borders do not. */
    const starhalo_box_t owned = plan->owned;
    starhalo_box_t in = owned;
    int empty = 0;
    for (int d = 0; d < plan->ndims; d++) {
        if (plan->has_side[2 * d])
            in.lo[d] += reach[2 * d];
        if (plan->has_side[2 * d + 1])
            in.hi[d] -= reach[2 * d + 1];
        empty = empty || in.hi[d] <= in.lo[d];
    }
    if (empty) {
        for (int d = 0; d < STARHALO_MAX_DIMS; d++)
            in.hi[d] = in.lo[d] = owned.lo[d];
        out->interior = in;
        if (starhalo_box_volume(&owned) > 0)
            out->boundary[out->nboundary++] = owned;
        return STARHALO_OK;
    }
    out->interior = in;

    /* Peel slabs from the slowest dim down: full-width slabs first, then narrower strips. */
    starhalo_box_t rest = owned;
    for (int d = plan->ndims - 1; d >= 0; d--) {
        starhalo_box_t lo_slab = rest, hi_slab = rest;
        lo_slab.hi[d] = in.lo[d];
        hi_slab.lo[d] = in.hi[d];
        if (starhalo_box_volume(&lo_slab) > 0)
            out->boundary[out->nboundary++] = lo_slab;
        if (starhalo_box_volume(&hi_slab) > 0)
            out->boundary[out->nboundary++] = hi_slab;
        rest.lo[d] = in.lo[d];
        rest.hi[d] = in.hi[d];
    }
    return STARHALO_OK;
}
