/* SPDX-License-Identifier: MIT */
/**
 * @file bench_cnn_kernels.c
 * @brief Timing of one part's kernels of spatial_cnn (not a test): conv2d forward (oneDNN),
 * backward data and backward weights (loops) on a ghosted S x S tile, C -> C channels, 3x3.
 * Usage: bench_cnn_kernels [S] [C] [repeats]. One thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "starhalo_kernels_cnn.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    const int64_t s = argc > 1 ? atoll(argv[1]) : 128, c = argc > 2 ? atoll(argv[2]) : 16;
    const int reps = argc > 3 ? atoi(argv[3]) : 5;
    const starhalo_layer_t l = {3, 1, 1, 1};
    starhalo_box_t tb = {{-1, -1, 0}, {s + 1, s + 1, 1}}, own = {{0, 0, 0}, {s, s, 1}};
    starhalo_kern_tile_t t = starhalo_kern_tile_make(&tb, 1, c);
    const int64_t n = starhalo_kern_tile_elems(&t);
    float *x = calloc((size_t)n, sizeof *x), *y = calloc((size_t)n, sizeof *y);
    float *gx = calloc((size_t)n, sizeof *gx), *w = malloc(sizeof(float) * (size_t)(c * c * 9));
    double *gw = malloc(sizeof(double) * (size_t)(c * c * 9));
    if (!x || !y || !gx || !w || !gw)
        return 1;
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)((i * 7919) % 13) * 0.1f;
    for (int64_t i = 0; i < c * c * 9; i++)
        w[i] = (float)((i * 31) % 7) * 0.05f;
    const char *name[3] = {"conv2d forward (oneDNN)", "backward data (loops)",
                           "backward weights (loops)"};
    for (int k = 0; k < 3; k++) {
        double best = 1e30;
        for (int r = 0; r < reps; r++) {
            const double t0 = now();
            starhalo_status_t rc =
                k == 0   ? starhalo_kern_conv2d_cpu(&t, x, w, NULL, &l, &t, y, &own, NULL)
                : k == 1 ? starhalo_kern_conv2d_bwd_data_cpu(&t, y, w, &l, &t, gx, &own)
                         : starhalo_kern_conv2d_bwd_weights_cpu(&t, x, &t, y, &l, &own, gw);
            const double dt = now() - t0;
            if (rc != STARHALO_OK)
                return 1;
            best = dt < best ? dt : best;
        }
        printf("%-26s %lldx%lld, %lld->%lld ch: best of %d %.4f s (%.2f GMAC/s)\n", name[k],
               (long long)s, (long long)s, (long long)c, (long long)c, reps, best,
               (double)(s * s * c * c * 9) / best * 1e-9);
    }
    free(x), free(y), free(gx), free(w), free(gw);
    return 0;
}
