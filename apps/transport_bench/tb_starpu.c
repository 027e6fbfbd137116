/* SPDX-License-Identifier: MIT */
/**
 * @file tb_starpu.c
 * @brief The StarPU rows of transport_bench: the same plans as starhalo exchanges (an index
 * field + starhalo_index_exchange_create for the index plan, a structured field +
 * starhalo_exchange_create for the vertical split), with the StarPU-MPI transport and the
 * direct persistent-request transport. One operation = submit + wait, so a row's time is
 * comparable with a blocking plain-MPI update; the starpu-run row is the direct transport
 * through the blocking starhalo_exchange_run (inline when the array is idle).
 */
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include <starhalo/starhalo_index_starpu.h>

#include "tb.h"

typedef struct sp_arg {
    starhalo_field_t *field;
    starhalo_exchange_t *ex;
} sp_arg_t;

static int sp_update(void *a)
{
    sp_arg_t *s = a;
    return starhalo_exchange_submit(s->ex) == STARHALO_OK &&
                   starhalo_exchange_wait(s->ex) == STARHALO_OK
               ? 0
               : -1;
}

static int sp_reverse(void *a)
{
    sp_arg_t *s = a;
    return starhalo_exchange_submit_reverse(s->ex, STARHALO_REDUCE_SUM) == STARHALO_OK &&
                   starhalo_exchange_wait(s->ex) == STARHALO_OK
               ? 0
               : -1;
}

static int sp_run(void *a)
{
    sp_arg_t *s = a;
    return starhalo_exchange_run(s->ex) == STARHALO_OK ? 0 : -1;
}

static int sp_run_reverse(void *a)
{
    sp_arg_t *s = a;
    return starhalo_exchange_run_reverse(s->ex, STARHALO_REDUCE_SUM) == STARHALO_OK ? 0 : -1;
}

static void sp_destroy(void *a)
{
    sp_arg_t *s = a;
    if (!s)
        return;
    starhalo_exchange_destroy(s->ex);
    starhalo_field_destroy(s->field);
    free(s);
}

/* A field holding bp's array on this rank (one part per rank, part = rank). */
static starhalo_status_t make_field(starhalo_context_t *ctx, const bench_plan_t *bp,
                                    starhalo_field_t **f)
{
    if (bp->iplan)
        return starhalo_index_field_create(ctx, bp->iplan, STARHALO_FLOAT64, 1, f);
    return starhalo_field_create(ctx, bp->decomp, NULL, STARHALO_FLOAT64, f);
}

int tb_starpu_rows(starhalo_context_t *ctx, const bench_plan_t *bp, tb_row_t *rows, int *n)
{
    static const struct {
        const char *name;
        starhalo_transport_t t;
        op_fn fwd, rev;
    } kinds[TB_STARPU_ROWS] = {
        {"starpu-mpi", STARHALO_TRANSPORT_STARPU_MPI, sp_update, sp_reverse},
        {"starpu-direct", STARHALO_TRANSPORT_DIRECT_MPI, sp_update, sp_reverse},
        {"starpu-run", STARHALO_TRANSPORT_DIRECT_MPI, sp_run, sp_run_reverse}};
    const int rank = starhalo_context_rank(ctx);
    for (int k = 0; k < TB_STARPU_ROWS; k++) {
        sp_arg_t *s = calloc(1, sizeof(*s));
        int ok = s != NULL, all = 0;
        MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        if (!all) {
            free(s);
            return -1;
        }
        if (make_field(ctx, bp, &s->field) != STARHALO_OK) {
            free(s);
            return -1;
        }
        MPI_Barrier(MPI_COMM_WORLD);
        const double t0 = MPI_Wtime();
        starhalo_status_t st =
            bp->iplan ? starhalo_index_exchange_create(ctx, &s->field, 1, kinds[k].t, &s->ex)
                      : starhalo_exchange_create(ctx, &s->field, 1, kinds[k].t, &s->ex);
        if (st != STARHALO_OK) {
            starhalo_field_destroy(s->field);
            free(s);
            return -1;
        }
        tb_row_t *r = &rows[(*n)++];
        r->name = kinds[k].name;
        r->create_s = MPI_Wtime() - t0;
        r->fwd = kinds[k].fwd;
        r->rev = kinds[k].rev;
        r->arg = s;
        r->destroy = sp_destroy;
        void *p = NULL;
        if (starhalo_field_part_data(s->field, rank, &p) != STARHALO_OK)
            return -1;
        r->array = p;
        memcpy(r->array, bp->init, (size_t)bp->len * sizeof(double));
    }
    return 0;
}
