/* SPDX-License-Identifier: MIT */
/**
 * @file mpi_requests.h
 * @brief One direction's messages as a set of MPI requests: persistent (created once, started
 * per exchange) or immediate (MPI_Irecv / MPI_Isend per exchange), off-node messages cut into
 * equal chunks, every MPI result mapped to a starhalo status. StarPU-free; used by the
 * plain-MPI executor (two-sided and persistent transports) and by the StarPU direct
 * transport (rt_transport_direct.c), whose progress thread (rt_progress.c) tests its sets.
 *
 * Layout of a set: the receives first, requests [0, nrecv), then the sends, [nrecv, nrecv +
 * nsend); within each group, messages in the order given and each message's chunks in order.
 * req[i] and desc[i] describe the same request, so a caller may keep arrays of its own
 * (trace ids, ...) of starhalo__mx_requests_count() entries indexed the same way.
 *
 * Chunks: a message of B bytes with chunk size C > 0 and B > C becomes n = ceil(B / C) requests
 * of equal size (ceil(B / n) bytes, the last one shorter; 128 KiB with C = 65472: three of
 * 43691 bytes, not 65472 + 65472 + 128), rounded to whole elements. Sender and receiver must
 * pass the same B and C. Chunks of one message share peer, tag and communicator, so MPI
 * matches them in order (messages do not overtake each other).
 *
 * Typical use by one direction of an exchange (the direct transport has one set per direction,
 * [forward, reverse]):
 *
 *     starhalo__mx_requests_init(&set, comm, MPI_BYTE, msgs, nmsgs, MX_REQUESTS_PERSISTENT);
 *     per exchange:
 *         starhalo__mx_requests_start_recvs(&set);   // before the pack
 *         ... pack the send buffers ...
 *         starhalo__mx_requests_start_sends(&set);   // after the pack
 *         ... compute; a progress thread may call starhalo__mx_requests_test_some(&set, ...) ...
 *         starhalo__mx_requests_wait(&set);          // then unpack
 *     starhalo__mx_requests_free(&set);
 *
 * Threads: a set is used by one thread at a time (the progress thread and the unpacking task
 * hand it over under a mutex, rt_progress.c). MPI must be initialised with
 * MPI_THREAD_MULTIPLE when sets of one process are used by several threads.
 *
 * Errors: every function returns STARHALO_OK or STARHALO_ERR_MPI (the message names the MPI
 * call, the peer and tag where known, and MPI's error string), STARHALO_ERR_NO_MEMORY or
 * STARHALO_ERR_UNSUPPORTED (a chunk over INT_MAX elements). They return errors only if the
 * communicator's error handler returns them (MPI_ERRORS_RETURN, see
 * starhalo__mpi_comm_dup_returning in mpi_status.h); under the default handler MPI aborts
 * first. After an error in a start, the remaining requests of the call are still started,
 * so that peers are not left waiting for a message this rank could still send.
 */
#ifndef STARHALO_MPI_REQUESTS_H
#define STARHALO_MPI_REQUESTS_H

#include <stdint.h>

#include <mpi.h>

#include "mpi_status.h"

/** Slots per part of a structured plan: the 26 neighbours of a 3-D box and the part itself
 * (the StarPU runtime's STARHALO__SLOTS). */
enum { STARHALO_MX_SLOTS_PER_PART = 27 };

/**
 * The one message-tag scheme of the library: the message that part @p part sends from its
 * slot @p slot uses base + 2 * (27 * part + slot) forward and one more reverse; its receiver
 * posts the same tag. The StarPU runtime passes its booked tag base and the sending part
 * (forward: sender = the owner; reverse: the roles swap, so the tag is the forward receive
 * tag + 1 at the sender and the forward send tag + 1 at the receiver). The plain-MPI executor
 * passes base 0 and part 0: a plan tag names the message between two ranks by itself
 * ("2 * plan tag + direction").
 */
static inline int64_t starhalo__mx_message_tag(int64_t base, int64_t part, int64_t slot,
                                               int reverse)
{
    return base + 2 * ((int64_t)STARHALO_MX_SLOTS_PER_PART * part + slot) + (reverse ? 1 : 0);
}

/** One message of a direction, as the caller describes it. */
typedef struct mx_message {
    int peer;            /**< rank in the set's communicator */
    int tag;             /**< MPI tag (starhalo__mx_message_tag) */
    int is_send;         /**< 1: this rank sends @p buf; 0: receives into it */
    void *buf;           /**< the message's memory; must stay valid until the set is freed */
    int64_t bytes;       /**< message size; 0: no request */
    int64_t chunk_bytes; /**< 0: one request; else chunks of at most this many bytes */
    /** Non-zero: the message is one element of @p type at @p buf (a derived datatype over
     * the caller's own memory, e.g. rows of a tile in place; @p buf may be MPI_BOTTOM), one
     * request of @p bytes bytes, never chunked. Zero: @p bytes of the set's type at @p buf. */
    int typed;
    MPI_Datatype type;
} mx_message_t;

/** One request of a set (one message, or one chunk of it). */
typedef struct mx_request_desc {
    int peer;          /**< rank in the communicator */
    int tag;           /**< MPI tag */
    int is_send;       /**< 1: send, 0: receive */
    int count;         /**< elements of @p type */
    MPI_Datatype type; /**< the set's type, or the message's own (mx_message_t.typed) */
    int64_t bytes;     /**< bytes of this request (for trace events) */
    char *buf;         /**< start of this request's bytes */
} mx_request_desc_t;

/** How the requests are made. */
typedef enum mx_requests_kind {
    MX_REQUESTS_PERSISTENT = 0, /**< MPI_Recv_init / MPI_Send_init once, MPI_Startall per call */
    MX_REQUESTS_IMMEDIATE       /**< MPI_Irecv / MPI_Isend per call (the two-sided transport) */
} mx_requests_kind_t;

/** The requests of one direction. Fields are read-only for callers. */
typedef struct mx_requests {
    MPI_Comm comm;
    MPI_Datatype type; /**< element type of every request (MPI_BYTE, MPI_FLOAT, ...) */
    mx_requests_kind_t kind;
    int nrecv, nsend;        /**< receives are req[0, nrecv), sends req[nrecv, nrecv + nsend) */
    MPI_Request *req;        /**< nrecv + nsend entries (MPI_REQUEST_NULL when not made) */
    mx_request_desc_t *desc; /**< parallel to req */
    MPI_Status *statuses;    /**< scratch of wait / test_some (no allocation per call) */
    int *completed;          /**< scratch of test_some: indexes of the requests just completed */
} mx_requests_t;

/** Number of requests a message of @p bytes makes with chunk size @p chunk_bytes (0: none
 * for an empty message, 1 without chunking). */
int starhalo__mx_requests_count(int64_t bytes, int64_t chunk_bytes);

/**
 * Make the requests of @p nmsgs messages over @p comm with element type @p type (every
 * message's bytes and chunk a multiple of its size; MPI_BYTE for raw bytes). Receives come
 * first whatever the order of @p msgs. Persistent sets create the requests now (not started);
 * immediate sets only record them. On error the set is freed (and zeroed). Local, not
 * collective. A zeroed set (all fields 0) may be freed.
 * @retval STARHALO_ERR_INVALID_ARG a NULL set, negative sizes, a NULL buffer of a non-empty message
 * @retval STARHALO_ERR_UNSUPPORTED a request (message or chunk) over INT_MAX elements
 * @retval STARHALO_ERR_NO_MEMORY
 * @retval STARHALO_ERR_MPI MPI_Recv_init / MPI_Send_init failed (message names peer and tag)
 */
starhalo_status_t starhalo__mx_requests_init(mx_requests_t *set, MPI_Comm comm, MPI_Datatype type,
                                             const mx_message_t *msgs, int nmsgs,
                                             mx_requests_kind_t kind);

/** Start the receives (MPI_Startall of req[0, nrecv), or MPI_Irecv each). */
starhalo_status_t starhalo__mx_requests_start_recvs(mx_requests_t *set);
/** Start the sends (MPI_Startall of req[nrecv, nrecv + nsend), or MPI_Isend each). */
starhalo_status_t starhalo__mx_requests_start_sends(mx_requests_t *set);
/** Start receives and sends (one MPI_Startall over all requests of a persistent set). */
starhalo_status_t starhalo__mx_requests_start_all(mx_requests_t *set);

/** MPI_Waitall over every request of the set (inactive ones return at once). On an error of
 * one request (MPI_ERR_IN_STATUS), the message names that request's MPI error, peer and tag. */
starhalo_status_t starhalo__mx_requests_wait(mx_requests_t *set);

/** MPI_Testall: *done = 1 once every request completed (to poll and yield instead of
 * blocking in MPI_Waitall). */
starhalo_status_t starhalo__mx_requests_test_all(mx_requests_t *set, int *done);

/**
 * MPI_Testsome over the set, for a progress thread: *ncompleted requests completed since the
 * last test, their indexes in set->completed[0, *ncompleted) (index into req / desc). When no
 * request is active any more (all completed, or none started), *ncompleted is 0 and
 * *none_active is 1.
 */
starhalo_status_t starhalo__mx_requests_test_some(mx_requests_t *set, int *ncompleted,
                                                  int *none_active);

/** Free the requests (persistent ones with MPI_Request_free; they must be inactive, i.e.
 * waited for) and the arrays; zeroes the set. NULL and zeroed sets are allowed. */
void starhalo__mx_requests_free(mx_requests_t *set);

#endif
