/* SPDX-License-Identifier: MIT */
/**
 * @file cg_halo.h
 * @brief The halo update of sparse_cg behind one interface: the plain-MPI executor (four
 * transports) or an index exchange run as StarPU tasks (StarPU-MPI or direct transport).
 */
#ifndef SPARSE_CG_HALO_H
#define SPARSE_CG_HALO_H

#include <starhalo/starhalo_mpi_exchange.h>

/** Which executor: STARPU_NONE = the plain-MPI executor with its transport. */
typedef enum cg_starpu { CG_STARPU_NONE = 0, CG_STARPU_MPI, CG_STARPU_DIRECT } cg_starpu_t;

typedef struct cg_halo cg_halo_t;

/** Parse a --transport value: a plain-MPI transport name, "starpu-mpi" or "starpu-direct". */
int cg_halo_parse(const char *v, starhalo_mpi_transport_t *mpi, cg_starpu_t *starpu);

/** MPI thread level the executor needs (call MPI_Init_thread with it). */
int cg_halo_thread_level(cg_starpu_t starpu);

/** Create the executor for @p plan over MPI_COMM_WORLD (collective; same status everywhere). */
starhalo_status_t cg_halo_create(const starhalo_index_plan_t *plan, starhalo_mpi_transport_t mpi,
                                 cg_starpu_t starpu, cg_halo_t **out);
/** The local array [owned | halo] the updates fill (valid until destroy). */
double *cg_halo_array(cg_halo_t *h);
/** Fill the halo of the array from the owners. Returns 0 on success. */
int cg_halo_update(cg_halo_t *h);
/** "two-sided", ..., "starpu-mpi", "starpu-direct". */
const char *cg_halo_name(const cg_halo_t *h);
/** Collective; NULL is allowed (then it is not). Shuts StarPU down for the StarPU executors. */
void cg_halo_destroy(cg_halo_t *h);

#endif
