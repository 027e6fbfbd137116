/* SPDX-License-Identifier: MIT */
/**
 * @file cg_halo.c
 * @brief sparse_cg's halo update: the plain-MPI executor on a malloc'ed array, or an index
 * field + index exchange on a StarPU context whose registered local array the solver reads
 * between updates (allowed: no task is in flight on it after starhalo_exchange_run returns).
 */
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include <starhalo/starhalo_index_starpu.h>

#include "cg_halo.h"

struct cg_halo {
    cg_starpu_t starpu;
    starhalo_mpi_transport_t mpi;
    /* plain MPI */
    starhalo_xfer_plan_t *xplan;
    starhalo_mpi_exchange_t *mx;
    double *array;
    /* StarPU */
    starhalo_context_t *ctx;
    starhalo_field_t *field;
    starhalo_exchange_t *ex;
};

int cg_halo_parse(const char *v, starhalo_mpi_transport_t *mpi, cg_starpu_t *starpu)
{
    *starpu = CG_STARPU_NONE;
    if (!strcmp(v, "starpu-mpi"))
        *starpu = CG_STARPU_MPI;
    else if (!strcmp(v, "starpu-direct"))
        *starpu = CG_STARPU_DIRECT;
    else
        return starhalo_mpi_transport_parse(v, mpi) == STARHALO_OK ? 0 : -1;
    return 0;
}

int cg_halo_thread_level(cg_starpu_t starpu)
{
    return starpu == CG_STARPU_DIRECT ? MPI_THREAD_MULTIPLE
           : starpu == CG_STARPU_MPI  ? MPI_THREAD_SERIALIZED
                                      : MPI_THREAD_SINGLE;
}

static starhalo_status_t create_mpi(cg_halo_t *h, const starhalo_index_plan_t *plan)
{
    /* Lowering is local; a failure reaches every rank through the collective creation (a
     * NULL plan is rejected there and agreed on). */
    if (starhalo_index_plan_lower(plan, 1, &h->xplan) != STARHALO_OK)
        h->xplan = NULL;
    const int64_t len =
        starhalo_index_plan_local_size(plan) + starhalo_index_plan_halo_size(plan) + 1;
    h->array = calloc((size_t)len, sizeof(double));
    return starhalo_mpi_exchange_create(MPI_COMM_WORLD, h->array ? h->xplan : NULL, NULL,
                                        STARHALO_FLOAT64, h->mpi, &h->mx);
}

static starhalo_status_t create_starpu(cg_halo_t *h, const starhalo_index_plan_t *plan)
{
    starhalo_context_conf_t conf;
    starhalo_context_conf_init(&conf);
    STARHALO_CHECK(starhalo_context_create(&conf, &h->ctx));
    STARHALO_CHECK(starhalo_index_field_create(h->ctx, plan, STARHALO_FLOAT64, 1, &h->field));
    STARHALO_CHECK(starhalo_index_exchange_create(
        h->ctx, &h->field, 1,
        h->starpu == CG_STARPU_MPI ? STARHALO_TRANSPORT_STARPU_MPI : STARHALO_TRANSPORT_DIRECT_MPI,
        &h->ex));
    void *p = NULL;
    STARHALO_CHECK(starhalo_field_part_data(h->field, starhalo_context_rank(h->ctx), &p));
    h->array = p;
    return STARHALO_OK;
}

starhalo_status_t cg_halo_create(const starhalo_index_plan_t *plan, starhalo_mpi_transport_t mpi,
                                 cg_starpu_t starpu, cg_halo_t **out)
{
    *out = NULL;
    cg_halo_t *h = calloc(1, sizeof(*h));
    int ok = h != NULL, all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (!all) {
        free(h);
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "no memory for the halo executor");
    }
    h->starpu = starpu;
    h->mpi = mpi;
    const starhalo_status_t st = starpu ? create_starpu(h, plan) : create_mpi(h, plan);
    if (st != STARHALO_OK) {
        cg_halo_destroy(h);
        return st;
    }
    *out = h;
    return STARHALO_OK;
}

double *cg_halo_array(cg_halo_t *h)
{
    return h->array;
}

int cg_halo_update(cg_halo_t *h)
{
    if (!h->starpu)
        return starhalo_mpi_exchange_update(h->mx, h->array) == STARHALO_OK ? 0 : -1;
    /* Blocking: the solver reads the array right after; nothing else uses it, so the
     * exchange runs inline on this thread (starhalo_exchange_run), without a task hand-off. */
    return starhalo_exchange_run(h->ex) == STARHALO_OK ? 0 : -1;
}

const char *cg_halo_name(const cg_halo_t *h)
{
    if (h->starpu)
        return h->starpu == CG_STARPU_MPI ? "starpu-mpi" : "starpu-direct";
    return starhalo_mpi_transport_name(h->mpi);
}

void cg_halo_destroy(cg_halo_t *h)
{
    if (!h)
        return;
    if (h->starpu) {
        starhalo_exchange_destroy(h->ex);
        starhalo_field_destroy(h->field); /* frees the array */
        starhalo_context_destroy(h->ctx);
    } else {
        starhalo_mpi_exchange_destroy(h->mx);
        starhalo_xfer_plan_destroy(h->xplan);
        free(h->array);
    }
    free(h);
}
