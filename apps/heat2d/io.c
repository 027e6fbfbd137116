/* SPDX-License-Identifier: MIT */
/**
 * @file io.c
 * @brief heat2d helpers shared by all modes: boundary values, decomposition, checksum, PGM
 * and .npy output of the gathered field.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "appkit.h"
#include "heat2d.h"

void heat2d_fill_tile(starhalo_dtype_t dtype, const starhalo_box_t *g, void *tile)
{
    const int64_t gw = g->hi[0] - g->lo[0];
    for (int64_t y = g->lo[1]; y < g->hi[1]; y++)
        for (int64_t x = g->lo[0]; x < g->hi[0]; x++) {
            const double v = heat2d_boundary_value(x, y);
            const int64_t i = (y - g->lo[1]) * gw + (x - g->lo[0]);
            if (dtype == STARHALO_FLOAT32)
                ((float *)tile)[i] = (float)v;
            else
                ((double *)tile)[i] = v;
        }
}

starhalo_status_t heat2d_decomp(const heat2d_opts_t *o, starhalo_decomp_t **out)
{
    starhalo_decomp_desc_t d;
    memset(&d, 0, sizeof d);
    d.ndims = 2;
    d.extent[0] = o->size;
    d.extent[1] = o->size;
    d.extent[2] = 1;
    d.split = o->split;
    d.nparts = o->parts;
    for (int s = 0; s < 4; s++)
        d.halo[s] = 1;
    d.shape = o->stencil == STARHALO_STENCIL_9PT ? STARHALO_STENCIL_BOX : STARHALO_STENCIL_STAR;
    return starhalo_decomp_create(&d, out);
}

static double value_at(starhalo_dtype_t dtype, const void *a, int64_t i)
{
    return dtype == STARHALO_FLOAT32 ? (double)((const float *)a)[i] : ((const double *)a)[i];
}

static int write_pgm(const char *path, starhalo_dtype_t dtype, const void *a, int64_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "heat2d: error: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    fprintf(f, "P5\n%lld %lld\n255\n", (long long)n, (long long)n);
    for (int64_t i = 0; i < n * n; i++) {
        double v = value_at(dtype, a, i); /* the boundary values span [0, 1] */
        v = v < 0 ? 0 : v > 1 ? 1 : v;
        fputc((int)(v * 255.0 + 0.5), f);
    }
    return fclose(f) == 0 ? 0 : 1;
}

static int write_npy(const char *dir, starhalo_dtype_t dtype, const void *a, int64_t n)
{
    char path[4096];
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "heat2d: error: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    snprintf(path, sizeof path, "%s/heat2d.npy", dir);
    const int64_t shape[2] = {n, n};
    if (starhalo_app_npy_write(path, dtype, 2, shape, a) != 0) {
        fprintf(stderr, "heat2d: error: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    return 0;
}

int heat2d_finish(const heat2d_opts_t *o, const void *global, heat2d_result_t *res)
{
    double sum = 0.0;
    for (int64_t i = 0; i < o->size * o->size; i++)
        sum += value_at(o->dtype, global, i);
    res->checksum = sum;
    int rc = 0;
    if (o->pgm)
        rc |= write_pgm(o->pgm, o->dtype, global, o->size);
    if (o->dump)
        rc |= write_npy(o->dump, o->dtype, global, o->size);
    return rc;
}
