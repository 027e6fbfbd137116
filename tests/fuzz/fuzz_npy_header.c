/* SPDX-License-Identifier: MIT */
/**
 * @file fuzz_npy_header.c
 * @brief Fuzz harness: the .npy / checkpoint header reader (starhalo_npy.h), as
 * starhalo_field_read() and the apps meet a file of any content.
 *
 * Input: the first bytes of a file. The parser must return a status and never read outside
 * the bytes it is given (the input is also parsed cut at every length, each copy in a buffer
 * of exactly that size, so ASan sees any overread). An accepted header must describe a
 * float32/float64 array with 0..8 non-negative extents whose data starts inside the input;
 * formatting it again and parsing that must give the same header; the checksum of the bytes
 * after the header must not depend on how the elements are split.
 */
#include "fuzz_input.h"

#include <string.h>

#include <starhalo/starhalo_npy.h>

static void check_header(const starhalo_npy_header_t *h, size_t len)
{
    FZ_CHECK(h->dtype == STARHALO_FLOAT32 || h->dtype == STARHALO_FLOAT64);
    FZ_CHECK(h->ndims >= 0 && h->ndims <= STARHALO_NPY_MAX_DIMS);
    for (int d = 0; d < h->ndims; d++)
        FZ_CHECK(h->shape[d] >= 0);
    FZ_CHECK(h->data_offset >= 10 && (size_t)h->data_offset <= len);
}

static void round_trip(const starhalo_npy_header_t *h)
{
    starhalo_npy_header_t again = *h, back;
    char buf[STARHALO_NPY_MAX_HEADER + 64];
    size_t n = 0;
    if (starhalo_npy_header_format(&again, buf, sizeof buf, &n) != STARHALO_OK)
        return; /* e.g. a 3.0 header longer than starhalo writes */
    FZ_CHECK(n == (size_t)again.data_offset && n % 64 == 0);
    FZ_CHECK(starhalo_npy_header_parse(buf, n, &back) == STARHALO_OK);
    FZ_CHECK(back.dtype == h->dtype && back.ndims == h->ndims && back.has_meta == h->has_meta);
    for (int d = 0; d < h->ndims; d++)
        FZ_CHECK(back.shape[d] == h->shape[d]);
    if (h->has_meta)
        FZ_CHECK(back.step == h->step && back.generation == h->generation &&
                 back.checksum == h->checksum);
}

/* The sum over the data is the same whole or in two pieces at any cut. */
static void checksum_split(const starhalo_npy_header_t *h, const uint8_t *data, size_t len)
{
    const size_t esz = starhalo_dtype_size(h->dtype);
    const int64_t count = (int64_t)((len - (size_t)h->data_offset) / esz);
    const uint8_t *p = data + h->data_offset;
    const uint64_t whole = starhalo_npy_checksum_add(0, h->dtype, p, count, 0);
    const int64_t cut = count / 3;
    uint64_t split =
        starhalo_npy_checksum_add(0, h->dtype, p + (size_t)cut * esz, count - cut, cut);
    split = starhalo_npy_checksum_add(split, h->dtype, p, cut, 0);
    FZ_CHECK(whole == split);
    (void)starhalo_npy_checksum_finish(whole, h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    starhalo_npy_header_t h;
    memset(&h, 0, sizeof h);
    const starhalo_status_t st = starhalo_npy_header_parse((const char *)data, size, &h);
    if (st == STARHALO_OK) {
        check_header(&h, size);
        round_trip(&h);
        checksum_split(&h, data, size);
    }
    /* Every shorter prefix, each in a buffer of its own size: a longer one is never needed
     * to reject it, and no prefix may be read past its end. */
    const size_t step = size > 512 ? size / 256 : 1;
    for (size_t n = 0; n < size; n += step) {
        char *copy = malloc(n ? n : 1);
        FZ_CHECK(copy);
        memcpy(copy, data, n);
        starhalo_npy_header_t p;
        if (starhalo_npy_header_parse(copy, n, &p) == STARHALO_OK)
            FZ_CHECK(st == STARHALO_OK && (size_t)p.data_offset <= n);
        free(copy);
    }
    return 0;
}
