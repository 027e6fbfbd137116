/* SPDX-License-Identifier: MIT */
/**
 * @file test_cnn_ref.c
 * @brief Tests spatial_cnn's single-rank reference (apps/spatial_cnn/ref.c) on its own, so that
 * it can be trusted as the oracle of the distributed net: the gradient of every parameter
 * (a spread of entries of each tensor) and the input gradient against central differences of
 * the loss, for a classification net with every layer type and an MSE net with strides,
 * dilation and a depthwise conv; the pools' edge semantics (padding never wins a max, the first
 * maximum gets the gradient, avgpool divides by K*K); PyTorch's SGD momentum. No StarPU, no MPI.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ref.h"

/* Every layer type: conv with bias / stride / padding, bn, relu, a residual, both pools,
 * gap, fc, softmax cross-entropy. */
static const char CLASSIFY_NET[] = "conv 3 3 1 1 bias\n"
                                   "bn\n"
                                   "relu\n"
                                   "save a\n"
                                   "conv 3 3 1 1 bias  # a bias whose gradient is not 0\n"
                                   "add a\n"
                                   "maxpool 3 2 1\n"
                                   "conv 4 3 2 1\n"
                                   "avgpool 2 1 0  # 3x3 -> 2x2, so that gap averages 4 cells\n"
                                   "gap\n"
                                   "fc 3\n"
                                   "softmax_ce\n";

/* MSE loss, stride 2, dilation, a depthwise conv, pools with overlapping windows and
 * padding. */
static const char MSE_NET[] = "conv 4 3 2 1 bias\n"
                              "relu\n"
                              "conv 4 3 1 1 groups=4 bias\n"
                              "save s\n"
                              "conv 4 3 1 2 dilation=2 bias\n"
                              "bn\n"
                              "add s\n"
                              "avgpool 3 1 1\n"
                              "maxpool 2 1 0\n"
                              "conv 2 3 1 1 bias\n";

/*
 * Central differences on the float parameters with the steps FD_EPS[]. An entry passes when,
 * for one of the steps, |fd - g| <= FD_TOL * max_i |g_i| (the tensor's largest gradient: the
 * maximum norm of the project's validations) + FD_NOISE * |L| / eps.
 * - Several steps, because relu and maxpool have kinks: a perturbation that moves a cell
 *   across a relu's 0 or a maxpool's near-tie makes the quotient of that step wrong (by up to
 *   2-5 % of max|g| with eps 1e-3 here; the error shrinks with the step), while a wrong
 *   backward is wrong by the same amount at every step.
 * - The noise term: the loss is computed from float activations, so it carries a rounding
 *   noise of ~1e-8 relative, ~1e-8 |L| / eps in the quotient. It dominates for a conv bias
 *   right before bn, whose exact gradient is 0.
 * Observed err/bound <= 0.06 (printed per tensor); a broken backward gives errors of
 * O(max|g|).
 */
static const double FD_EPS[] = {1e-3, 3e-4, 1e-4};
#define FD_NEPS  3
#define FD_TOL   1e-2
#define FD_NOISE 1e-7

typedef struct fixture {
    cnn_netdesc_t *net;
    cnn_ref_t *r;
} fixture_t;

static void make(fixture_t *f, const char *text, int64_t batch, int64_t channels, int64_t size,
                 double lr, double momentum)
{
    char err[256];
    f->net = malloc(sizeof *f->net);
    assert_non_null(f->net);
    int rc = cnn_net_parse_string("test", text, f->net, err, sizeof err);
    if (rc == 0)
        rc = cnn_net_infer(f->net, "test", channels, size, size, err, sizeof err);
    if (rc != 0)
        print_error("%s\n", err);
    assert_int_equal(rc, 0);
    const cnn_train_t t = {batch, channels, size, lr, momentum, 1e-5};
    f->r = cnn_ref_create(f->net, &t);
    assert_non_null(f->r);
}

static void unmake(fixture_t *f)
{
    cnn_ref_destroy(f->r);
    free(f->net);
}

static int64_t nparams(const cnn_netdesc_t *net, int l, int p)
{
    const char *names[CNN_MAX_PARAMS];
    int64_t counts[CNN_MAX_PARAMS];
    const int n = cnn_layer_params(&net->layers[l], names, counts);
    assert_true(p < n);
    return counts[p];
}

/* dL/d(entry i of parameter p of layer l) by central differences with step @p eps (lr 0:
 * steps only evaluate the loss); the parameter is restored. */
static double fd_param(fixture_t *f, int l, int p, int64_t i, double eps)
{
    const int64_t n = nparams(f->net, l, p);
    float *w = malloc(sizeof(float) * (size_t)n);
    assert_non_null(w);
    memcpy(w, cnn_ref_param(f->r, l, p), sizeof(float) * (size_t)n);
    const float w0 = w[i];
    const float wp = (float)((double)w0 + eps), wm = (float)((double)w0 - eps);
    w[i] = wp;
    cnn_ref_set_param(f->r, l, p, w);
    const double lp = cnn_ref_step(f->r);
    w[i] = wm;
    cnn_ref_set_param(f->r, l, p, w);
    const double lm = cnn_ref_step(f->r);
    w[i] = w0;
    cnn_ref_set_param(f->r, l, p, w);
    free(w);
    /* The float-rounded step, not 2 * eps. */
    return (lp - lm) / ((double)wp - (double)wm);
}

/* Up to 6 entries spread over [0, n): first, last and between. */
static int pick(int64_t n, int64_t idx[6])
{
    int k = 0;
    const int64_t cand[6] = {0, n - 1, n / 2, n / 3, (2 * n) / 3, (5 * n) / 7};
    for (int c = 0; c < 6; c++) {
        int dup = 0;
        for (int j = 0; j < k; j++)
            dup |= idx[j] == cand[c];
        if (!dup)
            idx[k++] = cand[c];
    }
    return k;
}

/* Entry j's analytic g[j] against its quotients fd[e][j], one per step FD_EPS[e], with a loss
 * of magnitude @p loss; prints the worst entry and returns its error / bound (pass: <= 1). */
static double compare(const char *what, const char *label, int k, const int64_t *idx,
                      const double *g, double *const fd[FD_NEPS], double gmax, double loss)
{
    double worst = -1.0;
    int jw = 0, ew = 0;
    for (int j = 0; j < k; j++) {
        double best = INFINITY;
        int eb = 0;
        for (int e = 0; e < FD_NEPS; e++) {
            const double bound = FD_TOL * gmax + FD_NOISE * fabs(loss) / FD_EPS[e];
            const double r = fabs(fd[e][j] - g[j]) / bound;
            if (r < best) {
                best = r;
                eb = e;
            }
        }
        if (best > worst) {
            worst = best;
            jw = j;
            ew = eb;
        }
    }
    print_message("%s: %s: %d checked, max|g| %.3g; worst [%lld]: analytic %.6g, differences "
                  "%.6g (eps %g), err/max|g| %.1e, err/bound %.2f\n",
                  what, label, k, gmax, (long long)idx[jw], g[jw], fd[ew][jw], FD_EPS[ew],
                  gmax > 0.0 ? fabs(fd[ew][jw] - g[jw]) / gmax : 0.0, worst);
    return worst;
}

/* The analytic gradient of every parameter of the net against central differences. */
static void check_all_params(fixture_t *f, const char *what)
{
    for (int l = 0; l < f->net->nlayers; l++) {
        const char *names[CNN_MAX_PARAMS];
        int64_t counts[CNN_MAX_PARAMS];
        const int np = cnn_layer_params(&f->net->layers[l], names, counts);
        for (int p = 0; p < np; p++) {
            const int64_t n = counts[p];
            /* The analytic gradient at the unperturbed parameters. */
            const double loss = cnn_ref_step(f->r);
            const double *gall = cnn_ref_grad(f->r, l, p);
            double gmax = 0.0, g[6], fdv[FD_NEPS][6];
            double *fd[FD_NEPS];
            for (int64_t i = 0; i < n; i++)
                gmax = fmax(gmax, fabs(gall[i]));
            int64_t idx[6];
            const int k = pick(n, idx);
            for (int j = 0; j < k; j++)
                g[j] = gall[idx[j]]; /* before fd_param's steps overwrite it */
            for (int e = 0; e < FD_NEPS; e++) {
                fd[e] = fdv[e];
                for (int j = 0; j < k; j++)
                    fd[e][j] = fd_param(f, l, p, idx[j], FD_EPS[e]);
            }
            char label[64];
            snprintf(label, sizeof label, "layer %d %s (%lld)", l, names[p], (long long)n);
            assert_true(compare(what, label, k, idx, g, fd, gmax, loss) <= 1.0);
        }
    }
}

static void params_classify(void **state)
{
    (void)state;
    fixture_t f;
    make(&f, CLASSIFY_NET, 2, 2, 9, 0.0, 0.9);
    assert_true(f.net->classify);
    check_all_params(&f, "classify");
    unmake(&f);
}

static void params_mse(void **state)
{
    (void)state;
    fixture_t f;
    make(&f, MSE_NET, 2, 2, 11, 0.0, 0.0);
    assert_false(f.net->classify);
    check_all_params(&f, "mse");
    unmake(&f);
}

/*
 * The input gradient. ref.h has no way to perturb the input, so the net B under test gets a
 * prefix: A = "conv C 3 1 1" + B, the prefix set to the identity (centre tap 1, others 0), so
 * that A's first activation is the input bit for bit and A computes B's loss exactly (asserted).
 * Perturbing the prefix's weight [co][ci][ky][kx] by eps adds eps * (input channel ci shifted
 * by (ky - 1, kx - 1), zero padded) to B's input channel co, so its central difference is B's
 * directional derivative along that shifted image: sum over n, y, x of dxB[n][co][y][x] *
 * x[n][ci][y + ky - 1][x + kx - 1], with dxB = cnn_ref_input_grad of B. All C*C*9 directions
 * are checked; and A's own input gradient (the conv's backward data of the identity) must
 * equal dxB.
 */
static void input_grad_net(const char *body, const char *what, int64_t batch, int64_t channels,
                           int64_t size)
{
    fixture_t b, a;
    make(&b, body, batch, channels, size, 0.0, 0.0);
    const size_t len = strlen(body) + 64;
    char *text = malloc(len);
    assert_non_null(text);
    snprintf(text, len, "conv %lld 3 1 1\n%s", (long long)channels, body);
    make(&a, text, batch, channels, size, 0.0, 0.0);
    free(text);
    /* A's layers 1.. take B's parameters (the generator depends on the layer index). */
    for (int l = 0; l < b.net->nlayers; l++) {
        const char *names[CNN_MAX_PARAMS];
        int64_t counts[CNN_MAX_PARAMS];
        const int np = cnn_layer_params(&b.net->layers[l], names, counts);
        for (int p = 0; p < np; p++)
            cnn_ref_set_param(a.r, l + 1, p, cnn_ref_param(b.r, l, p));
    }
    const int64_t C = channels, S = size, nw = C * C * 9;
    float *id = calloc((size_t)nw, sizeof(float));
    assert_non_null(id);
    for (int64_t c = 0; c < C; c++)
        id[(c * C + c) * 9 + 4] = 1.0f;
    cnn_ref_set_param(a.r, 0, 0, id);
    free(id);

    const double lb = cnn_ref_step(b.r), la = cnn_ref_step(a.r);
    assert_true(la == lb);
    const int64_t nx = batch * C * S * S;
    const float *dxb = cnn_ref_input_grad(b.r), *dxa = cnn_ref_input_grad(a.r);
    double dmax = 0.0, amax = 0.0;
    for (int64_t i = 0; i < nx; i++) {
        dmax = fmax(dmax, fabs((double)dxa[i] - (double)dxb[i]));
        amax = fmax(amax, fabs((double)dxb[i]));
    }
    print_message("%s: input grad max|dx| %.3g, identity-prefix net's differs by %.2e\n", what,
                  amax, dmax);
    assert_true(amax > 0.0);
    assert_true(dmax <= 1e-6 * amax);

    /* The projections of dxB (in double) against central differences of A. */
    double *proj = calloc((size_t)nw, sizeof(double)), *fd[FD_NEPS];
    int64_t *idx = calloc((size_t)nw, sizeof(int64_t));
    assert_true(proj && idx);
    for (int e = 0; e < FD_NEPS; e++) {
        fd[e] = calloc((size_t)nw, sizeof(double));
        assert_non_null(fd[e]);
    }
    double pmax = 0.0;
    for (int64_t co = 0; co < C; co++)
        for (int64_t ci = 0; ci < C; ci++)
            for (int64_t ky = 0; ky < 3; ky++)
                for (int64_t kx = 0; kx < 3; kx++) {
                    double acc = 0.0;
                    for (int64_t n = 0; n < batch; n++)
                        for (int64_t y = 0; y < S; y++)
                            for (int64_t x = 0; x < S; x++) {
                                const int64_t iy = y + ky - 1, ix = x + kx - 1;
                                if (iy < 0 || iy >= S || ix < 0 || ix >= S)
                                    continue;
                                acc += (double)dxb[((n * C + co) * S + y) * S + x] *
                                       (double)cnn_data_input(n, ci, iy, ix);
                            }
                    const int64_t i = ((co * C + ci) * 3 + ky) * 3 + kx;
                    proj[i] = acc;
                    pmax = fmax(pmax, fabs(acc));
                }
    for (int64_t i = 0; i < nw; i++) {
        idx[i] = i;
        for (int e = 0; e < FD_NEPS; e++)
            fd[e][i] = fd_param(&a, 0, 0, i, FD_EPS[e]);
    }
    assert_true(compare(what, "input grad (shifted-input directions)", (int)nw, idx, proj, fd, pmax,
                        lb) <= 1.0);
    free(idx);
    for (int e = 0; e < FD_NEPS; e++)
        free(fd[e]);
    free(proj);
    unmake(&a);
    unmake(&b);
}

static void input_grad_classify(void **state)
{
    (void)state;
    input_grad_net(CLASSIFY_NET, "classify", 2, 2, 9);
}

static void input_grad_mse(void **state)
{
    (void)state;
    input_grad_net(MSE_NET, "mse", 2, 2, 11);
}

/*
 * Pools on constant images: a 1x1 conv with weight 0 and bias b gives the constant b.
 * maxpool 3 2 1 on b = -1: every output is -1 (zero padding would win if it counted), and
 * with all cells tied the gradient goes to the first in-image cell of each window (ky outer,
 * kx inner): the conv weight gradient sum_cells dx * input must be the one computed here
 * from that rule. avgpool 3 1 1 on b = 1: corners 4/9, edges 6/9, inside 1 (divides by K*K).
 */
static void pool_semantics(void **state)
{
    (void)state;
    const int64_t N = 2, C = 2, S = 7, OS = 4;
    fixture_t f;
    make(&f, "conv 1 1 1 0 bias\nmaxpool 3 2 1\n", N, C, S, 0.0, 0.0);
    const float zero[2] = {0.0f, 0.0f}, minus1 = -1.0f;
    cnn_ref_set_param(f.r, 0, 0, zero);
    cnn_ref_set_param(f.r, 0, 1, &minus1);
    (void)cnn_ref_step(f.r);
    const float *y = cnn_ref_activation(f.r, 1);
    for (int64_t i = 0; i < N * OS * OS; i++)
        assert_true(y[i] == -1.0f);
    /* dL/dy = y - t; the first in-image cell of window (oy, ox) is (max(2oy-1, 0), ...). */
    const double *gw = cnn_ref_grad(f.r, 0, 0);
    for (int64_t ci = 0; ci < C; ci++) {
        double want = 0.0;
        for (int64_t n = 0; n < N; n++)
            for (int64_t oy = 0; oy < OS; oy++)
                for (int64_t ox = 0; ox < OS; ox++) {
                    const int64_t iy = oy * 2 - 1 < 0 ? 0 : oy * 2 - 1;
                    const int64_t ix = ox * 2 - 1 < 0 ? 0 : ox * 2 - 1;
                    const double dy = -1.0 - (double)cnn_data_target(n, 0, oy, ox);
                    want += dy * (double)cnn_data_input(n, ci, iy, ix);
                }
        print_message("maxpool ties: weight grad [%lld] %.9g, first-max rule %.9g\n", (long long)ci,
                      gw[ci], want);
        assert_true(fabs(gw[ci] - want) <= 1e-6 * fabs(want) + 1e-12);
    }
    unmake(&f);

    make(&f, "conv 1 1 1 0 bias\navgpool 3 1 1\n", N, C, S, 0.0, 0.0);
    const float one = 1.0f;
    cnn_ref_set_param(f.r, 0, 0, zero);
    cnn_ref_set_param(f.r, 0, 1, &one);
    (void)cnn_ref_step(f.r);
    y = cnn_ref_activation(f.r, 1);
    for (int64_t n = 0; n < N; n++)
        for (int64_t oy = 0; oy < S; oy++)
            for (int64_t ox = 0; ox < S; ox++) {
                const int ey = oy == 0 || oy == S - 1, ex = ox == 0 || ox == S - 1;
                const float want = (float)((3.0 - ey) * (3.0 - ex) / 9.0);
                assert_true(y[(n * S + oy) * S + ox] == want);
            }
    unmake(&f);
}

/* Two steps of SGD with momentum m: w1 = w0 - lr g0, w2 = w1 - lr (m g0 + g1) (PyTorch's,
 * v starts at 0), each in double and stored as float. */
static void sgd_momentum(void **state)
{
    (void)state;
    const double lr = 0.05, m = 0.9;
    fixture_t f;
    make(&f, CLASSIFY_NET, 2, 2, 9, lr, m);
    const int l = 10, p = 0; /* fc weight */
    const int64_t n = nparams(f.net, l, p);
    float *w0 = malloc(sizeof(float) * (size_t)n), *w1 = malloc(sizeof(float) * (size_t)n);
    double *g0 = malloc(sizeof(double) * (size_t)n);
    assert_true(w0 && w1 && g0);
    memcpy(w0, cnn_ref_param(f.r, l, p), sizeof(float) * (size_t)n);
    const double loss0 = cnn_ref_step(f.r);
    memcpy(g0, cnn_ref_grad(f.r, l, p), sizeof(double) * (size_t)n);
    memcpy(w1, cnn_ref_param(f.r, l, p), sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        assert_true(w1[i] == (float)((double)w0[i] - lr * g0[i]));
    const double loss1 = cnn_ref_step(f.r);
    const double *g1 = cnn_ref_grad(f.r, l, p);
    const float *w2 = cnn_ref_param(f.r, l, p);
    int moved = 0;
    for (int64_t i = 0; i < n; i++) {
        assert_true(w2[i] == (float)((double)w1[i] - lr * (m * g0[i] + g1[i])));
        moved |= w2[i] != w0[i];
    }
    assert_true(moved);
    print_message("sgd: loss %.9g -> %.9g\n", loss0, loss1);
    assert_true(loss1 < loss0);
    free(w0);
    free(w1);
    free(g0);
    unmake(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(params_classify),     cmocka_unit_test(params_mse),
        cmocka_unit_test(input_grad_classify), cmocka_unit_test(input_grad_mse),
        cmocka_unit_test(pool_semantics),      cmocka_unit_test(sgd_momentum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
