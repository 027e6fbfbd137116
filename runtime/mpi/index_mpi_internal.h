/* SPDX-License-Identifier: MIT */
/**
 * @file index_mpi_internal.h
 * @brief Private state of the plain-MPI executor (mpi_exchange*.c) and helpers shared with the
 * collective index-plan build (index_build.c). StarPU-free.
 */
#ifndef STARHALO_INDEX_MPI_INTERNAL_H
#define STARHALO_INDEX_MPI_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include <mpi.h>

#include <starhalo/starhalo_mpi_exchange.h>

/** MPI_Allreduce(MIN) of a status: every rank returns the most negative code. */
starhalo_status_t starhalo__mpi_agree(MPI_Comm comm, starhalo_status_t local);

/** Counter window slots of the RMA_LOCK transport (int64 each). */
enum { STARHALO__CTR_FWD_ARRIVED = 0, STARHALO__CTR_REV_ARRIVED = 1, STARHALO__CTR_CREDITS = 2 };

struct starhalo_mpi_exchange {
    MPI_Comm comm; /* private duplicate: nothing else matches our tags */
    int rank;
    starhalo_mpi_transport_t transport;
    const starhalo_xfer_plan_t *plan;
    starhalo_dtype_t dtype;
    MPI_Datatype mtype;
    size_t esz;
    int npeers;
    int *peer_rank; /* rank of each plan peer entry */
    int64_t planes, plane_size;
    int64_t *soff, *roff; /* element offsets of each entry's message in sbuf / rbuf */
    int64_t stotal, rtotal;
    int64_t **sidx, **ridx;   /* per entry: expanded element indexes of short send / recv runs */
    char *sbuf, *rbuf;        /* packed messages; inside the window for RMA transports */
    char *heap;               /* malloc'ed buffers of the two-sided transports */
    MPI_Request *reqs;        /* two-sided: scratch, 2 * npeers */
    MPI_Request *pfwd, *prev; /* persistent requests of each direction */
    int npfwd, nprev;
    /* RMA */
    MPI_Win win;       /* [rbuf | sbuf] of every rank, disp unit esz */
    int64_t *fwd_disp; /* per entry: where my forward message lands at the peer */
    int64_t *rev_disp; /* per entry: where my reverse message lands at the peer */
    MPI_Win cwin;      /* RMA_LOCK counters */
    int64_t *ctr;
    int *fwd_credit_slot; /* per entry: the peer's slot I credit when I can receive forward */
    int *rev_credit_slot; /* per entry: the peer's slot I credit when I can receive reverse */
    int nfwd_msgs_in, nrev_msgs_in; /* messages arriving per forward / reverse call */
    int64_t nfwd_calls, nrev_calls;
};

/** RMA transports (mpi_exchange_rma.c). */
starhalo_status_t starhalo__rma_setup(starhalo_mpi_exchange_t *ex);
starhalo_status_t starhalo__rma_update(starhalo_mpi_exchange_t *ex, void *array);
starhalo_status_t starhalo__rma_update_by_halo(starhalo_mpi_exchange_t *ex, void *array,
                                               starhalo_reduce_op_t op);
void starhalo__rma_teardown(starhalo_mpi_exchange_t *ex);

/** Pack the forward messages (send runs) into sbuf / unpack rbuf into the recv runs. */
void starhalo__mx_pack_fwd(starhalo_mpi_exchange_t *ex, const void *array);
void starhalo__mx_unpack_fwd(starhalo_mpi_exchange_t *ex, void *array);
/** Pack the reverse messages (recv runs) into rbuf / combine sbuf into the send runs. */
void starhalo__mx_pack_rev(starhalo_mpi_exchange_t *ex, const void *array);
void starhalo__mx_unpack_rev(starhalo_mpi_exchange_t *ex, void *array, starhalo_reduce_op_t op);

#endif
