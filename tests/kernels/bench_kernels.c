/* SPDX-License-Identifier: MIT */
/* Not a test: times the CPU kernels on one thread for docs/KERNELS.md.
 *   bench_kernels conv <size> <channels> <halo> <repeats> [copy]
 *       conv (kernel 2*halo+1) whole part vs interior + 4 boundary regions; the regions run
 *       with STARHALO_KERN_READ_WHOLE_TILE like the codelet, or without it ("copy")
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

#include "starhalo_kernels.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
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

static int bench_conv(int64_t n, int64_t ch, int h, int reps, unsigned flags)
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
    /* Warm up (primitive creation) */
    CHECK(starhalo_kern_conv2d_cpu(&it, in, w, b, &L, &ot, out, &owned, NULL));
    for (int i = 0; i < 5; i++) {
        int ip = -1;
        CHECK(starhalo_kern_conv2d_cpu_ex(&it, in, w, b, &L, &ot, out, &p[i], NULL, flags));
        const char *pimpl = starhalo_kern_dnnl_last_impl(&ip);
        printf("  piece %d %" PRId64 "x%" PRId64 ": %s, in place %d\n", i, p[i].hi[0] - p[i].lo[0],
               p[i].hi[1] - p[i].lo[1], pimpl, ip);
    }
    double tw[64], ts[64], tp[5][64];
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        CHECK(starhalo_kern_conv2d_cpu(&it, in, w, b, &L, &ot, out, &owned, NULL));
        tw[r] = now() - t0;
        ts[r] = 0;
        for (int i = 0; i < 5; i++) {
            t0 = now();
            CHECK(starhalo_kern_conv2d_cpu_ex(&it, in, w, b, &L, &ot, out, &p[i], NULL, flags));
            tp[i][r] = now() - t0;
            ts[r] += tp[i][r];
        }
    }
    printf("  pieces (ms): interior %.2f, top %.2f, bottom %.2f, left %.2f, right %.2f\n",
           median(tp[0], reps) * 1e3, median(tp[1], reps) * 1e3, median(tp[2], reps) * 1e3,
           median(tp[3], reps) * 1e3, median(tp[4], reps) * 1e3);
    const double flops = 2.0 * ch * ch * k * k * n * n;
    const double mw = median(tw, reps), ms = median(ts, reps);
    int ip;
    const char *impl = starhalo_kern_dnnl_last_impl(&ip);
    CHECK(starhalo_kern_conv2d_cpu(&it, in, w, b, &L, &ot, out, &owned, NULL));
    impl = starhalo_kern_dnnl_last_impl(&ip);
    printf("conv %" PRId64 "x%" PRId64 " %" PRId64 "->%" PRId64 " k=%d halo=%d: whole %.2f ms "
           "(%.1f GFLOP/s, %s, in place %d), split %.2f ms (%.1f GFLOP/s), ratio whole/split %.3f "
           "(median of %d)\n",
           n, n, ch, ch, L.kernel, h, mw * 1e3, flops / mw * 1e-9, impl, ip, ms * 1e3,
           flops / ms * 1e-9, mw / ms, reps);
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
    double tw[64], ts[64];
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        CHECK(starhalo_kern_stencil5_cpu(STARHALO_FLOAT32, &t, in, out, &owned));
        tw[r] = now() - t0;
        t0 = now();
        for (int i = 0; i < 5; i++)
            CHECK(starhalo_kern_stencil5_cpu(STARHALO_FLOAT32, &t, in, out, &p[i]));
        ts[r] = now() - t0;
    }
    const double mw = median(tw, reps), ms = median(ts, reps);
    printf("stencil5 f32 %" PRId64 "x%" PRId64 ": whole %.3f ms (%.3f ns/cell), split %.3f ms "
           "(%.3f ns/cell), ratio whole/split %.3f (median of %d)\n",
           n, n, mw * 1e3, mw * 1e9 / (double)(n * n), ms * 1e3, ms * 1e9 / (double)(n * n),
           mw / ms, reps);
    free(in);
    free(out);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 6 && strcmp(argv[1], "conv") == 0)
        return bench_conv(atoll(argv[2]), atoll(argv[3]), atoi(argv[4]), atoi(argv[5]) % 64,
                          argc >= 7 && strcmp(argv[6], "copy") == 0
                              ? 0u
                              : (unsigned)STARHALO_KERN_READ_WHOLE_TILE);
    if (argc >= 4 && strcmp(argv[1], "stencil") == 0)
        return bench_stencil(atoll(argv[2]), atoi(argv[3]) % 64);
    fprintf(stderr, "usage: bench_kernels conv <size> <channels> <halo> <repeats> [copy] | stencil "
                    "<size> <repeats>\n");
    return 2;
}
