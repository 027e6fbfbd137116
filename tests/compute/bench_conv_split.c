/* SPDX-License-Identifier: MIT */
/* Not a test (built, not run by ctest): the cost of splitting one part's conv2d into the
 * interior + boundary regions the task graph submits, against one oneDNN call on the whole
 * owned box (issue 4: split throughput / one call >= 0.9). Part 0 of a 2-part split of an
 * image, C_in -> C_out, k x k 'same'; the regions come from starhalo_part_plan_regions exactly
 * as in rt_compute_conv.c; the kernel gets the flags of the conv2d codelet. Interleaved
 * whole/split repetitions, best and median of each.
 * usage: bench_conv_split [image channels kernel split reps]  (default 1024 64 3 vertical 7) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <starhalo/starhalo_kernels.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const int64_t n = argc > 1 ? atol(argv[1]) : 1024, c = argc > 2 ? atol(argv[2]) : 64;
    const int k = argc > 3 ? atoi(argv[3]) : 3;
    const char *split = argc > 4 ? argv[4] : "vertical";
    const int reps = argc > 5 ? atoi(argv[5]) : 7;
    const starhalo_layer_t layer = {k, 1, 1, k / 2};
    int mh = 0, ph = 0;
    starhalo_decomp_desc_t d;
    memset(&d, 0, sizeof d);
    d.ndims = 2;
    d.extent[0] = d.extent[1] = n;
    d.extent[2] = 1;
    d.channels = c;
    d.nparts = 2;
    d.shape = STARHALO_STENCIL_BOX;
    starhalo_decomp_t *dc = NULL;
    starhalo_part_plan_t *pl = NULL;
    starhalo_regions_t r;
    if (starhalo_layer_halo(&layer, &mh, &ph) || starhalo_split_parse(split, &d.split))
        return 1;
    d.halo[0] = d.halo[2] = mh;
    d.halo[1] = d.halo[3] = ph;
    const int reach[6] = {mh, ph, mh, ph, 0, 0};
    if (starhalo_decomp_create(&d, &dc) || starhalo_part_plan_create(dc, 0, &pl) ||
        starhalo_part_plan_regions(pl, reach, &r)) {
        fprintf(stderr, "bench_conv_split: %s\n", starhalo_last_error_message());
        return 1;
    }
    const starhalo_box_t g = starhalo_part_plan_ghosted(pl), o = starhalo_part_plan_owned(pl);
    const starhalo_box_t image = {{0, 0, 0}, {n, n, 1}};
    const starhalo_kern_tile_t t = starhalo_kern_tile_make(&g, 1, c);
    const size_t elems = (size_t)starhalo_kern_tile_elems(&t);
    float *in = malloc(elems * sizeof *in), *out = calloc(elems, sizeof *out);
    float *w = malloc(sizeof *w * (size_t)(c * c * k * k)), *bias = calloc((size_t)c, 4);
    if (!in || !out || !w || !bias)
        return 1;
    for (size_t i = 0; i < elems; i++)
        in[i] = (float)(i % 13) * 0.1f;
    for (int64_t i = 0; i < c * c * k * k; i++)
        w[i] = (float)(i % 7) * 0.01f;
    const unsigned flags = STARHALO_KERN_READ_WHOLE_TILE | STARHALO_KERN_EXCLUSIVE_OUTPUT;
    double *tw = calloc((size_t)reps, sizeof *tw), *ts = calloc((size_t)reps, sizeof *ts);
    for (int it = -1; it < reps; it++) { /* it == -1 warms oneDNN's primitive cache */
        double t0 = now();
        if (starhalo_kern_conv2d_cpu_ex(&t, in, w, bias, &layer, &t, out, &o, &image, flags))
            return 1;
        double t1 = now();
        if (starhalo_kern_conv2d_cpu_ex(&t, in, w, bias, &layer, &t, out, &r.interior, &image,
                                        flags))
            return 1;
        for (int b = 0; b < r.nboundary; b++)
            if (starhalo_kern_conv2d_cpu_ex(&t, in, w, bias, &layer, &t, out, &r.boundary[b],
                                            &image, flags))
                return 1;
        double t2 = now();
        if (it >= 0) {
            tw[it] = t1 - t0;
            ts[it] = t2 - t1;
        }
    }
    qsort(tw, (size_t)reps, sizeof *tw, cmp);
    qsort(ts, (size_t)reps, sizeof *ts, cmp);
    printf("conv %lldx%lld part 0 of 2 (%s), %lld -> %lld channels, k=%d, %d boundary regions\n",
           (long long)n, (long long)n, split, (long long)c, (long long)c, k, r.nboundary);
    printf("whole owned box, one call: best %.3f ms median %.3f ms\n", tw[0] * 1e3,
           tw[reps / 2] * 1e3);
    printf("interior + boundary calls: best %.3f ms median %.3f ms\n", ts[0] * 1e3,
           ts[reps / 2] * 1e3);
    printf("split throughput / one call: best %.3f median %.3f\n", tw[0] / ts[0],
           tw[reps / 2] / ts[reps / 2]);
    free(tw);
    free(ts);
    free(in);
    free(out);
    free(w);
    free(bias);
    starhalo_part_plan_destroy(pl);
    starhalo_decomp_destroy(dc);
    return 0;
}
