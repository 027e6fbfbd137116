/* SPDX-License-Identifier: MIT */
/**
 * @file stats.c
 * @brief The median the benchmarks report.
 */
#include <stdlib.h>

#include "appkit.h"

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double starhalo_app_median(double *v, int64_t n)
{
    if (n <= 0)
        return 0.0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
