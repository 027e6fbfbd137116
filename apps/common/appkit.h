/* SPDX-License-Identifier: MIT */
/**
 * @file appkit.h
 * @brief Helpers shared by the applications in apps/ (not part of the library).
 */
#ifndef STARHALO_APPKIT_H
#define STARHALO_APPKIT_H

#include <stdint.h>

#include <starhalo/starhalo_types.h>

/**
 * Write a C-order array as a NumPy .npy v1.0 file (little-endian float32 or float64).
 * @return 0, or -1 with errno set (the caller names the file in its one-line error).
 */
int starhalo_app_npy_write(const char *path, starhalo_dtype_t dtype, int ndims,
                           const int64_t *shape, const void *data);

#endif
