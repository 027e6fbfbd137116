/* SPDX-License-Identifier: MIT */
/**
 * @file kern_geom.h
 * @brief Geometry checks and conv/pool call geometry shared by the CPU (oneDNN) and CUDA
 * (cuDNN) kernels. Header-only (static inline), so both kernel libraries use the same code
 * without depending on each other.
 */
#ifndef STARHALO_KERN_GEOM_H
#define STARHALO_KERN_GEOM_H

#include <inttypes.h>
#include <string.h>

#include "kern_index.h"
#include <starhalo/starhalo_kernels.h>

STARHALO_BEGIN_DECLS

/**
 * Check that @p tile is a valid 2-D tile and that @p region grown by @p grow cells on each
 * side of dims 0 and 1 lies inside it; @p what names the caller in the error message.
 * An empty region is valid.
 */
static inline starhalo_status_t starhalo__kern_check_region(const char *what,
                                                            const starhalo_kern_tile_t *tile,
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

/** Geometry of one conv/pool call, in tile-local coordinates; [0] = H, [1] = W (oneDNN and
 * cuDNN order). */
typedef struct starhalo__layer_geom {
    int64_t n, cin, cout;
    int64_t ih, iw, oh, ow;     /* input window and output region sizes */
    int64_t pl[2], pr[2];       /* explicit zero padding before / after the window */
    int64_t in_x0, in_y0;       /* window origin in the input tile */
    int64_t out_x0, out_y0;     /* region origin in the output tile */
    int64_t igw, igh, ogw, ogh; /* tile plane widths and heights */
} starhalo__layer_geom_t;

/**
 * The checks every sliding-window call (conv, pooling, conv backward) starts with: no NULL
 * argument, a valid layer, @p region inside the output tile, equal batch sizes.
 */
static inline starhalo_status_t starhalo__kern_layer_check(const char *what,
                                                           const starhalo_kern_tile_t *it,
                                                           const starhalo_layer_t *layer,
                                                           const starhalo_kern_tile_t *ot,
                                                           const starhalo_box_t *region)
{
    STARHALO_REQUIRE(it && ot && layer && region, STARHALO_ERR_INVALID_ARG, "%s: NULL argument",
                     what);
    STARHALO_REQUIRE(layer->kernel >= 1 && layer->stride >= 1 && layer->dilation >= 1 &&
                         layer->padding >= 0,
                     STARHALO_ERR_INVALID_ARG,
                     "%s: kernel %d, stride %d, dilation %d must be >= 1 and padding %d >= 0", what,
                     layer->kernel, layer->stride, layer->dilation, layer->padding);
    STARHALO_CHECK(starhalo__kern_check_region(what, ot, region, 0));
    STARHALO_REQUIRE(it->batch == ot->batch, STARHALO_ERR_INVALID_ARG,
                     "%s: input batch %" PRId64 " != output batch %" PRId64, what, it->batch,
                     ot->batch);
    return STARHALO_OK;
}

/**
 * Check a conv (@p pool = 0) or pooling call and compute its geometry: the input window of
 * @p region (starhalo_kidx_window) clipped to the tile and the image @p domain (NULL = the
 * tile box); the clipped part becomes explicit padding.
 * @retval STARHALO_ERR_OUT_OF_RANGE the window needs image cells the tile does not hold
 */
static inline starhalo_status_t
starhalo__kern_layer_geom(const char *what, int pool, const starhalo_kern_tile_t *it,
                          const starhalo_layer_t *layer, const starhalo_kern_tile_t *ot,
                          const starhalo_box_t *region, const starhalo_box_t *domain,
                          starhalo__layer_geom_t *g)
{
    STARHALO_CHECK(starhalo__kern_layer_check(what, it, layer, ot, region));
    STARHALO_REQUIRE(!pool || it->channels == ot->channels, STARHALO_ERR_INVALID_ARG,
                     "%s: pooling keeps channels, got %" PRId64 " in and %" PRId64 " out", what,
                     it->channels, ot->channels);
    const starhalo_box_t whole = it->box;
    const starhalo_box_t dom = domain ? *domain : whole;
    const starhalo_box_t avail = starhalo_box_intersect(&whole, &dom);
    memset(g, 0, sizeof *g);
    g->n = it->batch;
    g->cin = it->channels;
    g->cout = ot->channels;
    g->igw = it->box.hi[0] - it->box.lo[0];
    g->igh = it->box.hi[1] - it->box.lo[1];
    g->ogw = ot->box.hi[0] - ot->box.lo[0];
    g->ogh = ot->box.hi[1] - ot->box.lo[1];
    for (int d = 0; d < 2; d++) {
        const int od = 1 - d; /* H first */
        int64_t lo, pl, pr, dlo, dpl, dpr;
        const int64_t n = starhalo_kidx_window(region->lo[d], region->hi[d], layer->kernel,
                                               layer->stride, layer->dilation, layer->padding,
                                               avail.lo[d], avail.hi[d], &lo, &pl, &pr);
        const int64_t dn = starhalo_kidx_window(region->lo[d], region->hi[d], layer->kernel,
                                                layer->stride, layer->dilation, layer->padding,
                                                dom.lo[d], dom.hi[d], &dlo, &dpl, &dpr);
        STARHALO_REQUIRE(
            n == dn && lo == dlo, STARHALO_ERR_OUT_OF_RANGE,
            "%s: output [%" PRId64 ", %" PRId64 ") of dim %d reads input [%" PRId64 ", %" PRId64
            ") of the image but the tile holds [%" PRId64 ", %" PRId64 ")",
            what, region->lo[d], region->hi[d], d, dlo, dlo + dn, whole.lo[d], whole.hi[d]);
        STARHALO_REQUIRE(n > 0, STARHALO_ERR_INVALID_ARG,
                         "%s: output [%" PRId64 ", %" PRId64 ") of dim %d reads no input cell",
                         what, region->lo[d], region->hi[d], d);
        g->pl[od] = pl;
        g->pr[od] = pr;
        if (d == 0) {
            g->iw = n;
            g->ow = region->hi[0] - region->lo[0];
            g->in_x0 = lo - it->box.lo[0];
            g->out_x0 = region->lo[0] - ot->box.lo[0];
        } else {
            g->ih = n;
            g->oh = region->hi[1] - region->lo[1];
            g->in_y0 = lo - it->box.lo[1];
            g->out_y0 = region->lo[1] - ot->box.lo[1];
        }
    }
    return STARHALO_OK;
}

/**
 * Check a conv2d backward call (data or weights) and compute its tile-local geometry: the
 * region's whole input window must lie inside @p in_tile (no clipping, no padding: the ghosts
 * carry it).
 */
static inline starhalo_status_t
starhalo__kern_bwd_geom(const char *what, const starhalo_kern_tile_t *in_tile,
                        const starhalo_kern_tile_t *out_tile, const starhalo_layer_t *layer,
                        const starhalo_box_t *region, starhalo_kidx_bwd_t *g)
{
    STARHALO_CHECK(starhalo__kern_layer_check(what, in_tile, layer, out_tile, region));
    STARHALO_REQUIRE(in_tile->box.hi[2] - in_tile->box.lo[2] == 1, STARHALO_ERR_INVALID_ARG,
                     "%s: 2-D kernel: input tile dim 2 must be one cell thick", what);
    memset(g, 0, sizeof *g);
    g->n = out_tile->batch;
    g->cin = in_tile->channels;
    g->cout = out_tile->channels;
    g->k = layer->kernel;
    g->s = layer->stride;
    g->dil = layer->dilation;
    const int64_t reach = g->dil * (g->k - 1);
    int64_t first[2], last[2];
    for (int d = 0; d < 2; d++) {
        first[d] = region->lo[d] * g->s - layer->padding;
        last[d] = (region->hi[d] - 1) * g->s - layer->padding + reach;
        if (region->hi[d] <= region->lo[d])
            continue;
        STARHALO_REQUIRE(first[d] >= in_tile->box.lo[d] && last[d] < in_tile->box.hi[d],
                         STARHALO_ERR_INVALID_ARG,
                         "%s: the input window [%" PRId64 ", %" PRId64 "] of dim %d leaves the "
                         "input tile [%" PRId64 ", %" PRId64 ")",
                         what, first[d], last[d], d, in_tile->box.lo[d], in_tile->box.hi[d]);
    }
    g->ogw = out_tile->box.hi[0] - out_tile->box.lo[0];
    g->ogh = out_tile->box.hi[1] - out_tile->box.lo[1];
    g->igw = in_tile->box.hi[0] - in_tile->box.lo[0];
    g->igh = in_tile->box.hi[1] - in_tile->box.lo[1];
    g->ox0 = region->lo[0] - out_tile->box.lo[0];
    g->oy0 = region->lo[1] - out_tile->box.lo[1];
    g->ow = region->hi[0] - region->lo[0];
    g->oh = region->hi[1] - region->lo[1];
    g->ix0 = first[0] - in_tile->box.lo[0];
    g->iy0 = first[1] - in_tile->box.lo[1];
    return STARHALO_OK;
}

/** starhalo__kern_bwd_geom, then the check that the call's three data pointers are set. */
static inline starhalo_status_t
starhalo__kern_bwd_prepare(const char *what, const starhalo_kern_tile_t *in_tile,
                           const starhalo_kern_tile_t *out_tile, const starhalo_layer_t *layer,
                           const starhalo_box_t *region, const void *a, const void *b,
                           const void *c, starhalo_kidx_bwd_t *g)
{
    STARHALO_CHECK(starhalo__kern_bwd_geom(what, in_tile, out_tile, layer, region, g));
    STARHALO_REQUIRE(a && b && c, STARHALO_ERR_INVALID_ARG, "%s: NULL data pointer", what);
    return STARHALO_OK;
}

/** Check a conv's @p groups (>= 1) against the tiles' channels: Cin and Cout must be
 * multiples of it (weights Cout x Cin/groups x k x k). */
static inline starhalo_status_t starhalo__kern_groups_check(const char *what, int groups,
                                                            const starhalo_kern_tile_t *in_tile,
                                                            const starhalo_kern_tile_t *out_tile)
{
    STARHALO_REQUIRE(groups >= 1, STARHALO_ERR_INVALID_ARG, "%s: groups %d must be >= 1", what,
                     groups);
    STARHALO_REQUIRE(in_tile && out_tile, STARHALO_ERR_INVALID_ARG, "%s: NULL tile", what);
    STARHALO_REQUIRE(in_tile->channels % groups == 0 && out_tile->channels % groups == 0,
                     STARHALO_ERR_INVALID_ARG,
                     "%s: groups %d must divide the input channels (%" PRId64
                     ") and the output channels (%" PRId64 ")",
                     what, groups, in_tile->channels, out_tile->channels);
    return STARHALO_OK;
}

/** A region with no cell in dims 0 or 1 (the 2-D backward and ReLU kernels ignore dim 2). */
static inline int starhalo__kern_region_empty_2d(const starhalo_box_t *r)
{
    return r->hi[0] <= r->lo[0] || r->hi[1] <= r->lo[1];
}

/** An empty region (nothing to compute). */
static inline int starhalo__kern_region_empty(const starhalo_box_t *r)
{
    return r->hi[0] <= r->lo[0] || r->hi[1] <= r->lo[1] || r->hi[2] <= r->lo[2];
}

STARHALO_END_DECLS

#endif
