/* SPDX-License-Identifier: MIT */
/* Tests pack/unpack on the CPU: the run-loop kernels, the index gather/scatter kernels (runs
 * expanded into element indexes, as the plain-MPI executor does for short runs) and the
 * per-element kernels (the CUDA kernels' index math from kern_index.h) against a naive reference
 * written here, bitwise, for both dtypes, several planes, zero-length runs and every reduction
 * operator. */
#include "kern_test_util.h"
#include "kern_cuda.h"
#include "kern_index.h"

#include <string.h>

#define PLANE   97
#define PLANES  3
#define MAXRUNS 12

/* Random non-overlapping runs in [0, PLANE), in random order, some of length 0. */
static int make_runs(uint64_t seed, starhalo_run_t *runs, int64_t *count)
{
    uint64_t s = seed;
    int n = 0;
    int64_t pos = 0;
    while (n < MAXRUNS && pos < PLANE) {
        const int64_t gap = (int64_t)(starhalo_test_rand(&s) % 5);
        int64_t len = (int64_t)(starhalo_test_rand(&s) % 9);
        if (pos + gap + len > PLANE)
            len = PLANE - pos - gap > 0 ? PLANE - pos - gap : 0;
        runs[n].offset = pos + gap;
        runs[n].length = len;
        pos += gap + len;
        n++;
    }
    for (int i = n - 1; i > 0; i--) { /* shuffle: runs need not be sorted */
        const int j = (int)(starhalo_test_rand(&s) % (uint64_t)(i + 1));
        const starhalo_run_t t = runs[i];
        runs[i] = runs[j];
        runs[j] = t;
    }
    *count = 0;
    for (int i = 0; i < n; i++)
        *count += runs[i].length;
    return n;
}

static double ref_combine(double a, double b, starhalo_reduce_op_t op)
{
    switch (op) {
    case STARHALO_REDUCE_SUM:
        return a + b;
    case STARHALO_REDUCE_MAX:
        return a > b ? a : b;
    case STARHALO_REDUCE_MIN:
        return a < b ? a : b;
    default:
        return b;
    }
}

/* Naive pack / unpack over doubles, converted for float32 (values are exact in float). */
static void check_one(starhalo_dtype_t dt, uint64_t seed)
{
    starhalo_run_t runs[MAXRUNS];
    int64_t count;
    const int nruns = make_runs(seed, runs, &count);
    const size_t esz = starhalo_dtype_size(dt);
    double tile[PLANE * PLANES], packed_ref[PLANE * PLANES];
    kt_fill_f64(tile, PLANE * PLANES, seed);
    for (int i = 0; i < PLANE * PLANES; i++)
        tile[i] = (float)tile[i];
    int64_t k = 0;
    for (int p = 0; p < PLANES; p++)
        for (int r = 0; r < nruns; r++)
            for (int64_t e = 0; e < runs[r].length; e++)
                packed_ref[k++] = tile[p * PLANE + runs[r].offset + e];

    /* Working copies in the tested dtype. */
    char src[PLANE * PLANES * 8], a[PLANE * PLANES * 8], b[PLANE * PLANES * 8];
    char want[PLANE * PLANES * 8];
    for (int i = 0; i < PLANE * PLANES; i++) {
        if (dt == STARHALO_FLOAT32)
            ((float *)src)[i] = (float)tile[i];
        else
            ((double *)src)[i] = tile[i];
    }
    int64_t offsets[MAXRUNS + 1], prefix[MAXRUNS + 1];
    starhalo_kern_runs_prefix(runs, nruns, offsets, prefix);
    assert_int_equal(prefix[nruns], count);
    int64_t index[PLANE], nindex = 0;
    char g[PLANE * PLANES * 8];
    for (int r = 0; r < nruns; r++)
        for (int64_t e = 0; e < runs[r].length; e++)
            index[nindex++] = runs[r].offset + e;

    starhalo_kern_pack_cpu(dt, src, PLANE, PLANES, runs, nruns, count, a);
    starhalo_kern_pack_by_element_cpu(dt, src, PLANE, PLANES, offsets, prefix, nruns, count, b);
    starhalo_kern_gather_cpu(dt, src, PLANE, PLANES, index, count, g);
    for (int64_t i = 0; i < count * PLANES; i++) {
        if (dt == STARHALO_FLOAT32)
            ((float *)want)[i] = (float)packed_ref[i];
        else
            ((double *)want)[i] = packed_ref[i];
    }
    assert_memory_equal(a, want, count * PLANES * esz);
    assert_memory_equal(b, want, count * PLANES * esz);
    assert_memory_equal(g, want, count * PLANES * esz);

    /* Unpack a different message into the tile with each operator. */
    double msg[PLANE * PLANES];
    char msgt[PLANE * PLANES * 8];
    kt_fill_f64(msg, count * PLANES, seed + 99);
    for (int64_t i = 0; i < count * PLANES; i++) {
        msg[i] = (float)msg[i];
        if (dt == STARHALO_FLOAT32)
            ((float *)msgt)[i] = (float)msg[i];
        else
            ((double *)msgt)[i] = msg[i];
    }
    for (int op = STARHALO_REDUCE_REPLACE; op <= STARHALO_REDUCE_MIN; op++) {
        double ref[PLANE * PLANES];
        memcpy(ref, tile, sizeof ref);
        k = 0;
        for (int p = 0; p < PLANES; p++)
            for (int r = 0; r < nruns; r++)
                for (int64_t e = 0; e < runs[r].length; e++, k++) {
                    double *c = &ref[p * PLANE + runs[r].offset + e];
                    *c = ref_combine(*c, msg[k], (starhalo_reduce_op_t)op);
                }
        for (int i = 0; i < PLANE * PLANES; i++) {
            if (dt == STARHALO_FLOAT32)
                ((float *)want)[i] = (float)ref[i];
            else
                ((double *)want)[i] = ref[i];
        }
        memcpy(a, src, PLANE * PLANES * esz);
        memcpy(b, src, PLANE * PLANES * esz);
        memcpy(g, src, PLANE * PLANES * esz);
        starhalo_kern_scatter_cpu(dt, msgt, count, PLANES, index, g, PLANE,
                                  (starhalo_reduce_op_t)op);
        starhalo_kern_unpack_cpu(dt, msgt, count, PLANES, runs, nruns, a, PLANE,
                                 (starhalo_reduce_op_t)op);
        starhalo_kern_unpack_by_element_cpu(dt, msgt, count, PLANES, offsets, prefix, nruns, b,
                                            PLANE, (starhalo_reduce_op_t)op);
        assert_memory_equal(a, want, PLANE * PLANES * esz);
        assert_memory_equal(b, want, PLANE * PLANES * esz);
        assert_memory_equal(g, want, PLANE * PLANES * esz);
    }
}

static void pack_unpack_match_naive(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        check_one(STARHALO_FLOAT32, seed);
        check_one(STARHALO_FLOAT64, seed);
    }
}

/* kern_index.h binary search: zero-length runs are never chosen, ends are exact. */
static void find_run_skips_empty_runs(void **state)
{
    (void)state;
    /* run lengths 2, 0, 0, 3, 1, 0 -> prefix 0 2 2 2 5 6 6 */
    const int64_t prefix[] = {0, 2, 2, 2, 5, 6, 6};
    const int want[] = {0, 0, 3, 3, 3, 4};
    for (int64_t j = 0; j < 6; j++)
        assert_int_equal(starhalo_kidx_find_run(prefix, 6, j), want[j]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pack_unpack_match_naive),
        cmocka_unit_test(find_run_skips_empty_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
