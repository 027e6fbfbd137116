/* SPDX-License-Identifier: MIT */
/**
 * @file mpi_exchange.c
 * @brief The plain-MPI executor's public API: argument checks agreed on every rank, creation
 * (message layout, then the transport's setup), one indirect call per update into the
 * transport's ops table, and destruction. The transports live one per file
 * (mpi_exchange_internal.h lists them); none calls back into this file.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_exchange_internal.h"

starhalo_status_t starhalo_mpi_transport_parse(const char *name, starhalo_mpi_transport_t *out)
{
    STARHALO_REQUIRE(name && out, STARHALO_ERR_INVALID_ARG, "transport: NULL argument");
    for (int t = 0; t < STARHALO_MPI_NUM_TRANSPORTS; t++)
        if (!strcmp(name, starhalo_mpi_transport_name((starhalo_mpi_transport_t)t))) {
            *out = (starhalo_mpi_transport_t)t;
            return STARHALO_OK;
        }
    return starhalo_error_set(STARHALO_ERR_INVALID_ARG,
                              "unknown transport '%s' (two-sided, persistent, rma-fence, "
                              "rma-lock)",
                              name);
}

const char *starhalo_mpi_transport_name(starhalo_mpi_transport_t transport)
{
    switch (transport) {
    case STARHALO_MPI_TWO_SIDED:
        return "two-sided";
    case STARHALO_MPI_PERSISTENT:
        return "persistent";
    case STARHALO_MPI_RMA_FENCE:
        return "rma-fence";
    case STARHALO_MPI_RMA_LOCK:
        return "rma-lock";
    }
    return "unknown";
}

starhalo_mpi_transport_t starhalo_mpi_exchange_transport(const starhalo_mpi_exchange_t *ex)
{
    return ex ? ex->ops->transport : (starhalo_mpi_transport_t)-1;
}

int64_t starhalo_mpi_exchange_send_bytes(const starhalo_mpi_exchange_t *ex)
{
    return ex ? ex->send_total * (int64_t)ex->elem_size : 0;
}

static const struct mx_transport_ops *transport_ops(starhalo_mpi_transport_t transport)
{
    switch (transport) {
    case STARHALO_MPI_TWO_SIDED:
        return &starhalo__mx_two_sided_ops;
    case STARHALO_MPI_PERSISTENT:
        return &starhalo__mx_persistent_ops;
    case STARHALO_MPI_RMA_FENCE:
        return &starhalo__mx_rma_fence_ops;
    case STARHALO_MPI_RMA_LOCK:
        return &starhalo__mx_rma_lock_ops;
    }
    return NULL;
}

/* Local validation; the caller agrees on the result before anything else collective. */
static starhalo_status_t check_local(MPI_Comm comm, const starhalo_xfer_plan_t *plan,
                                     const int *part_rank, starhalo_dtype_t dtype,
                                     starhalo_mpi_transport_t transport)
{
    int size = 0, *tag_ub = NULL, flag = 0;
    STARHALO_CHECK_MPI(MPI_Comm_size(comm, &size), "MPI exchange: MPI_Comm_size");
    STARHALO_CHECK_MPI(MPI_Comm_get_attr(comm, MPI_TAG_UB, &tag_ub, &flag),
                       "MPI exchange: MPI_Comm_get_attr(MPI_TAG_UB)");
    /* The largest plan tag whose reverse message tag still fits. */
    const int max_tag = flag && tag_ub ? (*tag_ub - 1) / 2 : 16383;
    STARHALO_REQUIRE(plan, STARHALO_ERR_INVALID_ARG, "MPI exchange: NULL plan");
    STARHALO_REQUIRE(dtype == STARHALO_FLOAT32 || dtype == STARHALO_FLOAT64,
                     STARHALO_ERR_INVALID_ARG, "MPI exchange: unknown dtype %d", (int)dtype);
    STARHALO_REQUIRE(transport_ops(transport), STARHALO_ERR_INVALID_ARG,
                     "MPI exchange: unknown transport %d", (int)transport);
    const int64_t planes = starhalo_xfer_plan_planes(plan);
    for (int i = 0; i < starhalo_xfer_plan_num_peers(plan); i++) {
        const starhalo_peer_xfer_t *p = starhalo_xfer_plan_peer(plan, i);
        const int r = part_rank ? part_rank[p->peer] : p->peer;
        STARHALO_REQUIRE(r >= 0 && r < size, STARHALO_ERR_INVALID_ARG,
                         "MPI exchange: plan peer %d maps to rank %d, outside the "
                         "communicator's [0, %d)",
                         p->peer, r, size);
        STARHALO_REQUIRE(p->send_tag >= 0 && p->send_tag <= max_tag && p->recv_tag >= 0 &&
                             p->recv_tag <= max_tag,
                         STARHALO_ERR_TAGS_EXHAUSTED,
                         "MPI exchange: peer entry %d has tags %d/%d beyond %d", i, p->send_tag,
                         p->recv_tag, max_tag);
        STARHALO_REQUIRE(p->send_count * planes <= INT_MAX && p->recv_count * planes <= INT_MAX,
                         STARHALO_ERR_UNSUPPORTED,
                         "MPI exchange: a message to peer %d exceeds INT_MAX elements", p->peer);
    }
    return STARHALO_OK;
}

/* The argument checks and the private communicator, agreed on every rank: the same status
 * everywhere, STARHALO_ERR_MISMATCH if the transports differ. */
static starhalo_status_t agree_arguments(MPI_Comm comm, const starhalo_xfer_plan_t *plan,
                                         const int *part_rank, starhalo_dtype_t dtype,
                                         starhalo_mpi_transport_t transport, MPI_Comm *dup)
{
    starhalo_status_t st = check_local(comm, plan, part_rank, dtype, transport);
    const starhalo_status_t dup_st = starhalo__mpi_comm_dup_returning(comm, dup);
    if (st == STARHALO_OK)
        st = dup_st;
    /* On the duplicate, so MPI errors come back; on comm only where the duplicate failed. */
    char what[96];
    snprintf(what, sizeof what, "transports (this rank: %s)",
             starhalo_mpi_transport_name(transport));
    st = starhalo__agree_status(*dup != MPI_COMM_NULL ? *dup : comm, st, (uint64_t)transport, what);
    if (st != STARHALO_OK && *dup != MPI_COMM_NULL)
        MPI_Comm_free(dup);
    return st;
}

starhalo_status_t starhalo_mpi_exchange_create(MPI_Comm comm, const starhalo_xfer_plan_t *plan,
                                               const int *part_rank, starhalo_dtype_t dtype,
                                               starhalo_mpi_transport_t transport,
                                               starhalo_mpi_exchange_t **out)
{
    STARHALO_REQUIRE(out, STARHALO_ERR_INVALID_ARG, "MPI exchange: NULL output pointer");
    *out = NULL;
    STARHALO_REQUIRE(comm != MPI_COMM_NULL, STARHALO_ERR_INVALID_ARG,
                     "MPI exchange: comm is MPI_COMM_NULL");
    MPI_Comm dup = MPI_COMM_NULL;
    STARHALO_CHECK(agree_arguments(comm, plan, part_rank, dtype, transport, &dup));

    starhalo_mpi_exchange_t *ex = calloc(1, sizeof *ex);
    starhalo_status_t st = STARHALO_ERR_NO_MEMORY;
    if (ex) {
        ex->comm = dup;
        ex->ops = transport_ops(transport);
        ex->plan = plan;
        ex->dtype = dtype;
        ex->elem_type = dtype == STARHALO_FLOAT32 ? MPI_FLOAT : MPI_DOUBLE;
        ex->elem_size = starhalo_dtype_size(dtype);
        ex->nentries = starhalo_xfer_plan_num_peers(plan);
        ex->planes = starhalo_xfer_plan_planes(plan);
        ex->plane_size = starhalo_xfer_plan_plane_size(plan);
        const int rc = MPI_Comm_rank(dup, &ex->rank);
        st = rc == MPI_SUCCESS ? starhalo__mx_layout_init(ex, part_rank)
                               : starhalo__mpi_error(rc, "MPI exchange: MPI_Comm_rank");
    } else {
        starhalo_error_set(st, "MPI exchange: out of memory");
    }
    st = starhalo__agree_status(dup, st, 0, "executor layout");
    if (st == STARHALO_OK)
        st = ex->ops->setup(ex, &ex->transport_state); /* agreed by the transport */
    if (st != STARHALO_OK) {
        if (ex)
            starhalo_mpi_exchange_destroy(ex); /* collective, as setup was */
        else
            MPI_Comm_free(&dup);
        return st;
    }
    *out = ex;
    return STARHALO_OK;
}

starhalo_status_t starhalo_mpi_exchange_update(starhalo_mpi_exchange_t *ex, void *array)
{
    STARHALO_REQUIRE(ex && (array || ex->plane_size * ex->planes == 0), STARHALO_ERR_INVALID_ARG,
                     "MPI exchange update: NULL argument");
    return ex->ops->update(ex, ex->transport_state, array, 0, STARHALO_REDUCE_REPLACE);
}

starhalo_status_t starhalo_mpi_exchange_update_by_halo(starhalo_mpi_exchange_t *ex, void *array,
                                                       starhalo_reduce_op_t op)
{
    STARHALO_REQUIRE(ex && (array || ex->plane_size * ex->planes == 0), STARHALO_ERR_INVALID_ARG,
                     "MPI exchange update_by_halo: NULL argument");
    STARHALO_REQUIRE(op >= STARHALO_REDUCE_REPLACE && op <= STARHALO_REDUCE_MIN,
                     STARHALO_ERR_INVALID_ARG, "MPI exchange update_by_halo: unknown op %d",
                     (int)op);
    return ex->ops->update(ex, ex->transport_state, array, 1, op);
}

void starhalo_mpi_exchange_destroy(starhalo_mpi_exchange_t *ex)
{
    if (!ex)
        return;
    ex->ops->teardown(ex, ex->transport_state);
    if (ex->comm != MPI_COMM_NULL)
        MPI_Comm_free(&ex->comm);
    starhalo__mx_layout_free(ex);
    free(ex);
}
