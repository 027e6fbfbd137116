/* SPDX-License-Identifier: MIT */
/**
 * @file decomp.c
 * @brief Decomposition: validation of the description, the part grid, and per-dimension
 * prefix offsets (O(sum of parts per dim) memory) so owned boxes are O(1) and owners
 * O(log P).
 */
#include "plans_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const char *const side_name[2] = {"minus", "plus"};

/* Parts per dim from the split method; validates the counts. */
static starhalo_status_t resolve_grid(const starhalo_decomp_desc_t *in, int grid[STARHALO_MAX_DIMS])
{
    for (int d = 0; d < STARHALO_MAX_DIMS; d++)
        grid[d] = 1;
    switch (in->split) {
    case STARHALO_SPLIT_VERTICAL:
    case STARHALO_SPLIT_HORIZONTAL:
    case STARHALO_SPLIT_SQUARE:
        STARHALO_REQUIRE(in->nparts > 0, STARHALO_ERR_INVALID_ARG,
                         "nparts must be positive for split '%s' (got %d)",
                         starhalo_split_name(in->split), in->nparts);
        break;
    case STARHALO_SPLIT_GRID:
        break;
    default:
        return starhalo_error_set(STARHALO_ERR_INVALID_ARG,
                                  "unknown split method %d (expected vertical, horizontal, "
                                  "square or grid)",
                                  (int)in->split);
    }
    if (in->split == STARHALO_SPLIT_VERTICAL) {
        grid[0] = in->nparts;
    } else if (in->split == STARHALO_SPLIT_HORIZONTAL) {
        grid[1] = in->nparts;
    } else if (in->split == STARHALO_SPLIT_SQUARE) {
        int s = 0;
        while ((int64_t)(s + 1) * (s + 1) <= in->nparts)
            s++;
        STARHALO_REQUIRE((int64_t)s * s == in->nparts, STARHALO_ERR_NOT_SQUARE,
                         "split 'square' needs a perfect-square part count, got %d (nearest: "
                         "%d or %d)",
                         in->nparts, s * s, (s + 1) * (s + 1));
        grid[0] = grid[1] = s;
    } else {
        int64_t total = 1;
        for (int d = 0; d < in->ndims; d++) {
            const int p = in->parts_per_dim[d];
            STARHALO_REQUIRE(p >= 0, STARHALO_ERR_INVALID_ARG, "parts_per_dim[%d] is negative (%d)",
                             d, p);
            grid[d] = p ? p : 1;
            total *= grid[d];
            STARHALO_REQUIRE(total <= INT_MAX, STARHALO_ERR_INVALID_ARG,
                             "grid split has more than %d parts", INT_MAX);
        }
        for (int d = in->ndims; d < STARHALO_MAX_DIMS; d++)
            STARHALO_REQUIRE(in->parts_per_dim[d] == 0 || in->parts_per_dim[d] == 1,
                             STARHALO_ERR_INVALID_ARG,
                             "parts_per_dim[%d] = %d but the domain has %d dims", d,
                             in->parts_per_dim[d], in->ndims);
    }
    return STARHALO_OK;
}

/* Fill the prefix offsets of dim d, from explicit sizes or spreading the remainder. */
static starhalo_status_t fill_offsets(const starhalo_decomp_desc_t *in, int d, int p, int64_t *off)
{
    const int64_t n = in->extent[d];
    const int64_t *sizes = in->part_sizes[d];
    off[0] = 0;
    if (!sizes) {
        const int64_t base = n / p, extra = n % p;
        for (int c = 0; c < p; c++)
            off[c + 1] = off[c] + base + (c < extra ? 1 : 0);
        return STARHALO_OK;
    }
    for (int c = 0; c < p; c++) {
        STARHALO_REQUIRE(sizes[c] > 0, STARHALO_ERR_INVALID_ARG,
                         "part_sizes[%d][%d] must be positive (got %lld)", d, c,
                         (long long)sizes[c]);
        STARHALO_REQUIRE(sizes[c] <= n - off[c], STARHALO_ERR_INVALID_ARG,
                         "part_sizes[%d] sums to more than extent[%d] = %lld", d, d, (long long)n);
        off[c + 1] = off[c] + sizes[c];
    }
    STARHALO_REQUIRE(off[p] == n, STARHALO_ERR_INVALID_ARG,
                     "part_sizes[%d] (%d entries) sums to %lld, not extent[%d] = %lld", d, p,
                     (long long)off[p], d, (long long)n);
    return STARHALO_OK;
}

/* Index of the part with coordinate c along dim d and 0 elsewhere: to name parts in errors. */
static int part_on_axis(const starhalo_decomp_t *dc, int d, int c)
{
    int coord[STARHALO_MAX_DIMS] = {0, 0, 0};
    coord[d] = c;
    return starhalo_decomp_part_index(dc, coord);
}

/*
 * Each ghost layer must come from one neighbouring part: the minus-side halo of part c is cut
 * from part c-1 (wrapping when periodic), so halo[2d] <= width(c-1) for every receiver c.
 */
static starhalo_status_t check_halo_widths(const starhalo_decomp_t *dc)
{
    const starhalo_decomp_desc_t *ds = &dc->desc;
    for (int d = 0; d < ds->ndims; d++) {
        const int p = dc->grid[d];
        const int64_t *off = dc->offsets[d];
        for (int side = 0; side < 2; side++) {
            const int h = ds->halo[2 * d + side];
            if (h == 0)
                continue;
            const int step = side ? +1 : -1;
            for (int c = 0; c < p; c++) {
                int src = c + step;
                if (src < 0 || src >= p) {
                    if (!ds->periodic[d])
                        continue; /* image border: zero padding, no source part */
                    src = (src + p) % p;
                }
                const int64_t w = off[src + 1] - off[src];
                STARHALO_REQUIRE(h <= w, STARHALO_ERR_HALO_TOO_WIDE,
                                 "halo %d on the %s side of dim %d of part %d is wider than "
                                 "neighbouring part %d it comes from (%lld cells along dim %d)",
                                 h, side_name[side], d, part_on_axis(dc, d, c),
                                 part_on_axis(dc, d, src), (long long)w, d);
            }
        }
    }
    return STARHALO_OK;
}

static starhalo_status_t validate_scalars(const starhalo_decomp_desc_t *in)
{
    STARHALO_REQUIRE(in->ndims == 2 || in->ndims == 3, STARHALO_ERR_INVALID_ARG,
                     "ndims must be 2 or 3 (got %d)", in->ndims);
    for (int d = 0; d < in->ndims; d++)
        STARHALO_REQUIRE(in->extent[d] > 0, STARHALO_ERR_INVALID_ARG,
                         "extent[%d] must be positive (got %lld)", d, (long long)in->extent[d]);
    STARHALO_REQUIRE(in->batch >= 0, STARHALO_ERR_INVALID_ARG, "batch must be positive (got %lld)",
                     (long long)in->batch);
    STARHALO_REQUIRE(in->channels >= 0, STARHALO_ERR_INVALID_ARG,
                     "channels must be positive (got %lld)", (long long)in->channels);
    for (int d = 0; d < in->ndims; d++)
        for (int side = 0; side < 2; side++)
            STARHALO_REQUIRE(in->halo[2 * d + side] >= 0, STARHALO_ERR_INVALID_ARG,
                             "halo on the %s side of dim %d is negative (%d)", side_name[side], d,
                             in->halo[2 * d + side]);
    /* Every size a plan or an executor computes (ghosted boxes, element and byte counts of
     * the whole domain) must fit an int64_t: products of huge extents overflowed (tests/fuzz). */
    const int64_t limit = INT64_MAX / 8; /* bytes of float64 elements */
    int64_t total = (in->batch ? in->batch : 1);
    STARHALO_REQUIRE(in->channels == 0 || total <= limit / in->channels, STARHALO_ERR_INVALID_ARG,
                     "batch x channels = %lld x %lld is too large", (long long)in->batch,
                     (long long)in->channels);
    total *= in->channels ? in->channels : 1;
    for (int d = 0; d < in->ndims; d++) {
        const int64_t halos = (int64_t)in->halo[2 * d] + in->halo[2 * d + 1];
        STARHALO_REQUIRE(in->extent[d] <= limit - halos && total <= limit / (in->extent[d] + halos),
                         STARHALO_ERR_INVALID_ARG,
                         "the domain is too large: more than 2^60 elements with halos (extent[%d] "
                         "= %lld)",
                         d, (long long)in->extent[d]);
        total *= in->extent[d] + halos;
    }
    STARHALO_REQUIRE(in->shape == STARHALO_STENCIL_STAR || in->shape == STARHALO_STENCIL_BOX,
                     STARHALO_ERR_INVALID_ARG, "unknown stencil shape %d (expected STAR or BOX)",
                     (int)in->shape);
    return STARHALO_OK;
}

starhalo_status_t starhalo_decomp_create(const starhalo_decomp_desc_t *desc,
                                         starhalo_decomp_t **out)
{
    STARHALO_REQUIRE(desc && out, STARHALO_ERR_INVALID_ARG, "decomp_create: NULL argument");
    *out = NULL;
    STARHALO_CHECK(validate_scalars(desc));
    int grid[STARHALO_MAX_DIMS];
    STARHALO_CHECK(resolve_grid(desc, grid));
    for (int d = 0; d < desc->ndims; d++)
        STARHALO_REQUIRE(grid[d] <= desc->extent[d], STARHALO_ERR_TOO_MANY_PARTS,
                         "%d parts along dim %d but only %lld cells", grid[d], d,
                         (long long)desc->extent[d]);
    for (int d = desc->ndims; d < STARHALO_MAX_DIMS; d++)
        STARHALO_REQUIRE(grid[d] == 1, STARHALO_ERR_INVALID_ARG,
                         "split '%s' needs dim %d but the domain has %d dims",
                         starhalo_split_name(desc->split), d, desc->ndims);

    starhalo_decomp_t *dc = calloc(1, sizeof *dc);
    if (!dc)
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "decomp_create: out of memory");
    dc->desc = *desc;
    starhalo_decomp_desc_t *ds = &dc->desc;
    ds->batch = ds->batch ? ds->batch : 1;
    ds->channels = ds->channels ? ds->channels : 1;
    int nparts = 1;
    for (int d = 0; d < STARHALO_MAX_DIMS; d++) {
        dc->grid[d] = grid[d];
        ds->parts_per_dim[d] = grid[d];
        ds->part_sizes[d] = NULL;
        nparts *= grid[d];
        if (d >= ds->ndims) { /* unused dims: one cell, no halo, no wrap */
            ds->extent[d] = 1;
            ds->halo[2 * d] = ds->halo[2 * d + 1] = 0;
            ds->periodic[d] = 0;
        }
        ds->periodic[d] = ds->periodic[d] ? 1 : 0;
    }
    ds->nparts = nparts;

    starhalo_status_t st = STARHALO_OK;
    for (int d = 0; d < STARHALO_MAX_DIMS && st == STARHALO_OK; d++) {
        dc->offsets[d] = malloc(((size_t)grid[d] + 1) * sizeof(int64_t));
        if (!dc->offsets[d])
            st = starhalo_error_set(STARHALO_ERR_NO_MEMORY, "decomp_create: out of memory");
        else if (d < ds->ndims)
            st = fill_offsets(desc, d, grid[d], dc->offsets[d]);
        else
            dc->offsets[d][0] = 0, dc->offsets[d][1] = 1;
    }
    if (st == STARHALO_OK)
        st = check_halo_widths(dc);
    if (st != STARHALO_OK) {
        starhalo_decomp_destroy(dc);
        return st;
    }
    *out = dc;
    return STARHALO_OK;
}

void starhalo_decomp_destroy(starhalo_decomp_t *decomp)
{
    if (!decomp)
        return;
    for (int d = 0; d < STARHALO_MAX_DIMS; d++)
        free(decomp->offsets[d]);
    free(decomp);
}

const starhalo_decomp_desc_t *starhalo_decomp_desc(const starhalo_decomp_t *decomp)
{
    return decomp ? &decomp->desc : NULL;
}

int starhalo_decomp_num_parts(const starhalo_decomp_t *decomp)
{
    return decomp ? decomp->desc.nparts : 0;
}

void starhalo_decomp_part_grid(const starhalo_decomp_t *decomp,
                               int parts_per_dim[STARHALO_MAX_DIMS])
{
    if (!parts_per_dim)
        return;
    for (int d = 0; d < STARHALO_MAX_DIMS; d++)
        parts_per_dim[d] = decomp ? decomp->grid[d] : 0;
}

int starhalo_decomp_part_index(const starhalo_decomp_t *decomp, const int coord[STARHALO_MAX_DIMS])
{
    if (!decomp || !coord)
        return -1;
    int idx = 0;
    for (int d = STARHALO_MAX_DIMS - 1; d >= 0; d--) {
        if (coord[d] < 0 || coord[d] >= decomp->grid[d])
            return -1;
        idx = idx * decomp->grid[d] + coord[d];
    }
    return idx;
}

void starhalo_decomp_part_coord(const starhalo_decomp_t *decomp, int part,
                                int coord[STARHALO_MAX_DIMS])
{
    const int valid = decomp && part >= 0 && part < decomp->desc.nparts;
    if (!coord)
        return;
    for (int d = 0; d < STARHALO_MAX_DIMS; d++) {
        coord[d] = valid ? part % decomp->grid[d] : -1;
        if (valid)
            part /= decomp->grid[d];
    }
}

starhalo_box_t starhalo_decomp_owned_box(const starhalo_decomp_t *decomp, int part)
{
    int c[STARHALO_MAX_DIMS];
    starhalo_decomp_part_coord(decomp, part, c);
    starhalo_box_t b = starhalo__box_unit();
    if (c[0] < 0) /* invalid part */
        return starhalo__box_empty();
    for (int d = 0; d < STARHALO_MAX_DIMS; d++) {
        b.lo[d] = decomp->offsets[d][c[d]];
        b.hi[d] = decomp->offsets[d][c[d] + 1];
    }
    return b;
}

starhalo_status_t starhalo_decomp_owner_of(const starhalo_decomp_t *decomp,
                                           const int64_t cell[STARHALO_MAX_DIMS], int *part)
{
    STARHALO_REQUIRE(decomp && cell && part, STARHALO_ERR_INVALID_ARG, "owner_of: NULL argument");
    int coord[STARHALO_MAX_DIMS] = {0, 0, 0};
    for (int d = 0; d < decomp->desc.ndims; d++) {
        const int64_t x = cell[d];
        STARHALO_REQUIRE(x >= 0 && x < decomp->desc.extent[d], STARHALO_ERR_OUT_OF_RANGE,
                         "cell coordinate %lld is outside [0, %lld) along dim %d", (long long)x,
                         (long long)decomp->desc.extent[d], d);
        /* Largest c with offsets[c] <= x. */
        int lo = 0, hi = decomp->grid[d];
        while (hi - lo > 1) {
            const int mid = lo + (hi - lo) / 2;
            if (decomp->offsets[d][mid] <= x)
                lo = mid;
            else
                hi = mid;
        }
        coord[d] = lo;
    }
    *part = starhalo_decomp_part_index(decomp, coord);
    return STARHALO_OK;
}
