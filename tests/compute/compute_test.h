/* SPDX-License-Identifier: MIT */
/**
 * @file compute_test.h
 * @brief Helpers of the compute MPI tests: rank-reduced checks and the test main.
 */
#ifndef COMPUTE_TEST_H
#define COMPUTE_TEST_H

#include "starhalo_mpi_test.h"

#include <stdio.h>

#include <starhalo/starhalo_compute.h>

extern starhalo_context_t *g_ctx;
extern int g_rank, g_size;

/* Count a failed check without leaving the test (the other ranks are in collectives). */
#define CHECK(bad, cond) STARHALO_MPI_CHECK(bad, cond)

/** The three slice methods every distributed test walks. */
static const starhalo_split_t compute_test_splits[3] = {
    STARHALO_SPLIT_VERTICAL, STARHALO_SPLIT_HORIZONTAL, STARHALO_SPLIT_SQUARE};

/** 1 if @p n is a perfect square (the square split needs one). */
static inline int compute_test_is_square(int n)
{
    int r = 0;
    while ((r + 1) * (r + 1) <= n)
        r++;
    return r * r == n;
}

/** Sum @p bad over ranks (so every rank takes the same branch afterwards). */
static inline int compute_test_any(int bad)
{
    int all = 0;
    MPI_Allreduce(&bad, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    return all;
}

/** MPI_THREAD_MULTIPLE + a context, run the group, agree, tear down; the exit status. */
static inline int compute_test_main(int argc, char **argv, const char *name,
                                    const struct CMUnitTest *tests, size_t ntests)
{
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    starhalo_context_conf_t conf;
    starhalo_context_conf_init(&conf);
    if (provided < MPI_THREAD_MULTIPLE || starhalo_context_create(&conf, &g_ctx) != STARHALO_OK) {
        fprintf(stderr, "%s: setup: %s\n", name, starhalo_last_error_message());
        MPI_Finalize();
        return 1;
    }
    g_rank = starhalo_context_rank(g_ctx);
    g_size = starhalo_context_size(g_ctx);
    if (g_rank != 0)
        cmocka_set_message_output(CM_OUTPUT_SUBUNIT);
    const int failed = _cmocka_run_group_tests(name, tests, ntests, NULL, NULL);
    int any = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    starhalo_context_destroy(g_ctx);
    MPI_Finalize();
    return any ? 1 : 0;
}

#endif
