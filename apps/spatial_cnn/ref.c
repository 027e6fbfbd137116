/* SPDX-License-Identifier: MIT */
/**
 * @file ref.c
 * @brief spatial_cnn's independent reference: the same network on the whole image in one
 * process, naive loops with explicit zero padding (no halos, no kernels of the library), and
 * the deterministic data and a .npy writer.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spatial_cnn.h"

float cnn_input(int64_t n, int64_t c, int64_t y, int64_t x)
{
    return (float)sin(0.11 * (double)x * (double)(c + 1) + 0.07 * (double)y + 0.5 * (double)n);
}

float cnn_target(int64_t n, int64_t c, int64_t y, int64_t x)
{
    return (float)(0.5 * cos(0.05 * (double)(x + 2 * y) * (double)(c + 1) - 0.3 * (double)n));
}

void cnn_init_weights(const cnn_opts_t *o, float *w1, float *w2)
{
    uint64_t s = 0x9E3779B97F4A7C15ULL;
    float *w[2] = {w1, w2};
    for (int l = 0; l < 2; l++) {
        const int64_t n = o->ch[l + 1] * o->ch[l] * 9;
        const double scale = 1.0 / sqrt((double)(o->ch[l] * 9));
        for (int64_t i = 0; i < n; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            w[l][i] = (float)(((double)(s >> 11) / 9007199254740992.0 * 2.0 - 1.0) * scale);
        }
    }
}

struct cnn_ref {
    cnn_opts_t o;
    float *x, *t, *z1, *a1, *y, *dy, *da1, *dx, *w1, *w2;
};

static size_t img(const cnn_ref_t *r, int l)
{
    return (size_t)(r->o.batch * r->o.ch[l] * r->o.size * r->o.size);
}

cnn_ref_t *cnn_ref_create(const cnn_opts_t *o)
{
    cnn_ref_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->o = *o;
    r->x = malloc(sizeof(float) * img(r, 0));
    r->dx = malloc(sizeof(float) * img(r, 0));
    r->z1 = malloc(sizeof(float) * img(r, 1));
    r->a1 = malloc(sizeof(float) * img(r, 1));
    r->da1 = malloc(sizeof(float) * img(r, 1));
    r->t = malloc(sizeof(float) * img(r, 2));
    r->y = malloc(sizeof(float) * img(r, 2));
    r->dy = malloc(sizeof(float) * img(r, 2));
    r->w1 = malloc(sizeof(float) * (size_t)(o->ch[1] * o->ch[0] * 9));
    r->w2 = malloc(sizeof(float) * (size_t)(o->ch[2] * o->ch[1] * 9));
    if (!r->x || !r->dx || !r->z1 || !r->a1 || !r->da1 || !r->t || !r->y || !r->dy || !r->w1 ||
        !r->w2) {
        cnn_ref_destroy(r);
        return NULL;
    }
    const int64_t S = o->size;
    for (int64_t n = 0; n < o->batch; n++)
        for (int64_t y = 0; y < S; y++)
            for (int64_t x = 0; x < S; x++) {
                for (int64_t c = 0; c < o->ch[0]; c++)
                    r->x[((n * o->ch[0] + c) * S + y) * S + x] = cnn_input(n, c, y, x);
                for (int64_t c = 0; c < o->ch[2]; c++)
                    r->t[((n * o->ch[2] + c) * S + y) * S + x] = cnn_target(n, c, y, x);
            }
    cnn_init_weights(o, r->w1, r->w2);
    return r;
}

void cnn_ref_destroy(cnn_ref_t *r)
{
    if (!r)
        return;
    float *p[] = {r->x, r->t, r->z1, r->a1, r->y, r->dy, r->da1, r->dx, r->w1, r->w2};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        free(p[i]);
    free(r);
}

/* y = conv3x3(x, w), zero padding 1, double accumulation. */
static void conv(const cnn_ref_t *r, const float *x, int64_t cin, const float *w, int64_t cout,
                 float *y)
{
    const int64_t S = r->o.size;
    for (int64_t n = 0; n < r->o.batch; n++)
        for (int64_t co = 0; co < cout; co++)
            for (int64_t oy = 0; oy < S; oy++)
                for (int64_t ox = 0; ox < S; ox++) {
                    double acc = 0.0;
                    for (int64_t ci = 0; ci < cin; ci++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++) {
                                const int64_t iy = oy - 1 + ky, ix = ox - 1 + kx;
                                if (iy < 0 || iy >= S || ix < 0 || ix >= S)
                                    continue;
                                acc += (double)x[((n * cin + ci) * S + iy) * S + ix] *
                                       w[((co * cin + ci) * 3 + ky) * 3 + kx];
                            }
                    y[((n * cout + co) * S + oy) * S + ox] = (float)acc;
                }
}

/* dx (gather form) and dw of y = conv3x3(x, w) given dy. */
static void conv_bwd(const cnn_ref_t *r, const float *x, int64_t cin, const float *w, int64_t cout,
                     const float *dy, float *dx, double *dw)
{
    const int64_t S = r->o.size;
    for (int64_t n = 0; n < r->o.batch; n++)
        for (int64_t ci = 0; ci < cin; ci++)
            for (int64_t iy = 0; iy < S; iy++)
                for (int64_t ix = 0; ix < S; ix++) {
                    double acc = 0.0;
                    for (int64_t co = 0; co < cout; co++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++) {
                                const int64_t oy = iy + 1 - ky, ox = ix + 1 - kx;
                                if (oy < 0 || oy >= S || ox < 0 || ox >= S)
                                    continue;
                                acc += (double)dy[((n * cout + co) * S + oy) * S + ox] *
                                       w[((co * cin + ci) * 3 + ky) * 3 + kx];
                            }
                    if (dx)
                        dx[((n * cin + ci) * S + iy) * S + ix] = (float)acc;
                }
    for (int64_t co = 0; co < cout; co++)
        for (int64_t ci = 0; ci < cin; ci++)
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++) {
                    double acc = 0.0;
                    for (int64_t n = 0; n < r->o.batch; n++)
                        for (int64_t oy = 0; oy < S; oy++)
                            for (int64_t ox = 0; ox < S; ox++) {
                                const int64_t iy = oy - 1 + ky, ix = ox - 1 + kx;
                                if (iy < 0 || iy >= S || ix < 0 || ix >= S)
                                    continue;
                                acc += (double)dy[((n * cout + co) * S + oy) * S + ox] *
                                       x[((n * cin + ci) * S + iy) * S + ix];
                            }
                    dw[((co * cin + ci) * 3 + ky) * 3 + kx] = acc;
                }
}

void cnn_ref_step(cnn_ref_t *r, cnn_step_out_t *out)
{
    const int64_t *c = r->o.ch;
    conv(r, r->x, c[0], r->w1, c[1], r->z1);
    for (size_t i = 0; i < img(r, 1); i++)
        r->a1[i] = r->z1[i] > 0.0f ? r->z1[i] : 0.0f;
    conv(r, r->a1, c[1], r->w2, c[2], r->y);
    double loss = 0.0;
    for (size_t i = 0; i < img(r, 2); i++) {
        r->dy[i] = r->y[i] - r->t[i];
        loss += 0.5 * (double)r->dy[i] * (double)r->dy[i];
    }
    out->loss = loss;
    conv_bwd(r, r->a1, c[1], r->w2, c[2], r->dy, r->da1, out->gw2);
    for (size_t i = 0; i < img(r, 1); i++)
        r->da1[i] = r->z1[i] > 0.0f ? r->da1[i] : 0.0f;
    conv_bwd(r, r->x, c[0], r->w1, c[1], r->da1, r->dx, out->gw1);
    if (out->y)
        memcpy(out->y, r->y, sizeof(float) * img(r, 2));
    if (out->dx)
        memcpy(out->dx, r->dx, sizeof(float) * img(r, 0));
    for (int64_t i = 0; i < c[1] * c[0] * 9; i++)
        r->w1[i] = (float)(r->w1[i] - r->o.lr * out->gw1[i]);
    for (int64_t i = 0; i < c[2] * c[1] * 9; i++)
        r->w2[i] = (float)(r->w2[i] - r->o.lr * out->gw2[i]);
}

void cnn_ref_weights(const cnn_ref_t *r, const float **w1, const float **w2)
{
    *w1 = r->w1;
    *w2 = r->w2;
}
