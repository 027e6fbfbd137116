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
 *   (starhalo_kidx_window);
 * - conv2d backward data per input cell and backward weights per weight tap, in the CPU
 *   loops' summation order, and ReLU forward / backward per cell.
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

/** Geometry of one conv2d backward call in tile-local coordinates (filled by
 * starhalo__kern_bwd_geom in kern_geom.h). */
typedef struct starhalo_kidx_bwd {
    int64_t n, cin, cout, k, s, dil;
    int64_t oy0, ox0, oh, ow;   /**< region, local to the output tile */
    int64_t iy0, ix0;           /**< input cell of tap 0 of region cell (0, 0), local to in tile */
    int64_t ogh, ogw, igh, igw; /**< tile sizes */
} starhalo_kidx_bwd_t;

#if defined(__CUDACC__)
#define STARHALO_KIDX_RESTRICT __restrict__
#else
#define STARHALO_KIDX_RESTRICT restrict
#endif

/** Lanes of starhalo_kidx_row_dot: independent partial sums (a vectorisable fixed order). */
#define STARHALO_KIDX_DOT_LANES 8

/**
 * sum a[x] * b[x * s], x < n, in double: with s == 1, STARHALO_KIDX_DOT_LANES partial sums
 * over blocks of lanes, then the tail, then tail + lane 0 + lane 1 + ... (an FP reduction is
 * not vectorised without reassociation, independent lanes are). Products of two floats are
 * exact in double, so only this order decides the bits.
 */
STARHALO_HD static inline double starhalo_kidx_row_dot(const float *STARHALO_KIDX_RESTRICT a,
                                                       const float *STARHALO_KIDX_RESTRICT b,
                                                       int64_t n, int64_t s)
{
    double lane[STARHALO_KIDX_DOT_LANES] = {0};
    int64_t x = 0;
    if (s == 1)
        for (; x + STARHALO_KIDX_DOT_LANES <= n; x += STARHALO_KIDX_DOT_LANES)
            for (int j = 0; j < STARHALO_KIDX_DOT_LANES; j++)
                lane[j] = STARHALO_KIDX_ADD_f64(
                    lane[j], STARHALO_KIDX_MUL_f64((double)a[x + j], (double)b[x + j]));
    double tail = 0.0;
    for (; x < n; x++)
        tail = STARHALO_KIDX_ADD_f64(tail, STARHALO_KIDX_MUL_f64((double)a[x], (double)b[x * s]));
    double sum = tail;
    for (int j = 0; j < STARHALO_KIDX_DOT_LANES; j++)
        sum = STARHALO_KIDX_ADD_f64(sum, lane[j]);
    return sum;
}

/**
 * conv2d backward data, one cell: element @p e of the grad_in tile ([n][cin][igh][igw]) =
 * sum over co, ky, kx (in that order, float, from 0) of w[co][ci][ky][kx] times the output
 * gradient of the region cell that reads input cell e through tap (ky, kx); 0 when no region
 * cell does. The CPU kernel's axpy loops add the same terms in the same order.
 */
STARHALO_HD static inline float starhalo_kidx_conv_bwd_data_cell(const starhalo_kidx_bwd_t *g,
                                                                 const float *grad_out,
                                                                 const float *w, int64_t e)
{
    const int64_t ix = e % g->igw, iy = (e / g->igw) % g->igh;
    const int64_t ci = (e / (g->igw * g->igh)) % g->cin, n = e / (g->igw * g->igh * g->cin);
    float acc = 0.0f;
    for (int64_t co = 0; co < g->cout; co++) {
        const float *go = grad_out + (n * g->cout + co) * g->ogh * g->ogw;
        const float *wc = w + (co * g->cin + ci) * g->k * g->k;
        for (int64_t ky = 0; ky < g->k; ky++) {
            const int64_t ty = iy - g->iy0 - ky * g->dil;
            if (ty < 0 || ty % g->s != 0 || ty / g->s >= g->oh)
                continue;
            for (int64_t kx = 0; kx < g->k; kx++) {
                const int64_t tx = ix - g->ix0 - kx * g->dil;
                if (tx < 0 || tx % g->s != 0 || tx / g->s >= g->ow)
                    continue;
                const float v = go[(g->oy0 + ty / g->s) * g->ogw + g->ox0 + tx / g->s];
                acc = STARHALO_KIDX_ADD_f32(acc, STARHALO_KIDX_MUL_f32(wc[ky * g->k + kx], v));
            }
        }
    }
    return acc;
}

/**
 * conv2d backward weights, one tap: element @p t of grad_w ([cout][cin][k][k]) = sum over n,
 * then region rows y, of starhalo_kidx_row_dot(grad_out row, input row of tap t), in double:
 * the CPU kernel's order.
 */
STARHALO_HD static inline double starhalo_kidx_conv_bwd_weights_tap(const starhalo_kidx_bwd_t *g,
                                                                    const float *in,
                                                                    const float *grad_out,
                                                                    int64_t t)
{
    const int64_t kx = t % g->k, ky = (t / g->k) % g->k;
    const int64_t ci = (t / (g->k * g->k)) % g->cin, co = t / (g->k * g->k * g->cin);
    double acc = 0.0;
    for (int64_t n = 0; n < g->n; n++) {
        const float *go = grad_out + (n * g->cout + co) * g->ogh * g->ogw;
        const float *xi = in + (n * g->cin + ci) * g->igh * g->igw;
        for (int64_t y = 0; y < g->oh; y++)
            acc = STARHALO_KIDX_ADD_f64(
                acc, starhalo_kidx_row_dot(go + (g->oy0 + y) * g->ogw + g->ox0,
                                           xi + (g->iy0 + y * g->s + ky * g->dil) * g->igw +
                                               g->ix0 + kx * g->dil,
                                           g->ow, g->s));
    }
    return acc;
}

/** ReLU forward (backward = 0: max(pre, 0)) or backward (1: pre > 0 ? grad : 0) of one cell;
 * @p io is the gradient (backward) and unused forward. */
STARHALO_HD static inline float starhalo_kidx_relu(int backward, float pre, float io)
{
    return pre > 0.0f ? (backward ? io : pre) : 0.0f;
}

#endif
