/* SPDX-License-Identifier: MIT */
/**
 * @file rt_cnn_internal.h
 * @brief What the CNN layer graphs (rt_cnn*.c) share.
 */
#ifndef STARHALO_RT_CNN_INTERNAL_H
#define STARHALO_RT_CNN_INTERNAL_H

#include <stddef.h>

#include <starhalo/starhalo_cnn.h>
#include <starhalo/starhalo_starpu.h>

#include "codelets_cnn.h"
#include "rt_compute_internal.h"

/** Channels and batch of a structured field (1 when its decomposition has none). */
static inline int64_t starhalo__cnn_channels(const starhalo_field_t *f)
{
    const starhalo_decomp_desc_t *d = starhalo_decomp_desc(starhalo_field_decomp(f));
    return d->channels > 0 ? d->channels : 1;
}

static inline int64_t starhalo__cnn_batch(const starhalo_field_t *f)
{
    const starhalo_decomp_desc_t *d = starhalo_decomp_desc(starhalo_field_decomp(f));
    return d->batch > 0 ? d->batch : 1;
}

/** The error a layer's tasks recorded in @p status (atomically; 0 = none), as a status with
 * a message naming the call @p what. */
static inline starhalo_status_t starhalo__cnn_task_status(const int *status, const char *what)
{
    const int failed = __atomic_load_n(status, __ATOMIC_SEQ_CST);
    if (failed)
        return starhalo_error_set((starhalo_status_t)failed, "%s: an earlier task failed", what);
    return STARHALO_OK;
}

/**
 * out[k] = the sum over all parts of all ranks of bufs[part][k], k < n: this rank's
 * @p nlocal buffers (registered as @p handles; waits for them) added in part order, then the
 * ranks' sums (MPI_Allgather) in rank order, on every rank: the same bits everywhere.
 * Collective. Needs MPI_THREAD_MULTIPLE. It agrees on the ranks' statuses first (one
 * MPI_Allreduce): @p local is the caller's failure so far (STARHALO_OK if none), @p tasks (or
 * NULL) the status word of the tasks that made the sums (read once they have ended); when any
 * rank failed, no sum is done and every rank returns an error (its own, or "rank R failed"),
 * so no rank is left waiting in a later collective. */
starhalo_status_t starhalo__cnn_sum_parts(starhalo_context_t *ctx, const char *what,
                                          starhalo_status_t local, const int *tasks, int nlocal,
                                          const starpu_data_handle_t *handles, double *const *bufs,
                                          size_t n, double *out);

#endif
