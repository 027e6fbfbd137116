/* SPDX-License-Identifier: MIT */
/* Not a test (built, not run by ctest): times the 5-point kernel on boundary-shaped regions of
 * one 1024 x 2048 float32 tile (a vertical-split part) to size boundary tasks: the interior,
 * a 1-column strip (per band piece or full height), a 16-column strip, a 1-row slab, and the
 * full rows. Prints the best of 5 repetitions, in us and ns per cell.
 * usage: bench_strips [W H] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <starhalo/starhalo_kernels.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static starhalo_box_t box(int64_t x0, int64_t y0, int64_t x1, int64_t y1)
{
    starhalo_box_t b = {{x0, y0, 0}, {x1, y1, 1}};
    return b;
}

int main(int argc, char **argv)
{
    const int64_t w = argc > 2 ? atol(argv[1]) : 1024, h = argc > 2 ? atol(argv[2]) : 2048;
    const starhalo_box_t g = box(-1, -1, w + 1, h + 1);
    const starhalo_kern_tile_t t = starhalo_kern_tile_make(&g, 1, 1);
    const size_t n = (size_t)((w + 2) * (h + 2));
    float *a = calloc(n, sizeof *a), *b = calloc(n, sizeof *b);
    if (!a || !b)
        return 1;
    for (size_t i = 0; i < n; i++)
        a[i] = (float)(i % 17);
    const struct {
        const char *name;
        starhalo_box_t r;
    } cases[] = {
        {"interior (W-2) x (H-2)", box(1, 1, w - 1, h - 1)},
        {"left strip 1 x (H-2)", box(0, 1, 1, h - 1)},
        {"strip piece 1 x H/4", box(0, 1, 1, 1 + h / 4)},
        {"16-column strip", box(0, 1, 16, h - 1)},
        {"top slab W x 1", box(0, 0, w, 1)},
        {"full rows W x (H-2)", box(0, 1, w, h - 1)},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const int64_t cells = starhalo_box_volume(&cases[c].r);
        const int reps = (int)(20000000 / cells) + 1;
        double best = 1e30;
        for (int k = 0; k < 5; k++) {
            const double t0 = now();
            for (int r = 0; r < reps; r++)
                if (starhalo_kern_stencil5_cpu(STARHALO_FLOAT32, &t, a, b, &cases[c].r))
                    return 1;
            const double dt = (now() - t0) / reps;
            best = dt < best ? dt : best;
        }
        printf("%-24s %10.1f us %8.3f ns/cell\n", cases[c].name, best * 1e6,
               best * 1e9 / (double)cells);
    }
    free(a);
    free(b);
    return 0;
}
