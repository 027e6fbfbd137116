/* SPDX-License-Identifier: MIT */
/**
 * @file codelets.h
 * @brief The StarPU codelets of starhalo and their cl_args structs (one codelet per file).
 */
#ifndef STARHALO_CODELETS_H
#define STARHALO_CODELETS_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <starpu.h>

#include <starhalo/starhalo_plan.h>
#include <starhalo/starhalo_types.h>

/** One message buffer of a pack/unpack task: the runs it gathers or scatters per plane. */
typedef struct starhalo_cl_msg {
    const starhalo_run_t *runs;
    int nruns;
    int64_t count; /**< elements per plane (sum of run lengths) */
} starhalo_cl_msg_t;

/**
 * cl_args of starhalo_cl_pack / starhalo_cl_unpack (passed by pointer, owned by the
 * exchange, never freed by StarPU). Buffers of pack: nfields tiles (R), then nmsgs message
 * vectors (W). Buffers of unpack: nmsgs message vectors (R), then nfields tiles (RW). A
 * message holds, for each field in order, [planes[f]][count] elements.
 */
typedef struct starhalo_cl_xfer_args {
    starhalo_dtype_t dtype;
    int nfields;
    const int64_t *planes; /**< planes of each field */
    int64_t plane_size;    /**< elements of one ghosted tile plane */
    int nmsgs;
    const starhalo_cl_msg_t *msgs;
    starhalo_reduce_op_t op; /**< unpack only */
} starhalo_cl_xfer_args_t;

extern struct starpu_codelet starhalo_cl_pack;
extern struct starpu_codelet starhalo_cl_unpack;

/** cl_arg of starhalo_cl_call (passed by pointer, owned by the caller): the task runs
 * fn(arg) on a CPU worker; its data (any number, any mode) only order it. */
typedef struct starhalo_cl_call {
    void (*fn)(void *arg);
    void *arg;
} starhalo_cl_call_t;

extern struct starpu_codelet starhalo_cl_call;

/* ---------------------------------------------------------------------------------------- */
/* Compute codelets: stencil5, stencil9, conv2d, pool2d (codelet_<op>.c)                     */
/*                                                                                          */
/* Data convention: every tile is a StarPU VECTOR of elements (nx = plane_size * planes);    */
/* the geometry travels in cl_args (copied and freed by StarPU). Output tiles are accessed   */
/* STARPU_RW | STARPU_COMMUTE, not STARPU_W: a region task writes only part of the tile, so  */
/* W (which lets StarPU hand out a fresh, unfetched buffer on another memory node) would     */
/* lose the other regions and the ghosts; COMMUTE lets region tasks of one tile run in any   */
/* order (the interior need not wait for a boundary task submitted before it). StarPU 1.3    */
/* still runs them one at a time; concurrent regions need partitioned (child) handles.       */
/* ---------------------------------------------------------------------------------------- */

#include <starhalo/starhalo_config.h>

#include "kern_cuda.h"

/** Options shared by the insert helpers. Zero-initialise. */
struct starhalo__task_opts {
    int priority;     /**< STARPU_PRIORITY value (0 = default) */
    const char *name; /**< task name for traces; NULL = the codelet's name */
    int *status;      /**< optional: the first failing kernel's status is stored here
                           atomically (0 = none); a codelet cannot return an error */
    int synchronous;  /**< 1: submit and wait (tests, debugging) */
};

/** cl_args of starhalo_cl_stencil5 / starhalo_cl_stencil9. Buffers: in tile (R), out tile
 * (RW|COMMUTE), same geometry. */
typedef struct starhalo__stencil_args {
    starhalo_dtype_t dtype;
    starhalo_kern_tile_t tile;
    starhalo_box_t region;
    int *status;
} starhalo__stencil_args_t;

/** Most regions one band task computes: the interior piece, or the boundary pieces of a band. */
#define STARHALO__BAND_MAX_REGIONS (STARHALO_MAX_BOUNDARY_BOXES + 1)

/**
 * cl_args of starhalo_cl_band_stencil (copied by StarPU). Buffers: the input tile (R), the
 * output band (RW). The band is a contiguous piece of the output tile starting at element
 * @p band_offset, so the kernel runs on the tile geometry with out = band - band_offset.
 */
typedef struct starhalo__band_args {
    int points; /**< 5 or 9 */
    starhalo_dtype_t dtype;
    starhalo_kern_tile_t tile;
    int64_t band_offset;
    int nregions;
    starhalo_box_t region[STARHALO__BAND_MAX_REGIONS];
    int *status; /**< first failure of any task of the owner (atomic), 0 = none */
} starhalo__band_args_t;

/** cl_args of starhalo_cl_sqdiff. Buffers: tile a (R), tile b (R), one double (W). */
typedef struct starhalo__sqdiff_args {
    starhalo_dtype_t dtype;
    starhalo_kern_tile_t tile;
    starhalo_box_t region;
    int *status;
} starhalo__sqdiff_args_t;

/** cl_args of starhalo_cl_conv2d (float32). Buffers: in tile (R), weights (R: Cout x Cin/groups
 * x k x k, then Cout bias values when has_bias), out tile (RW|COMMUTE). */
typedef struct starhalo__conv_args {
    starhalo_kern_tile_t in_tile, out_tile;
    starhalo_layer_t layer;
    int groups; /**< conv groups (starhalo_kern_conv2d_cpu_g); 0 or 1: ungrouped. CPU only */
    int has_bias;
    int has_domain;        /**< 0: domain = input tile box */
    starhalo_box_t domain; /**< input image box: cells outside are zero padding */
    starhalo_box_t region; /**< output cells */
    int *status;
} starhalo__conv_args_t;

/** cl_args of starhalo_cl_pool2d (float32). Buffers: in tile (R), out tile (RW|COMMUTE). */
typedef struct starhalo__pool_args {
    starhalo_pool_kind_t kind;
    starhalo_kern_tile_t in_tile, out_tile;
    starhalo_layer_t layer;
    int has_domain;
    starhalo_box_t domain;
    starhalo_box_t region;
    int *status;
} starhalo__pool_args_t;

extern struct starpu_codelet starhalo_cl_stencil5;
extern struct starpu_codelet starhalo_cl_stencil9;
extern struct starpu_codelet starhalo_cl_conv2d;
extern struct starpu_codelet starhalo_cl_pool2d;
extern struct starpu_codelet starhalo_cl_band_stencil;
extern struct starpu_codelet starhalo_cl_sqdiff;

/** Submit one stencil region task (5- or 9-point by the function name). */
starhalo_status_t starhalo__insert_stencil5(const struct starhalo__task_opts *o,
                                            starpu_data_handle_t in, starpu_data_handle_t out,
                                            starhalo_dtype_t dtype,
                                            const starhalo_kern_tile_t *tile,
                                            const starhalo_box_t *region);
starhalo_status_t starhalo__insert_stencil9(const struct starhalo__task_opts *o,
                                            starpu_data_handle_t in, starpu_data_handle_t out,
                                            starhalo_dtype_t dtype,
                                            const starhalo_kern_tile_t *tile,
                                            const starhalo_box_t *region);
/** Submit one conv2d region task; @p domain may be NULL (see starhalo_kern_conv2d_cpu). */
starhalo_status_t
starhalo__insert_conv2d(const struct starhalo__task_opts *o, starpu_data_handle_t in,
                        starpu_data_handle_t weights, starpu_data_handle_t out,
                        const starhalo_kern_tile_t *in_tile, const starhalo_kern_tile_t *out_tile,
                        const starhalo_layer_t *layer, int has_bias, const starhalo_box_t *region,
                        const starhalo_box_t *domain);
/** starhalo__insert_conv2d of a grouped conv (@p groups >= 1, see starhalo_kern_conv2d_cpu_g;
 * with groups > 1 only CPU workers run it). */
starhalo_status_t
starhalo__insert_conv2d_g(const struct starhalo__task_opts *o, starpu_data_handle_t in,
                          starpu_data_handle_t weights, starpu_data_handle_t out,
                          const starhalo_kern_tile_t *in_tile, const starhalo_kern_tile_t *out_tile,
                          const starhalo_layer_t *layer, int groups, int has_bias,
                          const starhalo_box_t *region, const starhalo_box_t *domain);
/** Submit one pooling region task. */
starhalo_status_t
starhalo__insert_pool2d(const struct starhalo__task_opts *o, starpu_data_handle_t in,
                        starpu_data_handle_t out, starhalo_pool_kind_t kind,
                        const starhalo_kern_tile_t *in_tile, const starhalo_kern_tile_t *out_tile,
                        const starhalo_layer_t *layer, const starhalo_box_t *region,
                        const starhalo_box_t *domain);

/** Store @p rc into @p *status unless it is OK, NULL, or a failure is already recorded. */
static inline void starhalo__cl_record(int *status, starhalo_status_t rc)
{
    int expected = 0;
    if (rc != STARHALO_OK && status)
        __atomic_compare_exchange_n(status, &expected, (int)rc, 0, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST);
}

/** The conv groups of cl_args (0 counts as 1). */
static inline int starhalo__cl_conv_groups(int groups)
{
    return groups > 1 ? groups : 1;
}

/** History-model footprint of a region task: the region's extents and a kind tag. */
static inline uint32_t starhalo__cl_region_footprint(const starhalo_box_t *region, uint32_t kind)
{
    int64_t ext[3];
    for (int d = 0; d < 3; d++)
        ext[d] = region->hi[d] - region->lo[d];
    return starpu_hash_crc32c_be(kind, starpu_hash_crc32c_be_n(ext, sizeof ext, 0));
}

/** Create and submit a task of @p cl with a copy of @p args (freed by StarPU). */
static inline starhalo_status_t starhalo__cl_submit(struct starpu_codelet *cl,
                                                    const struct starhalo__task_opts *o,
                                                    const void *args, size_t size, int nbuffers,
                                                    const starpu_data_handle_t *handles)
{
    void *copy = malloc(size);
    if (!copy)
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "%s: cl_args of %zu bytes", cl->name,
                                  size);
    memcpy(copy, args, size);
    struct starpu_task *task = starpu_task_create();
    task->cl = cl;
    task->cl_arg = copy;
    task->cl_arg_size = size;
    task->cl_arg_free = 1;
    for (int i = 0; i < nbuffers; i++)
        task->handles[i] = handles[i];
    if (o) {
        task->priority = o->priority;
        task->name = o->name;
        task->synchronous = o->synchronous ? 1 : 0;
    }
    const int ret = starpu_task_submit(task);
    if (ret == -ENODEV) {
        starpu_task_destroy(task);
        return starhalo_error_set(STARHALO_ERR_NO_DEVICE, "%s: no worker can run it", cl->name);
    }
    if (ret != 0) {
        starpu_task_destroy(task);
        return starhalo_error_set(STARHALO_ERR_STARPU, "%s: starpu_task_submit returned %d",
                                  cl->name, ret);
    }
    return STARHALO_OK;
}

#endif
