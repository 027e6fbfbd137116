/* SPDX-License-Identifier: MIT */
/**
 * @file ref.c
 * @brief spatial_cnn's independent reference (ref.h): the net of a net file trained on the
 * whole image in one process. Naive loops over the N x C x H x W arrays, explicit zero
 * padding (a tap outside the image is skipped, i.e. reads 0), double accumulation inside a
 * layer, float storage between layers (as the distributed fields), conv backward data in the
 * gather form (each input cell sums the outputs whose window reads it), and its own SGD with
 * PyTorch's momentum. Uses netfile.h only for the net, the data and the initial parameters:
 * no starhalo header, no kernel of the library, no halo.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

struct cnn_ref {
    cnn_netdesc_t net;
    cnn_train_t t;
    float *x;      /**< input N x C x S x S */
    float *dx;     /**< dL/dx */
    float *target; /**< MSE target, last layer's output shape */
    int *labels;   /**< classify: label of each image */
    /** act[l]: output of layer l; grad[l]: dL/d(output of layer l). Softmax_ce's output is
     * the softmax probabilities (N x NCLASSES). */
    float *act[CNN_MAX_LAYERS], *grad[CNN_MAX_LAYERS];
    double *saved_grad[CNN_MAX_LAYERS]; /**< save: the gradients of its adds, summed */
    int64_t *argmax[CNN_MAX_LAYERS];    /**< maxpool: input cell of each output, -1 if none */
    double *bn_mean[CNN_MAX_LAYERS], *bn_invstd[CNN_MAX_LAYERS];
    int nparams[CNN_MAX_LAYERS];
    int64_t count[CNN_MAX_LAYERS][CNN_MAX_PARAMS];
    float *w[CNN_MAX_LAYERS][CNN_MAX_PARAMS];  /**< parameters */
    double *g[CNN_MAX_LAYERS][CNN_MAX_PARAMS]; /**< their gradients (last step) */
    double *v[CNN_MAX_LAYERS][CNN_MAX_PARAMS]; /**< momentum buffers (start at 0) */
    double *scratch;                           /**< maxpool backward (scatter in double) */
};

/* Elements of one layer's input / output for the whole batch (C x H x W per image; flat
 * layers have H = W = 1). */
static int64_t in_elems(const cnn_ref_t *r, const cnn_layer_desc_t *l)
{
    return r->t.batch * l->in_c * l->in_h * l->in_w;
}

static int64_t out_elems(const cnn_ref_t *r, const cnn_layer_desc_t *l)
{
    return r->t.batch * l->out_c * l->out_h * l->out_w;
}

static void *alloc(int64_t n, size_t size)
{
    return calloc((size_t)(n > 0 ? n : 1), size);
}

void cnn_ref_destroy(cnn_ref_t *r)
{
    if (!r)
        return;
    free(r->x);
    free(r->dx);
    free(r->target);
    free(r->labels);
    free(r->scratch);
    for (int l = 0; l < CNN_MAX_LAYERS; l++) {
        free(r->act[l]);
        free(r->grad[l]);
        free(r->saved_grad[l]);
        free(r->argmax[l]);
        free(r->bn_mean[l]);
        free(r->bn_invstd[l]);
        for (int p = 0; p < CNN_MAX_PARAMS; p++) {
            free(r->w[l][p]);
            free(r->g[l][p]);
            free(r->v[l][p]);
        }
    }
    free(r);
}

cnn_ref_t *cnn_ref_create(const cnn_netdesc_t *net, const cnn_train_t *t)
{
    if (net->nlayers < 1 || net->nlayers > CNN_MAX_LAYERS)
        return NULL;
    const cnn_layer_desc_t *first = &net->layers[0];
    if (first->in_c != t->channels || first->in_h != t->size || first->in_w != t->size)
        return NULL; /* not inferred for this input */
    cnn_ref_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->net = *net;
    r->t = *t;
    const int64_t N = t->batch, C = t->channels, S = t->size;
    r->x = alloc(N * C * S * S, sizeof(float));
    r->dx = alloc(N * C * S * S, sizeof(float));
    int ok = r->x && r->dx;
    int64_t scratch = 0;
    for (int l = 0; ok && l < net->nlayers; l++) {
        const cnn_layer_desc_t *d = &net->layers[l];
        const int64_t nout = d->op == CNN_SOFTMAX_CE ? in_elems(r, d) : out_elems(r, d);
        r->act[l] = alloc(nout, sizeof(float));
        r->grad[l] = alloc(nout, sizeof(float));
        ok = r->act[l] && r->grad[l];
        if (d->op == CNN_SAVE) {
            r->saved_grad[l] = alloc(nout, sizeof(double));
            ok = ok && r->saved_grad[l];
        } else if (d->op == CNN_MAXPOOL) {
            r->argmax[l] = alloc(nout, sizeof(int64_t));
            ok = ok && r->argmax[l];
            if (in_elems(r, d) > scratch)
                scratch = in_elems(r, d);
        } else if (d->op == CNN_BN) {
            r->bn_mean[l] = alloc(d->in_c, sizeof(double));
            r->bn_invstd[l] = alloc(d->in_c, sizeof(double));
            ok = ok && r->bn_mean[l] && r->bn_invstd[l];
        }
        const char *names[CNN_MAX_PARAMS];
        r->nparams[l] = cnn_layer_params(d, names, r->count[l]);
        for (int p = 0; ok && p < r->nparams[l]; p++) {
            r->w[l][p] = alloc(r->count[l][p], sizeof(float));
            r->g[l][p] = alloc(r->count[l][p], sizeof(double));
            r->v[l][p] = alloc(r->count[l][p], sizeof(double));
            ok = r->w[l][p] && r->g[l][p] && r->v[l][p];
            for (int64_t i = 0; ok && i < r->count[l][p]; i++)
                r->w[l][p][i] = cnn_param_init(net, l, p, i);
        }
    }
    if (ok) {
        r->scratch = alloc(scratch, sizeof(double));
        ok = r->scratch != NULL;
    }
    /* The loss follows the last layer (net->classify says the same for a checked net). */
    const cnn_layer_desc_t *last = &net->layers[net->nlayers - 1];
    if (ok && last->op == CNN_SOFTMAX_CE) {
        r->labels = alloc(N, sizeof(int));
        ok = r->labels != NULL;
        for (int64_t n = 0; ok && n < N; n++)
            r->labels[n] = cnn_data_label(n, (int)last->in_c);
    } else if (ok) {
        r->target = alloc(out_elems(r, last), sizeof(float));
        ok = r->target != NULL;
        for (int64_t n = 0; ok && n < N; n++)
            for (int64_t c = 0; c < last->out_c; c++)
                for (int64_t y = 0; y < last->out_h; y++)
                    for (int64_t xx = 0; xx < last->out_w; xx++)
                        r->target[((n * last->out_c + c) * last->out_h + y) * last->out_w + xx] =
                            cnn_data_target(n, c, y, xx);
    }
    if (!ok) {
        cnn_ref_destroy(r);
        return NULL;
    }
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t y = 0; y < S; y++)
                for (int64_t xx = 0; xx < S; xx++)
                    r->x[((n * C + c) * S + y) * S + xx] = cnn_data_input(n, c, y, xx);
    return r;
}

void cnn_ref_set_input(cnn_ref_t *r, const float *x)
{
    memcpy(r->x, x, sizeof(float) * (size_t)(r->t.batch * r->t.channels * r->t.size * r->t.size));
}

/* ---- conv: out[n][co][oy][ox] = bias[co] + sum in[n][ci][oy*s-p+ky*d][ox*s-p+kx*d] *
 * w[co][ci - g*CIN/G][ky][kx] over the input channels ci of co's group g (cross-correlation,
 * 0 outside the image). */

static void conv_forward(const cnn_ref_t *r, int l, const float *in, float *out)
{
    const cnn_layer_desc_t *d = &r->net.layers[l];
    const int64_t H = d->in_h, W = d->in_w, OH = d->out_h, OW = d->out_w;
    const int64_t cing = d->in_c / d->groups, coutg = d->out_c / d->groups;
    const int64_t K = d->kernel, s = d->stride, p = d->pad, dil = d->dilation;
    const float *w = r->w[l][0], *b = d->bias ? r->w[l][1] : NULL;
    for (int64_t n = 0; n < r->t.batch; n++)
        for (int64_t co = 0; co < d->out_c; co++) {
            const int64_t ci0 = co / coutg * cing;
            for (int64_t oy = 0; oy < OH; oy++)
                for (int64_t ox = 0; ox < OW; ox++) {
                    double acc = b ? (double)b[co] : 0.0;
                    for (int64_t cig = 0; cig < cing; cig++) {
                        const float *xp = in + (n * d->in_c + ci0 + cig) * H * W;
                        const float *wp = w + (co * cing + cig) * K * K;
                        for (int64_t ky = 0; ky < K; ky++) {
                            const int64_t iy = oy * s - p + ky * dil;
                            if (iy < 0 || iy >= H)
                                continue; /* zero padding */
                            for (int64_t kx = 0; kx < K; kx++) {
                                const int64_t ix = ox * s - p + kx * dil;
                                if (ix < 0 || ix >= W)
                                    continue;
                                acc += (double)xp[iy * W + ix] * (double)wp[ky * K + kx];
                            }
                        }
                    }
                    out[((n * d->out_c + co) * OH + oy) * OW + ox] = (float)acc;
                }
        }
}

/* Output index along one axis whose tap k reads input i: o*s - p + k*dil == i; -1 if none. */
static int64_t tap_source(int64_t i, int64_t k, int64_t s, int64_t p, int64_t dil, int64_t n_out)
{
    const int64_t t = i + p - k * dil;
    if (t < 0 || t % s != 0 || t / s >= n_out)
        return -1;
    return t / s;
}

static void conv_backward(cnn_ref_t *r, int l, const float *in, const float *gout, float *gin)
{
    const cnn_layer_desc_t *d = &r->net.layers[l];
    const int64_t H = d->in_h, W = d->in_w, OH = d->out_h, OW = d->out_w;
    const int64_t cing = d->in_c / d->groups, coutg = d->out_c / d->groups;
    const int64_t K = d->kernel, s = d->stride, p = d->pad, dil = d->dilation, N = r->t.batch;
    const float *w = r->w[l][0];
    /* Data, gather form: gin[n][ci][iy][ix] = sum over the outputs (co, oy, ox) and taps
     * (ky, kx) with oy*s - p + ky*dil == iy (and the same along x) of gout * w. */
    for (int64_t n = 0; n < N; n++)
        for (int64_t ci = 0; ci < d->in_c; ci++) {
            const int64_t g = ci / cing, cig = ci - g * cing;
            for (int64_t iy = 0; iy < H; iy++)
                for (int64_t ix = 0; ix < W; ix++) {
                    double acc = 0.0;
                    for (int64_t co = g * coutg; co < (g + 1) * coutg; co++) {
                        const float *gp = gout + (n * d->out_c + co) * OH * OW;
                        const float *wp = w + (co * cing + cig) * K * K;
                        for (int64_t ky = 0; ky < K; ky++) {
                            const int64_t oy = tap_source(iy, ky, s, p, dil, OH);
                            if (oy < 0)
                                continue;
                            for (int64_t kx = 0; kx < K; kx++) {
                                const int64_t ox = tap_source(ix, kx, s, p, dil, OW);
                                if (ox < 0)
                                    continue;
                                acc += (double)gp[oy * OW + ox] * (double)wp[ky * K + kx];
                            }
                        }
                    }
                    gin[((n * d->in_c + ci) * H + iy) * W + ix] = (float)acc;
                }
        }
    /* Weights: gw[co][cig][ky][kx] = sum over n, oy, ox of gout * the input cell the tap read. */
    for (int64_t co = 0; co < d->out_c; co++) {
        const int64_t ci0 = co / coutg * cing;
        for (int64_t cig = 0; cig < cing; cig++)
            for (int64_t ky = 0; ky < K; ky++)
                for (int64_t kx = 0; kx < K; kx++) {
                    double acc = 0.0;
                    for (int64_t n = 0; n < N; n++) {
                        const float *gp = gout + (n * d->out_c + co) * OH * OW;
                        const float *xp = in + (n * d->in_c + ci0 + cig) * H * W;
                        for (int64_t oy = 0; oy < OH; oy++) {
                            const int64_t iy = oy * s - p + ky * dil;
                            if (iy < 0 || iy >= H)
                                continue;
                            for (int64_t ox = 0; ox < OW; ox++) {
                                const int64_t ix = ox * s - p + kx * dil;
                                if (ix < 0 || ix >= W)
                                    continue;
                                acc += (double)gp[oy * OW + ox] * (double)xp[iy * W + ix];
                            }
                        }
                    }
                    r->g[l][0][((co * cing + cig) * K + ky) * K + kx] = acc;
                }
    }
    if (d->bias)
        for (int64_t co = 0; co < d->out_c; co++) {
            double acc = 0.0;
            for (int64_t n = 0; n < N; n++)
                for (int64_t i = 0; i < OH * OW; i++)
                    acc += (double)gout[(n * d->out_c + co) * OH * OW + i];
            r->g[l][1][co] = acc;
        }
}

/* ---- pools: window of output (oy, ox) = input rows oy*s - p + ky, columns ox*s - p + kx,
 * ky, kx in [0, K). */

static void maxpool_forward(cnn_ref_t *r, int l, const float *in, float *out)
{
    const cnn_layer_desc_t *d = &r->net.layers[l];
    const int64_t H = d->in_h, W = d->in_w, OH = d->out_h, OW = d->out_w;
    const int64_t K = d->kernel, s = d->stride, p = d->pad;
    for (int64_t nc = 0; nc < r->t.batch * d->in_c; nc++)
        for (int64_t oy = 0; oy < OH; oy++)
            for (int64_t ox = 0; ox < OW; ox++) {
                /* Padding never wins; the first maximum in window order (ky outer, kx inner)
                 * gets the gradient, as PyTorch's CPU kernel (strict >). */
                int64_t best = -1;
                for (int64_t ky = 0; ky < K; ky++) {
                    const int64_t iy = oy * s - p + ky;
                    if (iy < 0 || iy >= H)
                        continue;
                    for (int64_t kx = 0; kx < K; kx++) {
                        const int64_t ix = ox * s - p + kx;
                        if (ix < 0 || ix >= W)
                            continue;
                        const int64_t i = nc * H * W + iy * W + ix;
                        if (best < 0 || in[i] > in[best])
                            best = i;
                    }
                }
                const int64_t o = (nc * OH + oy) * OW + ox;
                r->argmax[l][o] = best;
                out[o] = best < 0 ? 0.0f : in[best];
            }
}

static void maxpool_backward(cnn_ref_t *r, int l, const float *gout, float *gin)
{
    const cnn_layer_desc_t *d = &r->net.layers[l];
    const int64_t nin = in_elems(r, d), nout = out_elems(r, d);
    memset(r->scratch, 0, sizeof(double) * (size_t)nin);
    for (int64_t o = 0; o < nout; o++)
        if (r->argmax[l][o] >= 0)
            r->scratch[r->argmax[l][o]] += (double)gout[o];
    for (int64_t i = 0; i < nin; i++)
        gin[i] = (float)r->scratch[i];
}

static void avgpool_forward(const cnn_ref_t *r, int l, const float *in, float *out)
{
    const cnn_layer_desc_t *d = &r->net.layers[l];
    const int64_t H = d->in_h, W = d->in_w, OH = d->out_h, OW = d->out_w;
    const int64_t K = d->kernel, s = d->stride, p = d->pad;
    for (int64_t nc = 0; nc < r->t.batch * d->in_c; nc++)
        for (int64_t oy = 0; oy < OH; oy++)
            for (int64_t ox = 0; ox < OW; ox++) {
                double acc = 0.0;
                for (int64_t ky = 0; ky < K; ky++) {
                    const int64_t iy = oy * s - p + ky;
                    if (iy < 0 || iy >= H)
                        continue;
                    for (int64_t kx = 0; kx < K; kx++) {
                        const int64_t ix = ox * s - p + kx;
                        if (ix >= 0 && ix < W)
                            acc += (double)in[nc * H * W + iy * W + ix];
                    }
                }
                out[(nc * OH + oy) * OW + ox] = (float)(acc / (double)(K * K));
            }
}

static void avgpool_backward(const cnn_ref_t *r, int l, const float *gout, float *gin)
{
    const cnn_layer_desc_t *d = &r->net.layers[l];
    const int64_t H = d->in_h, W = d->in_w, OH = d->out_h, OW = d->out_w;
    const int64_t K = d->kernel, s = d->stride, p = d->pad;
    /* Gather form: each input cell sums the outputs whose window holds it, / (K*K). */
    for (int64_t nc = 0; nc < r->t.batch * d->in_c; nc++)
        for (int64_t iy = 0; iy < H; iy++)
            for (int64_t ix = 0; ix < W; ix++) {
                double acc = 0.0;
                for (int64_t ky = 0; ky < K; ky++) {
                    const int64_t oy = tap_source(iy, ky, s, p, 1, OH);
                    if (oy < 0)
                        continue;
                    for (int64_t kx = 0; kx < K; kx++) {
                        const int64_t ox = tap_source(ix, kx, s, p, 1, OW);
                        if (ox >= 0)
                            acc += (double)gout[(nc * OH + oy) * OW + ox];
                    }
                }
                gin[nc * H * W + iy * W + ix] = (float)(acc / (double)(K * K));
            }
}

/* ---- batch norm (training mode): per channel, mean and biased variance over the batch and
 * every cell; y = gamma * (x - mean) / sqrt(var + eps) + beta. */

static void bn_forward(cnn_ref_t *r, int l, const float *in, float *out)
{
    const cnn_layer_desc_t *d = &r->net.layers[l];
    const int64_t HW = d->in_h * d->in_w, C = d->in_c, N = r->t.batch;
    const double M = (double)(N * HW);
    for (int64_t c = 0; c < C; c++) {
        double sum = 0.0;
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < HW; i++)
                sum += (double)in[(n * C + c) * HW + i];
        const double mean = sum / M;
        double var = 0.0;
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < HW; i++) {
                const double e = (double)in[(n * C + c) * HW + i] - mean;
                var += e * e;
            }
        var /= M;
        const double invstd = 1.0 / sqrt(var + r->t.bn_eps);
        const double gamma = (double)r->w[l][0][c], beta = (double)r->w[l][1][c];
        r->bn_mean[l][c] = mean;
        r->bn_invstd[l][c] = invstd;
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < HW; i++) {
                const int64_t k = (n * C + c) * HW + i;
                out[k] = (float)(gamma * ((double)in[k] - mean) * invstd + beta);
            }
    }
}

static void bn_backward(cnn_ref_t *r, int l, const float *in, const float *gout, float *gin)
{
    const cnn_layer_desc_t *d = &r->net.layers[l];
    const int64_t HW = d->in_h * d->in_w, C = d->in_c, N = r->t.batch;
    const double M = (double)(N * HW);
    for (int64_t c = 0; c < C; c++) {
        const double mean = r->bn_mean[l][c], invstd = r->bn_invstd[l][c];
        double dbeta = 0.0, dgamma = 0.0;
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < HW; i++) {
                const int64_t k = (n * C + c) * HW + i;
                dbeta += (double)gout[k];
                dgamma += (double)gout[k] * ((double)in[k] - mean) * invstd;
            }
        r->g[l][0][c] = dgamma;
        r->g[l][1][c] = dbeta;
        /* dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)) */
        const double gamma = (double)r->w[l][0][c];
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < HW; i++) {
                const int64_t k = (n * C + c) * HW + i;
                const double xhat = ((double)in[k] - mean) * invstd;
                gin[k] =
                    (float)(gamma * invstd * ((double)gout[k] - dbeta / M - xhat * dgamma / M));
            }
    }
}

/* ---- gap (N x C x H x W -> N x C), fc (N x K = x W^T + b) */

static void gap_forward(const cnn_ref_t *r, const cnn_layer_desc_t *d, const float *in, float *out)
{
    const int64_t HW = d->in_h * d->in_w;
    for (int64_t nc = 0; nc < r->t.batch * d->in_c; nc++) {
        double acc = 0.0;
        for (int64_t i = 0; i < HW; i++)
            acc += (double)in[nc * HW + i];
        out[nc] = (float)(acc / (double)HW);
    }
}

static void gap_backward(const cnn_ref_t *r, const cnn_layer_desc_t *d, const float *gout,
                         float *gin)
{
    const int64_t HW = d->in_h * d->in_w;
    for (int64_t nc = 0; nc < r->t.batch * d->in_c; nc++)
        for (int64_t i = 0; i < HW; i++)
            gin[nc * HW + i] = (float)((double)gout[nc] / (double)HW);
}

static void fc_forward(const cnn_ref_t *r, int l, const float *in, float *out)
{
    const cnn_layer_desc_t *d = &r->net.layers[l];
    const int64_t C = d->in_c, K = d->nclasses;
    for (int64_t n = 0; n < r->t.batch; n++)
        for (int64_t k = 0; k < K; k++) {
            double acc = (double)r->w[l][1][k];
            for (int64_t c = 0; c < C; c++)
                acc += (double)in[n * C + c] * (double)r->w[l][0][k * C + c];
            out[n * K + k] = (float)acc;
        }
}

static void fc_backward(cnn_ref_t *r, int l, const float *in, const float *gout, float *gin)
{
    const cnn_layer_desc_t *d = &r->net.layers[l];
    const int64_t C = d->in_c, K = d->nclasses, N = r->t.batch;
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) {
            double acc = 0.0;
            for (int64_t k = 0; k < K; k++)
                acc += (double)gout[n * K + k] * (double)r->w[l][0][k * C + c];
            gin[n * C + c] = (float)acc;
        }
    for (int64_t k = 0; k < K; k++) {
        double db = 0.0;
        for (int64_t n = 0; n < N; n++)
            db += (double)gout[n * K + k];
        r->g[l][1][k] = db;
        for (int64_t c = 0; c < C; c++) {
            double acc = 0.0;
            for (int64_t n = 0; n < N; n++)
                acc += (double)gout[n * K + k] * (double)in[n * C + c];
            r->g[l][0][k * C + c] = acc;
        }
    }
}

/* ---- softmax cross-entropy: loss = mean over n of log(sum_k exp z[n][k]) - z[n][label];
 * dz = (softmax - onehot) / N. The layer's activation is the softmax. */

static double softmax_ce(cnn_ref_t *r, int l, const float *z, float *gz)
{
    const cnn_layer_desc_t *d = &r->net.layers[l];
    const int64_t K = d->in_c, N = r->t.batch;
    double loss = 0.0;
    for (int64_t n = 0; n < N; n++) {
        const float *zn = z + n * K;
        double zmax = (double)zn[0];
        for (int64_t k = 1; k < K; k++)
            if ((double)zn[k] > zmax)
                zmax = (double)zn[k];
        double sum = 0.0;
        for (int64_t k = 0; k < K; k++)
            sum += exp((double)zn[k] - zmax);
        const int label = r->labels[n];
        loss += zmax + log(sum) - (double)zn[label];
        for (int64_t k = 0; k < K; k++) {
            const double prob = exp((double)zn[k] - zmax) / sum;
            r->act[l][n * K + k] = (float)prob;
            gz[n * K + k] = (float)((prob - (k == label ? 1.0 : 0.0)) / (double)N);
        }
    }
    return loss / (double)N;
}

double cnn_ref_step(cnn_ref_t *r)
{
    const cnn_netdesc_t *net = &r->net;
    const int L = net->nlayers;
    /* Forward. */
    for (int l = 0; l < L; l++) {
        const cnn_layer_desc_t *d = &net->layers[l];
        const float *in = l ? r->act[l - 1] : r->x;
        float *out = r->act[l];
        const int64_t n = in_elems(r, d);
        switch (d->op) {
        case CNN_CONV:
            conv_forward(r, l, in, out);
            break;
        case CNN_MAXPOOL:
            maxpool_forward(r, l, in, out);
            break;
        case CNN_AVGPOOL:
            avgpool_forward(r, l, in, out);
            break;
        case CNN_BN:
            bn_forward(r, l, in, out);
            break;
        case CNN_RELU:
            for (int64_t i = 0; i < n; i++)
                out[i] = in[i] > 0.0f ? in[i] : 0.0f;
            break;
        case CNN_SAVE:
            memcpy(out, in, sizeof(float) * (size_t)n);
            memset(r->saved_grad[l], 0, sizeof(double) * (size_t)n);
            break;
        case CNN_ADD: {
            const float *a = r->act[d->save_index];
            for (int64_t i = 0; i < n; i++)
                out[i] = (float)((double)in[i] + (double)a[i]);
            break;
        }
        case CNN_GAP:
            gap_forward(r, d, in, out);
            break;
        case CNN_FC:
            fc_forward(r, l, in, out);
            break;
        case CNN_SOFTMAX_CE:
            break; /* the loss, below */
        }
    }
    /* Loss and its gradient w.r.t. the last layer's output (softmax_ce: w.r.t. its input). */
    const cnn_layer_desc_t *last = &net->layers[L - 1];
    double loss = 0.0;
    int first_bwd = L - 1;
    if (last->op == CNN_SOFTMAX_CE) {
        float *gz = L >= 2 ? r->grad[L - 2] : r->dx;
        loss = softmax_ce(r, L - 1, L >= 2 ? r->act[L - 2] : r->x, gz);
        first_bwd = L - 2;
    } else {
        const float *y = r->act[L - 1];
        for (int64_t i = 0; i < out_elems(r, last); i++) {
            const double e = (double)y[i] - (double)r->target[i];
            loss += 0.5 * e * e;
            r->grad[L - 1][i] = (float)e;
        }
    }
    /* Backward: grad[l] (dL/d output of l) -> dL/d input of l. */
    for (int l = first_bwd; l >= 0; l--) {
        const cnn_layer_desc_t *d = &net->layers[l];
        const float *in = l ? r->act[l - 1] : r->x;
        const float *gout = r->grad[l];
        float *gin = l ? r->grad[l - 1] : r->dx;
        const int64_t n = in_elems(r, d);
        switch (d->op) {
        case CNN_CONV:
            conv_backward(r, l, in, gout, gin);
            break;
        case CNN_MAXPOOL:
            maxpool_backward(r, l, gout, gin);
            break;
        case CNN_AVGPOOL:
            avgpool_backward(r, l, gout, gin);
            break;
        case CNN_BN:
            bn_backward(r, l, in, gout, gin);
            break;
        case CNN_RELU:
            for (int64_t i = 0; i < n; i++)
                gin[i] = in[i] > 0.0f ? gout[i] : 0.0f;
            break;
        case CNN_SAVE:
            /* The activation feeds the next layer and every add of this name. */
            for (int64_t i = 0; i < n; i++)
                gin[i] = (float)((double)gout[i] + r->saved_grad[l][i]);
            break;
        case CNN_ADD:
            for (int64_t i = 0; i < n; i++) {
                gin[i] = gout[i];
                r->saved_grad[d->save_index][i] += (double)gout[i];
            }
            break;
        case CNN_GAP:
            gap_backward(r, d, gout, gin);
            break;
        case CNN_FC:
            fc_backward(r, l, in, gout, gin);
            break;
        case CNN_SOFTMAX_CE:
            break; /* only last, handled above */
        }
    }
    /* SGD with PyTorch's momentum: v = momentum * v + g (v starts at 0), w -= lr * v. */
    for (int l = 0; l < L; l++)
        for (int p = 0; p < r->nparams[l]; p++)
            for (int64_t i = 0; i < r->count[l][p]; i++) {
                r->v[l][p][i] = r->t.momentum * r->v[l][p][i] + r->g[l][p][i];
                r->w[l][p][i] = (float)((double)r->w[l][p][i] - r->t.lr * r->v[l][p][i]);
            }
    return loss;
}

const float *cnn_ref_param(const cnn_ref_t *r, int l, int p)
{
    return r->w[l][p];
}

const double *cnn_ref_grad(const cnn_ref_t *r, int l, int p)
{
    return r->g[l][p];
}

void cnn_ref_set_param(cnn_ref_t *r, int l, int p, const float *v)
{
    memcpy(r->w[l][p], v, sizeof(float) * (size_t)r->count[l][p]);
}

const float *cnn_ref_activation(const cnn_ref_t *r, int l)
{
    return r->act[l];
}

const float *cnn_ref_input_grad(const cnn_ref_t *r)
{
    return r->dx;
}
