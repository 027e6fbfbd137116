/* SPDX-License-Identifier: MIT */
/**
 * @file test_cnn_api.c
 * @brief Tests starhalo_cnn.h on 1, 2 and 4 ranks: with integer data (exact in float) and
 * output-gradient deltas at the corner shared by four parts and at the image corner, the
 * forward output, the input gradient after the reverse SUM exchange (corner ghosts must reach
 * the diagonal owner, image-border ghosts must be dropped) and the weight gradient equal the
 * analytic values bitwise, for every slice method and 1 or 2 parts per rank; bad arguments
 * (groups that do not divide the channels among them) return STARHALO_ERR_INVALID_ARG.
 */
#include <stdlib.h>
#include <string.h>

#include <starhalo/starhalo_cnn.h>

#include "compute_test.h"

starhalo_context_t *g_ctx;
int g_rank, g_size;

enum { S = 8 };

static starhalo_decomp_t *decomp(starhalo_split_t split, int nparts, int halo,
                                 starhalo_stencil_shape_t shape, int64_t channels)
{
    starhalo_decomp_desc_t d;
    memset(&d, 0, sizeof d);
    d.ndims = 2;
    d.extent[0] = d.extent[1] = S;
    d.extent[2] = 1;
    d.channels = channels;
    d.split = split;
    d.nparts = nparts;
    for (int k = 0; k < 4; k++)
        d.halo[k] = halo;
    d.shape = shape;
    starhalo_decomp_t *out = NULL;
    return starhalo_decomp_create(&d, &out) == STARHALO_OK ? out : NULL;
}

/* Write f(y, x) into the owned cells of every local part (1 channel). */
static int fill(starhalo_field_t *f, float (*gen)(int64_t y, int64_t x))
{
    int parts[8];
    const int n = starhalo_field_local_parts(f, parts);
    for (int i = 0; i < n; i++) {
        const starhalo_part_plan_t *pl = starhalo_field_part_plan(f, parts[i]);
        const starhalo_box_t g = starhalo_part_plan_ghosted(pl), o = starhalo_part_plan_owned(pl);
        float *p = NULL;
        if (starhalo_field_acquire(f, parts[i], 1) ||
            starhalo_field_part_data(f, parts[i], (void **)&p))
            return 1;
        for (int64_t y = o.lo[1]; y < o.hi[1]; y++)
            for (int64_t x = o.lo[0]; x < o.hi[0]; x++)
                p[(y - g.lo[1]) * (g.hi[0] - g.lo[0]) + x - g.lo[0]] = gen(y, x);
        if (starhalo_field_release(f, parts[i]))
            return 1;
    }
    return 0;
}

static float input(int64_t y, int64_t x)
{
    return (float)(y * S + x + 1);
}

/* Deltas at (4, 4) (the corner of four parts in a 2 x 2 split) and (0, 0) (image corner). */
static float delta(int64_t y, int64_t x)
{
    return (y == 4 && x == 4) ? 1.0f : (y == 0 && x == 0) ? 2.0f : 0.0f;
}

static double xat(int64_t y, int64_t x)
{
    return (y < 0 || y >= S || x < 0 || x >= S) ? 0.0 : input(y, x);
}

static int check_split(starhalo_split_t split, int ppr)
{
    int bad = 0;
    const int np = g_size * ppr;
    starhalo_decomp_t *d = decomp(split, np, 1, STARHALO_STENCIL_BOX, 1);
    CHECK(bad, d != NULL);
    if (compute_test_any(bad))
        return 1;
    enum { X, Y, GY, GX, NF };
    starhalo_field_t *f[NF] = {NULL};
    for (int i = 0; i < NF; i++)
        CHECK(bad, starhalo_field_create(g_ctx, d, NULL, STARHALO_FLOAT32, &f[i]) == STARHALO_OK);
    starhalo_exchange_t *ex_x = NULL, *ex_gx = NULL;
    CHECK(bad, starhalo_exchange_create(g_ctx, &f[X], 1, STARHALO_TRANSPORT_DEFAULT, &ex_x) ==
                   STARHALO_OK);
    CHECK(bad, starhalo_exchange_create(g_ctx, &f[GX], 1, STARHALO_TRANSPORT_DEFAULT, &ex_gx) ==
                   STARHALO_OK);
    float w[9];
    for (int k = 0; k < 9; k++)
        w[k] = (float)(k + 1);
    const starhalo_layer_t l = {3, 1, 1, 1};
    starhalo_cnn_conv_t *cv = NULL;
    CHECK(bad, starhalo_cnn_conv_create(g_ctx, f[X], ex_x, f[Y], f[GY], f[GX], ex_gx, &l, w, &cv) ==
                   STARHALO_OK);
    CHECK(bad, fill(f[X], input) == 0);
    CHECK(bad, fill(f[GY], delta) == 0);
    CHECK(bad, starhalo_cnn_conv_forward(cv) == STARHALO_OK);
    CHECK(bad, starhalo_cnn_conv_backward(cv) == STARHALO_OK);
    double gw[9];
    CHECK(bad, starhalo_cnn_conv_grad_weights(cv, gw) == STARHALO_OK);
    float y[S * S], gx[S * S];
    CHECK(bad, starhalo_field_gather(g_ctx, f[Y], 0, y) == STARHALO_OK);
    CHECK(bad, starhalo_field_gather(g_ctx, f[GX], 0, gx) == STARHALO_OK);
    /* Every rank checks the weight gradient (same bits everywhere); rank 0 the images. */
    for (int k = 0; k < 9; k++) {
        const int ky = k / 3, kx = k % 3;
        CHECK(bad, gw[k] == xat(4 - 1 + ky, 4 - 1 + kx) + 2.0 * xat(-1 + ky, -1 + kx));
    }
    for (int64_t i = 0; g_rank == 0 && i < S; i++)
        for (int64_t j = 0; j < S; j++) {
            double ref = 0.0, grad = 0.0;
            for (int k = 0; k < 9; k++)
                ref += w[k] * xat(i - 1 + k / 3, j - 1 + k % 3);
            /* dx[i][j] = sum over deltas o of delta(o) * w[(i - o + 1), (j - o + 1)] */
            if (i >= 3 && i <= 5 && j >= 3 && j <= 5)
                grad += w[(i - 3) * 3 + (j - 3)];
            if (i <= 1 && j <= 1)
                grad += 2.0 * w[(i + 1) * 3 + (j + 1)];
            CHECK(bad, y[i * S + j] == (float)ref);
            CHECK(bad, gx[i * S + j] == (float)grad);
        }
    starhalo_cnn_conv_destroy(cv);
    starhalo_exchange_destroy(ex_x);
    starhalo_exchange_destroy(ex_gx);
    for (int i = 0; i < NF; i++)
        starhalo_field_destroy(f[i]);
    starhalo_decomp_destroy(d);
    return bad;
}

static void analytic_gradients(void **state)
{
    (void)state;
    int bad = 0;
    for (int ppr = 1; ppr <= 2; ppr++)
        for (int s = 0; s < 3; s++) {
            if (compute_test_splits[s] == STARHALO_SPLIT_SQUARE &&
                !compute_test_is_square(g_size * ppr))
                continue;
            if (check_split(compute_test_splits[s], ppr) && bad++ == 0 && g_rank == 0)
                fprintf(stderr, "failed: %s, %d parts per rank\n",
                        starhalo_split_name(compute_test_splits[s]), ppr);
        }
    starhalo_mpi_assert_none_failed(bad);
}

static void bad_arguments(void **state)
{
    (void)state;
    int bad = 0;
    const int np = g_size;
    starhalo_decomp_t *d1 = decomp(STARHALO_SPLIT_HORIZONTAL, np, 1, STARHALO_STENCIL_BOX, 1);
    starhalo_decomp_t *d0 = decomp(STARHALO_SPLIT_HORIZONTAL, np, 0, STARHALO_STENCIL_BOX, 1);
    starhalo_decomp_t *ds = decomp(STARHALO_SPLIT_HORIZONTAL, np, 1, STARHALO_STENCIL_STAR, 1);
    starhalo_decomp_t *d2 = decomp(STARHALO_SPLIT_HORIZONTAL, np, 1, STARHALO_STENCIL_BOX, 2);
    starhalo_field_t *a = NULL, *b = NULL, *c = NULL, *h0 = NULL, *st = NULL, *c2 = NULL;
    starhalo_field_t *o2 = NULL, *g2 = NULL; /* 2-channel output and its gradient */
    CHECK(bad, d1 && d0 && ds && d2);
    CHECK(bad, starhalo_field_create(g_ctx, d1, NULL, STARHALO_FLOAT32, &a) == STARHALO_OK);
    CHECK(bad, starhalo_field_create(g_ctx, d1, NULL, STARHALO_FLOAT32, &b) == STARHALO_OK);
    CHECK(bad, starhalo_field_create(g_ctx, d1, NULL, STARHALO_FLOAT32, &c) == STARHALO_OK);
    CHECK(bad, starhalo_field_create(g_ctx, d0, NULL, STARHALO_FLOAT32, &h0) == STARHALO_OK);
    CHECK(bad, starhalo_field_create(g_ctx, ds, NULL, STARHALO_FLOAT32, &st) == STARHALO_OK);
    CHECK(bad, starhalo_field_create(g_ctx, d2, NULL, STARHALO_FLOAT32, &c2) == STARHALO_OK);
    CHECK(bad, starhalo_field_create(g_ctx, d2, NULL, STARHALO_FLOAT32, &o2) == STARHALO_OK);
    CHECK(bad, starhalo_field_create(g_ctx, d2, NULL, STARHALO_FLOAT32, &g2) == STARHALO_OK);
    starhalo_exchange_t *ex = NULL, *ex0 = NULL, *exs = NULL, *ex2 = NULL;
    CHECK(bad, starhalo_exchange_create(g_ctx, &a, 1, STARHALO_TRANSPORT_DEFAULT, &ex) == 0);
    CHECK(bad, starhalo_exchange_create(g_ctx, &h0, 1, STARHALO_TRANSPORT_DEFAULT, &ex0) == 0);
    CHECK(bad, starhalo_exchange_create(g_ctx, &st, 1, STARHALO_TRANSPORT_DEFAULT, &exs) == 0);
    CHECK(bad, starhalo_exchange_create(g_ctx, &c2, 1, STARHALO_TRANSPORT_DEFAULT, &ex2) == 0);
    if (!compute_test_any(bad)) {
        const float w[18] = {0};
        const starhalo_layer_t l = {3, 1, 1, 1}, strided = {3, 2, 1, 1}, valid = {3, 1, 1, 0};
        starhalo_cnn_conv_t *cv = (starhalo_cnn_conv_t *)&bad;
        const starhalo_status_t E = STARHALO_ERR_INVALID_ARG;
        CHECK(bad, starhalo_cnn_conv_create(g_ctx, h0, ex0, b, c, NULL, NULL, &l, w, &cv) == E);
        CHECK(bad, cv == NULL);
        CHECK(bad, starhalo_cnn_conv_create(g_ctx, st, exs, b, c, NULL, NULL, &l, w, &cv) == E);
        /* Strided and "valid" layers are fine, but b is not their output decomposition. */
        CHECK(bad, starhalo_cnn_conv_create(g_ctx, a, ex, b, c, NULL, NULL, &strided, w, &cv) == E);
        CHECK(bad, starhalo_cnn_conv_create(g_ctx, a, ex, b, c, NULL, NULL, &valid, w, &cv) == E);
        CHECK(bad, starhalo_cnn_conv_get_bias(NULL, NULL) == E);
        CHECK(bad, starhalo_cnn_conv_grad_bias(NULL, NULL) == E);
        CHECK(bad, starhalo_cnn_add(a, c, c) == E);
        CHECK(bad, starhalo_cnn_copy(a, c2) == E);
        CHECK(bad, starhalo_cnn_conv_create(g_ctx, a, ex, b, c2, NULL, NULL, &l, w, &cv) == E);
        CHECK(bad, starhalo_cnn_conv_create(g_ctx, a, ex, b, c, c2, ex, &l, w, &cv) == E);
        CHECK(bad, starhalo_cnn_conv_create(g_ctx, a, ex, b, c, h0, NULL, &l, w, &cv) == E);
        CHECK(bad, starhalo_cnn_conv_create(g_ctx, a, ex, a, c, NULL, NULL, &l, w, &cv) == E);
        CHECK(bad, starhalo_cnn_conv_create(g_ctx, a, ex, b, c, NULL, NULL, &l, NULL, &cv) == E);
        CHECK(bad, starhalo_cnn_relu(a, c2) == E);
        CHECK(bad, starhalo_cnn_relu_backward(a, a) == E);
        CHECK(bad, starhalo_cnn_conv_grad_weights(NULL, NULL) == E);
        CHECK(bad, starhalo_cnn_conv_create(g_ctx, a, ex, b, c, NULL, NULL, &l, w, &cv) == 0);
        starhalo_cnn_conv_destroy(cv);
        /* Grouped: groups must be >= 1 and divide Cin and Cout (2 -> 2 and 2 -> 1 here). */
        const int bad_groups[] = {0, -2, 3, 4};
        for (size_t i = 0; i < sizeof bad_groups / sizeof bad_groups[0]; i++)
            CHECK(bad, starhalo_cnn_conv_create_grouped(g_ctx, c2, ex2, o2, g2, NULL, NULL, &l,
                                                        bad_groups[i], w, &cv) == E);
        CHECK(bad, starhalo_cnn_conv_create_grouped(g_ctx, c2, ex2, b, c, NULL, NULL, &l, 2, w,
                                                    &cv) == E);
        CHECK(bad, cv == NULL);
        CHECK(bad, starhalo_cnn_conv_create_grouped(g_ctx, c2, ex2, o2, g2, NULL, NULL, &l, 2, w,
                                                    &cv) == 0);
        starhalo_cnn_conv_destroy(cv);
    }
    starhalo_exchange_destroy(ex);
    starhalo_exchange_destroy(ex0);
    starhalo_exchange_destroy(exs);
    starhalo_exchange_destroy(ex2);
    starhalo_field_t *fs[] = {a, b, c, h0, st, c2, o2, g2};
    for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++)
        starhalo_field_destroy(fs[i]);
    starhalo_decomp_destroy(d1);
    starhalo_decomp_destroy(d0);
    starhalo_decomp_destroy(ds);
    starhalo_decomp_destroy(d2);
    starhalo_mpi_assert_none_failed(bad);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(analytic_gradients),
                                       cmocka_unit_test(bad_arguments)};
    return compute_test_main(argc, argv, "test_cnn_api", tests, sizeof tests / sizeof tests[0]);
}
