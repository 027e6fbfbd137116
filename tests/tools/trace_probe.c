/* SPDX-License-Identifier: MIT */
/**
 * @file trace_probe.c
 * @brief A tiny StarPU-MPI program for tools/trace and tools/overlap-report: every rank sends a
 * vector to its neighbours with starpu_mpi_isend/irecv while independent compute tasks run,
 * plus a "pack" and an "unpack" task, and checks the received values.
 *
 * It tests the tracing tools, not starhalo: it links StarPU-MPI directly on purpose so it runs
 * before the apps exist. Usage: trace_probe [--elems N] [--iters K] [--tasks T] [--work W]
 */
#include <mpi.h>
#include <starpu.h>
#include <starpu_mpi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe_common.h"

/** Burns CPU on a private vector: the "compute" the transfers should overlap with. */
/** Fills the send vector with rank * 1000 + iteration + i (what the peer checks). */
static void pack_cpu(void *buffers[], void *cl_arg)
{
    float *v = (float *)STARPU_VECTOR_GET_PTR(buffers[0]);
    size_t n = STARPU_VECTOR_GET_NX(buffers[0]);
    int rank, iter;
    starpu_codelet_unpack_args(cl_arg, &rank, &iter);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(rank * 1000 + iter) + (float)(i % 512);
}

/** Counts received elements that differ from what the sender packed. */
static void unpack_cpu(void *buffers[], void *cl_arg)
{
    const float *v = (const float *)STARPU_VECTOR_GET_PTR(buffers[0]);
    size_t n = STARPU_VECTOR_GET_NX(buffers[0]);
    int src, iter;
    long *bad;
    starpu_codelet_unpack_args(cl_arg, &src, &iter, &bad);
    for (size_t i = 0; i < n; i++)
        if (v[i] != (float)(src * 1000 + iter) + (float)(i % 512))
            (*bad)++;
}

static struct starpu_codelet pack_cl = {
    .cpu_funcs = {pack_cpu}, .nbuffers = 1, .modes = {STARPU_W}, .name = "probe_pack"};
static struct starpu_codelet unpack_cl = {
    .cpu_funcs = {unpack_cpu}, .nbuffers = 1, .modes = {STARPU_R}, .name = "probe_unpack"};

int main(int argc, char **argv)
{
    int elems = 1 << 18, iters = 3, ntasks = 4, work = 20;
    const int bad_args = probe_parse_args(argc, argv, &elems, &iters, &ntasks, &work) != 0;

    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (bad_args) {
        if (rank == 0)
            fprintf(stderr, "trace_probe: error: usage: trace_probe [--elems N] [--iters K] "
                            "[--tasks T] [--work W] (positive integers)\n");
        MPI_Finalize();
        return 1;
    }
    if (starpu_init(NULL) != 0 || starpu_mpi_init(NULL, NULL, 0) != 0) {
        fprintf(stderr, "trace_probe: error: rank %d: StarPU or StarPU-MPI init failed\n", rank);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }

    if (ntasks > 64)
        ntasks = 64;
    int right = (rank + 1) % size, left = (rank + size - 1) % size;
    size_t n = (size_t)elems;
    float *sendbuf = calloc(n, sizeof(float)), *recvbuf = calloc(n, sizeof(float));
    float *work_v = calloc((size_t)ntasks * n / 4 + 1, sizeof(float));
    starpu_data_handle_t hsend, hrecv, hwork[64];
    starpu_vector_data_register(&hsend, STARPU_MAIN_RAM, (uintptr_t)sendbuf, n, sizeof(float));
    starpu_vector_data_register(&hrecv, STARPU_MAIN_RAM, (uintptr_t)recvbuf, n, sizeof(float));
    for (int t = 0; t < ntasks; t++)
        starpu_vector_data_register(&hwork[t], STARPU_MAIN_RAM, (uintptr_t)(work_v + t * (n / 4)),
                                    n / 4, sizeof(float));

    long bad = 0;
    for (int it = 0; it < iters && size > 1; it++) {
        starpu_mpi_req rreq, sreq;
        starpu_mpi_irecv(hrecv, &rreq, left, it, MPI_COMM_WORLD);
        starpu_task_insert(&pack_cl, STARPU_W, hsend, STARPU_PRIORITY, STARPU_MAX_PRIO,
                           STARPU_VALUE, &rank, sizeof(rank), STARPU_VALUE, &it, sizeof(it), 0);
        starpu_mpi_isend(hsend, &sreq, right, it, MPI_COMM_WORLD);
        /* Independent work submitted after the exchange so it runs while data travels. */
        for (int t = 0; t < ntasks; t++)
            starpu_task_insert(&probe_compute_cl, STARPU_RW, hwork[t], STARPU_VALUE, &work,
                               sizeof(work), 0);
        MPI_Status st;
        starpu_mpi_wait(&rreq, &st);
        starpu_mpi_wait(&sreq, &st);
        long *badp = &bad;
        starpu_task_insert(&unpack_cl, STARPU_R, hrecv, STARPU_VALUE, &left, sizeof(left),
                           STARPU_VALUE, &it, sizeof(it), STARPU_VALUE, &badp, sizeof(badp), 0);
        starpu_task_wait_for_all();
    }

    for (int t = 0; t < ntasks; t++)
        starpu_data_unregister(hwork[t]);
    starpu_data_unregister(hsend);
    starpu_data_unregister(hrecv);
    starpu_mpi_shutdown();
    starpu_shutdown();

    long total_bad = 0;
    MPI_Allreduce(&bad, &total_bad, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0)
        printf("trace_probe: %d ranks, %d iterations of %zu floats: %s (%ld wrong elements)\n",
               size, iters, n, total_bad == 0 ? "OK" : "FAILED", total_bad);
    free(sendbuf);
    free(recvbuf);
    free(work_v);
    MPI_Finalize();
    return total_bad == 0 ? 0 : 1;
}
