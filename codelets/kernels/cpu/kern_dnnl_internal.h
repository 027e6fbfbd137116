/* SPDX-License-Identifier: MIT */
/**
 * @file kern_dnnl_internal.h
 * @brief Internal to the CPU kernels: the per-thread oneDNN state (engine, stream, scratch
 * buffers) and primitive cache (kern_dnnl_cache.c) that the forward kernels (kern_dnnl.c) and
 * the conv backward kernels (kern_dnnl_backward.c) share, and the tile <-> dense block copy.
 *
 * One state per thread, no lock: StarPU workers are threads and each keeps its own engine,
 * stream and primitives. A thread runs one kernel call at a time, so the scratch buffers are
 * the call's until it returns.
 */
#ifndef STARHALO_KERN_DNNL_INTERNAL_H
#define STARHALO_KERN_DNNL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>
#include <starhalo/starhalo_kernels.h>

/* Operations of a cached primitive (the first member of its key). */
enum {
    STARHALO__DNNL_CONV = 0,
    STARHALO__DNNL_POOL_MAX,
    STARHALO__DNNL_POOL_AVG,
    STARHALO__DNNL_POOL_AVG_EXCLUDE,
    STARHALO__DNNL_CONV_BWD_DATA,
    STARHALO__DNNL_CONV_BWD_WEIGHTS,
};

/* Per thread: a forward layer has up to 3 region shapes per part (interior, rows, columns)
 * and a backward one 2 primitives, so 2 layers over parts of 2 sizes need about 20. */
#define STARHALO__DNNL_CACHE_SLOTS 32

/* Everything that selects a primitive. Zeroed before filling so memcmp compares it. */
typedef struct starhalo__dnnl_key {
    int op;
    int has_bias;
    int kernel, stride, dilation;
    int64_t n, cin, cout;
    int64_t groups;              /* conv: >= 1; Cin and Cout are multiples of it */
    int64_t ih, iw, oh, ow;      /* window (input) and region (output) sizes */
    int64_t pl[2], pr[2];        /* explicit padding: [0] = H, [1] = W (oneDNN order) */
    int64_t in_sp[2], out_sp[2]; /* tile plane height and pitch (in-place descriptors) */
    int crop;                    /* forward: whole input tile in, dense output cropped */
    int transposed;              /* forward: H and W swapped */
} starhalo__dnnl_key_t;

/* A cached primitive. The memory objects carry no data handle; each call sets them. Their
 * roles: src = the input side (src, or diff_src for backward data), wei = weights (diff_weights
 * for backward weights), bias, dst = the output side (dst or diff_dst). */
typedef struct starhalo__dnnl_entry {
    starhalo__dnnl_key_t key;
    uint64_t stamp; /* 0 = free slot */
    int in_place;
    const char *impl;
    dnnl_primitive_desc_t hint; /* forward hint of a backward primitive, kept for its life */
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    dnnl_memory_t src, wei, bias, dst;
    /* Backward only, per argument (0 = src side, 1 = weights side, 2 = diff_dst): the caller's
     * plain view (a tile window or dense OIHW weights), the reorder between it and the layout
     * the primitive chose (NULL when they are the same) and that layout's size in bytes. */
    dnnl_memory_t view[3];
    dnnl_primitive_t reorder[3];
    size_t bytes[3];
} starhalo__dnnl_entry_t;

typedef struct starhalo__dnnl_thread {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    uint64_t clock;
    starhalo__dnnl_entry_t slot[STARHALO__DNNL_CACHE_SLOTS];
    float *scratch_in, *scratch_out, *scratch_w;
    size_t scratch_in_n, scratch_out_n, scratch_w_n;
    float *blocked[3]; /* backward: the primitive's layouts of its three arguments */
    size_t blocked_n[3];
    const char *last_impl;
    int last_in_place;
} starhalo__dnnl_thread_t;

/* Fill @p e (zeroed, key set) for key @p k: e->pd (and e->hint), e->impl, e->in_place; the
 * cache then creates the primitive. */
typedef starhalo_status_t (*starhalo__dnnl_build_fn)(starhalo__dnnl_thread_t *ts,
                                                     const starhalo__dnnl_key_t *k,
                                                     starhalo__dnnl_entry_t *e);

/* STARHALO_ERR_DNNL naming the call and oneDNN's status. */
starhalo_status_t starhalo__dnnl_fail(dnnl_status_t st, const char *what);

#define STARHALO__DNNL_TRY(call, what)                                                             \
    do {                                                                                           \
        dnnl_status_t dst_ = (call);                                                               \
        if (dst_ != dnnl_success)                                                                  \
            return starhalo__dnnl_fail(dst_, what);                                                \
    } while (0)

/* This thread's state, created on first use (engine, stream; OpenMP team size set to 1). */
starhalo_status_t starhalo__dnnl_thread_get(starhalo__dnnl_thread_t **out);

/* The cached entry of key @p k, built by @p build on a miss (least recently used slot). */
starhalo_status_t starhalo__dnnl_entry_get(starhalo__dnnl_thread_t *ts,
                                           const starhalo__dnnl_key_t *k,
                                           starhalo__dnnl_build_fn build,
                                           starhalo__dnnl_entry_t **out);

/* A memory object (no data handle) for the md @p what / @p index of @p e->pd into @p mem. */
starhalo_status_t starhalo__dnnl_entry_memory(starhalo__dnnl_thread_t *ts,
                                              const starhalo__dnnl_entry_t *e, dnnl_query_t what,
                                              int index, dnnl_memory_t *mem);

/* Grow a scratch buffer to at least @p n floats, 64-byte aligned (contents not kept). */
starhalo_status_t starhalo__dnnl_grow(float **buf, size_t *cap, size_t n);

/* The caller's dense weights of a conv key: OIHW (Cout x Cin x k x k), or GOIHW with groups > 1
 * (oneDNN's grouped layout, the same bytes as Cout x Cin/G x k x k); format "any" when
 * @p any. */
static inline void starhalo__dnnl_weights_md(const starhalo__dnnl_key_t *k, int any,
                                             dnnl_memory_desc_t *md)
{
    const int64_t g = k->groups;
    if (g > 1) {
        const dnnl_dims_t dims = {g, k->cout / g, k->cin / g, k->kernel, k->kernel};
        dnnl_memory_desc_init_by_tag(md, 5, dims, dnnl_f32, any ? dnnl_format_tag_any : dnnl_goihw);
    } else {
        const dnnl_dims_t dims = {k->cout, k->cin, k->kernel, k->kernel};
        dnnl_memory_desc_init_by_tag(md, 4, dims, dnnl_f32, any ? dnnl_format_tag_any : dnnl_oihw);
    }
}

/* Copy a window of rows between a tile (pitch gw, plane gh*gw) and a dense block
 * [planes][h][w]: to the block when @p to_dense, else back into the tile. */
static inline void starhalo__dnnl_copy_block(int to_dense, float *tile, int64_t gw, int64_t gh,
                                             int64_t x0, int64_t y0, float *dense, int64_t planes,
                                             int64_t h, int64_t w)
{
    for (int64_t p = 0; p < planes; p++)
        for (int64_t y = 0; y < h; y++) {
            float *t = tile + (p * gh + y0 + y) * gw + x0;
            float *dd = dense + (p * h + y) * w;
            if (to_dense)
                memcpy(dd, t, (size_t)w * sizeof(float));
            else
                memcpy(t, dd, (size_t)w * sizeof(float));
        }
}

#endif
