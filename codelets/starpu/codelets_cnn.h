/* SPDX-License-Identifier: MIT */
/**
 * @file codelets_cnn.h
 * @brief The CNN codelets and their cl_args: conv2d backward (data, weights), ReLU, and the
 * layer codelets (pooling backward, batch norm, channel affine, add, global average pool).
 */
#ifndef STARHALO_CODELETS_CNN_H
#define STARHALO_CODELETS_CNN_H

#include <inttypes.h>

#include "codelets.h"
#include "starhalo_kernels_cnn.h"

/** cl_args of starhalo_cl_conv2d_bwd_data / _bwd_weights (float32 tiles). bwd_data buffers:
 * grad_out tile (R), weights (R, Cout x Cin/G x k x k), grad_in tile (W: wholly overwritten).
 * bwd_weights buffers: input tile (R), grad_out tile (R), weight gradient (W, Cout x Cin/G x k x
 * k doubles). G = groups. */
typedef struct starhalo__conv_bwd_args {
    starhalo_kern_tile_t in_tile, out_tile;
    starhalo_layer_t layer;
    starhalo_box_t region; /**< output cells whose gradient flows back */
    int *status;
    int groups; /**< conv groups (the _g kernels); 0 or 1: ungrouped. CPU only */
} starhalo__conv_bwd_args_t;

/** cl_args of starhalo_cl_relu (float32). Buffers: pre-activation tile (R), out / gradient
 * tile (RW: only the region is written), same geometry. */
typedef struct starhalo__relu_args {
    starhalo_kern_tile_t tile;
    starhalo_box_t region;
    int backward; /**< 0: out = max(pre, 0); 1: grad = pre > 0 ? grad : 0 */
    int *status;
} starhalo__relu_args_t;

extern struct starpu_codelet starhalo_cl_relu;

/** Submit one ReLU (forward or backward) region task. */
starhalo_status_t starhalo__insert_relu(const struct starhalo__task_opts *o,
                                        starpu_data_handle_t pre, starpu_data_handle_t out,
                                        const starhalo__relu_args_t *args);

extern struct starpu_codelet starhalo_cl_conv2d_bwd_data;
extern struct starpu_codelet starhalo_cl_conv2d_bwd_weights;

/** Submit one backward-data task (grad_in = the whole ghosted input-gradient tile). */
starhalo_status_t starhalo__insert_conv2d_bwd_data(const struct starhalo__task_opts *o,
                                                   starpu_data_handle_t grad_out,
                                                   starpu_data_handle_t weights,
                                                   starpu_data_handle_t grad_in,
                                                   const starhalo__conv_bwd_args_t *args);
/** Submit one backward-weights task into a Cout x Cin x k x k double vector handle. */
starhalo_status_t starhalo__insert_conv2d_bwd_weights(const struct starhalo__task_opts *o,
                                                      starpu_data_handle_t in,
                                                      starpu_data_handle_t grad_out,
                                                      starpu_data_handle_t grad_w,
                                                      const starhalo__conv_bwd_args_t *args);

/** History-model footprint of a backward task: region extents, channels, kernel. */
static inline uint32_t starhalo__cl_conv_bwd_footprint(struct starpu_task *task)
{
    const starhalo__conv_bwd_args_t *a = task->cl_arg;
    const int64_t shape[4] = {a->in_tile.channels, a->out_tile.channels, a->in_tile.batch,
                              a->layer.kernel * 64 + a->layer.stride * 8 + a->layer.dilation};
    uint32_t kind = starpu_hash_crc32c_be_n(shape, sizeof shape, 0);
    if (a->groups > 1) /* ungrouped tasks keep their footprints */
        kind = starpu_hash_crc32c_be((uint32_t)a->groups, kind);
    return starhalo__cl_region_footprint(&a->region, kind);
}

#if STARHALO_USE_CUDA && defined(STARPU_USE_CUDA)
/** can_execute of the backward codelets: the CUDA kernels are ungrouped, so a grouped task
 * runs on a CPU worker. */
static inline int starhalo__cl_conv_bwd_can_execute(unsigned workerid, struct starpu_task *task,
                                                    unsigned nimpl)
{
    (void)nimpl;
    const starhalo__conv_bwd_args_t *a = task->cl_arg;
    return a->groups <= 1 || starpu_worker_get_type((int)workerid) != STARPU_CUDA_WORKER;
}
#endif

/* The ReLU and the CNN layer codelets write their output (or update it in place) with plain
 * STARPU_RW, not RW|COMMUTE: one task per part covers the owned cells, and in-place updates
 * of one gradient tile (a residual's add, then ReLU's mask) do not commute. */

/* ---------------------------------------------------------------------------------------- */
/* CNN layer codelets (kern_cnn_layers.c; CPU only for now): pooling backward, batch norm,   */
/* channel affine (bias), residual add, global-average-pool sums and fill. Tiles are VECTOR  */
/* handles of floats; per-channel parameters travel as a VECTOR handle of doubles (a buffer, */
/* not cl_args), so a task reads the values its predecessors computed. The insert functions  */
/* check that every handle is set, is a vector of the right element size and holds at least */
/* what the geometry needs (STARHALO_ERR_INVALID_ARG otherwise).                             */
/* ---------------------------------------------------------------------------------------- */

/** cl_args of starhalo_cl_pool2d_bwd (float32). Buffers: input tile (R; its values are read
 * for MAX only), grad_out tile (R), grad_in tile (W: wholly overwritten, ghosts included;
 * geometry @p in_tile). */
typedef struct starhalo__pool_bwd_args {
    starhalo_pool_kind_t kind;
    starhalo_kern_tile_t in_tile, out_tile;
    starhalo_layer_t layer;
    starhalo_box_t domain; /**< input image box: window cells outside it are padding */
    starhalo_box_t region; /**< output cells whose gradient flows back */
    int *status;
} starhalo__pool_bwd_args_t;

/** cl_args of starhalo_cl_bn_sums (forward) and starhalo_cl_bn_sums_bwd. Forward buffers: x
 * tile (R), sums (W, 2C doubles: sum x | sum x*x). Backward buffers: x tile (R), dy tile (R),
 * params (R, 2C doubles: mean | invstd), sums (W, 2C doubles: sum dy | sum dy*xhat). */
typedef struct starhalo__bn_sums_args {
    starhalo_kern_tile_t tile;
    starhalo_box_t region;
    int backward; /**< set by starhalo__insert_bn_sums: 1 when it got a dy handle */
    int *status;
} starhalo__bn_sums_args_t;

/** cl_args of starhalo_cl_bn_bwd. Buffers: x tile (R), dy tile (R), params (R, 5C doubles:
 * mean | invstd | gamma | the GLOBAL backward sums, 2C), dx tile (RW: only the region
 * is written; a different handle than dy). */
typedef struct starhalo__bn_bwd_args {
    starhalo_kern_tile_t tile;
    starhalo_box_t region;
    double count; /**< cells per channel over the whole image and batch */
    int *status;
} starhalo__bn_bwd_args_t;

/** cl_args of starhalo_cl_channel_affine (buffers: x tile (R), params (R), y tile
 * (RW)) and starhalo_cl_channel_affine_inplace (params (R), y tile (RW),
 * y = y*scale + shift). params: scale C | shift C doubles, or shift C only when has_scale is
 * 0 (scale 1: conv bias). */
typedef struct starhalo__channel_affine_args {
    starhalo_kern_tile_t tile;
    starhalo_box_t region;
    int has_scale;
    int *status;
} starhalo__channel_affine_args_t;

/** cl_args of the region codelets starhalo_cl_add (a (R), b (R), out (RW)),
 * starhalo_cl_add_inplace (a (RW), b (R): a += b), starhalo_cl_plane_sums (x (R),
 * sums (W, N*C doubles)) and starhalo_cl_plane_fill (values (R, N*C doubles), x
 * (RW)). Tiles share the geometry @p tile. */
typedef struct starhalo__cnn_region_args {
    starhalo_kern_tile_t tile;
    starhalo_box_t region;
    int *status;
} starhalo__cnn_region_args_t;

extern struct starpu_codelet starhalo_cl_pool2d_bwd;
extern struct starpu_codelet starhalo_cl_bn_sums;
extern struct starpu_codelet starhalo_cl_bn_sums_bwd;
extern struct starpu_codelet starhalo_cl_bn_bwd;
extern struct starpu_codelet starhalo_cl_channel_affine;
extern struct starpu_codelet starhalo_cl_channel_affine_inplace;
extern struct starpu_codelet starhalo_cl_add;
extern struct starpu_codelet starhalo_cl_add_inplace;
extern struct starpu_codelet starhalo_cl_plane_sums;
extern struct starpu_codelet starhalo_cl_plane_fill;

/** Submit one pooling-backward task (grad_in = the whole ghosted input-gradient tile). */
starhalo_status_t starhalo__insert_pool2d_bwd(const struct starhalo__task_opts *o,
                                              starpu_data_handle_t in,
                                              starpu_data_handle_t grad_out,
                                              starpu_data_handle_t grad_in,
                                              const starhalo__pool_bwd_args_t *args);
/** Submit one batch-norm sums task: forward statistics when @p dy and @p params are NULL
 * (starhalo_cl_bn_sums), backward sums otherwise (starhalo_cl_bn_sums_bwd; both set). */
starhalo_status_t starhalo__insert_bn_sums(const struct starhalo__task_opts *o,
                                           starpu_data_handle_t x, starpu_data_handle_t dy,
                                           starpu_data_handle_t params, starpu_data_handle_t sums,
                                           const starhalo__bn_sums_args_t *args);
/** Submit one batch-norm backward task (@p dx must differ from @p x and @p dy). */
starhalo_status_t starhalo__insert_bn_bwd(const struct starhalo__task_opts *o,
                                          starpu_data_handle_t x, starpu_data_handle_t dy,
                                          starpu_data_handle_t params, starpu_data_handle_t dx,
                                          const starhalo__bn_bwd_args_t *args);
/** Submit one channel-affine task; @p x == @p y runs in place (starhalo_cl_channel_affine_inplace).
 */
starhalo_status_t starhalo__insert_channel_affine(const struct starhalo__task_opts *o,
                                                  starpu_data_handle_t x,
                                                  starpu_data_handle_t params,
                                                  starpu_data_handle_t y,
                                                  const starhalo__channel_affine_args_t *args);
/** Submit one add task; @p out == @p a (or == @p b) accumulates in place
 * (starhalo_cl_add_inplace); @p a and @p b must differ. */
starhalo_status_t starhalo__insert_add(const struct starhalo__task_opts *o, starpu_data_handle_t a,
                                       starpu_data_handle_t b, starpu_data_handle_t out,
                                       const starhalo__cnn_region_args_t *args);
/** Submit one plane-sums task into an N*C double vector handle. */
starhalo_status_t starhalo__insert_plane_sums(const struct starhalo__task_opts *o,
                                              starpu_data_handle_t x, starpu_data_handle_t sums,
                                              const starhalo__cnn_region_args_t *args);
/** Submit one plane-fill task from an N*C double vector handle. */
starhalo_status_t starhalo__insert_plane_fill(const struct starhalo__task_opts *o,
                                              starpu_data_handle_t values, starpu_data_handle_t x,
                                              const starhalo__cnn_region_args_t *args);

/** History-model footprint of a CNN layer region task: region extents, planes, a tag. */
static inline uint32_t starhalo__cl_cnn_footprint(const starhalo_kern_tile_t *tile,
                                                  const starhalo_box_t *region, int64_t tag)
{
    const int64_t shape[3] = {tile->batch, tile->channels, tag};
    return starhalo__cl_region_footprint(region, starpu_hash_crc32c_be_n(shape, sizeof shape, 0));
}

/** Check that @p h (named @p name in the message of @p what) is a vector handle of
 * @p elemsize-byte elements holding at least @p need of them. */
static inline starhalo_status_t starhalo__cl_check_vector(const char *what, const char *name,
                                                          starpu_data_handle_t h, size_t elemsize,
                                                          int64_t need)
{
    STARHALO_REQUIRE(h, STARHALO_ERR_INVALID_ARG, "%s: NULL %s handle", what, name);
    STARHALO_REQUIRE(starpu_data_get_interface_id(h) == STARPU_VECTOR_INTERFACE_ID,
                     STARHALO_ERR_INVALID_ARG, "%s: the %s handle is not a vector", what, name);
    const size_t esz = starpu_vector_get_elemsize(h);
    const int64_t nx = (int64_t)starpu_vector_get_nx(h);
    STARHALO_REQUIRE(esz == elemsize && nx >= need, STARHALO_ERR_INVALID_ARG,
                     "%s: the %s handle holds %" PRId64 " elements of %zu bytes, needs %" PRId64
                     " of %zu",
                     what, name, nx, esz, need, elemsize);
    return STARHALO_OK;
}

#endif
