/* SPDX-License-Identifier: MIT */
/**
 * @file index_dist.c
 * @brief Block, cyclic, block-cyclic and general distributions of global indexes over ranks.
 *
 * Regular kinds are closed formulas (O(1) memory). A general distribution keeps the owner
 * array, the local index of every global and each rank's owned globals, so every query stays
 * O(1) at O(n) memory (the owner array is O(n) already).
 */
#include <starhalo/starhalo_index.h>

#include <stdlib.h>
#include <string.h>

struct starhalo_distribution {
    starhalo_dist_kind_t kind;
    int64_t n;
    int nranks;
    int64_t block;            /* block-cyclic block size; 1 for cyclic; unused for block */
    int *owner;               /* general: owner of g */
    int64_t *local_of;        /* general: local index of g on its owner */
    int64_t *rank_start;      /* general: nranks + 1 offsets into globals_by_rank */
    int64_t *globals_by_rank; /* general: owned globals of each rank, ascending */
    uint64_t hash;
};

static uint64_t fnv(uint64_t h, const void *data, size_t bytes)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < bytes; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static starhalo_status_t alloc_dist(starhalo_dist_kind_t kind, int64_t n, int nranks, int64_t block,
                                    starhalo_distribution_t **out)
{
    STARHALO_REQUIRE(out, STARHALO_ERR_INVALID_ARG, "distribution: NULL output pointer");
    *out = NULL;
    STARHALO_REQUIRE(n >= 0, STARHALO_ERR_INVALID_ARG, "distribution: global size %lld is negative",
                     (long long)n);
    STARHALO_REQUIRE(nranks >= 1, STARHALO_ERR_INVALID_ARG,
                     "distribution: %d ranks (need at least 1)", nranks);
    STARHALO_REQUIRE(block >= 1, STARHALO_ERR_INVALID_ARG,
                     "distribution: block size %lld (need at least 1)", (long long)block);
    starhalo_distribution_t *d = calloc(1, sizeof *d);
    STARHALO_REQUIRE(d, STARHALO_ERR_NO_MEMORY, "distribution: out of memory");
    d->kind = kind;
    d->n = n;
    d->nranks = nranks;
    d->block = block;
    uint64_t h = 0xcbf29ce484222325ULL;
    int64_t header[4] = {(int64_t)kind, n, nranks, block};
    d->hash = fnv(h, header, sizeof header);
    *out = d;
    return STARHALO_OK;
}

starhalo_status_t starhalo_distribution_create_block(int64_t n, int nranks,
                                                     starhalo_distribution_t **out)
{
    return alloc_dist(STARHALO_DIST_BLOCK, n, nranks, 1, out);
}

starhalo_status_t starhalo_distribution_create_cyclic(int64_t n, int nranks,
                                                      starhalo_distribution_t **out)
{
    return alloc_dist(STARHALO_DIST_CYCLIC, n, nranks, 1, out);
}

starhalo_status_t starhalo_distribution_create_block_cyclic(int64_t n, int nranks, int64_t block,
                                                            starhalo_distribution_t **out)
{
    return alloc_dist(STARHALO_DIST_BLOCK_CYCLIC, n, nranks, block, out);
}

starhalo_status_t starhalo_distribution_create_general(int64_t n, int nranks, const int *owners,
                                                       starhalo_distribution_t **out)
{
    STARHALO_REQUIRE(owners || n == 0, STARHALO_ERR_INVALID_ARG,
                     "distribution: NULL owner array for %lld indexes", (long long)n);
    STARHALO_REQUIRE(nranks >= 1, STARHALO_ERR_INVALID_ARG,
                     "distribution: %d ranks (need at least 1)", nranks);
    for (int64_t g = 0; g < n; g++)
        if (owners[g] < 0 || owners[g] >= nranks) {
            if (out)
                *out = NULL;
            return starhalo_error_set(STARHALO_ERR_OUT_OF_RANGE,
                                      "distribution: owner %d of global index %lld is outside "
                                      "[0, %d)",
                                      owners[g], (long long)g, nranks);
        }
    starhalo_distribution_t *d;
    STARHALO_CHECK(alloc_dist(STARHALO_DIST_GENERAL, n, nranks, 1, out));
    d = *out;
    const size_t nn = (size_t)(n > 0 ? n : 1);
    d->owner = malloc(nn * sizeof *d->owner);
    d->local_of = malloc(nn * sizeof *d->local_of);
    d->globals_by_rank = malloc(nn * sizeof *d->globals_by_rank);
    d->rank_start = calloc((size_t)nranks + 1, sizeof *d->rank_start);
    if (!d->owner || !d->local_of || !d->globals_by_rank || !d->rank_start) {
        starhalo_distribution_destroy(d);
        *out = NULL;
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "distribution: out of memory");
    }
    if (n > 0)
        memcpy(d->owner, owners, (size_t)n * sizeof *owners);
    for (int64_t g = 0; g < n; g++)
        d->rank_start[owners[g] + 1]++;
    for (int r = 0; r < nranks; r++)
        d->rank_start[r + 1] += d->rank_start[r];
    /* Counting sort: ascending g inside each rank, so local index = position in the rank. */
    int64_t *fill = calloc((size_t)nranks, sizeof *fill);
    if (!fill) {
        starhalo_distribution_destroy(d);
        *out = NULL;
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "distribution: out of memory");
    }
    for (int64_t g = 0; g < n; g++) {
        const int r = owners[g];
        d->local_of[g] = fill[r]++;
        d->globals_by_rank[d->rank_start[r] + d->local_of[g]] = g;
    }
    free(fill);
    d->hash = fnv(d->hash, owners, (size_t)n * sizeof *owners);
    *out = d;
    return STARHALO_OK;
}

void starhalo_distribution_destroy(starhalo_distribution_t *dist)
{
    if (!dist)
        return;
    free(dist->owner);
    free(dist->local_of);
    free(dist->rank_start);
    free(dist->globals_by_rank);
    free(dist);
}

starhalo_dist_kind_t starhalo_distribution_kind(const starhalo_distribution_t *dist)
{
    return dist ? dist->kind : (starhalo_dist_kind_t)-1;
}

const char *starhalo_dist_kind_name(starhalo_dist_kind_t kind)
{
    switch (kind) {
    case STARHALO_DIST_BLOCK:
        return "block";
    case STARHALO_DIST_CYCLIC:
        return "cyclic";
    case STARHALO_DIST_BLOCK_CYCLIC:
        return "block-cyclic";
    case STARHALO_DIST_GENERAL:
        return "general";
    }
    return "unknown";
}

int64_t starhalo_distribution_global_size(const starhalo_distribution_t *dist)
{
    return dist ? dist->n : 0;
}

int starhalo_distribution_num_ranks(const starhalo_distribution_t *dist)
{
    return dist ? dist->nranks : 0;
}

uint64_t starhalo_distribution_hash(const starhalo_distribution_t *dist)
{
    return dist ? dist->hash : 0;
}

/* Block: q = n / P, the first rem = n % P ranks own q + 1 indexes. */
static int64_t block_start(const starhalo_distribution_t *d, int r)
{
    const int64_t q = d->n / d->nranks, rem = d->n % d->nranks;
    return r * q + (r < rem ? r : rem);
}

int starhalo_distribution_owner(const starhalo_distribution_t *dist, int64_t g)
{
    if (!dist || g < 0 || g >= dist->n)
        return -1;
    switch (dist->kind) {
    case STARHALO_DIST_BLOCK: {
        const int64_t q = dist->n / dist->nranks, rem = dist->n % dist->nranks;
        /* No q + 1 when rem is 0: q is n itself for one rank, and n may be INT64_MAX. */
        const int64_t big = rem ? rem * (q + 1) : 0;
        return (int)(g < big ? g / (q + 1) : rem + (g - big) / q);
    }
    case STARHALO_DIST_CYCLIC:
    case STARHALO_DIST_BLOCK_CYCLIC:
        return (int)((g / dist->block) % dist->nranks);
    case STARHALO_DIST_GENERAL:
        return dist->owner[g];
    }
    return -1;
}

int64_t starhalo_distribution_local_size(const starhalo_distribution_t *dist, int rank)
{
    if (!dist || rank < 0 || rank >= dist->nranks)
        return 0;
    switch (dist->kind) {
    case STARHALO_DIST_BLOCK:
        return block_start(dist, rank + 1) - block_start(dist, rank);
    case STARHALO_DIST_CYCLIC:
    case STARHALO_DIST_BLOCK_CYCLIC: {
        /* Blocks rank, rank + P, ...; only the last block of all may be short. No product
         * b * P: it overflows for large blocks (found by tests/fuzz). */
        const int64_t b = dist->block, n = dist->n;
        const int64_t nblocks = n / b + (n % b != 0);
        if (nblocks <= rank)
            return 0;
        const int64_t count = (nblocks - 1 - rank) / dist->nranks + 1;
        const int64_t last = n - (nblocks - 1) * b; /* length of the last block, 1..b */
        return (nblocks - 1) % dist->nranks == rank ? (count - 1) * b + last : count * b;
    }
    case STARHALO_DIST_GENERAL:
        return dist->rank_start[rank + 1] - dist->rank_start[rank];
    }
    return 0;
}

int64_t starhalo_distribution_global_to_local(const starhalo_distribution_t *dist, int64_t g)
{
    if (!dist || g < 0 || g >= dist->n)
        return -1;
    switch (dist->kind) {
    case STARHALO_DIST_BLOCK:
        return g - block_start(dist, starhalo_distribution_owner(dist, g));
    case STARHALO_DIST_CYCLIC:
    case STARHALO_DIST_BLOCK_CYCLIC: {
        const int64_t b = dist->block;
        return (g / b / dist->nranks) * b + g % b; /* g / (b * P) without the product */
    }
    case STARHALO_DIST_GENERAL:
        return dist->local_of[g];
    }
    return -1;
}

int64_t starhalo_distribution_local_to_global(const starhalo_distribution_t *dist, int rank,
                                              int64_t l)
{
    if (l < 0 || l >= starhalo_distribution_local_size(dist, rank))
        return -1;
    switch (dist->kind) {
    case STARHALO_DIST_BLOCK:
        return block_start(dist, rank) + l;
    case STARHALO_DIST_CYCLIC:
    case STARHALO_DIST_BLOCK_CYCLIC: {
        const int64_t b = dist->block;
        return ((l / b) * dist->nranks + rank) * b + l % b;
    }
    case STARHALO_DIST_GENERAL:
        return dist->globals_by_rank[dist->rank_start[rank] + l];
    }
    return -1;
}
