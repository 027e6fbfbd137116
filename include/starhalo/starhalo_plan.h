/* SPDX-License-Identifier: MIT */
/**
 * @file starhalo_plan.h
 * @brief StarPU-free, MPI-free geometry: decompositions, per-part halo plans, regions, layer
 * halos, and the lowered exchange lists ("transfer plans") that every executor consumes.
 *
 * Conventions
 * - Dimensions are numbered fastest first: dim 0 = W (x, columns), dim 1 = H (y, rows),
 *   dim 2 = D (z, optional). A tensor is N x C x [D x] H x W, batch and channels are carried
 *   along and never split.
 * - "vertical" splits the width (column strips), "horizontal" splits the height (row strips),
 *   "square" is a sqrt(P) x sqrt(P) grid, "grid" any Px x Py [x Pz].
 * - Boxes are half-open, [lo, hi) per dimension, in global cell coordinates. Ghost cells of a
 *   periodic dimension lie outside [0, extent) (e.g. -1); `shift` relates them to the owner.
 * - Halo widths are per side: halo[2*d] is the minus side of dim d, halo[2*d+1] the plus side
 *   (GHEX / PETSc order).
 * - A part's local array ("ghosted tile") is its ghosted box stored row-major, fastest dim
 *   last in memory order W, i.e. offset = ((z * gh) + y) * gw + x in ghosted-local coordinates,
 *   repeated for each of the batch x channels planes.
 * - Nothing here includes StarPU or MPI; ranks are plain integers.
 */
#ifndef STARHALO_PLAN_H
#define STARHALO_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include <starhalo/starhalo_error.h>

STARHALO_BEGIN_DECLS

#define STARHALO_MAX_DIMS 3

/** A half-open box [lo, hi) in global cell coordinates; unused dims are [0, 1). */
typedef struct starhalo_box {
    int64_t lo[STARHALO_MAX_DIMS];
    int64_t hi[STARHALO_MAX_DIMS];
} starhalo_box_t;

/** How the spatial domain is split into parts. */
typedef enum starhalo_split {
    STARHALO_SPLIT_VERTICAL = 0, /**< split dim 0 (width) into nparts column strips */
    STARHALO_SPLIT_HORIZONTAL,   /**< split dim 1 (height) into nparts row strips */
    STARHALO_SPLIT_SQUARE,       /**< sqrt(nparts) x sqrt(nparts) grid over dims 0 and 1 */
    STARHALO_SPLIT_GRID          /**< parts_per_dim[] given explicitly */
} starhalo_split_t;

/** Which neighbours a halo reaches: faces only, or faces, edges and corners. */
typedef enum starhalo_stencil_shape {
    STARHALO_STENCIL_STAR = 0, /**< face neighbours only (5-point, 7-point stencils) */
    STARHALO_STENCIL_BOX       /**< also diagonal neighbours (9-point stencils, convolutions) */
} starhalo_stencil_shape_t;

/** Caller-filled description of a decomposition. Zero-initialise, then set what you need. */
typedef struct starhalo_decomp_desc {
    int ndims;                            /**< 2 or 3 spatial dims */
    int64_t extent[STARHALO_MAX_DIMS];    /**< global cells per dim (W, H, D) */
    int64_t batch;                        /**< N, carried along (0 means 1) */
    int64_t channels;                     /**< C, carried along (0 means 1) */
    starhalo_split_t split;               /**< how to split */
    int nparts;                           /**< total parts (ignored for GRID: product of dims) */
    int parts_per_dim[STARHALO_MAX_DIMS]; /**< for GRID; 0 entries mean 1 */
    /** Optional uneven sizes: part_sizes[d] lists parts_per_dim[d] owned widths summing to
     * extent[d]; NULL spreads the remainder over the first parts (no cell is ever dropped). */
    const int64_t *part_sizes[STARHALO_MAX_DIMS];
    int halo[2 * STARHALO_MAX_DIMS]; /**< per-side halo widths, minus then plus per dim */
    starhalo_stencil_shape_t shape;  /**< STAR or BOX */
    int periodic[STARHALO_MAX_DIMS]; /**< non-zero: dimension wraps around */
} starhalo_decomp_desc_t;

/** Opaque decomposition: global extents, part grid, owners. Immutable once created. */
typedef struct starhalo_decomp starhalo_decomp_t;

/**
 * Validate @p desc and create a decomposition.
 * @retval STARHALO_ERR_INVALID_ARG zero/negative sizes, bad ndims, unknown split, bad sizes list
 * @retval STARHALO_ERR_NOT_SQUARE  SQUARE with a part count that is not a perfect square
 * @retval STARHALO_ERR_TOO_MANY_PARTS more parts than cells in a dimension
 * @retval STARHALO_ERR_HALO_TOO_WIDE a halo wider than a part it must come from (the message
 *         names the part, the side and both widths)
 * @retval STARHALO_ERR_NO_MEMORY
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_decomp_create(const starhalo_decomp_desc_t *desc, starhalo_decomp_t **out);

/** Destroy a decomposition; NULL is allowed. */
STARHALO_API void starhalo_decomp_destroy(starhalo_decomp_t *decomp);

/** Parse "vertical", "horizontal", "square" or "grid". */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_split_parse(const char *name,
                                                                       starhalo_split_t *out);
/** @return "vertical", "horizontal", "square", "grid". */
STARHALO_API const char *starhalo_split_name(starhalo_split_t split);

/** @return the validated description (a copy owned by @p decomp; part_sizes are NULL). */
STARHALO_API const starhalo_decomp_desc_t *starhalo_decomp_desc(const starhalo_decomp_t *decomp);
STARHALO_API int starhalo_decomp_num_parts(const starhalo_decomp_t *decomp);
/** Parts per dimension (1 for unused dims). */
STARHALO_API void starhalo_decomp_part_grid(const starhalo_decomp_t *decomp,
                                            int parts_per_dim[STARHALO_MAX_DIMS]);
/** Part index <-> part coordinates in the part grid (dim 0 fastest). */
STARHALO_API int starhalo_decomp_part_index(const starhalo_decomp_t *decomp,
                                            const int coord[STARHALO_MAX_DIMS]);
STARHALO_API void starhalo_decomp_part_coord(const starhalo_decomp_t *decomp, int part,
                                             int coord[STARHALO_MAX_DIMS]);
/** Owned box of @p part, O(1). */
STARHALO_API starhalo_box_t starhalo_decomp_owned_box(const starhalo_decomp_t *decomp, int part);
/** Part owning global cell @p cell (must be inside the domain), O(log P). */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_decomp_owner_of(
    const starhalo_decomp_t *decomp, const int64_t cell[STARHALO_MAX_DIMS], int *part);

/**
 * One neighbour of a part: what goes out to it and what comes in from it.
 *
 * Neighbours are listed in direction-slot order, slot(dir) = (dir[0]+1) + 3*(dir[1]+1) +
 * 9*(dir[2]+1) (0..26; 2-D parts use 9..17). send_tag = slot(dir), recv_tag = slot(-dir), which
 * is the send_tag of the matching entry in the neighbour's list. STAR lists face directions only,
 * BOX also edges and corners. A direction is listed when a message goes either way: every
 * non-zero component has a non-zero halo on that side (recv) or on the opposite side (send), and
 * the neighbour exists (no wrap across a non-periodic border). So A lists B in dir exactly when
 * B lists A in -dir; with asymmetric halos one of send/recv may be empty (volume 0): both sides
 * know it, and executors skip zero-size messages.
 */
typedef struct starhalo_neighbor {
    int part;                   /**< neighbour part index (may be the part itself if periodic) */
    int dir[STARHALO_MAX_DIMS]; /**< offset of the neighbour in the part grid: -1, 0 or +1 */
    int64_t shift[STARHALO_MAX_DIMS]; /**< periodic wrap: recv box = neighbour's send box +
                                          shift (shift is a multiple of the extent, usually 0) */
    starhalo_box_t send;              /**< owned cells this part sends to the neighbour */
    starhalo_box_t recv;              /**< ghost cells this part receives from the neighbour */
    int send_tag;                     /**< direction slot of the outgoing message */
    int recv_tag;                     /**< direction slot of the incoming message; equals the
                                           neighbour's send_tag for the matching send */
} starhalo_neighbor_t;

/** Opaque per-part plan: owned and ghosted boxes and the neighbour list. */
typedef struct starhalo_part_plan starhalo_part_plan_t;

/** Build @p part's plan in O(neighbours) time and memory. */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_part_plan_create(const starhalo_decomp_t *decomp, int part, starhalo_part_plan_t **out);
STARHALO_API void starhalo_part_plan_destroy(starhalo_part_plan_t *plan);

STARHALO_API int starhalo_part_plan_part(const starhalo_part_plan_t *plan);
STARHALO_API starhalo_box_t starhalo_part_plan_owned(const starhalo_part_plan_t *plan);
/** Owned box grown by the halo widths on every side (image borders included: those ghost
 * cells are zero padding when no neighbour fills them). */
STARHALO_API starhalo_box_t starhalo_part_plan_ghosted(const starhalo_part_plan_t *plan);
STARHALO_API int starhalo_part_plan_num_neighbors(const starhalo_part_plan_t *plan);
STARHALO_API const starhalo_neighbor_t *
starhalo_part_plan_neighbor(const starhalo_part_plan_t *plan, int i);

/**
 * Interior / boundary split for a compute footprint.
 *
 * @p reach[2*d], reach[2*d+1]: how far one output cell reads on the minus / plus side of dim
 * d (each <= the halo width of that side). The interior is the set of owned cells whose whole
 * footprint is available without any message (it may read zero-padded image-border ghosts);
 * the boundary boxes (at most 2*ndims, disjoint, full-width slabs first) cover the rest of the
 * owned box. This is GT4Py's internal / foreign_halo split; the ghost cells are the halo.
 * An empty interior is returned with lo == hi.
 */
#define STARHALO_MAX_BOUNDARY_BOXES (2 * STARHALO_MAX_DIMS)
typedef struct starhalo_regions {
    starhalo_box_t interior;
    int nboundary;
    starhalo_box_t boundary[STARHALO_MAX_BOUNDARY_BOXES];
} starhalo_regions_t;

STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_part_plan_regions(const starhalo_part_plan_t *plan, const int reach[2 * STARHALO_MAX_DIMS],
                           starhalo_regions_t *out);

/** Number of cells in a box (0 if empty). */
STARHALO_API int64_t starhalo_box_volume(const starhalo_box_t *box);
/** Intersection of two boxes (may be empty). */
STARHALO_API starhalo_box_t starhalo_box_intersect(const starhalo_box_t *a,
                                                   const starhalo_box_t *b);

/* ---------------------------------------------------------------------------------------- */
/* Layer specs: halo widths and output ownership of conv / pool layers                      */
/* ---------------------------------------------------------------------------------------- */

/** A sliding-window layer along the spatial dims (same parameters on every dim). */
typedef struct starhalo_layer {
    int kernel;   /**< window size (conv kernel or pool window) */
    int stride;   /**< >= 1 */
    int dilation; /**< >= 1 (1 for pooling) */
    int padding;  /**< zero padding on each side */
} starhalo_layer_t;

/**
 * Per-side halo widths a part needs so that it computes its share of the layer's output with
 * the undistributed output shape: minus = padding, plus = max(0, dilation*(kernel-1) - padding).
 * Output cell o is computed by the part owning input cell o*stride.
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_layer_halo(const starhalo_layer_t *layer,
                                                                      int *minus, int *plus);
/** Undistributed output extent: floor((n + 2p - d(k-1) - 1)/s) + 1; 0 for a layer that
 * starhalo_layer_halo() refuses (or NULL), a negative n, or an n near INT64_MAX. */
STARHALO_API int64_t starhalo_layer_output_extent(const starhalo_layer_t *layer, int64_t n);
/** Output range [lo, hi) along one dim computed by the part owning input [in_lo, in_hi) of a
 * dim of extent n. Parts' ranges tile [0, output_extent) exactly. [0, 0) for a layer that
 * starhalo_layer_halo() refuses; nothing is written when an output pointer is NULL. */
STARHALO_API void starhalo_layer_output_range(const starhalo_layer_t *layer, int64_t n,
                                              int64_t in_lo, int64_t in_hi, int64_t *out_lo,
                                              int64_t *out_hi);

/**
 * Interior and boundary of a part's layer outputs, any stride: @p out_owned (global output
 * coordinates, from starhalo_layer_output_range) split into the interior, the outputs whose
 * whole window (o*stride - padding + kk*dilation, dims 0 and 1) lies inside @p in_owned and so
 * reads no ghost, and up to 4 boundary boxes (the rest: rows below and above, then columns left
 * and right of the interior). An empty interior leaves the whole box as one boundary box.
 * @retval STARHALO_ERR_INVALID_ARG NULL argument or a layer starhalo_layer_halo() refuses
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_layer_output_regions(const starhalo_layer_t *layer, const starhalo_box_t *in_owned,
                              const starhalo_box_t *out_owned, starhalo_regions_t *out);

/* ---------------------------------------------------------------------------------------- */
/* Transfer plans: the lowered form every executor consumes                                 */
/* ---------------------------------------------------------------------------------------- */

/**
 * A run of consecutive elements of one local plane: [offset, offset + length).
 * Runs are how both structured (a box row is one run) and index plans (consecutive indexes
 * merge into one run) describe what to gather or scatter.
 */
typedef struct starhalo_run {
    int64_t offset;
    int64_t length;
} starhalo_run_t;

/**
 * One peer of a transfer plan. Forward ("update"): gather the send runs of every plane into
 * one message to @p peer; scatter the message received from @p peer into the recv runs.
 * Reverse ("update by halo"): the recv runs go back to @p peer, which combines them into its
 * send runs with a reduction. Send and recv element counts are per plane.
 */
typedef struct starhalo_peer_xfer {
    int peer;     /**< part (structured plans) or rank (index plans) */
    int send_tag; /**< matches the peer's recv_tag for this message */
    int recv_tag;
    int64_t send_count; /**< elements per plane sent (sum of send run lengths) */
    int nsend_runs;
    const starhalo_run_t *send_runs;
    int64_t recv_count; /**< elements per plane received */
    int nrecv_runs;
    const starhalo_run_t *recv_runs;
} starhalo_peer_xfer_t;

/** Opaque transfer plan of one part (structured) or one rank (index). */
typedef struct starhalo_xfer_plan starhalo_xfer_plan_t;

/** Lower a structured part plan: offsets are into the part's ghosted tile plane. Peers are in
 * neighbour order; a neighbour reached twice (periodic, 2 parts) appears twice with distinct
 * tags. */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_part_plan_lower(const starhalo_part_plan_t *plan, starhalo_xfer_plan_t **out);

/** Build a transfer plan from explicit runs (used by index plans and tests). The arrays are
 * copied. */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_xfer_plan_create(int npeers, const starhalo_peer_xfer_t *peers, int64_t plane_size,
                          int64_t planes, starhalo_xfer_plan_t **out);
STARHALO_API void starhalo_xfer_plan_destroy(starhalo_xfer_plan_t *plan);
STARHALO_API int starhalo_xfer_plan_num_peers(const starhalo_xfer_plan_t *plan);
STARHALO_API const starhalo_peer_xfer_t *starhalo_xfer_plan_peer(const starhalo_xfer_plan_t *plan,
                                                                 int i);
/** Elements in one local plane (ghosted tile, or owned + halo for index plans). */
STARHALO_API int64_t starhalo_xfer_plan_plane_size(const starhalo_xfer_plan_t *plan);
/** Planes per local array (batch x channels). */
STARHALO_API int64_t starhalo_xfer_plan_planes(const starhalo_xfer_plan_t *plan);

STARHALO_END_DECLS

#endif
