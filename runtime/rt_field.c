/* SPDX-License-Identifier: MIT */
/**
 * @file rt_field.c
 * @brief Distributed fields: a zeroed ghosted tile per local part, registered as a StarPU
 * vector handle (planes x plane_size elements), and the collective consistency check.
 */
#include <stdlib.h>
#include <string.h>

#include "runtime_internal.h"

/* Everything that must agree across ranks: geometry (every part's owned box covers uneven
 * sizes), carried dims, halos, periodicity, the part -> rank map and the element type. */
static uint64_t field_hash(const starhalo_decomp_t *decomp, const int *part_rank, int nparts,
                           starhalo_dtype_t dtype)
{
    uint64_t h = 0;
    if (!decomp)
        return starhalo__hash(h, "null", 4);
    const starhalo_decomp_desc_t *d = starhalo_decomp_desc(decomp);
    const int64_t carried[2] = {d->batch, d->channels};
    const int scalars[4] = {d->ndims, (int)d->shape, (int)dtype, nparts};
    h = starhalo__hash(h, d->extent, sizeof d->extent);
    h = starhalo__hash(h, carried, sizeof carried);
    h = starhalo__hash(h, scalars, sizeof scalars);
    h = starhalo__hash(h, d->halo, sizeof d->halo);
    h = starhalo__hash(h, d->periodic, sizeof d->periodic);
    for (int p = 0; p < nparts; p++) {
        const starhalo_box_t b = starhalo_decomp_owned_box(decomp, p);
        h = starhalo__hash(h, &b, sizeof b);
    }
    if (part_rank)
        h = starhalo__hash(h, part_rank, sizeof(int) * (size_t)nparts);
    return h;
}

/* Local validation of the arguments and the part -> rank map (no communication). */
static starhalo_status_t build_map(starhalo_context_t *ctx, const starhalo_decomp_t *decomp,
                                   const int *part_rank, starhalo_dtype_t dtype, int **map_out)
{
    *map_out = NULL;
    STARHALO_REQUIRE(decomp, STARHALO_ERR_INVALID_ARG, "field_create: decomp is NULL");
    STARHALO_REQUIRE(starhalo_dtype_size(dtype) != 0, STARHALO_ERR_INVALID_ARG,
                     "field_create: unknown dtype %d", (int)dtype);
    const int nparts = starhalo_decomp_num_parts(decomp);
    STARHALO_REQUIRE(part_rank || nparts % ctx->size == 0, STARHALO_ERR_INVALID_ARG,
                     "%d parts cannot be split in contiguous blocks over %d ranks", nparts,
                     ctx->size);
    int *map = malloc(sizeof(int) * (size_t)nparts);
    STARHALO_REQUIRE(map, STARHALO_ERR_NO_MEMORY, "field_create: no memory");
    for (int p = 0; p < nparts; p++) {
        map[p] = part_rank ? part_rank[p] : p / (nparts / ctx->size);
        if (map[p] < 0 || map[p] >= ctx->size) {
            free(map);
            return starhalo__error_set(STARHALO_ERR_INVALID_ARG,
                                       "part %d is mapped to rank %d, outside [0, %d)", p,
                                       part_rank[p], ctx->size);
        }
    }
    *map_out = map;
    return STARHALO_OK;
}

#ifdef STARHALO_SIMGRID
/* Simulated codelets do not run, so tiles are folded onto shared pages (SMPI's shared malloc
 * behind STARPU_MALLOC_SIMULATION_FOLDED): values are bogus, 1024 ranks fit in memory. */
static void *sim_tile_alloc(size_t bytes)
{
    void *p = NULL;
    return starpu_malloc_flags(&p, bytes, STARPU_MALLOC_SIMULATION_FOLDED) == 0 ? p : NULL;
}
#endif

static starhalo_status_t create_parts(starhalo_field_t *f)
{
    const starhalo_decomp_desc_t *d = starhalo_decomp_desc(f->decomp);
    const size_t esz = starhalo_dtype_size(f->dtype);
    f->planes = (d->batch > 0 ? d->batch : 1) * (d->channels > 0 ? d->channels : 1);
    f->local_of = malloc(sizeof(int) * (size_t)f->nparts);
    STARHALO_REQUIRE(f->local_of, STARHALO_ERR_NO_MEMORY, "field_create: no memory");
    for (int p = 0; p < f->nparts; p++)
        f->local_of[p] = f->part_rank[p] == f->ctx->rank ? f->nlocal++ : -1;
    f->parts = calloc((size_t)(f->nlocal ? f->nlocal : 1), sizeof(rt_part_t));
    STARHALO_REQUIRE(f->parts, STARHALO_ERR_NO_MEMORY, "field_create: no memory");
    int i = 0;
    for (int p = 0; p < f->nparts; p++) {
        if (f->local_of[p] < 0)
            continue;
        rt_part_t *rp = &f->parts[i++];
        rp->part = p;
        STARHALO_CHECK(starhalo_part_plan_create(f->decomp, p, &rp->plan));
        const starhalo_box_t g = starhalo_part_plan_ghosted(rp->plan);
        const int64_t plane = starhalo_box_volume(&g);
        rp->plane_size = plane;
        const size_t n = (size_t)(plane * f->planes);
#ifdef STARHALO_SIMGRID
        rp->data = sim_tile_alloc((n ? n : 1) * esz);
#else
        rp->data = calloc(n ? n : 1, esz);
#endif
        STARHALO_REQUIRE(rp->data, STARHALO_ERR_NO_MEMORY,
                         "no memory for the %zu-element tile of part %d", n, p);
        starpu_vector_data_register(&rp->handle, STARPU_MAIN_RAM, (uintptr_t)rp->data, (uint32_t)n,
                                    esz);
    }
    return STARHALO_OK;
}

starhalo_status_t starhalo_field_create(starhalo_context_t *ctx, const starhalo_decomp_t *decomp,
                                        const int *part_rank, starhalo_dtype_t dtype,
                                        starhalo_field_t **out)
{
    STARHALO_REQUIRE(ctx && out, STARHALO_ERR_INVALID_ARG, "field_create: ctx or out is NULL");
    *out = NULL;
    int *map = NULL;
    /* Validate locally, then agree, so that a rank with bad input never leaves the others
     * hanging in the next collective. */
    starhalo_status_t local = build_map(ctx, decomp, part_rank, dtype, &map);
    const int nparts = decomp ? starhalo_decomp_num_parts(decomp) : 0;
    const uint64_t h = field_hash(decomp, map, nparts, dtype);
    starhalo_status_t rc = starhalo__agree(ctx->comm, h, local, "decomposition/part map", 0);
    if (rc != STARHALO_OK) {
        free(map);
        return rc;
    }
    starhalo_field_t *f = calloc(1, sizeof(*f));
    if (!f) {
        free(map);
        return starhalo__error_set(STARHALO_ERR_NO_MEMORY, "field_create: no memory");
    }
    f->ctx = ctx;
    f->decomp = decomp;
    f->dtype = dtype;
    f->nparts = nparts;
    f->part_rank = map;
    /* Agree again: a tile allocation fails on one rank only (out of memory), and the others
     * must not go on into the next collective without it (ctest halo_bench_bad_out_of_memory). */
    rc = starhalo__agree(ctx->comm, 0, create_parts(f), "field tiles", 0);
    if (rc != STARHALO_OK) {
        starhalo_field_destroy(f);
        return rc;
    }
    *out = f;
    return STARHALO_OK;
}

void starhalo_field_destroy(starhalo_field_t *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->nlocal && f->parts; i++) {
        rt_part_t *rp = &f->parts[i];
        if (rp->handle)
            starpu_data_unregister(rp->handle);
#ifdef STARHALO_SIMGRID
        if (rp->data)
            starpu_free_flags(rp->data,
                              (size_t)(rp->plane_size * f->planes) * starhalo_dtype_size(f->dtype),
                              STARPU_MALLOC_SIMULATION_FOLDED);
#else
        free(rp->data);
#endif
        starhalo_part_plan_destroy(rp->plan);
    }
    free(f->parts);
    free(f->local_of);
    free(f->part_rank);
    free(f);
}

const starhalo_decomp_t *starhalo_field_decomp(const starhalo_field_t *f)
{
    return f ? f->decomp : NULL;
}

starhalo_dtype_t starhalo_field_dtype(const starhalo_field_t *f)
{
    return f ? f->dtype : STARHALO_FLOAT32;
}

int starhalo_field_part_rank(const starhalo_field_t *f, int part)
{
    return f && part >= 0 && part < f->nparts ? f->part_rank[part] : -1;
}

int starhalo_field_local_parts(const starhalo_field_t *f, int *parts)
{
    if (!f)
        return 0;
    for (int i = 0; parts && i < f->nlocal; i++)
        parts[i] = f->parts[i].part;
    return f->nlocal;
}

static rt_part_t *local_part(const starhalo_field_t *f, int part)
{
    if (!f || part < 0 || part >= f->nparts || f->local_of[part] < 0)
        return NULL;
    return &f->parts[f->local_of[part]];
}

const starhalo_part_plan_t *starhalo_field_part_plan(const starhalo_field_t *f, int part)
{
    const rt_part_t *rp = local_part(f, part);
    return rp ? rp->plan : NULL;
}

#define REQUIRE_LOCAL(rp, f, part)                                                                 \
    STARHALO_REQUIRE((rp) = local_part((f), (part)), STARHALO_ERR_OUT_OF_RANGE,                    \
                     "part %d is not owned by this rank", (part))

starhalo_status_t starhalo_field_part_data(starhalo_field_t *f, int part, void **ptr)
{
    rt_part_t *rp;
    STARHALO_REQUIRE(ptr, STARHALO_ERR_INVALID_ARG, "field_part_data: ptr is NULL");
    *ptr = NULL;
    REQUIRE_LOCAL(rp, f, part);
    *ptr = rp->data;
    return STARHALO_OK;
}

starhalo_status_t starhalo_field_part_handle(starhalo_field_t *f, int part,
                                             starpu_data_handle_t *out)
{
    rt_part_t *rp;
    STARHALO_REQUIRE(out, STARHALO_ERR_INVALID_ARG, "field_part_handle: out is NULL");
    REQUIRE_LOCAL(rp, f, part);
    *out = rp->handle;
    return STARHALO_OK;
}

starhalo_status_t starhalo_field_acquire(starhalo_field_t *f, int part, int write)
{
    rt_part_t *rp;
    REQUIRE_LOCAL(rp, f, part);
    if (starpu_data_acquire(rp->handle, write ? STARPU_RW : STARPU_R) != 0)
        return starhalo__error_set(STARHALO_ERR_STARPU, "starpu_data_acquire of part %d failed",
                                   part);
    return STARHALO_OK;
}

starhalo_status_t starhalo_field_release(starhalo_field_t *f, int part)
{
    rt_part_t *rp;
    REQUIRE_LOCAL(rp, f, part);
    starpu_data_release(rp->handle);
    return STARHALO_OK;
}
