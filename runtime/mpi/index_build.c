/* SPDX-License-Identifier: MIT */
/**
 * @file index_build.c
 * @brief Collective build of an index halo plan: agree on the inputs, then one MPI_Alltoall
 * of counts and one MPI_Alltoallv of the requested global indexes.
 *
 * Input errors are agreed with a single MPI_Allreduce BEFORE any other communication, so a
 * bad index or a different distribution on one rank returns the same status on every rank
 * and nobody waits in an all-to-all the others never enter.
 */
#include <starhalo/starhalo_mpi_exchange.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "mpi_status.h"

/* Slots of the agreement vector (reduced with MPI_MAX). Negated copies give the minimum. */
enum {
    AG_INVALID,  /* some rank passed a NULL / bad argument */
    AG_MISMATCH, /* some rank's distribution rank count != comm size */
    AG_OOR,      /* some rank required an out-of-range index */
    AG_OOR_RANK, /* size - rank of the first such rank (max -> smallest rank) */
    AG_NOMEM,
    AG_HASH_HI,
    AG_HASH_HI_NEG,
    AG_HASH_LO,
    AG_HASH_LO_NEG,
    AG_COUNT
};

starhalo_status_t starhalo_index_plan_create_mpi(MPI_Comm comm, const starhalo_distribution_t *dist,
                                                 const int64_t *required, int64_t nrequired,
                                                 starhalo_index_plan_t **out)
{
    int rank = 0, size = 1;
    STARHALO_REQUIRE(comm != MPI_COMM_NULL, STARHALO_ERR_INVALID_ARG,
                     "index plan: comm is MPI_COMM_NULL");
    STARHALO_CHECK_MPI(MPI_Comm_rank(comm, &rank), "index plan: MPI_Comm_rank");
    STARHALO_CHECK_MPI(MPI_Comm_size(comm, &size), "index plan: MPI_Comm_size");
    if (out)
        *out = NULL;

    int64_t ag[AG_COUNT] = {0};
    starhalo_index_plan_t *plan = NULL;
    starhalo_status_t st = STARHALO_OK;
    if (!out || !dist || nrequired < 0 || (!required && nrequired > 0)) {
        ag[AG_INVALID] = 1;
    } else if (starhalo_distribution_num_ranks(dist) != size) {
        ag[AG_MISMATCH] = 1;
    } else {
        const uint64_t h = starhalo_distribution_hash(dist);
        ag[AG_HASH_HI] = (int64_t)(h >> 32);
        ag[AG_HASH_LO] = (int64_t)(h & 0xffffffffu);
        st = starhalo_index_plan_begin(dist, rank, required, nrequired, &plan);
        if (st == STARHALO_ERR_OUT_OF_RANGE) {
            ag[AG_OOR] = 1;
            ag[AG_OOR_RANK] = size - rank;
        } else if (st != STARHALO_OK) {
            ag[st == STARHALO_ERR_NO_MEMORY ? AG_NOMEM : AG_INVALID] = 1;
        }
    }
    char detail[256];
    snprintf(detail, sizeof detail, "%s", starhalo_last_error_message());
    ag[AG_HASH_HI_NEG] = -ag[AG_HASH_HI];
    ag[AG_HASH_LO_NEG] = -ag[AG_HASH_LO];
    int64_t all[AG_COUNT];
    const int reduced = MPI_Allreduce(ag, all, AG_COUNT, MPI_INT64_T, MPI_MAX, comm);
    if (reduced != MPI_SUCCESS) {
        starhalo_index_plan_destroy(plan);
        return starhalo__mpi_error(reduced, "index plan: MPI_Allreduce of the inputs");
    }
    const int hash_differs =
        all[AG_HASH_HI] != -all[AG_HASH_HI_NEG] || all[AG_HASH_LO] != -all[AG_HASH_LO_NEG];
    st = STARHALO_OK;
    if (all[AG_INVALID])
        st = starhalo_error_set(STARHALO_ERR_INVALID_ARG,
                                "index plan: a rank passed a NULL or negative-size argument "
                                "(%s)",
                                ag[AG_INVALID] ? "this rank did" : "not this rank");
    else if (all[AG_MISMATCH])
        st = starhalo_error_set(STARHALO_ERR_MISMATCH,
                                "index plan: a rank's distribution is over a different number "
                                "of ranks than the communicator's %d",
                                size);
    else if (hash_differs)
        st = starhalo_error_set(STARHALO_ERR_MISMATCH,
                                "index plan: ranks passed different distributions (kind, "
                                "global size or owners differ; this rank: %s of %lld indexes)",
                                starhalo_dist_kind_name(starhalo_distribution_kind(dist)),
                                (long long)starhalo_distribution_global_size(dist));
    else if (all[AG_OOR])
        st = starhalo_error_set(STARHALO_ERR_OUT_OF_RANGE,
                                "index plan: rank %lld required an index outside [0, %lld)%s%s",
                                (long long)(size - all[AG_OOR_RANK]),
                                (long long)starhalo_distribution_global_size(dist),
                                ag[AG_OOR] ? ": " : "", ag[AG_OOR] ? detail : "");
    else if (all[AG_NOMEM])
        st = starhalo_error_set(STARHALO_ERR_NO_MEMORY, "index plan: a rank ran out of memory");
    if (st != STARHALO_OK) {
        starhalo_index_plan_destroy(plan);
        return st;
    }

    /* Tell each owner how many indexes we request, then which. */
    const int64_t *hcounts = starhalo_index_plan_halo_counts(plan);
    const int64_t *hoff = starhalo_index_plan_halo_offsets(plan);
    int64_t *rcounts = malloc((size_t)size * sizeof *rcounts);
    int *sc = malloc((size_t)size * sizeof *sc), *sd = malloc((size_t)size * sizeof *sd);
    int *rc = malloc((size_t)size * sizeof *rc), *rd = malloc((size_t)size * sizeof *rd);
    int64_t *asked = NULL;
    /* Every collective is entered by every rank or by none: agree before each. */
    st = starhalo__mpi_agree(
        comm, rcounts && sc && sd && rc && rd
                  ? STARHALO_OK
                  : starhalo_error_set(STARHALO_ERR_NO_MEMORY, "index plan: out of memory"));
    const int entered = st == STARHALO_OK; /* the same on every rank */
    if (entered) {
        const int mpi_rc = MPI_Alltoall(hcounts, 1, MPI_INT64_T, rcounts, 1, MPI_INT64_T, comm);
        st = mpi_rc == MPI_SUCCESS
                 ? STARHALO_OK
                 : starhalo__mpi_error(mpi_rc, "index plan: MPI_Alltoall of the counts");
    }
    int64_t rtotal = 0;
    for (int r = 0; st == STARHALO_OK && r < size; r++) {
        if (hoff[r] > INT_MAX || hoff[r + 1] > INT_MAX || rtotal + rcounts[r] > INT_MAX)
            st = starhalo_error_set(STARHALO_ERR_UNSUPPORTED,
                                    "index plan: more than INT_MAX indexes to exchange");
        sc[r] = (int)hcounts[r];
        sd[r] = (int)hoff[r];
        rc[r] = (int)rcounts[r];
        rd[r] = (int)rtotal;
        rtotal += rcounts[r];
    }
    if (st == STARHALO_OK && !(asked = malloc((size_t)(rtotal > 0 ? rtotal : 1) * sizeof *asked)))
        st = starhalo_error_set(STARHALO_ERR_NO_MEMORY, "index plan: out of memory");
    /* A failed all-to-all of the counts or the preparation: agreed before the next one. */
    if (entered)
        st = starhalo__mpi_agree(comm, st);
    if (st == STARHALO_OK) {
        const int mpi_rc = MPI_Alltoallv(starhalo_index_plan_halo_globals(plan), sc, sd,
                                         MPI_INT64_T, asked, rc, rd, MPI_INT64_T, comm);
        if (mpi_rc != MPI_SUCCESS)
            st = starhalo__mpi_error(mpi_rc, "index plan: MPI_Alltoallv of the indexes");
    }
    if (st == STARHALO_OK)
        st = starhalo__mpi_agree(comm, starhalo_index_plan_finish(plan, rcounts, asked));
    free(rcounts);
    free(sc);
    free(sd);
    free(rc);
    free(rd);
    free(asked);
    if (st != STARHALO_OK) {
        starhalo_index_plan_destroy(plan);
        return st;
    }
    *out = plan;
    return STARHALO_OK;
}
