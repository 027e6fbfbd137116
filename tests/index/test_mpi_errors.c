/* SPDX-License-Identifier: MIT */
/* Tests that MPI failures of the plain-MPI layer come back as statuses, on 2 ranks:
 * - an executor over a plan that names a rank outside the communicator: STARHALO_ERR_INVALID_ARG
 *   on every rank at create (the offending rank's message names the rank), and the
 *   communicator works afterwards;
 * - a message larger than the receive posted for it (MPI_ERR_TRUNCATE), for the two-sided and
 *   persistent transports: the receiving rank's update returns STARHALO_ERR_MPI with MPI's
 *   error string instead of aborting, the sender's returns, and both destroy the executor;
 * - the request sets (runtime/mpi/mpi_requests.h) directly: a 128 KiB message in 65472-byte
 *   chunks is three equal requests, receives come first, MPI_Testsome-style progress sees
 *   every request complete and the data arrives; a truncated chunked receive names its peer
 *   and MPI_ERR_TRUNCATE.
 * Every rank runs the group; each test reduces its pass/fail over ranks. Exactly 2 ranks
 * (77, skipped, otherwise). */
#include "starhalo_mpi_test.h"

#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include <starhalo/starhalo_mpi_exchange.h>

#include "mpi_requests.h"

static int g_rank, g_size;

#define CHECK(bad, cond) STARHALO_MPI_CHECK(bad, cond)

static void peer_outside_communicator(void **state)
{
    (void)state;
    int bad = 0;
    const starhalo_run_t run = {0, 2};
    /* Rank 0 names rank g_size; the others a valid peer with nothing to move. */
    const starhalo_peer_xfer_t peer = {.peer = g_rank == 0 ? g_size : 0,
                                       .send_tag = 0,
                                       .recv_tag = 0,
                                       .send_count = 2,
                                       .nsend_runs = 1,
                                       .send_runs = &run};
    starhalo_xfer_plan_t *plan = NULL;
    assert_status_ok(starhalo_xfer_plan_create(1, &peer, 4, 1, &plan));
    starhalo_mpi_exchange_t *ex = NULL;
    const starhalo_status_t st = starhalo_mpi_exchange_create(
        MPI_COMM_WORLD, plan, NULL, STARHALO_FLOAT64, STARHALO_MPI_PERSISTENT, &ex);
    CHECK(bad, st == STARHALO_ERR_INVALID_ARG);
    CHECK(bad, ex == NULL);
    if (g_rank == 0)
        CHECK(bad, strstr(starhalo_last_error_message(), "outside the communicator") != NULL);
    else /* the agreement hands every rank the failing rank's message */
        CHECK(bad, strstr(starhalo_last_error_message(), "another rank failed") != NULL &&
                       strstr(starhalo_last_error_message(), "rank 0: ") != NULL &&
                       strstr(starhalo_last_error_message(), "outside the communicator") != NULL);
    CHECK(bad, MPI_Barrier(MPI_COMM_WORLD) == MPI_SUCCESS);
    starhalo_xfer_plan_destroy(plan);
    starhalo_mpi_assert_none_failed(bad);
}

/* Rank 0 sends 8 doubles; rank 1 expects 4 of them: MPI_ERR_TRUNCATE at rank 1. */
static void truncated_message(void **state)
{
    (void)state;
    const starhalo_mpi_transport_t transports[] = {STARHALO_MPI_TWO_SIDED, STARHALO_MPI_PERSISTENT};
    const starhalo_run_t run8 = {0, 8}, run4 = {0, 4};
    starhalo_peer_xfer_t peer = {.peer = 1 - g_rank, .send_tag = 3, .recv_tag = 3};
    if (g_rank == 0) {
        peer.send_count = 8;
        peer.nsend_runs = 1;
        peer.send_runs = &run8;
    } else {
        peer.recv_count = 4;
        peer.nrecv_runs = 1;
        peer.recv_runs = &run4;
    }
    starhalo_xfer_plan_t *plan = NULL;
    assert_status_ok(starhalo_xfer_plan_create(1, &peer, 8, 1, &plan));
    int bad = 0;
    for (size_t t = 0; t < sizeof transports / sizeof *transports; t++) {
        starhalo_mpi_exchange_t *ex = NULL;
        assert_status_ok(starhalo_mpi_exchange_create(MPI_COMM_WORLD, plan, NULL, STARHALO_FLOAT64,
                                                      transports[t], &ex));
        double a[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        const starhalo_status_t st = starhalo_mpi_exchange_update(ex, a);
        if (g_rank == 1) {
            CHECK(bad, st == STARHALO_ERR_MPI);
            CHECK(bad, strstr(starhalo_last_error_message(), "TRUNCATE") != NULL);
            CHECK(bad, strstr(starhalo_last_error_message(), "rank 0") != NULL);
        } else {
            CHECK(bad, st == STARHALO_OK);
        }
        if (bad)
            fprintf(stderr, "rank %d, %s: %s\n", g_rank, starhalo_mpi_transport_name(transports[t]),
                    starhalo_last_error_message());
        starhalo_mpi_exchange_destroy(ex);
    }
    starhalo_xfer_plan_destroy(plan);
    starhalo_mpi_assert_none_failed(bad);
}

/* Both ranks send 128 KiB to each other in chunks of 65472 bytes. */
static void request_sets_chunk_and_complete(void **state)
{
    (void)state;
    enum { BYTES = 128 << 10, CHUNK = 65472 }; /* just below the 64 KiB TCP eager limit */
    unsigned char *out = malloc(BYTES), *in = calloc(1, BYTES);
    assert_non_null(out);
    assert_non_null(in);
    for (int i = 0; i < BYTES; i++)
        out[i] = (unsigned char)(i * 7 + g_rank);
    const int other = 1 - g_rank;
    const int tag = (int)starhalo__mx_message_tag(0, 0, 5, 0);
    /* The send first: the set still puts the receives first. */
    const mx_message_t msgs[2] = {
        {.peer = other, .tag = tag, .is_send = 1, .buf = out, .bytes = BYTES, .chunk_bytes = CHUNK},
        {.peer = other, .tag = tag, .is_send = 0, .buf = in, .bytes = BYTES, .chunk_bytes = CHUNK},
    };
    int bad = 0;
    CHECK(bad, starhalo__mx_requests_count(BYTES, CHUNK) == 3);
    CHECK(bad, starhalo__mx_requests_count(0, CHUNK) == 0);
    CHECK(bad, starhalo__mx_requests_count(BYTES, 0) == 1);
    mx_requests_t set;
    assert_status_ok(starhalo__mx_requests_init(&set, MPI_COMM_WORLD, MPI_BYTE, msgs, 2,
                                                MX_REQUESTS_PERSISTENT));
    CHECK(bad, set.nrecv == 3 && set.nsend == 3);
    for (int i = 0; i < 6; i++) {
        CHECK(bad, set.desc[i].is_send == (i >= 3));
        CHECK(bad, set.desc[i].bytes == (i % 3 == 2 ? 43690 : 43691));
        CHECK(bad, set.desc[i].peer == other && set.desc[i].tag == tag);
    }
    for (int round = 0; round < 2; round++) { /* persistent: twice */
        memset(in, 0, BYTES);
        assert_status_ok(starhalo__mx_requests_start_recvs(&set));
        assert_status_ok(starhalo__mx_requests_start_sends(&set));
        int completed = 0, none_active = 0, n = 0;
        while (!none_active) {
            assert_status_ok(starhalo__mx_requests_test_some(&set, &n, &none_active));
            completed += n;
        }
        CHECK(bad, completed == 6);
        assert_status_ok(starhalo__mx_requests_wait(&set)); /* inactive: returns at once */
        for (int i = 0; i < BYTES; i++)
            if (in[i] != (unsigned char)(i * 7 + other)) {
                CHECK(bad, in[i] == (unsigned char)(i * 7 + other));
                break;
            }
    }
    starhalo__mx_requests_free(&set);
    starhalo__mx_requests_free(&set); /* zeroed: fine */
    free(out);
    free(in);
    starhalo_mpi_assert_none_failed(bad);
}

static mx_message_t typed_message(int peer, int tag, int is_send, void *buf, int64_t bytes,
                                  MPI_Datatype type)
{
    return (mx_message_t){.peer = peer,
                          .tag = tag,
                          .is_send = is_send,
                          .buf = buf,
                          .bytes = bytes,
                          .typed = 1,
                          .type = type};
}

/* A typed message (every other int of a strided array, in place through a vector datatype)
 * beside a plain chunked one in one persistent set: one request for the typed message, its
 * own datatype, and only the strided elements move. */
static void request_set_typed_in_place(void **state)
{
    (void)state;
    enum { N = 64, PLAIN = 96, CHUNK = 40 };
    int grid[2 * N], into[2 * N];
    unsigned char out[PLAIN], in[PLAIN];
    const int other = 1 - g_rank;
    MPI_Datatype every_other;
    assert_int_equal(MPI_Type_vector(N, 1, 2, MPI_INT, &every_other), MPI_SUCCESS);
    assert_int_equal(MPI_Type_commit(&every_other), MPI_SUCCESS);
    const int tag = (int)starhalo__mx_message_tag(0, 0, 3, 0);
    const int64_t typed_bytes = N * (int64_t)sizeof(int);
    const mx_message_t msgs[4] = {typed_message(other, tag, 1, grid, typed_bytes, every_other),
                                  typed_message(other, tag, 0, into, typed_bytes, every_other),
                                  {.peer = other,
                                   .tag = tag + 2,
                                   .is_send = 1,
                                   .buf = out,
                                   .bytes = PLAIN,
                                   .chunk_bytes = CHUNK},
                                  {.peer = other,
                                   .tag = tag + 2,
                                   .is_send = 0,
                                   .buf = in,
                                   .bytes = PLAIN,
                                   .chunk_bytes = CHUNK}};
    int bad = 0;
    mx_requests_t set;
    assert_status_ok(starhalo__mx_requests_init(&set, MPI_COMM_WORLD, MPI_BYTE, msgs, 4,
                                                MX_REQUESTS_PERSISTENT));
    CHECK(bad, set.nrecv == 4 && set.nsend == 4); /* typed 1 + plain 3 chunks per side */
    CHECK(bad, set.desc[0].count == 1 && set.desc[0].type == every_other && !set.desc[0].is_send);
    CHECK(bad, set.desc[1].type == MPI_BYTE && set.desc[1].bytes == 32);
    for (int i = 0; i < 2 * N; i++) {
        grid[i] = g_rank * 1000 + i;
        into[i] = -1;
    }
    for (int i = 0; i < PLAIN; i++)
        out[i] = (unsigned char)(i + 3 * g_rank);
    memset(in, 0, sizeof in);
    assert_status_ok(starhalo__mx_requests_start_all(&set));
    assert_status_ok(starhalo__mx_requests_wait(&set));
    int strided_ok = 1, plain_ok = 1; /* odd ints untouched: only the datatype's elements */
    for (int i = 0; i < 2 * N; i++)
        strided_ok &= into[i] == (i % 2 ? -1 : other * 1000 + i);
    for (int i = 0; i < PLAIN; i++)
        plain_ok &= in[i] == (unsigned char)(i + 3 * other);
    CHECK(bad, strided_ok && plain_ok);
    /* A typed message may not be chunked. */
    mx_message_t chunked = msgs[0];
    chunked.chunk_bytes = 8;
    mx_requests_t none;
    CHECK(bad, starhalo__mx_requests_init(&none, MPI_COMM_WORLD, MPI_BYTE, &chunked, 1,
                                          MX_REQUESTS_PERSISTENT) == STARHALO_ERR_INVALID_ARG);
    starhalo__mx_requests_free(&set);
    MPI_Type_free(&every_other);
    starhalo_mpi_assert_none_failed(bad);
}

/* Rank 0 sends 16 bytes, rank 1 receives at most 8: the wait names the receive. */
static void request_set_truncation(void **state)
{
    (void)state;
    MPI_Comm comm;
    assert_status_ok(starhalo__mpi_comm_dup_returning(MPI_COMM_WORLD, &comm));
    char buf[16] = "0123456789abcdef";
    const mx_message_t msg = {
        .peer = 1 - g_rank, .tag = 1, .is_send = g_rank == 0, .buf = buf, .bytes = g_rank ? 8 : 16};
    int bad = 0;
    mx_requests_t set;
    assert_status_ok(
        starhalo__mx_requests_init(&set, comm, MPI_BYTE, &msg, 1, MX_REQUESTS_IMMEDIATE));
    assert_status_ok(starhalo__mx_requests_start_all(&set));
    const starhalo_status_t st = starhalo__mx_requests_wait(&set);
    if (g_rank == 1) {
        CHECK(bad, st == STARHALO_ERR_MPI);
        CHECK(bad, strstr(starhalo_last_error_message(), "receive of 8 bytes with rank 0") != NULL);
        CHECK(bad, strstr(starhalo_last_error_message(), "TRUNCATE") != NULL);
        if (bad)
            fprintf(stderr, "rank 1: %s\n", starhalo_last_error_message());
    } else {
        CHECK(bad, st == STARHALO_OK);
    }
    starhalo__mx_requests_free(&set);
    /* The agreement on a broken status: the most negative everywhere. */
    CHECK(bad, starhalo__agree_status(comm, g_rank == 1 ? STARHALO_ERR_MPI : STARHALO_OK, 7,
                                      "truncation") == STARHALO_ERR_MPI);
    CHECK(bad, starhalo__agree_status(comm, STARHALO_OK, (uint64_t)g_rank, "hashes") ==
                   STARHALO_ERR_MISMATCH);
    CHECK(bad, strstr(starhalo_last_error_message(), "ranks passed different hashes") != NULL);
    MPI_Comm_free(&comm);
    starhalo_mpi_assert_none_failed(bad);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(peer_outside_communicator),
        cmocka_unit_test(truncated_message),
        cmocka_unit_test(request_sets_chunk_and_complete),
        cmocka_unit_test(request_set_typed_in_place),
        cmocka_unit_test(request_set_truncation),
    };
    /* Every test pairs rank 0 with rank 1. */
    const int rc =
        g_size == 2 ? starhalo_mpi_run_tests("test_mpi_errors", tests, sizeof tests / sizeof *tests)
                    : 77;
    MPI_Finalize();
    return rc;
}
