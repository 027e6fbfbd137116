/* SPDX-License-Identifier: MIT */
/**
 * @file appkit.h
 * @brief Helpers shared by the applications in apps/ (not part of the library).
 */
#ifndef STARHALO_APPKIT_H
#define STARHALO_APPKIT_H

#include <stddef.h>
#include <stdint.h>

#include <starhalo/starhalo_types.h>

/**
 * Write a C-order array as a NumPy .npy v1.0 file (little-endian float32 or float64).
 * @return 0, or -1 with errno set (the caller names the file in its one-line error).
 */
int starhalo_app_npy_write(const char *path, starhalo_dtype_t dtype, int ndims,
                           const int64_t *shape, const void *data);

/**
 * One step of an option loop over "--name value" pairs: argv[*i] is the name; unless it is
 * --help / -h, the next argument is its value and *i moves onto it.
 * @return 0 (*name, *value set), 1 (no value: the one-line message is in @p err) or 2 (help).
 */
int starhalo_app_next_option(int argc, char **argv, int *i, const char **name, const char **value,
                             char *err, size_t errlen);

/** Median of @p n values (the mean of the middle two for even @p n; 0 if n <= 0). Sorts @p v
 * in place. */
double starhalo_app_median(double *v, int64_t n);

#endif
