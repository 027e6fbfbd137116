/* SPDX-License-Identifier: MIT */
/**
 * @file mpi_exchange_messages.c
 * @brief The plain-MPI executor's messages: where each plan entry's message lies in the send
 * and receive buffers, its tags, and packing / unpacking through the kernels. Every transport
 * builds on this file; it calls none of them.
 */
#include <stdlib.h>

#include "mpi_exchange_internal.h"
#include <starhalo/starhalo_kernels.h>

/* Index plans gather scattered single elements: one memcpy call per run costs more than the
 * copy, and walking runs costs twice a flat index gather. So runs averaging fewer than
 * SHORT_RUN elements are expanded once, at create, into element indexes. */
#define SHORT_RUN 4

/* Expanded element indexes of a run list, or NULL (long runs, or no memory: the run kernels
 * then serve it). */
static int64_t *expand_short_runs(const starhalo_run_t *runs, int nruns, int64_t count)
{
    if (nruns == 0 || count >= (int64_t)SHORT_RUN * nruns)
        return NULL;
    int64_t *idx = malloc((size_t)count * sizeof *idx), k = 0;
    for (int r = 0; idx && r < nruns; r++)
        for (int64_t e = 0; e < runs[r].length; e++)
            idx[k++] = runs[r].offset + e;
    return idx;
}

starhalo_status_t starhalo__mx_layout_init(starhalo_mpi_exchange_t *ex, const int *part_rank)
{
    const size_t n = (size_t)ex->nentries + 1;
    ex->entry_rank = calloc(n, sizeof *ex->entry_rank);
    ex->send_offset = calloc(n, sizeof *ex->send_offset);
    ex->recv_offset = calloc(n, sizeof *ex->recv_offset);
    ex->send_index = calloc(n, sizeof *ex->send_index);
    ex->recv_index = calloc(n, sizeof *ex->recv_index);
    STARHALO_REQUIRE(ex->entry_rank && ex->send_offset && ex->recv_offset && ex->send_index &&
                         ex->recv_index,
                     STARHALO_ERR_NO_MEMORY, "MPI exchange: out of memory");
    for (int i = 0; i < ex->nentries; i++) {
        const starhalo_peer_xfer_t *p = starhalo_xfer_plan_peer(ex->plan, i);
        ex->entry_rank[i] = part_rank ? part_rank[p->peer] : p->peer;
        ex->send_offset[i + 1] = ex->send_offset[i] + p->send_count * ex->planes;
        ex->recv_offset[i + 1] = ex->recv_offset[i] + p->recv_count * ex->planes;
        ex->send_index[i] = expand_short_runs(p->send_runs, p->nsend_runs, p->send_count);
        ex->recv_index[i] = expand_short_runs(p->recv_runs, p->nrecv_runs, p->recv_count);
    }
    ex->send_total = ex->send_offset[ex->nentries];
    ex->recv_total = ex->recv_offset[ex->nentries];
    return STARHALO_OK;
}

void starhalo__mx_layout_free(starhalo_mpi_exchange_t *ex)
{
    for (int i = 0; ex->send_index && ex->recv_index && i < ex->nentries; i++) {
        free(ex->send_index[i]);
        free(ex->recv_index[i]);
    }
    free(ex->send_index);
    free(ex->recv_index);
    free(ex->entry_rank);
    free(ex->send_offset);
    free(ex->recv_offset);
}

/* ---- packing --------------------------------------------------------------------------- */

static void pack(const starhalo_mpi_exchange_t *ex, const void *array, const starhalo_run_t *runs,
                 int nruns, const int64_t *index, int64_t count, void *msg)
{
    if (index)
        starhalo_kern_gather_cpu(ex->dtype, array, ex->plane_size, ex->planes, index, count, msg);
    else
        starhalo_kern_pack_cpu(ex->dtype, array, ex->plane_size, ex->planes, runs, nruns, count,
                               msg);
}

static void unpack(const starhalo_mpi_exchange_t *ex, const void *msg, const starhalo_run_t *runs,
                   int nruns, const int64_t *index, int64_t count, void *array,
                   starhalo_reduce_op_t op)
{
    if (index)
        starhalo_kern_scatter_cpu(ex->dtype, msg, count, ex->planes, index, array, ex->plane_size,
                                  op);
    else
        starhalo_kern_unpack_cpu(ex->dtype, msg, count, ex->planes, runs, nruns, array,
                                 ex->plane_size, op);
}

static char *send_segment(const starhalo_mpi_exchange_t *ex, int i)
{
    return ex->send_buf + (size_t)ex->send_offset[i] * ex->elem_size;
}

static char *recv_segment(const starhalo_mpi_exchange_t *ex, int i)
{
    return ex->recv_buf + (size_t)ex->recv_offset[i] * ex->elem_size;
}

/* Forward messages are packed from the send runs into send_buf and unpacked from recv_buf
 * into the recv runs; reverse ones from the recv runs into recv_buf and combined from send_buf
 * into the send runs. */
void starhalo__mx_pack(const starhalo_mpi_exchange_t *ex, int reverse, const void *array)
{
    for (int i = 0; i < ex->nentries; i++) {
        const starhalo_peer_xfer_t *p = starhalo_xfer_plan_peer(ex->plan, i);
        if (reverse ? p->recv_count > 0 : p->send_count > 0)
            pack(ex, array, reverse ? p->recv_runs : p->send_runs,
                 reverse ? p->nrecv_runs : p->nsend_runs,
                 reverse ? ex->recv_index[i] : ex->send_index[i],
                 reverse ? p->recv_count : p->send_count, starhalo__mx_out_buf(ex, reverse, i));
    }
}

void starhalo__mx_unpack(const starhalo_mpi_exchange_t *ex, int reverse, void *array,
                         starhalo_reduce_op_t op)
{
    /* Entries are combined one after another, so an index sent to k peers is combined k times
     * in entry order (deterministic for SUM of floats; REPLACE keeps the last entry's value). */
    for (int i = 0; i < ex->nentries; i++) {
        const starhalo_peer_xfer_t *p = starhalo_xfer_plan_peer(ex->plan, i);
        if (reverse ? p->send_count > 0 : p->recv_count > 0)
            unpack(ex, starhalo__mx_in_buf(ex, reverse, i), reverse ? p->send_runs : p->recv_runs,
                   reverse ? p->nsend_runs : p->nrecv_runs,
                   reverse ? ex->send_index[i] : ex->recv_index[i],
                   reverse ? p->send_count : p->recv_count, array, op);
    }
}

/* ---- one direction's messages ------------------------------------------------------------ */

int64_t starhalo__mx_out_elems(const starhalo_mpi_exchange_t *ex, int reverse, int i)
{
    const starhalo_peer_xfer_t *p = starhalo_xfer_plan_peer(ex->plan, i);
    return (reverse ? p->recv_count : p->send_count) * ex->planes;
}

int64_t starhalo__mx_in_elems(const starhalo_mpi_exchange_t *ex, int reverse, int i)
{
    return starhalo__mx_out_elems(ex, !reverse, i);
}

char *starhalo__mx_out_buf(const starhalo_mpi_exchange_t *ex, int reverse, int i)
{
    return reverse ? recv_segment(ex, i) : send_segment(ex, i);
}

char *starhalo__mx_in_buf(const starhalo_mpi_exchange_t *ex, int reverse, int i)
{
    return starhalo__mx_out_buf(ex, !reverse, i);
}

/* Forward, the owner sends with its send tag and the peer receives with its recv tag (the
 * same number); reverse, the peer sends back with its recv tag + 1. */
int starhalo__mx_out_tag(const starhalo_mpi_exchange_t *ex, int reverse, int i)
{
    const starhalo_peer_xfer_t *p = starhalo_xfer_plan_peer(ex->plan, i);
    return (int)starhalo__mx_message_tag(0, 0, reverse ? p->recv_tag : p->send_tag, reverse);
}

int starhalo__mx_in_tag(const starhalo_mpi_exchange_t *ex, int reverse, int i)
{
    const starhalo_peer_xfer_t *p = starhalo_xfer_plan_peer(ex->plan, i);
    return (int)starhalo__mx_message_tag(0, 0, reverse ? p->send_tag : p->recv_tag, reverse);
}

int starhalo__mx_direction_messages(const starhalo_mpi_exchange_t *ex, int reverse,
                                    mx_message_t *msgs)
{
    const int64_t esz = (int64_t)ex->elem_size;
    int n = 0;
    for (int i = 0; i < ex->nentries; i++)
        for (int is_send = 0; is_send < 2; is_send++) { /* the receive first */
            const int64_t elems = is_send ? starhalo__mx_out_elems(ex, reverse, i)
                                          : starhalo__mx_in_elems(ex, reverse, i);
            if (elems > 0)
                msgs[n++] = (mx_message_t){.peer = ex->entry_rank[i],
                                           .tag = is_send ? starhalo__mx_out_tag(ex, reverse, i)
                                                          : starhalo__mx_in_tag(ex, reverse, i),
                                           .is_send = is_send,
                                           .buf = is_send ? starhalo__mx_out_buf(ex, reverse, i)
                                                          : starhalo__mx_in_buf(ex, reverse, i),
                                           .bytes = elems * esz};
        }
    return n;
}
