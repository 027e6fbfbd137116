/* SPDX-License-Identifier: MIT */
/**
 * @file halo_bench.h
 * @brief Internal interface of halo_bench: options, transports, the global-index oracle and
 * output helpers. The benchmark reproduces MPI4DL's halo-exchange benchmark (options, output
 * lines) and adds a StarPU transport, a hand-written MPI reference and a validation oracle.
 */
#ifndef HALO_BENCH_H
#define HALO_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include <mpi.h>

#include <starhalo/starhalo_plan.h>
#include <starhalo/starhalo_runtime.h>
#include <starhalo/starhalo_types.h>

#define HB_NAME   "halo_bench"
#define HB_ERRLEN 512

/** Which code path moves the halos. */
typedef enum hb_transport_kind {
    HB_TRANSPORT_STARPU = 0, /**< starhalo_exchange_* (StarPU-MPI tasks) */
    HB_TRANSPORT_MPI         /**< hand-written MPI_Irecv/MPI_Isend/MPI_Waitall reference */
} hb_transport_kind_t;

/** Parsed command line. Names and defaults follow MPI4DL's benchmark_sp_halo_exchange.py. */
typedef struct hb_options {
    int64_t image_size;     /**< --image-size (8): square image, W = H */
    int64_t batch;          /**< --batch-size (1) */
    int64_t halo;           /**< --halo-len (1) */
    int64_t in_channels;    /**< --in-channels (1) */
    int64_t out_channels;   /**< --out-channels (256), accepted, unused (MPI4DL's conv variant) */
    int64_t warmup;         /**< --warmup (10) */
    int64_t iterations;     /**< --iterations (100) */
    int64_t nparts;         /**< --num-spatial-parts (4) */
    starhalo_split_t split; /**< --slice-method (square) */
    int fp16_allreduce;     /**< --fp16-allreduce, accepted, no effect */
    hb_transport_kind_t transport; /**< --transport (starpu) */
    const char *runtime_transport; /**< --runtime-transport: "auto", "starpu-mpi", "direct" */
    int call_run;           /**< --call run (default): starhalo_exchange_run, not submit + wait */
    int validate;           /**< --validate: refill, exchange once more, check every cell */
    int64_t parts_per_rank; /**< --parts-per-rank (1) */
    const char *csv;        /**< --csv FILE */
    const char *dump;       /**< --dump DIR */
    int periodic;           /**< --periodic */
    starhalo_dtype_t dtype; /**< --dtype (float32) */
    int help;               /**< -h/--help given */
    int with_compute;  /**< --with-compute: conv (kernel 2*halo+1, padding halo) per iteration */
    int mode_task;     /**< --mode: 1 task (interior overlaps the exchange), 0 bsp */
    int mode_given;    /**< --mode was given */
    int skip_exchange; /**< --skip-exchange: conv only (times the compute alone) */
    int64_t bands;     /**< --bands: output-channel groups per part (0 = CPU workers) */
} hb_options_t;

/** Parse argv. On error writes a one-line message (without prefix) into @p err, returns -1. */
int hb_options_parse(int argc, char **argv, hb_options_t *o, char *err, size_t errlen);
/** Print the usage text (MPI4DL's, plus the added options) to stdout. */
void hb_options_usage(void);
const char *hb_transport_name(hb_transport_kind_t t);
/** Checks that need the world size; then builds the decomposition. -1 and @p err on error. */
int hb_decomp_build(const hb_options_t *o, int nranks, starhalo_decomp_t **out, char *err,
                    size_t errlen);

/* ---- transports --------------------------------------------------------------------- */

/** A transport owns the tiles of this rank's parts and runs complete exchanges. */
typedef struct hb_transport hb_transport_t;

typedef struct hb_transport_ops {
    /** Create tiles (zeroed) and the exchange. Collective. */
    starhalo_status_t (*create)(const hb_options_t *o, const starhalo_decomp_t *decomp,
                                MPI_Comm comm, hb_transport_t **out);
    /** One complete forward exchange: returns when this rank's ghost cells are written. */
    starhalo_status_t (*exchange)(hb_transport_t *t);
    /** Host access to a local part's ghosted tile (W fastest, planes N x C). */
    starhalo_status_t (*acquire)(hb_transport_t *t, int part, int write, void **ptr);
    starhalo_status_t (*release)(hb_transport_t *t, int part);
    /** Collective teardown; NULL allowed. */
    void (*destroy)(hb_transport_t *t);
} hb_transport_ops_t;

extern const hb_transport_ops_t hb_transport_mpi_ops;
extern const hb_transport_ops_t hb_transport_starpu_ops;

/** Parts of @p rank under the contiguous mapping both transports use (K per rank). */
static inline int hb_first_part(const hb_options_t *o, int rank)
{
    return rank * (int)o->parts_per_rank;
}

/* ---- oracle ------------------------------------------------------------------------- */

/** Geometry of one part's tile, derived from the decomposition only (not from plans). */
typedef struct hb_tile_geom {
    starhalo_box_t owned;
    starhalo_box_t ghosted; /**< owned grown by the halo on both sides of W and H */
    int64_t gw, gh;         /**< ghosted width and height */
    int64_t planes;         /**< batch x channels */
} hb_tile_geom_t;

void hb_tile_geom(const hb_options_t *o, const starhalo_decomp_t *decomp, int part,
                  hb_tile_geom_t *g);
/** The oracle value of global cell (plane, y, x) for generation @p gen: in [1, 2^23]. */
double hb_oracle_value(const hb_options_t *o, uint64_t gen, int64_t plane, int64_t y, int64_t x);
/** Owned cells = oracle, ghost cells inside the image (or periodic) = -1 sentinel, image-border
 * ghosts = 0 (zero padding). */
void hb_tile_fill(const hb_options_t *o, const hb_tile_geom_t *g, uint64_t gen, void *tile);
/**
 * Compare a tile after an exchange with the oracle. @p full also checks owned cells.
 * @return number of wrong cells; the first one is described in @p what.
 */
int64_t hb_tile_check(const hb_options_t *o, const hb_tile_geom_t *g, uint64_t gen, int full,
                      const void *tile, char *what, size_t whatlen);

/* ---- compute (--with-compute) ----------------------------------------------------- */

/** The conv layer of --with-compute: kernel 2*halo+1, stride 1, padding halo. */
starhalo_layer_t hb_conv_layer(const hb_options_t *o);
/** Input image value of global cell (plane, y, x): a hash of the index, in [-1, 1). */
float hb_conv_input_value(const hb_options_t *o, int64_t plane, int64_t y, int64_t x);
/** Fill the Cout x Cin x k x k weights (a hash of the index, scaled by 1/sqrt(Cin k k)). */
void hb_conv_weights(const hb_options_t *o, float *w);
/** Fill a ghosted input tile: owned cells from hb_conv_input_value, ghost cells 0. */
void hb_conv_fill_tile(const hb_options_t *o, const hb_tile_geom_t *g, float *tile);

/** A conv layer over a transport's tiles: exchange + conv per iteration. */
typedef struct hb_compute hb_compute_t;

/** Set up the layer on @p t (made by @p ops with the same options). Collective. */
starhalo_status_t hb_compute_create(const hb_options_t *o, const starhalo_decomp_t *decomp,
                                    const hb_transport_ops_t *ops, hb_transport_t *t, MPI_Comm comm,
                                    hb_compute_t **out);
/** One timed iteration: exchange (unless --skip-exchange) and conv; returns when done. */
starhalo_status_t hb_compute_iteration(hb_compute_t *c);
/** Gather the output (N x Cout x image x image, W fastest) on rank 0 into @p global (only
 * read on rank 0). Collective. */
starhalo_status_t hb_compute_gather(hb_compute_t *c, float *global);
/** Single-rank reference: the whole zero-padded image through one oneDNN call. */
starhalo_status_t hb_compute_reference(const hb_options_t *o, float *out);
/** The whole input image (N x Cin x image x image), as every rank generates it. */
void hb_conv_input_image(const hb_options_t *o, float *img);
/** max|a - ref| / max|ref| over @p n values (0 when both are 0). */
double hb_rel_error(const float *a, const float *ref, int64_t n);
/** Collective teardown; NULL allowed. */
void hb_compute_destroy(hb_compute_t *c);

/** The StarPU transport's objects (NULL when @p t is not a StarPU transport). */
starhalo_context_t *hb_transport_starpu_context(hb_transport_t *t);
starhalo_field_t *hb_transport_starpu_field(hb_transport_t *t);
starhalo_exchange_t *hb_transport_starpu_exchange(hb_transport_t *t);

/* ---- output ------------------------------------------------------------------------- */

/** Write a tile as NumPy .npy v1.0, shape (N, C, gh, gw). -1 and errno-style message. */
int hb_npy_write(const char *path, starhalo_dtype_t dtype, int64_t n, int64_t c, int64_t gh,
                 int64_t gw, const void *data, char *err, size_t errlen);
/** Mean and median of @p n samples (sorts a copy). */
void hb_stats(const double *samples, int64_t n, double *mean, double *median);
/** Smallest and largest halo message over all parts, in bytes (0 when no message). */
starhalo_status_t hb_message_bytes(const hb_options_t *o, const starhalo_decomp_t *decomp,
                                   int64_t *min_bytes, int64_t *max_bytes);
/** Append one CSV line (header first when the file is empty). */
int hb_csv_append(const hb_options_t *o, int nranks, int64_t msg_min, int64_t msg_max,
                  const double *rank_mean_ms, const double *rank_median_ms, char *err,
                  size_t errlen);

#endif
