/* SPDX-License-Identifier: MIT */
/**
 * @file runtime_internal.h
 * @brief Private structs of the runtime (context, field, exchange) and helpers shared by
 * the rt_*.c files. The only place that sees both StarPU and the public opaque types.
 */
#ifndef STARHALO_RUNTIME_INTERNAL_H
#define STARHALO_RUNTIME_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include <starpu.h>
#include <starpu_expert.h>
#include <starpu_mpi.h>

#include <starhalo/starhalo_runtime.h>
#include <starhalo/starhalo_starpu.h>

/** Tag numbers below this are left to applications' own starpu_mpi_data_register. */
#define STARHALO__TAG_FIRST ((int64_t)1 << 20)
/** Direction slots per part (3^STARHALO_MAX_DIMS): message tags are per (sender, slot). */
#define STARHALO__SLOTS 27

/** Launch placement computed from the topology (pure function, rt_topology.c). */
typedef struct starhalo__placement {
    int ncpus;        /**< CPU workers of this rank */
    int bind_workers; /**< 1: bind workers to first_core.., 0: leave unbound */
    int first_core;   /**< first core (logical index) of this rank's slice when bound */
    int mpi_nobind;   /**< 1: do not bind the StarPU-MPI progress thread */
} starhalo__placement_t;

/** Decide workers/binding for @p nlocal ranks sharing @p ncores cores; @p conf_ncpus and
 * @p conf_bind are the caller's requests (-1 = default). @p nranks is the communicator
 * size (1: no MPI traffic, every core runs a worker). */
starhalo__placement_t starhalo__placement_compute(int ncores, int nlocal, int local_rank,
                                                  int nranks, int conf_ncpus, int conf_bind);

typedef struct rt_tag_range {
    int64_t lo, hi; /* free tags [lo, hi) */
} rt_tag_range_t;

struct starhalo_exchange;

#include "rt_submit.h"

/** What the trace records of one direct request: peer, bytes, post id (rt_trace.c). */
typedef struct rt_reqinfo {
    int peer, is_send;
    int64_t bytes;
    uint64_t id;
    int done;
} rt_reqinfo_t;

/** Trace events of one request (no-ops unless StarPU records an FxT trace). */
void starhalo__trace_req_post(rt_reqinfo_t *r);
void starhalo__trace_req_done(rt_reqinfo_t *r);

/** "This part's messages are in": a void handle that the unpack task reads, held W from
 * begin until the progress thread saw every request complete, so that the unpack becomes
 * ready only then instead of blocking a worker in MPI_Waitall (rt_progress.c). */
typedef struct rt_arrival {
    starpu_data_handle_t handle; /**< NULL: the part has no remote message */
    int events;                  /**< acquired + completed: released at every second */
} rt_arrival_t;

/** One part's started requests of one direction, handed to the progress thread between its
 * pack and its unpack (rt_progress.c). */
typedef struct rt_watch {
    MPI_Request *req;
    int n, left;
    int *idx;              /**< MPI_Testsome scratch, n entries */
    rt_reqinfo_t *info;    /**< n entries, parallel to req */
    rt_arrival_t *arrival; /**< signalled when every request completed */
    int linked;            /**< on the progress thread's list */
    struct rt_watch *prev, *next;
} rt_watch_t;

/** Longest sleep of the progress thread between polls (STARHALO_PROGRESS_US overrides it)
 * and its first sleep after a new watch; it doubles in between (rt_progress.c). */
#define RT_PROGRESS_PERIOD_US 1000
#define RT_PROGRESS_FIRST_US  50
/** Messages from this size on use the progress thread (STARHALO_PROGRESS_BYTES). */
#define RT_PROGRESS_BYTES ((int64_t)16 << 10)

/** The context's MPI progress thread (started by the first exchange that needs it). */
typedef struct rt_progress {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    pthread_t thread;
    int running, stop;
    int fresh; /**< a watch was listed since the last poll: sleep short again */
    long period_us;
    rt_watch_t *head;
} rt_progress_t;

void starhalo__progress_init(rt_progress_t *p);
/** Start the thread unless it runs already. */
starhalo_status_t starhalo__progress_start(rt_progress_t *p);
/** Stop and join the thread; no watch may be listed. */
void starhalo__progress_fini(rt_progress_t *p);
/** List @p w (its requests just started) for testing until its unpack takes it back. */
void starhalo__progress_watch(rt_progress_t *p, rt_watch_t *w);
/** Take @p w back; afterwards only the caller uses its requests. Returns 1 if it was still
 * listed (its requests had not all completed). */
int starhalo__progress_unwatch(rt_progress_t *p, rt_watch_t *w);
/** At begin, after the pack is submitted: hold @p a W until its watch completes. */
starhalo_status_t starhalo__arrival_arm(rt_arrival_t *a);
/** One of the two events that release an armed arrival (also a StarPU acquire callback). */
void starhalo__arrival_event(void *arrival);

struct starhalo_context {
    MPI_Comm comm;
    int rank, size;
    int local_rank, nlocal; /**< ranks sharing this node (MPI_Comm_split_type SHARED) */
    int ncores;             /**< cores of the node (hwloc) */
    int we_init_mpi;
    int ncpus;
    starhalo__placement_t placement;
    int64_t tag_ub;
    rt_tag_range_t *free_tags; /**< sorted, disjoint free ranges */
    int nfree_tags;
    rt_pending_t *in_flight; /**< counters of live exchanges: wait_all waits for them too */
    int thread_level;        /**< MPI thread level provided */
    MPI_Comm dcomm;          /**< private dup of comm for the direct transport, MPI_ERRORS_RETURN */
    /** The phase token of the direct transport (see rt_transport_direct.c): packs take it
     * RW|COMMUTE, unpacks R, fused tasks RW. One per context: every exchange shares it. */
    starpu_data_handle_t token;
    int idle_hook;   /**< StarPU idle hook id (rt_context.c), -1 if none */
    int inline_runs; /**< exchanges running inline on the calling thread (idle workers yield) */
    int host_waits;  /**< starhalo_context_host_wait_begin depth (idle workers yield) */
    int idle_yield;  /**< idle workers always yield (STARHALO_IDLE_YIELD=1) */
    /** Idle workers sleep this long per poll during inline runs (0: yield); default 1000
     * with more ranks than cores on the node, STARHALO_INLINE_NAP_US. */
    long inline_nap_us;
    rt_progress_t progress; /**< MPI progress between packs and unpacks (rt_progress.c) */
    /* Direct transport: messages that leave the node go as chunks of at most chunk_bytes
     * (0: whole), below Open MPI's TCP eager limit, so that no rendezvous handshake waits
     * behind bulk data in the same TCP stream (docs/OVERLAP.md). */
    int64_t chunk_bytes;
    int chunk_all;          /**< STARHALO_CHUNK_BYTES set: chunk on-node messages too */
    unsigned char *on_node; /**< per rank of comm: 1 if it shares this node */
};

/** One local part of a field. */
typedef struct rt_part {
    int part;
    starhalo_part_plan_t *plan;
    int64_t plane_size; /**< elements of one ghosted plane (parts may differ) */
    void *data;         /**< ghosted tile, planes x plane_size elements */
    starpu_data_handle_t handle;
} rt_part_t;

struct starhalo_field {
    starhalo_context_t *ctx;
    const starhalo_decomp_t *decomp;
    starhalo_dtype_t dtype;
    int nparts;
    int *part_rank; /**< part -> rank */
    int *local_of;  /**< part -> index in parts[], -1 if remote */
    int nlocal;
    rt_part_t *parts;
    int64_t planes; /**< batch x channels */
    int wrapped;    /**< tiles are the caller's memory (starhalo_field_wrap): never freed */
    /* StarPU-MPI registration (rt_field.c): part p's tile has tag tag_base + p on every rank;
     * ntags = 0 for fields that are not registered (index fields). */
    int64_t tag_base, ntags;
    starpu_data_handle_t *remote; /**< part -> placeholder of a remote part (lazy), or NULL */
};

/** The integer in environment variable @p name if it is one in [0, @p max], else @p dflt
 * (rt_context.c). */
int64_t starhalo__env_int64(const char *name, int64_t dflt, int64_t max);

/** Tag booking (rt_tags.c). Collective by convention: every rank books in the same order. */
starhalo_status_t starhalo__tags_book(starhalo_context_t *ctx, int64_t n, int64_t *base);
void starhalo__tags_release(starhalo_context_t *ctx, int64_t base, int64_t n);

/** Agree across @p comm in one reduction: returns OK if every rank passed the same @p hash
 * and @p local_err is OK everywhere. Else a rank that failed returns its own error; the
 * others return STARHALO_ERR_MISMATCH, or with @p spread the most negative error of any
 * rank; a hash that differs gives MISMATCH. The message names @p what. */
starhalo_status_t starhalo__agree(MPI_Comm comm, uint64_t hash, starhalo_status_t local_err,
                                  const char *what, int spread);
/** FNV-1a over bytes, chained. */
uint64_t starhalo__hash(uint64_t h, const void *p, size_t n);

/** The context's in-flight counters (rt_context.c): starhalo_context_wait_all waits for every
 * tracked counter after StarPU's tasks, since detached transfers are not tasks. */
void starhalo__context_track(starhalo_context_t *ctx, rt_pending_t *p);
void starhalo__context_untrack(starhalo_context_t *ctx, rt_pending_t *p);
/** An exchange runs on the calling thread: idle workers yield meanwhile (rt_context.c). */
void starhalo__context_inline_enter(starhalo_context_t *ctx);
void starhalo__context_inline_leave(starhalo_context_t *ctx);

#endif
