/* SPDX-License-Identifier: MIT */
/**
 * @file npy.c
 * @brief NumPy .npy writer used by every app's --dump (the header is the library's).
 */
#include "appkit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <starhalo/starhalo_npy.h>

int starhalo_app_npy_write(const char *path, starhalo_dtype_t dtype, int ndims,
                           const int64_t *shape, const void *data)
{
    starhalo_npy_header_t h;
    memset(&h, 0, sizeof h);
    h.dtype = dtype;
    h.ndims = ndims;
    size_t count = 1;
    for (int d = 0; d < ndims && d < STARHALO_NPY_MAX_DIMS; d++)
        count *= (size_t)(h.shape[d] = shape[d]);
    char header[STARHALO_NPY_MAX_HEADER];
    size_t len = 0;
    if (ndims < 1 || starhalo_npy_header_format(&h, header, sizeof header, &len) != STARHALO_OK) {
        errno = EINVAL;
        return -1;
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    const size_t esz = starhalo_dtype_size(dtype);
    int ok = fwrite(header, 1, len, f) == len && fwrite(data, esz, count, f) == count;
    const int saved = errno;
    if (fclose(f) != 0)
        ok = 0;
    else
        errno = saved;
    return ok ? 0 : -1;
}
