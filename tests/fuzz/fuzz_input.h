/* SPDX-License-Identifier: MIT */
/**
 * @file fuzz_input.h
 * @brief Turns a fuzzer's bytes into the numbers a harness needs (tests/fuzz/README.md).
 *
 * Every number is one byte when it is small, so mutations stay local and the seeds in
 * corpus/ are short (tests/fuzz/make_seeds.py writes them with the same encoding):
 *   0x00..0xdf  the value b % 56          (0..55: sizes, counts, enums, halo widths)
 *   0xe0..0xef  -(b - 0xdf)               (-1..-16: negative sizes)
 *   0xf0..0xf7  an edge: INT32_MAX - k, INT32_MIN + k, INT64_MAX, INT64_MIN, 2^31, 2^32, 2^62
 *   0xf8..0xff  the next 8 bytes, little-endian (any 64-bit value)
 * Past the end of the input every number reads 0.
 */
#ifndef STARHALO_FUZZ_INPUT_H
#define STARHALO_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Part grids and rank counts above this are skipped: their O(P) tables are legitimately GiBs,
 * which libFuzzer's malloc limit (2 GiB) would report as a crash. */
#define FZ_MAX_PARTS (1 << 20)

typedef struct fz {
    const uint8_t *p;
    size_t n;
} fz_t;

static inline uint8_t fz_u8(fz_t *f)
{
    if (f->n == 0)
        return 0;
    f->n--;
    return *f->p++;
}

static inline int64_t fz_num(fz_t *f)
{
    const uint8_t b = fz_u8(f);
    if (b < 0xe0)
        return b % 56;
    if (b < 0xf0)
        return -(int64_t)(b - 0xdf);
    switch (b) {
    case 0xf0:
        return INT32_MAX;
    case 0xf1:
        return INT32_MAX - 1;
    case 0xf2:
        return INT32_MIN;
    case 0xf3:
        return INT64_MAX;
    case 0xf4:
        return INT64_MIN;
    case 0xf5:
        return (int64_t)1 << 31;
    case 0xf6:
        return (int64_t)1 << 32;
    case 0xf7:
        return (int64_t)1 << 62;
    default: {
        uint64_t v = 0;
        for (int i = 0; i < 8; i++)
            v |= (uint64_t)fz_u8(f) << (8 * i);
        return (int64_t)v;
    }
    }
}

/* An int field: the number wrapped to 32 bits, as a C cast of a caller's int64 would. */
static inline int fz_int(fz_t *f)
{
    return (int)(int32_t)(uint32_t)(uint64_t)fz_num(f);
}

/* An invariant of the code under test does not hold: a finding (the fuzzer saves the input). */
#define FZ_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz: invariant failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
