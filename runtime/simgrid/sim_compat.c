/* SPDX-License-Identifier: MIT */
/**
 * @file sim_compat.c
 * @brief SimGrid builds only: host-code MPI calls run in StarPU-MPI's progress thread, the
 * rank's SMPI process (sim_compat.h says why).
 */
/* Compiled with STARHALO_SIM_MPI_IMPL (cmake/StarhaloSimgrid.cmake): the real MPI below. */
#include "sim_compat.h"

#include <string.h>

#include <starpu_mpi.h>

/* The main actor is no SMPI process: its MPI_COMM_WORLD is not the rank's. Every
 * communicator host code holds is the world one (sim_compat.h maps dup to identity). */
static MPI_Comm world(MPI_Comm comm)
{
    (void)comm;
    return MPI_COMM_WORLD; /* evaluated in the progress thread */
}

/* StarPU-MPI's progress thread exists between starpu_mpi_init_conf and starpu_mpi_shutdown. */
static int in_progress_thread_possible(void)
{
    return starpu_is_initialized();
}

typedef struct sim_call {
    int kind;
    const void *send;
    void *recv;
    int count, rcount, root, tag;
    MPI_Datatype dt, rdt;
    MPI_Op op;
    MPI_Comm comm;
    MPI_Status *status;
    void *attr;
    int *flag;
    int ret;
} sim_call_t;

enum { C_BARRIER, C_BCAST, C_ALLREDUCE, C_GATHER, C_ALLGATHER, C_SEND, C_RECV, C_ATTR };

static void run(void *arg)
{
    sim_call_t *c = arg;
    MPI_Comm comm = world(c->comm);
    switch (c->kind) {
    case C_BARRIER:
        c->ret = MPI_Barrier(comm);
        break;
    case C_BCAST:
        c->ret = MPI_Bcast(c->recv, c->count, c->dt, c->root, comm);
        break;
    case C_ALLREDUCE:
        c->ret = MPI_Allreduce(c->send, c->recv, c->count, c->dt, c->op, comm);
        break;
    case C_GATHER:
        c->ret = MPI_Gather(c->send, c->count, c->dt, c->recv, c->rcount, c->rdt, c->root, comm);
        break;
    case C_ALLGATHER:
        c->ret = MPI_Allgather(c->send, c->count, c->dt, c->recv, c->rcount, c->rdt, comm);
        break;
    case C_SEND:
        c->ret = MPI_Send(c->send, c->count, c->dt, c->root, c->tag, comm);
        break;
    case C_RECV:
        c->ret = MPI_Recv(c->recv, c->count, c->dt, c->root, c->tag, comm, c->status);
        break;
    case C_ATTR:
        c->ret = MPI_Comm_get_attr(comm, c->tag, c->attr, c->flag);
        break;
    }
}

static int call(sim_call_t *c)
{
    starpu_mpi_progress_call(MPI_COMM_WORLD, run, c);
    return c->ret;
}

/* Before StarPU starts or after it stopped: a collective over this rank alone. */
static int local_copy(const void *send, void *recv, int count, MPI_Datatype dt)
{
    int size = 0;
    if (send != MPI_IN_PLACE && send != recv && count > 0) {
        MPI_Type_size(dt, &size);
        memcpy(recv, send, (size_t)count * (size_t)size);
    }
    return MPI_SUCCESS;
}

double starhalo__sim_wtime(void)
{
    return starpu_timing_now() * 1e-6;
}

int starhalo__sim_clock_gettime(clockid_t clk, struct timespec *tp)
{
    (void)clk;
    const double us = starpu_timing_now();
    tp->tv_sec = (time_t)(us * 1e-6);
    tp->tv_nsec = (long)((us - (double)tp->tv_sec * 1e6) * 1e3);
    return 0;
}

int starhalo__sim_init_thread(int *argc, char ***argv, int required, int *provided)
{
    (void)argc;
    (void)argv;
    (void)required;
    /* StarPU initialised MPI before main(); SimGrid runs one actor at a time, so the threads
     * of a rank never call MPI concurrently: MULTIPLE holds. */
    *provided = MPI_THREAD_MULTIPLE;
    return MPI_SUCCESS;
}

int starhalo__sim_initialized(int *flag)
{
    *flag = 1;
    return MPI_SUCCESS;
}

int starhalo__sim_query_thread(int *provided)
{
    *provided = MPI_THREAD_MULTIPLE;
    return MPI_SUCCESS;
}

int starhalo__sim_finalize(void)
{
    return MPI_SUCCESS; /* StarPU-MPI finalises MPI in starpu_mpi_shutdown */
}

int starhalo__sim_comm_rank(MPI_Comm comm, int *rank)
{
    (void)comm;
    return starpu_mpi_comm_rank(MPI_COMM_WORLD, rank) == 0 ? MPI_SUCCESS : MPI_ERR_COMM;
}

int starhalo__sim_comm_size(MPI_Comm comm, int *size)
{
    (void)comm;
    return starpu_mpi_comm_size(MPI_COMM_WORLD, size) == 0 ? MPI_SUCCESS : MPI_ERR_COMM;
}

int starhalo__sim_comm_dup(MPI_Comm comm, MPI_Comm *out)
{
    *out = comm; /* only the direct transport uses the duplicate, and it is not simulated */
    return MPI_SUCCESS;
}

int starhalo__sim_comm_free(MPI_Comm *comm)
{
    *comm = MPI_COMM_NULL;
    return MPI_SUCCESS;
}

int starhalo__sim_comm_get_attr(MPI_Comm comm, int key, void *value, int *flag)
{
    if (!in_progress_thread_possible()) {
        *flag = 0;
        return MPI_SUCCESS;
    }
    sim_call_t c = {.kind = C_ATTR, .comm = comm, .tag = key, .attr = value, .flag = flag};
    return call(&c);
}

int starhalo__sim_barrier(MPI_Comm comm)
{
    if (!in_progress_thread_possible())
        return MPI_SUCCESS;
    sim_call_t c = {.kind = C_BARRIER, .comm = comm};
    return call(&c);
}

int starhalo__sim_bcast(void *buf, int count, MPI_Datatype dt, int root, MPI_Comm comm)
{
    if (!in_progress_thread_possible())
        return MPI_SUCCESS;
    sim_call_t c = {
        .kind = C_BCAST, .recv = buf, .count = count, .dt = dt, .root = root, .comm = comm};
    return call(&c);
}

int starhalo__sim_allreduce(const void *send, void *recv, int count, MPI_Datatype dt, MPI_Op op,
                            MPI_Comm comm)
{
    if (!in_progress_thread_possible())
        return local_copy(send, recv, count, dt);
    sim_call_t c = {.kind = C_ALLREDUCE,
                    .send = send,
                    .recv = recv,
                    .count = count,
                    .dt = dt,
                    .op = op,
                    .comm = comm};
    return call(&c);
}

int starhalo__sim_gather(const void *send, int scount, MPI_Datatype sdt, void *recv, int rcount,
                         MPI_Datatype rdt, int root, MPI_Comm comm)
{
    if (!in_progress_thread_possible())
        return recv ? local_copy(send, recv, scount, sdt) : MPI_SUCCESS;
    sim_call_t c = {.kind = C_GATHER,
                    .send = send,
                    .count = scount,
                    .dt = sdt,
                    .recv = recv,
                    .rcount = rcount,
                    .rdt = rdt,
                    .root = root,
                    .comm = comm};
    return call(&c);
}

int starhalo__sim_allgather(const void *send, int scount, MPI_Datatype sdt, void *recv, int rcount,
                            MPI_Datatype rdt, MPI_Comm comm)
{
    if (!in_progress_thread_possible())
        return local_copy(send, recv, scount, sdt);
    sim_call_t c = {.kind = C_ALLGATHER,
                    .send = send,
                    .count = scount,
                    .dt = sdt,
                    .recv = recv,
                    .rcount = rcount,
                    .rdt = rdt,
                    .comm = comm};
    return call(&c);
}

int starhalo__sim_send(const void *buf, int count, MPI_Datatype dt, int dest, int tag,
                       MPI_Comm comm)
{
    sim_call_t c = {.kind = C_SEND,
                    .send = buf,
                    .count = count,
                    .dt = dt,
                    .root = dest,
                    .tag = tag,
                    .comm = comm};
    return in_progress_thread_possible() ? call(&c) : MPI_ERR_OTHER;
}

int starhalo__sim_recv(void *buf, int count, MPI_Datatype dt, int src, int tag, MPI_Comm comm,
                       MPI_Status *status)
{
    sim_call_t c = {.kind = C_RECV,
                    .recv = buf,
                    .count = count,
                    .dt = dt,
                    .root = src,
                    .tag = tag,
                    .comm = comm,
                    .status = status};
    return in_progress_thread_possible() ? call(&c) : MPI_ERR_OTHER;
}
