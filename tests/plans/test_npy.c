/* SPDX-License-Identifier: MIT */
/* Tests the .npy header writer and parser and the checkpoint checksum: round trips, headers
 * as NumPy writes them, every prefix of a header (truncation), every single-byte flip of a
 * checkpoint header (caught by the parser or by the checksum), hostile inputs, and checksum
 * values computed independently in Python. */
#include "starhalo_test.h"

#include <string.h>

#include <starhalo/starhalo_npy.h>

static size_t npy_v1(char *buf, const char *dict)
{
    /* Pad like NumPy: total a multiple of 64, ending in '\n'. */
    const size_t n = strlen(dict), total = (10 + n + 1 + 63) / 64 * 64;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)((total - 10) & 0xff);
    buf[9] = (char)((total - 10) >> 8);
    memcpy(buf + 10, dict, n);
    memset(buf + 10 + n, ' ', total - 11 - n);
    buf[total - 1] = '\n';
    return total;
}

static void round_trip(void **state)
{
    (void)state;
    for (int nd = 0; nd <= STARHALO_NPY_MAX_DIMS; nd++)
        for (int meta = 0; meta < 2; meta++) {
            starhalo_npy_header_t h, g;
            memset(&h, 0, sizeof h);
            h.dtype = nd % 2 ? STARHALO_FLOAT64 : STARHALO_FLOAT32;
            h.ndims = nd;
            for (int d = 0; d < nd; d++)
                h.shape[d] = 1 + 37 * d;
            h.has_meta = meta;
            h.step = meta ? 123456789012LL : 0;
            h.generation = meta ? -5 : 0;
            h.checksum = meta ? 0xfedcba9876543210ULL : 0;
            char buf[STARHALO_NPY_MAX_HEADER];
            size_t len = 0;
            assert_int_equal(starhalo_npy_header_format(&h, buf, sizeof buf, &len), STARHALO_OK);
            assert_int_equal(len % 64, 0);
            assert_int_equal(h.data_offset, (int64_t)len);
            assert_int_equal(buf[len - 1], '\n');
            assert_int_equal(starhalo_npy_header_parse(buf, len, &g), STARHALO_OK);
            assert_int_equal(g.dtype, h.dtype);
            assert_int_equal(g.ndims, nd);
            assert_memory_equal(g.shape, h.shape, sizeof(int64_t) * (size_t)nd);
            assert_int_equal(g.data_offset, (int64_t)len);
            assert_int_equal(g.has_meta, meta);
            assert_int_equal(g.step, h.step);
            assert_int_equal(g.generation, h.generation);
            assert_true(g.checksum == h.checksum);
        }
}

static void numpy_spellings(void **state)
{
    (void)state;
    char buf[512];
    starhalo_npy_header_t h;
    /* numpy.save(np.zeros((3, 4))) and (5,) float32, byte for byte. */
    size_t n = npy_v1(buf, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }");
    assert_int_equal(n, 128);
    assert_int_equal(starhalo_npy_header_parse(buf, n, &h), STARHALO_OK);
    assert_int_equal(h.dtype, STARHALO_FLOAT64);
    assert_int_equal(h.ndims, 2);
    assert_int_equal(h.shape[0], 3);
    assert_int_equal(h.shape[1], 4);
    assert_int_equal(h.has_meta, 0);
    n = npy_v1(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }");
    assert_int_equal(starhalo_npy_header_parse(buf, n, &h), STARHALO_OK);
    assert_int_equal(h.ndims, 1);
    assert_int_equal(h.shape[0], 5);
    n = npy_v1(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }");
    assert_int_equal(starhalo_npy_header_parse(buf, n, &h), STARHALO_OK);
    assert_int_equal(h.ndims, 0);
    /* Other key order, double quotes, no trailing comma. */
    n = npy_v1(buf, "{\"shape\": (2, 0, 7), \"descr\": \"<f8\", \"fortran_order\": False}");
    assert_int_equal(starhalo_npy_header_parse(buf, n, &h), STARHALO_OK);
    assert_int_equal(h.ndims, 3);
    assert_int_equal(h.shape[1], 0);
    /* Version 2.0: four-byte length. */
    char v2[512];
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (9,), }";
    const size_t dl = strlen(dict), total = (12 + dl + 1 + 63) / 64 * 64;
    memcpy(v2, "\x93NUMPY\x02\x00", 8);
    v2[8] = (char)(total - 12), v2[9] = v2[10] = v2[11] = 0;
    memcpy(v2 + 12, dict, dl);
    memset(v2 + 12 + dl, ' ', total - 13 - dl);
    v2[total - 1] = '\n';
    assert_int_equal(starhalo_npy_header_parse(v2, total, &h), STARHALO_OK);
    assert_int_equal(h.shape[0], 9);
    assert_int_equal(h.data_offset, (int64_t)total);
}

static void rejects(void **state)
{
    (void)state;
    static const struct {
        const char *dict;
        starhalo_status_t want;
    } bad[] = {
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }", STARHALO_ERR_UNSUPPORTED},
        {"{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", STARHALO_ERR_UNSUPPORTED},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }", STARHALO_ERR_UNSUPPORTED},
        {"{'descr': '<f4', 'shape': (3,), }", STARHALO_ERR_CORRUPT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}", STARHALO_ERR_CORRUPT},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,)}",
         STARHALO_ERR_CORRUPT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }", STARHALO_ERR_CORRUPT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,,), }", STARHALO_ERR_CORRUPT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
         STARHALO_ERR_CORRUPT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
         STARHALO_ERR_CORRUPT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }",
         STARHALO_ERR_UNSUPPORTED},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), } # comment",
         STARHALO_ERR_CORRUPT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), } # starhalo step=1 "
         "generation=0 checksum=0x12",
         STARHALO_ERR_CORRUPT},
        {"{'descr': '<f4\\n', 'fortran_order': False, 'shape': (3,), }", STARHALO_ERR_CORRUPT},
        {"['descr', '<f4']", STARHALO_ERR_CORRUPT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (03,), }", STARHALO_ERR_CORRUPT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), } x", STARHALO_ERR_CORRUPT},
    };
    char buf[512];
    starhalo_npy_header_t h;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const size_t n = npy_v1(buf, bad[i].dict);
        assert_int_equal(starhalo_npy_header_parse(buf, n, &h), bad[i].want);
        assert_true(strlen(starhalo_last_error_message()) > 0);
    }
    assert_int_equal(starhalo_npy_header_parse("GIF89a....", 10, &h), STARHALO_ERR_CORRUPT);
    assert_int_equal(starhalo_npy_header_parse("\x93NUMPY\x04\x00\x10\x00", 10, &h),
                     STARHALO_ERR_CORRUPT);
    /* A header length past the buffer, and one past the limit. */
    size_t n = npy_v1(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }");
    buf[9] = 0x7f;
    assert_int_equal(starhalo_npy_header_parse(buf, n, &h), STARHALO_ERR_CORRUPT);
    assert_int_equal(starhalo_npy_header_parse(NULL, 10, &h), STARHALO_ERR_INVALID_ARG);
    assert_int_equal(starhalo_npy_header_parse(buf, n, NULL), STARHALO_ERR_INVALID_ARG);
    starhalo_npy_header_t f = {.dtype = STARHALO_FLOAT32, .ndims = 9};
    size_t len;
    assert_int_equal(starhalo_npy_header_format(&f, buf, sizeof buf, &len),
                     STARHALO_ERR_INVALID_ARG);
    f.ndims = 1;
    f.shape[0] = 3;
    assert_int_equal(starhalo_npy_header_format(&f, buf, 32, &len), STARHALO_ERR_OUT_OF_RANGE);
}

/* A checkpoint header: every strict prefix is rejected, and every single-byte change is
 * either rejected or changes what the checksum covers (so a reader's verification fails). */
static void every_prefix_and_every_flip(void **state)
{
    (void)state;
    starhalo_npy_header_t h = {.dtype = STARHALO_FLOAT32, .ndims = 4, .shape = {2, 3, 67, 65}};
    h.has_meta = 1;
    h.step = 40;
    h.generation = 2;
    const uint64_t sum = 0x0123456789abcdefULL;
    h.checksum = starhalo_npy_checksum_finish(sum, &h);
    char buf[STARHALO_NPY_MAX_HEADER], copy[STARHALO_NPY_MAX_HEADER];
    size_t len = 0;
    assert_int_equal(starhalo_npy_header_format(&h, buf, sizeof buf, &len), STARHALO_OK);
    starhalo_npy_header_t g;
    for (size_t n = 0; n < len; n++)
        assert_int_not_equal(starhalo_npy_header_parse(buf, n, &g), STARHALO_OK);
    int caught_by_parser = 0, caught_by_checksum = 0;
    for (size_t i = 0; i < len; i++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, buf, len);
            copy[i] = (char)(copy[i] ^ (1 << bit));
            if (starhalo_npy_header_parse(copy, len, &g) != STARHALO_OK) {
                caught_by_parser++;
                continue;
            }
            /* Accepted: only a case change of a hex digit keeps the same value. */
            const int same = g.checksum == h.checksum &&
                             starhalo_npy_checksum_finish(sum, &g) == h.checksum &&
                             g.data_offset == h.data_offset;
            if (same) {
                assert_true((buf[i] >= 'a' && buf[i] <= 'f') || (buf[i] >= 'A' && buf[i] <= 'F'));
                assert_int_equal(bit, 5);
            } else {
                caught_by_checksum++;
            }
        }
    assert_true(caught_by_parser > 0 && caught_by_checksum > 0);
}

static void checksum_values(void **state)
{
    (void)state;
    float a[10];
    for (int i = 0; i < 10; i++)
        a[i] = (float)i * 0.5f - 1.0f;
    /* Reference values from a direct Python transcription of the formula. */
    const uint64_t whole = starhalo_npy_checksum_add(0, STARHALO_FLOAT32, a, 10, 0);
    assert_true(whole == 0x25bd0ad076278eabULL);
    starhalo_npy_header_t h = {.dtype = STARHALO_FLOAT32, .ndims = 1, .shape = {10}};
    h.step = 7;
    h.generation = 3;
    assert_true(starhalo_npy_checksum_finish(whole, &h) == 0xc0cdf60a03e08ff6ULL);
    /* Any split, any order: the same sum. */
    uint64_t s = starhalo_npy_checksum_add(0, STARHALO_FLOAT32, a + 7, 3, 7);
    s = starhalo_npy_checksum_add(s, STARHALO_FLOAT32, a, 4, 0);
    s = starhalo_npy_checksum_add(s, STARHALO_FLOAT32, a + 4, 3, 4);
    assert_true(s == whole);
    /* A changed element, or two swapped, changes it. */
    a[3] = 0.25f;
    assert_true(starhalo_npy_checksum_add(0, STARHALO_FLOAT32, a, 10, 0) != whole);
    double b[2] = {1.0, 2.0}, c[2] = {2.0, 1.0};
    assert_true(starhalo_npy_checksum_add(0, STARHALO_FLOAT64, b, 2, 0) !=
                starhalo_npy_checksum_add(0, STARHALO_FLOAT64, c, 2, 0));
    /* The metadata is covered. */
    starhalo_npy_header_t k = h;
    k.step = 8;
    assert_true(starhalo_npy_checksum_finish(whole, &k) != starhalo_npy_checksum_finish(whole, &h));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),      cmocka_unit_test(numpy_spellings),
        cmocka_unit_test(rejects),         cmocka_unit_test(every_prefix_and_every_flip),
        cmocka_unit_test(checksum_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
