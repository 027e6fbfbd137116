/* SPDX-License-Identifier: MIT */
/**
 * @file test_exchange_faults.c
 * @brief Failures on one rank become statuses, never hangs: (1) an exchange build that fails
 * on one rank only (STARHALO_FAULT_EXCHANGE_BUILD, as an out-of-memory there would) gives
 * every rank the error and no exchange, for the structured and both transports; (2) an MPI
 * error while completing the direct transport's messages (STARHALO_FAULT_MPI_WAIT) surfaces
 * as STARHALO_ERR_MPI from that rank's end / wait / run, with its ghosts left untouched, the
 * other ranks' exchange completes, and the next exchange without the fault is correct again.
 * Run on 2 or more ranks; the failing rank is rank 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "starhalo_mpi_test.h"

#include <starhalo/starhalo_runtime.h>

static starhalo_context_t *g_ctx;
static int g_rank, g_size;

/* 1 x 1 x 8 x 8 image, halo 1, one horizontal strip per rank. */
static starhalo_decomp_t *make_decomp(void)
{
    starhalo_decomp_desc_t desc;
    memset(&desc, 0, sizeof desc);
    desc.ndims = 2;
    desc.extent[0] = 8;
    desc.extent[1] = 8 * g_size;
    desc.nparts = g_size;
    desc.split = STARHALO_SPLIT_HORIZONTAL;
    for (int k = 0; k < 4; k++)
        desc.halo[k] = 1;
    starhalo_decomp_t *d = NULL;
    assert_status_ok(starhalo_decomp_create(&desc, &d));
    return d;
}

/* Owned cells hold 1 + rank, ghosts 0. */
static void fill(starhalo_field_t *f)
{
    float *t = NULL;
    assert_status_ok(starhalo_field_acquire(f, g_rank, 1));
    assert_status_ok(starhalo_field_part_data(f, g_rank, (void **)&t));
    const starhalo_box_t g = starhalo_part_plan_ghosted(starhalo_field_part_plan(f, g_rank));
    const int64_t w = g.hi[0] - g.lo[0], h = g.hi[1] - g.lo[1];
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++)
            t[y * w + x] = (y == 0 || y == h - 1 || x == 0 || x == w - 1) ? 0.0f : 1.0f + g_rank;
    assert_status_ok(starhalo_field_release(f, g_rank));
}

/* How many of this rank's ghost rows (0, 1 or 2) hold the neighbour's value. */
static int ghosts_filled(starhalo_field_t *f)
{
    float *t = NULL;
    assert_status_ok(starhalo_field_acquire(f, g_rank, 0));
    assert_status_ok(starhalo_field_part_data(f, g_rank, (void **)&t));
    const starhalo_box_t g = starhalo_part_plan_ghosted(starhalo_field_part_plan(f, g_rank));
    const int64_t w = g.hi[0] - g.lo[0], h = g.hi[1] - g.lo[1];
    int filled = 0;
    /* The ghost rows hold the neighbours' values (rank + 1 above is rank, below rank + 2). */
    if (g_rank > 0 && t[0 * w + 1] == (float)g_rank)
        filled++;
    if (g_rank < g_size - 1 && t[(h - 1) * w + 1] == (float)(g_rank + 2))
        filled++;
    assert_status_ok(starhalo_field_release(f, g_rank));
    return filled;
}

static int expected_filled(void)
{
    return (g_rank > 0) + (g_rank < g_size - 1);
}

static void test_build_failure_on_one_rank(void **state)
{
    (void)state;
    starhalo_decomp_t *d = make_decomp();
    starhalo_field_t *f = NULL;
    assert_status_ok(starhalo_field_create(g_ctx, d, NULL, STARHALO_FLOAT32, &f));
    int bad = 0;
    const starhalo_transport_t transports[2] = {STARHALO_TRANSPORT_STARPU_MPI,
                                                STARHALO_TRANSPORT_DIRECT_MPI};
    for (int t = 0; t < 2; t++) {
        setenv("STARHALO_FAULT_EXCHANGE_BUILD", "1", 1);
        starhalo_exchange_t *ex = (starhalo_exchange_t *)&bad; /* must come back NULL */
        const starhalo_status_t st = starhalo_exchange_create(g_ctx, &f, 1, transports[t], &ex);
        unsetenv("STARHALO_FAULT_EXCHANGE_BUILD");
        if (st != STARHALO_ERR_NO_MEMORY || ex != NULL) {
            fprintf(stderr, "rank %d transport %d: got %s (%s), exchange %p\n", g_rank, t,
                    starhalo_err_name(st), starhalo_last_error_message(), (void *)ex);
            bad++;
        }
        /* Nothing was left behind: the same exchange now builds and works everywhere. */
        assert_status_ok(starhalo_exchange_create(g_ctx, &f, 1, transports[t], &ex));
        fill(f);
        assert_status_ok(starhalo_exchange_run(ex));
        bad += ghosts_filled(f) != expected_filled();
        starhalo_exchange_destroy(ex);
    }
    starhalo_field_destroy(f);
    starhalo_decomp_destroy(d);
    starhalo_mpi_assert_all_ok(bad, "a build failure on rank 1 is every rank's NO_MEMORY");
}

static void test_mpi_error_surfaces(void **state)
{
    (void)state;
    starhalo_decomp_t *d = make_decomp();
    starhalo_field_t *f = NULL;
    assert_status_ok(starhalo_field_create(g_ctx, d, NULL, STARHALO_FLOAT32, &f));
    int bad = 0;
    for (int call = 0; call < 2; call++) { /* 0: begin/end + wait, 1: run */
        setenv("STARHALO_FAULT_MPI_WAIT", "1", 1);
        starhalo_exchange_t *ex = NULL;
        assert_status_ok(
            starhalo_exchange_create(g_ctx, &f, 1, STARHALO_TRANSPORT_DIRECT_MPI, &ex));
        unsetenv("STARHALO_FAULT_MPI_WAIT");
        fill(f);
        starhalo_status_t st;
        if (call == 0) {
            st = starhalo_exchange_begin(ex);
            if (st == STARHALO_OK)
                st = starhalo_exchange_end(ex);
            const starhalo_status_t w = starhalo_exchange_wait(ex);
            st = st != STARHALO_OK ? st : w;
        } else {
            st = starhalo_exchange_run(ex);
        }
        const starhalo_status_t want = g_rank == 1 ? STARHALO_ERR_MPI : STARHALO_OK;
        if (st != want) {
            fprintf(stderr, "rank %d call %d: got %s (%s), want %s\n", g_rank, call,
                    starhalo_err_name(st), starhalo_last_error_message(), starhalo_err_name(want));
            bad++;
        }
        /* The failing rank's ghosts are stale (untouched), the others' are filled. */
        bad += ghosts_filled(f) != (g_rank == 1 ? 0 : expected_filled());
        /* Reported once: the exchange is usable again, and a fault-free one is correct. */
        assert_status_ok(starhalo_exchange_wait(ex));
        starhalo_exchange_destroy(ex);
        assert_status_ok(
            starhalo_exchange_create(g_ctx, &f, 1, STARHALO_TRANSPORT_DIRECT_MPI, &ex));
        fill(f);
        assert_status_ok(starhalo_exchange_run(ex));
        bad += ghosts_filled(f) != expected_filled();
        starhalo_exchange_destroy(ex);
    }
    starhalo_field_destroy(f);
    starhalo_decomp_destroy(d);
    starhalo_mpi_assert_all_ok(bad, "an MPI error on rank 1 is its STARHALO_ERR_MPI");
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    starhalo_context_conf_t conf;
    starhalo_context_conf_init(&conf);
    if (starhalo_context_create(&conf, &g_ctx) != STARHALO_OK) {
        fprintf(stderr, "test_exchange_faults: context: %s\n", starhalo_last_error_message());
        return 1;
    }
    g_rank = starhalo_context_rank(g_ctx);
    g_size = starhalo_context_size(g_ctx);
    if (g_size < 2) {
        printf("test_exchange_faults needs 2 or more ranks\n");
        starhalo_context_destroy(g_ctx);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_failure_on_one_rank),
        cmocka_unit_test(test_mpi_error_surfaces),
    };
    const int failed = cmocka_run_group_tests_name("exchange faults", tests, NULL, NULL);
    starhalo_context_destroy(g_ctx);
    return failed ? 1 : 0;
}
