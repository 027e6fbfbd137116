/* SPDX-License-Identifier: MIT */
/**
 * @file test_exchange.c
 * @brief Halo exchanges of the runtime against the global-index image oracle, on however many
 * ranks mpirun starts: forward (every slice method, halo 1-3, asymmetric halos, uneven sizes,
 * periodic, batch x channels, float32/float64, several fields in one exchange, 1 and 2 parts
 * per rank with a round-robin map), two exchanges in flight with user tasks reading the tiles
 * between begin and end, reverse SUM checked exactly and MAX, 1000 repeated
 * exchanges (no tag collision, no memory growth), inconsistent decompositions
 * (STARHALO_ERR_MISMATCH on every rank, no hang), and destroy between begin and end. Argument
 * "direct" or "starpu" picks the transport (default: the runtime's choice); a second argument
 * "quick" tests halo 2 only in the forward matrix and 300 repeated exchanges.
 *
 * The oracle never looks at the plans' neighbour lists: the value a ghost cell must hold is
 * derived from its global coordinates, the halo widths, the stencil shape and periodicity.
 * Every rank runs every test; pass/fail is agreed with MPI_Allreduce so no rank hangs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "starhalo_mpi_test.h"

#include <starhalo/starhalo_runtime.h>
#include <starhalo/starhalo_starpu.h>
#include "starhalo_mem_test.h"

static starhalo_context_t *g_ctx;
static int g_rank, g_size;
static starhalo_transport_t g_transport = STARHALO_TRANSPORT_DEFAULT;
static int g_quick; /* "quick": halo 2 only, 300 repeats (for the slow transport) */
static int g_run;   /* "run": blocking starhalo_exchange_run[_reverse] instead of submit + wait */

typedef struct cfg {
    starhalo_split_t split;
    int ppr; /* parts per rank */
    int64_t w, h;
    int halo[4]; /* minus x, plus x, minus y, plus y */
    int64_t batch, channels;
    int periodic;
    starhalo_stencil_shape_t shape;
    starhalo_dtype_t dtype;
    int nfields;
    const int64_t *xsizes; /* optional explicit part widths along x */
} cfg_t;

/* Owned value of global cell (x, y) of plane p in field k: exact in float32. */
static double owned_value(int k, int64_t x, int64_t y, int64_t p, int64_t w, int64_t h)
{
    return (double)(1 + x + w * y + w * h * p + ((int64_t)k << 20));
}

/* A ghost copy's own value in reverse tests: depends on which part holds the copy. */
static double ghost_value(int part, int64_t gx, int64_t gy, int64_t p)
{
    return (double)(1 + ((part * 131 + (gx + 100) * 7 + (gy + 100) * 13 + p * 3) % 97));
}

/* Small owned values for MAX, so that ghost copies are sometimes larger. */
static double small_owned(int64_t x, int64_t y, int64_t p)
{
    return (double)((x * 3 + y * 5 + p) % 50);
}

/*
 * The cell a ghost cell (gx, gy) of a part with owned box @p ob mirrors, or 0 if it stays
 * zero: STAR fills cells outside the owned box in one dim only; outside the domain the cell
 * wraps when periodic, else stays zero. The halo widths bound the ghosted box already.
 */
static int mirror(const cfg_t *c, const starhalo_box_t *ob, int64_t gx, int64_t gy, int64_t *sx,
                  int64_t *sy)
{
    const int outx = gx < ob->lo[0] || gx >= ob->hi[0];
    const int outy = gy < ob->lo[1] || gy >= ob->hi[1];
    if (!outx && !outy)
        return 0;
    if (c->shape == STARHALO_STENCIL_STAR && outx && outy)
        return 0;
    if ((gx < 0 || gx >= c->w || gy < 0 || gy >= c->h) && !c->periodic)
        return 0;
    *sx = (gx % c->w + c->w) % c->w;
    *sy = (gy % c->h + c->h) % c->h;
    return 1;
}

static starhalo_status_t make_decomp(const cfg_t *c, starhalo_decomp_t **d)
{
    starhalo_decomp_desc_t desc;
    memset(&desc, 0, sizeof desc);
    desc.ndims = 2;
    desc.extent[0] = c->w;
    desc.extent[1] = c->h;
    desc.batch = c->batch;
    desc.channels = c->channels;
    desc.split = c->split;
    desc.nparts = g_size * c->ppr;
    for (int i = 0; i < 4; i++)
        desc.halo[i] = c->halo[i];
    desc.shape = c->shape;
    desc.periodic[0] = desc.periodic[1] = c->periodic;
    desc.part_sizes[0] = c->xsizes;
    return starhalo_decomp_create(&desc, d);
}

/* Round-robin map for several parts per rank (exercises a non-contiguous map). */
static int *make_map(int nparts, int ppr)
{
    if (ppr == 1)
        return NULL;
    int *map = malloc(sizeof(int) * (size_t)nparts);
    for (int p = 0; p < nparts; p++)
        map[p] = p % g_size;
    return map;
}

typedef enum { FILL_FORWARD, FILL_REVERSE_SUM, FILL_REVERSE_MAX } fill_t;

/* Visit every cell of a local part's tile: (global x, y, plane, index into the tile). */
#define FOR_TILE(gb, planes, x, y, p, idx)                                                         \
    for (int64_t p = 0, gw_ = (gb).hi[0] - (gb).lo[0], gh_ = (gb).hi[1] - (gb).lo[1];              \
         p < (planes); p++)                                                                        \
        for (int64_t y = (gb).lo[1]; y < (gb).hi[1]; y++)                                          \
            for (int64_t x = (gb).lo[0], idx = p * gw_ * gh_ + (y - (gb).lo[1]) * gw_;             \
                 x < (gb).hi[0]; x++, idx++)

static int is_owned(const starhalo_box_t *ob, int64_t x, int64_t y)
{
    return x >= ob->lo[0] && x < ob->hi[0] && y >= ob->lo[1] && y < ob->hi[1];
}

/* Acquire local part @p part (for writing if @p write): its data, owned and ghosted boxes.
 * Release it with starhalo_field_release(). */
static void *open_tile(starhalo_field_t *f, int part, int write, starhalo_box_t *ob,
                       starhalo_box_t *gb)
{
    void *t = NULL;
    assert_status_ok(starhalo_field_acquire(f, part, write));
    assert_status_ok(starhalo_field_part_data(f, part, &t));
    const starhalo_part_plan_t *pl = starhalo_field_part_plan(f, part);
    *ob = starhalo_part_plan_owned(pl);
    *gb = starhalo_part_plan_ghosted(pl);
    return t;
}

static void fill(const cfg_t *c, starhalo_field_t *f, int k, fill_t mode, int iter)
{
    const int n = starhalo_field_local_parts(f, NULL);
    int parts[64];
    starhalo_field_local_parts(f, parts);
    const int64_t planes = c->batch * c->channels;
    for (int i = 0; i < n; i++) {
        starhalo_box_t ob, gb;
        void *t = open_tile(f, parts[i], 1, &ob, &gb);
        FOR_TILE(gb, planes, x, y, p, idx)
        {
            double v;
            if (is_owned(&ob, x, y))
                v = mode == FILL_REVERSE_MAX ? small_owned(x, y, p)
                                             : owned_value(k, x, y, p, c->w, c->h) + iter;
            else
                v = mode == FILL_FORWARD ? 0.0 : ghost_value(parts[i], x, y, p);
            starhalo_test_put(t, c->dtype, idx, v);
        }
        assert_status_ok(starhalo_field_release(f, parts[i]));
    }
}

static int report(int bad, const char *what, int part, int64_t x, int64_t y, int64_t p, double got,
                  double want)
{
    if (bad < 3)
        print_error("rank %d %s: part %d cell (%lld,%lld) plane %lld: got %g want %g\n", g_rank,
                    what, part, (long long)x, (long long)y, (long long)p, got, want);
    return bad + 1;
}

/* After a forward exchange: owned cells unchanged, ghosts per the oracle. */
static int check_forward(const cfg_t *c, starhalo_field_t *f, int k, int iter)
{
    int bad = 0, parts[64];
    const int n = starhalo_field_local_parts(f, parts);
    const int64_t planes = c->batch * c->channels;
    for (int i = 0; i < n; i++) {
        starhalo_box_t ob, gb;
        void *t = open_tile(f, parts[i], 0, &ob, &gb);
        FOR_TILE(gb, planes, x, y, p, idx)
        {
            int64_t sx = x, sy = y;
            double want = 0.0;
            if (is_owned(&ob, x, y) || mirror(c, &ob, x, y, &sx, &sy))
                want = owned_value(k, sx, sy, p, c->w, c->h) + iter;
            const double got = starhalo_test_get(t, c->dtype, idx);
            if (got != want)
                bad = report(bad, "forward", parts[i], x, y, p, got, want);
        }
        assert_status_ok(starhalo_field_release(f, parts[i]));
    }
    return bad;
}

/*
 * Expected owned values after a reverse exchange, computed from the global image: for every
 * part of the whole domain (owned box from the decomposition, ghosted box = owned grown by
 * the halo widths) and each of its ghost cells, find the owned cell it mirrors; if that cell
 * is local, combine the copy's value into it.
 */
static int check_reverse(const cfg_t *c, const starhalo_decomp_t *d, starhalo_field_t *f,
                         starhalo_reduce_op_t op)
{
    int bad = 0, parts[64];
    const int n = starhalo_field_local_parts(f, parts);
    const int64_t planes = c->batch * c->channels;
    for (int i = 0; i < n; i++) {
        starhalo_box_t ob, gb;
        void *t = open_tile(f, parts[i], 0, &ob, &gb);
        const int64_t ow = ob.hi[0] - ob.lo[0], oh = ob.hi[1] - ob.lo[1];
        double *want = malloc(sizeof(double) * (size_t)(ow * oh * planes));
        for (int64_t p = 0; p < planes; p++)
            for (int64_t y = ob.lo[1]; y < ob.hi[1]; y++)
                for (int64_t x = ob.lo[0]; x < ob.hi[0]; x++)
                    want[(p * oh + y - ob.lo[1]) * ow + x - ob.lo[0]] =
                        op == STARHALO_REDUCE_MAX ? small_owned(x, y, p)
                                                  : owned_value(0, x, y, p, c->w, c->h);
        for (int q = 0; q < starhalo_decomp_num_parts(d); q++) {
            const starhalo_box_t qb = starhalo_decomp_owned_box(d, q);
            for (int64_t p = 0; p < planes; p++)
                for (int64_t y = qb.lo[1] - c->halo[2]; y < qb.hi[1] + c->halo[3]; y++)
                    for (int64_t x = qb.lo[0] - c->halo[0]; x < qb.hi[0] + c->halo[1]; x++) {
                        int64_t sx, sy;
                        if (!mirror(c, &qb, x, y, &sx, &sy) || !is_owned(&ob, sx, sy))
                            continue;
                        double *w = &want[(p * oh + sy - ob.lo[1]) * ow + sx - ob.lo[0]];
                        const double g = ghost_value(q, x, y, p);
                        *w = op == STARHALO_REDUCE_MAX ? fmax(*w, g) : *w + g;
                    }
        }
        FOR_TILE(gb, planes, x, y, p, idx)
        {
            const double got = starhalo_test_get(t, c->dtype, idx);
            const double w = is_owned(&ob, x, y)
                                 ? want[(p * oh + y - ob.lo[1]) * ow + x - ob.lo[0]]
                                 : ghost_value(parts[i], x, y, p); /* ghosts unchanged */
            if (got != w)
                bad = report(bad, "reverse", parts[i], x, y, p, got, w);
        }
        free(want);
        assert_status_ok(starhalo_field_release(f, parts[i]));
    }
    return bad;
}

/* RUN_DESTROY_EARLY: forward, but destroy the exchange between begin and end (destroy
 * submits the end itself and waits). */
typedef enum { RUN_FORWARD, RUN_SUM, RUN_MAX, RUN_DESTROY_EARLY } run_t;

static void run_cfg(const cfg_t *c, run_t run)
{
    starhalo_decomp_t *d = NULL;
    assert_status_ok(make_decomp(c, &d));
    int *map = make_map(g_size * c->ppr, c->ppr);
    starhalo_field_t *fields[4] = {NULL};
    for (int k = 0; k < c->nfields; k++)
        assert_status_ok(starhalo_field_create(g_ctx, d, map, c->dtype, &fields[k]));
    starhalo_exchange_t *ex = NULL;
    assert_status_ok(starhalo_exchange_create(g_ctx, fields, c->nfields, g_transport, &ex));
    int bad = 0;
    if (run == RUN_FORWARD || run == RUN_DESTROY_EARLY) {
        for (int k = 0; k < c->nfields; k++)
            fill(c, fields[k], k, FILL_FORWARD, 0);
        assert_status_ok(starhalo_exchange_begin(ex));
        if (run == RUN_DESTROY_EARLY) {
            starhalo_exchange_destroy(ex);
            ex = NULL;
        } else if (g_run) {
            assert_status_ok(starhalo_exchange_end(ex));
            assert_status_ok(starhalo_exchange_wait(ex));
            /* Again, blocking: the tiles are idle now, so this runs inline where it can. */
            for (int k = 0; k < c->nfields; k++)
                fill(c, fields[k], k, FILL_FORWARD, 1);
            assert_status_ok(starhalo_exchange_run(ex));
        } else {
            assert_status_ok(starhalo_exchange_end(ex));
            assert_status_ok(starhalo_exchange_wait(ex));
        }
        for (int k = 0; k < c->nfields; k++)
            bad += check_forward(c, fields[k], k, g_run && run == RUN_FORWARD ? 1 : 0);
    } else {
        const starhalo_reduce_op_t op = run == RUN_SUM ? STARHALO_REDUCE_SUM : STARHALO_REDUCE_MAX;
        fill(c, fields[0], 0, run == RUN_SUM ? FILL_REVERSE_SUM : FILL_REVERSE_MAX, 0);
        if (g_run) {
            assert_status_ok(starhalo_exchange_run_reverse(ex, op));
        } else {
            assert_status_ok(starhalo_exchange_submit_reverse(ex, op));
            assert_status_ok(starhalo_exchange_wait(ex));
        }
        bad += check_reverse(c, d, fields[0], op);
    }
    starhalo_exchange_destroy(ex);
    for (int k = 0; k < c->nfields; k++)
        starhalo_field_destroy(fields[k]);
    free(map);
    starhalo_decomp_destroy(d);
    char what[160];
    snprintf(what, sizeof what, "%s %s ppr %d %lldx%lld halo %d,%d,%d,%d periodic %d %s",
             run == RUN_FORWARD         ? "forward"
             : run == RUN_DESTROY_EARLY ? "destroy between begin and end"
             : run == RUN_SUM           ? "reverse sum"
                                        : "reverse max",
             starhalo_split_name(c->split), c->ppr, (long long)c->w, (long long)c->h, c->halo[0],
             c->halo[1], c->halo[2], c->halo[3], c->periodic,
             c->shape == STARHALO_STENCIL_BOX ? "box" : "star");
    starhalo_mpi_assert_all_ok(bad, what);
}

static int is_square(int n)
{
    int s = (int)(sqrt((double)n) + 0.5);
    return s * s == n;
}

static cfg_t base_cfg(starhalo_split_t split, int ppr, int halo)
{
    cfg_t c = {split,
               ppr,
               37,
               29,
               {halo, halo, halo, halo},
               2,
               3,
               0,
               STARHALO_STENCIL_STAR,
               STARHALO_FLOAT32,
               2,
               NULL};
    if (split == STARHALO_SPLIT_SQUARE)
        c.shape = STARHALO_STENCIL_BOX;
    return c;
}

/* Every slice method x halo 1-3 x parts per rank 1-2 x periodic, two fields, batch 2 x 3
 * channels, uneven 37 x 29 image. */
static void test_forward_matrix(void **state)
{
    (void)state;
    const starhalo_split_t splits[3] = {STARHALO_SPLIT_VERTICAL, STARHALO_SPLIT_HORIZONTAL,
                                        STARHALO_SPLIT_SQUARE};
    for (int s = 0; s < 3; s++)
        for (int ppr = 1; ppr <= 2; ppr++) {
            if (splits[s] == STARHALO_SPLIT_SQUARE && !is_square(g_size * ppr))
                continue;
            for (int halo = g_quick ? 2 : 1; halo <= (g_quick ? 2 : 3); halo++)
                for (int per = 0; per <= 1; per++) {
                    cfg_t c = base_cfg(splits[s], ppr, halo);
                    c.periodic = per;
                    run_cfg(&c, RUN_FORWARD);
                }
        }
}

/* Square split with a STAR stencil: corner ghosts must stay zero. */
static void test_forward_square_star(void **state)
{
    (void)state;
    const int ppr = is_square(g_size) ? 1 : 2;
    if (!is_square(g_size * ppr))
        skip();
    cfg_t c = base_cfg(STARHALO_SPLIT_SQUARE, ppr, 2);
    c.shape = STARHALO_STENCIL_STAR;
    c.periodic = 1;
    run_cfg(&c, RUN_FORWARD);
}

/* float64, one field, asymmetric halos (some messages empty), explicit uneven widths. */
static void test_forward_float64_asymmetric(void **state)
{
    (void)state;
    const int nparts = g_size * 2;
    int64_t sizes[16];
    int64_t sum = 0;
    for (int p = 0; p < nparts; p++)
        sum += sizes[p] = 3 + (p * 5) % 4;
    cfg_t c = base_cfg(STARHALO_SPLIT_VERTICAL, 2, 0);
    c.w = sum;
    c.xsizes = sizes;
    c.halo[0] = 1;
    c.halo[1] = 3;
    c.halo[2] = 2;
    c.halo[3] = 0;
    c.dtype = STARHALO_FLOAT64;
    c.nfields = 1;
    c.batch = 1;
    c.channels = 5;
    for (c.periodic = 0; c.periodic <= 1; c.periodic++)
        run_cfg(&c, RUN_FORWARD);
}

/* Destroying between begin and end completes the exchange (ghosts per the oracle), with a
 * local and a remote neighbour per part; no use-after-free of the message buffers. */
static void test_destroy_between_begin_and_end(void **state)
{
    (void)state;
    cfg_t c = base_cfg(STARHALO_SPLIT_VERTICAL, 2, 2);
    c.periodic = 1;
    run_cfg(&c, RUN_DESTROY_EARLY);
}

static void test_reverse_sum(void **state)
{
    (void)state;
    const starhalo_split_t splits[3] = {STARHALO_SPLIT_VERTICAL, STARHALO_SPLIT_HORIZONTAL,
                                        STARHALO_SPLIT_SQUARE};
    for (int s = 0; s < 3; s++)
        for (int ppr = 1; ppr <= 2; ppr++)
            for (int per = 0; per <= 1; per++) {
                if (splits[s] == STARHALO_SPLIT_SQUARE && !is_square(g_size * ppr))
                    continue;
                cfg_t c = base_cfg(splits[s], ppr, 1 + (s + ppr) % 3);
                c.nfields = 1;
                c.periodic = per;
                c.dtype = per ? STARHALO_FLOAT64 : STARHALO_FLOAT32;
                run_cfg(&c, RUN_SUM);
            }
}

static void test_reverse_max(void **state)
{
    (void)state;
    const int ppr = is_square(g_size) ? 1 : 2;
    cfg_t c =
        base_cfg(is_square(g_size * ppr) ? STARHALO_SPLIT_SQUARE : STARHALO_SPLIT_VERTICAL, ppr, 2);
    c.nfields = 1;
    c.periodic = 1;
    run_cfg(&c, RUN_MAX);
}

/* A user task reading a tile between begin and end: counts the non-zero cells it sees. */
static void count_nonzero_cpu(void *buffers[], void *arg)
{
    const float *t = (const float *)STARPU_VECTOR_GET_PTR(buffers[0]);
    const unsigned n = STARPU_VECTOR_GET_NX(buffers[0]);
    int64_t *out = arg, c = 0;
    for (unsigned i = 0; i < n; i++)
        c += t[i] != 0.0f;
    *out = c;
}

static struct starpu_codelet count_cl = {
    .cpu_funcs = {count_nonzero_cpu},
    .nbuffers = 1,
    .modes = {STARPU_R},
    .name = "test_count_nonzero",
};

/* Two exchanges in flight at once (begin 1, begin 2, user tasks, end 2, end 1) on two fields,
 * with user tasks reading every tile between begin and end: the user tasks must see the owned
 * cells (ghosts still zero or already filled: at least the owned count), and both fields must
 * end up exchanged. */
static void test_interleaved(void **state)
{
    (void)state;
    cfg_t c = base_cfg(STARHALO_SPLIT_VERTICAL, 2, 2);
    c.nfields = 1;
    c.periodic = 1;
    starhalo_decomp_t *d = NULL;
    assert_status_ok(make_decomp(&c, &d));
    starhalo_field_t *f[2] = {NULL, NULL};
    starhalo_exchange_t *ex[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++) {
        assert_status_ok(starhalo_field_create(g_ctx, d, NULL, c.dtype, &f[k]));
        assert_status_ok(starhalo_exchange_create(g_ctx, &f[k], 1, g_transport, &ex[k]));
        fill(&c, f[k], k, FILL_FORWARD, 0);
    }
    int parts[64], bad = 0;
    const int n = starhalo_field_local_parts(f[0], parts);
    int64_t seen[2][64];
    for (int rep = 0; rep < 3; rep++) {
        assert_status_ok(starhalo_exchange_begin(ex[0]));
        assert_status_ok(starhalo_exchange_begin(ex[1]));
        for (int k = 0; k < 2; k++)
            for (int i = 0; i < n; i++) {
                starpu_data_handle_t h;
                assert_status_ok(starhalo_field_part_handle(f[k], parts[i], &h));
                assert_int_equal(starpu_task_insert(&count_cl, STARPU_R, h, STARPU_CL_ARGS_NFREE,
                                                    &seen[k][i], sizeof(int64_t), 0),
                                 0);
            }
        assert_status_ok(starhalo_exchange_end(ex[1]));
        assert_status_ok(starhalo_exchange_end(ex[0]));
    }
    assert_status_ok(starhalo_context_wait_all(g_ctx));
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < n; i++) {
            const starhalo_box_t ob =
                starhalo_part_plan_owned(starhalo_field_part_plan(f[k], parts[i]));
            const int64_t owned = starhalo_box_volume(&ob) * c.batch * c.channels;
            if (seen[k][i] < owned) {
                print_error("rank %d field %d part %d: user task saw %lld non-zero cells < %lld\n",
                            g_rank, k, parts[i], (long long)seen[k][i], (long long)owned);
                bad++;
            }
        }
        bad += check_forward(&c, f[k], k, 0);
        starhalo_exchange_destroy(ex[k]);
        starhalo_field_destroy(f[k]);
    }
    starhalo_decomp_destroy(d);
    starhalo_mpi_assert_all_ok(bad, "interleaved exchanges with user tasks");
}

static void busy_cpu(void *buffers[], void *arg)
{
    (void)buffers;
    (void)arg;
    const double t0 = starpu_timing_now(); /* keep the tile busy for 3 ms */
    while (starpu_timing_now() - t0 < 3000.0)
        ;
}

static struct starpu_codelet busy_cl = {
    .cpu_funcs = {busy_cpu},
    .nbuffers = 1,
    .modes = {STARPU_R},
    .name = "test_busy",
};

/* Ranks taking different paths in one exchange: odd ranks build per-part tasks
 * (STARHALO_RANK_TASK_BYTES=0 at create) and keep a tile busy before each blocking run (so
 * they fall back to tasks), even ranks use rank tasks and run inline. Forward and reverse SUM
 * must match the oracle, with no deadlock. */
static void test_mixed_paths(void **state)
{
    (void)state;
    if (g_transport != STARHALO_TRANSPORT_DIRECT_MPI)
        skip(); /* rank tasks and inline runs belong to the direct transport */
    cfg_t c = base_cfg(STARHALO_SPLIT_VERTICAL, 2, 2);
    c.nfields = 1;
    c.periodic = 1;
    const int odd = g_rank % 2;
    starhalo_decomp_t *d = NULL;
    assert_status_ok(make_decomp(&c, &d));
    starhalo_field_t *f = NULL;
    assert_status_ok(starhalo_field_create(g_ctx, d, NULL, c.dtype, &f));
    const char *old = getenv("STARHALO_RANK_TASK_BYTES");
    char *saved = old ? strdup(old) : NULL;
    setenv("STARHALO_RANK_TASK_BYTES", odd ? "0" : "1048576", 1);
    starhalo_exchange_t *ex = NULL;
    const starhalo_status_t st = starhalo_exchange_create(g_ctx, &f, 1, g_transport, &ex);
    if (saved)
        setenv("STARHALO_RANK_TASK_BYTES", saved, 1);
    else
        unsetenv("STARHALO_RANK_TASK_BYTES");
    free(saved);
    assert_status_ok(st);
    int parts[64], bad = 0;
    starhalo_field_local_parts(f, parts);
    starpu_data_handle_t h;
    assert_status_ok(starhalo_field_part_handle(f, parts[0], &h));
    for (int rep = 0; rep < 3; rep++) {
        fill(&c, f, 0, FILL_FORWARD, rep);
        if (odd)
            assert_int_equal(starpu_task_insert(&busy_cl, STARPU_R, h, 0), 0);
        assert_status_ok(starhalo_exchange_run(ex));
        bad += check_forward(&c, f, 0, rep);
    }
    fill(&c, f, 0, FILL_REVERSE_SUM, 0);
    if (odd)
        assert_int_equal(starpu_task_insert(&busy_cl, STARPU_R, h, 0), 0);
    assert_status_ok(starhalo_exchange_run_reverse(ex, STARHALO_REDUCE_SUM));
    bad += check_reverse(&c, d, f, STARHALO_REDUCE_SUM);
    starhalo_exchange_destroy(ex);
    starhalo_field_destroy(f);
    starhalo_decomp_destroy(d);
    starhalo_mpi_assert_all_ok(bad, "ranks on different exchange paths");
}

/* Memory the process holds (RSS, or the live heap under ASan: starhalo_mem_test.h), pages. */
static long mem_pages(void)
{
    return starhalo_test_mem_kib() / 4;
}

/* STARHALO_TEST_LEAK_BYTES=n: leak n bytes (touched) per exchange, to show the check fails. */
static void leak_for_check(char ***blocks, size_t *n)
{
    const char *env = getenv("STARHALO_TEST_LEAK_BYTES");
    const size_t bytes = env ? (size_t)strtoull(env, NULL, 10) : 0;
    char **grown = bytes ? realloc(*blocks, (*n + 1) * sizeof **blocks) : NULL;
    if (!grown)
        return;
    *blocks = grown;
    if ((grown[*n] = malloc(bytes)) != NULL)
        memset(grown[(*n)++], 1, bytes);
}

/* 1000 exchanges on one exchange object (tags reused every call), values changing every 100
 * calls so that a message matched to the wrong receive would show; then memory (RSS, or the
 * live heap under ASan) must not grow (beyond a small slack) between call 100 and call 1000. */
static void test_repeated(void **state)
{
    (void)state;
    cfg_t c = base_cfg(STARHALO_SPLIT_VERTICAL, 2, 1);
    c.w = 16 * g_size;
    c.h = 12;
    c.nfields = 1;
    c.batch = 1;
    c.channels = 1;
    c.periodic = 1;
    starhalo_decomp_t *d = NULL;
    assert_status_ok(make_decomp(&c, &d));
    int *map = make_map(g_size * c.ppr, c.ppr);
    starhalo_field_t *f = NULL;
    assert_status_ok(starhalo_field_create(g_ctx, d, map, c.dtype, &f));
    starhalo_exchange_t *ex = NULL;
    assert_status_ok(starhalo_exchange_create(g_ctx, &f, 1, g_transport, &ex));
    int bad = 0;
    long mem0 = 0;
    char **leaked = NULL;
    size_t nleaked = 0;
    const int iters = g_quick ? 300 : 1000;
    for (int it = 0; it < iters; it++) {
        if (it % 100 == 0) {
            fill(&c, f, 0, FILL_FORWARD, it);
            if (it == 100)
                mem0 = mem_pages();
        }
        if (g_run && it % 2) /* right after a submit: usually falls back to tasks */
            assert_status_ok(starhalo_exchange_run(ex));
        else
            assert_status_ok(starhalo_exchange_submit(ex));
        leak_for_check(&leaked, &nleaked);
        if (it % 100 == 99) {
            assert_status_ok(starhalo_exchange_wait(ex));
            bad += check_forward(&c, f, 0, it - 99);
        }
    }
    /* Create/destroy cycles must give tags back too. */
    for (int i = 0; i < 50; i++) {
        starhalo_exchange_t *e2 = NULL;
        assert_status_ok(starhalo_exchange_create(g_ctx, &f, 1, g_transport, &e2));
        assert_status_ok(starhalo_exchange_submit(e2));
        starhalo_exchange_destroy(e2);
    }
    const long grown = mem_pages() - mem0;
    const long slack = 2048; /* pages: 8 MiB, StarPU's own pools settle in the first calls */
    if (grown > slack) {
        print_error("rank %d: " STARHALO_TEST_MEM_WHAT " grew by %ld pages after %d exchanges\n",
                    g_rank, grown, iters);
        bad++;
    }
    for (size_t i = 0; i < nleaked; i++)
        free(leaked[i]);
    free(leaked);
    starhalo_exchange_destroy(ex);
    starhalo_field_destroy(f);
    free(map);
    starhalo_decomp_destroy(d);
    starhalo_mpi_assert_all_ok(bad, "repeated exchanges");
}

/* Rank 0 passes a different width: every rank must get STARHALO_ERR_MISMATCH (no hang); a
 * part mapped outside the communicator is INVALID_ARG on every rank that passes it. */
static void test_mismatch(void **state)
{
    (void)state;
    if (g_size < 2)
        skip();
    cfg_t c = base_cfg(STARHALO_SPLIT_VERTICAL, 1, 1);
    if (g_rank == 0)
        c.w += 1;
    starhalo_decomp_t *d = NULL;
    assert_status_ok(make_decomp(&c, &d));
    starhalo_field_t *f = NULL;
    const starhalo_status_t st = starhalo_field_create(g_ctx, d, NULL, c.dtype, &f);
    starhalo_mpi_assert_all_ok(st != STARHALO_ERR_MISMATCH || f != NULL, "mismatch on every rank");
    starhalo_decomp_destroy(d);

    c = base_cfg(STARHALO_SPLIT_VERTICAL, 1, 1);
    assert_status_ok(make_decomp(&c, &d));
    int map[64];
    for (int p = 0; p < g_size; p++)
        map[p] = p;
    if (g_rank == 1)
        map[0] = g_size; /* out of range on rank 1 only */
    const starhalo_status_t st2 = starhalo_field_create(g_ctx, d, map, c.dtype, &f);
    const starhalo_status_t want = g_rank == 1 ? STARHALO_ERR_INVALID_ARG : STARHALO_ERR_MISMATCH;
    starhalo_mpi_assert_all_ok(st2 != want || f != NULL, "bad map rejected on every rank");
    starhalo_decomp_destroy(d);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        g_transport = !strcmp(argv[1], "direct") ? STARHALO_TRANSPORT_DIRECT_MPI
                                                 : STARHALO_TRANSPORT_STARPU_MPI;
    for (int i = 2; i < argc; i++) {
        g_quick |= !strcmp(argv[i], "quick");
        g_run |= !strcmp(argv[i], "run");
    }
    starhalo_context_conf_t conf;
    starhalo_context_conf_init(&conf);
    if (starhalo_context_create(&conf, &g_ctx) != STARHALO_OK) {
        fprintf(stderr, "test_exchange: context: %s\n", starhalo_last_error_message());
        return 1;
    }
    g_rank = starhalo_context_rank(g_ctx);
    g_size = starhalo_context_size(g_ctx);
    if (g_rank != 0 && !freopen("/dev/null", "w", stdout)) /* rank 0 prints the report */
        fprintf(stderr, "test_exchange: rank %d could not silence stdout\n", g_rank);
    if (getenv("STARHALO_TEST_LEAK_BYTES"))
        cmocka_set_test_filter("test_repeated");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_matrix),
        cmocka_unit_test(test_forward_square_star),
        cmocka_unit_test(test_forward_float64_asymmetric),
        cmocka_unit_test(test_reverse_sum),
        cmocka_unit_test(test_reverse_max),
        cmocka_unit_test(test_repeated),
        cmocka_unit_test(test_interleaved),
        cmocka_unit_test(test_mixed_paths),
        cmocka_unit_test(test_mismatch),
        cmocka_unit_test(test_destroy_between_begin_and_end),
    };
    const int failed = cmocka_run_group_tests_name("runtime exchange", tests, NULL, NULL);
    starhalo_context_destroy(g_ctx);
    return failed ? 1 : 0;
}
