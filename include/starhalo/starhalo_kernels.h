/* SPDX-License-Identifier: MIT */
/**
 * @file starhalo_kernels.h
 * @brief The runtime-free CPU compute kernels (no StarPU, no MPI) the library's codelets run,
 * public so that an application's own codelets, or a plain-MPI baseline, compute exactly what
 * starhalo's do: pack/unpack of halo runs, 5/9-point stencils, conv2d and pooling (oneDNN).
 * Their CUDA twins are internal (codelets/kernels/kern_cuda.h).
 *
 * Packed message layout (shared by every executor): plane-major, [planes][count], where a
 * plane is one (batch, channel) slice and count is the number of elements the runs select in
 * one plane, in run order.
 */
#ifndef STARHALO_KERNELS_H
#define STARHALO_KERNELS_H

#include <stdint.h>

#include <starhalo/starhalo_export.h>
#include <starhalo/starhalo_plan.h>
#include <starhalo/starhalo_types.h>

STARHALO_BEGIN_DECLS

/** Gather the runs of every plane of @p src (planes of @p plane_size elements) into @p dst. */
STARHALO_API void starhalo_kern_pack_cpu(starhalo_dtype_t dtype, const void *src,
                                         int64_t plane_size, int64_t planes,
                                         const starhalo_run_t *runs, int nruns, int64_t count,
                                         void *dst);

/** Scatter packed @p src into the runs of every plane of @p dst, combining with @p op
 * (REPLACE overwrites; SUM adds; MAX/MIN keep the larger/smaller). */
STARHALO_API void starhalo_kern_unpack_cpu(starhalo_dtype_t dtype, const void *src, int64_t count,
                                           int64_t planes, const starhalo_run_t *runs, int nruns,
                                           void *dst, int64_t plane_size, starhalo_reduce_op_t op);

/** starhalo_kern_pack_cpu with the runs expanded into @p count element indexes of a plane
 * (scattered single elements: one load per element instead of one copy per run). */
STARHALO_API void starhalo_kern_gather_cpu(starhalo_dtype_t dtype, const void *src,
                                           int64_t plane_size, int64_t planes, const int64_t *index,
                                           int64_t count, void *dst);

/** starhalo_kern_unpack_cpu with the runs expanded into @p count element indexes of a plane;
 * in index order, so an index listed twice is combined twice. */
STARHALO_API void starhalo_kern_scatter_cpu(starhalo_dtype_t dtype, const void *src, int64_t count,
                                            int64_t planes, const int64_t *index, void *dst,
                                            int64_t plane_size, starhalo_reduce_op_t op);

/** Combine packed @p src into packed @p dst element-wise with @p op (n elements). */
STARHALO_API void starhalo_kern_reduce_cpu(starhalo_dtype_t dtype, const void *src, void *dst,
                                           int64_t n, starhalo_reduce_op_t op);

/* ---------------------------------------------------------------------------------------- */
/* Tiles and regions                                                                         */
/* ---------------------------------------------------------------------------------------- */

/**
 * Geometry of a ghosted tile (see starhalo_plan.h): its box in global coordinates (dims 0 = W
 * and 1 = H; dim 2 must be one cell thick), batch x channels planes, W fastest. Kernels write
 * the cells of a REGION (a box in the same global coordinates) so the runtime can compute the
 * interior and the boundary of a part as separate tasks.
 */
typedef struct starhalo_kern_tile {
    starhalo_box_t box; /**< ghosted box, global coordinates */
    int64_t batch;      /**< N (>= 1) */
    int64_t channels;   /**< C (>= 1) */
} starhalo_kern_tile_t;

/** Make a tile geometry from a box and batch/channel counts. */
static inline starhalo_kern_tile_t starhalo_kern_tile_make(const starhalo_box_t *box, int64_t batch,
                                                           int64_t channels)
{
    starhalo_kern_tile_t t;
    t.box = *box;
    t.batch = batch;
    t.channels = channels;
    return t;
}

/** Elements of one plane / of the whole tile. */
STARHALO_API int64_t starhalo_kern_tile_plane_size(const starhalo_kern_tile_t *tile);
STARHALO_API int64_t starhalo_kern_tile_elems(const starhalo_kern_tile_t *tile);

/* ---------------------------------------------------------------------------------------- */
/* Jacobi stencils (float32 and float64)                                                     */
/* ---------------------------------------------------------------------------------------- */

/**
 * 5-point Jacobi on every plane: out = 0.25 * (((N + S) + E) + W) for the cells of @p region,
 * reading @p in; @p in and @p out are two tiles of the same geometry (they must not overlap).
 * Cells of @p out outside the region are not touched.
 * @retval STARHALO_ERR_INVALID_ARG the region (grown by one cell) leaves the tile, a bad dtype
 */
STARHALO_API starhalo_status_t starhalo_kern_stencil5_cpu(starhalo_dtype_t dtype,
                                                          const starhalo_kern_tile_t *tile,
                                                          const void *in, void *out,
                                                          const starhalo_box_t *region);

/** 9-point Jacobi: out = (4 * (((N + S) + E) + W) + (((NE + NW) + SE) + SW)) / 20. */
STARHALO_API starhalo_status_t starhalo_kern_stencil9_cpu(starhalo_dtype_t dtype,
                                                          const starhalo_kern_tile_t *tile,
                                                          const void *in, void *out,
                                                          const starhalo_box_t *region);

/** *sum = sum over the cells of @p region (all planes) of (a - b)^2, accumulated in double. */
STARHALO_API starhalo_status_t starhalo_kern_sqdiff_cpu(starhalo_dtype_t dtype,
                                                        const starhalo_kern_tile_t *tile,
                                                        const void *a, const void *b,
                                                        const starhalo_box_t *region, double *sum);

/* ---------------------------------------------------------------------------------------- */
/* conv2d and pooling forward through oneDNN (float32)                                       */
/* ---------------------------------------------------------------------------------------- */

/** Pooling kinds. AVG counts padding cells as zeros (PyTorch count_include_pad=True), which is
 * also what zero image-border ghosts give; AVG_EXCLUDE divides by the cells inside the image. */
typedef enum starhalo_pool_kind {
    STARHALO_POOL_MAX = 0,
    STARHALO_POOL_AVG,
    STARHALO_POOL_AVG_EXCLUDE
} starhalo_pool_kind_t;

/**
 * conv2d forward, cross-correlation like every DL framework: for output cell o (global
 * output coordinates) and input cell i = o*stride - padding + kk*dilation (global input
 * coordinates), out[n][co][o] = bias[co] + sum_ci,kk in[n][ci][i] * w[co][ci][kk].
 *
 * @p in_tile: input tile (batch x Cin planes); @p weights: Cout x Cin x k x k; @p bias: Cout
 * values or NULL; @p out_tile: output tile (same batch, Cout = out_tile->channels planes);
 * @p region: output cells to compute (global output coordinates, inside out_tile->box).
 * @p domain: the input image box; input cells outside it (or outside the tile) are zero
 * padding. NULL means the tile box. With ghosts that carry the halo (image-border ghosts
 * zero), the window needs no padding at all; a whole image without ghosts uses the layer's
 * padding.
 * @retval STARHALO_ERR_INVALID_ARG bad geometry: the message names the dimension and values
 * @retval STARHALO_ERR_OUT_OF_RANGE the region reads input cells inside @p domain that the
 *         tile does not hold (a halo too narrow)
 * @retval STARHALO_ERR_DNNL oneDNN refused the shape
 */
STARHALO_API starhalo_status_t starhalo_kern_conv2d_cpu(
    const starhalo_kern_tile_t *in_tile, const float *in, const float *weights, const float *bias,
    const starhalo_layer_t *layer, const starhalo_kern_tile_t *out_tile, float *out,
    const starhalo_box_t *region, const starhalo_box_t *domain);

/** Flags of starhalo_kern_conv2d_cpu_ex and starhalo_kern_pool2d_cpu_ex. */
enum {
    /** The kernel may read any cell of the input tile (cells outside the region's window
     * then only feed discarded outputs). Lets an interior region run on the whole dense tile
     * instead of copying its window (oneDNN runs strided views only with its reference
     * kernel), and conv / include-padding average take image-border ghosts that hold zeros
     * (checked at each call) as their padding, so a whole part runs in place. The StarPU
     * codelet sets it: its task holds read access to the whole tile. */
    STARHALO_KERN_READ_WHOLE_TILE = 1u,
    /** Nothing else reads or writes the output tile during the call. A cropped result (see
     * READ_WHOLE_TILE) whose geometry is the output tile's is then written straight into the
     * tile: the cells around the region are saved before and restored after, so the final
     * content outside the region is unchanged, but it is overwritten meanwhile. The codelet
     * sets it: StarPU gives its task exclusive RW access to the whole output tile. */
    STARHALO_KERN_EXCLUSIVE_OUTPUT = 2u
};

/** starhalo_kern_conv2d_cpu with @p flags (STARHALO_KERN_READ_WHOLE_TILE,
 * STARHALO_KERN_EXCLUSIVE_OUTPUT). */
STARHALO_API starhalo_status_t starhalo_kern_conv2d_cpu_ex(
    const starhalo_kern_tile_t *in_tile, const float *in, const float *weights, const float *bias,
    const starhalo_layer_t *layer, const starhalo_kern_tile_t *out_tile, float *out,
    const starhalo_box_t *region, const starhalo_box_t *domain, unsigned flags);

/**
 * Grouped conv2d: starhalo_kern_conv2d_cpu_ex with @p groups (>= 1; 1 is
 * starhalo_kern_conv2d_cpu_ex, same primitives and bits). The Cin input and Cout output
 * channels form @p groups groups; output channel co of group g = co / (Cout/groups) reads the
 * input channels of group g only: @p weights is Cout x (Cin/groups) x k x k (PyTorch's layout;
 * groups = Cin = Cout is a depthwise conv).
 * @retval STARHALO_ERR_INVALID_ARG also when @p groups is < 1 or does not divide Cin and Cout
 */
STARHALO_API starhalo_status_t starhalo_kern_conv2d_cpu_g(
    const starhalo_kern_tile_t *in_tile, const float *in, const float *weights, const float *bias,
    const starhalo_layer_t *layer, int groups, const starhalo_kern_tile_t *out_tile, float *out,
    const starhalo_box_t *region, const starhalo_box_t *domain, unsigned flags);

/** Max / average pooling forward; same geometry rules as conv2d (channels in == out). */
STARHALO_API starhalo_status_t starhalo_kern_pool2d_cpu(
    starhalo_pool_kind_t kind, const starhalo_kern_tile_t *in_tile, const float *in,
    const starhalo_layer_t *layer, const starhalo_kern_tile_t *out_tile, float *out,
    const starhalo_box_t *region, const starhalo_box_t *domain);

/** starhalo_kern_pool2d_cpu with @p flags (as for conv2d). */
STARHALO_API starhalo_status_t starhalo_kern_pool2d_cpu_ex(
    starhalo_pool_kind_t kind, const starhalo_kern_tile_t *in_tile, const float *in,
    const starhalo_layer_t *layer, const starhalo_kern_tile_t *out_tile, float *out,
    const starhalo_box_t *region, const starhalo_box_t *domain, unsigned flags);

/** Which oneDNN implementation the last conv/pool call of this thread used (e.g.
 * "x64:gemm:jit"), and how (@p mode): 1 in place on the tiles, 0 through dense copies of the
 * window and the result, 2 on the whole input tile with a copy of the cropped result, 3
 * cropped result written straight into the output tile (STARHALO_KERN_EXCLUSIVE_OUTPUT), 4
 * a narrow column region run transposed through copies. */
STARHALO_API const char *starhalo_kern_dnnl_last_impl(int *in_place);

/** Free this thread's oneDNN primitive cache, engine and scratch buffers (optional: call
 * before a worker thread exits). */
STARHALO_API void starhalo_kern_dnnl_thread_cleanup(void);

STARHALO_END_DECLS

#endif
