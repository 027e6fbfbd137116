/* SPDX-License-Identifier: MIT */
/**
 * @file codelet_xfer.h
 * @brief The pack/unpack loops behind starhalo_cl_pack / starhalo_cl_unpack, callable on raw
 * pointers so that the runtime's direct-MPI transport runs exactly the same code, and what
 * both codelets share: their buffers as pointers, the CUDA loop over messages and fields.
 */
#ifndef STARHALO_CODELET_XFER_H
#define STARHALO_CODELET_XFER_H

#include "codelets.h"

/** Gather every field's runs into each message: tiles[nfields], msgs[a->nmsgs]. */
void starhalo__xfer_pack(const starhalo_cl_xfer_args_t *a, void *const *tiles, void *const *msgs);
/** Scatter each message into every field's runs with a->op: msgs[a->nmsgs], tiles[nfields]. */
void starhalo__xfer_unpack(const starhalo_cl_xfer_args_t *a, void *const *msgs, void *const *tiles);

/** The first failure of a pack/unpack task, process-wide (0 = none): a codelet cannot return
 * an error, and the exchange-owned args have no status field. Only CUDA launches (and an
 * out-of-memory for the pointer table) can fail; tests read it, the runtime does not yet. */
extern int starhalo__xfer_status;

/* Buffers of one task: at most this many on the stack (more go through the heap). */
#define STARHALO__XFER_STACK 64

/** The data pointers of a pack/unpack task's nfields + nmsgs buffers (in buffer order). */
typedef struct starhalo__xfer_ptrs {
    void *stack[STARHALO__XFER_STACK];
    void **p; /**< NULL when the heap had no room */
} starhalo__xfer_ptrs_t;

static inline void **starhalo__xfer_ptrs_get(starhalo__xfer_ptrs_t *x, void *buffers[],
                                             const starhalo_cl_xfer_args_t *a)
{
    const int n = a->nfields + a->nmsgs;
    x->p = n <= STARHALO__XFER_STACK ? x->stack : malloc(sizeof(void *) * (size_t)n);
    for (int i = 0; x->p && i < n; i++)
        x->p[i] = (void *)STARPU_VECTOR_GET_PTR(buffers[i]);
    return x->p;
}

static inline void starhalo__xfer_ptrs_put(starhalo__xfer_ptrs_t *x)
{
    if (x->p != x->stack)
        free(x->p);
}

#if STARHALO_USE_CUDA && defined(STARPU_USE_CUDA)
/**
 * Pack (@p unpack = 0: tiles -> msgs) or unpack (1: msgs -> tiles, a->op) on @p stream: the
 * run tables of every message go to the device in one copy (starhalo_kern_runs_upload_cuda),
 * then one kernel per message and field, in message order on one stream, so that a reverse
 * SUM accumulates every message as the CPU loop does.
 */
static inline starhalo_status_t starhalo__xfer_cuda(const starhalo_cl_xfer_args_t *a, int unpack,
                                                    void *const *tiles, void *const *msgs,
                                                    void *stream)
{
    const starhalo_run_t *rs[STARHALO__XFER_STACK];
    int nr[STARHALO__XFER_STACK];
    const int64_t *off[STARHALO__XFER_STACK], *pre[STARHALO__XFER_STACK];
    STARHALO_REQUIRE(a->nmsgs <= STARHALO__XFER_STACK, STARHALO_ERR_UNSUPPORTED,
                     "%s_cuda: %d messages in one task, at most %d", unpack ? "unpack" : "pack",
                     a->nmsgs, STARHALO__XFER_STACK);
    for (int m = 0; m < a->nmsgs; m++) {
        rs[m] = a->msgs[m].runs;
        nr[m] = a->msgs[m].nruns;
    }
    STARHALO_CHECK(starhalo_kern_runs_upload_cuda(a->nmsgs, rs, nr, off, pre, stream));
    const size_t esz = starhalo_dtype_size(a->dtype);
    for (int m = 0; m < a->nmsgs; m++) {
        char *msg = msgs[m];
        for (int f = 0; f < a->nfields; f++) {
            const starhalo_cl_msg_t *g = &a->msgs[m];
            STARHALO_CHECK(unpack ? starhalo_kern_unpack_cuda(a->dtype, msg, g->count, a->planes[f],
                                                              off[m], pre[m], g->nruns, tiles[f],
                                                              a->plane_size, a->op, stream)
                                  : starhalo_kern_pack_cuda(a->dtype, tiles[f], a->plane_size,
                                                            a->planes[f], off[m], pre[m], g->nruns,
                                                            g->count, msg, stream));
            msg += (size_t)(a->planes[f] * g->count) * esz;
        }
    }
    return STARHALO_OK;
}

#endif

/**
 * The body of the pack (@p unpack = 0; buffers: tiles, then messages) and unpack (1; messages,
 * then tiles) codelets, on a CPU (@p cuda = 0) or queued on the CUDA worker's stream.
 */
static inline void starhalo__xfer_task(void *buffers[], const starhalo_cl_xfer_args_t *a,
                                       int unpack, int cuda)
{
    starhalo__xfer_ptrs_t x;
    void **p = starhalo__xfer_ptrs_get(&x, buffers, a);
    if (!p) { /* cannot happen for real exchanges (a few dozen buffers) */
        starhalo__cl_record(&starhalo__xfer_status,
                            starhalo_error_set(STARHALO_ERR_NO_MEMORY, "pack/unpack: pointers"));
        return;
    }
    void **tiles = unpack ? p + a->nmsgs : p, **msgs = unpack ? p : p + a->nfields;
#if STARHALO_USE_CUDA && defined(STARPU_USE_CUDA)
    if (cuda) {
        starhalo__cl_record(
            &starhalo__xfer_status,
            starhalo__xfer_cuda(a, unpack, tiles, msgs, starpu_cuda_get_local_stream()));
        starhalo__xfer_ptrs_put(&x);
        return;
    }
#endif
    (void)cuda;
    if (unpack)
        starhalo__xfer_unpack(a, msgs, tiles);
    else
        starhalo__xfer_pack(a, tiles, msgs);
    starhalo__xfer_ptrs_put(&x);
}

/* History-based models of pack/unpack (footprint: the buffer sizes, StarPU's default). A
 * simulation needs a time for every codelet (tools/simulate calibrates them with a
 * STARHALO_EXCHANGE_MODELS build), and with CUDA workers dmda needs them to choose between
 * the CPU and the GPU. Other builds leave them out (no model files to maintain). */
#if defined(STARHALO_SIMGRID) || defined(STARHALO_EXCHANGE_MODELS) ||                              \
    (STARHALO_USE_CUDA && defined(STARPU_USE_CUDA))
#define STARHALO__XFER_MODELS 1
#else
#define STARHALO__XFER_MODELS 0
#endif

#endif
