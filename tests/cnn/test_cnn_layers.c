/* SPDX-License-Identifier: MIT */
/**
 * @file test_cnn_layers.c
 * @brief Tests the CNN layer kernels of kern_cnn_layers.c against references written here in
 * another form: pooling backward (max, average, average excluding padding) against central
 * finite differences of a double-precision naive forward (itself checked against the oneDNN
 * forward kernel), and in the distributed form (2 x 2 ghosted parts, scattered back with SUM,
 * equal the whole image); batch norm (sums -> mean / biased variance -> channel affine) with
 * dx, dgamma and dbeta against finite differences of a double forward written with a two-pass
 * variance; add, plane sums and plane fill against naive loops with the cells outside the
 * region untouched; aliasing (y = x, dx = dy, out = a) giving the same bits; bad geometry and
 * NULL pointers giving STARHALO_ERR_INVALID_ARG.
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

static starhalo_box_t box2(int64_t x0, int64_t x1, int64_t y0, int64_t y1)
{
    starhalo_box_t b = {{x0, y0, 0}, {x1, y1, 1}};
    return b;
}

static int inside(const starhalo_box_t *b, int64_t x, int64_t y)
{
    return x >= b->lo[0] && x < b->hi[0] && y >= b->lo[1] && y < b->hi[1];
}

/* max |ref - got| / max |ref| (the maximum-norm relative error). */
static double max_rel(const double *ref, const double *got, int64_t n)
{
    double num = 0.0, den = 0.0;
    for (int64_t i = 0; i < n; i++) {
        num = fmax(num, fabs(ref[i] - got[i]));
        den = fmax(den, fabs(ref[i]));
    }
    return num / (den > 0 ? den : 1.0);
}

static const char *kind_name(starhalo_pool_kind_t k)
{
    return k == STARHALO_POOL_MAX ? "max" : k == STARHALO_POOL_AVG ? "avg" : "avg_exclude";
}

/* ---- pooling: naive double forward ------------------------------------------------------ */

typedef struct pimg {
    int64_t n, c, h, w, oh, ow;
    starhalo_layer_t l;
} pimg_t;

static int64_t out_ext(const starhalo_layer_t *l, int64_t n)
{
    return (n + 2 * l->padding - l->dilation * (l->kernel - 1) - 1) / l->stride + 1;
}

static pimg_t pimg_make(const starhalo_layer_t *l, int64_t n, int64_t c, int64_t h, int64_t w)
{
    pimg_t g = {n, c, h, w, out_ext(l, h), out_ext(l, w), *l};
    return g;
}

/* y[n][c][oy][ox] over the whole image (x dense [n][c][h][w], zero or -inf padding). */
static void naive_pool(starhalo_pool_kind_t kind, const pimg_t *g, const double *x, double *y)
{
    const int k = g->l.kernel, s = g->l.stride, d = g->l.dilation, p = g->l.padding;
    for (int64_t pl = 0; pl < g->n * g->c; pl++)
        for (int64_t oy = 0; oy < g->oh; oy++)
            for (int64_t ox = 0; ox < g->ow; ox++) {
                double mx = -INFINITY, sum = 0.0;
                int cnt = 0;
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        const int64_t iy = oy * s - p + ky * d, ix = ox * s - p + kx * d;
                        if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w)
                            continue;
                        const double v = x[(pl * g->h + iy) * g->w + ix];
                        mx = fmax(mx, v);
                        sum += v;
                        cnt++;
                    }
                double v;
                if (kind == STARHALO_POOL_MAX)
                    v = mx;
                else if (kind == STARHALO_POOL_AVG)
                    v = sum / (k * k);
                else
                    v = sum / cnt;
                y[(pl * g->oh + oy) * g->ow + ox] = v;
            }
}

static double pool_loss(starhalo_pool_kind_t kind, const pimg_t *g, const double *x, const float *w,
                        double *scratch)
{
    naive_pool(kind, g, x, scratch);
    double l = 0.0;
    for (int64_t i = 0; i < g->n * g->c * g->oh * g->ow; i++)
        l += w[i] * scratch[i];
    return l;
}

static const starhalo_layer_t pool_layers[] = {
    {2, 1, 1, 0}, {2, 2, 1, 0}, {2, 1, 1, 1}, {2, 2, 1, 1}, {3, 1, 1, 0},
    {3, 2, 1, 0}, {3, 1, 1, 1}, {3, 2, 1, 1}, {3, 1, 2, 2},
};
static const starhalo_pool_kind_t pool_kinds[] = {STARHALO_POOL_MAX, STARHALO_POOL_AVG,
                                                  STARHALO_POOL_AVG_EXCLUDE};

/* Distinct values in each plane, at least 0.01 apart (so a +-1e-3 step never reorders a
 * window and max pooling is differentiable at x). */
static void distinct_fill(float *x, int64_t planes, int64_t plane, uint64_t *seed)
{
    int64_t *perm = malloc(sizeof(int64_t) * (size_t)plane);
    for (int64_t p = 0; p < planes; p++) {
        for (int64_t i = 0; i < plane; i++)
            perm[i] = i;
        for (int64_t i = plane - 1; i > 0; i--) {
            const int64_t j = (int64_t)(starhalo_test_rand(seed) % (uint64_t)(i + 1));
            const int64_t t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (int64_t i = 0; i < plane; i++)
            x[p * plane + i] = (float)((double)(perm[i] - plane / 2) * 0.0125);
    }
    free(perm);
}

/*
 * Whole image (no ghosts, domain = the image, the layer's padding outside): the kernel's
 * gradient equals central differences of L(x) = sum w .* pool(x) computed in double, for
 * every input cell; the naive forward equals oneDNN's (starhalo_kern_pool2d_cpu).
 */
static void pool_finite_differences(void **state)
{
    (void)state;
    for (size_t li = 0; li < sizeof pool_layers / sizeof pool_layers[0]; li++)
        for (size_t ki = 0; ki < 3; ki++) {
            const starhalo_layer_t *l = &pool_layers[li];
            const starhalo_pool_kind_t kind = pool_kinds[ki];
            const pimg_t g = pimg_make(l, 2, 2, 7, 6);
            const int64_t nx = g.n * g.c * g.h * g.w, ny = g.n * g.c * g.oh * g.ow;
            uint64_t seed = 0x51 + li * 7 + ki;
            float *x = malloc(sizeof(float) * (size_t)nx), *w = malloc(sizeof(float) * (size_t)ny);
            float *gi = malloc(sizeof(float) * (size_t)nx),
                  *yf = malloc(sizeof(float) * (size_t)ny);
            double *xd = malloc(sizeof(double) * (size_t)nx),
                   *yd = malloc(sizeof(double) * (size_t)ny);
            double *fd = malloc(sizeof(double) * (size_t)nx),
                   *an = malloc(sizeof(double) * (size_t)nx);
            double *yfd = malloc(sizeof(double) * (size_t)ny);
            distinct_fill(x, g.n * g.c, g.h * g.w, &seed);
            for (int64_t i = 0; i < ny; i++)
                w[i] = frand(&seed);
            for (int64_t i = 0; i < nx; i++)
                xd[i] = x[i];
            starhalo_box_t ib = box2(0, g.w, 0, g.h), ob = box2(0, g.ow, 0, g.oh);
            starhalo_kern_tile_t it = starhalo_kern_tile_make(&ib, g.n, g.c);
            starhalo_kern_tile_t ot = starhalo_kern_tile_make(&ob, g.n, g.c);
            /* The naive forward is the library's forward. */
            if (l->dilation == 1) {
                assert_status_ok(starhalo_kern_pool2d_cpu(kind, &it, x, l, &ot, yf, &ob, &ib));
                naive_pool(kind, &g, xd, yd);
                for (int64_t i = 0; i < ny; i++)
                    yfd[i] = yf[i];
                assert_true(max_rel(yd, yfd, ny) <= 1e-6);
            }
            assert_status_ok(starhalo_kern_pool2d_bwd_cpu(kind, &it, x, &ot, w, l, &ib, gi, &ob));
            const double eps = 1e-3;
            for (int64_t i = 0; i < nx; i++) {
                const double keep = xd[i];
                xd[i] = keep + eps;
                const double lp = pool_loss(kind, &g, xd, w, yd);
                xd[i] = keep - eps;
                const double lm = pool_loss(kind, &g, xd, w, yd);
                xd[i] = keep;
                fd[i] = (lp - lm) / (2 * eps);
                an[i] = gi[i];
            }
            const double e = max_rel(fd, an, nx);
            print_message("pool %-11s k%d s%d d%d p%d: max rel err vs finite differences %.2e\n",
                          kind_name(kind), l->kernel, l->stride, l->dilation, l->padding, e);
            assert_true(e <= 1e-5);
            free(x), free(w), free(gi), free(yf), free(xd), free(yd), free(fd), free(an), free(yfd);
        }
}

/*
 * The distributed form: a 2 x 2 split of a 10 x 9 image, ghosted tiles grown by
 * starhalo_layer_halo, each part's outputs from starhalo_layer_output_range. Input ghosts
 * outside the image and output-gradient cells outside the part's region hold 1e6 (reading
 * them, or letting padding win a max, breaks the sum). Each part's whole ghosted grad_in
 * (padding cells must be 0) scattered into the image with SUM equals the whole image's.
 */
static void pool_parts_sum_to_whole(void **state)
{
    (void)state;
    enum { N = 2, C = 2, H = 9, W = 10 };
    const int64_t xc[3] = {0, 5, W}, yc[3] = {0, 4, H};
    for (size_t li = 0; li < sizeof pool_layers / sizeof pool_layers[0]; li++)
        for (size_t ki = 0; ki < 3; ki++) {
            const starhalo_layer_t *l = &pool_layers[li];
            const starhalo_pool_kind_t kind = pool_kinds[ki];
            const pimg_t g = pimg_make(l, N, C, H, W);
            const int64_t nx = N * C * H * W, ny = N * C * g.oh * g.ow;
            uint64_t seed = 0x77 + li * 5 + ki;
            float *x = malloc(sizeof(float) * (size_t)nx), *dy = malloc(sizeof(float) * (size_t)ny);
            float *gw = malloc(sizeof(float) * (size_t)nx);
            double *sum = calloc((size_t)nx, sizeof(double)),
                   *ref = malloc(sizeof(double) * (size_t)nx);
            for (int64_t i = 0; i < nx; i++)
                x[i] = frand(&seed);
            for (int64_t i = 0; i < ny; i++)
                dy[i] = frand(&seed);
            starhalo_box_t img = box2(0, W, 0, H), oimg = box2(0, g.ow, 0, g.oh);
            starhalo_kern_tile_t it = starhalo_kern_tile_make(&img, N, C);
            starhalo_kern_tile_t ot = starhalo_kern_tile_make(&oimg, N, C);
            assert_status_ok(
                starhalo_kern_pool2d_bwd_cpu(kind, &it, x, &ot, dy, l, &img, gw, &oimg));
            for (int64_t i = 0; i < nx; i++)
                ref[i] = gw[i];
            int minus, plus;
            assert_status_ok(starhalo_layer_halo(l, &minus, &plus));
            for (int py = 0; py < 2; py++)
                for (int px = 0; px < 2; px++) {
                    const starhalo_box_t own = box2(xc[px], xc[px + 1], yc[py], yc[py + 1]);
                    const starhalo_box_t gb = box2(own.lo[0] - minus, own.hi[0] + plus,
                                                   own.lo[1] - minus, own.hi[1] + plus);
                    int64_t r[4];
                    starhalo_layer_output_range(l, W, own.lo[0], own.hi[0], &r[0], &r[1]);
                    starhalo_layer_output_range(l, H, own.lo[1], own.hi[1], &r[2], &r[3]);
                    const starhalo_box_t reg = box2(r[0], r[1], r[2], r[3]);
                    const starhalo_box_t ogb = box2(r[0] - 1, r[1] + 1, r[2] - 1, r[3] + 1);
                    starhalo_kern_tile_t pit = starhalo_kern_tile_make(&gb, N, C);
                    starhalo_kern_tile_t pot = starhalo_kern_tile_make(&ogb, N, C);
                    const int64_t igw = gb.hi[0] - gb.lo[0], igh = gb.hi[1] - gb.lo[1];
                    const int64_t ogw = ogb.hi[0] - ogb.lo[0], ogh = ogb.hi[1] - ogb.lo[1];
                    float *px_ = malloc(sizeof(float) * (size_t)(N * C * igw * igh));
                    float *pg = malloc(sizeof(float) * (size_t)(N * C * igw * igh));
                    float *pdy = malloc(sizeof(float) * (size_t)(N * C * ogw * ogh));
                    for (int64_t pl = 0; pl < N * C; pl++) {
                        for (int64_t y = 0; y < igh; y++)
                            for (int64_t xx = 0; xx < igw; xx++) {
                                const int64_t Y = gb.lo[1] + y, X = gb.lo[0] + xx;
                                px_[(pl * igh + y) * igw + xx] =
                                    inside(&img, X, Y) ? x[(pl * H + Y) * W + X] : 1e6f;
                                pg[(pl * igh + y) * igw + xx] = -3.0f; /* must be overwritten */
                            }
                        for (int64_t y = 0; y < ogh; y++)
                            for (int64_t xx = 0; xx < ogw; xx++) {
                                const int64_t Y = ogb.lo[1] + y, X = ogb.lo[0] + xx;
                                pdy[(pl * ogh + y) * ogw + xx] =
                                    inside(&reg, X, Y) ? dy[(pl * g.oh + Y) * g.ow + X] : 1e6f;
                            }
                    }
                    assert_status_ok(starhalo_kern_pool2d_bwd_cpu(kind, &pit, px_, &pot, pdy, l,
                                                                  &img, pg, &reg));
                    for (int64_t pl = 0; pl < N * C; pl++)
                        for (int64_t y = 0; y < igh; y++)
                            for (int64_t xx = 0; xx < igw; xx++) {
                                const int64_t Y = gb.lo[1] + y, X = gb.lo[0] + xx;
                                const float v = pg[(pl * igh + y) * igw + xx];
                                if (inside(&img, X, Y))
                                    sum[(pl * H + Y) * W + X] += v;
                                else
                                    assert_true(v == 0.0f);
                            }
                    free(px_), free(pg), free(pdy);
                }
            const double e = max_rel(ref, sum, nx);
            print_message("pool %-11s k%d s%d d%d p%d: parts vs whole %.2e\n", kind_name(kind),
                          l->kernel, l->stride, l->dilation, l->padding, e);
            assert_true(e <= 1e-6);
            free(x), free(dy), free(gw), free(sum), free(ref);
        }
}

/* Max pooling ties go to the first window cell (ky outer, kx inner); padding never wins even
 * when every in-image value is negative. */
static void pool_max_ties_and_padding(void **state)
{
    (void)state;
    const starhalo_layer_t l = {3, 1, 1, 1};
    starhalo_box_t ib = box2(0, 3, 0, 3);
    starhalo_kern_tile_t t = starhalo_kern_tile_make(&ib, 1, 1);
    float x[9], go[9], gi[9];
    for (int i = 0; i < 9; i++) {
        x[i] = -5.0f; /* all equal, all below the zero of the padding */
        go[i] = 0.0f;
    }
    starhalo_box_t one = box2(1, 2, 1, 2), corner = box2(0, 1, 0, 1);
    go[4] = 2.0f;
    assert_status_ok(
        starhalo_kern_pool2d_bwd_cpu(STARHALO_POOL_MAX, &t, x, &t, go, &l, &ib, gi, &one));
    for (int i = 0; i < 9; i++)
        assert_true(gi[i] == (i == 0 ? 2.0f : 0.0f)); /* window (0..2, 0..2): first is (0, 0) */
    go[0] = 3.0f;
    assert_status_ok(
        starhalo_kern_pool2d_bwd_cpu(STARHALO_POOL_MAX, &t, x, &t, go, &l, &ib, gi, &corner));
    for (int i = 0; i < 9; i++)
        assert_true(gi[i] == (i == 0 ? 3.0f : 0.0f)); /* window (-1..1): padding skipped */
    /* Average excluding padding at the corner divides by 4 cells, including by 9. */
    assert_status_ok(starhalo_kern_pool2d_bwd_cpu(STARHALO_POOL_AVG_EXCLUDE, &t, NULL, &t, go, &l,
                                                  &ib, gi, &corner));
    assert_true(gi[0] == 0.75f && gi[1] == 0.75f && gi[3] == 0.75f && gi[4] == 0.75f &&
                gi[2] == 0.0f);
    assert_status_ok(
        starhalo_kern_pool2d_bwd_cpu(STARHALO_POOL_AVG, &t, NULL, &t, go, &l, &ib, gi, &corner));
    assert_true(gi[0] == (float)(3.0 / 9.0) && gi[4] == (float)(3.0 / 9.0) && gi[8] == 0.0f);
}

/* ---- batch norm -------------------------------------------------------------------------- */

enum { BN_N = 2, BN_C = 3, BN_H = 4, BN_W = 5, BN_GW = BN_W + 2, BN_GH = BN_H + 2 };
#define BN_EPS 1e-5

/* L = sum w .* (gamma (x - mean) / sqrt(var + eps) + beta) in double, two-pass variance. */
static double bn_loss(const double *x, const double *gamma, const double *beta, const double *w)
{
    const int64_t hw = BN_H * BN_W, m = BN_N * hw;
    double l = 0.0;
    for (int64_t c = 0; c < BN_C; c++) {
        double mean = 0.0, var = 0.0;
        for (int64_t n = 0; n < BN_N; n++)
            for (int64_t i = 0; i < hw; i++)
                mean += x[(n * BN_C + c) * hw + i];
        mean /= (double)m;
        for (int64_t n = 0; n < BN_N; n++)
            for (int64_t i = 0; i < hw; i++) {
                const double d = x[(n * BN_C + c) * hw + i] - mean;
                var += d * d;
            }
        var /= (double)m;
        for (int64_t n = 0; n < BN_N; n++)
            for (int64_t i = 0; i < hw; i++) {
                const int64_t k = (n * BN_C + c) * hw + i;
                l += w[k] * (gamma[c] * (x[k] - mean) / sqrt(var + BN_EPS) + beta[c]);
            }
    }
    return l;
}

/* Dense [n][c][h][w] index -> index in the tile grown by one ghost cell. */
static int64_t bn_tidx(int64_t k)
{
    const int64_t hw = BN_H * BN_W, pl = k / hw, y = (k % hw) / BN_W, x = k % BN_W;
    return (pl * BN_GH + y + 1) * BN_GW + x + 1;
}

/*
 * bn_sums -> mean, biased variance, invstd -> channel_affine: y equals the double forward;
 * bn_sums (backward) -> bn_bwd: dx, dgamma = sums[C+c], dbeta = sums[c] equal central
 * differences of that forward's L = sum w .* y. Tiles have one ghost cell holding 1e6 (must
 * not be read, and are not written).
 */
static void batch_norm(void **state)
{
    (void)state;
    enum { NT = BN_N * BN_C * BN_GH * BN_GW, ND = BN_N * BN_C * BN_H * BN_W };
    starhalo_box_t tb = box2(-1, BN_W + 1, -1, BN_H + 1), r = box2(0, BN_W, 0, BN_H);
    starhalo_kern_tile_t t = starhalo_kern_tile_make(&tb, BN_N, BN_C);
    static float x[NT], y[NT], dy[NT], dx[NT], dx2[NT], y2[NT];
    double xd[ND], wd[ND], gamma[BN_C], beta[BN_C];
    uint64_t seed = 0xb17;
    for (int64_t i = 0; i < NT; i++)
        x[i] = dy[i] = y[i] = dx[i] = 1e6f;
    for (int64_t k = 0; k < ND; k++) {
        x[bn_tidx(k)] = frand(&seed) * 2.0f + 0.5f;
        dy[bn_tidx(k)] = frand(&seed);
        xd[k] = x[bn_tidx(k)];
        wd[k] = dy[bn_tidx(k)];
    }
    for (int c = 0; c < BN_C; c++) {
        gamma[c] = 1.0 + 0.5 * frand(&seed);
        beta[c] = frand(&seed);
    }
    /* Forward with the kernels. */
    const double m = BN_N * BN_H * BN_W;
    double s[2 * BN_C], mean[BN_C], invstd[BN_C], scale[BN_C], shift[BN_C];
    assert_status_ok(starhalo_kern_bn_sums_cpu(&t, x, NULL, NULL, NULL, &r, s));
    for (int c = 0; c < BN_C; c++) {
        mean[c] = s[c] / m;
        invstd[c] = 1.0 / sqrt(s[BN_C + c] / m - mean[c] * mean[c] + BN_EPS);
        scale[c] = gamma[c] * invstd[c];
        shift[c] = beta[c] - mean[c] * scale[c];
    }
    assert_status_ok(starhalo_kern_channel_affine_cpu(&t, x, y, scale, shift, &r));
    /* y against the double forward (one output at a time: L with w = e_k). */
    for (int64_t k = 0; k < ND; k++) {
        double e[ND] = {0};
        e[k] = 1.0;
        const double ref = bn_loss(xd, gamma, beta, e);
        assert_true(fabs(y[bn_tidx(k)] - ref) <= 1e-5 * (1.0 + fabs(ref)));
    }
    /* y = x in place gives the same bits. */
    memcpy(y2, x, sizeof x);
    assert_status_ok(starhalo_kern_channel_affine_cpu(&t, y2, y2, scale, shift, &r));
    assert_memory_equal(y2, y, sizeof y);
    /* Backward with the kernels. */
    double bs[2 * BN_C];
    assert_status_ok(starhalo_kern_bn_sums_cpu(&t, x, dy, mean, invstd, &r, bs));
    assert_status_ok(starhalo_kern_bn_bwd_cpu(&t, x, dy, dx, mean, invstd, gamma, bs, m, &r));
    memcpy(dx2, dy, sizeof dy);
    assert_status_ok(starhalo_kern_bn_bwd_cpu(&t, x, dx2, dx2, mean, invstd, gamma, bs, m, &r));
    assert_memory_equal(dx2, dx, sizeof dx);
    for (int64_t i = 0; i < NT; i++) {
        const int64_t yy = (i / BN_GW) % BN_GH, xx = i % BN_GW;
        if (yy == 0 || yy == BN_GH - 1 || xx == 0 || xx == BN_GW - 1)
            assert_true(y[i] == 1e6f && dx[i] == 1e6f); /* ghosts neither read nor written */
    }
    /* Central differences of the double forward. */
    const double eps = 1e-4;
    double fd[ND], an[ND];
    for (int64_t k = 0; k < ND; k++) {
        const double keep = xd[k];
        xd[k] = keep + eps;
        const double lp = bn_loss(xd, gamma, beta, wd);
        xd[k] = keep - eps;
        const double lm = bn_loss(xd, gamma, beta, wd);
        xd[k] = keep;
        fd[k] = (lp - lm) / (2 * eps);
        an[k] = dx[bn_tidx(k)];
    }
    double e = max_rel(fd, an, ND);
    print_message("bn dx: max rel err vs finite differences %.2e\n", e);
    assert_true(e <= 1e-3);
    double fdp[2 * BN_C], anp[2 * BN_C];
    for (int c = 0; c < BN_C; c++)
        for (int which = 0; which < 2; which++) {
            double *v = which ? &gamma[c] : &beta[c];
            const double keep = *v;
            *v = keep + eps;
            const double lp = bn_loss(xd, gamma, beta, wd);
            *v = keep - eps;
            const double lm = bn_loss(xd, gamma, beta, wd);
            *v = keep;
            fdp[which * BN_C + c] = (lp - lm) / (2 * eps);
            anp[which * BN_C + c] = bs[which * BN_C + c]; /* dbeta = sum dy, dgamma = sum dy xhat */
        }
    e = max_rel(fdp, anp, 2 * BN_C);
    print_message("bn dbeta, dgamma: max rel err vs finite differences %.2e\n", e);
    assert_true(e <= 1e-3);
    /* Sums of two disjoint regions add up to the whole. */
    starhalo_box_t top = box2(0, BN_W, 0, 1), rest = box2(0, BN_W, 1, BN_H);
    double s1[2 * BN_C], s2[2 * BN_C], b1[2 * BN_C], b2[2 * BN_C], ps[2 * BN_C];
    assert_status_ok(starhalo_kern_bn_sums_cpu(&t, x, NULL, NULL, NULL, &top, s1));
    assert_status_ok(starhalo_kern_bn_sums_cpu(&t, x, NULL, NULL, NULL, &rest, s2));
    assert_status_ok(starhalo_kern_bn_sums_cpu(&t, x, dy, mean, invstd, &top, b1));
    assert_status_ok(starhalo_kern_bn_sums_cpu(&t, x, dy, mean, invstd, &rest, b2));
    for (int i = 0; i < 2 * BN_C; i++)
        ps[i] = s1[i] + s2[i];
    assert_true(max_rel(s, ps, 2 * BN_C) <= 1e-12);
    for (int i = 0; i < 2 * BN_C; i++)
        ps[i] = b1[i] + b2[i];
    assert_true(max_rel(bs, ps, 2 * BN_C) <= 1e-12);
}

/* ---- element-wise kernels ---------------------------------------------------------------- */

enum { EN = 2, EC = 3, EGW = 7, EGH = 6, ENT = EN * EC * EGW * EGH };

/* Tile [-1, 6) x [-2, 4), region [0, 4) x [-1, 2): ghosts and tile cells around it. */
static const starhalo_box_t etb = {{-1, -2, 0}, {6, 4, 1}};
static const starhalo_box_t ereg = {{0, -1, 0}, {4, 2, 1}};

static int e_in_region(int64_t i)
{
    const int64_t y = (i / EGW) % EGH + etb.lo[1], x = i % EGW + etb.lo[0];
    return inside(&ereg, x, y);
}

static void add_and_affine(void **state)
{
    (void)state;
    starhalo_kern_tile_t t = starhalo_kern_tile_make(&etb, EN, EC);
    static float a[ENT], b[ENT], out[ENT], acc[ENT], y[ENT];
    uint64_t seed = 0xadd;
    for (int64_t i = 0; i < ENT; i++) {
        a[i] = frand(&seed);
        b[i] = frand(&seed);
        out[i] = 9.0f;
    }
    assert_status_ok(starhalo_kern_add_cpu(&t, a, b, out, &ereg));
    for (int64_t i = 0; i < ENT; i++)
        assert_true(out[i] == (e_in_region(i) ? a[i] + b[i] : 9.0f));
    memcpy(acc, a, sizeof a);
    assert_status_ok(starhalo_kern_add_cpu(&t, acc, b, acc, &ereg)); /* out = a */
    for (int64_t i = 0; i < ENT; i++)
        assert_true(acc[i] == (e_in_region(i) ? out[i] : a[i]));
    memcpy(acc, b, sizeof b);
    assert_status_ok(starhalo_kern_add_cpu(&t, a, acc, acc, &ereg)); /* out = b */
    for (int64_t i = 0; i < ENT; i++)
        assert_true(acc[i] == (e_in_region(i) ? out[i] : b[i]));
    /* Channel affine: bias only (scale NULL), scale only (shift NULL), both. */
    const double sc[EC] = {0.5, -2.0, 3.25}, sh[EC] = {1.0, -0.125, 7.5};
    for (int mode = 0; mode < 3; mode++) {
        for (int64_t i = 0; i < ENT; i++)
            y[i] = -4.0f;
        const double *s = mode == 0 ? NULL : sc, *h = mode == 1 ? NULL : sh;
        assert_status_ok(starhalo_kern_channel_affine_cpu(&t, a, y, s, h, &ereg));
        for (int64_t i = 0; i < ENT; i++) {
            const int64_t c = (i / (EGW * EGH)) % EC;
            const double ref = (double)a[i] * (s ? s[c] : 1.0) + (h ? h[c] : 0.0);
            assert_true(y[i] == (e_in_region(i) ? (float)ref : -4.0f));
        }
    }
}

static void plane_sums_and_fill(void **state)
{
    (void)state;
    starhalo_kern_tile_t t = starhalo_kern_tile_make(&etb, EN, EC);
    static float x[ENT], f[ENT];
    uint64_t seed = 0x5e;
    for (int64_t i = 0; i < ENT; i++)
        x[i] = frand(&seed);
    double sums[EN * EC], ref[EN * EC] = {0};
    for (int i = 0; i < EN * EC; i++)
        sums[i] = 123.0;
    assert_status_ok(starhalo_kern_plane_sums_cpu(&t, x, &ereg, sums));
    /* Naive: every tile cell, in region or not, from the last to the first. */
    for (int64_t i = ENT - 1; i >= 0; i--)
        if (e_in_region(i))
            ref[i / (EGW * EGH)] += x[i];
    assert_true(max_rel(ref, sums, EN * EC) <= 1e-12);
    /* Empty region: zeros. */
    starhalo_box_t empty = box2(2, 2, 0, 1);
    assert_status_ok(starhalo_kern_plane_sums_cpu(&t, x, &empty, sums));
    for (int i = 0; i < EN * EC; i++)
        assert_true(sums[i] == 0.0);
    /* Fill: values per plane on the region, the rest untouched. */
    double vals[EN * EC];
    for (int i = 0; i < EN * EC; i++)
        vals[i] = 0.1 * (i + 1);
    for (int64_t i = 0; i < ENT; i++)
        f[i] = 5.0f;
    assert_status_ok(starhalo_kern_plane_fill_cpu(&t, f, &ereg, vals));
    for (int64_t i = 0; i < ENT; i++)
        assert_true(f[i] == (e_in_region(i) ? (float)vals[i / (EGW * EGH)] : 5.0f));
}

/* ---- bad geometry -------------------------------------------------------------------------- */

static void bad_geometry(void **state)
{
    (void)state;
    starhalo_kern_tile_t t = starhalo_kern_tile_make(&etb, EN, EC);
    static float a[ENT], b[ENT], c[ENT];
    double d[2 * EC * EN] = {0}, p[EC] = {0}, q[EC] = {1, 1, 1};
    const starhalo_box_t out = box2(0, 7, -1, 2); /* x = 6 is outside [-1, 6) */
    const starhalo_box_t thick = {{0, 0, 0}, {2, 2, 2}};
    const starhalo_box_t *bad[2] = {&out, &thick};
    for (int i = 0; i < 2; i++) {
        const starhalo_box_t *r = bad[i];
        assert_int_equal(starhalo_kern_bn_sums_cpu(&t, a, NULL, NULL, NULL, r, d),
                         STARHALO_ERR_INVALID_ARG);
        assert_int_equal(starhalo_kern_channel_affine_cpu(&t, a, b, p, p, r),
                         STARHALO_ERR_INVALID_ARG);
        assert_int_equal(starhalo_kern_bn_bwd_cpu(&t, a, b, c, p, q, q, d, 4.0, r),
                         STARHALO_ERR_INVALID_ARG);
        assert_int_equal(starhalo_kern_add_cpu(&t, a, b, c, r), STARHALO_ERR_INVALID_ARG);
        assert_int_equal(starhalo_kern_plane_sums_cpu(&t, a, r, d), STARHALO_ERR_INVALID_ARG);
        assert_int_equal(starhalo_kern_plane_fill_cpu(&t, a, r, d), STARHALO_ERR_INVALID_ARG);
    }
    assert_non_null(strstr(starhalo_last_error_message(), "plane_fill"));
    /* NULL pointers. */
    const starhalo_box_t *r = &ereg;
    assert_int_equal(starhalo_kern_bn_sums_cpu(NULL, a, NULL, NULL, NULL, r, d),
                     STARHALO_ERR_INVALID_ARG);
    assert_int_equal(starhalo_kern_bn_sums_cpu(&t, NULL, NULL, NULL, NULL, r, d),
                     STARHALO_ERR_INVALID_ARG);
    assert_int_equal(starhalo_kern_bn_sums_cpu(&t, a, NULL, NULL, NULL, r, NULL),
                     STARHALO_ERR_INVALID_ARG);
    assert_int_equal(starhalo_kern_bn_sums_cpu(&t, a, b, NULL, q, r, d), STARHALO_ERR_INVALID_ARG);
    assert_int_equal(starhalo_kern_channel_affine_cpu(&t, a, NULL, p, p, r),
                     STARHALO_ERR_INVALID_ARG);
    assert_int_equal(starhalo_kern_channel_affine_cpu(&t, a, b, p, p, NULL),
                     STARHALO_ERR_INVALID_ARG);
    assert_int_equal(starhalo_kern_bn_bwd_cpu(&t, a, b, c, p, q, q, NULL, 4.0, r),
                     STARHALO_ERR_INVALID_ARG);
    assert_int_equal(starhalo_kern_bn_bwd_cpu(&t, a, NULL, c, p, q, q, d, 4.0, r),
                     STARHALO_ERR_INVALID_ARG);
    assert_int_equal(starhalo_kern_bn_bwd_cpu(&t, a, b, c, p, q, q, d, 0.0, r),
                     STARHALO_ERR_INVALID_ARG);
    assert_int_equal(starhalo_kern_add_cpu(&t, a, NULL, c, r), STARHALO_ERR_INVALID_ARG);
    assert_int_equal(starhalo_kern_plane_sums_cpu(&t, NULL, r, d), STARHALO_ERR_INVALID_ARG);
    assert_int_equal(starhalo_kern_plane_fill_cpu(&t, a, r, NULL), STARHALO_ERR_INVALID_ARG);
    /* Pooling: the in-image window of output column 0 (k 3, p 0) needs input column 2 of a
     * tile [0, 2); the region leaving the output tile; channels that differ; an unknown kind;
     * NULL input for max (allowed for the averages); stride 0. */
    const starhalo_layer_t l = {3, 1, 1, 0};
    starhalo_box_t ib = box2(0, 2, 0, 4), img = box2(0, 6, 0, 4), ob = box2(0, 4, 0, 2);
    starhalo_kern_tile_t it = starhalo_kern_tile_make(&ib, 1, 1),
                         ot = starhalo_kern_tile_make(&ob, 1, 1),
                         ot2 = starhalo_kern_tile_make(&ob, 1, 2);
    starhalo_box_t r0 = box2(0, 1, 0, 1), r5 = box2(0, 5, 0, 1);
    assert_int_equal(
        starhalo_kern_pool2d_bwd_cpu(STARHALO_POOL_AVG, &it, a, &ot, b, &l, &img, c, &r0),
        STARHALO_ERR_INVALID_ARG);
    assert_non_null(strstr(starhalo_last_error_message(), "leaves the input tile"));
    starhalo_box_t ib2 = box2(0, 6, 0, 4);
    starhalo_kern_tile_t it2 = starhalo_kern_tile_make(&ib2, 1, 1);
    assert_status_ok(
        starhalo_kern_pool2d_bwd_cpu(STARHALO_POOL_AVG, &it2, NULL, &ot, b, &l, &img, c, &r0));
    assert_int_equal(
        starhalo_kern_pool2d_bwd_cpu(STARHALO_POOL_AVG, &it2, a, &ot, b, &l, &img, c, &r5),
        STARHALO_ERR_INVALID_ARG);
    assert_int_equal(
        starhalo_kern_pool2d_bwd_cpu(STARHALO_POOL_AVG, &it2, a, &ot2, b, &l, &img, c, &r0),
        STARHALO_ERR_INVALID_ARG);
    assert_int_equal(
        starhalo_kern_pool2d_bwd_cpu((starhalo_pool_kind_t)7, &it2, a, &ot, b, &l, &img, c, &r0),
        STARHALO_ERR_INVALID_ARG);
    assert_int_equal(
        starhalo_kern_pool2d_bwd_cpu(STARHALO_POOL_MAX, &it2, NULL, &ot, b, &l, &img, c, &r0),
        STARHALO_ERR_INVALID_ARG);
    assert_int_equal(
        starhalo_kern_pool2d_bwd_cpu(STARHALO_POOL_MAX, &it2, a, &ot, NULL, &l, &img, c, &r0),
        STARHALO_ERR_INVALID_ARG);
    assert_int_equal(
        starhalo_kern_pool2d_bwd_cpu(STARHALO_POOL_MAX, &it2, a, &ot, b, &l, &img, NULL, &r0),
        STARHALO_ERR_INVALID_ARG);
    const starhalo_layer_t s0 = {3, 0, 1, 0};
    assert_int_equal(
        starhalo_kern_pool2d_bwd_cpu(STARHALO_POOL_MAX, &it2, a, &ot, b, &s0, &img, c, &r0),
        STARHALO_ERR_INVALID_ARG);
    /* An empty region is valid: grad_in is all zeros. */
    starhalo_box_t none = box2(1, 1, 0, 2);
    c[3] = 8.0f;
    assert_status_ok(
        starhalo_kern_pool2d_bwd_cpu(STARHALO_POOL_MAX, &it2, a, &ot, b, &l, &img, c, &none));
    for (int i = 0; i < 24; i++)
        assert_true(c[i] == 0.0f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pool_finite_differences),
        cmocka_unit_test(pool_parts_sum_to_whole),
        cmocka_unit_test(pool_max_ties_and_padding),
        cmocka_unit_test(batch_norm),
        cmocka_unit_test(add_and_affine),
        cmocka_unit_test(plane_sums_and_fill),
        cmocka_unit_test(bad_geometry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
