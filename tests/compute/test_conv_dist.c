/* SPDX-License-Identifier: MIT */
/* Tests the distributed conv2d forward layer (starhalo_conv2d_*) on 1, 2 or 4 ranks: the
 * gathered output equals a naive single-process convolution written here (double
 * accumulation, zero padding) within a relative error of 1e-5 (max abs difference over max
 * abs reference), for 3x3 / 5x5 'same', 3x3 'valid', a dilated 3x3 and a stride-2 3x3 layer,
 * 3 -> 5 channels with bias, every slice method, parts-per-rank 1 and 2, task and BSP modes,
 * 1 or 2 output-channel groups, on an uneven 37 x 29 image; two forward passes in a row give
 * the same output. Also the output decomposition (owned output boxes = the layer's output
 * ranges) and bad input (a too narrow input halo, mismatched output: INVALID_ARG). */
#include "compute_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define W    37
#define H    29
#define CIN  3
#define COUT 5

starhalo_context_t *g_ctx;
int g_rank, g_size;

static float input_value(int c, int64_t x, int64_t y)
{
    return (float)(((x * 5 + y * 3 + c * 7) % 13) - 6) / 8.0f;
}

static void make_weights(int k, float *w, float *b)
{
    uint64_t s = 0x9e3779b97f4a7c15ULL + (uint64_t)k;
    for (int i = 0; i < COUT * CIN * k * k; i++)
        w[i] = (float)((double)(starhalo_test_rand(&s) >> 11) / 9007199254740992.0 - 0.5);
    for (int i = 0; i < COUT; i++)
        b[i] = (float)i * 0.125f - 0.25f;
}

/* Naive conv of the whole image; returns the output extents. */
static void naive_conv(const starhalo_layer_t *l, const float *w, const float *b, float *out,
                       int64_t ow, int64_t oh)
{
    const int k = l->kernel;
    for (int co = 0; co < COUT; co++)
        for (int64_t oy = 0; oy < oh; oy++)
            for (int64_t ox = 0; ox < ow; ox++) {
                double acc = b[co];
                for (int ci = 0; ci < CIN; ci++)
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            const int64_t iy = oy * l->stride - l->padding + ky * l->dilation;
                            const int64_t ix = ox * l->stride - l->padding + kx * l->dilation;
                            if (ix < 0 || ix >= W || iy < 0 || iy >= H)
                                continue;
                            acc += (double)input_value(ci, ix, iy) *
                                   w[((co * CIN + ci) * k + ky) * k + kx];
                        }
                out[(co * oh + oy) * ow + ox] = (float)acc;
            }
}

static starhalo_status_t make_input(starhalo_split_t split, int nparts, const starhalo_layer_t *l,
                                    starhalo_decomp_t **out)
{
    int mh = 0, ph = 0;
    STARHALO_CHECK(starhalo_layer_halo(l, &mh, &ph));
    starhalo_decomp_desc_t d;
    memset(&d, 0, sizeof d);
    d.ndims = 2;
    d.extent[0] = W;
    d.extent[1] = H;
    d.extent[2] = 1;
    d.channels = CIN;
    d.split = split;
    d.nparts = nparts;
    d.halo[0] = d.halo[2] = mh;
    d.halo[1] = d.halo[3] = ph;
    d.shape = STARHALO_STENCIL_BOX;
    return starhalo_decomp_create(&d, out);
}

static starhalo_status_t fill_input(starhalo_field_t *f)
{
    int ids[16];
    const int n = starhalo_field_local_parts(f, ids);
    for (int i = 0; i < n; i++) {
        float *p = NULL;
        STARHALO_CHECK(starhalo_field_acquire(f, ids[i], 1));
        STARHALO_CHECK(starhalo_field_part_data(f, ids[i], (void **)&p));
        const starhalo_part_plan_t *pl = starhalo_field_part_plan(f, ids[i]);
        const starhalo_box_t g = starhalo_part_plan_ghosted(pl);
        const starhalo_box_t o = starhalo_part_plan_owned(pl);
        const int64_t gw = g.hi[0] - g.lo[0], gh = g.hi[1] - g.lo[1];
        for (int c = 0; c < CIN; c++)
            for (int64_t y = o.lo[1]; y < o.hi[1]; y++)
                for (int64_t x = o.lo[0]; x < o.hi[0]; x++)
                    p[(c * gh + y - g.lo[1]) * gw + x - g.lo[0]] = input_value(c, x, y);
        STARHALO_CHECK(starhalo_field_release(f, ids[i]));
    }
    return STARHALO_OK;
}

static int run_conv(const starhalo_layer_t *l, starhalo_split_t split, int ppr,
                    starhalo_step_mode_t mode, int groups)
{
    int bad = 0;
    const int k = l->kernel;
    float *w = malloc(sizeof(float) * COUT * CIN * k * k), bias[COUT];
    make_weights(k, w, bias);
    const int64_t ow = starhalo_layer_output_extent(l, W), oh = starhalo_layer_output_extent(l, H);
    starhalo_decomp_t *din = NULL, *dout = NULL;
    starhalo_field_t *fin = NULL, *fout = NULL;
    starhalo_exchange_t *ex = NULL;
    starhalo_conv2d_t *cv = NULL;
    const starhalo_compute_conf_t conf = {.bands = groups};
    CHECK(bad, make_input(split, g_size * ppr, l, &din) == STARHALO_OK);
    CHECK(bad, !bad && starhalo_layer_output_decomp(din, l, COUT, NULL, STARHALO_STENCIL_STAR,
                                                    &dout) == STARHALO_OK);
    for (int p = 0; !bad && p < starhalo_decomp_num_parts(din); p++) {
        const starhalo_box_t ib = starhalo_decomp_owned_box(din, p);
        const starhalo_box_t ob = starhalo_decomp_owned_box(dout, p);
        for (int d = 0; d < 2; d++) {
            int64_t lo, hi;
            starhalo_layer_output_range(l, d ? H : W, ib.lo[d], ib.hi[d], &lo, &hi);
            CHECK(bad, ob.lo[d] == lo && ob.hi[d] == hi);
        }
    }
    CHECK(bad,
          !bad && starhalo_field_create(g_ctx, din, NULL, STARHALO_FLOAT32, &fin) == STARHALO_OK);
    CHECK(bad,
          !bad && starhalo_field_create(g_ctx, dout, NULL, STARHALO_FLOAT32, &fout) == STARHALO_OK);
    CHECK(bad, !bad && fill_input(fin) == STARHALO_OK);
    CHECK(bad, !bad && starhalo_exchange_create(g_ctx, &fin, 1, STARHALO_TRANSPORT_DEFAULT, &ex) ==
                           STARHALO_OK);
    CHECK(bad, !bad && starhalo_conv2d_create(g_ctx, fin, fout, ex, l, w, bias, &conf, &cv) ==
                           STARHALO_OK);
    if (bad)
        fprintf(stderr, "rank %d: conv setup: %s\n", g_rank, starhalo_last_error_message());
    float *got = calloc((size_t)(COUT * ow * oh), sizeof(float));
    float *ref = calloc((size_t)(COUT * ow * oh), sizeof(float));
    for (int pass = 0; pass < 2 && !bad; pass++) {
        CHECK(bad, starhalo_conv2d_forward(cv, mode) == STARHALO_OK);
        CHECK(bad, !bad && starhalo_field_gather(g_ctx, fout, 0, got) == STARHALO_OK);
        if (!bad && g_rank == 0) {
            naive_conv(l, w, bias, ref, ow, oh);
            double maxdiff = 0.0, maxref = 0.0;
            for (int64_t i = 0; i < COUT * ow * oh; i++) {
                maxdiff = fmax(maxdiff, fabs((double)got[i] - ref[i]));
                maxref = fmax(maxref, fabs((double)ref[i]));
            }
            if (!(maxref > 0.0 && maxdiff <= 1e-5 * maxref))
                fprintf(stderr,
                        "k%d s%d d%d p%d split %s ppr %d mode %d groups %d: max diff %g "
                        "(max ref %g)\n",
                        l->kernel, l->stride, l->dilation, l->padding, starhalo_split_name(split),
                        ppr, (int)mode, groups, maxdiff, maxref);
            CHECK(bad, maxref > 0.0 && maxdiff <= 1e-5 * maxref);
        }
        bad = compute_test_any(bad) ? 1 : 0;
    }
    free(got);
    free(ref);
    free(w);
    starhalo_conv2d_destroy(cv);
    starhalo_exchange_destroy(ex);
    starhalo_field_destroy(fout);
    starhalo_field_destroy(fin);
    starhalo_decomp_destroy(dout);
    starhalo_decomp_destroy(din);
    return bad;
}

static void distributed_conv_equals_naive(void **state)
{
    (void)state;
    static const starhalo_layer_t layers[] = {
        {3, 1, 1, 1}, /* same */
        {5, 1, 1, 2}, /* same, halo 2 */
        {3, 1, 1, 0}, /* valid: halo only on the plus side */
        {3, 1, 2, 2}, /* dilated */
        {3, 2, 1, 1}, /* strided: one task per group after the exchange */
    };
    int bad = 0, runs = 0;
    for (size_t li = 0; li < sizeof layers / sizeof layers[0]; li++)
        for (int s = 0; s < 3; s++)
            for (int ppr = 1; ppr <= 2; ppr++) {
                if (compute_test_splits[s] == STARHALO_SPLIT_SQUARE &&
                    !compute_test_is_square(g_size * ppr))
                    continue;
                /* Both modes for the 'same' layer; the others alternate. */
                for (int mode = 0; mode < 2; mode++) {
                    if (li > 0 && mode != (int)((li + (size_t)s) % 2))
                        continue;
                    bad += run_conv(&layers[li], compute_test_splits[s], ppr,
                                    (starhalo_step_mode_t)mode, 1 + (int)((li + (size_t)ppr) % 2));
                    runs++;
                }
            }
    if (g_rank == 0)
        printf("distributed_conv_equals_naive: %d configurations on %d ranks\n", runs, g_size);
    starhalo_mpi_assert_none_failed(bad);
}

static void conv_bad_input(void **state)
{
    (void)state;
    int bad = 0;
    const starhalo_layer_t same3 = {3, 1, 1, 1}, same5 = {5, 1, 1, 2};
    starhalo_decomp_t *din = NULL, *dout = NULL, *dout5 = NULL;
    starhalo_field_t *fin = NULL, *fout = NULL, *fout5 = NULL;
    starhalo_exchange_t *ex = NULL;
    starhalo_conv2d_t *cv = NULL;
    float w[COUT * CIN * 25] = {0};
    assert_status_ok(make_input(STARHALO_SPLIT_HORIZONTAL, g_size, &same3, &din));
    assert_status_ok(
        starhalo_layer_output_decomp(din, &same3, COUT, NULL, STARHALO_STENCIL_STAR, &dout));
    assert_status_ok(
        starhalo_layer_output_decomp(din, &same5, COUT, NULL, STARHALO_STENCIL_STAR, &dout5));
    assert_status_ok(starhalo_field_create(g_ctx, din, NULL, STARHALO_FLOAT32, &fin));
    assert_status_ok(starhalo_field_create(g_ctx, dout, NULL, STARHALO_FLOAT32, &fout));
    assert_status_ok(starhalo_field_create(g_ctx, dout5, NULL, STARHALO_FLOAT32, &fout5));
    assert_status_ok(starhalo_exchange_create(g_ctx, &fin, 1, STARHALO_TRANSPORT_DEFAULT, &ex));
    /* 5x5 needs halo 2, the input has 1. */
    CHECK(bad, starhalo_conv2d_create(g_ctx, fin, fout5, ex, &same5, w, NULL, NULL, &cv) ==
                   STARHALO_ERR_INVALID_ARG);
    CHECK(bad, cv == NULL);
    /* The output of a strided layer does not match the 'same' output decomposition. */
    const starhalo_layer_t strided = {3, 2, 1, 1};
    CHECK(bad, starhalo_conv2d_create(g_ctx, fin, fout, ex, &strided, w, NULL, NULL, &cv) ==
                   STARHALO_ERR_INVALID_ARG);
    CHECK(bad, starhalo_conv2d_create(g_ctx, fin, fin, ex, &same3, w, NULL, NULL, &cv) ==
                   STARHALO_ERR_INVALID_ARG);
    CHECK(bad, starhalo_conv2d_create(g_ctx, fin, fout, ex, &same3, NULL, NULL, NULL, &cv) ==
                   STARHALO_ERR_INVALID_ARG);
    CHECK(bad, starhalo_conv2d_forward(NULL, STARHALO_STEP_TASK) == STARHALO_ERR_INVALID_ARG);
    starhalo_exchange_destroy(ex);
    starhalo_field_destroy(fout5);
    starhalo_field_destroy(fout);
    starhalo_field_destroy(fin);
    starhalo_decomp_destroy(dout5);
    starhalo_decomp_destroy(dout);
    starhalo_decomp_destroy(din);
    starhalo_mpi_assert_none_failed(bad);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(distributed_conv_equals_naive),
        cmocka_unit_test(conv_bad_input),
    };
    return compute_test_main(argc, argv, "test_conv_dist", tests, sizeof tests / sizeof tests[0]);
}
