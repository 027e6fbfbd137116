/* SPDX-License-Identifier: MIT */
/**
 * @file mpi_status.c
 * @brief MPI results as starhalo statuses, communicators that return MPI errors, and the one
 * agreement on a status (and a fingerprint) across ranks.
 */
#include <stdarg.h>
#include <stdio.h>

#include "mpi_status.h"

starhalo_status_t starhalo__mpi_error(int rc, const char *what_fmt, ...)
{
    char what[256], mpi_msg[MPI_MAX_ERROR_STRING + 1];
    va_list ap;
    va_start(ap, what_fmt);
    vsnprintf(what, sizeof what, what_fmt, ap);
    va_end(ap);
    int len = 0;
    if (MPI_Error_string(rc, mpi_msg, &len) != MPI_SUCCESS)
        snprintf(mpi_msg, sizeof mpi_msg, "MPI error %d", rc);
    return starhalo_error_set(STARHALO_ERR_MPI, "%s: %s", what, mpi_msg);
}

starhalo_status_t starhalo__mpi_comm_dup_returning(MPI_Comm comm, MPI_Comm *out)
{
    *out = MPI_COMM_NULL;
    STARHALO_CHECK_MPI(MPI_Comm_dup(comm, out), "MPI_Comm_dup");
    const int rc = MPI_Comm_set_errhandler(*out, MPI_ERRORS_RETURN);
    if (rc != MPI_SUCCESS) {
        MPI_Comm_free(out);
        return starhalo__mpi_error(rc, "MPI_Comm_set_errhandler(MPI_ERRORS_RETURN)");
    }
    return STARHALO_OK;
}

/* Failure path of the agreement (every rank takes it, since all saw the same agreed status):
 * the lowest rank whose own status is the agreed one broadcasts its message, so a rank that
 * was fine reports what went wrong and where, not only that something did. */
static starhalo_status_t share_failure(MPI_Comm comm, starhalo_status_t local,
                                       starhalo_status_t agreed, const char *what)
{
    int rank = 0, size = 1, first = 0;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    int mine = local == agreed ? rank : size;
    int rc = MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
    char msg[400] = "";
    if (rc == MPI_SUCCESS && first < size) {
        if (rank == first)
            snprintf(msg, sizeof msg, "%s", starhalo_last_error_message());
        rc = MPI_Bcast(msg, (int)sizeof msg, MPI_CHAR, first, comm);
    }
    if (rc != MPI_SUCCESS)
        return starhalo__mpi_error(rc, "MPI agreeing on %s", what ? what : "a status");
    if (local != STARHALO_OK)
        return agreed; /* this rank's own message stays */
    msg[sizeof msg - 1] = '\0';
    return starhalo_error_set(agreed, "another rank failed (%s)%s%s: rank %d: %s",
                              starhalo_err_name(agreed), what ? " checking the " : "",
                              what ? what : "", first, msg);
}

starhalo_status_t starhalo__agree_status(MPI_Comm comm, starhalo_status_t local, uint64_t hash,
                                         const char *what)
{
    /* One reduction with MPI_MAX: the negated status gives the most negative code, max(h)
     * and max(~h) = ~min(h) tell whether every rank passed the same fingerprint. */
    const uint64_t in[3] = {(uint64_t)(-(int64_t)local), hash, ~hash};
    uint64_t all[3];
    const int rc = MPI_Allreduce(in, all, 3, MPI_UINT64_T, MPI_MAX, comm);
    if (rc != MPI_SUCCESS)
        return starhalo__mpi_error(rc, "MPI_Allreduce agreeing on %s", what ? what : "a status");
    const starhalo_status_t agreed = (starhalo_status_t)(-(int64_t)all[0]);
    if (agreed != STARHALO_OK)
        return share_failure(comm, local, agreed, what);
    if (all[1] != hash || ~all[2] != hash)
        return starhalo_error_set(STARHALO_ERR_MISMATCH, "ranks passed different %s",
                                  what ? what : "arguments");
    return STARHALO_OK;
}
