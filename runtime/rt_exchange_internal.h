/* SPDX-License-Identifier: MIT */
/**
 * @file rt_exchange_internal.h
 * @brief Private structs of exchanges, split by who owns what:
 *  - the layout (rt_exchange_layout.c): per local part its neighbours, message buffers and
 *    handles, tags and codelet arguments, the same for every transport;
 *  - the transports (rt_transport_starpu_mpi.c, rt_transport_direct.c): an ops table each,
 *    with private state behind ex->transport_state and xp->transport_state;
 *  - the exchange (rt_exchange.c): the public API, one create path, the begin/end state.
 * Calls go down only: rt_exchange.c -> transports -> layout -> codelets, plans, context.
 */
#ifndef STARHALO_RT_EXCHANGE_INTERNAL_H
#define STARHALO_RT_EXCHANGE_INTERNAL_H

#include "codelets.h"
#include "runtime_internal.h"

#define NOPS 4 /* REPLACE, SUM, MAX, MIN */

/** Directions of an exchange: forward fills ghosts, reverse sends them back to owners. */
enum { RT_FORWARD = 0, RT_REVERSE = 1 };

/** One neighbour of a local part. */
typedef struct rt_neighbor {
    const starhalo_peer_xfer_t *xfer; /**< the plan's runs and counts with this neighbour */
    int rank;                         /**< rank owning the neighbour part */
    int local_index; /**< index of the neighbour in ex->xparts when on this rank, else -1 */
    int mirror;      /**< for a local neighbour: its own entry that talks to this part */
    void *sendbuf, *recvbuf;
    starpu_data_handle_t send_handle, recv_handle;
    int64_t send_tag[2], recv_tag[2]; /**< MPI tags per direction (RT_FORWARD, RT_REVERSE) */
} rt_neighbor_t;

/** One local part of an exchange. */
typedef struct rt_xpart {
    rt_part_t **tiles; /**< this part's tile in each field */
    starhalo_xfer_plan_t *plan;
    int nneighbors;
    rt_neighbor_t *neighbors;
    /* Only neighbours with a non-empty message take part (asymmetric halos give empty
     * ones): send_neighbor[k] is the neighbour of send_msgs[k], likewise for receives. */
    int nsend, nrecv;
    int *send_neighbor, *recv_neighbor;
    starhalo_cl_msg_t *send_msgs, *recv_msgs;
    starhalo_cl_xfer_args_t pack_args[2];         /**< per direction */
    starhalo_cl_xfer_args_t unpack_args[2][NOPS]; /**< per direction and reduction */
    struct starpu_data_descr *descr; /**< task scratch: nfields + nneighbors + 2 entries */
    void *transport_state;           /**< the transport's per-part state */
} rt_xpart_t;

typedef struct starhalo_exchange starhalo_exchange_t;

/** What a transport does; every entry is required. */
typedef struct rt_transport_ops {
    const char *name;
    /** Once the layout is built: requests, handles, task choices. Local failures only. */
    starhalo_status_t (*setup)(starhalo_exchange_t *ex);
    starhalo_status_t (*begin)(starhalo_exchange_t *ex, int reverse);
    starhalo_status_t (*end)(starhalo_exchange_t *ex, int reverse);
    /** begin + end in one go (a transport may fuse them into one task). */
    starhalo_status_t (*submit)(starhalo_exchange_t *ex, int reverse);
    /** begin + end + wait; may run the exchange on the calling thread. */
    starhalo_status_t (*run)(starhalo_exchange_t *ex, int reverse);
    /** After an end that could not be submitted: complete what the begin started, so that
     * no transfer still uses the buffers when they are freed. */
    void (*abandon)(starhalo_exchange_t *ex);
    /** Free the transport's state (tasks are done). Safe after a partial setup. */
    void (*teardown)(starhalo_exchange_t *ex);
} rt_transport_ops_t;

extern const rt_transport_ops_t starhalo__transport_starpu_mpi, starhalo__transport_direct;

enum { RT_IDLE, RT_IN_FORWARD, RT_IN_REVERSE };

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
    const rt_transport_ops_t *ops;
    void *transport_state;
    int state;                   /**< RT_IDLE, or which direction is between begin and end */
    starhalo_reduce_op_t rev_op; /**< the reduction of the reverse exchange in progress */
    /** First failure seen inside a task or transfer (STARHALO_OK if none): reported by the
     * next end, submit, run or wait of this exchange. */
    starhalo_status_t failed;
    char failed_msg[256];
    rt_pending_t pending; /**< this exchange's tasks and transfers still in flight */
};

/* Layout (rt_exchange_layout.c). */

/** Lowers local part @p li of @p ex to its transfer plan. */
typedef starhalo_status_t (*starhalo__exchange_lower_fn)(const starhalo_exchange_t *ex, int li,
                                                         starhalo_xfer_plan_t **out);
/** Every local part's neighbours, buffers, handles, tags and codelet args. Local failures
 * only; what was built is freed by starhalo__layout_free. */
starhalo_status_t starhalo__layout_build(starhalo_exchange_t *ex,
                                         starhalo__exchange_lower_fn lower);
void starhalo__layout_free(starhalo_exchange_t *ex);
/** Bytes of one message to (@p send) or from neighbour @p nb, all fields. */
int64_t starhalo__layout_message_bytes(const starhalo_exchange_t *ex, const rt_neighbor_t *nb,
                                       int send);
/** Data of a part's pack task into xp->descr (tiles R, outgoing buffers W); returns the count. */
int starhalo__layout_pack_descr(const starhalo_exchange_t *ex, rt_xpart_t *xp, int reverse);
/** Data of a part's unpack task into xp->descr (incoming buffers R, tiles RW). */
int starhalo__layout_unpack_descr(const starhalo_exchange_t *ex, rt_xpart_t *xp, int reverse);
/** The message pointers a pack (@p unpack 0) or unpack of @p xp works on, in the order of
 * its args' messages, into @p ptrs: the part's own buffers, or for an unpack from a local
 * neighbour that neighbour's outgoing buffer (the memory the handles of the descr cover). */
void starhalo__layout_message_ptrs(const starhalo_exchange_t *ex, const rt_xpart_t *xp, int reverse,
                                   int unpack, void **ptrs);
/** The tile pointers of @p xp, one per field, into @p ptrs. */
void starhalo__layout_tile_ptrs(const starhalo_exchange_t *ex, const rt_xpart_t *xp, void **ptrs);

/** Submit one task of @p ex at maximum priority, counted in ex->pending. */
starhalo_status_t starhalo__exchange_task(starhalo_exchange_t *ex, struct starpu_codelet *cl,
                                          struct starpu_data_descr *descr, int n, void *args,
                                          size_t args_size, const char *name);
/** Record the first failure inside a task or transfer of @p ex (any thread). */
void starhalo__exchange_fail(starhalo_exchange_t *ex, starhalo_status_t status);

/* Exchange creation shared by structured and index exchanges (rt_exchange.c). */

/** Checks an exchange's fields locally (rt_field.c, rt_index_exchange.c). */
typedef starhalo_status_t (*starhalo__exchange_check_fn)(starhalo_context_t *ctx,
                                                         starhalo_field_t *const *fields,
                                                         int nfields);
/**
 * The one create path: check locally (@p check), resolve the transport, book tags, agree
 * on all of it across ranks, build (layout + transport setup), and agree on the build too,
 * so that a local failure (out of memory on one rank) is every rank's error and no rank
 * goes on to hang in its first exchange. @p what names the caller in messages; with
 * @p spread a rank whose input was fine gets the failing rank's error, else MISMATCH (the
 * build's failures are always spread).
 */
starhalo_status_t starhalo__exchange_create(starhalo_context_t *ctx,
                                            starhalo_field_t *const *fields, int nfields,
                                            starhalo_transport_t transport,
                                            starhalo__exchange_check_fn check,
                                            starhalo__exchange_lower_fn lower, const char *what,
                                            int spread, starhalo_exchange_t **out);
/** OK if MPI allows the direct transport (worker threads calling MPI), else UNSUPPORTED
 * (rt_transport_direct.c). */
starhalo_status_t starhalo__direct_available(const starhalo_context_t *ctx);
/** Started persistent requests of a direct exchange that have not completed (0 for other
 * transports): the soak test's leak check. */
long starhalo__direct_open_requests(const starhalo_exchange_t *ex);

#endif
