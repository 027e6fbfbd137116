/* SPDX-License-Identifier: MIT */
/**
 * @file kern_test_util.h
 * @brief Helpers of the kernel tests: boxes, random fills, error norms.
 */
#ifndef KERN_TEST_UTIL_H
#define KERN_TEST_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include <starhalo/starhalo_kernels.h>
#include "starhalo_test.h"

/** 2-D box [x0, x1) x [y0, y1). */
static inline starhalo_box_t kt_box(int64_t x0, int64_t x1, int64_t y0, int64_t y1)
{
    starhalo_box_t b = {{x0, y0, 0}, {x1, y1, 1}};
    return b;
}

/** Uniform values in [-1/3, 1/3) with full mantissas (so summation order shows in the bits). */
static inline void kt_fill_f64(double *a, int64_t n, uint64_t seed)
{
    uint64_t s = seed * 2654435761u + 1;
    for (int64_t i = 0; i < n; i++)
        a[i] = ((double)(starhalo_test_rand(&s) >> 11) / 9007199254740992.0 * 2.0 - 1.0) / 3.0;
}

static inline void kt_fill_f32(float *a, int64_t n, uint64_t seed)
{
    uint64_t s = seed * 2654435761u + 1;
    for (int64_t i = 0; i < n; i++)
        a[i] = (float)(((double)(starhalo_test_rand(&s) >> 11) / 9007199254740992.0 * 2.0 - 1.0) /
                       3.0);
}

/** max|a - b| / max(max|ref|, 1e-30). */
static inline double kt_rel_err(const float *a, const float *ref, int64_t n)
{
    double err = 0, mag = 1e-30;
    for (int64_t i = 0; i < n; i++) {
        err = fmax(err, fabs((double)a[i] - (double)ref[i]));
        mag = fmax(mag, fabs((double)ref[i]));
    }
    return err / mag;
}

/**
 * Split @p r into an interior shrunk by @p h on each side and the 4 boundary pieces around it
 * (top and bottom full-width slabs, left and right strips): what the runtime does.
 * @return the number of boxes written to @p out (5).
 */
static inline int kt_split(const starhalo_box_t *r, int64_t h, starhalo_box_t out[5])
{
    const int64_t x0 = r->lo[0], x1 = r->hi[0], y0 = r->lo[1], y1 = r->hi[1];
    out[0] = kt_box(x0 + h, x1 - h, y0 + h, y1 - h);
    out[1] = kt_box(x0, x1, y0, y0 + h);
    out[2] = kt_box(x0, x1, y1 - h, y1);
    out[3] = kt_box(x0, x0 + h, y0 + h, y1 - h);
    out[4] = kt_box(x1 - h, x1, y0 + h, y1 - h);
    return 5;
}

#endif
