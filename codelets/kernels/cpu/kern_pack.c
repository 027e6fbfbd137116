/* SPDX-License-Identifier: MIT */
/**
 * @file kern_pack.c
 * @brief Pack (gather runs into a message) and unpack (scatter with a reduction) on the CPU.
 *
 * A run is contiguous, so REPLACE is one memcpy per run and plane; the reductions are plain
 * loops the compiler vectorises; every reduction loop (contiguous runs and index scatters) is
 * expanded from the one FOR_EACH_REDUCE_OP table. The gather/scatter variants take expanded
 * element indexes instead of runs (the plain-MPI executor's short runs of index plans). The
 * *_by_element variants compute every element's position
 * with the kern_index.h math the CUDA kernels use, so the CPU tests cover that math.
 */
#include "kern_index.h"
#include "kern_cuda.h"

/* GCC 12's -O2 cost model does not vectorise loops that need an epilogue (kern_stencil.c). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif

#include <stdint.h>
#include <string.h>

/* Copy one run. Short runs (the columns of a vertical split: halo-width elements per row)
 * are the common case and a libc memcpy call per 12 bytes dominated packing; fixed-size,
 * overlapping moves inline to a few instructions. Callers' runs never overlap each other. */
static inline void copy_run(char *restrict d, const char *restrict s, size_t bytes)
{
    if (bytes >= 8 && bytes <= 16) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + bytes - 8, 8);
        memcpy(d, &a, 8);
        memcpy(d + bytes - 8, &b, 8);
    } else if (bytes >= 4 && bytes < 8) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + bytes - 4, 4);
        memcpy(d, &a, 4);
        memcpy(d + bytes - 4, &b, 4);
    } else {
        memcpy(d, s, bytes);
    }
}

void starhalo_kern_pack_cpu(starhalo_dtype_t dtype, const void *src, int64_t plane_size,
                            int64_t planes, const starhalo_run_t *runs, int nruns, int64_t count,
                            void *dst)
{
    const size_t esz = starhalo_dtype_size(dtype);
    const char *s = src;
    char *d = dst;
    for (int64_t p = 0; p < planes; p++) {
        const char *plane = s + (size_t)(p * plane_size) * esz;
        char *out = d + (size_t)(p * count) * esz;
        for (int r = 0; r < nruns; r++) {
            const size_t bytes = (size_t)runs[r].length * esz;
            copy_run(out, plane + (size_t)runs[r].offset * esz, bytes);
            out += bytes;
        }
    }
}

/* The one set of reduction loops: LOOP(T, OPEXPR) expanded for every dtype and op, where
 * OPEXPR combines a (the value in place) with b (the incoming one). The contiguous combine
 * below and the index scatter use it, so SUM/MAX/MIN are written once. */
#define REDUCE_OPS_OF_TYPE(LOOP, T, op)                                                            \
    do {                                                                                           \
        switch (op) {                                                                              \
        case STARHALO_REDUCE_SUM:                                                                  \
            LOOP(T, a + b);                                                                        \
            break;                                                                                 \
        case STARHALO_REDUCE_MAX:                                                                  \
            LOOP(T, a > b ? a : b);                                                                \
            break;                                                                                 \
        case STARHALO_REDUCE_MIN:                                                                  \
            LOOP(T, a < b ? a : b);                                                                \
            break;                                                                                 \
        default:                                                                                   \
            LOOP(T, ((void)a, b));                                                                 \
            break;                                                                                 \
        }                                                                                          \
    } while (0)

/* BODY(T, ...) for the C type of @p dtype. */
#define FOR_DTYPE(dtype, BODY, ...)                                                                \
    do {                                                                                           \
        if ((dtype) == STARHALO_FLOAT32)                                                           \
            BODY(float, __VA_ARGS__);                                                              \
        else                                                                                       \
            BODY(double, __VA_ARGS__);                                                             \
    } while (0)

#define REDUCE_OPS_OF_TYPE_(T, LOOP, op)    REDUCE_OPS_OF_TYPE(LOOP, T, op)
#define FOR_EACH_REDUCE_OP(LOOP, dtype, op) FOR_DTYPE(dtype, REDUCE_OPS_OF_TYPE_, LOOP, op)

#define CONTIGUOUS_REDUCE_LOOP(T, OPEXPR)                                                          \
    do {                                                                                           \
        const T *in_ = (const T *)(in);                                                            \
        T *io_ = (T *)(io);                                                                        \
        for (int64_t i_ = 0; i_ < (n); i_++) {                                                     \
            const T a = io_[i_], b = in_[i_];                                                      \
            io_[i_] = (OPEXPR);                                                                    \
        }                                                                                          \
    } while (0)

/* io[i] = op(io[i], in[i]) for n elements. */
static void combine(starhalo_dtype_t dtype, const void *in, void *io, int64_t n,
                    starhalo_reduce_op_t op)
{
    if (op == STARHALO_REDUCE_REPLACE) {
        copy_run(io, in, (size_t)n * starhalo_dtype_size(dtype));
        return;
    }
    FOR_EACH_REDUCE_OP(CONTIGUOUS_REDUCE_LOOP, dtype, op);
}

void starhalo_kern_unpack_cpu(starhalo_dtype_t dtype, const void *src, int64_t count,
                              int64_t planes, const starhalo_run_t *runs, int nruns, void *dst,
                              int64_t plane_size, starhalo_reduce_op_t op)
{
    const size_t esz = starhalo_dtype_size(dtype);
    const char *s = src;
    char *d = dst;
    for (int64_t p = 0; p < planes; p++) {
        const char *in = s + (size_t)(p * count) * esz;
        char *plane = d + (size_t)(p * plane_size) * esz;
        for (int r = 0; r < nruns; r++) {
            const size_t bytes = (size_t)runs[r].length * esz;
            if (op == STARHALO_REDUCE_REPLACE) /* the forward update: no call per run */
                copy_run(plane + (size_t)runs[r].offset * esz, in, bytes);
            else
                combine(dtype, in, plane + (size_t)runs[r].offset * esz, runs[r].length, op);
            in += bytes;
        }
    }
}

void starhalo_kern_reduce_cpu(starhalo_dtype_t dtype, const void *src, void *dst, int64_t n,
                              starhalo_reduce_op_t op)
{
    combine(dtype, src, dst, n, op);
}

#define INDEX_GATHER_LOOP(T, unused_)                                                              \
    do {                                                                                           \
        for (int64_t p_ = 0; p_ < planes; p_++) {                                                  \
            const T *in_ = (const T *)src + p_ * plane_size;                                       \
            T *out_ = (T *)dst + p_ * count;                                                       \
            for (int64_t i_ = 0; i_ < count; i_++)                                                 \
                out_[i_] = in_[index[i_]];                                                         \
        }                                                                                          \
    } while (0)

void starhalo_kern_gather_cpu(starhalo_dtype_t dtype, const void *src, int64_t plane_size,
                              int64_t planes, const int64_t *index, int64_t count, void *dst)
{
    FOR_DTYPE(dtype, INDEX_GATHER_LOOP, 0);
}

#define INDEX_SCATTER_LOOP(T, OPEXPR)                                                              \
    do {                                                                                           \
        for (int64_t p_ = 0; p_ < planes; p_++) {                                                  \
            const T *in_ = (const T *)src + p_ * count;                                            \
            T *out_ = (T *)dst + p_ * plane_size;                                                  \
            for (int64_t i_ = 0; i_ < count; i_++) {                                               \
                const T a = out_[index[i_]], b = in_[i_];                                          \
                out_[index[i_]] = (OPEXPR);                                                        \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* In index order: an index listed twice is combined twice (as the executor documents). */
void starhalo_kern_scatter_cpu(starhalo_dtype_t dtype, const void *src, int64_t count,
                               int64_t planes, const int64_t *index, void *dst, int64_t plane_size,
                               starhalo_reduce_op_t op)
{
    FOR_EACH_REDUCE_OP(INDEX_SCATTER_LOOP, dtype, op);
}

void starhalo_kern_runs_prefix(const starhalo_run_t *runs, int nruns, int64_t *offsets,
                               int64_t *prefix)
{
    prefix[0] = 0;
    for (int r = 0; r < nruns; r++) {
        offsets[r] = runs[r].offset;
        prefix[r + 1] = prefix[r] + runs[r].length;
    }
    offsets[nruns] = 0;
}

#define BY_ELEMENT_PACK(T, unused_)                                                                \
    do {                                                                                           \
        const T *s_ = src;                                                                         \
        T *d_ = dst;                                                                               \
        for (int64_t k = 0; k < total; k++)                                                        \
            d_[k] =                                                                                \
                s_[starhalo_kidx_packed_to_tile(k, count, plane_size, offsets, prefix, nruns)];    \
    } while (0)

void starhalo_kern_pack_by_element_cpu(starhalo_dtype_t dtype, const void *src, int64_t plane_size,
                                       int64_t planes, const int64_t *offsets,
                                       const int64_t *prefix, int nruns, int64_t count, void *dst)
{
    const int64_t total = count * planes;
    if (count <= 0)
        return;
    FOR_DTYPE(dtype, BY_ELEMENT_PACK, 0);
}

#define BY_ELEMENT_UNPACK(T, SUFFIX)                                                               \
    do {                                                                                           \
        const T *s_ = src;                                                                         \
        T *d_ = dst;                                                                               \
        for (int64_t k = 0; k < total; k++) {                                                      \
            const int64_t t =                                                                      \
                starhalo_kidx_packed_to_tile(k, count, plane_size, offsets, prefix, nruns);        \
            d_[t] = starhalo_kidx_combine_##SUFFIX((int)op, d_[t], s_[k]);                         \
        }                                                                                          \
    } while (0)

/* Runs never overlap, so element k owns its destination (as a GPU thread does). */
void starhalo_kern_unpack_by_element_cpu(starhalo_dtype_t dtype, const void *src, int64_t count,
                                         int64_t planes, const int64_t *offsets,
                                         const int64_t *prefix, int nruns, void *dst,
                                         int64_t plane_size, starhalo_reduce_op_t op)
{
    const int64_t total = count * planes;
    if (count <= 0)
        return;
    if (dtype == STARHALO_FLOAT32)
        BY_ELEMENT_UNPACK(float, f32);
    else
        BY_ELEMENT_UNPACK(double, f64);
}
