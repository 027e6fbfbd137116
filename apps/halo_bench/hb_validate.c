/* SPDX-License-Identifier: MIT */
/**
 * @file hb_validate.c
 * @brief The global-index image oracle. Every owned cell holds a function of its global
 * (plane, y, x) index; after an exchange every ghost cell must hold the value of the cell it
 * mirrors (wrapped when periodic) and image-border ghosts must be 0 (zero padding). The
 * geometry comes from the decomposition's owned boxes only, never from the halo plans, so the
 * check is independent of the code under test.
 */
#include "halo_bench.h"

#include <stdio.h>

void hb_tile_geom(const hb_options_t *o, const starhalo_decomp_t *decomp, int part,
                  hb_tile_geom_t *g)
{
    g->owned = starhalo_decomp_owned_box(decomp, part);
    g->ghosted = g->owned;
    for (int d = 0; d < 2; d++) {
        g->ghosted.lo[d] -= o->halo;
        g->ghosted.hi[d] += o->halo;
    }
    g->gw = g->ghosted.hi[0] - g->ghosted.lo[0];
    g->gh = g->ghosted.hi[1] - g->ghosted.lo[1];
    g->planes = o->batch * o->in_channels;
}

/* 23-bit values: exact in float32, never 0 (padding) nor -1 (sentinel). Multiplying by an odd
 * constant keeps neighbouring cells distinct, so shifted or transposed copies are caught. */
static inline uint32_t oracle_bits(uint64_t gen, uint64_t linear)
{
    return (uint32_t)(((linear + gen * 0x5bd1e995ULL) * 0x9E3779B1ULL) & 0x7FFFFFULL) + 1u;
}

double hb_oracle_value(const hb_options_t *o, uint64_t gen, int64_t plane, int64_t y, int64_t x)
{
    const uint64_t n = (uint64_t)o->image_size;
    return (double)oracle_bits(gen, ((uint64_t)plane * n + (uint64_t)y) * n + (uint64_t)x);
}

/* Global coordinate a ghost cell mirrors along one dim; -1 when it is zero padding. */
static int64_t mirror(const hb_options_t *o, int64_t v)
{
    const int64_t n = o->image_size;
    if (v >= 0 && v < n)
        return v;
    if (!o->periodic)
        return -1;
    return ((v % n) + n) % n;
}

static int inside(const starhalo_box_t *b, int64_t y, int64_t x)
{
    return x >= b->lo[0] && x < b->hi[0] && y >= b->lo[1] && y < b->hi[1];
}

static inline void store(starhalo_dtype_t dt, void *tile, int64_t i, double v)
{
    if (dt == STARHALO_FLOAT64)
        ((double *)tile)[i] = v;
    else
        ((float *)tile)[i] = (float)v;
}

static inline double load(starhalo_dtype_t dt, const void *tile, int64_t i)
{
    return dt == STARHALO_FLOAT64 ? ((const double *)tile)[i] : (double)((const float *)tile)[i];
}

void hb_tile_fill(const hb_options_t *o, const hb_tile_geom_t *g, uint64_t gen, void *tile)
{
    const int64_t plane_size = g->gw * g->gh;
    for (int64_t p = 0; p < g->planes; p++) {
        for (int64_t ly = 0; ly < g->gh; ly++) {
            const int64_t y = g->ghosted.lo[1] + ly;
            const int64_t my = mirror(o, y);
            const int64_t row = p * plane_size + ly * g->gw;
            for (int64_t lx = 0; lx < g->gw; lx++) {
                const int64_t x = g->ghosted.lo[0] + lx;
                double v;
                if (inside(&g->owned, y, x))
                    v = hb_oracle_value(o, gen, p, y, x);
                else if (my >= 0 && mirror(o, x) >= 0)
                    v = -1.0; /* must be overwritten by the exchange */
                else
                    v = 0.0; /* zero padding, never written */
                store(o->dtype, tile, row + lx, v);
            }
        }
    }
}

int64_t hb_tile_check(const hb_options_t *o, const hb_tile_geom_t *g, uint64_t gen, int full,
                      const void *tile, char *what, size_t whatlen)
{
    const int64_t plane_size = g->gw * g->gh;
    int64_t bad = 0;
    what[0] = '\0';
    for (int64_t p = 0; p < g->planes; p++) {
        for (int64_t ly = 0; ly < g->gh; ly++) {
            const int64_t y = g->ghosted.lo[1] + ly;
            const int64_t my = mirror(o, y);
            const int owned_row = y >= g->owned.lo[1] && y < g->owned.hi[1];
            const int64_t row = p * plane_size + ly * g->gw;
            for (int64_t lx = 0; lx < g->gw; lx++) {
                const int64_t x = g->ghosted.lo[0] + lx;
                if (!full && owned_row && x >= g->owned.lo[0] && x < g->owned.hi[0]) {
                    lx = g->owned.hi[0] - g->ghosted.lo[0] - 1; /* skip the owned run */
                    continue;
                }
                const int64_t mx = mirror(o, x);
                const double want = (my >= 0 && mx >= 0) ? hb_oracle_value(o, gen, p, my, mx) : 0.0;
                const double got = load(o->dtype, tile, row + lx);
                if (got != want) {
                    if (bad == 0)
                        snprintf(what, whatlen,
                                 "plane %lld cell (y=%lld, x=%lld): got %.9g, expected %.9g%s",
                                 (long long)p, (long long)y, (long long)x, got, want,
                                 got == -1.0 ? " (never received)" : "");
                    bad++;
                }
            }
        }
    }
    return bad;
}
