/* SPDX-License-Identifier: MIT */
/**
 * @file plans_fixture.h
 * @brief Shared by the plans tests: fixed and seeded random decomposition shapes, a "world"
 * holding every part's plan of one decomposition, and naive reference geometry computed
 * without the library (expected owned boxes, owners, mirrored cells).
 */
#ifndef STARHALO_PLANS_FIXTURE_H
#define STARHALO_PLANS_FIXTURE_H

#include "starhalo_test.h"

#include <starhalo/starhalo_plan.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FX_MAX_P 6

/** Integer square root (floor), for the SQUARE split. */
static inline int sqrt_int(int n)
{
    int r = 0;
    while ((r + 1) * (r + 1) <= n)
        r++;
    return r;
}

/** A decomposition description plus storage for its explicit part sizes. */
typedef struct fx_shape {
    starhalo_decomp_desc_t desc;
    int64_t sizes[STARHALO_MAX_DIMS][FX_MAX_P];
    char name[160];
} fx_shape_t;

/** Every part's plan of one decomposition, and the reference prefix offsets. */
typedef struct fx_world {
    const fx_shape_t *shape;
    starhalo_decomp_t *dc;
    int ndims, nparts;
    int grid[STARHALO_MAX_DIMS];
    int64_t extent[STARHALO_MAX_DIMS];
    int64_t off[STARHALO_MAX_DIMS][FX_MAX_P + 1]; /* computed here, not by the library */
    starhalo_part_plan_t **plans;
} fx_world_t;

static inline void fx_name(fx_shape_t *s)
{
    const starhalo_decomp_desc_t *d = &s->desc;
    snprintf(s->name, sizeof s->name,
             "%dD %lldx%lldx%lld split %d grid %dx%dx%d halo %d,%d,%d,%d,%d,%d %s per %d%d%d "
             "sizes %s",
             d->ndims, (long long)d->extent[0], (long long)d->extent[1], (long long)d->extent[2],
             (int)d->split, d->parts_per_dim[0], d->parts_per_dim[1], d->parts_per_dim[2],
             d->halo[0], d->halo[1], d->halo[2], d->halo[3], d->halo[4], d->halo[5],
             d->shape == STARHALO_STENCIL_BOX ? "box" : "star", d->periodic[0], d->periodic[1],
             d->periodic[2], d->part_sizes[0] ? "explicit" : "spread");
}

/**
 * A random valid shape: 2-D or 3-D GRID (sometimes VERTICAL/HORIZONTAL/SQUARE), 1..4 parts
 * per dim, halos 0..3 per side, every part at least as wide as the widest halo of its dim
 * (so the shape is valid periodic or not), uneven spread or explicit sizes.
 */
static inline void fx_random_shape(uint64_t *rng, fx_shape_t *s)
{
    memset(s, 0, sizeof *s);
    starhalo_decomp_desc_t *d = &s->desc;
    d->ndims = 2 + (int)(starhalo_test_rand(rng) % 2);
    const int maxp = d->ndims == 2 ? 4 : 3;
    const int explicit_sizes = (int)(starhalo_test_rand(rng) % 2);
    d->split = STARHALO_SPLIT_GRID;
    for (int k = 0; k < d->ndims; k++) {
        d->parts_per_dim[k] = 1 + (int)(starhalo_test_rand(rng) % (uint64_t)maxp);
        int hmax = 0;
        for (int side = 0; side < 2; side++) {
            d->halo[2 * k + side] = (int)(starhalo_test_rand(rng) % 4);
            hmax = d->halo[2 * k + side] > hmax ? d->halo[2 * k + side] : hmax;
        }
        const int64_t minw = hmax > 0 ? hmax : 1;
        const int p = d->parts_per_dim[k];
        if (explicit_sizes) {
            for (int c = 0; c < p; c++) {
                s->sizes[k][c] = minw + (int64_t)(starhalo_test_rand(rng) % 4);
                d->extent[k] += s->sizes[k][c];
            }
            d->part_sizes[k] = s->sizes[k];
        } else {
            d->extent[k] = p * minw + (int64_t)(starhalo_test_rand(rng) % (uint64_t)(3 * p + 1));
        }
        d->periodic[k] = (int)(starhalo_test_rand(rng) % 2);
    }
    /* The named splits are GRID special cases; exercise them when the grid fits. */
    if (d->ndims == 2 && !explicit_sizes && starhalo_test_rand(rng) % 2) {
        const int px = d->parts_per_dim[0], py = d->parts_per_dim[1];
        if (py == 1) {
            d->split = STARHALO_SPLIT_VERTICAL, d->nparts = px;
        } else if (px == 1) {
            d->split = STARHALO_SPLIT_HORIZONTAL, d->nparts = py;
        } else if (px == py) {
            d->split = STARHALO_SPLIT_SQUARE, d->nparts = px * py;
        }
        if (d->split != STARHALO_SPLIT_GRID)
            d->parts_per_dim[0] = d->parts_per_dim[1] = 0;
    }
    d->shape = starhalo_test_rand(rng) % 2 ? STARHALO_STENCIL_BOX : STARHALO_STENCIL_STAR;
    d->batch = (int64_t)(starhalo_test_rand(rng) % 3);    /* 0 means 1 */
    d->channels = (int64_t)(starhalo_test_rand(rng) % 3); /* 0 means 1 */
    fx_name(s);
}

/** A fixed 2-D or 3-D shape: a GRID split with the same halo on every side. */
static inline void fx_fixed_shape(fx_shape_t *s, int ndims, const int64_t extent[3],
                                  const int parts[3], int halo, int periodic,
                                  starhalo_stencil_shape_t shape)
{
    memset(s, 0, sizeof *s);
    starhalo_decomp_desc_t *d = &s->desc;
    d->ndims = ndims;
    d->split = STARHALO_SPLIT_GRID;
    for (int k = 0; k < ndims; k++) {
        d->extent[k] = extent[k];
        d->parts_per_dim[k] = parts[k];
        d->halo[2 * k] = d->halo[2 * k + 1] = halo;
        d->periodic[k] = periodic;
    }
    d->shape = shape;
    fx_name(s);
}

/** The fixed grids every plans test runs: uneven, single-part, 1-cell, 2-D and 3-D. */
static const struct fx_case {
    int ndims;
    int64_t extent[3];
    int parts[3];
} fx_cases[] = {
    {2, {8, 8, 1}, {2, 2, 1}},  {2, {9, 7, 1}, {2, 2, 1}},  {2, {9, 7, 1}, {3, 1, 1}},
    {2, {9, 7, 1}, {2, 1, 1}},  {2, {9, 7, 1}, {1, 1, 1}},  {2, {10, 7, 1}, {3, 2, 1}},
    {2, {13, 5, 1}, {4, 1, 1}}, {2, {5, 13, 1}, {1, 5, 1}}, {2, {1, 1, 1}, {1, 1, 1}},
    {3, {6, 7, 5}, {2, 2, 2}},  {3, {6, 5, 7}, {2, 2, 3}},  {3, {4, 4, 4}, {1, 1, 4}},
    {3, {9, 2, 3}, {3, 2, 1}},
};

/**
 * Call @p fn on every fixed case x periodic on/off x STAR/BOX x halo 0..@p hmax (same width on
 * every side), skipping halos wider than the narrowest part of a case.
 */
static inline void fx_each_fixed_shape(int hmax, void (*fn)(const fx_shape_t *s, void *ctx),
                                       void *ctx)
{
    for (size_t i = 0; i < sizeof fx_cases / sizeof fx_cases[0]; i++) {
        const struct fx_case *c = &fx_cases[i];
        int64_t narrowest = INT64_MAX;
        for (int k = 0; k < c->ndims; k++)
            narrowest =
                c->extent[k] / c->parts[k] < narrowest ? c->extent[k] / c->parts[k] : narrowest;
        for (int per = 0; per < 2; per++)
            for (int shp = 0; shp < 2; shp++)
                for (int h = 0; h <= hmax && h <= narrowest; h++) {
                    fx_shape_t s;
                    fx_fixed_shape(&s, c->ndims, c->extent, c->parts, h, per,
                                   (starhalo_stencil_shape_t)shp);
                    fn(&s, ctx);
                }
    }
}

/** Create the decomposition and every part's plan; compute the reference offsets. */
static inline void fx_world_init(fx_world_t *w, const fx_shape_t *s)
{
    memset(w, 0, sizeof *w);
    w->shape = s;
    const starhalo_decomp_desc_t *d = &s->desc;
    starhalo_status_t st = starhalo_decomp_create(d, &w->dc);
    if (st != STARHALO_OK)
        print_error("shape %s: %s\n", s->name, starhalo_last_error_message());
    assert_int_equal(st, STARHALO_OK);
    w->ndims = d->ndims;
    w->nparts = 1;
    for (int k = 0; k < STARHALO_MAX_DIMS; k++) {
        int p = 1;
        if (k < d->ndims) {
            if (d->split == STARHALO_SPLIT_GRID)
                p = d->parts_per_dim[k] ? d->parts_per_dim[k] : 1;
            else if (d->split == STARHALO_SPLIT_VERTICAL)
                p = k == 0 ? d->nparts : 1;
            else if (d->split == STARHALO_SPLIT_HORIZONTAL)
                p = k == 1 ? d->nparts : 1;
            else
                p = k < 2 ? sqrt_int(d->nparts) : 1;
        }
        w->grid[k] = p;
        w->nparts *= p;
        w->extent[k] = k < d->ndims ? d->extent[k] : 1;
        w->off[k][0] = 0;
        for (int c = 0; c < p; c++) {
            int64_t width;
            if (k < d->ndims && d->part_sizes[k])
                width = d->part_sizes[k][c];
            else /* the first extent % p parts get one extra cell */
                width = w->extent[k] / p + (c < w->extent[k] % p ? 1 : 0);
            w->off[k][c + 1] = w->off[k][c] + width;
        }
    }
    assert_int_equal(starhalo_decomp_num_parts(w->dc), w->nparts);
    w->plans = calloc((size_t)w->nparts, sizeof *w->plans);
    assert_non_null(w->plans);
    for (int p = 0; p < w->nparts; p++)
        assert_status_ok(starhalo_part_plan_create(w->dc, p, &w->plans[p]));
}

static inline void fx_world_free(fx_world_t *w)
{
    for (int p = 0; p < w->nparts; p++)
        starhalo_part_plan_destroy(w->plans[p]);
    free(w->plans);
    starhalo_decomp_destroy(w->dc);
}

/** Reference owner of a global cell (inside the domain), by linear scan of the offsets. */
static inline int fx_owner(const fx_world_t *w, const int64_t cell[3])
{
    int idx = 0;
    for (int k = STARHALO_MAX_DIMS - 1; k >= 0; k--) {
        int c = 0;
        while (w->off[k][c + 1] <= cell[k])
            c++;
        idx = idx * w->grid[k] + c;
    }
    return idx;
}

/** Reference owned box of part p. */
static inline starhalo_box_t fx_owned(const fx_world_t *w, int p)
{
    starhalo_box_t b;
    for (int k = 0; k < STARHALO_MAX_DIMS; k++) {
        const int c = p % w->grid[k];
        p /= w->grid[k];
        b.lo[k] = w->off[k][c];
        b.hi[k] = w->off[k][c + 1];
    }
    return b;
}

/**
 * The global cell a ghost cell of part @p p mirrors: wrapped when periodic. Returns 0 when the
 * cell is zero padding (outside a non-periodic border, or a STAR corner/edge ghost).
 */
static inline int fx_mirror(const fx_world_t *w, int p, const int64_t g[3], int64_t m[3])
{
    const starhalo_box_t own = fx_owned(w, p);
    int outside = 0;
    for (int k = 0; k < STARHALO_MAX_DIMS; k++) {
        m[k] = g[k];
        if (g[k] < own.lo[k] || g[k] >= own.hi[k])
            outside++;
        if (g[k] < 0 || g[k] >= w->extent[k]) {
            if (!w->shape->desc.periodic[k])
                return 0;
            m[k] = (g[k] % w->extent[k] + w->extent[k]) % w->extent[k];
        }
    }
    if (outside > 1 && w->shape->desc.shape == STARHALO_STENCIL_STAR)
        return 0;
    return outside > 0;
}

static inline int fx_in_box(const starhalo_box_t *b, const int64_t c[3])
{
    for (int k = 0; k < STARHALO_MAX_DIMS; k++)
        if (c[k] < b->lo[k] || c[k] >= b->hi[k])
            return 0;
    return 1;
}

static inline int fx_box_equal(const starhalo_box_t *a, const starhalo_box_t *b)
{
    for (int k = 0; k < STARHALO_MAX_DIMS; k++)
        if (a->lo[k] != b->lo[k] || a->hi[k] != b->hi[k])
            return 0;
    return 1;
}

/** Iterate c over box b (3 nested loops). */
#define FX_FOR_CELLS(b, c)                                                                         \
    for (c[2] = (b).lo[2]; c[2] < (b).hi[2]; c[2]++)                                               \
        for (c[1] = (b).lo[1]; c[1] < (b).hi[1]; c[1]++)                                           \
            for (c[0] = (b).lo[0]; c[0] < (b).hi[0]; c[0]++)

/** Linear index of a global cell inside the domain (dim 0 fastest). */
static inline int64_t fx_linear(const fx_world_t *w, const int64_t c[3])
{
    return (c[2] * w->extent[1] + c[1]) * w->extent[0] + c[0];
}

#endif
