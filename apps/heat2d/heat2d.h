/* SPDX-License-Identifier: MIT */
/**
 * @file heat2d.h
 * @brief heat2d: options, the Dirichlet problem, and the pieces shared by the StarPU modes
 * (main.c) and the hand-written MPI baseline (raw.c).
 */
#ifndef HEAT2D_H
#define HEAT2D_H

#include <stdint.h>

#include <mpi.h>

#include <starhalo/starhalo_compute.h>

/** Command-line options (identical on every rank). */
typedef struct heat2d_opts {
    int64_t size;
    int iterations;
    int warmup;
    int parts;
    int parts_per_rank;
    starhalo_split_t split;
    int mode; /**< HEAT2D_MODE_* */
    int residual_every;
    const char *pgm;
    const char *dump;
    starhalo_dtype_t dtype;
    starhalo_stencil_kind_t stencil;
    int bands;
    int split_strips;
    int window;
    const char *checkpoint; /**< write the field here every checkpoint_every steps and at the end */
    int checkpoint_every;   /**< 0: only at the end */
    const char *restart;    /**< start from this checkpoint (its step counts towards the total) */
} heat2d_opts_t;

enum { HEAT2D_MODE_TASK = 0, HEAT2D_MODE_BSP, HEAT2D_MODE_RAW };

/** Result of a run, valid on rank 0. */
typedef struct heat2d_result {
    double seconds;  /**< timed iterations only */
    int timed;       /**< how many (fewer than --iterations after a --restart) */
    double residual; /**< sqrt(sum (u_k - u_{k-1})^2) of the last iteration */
    double checksum; /**< sum of the final field in global row-major order */
} heat2d_result_t;

/** Dirichlet value of the image-border ghost cell (x, y): 1 on the top edge, 0 elsewhere. */
static inline double heat2d_boundary_value(int64_t x, int64_t y)
{
    (void)x;
    return y < 0 ? 1.0 : 0.0;
}

/** Fill a ghosted tile (box @p g, one plane): owned cells 0, ghost cells the boundary
 * values (ghosts inside the image are overwritten by every exchange). */
void heat2d_fill_tile(starhalo_dtype_t dtype, const starhalo_box_t *g, void *tile);

/** The decomposition described by the options (halo 1, BOX for 9-point, STAR for 5-point). */
starhalo_status_t heat2d_decomp(const heat2d_opts_t *o, starhalo_decomp_t **out);

/** On rank 0: residual/checksum output, --pgm and --dump of the gathered field. */
int heat2d_finish(const heat2d_opts_t *o, const void *global, heat2d_result_t *res);

/** The raw MPI BSP Jacobi; returns 0 or 1 (error printed). Collective on MPI_COMM_WORLD. */
int heat2d_run_raw(const heat2d_opts_t *o, heat2d_result_t *res);

#endif
