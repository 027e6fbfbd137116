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
