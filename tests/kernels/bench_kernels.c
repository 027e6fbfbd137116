/* SPDX-License-Identifier: MIT */
/* Not a test: times the CPU kernels on one thread for docs/KERNELS.md.
 *   bench_kernels conv <size> <channels> <halo> <repeats>
 *       conv (kernel 2*halo+1) whole part vs interior + 4 boundary regions, the regions run
 *       with the codelet's flags, with READ_WHOLE_TILE only, and with no flag
 *   bench_kernels stencil <size> <repeats>                  stencil5 f32, whole vs split
 * The conv tile holds zero ghosts and no domain is given, so the whole-part call runs in place
 * on the dense tile (the best case for the whole call). Whole and split runs are interleaved;
 * medians are reported. Times are this thread's CPU time (CLOCK_THREAD_CPUTIME_ID): the machine is
 * shared, wall time measures the other jobs. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "appkit.h"
#include <starhalo/starhalo_kernels.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static double median(double *v, int n)
{
    return starhalo_app_median(v, n);
}

static starhalo_box_t box2(int64_t x0, int64_t x1, int64_t y0, int64_t y1)
{
    starhalo_box_t b = {{x0, y0, 0}, {x1, y1, 1}};
    return b;
}

/* Interior shrunk by h + top, bottom (full width) and left, right strips. */
static void split(const starhalo_box_t *r, int64_t h, starhalo_box_t p[5])
{
    const int64_t x0 = r->lo[0], x1 = r->hi[0], y0 = r->lo[1], y1 = r->hi[1];
    p[0] = box2(x0 + h, x1 - h, y0 + h, y1 - h);
    p[1] = box2(x0, x1, y0, y0 + h);
    p[2] = box2(x0, x1, y1 - h, y1);
    p[3] = box2(x0, x0 + h, y0 + h, y1 - h);
    p[4] = box2(x1 - h, x1, y0 + h, y1 - h);
}

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if ((x) != STARHALO_OK) {                                                                  \
            fprintf(stderr, "%s: %s\n", #x, starhalo_last_error_message());                        \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

/* Flags of the split runs: what the codelet passes, cropping only, none. */
#define NMODES 3
static const unsigned modes[NMODES] = {STARHALO_KERN_READ_WHOLE_TILE |
                                           STARHALO_KERN_EXCLUSIVE_OUTPUT,
                                       STARHALO_KERN_READ_WHOLE_TILE, 0};
static const char *const mode_names[NMODES] = {
    "codelet flags: interior on the whole tile, in place", "READ_WHOLE_TILE: cropped + copy",
    "no flags: window copies"};

static int bench_conv(int64_t n, int64_t ch, int h, int reps)
{
    const starhalo_layer_t L = {2 * h + 1, 1, 1, h};
    const starhalo_box_t owned = box2(0, n, 0, n), gbox = box2(-h, n + h, -h, n + h);
    const starhalo_kern_tile_t it = starhalo_kern_tile_make(&gbox, 1, ch);
    const starhalo_kern_tile_t ot = starhalo_kern_tile_make(&owned, 1, ch);
    const int64_t ni = starhalo_kern_tile_elems(&it), no = starhalo_kern_tile_elems(&ot);
    const int64_t k = L.kernel, nw = ch * ch * k * k;
    float *in = calloc(ni, 4), *out = calloc(no, 4), *w = malloc(nw * 4), *b = calloc(ch, 4);
    for (int64_t i = 0; i < ni; i++)
        in[i] = (float)((i * 7919) % 1000) / 1000.0f;
    for (int64_t i = 0; i < nw; i++)
        w[i] = (float)((i * 104729) % 997) / 997.0f - 0.5f;
    starhalo_box_t p[5];
    split(&owned, h, p);
    /* Warm up (primitive creation); mode 1 = in place, 0 = window copies, 2 = cropped. */
    CHECK(starhalo_kern_conv2d_cpu(&it, in, w, b, &L, &ot, out, &owned, NULL));
    for (int m = 0; m < NMODES; m++)
        for (int i = 0; i < 5; i++) {
            int ip = -1;
            CHECK(starhalo_kern_conv2d_cpu_ex(&it, in, w, b, &L, &ot, out, &p[i], NULL, modes[m]));
            const char *pimpl = starhalo_kern_dnnl_last_impl(&ip);
            printf("  flags %u piece %d %" PRId64 "x%" PRId64 ": %s, mode %d\n", modes[m], i,
                   p[i].hi[0] - p[i].lo[0], p[i].hi[1] - p[i].lo[1], pimpl, ip);
        }
    /* Per repeat: whole, then the split with each flag set; ratios per repeat. */
    double tw[64], tp[NMODES][5][64], rs[NMODES][64];
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        CHECK(starhalo_kern_conv2d_cpu(&it, in, w, b, &L, &ot, out, &owned, NULL));
        tw[r] = now() - t0;
        for (int m = 0; m < NMODES; m++) {
            double sum = 0;
            for (int i = 0; i < 5; i++) {
                t0 = now();
                CHECK(starhalo_kern_conv2d_cpu_ex(&it, in, w, b, &L, &ot, out, &p[i], NULL,
                                                  modes[m]));
                tp[m][i][r] = now() - t0;
                sum += tp[m][i][r];
            }
            rs[m][r] = tw[r] / sum;
        }
    }
    const double flops = 2.0 * ch * ch * k * k * n * n;
    int ip = -1;
    CHECK(starhalo_kern_conv2d_cpu(&it, in, w, b, &L, &ot, out, &owned, NULL));
    const char *impl = starhalo_kern_dnnl_last_impl(&ip);
    const double mw = median(tw, reps);
    printf("conv %" PRId64 "x%" PRId64 " %" PRId64 "->%" PRId64 " k=%d halo=%d: whole %.2f ms "
           "(%.1f GFLOP/s, %s, mode %d)\n",
           n, n, ch, ch, L.kernel, h, mw * 1e3, flops / mw * 1e-9, impl, ip);
    for (int m = 0; m < NMODES; m++) {
        double pm[5];
        for (int i = 0; i < 5; i++)
            pm[i] = median(tp[m][i], reps) * 1e3;
        printf("  split (%s): interior %.2f ms, top %.2f, bottom %.2f, left %.2f, right %.2f; "
               "throughput ratio whole/split %.3f (median of %d per-repeat ratios)\n",
               mode_names[m], pm[0], pm[1], pm[2], pm[3], pm[4], median(rs[m], reps), reps);
    }
    free(in);
    free(out);
    free(w);
    free(b);
    return 0;
}

static int bench_stencil(int64_t n, int reps)
{
    const starhalo_box_t gbox = box2(-1, n + 1, -1, n + 1), owned = box2(0, n, 0, n);
    const starhalo_kern_tile_t t = starhalo_kern_tile_make(&gbox, 1, 1);
    const int64_t ne = starhalo_kern_tile_elems(&t);
    float *in = calloc(ne, 4), *out = calloc(ne, 4);
    for (int64_t i = 0; i < ne; i++)
        in[i] = (float)(i % 1013);
    starhalo_box_t p[5];
    split(&owned, 1, p);
    double tw[64], ts[64], rs[64];
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        CHECK(starhalo_kern_stencil5_cpu(STARHALO_FLOAT32, &t, in, out, &owned));
        tw[r] = now() - t0;
        t0 = now();
        for (int i = 0; i < 5; i++)
            CHECK(starhalo_kern_stencil5_cpu(STARHALO_FLOAT32, &t, in, out, &p[i]));
        ts[r] = now() - t0;
        rs[r] = tw[r] / ts[r];
    }
    const double mw = median(tw, reps), ms = median(ts, reps), ratio = median(rs, reps);
    printf("stencil5 f32 %" PRId64 "x%" PRId64 ": whole %.3f ms (%.3f ns/cell), split %.3f ms "
           "(%.3f ns/cell), ratio whole/split %.3f (median of %d per-repeat ratios)\n",
           n, n, mw * 1e3, mw * 1e9 / (double)(n * n), ms * 1e3, ms * 1e9 / (double)(n * n), ratio,
           reps);
    free(in);
    free(out);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 6 && strcmp(argv[1], "conv") == 0)
        return bench_conv(atoll(argv[2]), atoll(argv[3]), atoi(argv[4]), atoi(argv[5]) % 64);
    if (argc >= 4 && strcmp(argv[1], "stencil") == 0)
        return bench_stencil(atoll(argv[2]), atoi(argv[3]) % 64);
    fprintf(stderr, "usage: bench_kernels conv <size> <channels> <halo> <repeats> | stencil "
                    "<size> <repeats>\n");
    return 2;
}
