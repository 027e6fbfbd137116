/* SPDX-License-Identifier: MIT */
/**
 * @file sim_compat.h
 * @brief SimGrid builds only (STARHALO_SIMGRID; cmake/StarhaloSimgrid.cmake force-includes this
 * header into the runtime and the simulated apps): host-code MPI calls sent where SMPI runs
 * them, and pthread synchronisation that SimGrid schedules.
 *
 * Under StarPU-MPI 1.3 on SimGrid, a rank's SMPI process is StarPU-MPI's progress thread; the
 * application's main() runs in another SimGrid actor, where MPI calls fail ("MPI_Init was not
 * called") or crash. So the calls below run in the progress thread through
 * starpu_mpi_progress_call() (tools/patches/starpu-1.3.10-mpi-progress-call.patch), after this
 * rank's tasks and requests are done; before StarPU starts and after it stops, what can be
 * answered locally is (rank, size, thread level; a collective then acts on this rank's data
 * only). docs/SIMULATION.md lists what this means for the applications.
 */
#ifndef STARHALO_SIM_COMPAT_H
#define STARHALO_SIM_COMPAT_H

#include <pthread.h>
#include <time.h>

#include <mpi.h>
#include <starpu_simgrid_wrap.h> /* main() becomes starpu_main(): StarPU starts SimGrid */
#include <starpu_thread.h>

int starhalo__sim_init_thread(int *argc, char ***argv, int required, int *provided);
int starhalo__sim_initialized(int *flag);
int starhalo__sim_query_thread(int *provided);
int starhalo__sim_finalize(void);
int starhalo__sim_comm_rank(MPI_Comm comm, int *rank);
int starhalo__sim_comm_size(MPI_Comm comm, int *size);
int starhalo__sim_comm_dup(MPI_Comm comm, MPI_Comm *out);
int starhalo__sim_comm_free(MPI_Comm *comm);
int starhalo__sim_comm_get_attr(MPI_Comm comm, int key, void *value, int *flag);
int starhalo__sim_barrier(MPI_Comm comm);
int starhalo__sim_bcast(void *buf, int count, MPI_Datatype dt, int root, MPI_Comm comm);
int starhalo__sim_allreduce(const void *send, void *recv, int count, MPI_Datatype dt, MPI_Op op,
                            MPI_Comm comm);
int starhalo__sim_gather(const void *send, int scount, MPI_Datatype sdt, void *recv, int rcount,
                         MPI_Datatype rdt, int root, MPI_Comm comm);
int starhalo__sim_allgather(const void *send, int scount, MPI_Datatype sdt, void *recv, int rcount,
                            MPI_Datatype rdt, MPI_Comm comm);
int starhalo__sim_send(const void *buf, int count, MPI_Datatype dt, int dest, int tag,
                       MPI_Comm comm);
double starhalo__sim_wtime(void);
int starhalo__sim_clock_gettime(clockid_t clk, struct timespec *tp);
int starhalo__sim_recv(void *buf, int count, MPI_Datatype dt, int src, int tag, MPI_Comm comm,
                       MPI_Status *status);

#ifndef STARHALO_SIM_MPI_IMPL
#define MPI_Init_thread   starhalo__sim_init_thread
#define MPI_Initialized   starhalo__sim_initialized
#define MPI_Query_thread  starhalo__sim_query_thread
#define MPI_Finalize      starhalo__sim_finalize
#define MPI_Comm_rank     starhalo__sim_comm_rank
#define MPI_Comm_size     starhalo__sim_comm_size
#define MPI_Comm_dup      starhalo__sim_comm_dup
#define MPI_Comm_free     starhalo__sim_comm_free
#define MPI_Comm_get_attr starhalo__sim_comm_get_attr
#define MPI_Barrier       starhalo__sim_barrier
#define MPI_Bcast         starhalo__sim_bcast
#define MPI_Allreduce     starhalo__sim_allreduce
#define MPI_Gather        starhalo__sim_gather
#define MPI_Allgather     starhalo__sim_allgather
#define MPI_Send          starhalo__sim_send
#define MPI_Recv          starhalo__sim_recv
#define MPI_Wtime         starhalo__sim_wtime
#endif

/* Simulated time. SMPI's own clock_gettime (smpi_helpers.h, through smpicc) reads the real
 * clock in an actor that is no SMPI process, such as main(): timings would measure how long
 * the simulation itself took. StarPU's clock is the simulated one. */
#undef clock_gettime
/* smpi_helpers.h's two-argument nanosleep macro breaks on a compound-literal argument
 * (rt_checkpoint.c's test hook); that hook is not simulated. */
#undef nanosleep
#define clock_gettime starhalo__sim_clock_gettime

/* Every simulated thread is a SimGrid actor on one OS thread: a real pthread_cond_wait would
 * stop the whole simulation. StarPU's wrappers are SimGrid's mutexes and conditions here. */
#define pthread_mutex_t        starpu_pthread_mutex_t
#define pthread_cond_t         starpu_pthread_cond_t
#define pthread_t              starpu_pthread_t
#define pthread_mutex_init     starpu_pthread_mutex_init
#define pthread_mutex_destroy  starpu_pthread_mutex_destroy
#define pthread_mutex_lock     starpu_pthread_mutex_lock
#define pthread_mutex_unlock   starpu_pthread_mutex_unlock
#define pthread_cond_init      starpu_pthread_cond_init
#define pthread_cond_destroy   starpu_pthread_cond_destroy
#define pthread_cond_wait      starpu_pthread_cond_wait
#define pthread_cond_timedwait starpu_pthread_cond_timedwait
#define pthread_cond_signal    starpu_pthread_cond_signal
#define pthread_cond_broadcast starpu_pthread_cond_broadcast
#define pthread_create         starpu_pthread_create
#define pthread_join           starpu_pthread_join

#endif
