/* SPDX-License-Identifier: MIT */
/**
 * @file plan_bench.c
 * @brief Benchmark: build the plan (create + regions + lower) of every part of 10^4..10^5-part
 * decompositions and report total and per-part times (median of repeats) and peak memory, to
 * show that one part's plan costs O(neighbours + runs), not O(domain).
 */
#include <starhalo/starhalo_plan.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

typedef struct config {
    const char *name;
    int ndims;
    int parts[3];
    int64_t part_cells[3]; /* cells per part per dim: extent = parts * part_cells */
} config_t;

static const config_t full_configs[] = {
    {"2d  40x250 parts, 100x100 cells each", 2, {40, 250, 1}, {100, 100, 1}},
    {"2d 400x250 parts, 100x100 cells each", 2, {400, 250, 1}, {100, 100, 1}},
    {"2d 400x250 parts, 316x316 cells each", 2, {400, 250, 1}, {316, 316, 1}},
    {"3d 50x50x4 parts, 20^3 cells each", 3, {50, 50, 4}, {20, 20, 20}},
    {"3d 50x50x40 parts, 20^3 cells each", 3, {50, 50, 40}, {20, 20, 20}},
    {"3d 50x50x40 parts, 43^3 cells each", 3, {50, 50, 40}, {43, 43, 43}},
};
static const config_t smoke_configs[] = {
    {"2d 8x6 parts, 10x10 cells each", 2, {8, 6, 1}, {10, 10, 1}},
    {"3d 4x3x2 parts, 5^3 cells each", 3, {4, 3, 2}, {5, 5, 5}},
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct timing {
    double create, regions, lower;
    int64_t neighbors, runs;
} timing_t;

/* One pass over every part: create, regions, lower, destroy (as each rank would). */
static int run_once(const starhalo_decomp_t *dc, int halo, timing_t *t)
{
    memset(t, 0, sizeof *t);
    const int reach[6] = {halo, halo, halo, halo, halo, halo};
    for (int p = 0; p < starhalo_decomp_num_parts(dc); p++) {
        starhalo_part_plan_t *plan;
        starhalo_regions_t r;
        starhalo_xfer_plan_t *x;
        double t0 = now();
        if (starhalo_part_plan_create(dc, p, &plan) != STARHALO_OK)
            return -1;
        double t1 = now();
        if (starhalo_part_plan_regions(plan, reach, &r) != STARHALO_OK)
            return -1;
        double t2 = now();
        if (starhalo_part_plan_lower(plan, &x) != STARHALO_OK)
            return -1;
        double t3 = now();
        t->create += t1 - t0;
        t->regions += t2 - t1;
        t->lower += t3 - t2;
        t->neighbors += starhalo_part_plan_num_neighbors(plan);
        for (int i = 0; i < starhalo_xfer_plan_num_peers(x); i++)
            t->runs += starhalo_xfer_plan_peer(x, i)->nsend_runs +
                       starhalo_xfer_plan_peer(x, i)->nrecv_runs;
        starhalo_xfer_plan_destroy(x);
        starhalo_part_plan_destroy(plan);
    }
    return 0;
}

static int bench(const config_t *c, int halo, int repeats)
{
    starhalo_decomp_desc_t d = {0};
    d.ndims = c->ndims;
    d.split = STARHALO_SPLIT_GRID;
    d.shape = STARHALO_STENCIL_BOX;
    for (int k = 0; k < c->ndims; k++) {
        d.parts_per_dim[k] = c->parts[k];
        d.extent[k] = c->parts[k] * c->part_cells[k];
        d.halo[2 * k] = d.halo[2 * k + 1] = halo;
    }
    starhalo_decomp_t *dc;
    double t0 = now();
    if (starhalo_decomp_create(&d, &dc) != STARHALO_OK) {
        fprintf(stderr, "plan_bench: error: %s\n", starhalo_last_error_message());
        return 1;
    }
    const double t_decomp = now() - t0;
    const int nparts = starhalo_decomp_num_parts(dc);
    double tot[16], cre[16], reg[16], low[16];
    timing_t t = {0};
    for (int r = 0; r < repeats; r++) {
        double s = now();
        if (run_once(dc, halo, &t)) {
            fprintf(stderr, "plan_bench: error: %s\n", starhalo_last_error_message());
            starhalo_decomp_destroy(dc);
            return 1;
        }
        tot[r] = now() - s;
        cre[r] = t.create, reg[r] = t.regions, low[r] = t.lower;
    }
    qsort(tot, (size_t)repeats, sizeof(double), cmp_double);
    qsort(cre, (size_t)repeats, sizeof(double), cmp_double);
    qsort(reg, (size_t)repeats, sizeof(double), cmp_double);
    qsort(low, (size_t)repeats, sizeof(double), cmp_double);
    const int m = repeats / 2;
    const double us = 1e6 / nparts;
    char ext[64];
    snprintf(ext, sizeof ext, c->ndims == 2 ? "%lldx%lld" : "%lldx%lldx%lld",
             (long long)d.extent[0], (long long)d.extent[1], (long long)d.extent[2]);
    printf("%-38s %-16s %7d %6.1f %7.1f %9.3f %9.3f %9.3f %9.3f %6.2f %7.1f\n", c->name, ext,
           nparts, 1e3 * t_decomp, 1e3 * tot[m], us * tot[m], us * cre[m], us * reg[m], us * low[m],
           (double)t.neighbors / nparts, (double)t.runs / nparts);
    starhalo_decomp_destroy(dc);
    return 0;
}

int main(int argc, char **argv)
{
    int smoke = 0, repeats = 5, halo = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--smoke")) {
            smoke = 1;
        } else if (!strcmp(argv[i], "--repeats") && i + 1 < argc) {
            repeats = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--halo") && i + 1 < argc) {
            halo = atoi(argv[++i]);
        } else {
            fprintf(stderr,
                    "plan_bench: error: unknown option '%s' (usage: plan_bench "
                    "[--smoke] [--repeats R (1..15)] [--halo H (1..8)])\n",
                    argv[i]);
            return 1;
        }
    }
    if (repeats < 1 || repeats > 15 || halo < 1 || halo > 8) {
        fprintf(stderr, "plan_bench: error: --repeats must be in 1..15 and --halo in 1..8\n");
        return 1;
    }
    const config_t *cfg = smoke ? smoke_configs : full_configs;
    const size_t n = smoke ? sizeof smoke_configs / sizeof smoke_configs[0]
                           : sizeof full_configs / sizeof full_configs[0];
    printf("plan_bench: BOX stencil, halo %d, non-periodic; per part: create + regions + lower "
           "+ destroy; median of %d repeats\n",
           halo, repeats);
    printf("%-38s %-16s %7s %6s %7s %9s %9s %9s %9s %6s %7s\n", "config", "cells", "parts", "dc_ms",
           "tot_ms", "us/part", "create", "regions", "lower", "nbrs", "runs");
    for (size_t i = 0; i < n; i++)
        if (bench(&cfg[i], halo, repeats))
            return 1;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS %ld KiB (whole process)\n", ru.ru_maxrss);
    return 0;
}
