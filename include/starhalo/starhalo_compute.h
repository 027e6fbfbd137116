/* SPDX-License-Identifier: MIT */
/**
 * @file starhalo_compute.h
 * @brief Task graphs over distributed fields: a Jacobi stencil step and a conv2d layer whose
 * interior runs while halos travel, plus the collective helpers an application needs around
 * them (residual reduction, gather to one rank).
 *
 * One step of a stencil object submits, for every local part:
 *  1. the output tile is split (StarPU asynchronous partitioning) into contiguous row bands:
 *     one band holding the top ghost rows and top boundary rows, a few interior bands, one band
 *     holding the bottom boundary rows and bottom ghost rows;
 *  2. starhalo_exchange_begin() on the input (pack tasks and transfers);
 *  3. one task per interior band (reads only owned cells of the input tile);
 *  4. starhalo_exchange_end() (unpack into the ghost cells of the input tile);
 *  5. one boundary task per band that holds boundary cells (top slab, bottom slab, and the
 *     left/right strips of each interior band merged into one task);
 *  6. the output tile is unpartitioned, so exchanges and host access see the whole tile.
 * The bands let two workers compute one part's interior concurrently; in the BSP mode the
 * exchange is submitted and waited for, then each part is computed by one task.
 *
 * Every call is collective (same calls, same order, on every rank), like the runtime.
 */
#ifndef STARHALO_COMPUTE_H
#define STARHALO_COMPUTE_H

#include <starhalo/starhalo_runtime.h>

STARHALO_BEGIN_DECLS

/** Jacobi stencils (see starhalo_kern_stencil5_cpu for the exact arithmetic). */
typedef enum starhalo_stencil_kind {
    STARHALO_STENCIL_5PT = 5, /**< 0.25 * (N + S + E + W); needs halo >= 1, STAR or BOX */
    STARHALO_STENCIL_9PT = 9  /**< (4 * faces + corners) / 20; needs halo >= 1 and BOX */
} starhalo_stencil_kind_t;

/** How a step is submitted. */
typedef enum starhalo_step_mode {
    STARHALO_STEP_TASK = 0, /**< interior bands overlap the exchange, boundary tasks after */
    STARHALO_STEP_BSP       /**< exchange, wait, then one task per part */
} starhalo_step_mode_t;

/** Parse "task" or "bsp". */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_step_mode_parse(const char *name, starhalo_step_mode_t *out);
/** Parse "5", "9", "5pt", "9pt". */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_stencil_kind_parse(const char *name, starhalo_stencil_kind_t *out);

/** Task-graph tuning; zero-initialise for the defaults. */
typedef struct starhalo_compute_conf {
    int bands;        /**< interior row bands per part in task mode; 0 = number of CPU workers */
    int split_strips; /**< 1: one task per left/right strip piece instead of one merged task
                           per band (kept to measure narrow-strip tasks) */
    int window; /**< stencil steps: when a step of an object is submitted, at most this many of
                     its earlier steps may still be running (0 = 1; -1 = no limit). Bounds the
                     graph in flight so that high-priority exchange tasks of future steps do
                     not take the workers from the current one */
} starhalo_compute_conf_t;

/** Opaque stencil step from one field into another (output tiles partitioned into bands). */
typedef struct starhalo_stencil starhalo_stencil_t;

/**
 * Prepare steps `out = stencil(in)`. @p in and @p out must use the same decomposition, dtype
 * and part mapping, with halo >= 1 on every side (image-border ghost cells hold the
 * Dirichlet boundary values and are never written); @p ex_in is an exchange over @p in.
 * For a Jacobi iteration create two objects (A -> B with ex_A, B -> A with ex_B).
 * Destroy the object before the fields. Collective.
 * @retval STARHALO_ERR_INVALID_ARG mismatching fields, halo 0, 9-point on a STAR decomposition
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_stencil_create(starhalo_context_t *ctx, starhalo_field_t *in, starhalo_field_t *out,
                        starhalo_exchange_t *ex_in, starhalo_stencil_kind_t kind,
                        const starhalo_compute_conf_t *conf, starhalo_stencil_t **out_st);

/** Release the band partitions (waits for the object's tasks). Collective. NULL is allowed. */
STARHALO_API void starhalo_stencil_destroy(starhalo_stencil_t *st);

/** Submit one step (asynchronous in TASK mode; BSP waits for the exchange only). */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_stencil_step(starhalo_stencil_t *st,
                                                                        starhalo_step_mode_t mode);

/** Number of tasks one TASK-mode step submits on this rank (compute tasks only). */
STARHALO_API int starhalo_stencil_tasks_per_step(const starhalo_stencil_t *st);

/**
 * Global sum over owned cells of (a - b)^2: one task per local part (accumulated in double),
 * per-part sums added in part order, then MPI_Allreduce. Waits. Collective. The caller must
 * have initialised MPI with MPI_THREAD_MULTIPLE (StarPU-MPI's thread runs concurrently).
 * @retval STARHALO_ERR_UNSUPPORTED MPI was initialised with a lower thread level
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_field_sqdiff(starhalo_context_t *ctx,
                                                                        starhalo_field_t *a,
                                                                        starhalo_field_t *b,
                                                                        double *sum);

/**
 * Gather the owned cells of every part into @p global on @p root: planes (batch x channels) of
 * the global extent, W fastest (element type of the field). @p global is ignored elsewhere.
 * Waits for the field's tasks. Collective; MPI_THREAD_MULTIPLE as above.
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_field_gather(starhalo_context_t *ctx,
                                                                        starhalo_field_t *field,
                                                                        int root, void *global);

/* ---------------------------------------------------------------------------------------- */
/* conv2d forward layer                                                                     */
/* ---------------------------------------------------------------------------------------- */

/**
 * The output decomposition of a layer: the same split and part grid as @p in, extents
 * starhalo_layer_output_extent() and part sizes from starhalo_layer_output_range() (the part
 * owning input cell o*stride owns output cell o), @p out_channels channels, the given
 * per-side halo (e.g. the next layer's) and shape.
 * @retval STARHALO_ERR_INVALID_ARG a part with no output cell (too many parts for the output)
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_layer_output_decomp(
    const starhalo_decomp_t *in, const starhalo_layer_t *layer, int64_t out_channels,
    const int halo[2 * STARHALO_MAX_DIMS], starhalo_stencil_shape_t shape, starhalo_decomp_t **out);

/** Opaque conv2d forward layer between two fields. */
typedef struct starhalo_conv2d starhalo_conv2d_t;

/**
 * Prepare `out = conv2d(in)` (float32, cross-correlation, zero padding at the image border).
 * @p in must have halos >= starhalo_layer_halo(layer) per side and @p out the decomposition
 * of starhalo_layer_output_decomp() with the same part mapping. @p weights are
 * Cout x Cin x k x k, @p bias Cout values or NULL; both are copied. conf->bands is the number
 * of output-channel groups computed as separate tasks (0 = the CPU workers divided by the
 * rank's parts, rounded up: each group redoes the input's im2col; groups need batch 1).
 * With stride 1 the task mode computes the interior while halos travel; with stride > 1
 * each group is one task after the exchange. Destroy before the fields. Collective.
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_conv2d_create(
    starhalo_context_t *ctx, starhalo_field_t *in, starhalo_field_t *out,
    starhalo_exchange_t *ex_in, const starhalo_layer_t *layer, const float *weights,
    const float *bias, const starhalo_compute_conf_t *conf, starhalo_conv2d_t **out_cv);

/** Submit one forward pass (exchange of the input + conv tasks). */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_conv2d_forward(starhalo_conv2d_t *cv, starhalo_step_mode_t mode);

/** Waits for the layer's tasks, releases its handles. Collective. NULL is allowed. */
STARHALO_API void starhalo_conv2d_destroy(starhalo_conv2d_t *cv);

STARHALO_END_DECLS

#endif
