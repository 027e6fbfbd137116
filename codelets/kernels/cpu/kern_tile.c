/* SPDX-License-Identifier: MIT */
/**
 * @file kern_tile.c
 * @brief Tile sizes.
 */
#include <starhalo/starhalo_kernels.h>

int64_t starhalo_kern_tile_plane_size(const starhalo_kern_tile_t *tile)
{
    return starhalo_box_volume(&tile->box);
}

int64_t starhalo_kern_tile_elems(const starhalo_kern_tile_t *tile)
{
    return starhalo_kern_tile_plane_size(tile) * tile->batch * tile->channels;
}
