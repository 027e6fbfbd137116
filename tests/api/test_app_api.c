/* SPDX-License-Identifier: MIT */
/* Tests the application API of issue 11 on 1, 2 or 4 ranks (every rank runs the group; each
 * check is reduced over ranks):
 * - tile geometry: starhalo_field_part_tile of every part (local and remote) against the part
 *   plan's boxes, strides and starhalo_tile_offset, 2-D and 3-D;
 * - a user codelet submitted with starhalo_bands_insert on the interior pieces while the halo
 *   travels (exchange begin ... interior ... end ... boundary), 4 steps between two fields,
 *   BITWISE equal to the same kernel run on one whole-image tile (a single-rank run), for
 *   2-D vertical / horizontal / square splits with 1 and 2 parts per rank, 2 planes, and a
 *   3-D split along z; image ghosts start as garbage so an interior task reading a ghost
 *   shows; pieces stay inside their handles; split tiles give several interior tasks;
 * - starpu_mpi_task_insert on starhalo tiles and the application's own data: a task that
 *   writes the application's handle owned by the next rank reads a part's tile (remote on 2+
 *   ranks); StarPU-MPI runs it on that rank and moves the tile; after new values and an
 *   exchange (which flushes StarPU-MPI's cache of its fields), the same remote read sees the
 *   new values;
 * - a wrapped user buffer (starhalo_field_wrap, BOX): the exchange fills its ghosts with the
 *   global-index image, border ghosts keep the caller's values, the field never frees it;
 * - bad input: one error on every rank (a NULL tile on one rank only included), no hang. */
#include "compute_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <starpu_mpi.h>

#include <starhalo/starhalo_starpu.h>

starhalo_context_t *g_ctx;
int g_rank, g_size;

#define STEPS 4
#define GARB  1e30

/* The global-index image (distinct per plane and cell). */
static double image(int64_t p, int64_t x, int64_t y, int64_t z)
{
    return (double)(((p * 31 + z) * 37 + y) * 41 + x);
}

/* ------------------------------------------------------------------------------------------ */
/* The user's codelet: out = c0 * in + c1 * (sum of face neighbours), float64                 */
/* ------------------------------------------------------------------------------------------ */

typedef struct avg_arg {
    double c0, c1;
} avg_arg_t;

static int g_outside; /* cells a task computed outside its piece (atomic) */

static void avg_kernel(const starhalo_task_info_t *info, double *out, const double *in,
                       const avg_arg_t *a)
{
    const starhalo_tile_t *t = &info->tile;
    for (int r = 0; r < info->nregions; r++) {
        const starhalo_box_t *b = &info->region[r];
        for (int64_t p = 0; p < t->planes; p++)
            for (int64_t z = b->lo[2]; z < b->hi[2]; z++)
                for (int64_t y = b->lo[1]; y < b->hi[1]; y++)
                    for (int64_t x = b->lo[0]; x < b->hi[0]; x++) {
                        const int64_t o = starhalo_tile_offset(t, p, x, y, z);
                        if (o < info->offset || o >= info->offset + info->count)
                            __atomic_add_fetch(&g_outside, 1, __ATOMIC_RELAXED);
                        double s = ((in[o - t->ld] + in[o + t->ld]) + in[o + 1]) + in[o - 1];
                        if (t->ndims == 3)
                            s = (s + in[o - t->slice]) + in[o + t->slice];
                        out[o] = a->c0 * in[o] + a->c1 * s;
                    }
    }
}

static void avg_cpu(void *buffers[], void *cl_arg)
{
    const starhalo_task_info_t *info = cl_arg;
    const avg_arg_t *a = starhalo_task_arg(cl_arg);
    double *out = starhalo_task_tile_base(info, (void *)STARPU_VECTOR_GET_PTR(buffers[0]));
    avg_kernel(info, out, (const double *)STARPU_VECTOR_GET_PTR(buffers[1]), a);
}

static struct starpu_codelet avg_cl = {
    .cpu_funcs = {avg_cpu},
    .nbuffers = 2,
    .name = "test_avg",
};

/* ------------------------------------------------------------------------------------------ */
/* Setup helpers                                                                              */
/* ------------------------------------------------------------------------------------------ */

typedef struct geo {
    int ndims;
    int64_t extent[3];
    int64_t channels;
    starhalo_split_t split;
    int ppr;
} geo_t;

static starhalo_status_t make_decomp(const geo_t *g, starhalo_stencil_shape_t shape,
                                     starhalo_decomp_t **out)
{
    starhalo_decomp_desc_t d;
    memset(&d, 0, sizeof d);
    d.ndims = g->ndims;
    for (int k = 0; k < 3; k++)
        d.extent[k] = g->extent[k];
    d.channels = g->channels;
    d.split = g->split;
    d.nparts = g_size * g->ppr;
    if (g->split == STARHALO_SPLIT_GRID) {
        d.parts_per_dim[0] = d.parts_per_dim[1] = 1;
        d.parts_per_dim[2] = d.nparts;
    }
    for (int s = 0; s < 2 * g->ndims; s++)
        d.halo[s] = 1;
    d.shape = shape;
    return starhalo_decomp_create(&d, out);
}

static int inside(const starhalo_decomp_t *dc, int64_t x, int64_t y, int64_t z)
{
    const starhalo_decomp_desc_t *d = starhalo_decomp_desc(dc);
    return x >= 0 && x < d->extent[0] && y >= 0 && y < d->extent[1] && z >= 0 &&
           z < (d->ndims == 3 ? d->extent[2] : 1);
}

/* Owned cells: the image; ghosts inside the image: @p ghost; border ghosts: @p border. */
static void fill_tile(const starhalo_decomp_t *dc, const starhalo_tile_t *t, double *a,
                      double ghost, double border)
{
    for (int64_t p = 0; p < t->planes; p++)
        for (int64_t z = t->ghosted.lo[2]; z < t->ghosted.hi[2]; z++)
            for (int64_t y = t->ghosted.lo[1]; y < t->ghosted.hi[1]; y++)
                for (int64_t x = t->ghosted.lo[0]; x < t->ghosted.hi[0]; x++) {
                    const int own = x >= t->owned.lo[0] && x < t->owned.hi[0] &&
                                    y >= t->owned.lo[1] && y < t->owned.hi[1] &&
                                    z >= t->owned.lo[2] && z < t->owned.hi[2];
                    a[starhalo_tile_offset(t, p, x, y, z)] = own ? image(p, x, y, z)
                                                             : inside(dc, x, y, z) ? ghost
                                                                                   : border;
                }
}

/* Call @p fn on every local tile of @p f, acquired for writing. */
typedef void (*tile_fn)(const starhalo_decomp_t *dc, const starhalo_tile_t *t, double *a, double x,
                        double y);
static starhalo_status_t each_tile(starhalo_field_t *f, tile_fn fn, double x, double y)
{
    int ids[16];
    const int n = starhalo_field_local_parts(f, ids);
    for (int i = 0; i < n; i++) {
        starhalo_tile_t t;
        void *p = NULL;
        STARHALO_CHECK(starhalo_field_part_tile(f, ids[i], &t));
        STARHALO_CHECK(starhalo_field_acquire(f, ids[i], 1));
        STARHALO_CHECK(starhalo_field_part_data(f, ids[i], &p));
        fn(starhalo_field_decomp(f), &t, p, x, y);
        STARHALO_CHECK(starhalo_field_release(f, ids[i]));
    }
    return STARHALO_OK;
}

static starhalo_status_t fill_field(starhalo_field_t *f, double ghost, double border)
{
    return each_tile(f, fill_tile, ghost, border);
}

/* ------------------------------------------------------------------------------------------ */
/* Tile geometry                                                                              */
/* ------------------------------------------------------------------------------------------ */

static int check_geometry(const geo_t *g)
{
    int bad = 0;
    starhalo_decomp_t *dc = NULL;
    starhalo_field_t *f = NULL;
    CHECK(bad, make_decomp(g, STARHALO_STENCIL_STAR, &dc) == STARHALO_OK);
    CHECK(bad, !bad && starhalo_field_create(g_ctx, dc, NULL, STARHALO_FLOAT64, &f) == STARHALO_OK);
    for (int p = 0; !bad && p < starhalo_decomp_num_parts(dc); p++) {
        starhalo_tile_t t, u;
        CHECK(bad, starhalo_field_part_tile(f, p, &t) == STARHALO_OK);
        CHECK(bad, starhalo_decomp_part_tile(dc, p, STARHALO_FLOAT64, &u) == STARHALO_OK);
        CHECK(bad, !memcmp(&t, &u, sizeof t));
        starhalo_part_plan_t *plan = NULL;
        CHECK(bad, starhalo_part_plan_create(dc, p, &plan) == STARHALO_OK);
        const starhalo_box_t gb = starhalo_part_plan_ghosted(plan);
        const starhalo_box_t ob = starhalo_part_plan_owned(plan);
        CHECK(bad, !memcmp(&gb, &t.ghosted, sizeof gb) && !memcmp(&ob, &t.owned, sizeof ob));
        CHECK(bad, t.part == p && t.ndims == g->ndims && t.elemsize == 8 &&
                       t.planes == (g->channels ? g->channels : 1) && t.batch == 1);
        CHECK(bad, t.ld == gb.hi[0] - gb.lo[0] && t.slice == t.ld * (gb.hi[1] - gb.lo[1]) &&
                       t.plane == starhalo_box_volume(&gb));
        CHECK(bad, starhalo_tile_offset(&t, 0, gb.lo[0], gb.lo[1], gb.lo[2]) == 0);
        CHECK(bad, starhalo_tile_offset(&t, t.planes - 1, gb.hi[0] - 1, gb.hi[1] - 1,
                                        gb.hi[2] - 1) == starhalo_tile_elems(&t) - 1);
        CHECK(bad, starhalo_tile_offset(&t, 0, gb.lo[0] + 1, gb.lo[1], gb.lo[2]) == 1 &&
                       starhalo_tile_offset(&t, 0, gb.lo[0], gb.lo[1] + 1, gb.lo[2]) == t.ld &&
                       starhalo_tile_offset(&t, 1, gb.lo[0], gb.lo[1], gb.lo[2]) == t.plane);
        CHECK(bad, starhalo_tile_holds(&t, ob.lo[0], ob.lo[1], ob.lo[2]) &&
                       !starhalo_tile_holds(&t, gb.hi[0], ob.lo[1], ob.lo[2]));
        starhalo_part_plan_destroy(plan);
    }
    starhalo_field_destroy(f);
    starhalo_decomp_destroy(dc);
    return bad;
}

static const geo_t g_geos[] = {
    {2, {23, 19, 1}, 0, STARHALO_SPLIT_VERTICAL, 1},
    {2, {23, 19, 1}, 0, STARHALO_SPLIT_HORIZONTAL, 1},
    {2, {23, 19, 1}, 0, STARHALO_SPLIT_SQUARE, 1},
    {2, {23, 19, 1}, 0, STARHALO_SPLIT_VERTICAL, 2},
    {2, {23, 19, 1}, 0, STARHALO_SPLIT_HORIZONTAL, 2},
    {2, {23, 19, 1}, 2, STARHALO_SPLIT_VERTICAL, 1},
    {3, {7, 6, 21}, 0, STARHALO_SPLIT_GRID, 1},
    {3, {7, 6, 21}, 2, STARHALO_SPLIT_GRID, 2},
};
#define NGEOS ((int)(sizeof g_geos / sizeof g_geos[0]))

static int geo_ok(const geo_t *g)
{
    return g->split != STARHALO_SPLIT_SQUARE || compute_test_is_square(g_size * g->ppr);
}

/* Run @p fn on every geometry this rank count allows; the failures over all ranks. */
static void over_geos(int (*fn)(const geo_t *))
{
    int bad = 0;
    for (int i = 0; i < NGEOS; i++)
        bad += geo_ok(&g_geos[i]) ? fn(&g_geos[i]) : 0;
    starhalo_mpi_assert_none_failed(bad);
}

static void tile_geometry(void **state)
{
    (void)state;
    /* The caller's bytes after the task info start 8-byte aligned (the header says so). */
    assert_int_equal(sizeof(starhalo_task_info_t) % 8, 0);
    over_geos(check_geometry);
}

/* ------------------------------------------------------------------------------------------ */
/* A user codelet on interior pieces while the halo travels                                   */
/* ------------------------------------------------------------------------------------------ */

static const avg_arg_t g_avg = {0.5, 0.125};

/* The single-rank run: the same kernel on one whole-image tile, STEPS times. */
static double *reference(const geo_t *g, starhalo_tile_t *rt)
{
    starhalo_decomp_desc_t d;
    starhalo_decomp_t *dc = NULL;
    memset(&d, 0, sizeof d);
    d.ndims = g->ndims;
    for (int k = 0; k < 3; k++)
        d.extent[k] = g->extent[k];
    d.channels = g->channels;
    d.split = STARHALO_SPLIT_VERTICAL;
    d.nparts = 1;
    for (int s = 0; s < 2 * g->ndims; s++)
        d.halo[s] = 1;
    if (starhalo_decomp_create(&d, &dc) != STARHALO_OK ||
        starhalo_decomp_part_tile(dc, 0, STARHALO_FLOAT64, rt) != STARHALO_OK)
        return NULL;
    const int64_t n = starhalo_tile_elems(rt);
    double *a = calloc((size_t)n, sizeof *a), *b = calloc((size_t)n, sizeof *b);
    fill_tile(dc, rt, a, 0.0, 0.0);
    starhalo_task_info_t info;
    memset(&info, 0, sizeof info);
    info.tile = *rt;
    info.nregions = 1;
    info.region[0] = rt->owned;
    info.count = n;
    for (int s = 0; s < STEPS; s++) {
        avg_kernel(&info, b, a, &g_avg);
        double *t = a;
        a = b;
        b = t;
    }
    free(b);
    starhalo_decomp_destroy(dc);
    return a;
}

/* Compare the owned cells of every local part of @p f with the reference tile. */
static int compare_owned(starhalo_field_t *f, const starhalo_tile_t *rt, const double *ref)
{
    int bad = 0, ids[16];
    const int n = starhalo_field_local_parts(f, ids);
    for (int i = 0; i < n; i++) {
        starhalo_tile_t t;
        void *ptr = NULL;
        CHECK(bad, starhalo_field_part_tile(f, ids[i], &t) == STARHALO_OK);
        CHECK(bad, starhalo_field_acquire(f, ids[i], 0) == STARHALO_OK);
        CHECK(bad, starhalo_field_part_data(f, ids[i], &ptr) == STARHALO_OK);
        const double *a = ptr;
        int diffs = 0;
        for (int64_t p = 0; a && p < t.planes; p++)
            for (int64_t z = t.owned.lo[2]; z < t.owned.hi[2]; z++)
                for (int64_t y = t.owned.lo[1]; y < t.owned.hi[1]; y++)
                    for (int64_t x = t.owned.lo[0]; x < t.owned.hi[0]; x++)
                        diffs +=
                            memcmp(&a[starhalo_tile_offset(&t, p, x, y, z)],
                                   &ref[starhalo_tile_offset(rt, p, x, y, z)], sizeof(double)) != 0;
        if (diffs)
            fprintf(stderr, "rank %d part %d: %d cells differ from the single-rank run\n", g_rank,
                    ids[i], diffs);
        CHECK(bad, diffs == 0);
        CHECK(bad, starhalo_field_release(f, ids[i]) == STARHALO_OK);
    }
    return bad;
}

static int run_bands(const geo_t *g, int nbands, unsigned flags)
{
    int bad = 0;
    starhalo_decomp_t *dc = NULL;
    starhalo_field_t *f[2] = {NULL, NULL};
    starhalo_exchange_t *ex[2] = {NULL, NULL};
    starhalo_bands_t *bands[2] = {NULL, NULL};
    const int reach[6] = {1, 1, 1, 1, g->ndims == 3, g->ndims == 3};
    CHECK(bad, make_decomp(g, STARHALO_STENCIL_STAR, &dc) == STARHALO_OK);
    for (int b = 0; b < 2 && !bad; b++) {
        CHECK(bad, starhalo_field_create(g_ctx, dc, NULL, STARHALO_FLOAT64, &f[b]) == STARHALO_OK);
        CHECK(bad, !bad && fill_field(f[b], GARB, 0.0) == STARHALO_OK);
        CHECK(bad, !bad && starhalo_exchange_create(g_ctx, &f[b], 1, STARHALO_TRANSPORT_DEFAULT,
                                                    &ex[b]) == STARHALO_OK);
    }
    for (int b = 0; b < 2 && !bad; b++)
        CHECK(bad, starhalo_bands_create(f[b], reach, nbands, flags, &bands[b]) == STARHALO_OK);
    /* Split tiles: several interior pieces, each its own handle (not the tile). */
    int ids[16];
    const int nl = bad ? 0 : starhalo_field_local_parts(f[0], ids);
    int expect_interior = 0, expect_boundary = 0;
    for (int i = 0; i < nl; i++) {
        const int ni = starhalo_bands_num_pieces(bands[0], ids[i], STARHALO_REGION_INTERIOR);
        expect_interior += ni;
        expect_boundary += starhalo_bands_num_pieces(bands[0], ids[i], STARHALO_REGION_BOUNDARY);
        starpu_data_handle_t tile = NULL;
        CHECK(bad, starhalo_field_part_handle(f[0], ids[i], &tile) == STARHALO_OK);
        starhalo_tile_t t;
        CHECK(bad, starhalo_field_part_tile(f[0], ids[i], &t) == STARHALO_OK);
        const int64_t rows = t.owned.hi[g->ndims - 1] - t.owned.lo[g->ndims - 1] - 2;
        if (t.planes == 1 && rows >= nbands && nbands >= 2) {
            CHECK(bad, ni == nbands);
            for (int k = 0; k < ni; k++)
                CHECK(bad,
                      starhalo_bands_piece(bands[0], ids[i], STARHALO_REGION_INTERIOR, k)->handle !=
                          tile);
        }
        CHECK(bad, starhalo_bands_num_pieces(bands[0], ids[i], STARHALO_REGION_OWNED) == 1);
    }
    starhalo_insert_desc_t d;
    memset(&d, 0, sizeof d);
    d.cl = &avg_cl;
    d.nfields = 1;
    d.arg = &g_avg;
    d.arg_size = sizeof g_avg;
    __atomic_store_n(&g_outside, 0, __ATOMIC_RELAXED);
    for (int s = 0; s < STEPS && !bad; s++) {
        const int in = s % 2, out = 1 - in;
        int ni = -1, nb = -1;
        d.fields = &f[in];
        d.priority = 0;
        CHECK(bad, starhalo_exchange_begin(ex[in]) == STARHALO_OK);
        CHECK(bad,
              starhalo_bands_insert(bands[out], STARHALO_REGION_INTERIOR, &d, &ni) == STARHALO_OK);
        CHECK(bad, starhalo_exchange_end(ex[in]) == STARHALO_OK);
        d.priority = starpu_sched_get_max_priority();
        CHECK(bad,
              starhalo_bands_insert(bands[out], STARHALO_REGION_BOUNDARY, &d, &nb) == STARHALO_OK);
        CHECK(bad, ni == expect_interior && nb == expect_boundary);
    }
    CHECK(bad, starhalo_context_wait_all(g_ctx) == STARHALO_OK);
    CHECK(bad, __atomic_load_n(&g_outside, __ATOMIC_RELAXED) == 0);
    starhalo_tile_t rt;
    double *ref = bad ? NULL : reference(g, &rt);
    CHECK(bad, bad || ref);
    if (!bad)
        bad += compare_owned(f[STEPS % 2], &rt, ref);
    free(ref);
    for (int b = 0; b < 2; b++) {
        starhalo_bands_destroy(bands[b]);
        starhalo_exchange_destroy(ex[b]);
        starhalo_field_destroy(f[b]);
    }
    starhalo_decomp_destroy(dc);
    if (bad)
        fprintf(stderr, "rank %d: run_bands(ndims %d split %s ppr %d channels %lld bands %d): %s\n",
                g_rank, g->ndims, starhalo_split_name(g->split), g->ppr, (long long)g->channels,
                nbands, starhalo_last_error_message());
    return bad;
}

static void user_codelet_interior_boundary(void **state)
{
    (void)state;
    int bad = 0, runs = 0;
    for (int i = 0; i < NGEOS; i++) {
        if (!geo_ok(&g_geos[i]))
            continue;
        bad += run_bands(&g_geos[i], 3, i % 2 ? STARHALO_BANDS_SPLIT_STRIPS : 0);
        bad += run_bands(&g_geos[i], i % 3, 0);
        runs += 2;
        if (compute_test_any(bad))
            break;
    }
    if (g_rank == 0)
        printf("user_codelet_interior_boundary: %d runs on %d ranks\n", runs, g_size);
    starhalo_mpi_assert_none_failed(bad);
}

/* ------------------------------------------------------------------------------------------ */
/* starpu_mpi_task_insert on starhalo tiles and the application's own data                    */
/* ------------------------------------------------------------------------------------------ */

/* out[0] = sum of every element of the tile (ghosts included), out[1] = the rank it ran on. */
static void sum_cpu(void *buffers[], void *cl_arg)
{
    (void)cl_arg;
    const double *t = (const double *)STARPU_VECTOR_GET_PTR(buffers[0]);
    const uint32_t n = STARPU_VECTOR_GET_NX(buffers[0]);
    double *out = (double *)STARPU_VECTOR_GET_PTR(buffers[1]);
    double s = 0.0;
    for (uint32_t i = 0; i < n; i++)
        s += t[i];
    out[0] = s;
    out[1] = (double)g_rank;
}

/* Every element of the tile doubled (exact), where it is owned: records nothing else. */
static void twice_cpu(void *buffers[], void *cl_arg)
{
    (void)cl_arg;
    double *t = (double *)STARPU_VECTOR_GET_PTR(buffers[0]);
    const uint32_t n = STARPU_VECTOR_GET_NX(buffers[0]);
    for (uint32_t i = 0; i < n; i++)
        t[i] *= 2.0;
}

static struct starpu_codelet twice_cl = {
    .cpu_funcs = {twice_cpu},
    .nbuffers = 1,
    .modes = {STARPU_RW},
    .name = "test_tile_twice",
};

static struct starpu_codelet sum_cl = {
    .cpu_funcs = {sum_cpu},
    .nbuffers = 2,
    .modes = {STARPU_R, STARPU_W},
    .name = "test_tile_sum",
};

/* The sum sum_cpu must find in part @p p's tile after an exchange of the image + @p add. */
static double expected_sum(const starhalo_decomp_t *dc, int p, double add)
{
    starhalo_tile_t t;
    if (starhalo_decomp_part_tile(dc, p, STARHALO_FLOAT64, &t) != STARHALO_OK)
        return NAN;
    double s = 0.0;
    for (int64_t q = 0; q < t.planes; q++)
        for (int64_t z = t.ghosted.lo[2]; z < t.ghosted.hi[2]; z++)
            for (int64_t y = t.ghosted.lo[1]; y < t.ghosted.hi[1]; y++)
                for (int64_t x = t.ghosted.lo[0]; x < t.ghosted.hi[0]; x++)
                    s += inside(dc, x, y, z) ? image(q, x, y, z) + add : 0.0;
    return s;
}

/* Owned cells += @p add (2-D). */
static void add_tile(const starhalo_decomp_t *dc, const starhalo_tile_t *t, double *a, double add,
                     double unused)
{
    (void)dc;
    (void)unused;
    for (int64_t q = 0; q < t->planes; q++)
        for (int64_t y = t->owned.lo[1]; y < t->owned.hi[1]; y++)
            for (int64_t x = t->owned.lo[0]; x < t->owned.hi[0]; x++)
                a[starhalo_tile_offset(t, q, x, y, 0)] += add;
}

/* Per part p: the application's 2-double result, owned by the rank after the tile's. */
static int read_all(starhalo_field_t *f, starpu_data_handle_t *res, double *vals, int np,
                    double add, double mul)
{
    int bad = 0;
    MPI_Comm comm = starhalo_context_comm(g_ctx);
    for (int p = 0; p < np; p++) {
        starpu_data_handle_t h = NULL;
        CHECK(bad, starhalo_field_part_handle(f, p, &h) == STARHALO_OK);
        CHECK(bad, starpu_mpi_task_insert(comm, &sum_cl, STARPU_R, h, STARPU_W, res[p], 0) == 0);
    }
    CHECK(bad, starpu_mpi_wait_for_all(comm) == 0);
    const starhalo_decomp_t *dc = starhalo_field_decomp(f);
    for (int p = 0; p < np; p++) {
        const int reader = (starhalo_field_part_rank(f, p) + 1) % g_size;
        if (reader != g_rank)
            continue;
        CHECK(bad, starpu_data_acquire(res[p], STARPU_R) == 0);
        const double want = expected_sum(dc, p, add) * mul;
        if (vals[2 * p] != want || vals[2 * p + 1] != (double)g_rank)
            fprintf(stderr,
                    "rank %d: part %d (owner %d) read sum %.17g on rank %g, expected %.17g\n",
                    g_rank, p, starhalo_field_part_rank(f, p), vals[2 * p], vals[2 * p + 1], want);
        CHECK(bad, vals[2 * p] == want && vals[2 * p + 1] == (double)g_rank);
        starpu_data_release(res[p]);
    }
    return bad;
}

/* The application's handles (placeholders included) and their memory. */
static void app_data_free(starpu_data_handle_t *res, double *vals, int np)
{
    for (int p = 0; p < np; p++)
        starpu_data_unregister(res[p]);
    free(res);
    free(vals);
}

static void mpi_task_insert_on_tiles(void **state)
{
    (void)state;
    int bad = 0;
    const geo_t g = {2, {23, 19, 1}, 2, STARHALO_SPLIT_VERTICAL, 2};
    starhalo_decomp_t *dc = NULL;
    starhalo_field_t *f = NULL;
    starhalo_exchange_t *ex = NULL;
    assert_status_ok(make_decomp(&g, STARHALO_STENCIL_STAR, &dc));
    assert_status_ok(starhalo_field_create(g_ctx, dc, NULL, STARHALO_FLOAT64, &f));
    assert_status_ok(fill_field(f, GARB, 0.0));
    assert_status_ok(starhalo_exchange_create(g_ctx, &f, 1, STARHALO_TRANSPORT_DEFAULT, &ex));
    const int np = starhalo_decomp_num_parts(dc);
    double *vals = calloc((size_t)np * 2, sizeof *vals);
    starpu_data_handle_t *res = calloc((size_t)np, sizeof *res);
    /* The application's own data, stencil5 style: owner registers memory, others -1. */
    for (int p = 0; p < np; p++) {
        const int reader = (starhalo_field_part_rank(f, p) + 1) % g_size;
        if (reader == g_rank)
            starpu_vector_data_register(&res[p], STARPU_MAIN_RAM, (uintptr_t)&vals[2 * p], 2,
                                        sizeof(double));
        else
            starpu_vector_data_register(&res[p], -1, 0, 2, sizeof(double));
        starpu_mpi_data_register_comm(res[p], 100 + p, reader, starhalo_context_comm(g_ctx));
    }
    CHECK(bad, starhalo_exchange_run(ex) == STARHALO_OK);
    CHECK(bad, starhalo_field_mpi_flush(f) == STARHALO_OK);
    bad += read_all(f, res, vals, np, 0.0, 1.0);
    /* New values behind StarPU-MPI's back (host writes, then the exchange): the exchange
     * flushes the field's cache itself, so the remote readers receive them, not their cached
     * copies (without that flush they read the old sums). */
    CHECK(bad, each_tile(f, add_tile, 1000.0, 0.0) == STARHALO_OK);
    CHECK(bad, starhalo_exchange_run(ex) == STARHALO_OK);
    bad += read_all(f, res, vals, np, 1000.0, 1.0);
    /* The same with a submitted exchange (its flush comes with the submission). */
    CHECK(bad, each_tile(f, add_tile, 1000.0, 0.0) == STARHALO_OK);
    CHECK(bad, starhalo_exchange_submit(ex) == STARHALO_OK);
    CHECK(bad, starhalo_exchange_wait(ex) == STARHALO_OK);
    bad += read_all(f, res, vals, np, 2000.0, 1.0);
    /* A task that writes a tile through StarPU-MPI runs on the tile's owner, and StarPU-MPI
     * itself invalidates the readers' cached copies (no flush). */
    for (int p = 0; p < np; p++) {
        starpu_data_handle_t h = NULL;
        CHECK(bad, starhalo_field_part_handle(f, p, &h) == STARHALO_OK);
        CHECK(bad, starpu_mpi_task_insert(starhalo_context_comm(g_ctx), &twice_cl, STARPU_RW, h,
                                          0) == 0);
    }
    bad += read_all(f, res, vals, np, 2000.0, 2.0);
    CHECK(bad, starhalo_context_wait_all(g_ctx) == STARHALO_OK);
    app_data_free(res, vals, np);
    starhalo_exchange_destroy(ex);
    starhalo_field_destroy(f);
    starhalo_decomp_destroy(dc);
    starhalo_mpi_assert_none_failed(bad);
}

/* ------------------------------------------------------------------------------------------ */
/* A wrapped user buffer                                                                      */
/* ------------------------------------------------------------------------------------------ */

static int run_wrap(const geo_t *g)
{
    int bad = 0;
    starhalo_decomp_t *dc = NULL;
    starhalo_field_t *f = NULL;
    starhalo_exchange_t *ex = NULL;
    CHECK(bad, make_decomp(g, STARHALO_STENCIL_BOX, &dc) == STARHALO_OK);
    if (bad)
        return bad;
    const int np = starhalo_decomp_num_parts(dc);
    void **tiles = calloc((size_t)np, sizeof *tiles);
    starhalo_tile_t *geo = calloc((size_t)np, sizeof *geo);
    const double border = -7.0;
    for (int p = 0; p < np; p++) {
        if (p / g->ppr != g_rank)
            continue;
        CHECK(bad, starhalo_decomp_part_tile(dc, p, STARHALO_FLOAT64, &geo[p]) == STARHALO_OK);
        tiles[p] = malloc((size_t)starhalo_tile_elems(&geo[p]) * sizeof(double));
        fill_tile(dc, &geo[p], tiles[p], GARB, border);
    }
    CHECK(bad, starhalo_field_wrap(g_ctx, dc, NULL, STARHALO_FLOAT64, tiles, &f) == STARHALO_OK);
    CHECK(bad, !bad && starhalo_exchange_create(g_ctx, &f, 1, STARHALO_TRANSPORT_DEFAULT, &ex) ==
                           STARHALO_OK);
    CHECK(bad, !bad && starhalo_exchange_run(ex) == STARHALO_OK);
    for (int p = 0; p < np && !bad; p++) {
        if (!tiles[p])
            continue;
        void *ptr = NULL;
        CHECK(bad, starhalo_field_acquire(f, p, 0) == STARHALO_OK);
        CHECK(bad, starhalo_field_part_data(f, p, &ptr) == STARHALO_OK && ptr == tiles[p]);
        const starhalo_tile_t *t = &geo[p];
        const double *a = tiles[p];
        int diffs = 0;
        for (int64_t q = 0; q < t->planes; q++)
            for (int64_t z = t->ghosted.lo[2]; z < t->ghosted.hi[2]; z++)
                for (int64_t y = t->ghosted.lo[1]; y < t->ghosted.hi[1]; y++)
                    for (int64_t x = t->ghosted.lo[0]; x < t->ghosted.hi[0]; x++) {
                        const double want = inside(dc, x, y, z) ? image(q, x, y, z) : border;
                        diffs += a[starhalo_tile_offset(t, q, x, y, z)] != want;
                    }
        if (diffs)
            fprintf(stderr, "rank %d: wrapped part %d: %d cells differ from the image\n", g_rank, p,
                    diffs);
        CHECK(bad, diffs == 0);
        CHECK(bad, starhalo_field_release(f, p) == STARHALO_OK);
    }
    starhalo_exchange_destroy(ex);
    starhalo_field_destroy(f);
    starhalo_decomp_destroy(dc);
    free(geo);
    /* Still the caller's: writable and freed here (a double free would show under ASan). */
    for (int p = 0; p < np; p++) {
        if (tiles[p])
            ((double *)tiles[p])[0] = 1.0;
        free(tiles[p]);
    }
    free(tiles);
    return bad;
}

static void wrapped_user_buffer(void **state)
{
    (void)state;
    over_geos(run_wrap);
}

/* ------------------------------------------------------------------------------------------ */
/* Bad input                                                                                  */
/* ------------------------------------------------------------------------------------------ */

static void bad_input(void **state)
{
    const geo_t g = {2, {23, 19, 1}, 0, STARHALO_SPLIT_HORIZONTAL, 1};
    (void)state;
    int bad = 0;
    starhalo_decomp_t *dc = NULL;
    starhalo_field_t *f = NULL, *f2 = NULL, *w = NULL, *other = NULL;
    starhalo_bands_t *b = NULL;
    assert_status_ok(make_decomp(&g, STARHALO_STENCIL_STAR, &dc));
    const geo_t g2 = {2, {23, 19, 1}, 2, STARHALO_SPLIT_HORIZONTAL, 1};
    starhalo_decomp_t *dc2 = NULL;
    assert_status_ok(make_decomp(&g2, STARHALO_STENCIL_STAR, &dc2));
    assert_status_ok(starhalo_field_create(g_ctx, dc, NULL, STARHALO_FLOAT64, &f));
    assert_status_ok(starhalo_field_create(g_ctx, dc, NULL, STARHALO_FLOAT64, &f2));
    assert_status_ok(starhalo_field_create(g_ctx, dc2, NULL, STARHALO_FLOAT64, &other));
    const int np = starhalo_decomp_num_parts(dc);
    starhalo_tile_t t;

    /* Wrap: NULL array everywhere; a NULL tile on the last rank only; a misaligned tile. */
    CHECK(bad, starhalo_field_wrap(g_ctx, dc, NULL, STARHALO_FLOAT64, NULL, &w) ==
                   STARHALO_ERR_INVALID_ARG);
    CHECK(bad, w == NULL);
    void **tiles = calloc((size_t)np, sizeof *tiles);
    char *mem = NULL;
    CHECK(bad, starhalo_decomp_part_tile(dc, g_rank, STARHALO_FLOAT64, &t) == STARHALO_OK);
    mem = malloc((size_t)starhalo_tile_elems(&t) * sizeof(double) + 8);
    tiles[g_rank] = g_rank == g_size - 1 ? NULL : mem;
    const starhalo_status_t one = starhalo_field_wrap(g_ctx, dc, NULL, STARHALO_FLOAT64, tiles, &w);
    CHECK(bad,
          g_rank == g_size - 1 ? one == STARHALO_ERR_INVALID_ARG : one == STARHALO_ERR_MISMATCH);
    CHECK(bad, w == NULL && strlen(starhalo_last_error_message()) > 0);
    tiles[g_rank] = mem + 4;
    CHECK(bad, starhalo_field_wrap(g_ctx, dc, NULL, STARHALO_FLOAT64, tiles, &w) ==
                   STARHALO_ERR_INVALID_ARG);
    CHECK(bad, w == NULL);
    free(mem);
    free(tiles);

    /* Tile geometry and handles. */
    CHECK(bad, starhalo_field_part_tile(f, np, &t) == STARHALO_ERR_OUT_OF_RANGE);
    CHECK(bad, starhalo_field_part_tile(f, -1, &t) == STARHALO_ERR_OUT_OF_RANGE);
    CHECK(bad, starhalo_field_part_tile(f, 0, NULL) == STARHALO_ERR_INVALID_ARG);
    CHECK(bad, starhalo_field_part_tile(NULL, 0, &t) == STARHALO_ERR_OUT_OF_RANGE);
    CHECK(bad,
          starhalo_decomp_part_tile(dc, 0, (starhalo_dtype_t)5, &t) == STARHALO_ERR_INVALID_ARG);
    CHECK(bad,
          starhalo_decomp_part_tile(NULL, 0, STARHALO_FLOAT32, &t) == STARHALO_ERR_INVALID_ARG);
    starpu_data_handle_t h = NULL;
    CHECK(bad, starhalo_field_part_handle(f, np, &h) == STARHALO_ERR_OUT_OF_RANGE);
    CHECK(bad, starhalo_field_part_handle(NULL, 0, &h) == STARHALO_ERR_OUT_OF_RANGE);
    CHECK(bad, starhalo_field_mpi_flush(NULL) == STARHALO_ERR_INVALID_ARG);

    /* Bands. */
    const int reach[6] = {1, 1, 1, 1, 0, 0}, wide[6] = {1, 2, 1, 1, 0, 0},
              neg[6] = {1, 1, -1, 1, 0, 0};
    CHECK(bad, starhalo_bands_create(f, wide, 2, 0, &b) == STARHALO_ERR_INVALID_ARG && !b);
    CHECK(bad, starhalo_bands_create(f, neg, 2, 0, &b) == STARHALO_ERR_INVALID_ARG && !b);
    CHECK(bad, starhalo_bands_create(f, reach, -1, 0, &b) == STARHALO_ERR_INVALID_ARG && !b);
    CHECK(bad, starhalo_bands_create(f, reach, 2, 8u, &b) == STARHALO_ERR_INVALID_ARG && !b);
    CHECK(bad, starhalo_bands_create(NULL, reach, 2, 0, &b) == STARHALO_ERR_INVALID_ARG && !b);
    CHECK(bad, starhalo_bands_create(f, NULL, 2, 0, &b) == STARHALO_ERR_INVALID_ARG && !b);
    CHECK(bad, starhalo_bands_create(f, reach, 2, 0, NULL) == STARHALO_ERR_INVALID_ARG);
    CHECK(bad, starhalo_bands_create(f, reach, 2, 0, &b) == STARHALO_OK);
    CHECK(bad, starhalo_bands_field(b) == f && starhalo_bands_field(NULL) == NULL);
    CHECK(bad, starhalo_bands_num_pieces(b, np, STARHALO_REGION_INTERIOR) == 0);
    CHECK(bad, starhalo_bands_num_pieces(b, g_rank, (starhalo_region_kind_t)3) == 0);
    CHECK(bad, starhalo_bands_piece(b, g_rank, STARHALO_REGION_OWNED, 1) == NULL);
    CHECK(bad, starhalo_bands_piece(NULL, 0, STARHALO_REGION_OWNED, 0) == NULL);
    starhalo_insert_desc_t d;
    memset(&d, 0, sizeof d);
    int n = -1;
    CHECK(bad,
          starhalo_bands_insert(b, STARHALO_REGION_INTERIOR, NULL, &n) == STARHALO_ERR_INVALID_ARG);
    CHECK(bad, n == 0);
    CHECK(bad,
          starhalo_bands_insert(b, STARHALO_REGION_INTERIOR, &d, NULL) == STARHALO_ERR_INVALID_ARG);
    d.cl = &avg_cl;
    CHECK(bad, starhalo_bands_insert(b, STARHALO_REGION_INTERIOR, &d, NULL) ==
                   STARHALO_ERR_INVALID_ARG); /* 2 buffers, 1 given */
    d.nfields = 1;
    CHECK(bad, starhalo_bands_insert(b, STARHALO_REGION_INTERIOR, &d, NULL) ==
                   STARHALO_ERR_INVALID_ARG); /* fields NULL */
    d.fields = &f;
    CHECK(bad, starhalo_bands_insert(b, STARHALO_REGION_INTERIOR, &d, NULL) ==
                   STARHALO_ERR_INVALID_ARG); /* the banded field itself */
    d.fields = &other;
    CHECK(bad, starhalo_bands_insert(b, STARHALO_REGION_INTERIOR, &d, NULL) ==
                   STARHALO_ERR_INVALID_ARG); /* other tile geometry (2 planes) */
    d.fields = &f2;
    CHECK(bad, starhalo_bands_insert(b, (starhalo_region_kind_t)7, &d, NULL) ==
                   STARHALO_ERR_INVALID_ARG);
    d.arg_size = 8;
    CHECK(bad, starhalo_bands_insert(b, STARHALO_REGION_INTERIOR, &d, NULL) ==
                   STARHALO_ERR_INVALID_ARG); /* bytes from NULL */
    CHECK(bad, starhalo_bands_insert(NULL, STARHALO_REGION_INTERIOR, &d, NULL) ==
                   STARHALO_ERR_INVALID_ARG);
    CHECK(bad, starhalo_bands_partition(NULL) == STARHALO_ERR_INVALID_ARG);
    CHECK(bad, starhalo_bands_unpartition(NULL) == STARHALO_ERR_INVALID_ARG);
    starhalo_bands_destroy(b);
    starhalo_bands_destroy(NULL);
    starhalo_field_destroy(f);
    starhalo_field_destroy(f2);
    starhalo_field_destroy(other);
    starhalo_decomp_destroy(dc);
    starhalo_decomp_destroy(dc2);
    starhalo_mpi_assert_none_failed(bad);
}

static const struct CMUnitTest g_tests[] = {
    cmocka_unit_test(tile_geometry),
    cmocka_unit_test(user_codelet_interior_boundary),
    cmocka_unit_test(mpi_task_insert_on_tiles),
    cmocka_unit_test(wrapped_user_buffer),
    cmocka_unit_test(bad_input),
};

int main(int argc, char **argv)
{
    return compute_test_main(argc, argv, "test_app_api", g_tests, sizeof g_tests / sizeof *g_tests);
}
