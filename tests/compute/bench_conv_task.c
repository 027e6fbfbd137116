/* SPDX-License-Identifier: MIT */
/* Not a test (built, not run by ctest): the kernel calls of one part of the conv2d task graph
 * (rt_compute_conv.c) against the raw baseline's one call (halo_bench --transport mpi
 * --with-compute: whole ghosted tile in, dense owned box out, no domain), on one thread.
 * Input tile: the part's ghosted box with the image-border ghosts zero, as a field holds them;
 * output tile: the owned box (halo 0), cut into G output-channel groups like the task graph.
 *  - bsp:  per group, the owned box with the image as domain;
 *  - task: per group, the interior region, then the boundary regions;
 * with the conv2d codelet's flags. Interleaved raw/bsp/task repetitions, medians; the kernel
 * mode of each call (starhalo_kern_dnnl_last_impl) is printed once.
 * Thread CPU time (the machine is shared). usage: bench_conv_task image cin cout split nparts part
 * groups reps (default 256 32 128 horizontal 2 0 1 7) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <starhalo/starhalo_kernels.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int verbose = 1;

static int call(const starhalo_kern_tile_t *it, const float *in, const float *w,
                const starhalo_layer_t *layer, const starhalo_kern_tile_t *ot, float *out,
                const starhalo_box_t *region, const starhalo_box_t *domain, unsigned flags,
                const char *what)
{
    if (starhalo_kern_conv2d_cpu_ex(it, in, w, NULL, layer, ot, out, region, domain, flags)) {
        fprintf(stderr, "bench_conv_task: %s\n", starhalo_last_error_message());
        return 1;
    }
    if (verbose) {
        int mode = -1;
        const char *impl = starhalo_kern_dnnl_last_impl(&mode);
        printf("  %-9s region x [%lld,%lld) y [%lld,%lld): %s mode %d\n", what,
               (long long)region->lo[0], (long long)region->hi[0], (long long)region->lo[1],
               (long long)region->hi[1], impl, mode);
    }
    return 0;
}

int main(int argc, char **argv)
{
    const int64_t n = argc > 1 ? atol(argv[1]) : 256, cin = argc > 2 ? atol(argv[2]) : 32;
    const int64_t cout = argc > 3 ? atol(argv[3]) : 128;
    const char *split = argc > 4 ? argv[4] : "horizontal";
    const int nparts = argc > 5 ? atoi(argv[5]) : 2, part = argc > 6 ? atoi(argv[6]) : 0;
    const int ng = argc > 7 ? atoi(argv[7]) : 1, reps = argc > 8 ? atoi(argv[8]) : 7;
    const starhalo_layer_t layer = {3, 1, 1, 1};
    starhalo_decomp_desc_t d;
    memset(&d, 0, sizeof d);
    d.ndims = 2;
    d.extent[0] = d.extent[1] = n;
    d.extent[2] = 1;
    d.channels = cin;
    d.nparts = nparts;
    d.shape = STARHALO_STENCIL_BOX;
    d.halo[0] = d.halo[1] = d.halo[2] = d.halo[3] = 1;
    starhalo_decomp_t *dc = NULL;
    starhalo_part_plan_t *pl = NULL;
    starhalo_regions_t r;
    const int reach[6] = {1, 1, 1, 1, 0, 0};
    if (starhalo_split_parse(split, &d.split) || starhalo_decomp_create(&d, &dc) ||
        starhalo_part_plan_create(dc, part, &pl) || starhalo_part_plan_regions(pl, reach, &r)) {
        fprintf(stderr, "bench_conv_task: %s\n", starhalo_last_error_message());
        return 1;
    }
    const starhalo_box_t g = starhalo_part_plan_ghosted(pl), o = starhalo_part_plan_owned(pl);
    const starhalo_box_t image = {{0, 0, 0}, {n, n, 1}};
    r.interior = starhalo_box_intersect(&r.interior, &o);
    const starhalo_kern_tile_t it = starhalo_kern_tile_make(&g, 1, cin);
    const starhalo_kern_tile_t ot = starhalo_kern_tile_make(&o, 1, cout);
    const int64_t gw = g.hi[0] - g.lo[0], gh = g.hi[1] - g.lo[1];
    const int64_t oplane = (o.hi[0] - o.lo[0]) * (o.hi[1] - o.lo[1]);
    float *in = calloc((size_t)(cin * gw * gh), sizeof *in);
    float *out = calloc((size_t)(cout * oplane), sizeof *out);
    float *w = malloc(sizeof *w * (size_t)(cout * cin * 9));
    if (!in || !out || !w)
        return 1;
    for (int64_t p = 0; p < cin; p++)
        for (int64_t y = g.lo[1]; y < g.hi[1]; y++)
            for (int64_t x = g.lo[0]; x < g.hi[0]; x++)
                if (x >= 0 && x < n && y >= 0 && y < n)
                    in[(p * gh + y - g.lo[1]) * gw + x - g.lo[0]] = (float)((p + x + 3 * y) % 13);
    for (int64_t i = 0; i < cout * cin * 9; i++)
        w[i] = (float)(i % 7) * 0.01f;
    const unsigned flags = STARHALO_KERN_READ_WHOLE_TILE | STARHALO_KERN_EXCLUSIVE_OUTPUT;
    double *t[4];
    for (int m = 0; m < 4; m++)
        t[m] = calloc((size_t)reps, sizeof(double));
    printf("conv %lldx%lld part %d of %d (%s), %lld -> %lld channels, %d groups, %d boundary "
           "regions\n",
           (long long)n, (long long)n, part, nparts, split, (long long)cin, (long long)cout, ng,
           r.nboundary);
    for (int rep = -1; rep < reps; rep++) { /* rep -1 builds the primitives */
        verbose = rep == -1;
        double t0 = now();
        if (call(&it, in, w, &layer, &ot, out, &o, NULL, 0, "raw"))
            return 1;
        double t1 = now();
        for (int gi = 0; gi < ng; gi++) {
            const int64_t c0 = cout * gi / ng, c1 = cout * (gi + 1) / ng;
            starhalo_kern_tile_t gt = ot;
            gt.channels = c1 - c0;
            if (call(&it, in, w + c0 * cin * 9, &layer, &gt, out + c0 * oplane, &o, &image, flags,
                     "bsp"))
                return 1;
        }
        double t2 = now();
        for (int gi = 0; gi < ng; gi++) {
            const int64_t c0 = cout * gi / ng, c1 = cout * (gi + 1) / ng;
            starhalo_kern_tile_t gt = ot;
            gt.channels = c1 - c0;
            if (call(&it, in, w + c0 * cin * 9, &layer, &gt, out + c0 * oplane, &r.interior, &image,
                     flags, "interior"))
                return 1;
        }
        const double t2b = now();
        for (int gi = 0; gi < ng; gi++) {
            const int64_t c0 = cout * gi / ng, c1 = cout * (gi + 1) / ng;
            starhalo_kern_tile_t gt = ot;
            gt.channels = c1 - c0;
            for (int b = 0; b < r.nboundary; b++)
                if (call(&it, in, w + c0 * cin * 9, &layer, &gt, out + c0 * oplane, &r.boundary[b],
                         &image, flags, "boundary"))
                    return 1;
        }
        double t3 = now();
        if (rep >= 0) {
            t[0][rep] = t1 - t0;
            t[1][rep] = t2 - t1;
            t[2][rep] = t3 - t2;
            t[3][rep] = t3 - t2b;
        }
    }
    const char *names[4] = {"raw (one call)", "bsp", "task (interior+boundary)",
                            "  of which boundary"};
    for (int m = 0; m < 4; m++) {
        qsort(t[m], (size_t)reps, sizeof(double), cmp);
        printf("%-26s best %8.3f ms median %8.3f ms  (median / raw %.3f)\n", names[m],
               t[m][0] * 1e3, t[m][reps / 2] * 1e3, t[m][reps / 2] / t[0][reps / 2]);
    }
    for (int m = 0; m < 4; m++)
        free(t[m]);
    free(in);
    free(out);
    free(w);
    starhalo_part_plan_destroy(pl);
    starhalo_decomp_destroy(dc);
    return 0;
}
