/* SPDX-License-Identifier: MIT */
/* Tests the distributed Jacobi task graph (starhalo_stencil_*) on 1, 2 or 4 ranks:
 * - the gathered field after 6 steps equals, BITWISE, a naive single-process Jacobi written
 *   here (same summation order as the documented kernel contract) for the 5- and 9-point
 *   stencils, float32 and float64, every slice method, parts-per-rank 1 and 2, task and BSP
 *   modes, automatic and 3 interior bands, merged and split boundary strips, step windows
 *   1, 2 and unlimited, on an uneven
 *   37 x 29 domain with Dirichlet values in the image-border ghosts;
 * - the residual reduction equals the naive sum of squared differences (rel. error 1e-12);
 * - bad input: a 9-point stencil on a STAR decomposition, halo 0, in == out, mismatched
 *   dtypes: STARHALO_ERR_INVALID_ARG.
 * Every rank runs the group; each check is reduced over ranks. */
#include "compute_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <starhalo/starhalo_starpu.h>

#define W     37
#define H     29
#define STEPS 6

starhalo_context_t *g_ctx;
int g_rank, g_size;

/* Dirichlet values: distinct per edge so a wrong ghost shows up. */
static double bc(int64_t x, int64_t y)
{
    if (y < 0)
        return 1.0 + 0.01 * (double)x;
    if (y >= H)
        return 0.5;
    if (x < 0)
        return 0.25 + 0.001 * (double)y;
    return -0.75;
}

/* Initial owned values: a deterministic pattern (not zero, so the first step matters). */
static double init(int64_t x, int64_t y)
{
    return (double)((x * 7 + y * 13) % 11) / 11.0;
}

/* Naive single-process Jacobi on the (W+2) x (H+2) ghosted grid, in T. */
#define DEFINE_NAIVE(T, SUF)                                                                       \
    static void naive_##SUF(int kind, int steps, T *result)                                        \
    {                                                                                              \
        const int gw = W + 2, gh = H + 2;                                                          \
        T *a = malloc(sizeof(T) * gw * gh), *b = malloc(sizeof(T) * gw * gh);                      \
        for (int y = -1; y <= H; y++)                                                              \
            for (int x = -1; x <= W; x++) {                                                        \
                const int in = x >= 0 && x < W && y >= 0 && y < H;                                 \
                a[(y + 1) * gw + x + 1] = b[(y + 1) * gw + x + 1] =                                \
                    (T)(in ? init(x, y) : bc(x, y));                                               \
            }                                                                                      \
        for (int s = 0; s < steps; s++) {                                                          \
            for (int y = 0; y < H; y++)                                                            \
                for (int x = 0; x < W; x++) {                                                      \
                    const T *c = &a[(y + 1) * gw + x + 1];                                         \
                    const T faces = ((c[-gw] + c[gw]) + c[1]) + c[-1];                             \
                    const T corners = ((c[-gw + 1] + c[-gw - 1]) + c[gw + 1]) + c[gw - 1];         \
                    b[(y + 1) * gw + x + 1] =                                                      \
                        kind == 5 ? (T)0.25 * faces : ((T)4 * faces + corners) / (T)20;            \
                }                                                                                  \
            T *t = a;                                                                              \
            a = b;                                                                                 \
            b = t;                                                                                 \
        }                                                                                          \
        for (int y = 0; y < H; y++)                                                                \
            for (int x = 0; x < W; x++)                                                            \
                result[y * W + x] = a[(y + 1) * gw + x + 1];                                       \
        free(a);                                                                                   \
        free(b);                                                                                   \
    }
DEFINE_NAIVE(float, f32)
DEFINE_NAIVE(double, f64)

static starhalo_status_t make_decomp(starhalo_split_t split, int nparts, int halo,
                                     starhalo_stencil_shape_t shape, starhalo_decomp_t **out)
{
    starhalo_decomp_desc_t d;
    memset(&d, 0, sizeof d);
    d.ndims = 2;
    d.extent[0] = W;
    d.extent[1] = H;
    d.extent[2] = 1;
    d.split = split;
    d.nparts = nparts;
    for (int s = 0; s < 4; s++)
        d.halo[s] = halo;
    d.shape = shape;
    return starhalo_decomp_create(&d, out);
}

static starhalo_status_t fill(starhalo_field_t *f, starhalo_dtype_t dt)
{
    int ids[16];
    const int n = starhalo_field_local_parts(f, ids);
    for (int i = 0; i < n; i++) {
        void *p = NULL;
        STARHALO_CHECK(starhalo_field_acquire(f, ids[i], 1));
        STARHALO_CHECK(starhalo_field_part_data(f, ids[i], &p));
        const starhalo_box_t g = starhalo_part_plan_ghosted(starhalo_field_part_plan(f, ids[i]));
        const int64_t gw = g.hi[0] - g.lo[0];
        for (int64_t y = g.lo[1]; y < g.hi[1]; y++)
            for (int64_t x = g.lo[0]; x < g.hi[0]; x++) {
                const int in = x >= 0 && x < W && y >= 0 && y < H;
                /* Ghosts inside the image get garbage: the exchange must overwrite them. */
                const double v = in                                         ? init(x, y)
                                 : (x >= -1 && x <= W && y >= -1 && y <= H) ? bc(x, y)
                                                                            : 0.0;
                const int64_t k = (y - g.lo[1]) * gw + x - g.lo[0];
                if (dt == STARHALO_FLOAT32)
                    ((float *)p)[k] = (float)v;
                else
                    ((double *)p)[k] = v;
            }
        STARHALO_CHECK(starhalo_field_release(f, ids[i]));
    }
    return STARHALO_OK;
}

typedef struct cfg {
    int kind;
    starhalo_dtype_t dtype;
    starhalo_split_t split;
    int ppr;
    starhalo_step_mode_t mode;
    int bands;
    int split_strips;
    int window;
} cfg_t;

/* Run STEPS steps of one configuration; on rank 0 compare with the naive result. */
static int run_cfg(const cfg_t *c, const void *expect, int with_residual)
{
    int bad = 0;
    starhalo_decomp_t *d = NULL;
    starhalo_field_t *f[2] = {NULL, NULL};
    starhalo_exchange_t *ex[2] = {NULL, NULL};
    starhalo_stencil_t *st[2] = {NULL, NULL};
    const starhalo_compute_conf_t conf = {
        .bands = c->bands, .split_strips = c->split_strips, .window = c->window};
    CHECK(bad, make_decomp(c->split, g_size * c->ppr, 1,
                           c->kind == 9 ? STARHALO_STENCIL_BOX : STARHALO_STENCIL_STAR,
                           &d) == STARHALO_OK);
    for (int b = 0; b < 2 && !bad; b++) {
        CHECK(bad, starhalo_field_create(g_ctx, d, NULL, c->dtype, &f[b]) == STARHALO_OK);
        CHECK(bad, !bad && fill(f[b], c->dtype) == STARHALO_OK);
        CHECK(bad, !bad && starhalo_exchange_create(g_ctx, &f[b], 1, STARHALO_TRANSPORT_DEFAULT,
                                                    &ex[b]) == STARHALO_OK);
    }
    for (int b = 0; b < 2 && !bad; b++)
        CHECK(bad, starhalo_stencil_create(g_ctx, f[b], f[1 - b], ex[b],
                                           (starhalo_stencil_kind_t)c->kind, &conf,
                                           &st[b]) == STARHALO_OK);
    if (bad)
        fprintf(stderr, "rank %d: setup: %s\n", g_rank, starhalo_last_error_message());
    for (int s = 0; s < STEPS && !bad; s++)
        CHECK(bad, starhalo_stencil_step(st[s % 2], c->mode) == STARHALO_OK);
    const size_t es = starhalo_dtype_size(c->dtype);
    void *got = calloc(W * H, es);
    if (!bad)
        CHECK(bad, starhalo_field_gather(g_ctx, f[STEPS % 2], 0, got) == STARHALO_OK);
    if (!bad && g_rank == 0) {
        int diffs = 0;
        for (int i = 0; i < W * H; i++)
            diffs += memcmp((char *)got + i * es, (const char *)expect + i * es, es) != 0;
        if (diffs)
            fprintf(stderr,
                    "kind %d dtype %d split %s ppr %d mode %d bands %d strips %d window %d: %d "
                    "cells differ\n",
                    c->kind, (int)c->dtype, starhalo_split_name(c->split), c->ppr, (int)c->mode,
                    c->bands, c->split_strips, c->window, diffs);
        CHECK(bad, diffs == 0);
    }
    /* Agree before more collectives, so a failure on rank 0 cannot desynchronise ranks. */
    if (with_residual && !compute_test_any(bad)) {
        /* Naive residual: gather the previous field too and sum on rank 0. */
        void *prev = calloc(W * H, es);
        double s = -1.0;
        CHECK(bad, starhalo_field_gather(g_ctx, f[1 - STEPS % 2], 0, prev) == STARHALO_OK);
        CHECK(bad, starhalo_field_sqdiff(g_ctx, f[STEPS % 2], f[1 - STEPS % 2], &s) == STARHALO_OK);
        if (g_rank == 0 && !bad) {
            double ref = 0.0;
            for (int i = 0; i < W * H; i++) {
                const double dv = c->dtype == STARHALO_FLOAT32
                                      ? (double)((float *)got)[i] - (double)((float *)prev)[i]
                                      : ((double *)got)[i] - ((double *)prev)[i];
                ref += dv * dv;
            }
            CHECK(bad, ref > 0.0 && fabs(s - ref) <= 1e-12 * ref);
        }
        free(prev);
    }
    free(got);
    for (int b = 0; b < 2; b++)
        starhalo_stencil_destroy(st[b]);
    for (int b = 0; b < 2; b++) {
        starhalo_exchange_destroy(ex[b]);
        starhalo_field_destroy(f[b]);
    }
    starhalo_decomp_destroy(d);
    return bad;
}

static void distributed_equals_naive(void **state)
{
    (void)state;
    int bad = 0, runs = 0;
    for (int kind = 5; kind <= 9; kind += 4)
        for (int dt = 0; dt < 2; dt++) {
            const starhalo_dtype_t dtype = dt ? STARHALO_FLOAT64 : STARHALO_FLOAT32;
            void *expect = malloc(W * H * starhalo_dtype_size(dtype));
            if (dt)
                naive_f64(kind, STEPS, expect);
            else
                naive_f32(kind, STEPS, expect);
            for (int s = 0; s < 3; s++)
                for (int ppr = 1; ppr <= 2; ppr++) {
                    if (compute_test_splits[s] == STARHALO_SPLIT_SQUARE &&
                        !compute_test_is_square(g_size * ppr))
                        continue;
                    for (int mode = 0; mode < 2; mode++) {
                        /* Vary the band count and strip shape across the task-mode runs. */
                        const cfg_t c = {kind,
                                         dtype,
                                         compute_test_splits[s],
                                         ppr,
                                         (starhalo_step_mode_t)mode,
                                         (s + dt) % 2 ? 3 : 0,
                                         (kind == 9) ^ (ppr == 2),
                                         ppr == 2 ? -1 : s};
                        bad += run_cfg(&c, expect, mode == 0 && s == 1);
                        runs++;
                    }
                }
            free(expect);
        }
    if (g_rank == 0)
        printf("distributed_equals_naive: %d configurations on %d ranks\n", runs, g_size);
    starhalo_mpi_assert_none_failed(bad);
}

static void bad_input(void **state)
{
    (void)state;
    int bad = 0;
    starhalo_decomp_t *star = NULL, *nohalo = NULL;
    starhalo_field_t *a = NULL, *b = NULL, *z = NULL, *z2 = NULL, *c64 = NULL;
    starhalo_exchange_t *ex = NULL;
    starhalo_stencil_t *st = NULL;
    assert_status_ok(
        make_decomp(STARHALO_SPLIT_HORIZONTAL, g_size, 1, STARHALO_STENCIL_STAR, &star));
    assert_status_ok(
        make_decomp(STARHALO_SPLIT_HORIZONTAL, g_size, 0, STARHALO_STENCIL_STAR, &nohalo));
    assert_status_ok(starhalo_field_create(g_ctx, star, NULL, STARHALO_FLOAT32, &a));
    assert_status_ok(starhalo_field_create(g_ctx, star, NULL, STARHALO_FLOAT32, &b));
    assert_status_ok(starhalo_field_create(g_ctx, star, NULL, STARHALO_FLOAT64, &c64));
    assert_status_ok(starhalo_field_create(g_ctx, nohalo, NULL, STARHALO_FLOAT32, &z));
    assert_status_ok(starhalo_field_create(g_ctx, nohalo, NULL, STARHALO_FLOAT32, &z2));
    assert_status_ok(starhalo_exchange_create(g_ctx, &a, 1, STARHALO_TRANSPORT_DEFAULT, &ex));
    CHECK(bad, starhalo_stencil_create(g_ctx, a, b, ex, STARHALO_STENCIL_9PT, NULL, &st) ==
                   STARHALO_ERR_INVALID_ARG);
    CHECK(bad, st == NULL);
    CHECK(bad, starhalo_stencil_create(g_ctx, a, a, ex, STARHALO_STENCIL_5PT, NULL, &st) ==
                   STARHALO_ERR_INVALID_ARG);
    CHECK(bad, starhalo_stencil_create(g_ctx, a, c64, ex, STARHALO_STENCIL_5PT, NULL, &st) ==
                   STARHALO_ERR_INVALID_ARG);
    CHECK(bad, starhalo_stencil_create(g_ctx, z, z2, ex, STARHALO_STENCIL_5PT, NULL, &st) ==
                   STARHALO_ERR_INVALID_ARG);
    CHECK(bad, starhalo_stencil_create(g_ctx, a, b, ex, (starhalo_stencil_kind_t)7, NULL, &st) ==
                   STARHALO_ERR_INVALID_ARG);
    const starhalo_compute_conf_t neg = {.bands = -1};
    CHECK(bad, starhalo_stencil_create(g_ctx, a, b, ex, STARHALO_STENCIL_5PT, &neg, &st) ==
                   STARHALO_ERR_INVALID_ARG);
    starhalo_step_mode_t m;
    starhalo_stencil_kind_t k;
    CHECK(bad, starhalo_step_mode_parse("overlap", &m) == STARHALO_ERR_INVALID_ARG);
    CHECK(bad, starhalo_stencil_kind_parse("7", &k) == STARHALO_ERR_INVALID_ARG);
    CHECK(bad, starhalo_stencil_step(NULL, STARHALO_STEP_TASK) == STARHALO_ERR_INVALID_ARG);
    CHECK(bad, starhalo_field_gather(g_ctx, a, g_size, NULL) == STARHALO_ERR_INVALID_ARG);
    starhalo_exchange_destroy(ex);
    starhalo_field_destroy(a);
    starhalo_field_destroy(b);
    starhalo_field_destroy(c64);
    starhalo_field_destroy(z);
    starhalo_field_destroy(z2);
    starhalo_decomp_destroy(star);
    starhalo_decomp_destroy(nohalo);
    starhalo_mpi_assert_none_failed(bad);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(distributed_equals_naive),
        cmocka_unit_test(bad_input),
    };
    return compute_test_main(argc, argv, "test_stencil_dist", tests,
                             sizeof tests / sizeof tests[0]);
}
