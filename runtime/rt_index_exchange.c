/* SPDX-License-Identifier: MIT */
/**
 * @file rt_index_exchange.c
 * @brief Index plans as StarPU tasks: index fields (one registered local array per rank) and
 * exchanges over them built from the lowered index plan.
 *
 * Nothing here moves data: an index exchange is an ordinary starhalo_exchange_t whose single
 * local part uses the plan from starhalo_index_plan_lower() instead of a structured part plan,
 * so rt_exchange.c submits the same pack / unpack codelets and transfers (StarPU-MPI detached
 * or the direct persistent requests of rt_exchange_direct.c) and books its tags once. Index
 * plans never message their own rank (owned indexes are dropped from the halo), so every peer
 * is remote and the one part per rank is numbered by its rank.
 *
 * An index field is a starhalo_field_t with decomp == NULL (structured fields always have a
 * decomposition), embedded first in a struct that also remembers the index plan: the field
 * API (data, acquire, release, handle, destroy) works on it unchanged.
 */
#include <stdlib.h>
#include <string.h>

#include "rt_exchange_internal.h"

#include <starhalo/starhalo_index_starpu.h>

typedef struct rt_index_field {
    struct starhalo_field f; /* first: starhalo_field_destroy frees the whole struct */
    const starhalo_index_plan_t *plan;
} rt_index_field_t;

static rt_index_field_t *as_index(const starhalo_field_t *f)
{
    return f && !f->decomp ? (rt_index_field_t *)(uintptr_t)f : NULL;
}

const starhalo_index_plan_t *starhalo_index_field_plan(const starhalo_field_t *field)
{
    const rt_index_field_t *x = as_index(field);
    return x ? x->plan : NULL;
}

static starhalo_status_t check_plan(const starhalo_context_t *ctx,
                                    const starhalo_index_plan_t *plan, starhalo_dtype_t dtype,
                                    int64_t planes)
{
    STARHALO_REQUIRE(plan, STARHALO_ERR_INVALID_ARG, "index_field_create: plan is NULL");
    STARHALO_REQUIRE(dtype == STARHALO_FLOAT32 || dtype == STARHALO_FLOAT64,
                     STARHALO_ERR_INVALID_ARG, "index_field_create: unknown dtype %d", (int)dtype);
    STARHALO_REQUIRE(planes >= 1, STARHALO_ERR_INVALID_ARG, "index_field_create: planes %lld < 1",
                     (long long)planes);
    STARHALO_REQUIRE(starhalo_index_plan_rank(plan) == ctx->rank &&
                         starhalo_index_plan_num_ranks(plan) == ctx->size,
                     STARHALO_ERR_INVALID_ARG,
                     "index_field_create: rank %d of %d was given the plan of rank %d of %d",
                     ctx->rank, ctx->size, starhalo_index_plan_rank(plan),
                     starhalo_index_plan_num_ranks(plan));
    const int64_t n =
        planes * (starhalo_index_plan_local_size(plan) + starhalo_index_plan_halo_size(plan));
    STARHALO_REQUIRE(n <= (int64_t)UINT32_MAX, STARHALO_ERR_UNSUPPORTED,
                     "index_field_create: %lld elements exceed a StarPU vector", (long long)n);
    return STARHALO_OK;
}

/* The field part of an index field: one local part (number = rank). */
static starhalo_status_t build_field(starhalo_context_t *ctx, rt_index_field_t *x,
                                     starhalo_dtype_t dtype, int64_t planes)
{
    starhalo_field_t *f = &x->f;
    f->ctx = ctx;
    f->dtype = dtype;
    f->nparts = ctx->size;
    f->planes = planes;
    f->part_rank = malloc(sizeof(int) * (size_t)ctx->size);
    f->local_of = malloc(sizeof(int) * (size_t)ctx->size);
    f->parts = calloc(1, sizeof(rt_part_t));
    STARHALO_REQUIRE(f->part_rank && f->local_of && f->parts, STARHALO_ERR_NO_MEMORY,
                     "index_field_create: no memory");
    for (int r = 0; r < ctx->size; r++) {
        f->part_rank[r] = r;
        f->local_of[r] = r == ctx->rank ? 0 : -1;
    }
    f->nlocal = 1;
    rt_part_t *rp = &f->parts[0];
    rp->part = ctx->rank;
    rp->plane_size =
        starhalo_index_plan_local_size(x->plan) + starhalo_index_plan_halo_size(x->plan);
    const size_t n = (size_t)(rp->plane_size * planes), esz = starhalo_dtype_size(dtype);
    rp->data = calloc(n ? n : 1, esz);
    STARHALO_REQUIRE(rp->data, STARHALO_ERR_NO_MEMORY,
                     "index_field_create: no memory for %zu elements", n);
    starpu_vector_data_register(&rp->handle, STARPU_MAIN_RAM, (uintptr_t)rp->data,
                                (uint32_t)(n ? n : 1), esz);
    return STARHALO_OK;
}

starhalo_status_t starhalo_index_field_create(starhalo_context_t *ctx,
                                              const starhalo_index_plan_t *plan,
                                              starhalo_dtype_t dtype, int64_t planes,
                                              starhalo_field_t **out)
{
    STARHALO_REQUIRE(ctx, STARHALO_ERR_INVALID_ARG, "index_field_create: ctx is NULL");
    if (out)
        *out = NULL;
    starhalo_status_t local =
        out ? check_plan(ctx, plan, dtype, planes)
            : starhalo_error_set(STARHALO_ERR_INVALID_ARG, "index_field_create: out is NULL");
    uint64_t h = starhalo__hash(0, &dtype, sizeof dtype);
    h = starhalo__hash(h, &planes, sizeof planes);
    if (local == STARHALO_OK) {
        const uint64_t dh = starhalo_distribution_hash(starhalo_index_plan_distribution(plan));
        h = starhalo__hash(h, &dh, sizeof dh);
    }
    STARHALO_CHECK(
        starhalo__agree(ctx->comm, h, local, "index field dtypes, planes or distributions", 1));
    rt_index_field_t *x = calloc(1, sizeof(*x));
    starhalo_status_t rc = STARHALO_ERR_NO_MEMORY;
    if (x) {
        x->plan = plan;
        rc = build_field(ctx, x, dtype, planes);
    } else {
        starhalo_error_set(rc, "index_field_create: no memory");
    }
    /* Allocation failures are local: agree so that no rank goes on alone. */
    rc = starhalo__agree(ctx->comm, 0, rc, "index field tiles", 1);
    if (rc != STARHALO_OK) {
        if (x)
            starhalo_field_destroy(&x->f);
        return rc;
    }
    *out = &x->f;
    return STARHALO_OK;
}

static starhalo_status_t check_fields(starhalo_context_t *ctx, starhalo_field_t *const *fields,
                                      int nfields)
{
    STARHALO_REQUIRE(fields && nfields > 0, STARHALO_ERR_INVALID_ARG,
                     "index_exchange_create: no fields (nfields %d)", nfields);
    const rt_index_field_t *x0 = as_index(fields[0]);
    for (int i = 0; i < nfields; i++) {
        const rt_index_field_t *x = as_index(fields[i]);
        STARHALO_REQUIRE(x && x->f.ctx == ctx, STARHALO_ERR_INVALID_ARG,
                         "index_exchange_create: field %d is NULL, structured or from another "
                         "context",
                         i);
        STARHALO_REQUIRE(x->plan == x0->plan && x->f.dtype == x0->f.dtype, STARHALO_ERR_INVALID_ARG,
                         "index_exchange_create: field %d has another index plan or dtype than "
                         "field 0",
                         i);
        for (int j = 0; j < i; j++)
            STARHALO_REQUIRE(fields[j] != fields[i], STARHALO_ERR_INVALID_ARG,
                             "index_exchange_create: field %d is passed twice (also %d)", i, j);
    }
    return STARHALO_OK;
}

/* Every index field has one local part, lowered from the fields' common index plan. */
static starhalo_status_t lower_index(const starhalo_exchange_t *ex, int li,
                                     starhalo_xfer_plan_t **out)
{
    (void)li;
    return starhalo_index_plan_lower(as_index(ex->fields[0])->plan, 1, out);
}

starhalo_status_t starhalo_index_exchange_create(starhalo_context_t *ctx,
                                                 starhalo_field_t *const *fields, int nfields,
                                                 starhalo_transport_t transport,
                                                 starhalo_exchange_t **out)
{
    /* Index plans never message their own rank, and their one part per rank is numbered by
     * the rank, so the structured layout's tag arithmetic applies unchanged. */
    return starhalo__exchange_create(ctx, fields, nfields, transport, check_fields, lower_index,
                                     "index_exchange_create", 1, out);
}
