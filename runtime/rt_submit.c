/* SPDX-License-Identifier: MIT */
/**
 * @file rt_submit.c
 * @brief Counted task submission with one status mapping, and the completion counters for
 * submitted tasks and detached transfers, with a wait that spins briefly before it sleeps.
 *
 * Why not starpu_data_acquire: on this machine class an acquire that waits for a finished
 * task costs ~30 us (the main thread sleeps on a condition and is woken through StarPU's
 * request machinery), against ~7 us for a task callback plus a spin (measured in
 * docs/LAUNCH.md). Exchanges of a few KiB take 20-100 us in raw MPI, so that sleep alone
 * doubled them. Long waits still sleep: after the spin budget the waiter blocks on a
 * condition variable, so a rank waiting for milliseconds does not steal a worker's core.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "runtime_internal.h"

starhalo_status_t starhalo__starpu_status(int ret, const char *what)
{
    if (ret == 0)
        return STARHALO_OK;
    return starhalo_error_set(ret == -ENODEV ? STARHALO_ERR_NO_DEVICE : STARHALO_ERR_STARPU,
                              "%s failed (%d%s)", what, ret,
                              ret == -ENODEV ? ": no worker can run it" : "");
}

starhalo_status_t starhalo__task_submit(rt_pending_t *pending, struct starpu_codelet *cl,
                                        struct starpu_data_descr *descr, int n, void *args,
                                        size_t args_size, int priority, const char *name)
{
    if (pending)
        starhalo__pending_add(pending, 1);
    const int ret =
        starpu_task_insert(cl, STARPU_DATA_MODE_ARRAY, descr, n, STARPU_CL_ARGS_NFREE, args,
                           args_size, STARPU_PRIORITY, priority, STARPU_CALLBACK_WITH_ARG_NFREE,
                           pending ? starhalo__pending_done : NULL, pending, STARPU_NAME, name, 0);
    if (ret == 0)
        return STARHALO_OK;
    if (pending)
        starhalo__pending_done(pending); /* not submitted: not to wait for */
    char what[128];
    snprintf(what, sizeof what, "submitting %s", name);
    return starhalo__starpu_status(ret, what);
}

void starhalo__pending_init(rt_pending_t *p, long default_spin_us)
{
    p->count = 0;
    p->next = NULL;
    pthread_mutex_init(&p->mutex, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->spin_us = (long)starhalo__env_int64("STARHALO_WAIT_SPIN_US", default_spin_us, 10000000);
#ifdef STARHALO_SIMGRID
    p->spin_us = 0; /* a spinning actor never lets simulated time advance: always sleep */
#endif
}

void starhalo__pending_fini(rt_pending_t *p)
{
    /* A callback that brought the count to zero may still be inside the mutex (broadcast,
     * unlock) when the waiter returns: wait for it to leave before the memory goes. */
    pthread_mutex_lock(&p->mutex);
    pthread_mutex_unlock(&p->mutex);
    pthread_mutex_destroy(&p->mutex);
    pthread_cond_destroy(&p->cond);
}

void starhalo__pending_add(rt_pending_t *p, int n)
{
    __atomic_add_fetch(&p->count, n, __ATOMIC_ACQ_REL);
}

void starhalo__pending_done(void *arg)
{
    rt_pending_t *p = arg;
    /* Under the mutex, so that after the count reaches zero this callback only broadcasts
     * and unlocks: starhalo__pending_fini waits for that before the exchange is freed. */
    pthread_mutex_lock(&p->mutex);
    if (__atomic_sub_fetch(&p->count, 1, __ATOMIC_ACQ_REL) == 0)
        pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mutex);
}

/* No sched_yield here: it hands the core to a spinning StarPU worker for a whole time slice
 * (measured: 4 ms per wait with a bound worker per core). */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec * 1e-3;
}

void starhalo__pending_wait(rt_pending_t *p)
{
    if (__atomic_load_n(&p->count, __ATOMIC_ACQUIRE) == 0)
        return;
    const double deadline = now_us() + (double)p->spin_us;
    while (p->spin_us > 0 && now_us() < deadline) {
        cpu_relax();
        if (__atomic_load_n(&p->count, __ATOMIC_ACQUIRE) == 0)
            return;
    }
    pthread_mutex_lock(&p->mutex);
    while (__atomic_load_n(&p->count, __ATOMIC_ACQUIRE) != 0)
        pthread_cond_wait(&p->cond, &p->mutex);
    pthread_mutex_unlock(&p->mutex);
}
