/* SPDX-License-Identifier: MIT */
/**
 * @file kern_index.h
 * @brief Per-element index math and stencil formulas shared by the CPU and the CUDA kernels.
 *
 * Everything here is a STARHALO_HD static inline function (__host__ __device__ under nvcc,
 * plain C otherwise), so the CPU tests exercise exactly the expressions the GPU kernels use:
 * - packed element k -> (plane, run, offset in plane) through run prefix sums and a binary
 *   search (starhalo_kidx_packed_to_tile);
 * - region cell i -> tile offset (starhalo_kidx_region_to_tile);
 * - the 5- and 9-point Jacobi updates with a fixed summation order, so every executor gives
 *   bitwise identical results;
 * - the input window of a conv/pool output region and its explicit padding
 *   (starhalo_kidx_window).
 */
#ifndef STARHALO_KERN_INDEX_H
#define STARHALO_KERN_INDEX_H

#include <stdint.h>

#if defined(__CUDACC__)
#define STARHALO_HD __host__ __device__
#else
#define STARHALO_HD
#endif

/**
 * Index of the run holding element @p j of one packed plane: the largest r with
 * prefix[r] <= j, where prefix[r] is the number of elements in runs 0..r-1 (prefix[0] = 0,
 * prefix[nruns] = count). Requires 0 <= j < prefix[nruns]; zero-length runs are skipped.
 */
STARHALO_HD static inline int starhalo_kidx_find_run(const int64_t *prefix, int nruns, int64_t j)
{
    int lo = 0, hi = nruns; /* invariant: prefix[lo] <= j < prefix[hi] */
    while (hi - lo > 1) {
        const int mid = lo + (hi - lo) / 2;
        if (prefix[mid] <= j)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/**
 * Element @p k of a packed message ([planes][count], plane-major) -> element index into the
 * local array ([planes][plane_size]). @p run_offset[r] is the offset of run r in its plane.
 */
STARHALO_HD static inline int64_t starhalo_kidx_packed_to_tile(int64_t k, int64_t count,
                                                               int64_t plane_size,
                                                               const int64_t *run_offset,
                                                               const int64_t *prefix, int nruns)
{
    const int64_t plane = k / count;
    const int64_t j = k - plane * count;
    const int r = starhalo_kidx_find_run(prefix, nruns, j);
    return plane * plane_size + run_offset[r] + (j - prefix[r]);
}

/**
 * Cell @p i of a 2-D region of rw x rh cells per plane (x fastest, then y, then plane) ->
 * element index into a tile of gw x gh cells per plane. (x0, y0) is the region's first cell
 * in tile-local coordinates.
 */
STARHALO_HD static inline int64_t starhalo_kidx_region_to_tile(int64_t i, int64_t rw, int64_t rh,
                                                               int64_t x0, int64_t y0, int64_t gw,
                                                               int64_t gh)
{
    const int64_t x = i % rw;
    const int64_t rest = i / rw;
    const int64_t y = rest % rh;
    const int64_t plane = rest / rh;
    return (plane * gh + (y0 + y)) * gw + (x0 + x);
}

/* The Jacobi updates. N is the row above (y-1), S below (y+1), W is x-1, E is x+1; @p c points
 * at the centre cell, @p w is the row pitch. The summation order is part of the contract. On
 * the device the _rn intrinsics forbid nvcc from contracting a*b+c into an FMA, so GPU results
 * are bitwise those of the CPU (which compiles ISO C11: no contraction either). */
#if defined(__CUDA_ARCH__)
#define STARHALO_KIDX_ADD_f32(a, b) __fadd_rn((a), (b))
#define STARHALO_KIDX_MUL_f32(a, b) __fmul_rn((a), (b))
#define STARHALO_KIDX_ADD_f64(a, b) __dadd_rn((a), (b))
#define STARHALO_KIDX_MUL_f64(a, b) __dmul_rn((a), (b))
#else
#define STARHALO_KIDX_ADD_f32(a, b) ((a) + (b))
#define STARHALO_KIDX_MUL_f32(a, b) ((a) * (b))
#define STARHALO_KIDX_ADD_f64(a, b) ((a) + (b))
#define STARHALO_KIDX_MUL_f64(a, b) ((a) * (b))
#endif
#define STARHALO_KIDX_STENCILS(T, SUFFIX, QUARTER, FOUR, TWENTY)                                   \
    STARHALO_HD static inline T starhalo_kidx_stencil5_##SUFFIX(const T *c, int64_t w)             \
    {                                                                                              \
        const T faces = STARHALO_KIDX_ADD_##SUFFIX(                                                \
            STARHALO_KIDX_ADD_##SUFFIX(STARHALO_KIDX_ADD_##SUFFIX(c[-w], c[w]), c[1]), c[-1]);     \
        return STARHALO_KIDX_MUL_##SUFFIX(QUARTER, faces);                                         \
    }                                                                                              \
    STARHALO_HD static inline T starhalo_kidx_stencil9_##SUFFIX(const T *c, int64_t w)             \
    {                                                                                              \
        const T faces = STARHALO_KIDX_ADD_##SUFFIX(                                                \
            STARHALO_KIDX_ADD_##SUFFIX(STARHALO_KIDX_ADD_##SUFFIX(c[-w], c[w]), c[1]), c[-1]);     \
        const T corners = STARHALO_KIDX_ADD_##SUFFIX(                                              \
            STARHALO_KIDX_ADD_##SUFFIX(STARHALO_KIDX_ADD_##SUFFIX(c[-w + 1], c[-w - 1]),           \
                                       c[w + 1]),                                                  \
            c[w - 1]);                                                                             \
        return STARHALO_KIDX_ADD_##SUFFIX(STARHALO_KIDX_MUL_##SUFFIX(FOUR, faces), corners) /      \
               TWENTY;                                                                             \
    }
STARHALO_KIDX_STENCILS(float, f32, 0.25f, 4.0f, 20.0f)
STARHALO_KIDX_STENCILS(double, f64, 0.25, 4.0, 20.0)
#undef STARHALO_KIDX_STENCILS

/* Reductions of unpack: io = op(io, in) with op = starhalo_reduce_op_t (0 REPLACE, 1 SUM,
 * 2 MAX, 3 MIN). */
#define STARHALO_KIDX_COMBINE(T, SUFFIX)                                                           \
    STARHALO_HD static inline T starhalo_kidx_combine_##SUFFIX(int op, T io, T in)                 \
    {                                                                                              \
        return op == 1   ? STARHALO_KIDX_ADD_##SUFFIX(io, in)                                      \
               : op == 2 ? (io > in ? io : in)                                                     \
               : op == 3 ? (io < in ? io : in)                                                     \
                         : in;                                                                     \
    }
STARHALO_KIDX_COMBINE(float, f32)
STARHALO_KIDX_COMBINE(double, f64)
#undef STARHALO_KIDX_COMBINE

/**
 * Input window of a sliding-window layer along one dim: output cells [o_lo, o_hi) read global
 * input cells [o_lo*s - p, (o_hi-1)*s - p + d*(k-1)]. Clipped to the tile's input range
 * [t_lo, t_hi): the part outside becomes explicit zero padding (pad_l, pad_r), so a whole
 * image without ghosts uses the layer's padding, and a ghosted part (ghosts carry the halo,
 * image-border ghosts are zero) gets zero padding.
 * @return the number of input cells of the clipped window (<= 0 if it misses the tile).
 */
STARHALO_HD static inline int64_t starhalo_kidx_window(int64_t o_lo, int64_t o_hi, int kernel,
                                                       int stride, int dilation, int padding,
                                                       int64_t t_lo, int64_t t_hi, int64_t *in_lo,
                                                       int64_t *pad_l, int64_t *pad_r)
{
    const int64_t need_lo = o_lo * stride - padding;
    const int64_t need_hi = (o_hi - 1) * stride - padding + (int64_t)dilation * (kernel - 1) + 1;
    const int64_t lo = need_lo > t_lo ? need_lo : t_lo;
    const int64_t hi = need_hi < t_hi ? need_hi : t_hi;
    *in_lo = lo;
    *pad_l = lo - need_lo;
    *pad_r = need_hi - hi;
    return hi - lo;
}

#endif
