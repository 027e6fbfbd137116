/* SPDX-License-Identifier: MIT */
/* Tests layer specs: halo widths (minus = padding, plus = dilation*(kernel-1) - padding),
 * the output extent against a brute-force count of valid window positions, output ranges of
 * random uneven partitions tiling [0, output extent) with every window inside the part's
 * ghosted range (or in the zero padding past the image end), and invalid layer parameters. */
#include "plans_fixture.h"

/* Number of window positions o >= 0 whose window fits the padded input. */
static int64_t brute_extent(const starhalo_layer_t *l, int64_t n)
{
    int64_t m = 0;
    while ((int64_t)m * l->stride + (int64_t)l->dilation * (l->kernel - 1) <=
           n - 1 + 2 * l->padding)
        m++;
    return m;
}

static void halo_widths_follow_the_formula(void **state)
{
    (void)state;
    const struct {
        starhalo_layer_t layer;
        int minus, plus;
    } cases[] = {
        {{3, 1, 1, 1}, 1, 1}, /* conv 3x3 "same" */
        {{3, 1, 1, 0}, 0, 2}, /* conv 3x3 "valid": all the halo on the plus side */
        {{3, 2, 2, 1}, 1, 3}, /* dilated, strided */
        {{2, 2, 1, 0}, 0, 1}, /* 2x2 pooling */
        {{1, 1, 1, 2}, 2, 0}, /* padding wider than the window */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int minus = -1, plus = -1;
        assert_status_ok(starhalo_layer_halo(&cases[i].layer, &minus, &plus));
        assert_int_equal(minus, cases[i].minus);
        assert_int_equal(plus, cases[i].plus);
    }
    const starhalo_layer_t conv3 = cases[0].layer, conv3_valid = cases[1].layer,
                           pool2 = cases[3].layer;
    assert_int_equal(starhalo_layer_output_extent(&conv3, 32), 32);
    assert_int_equal(starhalo_layer_output_extent(&pool2, 32), 16);
    assert_int_equal(starhalo_layer_output_extent(&conv3_valid, 2), 0);
}

static void bad_layers_are_rejected(void **state)
{
    (void)state;
    const starhalo_layer_t bad[] = {{0, 1, 1, 0}, {3, 0, 1, 0}, {3, 1, 0, 0}, {3, 1, 1, -1}};
    const char *field[] = {"kernel", "stride", "dilation", "padding"};
    for (int i = 0; i < 4; i++) {
        int minus = -7, plus = -7;
        starhalo_error_clear();
        assert_int_equal(starhalo_layer_halo(&bad[i], &minus, &plus), STARHALO_ERR_INVALID_ARG);
        assert_non_null(strstr(starhalo_last_error_message(), field[i]));
    }
    int m;
    assert_int_equal(starhalo_layer_halo(NULL, &m, &m), STARHALO_ERR_INVALID_ARG);
}

static void ranges_tile_the_output(void **state)
{
    (void)state;
    uint64_t rng = 0x5eed0004u;
    for (int iter = 0; iter < 3000; iter++) {
        starhalo_layer_t l;
        l.kernel = 1 + (int)(starhalo_test_rand(&rng) % 5);
        l.stride = 1 + (int)(starhalo_test_rand(&rng) % 3);
        l.dilation = 1 + (int)(starhalo_test_rand(&rng) % 2);
        l.padding = (int)(starhalo_test_rand(&rng) % 4);
        const int64_t n = 1 + (int64_t)(starhalo_test_rand(&rng) % 40);
        int minus, plus;
        assert_status_ok(starhalo_layer_halo(&l, &minus, &plus));
        const int64_t m = starhalo_layer_output_extent(&l, n);
        assert_int_equal(m, brute_extent(&l, n));
        /* A random uneven partition of [0, n). */
        const int parts = 1 + (int)(starhalo_test_rand(&rng) % (uint64_t)(n < 6 ? n : 6));
        int64_t cut[8];
        cut[0] = 0;
        cut[parts] = n;
        for (int c = 1; c < parts; c++) {
            int64_t lo = cut[c - 1] + 1, room = n - (parts - c) - lo;
            cut[c] =
                lo + (room > 0 ? (int64_t)(starhalo_test_rand(&rng) % (uint64_t)(room + 1)) : 0);
        }
        int64_t next = 0;
        for (int c = 0; c < parts; c++) {
            int64_t lo, hi;
            starhalo_layer_output_range(&l, n, cut[c], cut[c + 1], &lo, &hi);
            assert_int_equal(lo, next); /* consecutive, no gap or overlap */
            assert_true(hi >= lo);
            next = hi;
            for (int64_t o = lo; o < hi; o++) {
                const int64_t start = o * l.stride - l.padding;
                const int64_t end = start + (int64_t)l.dilation * (l.kernel - 1);
                assert_true(o * l.stride >= cut[c]);
                assert_true(o * l.stride < cut[c + 1] || cut[c + 1] == n);
                assert_true(start >= cut[c] - minus);
                /* Inside the ghosted range, or past the image end (zero padding). */
                assert_true(end <= cut[c + 1] - 1 + plus || (cut[c + 1] == n && end >= n));
            }
        }
        assert_int_equal(next, m);
    }
}

/* Does output cell (ox, oy) of @p l read only input cells inside @p in? */
static int window_inside(const starhalo_layer_t *l, int64_t ox, int64_t oy,
                         const starhalo_box_t *in)
{
    const int64_t span = (int64_t)l->dilation * (l->kernel - 1);
    const int64_t o[2] = {ox, oy};
    for (int d = 0; d < 2; d++) {
        const int64_t start = o[d] * l->stride - l->padding;
        if (start < in->lo[d] || start + span >= in->hi[d])
            return 0;
    }
    return 1;
}

static int in_box(const starhalo_box_t *b, int64_t x, int64_t y)
{
    return x >= b->lo[0] && x < b->hi[0] && y >= b->lo[1] && y < b->hi[1];
}

/* starhalo_layer_output_regions on random layers and uneven parts: the interior and the
 * boundary boxes tile the part's outputs exactly once, and a cell is interior iff its whole
 * window lies in the part's owned input (checked cell by cell, brute force). */
static void output_regions_split_interior_exactly(void **state)
{
    (void)state;
    uint64_t rng = 0x5eed0005u;
    for (int iter = 0; iter < 2000; iter++) {
        starhalo_layer_t l;
        l.kernel = 1 + (int)(starhalo_test_rand(&rng) % 7);
        l.stride = 1 + (int)(starhalo_test_rand(&rng) % 2);
        l.dilation = 1 + (int)(starhalo_test_rand(&rng) % 2);
        l.padding = (int)(starhalo_test_rand(&rng) % (uint64_t)(l.dilation * (l.kernel - 1) + 1));
        const int64_t n[2] = {1 + (int64_t)(starhalo_test_rand(&rng) % 30),
                              1 + (int64_t)(starhalo_test_rand(&rng) % 30)};
        starhalo_box_t in = {{0, 0, 0}, {0, 0, 1}}, out = {{0, 0, 0}, {0, 0, 1}};
        for (int d = 0; d < 2; d++) {
            int64_t a = (int64_t)(starhalo_test_rand(&rng) % (uint64_t)n[d]);
            int64_t b = a + 1 + (int64_t)(starhalo_test_rand(&rng) % (uint64_t)(n[d] - a));
            in.lo[d] = a;
            in.hi[d] = b;
            starhalo_layer_output_range(&l, n[d], a, b, &out.lo[d], &out.hi[d]);
        }
        starhalo_regions_t r;
        assert_status_ok(starhalo_layer_output_regions(&l, &in, &out, &r));
        assert_true(r.nboundary <= 4);
        for (int64_t y = out.lo[1]; y < out.hi[1]; y++)
            for (int64_t x = out.lo[0]; x < out.hi[0]; x++) {
                int hits = in_box(&r.interior, x, y);
                assert_int_equal(hits, window_inside(&l, x, y, &in));
                for (int k = 0; k < r.nboundary; k++)
                    hits += in_box(&r.boundary[k], x, y);
                assert_int_equal(hits, 1);
            }
        /* Nothing outside the part's outputs. */
        int64_t vol = starhalo_box_volume(&r.interior) > 0 ? starhalo_box_volume(&r.interior) : 0;
        for (int k = 0; k < r.nboundary; k++)
            vol += starhalo_box_volume(&r.boundary[k]);
        assert_int_equal(vol, starhalo_box_volume(&out) > 0 ? starhalo_box_volume(&out) : 0);
    }
    starhalo_regions_t r;
    const starhalo_box_t b = {{0, 0, 0}, {4, 4, 1}};
    const starhalo_layer_t bad = {3, 0, 1, 1};
    assert_int_equal(starhalo_layer_output_regions(&bad, &b, &b, &r), STARHALO_ERR_INVALID_ARG);
    assert_int_equal(starhalo_layer_output_regions(NULL, &b, &b, &r), STARHALO_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(halo_widths_follow_the_formula),
        cmocka_unit_test(bad_layers_are_rejected),
        cmocka_unit_test(ranges_tile_the_output),
        cmocka_unit_test(output_regions_split_interior_exactly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
