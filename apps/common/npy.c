/* SPDX-License-Identifier: MIT */
/**
 * @file npy.c
 * @brief NumPy .npy v1.0 writer used by every app's --dump.
 */
#include "appkit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int starhalo_app_npy_write(const char *path, starhalo_dtype_t dtype, int ndims,
                           const int64_t *shape, const void *data)
{
    if (ndims < 1 || ndims > 8 || (dtype != STARHALO_FLOAT32 && dtype != STARHALO_FLOAT64)) {
        errno = EINVAL;
        return -1;
    }
    /* Magic, version 1.0, little-endian uint16 header length, then a Python dict literal
     * padded with spaces and ended by '\n' so that the data starts 64-byte aligned. */
    char header[512];
    int len = snprintf(header + 10, sizeof header - 10,
                       "{'descr': '<%s', 'fortran_order': False, 'shape': (",
                       dtype == STARHALO_FLOAT64 ? "f8" : "f4");
    size_t count = 1;
    /* NumPy's own spelling: "(a, b)", and "(a,)" for one dimension. */
    for (int d = 0; d < ndims; d++) {
        len += snprintf(header + 10 + len, sizeof header - 10 - (size_t)len, "%lld%s",
                        (long long)shape[d],
                        d + 1 < ndims ? ", "
                        : ndims == 1  ? ","
                                      : "");
        count *= (size_t)shape[d];
    }
    len += snprintf(header + 10 + len, sizeof header - 10 - (size_t)len, "), }");
    const int padded = (10 + len + 1 + 63) / 64 * 64;
    memset(header + 10 + len, ' ', (size_t)(padded - 10 - len));
    header[padded - 1] = '\n';
    const int hlen = padded - 10;
    memcpy(header, "\x93NUMPY\x01\x00", 8);
    header[8] = (char)(hlen & 0xff);
    header[9] = (char)(hlen >> 8);

    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    const size_t esz = starhalo_dtype_size(dtype);
    int ok = fwrite(header, 1, (size_t)padded, f) == (size_t)padded &&
             fwrite(data, esz, count, f) == count;
    const int saved = errno;
    if (fclose(f) != 0)
        ok = 0;
    else
        errno = saved;
    return ok ? 0 : -1;
}
