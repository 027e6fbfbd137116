/* SPDX-License-Identifier: MIT */
/**
 * @file rt_transport_starpu_mpi.c
 * @brief The StarPU-MPI transport: detached starpu_mpi_irecv / isend on the message buffer
 * handles, so StarPU-MPI's progress thread moves the data and StarPU orders it with the pack
 * and unpack tasks (a buffer written by a pack is sent once the pack is done; an unpack reads
 * a buffer once its receive completed). Per local part one pack task and one unpack task.
 *
 * Forward: irecv(recv buf) ; pack ; isend(send buf) ... unpack. Reverse swaps the buffers.
 */
#include "rt_exchange_internal.h"

/* Post the MPI side: receives first (so early data lands in place), or sends. */
static starhalo_status_t post_transfers(starhalo_exchange_t *ex, int reverse, int send)
{
    const MPI_Comm comm = ex->ctx->comm;
    for (int li = 0; li < ex->nxparts; li++) {
        rt_xpart_t *xp = &ex->xparts[li];
        for (int i = 0; i < xp->nneighbors; i++) {
            rt_neighbor_t *nb = &xp->neighbors[i];
            /* Forward sends and reverse receives use the send buffer, the others the recv
             * one; an empty message has no buffer and is skipped. */
            const starpu_data_handle_t h = send == reverse ? nb->recv_handle : nb->send_handle;
            if (nb->local_index >= 0 || !h)
                continue;
            int ret;
            starhalo__pending_add(&ex->pending, 1);
            if (send)
                ret = starpu_mpi_isend_detached_prio(h, nb->rank, nb->send_tag[reverse],
                                                     STARPU_MAX_PRIO, comm, starhalo__pending_done,
                                                     &ex->pending);
            else
                ret = starpu_mpi_irecv_detached(h, nb->rank, nb->recv_tag[reverse], comm,
                                                starhalo__pending_done, &ex->pending);
            if (ret != 0) {
                starhalo__pending_done(&ex->pending); /* not submitted: not to wait for */
                return starhalo_error_set(STARHALO_ERR_STARPU,
                                          "starpu_mpi_%s to/from rank %d failed (%d)",
                                          send ? "isend" : "irecv", nb->rank, ret);
            }
        }
    }
    return STARHALO_OK;
}

static starhalo_status_t submit_packs(starhalo_exchange_t *ex, int reverse)
{
    for (int li = 0; li < ex->nxparts; li++) {
        rt_xpart_t *xp = &ex->xparts[li];
        const int n = starhalo__layout_pack_descr(ex, xp, reverse);
        STARHALO_CHECK(starhalo__exchange_task(
            ex, &starhalo_cl_pack, xp->descr, n, &xp->pack_args[reverse],
            sizeof(starhalo_cl_xfer_args_t), reverse ? "starhalo_pack_rev" : "starhalo_pack"));
    }
    return STARHALO_OK;
}

static starhalo_status_t submit_unpacks(starhalo_exchange_t *ex, int reverse)
{
    for (int li = 0; li < ex->nxparts; li++) {
        rt_xpart_t *xp = &ex->xparts[li];
        const int n = starhalo__layout_unpack_descr(ex, xp, reverse);
        STARHALO_CHECK(starhalo__exchange_task(
            ex, &starhalo_cl_unpack, xp->descr, n, &xp->unpack_args[reverse][ex->rev_op],
            sizeof(starhalo_cl_xfer_args_t), reverse ? "starhalo_unpack_rev" : "starhalo_unpack"));
    }
    return STARHALO_OK;
}

static starhalo_status_t setup(starhalo_exchange_t *ex)
{
    (void)ex;
    return STARHALO_OK;
}

static starhalo_status_t begin(starhalo_exchange_t *ex, int reverse)
{
    STARHALO_CHECK(post_transfers(ex, reverse, 0));
    STARHALO_CHECK(submit_packs(ex, reverse));
    return post_transfers(ex, reverse, 1);
}

static starhalo_status_t submit(starhalo_exchange_t *ex, int reverse)
{
    STARHALO_CHECK(begin(ex, reverse));
    return submit_unpacks(ex, reverse);
}

static starhalo_status_t run(starhalo_exchange_t *ex, int reverse)
{
    STARHALO_CHECK(submit(ex, reverse));
    starhalo__pending_wait(&ex->pending);
    return STARHALO_OK;
}

/* Detached transfers complete on their own: the wait before the free covers them. */
static void abandon(starhalo_exchange_t *ex)
{
    (void)ex;
}

static void teardown(starhalo_exchange_t *ex)
{
    (void)ex;
}

const rt_transport_ops_t starhalo__transport_starpu_mpi = {
    .name = "starpu",
    .setup = setup,
    .begin = begin,
    .end = submit_unpacks,
    .submit = submit,
    .run = run,
    .abandon = abandon,
    .teardown = teardown,
};
