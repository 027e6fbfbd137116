/* SPDX-License-Identifier: MIT */
/**
 * @file runtime_internal.h
 * @brief Private structs of the runtime (context, field, exchange) and helpers shared by
 * the rt_*.c files. The only place that sees both StarPU and the public opaque types.
 */
#ifndef STARHALO_RUNTIME_INTERNAL_H
#define STARHALO_RUNTIME_INTERNAL_H

#include <stdint.h>

#include <starpu.h>
#include <starpu_mpi.h>

#include <starhalo/starhalo_runtime.h>
#include <starhalo/starhalo_starpu.h>

/** Tag numbers below this are left to applications' own starpu_mpi_data_register. */
#define STARHALO__TAG_FIRST ((int64_t)1 << 20)
/** Direction slots per part (3^STARHALO_MAX_DIMS): message tags are per (sender, slot). */
#define STARHALO__SLOTS 27

/** Launch placement computed from the topology (pure function, rt_topology.c). */
typedef struct starhalo__placement {
    int ncpus;        /**< CPU workers of this rank */
    int bind_workers; /**< 1: bind workers to first_core.., 0: leave unbound */
    int first_core;   /**< first core (logical index) of this rank's slice when bound */
    int mpi_nobind;   /**< 1: do not bind the StarPU-MPI progress thread */
} starhalo__placement_t;

/** Decide workers/binding for @p nlocal ranks sharing @p ncores cores; @p conf_ncpus and
 * @p conf_bind are the caller's requests (-1 = default). @p nranks is the communicator
 * size (1: no MPI traffic, every core runs a worker). */
starhalo__placement_t starhalo__placement_compute(int ncores, int nlocal, int local_rank,
                                                  int nranks, int conf_ncpus, int conf_bind);

typedef struct rt_tag_range {
    int64_t lo, hi; /* free tags [lo, hi) */
} rt_tag_range_t;

struct starhalo_exchange;

struct starhalo_context {
    MPI_Comm comm;
    int rank, size;
    int local_rank, nlocal; /**< ranks sharing this node (MPI_Comm_split_type SHARED) */
    int we_init_mpi;
    int ncpus;
    starhalo__placement_t placement;
    int64_t tag_ub;
    rt_tag_range_t *free_tags; /**< sorted, disjoint free ranges */
    int nfree_tags;
    struct starhalo_exchange *exchanges; /**< live exchanges (for wait_all) */
};

/** One local part of a field. */
typedef struct rt_part {
    int part;
    starhalo_part_plan_t *plan;
    int64_t plane_size; /**< elements of one ghosted plane (parts may differ) */
    void *data;         /**< ghosted tile, planes x plane_size elements */
    starpu_data_handle_t handle;
} rt_part_t;

struct starhalo_field {
    starhalo_context_t *ctx;
    const starhalo_decomp_t *decomp;
    starhalo_dtype_t dtype;
    int nparts;
    int *part_rank; /**< part -> rank */
    int *local_of;  /**< part -> index in parts[], -1 if remote */
    int nlocal;
    rt_part_t *parts;
    int64_t planes; /**< batch x channels */
};

/** Tag booking (rt_tags.c). Collective by convention: every rank books in the same order. */
starhalo_status_t starhalo__tags_book(starhalo_context_t *ctx, int64_t n, int64_t *base);
void starhalo__tags_release(starhalo_context_t *ctx, int64_t base, int64_t n);

/** Agree across @p comm: returns OK if every rank passed the same @p hash and @p local_err
 * is OK everywhere; else this rank's error or STARHALO_ERR_MISMATCH (message names @p what). */
starhalo_status_t starhalo__agree(MPI_Comm comm, uint64_t hash, starhalo_status_t local_err,
                                  const char *what);
/** FNV-1a over bytes, chained. */
uint64_t starhalo__hash(uint64_t h, const void *p, size_t n);

void starhalo__context_add_exchange(starhalo_context_t *ctx, struct starhalo_exchange *ex);
void starhalo__context_remove_exchange(starhalo_context_t *ctx, struct starhalo_exchange *ex);
starhalo_status_t starhalo__exchange_wait_list(struct starhalo_exchange *first);

#endif
