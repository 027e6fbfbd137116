/* SPDX-License-Identifier: MIT */
/**
 * @file tb.h
 * @brief Shared types of transport_bench: a benchmarked plan and a timed row (one transport:
 * forward and reverse operations on its own copy of the plan's array).
 */
#ifndef TRANSPORT_BENCH_TB_H
#define TRANSPORT_BENCH_TB_H

#include <stdint.h>

#include <starhalo/starhalo_mpi_exchange.h>
#include <starhalo/starhalo_runtime.h>

/* One benchmarked plan: its transfer plan, a local array and the values it must hold. */
typedef struct bench_plan {
    const char *name;
    starhalo_xfer_plan_t *x;
    int64_t len;                   /* local array elements */
    double *init;                  /* owned values = image, halo = -1 */
    double *expect;                /* after one update */
    int64_t bytes;                 /* max over ranks of max(send, recv) bytes per update */
    starhalo_index_plan_t *iplan;  /* index plan only: the raw reference uses it */
    starhalo_distribution_t *dist; /* ... and its distribution */
    starhalo_decomp_t *decomp;     /* structured plan only: for the StarPU field */
} bench_plan_t;

/** An operation of a row; returns 0 on success. */
typedef int (*op_fn)(void *arg);

/** One timed transport. */
typedef struct tb_row {
    const char *name;
    op_fn fwd, rev; /* update, update_by_halo(SUM) */
    void *arg;
    double *array; /* this row's local array (host view), len elements */
    double create_s;
    void (*destroy)(void *arg);
} tb_row_t;

/**
 * Add the StarPU rows of @p bp (STARPU_MPI, then DIRECT_MPI exchanges of a field holding the
 * plan's array) to @p rows, starting at *n. Collective. Returns 0, or -1 with a message.
 */
/** StarPU rows added by tb_starpu_rows: starpu-mpi, starpu-direct, starpu-run. */
#define TB_STARPU_ROWS 3

int tb_starpu_rows(starhalo_context_t *ctx, const bench_plan_t *bp, tb_row_t *rows, int *n);

#endif
