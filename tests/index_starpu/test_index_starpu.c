/* SPDX-License-Identifier: MIT */
/**
 * @file test_index_starpu.c
 * @brief Index plans executed as StarPU tasks (starhalo_index_field_create +
 * starhalo_index_exchange_create), on however many ranks mpirun starts, with the transport
 * given as argument ("starpu" or "direct"):
 * - forward update: every halo value of global g holds the owner's value 2g+1 (+ a plane
 *   offset), float32 and float64, 1-3 planes, two fields of different planes in one exchange,
 *   block / cyclic / random general distributions;
 * - reverse SUM: owner value (2g+1) x (1 + number of ranks holding g), the multiplicity counted
 *   by an independent MPI_Allreduce over the halo lists; MAX and MIN against an Allreduce of the
 *   holders' values; halo values untouched;
 * - the same arrays, bit for bit, as the plain-MPI executor (two-sided) on the same plan for
 *   update, SUM and REPLACE;
 * - begin / a user task reading the index field's handle / end, three times: the task saw
 *   the owned values and the halo arrived;
 * - 200 updates on one exchange with values changing every call, and 20 create/destroy
 *   cycles: the exchange's tag range never moves and the context's free tag ranges are
 *   restored (read through runtime_internal.h);
 * - bad input on one rank (planes, dtype, transport, NULL field) -> the same status on every
 *   rank, no hang, and a working exchange afterwards; an index field passed to the structured
 *   starhalo_exchange_create, starhalo_stencil_create, starhalo_conv2d_create,
 *   starhalo_field_sqdiff, starhalo_field_gather, starhalo_cnn_relu or
 *   starhalo_cnn_conv_create is rejected (STARHALO_ERR_INVALID_ARG
 *   everywhere).
 * Every rank runs every test; pass/fail is agreed with MPI_Allreduce.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "starhalo_mpi_test.h"

#include "rt_exchange_internal.h"
#include <starhalo/starhalo_cnn.h>
#include <starhalo/starhalo_compute.h>
#include <starhalo/starhalo_index_starpu.h>
#include <starhalo/starhalo_mpi_exchange.h>
#include <starhalo/starhalo_starpu.h>

static starhalo_context_t *g_ctx;
static int g_rank, g_size;
static starhalo_transport_t g_transport = STARHALO_TRANSPORT_DIRECT_MPI;

enum { N_GLOBAL = 613 };

/* A distribution of kind @p kind and a plan where every rank requires ~n/3 random indexes
 * (duplicates and own indexes included). */
static void make_plan(int kind, uint64_t seed, starhalo_distribution_t **d,
                      starhalo_index_plan_t **p)
{
    const int64_t n = N_GLOBAL;
    if (kind == 0) {
        assert_status_ok(starhalo_distribution_create_block(n, g_size, d));
    } else if (kind == 1) {
        assert_status_ok(starhalo_distribution_create_cyclic(n, g_size, d));
    } else {
        int *own = malloc(sizeof(int) * (size_t)n);
        uint64_t s = seed * 77 + 5; /* same on every rank */
        for (int64_t g = 0; g < n; g++)
            own[g] = (int)(starhalo_test_rand(&s) % (uint64_t)g_size);
        assert_status_ok(starhalo_distribution_create_general(n, g_size, own, d));
        free(own);
    }
    uint64_t s = seed * 1000 + (uint64_t)g_rank * 31 + 1;
    const int64_t nreq = n / 3;
    int64_t *req = malloc(sizeof(int64_t) * (size_t)nreq);
    for (int64_t i = 0; i < nreq; i++)
        req[i] = (int64_t)(starhalo_test_rand(&s) % (uint64_t)n);
    assert_status_ok(starhalo_index_plan_create_mpi(MPI_COMM_WORLD, *d, req, nreq, p));
    free(req);
}

static void *field_ptr(starhalo_field_t *f)
{
    void *p = NULL;
    assert_status_ok(starhalo_field_part_data(f, g_rank, &p));
    return p;
}

/* Owned value of global g in plane p (field k): exact in float32 for these sizes. */
static double image(int64_t g, int64_t p, int k)
{
    return (double)(2 * g + 1 + (2 * N_GLOBAL + 1) * p + 7 * k);
}

/* Fill owned values with the image (+ @p shift) and the halo with -1. */
static void fill(starhalo_field_t *f, const starhalo_index_plan_t *p, int k, double shift)
{
    const starhalo_distribution_t *d = starhalo_index_plan_distribution(p);
    const int64_t ls = starhalo_index_plan_local_size(p), hs = starhalo_index_plan_halo_size(p);
    void *a = field_ptr(f);
    for (int64_t q = 0; q < f->planes; q++) {
        for (int64_t l = 0; l < ls; l++)
            starhalo_test_put(a, f->dtype, q * (ls + hs) + l,
                              image(starhalo_distribution_local_to_global(d, g_rank, l), q, k) +
                                  shift);
        for (int64_t h = 0; h < hs; h++)
            starhalo_test_put(a, f->dtype, q * (ls + hs) + ls + h, -1);
    }
}

/* Count the values that differ from the image (+ shift), halo and owned. */
static int check_image(starhalo_field_t *f, const starhalo_index_plan_t *p, int k, double shift)
{
    const starhalo_distribution_t *d = starhalo_index_plan_distribution(p);
    const int64_t ls = starhalo_index_plan_local_size(p), hs = starhalo_index_plan_halo_size(p);
    const void *a = field_ptr(f);
    int bad = 0;
    for (int64_t q = 0; q < f->planes; q++) {
        for (int64_t l = 0; l < ls; l++)
            bad += starhalo_test_get(a, f->dtype, q * (ls + hs) + l) !=
                   image(starhalo_distribution_local_to_global(d, g_rank, l), q, k) + shift;
        for (int64_t h = 0; h < hs; h++)
            bad += starhalo_test_get(a, f->dtype, q * (ls + hs) + ls + h) !=
                   image(starhalo_index_plan_halo_to_global(p, h), q, k) + shift;
    }
    return bad;
}

static void test_forward(void **state)
{
    (void)state;
    int bad = 0;
    for (int kind = 0; kind < 3; kind++)
        for (int dt = 0; dt < 2; dt++)
            for (int64_t planes = 1; planes <= 3; planes++) {
                starhalo_distribution_t *d;
                starhalo_index_plan_t *p;
                make_plan(kind, (uint64_t)(kind * 10 + planes), &d, &p);
                const starhalo_dtype_t t = dt ? STARHALO_FLOAT64 : STARHALO_FLOAT32;
                const int nf = planes == 2 ? 2 : 1; /* two fields: planes 2 and 1 */
                starhalo_field_t *f[2] = {NULL, NULL};
                for (int k = 0; k < nf; k++)
                    assert_status_ok(
                        starhalo_index_field_create(g_ctx, p, t, k ? 1 : planes, &f[k]));
                assert_true(starhalo_index_field_plan(f[0]) == p);
                starhalo_exchange_t *ex;
                assert_status_ok(starhalo_index_exchange_create(g_ctx, f, nf, g_transport, &ex));
                for (int rep = 0; rep < 2; rep++) { /* reused, values changed */
                    for (int k = 0; k < nf; k++)
                        fill(f[k], p, k, rep);
                    assert_status_ok(starhalo_exchange_submit(ex));
                    assert_status_ok(starhalo_exchange_wait(ex));
                    for (int k = 0; k < nf; k++)
                        bad += check_image(f[k], p, k, rep);
                }
                starhalo_exchange_destroy(ex);
                for (int k = 0; k < nf; k++)
                    starhalo_field_destroy(f[k]);
                starhalo_index_plan_destroy(p);
                starhalo_distribution_destroy(d);
            }
    starhalo_mpi_assert_all_ok(bad, "forward update values");
}

/* A holder's own halo value of g in reverse tests. */
static double holder_value(int rank, int64_t g)
{
    return (double)((rank * 37 + g * 11) % 101);
}

/* Reverse with @p op: owners start at image (SUM) or small values (MAX/MIN); the expected
 * owner values come from an Allreduce over every rank's halo list. */
static int run_reverse(int kind, starhalo_dtype_t t, int64_t planes, starhalo_reduce_op_t op)
{
    starhalo_distribution_t *d;
    starhalo_index_plan_t *p;
    make_plan(kind, (uint64_t)(40 + kind), &d, &p);
    const int64_t n = N_GLOBAL, ls = starhalo_index_plan_local_size(p),
                  hs = starhalo_index_plan_halo_size(p);
    starhalo_field_t *f;
    assert_status_ok(starhalo_index_field_create(g_ctx, p, t, planes, &f));
    starhalo_exchange_t *ex;
    assert_status_ok(starhalo_index_exchange_create(g_ctx, &f, 1, g_transport, &ex));
    /* contrib[g]: multiplicity (SUM) or the max / min of holders' values. */
    double *mine = malloc(sizeof(double) * (size_t)n), *all = malloc(sizeof(double) * (size_t)n);
    const double none = op == STARHALO_REDUCE_MIN ? 1e30 : op == STARHALO_REDUCE_MAX ? -1e30 : 0;
    for (int64_t g = 0; g < n; g++)
        mine[g] = none;
    for (int64_t h = 0; h < hs; h++) {
        const int64_t g = starhalo_index_plan_halo_to_global(p, h);
        mine[g] = op == STARHALO_REDUCE_SUM ? 1 : holder_value(g_rank, g);
    }
    MPI_Allreduce(mine, all, (int)n, MPI_DOUBLE,
                  op == STARHALO_REDUCE_SUM   ? MPI_SUM
                  : op == STARHALO_REDUCE_MAX ? MPI_MAX
                                              : MPI_MIN,
                  MPI_COMM_WORLD);
    void *a = field_ptr(f);
    for (int64_t q = 0; q < planes; q++) {
        for (int64_t l = 0; l < ls; l++) {
            const int64_t g = starhalo_distribution_local_to_global(d, g_rank, l);
            starhalo_test_put(a, t, q * (ls + hs) + l,
                              op == STARHALO_REDUCE_SUM ? image(g, q, 0) : 50);
        }
        for (int64_t h = 0; h < hs; h++) {
            const int64_t g = starhalo_index_plan_halo_to_global(p, h);
            starhalo_test_put(a, t, q * (ls + hs) + ls + h,
                              op == STARHALO_REDUCE_SUM ? image(g, q, 0) : holder_value(g_rank, g));
        }
    }
    assert_status_ok(starhalo_exchange_submit_reverse(ex, op));
    assert_status_ok(starhalo_exchange_wait(ex));
    int bad = 0;
    for (int64_t q = 0; q < planes; q++) {
        for (int64_t l = 0; l < ls; l++) {
            const int64_t g = starhalo_distribution_local_to_global(d, g_rank, l);
            double want;
            if (op == STARHALO_REDUCE_SUM)
                want = image(g, q, 0) * (1 + all[g]);
            else if (op == STARHALO_REDUCE_MAX)
                want = fmax(50, all[g]);
            else
                want = fmin(50, all[g]);
            bad += starhalo_test_get(a, t, q * (ls + hs) + l) != want;
        }
        for (int64_t h = 0; h < hs; h++) { /* ghosts are left unchanged */
            const int64_t g = starhalo_index_plan_halo_to_global(p, h);
            bad += starhalo_test_get(a, t, q * (ls + hs) + ls + h) !=
                   (op == STARHALO_REDUCE_SUM ? image(g, q, 0) : holder_value(g_rank, g));
        }
    }
    free(mine);
    free(all);
    starhalo_exchange_destroy(ex);
    starhalo_field_destroy(f);
    starhalo_index_plan_destroy(p);
    starhalo_distribution_destroy(d);
    return bad;
}

static void test_reverse_sum(void **state)
{
    (void)state;
    int bad = 0;
    for (int kind = 0; kind < 3; kind++)
        bad += run_reverse(kind, kind == 1 ? STARHALO_FLOAT32 : STARHALO_FLOAT64, 1 + kind % 2,
                           STARHALO_REDUCE_SUM);
    starhalo_mpi_assert_all_ok(bad, "reverse SUM = value x multiplicity");
}

static void test_reverse_max_min(void **state)
{
    (void)state;
    int bad = 0;
    for (int kind = 0; kind < 3; kind++) {
        bad += run_reverse(kind, STARHALO_FLOAT64, 2, STARHALO_REDUCE_MAX);
        bad += run_reverse(kind, STARHALO_FLOAT32, 1, STARHALO_REDUCE_MIN);
    }
    starhalo_mpi_assert_all_ok(bad, "reverse MAX / MIN");
}

/* Same plan, same start values: the StarPU exchange and the plain-MPI executor must leave
 * identical arrays after update, update_by_halo(SUM) and update_by_halo(REPLACE). */
static void test_same_as_plain_mpi(void **state)
{
    (void)state;
    starhalo_distribution_t *d;
    starhalo_index_plan_t *p;
    make_plan(2, 99, &d, &p);
    const int64_t planes = 2;
    const int64_t len =
        planes * (starhalo_index_plan_local_size(p) + starhalo_index_plan_halo_size(p));
    starhalo_xfer_plan_t *x;
    assert_status_ok(starhalo_index_plan_lower(p, planes, &x));
    starhalo_mpi_exchange_t *mx;
    assert_status_ok(starhalo_mpi_exchange_create(MPI_COMM_WORLD, x, NULL, STARHALO_FLOAT64,
                                                  STARHALO_MPI_TWO_SIDED, &mx));
    starhalo_field_t *f;
    assert_status_ok(starhalo_index_field_create(g_ctx, p, STARHALO_FLOAT64, planes, &f));
    starhalo_exchange_t *ex;
    assert_status_ok(starhalo_index_exchange_create(g_ctx, &f, 1, g_transport, &ex));
    double *ref = malloc(sizeof(double) * (size_t)(len + 1));
    double *a = field_ptr(f);
    uint64_t s = 17 + (uint64_t)g_rank;
    for (int64_t i = 0; i < len; i++)
        a[i] = ref[i] = (double)(starhalo_test_rand(&s) % 1000) / 8;
    int bad = 0;
    const starhalo_reduce_op_t ops[3] = {STARHALO_REDUCE_REPLACE, STARHALO_REDUCE_SUM,
                                         STARHALO_REDUCE_REPLACE};
    for (int step = 0; step < 3; step++) {
        if (step == 0) {
            assert_status_ok(starhalo_mpi_exchange_update(mx, ref));
            assert_status_ok(starhalo_exchange_submit(ex));
        } else {
            for (int64_t i = 0; i < len; i++) /* change the halo so the reverse matters */
                a[i] = ref[i] = ref[i] + (double)(i % 5) + step;
            assert_status_ok(starhalo_mpi_exchange_update_by_halo(mx, ref, ops[step]));
            assert_status_ok(starhalo_exchange_submit_reverse(ex, ops[step]));
        }
        assert_status_ok(starhalo_exchange_wait(ex));
        bad += memcmp(a, ref, sizeof(double) * (size_t)len) != 0;
    }
    free(ref);
    starhalo_exchange_destroy(ex);
    starhalo_field_destroy(f);
    starhalo_mpi_exchange_destroy(mx);
    starhalo_xfer_plan_destroy(x);
    starhalo_index_plan_destroy(p);
    starhalo_distribution_destroy(d);
    starhalo_mpi_assert_all_ok(bad, "StarPU index exchange == plain-MPI executor");
}

/* A user task reading the owned values while the halo travels: sums them into cl_arg. */
static void sum_owned_cpu(void *buffers[], void *cl_arg)
{
    double *out = cl_arg; /* out[0] = count of owned values, then the sum */
    const double *a = (const double *)STARPU_VECTOR_GET_PTR(buffers[0]);
    double sum = 0;
    for (int64_t l = 0; l < (int64_t)out[0]; l++)
        sum += a[l];
    out[1] = sum;
}

static struct starpu_codelet sum_owned_cl = {
    .cpu_funcs = {sum_owned_cpu},
    .nbuffers = 1,
    .modes = {STARPU_R},
    .name = "test_sum_owned",
};

/* begin / user task on the field / end: the halo arrives and the task saw the owned values. */
static void test_begin_end_overlap(void **state)
{
    (void)state;
    starhalo_distribution_t *d;
    starhalo_index_plan_t *p;
    make_plan(1, 55, &d, &p);
    starhalo_field_t *f;
    assert_status_ok(starhalo_index_field_create(g_ctx, p, STARHALO_FLOAT64, 1, &f));
    starhalo_exchange_t *ex;
    assert_status_ok(starhalo_index_exchange_create(g_ctx, &f, 1, g_transport, &ex));
    starpu_data_handle_t h;
    assert_status_ok(starhalo_field_part_handle(f, g_rank, &h));
    const int64_t ls = starhalo_index_plan_local_size(p);
    double want = 0;
    for (int64_t l = 0; l < ls; l++)
        want += image(starhalo_distribution_local_to_global(d, g_rank, l), 0, 0);
    int bad = 0;
    for (int rep = 0; rep < 3; rep++) {
        fill(f, p, 0, rep);
        double io[2] = {(double)ls, -1};
        assert_status_ok(starhalo_exchange_begin(ex));
        assert_int_equal(
            starpu_task_insert(&sum_owned_cl, STARPU_R, h, STARPU_CL_ARGS_NFREE, io, sizeof io, 0),
            0);
        assert_status_ok(starhalo_exchange_end(ex));
        assert_status_ok(starhalo_exchange_wait(ex));
        starpu_task_wait_for_all();
        bad += io[1] != want + (double)ls * rep;
        bad += check_image(f, p, 0, rep);
    }
    starhalo_exchange_destroy(ex);
    starhalo_field_destroy(f);
    starhalo_index_plan_destroy(p);
    starhalo_distribution_destroy(d);
    starhalo_mpi_assert_all_ok(bad, "begin / user task / end");
}

/* The context's free tag ranges, flattened, to compare before / after. */
static int snapshot_tags(int64_t *out, int max)
{
    int n = g_ctx->nfree_tags < max ? g_ctx->nfree_tags : max;
    for (int i = 0; i < n; i++) {
        out[2 * i] = g_ctx->free_tags[i].lo;
        out[2 * i + 1] = g_ctx->free_tags[i].hi;
    }
    return g_ctx->nfree_tags;
}

static void test_repeated(void **state)
{
    (void)state;
    int64_t before[32], after[32];
    const int nb = snapshot_tags(before, 16);
    starhalo_distribution_t *d;
    starhalo_index_plan_t *p;
    make_plan(2, 123, &d, &p);
    starhalo_field_t *f;
    assert_status_ok(starhalo_index_field_create(g_ctx, p, STARHALO_FLOAT64, 1, &f));
    starhalo_exchange_t *ex;
    assert_status_ok(starhalo_index_exchange_create(g_ctx, &f, 1, g_transport, &ex));
    const int64_t base = ex->tag_base, ntags = ex->ntags;
    int bad = 0;
    for (int it = 0; it < 200; it++) {
        assert_status_ok(starhalo_field_acquire(f, g_rank, 1));
        fill(f, p, 0, it);
        assert_status_ok(starhalo_field_release(f, g_rank));
        assert_status_ok(starhalo_exchange_submit(ex));
        assert_status_ok(starhalo_field_acquire(f, g_rank, 0));
        bad += check_image(f, p, 0, it);
        assert_status_ok(starhalo_field_release(f, g_rank));
        bad += ex->tag_base != base || ex->ntags != ntags;
    }
    starhalo_exchange_destroy(ex);
    for (int c = 0; c < 20; c++) { /* create/destroy cycles give their tags back */
        assert_status_ok(starhalo_index_exchange_create(g_ctx, &f, 1, g_transport, &ex));
        bad += ex->tag_base != base;
        starhalo_exchange_destroy(ex);
    }
    const int na = snapshot_tags(after, 16);
    bad += na != nb || memcmp(before, after, sizeof(int64_t) * 2 * (size_t)(nb < 16 ? nb : 16));
    starhalo_field_destroy(f);
    starhalo_index_plan_destroy(p);
    starhalo_distribution_destroy(d);
    starhalo_mpi_assert_all_ok(bad, "200 updates, tags fixed and given back");
}

/* Every rank must see exactly @p want. */
static int expect_status(starhalo_status_t got, starhalo_status_t want, const char *what)
{
    if (got != want)
        print_error("rank %d: %s: got %s, want %s (%s)\n", g_rank, what, starhalo_err_name(got),
                    starhalo_err_name(want), starhalo_last_error_message());
    return got != want;
}

static void test_bad_input(void **state)
{
    (void)state;
    starhalo_distribution_t *d;
    starhalo_index_plan_t *p;
    make_plan(0, 7, &d, &p);
    int bad = 0;
    starhalo_field_t *f = NULL, *good = NULL;
    /* Planes differ on the last rank: a mismatch everywhere. */
    bad += expect_status(
        starhalo_index_field_create(g_ctx, p, STARHALO_FLOAT64, g_rank == g_size - 1 ? 2 : 1, &f),
        STARHALO_ERR_MISMATCH, "different planes");
    bad += f != NULL;
    /* Invalid planes on rank 0 only: INVALID_ARG everywhere. */
    bad += expect_status(
        starhalo_index_field_create(g_ctx, p, STARHALO_FLOAT64, g_rank == 0 ? 0 : 1, &f),
        STARHALO_ERR_INVALID_ARG, "planes 0 on rank 0");
    /* Different dtypes. */
    bad += expect_status(
        starhalo_index_field_create(
            g_ctx, p, g_rank == g_size - 1 ? STARHALO_FLOAT32 : STARHALO_FLOAT64, 1, &f),
        STARHALO_ERR_MISMATCH, "different dtypes");
    assert_status_ok(starhalo_index_field_create(g_ctx, p, STARHALO_FLOAT64, 1, &good));
    starhalo_exchange_t *ex = NULL;
    /* Different transports. */
    const starhalo_transport_t other = g_transport == STARHALO_TRANSPORT_DIRECT_MPI
                                           ? STARHALO_TRANSPORT_STARPU_MPI
                                           : STARHALO_TRANSPORT_DIRECT_MPI;
    bad += expect_status(starhalo_index_exchange_create(
                             g_ctx, &good, 1, g_rank == g_size - 1 ? other : g_transport, &ex),
                         STARHALO_ERR_MISMATCH, "different transports");
    bad += ex != NULL;
    /* A NULL field on rank 0. */
    starhalo_field_t *nullf = NULL;
    bad += expect_status(
        starhalo_index_exchange_create(g_ctx, g_rank == 0 ? &nullf : &good, 1, g_transport, &ex),
        STARHALO_ERR_INVALID_ARG, "NULL field on rank 0");
    /* An unknown transport on the last rank. */
    bad += expect_status(
        starhalo_index_exchange_create(
            g_ctx, &good, 1, g_rank == g_size - 1 ? (starhalo_transport_t)7 : g_transport, &ex),
        STARHALO_ERR_INVALID_ARG, "unknown transport on the last rank");
    /* An index field given to the structured exchange: rejected, not dereferenced. */
    bad += expect_status(starhalo_exchange_create(g_ctx, &good, 1, g_transport, &ex),
                         STARHALO_ERR_INVALID_ARG, "index field in starhalo_exchange_create");
    bad += ex != NULL;
    /* Index fields given to the compute calls: rejected, not dereferenced. */
    assert_status_ok(starhalo_index_exchange_create(g_ctx, &good, 1, g_transport, &ex));
    starhalo_field_t *other_f = NULL;
    assert_status_ok(starhalo_index_field_create(g_ctx, p, STARHALO_FLOAT64, 1, &other_f));
    starhalo_stencil_t *st = NULL;
    bad += expect_status(
        starhalo_stencil_create(g_ctx, good, other_f, ex, STARHALO_STENCIL_5PT, NULL, &st),
        STARHALO_ERR_INVALID_ARG, "index fields in starhalo_stencil_create");
    bad += st != NULL;
    const starhalo_layer_t layer = {3, 1, 1, 1};
    const float w[9] = {0}, bias[1] = {0};
    starhalo_conv2d_t *cv = NULL;
    bad +=
        expect_status(starhalo_conv2d_create(g_ctx, good, other_f, ex, &layer, w, bias, NULL, &cv),
                      STARHALO_ERR_INVALID_ARG, "index fields in starhalo_conv2d_create");
    bad += cv != NULL;
    double sum = -1;
    bad += expect_status(starhalo_field_sqdiff(g_ctx, good, other_f, &sum),
                         STARHALO_ERR_INVALID_ARG, "index fields in starhalo_field_sqdiff");
    double global[1];
    bad += expect_status(starhalo_field_gather(g_ctx, good, 0, global), STARHALO_ERR_INVALID_ARG,
                         "index field in starhalo_field_gather");
    bad += strstr(starhalo_last_error_message(), "index field") == NULL;
    bad += expect_status(starhalo_cnn_relu(good, other_f), STARHALO_ERR_INVALID_ARG,
                         "index fields in starhalo_cnn_relu");
    starhalo_cnn_conv_t *ccv = NULL;
    const float w1[9] = {0};
    starhalo_field_t *third = NULL;
    assert_status_ok(starhalo_index_field_create(g_ctx, p, STARHALO_FLOAT64, 1, &third));
    bad += expect_status(
        starhalo_cnn_conv_create(g_ctx, good, ex, other_f, third, NULL, NULL, &layer, w1, &ccv),
        STARHALO_ERR_INVALID_ARG, "index fields in starhalo_cnn_conv_create");
    bad += ccv != NULL;
    bad += strstr(starhalo_last_error_message(), "index field") == NULL;
    starhalo_field_destroy(third);
    starhalo_field_destroy(other_f);
    /* Everything still works afterwards. */
    fill(good, p, 0, 0);
    assert_status_ok(starhalo_exchange_submit(ex));
    assert_status_ok(starhalo_exchange_wait(ex));
    bad += check_image(good, p, 0, 0);
    starhalo_exchange_destroy(ex);
    starhalo_field_destroy(good);
    starhalo_index_plan_destroy(p);
    starhalo_distribution_destroy(d);
    starhalo_mpi_assert_all_ok(bad, "bad input agreed on every rank");
}

int main(int argc, char **argv)
{
    if (argc > 1)
        g_transport = !strcmp(argv[1], "starpu") ? STARHALO_TRANSPORT_STARPU_MPI
                                                 : STARHALO_TRANSPORT_DIRECT_MPI;
    starhalo_context_conf_t conf;
    starhalo_context_conf_init(&conf);
    if (starhalo_context_create(&conf, &g_ctx) != STARHALO_OK) {
        fprintf(stderr, "test_index_starpu: context: %s\n", starhalo_last_error_message());
        return 1;
    }
    g_rank = starhalo_context_rank(g_ctx);
    g_size = starhalo_context_size(g_ctx);
    if (g_rank != 0 && !freopen("/dev/null", "w", stdout)) /* rank 0 prints the report */
        fprintf(stderr, "test_index_starpu: rank %d could not silence stdout\n", g_rank);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward),           cmocka_unit_test(test_reverse_sum),
        cmocka_unit_test(test_reverse_max_min),   cmocka_unit_test(test_same_as_plain_mpi),
        cmocka_unit_test(test_begin_end_overlap), cmocka_unit_test(test_repeated),
        cmocka_unit_test(test_bad_input),
    };
    const int failed = cmocka_run_group_tests_name("index plans on StarPU", tests, NULL, NULL);
    starhalo_context_destroy(g_ctx);
    return failed ? 1 : 0;
}
