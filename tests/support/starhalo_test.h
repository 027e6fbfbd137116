/* SPDX-License-Identifier: MIT */
/**
 * @file starhalo_test.h
 * @brief What every CMocka test includes: cmocka in the right order, and small helpers.
 */
#ifndef STARHALO_TEST_H
#define STARHALO_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <starhalo/starhalo_error.h>
#include <starhalo/starhalo_types.h>

/** Assert a status is STARHALO_OK, printing its name and the detailed message otherwise. */
#define assert_status_ok(expr)                                                                     \
    do {                                                                                           \
        starhalo_status_t st_ = (expr);                                                            \
        if (st_ != STARHALO_OK)                                                                    \
            print_error("%s -> %s: %s\n", #expr, starhalo_err_name(st_),                           \
                        starhalo_last_error_message());                                            \
        assert_int_equal(st_, STARHALO_OK);                                                        \
    } while (0)

/** A small deterministic PRNG (xorshift64*), so seeded random tests reproduce everywhere. */
static inline uint64_t starhalo_test_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/** Element @p i of an array of @p dt (float32 or float64), as a double. */
static inline double starhalo_test_get(const void *a, starhalo_dtype_t dt, int64_t i)
{
    return dt == STARHALO_FLOAT32 ? (double)((const float *)a)[i] : ((const double *)a)[i];
}

/** Store @p v (rounded for float32) into element @p i of an array of @p dt. */
static inline void starhalo_test_put(void *a, starhalo_dtype_t dt, int64_t i, double v)
{
    if (dt == STARHALO_FLOAT32)
        ((float *)a)[i] = (float)v;
    else
        ((double *)a)[i] = v;
}

#endif
