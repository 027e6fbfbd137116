/* SPDX-License-Identifier: MIT */
/**
 * @file fuzz_decomp.c
 * @brief Fuzz harness: structured plans from any decomposition description.
 *
 * Input (fuzz_input.h numbers, in this order): ndims, extent[3], batch, channels, split,
 * nparts, parts_per_dim[3], halo[6], shape, periodic[3]; per dim a flag byte and, when it is
 * odd, that dim's explicit part sizes; reach[6] for the regions; a layer (kernel, stride,
 * dilation, padding) and an extent for it.
 *
 * Whatever the input, every call must return a status (never crash, never undefined
 * behaviour); when the decomposition is accepted, its plans must hold the invariants of
 * starhalo_plan.h, checked here without the plans' own helpers: owned boxes tile the domain,
 * send boxes lie in the owned box and recv boxes in the ghosted box, each neighbour lists the
 * part back with the same message volume, regions partition the owned box, lowered runs stay
 * inside the tile, layer output ranges tile the output.
 */
#include "fuzz_input.h"

#include <string.h>

#include <starhalo/starhalo_plan.h>

enum { MAX_SIZES = 4096, MAX_CHECKED_PARTS = 48, MAX_LOWERED_CELLS = 1 << 20 };

static int box_inside(const starhalo_box_t *in, const starhalo_box_t *out)
{
    if (starhalo_box_volume(in) == 0)
        return 1;
    for (int d = 0; d < STARHALO_MAX_DIMS; d++)
        if (in->lo[d] < out->lo[d] || in->hi[d] > out->hi[d])
            return 0;
    return 1;
}

/* Parts per dim the split asks for, as the caller must size part_sizes (0: unknown). */
static int64_t wanted_parts(const starhalo_decomp_desc_t *d, int dim)
{
    switch (d->split) {
    case STARHALO_SPLIT_VERTICAL:
        return dim == 0 ? d->nparts : 1;
    case STARHALO_SPLIT_HORIZONTAL:
        return dim == 1 ? d->nparts : 1;
    case STARHALO_SPLIT_SQUARE: {
        int64_t s = 0;
        while ((s + 1) * (s + 1) <= d->nparts)
            s++;
        return dim < 2 ? s : 1;
    }
    case STARHALO_SPLIT_GRID:
        return d->parts_per_dim[dim] > 0 ? d->parts_per_dim[dim] : 1;
    }
    return 0;
}

/* The neighbour entry of part q that points back at part p in direction -dir. */
static const starhalo_neighbor_t *back_entry(const starhalo_part_plan_t *q, int p,
                                             const starhalo_neighbor_t *nb)
{
    for (int i = 0; i < starhalo_part_plan_num_neighbors(q); i++) {
        const starhalo_neighbor_t *e = starhalo_part_plan_neighbor(q, i);
        if (e->part == p && e->send_tag == nb->recv_tag && e->recv_tag == nb->send_tag &&
            e->dir[0] == -nb->dir[0] && e->dir[1] == -nb->dir[1] && e->dir[2] == -nb->dir[2])
            return e;
    }
    return NULL;
}

static void check_lowered(const starhalo_part_plan_t *pl)
{
    const starhalo_box_t g = starhalo_part_plan_ghosted(pl);
    if (starhalo_box_volume(&g) > MAX_LOWERED_CELLS)
        return; /* a row per run: a huge tile is a legitimately huge plan */
    starhalo_xfer_plan_t *x = NULL;
    if (starhalo_part_plan_lower(pl, &x) != STARHALO_OK)
        return;
    const int64_t plane = starhalo_xfer_plan_plane_size(x);
    FZ_CHECK(plane == starhalo_box_volume(&g));
    FZ_CHECK(starhalo_xfer_plan_num_peers(x) == starhalo_part_plan_num_neighbors(pl));
    for (int i = 0; i < starhalo_xfer_plan_num_peers(x); i++) {
        const starhalo_peer_xfer_t *px = starhalo_xfer_plan_peer(x, i);
        const starhalo_neighbor_t *nb = starhalo_part_plan_neighbor(pl, i);
        int64_t s = 0, r = 0;
        for (int k = 0; k < px->nsend_runs; k++) {
            FZ_CHECK(px->send_runs[k].offset >= 0 && px->send_runs[k].length > 0);
            FZ_CHECK(px->send_runs[k].offset + px->send_runs[k].length <= plane);
            s += px->send_runs[k].length;
        }
        for (int k = 0; k < px->nrecv_runs; k++) {
            FZ_CHECK(px->recv_runs[k].offset >= 0 && px->recv_runs[k].length > 0);
            FZ_CHECK(px->recv_runs[k].offset + px->recv_runs[k].length <= plane);
            r += px->recv_runs[k].length;
        }
        FZ_CHECK(s == px->send_count && s == starhalo_box_volume(&nb->send));
        FZ_CHECK(r == px->recv_count && r == starhalo_box_volume(&nb->recv));
    }
    starhalo_xfer_plan_destroy(x);
}

static void check_regions(const starhalo_part_plan_t *pl, const int reach[6])
{
    starhalo_regions_t rg;
    if (starhalo_part_plan_regions(pl, reach, &rg) != STARHALO_OK)
        return;
    const starhalo_box_t ob = starhalo_part_plan_owned(pl);
    FZ_CHECK(rg.nboundary >= 0 && rg.nboundary <= STARHALO_MAX_BOUNDARY_BOXES);
    int64_t v = starhalo_box_volume(&rg.interior);
    FZ_CHECK(box_inside(&rg.interior, &ob));
    for (int i = 0; i < rg.nboundary; i++) {
        FZ_CHECK(box_inside(&rg.boundary[i], &ob));
        for (int j = 0; j < i; j++) {
            const starhalo_box_t c = starhalo_box_intersect(&rg.boundary[i], &rg.boundary[j]);
            FZ_CHECK(starhalo_box_volume(&c) == 0);
        }
        const starhalo_box_t c = starhalo_box_intersect(&rg.boundary[i], &rg.interior);
        FZ_CHECK(starhalo_box_volume(&c) == 0);
        v += starhalo_box_volume(&rg.boundary[i]);
    }
    FZ_CHECK(v == starhalo_box_volume(&ob));
}

/* One part against its own plan, its neighbours' plans and the decomposition. */
static void check_part(const starhalo_decomp_t *dc, int p, const int reach[6])
{
    starhalo_part_plan_t *pl = NULL;
    if (starhalo_part_plan_create(dc, p, &pl) != STARHALO_OK)
        return; /* out of memory: a status, as it should be */
    const starhalo_box_t ob = starhalo_part_plan_owned(pl), gb = starhalo_part_plan_ghosted(pl);
    FZ_CHECK(starhalo_part_plan_part(pl) == p);
    FZ_CHECK(starhalo_box_volume(&ob) > 0 && box_inside(&ob, &gb));
    int64_t cell[STARHALO_MAX_DIMS];
    int owner = -1;
    for (int d = 0; d < STARHALO_MAX_DIMS; d++)
        cell[d] = ob.hi[d] - 1;
    FZ_CHECK(starhalo_decomp_owner_of(dc, cell, &owner) == STARHALO_OK && owner == p);
    int coord[STARHALO_MAX_DIMS];
    starhalo_decomp_part_coord(dc, p, coord);
    FZ_CHECK(starhalo_decomp_part_index(dc, coord) == p);
    const int nn = starhalo_part_plan_num_neighbors(pl);
    FZ_CHECK(nn >= 0 && nn <= 26);
    for (int i = 0; i < nn; i++) {
        const starhalo_neighbor_t *nb = starhalo_part_plan_neighbor(pl, i);
        FZ_CHECK(nb && nb->part >= 0 && nb->part < starhalo_decomp_num_parts(dc));
        FZ_CHECK(box_inside(&nb->send, &ob) && box_inside(&nb->recv, &gb));
        const starhalo_box_t c = starhalo_box_intersect(&nb->recv, &ob);
        FZ_CHECK(starhalo_box_volume(&c) == 0);
        starhalo_part_plan_t *q = NULL;
        if (starhalo_part_plan_create(dc, nb->part, &q) != STARHALO_OK)
            continue;
        const starhalo_neighbor_t *e = back_entry(q, p, nb);
        FZ_CHECK(e != NULL);
        FZ_CHECK(starhalo_box_volume(&e->send) == starhalo_box_volume(&nb->recv));
        FZ_CHECK(starhalo_box_volume(&e->recv) == starhalo_box_volume(&nb->send));
        starhalo_part_plan_destroy(q);
    }
    check_regions(pl, reach);
    check_lowered(pl);
    starhalo_part_plan_destroy(pl);
}

static void check_layer(fz_t *f)
{
    starhalo_layer_t ly = {fz_int(f), fz_int(f), fz_int(f), fz_int(f)};
    const int64_t n = fz_num(f);
    const int nparts = (int)(fz_u8(f) % 8) + 1;
    int minus = 0, plus = 0;
    if (starhalo_layer_halo(&ly, &minus, &plus) != STARHALO_OK || n < nparts)
        return;
    FZ_CHECK(minus >= 0 && plus >= 0);
    const int64_t m = starhalo_layer_output_extent(&ly, n);
    FZ_CHECK(m >= 0);
    int64_t expect = 0; /* the parts' output ranges tile [0, m) in order */
    for (int c = 0; c < nparts; c++) {
        const int64_t lo = n / nparts * c, hi = c + 1 == nparts ? n : n / nparts * (c + 1);
        int64_t olo = -1, ohi = -1;
        starhalo_layer_output_range(&ly, n, lo, hi, &olo, &ohi);
        FZ_CHECK(olo == expect && ohi >= olo);
        expect = ohi;
    }
    FZ_CHECK(expect == m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_t f = {data, size};
    starhalo_decomp_desc_t d;
    memset(&d, 0, sizeof d);
    d.ndims = fz_int(&f);
    for (int i = 0; i < 3; i++)
        d.extent[i] = fz_num(&f);
    d.batch = fz_num(&f);
    d.channels = fz_num(&f);
    d.split = (starhalo_split_t)fz_int(&f);
    d.nparts = fz_int(&f);
    for (int i = 0; i < 3; i++)
        d.parts_per_dim[i] = fz_int(&f);
    for (int i = 0; i < 6; i++)
        d.halo[i] = fz_int(&f);
    d.shape = (starhalo_stencil_shape_t)fz_int(&f);
    for (int i = 0; i < 3; i++)
        d.periodic[i] = fz_int(&f);
    int64_t *sizes[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; i++) {
        const int64_t want = wanted_parts(&d, i);
        if ((fz_u8(&f) & 1) && want > 0 && want <= MAX_SIZES) {
            sizes[i] = malloc((size_t)want * sizeof(int64_t));
            for (int64_t k = 0; sizes[i] && k < want; k++)
                sizes[i][k] = fz_num(&f);
            d.part_sizes[i] = sizes[i];
        }
    }
    int reach[6];
    for (int i = 0; i < 6; i++)
        reach[i] = fz_int(&f);

    int64_t grid = 1;
    for (int i = 0; i < 3; i++) {
        const int64_t w = wanted_parts(&d, i);
        grid *= w > FZ_MAX_PARTS ? FZ_MAX_PARTS + 1 : w > 0 ? w : 1; /* <= 0: refused anyway */
        grid = grid > FZ_MAX_PARTS ? FZ_MAX_PARTS + 1 : grid;
    }
    starhalo_decomp_t *dc = NULL;
    const starhalo_status_t st =
        grid <= FZ_MAX_PARTS ? starhalo_decomp_create(&d, &dc) : STARHALO_ERR_INVALID_ARG;
    FZ_CHECK((st == STARHALO_OK) == (dc != NULL));
    if (dc) {
        const int np = starhalo_decomp_num_parts(dc);
        const starhalo_decomp_desc_t *nd = starhalo_decomp_desc(dc);
        FZ_CHECK(np >= 1 && nd->nparts == np);
        /* Owned boxes tile the domain: their volumes add up (all parts when few). */
        int64_t domain = 1;
        int fits = 1;
        for (int dim = 0; dim < STARHALO_MAX_DIMS; dim++)
            fits = fits && !__builtin_mul_overflow(domain, nd->extent[dim], &domain);
        if (fits && np <= MAX_CHECKED_PARTS * 64) {
            int64_t total = 0;
            for (int p = 0; p < np; p++) {
                const starhalo_box_t b = starhalo_decomp_owned_box(dc, p);
                total += starhalo_box_volume(&b);
            }
            FZ_CHECK(total == domain);
        }
        /* Plans of the first and last parts (all of them when few). */
        for (int i = 0; i < np && i < MAX_CHECKED_PARTS; i++) {
            const int p = i < MAX_CHECKED_PARTS / 2 ? i : np - (MAX_CHECKED_PARTS - i);
            if (p >= 0)
                check_part(dc, p, reach);
        }
        /* Invalid parts are refused, never read out of bounds. */
        starhalo_part_plan_t *bad = NULL;
        FZ_CHECK(starhalo_part_plan_create(dc, np, &bad) != STARHALO_OK && bad == NULL);
        FZ_CHECK(starhalo_part_plan_create(dc, -1, &bad) != STARHALO_OK && bad == NULL);
        starhalo_decomp_destroy(dc);
    }
    check_layer(&f);
    for (int i = 0; i < 3; i++)
        free(sizes[i]);
    return 0;
}
