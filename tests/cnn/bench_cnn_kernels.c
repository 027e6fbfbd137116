/* SPDX-License-Identifier: MIT */
/**
 * @file bench_cnn_kernels.c
 * @brief Timing of one part's kernels of spatial_cnn (not a test): conv2d forward (oneDNN),
 * backward data and backward weights as loops (_cpu) and through oneDNN (_dnnl, what the CPU
 * codelets run) on a ghosted S x S tile (halo 1), C -> C channels, 3x3, padding 1.
 * Usage: bench_cnn_kernels [S] [C] [repeats] [batch] [stride]. One thread. The machine may be
 * shared, so each repeat times every kernel once, in turn (interleaved), with the thread's CPU
 * time; the tool prints the median, min and max per kernel and the median of the per-repeat
 * ratios loops / oneDNN.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "starhalo_kernels_cnn.h"

enum { NK = 5 };

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n, double *lo, double *hi)
{
    double *s = malloc(sizeof(double) * (size_t)n);
    if (!s)
        return 0.0;
    for (int i = 0; i < n; i++)
        s[i] = v[i];
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    const double m = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    if (lo)
        *lo = s[0];
    if (hi)
        *hi = s[n - 1];
    free(s);
    return m;
}

typedef struct bench {
    starhalo_layer_t l;
    starhalo_kern_tile_t it, ot;
    starhalo_box_t region;
    float *x, *y, *gx, *w;
    double *gw;
} bench_t;

static starhalo_status_t run_kernel(const bench_t *b, int k)
{
    switch (k) {
    case 0:
        return starhalo_kern_conv2d_cpu(&b->it, b->x, b->w, NULL, &b->l, &b->ot, b->y, &b->region,
                                        NULL);
    case 1:
        return starhalo_kern_conv2d_bwd_data_cpu(&b->ot, b->y, b->w, &b->l, &b->it, b->gx,
                                                 &b->region);
    case 2:
        return starhalo_kern_conv2d_bwd_data_dnnl(&b->ot, b->y, b->w, &b->l, &b->it, b->gx,
                                                  &b->region);
    case 3:
        return starhalo_kern_conv2d_bwd_weights_cpu(&b->it, b->x, &b->ot, b->y, &b->l, &b->region,
                                                    b->gw);
    default:
        return starhalo_kern_conv2d_bwd_weights_dnnl(&b->it, b->x, &b->ot, b->y, &b->l, &b->region,
                                                     b->gw);
    }
}

int main(int argc, char **argv)
{
    const int64_t s = argc > 1 ? atoll(argv[1]) : 128, c = argc > 2 ? atoll(argv[2]) : 16;
    const int reps = argc > 3 ? atoi(argv[3]) : 5;
    const int64_t batch = argc > 4 ? atoll(argv[4]) : 1;
    const int stride = argc > 5 ? atoi(argv[5]) : 1;
    if (s < 2 || c < 1 || reps < 1 || batch < 1 || stride < 1)
        return 2;
    bench_t b = {.l = {3, stride, 1, 1}};
    const int64_t os = (s - 1) / stride + 1; /* outputs of an S-cell part, padding 1 */
    const starhalo_box_t tb = {{-1, -1, 0}, {s + 1, s + 1, 1}};
    const starhalo_box_t ob = {{-1, -1, 0}, {os + 1, os + 1, 1}};
    b.region = (starhalo_box_t){{0, 0, 0}, {os, os, 1}};
    b.it = starhalo_kern_tile_make(&tb, batch, c);
    b.ot = starhalo_kern_tile_make(&ob, batch, c);
    const int64_t ni = starhalo_kern_tile_elems(&b.it), no = starhalo_kern_tile_elems(&b.ot);
    const int64_t nw = c * c * 9;
    b.x = calloc((size_t)ni, sizeof *b.x);
    b.gx = calloc((size_t)ni, sizeof *b.gx);
    b.y = calloc((size_t)no, sizeof *b.y);
    b.w = malloc(sizeof(float) * (size_t)nw);
    b.gw = malloc(sizeof(double) * (size_t)nw);
    double *t = malloc(sizeof(double) * (size_t)(reps * NK));
    if (!b.x || !b.y || !b.gx || !b.w || !b.gw || !t)
        return 1;
    for (int64_t i = 0; i < ni; i++)
        b.x[i] = (float)((i * 7919) % 13) * 0.1f;
    for (int64_t i = 0; i < nw; i++)
        b.w[i] = (float)((i * 31) % 7) * 0.05f;
    const char *name[NK] = {"conv2d forward (oneDNN)", "backward data (loops)",
                            "backward data (oneDNN)", "backward weights (loops)",
                            "backward weights (oneDNN)"};
    const char *impl[NK] = {0};
    for (int k = 0; k < NK; k++) { /* warm-up: primitive creation, first touch */
        if (run_kernel(&b, k) != STARHALO_OK)
            return 1;
        int in_place = 0;
        impl[k] = k % 2 == 0 ? starhalo_kern_dnnl_last_impl(&in_place) : "loops";
    }
    for (int r = 0; r < reps; r++)
        for (int k = 0; k < NK; k++) {
            const double t0 = cpu_now();
            if (run_kernel(&b, k) != STARHALO_OK)
                return 1;
            t[k * reps + r] = cpu_now() - t0;
        }
    const double macs = (double)(batch * os * os * c * c * 9);
    printf("batch %lld, %lldx%lld part, %lld->%lld ch, 3x3 stride %d: thread CPU time, %d "
           "interleaved repeats\n",
           (long long)batch, (long long)s, (long long)s, (long long)c, (long long)c, stride, reps);
    for (int k = 0; k < NK; k++) {
        double lo, hi;
        const double m = median(t + k * reps, reps, &lo, &hi);
        printf("  %-26s median %8.3f ms (min %8.3f, max %8.3f)  %6.2f GMAC/s  [%s]\n", name[k],
               1e3 * m, 1e3 * lo, 1e3 * hi, macs / m * 1e-9, impl[k]);
    }
    double *ratio = malloc(sizeof(double) * (size_t)reps);
    for (int pair = 0; ratio && pair < 2; pair++) {
        const int kl = 1 + 2 * pair, kd = kl + 1;
        for (int r = 0; r < reps; r++)
            ratio[r] = t[kl * reps + r] / t[kd * reps + r];
        double lo, hi;
        const double m = median(ratio, reps, &lo, &hi);
        printf("  %s loops / oneDNN: median of per-repeat ratios %.2f (min %.2f, max %.2f)\n",
               pair ? "backward weights" : "backward data", m, lo, hi);
    }
    free(ratio);
    free(b.x), free(b.y), free(b.gx), free(b.w), free(b.gw), free(t);
    return 0;
}
