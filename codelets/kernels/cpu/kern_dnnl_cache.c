/* SPDX-License-Identifier: MIT */
/**
 * @file kern_dnnl_cache.c
 * @brief The per-thread oneDNN state and primitive cache of the CPU kernels (forward conv and
 * pooling in kern_dnnl.c, conv backward in kern_dnnl_backward.c).
 *
 * Each thread owns an engine, a stream, scratch buffers and a small LRU table of primitives
 * keyed by the whole shape, so no lock is needed. Debian's libdnnl uses OpenMP; each calling
 * thread sets its OpenMP team size to 1 so oneDNN never spawns threads inside a task (the
 * StarPU workers are the parallelism).
 */
#include "kern_dnnl_internal.h"

#include <pthread.h>
#include <stdlib.h>

/* Resolved from libgomp, which libdnnl pulls in; weak so the kernels need no -fopenmp. */
extern void omp_set_num_threads(int n) __attribute__((weak));

static __thread starhalo__dnnl_thread_t *tls_state;

starhalo_status_t starhalo__dnnl_fail(dnnl_status_t st, const char *what)
{
    return starhalo_error_set(STARHALO_ERR_DNNL, "oneDNN %s failed with status %d", what, (int)st);
}

static void entry_release(starhalo__dnnl_entry_t *e)
{
    dnnl_memory_destroy(e->src);
    dnnl_memory_destroy(e->wei);
    dnnl_memory_destroy(e->bias);
    dnnl_memory_destroy(e->dst);
    for (int i = 0; i < 3; i++) {
        dnnl_memory_destroy(e->view[i]);
        dnnl_primitive_destroy(e->reorder[i]);
    }
    dnnl_primitive_destroy(e->prim);
    dnnl_primitive_desc_destroy(e->pd);
    dnnl_primitive_desc_destroy(e->hint);
    memset(e, 0, sizeof *e);
}

static void state_free(void *p)
{
    starhalo__dnnl_thread_t *ts = p;
    for (int i = 0; i < STARHALO__DNNL_CACHE_SLOTS; i++)
        if (ts->slot[i].stamp)
            entry_release(&ts->slot[i]);
    dnnl_stream_destroy(ts->stream);
    dnnl_engine_destroy(ts->engine);
    free(ts->scratch_in);
    free(ts->scratch_out);
    free(ts->scratch_w);
    for (int i = 0; i < 3; i++)
        free(ts->blocked[i]);
    free(ts);
}

/* A key whose destructor frees a thread's state when the thread exits: StarPU workers end at
 * every context shutdown, and a __thread pointer alone leaked their state (LeakSanitizer). */
static pthread_key_t state_key;
static pthread_once_t state_key_once = PTHREAD_ONCE_INIT;
static int state_key_ok;

static void state_key_create(void)
{
    state_key_ok = pthread_key_create(&state_key, state_free) == 0;
}

void starhalo_kern_dnnl_thread_cleanup(void)
{
    starhalo__dnnl_thread_t *ts = tls_state;
    if (!ts)
        return;
    if (state_key_ok)
        (void)pthread_setspecific(state_key, NULL);
    state_free(ts);
    tls_state = NULL;
}

const char *starhalo_kern_dnnl_last_impl(int *in_place)
{
    const starhalo__dnnl_thread_t *ts = tls_state;
    if (in_place)
        *in_place = ts ? ts->last_in_place : 0;
    return ts && ts->last_impl ? ts->last_impl : "";
}

starhalo_status_t starhalo__dnnl_thread_get(starhalo__dnnl_thread_t **out)
{
    if (!tls_state) {
        starhalo__dnnl_thread_t *ts = calloc(1, sizeof *ts);
        if (!ts)
            return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "oneDNN thread state");
        dnnl_status_t st = dnnl_engine_create(&ts->engine, dnnl_cpu, 0);
        if (st == dnnl_success)
            st = dnnl_stream_create(&ts->stream, ts->engine, dnnl_stream_default_flags);
        if (st != dnnl_success) {
            dnnl_engine_destroy(ts->engine);
            free(ts);
            return starhalo__dnnl_fail(st, "engine/stream creation");
        }
        if (omp_set_num_threads) /* this thread's OpenMP teams: one thread */
            omp_set_num_threads(1);
        tls_state = ts;
        (void)pthread_once(&state_key_once, state_key_create);
        if (state_key_ok)
            (void)pthread_setspecific(state_key, ts);
    }
    *out = tls_state;
    return STARHALO_OK;
}

starhalo_status_t starhalo__dnnl_grow(float **buf, size_t *cap, size_t n)
{
    if (n <= *cap)
        return STARHALO_OK;
    free(*buf);
    *buf = NULL;
    *cap = 0;
    void *p = NULL;
    if (posix_memalign(&p, 64, n * sizeof(float)) != 0)
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "oneDNN scratch of %zu floats", n);
    *buf = p;
    *cap = n;
    return STARHALO_OK;
}

starhalo_status_t starhalo__dnnl_entry_memory(starhalo__dnnl_thread_t *ts,
                                              const starhalo__dnnl_entry_t *e, dnnl_query_t what,
                                              int index, dnnl_memory_t *mem)
{
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(e->pd, what, index);
    STARHALO__DNNL_TRY(md ? dnnl_memory_create(mem, md, ts->engine, DNNL_MEMORY_NONE)
                          : dnnl_invalid_arguments,
                       "memory");
    return STARHALO_OK;
}

starhalo_status_t starhalo__dnnl_entry_get(starhalo__dnnl_thread_t *ts,
                                           const starhalo__dnnl_key_t *k,
                                           starhalo__dnnl_build_fn build,
                                           starhalo__dnnl_entry_t **out)
{
    starhalo__dnnl_entry_t *victim = &ts->slot[0];
    for (int i = 0; i < STARHALO__DNNL_CACHE_SLOTS; i++) {
        starhalo__dnnl_entry_t *e = &ts->slot[i];
        if (e->stamp && memcmp(&e->key, k, sizeof *k) == 0) {
            e->stamp = ++ts->clock;
            *out = e;
            return STARHALO_OK;
        }
        if (e->stamp < victim->stamp)
            victim = e; /* a free slot (stamp 0) or the least recently used */
    }
    if (victim->stamp)
        entry_release(victim);
    memset(victim, 0, sizeof *victim);
    victim->key = *k;
    starhalo_status_t st = build(ts, k, victim);
    if (st == STARHALO_OK) {
        const dnnl_status_t ds = dnnl_primitive_create(&victim->prim, victim->pd);
        if (ds != dnnl_success)
            st = starhalo__dnnl_fail(ds, "primitive creation");
    }
    if (st != STARHALO_OK) {
        entry_release(victim);
        return st;
    }
    victim->stamp = ++ts->clock;
    *out = victim;
    return STARHALO_OK;
}
