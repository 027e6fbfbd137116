/* SPDX-License-Identifier: MIT */
/**
 * @file rt_cnn_sum.c
 * @brief The deterministic sum of per-part partial sums (weight gradients, batch-norm
 * statistics, global average pool): parts in part order on each rank, then the ranks' sums in
 * rank order on every rank, so every rank gets the same bits.
 */
#include <stdlib.h>

#include "rt_cnn_internal.h"

starhalo_status_t starhalo__cnn_sum_parts(starhalo_context_t *ctx, const char *what, int nlocal,
                                          const starpu_data_handle_t *handles, double *const *bufs,
                                          size_t n, double *out)
{
    int level = 0;
    MPI_Query_thread(&level);
    STARHALO_REQUIRE(level >= MPI_THREAD_MULTIPLE, STARHALO_ERR_UNSUPPORTED,
                     "%s: MPI thread level %d, needs MPI_THREAD_MULTIPLE", what, level);
    const int size = starhalo_context_size(ctx);
    double *all = calloc(n * (size_t)(size + 1), sizeof(double));
    if (!all)
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "%s: %zu sums", what, n);
    double *mine = all + n * (size_t)size;
    starhalo_status_t rc = STARHALO_OK;
    /* Waiting for the partial sums, then in MPI_Allgather: an idle worker of this rank must
     * not keep a core that another rank's worker needs (2 ranks on 2 cores: 7 % per step). */
    starhalo_context_host_wait_begin(ctx);
    for (int i = 0; i < nlocal; i++) {
        if (starpu_data_acquire(handles[i], STARPU_R) != 0) {
            rc = starhalo_error_set(STARHALO_ERR_STARPU, "%s: acquiring a partial sum", what);
            continue;
        }
        for (size_t k = 0; k < n; k++)
            mine[k] += bufs[i][k];
        starpu_data_release(handles[i]);
    }
    /* Every rank adds the ranks' sums in rank order: identical bits everywhere (an
     * MPI_Allreduce may associate differently on different ranks). */
    if (MPI_Allgather(mine, (int)n, MPI_DOUBLE, all, (int)n, MPI_DOUBLE,
                      starhalo_context_comm(ctx)) != MPI_SUCCESS &&
        rc == STARHALO_OK)
        rc = starhalo_error_set(STARHALO_ERR_MPI, "%s: MPI_Allgather", what);
    starhalo_context_host_wait_end(ctx);
    for (size_t k = 0; k < n; k++) {
        double s = 0.0;
        for (int r = 0; r < size; r++)
            s += all[(size_t)r * n + k];
        out[k] = s;
    }
    free(all);
    return rc;
}
