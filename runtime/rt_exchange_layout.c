/* SPDX-License-Identifier: MIT */
/**
 * @file rt_exchange_layout.c
 * @brief The layout of an exchange, the same for every transport: per local part and
 * neighbour one send buffer and one receive buffer (vector handles) holding every field's
 * planes, so one message per neighbour per exchange, plus tags and codelet arguments.
 *
 * Forward: pack (send runs -> send buffers) ... unpack (recv buffers -> ghost runs). A
 * neighbour on the same rank exchanges no MPI message: the receiver's unpack reads the
 * sender's send buffer directly. Reverse swaps the roles: pack the ghost runs into the recv
 * buffers, send them back, the owner unpacks into its send runs with SUM/MAX/MIN.
 *
 * Tags: one range of 2 * 27 * nparts tags is booked at create; the message of part q's
 * direction slot s uses base + 2 * (27 q + s) forward and + 1 reverse, on every call.
 */
#include <stdlib.h>
#include <string.h>

#include "mpi_requests.h"
#include "rt_exchange_internal.h"

static starhalo_status_t register_buffer(void **buf, starpu_data_handle_t *h, int64_t n, size_t esz)
{
    *buf = malloc((size_t)n * esz);
    STARHALO_REQUIRE(*buf, STARHALO_ERR_NO_MEMORY, "no memory for a %lld-element message buffer",
                     (long long)n);
    starpu_vector_data_register(h, STARPU_MAIN_RAM, (uintptr_t)*buf, (uint32_t)n, esz);
    return STARHALO_OK;
}

static starhalo_cl_xfer_args_t xfer_args(const starhalo_exchange_t *ex, int64_t plane_size,
                                         int nmsgs, const starhalo_cl_msg_t *msgs,
                                         starhalo_reduce_op_t op)
{
    return (starhalo_cl_xfer_args_t){ex->dtype, ex->nfields, ex->planes, plane_size,
                                     nmsgs,     msgs,        op};
}

/* The library's one tag scheme (mpi_requests.h) over this exchange's booked tags. */
_Static_assert(STARHALO__SLOTS == STARHALO_MX_SLOTS_PER_PART, "one slot count for both layers");

static int64_t message_tag(const starhalo_exchange_t *ex, int part, int slot, int reverse)
{
    return starhalo__mx_message_tag(ex->tag_base, part, slot, reverse);
}

static starhalo_status_t add_neighbor(starhalo_exchange_t *ex, rt_xpart_t *xp, int i, int me)
{
    const starhalo_field_t *f0 = ex->fields[0];
    const size_t esz = starhalo_dtype_size(ex->dtype);
    rt_neighbor_t *nb = &xp->neighbors[i];
    const starhalo_peer_xfer_t *x = starhalo_xfer_plan_peer(xp->plan, i);
    nb->xfer = x;
    STARHALO_REQUIRE(x->peer >= 0 && x->peer < f0->nparts && x->send_tag >= 0 &&
                         x->send_tag < STARHALO__SLOTS && x->recv_tag >= 0 &&
                         x->recv_tag < STARHALO__SLOTS && x->send_count >= 0 && x->recv_count >= 0,
                     STARHALO_ERR_PLAN_INVALID,
                     "part %d neighbour %d: peer %d, tags %d/%d, counts %lld/%lld", me, i, x->peer,
                     x->send_tag, x->recv_tag, (long long)x->send_count, (long long)x->recv_count);
    nb->rank = f0->part_rank[x->peer];
    nb->local_index = f0->local_of[x->peer];
    nb->mirror = -1;
    for (int d = RT_FORWARD; d <= RT_REVERSE; d++) {
        /* Forward: I send on my slot and receive on the sender's; reverse answers each. */
        const int64_t mine = message_tag(ex, me, x->send_tag, d == RT_REVERSE);
        const int64_t theirs = message_tag(ex, x->peer, x->recv_tag, d == RT_REVERSE);
        nb->send_tag[d] = d == RT_FORWARD ? mine : theirs;
        nb->recv_tag[d] = d == RT_FORWARD ? theirs : mine;
    }
    if (x->send_count > 0) {
        xp->send_neighbor[xp->nsend] = i;
        xp->send_msgs[xp->nsend++] =
            (starhalo_cl_msg_t){x->send_runs, x->nsend_runs, x->send_count};
        STARHALO_CHECK(
            register_buffer(&nb->sendbuf, &nb->send_handle, x->send_count * ex->msg_planes, esz));
    }
    if (x->recv_count > 0) {
        xp->recv_neighbor[xp->nrecv] = i;
        xp->recv_msgs[xp->nrecv++] =
            (starhalo_cl_msg_t){x->recv_runs, x->nrecv_runs, x->recv_count};
        STARHALO_CHECK(
            register_buffer(&nb->recvbuf, &nb->recv_handle, x->recv_count * ex->msg_planes, esz));
    }
    return STARHALO_OK;
}

/* Lower one local part and allocate its buffers. */
static starhalo_status_t build_xpart(starhalo_exchange_t *ex, int li, rt_xpart_t *xp,
                                     starhalo__exchange_lower_fn lower)
{
    const rt_part_t *rp = &ex->fields[0]->parts[li];
    xp->tiles = malloc(sizeof(rt_part_t *) * (size_t)ex->nfields);
    STARHALO_REQUIRE(xp->tiles, STARHALO_ERR_NO_MEMORY, "exchange_create: no memory");
    for (int f = 0; f < ex->nfields; f++)
        xp->tiles[f] = &ex->fields[f]->parts[li];
    STARHALO_CHECK(lower(ex, li, &xp->plan));
    xp->nneighbors = starhalo_xfer_plan_num_peers(xp->plan);
    const size_t np = (size_t)(xp->nneighbors ? xp->nneighbors : 1);
    xp->neighbors = calloc(np, sizeof(rt_neighbor_t));
    xp->send_msgs = calloc(np, sizeof(starhalo_cl_msg_t));
    xp->recv_msgs = calloc(np, sizeof(starhalo_cl_msg_t));
    xp->send_neighbor = calloc(np, sizeof(int));
    xp->recv_neighbor = calloc(np, sizeof(int));
    xp->descr = calloc(np + (size_t)ex->nfields + 2, sizeof(struct starpu_data_descr));
    STARHALO_REQUIRE(xp->neighbors && xp->send_msgs && xp->recv_msgs && xp->send_neighbor &&
                         xp->recv_neighbor && xp->descr,
                     STARHALO_ERR_NO_MEMORY, "exchange_create: no memory");
    for (int i = 0; i < xp->nneighbors; i++)
        STARHALO_CHECK(add_neighbor(ex, xp, i, rp->part));
    const starhalo_reduce_op_t replace = STARHALO_REDUCE_REPLACE;
    /* Forward packs the send runs and unpacks the recv runs; reverse the other way round. */
    xp->pack_args[RT_FORWARD] = xfer_args(ex, rp->plane_size, xp->nsend, xp->send_msgs, replace);
    xp->pack_args[RT_REVERSE] = xfer_args(ex, rp->plane_size, xp->nrecv, xp->recv_msgs, replace);
    for (int op = 0; op < NOPS; op++) {
        xp->unpack_args[RT_FORWARD][op] =
            xfer_args(ex, rp->plane_size, xp->nrecv, xp->recv_msgs, replace);
        xp->unpack_args[RT_REVERSE][op] =
            xfer_args(ex, rp->plane_size, xp->nsend, xp->send_msgs, (starhalo_reduce_op_t)op);
    }
    return STARHALO_OK;
}

/* For a neighbour on this rank, find its entry that sends what we receive. */
static starhalo_status_t match_local(starhalo_exchange_t *ex)
{
    for (int li = 0; li < ex->nxparts; li++) {
        rt_xpart_t *xp = &ex->xparts[li];
        const int me = ex->fields[0]->parts[li].part;
        for (int i = 0; i < xp->nneighbors; i++) {
            rt_neighbor_t *nb = &xp->neighbors[i];
            if (nb->local_index < 0)
                continue;
            const rt_xpart_t *other = &ex->xparts[nb->local_index];
            for (int j = 0; j < other->nneighbors; j++) {
                const starhalo_peer_xfer_t *y = other->neighbors[j].xfer;
                if (y->peer == me && y->send_tag == nb->xfer->recv_tag &&
                    y->recv_tag == nb->xfer->send_tag && y->send_count == nb->xfer->recv_count &&
                    y->recv_count == nb->xfer->send_count)
                    nb->mirror = j;
            }
            STARHALO_REQUIRE(nb->mirror >= 0, STARHALO_ERR_PLAN_INVALID,
                             "part %d receives slot %d from part %d, which sends no matching "
                             "message",
                             me, nb->xfer->recv_tag, nb->xfer->peer);
        }
    }
    return STARHALO_OK;
}

/* Structured exchanges lower their part plans; index exchanges pass their own lowering. */
static starhalo_status_t lower_part_plan(const starhalo_exchange_t *ex, int li,
                                         starhalo_xfer_plan_t **out)
{
    return starhalo_part_plan_lower(ex->fields[0]->parts[li].plan, out);
}

starhalo_status_t starhalo__layout_build(starhalo_exchange_t *ex, starhalo__exchange_lower_fn lower)
{
    ex->nxparts = ex->fields[0]->nlocal;
    ex->xparts = calloc((size_t)(ex->nxparts ? ex->nxparts : 1), sizeof(rt_xpart_t));
    STARHALO_REQUIRE(ex->xparts, STARHALO_ERR_NO_MEMORY, "exchange_create: no memory");
    for (int li = 0; li < ex->nxparts; li++)
        STARHALO_CHECK(build_xpart(ex, li, &ex->xparts[li], lower ? lower : lower_part_plan));
    return match_local(ex);
}

void starhalo__layout_free(starhalo_exchange_t *ex)
{
    for (int li = 0; ex->xparts && li < ex->nxparts; li++) {
        rt_xpart_t *xp = &ex->xparts[li];
        for (int i = 0; xp->neighbors && i < xp->nneighbors; i++) {
            rt_neighbor_t *nb = &xp->neighbors[i];
            if (nb->send_handle)
                starpu_data_unregister(nb->send_handle);
            if (nb->recv_handle)
                starpu_data_unregister(nb->recv_handle);
            free(nb->sendbuf);
            free(nb->recvbuf);
        }
        starhalo_xfer_plan_destroy(xp->plan);
        free(xp->neighbors);
        free(xp->send_msgs);
        free(xp->recv_msgs);
        free(xp->send_neighbor);
        free(xp->recv_neighbor);
        free(xp->descr);
        free(xp->tiles);
    }
    free(ex->xparts);
    ex->xparts = NULL;
}

int64_t starhalo__layout_message_bytes(const starhalo_exchange_t *ex, const rt_neighbor_t *nb,
                                       int send)
{
    const int64_t count = send ? nb->xfer->send_count : nb->xfer->recv_count;
    return count * ex->msg_planes * (int64_t)starhalo_dtype_size(ex->dtype);
}

/* The k-th message a pack (@p unpack 0) or unpack of @p xp works on: forward packs and
 * reverse unpacks use the send side, the others the receive side. */
static const rt_neighbor_t *message_neighbor(const rt_xpart_t *xp, int reverse, int unpack, int k)
{
    const int send_side = reverse == unpack;
    return &xp->neighbors[send_side ? xp->send_neighbor[k] : xp->recv_neighbor[k]];
}

static int message_count(const rt_xpart_t *xp, int reverse, int unpack)
{
    return reverse == unpack ? xp->nsend : xp->nrecv;
}

/* The buffer a message lives in, and its handle: the part's own one, except that an unpack
 * from a local neighbour reads the neighbour's outgoing buffer. */
static void message_buffer(const starhalo_exchange_t *ex, const rt_xpart_t *xp, int reverse,
                           int unpack, int k, void **ptr, starpu_data_handle_t *handle)
{
    const rt_neighbor_t *nb = message_neighbor(xp, reverse, unpack, k);
    const int send_side = reverse == unpack;
    if (unpack && nb->local_index >= 0) {
        const rt_neighbor_t *m = &ex->xparts[nb->local_index].neighbors[nb->mirror];
        *ptr = reverse ? m->recvbuf : m->sendbuf;
        *handle = reverse ? m->recv_handle : m->send_handle;
    } else {
        *ptr = send_side ? nb->sendbuf : nb->recvbuf;
        *handle = send_side ? nb->send_handle : nb->recv_handle;
    }
}

int starhalo__layout_pack_descr(const starhalo_exchange_t *ex, rt_xpart_t *xp, int reverse)
{
    int n = 0;
    for (int f = 0; f < ex->nfields; f++)
        xp->descr[n++] = (struct starpu_data_descr){xp->tiles[f]->handle, STARPU_R};
    for (int k = 0; k < message_count(xp, reverse, 0); k++) {
        void *ptr;
        starpu_data_handle_t h;
        message_buffer(ex, xp, reverse, 0, k, &ptr, &h);
        xp->descr[n++] = (struct starpu_data_descr){h, STARPU_W};
    }
    return n;
}

int starhalo__layout_unpack_descr(const starhalo_exchange_t *ex, rt_xpart_t *xp, int reverse)
{
    int n = 0;
    for (int k = 0; k < message_count(xp, reverse, 1); k++) {
        void *ptr;
        starpu_data_handle_t h;
        message_buffer(ex, xp, reverse, 1, k, &ptr, &h);
        xp->descr[n++] = (struct starpu_data_descr){h, STARPU_R};
    }
    for (int f = 0; f < ex->nfields; f++)
        xp->descr[n++] = (struct starpu_data_descr){xp->tiles[f]->handle, STARPU_RW};
    return n;
}

void starhalo__layout_message_ptrs(const starhalo_exchange_t *ex, const rt_xpart_t *xp, int reverse,
                                   int unpack, void **ptrs)
{
    for (int k = 0; k < message_count(xp, reverse, unpack); k++) {
        starpu_data_handle_t h;
        message_buffer(ex, xp, reverse, unpack, k, &ptrs[k], &h);
    }
}

void starhalo__layout_tile_ptrs(const starhalo_exchange_t *ex, const rt_xpart_t *xp, void **ptrs)
{
    for (int f = 0; f < ex->nfields; f++)
        ptrs[f] = xp->tiles[f]->data;
}
