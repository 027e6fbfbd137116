/* SPDX-License-Identifier: MIT */
/**
 * @file rt_submit.h
 * @brief Counted task submission (rt_submit.c): the one place where starhalo inserts StarPU
 * tasks and maps StarPU's return codes to a status, plus the completion counters that let a
 * caller wait for its own tasks and detached transfers. The runtime core and the task graphs
 * (runtime/graphs/) use it; it needs nothing else of the runtime.
 */
#ifndef STARHALO_RT_SUBMIT_H
#define STARHALO_RT_SUBMIT_H

#include <pthread.h>

#include <starpu.h>

#include <starhalo/starhalo_error.h>

/** Tasks and detached transfers submitted and not yet completed. */
typedef struct rt_pending {
    int count;
    long spin_us; /**< how long a waiter spins (pause, no yield) before it sleeps */
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    struct rt_pending *next; /**< the context's list of in-flight counters */
} rt_pending_t;

/** @p default_spin_us unless STARHALO_WAIT_SPIN_US is set (0: sleep at once). */
void starhalo__pending_init(rt_pending_t *p, long default_spin_us);
void starhalo__pending_fini(rt_pending_t *p);
/** Count @p n more completions to wait for; call before submitting them. */
void starhalo__pending_add(rt_pending_t *p, int n);
/** Task / transfer callback (arg: the rt_pending_t): one completion. */
void starhalo__pending_done(void *arg);
/** Return once the count is zero. */
void starhalo__pending_wait(rt_pending_t *p);

/** The status of a StarPU call that returned @p ret (0: OK; -ENODEV: no worker can run the
 * codelet, STARHALO_ERR_NO_DEVICE; anything else STARHALO_ERR_STARPU), naming @p what. */
starhalo_status_t starhalo__starpu_status(int ret, const char *what);

/**
 * Insert one task of @p cl over @p n data (@p descr) with @p args (not copied: they must
 * outlive the task) at @p priority, named @p name. With @p pending (may be NULL) the task is
 * counted there before submission and its callback counts it done; a task that could not be
 * submitted is not counted.
 */
starhalo_status_t starhalo__task_submit(rt_pending_t *pending, struct starpu_codelet *cl,
                                        struct starpu_data_descr *descr, int n, void *args,
                                        size_t args_size, int priority, const char *name);

#endif
