/* SPDX-License-Identifier: MIT */
/**
 * @file test_cnn_kernels.c
 * @brief Tests the CNN backward kernels: conv2d backward data / weights against naive loops
 * written here (gather form, i.e. a different formula than the kernels' scatter), the
 * distributed form (parts' ghosted gradients scattered back with SUM equal the whole image's),
 * ReLU, finite differences of a tiny conv -> ReLU -> conv network computed in double, and
 * bad geometry. The per-cell / per-tap functions the CUDA kernels run (kern_index.h, through
 * the _by_element CPU entry points) must give the CPU kernels' results bit for bit. The oneDNN
 * kernels the CPU codelets run (_dnnl) must match the loop kernels within 1e-5 (max norm) over a
 * geometry sweep of whole images and ghosted parts, and reject what the loops reject. Grouped
 * and depthwise convs (the _g kernels: oneDNN forward, oneDNN and loop backward) against
 * naive grouped loops, on whole images and ghosted parts.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "starhalo_kernels_cnn.h"
#include "starhalo_test.h"

static float frand(uint64_t *s)
{
    return (float)((double)(starhalo_test_rand(s) >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static void frand_fill(float *p, int64_t n, uint64_t *s)
{
    for (int64_t i = 0; i < n; i++)
        p[i] = frand(s);
}

static starhalo_box_t box2(int64_t x0, int64_t x1, int64_t y0, int64_t y1)
{
    starhalo_box_t b = {{x0, y0, 0}, {x1, y1, 1}};
    return b;
}

/* Whole-image geometry: input H x W (zero padded by the layer), output OH x OW. */
typedef struct img {
    int64_t n, cin, cout, h, w, oh, ow;
    starhalo_layer_t l;
} img_t;

static int64_t out_ext(const starhalo_layer_t *l, int64_t n)
{
    return (n + 2 * l->padding - l->dilation * (l->kernel - 1) - 1) / l->stride + 1;
}

/* x at global input cell (y, x); 0 outside the image (zero padding). */
static double at(const img_t *g, const float *x, int64_t n, int64_t c, int64_t y, int64_t xx)
{
    if (y < 0 || y >= g->h || xx < 0 || xx >= g->w)
        return 0.0;
    return x[((n * g->cin + c) * g->h + y) * g->w + xx];
}

/* Naive dL/dx (gather form): for each input cell, the outputs whose window holds it. */
static void naive_bwd_data(const img_t *g, const float *dy, const float *w, double *dx)
{
    const int k = g->l.kernel, s = g->l.stride, d = g->l.dilation, p = g->l.padding;
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t ci = 0; ci < g->cin; ci++)
            for (int64_t y = 0; y < g->h; y++)
                for (int64_t x = 0; x < g->w; x++) {
                    double acc = 0.0;
                    for (int64_t co = 0; co < g->cout; co++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                const int64_t ny = y + p - ky * d, nx = x + p - kx * d;
                                if (ny % s || nx % s || ny < 0 || nx < 0)
                                    continue;
                                const int64_t oy = ny / s, ox = nx / s;
                                if (oy >= g->oh || ox >= g->ow)
                                    continue;
                                acc += (double)dy[((n * g->cout + co) * g->oh + oy) * g->ow + ox] *
                                       w[((co * g->cin + ci) * k + ky) * k + kx];
                            }
                    dx[((n * g->cin + ci) * g->h + y) * g->w + x] = acc;
                }
}

static void naive_bwd_weights(const img_t *g, const float *x, const float *dy, double *dw)
{
    const int k = g->l.kernel, s = g->l.stride, d = g->l.dilation, p = g->l.padding;
    for (int64_t co = 0; co < g->cout; co++)
        for (int64_t ci = 0; ci < g->cin; ci++)
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++) {
                    double acc = 0.0;
                    for (int64_t n = 0; n < g->n; n++)
                        for (int64_t oy = 0; oy < g->oh; oy++)
                            for (int64_t ox = 0; ox < g->ow; ox++)
                                acc += dy[((n * g->cout + co) * g->oh + oy) * g->ow + ox] *
                                       at(g, x, n, ci, oy * s - p + ky * d, ox * s - p + kx * d);
                    dw[((co * g->cin + ci) * k + ky) * k + kx] = acc;
                }
}

static double rel_err(const double *ref, const double *got, int64_t n)
{
    double num = 0.0, den = 0.0;
    for (int64_t i = 0; i < n; i++) {
        num += (ref[i] - got[i]) * (ref[i] - got[i]);
        den += ref[i] * ref[i];
    }
    return sqrt(num / (den > 0 ? den : 1.0));
}

/* Copy an image into a zero tile grown by pad (the zero-padded image). */
static float *padded(const img_t *g, const float *x, int pad)
{
    const int64_t gh = g->h + 2 * pad, gw = g->w + 2 * pad;
    float *t = calloc((size_t)(g->n * g->cin * gh * gw), sizeof *t);
    for (int64_t pl = 0; pl < g->n * g->cin; pl++)
        for (int64_t y = 0; y < g->h; y++)
            memcpy(t + (pl * gh + y + pad) * gw + pad, x + (pl * g->h + y) * g->w,
                   sizeof(float) * (size_t)g->w);
    return t;
}

static void check_whole(const starhalo_layer_t *l, int64_t n, int64_t cin, int64_t cout, int64_t h,
                        int64_t w)
{
    img_t g = {n, cin, cout, h, w, out_ext(l, h), out_ext(l, w), *l};
    uint64_t seed = 0x1234 + (uint64_t)(l->kernel * 131 + l->stride * 17 + l->dilation);
    const int64_t nx = n * cin * h * w, ny = n * cout * g.oh * g.ow,
                  nwt = cout * cin * l->kernel * l->kernel;
    float *x = malloc(sizeof(float) * (size_t)nx), *dy = malloc(sizeof(float) * (size_t)ny);
    float *wt = malloc(sizeof(float) * (size_t)nwt);
    frand_fill(x, nx, &seed);
    frand_fill(dy, ny, &seed);
    frand_fill(wt, nwt, &seed);
    /* The zero-padded image as one tile grown by pad + whatever the last window needs. */
    const int pad = l->padding + l->dilation * l->kernel + l->stride;
    starhalo_box_t ibox = box2(-pad, w + pad, -pad, h + pad);
    starhalo_box_t obox = box2(0, g.ow, 0, g.oh);
    starhalo_kern_tile_t it = starhalo_kern_tile_make(&ibox, n, cin);
    starhalo_kern_tile_t ot = starhalo_kern_tile_make(&obox, n, cout);
    float *xt = padded(&g, x, pad);
    float *gi = malloc(sizeof(float) * (size_t)starhalo_kern_tile_elems(&it));
    assert_status_ok(starhalo_kern_conv2d_bwd_data_cpu(&ot, dy, wt, l, &it, gi, &obox));
    double *ref = malloc(sizeof(double) * (size_t)nx), *got = malloc(sizeof(double) * (size_t)nx);
    naive_bwd_data(&g, dy, wt, ref);
    const int64_t gw = w + 2 * pad, gh = h + 2 * pad;
    for (int64_t pl = 0; pl < n * cin; pl++)
        for (int64_t y = 0; y < h; y++)
            for (int64_t xx = 0; xx < w; xx++)
                got[(pl * h + y) * w + xx] = gi[(pl * gh + y + pad) * gw + xx + pad];
    double e = rel_err(ref, got, nx);
    print_message("bwd_data k%d s%d d%d p%d: rel err %.2e\n", l->kernel, l->stride, l->dilation,
                  l->padding, e);
    assert_true(e <= 1e-6);
    double *dw = malloc(sizeof(double) * (size_t)nwt), *dwr = malloc(sizeof(double) * (size_t)nwt);
    assert_status_ok(starhalo_kern_conv2d_bwd_weights_cpu(&it, xt, &ot, dy, l, &obox, dw));
    naive_bwd_weights(&g, x, dy, dwr);
    e = rel_err(dwr, dw, nwt);
    print_message("bwd_weights: rel err %.2e\n", e);
    assert_true(e <= 1e-12);
    float *gib = malloc(sizeof(float) * (size_t)starhalo_kern_tile_elems(&it));
    double *dwb = malloc(sizeof(double) * (size_t)nwt);
    assert_status_ok(starhalo_kern_conv2d_bwd_data_by_element_cpu(&ot, dy, wt, l, &it, gib, &obox));
    assert_status_ok(
        starhalo_kern_conv2d_bwd_weights_by_element_cpu(&it, xt, &ot, dy, l, &obox, dwb));
    assert_memory_equal(gib, gi, sizeof(float) * (size_t)starhalo_kern_tile_elems(&it));
    assert_memory_equal(dwb, dw, sizeof(double) * (size_t)nwt);
    free(gib), free(dwb);
    free(x), free(dy), free(wt), free(xt), free(gi), free(ref), free(got), free(dw), free(dwr);
}

static void whole_image(void **state)
{
    (void)state;
    const starhalo_layer_t ls[] = {
        {3, 1, 1, 1}, {5, 1, 1, 2}, {3, 1, 2, 2}, {3, 2, 1, 1}, {2, 1, 1, 0}, {4, 3, 1, 1},
    };
    for (size_t i = 0; i < sizeof ls / sizeof ls[0]; i++)
        check_whole(&ls[i], 2, 3, 4, 11, 13);
}

/*
 * The distributed form on a 3 x 2 grid of parts with ghost width = padding: each part's
 * backward data over its owned outputs on its ghosted tile, every tile cell added into the
 * global image at its global position when inside the image (what the reverse SUM exchange
 * does; image-border ghosts are dropped) gives the whole image's gradient; the parts' weight
 * gradients add up to the whole one.
 */
static void parts_sum_to_whole(void **state)
{
    (void)state;
    const starhalo_layer_t l = {3, 1, 1, 1};
    img_t g = {1, 2, 3, 10, 9, 10, 9, l};
    uint64_t seed = 99;
    const int64_t nx = 2 * 90, ny = 3 * 90, nwt = 3 * 2 * 9;
    float x[180], dy[270], wt[54];
    frand_fill(x, nx, &seed);
    frand_fill(dy, ny, &seed);
    frand_fill(wt, nwt, &seed);
    double sum[180] = {0}, ref[180], dws[54] = {0}, dwr[54], dw[54];
    const int64_t xc[4] = {0, 3, 6, 9}, yc[3] = {0, 4, 10};
    for (int py = 0; py < 2; py++)
        for (int px = 0; px < 3; px++) {
            starhalo_box_t own = box2(xc[px], xc[px + 1], yc[py], yc[py + 1]);
            starhalo_box_t gb = box2(own.lo[0] - 1, own.hi[0] + 1, own.lo[1] - 1, own.hi[1] + 1);
            starhalo_kern_tile_t it = starhalo_kern_tile_make(&gb, 1, 2);
            starhalo_kern_tile_t ot = starhalo_kern_tile_make(&gb, 1, 3);
            const int64_t gw = gb.hi[0] - gb.lo[0], gh = gb.hi[1] - gb.lo[1];
            float xt[2 * 8 * 5], dyt[3 * 8 * 5], gi[2 * 8 * 5];
            for (int64_t c = 0; c < 3; c++)
                for (int64_t y = 0; y < gh; y++)
                    for (int64_t xx = 0; xx < gw; xx++) {
                        const int64_t Y = gb.lo[1] + y, X = gb.lo[0] + xx;
                        const int in = Y >= 0 && Y < 10 && X >= 0 && X < 9;
                        /* output-gradient ghosts hold garbage: the kernel must not read them */
                        dyt[(c * gh + y) * gw + xx] = in ? dy[(c * 10 + Y) * 9 + X] : 1e6f;
                        if (c < 2)
                            xt[(c * gh + y) * gw + xx] = in ? x[(c * 10 + Y) * 9 + X] : 0.0f;
                    }
            for (int64_t c = 0; c < 3; c++)
                for (int64_t y = 0; y < gh; y++)
                    for (int64_t xx = 0; xx < gw; xx++) {
                        const int64_t Y = gb.lo[1] + y, X = gb.lo[0] + xx;
                        if (Y < own.lo[1] || Y >= own.hi[1] || X < own.lo[0] || X >= own.hi[0])
                            dyt[(c * gh + y) * gw + xx] = 1e6f;
                    }
            assert_status_ok(starhalo_kern_conv2d_bwd_data_cpu(&ot, dyt, wt, &l, &it, gi, &own));
            assert_status_ok(starhalo_kern_conv2d_bwd_weights_cpu(&it, xt, &ot, dyt, &l, &own, dw));
            float gib[2 * 8 * 5];
            double dwb[54];
            assert_status_ok(
                starhalo_kern_conv2d_bwd_data_by_element_cpu(&ot, dyt, wt, &l, &it, gib, &own));
            assert_status_ok(
                starhalo_kern_conv2d_bwd_weights_by_element_cpu(&it, xt, &ot, dyt, &l, &own, dwb));
            assert_memory_equal(gib, gi, sizeof(float) * (size_t)(2 * gw * gh));
            assert_memory_equal(dwb, dw, sizeof dwb);
            for (int64_t k = 0; k < nwt; k++)
                dws[k] += dw[k];
            for (int64_t c = 0; c < 2; c++)
                for (int64_t y = 0; y < gh; y++)
                    for (int64_t xx = 0; xx < gw; xx++) {
                        const int64_t Y = gb.lo[1] + y, X = gb.lo[0] + xx;
                        if (Y >= 0 && Y < 10 && X >= 0 && X < 9)
                            sum[(c * 10 + Y) * 9 + X] += gi[(c * gh + y) * gw + xx];
                    }
        }
    naive_bwd_data(&g, dy, wt, ref);
    naive_bwd_weights(&g, x, dy, dwr);
    assert_true(rel_err(ref, sum, nx) <= 1e-6);
    assert_true(rel_err(dwr, dws, nwt) <= 1e-12);
}

static void relu(void **state)
{
    (void)state;
    starhalo_box_t tb = box2(-1, 5, -1, 4), r = box2(0, 4, 0, 3);
    starhalo_kern_tile_t t = starhalo_kern_tile_make(&tb, 1, 2);
    float a[72], b[72], gr[72];
    uint64_t seed = 5;
    for (int i = 0; i < 72; i++) {
        a[i] = frand(&seed);
        b[i] = 7.0f;
        gr[i] = frand(&seed) + 3.0f;
    }
    float g0[72];
    memcpy(g0, gr, sizeof gr);
    assert_status_ok(starhalo_kern_relu_cpu(&t, a, b, &r));
    assert_status_ok(starhalo_kern_relu_bwd_cpu(&t, a, gr, &r));
    for (int c = 0; c < 2; c++)
        for (int y = 0; y < 5; y++)
            for (int x = 0; x < 6; x++) {
                const int i = (c * 5 + y) * 6 + x;
                const int in = y >= 1 && y < 4 && x >= 1 && x < 5;
                assert_true(b[i] == (in ? (a[i] > 0 ? a[i] : 0.0f) : 7.0f));
                assert_true(gr[i] == (in ? (a[i] > 0 ? g0[i] : 0.0f) : g0[i]));
            }
}

/* ---- finite differences on conv(2->3) -> ReLU -> conv(3->2), loss 0.5 sum (y - t)^2 ---- */

enum { FH = 6, FW = 5, C0 = 2, C1 = 3, C2 = 2 };

/* Double-precision forward of one 3x3 "same" conv on an FH x FW image (naive). */
static void dconv(const double *x, int cin, const double *w, int cout, double *y)
{
    for (int co = 0; co < cout; co++)
        for (int oy = 0; oy < FH; oy++)
            for (int ox = 0; ox < FW; ox++) {
                double acc = 0.0;
                for (int ci = 0; ci < cin; ci++)
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            const int iy = oy - 1 + ky, ix = ox - 1 + kx;
                            if (iy >= 0 && iy < FH && ix >= 0 && ix < FW)
                                acc += x[(ci * FH + iy) * FW + ix] *
                                       w[((co * cin + ci) * 3 + ky) * 3 + kx];
                        }
                y[(co * FH + oy) * FW + ox] = acc;
            }
}

static double dloss(const double *x, const double *w1, const double *w2, const double *t)
{
    double h[C1 * FH * FW], y[C2 * FH * FW], l = 0.0;
    dconv(x, C0, w1, C1, h);
    for (int i = 0; i < C1 * FH * FW; i++)
        h[i] = h[i] > 0 ? h[i] : 0.0;
    dconv(h, C1, w2, C2, y);
    for (int i = 0; i < C2 * FH * FW; i++)
        l += 0.5 * (y[i] - t[i]) * (y[i] - t[i]);
    return l;
}

static void finite_differences(void **state)
{
    (void)state;
    const starhalo_layer_t l = {3, 1, 1, 1};
    uint64_t seed = 77;
    enum { NX = C0 * FH * FW, NW1 = C1 * C0 * 9, NW2 = C2 * C1 * 9, NT = C2 * FH * FW };
    double x[NX], w1[NW1], w2[NW2], t[NT];
    for (int i = 0; i < NX; i++)
        x[i] = frand(&seed);
    for (int i = 0; i < NW1; i++)
        w1[i] = frand(&seed);
    for (int i = 0; i < NW2; i++)
        w2[i] = frand(&seed);
    for (int i = 0; i < NT; i++)
        t[i] = frand(&seed);
    /* Analytic gradients with the float kernels on padded whole-image tiles. */
    starhalo_box_t ob = box2(0, FW, 0, FH), pb = box2(-1, FW + 1, -1, FH + 1);
    starhalo_kern_tile_t x_t = starhalo_kern_tile_make(&pb, 1, C0),
                         h_t = starhalo_kern_tile_make(&pb, 1, C1),
                         y_t = starhalo_kern_tile_make(&pb, 1, C2);
    enum { PP = (FH + 2) * (FW + 2) };
    float xf[C0 * PP] = {0}, z1[C1 * PP] = {0}, a1[C1 * PP] = {0}, y[C2 * PP] = {0},
                  dy[C2 * PP] = {0}, da1[C1 * PP], dx[C0 * PP], w1f[NW1], w2f[NW2];
    for (int c = 0; c < C0; c++)
        for (int i = 0; i < FH; i++)
            for (int j = 0; j < FW; j++)
                xf[(c * (FH + 2) + i + 1) * (FW + 2) + j + 1] = (float)x[(c * FH + i) * FW + j];
    for (int i = 0; i < NW1; i++)
        w1f[i] = (float)w1[i];
    for (int i = 0; i < NW2; i++)
        w2f[i] = (float)w2[i];
    assert_status_ok(starhalo_kern_conv2d_cpu(&x_t, xf, w1f, NULL, &l, &h_t, z1, &ob, NULL));
    assert_status_ok(starhalo_kern_relu_cpu(&h_t, z1, a1, &ob));
    assert_status_ok(starhalo_kern_conv2d_cpu(&h_t, a1, w2f, NULL, &l, &y_t, y, &ob, NULL));
    for (int c = 0; c < C2; c++)
        for (int i = 0; i < FH; i++)
            for (int j = 0; j < FW; j++) {
                const int k = (c * (FH + 2) + i + 1) * (FW + 2) + j + 1;
                dy[k] = y[k] - (float)t[(c * FH + i) * FW + j];
            }
    double gw1[NW1], gw2[NW2];
    assert_status_ok(starhalo_kern_conv2d_bwd_weights_cpu(&h_t, a1, &y_t, dy, &l, &ob, gw2));
    assert_status_ok(starhalo_kern_conv2d_bwd_data_cpu(&y_t, dy, w2f, &l, &h_t, da1, &ob));
    assert_status_ok(starhalo_kern_relu_bwd_cpu(&h_t, z1, da1, &ob));
    assert_status_ok(starhalo_kern_conv2d_bwd_weights_cpu(&x_t, xf, &h_t, da1, &l, &ob, gw1));
    assert_status_ok(starhalo_kern_conv2d_bwd_data_cpu(&h_t, da1, w1f, &l, &x_t, dx, &ob));
    /* Central differences in double for a few entries of each gradient. */
    const double eps = 1e-5;
    double *vars[3] = {w1, w2, x};
    const int sizes[3] = {NW1, NW2, NX};
    for (int v = 0; v < 3; v++)
        for (int e = 0; e < 4; e++) {
            const int i = (e * 37 + v * 11) % sizes[v];
            const double keep = vars[v][i];
            vars[v][i] = keep + eps;
            const double lp = dloss(x, w1, w2, t);
            vars[v][i] = keep - eps;
            const double lm = dloss(x, w1, w2, t);
            vars[v][i] = keep;
            const double fd = (lp - lm) / (2 * eps);
            double an;
            if (v == 0)
                an = gw1[i];
            else if (v == 1)
                an = gw2[i];
            else {
                const int c = i / (FH * FW), r = i % (FH * FW);
                an = dx[(c * (FH + 2) + r / FW + 1) * (FW + 2) + r % FW + 1];
            }
            print_message("fd %s[%d]: analytic %.7f, finite difference %.7f\n",
                          v == 0   ? "w1"
                          : v == 1 ? "w2"
                                   : "x",
                          i, an, fd);
            assert_true(fabs(an - fd) <= 1e-4 * (1.0 + fabs(fd)));
        }
}

static void bad_geometry(void **state)
{
    (void)state;
    const starhalo_layer_t l = {3, 1, 1, 1};
    starhalo_box_t tb = box2(0, 6, 0, 6), r = box2(0, 6, 0, 6);
    starhalo_kern_tile_t t = starhalo_kern_tile_make(&tb, 1, 1);
    float a[36] = {0}, w[9] = {0}, b[36];
    double dw[9];
    /* The window of output column 0 needs input column -1: not in a tile without ghosts. */
    assert_int_equal(starhalo_kern_conv2d_bwd_data_cpu(&t, a, w, &l, &t, b, &r),
                     STARHALO_ERR_INVALID_ARG);
    assert_int_equal(starhalo_kern_conv2d_bwd_weights_cpu(&t, a, &t, a, &l, &r, dw),
                     STARHALO_ERR_INVALID_ARG);
    starhalo_box_t out_of_tile = box2(1, 7, 1, 5);
    assert_int_equal(starhalo_kern_relu_cpu(&t, a, b, &out_of_tile), STARHALO_ERR_INVALID_ARG);
    const starhalo_layer_t bad = {3, 0, 1, 1};
    starhalo_box_t in = box2(1, 5, 1, 5);
    assert_int_equal(starhalo_kern_conv2d_bwd_data_cpu(&t, a, w, &bad, &t, b, &in),
                     STARHALO_ERR_INVALID_ARG);
    assert_status_ok(starhalo_kern_conv2d_bwd_data_cpu(&t, a, w, &l, &t, b, &in));
}

/* ---- the oneDNN backward kernels (what the CPU codelets run) against the loop kernels ---- */

/* Which path the _dnnl calls took for their src side (starhalo_kern_dnnl_last_impl): [1] the
 * primitive used the tile itself, [0] a reorder between the tile window and the primitive's
 * layout. The worst errors seen (max norm, relative), data and weights. */
static int dnnl_path[2];
static double dnnl_worst[2];

/* Global input window of @p region in dim d: [first, last + 1). */
static void bwd_window(const starhalo_layer_t *l, const starhalo_box_t *r, int d, int64_t *lo,
                       int64_t *hi)
{
    *lo = r->lo[d] * l->stride - l->padding;
    *hi = (r->hi[d] - 1) * l->stride - l->padding + l->dilation * (l->kernel - 1) + 1;
}

/*
 * Both kernels on one region of one pair of tiles: grad_in over the WHOLE tile (pre-filled with
 * 7 to see that every cell is written; cells outside the region's input window must be exactly
 * 0) and grad_w, max-norm relative error <= 1e-5 against the loops.
 */
static void dnnl_compare(const starhalo_layer_t *l, const starhalo_kern_tile_t *it, const float *x,
                         const starhalo_kern_tile_t *ot, const float *dy, const float *w,
                         const starhalo_box_t *region)
{
    const int64_t ni = starhalo_kern_tile_elems(it);
    const int64_t nw = ot->channels * it->channels * l->kernel * l->kernel;
    float *ref = malloc(sizeof(float) * (size_t)ni), *got = malloc(sizeof(float) * (size_t)ni);
    double *dwr = malloc(sizeof(double) * (size_t)nw), *dwg = malloc(sizeof(double) * (size_t)nw);
    for (int64_t i = 0; i < ni; i++)
        got[i] = 7.0f;
    for (int64_t i = 0; i < nw; i++)
        dwg[i] = 7.0;
    assert_status_ok(starhalo_kern_conv2d_bwd_data_cpu(ot, dy, w, l, it, ref, region));
    assert_status_ok(starhalo_kern_conv2d_bwd_data_dnnl(ot, dy, w, l, it, got, region));
    int in_place = -1;
    const char *impl = starhalo_kern_dnnl_last_impl(&in_place);
    assert_true(in_place == 0 || in_place == 1);
    dnnl_path[in_place]++;
    int64_t wlo[2], whi[2];
    for (int d = 0; d < 2; d++)
        bwd_window(l, region, d, &wlo[d], &whi[d]);
    const int64_t gw = it->box.hi[0] - it->box.lo[0], gh = it->box.hi[1] - it->box.lo[1];
    double amax = 0.0, dmax = 0.0;
    for (int64_t i = 0; i < ni; i++) {
        const int64_t X = it->box.lo[0] + i % gw, Y = it->box.lo[1] + (i / gw) % gh;
        if (X < wlo[0] || X >= whi[0] || Y < wlo[1] || Y >= whi[1]) {
            assert_true(got[i] == 0.0f && ref[i] == 0.0f);
            continue;
        }
        amax = fmax(amax, fabs((double)ref[i]));
        dmax = fmax(dmax, fabs((double)ref[i] - (double)got[i]));
    }
    if (dmax > 1e-5 * amax)
        print_message("bwd_data k%d s%d d%d p%d (%s): max err %.3e, max %.3e\n", l->kernel,
                      l->stride, l->dilation, l->padding, impl, dmax, amax);
    assert_true(dmax <= 1e-5 * amax);
    dnnl_worst[0] = fmax(dnnl_worst[0], amax > 0 ? dmax / amax : 0.0);
    assert_status_ok(starhalo_kern_conv2d_bwd_weights_cpu(it, x, ot, dy, l, region, dwr));
    assert_status_ok(starhalo_kern_conv2d_bwd_weights_dnnl(it, x, ot, dy, l, region, dwg));
    amax = dmax = 0.0;
    for (int64_t i = 0; i < nw; i++) {
        amax = fmax(amax, fabs(dwr[i]));
        dmax = fmax(dmax, fabs(dwr[i] - dwg[i]));
    }
    if (dmax > 1e-5 * amax)
        print_message("bwd_weights k%d s%d d%d p%d (%s): max err %.3e, max %.3e\n", l->kernel,
                      l->stride, l->dilation, l->padding, starhalo_kern_dnnl_last_impl(NULL), dmax,
                      amax);
    assert_true(dmax <= 1e-5 * amax);
    dnnl_worst[1] = fmax(dnnl_worst[1], amax > 0 ? dmax / amax : 0.0);
    free(ref), free(got), free(dwr), free(dwg);
}

/* A tile of @p box: random values on the cells of @p valid, @p outside elsewhere. */
static float *tile_fill(const starhalo_kern_tile_t *t, const starhalo_box_t *valid, float outside,
                        uint64_t *seed)
{
    const int64_t n = starhalo_kern_tile_elems(t);
    const int64_t gw = t->box.hi[0] - t->box.lo[0], gh = t->box.hi[1] - t->box.lo[1];
    float *p = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        const int64_t X = t->box.lo[0] + i % gw, Y = t->box.lo[1] + (i / gw) % gh;
        const float v = frand(seed);
        p[i] = X >= valid->lo[0] && X < valid->hi[0] && Y >= valid->lo[1] && Y < valid->hi[1]
                   ? v
                   : outside;
    }
    return p;
}

static starhalo_box_t grow2(const starhalo_box_t *b, int64_t l, int64_t r, int64_t t, int64_t u)
{
    return box2(b->lo[0] - l, b->hi[0] + r, b->lo[1] - t, b->hi[1] + u);
}

/* The layers of the sweep: kernel 1..7, stride 1..2, dilation 1..2, padding 0..3 (112). */
enum { SWEEP = 7 * 2 * 2 * 4 };

static void sweep_layers(starhalo_layer_t *ls)
{
    int i = 0;
    for (int k = 1; k <= 7; k++)
        for (int s = 1; s <= 2; s++)
            for (int d = 1; d <= 2; d++)
                for (int p = 0; p <= 3; p++)
                    ls[i++] = (starhalo_layer_t){k, s, d, p};
}

/*
 * Batch 1..2 and channels 1..5 vary with the layer. Whole images (14..16 x 13..16, zero padded):
 * the input tile is the image grown by the padding (the window is the whole tile when the last
 * output's window ends at the tile's edge: dense) or by one more cell on some sides (a strided
 * window); the output tile is the output image (dense) or the output grown by one ghost cell
 * holding garbage (a strided region).
 */
static void dnnl_whole_images(void **state)
{
    (void)state;
    memset(dnnl_path, 0, sizeof dnnl_path);
    memset(dnnl_worst, 0, sizeof dnnl_worst);
    starhalo_layer_t ls[SWEEP];
    sweep_layers(ls);
    for (int i = 0; i < SWEEP; i++) {
        const starhalo_layer_t l = ls[i];
        const int64_t n = 1 + i % 2, cin = 1 + i % 5, cout = 1 + (i / 5) % 5;
        const int64_t h = 14 + i % 3, w = 13 + (i / 3) % 4;
        const starhalo_box_t img = box2(0, w, 0, h);
        const starhalo_box_t out = box2(0, out_ext(&l, w), 0, out_ext(&l, h));
        uint64_t seed = 1000 + (uint64_t)i;
        float *wt = malloc(sizeof(float) * (size_t)(cout * cin * l.kernel * l.kernel));
        frand_fill(wt, cout * cin * l.kernel * l.kernel, &seed);
        for (int variant = 0; variant < 2; variant++) {
            const int64_t e = variant; /* extra input ghosts and output ghosts */
            const starhalo_box_t ib =
                grow2(&img, l.padding + e, l.padding, l.padding, l.padding + e);
            const starhalo_box_t ob = grow2(&out, e, e, e, e);
            starhalo_kern_tile_t it = starhalo_kern_tile_make(&ib, n, cin);
            starhalo_kern_tile_t ot = starhalo_kern_tile_make(&ob, n, cout);
            float *x = tile_fill(&it, &img, 0.0f, &seed);
            float *dy = tile_fill(&ot, &out, 1e6f, &seed);
            dnnl_compare(&l, &it, x, &ot, dy, wt, &out);
            free(x), free(dy);
        }
        free(wt);
    }
    print_message("whole images: src side %d in place, %d reordered; worst rel. err data %.2e, "
                  "weights %.2e\n",
                  dnnl_path[1], dnnl_path[0], dnnl_worst[0], dnnl_worst[1]);
    assert_true(dnnl_path[1] > 0 && dnnl_path[0] > 0);
}

/*
 * Ghosted parts: the output image is split 2 x 2; each part's output tile is its owned box
 * grown by one ghost cell (garbage), its input tile the owned box's input window (zero outside
 * the image: image-border ghosts) grown by 0 or 1 cell per side, so the window touches some
 * tile edges and not others. Regions: the owned box, its first row, its first column, its last
 * column, its interior (shrunk by 1) and its last cell.
 */
static void dnnl_ghosted_parts(void **state)
{
    (void)state;
    memset(dnnl_path, 0, sizeof dnnl_path);
    memset(dnnl_worst, 0, sizeof dnnl_worst);
    starhalo_layer_t ls[SWEEP];
    sweep_layers(ls);
    for (int i = 0; i < SWEEP; i++) {
        const starhalo_layer_t l = ls[i];
        const int64_t n = 1 + (i + 1) % 2, cin = 1 + (i / 3) % 5, cout = 1 + i % 5;
        const int64_t h = 16 + i % 2, w = 15 + (i / 2) % 3;
        const starhalo_box_t img = box2(0, w, 0, h);
        const int64_t ow = out_ext(&l, w), oh = out_ext(&l, h);
        const int64_t xc[3] = {0, ow / 2, ow}, yc[3] = {0, oh / 2, oh};
        uint64_t seed = 2000 + (uint64_t)i;
        float *wt = malloc(sizeof(float) * (size_t)(cout * cin * l.kernel * l.kernel));
        frand_fill(wt, cout * cin * l.kernel * l.kernel, &seed);
        for (int py = 0; py < 2; py++)
            for (int px = 0; px < 2; px++) {
                const starhalo_box_t own = box2(xc[px], xc[px + 1], yc[py], yc[py + 1]);
                if (own.hi[0] <= own.lo[0] || own.hi[1] <= own.lo[1])
                    continue;
                int64_t lo[2], hi[2];
                for (int d = 0; d < 2; d++)
                    bwd_window(&l, &own, d, &lo[d], &hi[d]);
                const starhalo_box_t win = box2(lo[0], hi[0], lo[1], hi[1]);
                const int m = (px + 2 * py + i) % 4;
                const starhalo_box_t ib = grow2(&win, m & 1, (m >> 1) & 1, (m >> 1) & 1, m & 1);
                const starhalo_box_t ob = grow2(&own, 1, 1, 1, 1);
                starhalo_kern_tile_t it = starhalo_kern_tile_make(&ib, n, cin);
                starhalo_kern_tile_t ot = starhalo_kern_tile_make(&ob, n, cout);
                float *x = tile_fill(&it, &img, 0.0f, &seed);
                float *dy = tile_fill(&ot, &own, 1e6f, &seed);
                const starhalo_box_t regions[6] = {
                    own,
                    box2(own.lo[0], own.hi[0], own.lo[1], own.lo[1] + 1),
                    box2(own.lo[0], own.lo[0] + 1, own.lo[1], own.hi[1]),
                    box2(own.hi[0] - 1, own.hi[0], own.lo[1], own.hi[1]),
                    grow2(&own, -1, -1, -1, -1),
                    box2(own.hi[0] - 1, own.hi[0], own.hi[1] - 1, own.hi[1]),
                };
                for (int r = 0; r < 6; r++)
                    if (regions[r].hi[0] > regions[r].lo[0] && regions[r].hi[1] > regions[r].lo[1])
                        dnnl_compare(&l, &it, x, &ot, dy, wt, &regions[r]);
                free(x), free(dy);
            }
        free(wt);
    }
    print_message("ghosted parts: src side %d in place, %d reordered; worst rel. err data %.2e, "
                  "weights %.2e\n",
                  dnnl_path[1], dnnl_path[0], dnnl_worst[0], dnnl_worst[1]);
    assert_true(dnnl_path[1] > 0 && dnnl_path[0] > 0);
}

/*
 * Regions large enough for backward weights to run in several bands of output rows (at most
 * 4096 products per tap per oneDNN call, summed in double): two equal bands, unequal ones,
 * single rows longer than a band (batch x width > 4096), with stride 2 and dilation 2, on a
 * ghosted part whose input tile holds one more cell than the window on each side.
 */
static void dnnl_weight_bands(void **state)
{
    (void)state;
    const struct {
        int64_t n, cin, cout, w, h;
        starhalo_layer_t l;
    } cases[] = {
        {2, 3, 2, 70, 40, {3, 1, 1, 1}},  {1, 2, 3, 64, 129, {3, 1, 1, 1}},
        {2, 1, 2, 2100, 3, {3, 1, 1, 1}}, {2, 2, 2, 90, 61, {3, 2, 1, 1}},
        {1, 4, 5, 100, 77, {5, 1, 2, 4}}, {4, 16, 16, 64, 64, {3, 1, 1, 1}},
    };
    memset(dnnl_worst, 0, sizeof dnnl_worst);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const starhalo_layer_t l = cases[c].l;
        uint64_t seed = 3000 + (uint64_t)c;
        const starhalo_box_t own = box2(0, cases[c].w, 0, cases[c].h);
        int64_t lo[2], hi[2];
        for (int d = 0; d < 2; d++)
            bwd_window(&l, &own, d, &lo[d], &hi[d]);
        const starhalo_box_t win = box2(lo[0], hi[0], lo[1], hi[1]);
        const starhalo_box_t ib = grow2(&win, 1, 1, 1, 1), ob = grow2(&own, 1, 1, 1, 1);
        const starhalo_box_t img = box2(0, 1 << 20, 0, 1 << 20);
        starhalo_kern_tile_t it = starhalo_kern_tile_make(&ib, cases[c].n, cases[c].cin);
        starhalo_kern_tile_t ot = starhalo_kern_tile_make(&ob, cases[c].n, cases[c].cout);
        const int64_t nw = cases[c].cout * cases[c].cin * l.kernel * l.kernel;
        float *wt = malloc(sizeof(float) * (size_t)nw);
        frand_fill(wt, nw, &seed);
        float *x = tile_fill(&it, &img, 0.0f, &seed);
        float *dy = tile_fill(&ot, &own, 1e6f, &seed);
        dnnl_compare(&l, &it, x, &ot, dy, wt, &own);
        free(x), free(dy), free(wt);
    }
    print_message("bands: worst rel. err data %.2e, weights %.2e\n", dnnl_worst[0], dnnl_worst[1]);
}

/* The loop kernels' geometry errors are the _dnnl kernels' too; an empty region zeroes. */
static void dnnl_bad_geometry(void **state)
{
    (void)state;
    const starhalo_layer_t l = {3, 1, 1, 1}, bad = {3, 0, 1, 1};
    starhalo_box_t tb = box2(0, 6, 0, 6), r = box2(0, 6, 0, 6), in = box2(1, 5, 1, 5);
    starhalo_kern_tile_t t = starhalo_kern_tile_make(&tb, 1, 1),
                         t2 = starhalo_kern_tile_make(&tb, 2, 1);
    float a[72] = {0}, w[9] = {0}, b[72];
    double dw[9];
    /* The window of output column 0 needs input column -1: not in a tile without ghosts. */
    assert_int_equal(starhalo_kern_conv2d_bwd_data_dnnl(&t, a, w, &l, &t, b, &r),
                     STARHALO_ERR_INVALID_ARG);
    assert_int_equal(starhalo_kern_conv2d_bwd_weights_dnnl(&t, a, &t, a, &l, &r, dw),
                     STARHALO_ERR_INVALID_ARG);
    assert_int_equal(starhalo_kern_conv2d_bwd_data_dnnl(&t, a, w, &bad, &t, b, &in),
                     STARHALO_ERR_INVALID_ARG);
    assert_int_equal(starhalo_kern_conv2d_bwd_weights_dnnl(&t, a, &t, a, &bad, &in, dw),
                     STARHALO_ERR_INVALID_ARG);
    starhalo_box_t out_of_tile = box2(1, 7, 1, 5);
    assert_int_equal(starhalo_kern_conv2d_bwd_data_dnnl(&t, a, w, &l, &t, b, &out_of_tile),
                     STARHALO_ERR_INVALID_ARG);
    assert_int_equal(starhalo_kern_conv2d_bwd_weights_dnnl(&t, a, &t, a, &l, &out_of_tile, dw),
                     STARHALO_ERR_INVALID_ARG);
    assert_int_equal(starhalo_kern_conv2d_bwd_data_dnnl(&t, a, w, &l, &t2, b, &in),
                     STARHALO_ERR_INVALID_ARG); /* batch 1 out, 2 in */
    assert_int_equal(starhalo_kern_conv2d_bwd_weights_dnnl(&t2, a, &t, a, &l, &in, dw),
                     STARHALO_ERR_INVALID_ARG);
    assert_int_equal(starhalo_kern_conv2d_bwd_data_dnnl(&t, a, NULL, &l, &t, b, &in),
                     STARHALO_ERR_INVALID_ARG);
    assert_int_equal(starhalo_kern_conv2d_bwd_weights_dnnl(&t, a, &t, a, &l, &in, NULL),
                     STARHALO_ERR_INVALID_ARG);
    assert_int_equal(starhalo_kern_conv2d_bwd_data_dnnl(&t, a, w, &l, &t, b, NULL),
                     STARHALO_ERR_INVALID_ARG);
    /* An empty region: the whole input-gradient tile and the weight gradient are zeros. */
    starhalo_box_t empty = box2(2, 2, 1, 5);
    for (int i = 0; i < 36; i++)
        b[i] = 7.0f;
    for (int i = 0; i < 9; i++)
        dw[i] = 7.0;
    assert_status_ok(starhalo_kern_conv2d_bwd_data_dnnl(&t, a, w, &l, &t, b, &empty));
    assert_status_ok(starhalo_kern_conv2d_bwd_weights_dnnl(&t, a, &t, a, &l, &empty, dw));
    for (int i = 0; i < 36; i++)
        assert_true(b[i] == 0.0f);
    for (int i = 0; i < 9; i++)
        assert_true(dw[i] == 0.0);
    assert_status_ok(starhalo_kern_conv2d_bwd_data_dnnl(&t, a, w, &l, &t, b, &in));
}

/* ---------------------------------------------------------------------------------------- */
/* Grouped convs (groups G: output channel co reads the Cin/G input channels of its group    */
/* co / (Cout/G); weights Cout x Cin/G x k x k): oneDNN forward, oneDNN and loop backward     */
/* against naive grouped loops written here (gather form, in double), on a whole image and   */
/* on ghosted parts; G = 1 through the _g entry points gives the ungrouped kernels' bits.     */

typedef struct gimg {
    img_t g;
    int64_t groups, cig, cog; /* groups, input and output channels per group */
} gimg_t;

static double naive_weight(const gimg_t *G, const float *w, int64_t co, int64_t cl, int ky, int kx)
{
    const int k = G->g.l.kernel;
    return w[((co * G->cig + cl) * k + ky) * k + kx];
}

static void naive_grouped_fwd(const gimg_t *G, const float *x, const float *w, const float *b,
                              double *y)
{
    const img_t *g = &G->g;
    const int k = g->l.kernel, s = g->l.stride, d = g->l.dilation, p = g->l.padding;
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t co = 0; co < g->cout; co++)
            for (int64_t oy = 0; oy < g->oh; oy++)
                for (int64_t ox = 0; ox < g->ow; ox++) {
                    double acc = b ? b[co] : 0.0;
                    for (int64_t cl = 0; cl < G->cig; cl++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++)
                                acc += naive_weight(G, w, co, cl, ky, kx) *
                                       at(g, x, n, co / G->cog * G->cig + cl, oy * s - p + ky * d,
                                          ox * s - p + kx * d);
                    y[((n * g->cout + co) * g->oh + oy) * g->ow + ox] = acc;
                }
}

static void naive_grouped_bwd_data(const gimg_t *G, const float *dy, const float *w, double *dx)
{
    const img_t *g = &G->g;
    const int k = g->l.kernel, s = g->l.stride, d = g->l.dilation, p = g->l.padding;
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t ci = 0; ci < g->cin; ci++)
            for (int64_t y = 0; y < g->h; y++)
                for (int64_t x = 0; x < g->w; x++) {
                    double acc = 0.0;
                    const int64_t grp = ci / G->cig;
                    for (int64_t co = grp * G->cog; co < (grp + 1) * G->cog; co++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                const int64_t ny = y + p - ky * d, nx = x + p - kx * d;
                                if (ny % s || nx % s || ny < 0 || nx < 0)
                                    continue;
                                const int64_t oy = ny / s, ox = nx / s;
                                if (oy >= g->oh || ox >= g->ow)
                                    continue;
                                acc += (double)dy[((n * g->cout + co) * g->oh + oy) * g->ow + ox] *
                                       naive_weight(G, w, co, ci - grp * G->cig, ky, kx);
                            }
                    dx[((n * g->cin + ci) * g->h + y) * g->w + x] = acc;
                }
}

static void naive_grouped_bwd_weights(const gimg_t *G, const float *x, const float *dy, double *dw)
{
    const img_t *g = &G->g;
    const int k = g->l.kernel, s = g->l.stride, d = g->l.dilation, p = g->l.padding;
    for (int64_t co = 0; co < g->cout; co++)
        for (int64_t cl = 0; cl < G->cig; cl++)
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++) {
                    double acc = 0.0;
                    const int64_t ci = co / G->cog * G->cig + cl;
                    for (int64_t n = 0; n < g->n; n++)
                        for (int64_t oy = 0; oy < g->oh; oy++)
                            for (int64_t ox = 0; ox < g->ow; ox++)
                                acc += dy[((n * g->cout + co) * g->oh + oy) * g->ow + ox] *
                                       at(g, x, n, ci, oy * s - p + ky * d, ox * s - p + kx * d);
                    dw[((co * G->cig + cl) * k + ky) * k + kx] = acc;
                }
}

/* Max-norm error of @p got against @p ref, relative to max |ref|. */
static double max_rel(const double *ref, const double *got, int64_t n)
{
    double amax = 0.0, dmax = 0.0;
    for (int64_t i = 0; i < n; i++) {
        amax = fmax(amax, fabs(ref[i]));
        dmax = fmax(dmax, fabs(ref[i] - got[i]));
    }
    return amax > 0 ? dmax / amax : dmax;
}

/* Input tile @p tb filled from image x (zeros outside the image). */
static float *tile_from(const img_t *g, const float *x, const starhalo_box_t *tb)
{
    const int64_t gw = tb->hi[0] - tb->lo[0], gh = tb->hi[1] - tb->lo[1];
    float *t = calloc((size_t)(g->n * g->cin * gh * gw), sizeof *t);
    for (int64_t pl = 0; pl < g->n * g->cin; pl++)
        for (int64_t y = 0; y < gh; y++)
            for (int64_t xx = 0; xx < gw; xx++) {
                const int64_t Y = tb->lo[1] + y, X = tb->lo[0] + xx;
                if (Y >= 0 && Y < g->h && X >= 0 && X < g->w)
                    t[(pl * gh + y) * gw + xx] = x[(pl * g->h + Y) * g->w + X];
            }
    return t;
}

/* Add every cell of grad_in tile @p gi (box @p tb) inside the image into @p sum. */
static void tile_add(const img_t *g, const float *gi, const starhalo_box_t *tb, double *sum)
{
    const int64_t gw = tb->hi[0] - tb->lo[0], gh = tb->hi[1] - tb->lo[1];
    for (int64_t pl = 0; pl < g->n * g->cin; pl++)
        for (int64_t y = 0; y < gh; y++)
            for (int64_t xx = 0; xx < gw; xx++) {
                const int64_t Y = tb->lo[1] + y, X = tb->lo[0] + xx;
                if (Y >= 0 && Y < g->h && X >= 0 && X < g->w)
                    sum[(pl * g->h + Y) * g->w + X] += gi[(pl * gh + y) * gw + xx];
            }
}

/*
 * One grouped shape: (a) the whole image, forward on the unpadded image tile (oneDNN's
 * explicit padding) and on a zero-ghosted tile (READ_WHOLE_TILE), backward (loops and oneDNN)
 * on the ghosted tile; (b) a @p px x @p py grid of uneven output parts, each on the ghosted
 * input tile its window needs: forward per part, backward data scattered back with SUM,
 * weight gradients summed. All against the naive loops: forward and backward data 1e-5,
 * weights 1e-5 (oneDNN, float sums) and 1e-12 (loops, double).
 */
static void check_grouped(const starhalo_layer_t *l, int64_t groups, int64_t n, int64_t cin,
                          int64_t cout, int64_t h, int64_t w, int px, int py)
{
    gimg_t G = {{n, cin, cout, h, w, out_ext(l, h), out_ext(l, w), *l},
                groups,
                cin / groups,
                cout / groups};
    const img_t *g = &G.g;
    uint64_t seed = 0x5eed + (uint64_t)(groups * 977 + l->stride * 31 + l->kernel);
    const int64_t nx = n * cin * h * w, ny = n * cout * g->oh * g->ow;
    const int64_t nwt = cout * G.cig * l->kernel * l->kernel;
    float *x = malloc(sizeof(float) * (size_t)nx), *dy = malloc(sizeof(float) * (size_t)ny);
    float *wt = malloc(sizeof(float) * (size_t)(nwt + cout));
    frand_fill(x, nx, &seed);
    frand_fill(dy, ny, &seed);
    frand_fill(wt, nwt + cout, &seed);
    const float *bias = wt + nwt;
    double *yr = malloc(sizeof(double) * (size_t)ny), *dxr = malloc(sizeof(double) * (size_t)nx);
    double *dwr = malloc(sizeof(double) * (size_t)nwt);
    naive_grouped_fwd(&G, x, wt, bias, yr);
    naive_grouped_bwd_data(&G, dy, wt, dxr);
    naive_grouped_bwd_weights(&G, x, dy, dwr);
    const int gi = (int)groups;
    const starhalo_box_t image = box2(0, w, 0, h), obox = box2(0, g->ow, 0, g->oh);
    const starhalo_kern_tile_t ot = starhalo_kern_tile_make(&obox, n, cout);
    float *y = malloc(sizeof(float) * (size_t)ny);
    double *yd = malloc(sizeof(double) * (size_t)ny), *dx = calloc((size_t)nx, sizeof(double));
    double *dw = malloc(sizeof(double) * (size_t)nwt), *dws = calloc((size_t)nwt, sizeof(double));
    double *dwl = calloc((size_t)nwt, sizeof(double)),
           *dx_loop = calloc((size_t)nx, sizeof(double));

    /* (a) forward on the image tile itself: the layer's padding is oneDNN's. */
    const starhalo_kern_tile_t imt = starhalo_kern_tile_make(&image, n, cin);
    assert_status_ok(starhalo_kern_conv2d_cpu_g(&imt, x, wt, bias, l, gi, &ot, y, &obox, NULL, 0));
    for (int64_t i = 0; i < ny; i++)
        yd[i] = y[i];
    double e = max_rel(yr, yd, ny);
    print_message("grouped G%lld k%d s%d: forward (image) %.2e\n", (long long)groups, l->kernel,
                  l->stride, e);
    assert_true(e <= 1e-5);

    /* (a) the whole image on a zero-ghosted tile. */
    const int pad = l->padding + l->dilation * l->kernel + l->stride;
    const starhalo_box_t wb = box2(-pad, w + pad, -pad, h + pad);
    const starhalo_kern_tile_t wit = starhalo_kern_tile_make(&wb, n, cin);
    float *wx = tile_from(g, x, &wb);
    float *wgi = malloc(sizeof(float) * (size_t)starhalo_kern_tile_elems(&wit));
    assert_status_ok(starhalo_kern_conv2d_cpu_g(&wit, wx, wt, bias, l, gi, &ot, y, &obox, &image,
                                                STARHALO_KERN_READ_WHOLE_TILE));
    for (int64_t i = 0; i < ny; i++)
        yd[i] = y[i];
    e = max_rel(yr, yd, ny);
    assert_true(e <= 1e-5);
    for (int loops = 0; loops < 2; loops++) {
        memset(dx, 0, sizeof(double) * (size_t)nx);
        if (loops) {
            assert_status_ok(
                starhalo_kern_conv2d_bwd_data_cpu_g(&ot, dy, wt, l, gi, &wit, wgi, &obox));
            assert_status_ok(
                starhalo_kern_conv2d_bwd_weights_cpu_g(&wit, wx, &ot, dy, l, gi, &obox, dw));
        } else {
            assert_status_ok(
                starhalo_kern_conv2d_bwd_data_dnnl_g(&ot, dy, wt, l, gi, &wit, wgi, &obox));
            assert_status_ok(
                starhalo_kern_conv2d_bwd_weights_dnnl_g(&wit, wx, &ot, dy, l, gi, &obox, dw));
        }
        tile_add(g, wgi, &wb, dx);
        const double ed = max_rel(dxr, dx, nx), ew = max_rel(dwr, dw, nwt);
        print_message("grouped G%lld k%d s%d: whole image %s: bwd data %.2e, bwd weights %.2e\n",
                      (long long)groups, l->kernel, l->stride, loops ? "loops" : "oneDNN", ed, ew);
        assert_true(ed <= 1e-5);
        assert_true(ew <= (loops ? 1e-12 : 1e-5));
    }

    /* (b) ghosted parts: uneven output cuts, each part's input tile = its window. */
    memset(dx, 0, sizeof(double) * (size_t)nx);
    for (int64_t i = 0; i < ny; i++)
        yd[i] = NAN;
    for (int qy = 0; qy < py; qy++)
        for (int qx = 0; qx < px; qx++) {
            const int64_t x0 = g->ow * qx / px + (qx > 0),
                          x1 = g->ow * (qx + 1) / px + (qx + 1 < px);
            const int64_t y0 = g->oh * qy / py, y1 = g->oh * (qy + 1) / py;
            const starhalo_box_t own = box2(x0, x1 < g->ow ? x1 : g->ow, y0, y1);
            if (own.hi[0] <= own.lo[0] || own.hi[1] <= own.lo[1])
                continue;
            int64_t lo[2], hi[2];
            for (int d = 0; d < 2; d++)
                bwd_window(l, &own, d, &lo[d], &hi[d]);
            const starhalo_box_t tb = box2(lo[0], hi[0], lo[1], hi[1]);
            const starhalo_kern_tile_t it = starhalo_kern_tile_make(&tb, n, cin);
            float *xt = tile_from(g, x, &tb);
            float *gt = malloc(sizeof(float) * (size_t)starhalo_kern_tile_elems(&it));
            /* forward: the part's outputs into the whole output tile */
            assert_status_ok(starhalo_kern_conv2d_cpu_g(&it, xt, wt, bias, l, gi, &ot, y, &own,
                                                        &image, STARHALO_KERN_READ_WHOLE_TILE));
            for (int64_t p = 0; p < n * cout; p++)
                for (int64_t oy = own.lo[1]; oy < own.hi[1]; oy++)
                    for (int64_t ox = own.lo[0]; ox < own.hi[0]; ox++)
                        yd[(p * g->oh + oy) * g->ow + ox] = y[(p * g->oh + oy) * g->ow + ox];
            assert_status_ok(
                starhalo_kern_conv2d_bwd_data_dnnl_g(&ot, dy, wt, l, gi, &it, gt, &own));
            tile_add(g, gt, &tb, dx);
            assert_status_ok(
                starhalo_kern_conv2d_bwd_weights_dnnl_g(&it, xt, &ot, dy, l, gi, &own, dw));
            for (int64_t t = 0; t < nwt; t++)
                dws[t] += dw[t];
            assert_status_ok(
                starhalo_kern_conv2d_bwd_data_cpu_g(&ot, dy, wt, l, gi, &it, gt, &own));
            tile_add(g, gt, &tb, dx_loop);
            assert_status_ok(
                starhalo_kern_conv2d_bwd_weights_cpu_g(&it, xt, &ot, dy, l, gi, &own, dw));
            for (int64_t t = 0; t < nwt; t++)
                dwl[t] += dw[t];
            free(xt), free(gt);
        }
    for (int64_t i = 0; i < ny; i++)
        assert_false(isnan(yd[i])); /* the parts cover the output */
    const double ef = max_rel(yr, yd, ny), ed = max_rel(dxr, dx, nx), ew = max_rel(dwr, dws, nwt);
    const double edl = max_rel(dxr, dx_loop, nx), ewl = max_rel(dwr, dwl, nwt);
    print_message("grouped G%lld k%d s%d: %d x %d parts: forward %.2e, bwd data %.2e / %.2e, "
                  "bwd weights %.2e / %.2e (oneDNN / loops)\n",
                  (long long)groups, l->kernel, l->stride, px, py, ef, ed, edl, ew, ewl);
    assert_true(ef <= 1e-5);
    assert_true(ed <= 1e-5 && edl <= 1e-5);
    assert_true(ew <= 1e-5 && ewl <= 1e-12);
    free(x), free(dy), free(wt), free(yr), free(dxr), free(dwr), free(y), free(yd), free(dx);
    free(dw), free(dws), free(dwl), free(dx_loop), free(wx), free(wgi);
}

static void grouped_convs(void **state)
{
    (void)state;
    const starhalo_layer_t ls[] = {{3, 1, 1, 1}, {3, 2, 1, 1}, {5, 2, 1, 2}, {3, 1, 2, 2}};
    for (size_t i = 0; i < sizeof ls / sizeof ls[0]; i++) {
        check_grouped(&ls[i], 2, 2, 4, 6, 13, 11, 3, 2);    /* 2 groups, 2 -> 3 channels each */
        check_grouped(&ls[i], 4, 2, 4, 4, 13, 11, 2, 3);    /* depthwise */
        check_grouped(&ls[i], 16, 1, 16, 16, 12, 10, 2, 2); /* depthwise, blocked layouts */
    }
}

/* groups = 1 through the _g entry points: the ungrouped kernels' bits; bad groups refused. */
static void grouped_api(void **state)
{
    (void)state;
    const starhalo_layer_t l = {3, 2, 1, 1};
    const starhalo_box_t ib = box2(-1, 9, -1, 8), ob = box2(0, 4, 0, 4), image = box2(0, 8, 0, 7);
    const starhalo_kern_tile_t it = starhalo_kern_tile_make(&ib, 2, 4);
    const starhalo_kern_tile_t ot = starhalo_kern_tile_make(&ob, 2, 6);
    enum { NI = 2 * 4 * 10 * 9, NO = 2 * 6 * 16, NW = 6 * 4 * 9 };
    float x[NI], dy[NO], w[NW], y1[NO], y2[NO], g1[NI], g2[NI];
    double d1[NW], d2[NW];
    uint64_t seed = 77;
    frand_fill(x, NI, &seed);
    frand_fill(dy, NO, &seed);
    frand_fill(w, NW, &seed);
    for (int i = 0; i < NI; i++) { /* zero image-border ghosts */
        const int64_t X = ib.lo[0] + i % 10, Y = ib.lo[1] + (i / 10) % 9;
        if (X < 0 || X >= 8 || Y < 0 || Y >= 7)
            x[i] = 0.0f;
    }
    memset(y1, 0, sizeof y1), memset(y2, 0, sizeof y2);
    assert_status_ok(starhalo_kern_conv2d_cpu_ex(&it, x, w, NULL, &l, &ot, y1, &ob, &image,
                                                 STARHALO_KERN_READ_WHOLE_TILE));
    assert_status_ok(starhalo_kern_conv2d_cpu_g(&it, x, w, NULL, &l, 1, &ot, y2, &ob, &image,
                                                STARHALO_KERN_READ_WHOLE_TILE));
    assert_memory_equal(y1, y2, sizeof y1);
    assert_status_ok(starhalo_kern_conv2d_bwd_data_dnnl(&ot, dy, w, &l, &it, g1, &ob));
    assert_status_ok(starhalo_kern_conv2d_bwd_data_dnnl_g(&ot, dy, w, &l, 1, &it, g2, &ob));
    assert_memory_equal(g1, g2, sizeof g1);
    assert_status_ok(starhalo_kern_conv2d_bwd_weights_dnnl(&it, x, &ot, dy, &l, &ob, d1));
    assert_status_ok(starhalo_kern_conv2d_bwd_weights_dnnl_g(&it, x, &ot, dy, &l, 1, &ob, d2));
    assert_memory_equal(d1, d2, sizeof d1);
    assert_status_ok(starhalo_kern_conv2d_bwd_data_cpu(&ot, dy, w, &l, &it, g1, &ob));
    assert_status_ok(starhalo_kern_conv2d_bwd_data_cpu_g(&ot, dy, w, &l, 1, &it, g2, &ob));
    assert_memory_equal(g1, g2, sizeof g1);
    assert_status_ok(starhalo_kern_conv2d_bwd_weights_cpu(&it, x, &ot, dy, &l, &ob, d1));
    assert_status_ok(starhalo_kern_conv2d_bwd_weights_cpu_g(&it, x, &ot, dy, &l, 1, &ob, d2));
    assert_memory_equal(d1, d2, sizeof d1);
    /* 4 -> 6 channels: groups 2 fit; 3 (not dividing 4), 4 (not dividing 6) and 0 do not. */
    assert_status_ok(starhalo_kern_conv2d_cpu_g(&it, x, w, NULL, &l, 2, &ot, y2, &ob, &image, 0));
    const int bad[] = {0, -1, 3, 4};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const int G = bad[i];
        assert_int_equal(
            starhalo_kern_conv2d_cpu_g(&it, x, w, NULL, &l, G, &ot, y2, &ob, &image, 0),
            STARHALO_ERR_INVALID_ARG);
        assert_int_equal(starhalo_kern_conv2d_bwd_data_dnnl_g(&ot, dy, w, &l, G, &it, g2, &ob),
                         STARHALO_ERR_INVALID_ARG);
        assert_int_equal(starhalo_kern_conv2d_bwd_weights_dnnl_g(&it, x, &ot, dy, &l, G, &ob, d2),
                         STARHALO_ERR_INVALID_ARG);
        assert_int_equal(starhalo_kern_conv2d_bwd_data_cpu_g(&ot, dy, w, &l, G, &it, g2, &ob),
                         STARHALO_ERR_INVALID_ARG);
        assert_int_equal(starhalo_kern_conv2d_bwd_weights_cpu_g(&it, x, &ot, dy, &l, G, &ob, d2),
                         STARHALO_ERR_INVALID_ARG);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_image),
        cmocka_unit_test(parts_sum_to_whole),
        cmocka_unit_test(relu),
        cmocka_unit_test(finite_differences),
        cmocka_unit_test(bad_geometry),
        cmocka_unit_test(dnnl_whole_images),
        cmocka_unit_test(dnnl_ghosted_parts),
        cmocka_unit_test(dnnl_weight_bands),
        cmocka_unit_test(dnnl_bad_geometry),
        cmocka_unit_test(grouped_convs),
        cmocka_unit_test(grouped_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
