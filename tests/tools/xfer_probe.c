/* SPDX-License-Identifier: MIT */
/**
 * @file xfer_probe.c
 * @brief Emits the direct transport's trace events (runtime/rt_trace.h) around real MPI
 * transfers, from a StarPU worker and from a plain pthread, for tests/tools/fxt_e2e.sh.
 *
 * Every iteration, each rank exchanges a vector with its ring neighbours like the direct
 * transport does: a "probe_pack" task posts MPI_Irecv + MPI_Isend and emits their "post"
 * events, independent "probe_compute" tasks run meanwhile, and a "probe_unpack" task checks
 * the received values. The completion is seen, and its two "done" events emitted, by the
 * unpack task (MPI_Waitall on a worker) in even iterations and by a progress pthread that
 * StarPU does not know (MPI_Testall polls) in odd ones. So a trace of K iterations holds, on
 * each rank, K sends and K receives of N * 4 bytes, half of them completed off the workers.
 * Usage: xfer_probe [--elems N] [--iters K] [--tasks T] [--work W]; needs
 * MPI_THREAD_MULTIPLE. Without FxT it runs the same and emits nothing.
 */
#include <mpi.h>
#include <pthread.h>
#include <sched.h>
#include <starpu.h>
#include <starpu_mpi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe_common.h"

#include "rt_trace.h"

typedef struct probe {
    int rank, left, right, iter;
    size_t n;
    float *sendbuf, *recvbuf;
    MPI_Request req[2]; /* recv, send */
    uint64_t id[2];
    long bad;
    /* progress thread hand-off: posted (odd iterations) -> completed */
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int posted, completed, stop;
} probe_t;

static void trace_done(probe_t *p)
{
    starhalo__trace_xfer(1, 0, p->left, (int64_t)(p->n * sizeof(float)), p->id[0]);
    starhalo__trace_xfer(1, 1, p->right, (int64_t)(p->n * sizeof(float)), p->id[1]);
}

static void *progress_main(void *arg)
{
    probe_t *p = arg;
    pthread_mutex_lock(&p->mutex);
    for (;;) {
        while (!p->posted && !p->stop)
            pthread_cond_wait(&p->cond, &p->mutex);
        if (p->stop)
            break;
        pthread_mutex_unlock(&p->mutex);
        int done = 0;
        while (!done) {
            MPI_Testall(2, p->req, &done, MPI_STATUSES_IGNORE);
            if (!done)
                sched_yield();
        }
        if (starpu_worker_get_id() != -1) /* it must not be a StarPU thread */
            p->bad++;
        trace_done(p);
        pthread_mutex_lock(&p->mutex);
        p->posted = 0;
        p->completed = 1;
        pthread_cond_broadcast(&p->cond);
    }
    pthread_mutex_unlock(&p->mutex);
    return NULL;
}

static void post_cpu(void *buffers[], void *cl_arg)
{
    (void)buffers;
    probe_t *p;
    starpu_codelet_unpack_args(cl_arg, &p);
    const int bytes = (int)(p->n * sizeof(float));
    for (size_t i = 0; i < p->n; i++)
        p->sendbuf[i] = (float)(p->rank * 1000 + p->iter) + (float)(i % 512);
    p->id[0] = starhalo__trace_next_id();
    p->id[1] = starhalo__trace_next_id();
    MPI_Irecv(p->recvbuf, bytes, MPI_BYTE, p->left, p->iter, MPI_COMM_WORLD, &p->req[0]);
    starhalo__trace_xfer(0, 0, p->left, bytes, p->id[0]);
    MPI_Isend(p->sendbuf, bytes, MPI_BYTE, p->right, p->iter, MPI_COMM_WORLD, &p->req[1]);
    starhalo__trace_xfer(0, 1, p->right, bytes, p->id[1]);
    if (p->iter % 2) {
        pthread_mutex_lock(&p->mutex);
        p->posted = 1;
        p->completed = 0;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->mutex);
    }
}

static void unpack_cpu(void *buffers[], void *cl_arg)
{
    (void)buffers;
    probe_t *p;
    starpu_codelet_unpack_args(cl_arg, &p);
    if (p->iter % 2) {
        pthread_mutex_lock(&p->mutex);
        while (!p->completed)
            pthread_cond_wait(&p->cond, &p->mutex);
        pthread_mutex_unlock(&p->mutex);
    } else {
        MPI_Waitall(2, p->req, MPI_STATUSES_IGNORE);
        trace_done(p);
    }
    for (size_t i = 0; i < p->n; i++)
        if (p->recvbuf[i] != (float)(p->left * 1000 + p->iter) + (float)(i % 512))
            p->bad++;
}

/* The post and unpack tasks both take the two buffers RW: they run in iteration order. */
static struct starpu_codelet pack_cl = {
    .cpu_funcs = {post_cpu}, .nbuffers = 2, .modes = {STARPU_RW, STARPU_RW}, .name = "probe_pack"};
static struct starpu_codelet unpack_cl = {.cpu_funcs = {unpack_cpu},
                                          .nbuffers = 2,
                                          .modes = {STARPU_RW, STARPU_RW},
                                          .name = "probe_unpack"};

int main(int argc, char **argv)
{
    int elems = 1 << 15, iters = 4, ntasks = 4, work = 20;
    const int bad_args = probe_parse_args(argc, argv, &elems, &iters, &ntasks, &work) != 0;
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (bad_args || provided < MPI_THREAD_MULTIPLE || size < 2) {
        if (rank == 0)
            fprintf(stderr, "xfer_probe: error: %s\n",
                    bad_args   ? "usage: xfer_probe [--elems N] [--iters K] [--tasks T] [--work W]"
                    : size < 2 ? "needs at least 2 ranks"
                               : "MPI_THREAD_MULTIPLE is not available");
        MPI_Finalize();
        return 1;
    }
    if (starpu_init(NULL) != 0 || starpu_mpi_init(NULL, NULL, 0) != 0) {
        fprintf(stderr, "xfer_probe: error: rank %d: StarPU or StarPU-MPI init failed\n", rank);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (ntasks > 64)
        ntasks = 64;

    probe_t p = {.rank = rank, .left = (rank + size - 1) % size, .right = (rank + 1) % size};
    p.n = (size_t)elems;
    p.sendbuf = calloc(p.n, sizeof(float));
    p.recvbuf = calloc(p.n, sizeof(float));
    float *work_v = calloc((size_t)ntasks * p.n, sizeof(float));
    pthread_mutex_init(&p.mutex, NULL);
    pthread_cond_init(&p.cond, NULL);
    pthread_t progress;
    pthread_create(&progress, NULL, progress_main, &p);

    starpu_data_handle_t hsend, hrecv, hwork[64];
    starpu_vector_data_register(&hsend, STARPU_MAIN_RAM, (uintptr_t)p.sendbuf, p.n, sizeof(float));
    starpu_vector_data_register(&hrecv, STARPU_MAIN_RAM, (uintptr_t)p.recvbuf, p.n, sizeof(float));
    for (int t = 0; t < ntasks; t++)
        starpu_vector_data_register(&hwork[t], STARPU_MAIN_RAM, (uintptr_t)(work_v + t * p.n), p.n,
                                    sizeof(float));
    probe_t *pp = &p;
    for (int it = 0; it < iters; it++) {
        p.iter = it; /* read by this iteration's tasks only: wait_for_all below */
        starpu_task_insert(&pack_cl, STARPU_RW, hsend, STARPU_RW, hrecv, STARPU_PRIORITY,
                           STARPU_MAX_PRIO, STARPU_VALUE, &pp, sizeof(pp), 0);
        for (int t = 0; t < ntasks; t++)
            starpu_task_insert(&probe_compute_cl, STARPU_RW, hwork[t], STARPU_VALUE, &work,
                               sizeof(work), 0);
        starpu_task_insert(&unpack_cl, STARPU_RW, hsend, STARPU_RW, hrecv, STARPU_PRIORITY,
                           STARPU_MIN_PRIO, STARPU_VALUE, &pp, sizeof(pp), 0);
        starpu_task_wait_for_all();
    }

    pthread_mutex_lock(&p.mutex);
    p.stop = 1;
    pthread_cond_broadcast(&p.cond);
    pthread_mutex_unlock(&p.mutex);
    pthread_join(progress, NULL);
    for (int t = 0; t < ntasks; t++)
        starpu_data_unregister(hwork[t]);
    starpu_data_unregister(hsend);
    starpu_data_unregister(hrecv);
    starpu_mpi_shutdown();
    starpu_shutdown();

    long total_bad = 0;
    MPI_Allreduce(&p.bad, &total_bad, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0)
        printf("xfer_probe: %d ranks, %d iterations of %zu bytes each way: %s (%ld errors)\n", size,
               iters, p.n * sizeof(float), total_bad == 0 ? "OK" : "FAILED", total_bad);
    free(p.sendbuf);
    free(p.recvbuf);
    free(work_v);
    MPI_Finalize();
    return total_bad == 0 ? 0 : 1;
}
