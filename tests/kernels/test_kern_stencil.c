/* SPDX-License-Identifier: MIT */
/* Tests the 5- and 9-point Jacobi kernels (float32 and float64) and the squared-difference
 * reduction against naive references written here: bitwise on odd tiles with several planes,
 * interior + boundary regions reproduce the whole-region result, bad regions are refused.
 * Also checks the shared index helpers of kern_index.h against nested loops. */
#include "kern_test_util.h"
#include "kern_index.h"

#include <string.h>

/* Naive references: explicit neighbour reads, the documented summation order. */
#define DEFINE_REF(T, SUFFIX)                                                                      \
    static void ref5_##SUFFIX(const starhalo_kern_tile_t *t, const T *in, T *out,                  \
                              const starhalo_box_t *r)                                             \
    {                                                                                              \
        const int64_t gw = t->box.hi[0] - t->box.lo[0], gh = t->box.hi[1] - t->box.lo[1];          \
        for (int64_t p = 0; p < t->batch * t->channels; p++)                                       \
            for (int64_t y = r->lo[1]; y < r->hi[1]; y++)                                          \
                for (int64_t x = r->lo[0]; x < r->hi[0]; x++) {                                    \
                    const int64_t lx = x - t->box.lo[0], ly = y - t->box.lo[1];                    \
                    const T *pl = in + p * gw * gh;                                                \
                    T n = pl[(ly - 1) * gw + lx], s = pl[(ly + 1) * gw + lx];                      \
                    T e = pl[ly * gw + lx + 1], w = pl[ly * gw + lx - 1];                          \
                    out[p * gw * gh + ly * gw + lx] = (T)0.25 * (((n + s) + e) + w);               \
                }                                                                                  \
    }                                                                                              \
    static void ref9_##SUFFIX(const starhalo_kern_tile_t *t, const T *in, T *out,                  \
                              const starhalo_box_t *r)                                             \
    {                                                                                              \
        const int64_t gw = t->box.hi[0] - t->box.lo[0], gh = t->box.hi[1] - t->box.lo[1];          \
        for (int64_t p = 0; p < t->batch * t->channels; p++)                                       \
            for (int64_t y = r->lo[1]; y < r->hi[1]; y++)                                          \
                for (int64_t x = r->lo[0]; x < r->hi[0]; x++) {                                    \
                    const int64_t lx = x - t->box.lo[0], ly = y - t->box.lo[1];                    \
                    const T *pl = in + p * gw * gh;                                                \
                    T n = pl[(ly - 1) * gw + lx], s = pl[(ly + 1) * gw + lx];                      \
                    T e = pl[ly * gw + lx + 1], w = pl[ly * gw + lx - 1];                          \
                    T ne = pl[(ly - 1) * gw + lx + 1], nw = pl[(ly - 1) * gw + lx - 1];            \
                    T se = pl[(ly + 1) * gw + lx + 1], sw = pl[(ly + 1) * gw + lx - 1];            \
                    out[p * gw * gh + ly * gw + lx] =                                              \
                        ((T)4 * (((n + s) + e) + w) + (((ne + nw) + se) + sw)) / (T)20;            \
                }                                                                                  \
    }
DEFINE_REF(float, f32)
DEFINE_REF(double, f64)

typedef starhalo_status_t (*stencil_fn)(starhalo_dtype_t, const starhalo_kern_tile_t *,
                                        const void *, void *, const starhalo_box_t *);

/* One stencil, one dtype: whole region vs reference, then split vs whole, bitwise. */
static void check_stencil(starhalo_dtype_t dt, int nine, int64_t gw, int64_t gh, int64_t planes)
{
    const starhalo_box_t box = kt_box(-1, gw - 1, 7, 7 + gh); /* non-zero origin */
    const starhalo_kern_tile_t t = starhalo_kern_tile_make(&box, 1, planes);
    const int64_t n = starhalo_kern_tile_elems(&t);
    const size_t esz = starhalo_dtype_size(dt);
    void *in = malloc(n * esz), *out = malloc(n * esz), *ref = malloc(n * esz),
         *split = malloc(n * esz);
    if (dt == STARHALO_FLOAT32)
        kt_fill_f32(in, n, 11 + nine);
    else
        kt_fill_f64(in, n, 11 + nine);
    memset(out, 0x5a, n * esz); /* untouched cells must keep the sentinel */
    memcpy(ref, out, n * esz);
    memcpy(split, out, n * esz);
    const starhalo_box_t whole = kt_box(box.lo[0] + 1, box.hi[0] - 1, box.lo[1] + 1, box.hi[1] - 1);
    stencil_fn fn = nine ? starhalo_kern_stencil9_cpu : starhalo_kern_stencil5_cpu;
    assert_status_ok(fn(dt, &t, in, out, &whole));
    if (dt == STARHALO_FLOAT32)
        (nine ? ref9_f32 : ref5_f32)(&t, in, ref, &whole);
    else
        (nine ? ref9_f64 : ref5_f64)(&t, in, ref, &whole);
    assert_memory_equal(out, ref, n * esz);

    for (int64_t h = 1; h <= 3; h++) {
        starhalo_box_t pieces[5];
        kt_split(&whole, h, pieces);
        memset(split, 0x5a, n * esz);
        for (int i = 0; i < 5; i++)
            assert_status_ok(fn(dt, &t, in, split, &pieces[i]));
        assert_memory_equal(split, ref, n * esz);
    }
    free(in);
    free(out);
    free(ref);
    free(split);
}

static void stencil5_f32_odd_shapes(void **state)
{
    (void)state;
    check_stencil(STARHALO_FLOAT32, 0, 37, 23, 3);
    check_stencil(STARHALO_FLOAT32, 0, 8, 9, 1);
    check_stencil(STARHALO_FLOAT32, 0, 131, 5, 2);
}

static void stencil5_f64(void **state)
{
    (void)state;
    check_stencil(STARHALO_FLOAT64, 0, 37, 23, 3);
    check_stencil(STARHALO_FLOAT64, 0, 19, 64, 1);
}

static void stencil9_both_types(void **state)
{
    (void)state;
    check_stencil(STARHALO_FLOAT32, 1, 37, 23, 3);
    check_stencil(STARHALO_FLOAT64, 1, 29, 17, 2);
    check_stencil(STARHALO_FLOAT32, 1, 9, 8, 1);
}

static void stencil_rejects_regions_leaving_the_tile(void **state)
{
    (void)state;
    const starhalo_box_t box = kt_box(0, 10, 0, 10);
    const starhalo_kern_tile_t t = starhalo_kern_tile_make(&box, 1, 1);
    float in[100] = {0}, out[100] = {0};
    const starhalo_box_t touches_edge = kt_box(0, 9, 1, 9);  /* needs x = -1 */
    const starhalo_box_t too_far_down = kt_box(1, 9, 1, 10); /* needs y = 10 */
    assert_int_equal(starhalo_kern_stencil5_cpu(STARHALO_FLOAT32, &t, in, out, &touches_edge),
                     STARHALO_ERR_INVALID_ARG);
    assert_int_equal(starhalo_kern_stencil9_cpu(STARHALO_FLOAT32, &t, in, out, &too_far_down),
                     STARHALO_ERR_INVALID_ARG);
    const starhalo_box_t ok = kt_box(1, 9, 1, 9);
    assert_int_equal(starhalo_kern_stencil5_cpu((starhalo_dtype_t)7, &t, in, out, &ok),
                     STARHALO_ERR_INVALID_ARG);
    const starhalo_box_t empty = kt_box(5, 5, 1, 9);
    assert_status_ok(starhalo_kern_stencil5_cpu(STARHALO_FLOAT32, &t, in, out, &empty));
}

static void sqdiff_matches_naive_sum(void **state)
{
    (void)state;
    const starhalo_box_t box = kt_box(3, 3 + 41, -2, 25);
    const starhalo_kern_tile_t t = starhalo_kern_tile_make(&box, 2, 2);
    const int64_t n = starhalo_kern_tile_elems(&t), gw = 41, gh = 27;
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    float *af = malloc(n * sizeof *af), *bf = malloc(n * sizeof *bf);
    kt_fill_f64(a, n, 3);
    kt_fill_f64(b, n, 4);
    for (int64_t i = 0; i < n; i++) {
        af[i] = (float)a[i];
        bf[i] = (float)b[i];
    }
    const starhalo_box_t r = kt_box(5, 40, 0, 20);
    double ref = 0, ref_f = 0, got = -1;
    for (int64_t p = 0; p < 4; p++)
        for (int64_t y = r.lo[1]; y < r.hi[1]; y++)
            for (int64_t x = r.lo[0]; x < r.hi[0]; x++) {
                const int64_t i = p * gw * gh + (y - box.lo[1]) * gw + (x - box.lo[0]);
                ref += (a[i] - b[i]) * (a[i] - b[i]);
                ref_f += ((double)af[i] - bf[i]) * ((double)af[i] - bf[i]);
            }
    assert_status_ok(starhalo_kern_sqdiff_cpu(STARHALO_FLOAT64, &t, a, b, &r, &got));
    assert_true(fabs(got - ref) <= 1e-12 * ref);
    assert_status_ok(starhalo_kern_sqdiff_cpu(STARHALO_FLOAT32, &t, af, bf, &r, &got));
    assert_true(fabs(got - ref_f) <= 1e-12 * ref_f);
    const starhalo_box_t outside = kt_box(5, 45, 0, 20);
    assert_int_equal(starhalo_kern_sqdiff_cpu(STARHALO_FLOAT64, &t, a, b, &outside, &got),
                     STARHALO_ERR_INVALID_ARG);
    free(a);
    free(b);
    free(af);
    free(bf);
}

/* kern_index.h: region cell -> tile offset equals the nested-loop position. */
static void region_index_matches_nested_loops(void **state)
{
    (void)state;
    const int64_t gw = 13, gh = 11, rw = 5, rh = 4, x0 = 3, y0 = 6, planes = 3;
    int64_t i = 0;
    for (int64_t p = 0; p < planes; p++)
        for (int64_t y = 0; y < rh; y++)
            for (int64_t x = 0; x < rw; x++, i++)
                assert_int_equal(starhalo_kidx_region_to_tile(i, rw, rh, x0, y0, gw, gh),
                                 (p * gh + y0 + y) * gw + x0 + x);
}

/* kern_index.h: conv/pool windows, with and without padding. */
static void window_math(void **state)
{
    (void)state;
    int64_t lo, pl, pr;
    /* k=3, s=1, d=1, p=1 over a whole image [0, 10): outputs [0, 10) need [-1, 11). */
    assert_int_equal(starhalo_kidx_window(0, 10, 3, 1, 1, 1, 0, 10, &lo, &pl, &pr), 10);
    assert_int_equal(lo, 0);
    assert_int_equal(pl, 1);
    assert_int_equal(pr, 1);
    /* k=3, s=2, d=2, p=0: outputs [2, 5) need [4, 4+2*2+4+1) = [4, 13). */
    assert_int_equal(starhalo_kidx_window(2, 5, 3, 2, 2, 0, 0, 100, &lo, &pl, &pr), 9);
    assert_int_equal(lo, 4);
    assert_int_equal(pl, 0);
    assert_int_equal(pr, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stencil5_f32_odd_shapes),
        cmocka_unit_test(stencil5_f64),
        cmocka_unit_test(stencil9_both_types),
        cmocka_unit_test(stencil_rejects_regions_leaving_the_tile),
        cmocka_unit_test(sqdiff_matches_naive_sum),
        cmocka_unit_test(region_index_matches_nested_loops),
        cmocka_unit_test(window_math),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
