/* SPDX-License-Identifier: MIT */
/**
 * @file rt_progress.c
 * @brief MPI progress while the workers compute: a sleeping thread that tests the direct
 * transport's started requests between a pack task and its unpack task.
 *
 * Why: a rendezvous message (above the eager limit: 64 KiB on TCP, 4 KiB on shared memory)
 * moves only while some thread of each rank is inside MPI. Between `exchange_begin` and
 * `exchange_end` the rank's workers run the interior compute, so without this nobody calls
 * MPI and the transfer waits for the unpack task: no overlap at all (docs/OVERLAP.md).
 *
 * How: the pack task hands its part's started requests (one "watch") to the context's
 * progress thread, which calls MPI_Testsome on every watch every `period` microseconds and
 * sleeps in between, so it costs a few microseconds per period and nothing when no watch
 * is listed (it then waits on a condition). The unpack task takes its watch back before it
 * calls MPI_Waitall, under the same mutex that the thread holds while it tests: no request
 * is ever used by two threads at once. Requests the thread completed are inactive
 * persistent requests, for which MPI_Waitall returns at once.
 *
 * Only exchanges whose largest message reaches STARHALO_PROGRESS_BYTES use it: small
 * messages go eagerly and the hand-off would only add to them.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>

#include "runtime_internal.h"

void starhalo__progress_init(rt_progress_t *p)
{
    pthread_mutex_init(&p->mutex, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->head = NULL;
    p->running = 0;
    p->stop = 0;
    p->period_us =
        (long)starhalo__env_int64("STARHALO_PROGRESS_US", RT_PROGRESS_PERIOD_US, 1000000);
    if (p->period_us < 1)
        p->period_us = 1;
}

/* Test one watch; returns 1 once every request in it has completed. */
static int test_watch(rt_watch_t *w)
{
    int outcount = 0;
    MPI_Testsome(w->n, w->req, &outcount, w->idx, MPI_STATUSES_IGNORE);
    if (outcount == MPI_UNDEFINED)
        return 1; /* no active request left */
    for (int k = 0; k < outcount; k++)
        starhalo__trace_req_done(&w->info[w->idx[k]]);
    w->left -= outcount;
    return w->left <= 0;
}

static void unlink_watch(rt_progress_t *p, rt_watch_t *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        p->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
    /* Release: the unpacker that reads 0 without the mutex sees the requests as tested. */
    __atomic_store_n(&w->linked, 0, __ATOMIC_RELEASE);
}

static void *progress_main(void *arg)
{
    rt_progress_t *p = arg;
    /* Wake-ups on time: the default 50 us timer slack would double a short period. */
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    const struct timespec period = {p->period_us / 1000000, (p->period_us % 1000000) * 1000};
    pthread_mutex_lock(&p->mutex);
    while (!p->stop) {
        if (!p->head) {
            pthread_cond_wait(&p->cond, &p->mutex);
            continue;
        }
        for (rt_watch_t *w = p->head, *next; w; w = next) {
            next = w->next;
            if (test_watch(w))
                unlink_watch(p, w);
        }
        pthread_mutex_unlock(&p->mutex);
        nanosleep(&period, NULL);
        pthread_mutex_lock(&p->mutex);
    }
    pthread_mutex_unlock(&p->mutex);
    return NULL;
}

starhalo_status_t starhalo__progress_start(rt_progress_t *p)
{
    pthread_mutex_lock(&p->mutex);
    int rc = 0;
    if (!p->running) {
        rc = pthread_create(&p->thread, NULL, progress_main, p);
        p->running = rc == 0;
    }
    pthread_mutex_unlock(&p->mutex);
    STARHALO_REQUIRE(rc == 0, STARHALO_ERR_NO_MEMORY,
                     "cannot start the MPI progress thread (pthread_create: %d)", rc);
    return STARHALO_OK;
}

void starhalo__progress_fini(rt_progress_t *p)
{
    pthread_mutex_lock(&p->mutex);
    const int running = p->running;
    p->stop = 1;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->mutex);
    if (running)
        pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->mutex);
    pthread_cond_destroy(&p->cond);
}

void starhalo__progress_watch(rt_progress_t *p, rt_watch_t *w)
{
    if (w->n <= 0)
        return;
    pthread_mutex_lock(&p->mutex);
    w->left = w->n;
    w->prev = NULL;
    w->next = p->head;
    if (p->head)
        p->head->prev = w;
    p->head = w;
    w->linked = 1;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->mutex);
}

void starhalo__progress_unwatch(rt_progress_t *p, rt_watch_t *w)
{
    if (!__atomic_load_n(&w->linked, __ATOMIC_ACQUIRE))
        return; /* never listed, or the thread already saw every request complete */
    pthread_mutex_lock(&p->mutex);
    if (w->linked)
        unlink_watch(p, w);
    pthread_mutex_unlock(&p->mutex);
}
