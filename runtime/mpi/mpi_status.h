/* SPDX-License-Identifier: MIT */
/**
 * @file mpi_status.h
 * @brief MPI results as starhalo statuses, the library's private communicators, and the one
 * agreement on a status across ranks. StarPU-free; the StarPU runtime may include it.
 *
 * What MPI guarantees after an error: only that the error is reported to the handler of the
 * communicator, window or file the call was on (MPI_ERRORS_ARE_FATAL by default, which aborts
 * every process: that is why the library's duplicated communicators and windows get
 * MPI_ERRORS_RETURN). MPI 3.1 (section 8.3) leaves the state of MPI undefined after an error
 * unless the implementation documents more; MPI 4.0 makes errors local where it can, so that
 * other operations keep working. Open MPI 4.1 returns MPI_ERR_TRUNCATE and argument errors
 * without breaking the communicator; a failed process (network, crash) is not survivable
 * without ULFM. So the library returns the error, keeps its protocol going where it can (see
 * mpi_requests.h and the executor's transports) and never aborts.
 */
#ifndef STARHALO_MPI_STATUS_H
#define STARHALO_MPI_STATUS_H

#include <stdint.h>

#include <mpi.h>

#include <starhalo/starhalo_error.h>

/**
 * STARHALO_ERR_MPI with a message "<what>: <MPI's error string>" (what is printf-formatted,
 * e.g. "MPI_Waitall of the forward messages with rank %d"). Returns STARHALO_ERR_MPI; call it
 * only for rc != MPI_SUCCESS (STARHALO_CHECK_MPI does).
 */
starhalo_status_t starhalo__mpi_error(int rc, const char *what_fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** Evaluate an MPI call; on failure return STARHALO_ERR_MPI from the enclosing function with
 * "<formatted what>: <MPI error string>". */
#define STARHALO_CHECK_MPI(call, ...)                                                              \
    do {                                                                                           \
        const int mpi_rc_ = (call);                                                                \
        if (mpi_rc_ != MPI_SUCCESS)                                                                \
            return starhalo__mpi_error(mpi_rc_, __VA_ARGS__);                                      \
    } while (0)

/** MPI_Comm_dup of @p comm whose error handler is MPI_ERRORS_RETURN: MPI errors on it come
 * back as results. Collective over @p comm. *out is MPI_COMM_NULL on error.
 * @retval STARHALO_ERR_MPI */
starhalo_status_t starhalo__mpi_comm_dup_returning(MPI_Comm comm, MPI_Comm *out);

/**
 * The library's agreement: collective over @p comm, one MPI_Allreduce. Every rank returns
 * the most negative of the ranks' @p local statuses; when all are STARHALO_OK but the ranks
 * passed different @p hash values, STARHALO_ERR_MISMATCH ("ranks passed different <what>").
 * A rank that failed keeps its own message; a rank that was fine gets "another rank failed
 * (<code name>) <what>: rank R: <R's message>", R the lowest rank that failed with the agreed
 * code (one more reduction and a broadcast, on failure only). Pass the same @p hash everywhere
 * (e.g. 0) to agree on the status alone. @p what may be NULL.
 * @retval STARHALO_ERR_MPI the reduction itself failed (not agreed: MPI is broken then)
 */
starhalo_status_t starhalo__agree_status(MPI_Comm comm, starhalo_status_t local, uint64_t hash,
                                         const char *what);

/** The status alone (the name the MPI layer and rt_index_exchange.c use). */
static inline starhalo_status_t starhalo__mpi_agree(MPI_Comm comm, starhalo_status_t local)
{
    return starhalo__agree_status(comm, local, 0, NULL);
}

#endif
