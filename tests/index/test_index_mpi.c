/* SPDX-License-Identifier: MIT */
/* Tests the collective index-plan build and the plain-MPI executor on 2 or 4 ranks:
 * - the LAMA worked example (4 ranks only): halo, counts and provides literally;
 * - random required indexes over a random owner array: global <-> halo round trips against a
 *   naive membership, values after update (global g holds 2g+1, per plane), reverse SUM (each
 *   owner gains halo value x multiplicity, the multiplicity counted independently with an
 *   MPI_Allreduce), MAX, MIN and REPLACE, for every transport and both dtypes, with values
 *   that change between calls (stale data shows); also a one-way ring where sources and
 *   targets differ and one rank requires nothing (RMA-lock credits must hold a fast rank);
 * - bad input: an out-of-range index on one rank, distributions of different sizes or kinds,
 *   a rank count different from the communicator, different transports: the same status on
 *   every rank, and the communicator still works afterwards;
 * - a structured transfer plan (periodic BOX halos, a part that is its own neighbour) through
 *   the same executor: every ghost cell holds the global-index image of its wrapped cell.
 * Every rank runs the group; each test reduces its pass/fail over ranks. */
#include "lama_example.h"
#include "starhalo_mpi_test.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <starhalo/starhalo_mpi_exchange.h>
/* Both transport enums must coexist in one translation unit. */
#include <starhalo/starhalo_runtime.h>

static int g_rank, g_size;

#define CHECK(bad, cond) STARHALO_MPI_CHECK(bad, cond)
#define agree_ok         starhalo_mpi_assert_none_failed

static void lama_worked_example(void **state)
{
    (void)state;
    if (g_size != LAMA_P) {
        skip();
        return;
    }
    int bad = 0;
    starhalo_distribution_t *d;
    assert_status_ok(starhalo_distribution_create_block(LAMA_N, LAMA_P, &d));
    starhalo_index_plan_t *p = NULL;
    const int r = g_rank;
    starhalo_status_t st =
        starhalo_index_plan_create_mpi(MPI_COMM_WORLD, d, lama_required[r], lama_nrequired[r], &p);
    CHECK(bad, st == STARHALO_OK);
    if (st == STARHALO_OK) {
        CHECK(bad, starhalo_index_plan_halo_size(p) == lama_halo_size[r]);
        for (int64_t h = 0; h < lama_halo_size[r]; h++)
            CHECK(bad, starhalo_index_plan_halo_globals(p)[h] == lama_halo[r][h]);
        for (int o = 0; o < LAMA_P; o++) {
            CHECK(bad, starhalo_index_plan_halo_counts(p)[o] == lama_halo_counts[r][o]);
            CHECK(bad, starhalo_index_plan_provides_counts(p)[o] == lama_prov_counts[r][o]);
        }
        CHECK(bad, starhalo_index_plan_provides_offsets(p)[LAMA_P] == lama_nprovides[r]);
        for (int64_t i = 0; i < lama_nprovides[r]; i++)
            CHECK(bad, starhalo_index_plan_provides(p)[i] == lama_provides[r][i]);
        /* One forward update: halo holds 2g+1. */
        double a[14];
        for (int l = 0; l < 10; l++)
            a[l] = 2.0 * (r * 10 + l) + 1;
        for (int h = 10; h < 14; h++)
            a[h] = -1;
        starhalo_xfer_plan_t *x = NULL;
        starhalo_mpi_exchange_t *ex = NULL;
        assert_status_ok(starhalo_index_plan_lower(p, 1, &x));
        assert_status_ok(starhalo_mpi_exchange_create(MPI_COMM_WORLD, x, NULL, STARHALO_FLOAT64,
                                                      STARHALO_MPI_TWO_SIDED, &ex));
        assert_status_ok(starhalo_mpi_exchange_update(ex, a));
        for (int64_t h = 0; h < lama_halo_size[r]; h++)
            CHECK(bad, a[10 + h] == 2.0 * lama_halo[r][h] + 1);
        starhalo_mpi_exchange_destroy(ex);
        starhalo_xfer_plan_destroy(x);
    }
    starhalo_index_plan_destroy(p);
    starhalo_distribution_destroy(d);
    agree_ok(bad);
}

/* The random problem every rank sees the same way (same seed). */
typedef struct problem {
    int64_t n;
    int *owner;
    starhalo_distribution_t *dist;
    int64_t nreq;
    int64_t *req;    /* this rank's required indexes */
    char *in_halo;   /* [n] naive: required and not owned by this rank */
    int *mult;       /* [n] number of ranks holding g in their halo (Allreduce) */
    int *max_holder; /* [n] highest rank holding g, -1 if none (Allreduce) */
} problem_t;

/* seed > 0: random owners and random required lists. seed == 0: a one-way ring over a
 * cyclic-like owner array (rank r requires 3 indexes of rank r + 1 only, and rank 0 requires
 * nothing when there are more than 2 ranks), so sources and targets differ and a rank can run
 * ahead of the ranks it feeds. */
static void problem_make(problem_t *pb, uint64_t seed)
{
    uint64_t s = seed;
    pb->n = seed ? 500 + (int64_t)(starhalo_test_rand(&s) % 500) : 16 * g_size;
    pb->owner = calloc((size_t)pb->n + 1, sizeof *pb->owner);
    for (int64_t g = 0; g < pb->n; g++)
        pb->owner[g] = seed ? (int)(starhalo_test_rand(&s) % (uint64_t)g_size) : (int)(g % g_size);
    assert_status_ok(starhalo_distribution_create_general(pb->n, g_size, pb->owner, &pb->dist));
    /* Each rank draws its own list from a rank-dependent stream. */
    uint64_t rs = seed * 7919 + (uint64_t)g_rank + 1;
    pb->nreq = seed ? (int64_t)(starhalo_test_rand(&rs) % (uint64_t)pb->n)
                    : (g_size > 2 && g_rank == 0 ? 0 : 3);
    pb->req = malloc((size_t)(pb->nreq + 1) * sizeof *pb->req);
    pb->in_halo = calloc((size_t)pb->n, 1);
    int *mine = calloc((size_t)pb->n, sizeof *mine);
    int *holder = malloc((size_t)pb->n * sizeof *holder);
    for (int64_t i = 0; i < pb->nreq; i++) {
        pb->req[i] = seed ? (int64_t)(starhalo_test_rand(&rs) % (uint64_t)pb->n)
                          : (g_rank + 1) % g_size + g_size * (5 * i + 1);
        if (pb->owner[pb->req[i]] != g_rank)
            pb->in_halo[pb->req[i]] = 1;
    }
    for (int64_t g = 0; g < pb->n; g++) {
        mine[g] = pb->in_halo[g];
        holder[g] = pb->in_halo[g] ? g_rank : -1;
    }
    pb->mult = malloc((size_t)pb->n * sizeof *pb->mult);
    pb->max_holder = malloc((size_t)pb->n * sizeof *pb->max_holder);
    MPI_Allreduce(mine, pb->mult, (int)pb->n, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(holder, pb->max_holder, (int)pb->n, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    free(mine);
    free(holder);
}

static void problem_free(problem_t *pb)
{
    free(pb->owner);
    free(pb->req);
    free(pb->in_halo);
    free(pb->mult);
    free(pb->max_holder);
    starhalo_distribution_destroy(pb->dist);
}

/* Value a rank puts in its halo entry of g (plane pl) before a reverse exchange; SUM uses
 * rank 0's value on every rank so the owner gains exactly value x multiplicity. */
/* Changes between exchanges, so a stale message (a transport reading or landing data of the
 * previous call) shows up as a wrong value. */
static int g_epoch;

static double halo_value(int64_t g, int rank, int64_t pl)
{
    return (double)((g % 13) + 1 + 2 * rank + g_epoch % 7) + 100.0 * (double)pl;
}

static double owned_value(int64_t g, int64_t pl)
{
    return 2.0 * (double)g + 1 + 1.0e5 * (double)pl + 3.0 * (g_epoch % 11);
}

/* Contribution of @p rank's halo entry of g for @p op (MIN below, MAX above the owned value). */
static double contribution(starhalo_reduce_op_t op, int64_t g, int rank, int64_t pl)
{
    switch (op) {
    case STARHALO_REDUCE_SUM:
        return halo_value(g, 0, pl);
    case STARHALO_REDUCE_MAX:
        return owned_value(g, pl) + halo_value(g, rank, pl);
    case STARHALO_REDUCE_MIN:
        return -halo_value(g, rank, pl);
    case STARHALO_REDUCE_REPLACE:
        return halo_value(g, rank, pl);
    }
    return 0;
}

/* Expected owned value of g after a reverse exchange: independent of the plan (multiplicity
 * and highest holder come from the naive membership). Peers are combined in ascending rank,
 * so REPLACE keeps the highest holder's value. */
static double expected_owned(const problem_t *pb, starhalo_reduce_op_t op, int64_t g, int64_t pl)
{
    if (pb->mult[g] == 0)
        return owned_value(g, pl);
    if (op == STARHALO_REDUCE_SUM)
        return owned_value(g, pl) + halo_value(g, 0, pl) * pb->mult[g];
    return contribution(op, g, pb->max_holder[g], pl);
}

typedef struct field {
    starhalo_dtype_t dtype;
    void *data;
} field_t;

static double fget(const field_t *f, int64_t i)
{
    return f->dtype == STARHALO_FLOAT64 ? ((double *)f->data)[i] : ((float *)f->data)[i];
}

static void fset(field_t *f, int64_t i, double v)
{
    if (f->dtype == STARHALO_FLOAT64)
        ((double *)f->data)[i] = v;
    else
        ((float *)f->data)[i] = (float)v;
}

/* Owned values 2g+1 (per plane), halo entries @p halo (or the op's contribution if op >= 0). */
static void fill(field_t *f, const problem_t *pb, const starhalo_index_plan_t *p, int64_t planes,
                 int op)
{
    const int64_t ls = starhalo_index_plan_local_size(p), hs = starhalo_index_plan_halo_size(p);
    for (int64_t pl = 0; pl < planes; pl++) {
        for (int64_t l = 0; l < ls; l++)
            fset(f, pl * (ls + hs) + l,
                 owned_value(starhalo_distribution_local_to_global(pb->dist, g_rank, l), pl));
        for (int64_t h = 0; h < hs; h++)
            fset(f, pl * (ls + hs) + ls + h,
                 op < 0 ? -1.0
                        : contribution((starhalo_reduce_op_t)op,
                                       starhalo_index_plan_halo_to_global(p, h), g_rank, pl));
    }
}

/* Forward then every reverse op, several rounds on one executor; returns failed checks. */
static int run_transport(const problem_t *pb, const starhalo_index_plan_t *p,
                         starhalo_mpi_transport_t t, starhalo_dtype_t dtype, int64_t planes)
{
    int bad = 0;
    const int64_t ls = starhalo_index_plan_local_size(p), hs = starhalo_index_plan_halo_size(p);
    const int64_t ps = ls + hs;
    starhalo_xfer_plan_t *x = NULL;
    starhalo_mpi_exchange_t *ex = NULL;
    assert_status_ok(starhalo_index_plan_lower(p, planes, &x));
    assert_status_ok(starhalo_mpi_exchange_create(MPI_COMM_WORLD, x, NULL, dtype, t, &ex));
    field_t f = {dtype, malloc((size_t)(ps * planes + 1) * starhalo_dtype_size(dtype))};
    const starhalo_reduce_op_t ops[] = {STARHALO_REDUCE_SUM, STARHALO_REDUCE_MAX,
                                        STARHALO_REDUCE_MIN, STARHALO_REDUCE_REPLACE};
    for (int round = 0; round < 2; round++)
        for (int k = 0; k < 4; k++) {
            g_epoch++;
            fill(&f, pb, p, planes, -1);
            assert_status_ok(starhalo_mpi_exchange_update(ex, f.data));
            for (int64_t pl = 0; pl < planes; pl++)
                for (int64_t h = 0; h < hs; h++)
                    CHECK(bad, fget(&f, pl * ps + ls + h) ==
                                   owned_value(starhalo_index_plan_halo_to_global(p, h), pl));
            fill(&f, pb, p, planes, (int)ops[k]);
            assert_status_ok(starhalo_mpi_exchange_update_by_halo(ex, f.data, ops[k]));
            for (int64_t pl = 0; pl < planes; pl++) {
                for (int64_t l = 0; l < ls; l++) {
                    const int64_t g = starhalo_distribution_local_to_global(pb->dist, g_rank, l);
                    CHECK(bad, fget(&f, pl * ps + l) == expected_owned(pb, ops[k], g, pl));
                }
                /* The halo is the source of a reverse exchange: untouched. */
                for (int64_t h = 0; h < hs; h++)
                    CHECK(bad, fget(&f, pl * ps + ls + h) ==
                                   contribution(ops[k], starhalo_index_plan_halo_to_global(p, h),
                                                g_rank, pl));
            }
        }
    if (bad)
        fprintf(stderr, "rank %d: transport %s dtype %d planes %lld failed\n", g_rank,
                starhalo_mpi_transport_name(t), (int)dtype, (long long)planes);
    free(f.data);
    starhalo_mpi_exchange_destroy(ex);
    starhalo_xfer_plan_destroy(x);
    return bad;
}

static void random_plans_every_transport(void **state)
{
    (void)state;
    int bad = 0;
    for (uint64_t seed = 0; seed <= 3; seed++) {
        problem_t pb;
        problem_make(&pb, seed);
        starhalo_index_plan_t *p = NULL;
        assert_status_ok(
            starhalo_index_plan_create_mpi(MPI_COMM_WORLD, pb.dist, pb.req, pb.nreq, &p));
        /* Round trips against the naive membership. */
        int64_t members = 0;
        for (int64_t g = 0; g < pb.n; g++) {
            const int64_t h = starhalo_index_plan_global_to_halo(p, g);
            if (pb.in_halo[g]) {
                members++;
                CHECK(bad, h >= 0 && starhalo_index_plan_halo_to_global(p, h) == g);
            } else {
                CHECK(bad, h == -1);
            }
        }
        CHECK(bad, starhalo_index_plan_halo_size(p) == members);
        CHECK(bad, starhalo_index_plan_local_size(p) ==
                       starhalo_distribution_local_size(pb.dist, g_rank));
        for (int t = 0; t < STARHALO_MPI_NUM_TRANSPORTS; t++) {
            bad += run_transport(&pb, p, (starhalo_mpi_transport_t)t, STARHALO_FLOAT64,
                                 seed == 2 ? 3 : 1);
            if (seed == 1)
                bad += run_transport(&pb, p, (starhalo_mpi_transport_t)t, STARHALO_FLOAT32, 2);
        }
        starhalo_index_plan_destroy(p);
        problem_free(&pb);
    }
    agree_ok(bad);
}

/* Every rank must see @p want, and a fresh valid build must still work afterwards. */
static int expect_everywhere(starhalo_status_t got, starhalo_status_t want, const char *what)
{
    int bad = 0;
    if (got != want) {
        bad = 1;
        fprintf(stderr, "rank %d: %s: got %s (%s), want %s\n", g_rank, what, starhalo_err_name(got),
                starhalo_last_error_message(), starhalo_err_name(want));
    }
    return bad;
}

static void bad_input_same_error_everywhere(void **state)
{
    (void)state;
    int bad = 0;
    starhalo_distribution_t *d40, *d41, *c40, *d40p;
    assert_status_ok(starhalo_distribution_create_block(40, g_size, &d40));
    assert_status_ok(starhalo_distribution_create_block(41, g_size, &d41));
    assert_status_ok(starhalo_distribution_create_cyclic(40, g_size, &c40));
    assert_status_ok(starhalo_distribution_create_block(40, g_size + 1, &d40p));
    const int64_t ok_req[2] = {0, 39};
    const int64_t bad_req[2] = {0, 40};
    const int last = g_size - 1;
    starhalo_index_plan_t *p = (starhalo_index_plan_t *)&p;

    /* An out-of-range index on the last rank only. */
    starhalo_status_t st = starhalo_index_plan_create_mpi(MPI_COMM_WORLD, d40,
                                                          g_rank == last ? bad_req : ok_req, 2, &p);
    bad += expect_everywhere(st, STARHALO_ERR_OUT_OF_RANGE, "out-of-range index on one rank");
    CHECK(bad, p == NULL);
    char want[64];
    snprintf(want, sizeof want, "rank %d required", last);
    CHECK(bad, strstr(starhalo_last_error_message(), want) != NULL);

    /* Different global sizes on different ranks (rank 0 has 41). */
    st = starhalo_index_plan_create_mpi(MPI_COMM_WORLD, g_rank == 0 ? d41 : d40, ok_req, 2, &p);
    bad += expect_everywhere(st, STARHALO_ERR_MISMATCH, "different sizes");
    CHECK(bad, strstr(starhalo_last_error_message(), "different distributions") != NULL);

    /* Same size, different kinds. */
    st = starhalo_index_plan_create_mpi(MPI_COMM_WORLD, g_rank == last ? c40 : d40, ok_req, 2, &p);
    bad += expect_everywhere(st, STARHALO_ERR_MISMATCH, "different kinds");

    /* A distribution over more ranks than the communicator, on rank 0 only. */
    st = starhalo_index_plan_create_mpi(MPI_COMM_WORLD, g_rank == 0 ? d40p : d40, ok_req, 2, &p);
    bad += expect_everywhere(st, STARHALO_ERR_MISMATCH, "rank count differs");

    /* Both a mismatch and an out-of-range index: the mismatch wins everywhere. */
    st = starhalo_index_plan_create_mpi(MPI_COMM_WORLD, g_rank == 0 ? d41 : d40,
                                        g_rank == last ? bad_req : ok_req, 2, &p);
    bad += expect_everywhere(st, STARHALO_ERR_MISMATCH, "mismatch and out of range");

    /* NULL arguments on one rank. */
    st = starhalo_index_plan_create_mpi(MPI_COMM_WORLD, d40, g_rank == last ? NULL : ok_req, 2, &p);
    bad += expect_everywhere(st, STARHALO_ERR_INVALID_ARG, "NULL required array on one rank");

    /* The communicator is clean: a valid build and exchange still work. */
    st = starhalo_index_plan_create_mpi(MPI_COMM_WORLD, d40, ok_req, 2, &p);
    bad += expect_everywhere(st, STARHALO_OK, "valid build after errors");
    if (st == STARHALO_OK) {
        starhalo_xfer_plan_t *x = NULL;
        assert_status_ok(starhalo_index_plan_lower(p, 1, &x));
        starhalo_mpi_exchange_t *ex = (starhalo_mpi_exchange_t *)&ex;
        /* Different transports on different ranks. */
        st = starhalo_mpi_exchange_create(
            MPI_COMM_WORLD, x, NULL, STARHALO_FLOAT64,
            g_rank == 0 ? STARHALO_MPI_PERSISTENT : STARHALO_MPI_TWO_SIDED, &ex);
        bad += expect_everywhere(st, STARHALO_ERR_MISMATCH, "different transports");
        CHECK(bad, ex == NULL);
        /* A peer mapped outside the communicator on one rank. */
        int *map = malloc((size_t)g_size * sizeof *map);
        for (int r = 0; r < g_size; r++)
            map[r] = g_rank == last ? r + g_size : r;
        st = starhalo_mpi_exchange_create(MPI_COMM_WORLD, x, map, STARHALO_FLOAT64,
                                          STARHALO_MPI_RMA_FENCE, &ex);
        bad += expect_everywhere(st, g_size > 1 ? STARHALO_ERR_INVALID_ARG : STARHALO_OK,
                                 "peer outside the communicator");
        if (st == STARHALO_OK)
            starhalo_mpi_exchange_destroy(ex);
        free(map);
        starhalo_xfer_plan_destroy(x);
        starhalo_index_plan_destroy(p);
    }
    starhalo_distribution_destroy(d40);
    starhalo_distribution_destroy(d41);
    starhalo_distribution_destroy(c40);
    starhalo_distribution_destroy(d40p);
    agree_ok(bad);
}

/* Global-index image of cell (x, y) in plane pl, wrapped into the periodic domain. */
static double image(int64_t x, int64_t y, int64_t pl, int64_t W, int64_t H)
{
    x = (x % W + W) % W;
    y = (y % H + H) % H;
    return (double)(pl * W * H + y * W + x) + 1;
}

static void structured_plan_image(void **state)
{
    (void)state;
    int bad = 0;
    const int64_t W = 12, H = 8;
    starhalo_decomp_desc_t desc;
    memset(&desc, 0, sizeof desc);
    desc.ndims = 2;
    desc.extent[0] = W;
    desc.extent[1] = H;
    desc.channels = 2;
    desc.split = STARHALO_SPLIT_GRID;
    desc.parts_per_dim[0] = g_size == 4 ? 2 : g_size;
    desc.parts_per_dim[1] = g_size == 4 ? 2 : 1;
    for (int s = 0; s < 4; s++)
        desc.halo[s] = 1;
    desc.shape = STARHALO_STENCIL_BOX;
    desc.periodic[0] = desc.periodic[1] = 1;
    starhalo_decomp_t *dc;
    assert_status_ok(starhalo_decomp_create(&desc, &dc));
    starhalo_part_plan_t *pp;
    assert_status_ok(starhalo_part_plan_create(dc, g_rank, &pp));
    starhalo_xfer_plan_t *x;
    assert_status_ok(starhalo_part_plan_lower(pp, &x));
    const starhalo_box_t gb = starhalo_part_plan_ghosted(pp);
    const starhalo_box_t ob = starhalo_part_plan_owned(pp);
    const int64_t gw = gb.hi[0] - gb.lo[0], gh = gb.hi[1] - gb.lo[1];
    CHECK(bad, starhalo_xfer_plan_plane_size(x) == gw * gh);
    const int64_t planes = starhalo_xfer_plan_planes(x);
    CHECK(bad, planes == 2);
    double *a = malloc((size_t)(gw * gh * planes) * sizeof *a);
    for (int t = 0; t < STARHALO_MPI_NUM_TRANSPORTS; t++) {
        starhalo_mpi_exchange_t *ex;
        assert_status_ok(starhalo_mpi_exchange_create(MPI_COMM_WORLD, x, NULL, STARHALO_FLOAT64,
                                                      (starhalo_mpi_transport_t)t, &ex));
        for (int it = 0; it < 2; it++) {
            for (int64_t pl = 0; pl < planes; pl++)
                for (int64_t y = gb.lo[1]; y < gb.hi[1]; y++)
                    for (int64_t xx = gb.lo[0]; xx < gb.hi[0]; xx++) {
                        const int owned =
                            xx >= ob.lo[0] && xx < ob.hi[0] && y >= ob.lo[1] && y < ob.hi[1];
                        a[(pl * gh + (y - gb.lo[1])) * gw + (xx - gb.lo[0])] =
                            owned ? image(xx, y, pl, W, H) : -1.0;
                    }
            assert_status_ok(starhalo_mpi_exchange_update(ex, a));
            /* Fully periodic BOX halo: every ghost cell is filled with its wrapped image. */
            for (int64_t pl = 0; pl < planes; pl++)
                for (int64_t y = gb.lo[1]; y < gb.hi[1]; y++)
                    for (int64_t xx = gb.lo[0]; xx < gb.hi[0]; xx++)
                        CHECK(bad, a[(pl * gh + (y - gb.lo[1])) * gw + (xx - gb.lo[0])] ==
                                       image(xx, y, pl, W, H));
        }
        starhalo_mpi_exchange_destroy(ex);
    }
    free(a);
    starhalo_xfer_plan_destroy(x);
    starhalo_part_plan_destroy(pp);
    starhalo_decomp_destroy(dc);
    agree_ok(bad);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    if (g_rank != 0)
        cmocka_set_message_output(CM_OUTPUT_SUBUNIT); /* quieter; rank 0 prints the summary */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lama_worked_example),
        cmocka_unit_test(random_plans_every_transport),
        cmocka_unit_test(bad_input_same_error_everywhere),
        cmocka_unit_test(structured_plan_image),
    };
    const int failed = cmocka_run_group_tests(tests, NULL, NULL);
    int any = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return any ? 1 : 0;
}
