/* SPDX-License-Identifier: MIT */
/**
 * @file rt_compute.c
 * @brief The stencil step task graph: output tiles split into row bands (asynchronous
 * partitioning), interior bands submitted between exchange begin and end, boundary tasks after.
 *
 * The bands are starhalo_bands_t pieces of the output field (runtime/rt_bands.c, the public
 * sub-handle mechanism): interior pieces between exchange begin and end, boundary pieces
 * (top and bottom slabs, and the left/right strips of each interior band merged into one
 * task) after, the whole tile in BSP mode.
 */
#include <stdlib.h>
#include <string.h>

#include <starhalo/starhalo_starpu.h>

#include "rt_compute_internal.h"
#include "rt_submit.h"

/** A piece of work: the regions of one band task, and the handle it writes. */
typedef struct band_task {
    starpu_data_handle_t handle; /**< a band of the output tile, or the whole tile */
    starhalo__band_args_t args;
} band_task_t;

/** Per local part: its tiles and precomputed tasks. */
typedef struct part_graph {
    int part;
    starpu_data_handle_t in_tile;
    starpu_data_handle_t out_tile;
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
    starhalo_bands_t *bands; /**< the output tiles' interior and boundary pieces */
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
        return starhalo_error_set(STARHALO_ERR_INVALID_ARG,
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
        return starhalo_error_set(STARHALO_ERR_INVALID_ARG,
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
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "local part list");
    }
    starhalo_field_local_parts(field, *ids);
    return STARHALO_OK;
}

starhalo_box_t starhalo__compute_image_box(const starhalo_field_t *field)
{
    const starhalo_decomp_desc_t *d = starhalo_decomp_desc(starhalo_field_decomp(field));
    starhalo_box_t b;
    memset(&b, 0, sizeof b);
    for (int k = 0; k < STARHALO_MAX_DIMS; k++)
        b.hi[k] = k < 2 ? d->extent[k] : 1;
    return b;
}

starhalo_kern_tile_t starhalo__compute_tile(const starhalo_field_t *field, int part)
{
    starhalo_tile_t t;
    if (starhalo_field_part_tile(field, part, &t) != STARHALO_OK)
        memset(&t, 0, sizeof t);
    return starhalo_kern_tile_make(&t.ghosted, t.batch, t.channels);
}

static starhalo_status_t check_fields(const starhalo_field_t *in, const starhalo_field_t *out,
                                      starhalo_stencil_kind_t kind)
{
    const starhalo_decomp_desc_t *a = starhalo_decomp_desc(starhalo_field_decomp(in));
    STARHALO_REQUIRE(kind == STARHALO_STENCIL_5PT || kind == STARHALO_STENCIL_9PT,
                     STARHALO_ERR_INVALID_ARG, "stencil kind %d (expected 5 or 9)", (int)kind);
    STARHALO_CHECK(starhalo_field_match(in, out, STARHALO_MATCH_DTYPE | STARHALO_MATCH_HALOS,
                                        "stencil: output against input"));
    STARHALO_REQUIRE(a->ndims == 2, STARHALO_ERR_INVALID_ARG,
                     "stencil: %d-D decomposition (only 2-D is supported)", a->ndims);
    for (int s = 0; s < 4; s++) /* the output's halos are the same (matched above) */
        STARHALO_REQUIRE(a->halo[s] >= 1, STARHALO_ERR_INVALID_ARG,
                         "stencil: halo %d on side %d of dim %d (need >= 1: ghosts hold the "
                         "boundary values)",
                         a->halo[s], s % 2, s / 2);
    STARHALO_REQUIRE(kind != STARHALO_STENCIL_9PT || a->shape == STARHALO_STENCIL_BOX,
                     STARHALO_ERR_INVALID_ARG,
                     "stencil: the 9-point stencil reads corners: use a BOX decomposition");
    return STARHALO_OK;
}

/* The tasks of one kind of pieces of a part. */
static starhalo_status_t make_tasks(const starhalo_stencil_t *st, const starhalo_kern_tile_t *tile,
                                    int part, starhalo_region_kind_t kind, band_task_t **tasks,
                                    int *n)
{
    *n = starhalo_bands_num_pieces(st->bands, part, kind);
    *tasks = calloc((size_t)*n + 1, sizeof **tasks);
    STARHALO_REQUIRE(*tasks, STARHALO_ERR_NO_MEMORY, "stencil: band tasks");
    for (int i = 0; i < *n; i++) {
        const starhalo_piece_t *pc = starhalo_bands_piece(st->bands, part, kind, i);
        band_task_t *t = &(*tasks)[i];
        t->handle = pc->handle;
        t->args.points = st->kind == STARHALO_STENCIL_9PT ? 9 : 5;
        t->args.dtype = starhalo_field_dtype(st->in);
        t->args.tile = *tile;
        t->args.band_offset = pc->offset;
        t->args.nregions = pc->nregions;
        memcpy(t->args.region, pc->region, sizeof t->args.region);
        t->args.status = (int *)&st->status;
    }
    return STARHALO_OK;
}

/* The tasks of one part, from the pieces of its output tile. */
static starhalo_status_t build_part(starhalo_stencil_t *st, part_graph_t *pg)
{
    STARHALO_CHECK(starhalo_field_part_handle(st->in, pg->part, &pg->in_tile));
    STARHALO_CHECK(starhalo_field_part_handle(st->out, pg->part, &pg->out_tile));
    const starhalo_kern_tile_t tile = starhalo__compute_tile(st->out, pg->part);
    band_task_t *whole = NULL;
    int nwhole = 0;
    STARHALO_CHECK(make_tasks(st, &tile, pg->part, STARHALO_REGION_OWNED, &whole, &nwhole));
    pg->whole = whole[0];
    free(whole);
    STARHALO_CHECK(
        make_tasks(st, &tile, pg->part, STARHALO_REGION_INTERIOR, &pg->interior, &pg->ninterior));
    return make_tasks(st, &tile, pg->part, STARHALO_REGION_BOUNDARY, &pg->boundary, &pg->nboundary);
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
        free(st->parts[i].interior);
        free(st->parts[i].boundary);
    }
    free(st->parts);
    starhalo_bands_destroy(st->bands);
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
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "stencil_create");
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
    static const int reach[2 * STARHALO_MAX_DIMS] = {1, 1, 1, 1, 0, 0};
    starhalo_status_t rc = starhalo__compute_local_parts(out, &ids, &st->nlocal);
    if (rc == STARHALO_OK)
        rc = starhalo_bands_create(
            out, reach, bands, st->conf.split_strips ? STARHALO_BANDS_SPLIT_STRIPS : 0, &st->bands);
    st->parts = calloc((size_t)st->nlocal + 1, sizeof *st->parts);
    if (rc == STARHALO_OK && !st->parts)
        rc = starhalo_error_set(STARHALO_ERR_NO_MEMORY, "stencil_create");
    for (int i = 0; i < st->nlocal && rc == STARHALO_OK; i++) {
        st->parts[i].part = ids[i];
        rc = build_part(st, &st->parts[i]);
    }
    if (rc == STARHALO_OK && st->window > 0) {
        st->markers = calloc((size_t)(st->window * st->nlocal) + 1, sizeof *st->markers);
        if (!st->markers)
            rc = starhalo_error_set(STARHALO_ERR_NO_MEMORY, "stencil_create: markers");
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
    int rc = starpu_task_insert(&starhalo_cl_band_stencil, STARPU_R, pg->in_tile, STARPU_RW,
                                t->handle, STARPU_CL_ARGS_NFREE, &t->args, sizeof t->args,
                                STARPU_PRIORITY, priority, 0);
    return starhalo__starpu_status(rc, "stencil task");
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
            return starhalo__starpu_status(rc, "step marker");
        }
        st->markers[(st->step % st->window) * st->nlocal + i] = t;
    }
    return STARHALO_OK;
}

static starhalo_status_t step_task(starhalo_stencil_t *st)
{
    const int hi_prio = starpu_sched_get_max_priority();
    throttle(st);
    STARHALO_CHECK(starhalo_bands_partition(st->bands));
    STARHALO_CHECK(starhalo_exchange_begin(st->ex));
    for (int i = 0; i < st->nlocal; i++)
        for (int k = 0; k < st->parts[i].ninterior; k++)
            STARHALO_CHECK(submit(&st->parts[i], &st->parts[i].interior[k], 0));
    STARHALO_CHECK(starhalo_exchange_end(st->ex));
    for (int i = 0; i < st->nlocal; i++)
        for (int k = 0; k < st->parts[i].nboundary; k++)
            STARHALO_CHECK(submit(&st->parts[i], &st->parts[i].boundary[k], hi_prio));
    STARHALO_CHECK(starhalo_bands_unpartition(st->bands));
    STARHALO_CHECK(mark(st));
    st->step++;
    /* The output tiles changed behind StarPU-MPI's back (plain tasks on the owner). */
    return starhalo_field_mpi_flush(st->out);
}

static starhalo_status_t step_bsp(starhalo_stencil_t *st)
{
    STARHALO_CHECK(starhalo_exchange_submit(st->ex));
    STARHALO_CHECK(starhalo_exchange_wait(st->ex));
    for (int i = 0; i < st->nlocal; i++)
        STARHALO_CHECK(submit(&st->parts[i], &st->parts[i].whole, 0));
    return starhalo_field_mpi_flush(st->out);
}

starhalo_status_t starhalo_stencil_step(starhalo_stencil_t *st, starhalo_step_mode_t mode)
{
    STARHALO_REQUIRE(st, STARHALO_ERR_INVALID_ARG, "stencil_step: NULL stencil");
    int failed = __atomic_load_n(&st->status, __ATOMIC_SEQ_CST);
    if (failed)
        return starhalo_error_set((starhalo_status_t)failed,
                                  "stencil_step: an earlier stencil task failed");
    if (mode == STARHALO_STEP_TASK)
        return step_task(st);
    if (mode == STARHALO_STEP_BSP)
        return step_bsp(st);
    return starhalo_error_set(STARHALO_ERR_INVALID_ARG, "stencil_step: unknown mode %d", (int)mode);
}
