/* SPDX-License-Identifier: MIT */
/**
 * @file rt_cnn_sum.c
 * @brief The deterministic sum of per-part partial sums (weight gradients, batch-norm
 * statistics, global average pool): parts in part order on each rank, then the ranks' sums in
 * rank order on every rank, so every rank gets the same bits.
 */
#include <stdlib.h>

#include "rt_cnn_internal.h"

starhalo_status_t starhalo__cnn_sum_parts(starhalo_context_t *ctx, const char *what,
                                          starhalo_status_t local, const int *tasks, int nlocal,
                                          const starpu_data_handle_t *handles, double *const *bufs,
                                          size_t n, double *out)
{
    int level = 0;
    MPI_Query_thread(&level);
    STARHALO_REQUIRE(level >= MPI_THREAD_MULTIPLE, STARHALO_ERR_UNSUPPORTED,
                     "%s: MPI thread level %d, needs MPI_THREAD_MULTIPLE", what, level);
    const int size = starhalo_context_size(ctx);
    MPI_Comm comm = starhalo_context_comm(ctx);
    starhalo_status_t rc = local;
    double *all = rc == STARHALO_OK ? calloc(n * (size_t)(size + 1), sizeof(double)) : NULL;
    if (rc == STARHALO_OK && !all)
        rc = starhalo_error_set(STARHALO_ERR_NO_MEMORY, "%s: %zu sums", what, n);
    double *mine = all ? all + n * (size_t)size : NULL;
    /* Waiting for the partial sums, then in MPI: an idle worker of this rank must not keep a
     * core that another rank's worker needs (2 ranks on 2 cores: 7 % per step). */
    starhalo_context_host_wait_begin(ctx);
    for (int i = 0; rc == STARHALO_OK && i < nlocal; i++) {
        if (starpu_data_acquire(handles[i], STARPU_R) != 0) {
            rc = starhalo_error_set(STARHALO_ERR_STARPU, "%s: acquiring a partial sum", what);
            break;
        }
        for (size_t k = 0; k < n; k++)
            mine[k] += bufs[i][k];
        starpu_data_release(handles[i]);
    }
    /* The tasks that made the sums have ended: did one fail? */
    if (rc == STARHALO_OK && tasks)
        rc = starhalo__cnn_task_status(tasks, what);
    /* Agree first: a rank that failed (here or before, @p local) still meets the others, and
     * then every rank returns an error instead of waiting in the next collective. */
    int failed = rc != STARHALO_OK ? starhalo_context_rank(ctx) + 1 : 0, first = 0;
    if (MPI_Allreduce(&failed, &first, 1, MPI_INT, MPI_MAX, comm) != MPI_SUCCESS &&
        rc == STARHALO_OK)
        rc = starhalo_error_set(STARHALO_ERR_MPI, "%s: MPI_Allreduce", what);
    if (rc == STARHALO_OK && first > 0)
        rc = starhalo_error_set(STARHALO_ERR_MPI, "%s: rank %d failed", what, first - 1);
    /* Every rank adds the ranks' sums in rank order: identical bits everywhere (an
     * MPI_Allreduce may associate differently on different ranks). */
    if (rc == STARHALO_OK &&
        MPI_Allgather(mine, (int)n, MPI_DOUBLE, all, (int)n, MPI_DOUBLE, comm) != MPI_SUCCESS)
        rc = starhalo_error_set(STARHALO_ERR_MPI, "%s: MPI_Allgather", what);
    starhalo_context_host_wait_end(ctx);
    for (size_t k = 0; rc == STARHALO_OK && k < n; k++) {
        double s = 0.0;
        for (int r = 0; r < size; r++)
            s += all[(size_t)r * n + k];
        out[k] = s;
    }
    free(all);
    return rc;
}
