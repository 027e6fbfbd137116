/* SPDX-License-Identifier: MIT */
/**
 * @file mpi_exchange_p2p.c
 * @brief The point-to-point transports of the plain-MPI executor, over request sets
 * (mpi_requests.h): TWO_SIDED (MPI_Irecv / MPI_Isend / MPI_Waitall per call) and PERSISTENT
 * (MPI_Recv_init / MPI_Send_init at create, MPI_Startall / MPI_Waitall per call).
 *
 * The two differ only in the kind of their request sets, so they share this file and their
 * state; every call is pack, start every request of the direction (receives first), wait,
 * unpack. After an MPI error in the start, the remaining requests are still started and the
 * started ones waited for, so peers get every message this rank could send.
 */
#include <stdlib.h>

#include "mpi_exchange_internal.h"

struct p2p_state {
    char *buffers;             /**< send_buf then recv_buf */
    mx_requests_t requests[2]; /**< [forward, reverse] */
};

static starhalo_status_t make_requests(starhalo_mpi_exchange_t *ex, struct p2p_state *s,
                                       mx_requests_kind_t kind)
{
    mx_message_t *msgs = malloc((size_t)(2 * ex->nentries + 1) * sizeof *msgs);
    STARHALO_REQUIRE(msgs, STARHALO_ERR_NO_MEMORY, "MPI exchange: out of memory");
    starhalo_status_t st = STARHALO_OK;
    for (int reverse = 0; reverse < 2 && st == STARHALO_OK; reverse++) {
        const int n = starhalo__mx_direction_messages(ex, reverse, msgs);
        st = starhalo__mx_requests_init(&s->requests[reverse], ex->comm, ex->elem_type, msgs, n,
                                        kind);
    }
    free(msgs);
    return st;
}

static starhalo_status_t setup(starhalo_mpi_exchange_t *ex, void **state, mx_requests_kind_t kind)
{
    struct p2p_state *s = calloc(1, sizeof *s);
    *state = s;
    starhalo_status_t st = STARHALO_ERR_NO_MEMORY;
    if (s) {
        s->buffers = malloc((size_t)(ex->send_total + ex->recv_total + 1) * ex->elem_size);
        ex->send_buf = s->buffers;
        ex->recv_buf = s->buffers ? s->buffers + (size_t)ex->send_total * ex->elem_size : NULL;
        st = s->buffers ? make_requests(ex, s, kind)
                        : starhalo_error_set(STARHALO_ERR_NO_MEMORY, "MPI exchange: no memory "
                                                                     "for the message buffers");
    } else {
        starhalo_error_set(st, "MPI exchange: out of memory");
    }
    return starhalo__agree_status(ex->comm, st, 0, "transport setup");
}

static starhalo_status_t setup_two_sided(starhalo_mpi_exchange_t *ex, void **state)
{
    return setup(ex, state, MX_REQUESTS_IMMEDIATE);
}

static starhalo_status_t setup_persistent(starhalo_mpi_exchange_t *ex, void **state)
{
    return setup(ex, state, MX_REQUESTS_PERSISTENT);
}

/* Start every request of the direction and wait for them; the first error is returned, but
 * whatever started is completed first. */
static starhalo_status_t move(mx_requests_t *set)
{
    const starhalo_status_t started = starhalo__mx_requests_start_all(set);
    const starhalo_status_t waited = starhalo__mx_requests_wait(set);
    return started != STARHALO_OK ? started : waited;
}

static starhalo_status_t update(starhalo_mpi_exchange_t *ex, void *state, void *array, int reverse,
                                starhalo_reduce_op_t op)
{
    struct p2p_state *s = state;
    starhalo__mx_pack(ex, reverse, array);
    STARHALO_CHECK(move(&s->requests[reverse]));
    starhalo__mx_unpack(ex, reverse, array, op);
    return STARHALO_OK;
}

static void teardown(starhalo_mpi_exchange_t *ex, void *state)
{
    struct p2p_state *s = state;
    (void)ex;
    if (!s)
        return;
    starhalo__mx_requests_free(&s->requests[0]);
    starhalo__mx_requests_free(&s->requests[1]);
    free(s->buffers);
    free(s);
}

const struct mx_transport_ops starhalo__mx_two_sided_ops = {
    .transport = STARHALO_MPI_TWO_SIDED,
    .setup = setup_two_sided,
    .update = update,
    .teardown = teardown,
};

const struct mx_transport_ops starhalo__mx_persistent_ops = {
    .transport = STARHALO_MPI_PERSISTENT,
    .setup = setup_persistent,
    .update = update,
    .teardown = teardown,
};
