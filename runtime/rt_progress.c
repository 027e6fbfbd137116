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
 * progress thread, which calls MPI_Testsome on every listed watch and sleeps in between; it
 * waits on a condition when no watch is listed. The sleep starts at RT_PROGRESS_FIRST_US
 * after each new watch, so that a rendezvous handshake is answered at once, and doubles up to
 * the period (STARHALO_PROGRESS_US): each wake-up preempts a computing worker, which costs
 * about 20 us of its time on this machine class (measured, docs/OVERLAP.md), so a fixed
 * short period made the compute up to 1.6x slower. The unpack task takes its watch back before it
 * calls MPI_Waitall, under the same mutex that the thread holds while it tests: no request
 * is ever used by two threads at once. Requests the thread completed are inactive
 * persistent requests, for which MPI_Waitall returns at once.
 *
 * The unpack task does not even start before its messages are in: it reads the part's
 * "arrival" handle, which begin acquires W (starpu_data_acquire_cb) and the thread releases
 * once the watch completed. So a worker never sits in MPI_Waitall while other parts' compute
 * is ready. This adds no deadlock: the unpack used to hold the token R and a worker while it
 * waited; now it holds at most the token (the argument in rt_exchange_direct.c holds).
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
    p->fresh = 0;
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
    long sleep_us = p->period_us;
    pthread_mutex_lock(&p->mutex);
    while (!p->stop) {
        if (!p->head) {
            pthread_cond_wait(&p->cond, &p->mutex);
            continue;
        }
        for (rt_watch_t *w = p->head, *next; w; w = next) {
            next = w->next;
            if (!test_watch(w))
                continue;
            unlink_watch(p, w);
            if (w->arrival) {
                /* Releasing runs StarPU code (it may push the unpack): not under our lock;
                 * the list may change meanwhile, so start over. */
                pthread_mutex_unlock(&p->mutex);
                starhalo__arrival_event(w->arrival);
                pthread_mutex_lock(&p->mutex);
                next = p->head;
            }
        }
        if (p->fresh) {
            p->fresh = 0;
            sleep_us = RT_PROGRESS_FIRST_US < p->period_us ? RT_PROGRESS_FIRST_US : p->period_us;
        }
        pthread_mutex_unlock(&p->mutex);
        const struct timespec ts = {sleep_us / 1000000, (sleep_us % 1000000) * 1000};
        nanosleep(&ts, NULL);
        sleep_us = 2 * sleep_us < p->period_us ? 2 * sleep_us : p->period_us;
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
    p->fresh = 1;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->mutex);
}

int starhalo__progress_unwatch(rt_progress_t *p, rt_watch_t *w)
{
    if (!__atomic_load_n(&w->linked, __ATOMIC_ACQUIRE))
        return 0; /* never listed, or the thread already saw every request complete */
    pthread_mutex_lock(&p->mutex);
    const int was_listed = w->linked;
    if (was_listed)
        unlink_watch(p, w);
    pthread_mutex_unlock(&p->mutex);
    return was_listed;
}

starhalo_status_t starhalo__arrival_arm(rt_arrival_t *a)
{
    const int ret = starpu_data_acquire_cb(a->handle, STARPU_W, starhalo__arrival_event, a);
    STARHALO_REQUIRE(ret == 0, STARHALO_ERR_STARPU, "starpu_data_acquire_cb failed (%d)", ret);
    return STARHALO_OK;
}

void starhalo__arrival_event(void *arrival)
{
    rt_arrival_t *a = arrival;
    /* Never reset: begin arms the next exchange before this one's events are in. Both events
     * of exchange k + 1 come after the release of exchange k (its acquire waits for unpack k,
     * its pack for the token unpack k holds), so every even count closes one exchange. */
    if (__atomic_add_fetch(&a->events, 1, __ATOMIC_ACQ_REL) % 2 == 0)
        starpu_data_release(a->handle);
}
