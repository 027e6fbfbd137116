/* SPDX-License-Identifier: MIT */
/**
 * @file starhalo_mpi_test.h
 * @brief Helpers for CMocka tests run on every rank: count failed checks without leaving the
 * test (the other ranks may be inside a collective), then agree on the outcome.
 */
#ifndef STARHALO_MPI_TEST_H
#define STARHALO_MPI_TEST_H

#include <mpi.h>
#include <stdio.h>

#include "starhalo_test.h"

/** Count a failed check in @p bad; print the first one with the rank. */
#define STARHALO_MPI_CHECK(bad, cond)                                                              \
    do {                                                                                           \
        if (!(cond) && (bad)++ == 0) {                                                             \
            int rank_ = 0;                                                                         \
            MPI_Comm_rank(MPI_COMM_WORLD, &rank_);                                                 \
            fprintf(stderr, "rank %d: %s:%d: check failed: %s\n", rank_, __FILE__, __LINE__,       \
                    #cond);                                                                        \
        }                                                                                          \
    } while (0)

/** Every rank learns whether any rank counted a failure, then asserts there was none. */
static inline void starhalo_mpi_assert_none_failed(int bad)
{
    int all = 0;
    MPI_Allreduce(&bad, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    assert_int_equal(all, 0);
}

/** Like starhalo_mpi_assert_none_failed(); rank 0 prints the total failure count for
 * @p what first. */
static inline void starhalo_mpi_assert_all_ok(int bad, const char *what)
{
    int total = 0, rank = 0;
    MPI_Allreduce(&bad, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (total && rank == 0)
        print_error("%s: %d failures over all ranks\n", what, total);
    assert_int_equal(total, 0);
}

/** Run CMocka @p tests on every rank (ranks > 0 report in the quieter subunit format, so the
 * log carries rank 0's summary) and agree on the outcome: 0 if every rank passed, else 1.
 * Call between MPI_Init and MPI_Finalize. */
static inline int starhalo_mpi_run_tests(const char *name, const struct CMUnitTest *tests,
                                         size_t ntests)
{
    int rank = 0, any = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank != 0)
        cmocka_set_message_output(CM_OUTPUT_SUBUNIT);
    const int failed = _cmocka_run_group_tests(name, tests, ntests, NULL, NULL);
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return any ? 1 : 0;
}

#endif
