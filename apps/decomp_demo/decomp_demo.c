/* SPDX-License-Identifier: MIT */
/**
 * @file decomp_demo.c
 * @brief Print a square image's decomposition: per part, the owned and ghosted boxes and the
 * neighbours with their send/recv boxes, periodic shifts and tags. StarPU-free, MPI-free.
 */
#include <starhalo/starhalo_plan.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct options {
    long long image_size;
    int halo;
    int nparts;
    starhalo_split_t split;
    int periodic;
    starhalo_stencil_shape_t shape;
} options_t;

static int fail(const char *fmt, const char *arg)
{
    fprintf(stderr, "decomp_demo: error: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return 1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: decomp_demo [--image-size N] [--halo-len H] [--num-spatial-parts P]\n"
               "                   [--slice-method vertical|horizontal|square] [--periodic]\n"
               "                   [--star|--box]\n");
}

/* Parse a whole decimal integer in [min, max]; 0 on success. */
static int parse_ll(const char *s, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    const long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Returns 0 to run, 1 on a bad option (already reported), 2 for --help. */
static int parse_options(int argc, char **argv, options_t *o)
{
    *o = (options_t){8, 1, 4, STARHALO_SPLIT_SQUARE, 0, STARHALO_STENCIL_BOX};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long long v;
        if (!strcmp(a, "--periodic")) {
            o->periodic = 1;
        } else if (!strcmp(a, "--star")) {
            o->shape = STARHALO_STENCIL_STAR;
        } else if (!strcmp(a, "--box")) {
            o->shape = STARHALO_STENCIL_BOX;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 2;
        } else if (!strcmp(a, "--image-size") || !strcmp(a, "--halo-len") ||
                   !strcmp(a, "--num-spatial-parts") || !strcmp(a, "--slice-method")) {
            if (i + 1 >= argc)
                return fail("option %s needs a value", a);
            const char *val = argv[++i];
            if (!strcmp(a, "--slice-method")) {
                if (starhalo_split_parse(val, &o->split) != STARHALO_OK ||
                    o->split == STARHALO_SPLIT_GRID)
                    return fail("unknown --slice-method '%s' (expected vertical, horizontal "
                                "or square)",
                                val);
            } else if (!strcmp(a, "--image-size")) {
                if (parse_ll(val, 1, 1LL << 40, &v))
                    return fail("--image-size must be a positive integer (got '%s')", val);
                o->image_size = v;
            } else if (!strcmp(a, "--halo-len")) {
                if (parse_ll(val, 0, 1 << 20, &v))
                    return fail("--halo-len must be a non-negative integer (got '%s')", val);
                o->halo = (int)v;
            } else {
                if (parse_ll(val, 1, 1 << 30, &v))
                    return fail("--num-spatial-parts must be a positive integer (got '%s')", val);
                o->nparts = (int)v;
            }
        } else {
            return fail("unknown option '%s' (try --help)", a);
        }
    }
    return 0;
}

static void print_box(const char *label, const starhalo_box_t *b)
{
    printf("%s x[%lld,%lld) y[%lld,%lld)", label, (long long)b->lo[0], (long long)b->hi[0],
           (long long)b->lo[1], (long long)b->hi[1]);
}

static void print_part(const starhalo_part_plan_t *plan)
{
    const starhalo_box_t owned = starhalo_part_plan_owned(plan);
    const starhalo_box_t ghosted = starhalo_part_plan_ghosted(plan);
    printf("part %d:", starhalo_part_plan_part(plan));
    print_box(" owned", &owned);
    print_box("  ghosted", &ghosted);
    printf("  neighbours %d\n", starhalo_part_plan_num_neighbors(plan));
    for (int i = 0; i < starhalo_part_plan_num_neighbors(plan); i++) {
        const starhalo_neighbor_t *nb = starhalo_part_plan_neighbor(plan, i);
        printf("  -> part %d dir (%+d,%+d)", nb->part, nb->dir[0], nb->dir[1]);
        print_box("  send", &nb->send);
        printf(" tag %d", nb->send_tag);
        print_box("  recv", &nb->recv);
        printf(" tag %d", nb->recv_tag);
        if (nb->shift[0] || nb->shift[1])
            printf("  shift (%lld,%lld)", (long long)nb->shift[0], (long long)nb->shift[1]);
        putchar('\n');
    }
}

int main(int argc, char **argv)
{
    options_t o;
    const int prc = parse_options(argc, argv, &o);
    if (prc)
        return prc == 2 ? 0 : 1;

    starhalo_decomp_desc_t desc = {0};
    desc.ndims = 2;
    desc.extent[0] = desc.extent[1] = o.image_size;
    desc.split = o.split;
    desc.nparts = o.nparts;
    for (int s = 0; s < 4; s++)
        desc.halo[s] = o.halo;
    desc.shape = o.shape;
    desc.periodic[0] = desc.periodic[1] = o.periodic;

    starhalo_decomp_t *dc = NULL;
    starhalo_status_t st = starhalo_decomp_create(&desc, &dc);
    if (st != STARHALO_OK)
        return fail("%s", starhalo_last_error_message());
    int grid[STARHALO_MAX_DIMS];
    starhalo_decomp_part_grid(dc, grid);
    printf("image %lldx%lld, %d parts (%s, %dx%d grid), halo %d, %s, %s\n", o.image_size,
           o.image_size, o.nparts, starhalo_split_name(o.split), grid[0], grid[1], o.halo,
           o.shape == STARHALO_STENCIL_BOX ? "box" : "star",
           o.periodic ? "periodic" : "non-periodic");
    printf("boxes are [lo,hi) in global cells; x = dim 0 (width), y = dim 1 (height)\n");
    int rc = 0;
    for (int p = 0; p < starhalo_decomp_num_parts(dc) && !rc; p++) {
        starhalo_part_plan_t *plan = NULL;
        if (starhalo_part_plan_create(dc, p, &plan) != STARHALO_OK) {
            rc = fail("%s", starhalo_last_error_message());
            break;
        }
        print_part(plan);
        starhalo_part_plan_destroy(plan);
    }
    starhalo_decomp_destroy(dc);
    return rc;
}
