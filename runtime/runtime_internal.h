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

/** Tasks and detached transfers submitted and not yet completed (rt_pending.c). */
typedef struct rt_pending {
    int count;
    long spin_us; /**< how long a waiter spins (pause, no yield) before it sleeps */
    pthread_mutex_t mutex;
    pthread_cond_t cond;
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
    struct starhalo_exchange *exchanges; /**< live exchanges (for wait_all) */
    int thread_level;                    /**< MPI thread level provided */
    MPI_Comm dcomm;                      /**< private dup of comm for the direct transport */
    starpu_data_handle_t token; /**< direct transport: packs RW|COMMUTE, unpacks R, fused RW */
    int idle_hook;              /**< StarPU idle hook id (rt_context.c), -1 if none */
    int inline_runs;            /**< starhalo_exchange_run calls running inline */
    int idle_yield;             /**< idle workers always yield (STARHALO_IDLE_YIELD=1) */
    rt_progress_t progress;     /**< MPI progress between packs and unpacks (rt_progress.c) */
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
};

#include "codelets.h"

#define NOPS 4 /* REPLACE, SUM, MAX, MIN */

struct starhalo_exchange;

typedef struct rt_peer {
    const starhalo_peer_xfer_t *x;
    int rank;  /**< rank owning the neighbour part */
    int local; /**< index of the neighbour in ex->xparts when on this rank, else -1 */
    int match; /**< for a local neighbour: its peer entry that talks to us */
    void *sendbuf, *recvbuf;
    starpu_data_handle_t hsend, hrecv;
    int64_t fwd_send_tag, fwd_recv_tag, rev_send_tag, rev_recv_tag;
} rt_peer_t;

typedef struct rt_xpart {
    rt_part_t **tiles; /**< this part's tile in each field */
    starhalo_xfer_plan_t *plan;
    int npeers;
    rt_peer_t *peers;
    /* Only neighbours with a non-empty message take part (asymmetric halos give empty
     * ones): send_idx[k] is the peer of send_msgs[k], likewise for receives. */
    int nsend, nrecv;
    int *send_idx, *recv_idx;
    starhalo_cl_msg_t *send_msgs, *recv_msgs;
    starhalo_cl_xfer_args_t pack_fwd, unpack_fwd, pack_rev, unpack_rev[NOPS];
    struct starpu_data_descr *descr; /**< scratch: nfields + npeers + 1 */
    /* Direct transport: persistent requests per direction [0 fwd, 1 rev], receives first. */
    MPI_Request *dreq[2];
    int ndrecv[2], ndsend[2];
    rt_reqinfo_t *dinfo[2];      /**< per request of dreq: peer and bytes, for the trace */
    rt_watch_t watch[2];         /**< dreq handed to the progress thread (rt_progress.c) */
    rt_arrival_t arrival;        /**< gates the unpack when the progress thread is used */
    void **dptrs;                /**< scratch of the direct tasks: nfields tile pointers */
    void **dmsgs;                /**< scratch of the direct tasks: npeers message pointers */
    struct rt_direct_arg *dargs; /**< [0] forward, [1 + op] reverse */
} rt_xpart_t;

/** cl_arg of the direct transport's tasks. */
typedef struct rt_direct_arg {
    struct starhalo_exchange *ex;
    rt_xpart_t *xp;
    int reverse;
    starhalo_reduce_op_t op;
} rt_direct_arg_t;

enum { IDLE, FORWARD, REVERSE };

/** Phases of a direct rank task (rt_exchange_direct.c). */
enum { RT_PHASE_PACK = 1, RT_PHASE_UNPACK = 2, RT_PHASE_BOTH = 3 };

/** cl_arg of a direct rank task: one task covers every local part. */
typedef struct rt_rank_arg {
    struct starhalo_exchange *ex;
    int phase; /**< RT_PHASE_* */
    int reverse;
    starhalo_reduce_op_t op;
} rt_rank_arg_t;

struct starhalo_exchange {
    starhalo_context_t *ctx;
    int nfields;
    starhalo_field_t **fields;
    int64_t *planes;
    int64_t msg_planes; /**< sum of every field's planes */
    starhalo_dtype_t dtype;
    int64_t tag_base, ntags;
    int nxparts;
    rt_xpart_t *xparts;
    starhalo_transport_t transport;
    starpu_data_handle_t token; /**< direct: the context's token (see rt_exchange_direct.c) */
    MPI_Comm dcomm;             /**< direct: the context's private communicator */
    int state;
    starhalo_reduce_op_t rev_op;
    rt_pending_t pending; /**< this exchange's tasks and transfers still in flight */
    /* Direct transport with rank tasks: one task per rank and phase instead of one per part
     * (few parts or small messages: a task costs ~5-10 us here). */
    int rank_tasks;
    /* Direct transport: split exchanges (begin ... end) hand their requests to the progress
     * thread, when the largest message reaches STARHALO_PROGRESS_BYTES. */
    int progress;
    rt_rank_arg_t rargs[3][1 + NOPS]; /**< [phase - 1][0 forward, 1 + op reverse] */
    struct starpu_data_descr *rdescr; /**< scratch: tiles, arrival handles, token */
    struct starhalo_exchange *next;
};

/** Lowers local part @p li of @p ex to its transfer plan (index exchanges). */
typedef starhalo_status_t (*starhalo__exchange_lower_fn)(const starhalo_exchange_t *ex, int li,
                                                         starhalo_xfer_plan_t **out);
/** Allocate and build an exchange over checked and agreed @p fields (rt_exchange.c; used by
 * rt_index_exchange.c): every local part's peers, message buffers and handles, tags from
 * [@p base, @p base + @p ntags) (owned from here on, released on failure), codelet args and
 * the direct transport's requests. Parts are lowered by @p lower, or from their part plan if
 * NULL. Failures are local (not agreed) and leave nothing behind; *out is set on success. */
starhalo_status_t starhalo__exchange_new(starhalo_context_t *ctx, starhalo_field_t *const *fields,
                                         int nfields, starhalo_transport_t transport, int64_t base,
                                         int64_t ntags, starhalo__exchange_lower_fn lower,
                                         starhalo_exchange_t **out);
/** Submit one task of @p ex at maximum priority, counted in ex->pending (rt_exchange.c). */
starhalo_status_t starhalo__exchange_insert(starhalo_exchange_t *ex, struct starpu_codelet *cl,
                                            struct starpu_data_descr *descr, int n, void *args,
                                            size_t args_size, const char *name);
/** The transport STARHALO_TRANSPORT_DEFAULT stands for (rt_exchange.c). */
starhalo_transport_t starhalo__exchange_default_transport(const starhalo_context_t *ctx);

/* Direct transport (rt_exchange_direct.c). */
/** OK if MPI allows the direct transport (worker threads calling MPI), else UNSUPPORTED. */
starhalo_status_t starhalo__direct_available(const starhalo_context_t *ctx);
starhalo_status_t starhalo__direct_setup(starhalo_exchange_t *ex, rt_xpart_t *xp);
/** Choose per-rank or per-part tasks for @p ex and set up the rank tasks' arguments. */
starhalo_status_t starhalo__direct_setup_rank(starhalo_exchange_t *ex);
/** Wait for every started persistent request of @p ex (inactive ones return at once). */
void starhalo__direct_complete_started(starhalo_exchange_t *ex);
/** Run the body of the fused rank task on the calling thread (tiles and token acquired). */
void starhalo__direct_run_inline(starhalo_exchange_t *ex, int reverse);
/** Submit the rank task of @p phase (RT_PHASE_*) for direction @p reverse. */
starhalo_status_t starhalo__direct_submit_rank(starhalo_exchange_t *ex, int phase, int reverse);
/** After the packs of a split exchange are submitted: gate its unpacks (rt_progress.c). */
starhalo_status_t starhalo__direct_arm_arrivals(starhalo_exchange_t *ex, int reverse);
void starhalo__direct_free(rt_xpart_t *xp);
extern struct starpu_codelet starhalo__cl_direct_pack, starhalo__cl_direct_unpack,
    starhalo__cl_direct_rank;

/** The integer in environment variable @p name if it is one in [0, @p max], else @p dflt
 * (rt_context.c). */
int64_t starhalo__env_int64(const char *name, int64_t dflt, int64_t max);

/** Tag booking (rt_tags.c). Collective by convention: every rank books in the same order. */
starhalo_status_t starhalo__tags_book(starhalo_context_t *ctx, int64_t n, int64_t *base);
void starhalo__tags_release(starhalo_context_t *ctx, int64_t base, int64_t n);

/** Agree across @p comm: returns OK if every rank passed the same @p hash and @p local_err
 * is OK everywhere; else this rank's error or STARHALO_ERR_MISMATCH (message names @p what). */
starhalo_status_t starhalo__agree(MPI_Comm comm, uint64_t hash, starhalo_status_t local_err,
                                  const char *what);
/** FNV-1a over bytes, chained. */
uint64_t starhalo__hash(uint64_t h, const void *p, size_t n);

void starhalo__context_add_exchange(starhalo_context_t *ctx, struct starhalo_exchange *ex);
void starhalo__context_remove_exchange(starhalo_context_t *ctx, struct starhalo_exchange *ex);
starhalo_status_t starhalo__exchange_wait_list(struct starhalo_exchange *first);

#endif
