/* SPDX-License-Identifier: MIT */
/**
 * @file mpi_exchange_rma_fence.c
 * @brief RMA_FENCE: MPI_Put of every message between two MPI_Win_fence (reverse SUM with
 * MPI_Accumulate into a zeroed send_buf). After a failed put the closing fence is still
 * called, because it is collective: peers then return instead of waiting in it.
 */
#include <stdlib.h>

#include "mpi_exchange_rma.h"

static starhalo_status_t setup(starhalo_mpi_exchange_t *ex, void **state)
{
    struct mx_rma_window *w = calloc(1, sizeof *w);
    *state = w;
    if (w)
        w->win = MPI_WIN_NULL; /* for teardown after a failure */
    const starhalo_status_t st =
        w ? STARHALO_OK : starhalo_error_set(STARHALO_ERR_NO_MEMORY, "MPI exchange: out of memory");
    STARHALO_CHECK(starhalo__agree_status(ex->comm, st, 0, "transport setup"));
    return starhalo__mx_rma_window_setup(ex, w, 0);
}

static starhalo_status_t fence_move(starhalo_mpi_exchange_t *ex, const struct mx_rma_window *w,
                                    int reverse, int accumulate)
{
    STARHALO_CHECK_MPI(MPI_Win_fence(MPI_MODE_NOPRECEDE, w->win), "rma-fence: MPI_Win_fence");
    int rc = MPI_SUCCESS, failed_entry = -1;
    for (int i = 0; i < ex->nentries && rc == MPI_SUCCESS; i++)
        if (starhalo__mx_out_elems(ex, reverse, i) > 0) {
            rc = starhalo__mx_rma_put(ex, w, reverse, i, accumulate);
            failed_entry = i;
        }
    const int closed = MPI_Win_fence(MPI_MODE_NOSUCCEED, w->win);
    if (rc != MPI_SUCCESS)
        return starhalo__mpi_error(rc, "rma-fence: %s to rank %d",
                                   accumulate ? "MPI_Accumulate" : "MPI_Put",
                                   ex->entry_rank[failed_entry]);
    STARHALO_CHECK_MPI(closed, "rma-fence: closing MPI_Win_fence");
    return STARHALO_OK;
}

static starhalo_status_t update(starhalo_mpi_exchange_t *ex, void *state, void *array, int reverse,
                                starhalo_reduce_op_t op)
{
    const int accumulate = starhalo__mx_rma_prepare_accumulate(ex, reverse, op);
    starhalo__mx_pack(ex, reverse, array);
    STARHALO_CHECK(fence_move(ex, state, reverse, accumulate));
    starhalo__mx_unpack(ex, reverse, array, op);
    return STARHALO_OK;
}

static void teardown(starhalo_mpi_exchange_t *ex, void *state)
{
    (void)ex;
    if (!state)
        return;
    starhalo__mx_rma_window_teardown(state);
    free(state);
}

const struct mx_transport_ops starhalo__mx_rma_fence_ops = {
    .transport = STARHALO_MPI_RMA_FENCE,
    .setup = setup,
    .update = update,
    .teardown = teardown,
};
