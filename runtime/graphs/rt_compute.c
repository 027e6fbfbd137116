/* SPDX-License-Identifier: MIT */
/**
 * @file rt_compute.c
 * @brief The stencil step task graph: output tiles split into row bands (asynchronous
 * partitioning), interior bands submitted between exchange begin and end, boundary tasks after.
 *
 * Why bands of the output and not COMMUTE: STARPU_RW|STARPU_COMMUTE still serialises the
 * writers of one handle, so a part's interior would use one worker. Row bands of a row-major
 * plane are contiguous, so a vector filter gives each band its own child handle and two
 * workers write one tile at once. Left/right boundary strips are not contiguous: they are
 * computed by one task per interior band, after the halo arrived (merged with nothing else
 * in that band, so the task is tiny: 2 * h columns by the band height).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <starhalo/starhalo_starpu.h>

#include "rt_compute_internal.h"

/** A piece of work: the regions of one band task, and which band it writes. */
typedef struct band_task {
    int band; /**< child index, or -1 for the whole tile */
    starhalo__band_args_t args;
} band_task_t;

/** Per local part: its tiles, band children and precomputed tasks. */
typedef struct part_graph {
    int part;
    starpu_data_handle_t in_tile;
    starpu_data_handle_t out_tile;
    int nbands; /**< 0: the output is not partitioned (one band or several planes) */
    starpu_data_handle_t *children;
    int ninterior;
    band_task_t *interior;
    int nboundary;
    band_task_t *boundary;
    band_task_t whole; /**< BSP: the owned box in one task on the whole tile */
} part_graph_t;

struct starhalo_stencil {
    starhalo_context_t *ctx;
    starhalo_field_t *in;
    starhalo_field_t *out;
    starhalo_exchange_t *ex;
    starhalo_stencil_kind_t kind;
    starhalo_compute_conf_t conf;
    int nlocal;
    part_graph_t *parts;
    int status;                   /**< first task failure (atomic) */
    int window;                   /**< steps kept in flight (>= 1), 0 = unlimited */
    struct starpu_task **markers; /**< [window][nlocal] end-of-step markers, ring */
    int step;                     /**< steps submitted */
};

/* A step's end marker: reads the output tile, runs nowhere, is waited for later. */
static struct starpu_codelet marker_cl = {
    .where = STARPU_NOWHERE,
    .nbuffers = 1,
    .modes = {STARPU_R},
    .name = "starhalo_step_marker",
};

starhalo_status_t starhalo_step_mode_parse(const char *name, starhalo_step_mode_t *out)
{
    STARHALO_REQUIRE(name && out, STARHALO_ERR_INVALID_ARG, "step mode: NULL argument");
    if (!strcmp(name, "task"))
        *out = STARHALO_STEP_TASK;
    else if (!strcmp(name, "bsp"))
        *out = STARHALO_STEP_BSP;
    else
        return starhalo__error_set(STARHALO_ERR_INVALID_ARG,
                                   "unknown step mode '%s' (expected task or bsp)", name);
    return STARHALO_OK;
}

starhalo_status_t starhalo_stencil_kind_parse(const char *name, starhalo_stencil_kind_t *out)
{
    STARHALO_REQUIRE(name && out, STARHALO_ERR_INVALID_ARG, "stencil kind: NULL argument");
    if (!strcmp(name, "5") || !strcmp(name, "5pt"))
        *out = STARHALO_STENCIL_5PT;
    else if (!strcmp(name, "9") || !strcmp(name, "9pt"))
        *out = STARHALO_STENCIL_9PT;
    else
        return starhalo__error_set(STARHALO_ERR_INVALID_ARG,
                                   "unknown stencil '%s' (expected 5 or 9)", name);
    return STARHALO_OK;
}

starhalo_status_t starhalo__compute_require_structured(const starhalo_field_t *field,
                                                       const char *what, const char *which)
{
    STARHALO_REQUIRE(starhalo_field_decomp(field), STARHALO_ERR_INVALID_ARG,
                     "%s: the %s field is an index field (from starhalo_index_field_create); "
                     "only fields with a decomposition are supported",
                     what, which);
    return STARHALO_OK;
}

starhalo_status_t starhalo__compute_local_parts(const starhalo_field_t *field, int **ids, int *n)
{
    *n = starhalo_field_local_parts(field, NULL);
    *ids = calloc((size_t)*n + 1, sizeof **ids);
    if (!*ids) {
        *n = 0;
        return starhalo__error_set(STARHALO_ERR_NO_MEMORY, "local part list");
    }
    starhalo_field_local_parts(field, *ids);
    return STARHALO_OK;
}

starhalo_kern_tile_t starhalo__compute_tile(const starhalo_field_t *field, int part)
{
    const starhalo_decomp_desc_t *d = starhalo_decomp_desc(starhalo_field_decomp(field));
    starhalo_box_t g = starhalo_part_plan_ghosted(starhalo_field_part_plan(field, part));
    return starhalo_kern_tile_make(&g, d->batch > 0 ? d->batch : 1,
                                   d->channels > 0 ? d->channels : 1);
}

starhalo_status_t starhalo__compute_same_tile(const starhalo_field_t *a, const starhalo_field_t *b,
                                              int part, const char *what)
{
    const starhalo_kern_tile_t ta = starhalo__compute_tile(a, part);
    const starhalo_kern_tile_t tb = starhalo__compute_tile(b, part);
    STARHALO_REQUIRE(memcmp(&ta, &tb, sizeof ta) == 0, STARHALO_ERR_INVALID_ARG,
                     "%s: part %d has different tiles in the two fields", what, part);
    return STARHALO_OK;
}

static starhalo_status_t starpu_rc(int rc, const char *what)
{
    if (rc == 0)
        return STARHALO_OK;
    if (rc == -ENODEV)
        return starhalo__error_set(STARHALO_ERR_NO_DEVICE, "%s: no worker can run the task", what);
    return starhalo__error_set(STARHALO_ERR_STARPU, "%s: StarPU returned %d", what, rc);
}

static int box_empty(const starhalo_box_t *b)
{
    for (int d = 0; d < STARHALO_MAX_DIMS; d++)
        if (b->hi[d] <= b->lo[d])
            return 1;
    return 0;
}

/* Rows [lo, hi) of @p b (dim 1), possibly empty. */
static starhalo_box_t rows_of(const starhalo_box_t *b, int64_t lo, int64_t hi)
{
    starhalo_box_t r = *b;
    r.lo[1] = b->lo[1] > lo ? b->lo[1] : lo;
    r.hi[1] = b->hi[1] < hi ? b->hi[1] : hi;
    return r;
}

static starhalo_status_t check_fields(const starhalo_field_t *in, const starhalo_field_t *out,
                                      starhalo_stencil_kind_t kind)
{
    const starhalo_decomp_t *din = starhalo_field_decomp(in);
    const starhalo_decomp_t *dout = starhalo_field_decomp(out);
    const starhalo_decomp_desc_t *a = starhalo_decomp_desc(din);
    const starhalo_decomp_desc_t *b = starhalo_decomp_desc(dout);
    STARHALO_REQUIRE(kind == STARHALO_STENCIL_5PT || kind == STARHALO_STENCIL_9PT,
                     STARHALO_ERR_INVALID_ARG, "stencil kind %d (expected 5 or 9)", (int)kind);
    STARHALO_REQUIRE(starhalo_field_dtype(in) == starhalo_field_dtype(out),
                     STARHALO_ERR_INVALID_ARG, "stencil: input and output dtypes differ");
    STARHALO_REQUIRE(a->ndims == 2, STARHALO_ERR_INVALID_ARG,
                     "stencil: %d-D decomposition (only 2-D is supported)", a->ndims);
    STARHALO_REQUIRE(starhalo_decomp_num_parts(din) == starhalo_decomp_num_parts(dout),
                     STARHALO_ERR_INVALID_ARG, "stencil: input has %d parts, output %d",
                     starhalo_decomp_num_parts(din), starhalo_decomp_num_parts(dout));
    for (int p = 0; p < starhalo_decomp_num_parts(din); p++) {
        starhalo_box_t ga = starhalo_decomp_owned_box(din, p);
        starhalo_box_t gb = starhalo_decomp_owned_box(dout, p);
        STARHALO_REQUIRE(!memcmp(&ga, &gb, sizeof ga) &&
                             starhalo_field_part_rank(in, p) == starhalo_field_part_rank(out, p),
                         STARHALO_ERR_INVALID_ARG,
                         "stencil: part %d differs between input and output (box or rank)", p);
    }
    for (int s = 0; s < 4; s++) {
        STARHALO_REQUIRE(a->halo[s] >= 1 && b->halo[s] >= 1, STARHALO_ERR_INVALID_ARG,
                         "stencil: halo %d on side %d of dim %d (need >= 1: ghosts hold the "
                         "boundary values)",
                         a->halo[s] < b->halo[s] ? a->halo[s] : b->halo[s], s % 2, s / 2);
        STARHALO_REQUIRE(a->halo[s] == b->halo[s], STARHALO_ERR_INVALID_ARG,
                         "stencil: input and output halos differ on side %d of dim %d", s % 2,
                         s / 2);
    }
    STARHALO_REQUIRE(kind != STARHALO_STENCIL_9PT || a->shape == STARHALO_STENCIL_BOX,
                     STARHALO_ERR_INVALID_ARG,
                     "stencil: the 9-point stencil reads corners: use a BOX decomposition");
    return STARHALO_OK;
}

static band_task_t make_task(const starhalo_stencil_t *st, const starhalo_kern_tile_t *tile,
                             int band, int64_t band_offset)
{
    band_task_t t;
    memset(&t, 0, sizeof t);
    t.band = band;
    t.args.kind = st->kind;
    t.args.dtype = starhalo_field_dtype(st->in);
    t.args.tile = *tile;
    t.args.band_offset = band_offset;
    t.args.status = (int *)&st->status;
    return t;
}

/* Build the bands and tasks of one part; plans the partition of its output tile. */
static starhalo_status_t build_part(starhalo_stencil_t *st, part_graph_t *pg, int nbands_wanted)
{
    const starhalo_part_plan_t *plan = starhalo_field_part_plan(st->out, pg->part);
    const int reach[2 * STARHALO_MAX_DIMS] = {1, 1, 1, 1, 0, 0};
    starhalo_regions_t reg;
    STARHALO_CHECK(starhalo_part_plan_regions(plan, reach, &reg));
    STARHALO_CHECK(starhalo_field_part_handle(st->in, pg->part, &pg->in_tile));
    STARHALO_CHECK(starhalo_field_part_handle(st->out, pg->part, &pg->out_tile));
    starhalo_kern_tile_t tile = starhalo__compute_tile(st->out, pg->part);
    const starhalo_box_t owned = starhalo_part_plan_owned(plan);
    const int64_t gw = tile.box.hi[0] - tile.box.lo[0];

    pg->whole = make_task(st, &tile, -1, 0);
    pg->whole.args.nregions = 1;
    pg->whole.args.region[0] = owned;

    /* Row cuts of the ghosted tile: [ghost + top boundary) [interior bands...) [bottom). */
    int64_t cuts[64];
    int ncuts = 0;
    const int planes = (int)(tile.batch * tile.channels);
    const int interior_ok = !box_empty(&reg.interior);
    if (planes == 1 && interior_ok) {
        const int64_t ilo = reg.interior.lo[1], ihi = reg.interior.hi[1];
        int nb = nbands_wanted;
        if (nb > ihi - ilo)
            nb = (int)(ihi - ilo);
        if (nb > 60)
            nb = 60;
        cuts[ncuts++] = tile.box.lo[1];
        for (int b = 0; b < nb; b++)
            cuts[ncuts++] = ilo + (ihi - ilo) * b / nb;
        cuts[ncuts++] = ihi;
        cuts[ncuts++] = tile.box.hi[1];
    } else {
        cuts[ncuts++] = tile.box.lo[1];
        cuts[ncuts++] = tile.box.hi[1];
    }
    const int nb = ncuts - 1;
    /* Bands only pay off when two interior bands can run at once: with one interior band the
     * tasks of a step are ordered anyway (interior, unpack, boundary), so they write the whole
     * tile and the step saves the partition and unpartition operations. */
    const int partition = nb > 3;
    pg->nbands = partition ? nb : 0;

    if (partition) {
        pg->children = calloc((size_t)nb, sizeof *pg->children);
        uint32_t *len = calloc((size_t)nb, sizeof *len);
        if (!pg->children || !len) {
            free(len);
            return starhalo__error_set(STARHALO_ERR_NO_MEMORY, "stencil: band handles");
        }
        for (int b = 0; b < nb; b++)
            len[b] = (uint32_t)((cuts[b + 1] - cuts[b]) * gw);
        struct starpu_data_filter f = {
            .filter_func = starpu_vector_filter_list,
            .nchildren = (unsigned)nb,
            .filter_arg_ptr = len,
        };
        starpu_data_partition_plan(pg->out_tile, &f, pg->children);
        free(len);
    }

    /* Interior: one task per interior band (bands 1 .. nb-2). */
    band_task_t *merged = NULL;
    pg->interior = calloc((size_t)nb, sizeof *pg->interior);
    pg->boundary = calloc((size_t)nb * STARHALO__BAND_MAX_REGIONS, sizeof *pg->boundary);
    if (!pg->interior || !pg->boundary)
        return starhalo__error_set(STARHALO_ERR_NO_MEMORY, "stencil: band tasks");
    for (int b = 0; b < nb; b++) {
        const int64_t off = (cuts[b] - tile.box.lo[1]) * gw;
        const int band = partition ? b : -1;
        starhalo_box_t piece = rows_of(&reg.interior, cuts[b], cuts[b + 1]);
        if (interior_ok && !box_empty(&piece)) {
            band_task_t *t = &pg->interior[pg->ninterior++];
            *t = make_task(st, &tile, band, partition ? off : 0);
            t->args.nregions = 1;
            t->args.region[0] = piece;
        }
        /* Boundary pieces of this band (of the whole part when not partitioned): merged into
         * one task unless split_strips. */
        if (partition)
            merged = NULL;
        for (int k = 0; k < reg.nboundary; k++) {
            piece = rows_of(&reg.boundary[k], cuts[b], cuts[b + 1]);
            if (box_empty(&piece))
                continue;
            if (!merged || st->conf.split_strips) {
                merged = &pg->boundary[pg->nboundary++];
                *merged = make_task(st, &tile, band, partition ? off : 0);
            }
            merged->args.region[merged->args.nregions++] = piece;
        }
    }
    return STARHALO_OK;
}

/* Wait for (and free) the markers of ring slot @p slot. */
static void wait_markers(starhalo_stencil_t *st, int slot)
{
    for (int i = 0; st->markers && i < st->nlocal; i++) {
        struct starpu_task **t = &st->markers[slot * st->nlocal + i];
        if (*t && starpu_task_wait(*t) != 0)
            starhalo__cl_record(&st->status, STARHALO_ERR_STARPU);
        *t = NULL;
    }
}

static void free_parts(starhalo_stencil_t *st)
{
    for (int w = 0; w < st->window; w++)
        wait_markers(st, w);
    free(st->markers);
    for (int i = 0; st->parts && i < st->nlocal; i++) {
        part_graph_t *pg = &st->parts[i];
        if (pg->nbands > 0 && pg->children)
            starpu_data_partition_clean(pg->out_tile, (unsigned)pg->nbands, pg->children);
        free(pg->children);
        free(pg->interior);
        free(pg->boundary);
    }
    free(st->parts);
}

starhalo_status_t starhalo_stencil_create(starhalo_context_t *ctx, starhalo_field_t *in,
                                          starhalo_field_t *out, starhalo_exchange_t *ex_in,
                                          starhalo_stencil_kind_t kind,
                                          const starhalo_compute_conf_t *conf,
                                          starhalo_stencil_t **out_st)
{
    STARHALO_REQUIRE(out_st, STARHALO_ERR_INVALID_ARG, "stencil_create: NULL result pointer");
    *out_st = NULL;
    STARHALO_REQUIRE(ctx && in && out && ex_in, STARHALO_ERR_INVALID_ARG,
                     "stencil_create: NULL context, field or exchange");
    STARHALO_REQUIRE(in != out, STARHALO_ERR_INVALID_ARG,
                     "stencil_create: input and output must be different fields");
    STARHALO_CHECK(starhalo__compute_require_structured(in, "stencil_create", "input"));
    STARHALO_CHECK(starhalo__compute_require_structured(out, "stencil_create", "output"));
    STARHALO_CHECK(check_fields(in, out, kind));
    STARHALO_REQUIRE(!conf || conf->bands >= 0, STARHALO_ERR_INVALID_ARG,
                     "stencil_create: bands %d (expected >= 0)", conf ? conf->bands : 0);

    starhalo_stencil_t *st = calloc(1, sizeof *st);
    if (!st)
        return starhalo__error_set(STARHALO_ERR_NO_MEMORY, "stencil_create");
    st->ctx = ctx;
    st->in = in;
    st->out = out;
    st->ex = ex_in;
    st->kind = kind;
    if (conf)
        st->conf = *conf;
    st->window = st->conf.window == 0 ? 1 : st->conf.window < 0 ? 0 : st->conf.window;
    int bands = st->conf.bands > 0 ? st->conf.bands : (int)starpu_cpu_worker_get_count();
    if (bands < 1)
        bands = 1;
    int *ids = NULL;
    starhalo_status_t rc = starhalo__compute_local_parts(out, &ids, &st->nlocal);
    st->parts = calloc((size_t)st->nlocal + 1, sizeof *st->parts);
    if (rc == STARHALO_OK && !st->parts)
        rc = starhalo__error_set(STARHALO_ERR_NO_MEMORY, "stencil_create");
    for (int i = 0; i < st->nlocal && rc == STARHALO_OK; i++) {
        st->parts[i].part = ids[i];
        rc = build_part(st, &st->parts[i], bands);
    }
    if (rc == STARHALO_OK && st->window > 0) {
        st->markers = calloc((size_t)(st->window * st->nlocal) + 1, sizeof *st->markers);
        if (!st->markers)
            rc = starhalo__error_set(STARHALO_ERR_NO_MEMORY, "stencil_create: markers");
    }
    free(ids);
    if (rc != STARHALO_OK) {
        free_parts(st);
        free(st);
        return rc;
    }
    *out_st = st;
    return STARHALO_OK;
}

void starhalo_stencil_destroy(starhalo_stencil_t *st)
{
    if (!st)
        return;
    starpu_task_wait_for_all();
    free_parts(st);
    free(st);
}

int starhalo_stencil_tasks_per_step(const starhalo_stencil_t *st)
{
    int n = 0;
    for (int i = 0; st && i < st->nlocal; i++)
        n += st->parts[i].ninterior + st->parts[i].nboundary;
    return n;
}

static starhalo_status_t submit(part_graph_t *pg, band_task_t *t, int priority)
{
    starpu_data_handle_t out = t->band >= 0 ? pg->children[t->band] : pg->out_tile;
    int rc = starpu_task_insert(&starhalo__cl_band_stencil, STARPU_R, pg->in_tile, STARPU_RW, out,
                                STARPU_CL_ARGS_NFREE, &t->args, sizeof t->args, STARPU_PRIORITY,
                                priority, 0);
    return starpu_rc(rc, "stencil task");
}

/* Sliding window: wait for this object's step (step - window) before submitting more. */
static void throttle(starhalo_stencil_t *st)
{
    if (st->window > 0 && st->step >= st->window)
        wait_markers(st, st->step % st->window);
}

/* Submit the markers of the step just submitted. */
static starhalo_status_t mark(starhalo_stencil_t *st)
{
    if (st->window <= 0)
        return STARHALO_OK;
    for (int i = 0; i < st->nlocal; i++) {
        struct starpu_task *t = starpu_task_create();
        t->cl = &marker_cl;
        t->handles[0] = st->parts[i].out_tile;
        t->detach = 0;
        const int rc = starpu_task_submit(t);
        if (rc != 0) {
            starpu_task_destroy(t);
            return starpu_rc(rc, "step marker");
        }
        st->markers[(st->step % st->window) * st->nlocal + i] = t;
    }
    return STARHALO_OK;
}

static starhalo_status_t step_task(starhalo_stencil_t *st)
{
    const int hi_prio = starpu_sched_get_max_priority();
    throttle(st);
    for (int i = 0; i < st->nlocal; i++)
        if (st->parts[i].nbands > 0)
            starpu_data_partition_submit(st->parts[i].out_tile, (unsigned)st->parts[i].nbands,
                                         st->parts[i].children);
    STARHALO_CHECK(starhalo_exchange_begin(st->ex));
    for (int i = 0; i < st->nlocal; i++)
        for (int k = 0; k < st->parts[i].ninterior; k++)
            STARHALO_CHECK(submit(&st->parts[i], &st->parts[i].interior[k], 0));
    STARHALO_CHECK(starhalo_exchange_end(st->ex));
    for (int i = 0; i < st->nlocal; i++)
        for (int k = 0; k < st->parts[i].nboundary; k++)
            STARHALO_CHECK(submit(&st->parts[i], &st->parts[i].boundary[k], hi_prio));
    for (int i = 0; i < st->nlocal; i++)
        if (st->parts[i].nbands > 0)
            starpu_data_unpartition_submit(st->parts[i].out_tile, (unsigned)st->parts[i].nbands,
                                           st->parts[i].children, STARPU_MAIN_RAM);
    STARHALO_CHECK(mark(st));
    st->step++;
    return STARHALO_OK;
}

static starhalo_status_t step_bsp(starhalo_stencil_t *st)
{
    STARHALO_CHECK(starhalo_exchange_submit(st->ex));
    STARHALO_CHECK(starhalo_exchange_wait(st->ex));
    for (int i = 0; i < st->nlocal; i++)
        STARHALO_CHECK(submit(&st->parts[i], &st->parts[i].whole, 0));
    return STARHALO_OK;
}

starhalo_status_t starhalo_stencil_step(starhalo_stencil_t *st, starhalo_step_mode_t mode)
{
    STARHALO_REQUIRE(st, STARHALO_ERR_INVALID_ARG, "stencil_step: NULL stencil");
    int failed = __atomic_load_n(&st->status, __ATOMIC_SEQ_CST);
    if (failed)
        return starhalo__error_set((starhalo_status_t)failed,
                                   "stencil_step: an earlier stencil task failed");
    if (mode == STARHALO_STEP_TASK)
        return step_task(st);
    if (mode == STARHALO_STEP_BSP)
        return step_bsp(st);
    return starhalo__error_set(STARHALO_ERR_INVALID_ARG, "stencil_step: unknown mode %d",
                               (int)mode);
}
