/* SPDX-License-Identifier: MIT */
/**
 * @file rt_bands.c
 * @brief Interior and boundary sub-handles of a field's tiles (starhalo_bands_t) and the
 * helper that submits a codelet over them with the tile geometry in its cl_arg.
 *
 * Why row bands: STARPU_RW|STARPU_COMMUTE still serialises the writers of one handle, so a
 * part's interior would use one worker. Rows (dim 1; slices, dim 2, in 3-D) of one plane are
 * contiguous, so a vector list filter gives each band its own child handle and several
 * workers write one tile at once. The left/right boundary strips are not contiguous: each
 * interior band's strips are one task on that band, after the halo arrived. A tile of
 * several planes is not split (a band would not be contiguous), nor one with fewer than two
 * interior bands (its tasks are ordered anyway: the partition would only add work).
 *
 * The partition is StarPU's asynchronous one (starpu_data_partition_plan): StarPU 1.3
 * submits the partition when a task or acquire uses a child, the unpartition when one uses
 * the whole tile, so exchanges, host access and StarPU-MPI transfers of the tile need no
 * call here. This is also the mechanism behind starhalo_stencil_t (runtime/graphs).
 */
#include <stdlib.h>
#include <string.h>

#include "runtime_internal.h"

/** Most bands of one tile: two edge bands around at most 60 interior ones. */
#define BANDS_MAX_INTERIOR 60
#define BANDS_MAX          (BANDS_MAX_INTERIOR + 2)
#define NKINDS             3

typedef struct bands_part {
    int part;
    starpu_data_handle_t tile;
    unsigned nchildren; /**< 0: the tile is not split */
    starpu_data_handle_t *children;
    int n[NKINDS];
    starhalo_piece_t *pieces[NKINDS];
} bands_part_t;

struct starhalo_bands {
    starhalo_field_t *field;
    int nlocal;
    bands_part_t *parts;
};

static int box_empty(const starhalo_box_t *b)
{
    for (int d = 0; d < STARHALO_MAX_DIMS; d++)
        if (b->hi[d] <= b->lo[d])
            return 1;
    return 0;
}

/* The cells of @p b in [lo, hi) along dim @p d (possibly empty). */
static starhalo_box_t slab_of(const starhalo_box_t *b, int d, int64_t lo, int64_t hi)
{
    starhalo_box_t r = *b;
    r.lo[d] = b->lo[d] > lo ? b->lo[d] : lo;
    r.hi[d] = b->hi[d] < hi ? b->hi[d] : hi;
    return r;
}

/* Band cuts along dim @p d: [ghosted lo, interior lo, ... interior cuts ..., interior hi,
 * ghosted hi) without repeats; the count of interior bands goes to *ninterior. */
static int band_cuts(const starhalo_tile_t *t, const starhalo_regions_t *reg, int d, int nbands,
                     int64_t cuts[BANDS_MAX + 1], int *ninterior)
{
    int n = 0;
    *ninterior = 0;
    cuts[n++] = t->ghosted.lo[d];
    if (t->planes == 1 && !box_empty(&reg->interior)) {
        const int64_t ilo = reg->interior.lo[d], ihi = reg->interior.hi[d];
        int64_t nb = nbands;
        if (nb > ihi - ilo)
            nb = ihi - ilo;
        if (nb > BANDS_MAX_INTERIOR)
            nb = BANDS_MAX_INTERIOR;
        for (int64_t b = 0; b <= nb; b++) {
            const int64_t c = ilo + (ihi - ilo) * b / nb;
            if (c != cuts[n - 1])
                cuts[n++] = c;
        }
        *ninterior = (int)nb;
    }
    if (t->ghosted.hi[d] != cuts[n - 1])
        cuts[n++] = t->ghosted.hi[d];
    return n;
}

static starhalo_piece_t piece_make(starpu_data_handle_t h, int64_t offset, int64_t count)
{
    starhalo_piece_t p;
    memset(&p, 0, sizeof p);
    p.handle = h;
    p.offset = offset;
    p.count = count;
    return p;
}

/* Plan the bands of local part @p li and list its pieces. */
static starhalo_status_t plan_part(starhalo_bands_t *b, int li, const int *reach, int nbands,
                                   unsigned flags)
{
    starhalo_field_t *f = b->field;
    const rt_part_t *rp = &f->parts[li];
    bands_part_t *bp = &b->parts[li];
    bp->part = rp->part;
    bp->tile = rp->handle;
    starhalo_tile_t t;
    starhalo_regions_t reg;
    STARHALO_CHECK(starhalo_field_part_tile(f, rp->part, &t));
    STARHALO_CHECK(starhalo_part_plan_regions(rp->plan, reach, &reg));
    const int d = t.ndims - 1;
    const int64_t stride = d == 2 ? t.slice : t.ld, elems = starhalo_tile_elems(&t);
    int64_t cuts[BANDS_MAX + 1];
    int ninterior = 0;
    const int ncuts = band_cuts(&t, &reg, d, nbands, cuts, &ninterior);
    const int nb = ncuts - 1, split = ninterior >= 2;

    for (int k = 0; k < NKINDS; k++) {
        bp->pieces[k] = calloc((size_t)nb * STARHALO_MAX_BOUNDARY_BOXES + 1, sizeof **bp->pieces);
        STARHALO_REQUIRE(bp->pieces[k], STARHALO_ERR_NO_MEMORY, "bands_create: no memory");
    }
    if (split) {
        uint32_t len[BANDS_MAX];
        bp->children = calloc((size_t)nb, sizeof *bp->children);
        STARHALO_REQUIRE(bp->children, STARHALO_ERR_NO_MEMORY, "bands_create: no memory");
        for (int k = 0; k < nb; k++)
            len[k] = (uint32_t)((cuts[k + 1] - cuts[k]) * stride);
        struct starpu_data_filter filter = {
            .filter_func = starpu_vector_filter_list,
            .nchildren = (unsigned)nb,
            .filter_arg_ptr = len,
        };
        starpu_data_partition_plan(bp->tile, &filter, bp->children);
        bp->nchildren = (unsigned)nb;
    }

    starhalo_piece_t *owned = &bp->pieces[STARHALO_REGION_OWNED][bp->n[STARHALO_REGION_OWNED]++];
    *owned = piece_make(bp->tile, 0, elems);
    owned->nregions = 1;
    owned->region[0] = t.owned;

    starhalo_piece_t *merged = NULL;
    for (int k = 0; k < nb; k++) {
        const int64_t off = split ? (cuts[k] - t.ghosted.lo[d]) * stride : 0;
        const int64_t count = split ? (cuts[k + 1] - cuts[k]) * stride : elems;
        const starpu_data_handle_t h = split ? bp->children[k] : bp->tile;
        starhalo_box_t cells = slab_of(&reg.interior, d, cuts[k], cuts[k + 1]);
        if (!box_empty(&cells)) {
            starhalo_piece_t *p =
                &bp->pieces[STARHALO_REGION_INTERIOR][bp->n[STARHALO_REGION_INTERIOR]++];
            *p = piece_make(h, off, count);
            p->nregions = 1;
            p->region[0] = cells;
        }
        /* Boundary cells of this band (of the whole tile when not split): one piece unless
         * SPLIT_STRIPS. */
        if (split)
            merged = NULL;
        for (int j = 0; j < reg.nboundary; j++) {
            cells = slab_of(&reg.boundary[j], d, cuts[k], cuts[k + 1]);
            if (box_empty(&cells))
                continue;
            if (!merged || (flags & STARHALO_BANDS_SPLIT_STRIPS)) {
                merged = &bp->pieces[STARHALO_REGION_BOUNDARY][bp->n[STARHALO_REGION_BOUNDARY]++];
                *merged = piece_make(h, off, count);
            }
            merged->region[merged->nregions++] = cells;
        }
    }
    return STARHALO_OK;
}

starhalo_status_t starhalo_bands_create(starhalo_field_t *field,
                                        const int reach[2 * STARHALO_MAX_DIMS], int nbands,
                                        unsigned flags, starhalo_bands_t **out)
{
    STARHALO_REQUIRE(out, STARHALO_ERR_INVALID_ARG, "bands_create: out is NULL");
    *out = NULL;
    STARHALO_REQUIRE(field && reach, STARHALO_ERR_INVALID_ARG, "bands_create: NULL field or reach");
    STARHALO_REQUIRE(field->decomp, STARHALO_ERR_INVALID_ARG,
                     "bands_create: an index field has no rows to split");
    STARHALO_REQUIRE(nbands >= 0, STARHALO_ERR_INVALID_ARG, "bands_create: nbands %d < 0", nbands);
    STARHALO_REQUIRE((flags & ~(unsigned)STARHALO_BANDS_SPLIT_STRIPS) == 0,
                     STARHALO_ERR_INVALID_ARG, "bands_create: unknown flags 0x%x", flags);
    const starhalo_decomp_desc_t *d = starhalo_decomp_desc(field->decomp);
    for (int s = 0; s < 2 * STARHALO_MAX_DIMS; s++)
        STARHALO_REQUIRE(reach[s] >= 0 && reach[s] <= d->halo[s], STARHALO_ERR_INVALID_ARG,
                         "bands_create: reach %d on the %s side of dim %d (expected 0 .. the "
                         "halo, %d)",
                         reach[s], s % 2 ? "plus" : "minus", s / 2, d->halo[s]);
    if (nbands == 0)
        nbands = (int)starpu_cpu_worker_get_count();
    if (nbands < 1)
        nbands = 1;
    starhalo_bands_t *b = calloc(1, sizeof *b);
    STARHALO_REQUIRE(b, STARHALO_ERR_NO_MEMORY, "bands_create: no memory");
    b->field = field;
    b->nlocal = field->nlocal;
    b->parts = calloc((size_t)b->nlocal + 1, sizeof *b->parts);
    starhalo_status_t rc =
        b->parts ? STARHALO_OK : starhalo_error_set(STARHALO_ERR_NO_MEMORY, "bands_create");
    for (int i = 0; i < b->nlocal && rc == STARHALO_OK; i++)
        rc = plan_part(b, i, reach, nbands, flags);
    if (rc == STARHALO_OK)
        *out = b;
    else
        starhalo_bands_destroy(b);
    return rc;
}

void starhalo_bands_destroy(starhalo_bands_t *b)
{
    if (!b)
        return;
    for (int i = 0; b->parts && i < b->nlocal; i++) {
        bands_part_t *bp = &b->parts[i];
        /* Unpartitions first if needed; the children are unregistered once idle. */
        if (bp->nchildren > 0)
            starpu_data_partition_clean(bp->tile, bp->nchildren, bp->children);
        free(bp->children);
        for (int k = 0; k < NKINDS; k++)
            free(bp->pieces[k]);
    }
    free(b->parts);
    free(b);
}

starhalo_field_t *starhalo_bands_field(const starhalo_bands_t *b)
{
    return b ? b->field : NULL;
}

static const bands_part_t *bands_part(const starhalo_bands_t *b, int part,
                                      starhalo_region_kind_t kind)
{
    if (!b || part < 0 || part >= b->field->nparts || b->field->local_of[part] < 0 ||
        (unsigned)kind >= NKINDS)
        return NULL;
    return &b->parts[b->field->local_of[part]];
}

int starhalo_bands_num_pieces(const starhalo_bands_t *b, int part, starhalo_region_kind_t kind)
{
    const bands_part_t *bp = bands_part(b, part, kind);
    return bp ? bp->n[kind] : 0;
}

const starhalo_piece_t *starhalo_bands_piece(const starhalo_bands_t *b, int part,
                                             starhalo_region_kind_t kind, int i)
{
    const bands_part_t *bp = bands_part(b, part, kind);
    return bp && i >= 0 && i < bp->n[kind] ? &bp->pieces[kind][i] : NULL;
}

starhalo_status_t starhalo_bands_partition(starhalo_bands_t *b)
{
    STARHALO_REQUIRE(b, STARHALO_ERR_INVALID_ARG, "bands_partition: bands is NULL");
    for (int i = 0; i < b->nlocal; i++) {
        bands_part_t *bp = &b->parts[i];
        if (bp->nchildren == 0)
            continue;
        /* StarPU may have partitioned it already (a task on a child): the unpartition is a
         * no-op when it has not, and makes the partition below always valid. */
        starpu_data_unpartition_submit_r(bp->tile, STARPU_MAIN_RAM);
        starpu_data_partition_submit(bp->tile, bp->nchildren, bp->children);
    }
    return STARHALO_OK;
}

starhalo_status_t starhalo_bands_unpartition(starhalo_bands_t *b)
{
    STARHALO_REQUIRE(b, STARHALO_ERR_INVALID_ARG, "bands_unpartition: bands is NULL");
    for (int i = 0; i < b->nlocal; i++)
        if (b->parts[i].nchildren > 0)
            starpu_data_unpartition_submit_r(b->parts[i].tile, STARPU_MAIN_RAM);
    return STARHALO_OK;
}

/* The extra fields of @p d must hold every local part of the banded field with its tile. */
static starhalo_status_t check_desc(const starhalo_bands_t *b, starhalo_region_kind_t kind,
                                    const starhalo_insert_desc_t *d)
{
    STARHALO_REQUIRE(d && d->cl, STARHALO_ERR_INVALID_ARG, "bands_insert: NULL desc or codelet");
    STARHALO_REQUIRE((unsigned)kind < NKINDS, STARHALO_ERR_INVALID_ARG,
                     "bands_insert: unknown region kind %d", (int)kind);
    STARHALO_REQUIRE(d->nfields >= 0 && (d->nfields == 0 || d->fields), STARHALO_ERR_INVALID_ARG,
                     "bands_insert: %d extra fields, fields %s", d->nfields,
                     d->fields ? "given" : "NULL");
    STARHALO_REQUIRE(d->cl->nbuffers == STARPU_VARIABLE_NBUFFERS ||
                         d->cl->nbuffers == 1 + d->nfields,
                     STARHALO_ERR_INVALID_ARG,
                     "bands_insert: the codelet has %d buffers, the task %d (the piece and %d "
                     "field tiles)",
                     d->cl->nbuffers, 1 + d->nfields, d->nfields);
    STARHALO_REQUIRE(d->arg_size == 0 || d->arg, STARHALO_ERR_INVALID_ARG,
                     "bands_insert: %zu argument bytes from NULL", d->arg_size);
    for (int k = 0; k < d->nfields; k++) {
        const starhalo_field_t *x = d->fields[k];
        STARHALO_REQUIRE(x && x != b->field && x->decomp, STARHALO_ERR_INVALID_ARG,
                         "bands_insert: extra field %d is %s", k,
                         !x          ? "NULL"
                         : x->decomp ? "the banded field itself (use the pieces)"
                                     : "an index field");
        for (int i = 0; i < b->nlocal; i++) {
            const int p = b->parts[i].part;
            starhalo_tile_t tb, tx;
            STARHALO_CHECK(starhalo_field_part_tile(b->field, p, &tb));
            const int same = x->nparts == b->field->nparts && x->local_of[p] >= 0 &&
                             starhalo_field_part_tile(x, p, &tx) == STARHALO_OK &&
                             !memcmp(&tb.ghosted, &tx.ghosted, sizeof tb.ghosted) &&
                             tb.planes == tx.planes;
            STARHALO_REQUIRE(same, STARHALO_ERR_INVALID_ARG,
                             "bands_insert: extra field %d does not hold part %d on this rank "
                             "with the same tile (ghosted box and planes)",
                             k, p);
        }
    }
    return STARHALO_OK;
}

/* The cl_arg of one task: info, then the caller's bytes (StarPU frees it). */
static void *task_arg(const starhalo_tile_t *t, starhalo_region_kind_t kind,
                      const starhalo_piece_t *pc, const starhalo_insert_desc_t *d, size_t *size)
{
    *size = sizeof(starhalo_task_info_t) + d->arg_size;
    starhalo_task_info_t *info = malloc(*size);
    if (!info)
        return NULL;
    memset(info, 0, sizeof *info);
    info->tile = *t;
    info->kind = kind;
    info->nregions = pc->nregions;
    info->offset = pc->offset;
    info->count = pc->count;
    memcpy(info->region, pc->region, sizeof info->region);
    info->arg_size = (int64_t)d->arg_size;
    if (d->arg_size)
        memcpy(info + 1, d->arg, d->arg_size);
    return info;
}

starhalo_status_t starhalo_bands_insert(starhalo_bands_t *b, starhalo_region_kind_t kind,
                                        const starhalo_insert_desc_t *d, int *ntasks)
{
    if (ntasks)
        *ntasks = 0;
    STARHALO_REQUIRE(b, STARHALO_ERR_INVALID_ARG, "bands_insert: bands is NULL");
    STARHALO_CHECK(check_desc(b, kind, d));
    const int nbuf = 1 + d->nfields;
    struct starpu_data_descr *descr = calloc((size_t)nbuf, sizeof *descr);
    STARHALO_REQUIRE(descr, STARHALO_ERR_NO_MEMORY, "bands_insert: no memory");
    starhalo_status_t rc = STARHALO_OK;
    for (int i = 0; i < b->nlocal && rc == STARHALO_OK; i++) {
        const bands_part_t *bp = &b->parts[i];
        starhalo_tile_t t;
        rc = starhalo_field_part_tile(b->field, bp->part, &t);
        for (int k = 0; k < d->nfields && rc == STARHALO_OK; k++) {
            descr[1 + k].mode = d->modes ? d->modes[k] : STARPU_R;
            rc = starhalo_field_part_handle(d->fields[k], bp->part, &descr[1 + k].handle);
        }
        for (int j = 0; j < bp->n[kind] && rc == STARHALO_OK; j++) {
            const starhalo_piece_t *pc = &bp->pieces[kind][j];
            size_t size = 0;
            void *arg = task_arg(&t, kind, pc, d, &size);
            if (!arg) {
                rc = starhalo_error_set(STARHALO_ERR_NO_MEMORY, "bands_insert: no memory");
                break;
            }
            descr[0].handle = pc->handle;
            descr[0].mode = d->mode ? d->mode : STARPU_RW;
            /* StarPU frees arg, also when the submission fails. */
            const int ret = starpu_task_insert(
                d->cl, STARPU_DATA_MODE_ARRAY, descr, nbuf, STARPU_CL_ARGS, arg, size,
                STARPU_PRIORITY, d->priority, STARPU_NAME, d->name ? d->name : d->cl->name, 0);
            if (ret != 0)
                rc = starhalo__starpu_status(ret, "bands_insert: a piece's task");
            else if (ntasks)
                (*ntasks)++;
        }
    }
    free(descr);
    return rc;
}
