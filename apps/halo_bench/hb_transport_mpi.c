/* SPDX-License-Identifier: MIT */
/**
 * @file hb_transport_mpi.c
 * @brief The baseline: a hand-written MPI halo exchange over the same lowered plans. One
 * message per neighbour (diagonals included for square), packed with the CPU kernels,
 * MPI_Irecv / MPI_Isend / MPI_Waitall; parts on the same rank copy through the packed send
 * buffer without MPI. Buffers and tags are set up once and reused by every exchange.
 */
#include "halo_bench.h"

#include <stdlib.h>
#include <string.h>

#include <starhalo/starhalo_kernels.h>

typedef struct mpi_peer {
    const starhalo_peer_xfer_t *x; /* runs and counts, owned by the xfer plan */
    int rank;                      /* owner rank of the peer part */
    void *sendbuf;                 /* packed outgoing message */
    void *recvbuf;                 /* own buffer (remote) or the local sender's sendbuf */
} mpi_peer_t;

typedef struct mpi_part {
    int part;
    starhalo_part_plan_t *plan;
    starhalo_xfer_plan_t *xfer;
    void *tile;
    int64_t plane_size, planes;
    int npeers;
    mpi_peer_t *peers;
} mpi_part_t;

struct hb_transport {
    MPI_Comm comm;
    int rank;
    starhalo_dtype_t dtype;
    MPI_Datatype mpitype;
    int nlocal;
    mpi_part_t *parts;
    int tag_slots; /* tag = receiving part * tag_slots + its recv_tag */
    int nrecv, nsend;
    MPI_Request *reqs; /* receives first, then sends */
};

static int owner_rank(const hb_options_t *o, int part)
{
    return part / (int)o->parts_per_rank;
}

static mpi_part_t *local_part(hb_transport_t *t, int part)
{
    for (int i = 0; i < t->nlocal; i++)
        if (t->parts[i].part == part)
            return &t->parts[i];
    return NULL;
}

static void mpi_destroy(hb_transport_t *t)
{
    if (!t)
        return;
    for (int i = 0; t->parts && i < t->nlocal; i++) {
        mpi_part_t *p = &t->parts[i];
        for (int k = 0; p->peers && k < p->npeers; k++) {
            free(p->peers[k].sendbuf);
            if (p->peers[k].rank != t->rank)
                free(p->peers[k].recvbuf);
        }
        free(p->peers);
        free(p->tile);
        starhalo_xfer_plan_destroy(p->xfer);
        starhalo_part_plan_destroy(p->plan);
    }
    free(t->parts);
    free(t->reqs);
    free(t);
}

/* Point a local receive at the matching packed send buffer of the sending local part. */
static starhalo_status_t link_local(hb_transport_t *t, mpi_part_t *p, mpi_peer_t *q)
{
    mpi_part_t *src = local_part(t, q->x->peer);
    STARHALO_REQUIRE(src, STARHALO_ERR_PLAN_INVALID, "part %d: local peer part %d not found",
                     p->part, q->x->peer);
    for (int k = 0; k < src->npeers; k++) {
        const starhalo_peer_xfer_t *sx = src->peers[k].x;
        if (sx->peer == p->part && sx->send_tag == q->x->recv_tag) {
            STARHALO_REQUIRE(sx->send_count == q->x->recv_count, STARHALO_ERR_PLAN_INVALID,
                             "part %d sends %lld elements per plane to part %d, which expects "
                             "%lld",
                             src->part, (long long)sx->send_count, p->part,
                             (long long)q->x->recv_count);
            q->recvbuf = src->peers[k].sendbuf;
            return STARHALO_OK;
        }
    }
    return starhalo_error_set(STARHALO_ERR_PLAN_INVALID,
                              "part %d expects a message with tag %d from part %d, which sends "
                              "none",
                              p->part, q->x->recv_tag, src->part);
}

static starhalo_status_t setup_part(const hb_options_t *o, const starhalo_decomp_t *decomp,
                                    hb_transport_t *t, mpi_part_t *p, int part, int *max_tag)
{
    const size_t esz = starhalo_dtype_size(o->dtype);
    p->part = part;
    STARHALO_CHECK(starhalo_part_plan_create(decomp, part, &p->plan));
    STARHALO_CHECK(starhalo_part_plan_lower(p->plan, &p->xfer));
    p->plane_size = starhalo_xfer_plan_plane_size(p->xfer);
    p->planes = starhalo_xfer_plan_planes(p->xfer);
    p->tile = calloc((size_t)(p->plane_size * p->planes), esz);
    p->npeers = starhalo_xfer_plan_num_peers(p->xfer);
    p->peers = calloc((size_t)p->npeers + 1, sizeof *p->peers);
    STARHALO_REQUIRE(p->tile && p->peers, STARHALO_ERR_NO_MEMORY,
                     "part %d: cannot allocate its tile", part);
    for (int k = 0; k < p->npeers; k++) {
        mpi_peer_t *q = &p->peers[k];
        q->x = starhalo_xfer_plan_peer(p->xfer, k);
        q->rank = owner_rank(o, q->x->peer);
        q->sendbuf = malloc((size_t)(q->x->send_count * p->planes) * esz + 1);
        if (q->rank != t->rank)
            q->recvbuf = malloc((size_t)(q->x->recv_count * p->planes) * esz + 1);
        STARHALO_REQUIRE(q->sendbuf && (q->rank == t->rank || q->recvbuf), STARHALO_ERR_NO_MEMORY,
                         "part %d: cannot allocate halo buffers", part);
        if (q->x->send_tag > *max_tag)
            *max_tag = q->x->send_tag;
        if (q->x->recv_tag > *max_tag)
            *max_tag = q->x->recv_tag;
        if (q->rank != t->rank) {
            t->nrecv++;
            t->nsend++;
        }
    }
    return STARHALO_OK;
}

static starhalo_status_t mpi_create(const hb_options_t *o, const starhalo_decomp_t *decomp,
                                    MPI_Comm comm, hb_transport_t **out)
{
    *out = NULL;
    hb_transport_t *t = calloc(1, sizeof *t);
    STARHALO_REQUIRE(t, STARHALO_ERR_NO_MEMORY, "cannot allocate the MPI transport");
    t->comm = comm;
    MPI_Comm_rank(comm, &t->rank);
    t->dtype = o->dtype;
    t->mpitype = o->dtype == STARHALO_FLOAT64 ? MPI_DOUBLE : MPI_FLOAT;
    t->nlocal = (int)o->parts_per_rank;
    t->parts = calloc((size_t)t->nlocal, sizeof *t->parts);
    starhalo_status_t st = t->parts ? STARHALO_OK : STARHALO_ERR_NO_MEMORY;
    int max_tag = 0;
    for (int i = 0; st == STARHALO_OK && i < t->nlocal; i++)
        st = setup_part(o, decomp, t, &t->parts[i], hb_first_part(o, t->rank) + i, &max_tag);
    for (int i = 0; st == STARHALO_OK && i < t->nlocal; i++)
        for (int k = 0; st == STARHALO_OK && k < t->parts[i].npeers; k++)
            if (t->parts[i].peers[k].rank == t->rank)
                st = link_local(t, &t->parts[i], &t->parts[i].peers[k]);
    /* Every rank must agree on the tag layout: reduce the largest direction slot. Failures
     * are reduced too, so that no rank is left waiting in a later collective. */
    int mine[2] = {max_tag, st != STARHALO_OK}, all[2];
    MPI_Allreduce(mine, all, 2, MPI_INT, MPI_MAX, comm);
    if (st == STARHALO_OK && all[1])
        st = starhalo_error_set(STARHALO_ERR_MISMATCH, "another rank failed to set up");
    t->tag_slots = all[0] + 1;
    int *tag_ub = NULL, flag = 0;
    MPI_Comm_get_attr(comm, MPI_TAG_UB, &tag_ub, &flag);
    if (st == STARHALO_OK && flag && (int64_t)o->nparts * t->tag_slots > *tag_ub)
        st = starhalo_error_set(STARHALO_ERR_TAGS_EXHAUSTED,
                                "%lld parts x %d direction slots exceed MPI_TAG_UB %d",
                                (long long)o->nparts, t->tag_slots, *tag_ub);
    if (st == STARHALO_OK) {
        t->reqs = calloc((size_t)(t->nrecv + t->nsend) + 1, sizeof *t->reqs);
        if (!t->reqs)
            st = starhalo_error_set(STARHALO_ERR_NO_MEMORY, "cannot allocate MPI requests");
    }
    if (st != STARHALO_OK) {
        mpi_destroy(t);
        return st;
    }
    *out = t;
    return STARHALO_OK;
}

static starhalo_status_t mpi_exchange(hb_transport_t *t)
{
    MPI_Request *rr = t->reqs, *sr = t->reqs + t->nrecv;
    /* Receives first so that eager messages land in place. */
    for (int i = 0; i < t->nlocal; i++) {
        mpi_part_t *p = &t->parts[i];
        for (int k = 0; k < p->npeers; k++) {
            mpi_peer_t *q = &p->peers[k];
            if (q->rank == t->rank)
                continue;
            MPI_Irecv(q->recvbuf, (int)(q->x->recv_count * p->planes), t->mpitype, q->rank,
                      p->part * t->tag_slots + q->x->recv_tag, t->comm, rr++);
        }
    }
    for (int i = 0; i < t->nlocal; i++) {
        mpi_part_t *p = &t->parts[i];
        for (int k = 0; k < p->npeers; k++) {
            mpi_peer_t *q = &p->peers[k];
            starhalo_kern_pack_cpu(t->dtype, p->tile, p->plane_size, p->planes, q->x->send_runs,
                                   q->x->nsend_runs, q->x->send_count, q->sendbuf);
            if (q->rank == t->rank)
                continue;
            MPI_Isend(q->sendbuf, (int)(q->x->send_count * p->planes), t->mpitype, q->rank,
                      q->x->peer * t->tag_slots + q->x->send_tag, t->comm, sr++);
        }
    }
    /* Local copies overlap with the messages in flight. */
    for (int i = 0; i < t->nlocal; i++) {
        mpi_part_t *p = &t->parts[i];
        for (int k = 0; k < p->npeers; k++) {
            mpi_peer_t *q = &p->peers[k];
            if (q->rank == t->rank)
                starhalo_kern_unpack_cpu(t->dtype, q->recvbuf, q->x->recv_count, p->planes,
                                         q->x->recv_runs, q->x->nrecv_runs, p->tile, p->plane_size,
                                         STARHALO_REDUCE_REPLACE);
        }
    }
    int rc = MPI_Waitall(t->nrecv + t->nsend, t->reqs, MPI_STATUSES_IGNORE);
    STARHALO_REQUIRE(rc == MPI_SUCCESS, STARHALO_ERR_MPI, "MPI_Waitall failed (%d)", rc);
    for (int i = 0; i < t->nlocal; i++) {
        mpi_part_t *p = &t->parts[i];
        for (int k = 0; k < p->npeers; k++) {
            mpi_peer_t *q = &p->peers[k];
            if (q->rank != t->rank)
                starhalo_kern_unpack_cpu(t->dtype, q->recvbuf, q->x->recv_count, p->planes,
                                         q->x->recv_runs, q->x->nrecv_runs, p->tile, p->plane_size,
                                         STARHALO_REDUCE_REPLACE);
        }
    }
    return STARHALO_OK;
}

static starhalo_status_t mpi_acquire(hb_transport_t *t, int part, int write, void **ptr)
{
    mpi_part_t *p = local_part(t, part);
    STARHALO_REQUIRE(p, STARHALO_ERR_OUT_OF_RANGE, "part %d is not on rank %d", part, t->rank);
    *ptr = p->tile;
    return STARHALO_OK;
}

static starhalo_status_t mpi_release(hb_transport_t *t, int part)
{
    return STARHALO_OK;
}

const hb_transport_ops_t hb_transport_mpi_ops = {
    .create = mpi_create,
    .exchange = mpi_exchange,
    .acquire = mpi_acquire,
    .release = mpi_release,
    .destroy = mpi_destroy,
};
