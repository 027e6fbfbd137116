/* SPDX-License-Identifier: MIT */
/**
 * @file mpi_requests.c
 * @brief One direction's messages as MPI requests (mpi_requests.h): chunking, receives
 * first, persistent or immediate, statuses checked.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_requests.h"

int starhalo__mx_requests_count(int64_t bytes, int64_t chunk_bytes)
{
    if (bytes <= 0)
        return 0;
    if (chunk_bytes <= 0 || bytes <= chunk_bytes)
        return 1;
    return (int)((bytes + chunk_bytes - 1) / chunk_bytes);
}

void starhalo__mx_requests_free(mx_requests_t *set)
{
    if (!set)
        return;
    for (int i = 0; set->req && i < set->nrecv + set->nsend; i++)
        if (set->req[i] != MPI_REQUEST_NULL)
            MPI_Request_free(&set->req[i]);
    free(set->req);
    free(set->desc);
    free(set->statuses);
    free(set->completed);
    memset(set, 0, sizeof *set);
}

/* Record the requests of one message (its chunks) at desc[*next...]. */
static starhalo_status_t describe_message(mx_requests_t *set, const mx_message_t *m, int esz,
                                          int *next)
{
    if (m->typed) {
        STARHALO_REQUIRE(m->bytes <= INT_MAX, STARHALO_ERR_UNSUPPORTED,
                         "a %lld-byte message to or from rank %d is over INT_MAX bytes",
                         (long long)m->bytes, m->peer);
        set->desc[(*next)++] = (mx_request_desc_t){.peer = m->peer,
                                                   .tag = m->tag,
                                                   .is_send = m->is_send,
                                                   .count = 1,
                                                   .type = m->type,
                                                   .bytes = m->bytes,
                                                   .buf = m->buf};
        return STARHALO_OK;
    }
    const int n = starhalo__mx_requests_count(m->bytes, m->chunk_bytes);
    /* Equal chunks in whole elements; the last one takes what is left. */
    const int64_t elems = m->bytes / esz;
    const int64_t each = n > 0 ? (elems + n - 1) / n : 0;
    for (int c = 0; c < n; c++) {
        const int64_t first = c * each;
        const int64_t count = elems - first < each ? elems - first : each;
        STARHALO_REQUIRE(count <= INT_MAX, STARHALO_ERR_UNSUPPORTED,
                         "a %lld-byte message to or from rank %d has a request of more than "
                         "INT_MAX elements",
                         (long long)m->bytes, m->peer);
        set->desc[(*next)++] = (mx_request_desc_t){.peer = m->peer,
                                                   .tag = m->tag,
                                                   .is_send = m->is_send,
                                                   .count = (int)count,
                                                   .type = set->type,
                                                   .bytes = count * esz,
                                                   .buf = (char *)m->buf + first * esz};
    }
    return STARHALO_OK;
}

static starhalo_status_t check_messages(MPI_Datatype type, const mx_message_t *msgs, int nmsgs,
                                        int *esz, int *nrecv, int *nsend)
{
    STARHALO_CHECK_MPI(MPI_Type_size(type, esz), "MPI_Type_size of a request set's type");
    STARHALO_REQUIRE(*esz > 0, STARHALO_ERR_INVALID_ARG, "requests: empty MPI datatype");
    *nrecv = *nsend = 0;
    for (int i = 0; i < nmsgs; i++) {
        const mx_message_t *m = &msgs[i];
        const int plain_ok =
            (m->buf || m->bytes == 0) && m->bytes % *esz == 0 && m->chunk_bytes % *esz == 0;
        STARHALO_REQUIRE(m->bytes >= 0 && m->chunk_bytes >= 0 &&
                             (m->typed ? m->chunk_bytes == 0 && m->bytes > 0 : plain_ok),
                         STARHALO_ERR_INVALID_ARG,
                         "requests: message %d (rank %d, tag %d) has %lld bytes at %p, chunks "
                         "of %lld, elements of %d bytes",
                         i, m->peer, m->tag, (long long)m->bytes, m->buf, (long long)m->chunk_bytes,
                         *esz);
        const int n = m->typed ? 1 : starhalo__mx_requests_count(m->bytes, m->chunk_bytes);
        STARHALO_REQUIRE(n <= INT_MAX - *nrecv - *nsend, STARHALO_ERR_UNSUPPORTED,
                         "requests: more than INT_MAX requests");
        *(m->is_send ? nsend : nrecv) += n;
    }
    return STARHALO_OK;
}

static starhalo_status_t create_persistent(mx_requests_t *set)
{
    for (int i = 0; i < set->nrecv + set->nsend; i++) {
        const mx_request_desc_t *d = &set->desc[i];
        const int rc = d->is_send ? MPI_Send_init(d->buf, d->count, d->type, d->peer, d->tag,
                                                  set->comm, &set->req[i])
                                  : MPI_Recv_init(d->buf, d->count, d->type, d->peer, d->tag,
                                                  set->comm, &set->req[i]);
        if (rc != MPI_SUCCESS) {
            set->req[i] = MPI_REQUEST_NULL;
            return starhalo__mpi_error(rc, "%s of %lld bytes with rank %d, tag %d",
                                       d->is_send ? "MPI_Send_init" : "MPI_Recv_init",
                                       (long long)d->bytes, d->peer, d->tag);
        }
    }
    return STARHALO_OK;
}

starhalo_status_t starhalo__mx_requests_init(mx_requests_t *set, MPI_Comm comm, MPI_Datatype type,
                                             const mx_message_t *msgs, int nmsgs,
                                             mx_requests_kind_t kind)
{
    STARHALO_REQUIRE(set && (msgs || nmsgs == 0) && nmsgs >= 0, STARHALO_ERR_INVALID_ARG,
                     "requests: NULL set or messages");
    memset(set, 0, sizeof *set);
    int esz = 0, nrecv = 0, nsend = 0;
    STARHALO_CHECK(check_messages(type, msgs, nmsgs, &esz, &nrecv, &nsend));
    const size_t n = (size_t)nrecv + (size_t)nsend;
    set->comm = comm;
    set->type = type;
    set->kind = kind;
    set->req = malloc((n + 1) * sizeof *set->req);
    set->desc = calloc(n + 1, sizeof *set->desc);
    set->statuses = calloc(n + 1, sizeof *set->statuses);
    set->completed = calloc(n + 1, sizeof *set->completed);
    if (!set->req || !set->desc || !set->statuses || !set->completed) {
        starhalo__mx_requests_free(set);
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "requests: out of memory");
    }
    for (size_t i = 0; i <= n; i++)
        set->req[i] = MPI_REQUEST_NULL;
    set->nrecv = nrecv;
    set->nsend = nsend;
    int next = 0;
    starhalo_status_t st = STARHALO_OK;
    for (int pass = 0; pass < 2 && st == STARHALO_OK; pass++) /* receives, then sends */
        for (int i = 0; i < nmsgs && st == STARHALO_OK; i++)
            if (!msgs[i].is_send == !pass)
                st = describe_message(set, &msgs[i], esz, &next);
    if (st == STARHALO_OK && kind == MX_REQUESTS_PERSISTENT)
        st = create_persistent(set);
    if (st != STARHALO_OK)
        starhalo__mx_requests_free(set);
    return st;
}

/* Post requests [first, first + n) of an immediate set. After a failure the others are still
 * posted, so that peers get what this rank can send; the first error is returned. */
static starhalo_status_t post_immediate(mx_requests_t *set, int first, int n)
{
    starhalo_status_t st = STARHALO_OK;
    for (int i = first; i < first + n; i++) {
        const mx_request_desc_t *d = &set->desc[i];
        const int rc =
            d->is_send
                ? MPI_Isend(d->buf, d->count, d->type, d->peer, d->tag, set->comm, &set->req[i])
                : MPI_Irecv(d->buf, d->count, d->type, d->peer, d->tag, set->comm, &set->req[i]);
        if (rc != MPI_SUCCESS) {
            set->req[i] = MPI_REQUEST_NULL;
            if (st == STARHALO_OK)
                st = starhalo__mpi_error(rc, "%s of %lld bytes with rank %d, tag %d",
                                         d->is_send ? "MPI_Isend" : "MPI_Irecv",
                                         (long long)d->bytes, d->peer, d->tag);
        }
    }
    return st;
}

static starhalo_status_t start_range(mx_requests_t *set, int first, int n)
{
    if (n <= 0)
        return STARHALO_OK;
    if (set->kind == MX_REQUESTS_IMMEDIATE)
        return post_immediate(set, first, n);
    STARHALO_CHECK_MPI(MPI_Startall(n, set->req + first), "MPI_Startall of %d %s", n,
                       first == 0 && n == set->nrecv ? "receives" : "requests");
    return STARHALO_OK;
}

starhalo_status_t starhalo__mx_requests_start_recvs(mx_requests_t *set)
{
    return start_range(set, 0, set->nrecv);
}

starhalo_status_t starhalo__mx_requests_start_sends(mx_requests_t *set)
{
    return start_range(set, set->nrecv, set->nsend);
}

starhalo_status_t starhalo__mx_requests_start_all(mx_requests_t *set)
{
    return start_range(set, 0, set->nrecv + set->nsend);
}

/* The message of a failed MPI_Waitall / MPI_Testall / MPI_Testsome: with MPI_ERR_IN_STATUS,
 * the first status that carries an error names the real cause. statuses[k] belongs to
 * request which[k] (Testsome), or to request k when @p which is NULL. */
static starhalo_status_t completion_error(const mx_requests_t *set, int rc, const char *call,
                                          const int *which, int nstatuses)
{
    for (int k = 0; rc == MPI_ERR_IN_STATUS && k < nstatuses; k++) {
        const int err = set->statuses[k].MPI_ERROR;
        if (err != MPI_SUCCESS && err != MPI_ERR_PENDING) {
            const mx_request_desc_t *d = &set->desc[which ? which[k] : k];
            return starhalo__mpi_error(err, "%s: the %s of %lld bytes with rank %d, tag %d", call,
                                       d->is_send ? "send" : "receive", (long long)d->bytes,
                                       d->peer, d->tag);
        }
    }
    return starhalo__mpi_error(rc, "%s of %d requests", call, set->nrecv + set->nsend);
}

starhalo_status_t starhalo__mx_requests_wait(mx_requests_t *set)
{
    const int n = set->nrecv + set->nsend;
    if (n == 0)
        return STARHALO_OK;
    const int rc = MPI_Waitall(n, set->req, set->statuses);
    return rc == MPI_SUCCESS ? STARHALO_OK : completion_error(set, rc, "MPI_Waitall", NULL, n);
}

starhalo_status_t starhalo__mx_requests_test_all(mx_requests_t *set, int *done)
{
    const int n = set->nrecv + set->nsend;
    *done = 1;
    if (n == 0)
        return STARHALO_OK;
    const int rc = MPI_Testall(n, set->req, done, set->statuses);
    return rc == MPI_SUCCESS ? STARHALO_OK : completion_error(set, rc, "MPI_Testall", NULL, n);
}

starhalo_status_t starhalo__mx_requests_test_some(mx_requests_t *set, int *ncompleted,
                                                  int *none_active)
{
    const int n = set->nrecv + set->nsend;
    int outcount = MPI_UNDEFINED;
    const int rc =
        n > 0 ? MPI_Testsome(n, set->req, &outcount, set->completed, set->statuses) : MPI_SUCCESS;
    *none_active = outcount == MPI_UNDEFINED;
    *ncompleted = outcount == MPI_UNDEFINED ? 0 : outcount;
    if (rc != MPI_SUCCESS)
        return completion_error(set, rc, "MPI_Testsome", set->completed, *ncompleted);
    return STARHALO_OK;
}
