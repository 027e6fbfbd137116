/* SPDX-License-Identifier: MIT */
/* Tests conv2d and max/average pooling (oneDNN) against naive references written here:
 * whole images with padding, stride and dilation; ghosted parts of an image (ghosts carry the
 * halo, image-border ghosts are zero) computing their share of the undistributed output;
 * interior + boundary regions; batch and channels. Max pooling bitwise, conv and average
 * pooling to relative error <= 1e-5. Bad geometry returns the documented status. */
#include "kern_test_util.h"
#include "kern_index.h"

#include <dirent.h>
#include <float.h>
#include <stdio.h>
#include <string.h>

/* An image: N x C x H x W, the global tensor every part is cut from. */
typedef struct image {
    int64_t n, c, h, w;
    float *v;
} image_t;

static float img_at(const image_t *im, int64_t n, int64_t c, int64_t y, int64_t x)
{
    return im->v[((n * im->c + c) * im->h + y) * im->w + x];
}

static int inside(const image_t *im, int64_t y, int64_t x)
{
    return y >= 0 && y < im->h && x >= 0 && x < im->w;
}

/* Naive conv / pool of the whole image; output [n][co][oy][ox] with extents oh x ow. */
static void ref_conv(const image_t *im, const float *wt, const float *bias, int64_t cout,
                     const starhalo_layer_t *L, int64_t oh, int64_t ow, float *out)
{
    for (int64_t n = 0; n < im->n; n++)
        for (int64_t co = 0; co < cout; co++)
            for (int64_t oy = 0; oy < oh; oy++)
                for (int64_t ox = 0; ox < ow; ox++) {
                    double acc = bias ? bias[co] : 0.0;
                    for (int64_t ci = 0; ci < im->c; ci++)
                        for (int ky = 0; ky < L->kernel; ky++)
                            for (int kx = 0; kx < L->kernel; kx++) {
                                const int64_t y = oy * L->stride - L->padding + ky * L->dilation;
                                const int64_t x = ox * L->stride - L->padding + kx * L->dilation;
                                if (inside(im, y, x))
                                    acc +=
                                        (double)img_at(im, n, ci, y, x) *
                                        wt[((co * im->c + ci) * L->kernel + ky) * L->kernel + kx];
                            }
                    out[((n * cout + co) * oh + oy) * ow + ox] = (float)acc;
                }
}

static void ref_pool(starhalo_pool_kind_t kind, const image_t *im, const starhalo_layer_t *L,
                     int64_t oh, int64_t ow, float *out)
{
    for (int64_t p = 0; p < im->n * im->c; p++)
        for (int64_t oy = 0; oy < oh; oy++)
            for (int64_t ox = 0; ox < ow; ox++) {
                double acc = 0.0;
                float mx = -FLT_MAX;
                int cnt = 0;
                for (int ky = 0; ky < L->kernel; ky++)
                    for (int kx = 0; kx < L->kernel; kx++) {
                        const int64_t y = oy * L->stride - L->padding + ky * L->dilation;
                        const int64_t x = ox * L->stride - L->padding + kx * L->dilation;
                        if (!inside(im, y, x))
                            continue;
                        const float v = im->v[(p * im->h + y) * im->w + x];
                        mx = v > mx ? v : mx;
                        acc += v;
                        cnt++;
                    }
                float r = mx;
                if (kind == STARHALO_POOL_AVG)
                    r = (float)(acc / (L->kernel * L->kernel));
                else if (kind == STARHALO_POOL_AVG_EXCLUDE)
                    r = (float)(acc / cnt);
                out[(p * oh + oy) * ow + ox] = r;
            }
}

/* Value of the image-border ghosts cut_tile writes (a field's are zero unless written). */
static float border_value;

/* Cut the ghosted tile [box] of the image (border_value outside the image). */
static float *cut_tile(const image_t *im, const starhalo_box_t *box)
{
    const int64_t gw = box->hi[0] - box->lo[0], gh = box->hi[1] - box->lo[1];
    float *t = calloc((size_t)(im->n * im->c * gw * gh), sizeof *t);
    for (int64_t p = 0; p < im->n * im->c; p++)
        for (int64_t y = box->lo[1]; y < box->hi[1]; y++)
            for (int64_t x = box->lo[0]; x < box->hi[0]; x++)
                t[(p * gh + y - box->lo[1]) * gw + x - box->lo[0]] =
                    inside(im, y, x) ? im->v[(p * im->h + y) * im->w + x] : border_value;
    return t;
}

/* Compare the cells of @p region of an output tile with the reference output (oh x ow). */
static double region_err(const float *tile, const starhalo_box_t *obox, int64_t planes,
                         const starhalo_box_t *region, const float *ref, int64_t oh, int64_t ow,
                         int *bitwise)
{
    const int64_t gw = obox->hi[0] - obox->lo[0], gh = obox->hi[1] - obox->lo[1];
    double err = 0, mag = 1e-30;
    *bitwise = 1;
    for (int64_t p = 0; p < planes; p++)
        for (int64_t y = region->lo[1]; y < region->hi[1]; y++)
            for (int64_t x = region->lo[0]; x < region->hi[0]; x++) {
                const float a = tile[(p * gh + y - obox->lo[1]) * gw + x - obox->lo[0]];
                const float b = ref[(p * oh + y) * ow + x];
                err = fmax(err, fabs((double)a - b));
                mag = fmax(mag, fabs((double)b));
                if (memcmp(&a, &b, sizeof a) != 0)
                    *bitwise = 0;
            }
    return err / mag;
}

/* op < 0: conv; otherwise a pool kind. */
typedef struct layer_case {
    int op;
    int64_t n, cin, cout, h, w;
    starhalo_layer_t L;
} layer_case_t;

static unsigned kern_flags; /* flags of the conv/pool calls (READ_WHOLE_TILE, EXCLUSIVE_OUTPUT) */
static int crops_seen;      /* calls that ran cropped on the whole tile */
static int direct_seen;     /* ... and wrote straight into the output tile */
static int transposed_seen; /* narrow column regions run transposed */

/* Count the cropped / direct calls and check they happen only when allowed. */
static starhalo_status_t note_mode(starhalo_status_t st)
{
    int how = -1;
    starhalo_kern_dnnl_last_impl(&how);
    crops_seen += st == STARHALO_OK && (how == 2 || how == 3);
    direct_seen += st == STARHALO_OK && how == 3;
    transposed_seen += st == STARHALO_OK && how == 4;
    assert_true((how != 2 && how != 3) || (kern_flags & STARHALO_KERN_READ_WHOLE_TILE));
    assert_true(how != 3 || (kern_flags & STARHALO_KERN_EXCLUSIVE_OUTPUT));
    return st;
}

static starhalo_status_t run_op(const layer_case_t *lc, const starhalo_kern_tile_t *it,
                                const float *in, const float *wt, const float *bias,
                                const starhalo_kern_tile_t *ot, float *out,
                                const starhalo_box_t *region, const starhalo_box_t *domain)
{
    if (lc->op < 0)
        return note_mode(starhalo_kern_conv2d_cpu_ex(it, in, wt, bias, &lc->L, ot, out, region,
                                                     domain, kern_flags));
    return note_mode(starhalo_kern_pool2d_cpu_ex((starhalo_pool_kind_t)lc->op, it, in, &lc->L, ot,
                                                 out, region, domain, kern_flags));
}

/* Whole image, then each part of a px x py grid with ghosts, each region split into interior
 * + 4 boundary pieces when large enough. */
static void check_case(const layer_case_t *lc, int px, int py)
{
    image_t im = {lc->n, lc->cin, lc->h, lc->w, NULL};
    const int64_t cout = lc->op < 0 ? lc->cout : lc->cin;
    im.v = malloc((size_t)(im.n * im.c * im.h * im.w) * sizeof(float));
    kt_fill_f32(im.v, im.n * im.c * im.h * im.w, (uint64_t)(lc->h * 131 + lc->w + lc->op));
    const int k = lc->L.kernel;
    float *wt = malloc((size_t)(cout * lc->cin * k * k) * sizeof(float));
    float *bias = malloc((size_t)cout * sizeof(float));
    kt_fill_f32(wt, cout * lc->cin * k * k, 5);
    kt_fill_f32(bias, cout, 6);
    const int64_t oh = starhalo_layer_output_extent(&lc->L, lc->h);
    const int64_t ow = starhalo_layer_output_extent(&lc->L, lc->w);
    float *ref = malloc((size_t)(im.n * cout * oh * ow) * sizeof(float));
    if (lc->op < 0)
        ref_conv(&im, wt, bias, cout, &lc->L, oh, ow, ref);
    else
        ref_pool((starhalo_pool_kind_t)lc->op, &im, &lc->L, oh, ow, ref);
    const int exact = lc->op == STARHALO_POOL_MAX;
    const starhalo_box_t image = kt_box(0, lc->w, 0, lc->h);
    int bitwise;

    /* 1. the whole image as one tile without ghosts: the layer's padding is oneDNN's. */
    {
        const starhalo_kern_tile_t it = starhalo_kern_tile_make(&image, im.n, im.c);
        const starhalo_box_t obox = kt_box(0, ow, 0, oh);
        const starhalo_kern_tile_t ot = starhalo_kern_tile_make(&obox, im.n, cout);
        float *out = calloc((size_t)(im.n * cout * oh * ow), sizeof(float));
        assert_status_ok(run_op(lc, &it, im.v, wt, bias, &ot, out, &obox, NULL));
        const double e = region_err(out, &obox, im.n * cout, &obox, ref, oh, ow, &bitwise);
        if (e > 1e-5 || (exact && !bitwise))
            print_error("whole image op %d: rel err %g bitwise %d\n", lc->op, e, bitwise);
        assert_true(e <= 1e-5);
        assert_true(!exact || bitwise);
        free(out);
    }

    /* 2. ghosted parts computing their share of the undistributed output. */
    int minus, plus;
    assert_status_ok(starhalo_layer_halo(&lc->L, &minus, &plus));
    for (int j = 0; j < py; j++)
        for (int i = 0; i < px; i++) {
            const int64_t x0 = lc->w * i / px, x1 = lc->w * (i + 1) / px;
            const int64_t y0 = lc->h * j / py, y1 = lc->h * (j + 1) / py;
            const starhalo_box_t gbox = kt_box(x0 - minus, x1 + plus, y0 - minus, y1 + plus);
            starhalo_box_t obox;
            starhalo_layer_output_range(&lc->L, lc->w, x0, x1, &obox.lo[0], &obox.hi[0]);
            starhalo_layer_output_range(&lc->L, lc->h, y0, y1, &obox.lo[1], &obox.hi[1]);
            obox.lo[2] = 0;
            obox.hi[2] = 1;
            if (starhalo_box_volume(&obox) == 0)
                continue;
            float *tile = cut_tile(&im, &gbox);
            /* The same tile with stale ghosts (halos not received yet): 1e6 outside the
             * owned box. An interior region must give the same result from it. */
            const int64_t gw = gbox.hi[0] - gbox.lo[0], gh = gbox.hi[1] - gbox.lo[1];
            float *stale = malloc((size_t)(im.n * im.c * gw * gh) * sizeof(float));
            for (int64_t q = 0; q < im.n * im.c * gw * gh; q++) {
                const int64_t x = q % gw + gbox.lo[0], y = q / gw % gh + gbox.lo[1];
                stale[q] = x >= x0 && x < x1 && y >= y0 && y < y1 ? tile[q] : 1e6f;
            }
            const starhalo_kern_tile_t it = starhalo_kern_tile_make(&gbox, im.n, im.c);
            const starhalo_kern_tile_t ot = starhalo_kern_tile_make(&obox, im.n, cout);
            const size_t on = (size_t)starhalo_kern_tile_elems(&ot);
            float *out = calloc(on, sizeof(float));
            /* The domain makes the image-border ghosts padding, whatever they hold; when they
             * are zero, conv and include-padding average may read them instead. */
            assert_status_ok(run_op(lc, &it, tile, wt, bias, &ot, out, &obox, &image));
            double e = region_err(out, &obox, im.n * cout, &obox, ref, oh, ow, &bitwise);
            assert_true(e <= 1e-5);
            assert_true(!exact || bitwise);
            for (int64_t h = 1; h <= 4; h++) {
                if (obox.hi[0] - obox.lo[0] <= 2 * h || obox.hi[1] - obox.lo[1] <= 2 * h)
                    continue;
                starhalo_box_t pieces[5];
                kt_split(&obox, h, pieces);
                memset(out, 0, on * sizeof(float));
                /* Does the interior piece read only owned cells? Then give it the stale tile. */
                int owned_only = 1;
                for (int d = 0; d < 2; d++) {
                    int64_t lo, pl, pr;
                    const int64_t n = starhalo_kidx_window(
                        pieces[0].lo[d], pieces[0].hi[d], lc->L.kernel, lc->L.stride,
                        lc->L.dilation, lc->L.padding, INT64_MIN / 4, INT64_MAX / 4, &lo, &pl, &pr);
                    const int64_t olo = d ? y0 : x0, ohi = d ? y1 : x1;
                    owned_only &= lo >= olo && lo + n <= ohi;
                }
                /* Boundary pieces first, interior last (stale ghosts when it allows): a
                 * direct (in-tile) interior must leave the pieces' results alone. */
                for (int q = 4; q >= 0; q--)
                    assert_status_ok(run_op(lc, &it, q == 0 && owned_only ? stale : tile, wt, bias,
                                            &ot, out, &pieces[q], &image));
                e = region_err(out, &obox, im.n * cout, &obox, ref, oh, ow, &bitwise);
                assert_true(e <= 1e-5);
                assert_true(!exact || bitwise);
            }
            free(out);
            free(tile);
            free(stale);
        }
    free(im.v);
    free(wt);
    free(bias);
    free(ref);
}

static void conv_same_3x3(void **state)
{
    (void)state;
    const layer_case_t c = {-1, 2, 3, 5, 19, 23, {3, 1, 1, 1}};
    const layer_case_t tall = {-1, 1, 3, 4, 41, 22, {3, 1, 1, 1}};
    transposed_seen = 0;
    check_case(&c, 2, 2);
    check_case(&c, 3, 1);
    check_case(&tall, 2, 1); /* tall parts: 1..4-wide column strips run transposed */
    int mode = -1;
    const char *impl = starhalo_kern_dnnl_last_impl(&mode);
    printf("conv2d impl: %s (mode %d), transposed calls %d\n", impl, mode, transposed_seen);
    assert_true(transposed_seen > 0);
}

/* Interior regions may run on the whole dense tile and crop, and with exclusive access write
 * the result straight into the output tile: same results, and both happen. */
static void cropped_interiors(void **state)
{
    (void)state;
    const layer_case_t a = {-1, 2, 3, 5, 60, 64, {3, 1, 1, 1}};
    const layer_case_t b = {-1, 1, 2, 3, 70, 66, {3, 2, 2, 1}};
    const layer_case_t c = {-1, 1, 3, 2, 59, 67, {5, 1, 1, 2}};
    const layer_case_t pm = {STARHALO_POOL_MAX, 2, 2, 0, 60, 64, {3, 1, 1, 1}};
    const layer_case_t pa = {STARHALO_POOL_AVG_EXCLUDE, 1, 3, 0, 66, 62, {3, 2, 1, 1}};
    kern_flags = STARHALO_KERN_READ_WHOLE_TILE;
    crops_seen = 0;
    check_case(&a, 2, 2);
    check_case(&b, 2, 1);
    check_case(&c, 1, 2);
    check_case(&pm, 2, 2);
    check_case(&pa, 2, 2);
    printf("cropped calls: %d\n", crops_seen);
    assert_true(crops_seen > 0);
    assert_int_equal(direct_seen, 0);
    kern_flags = STARHALO_KERN_READ_WHOLE_TILE | STARHALO_KERN_EXCLUSIVE_OUTPUT;
    check_case(&a, 2, 2);
    check_case(&b, 2, 1);
    check_case(&c, 1, 2);
    check_case(&pm, 2, 2);
    check_case(&pa, 2, 2);
    printf("direct calls: %d\n", direct_seen);
    assert_true(direct_seen > 0);
    kern_flags = 0;
}

/* Image-border ghosts as padding (READ_WHOLE_TILE): zero ones let a part's whole owned box
 * run in place on the dense ghosted tile; nonzero ones (a stencil's boundary values, a
 * periodic exchange) are padding again. Every op and both ghost contents against the
 * references. */
static void border_ghosts_as_padding(void **state)
{
    (void)state;
    const layer_case_t cases[] = {
        {-1, 1, 3, 4, 30, 26, {3, 1, 1, 1}},
        {-1, 2, 2, 3, 27, 25, {3, 2, 1, 1}},
        {-1, 1, 2, 2, 26, 31, {5, 1, 2, 4}},
        {STARHALO_POOL_MAX, 1, 2, 0, 22, 26, {3, 1, 1, 1}},
        {STARHALO_POOL_AVG, 1, 2, 0, 22, 26, {3, 1, 1, 1}},
        {STARHALO_POOL_AVG_EXCLUDE, 1, 2, 0, 22, 26, {3, 1, 1, 1}},
    };
    const float values[] = {0.0f, 7.0f, -0.0f};
    for (int f = 0; f < 2; f++) {
        kern_flags = f ? STARHALO_KERN_READ_WHOLE_TILE | STARHALO_KERN_EXCLUSIVE_OUTPUT
                       : STARHALO_KERN_READ_WHOLE_TILE;
        for (size_t v = 0; v < sizeof values / sizeof *values; v++) {
            border_value = values[v];
            for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                check_case(&cases[i], 2, 1);
                check_case(&cases[i], 2, 2);
            }
        }
    }
    /* Part 0 of a 1 x 2 split, 3x3 'same': the owned box's window reaches the zero border
     * ghosts on three sides and the halo on the fourth, i.e. it is the whole tile. */
    const starhalo_box_t ib = kt_box(-1, 17, -1, 9), ob = kt_box(0, 16, 0, 8);
    const starhalo_box_t image = kt_box(0, 16, 0, 16);
    const starhalo_kern_tile_t it = starhalo_kern_tile_make(&ib, 1, 2);
    const starhalo_kern_tile_t ot = starhalo_kern_tile_make(&ob, 1, 3);
    float *in = calloc((size_t)starhalo_kern_tile_elems(&it), sizeof(float));
    float *out = calloc((size_t)starhalo_kern_tile_elems(&ot), sizeof(float));
    float *w = calloc(3 * 2 * 9, sizeof(float));
    const starhalo_layer_t L = {3, 1, 1, 1};
    int mode = -1;
    for (int c = 0; c < 2; c++)
        for (int64_t y = 1; y < 10; y++)
            for (int64_t x = 1; x < 17; x++)
                in[(c * 10 + y) * 18 + x] = (float)(x + y + c);
    assert_status_ok(starhalo_kern_conv2d_cpu_ex(&it, in, w, NULL, &L, &ot, out, &ob, &image,
                                                 STARHALO_KERN_READ_WHOLE_TILE));
    starhalo_kern_dnnl_last_impl(&mode);
    assert_int_equal(mode, 1); /* in place: no copy */
    assert_status_ok(starhalo_kern_conv2d_cpu_ex(&it, in, w, NULL, &L, &ot, out, &ob, &image, 0));
    starhalo_kern_dnnl_last_impl(&mode);
    assert_int_equal(mode, 0); /* may not read outside the window: padding, copy */
    in[5] = 1.0f;              /* a nonzero border ghost (row -1) */
    assert_status_ok(starhalo_kern_conv2d_cpu_ex(&it, in, w, NULL, &L, &ot, out, &ob, &image,
                                                 STARHALO_KERN_READ_WHOLE_TILE));
    starhalo_kern_dnnl_last_impl(&mode);
    assert_int_equal(mode, 0);
    free(in);
    free(out);
    free(w);
    border_value = 0.0f;
    kern_flags = 0;
}

static void conv_stride_dilation_padding(void **state)
{
    (void)state;
    const layer_case_t a = {-1, 1, 2, 4, 21, 17, {3, 2, 1, 1}};
    const layer_case_t b = {-1, 2, 3, 2, 20, 25, {3, 1, 2, 2}};
    const layer_case_t c = {-1, 1, 4, 3, 18, 18, {5, 1, 1, 0}};
    const layer_case_t d = {-1, 1, 2, 3, 23, 19, {4, 3, 1, 1}};
    check_case(&a, 2, 2);
    check_case(&b, 2, 2);
    check_case(&c, 1, 2);
    check_case(&d, 2, 1);
}

static void pool_max(void **state)
{
    (void)state;
    const layer_case_t tall = {STARHALO_POOL_MAX, 1, 2, 0, 43, 20, {3, 1, 1, 1}};
    transposed_seen = 0;
    check_case(&tall, 2, 1);
    assert_true(transposed_seen > 0);
    const layer_case_t a = {STARHALO_POOL_MAX, 2, 3, 0, 17, 21, {3, 1, 1, 1}};
    const layer_case_t b = {STARHALO_POOL_MAX, 1, 2, 0, 20, 24, {2, 2, 1, 0}};
    const layer_case_t c = {STARHALO_POOL_MAX, 1, 2, 0, 19, 22, {3, 2, 1, 1}};
    check_case(&a, 2, 2);
    check_case(&b, 2, 2);
    check_case(&c, 3, 1);
}

static void pool_average(void **state)
{
    (void)state;
    const layer_case_t a = {STARHALO_POOL_AVG, 2, 3, 0, 17, 21, {3, 1, 1, 1}};
    const layer_case_t b = {STARHALO_POOL_AVG_EXCLUDE, 1, 2, 0, 19, 22, {3, 2, 1, 1}};
    const layer_case_t c = {STARHALO_POOL_AVG, 1, 2, 0, 20, 24, {2, 2, 1, 0}};
    check_case(&a, 2, 2);
    check_case(&b, 2, 2);
    check_case(&c, 2, 1);
}

static void bad_geometry_is_refused(void **state)
{
    (void)state;
    const starhalo_box_t ib = kt_box(0, 10, 0, 10), ob = kt_box(0, 10, 0, 10);
    const starhalo_kern_tile_t it = starhalo_kern_tile_make(&ib, 1, 1);
    const starhalo_kern_tile_t ot = starhalo_kern_tile_make(&ob, 1, 2);
    float in[100] = {0}, out[200], wt[18] = {0};
    const starhalo_layer_t L = {3, 1, 1, 1};
    /* The image is larger than the tile: output x = 9 needs input x = 10 inside the image. */
    const starhalo_box_t image = kt_box(0, 20, 0, 10);
    assert_int_equal(starhalo_kern_conv2d_cpu(&it, in, wt, NULL, &L, &ot, out, &ob, &image),
                     STARHALO_ERR_OUT_OF_RANGE);
    const starhalo_box_t outside = kt_box(0, 11, 0, 10);
    assert_int_equal(starhalo_kern_conv2d_cpu(&it, in, wt, NULL, &L, &ot, out, &outside, NULL),
                     STARHALO_ERR_INVALID_ARG);
    const starhalo_layer_t bad = {0, 1, 1, 0};
    assert_int_equal(starhalo_kern_conv2d_cpu(&it, in, wt, NULL, &bad, &ot, out, &ob, NULL),
                     STARHALO_ERR_INVALID_ARG);
    /* Pooling must keep the channel count. */
    assert_int_equal(starhalo_kern_pool2d_cpu(STARHALO_POOL_MAX, &it, in, &L, &ot, out, &ob, NULL),
                     STARHALO_ERR_INVALID_ARG);
    starhalo_kern_dnnl_thread_cleanup();
}

/* oneDNN (OpenMP build) must not start a thread team inside a kernel call: the process stays
 * single-threaded after a large conv (Linux: one entry in /proc/self/task). */
static int count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void onednn_runs_on_one_thread(void **state)
{
    (void)state;
    const starhalo_box_t ib = kt_box(-1, 129, -1, 129), ob = kt_box(0, 128, 0, 128);
    const starhalo_kern_tile_t it = starhalo_kern_tile_make(&ib, 1, 16);
    const starhalo_kern_tile_t ot = starhalo_kern_tile_make(&ob, 1, 16);
    float *in = calloc((size_t)starhalo_kern_tile_elems(&it), sizeof(float));
    float *out = calloc((size_t)starhalo_kern_tile_elems(&ot), sizeof(float));
    float *w = calloc(16 * 16 * 9, sizeof(float));
    const starhalo_layer_t L = {3, 1, 1, 1};
    assert_status_ok(starhalo_kern_conv2d_cpu(&it, in, w, NULL, &L, &ot, out, &ob, NULL));
    assert_status_ok(starhalo_kern_pool2d_cpu(STARHALO_POOL_MAX, &it, in, &L, &ot, out, &ob, NULL));
    assert_int_equal(count_threads(), 1);
    free(in);
    free(out);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conv_same_3x3),
        cmocka_unit_test(conv_stride_dilation_padding),
        cmocka_unit_test(cropped_interiors),
        cmocka_unit_test(border_ghosts_as_padding),
        cmocka_unit_test(pool_max),
        cmocka_unit_test(pool_average),
        cmocka_unit_test(bad_geometry_is_refused),
        cmocka_unit_test(onednn_runs_on_one_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
