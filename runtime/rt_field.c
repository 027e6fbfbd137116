/* SPDX-License-Identifier: MIT */
/**
 * @file rt_field.c
 * @brief Distributed fields: a ghosted tile per local part (zeroed, or the caller's memory for
 * starhalo_field_wrap), registered as a StarPU vector handle (planes x plane_size elements)
 * and with StarPU-MPI, placeholders for remote parts, and the collective consistency check.
 *
 * StarPU-MPI registration: field creation books nparts tags (collective, so every rank books
 * the same base) and registers each local tile with tag base + part and its rank as owner. A
 * rank that asks for a remote part's handle gets a placeholder registered on first use with
 * the same tag and owner (home node -1, as StarPU's mpi/examples/stencil/stencil5.c), so
 * starpu_mpi_task_insert can move tiles between ranks. StarPU-MPI's cache only learns about
 * writes submitted through starpu_mpi_task_insert: starhalo_field_mpi_flush() covers the
 * others.
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
            return starhalo_error_set(STARHALO_ERR_INVALID_ARG,
                                      "part %d is mapped to rank %d, outside [0, %d)", p,
                                      part_rank[p], ctx->size);
        }
    }
    *map_out = map;
    return STARHALO_OK;
}

/* starhalo_field_wrap: every local part's tile must be given and aligned. */
static starhalo_status_t check_tiles(const starhalo_context_t *ctx, const int *map, int nparts,
                                     starhalo_dtype_t dtype, void *const *tiles)
{
    STARHALO_REQUIRE(tiles, STARHALO_ERR_INVALID_ARG, "field_wrap: tiles is NULL");
    const uintptr_t esz = (uintptr_t)starhalo_dtype_size(dtype);
    for (int p = 0; p < nparts; p++) {
        if (map[p] != ctx->rank)
            continue;
        STARHALO_REQUIRE(tiles[p], STARHALO_ERR_INVALID_ARG,
                         "field_wrap: the tile of part %d (owned by rank %d) is NULL", p,
                         ctx->rank);
        STARHALO_REQUIRE((uintptr_t)tiles[p] % esz == 0, STARHALO_ERR_INVALID_ARG,
                         "field_wrap: the tile of part %d is not aligned to %d bytes", p, (int)esz);
    }
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

static starhalo_status_t create_parts(starhalo_field_t *f, void *const *tiles)
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
        if (tiles) {
            rp->data = tiles[p];
        } else {
#ifdef STARHALO_SIMGRID
            rp->data = sim_tile_alloc((n ? n : 1) * esz);
#else
            rp->data = calloc(n ? n : 1, esz);
#endif
        }
        STARHALO_REQUIRE(rp->data, STARHALO_ERR_NO_MEMORY,
                         "no memory for the %zu-element tile of part %d", n, p);
        starpu_vector_data_register(&rp->handle, STARPU_MAIN_RAM, (uintptr_t)rp->data, (uint32_t)n,
                                    esz);
        starpu_mpi_data_register_comm(rp->handle, f->tag_base + p, f->ctx->rank, f->ctx->comm);
    }
    return STARHALO_OK;
}

/* field_create and field_wrap (@p tiles non-NULL): validate, agree, book the tags, build. */
static starhalo_status_t field_new(starhalo_context_t *ctx, const starhalo_decomp_t *decomp,
                                   const int *part_rank, starhalo_dtype_t dtype, int wrap,
                                   void *const *tiles, starhalo_field_t **out)
{
    STARHALO_REQUIRE(ctx && out, STARHALO_ERR_INVALID_ARG, "field_create: ctx or out is NULL");
    *out = NULL;
    int *map = NULL;
    /* Validate locally, then agree, so that a rank with bad input never leaves the others
     * hanging in the next collective. */
    starhalo_status_t local = build_map(ctx, decomp, part_rank, dtype, &map);
    const int nparts = decomp ? starhalo_decomp_num_parts(decomp) : 0;
    if (local == STARHALO_OK && wrap)
        local = check_tiles(ctx, map, nparts, dtype, tiles);
    const uint64_t h = field_hash(decomp, map, nparts, dtype);
    starhalo_status_t rc = starhalo__agree(
        ctx->comm, h, local, wrap ? "decomposition/part map/tiles" : "decomposition/part map", 0);
    if (rc != STARHALO_OK) {
        free(map);
        return rc;
    }
    starhalo_field_t *f = calloc(1, sizeof(*f));
    if (!f) {
        free(map);
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "field_create: no memory");
    }
    f->ctx = ctx;
    f->decomp = decomp;
    f->dtype = dtype;
    f->nparts = nparts;
    f->part_rank = map;
    f->wrapped = wrap;
    /* Booking is collective and deterministic: every rank gets the same base or the same
     * error, so nobody needs to agree on it. */
    rc = starhalo__tags_book(ctx, nparts, &f->tag_base);
    if (rc != STARHALO_OK) {
        starhalo_field_destroy(f);
        return rc;
    }
    f->ntags = nparts;
    /* Agree again: a tile allocation fails on one rank only (out of memory), and the others
     * must not go on into the next collective without it (ctest halo_bench_bad_out_of_memory). */
    rc = starhalo__agree(ctx->comm, 0, create_parts(f, wrap ? tiles : NULL), "field tiles", 0);
    if (rc != STARHALO_OK) {
        starhalo_field_destroy(f);
        return rc;
    }
    *out = f;
    return STARHALO_OK;
}

starhalo_status_t starhalo_field_create(starhalo_context_t *ctx, const starhalo_decomp_t *decomp,
                                        const int *part_rank, starhalo_dtype_t dtype,
                                        starhalo_field_t **out)
{
    return field_new(ctx, decomp, part_rank, dtype, 0, NULL, out);
}

starhalo_status_t starhalo_field_wrap(starhalo_context_t *ctx, const starhalo_decomp_t *decomp,
                                      const int *part_rank, starhalo_dtype_t dtype,
                                      void *const *tiles, starhalo_field_t **out)
{
    return field_new(ctx, decomp, part_rank, dtype, 1, tiles, out);
}

void starhalo_field_destroy(starhalo_field_t *f)
{
    if (!f)
        return;
    for (int p = 0; f->remote && p < f->nparts; p++)
        if (f->remote[p])
            starpu_data_unregister(f->remote[p]);
    free(f->remote);
    for (int i = 0; i < f->nlocal && f->parts; i++) {
        rt_part_t *rp = &f->parts[i];
        if (rp->handle)
            starpu_data_unregister(rp->handle);
        if (!f->wrapped) {
#ifdef STARHALO_SIMGRID
            if (rp->data)
                starpu_free_flags(
                    rp->data, (size_t)(rp->plane_size * f->planes) * starhalo_dtype_size(f->dtype),
                    STARPU_MALLOC_SIMULATION_FOLDED);
#else
            free(rp->data);
#endif
        }
        starhalo_part_plan_destroy(rp->plan);
    }
    if (f->ntags > 0)
        starhalo__tags_release(f->ctx, f->tag_base, f->ntags);
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

/* The placeholder of remote part @p part: registered on first use (home node -1, no memory)
 * with the tag and owner the owner registered its tile with. */
static starhalo_status_t remote_handle(starhalo_field_t *f, int part, starpu_data_handle_t *out)
{
    if (!f->remote) {
        f->remote = calloc((size_t)f->nparts, sizeof *f->remote);
        STARHALO_REQUIRE(f->remote, STARHALO_ERR_NO_MEMORY, "field_part_handle: no memory");
    }
    if (!f->remote[part]) {
        starhalo_tile_t t;
        STARHALO_CHECK(starhalo_field_part_tile(f, part, &t));
        starpu_vector_data_register(&f->remote[part], -1, 0, (uint32_t)starhalo_tile_elems(&t),
                                    (size_t)t.elemsize);
        starpu_mpi_data_register_comm(f->remote[part], f->tag_base + part, f->part_rank[part],
                                      f->ctx->comm);
    }
    *out = f->remote[part];
    return STARHALO_OK;
}

starhalo_status_t starhalo_field_part_handle(starhalo_field_t *f, int part,
                                             starpu_data_handle_t *out)
{
    STARHALO_REQUIRE(out, STARHALO_ERR_INVALID_ARG, "field_part_handle: out is NULL");
    rt_part_t *rp = local_part(f, part);
    if (rp) {
        *out = rp->handle;
        return STARHALO_OK;
    }
    STARHALO_REQUIRE(f && part >= 0 && part < f->nparts && f->ntags > 0, STARHALO_ERR_OUT_OF_RANGE,
                     "part %d is not owned by this rank and has no StarPU-MPI handle here (parts "
                     "[0, %d), index fields have local handles only)",
                     part, f ? f->nparts : 0);
    return remote_handle(f, part, out);
}

starhalo_status_t starhalo_field_part_tile(const starhalo_field_t *f, int part,
                                           starhalo_tile_t *out)
{
    STARHALO_REQUIRE(out, STARHALO_ERR_INVALID_ARG, "field_part_tile: out is NULL");
    STARHALO_REQUIRE(f && part >= 0 && part < f->nparts, STARHALO_ERR_OUT_OF_RANGE,
                     "field_part_tile: part %d is outside [0, %d)", part, f ? f->nparts : 0);
    STARHALO_REQUIRE(f->decomp, STARHALO_ERR_INVALID_ARG,
                     "field_part_tile: an index field has no tile geometry");
    return starhalo_decomp_part_tile(f->decomp, part, f->dtype, out);
}

/* N and C as the tile counts them: 0 in a description means 1. */
static int64_t at_least_one(int64_t n)
{
    return n > 0 ? n : 1;
}

starhalo_status_t starhalo_field_match(const starhalo_field_t *a, const starhalo_field_t *b,
                                       unsigned match, const char *what)
{
    what = what ? what : "field_match";
    STARHALO_REQUIRE(a && b, STARHALO_ERR_INVALID_ARG, "%s: a field is NULL", what);
    STARHALO_REQUIRE(a->ctx == b->ctx, STARHALO_ERR_INVALID_ARG,
                     "%s: the fields come from different contexts", what);
    STARHALO_REQUIRE(a->decomp && b->decomp, STARHALO_ERR_INVALID_ARG,
                     "%s: an index field (it has no decomposition to match)", what);
    STARHALO_REQUIRE(!(match & STARHALO_MATCH_DTYPE) || a->dtype == b->dtype,
                     STARHALO_ERR_INVALID_ARG, "%s: dtypes differ (%zu-byte and %zu-byte elements)",
                     what, starhalo_dtype_size(a->dtype), starhalo_dtype_size(b->dtype));
    STARHALO_REQUIRE(a->nparts == b->nparts, STARHALO_ERR_INVALID_ARG, "%s: %d parts and %d parts",
                     what, a->nparts, b->nparts);
    for (int p = 0; p < a->nparts; p++) {
        const starhalo_box_t x = starhalo_decomp_owned_box(a->decomp, p);
        const starhalo_box_t y = starhalo_decomp_owned_box(b->decomp, p);
        STARHALO_REQUIRE(a->part_rank[p] == b->part_rank[p] && !memcmp(&x, &y, sizeof x),
                         STARHALO_ERR_INVALID_ARG,
                         "%s: part %d owns other cells or lives on another rank", what, p);
    }
    const starhalo_decomp_desc_t *x = starhalo_decomp_desc(a->decomp);
    const starhalo_decomp_desc_t *y = starhalo_decomp_desc(b->decomp);
    STARHALO_REQUIRE(!(match & STARHALO_MATCH_HALOS) ||
                         (x->shape == y->shape && !memcmp(x->halo, y->halo, sizeof x->halo) &&
                          !memcmp(x->periodic, y->periodic, sizeof x->periodic)),
                     STARHALO_ERR_INVALID_ARG,
                     "%s: halo widths, periodicity or stencil shape differ", what);
    STARHALO_REQUIRE(!(match & STARHALO_MATCH_BATCH) ||
                         at_least_one(x->batch) == at_least_one(y->batch),
                     STARHALO_ERR_INVALID_ARG, "%s: batches differ (%lld and %lld)", what,
                     (long long)at_least_one(x->batch), (long long)at_least_one(y->batch));
    STARHALO_REQUIRE(!(match & STARHALO_MATCH_CHANNELS) ||
                         at_least_one(x->channels) == at_least_one(y->channels),
                     STARHALO_ERR_INVALID_ARG, "%s: channels differ (%lld and %lld)", what,
                     (long long)at_least_one(x->channels), (long long)at_least_one(y->channels));
    for (int p = 0; (match & STARHALO_MATCH_TILES) && p < a->nparts; p++) {
        starhalo_tile_t ta, tb;
        STARHALO_CHECK(starhalo_decomp_part_tile(a->decomp, p, a->dtype, &ta));
        STARHALO_CHECK(starhalo_decomp_part_tile(b->decomp, p, a->dtype, &tb));
        STARHALO_REQUIRE(!memcmp(&ta, &tb, sizeof ta), STARHALO_ERR_INVALID_ARG,
                         "%s: part %d has different tiles in the two fields", what, p);
    }
    return STARHALO_OK;
}

starhalo_status_t starhalo_field_mpi_flush(starhalo_field_t *f)
{
    STARHALO_REQUIRE(f, STARHALO_ERR_INVALID_ARG, "field_mpi_flush: field is NULL");
    if (f->ntags == 0)
        return STARHALO_OK;
    for (int i = 0; i < f->nlocal; i++)
        starpu_mpi_cache_flush(f->ctx->comm, f->parts[i].handle);
    for (int p = 0; f->remote && p < f->nparts; p++)
        if (f->remote[p])
            starpu_mpi_cache_flush(f->ctx->comm, f->remote[p]);
    return STARHALO_OK;
}

starhalo_status_t starhalo_field_acquire(starhalo_field_t *f, int part, int write)
{
    rt_part_t *rp;
    REQUIRE_LOCAL(rp, f, part);
    if (starpu_data_acquire(rp->handle, write ? STARPU_RW : STARPU_R) != 0)
        return starhalo_error_set(STARHALO_ERR_STARPU, "starpu_data_acquire of part %d failed",
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
