/* SPDX-License-Identifier: MIT */
/**
 * @file kern_tile.c
 * @brief Tile sizes and the region checks every kernel starts with.
 */
#include "kern_internal.h"

#include <inttypes.h>

int64_t starhalo_kern_tile_plane_size(const starhalo_kern_tile_t *tile)
{
    return starhalo_box_volume(&tile->box);
}

int64_t starhalo_kern_tile_elems(const starhalo_kern_tile_t *tile)
{
    return starhalo_kern_tile_plane_size(tile) * tile->batch * tile->channels;
}

starhalo_status_t starhalo__kern_check_region(const char *what, const starhalo_kern_tile_t *tile,
                                              const starhalo_box_t *region, int grow)
{
    STARHALO_REQUIRE(tile && region, STARHALO_ERR_INVALID_ARG, "%s: NULL tile or region", what);
    STARHALO_REQUIRE(tile->batch >= 1 && tile->channels >= 1, STARHALO_ERR_INVALID_ARG,
                     "%s: tile batch %" PRId64 " and channels %" PRId64 " must be >= 1", what,
                     tile->batch, tile->channels);
    STARHALO_REQUIRE(tile->box.hi[2] - tile->box.lo[2] == 1 && region->lo[2] >= tile->box.lo[2] &&
                         region->hi[2] <= tile->box.hi[2],
                     STARHALO_ERR_INVALID_ARG,
                     "%s: 2-D kernel: dim 2 of the tile [%" PRId64 ", %" PRId64
                     ") must be one cell thick and hold the region's",
                     what, tile->box.lo[2], tile->box.hi[2]);
    for (int d = 0; d < 2; d++) {
        STARHALO_REQUIRE(tile->box.hi[d] > tile->box.lo[d], STARHALO_ERR_INVALID_ARG,
                         "%s: tile dim %d is empty [%" PRId64 ", %" PRId64 ")", what, d,
                         tile->box.lo[d], tile->box.hi[d]);
        if (region->hi[d] <= region->lo[d])
            return STARHALO_OK; /* empty region: nothing to read or write */
    }
    for (int d = 0; d < 2; d++)
        STARHALO_REQUIRE(
            region->lo[d] - grow >= tile->box.lo[d] && region->hi[d] + grow <= tile->box.hi[d],
            STARHALO_ERR_INVALID_ARG,
            "%s: region [%" PRId64 ", %" PRId64 ") of dim %d grown by %d leaves the "
            "tile [%" PRId64 ", %" PRId64 ")",
            what, region->lo[d], region->hi[d], d, grow, tile->box.lo[d], tile->box.hi[d]);
    return STARHALO_OK;
}
