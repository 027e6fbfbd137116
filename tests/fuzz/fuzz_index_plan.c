/* SPDX-License-Identifier: MIT */
/**
 * @file fuzz_index_plan.c
 * @brief Fuzz harness: index distributions and index plans, every rank in one process.
 *
 * Input (fuzz_input.h numbers): kind (block, cyclic, block-cyclic, general), n, ranks P,
 * block; for general, the n owners; per rank its count of required indexes and the indexes;
 * the planes of the lowering; a tamper byte that, when odd, corrupts what one rank is asked
 * for (a count or an index it does not own) before step 2.
 *
 * The all-to-all of starhalo_index_plan_create_mpi() is done here by hand, so no MPI is needed:
 * step 1 (begin) on every rank, the requests transposed, step 2 (finish) on every rank, then
 * the lowering. Bad input must give a status; accepted input must give plans that hold the
 * invariants of starhalo_index.h (owners and local indexes round-trip, the halo is sorted by
 * owner then index without duplicates and holds every non-owned required index, provides are
 * owned local indexes, the lowered runs stay in the local array).
 */
#include "fuzz_input.h"

#include <string.h>

#include <starhalo/starhalo_index.h>

enum { MAX_RANKS = 64, MAX_GENERAL = 1 << 14, MAX_REQUIRED = 4096, MAX_ROUNDTRIP = 4096 };

static starhalo_status_t make_dist(fz_t *f, starhalo_distribution_t **dist)
{
    const int kind = (int)(fz_u8(f) % 4);
    const int64_t n = fz_num(f);
    const int P = fz_int(f);
    const int64_t block = fz_num(f);
    if (kind == STARHALO_DIST_BLOCK)
        return starhalo_distribution_create_block(n, P, dist);
    if (kind == STARHALO_DIST_CYCLIC)
        return starhalo_distribution_create_cyclic(n, P, dist);
    if (kind == STARHALO_DIST_BLOCK_CYCLIC)
        return starhalo_distribution_create_block_cyclic(n, P, block, dist);
    if (P > FZ_MAX_PARTS)
        return STARHALO_ERR_INVALID_ARG;
    if (n < 0 || n > MAX_GENERAL) /* the caller's array has n entries */
        return starhalo_distribution_create_general(n < 0 ? n : 0, P, NULL, dist);
    int *owners = malloc((size_t)(n > 0 ? n : 1) * sizeof *owners);
    if (!owners)
        return STARHALO_ERR_NO_MEMORY;
    for (int64_t g = 0; g < n; g++)
        owners[g] = fz_int(f);
    const starhalo_status_t st = starhalo_distribution_create_general(n, P, owners, dist);
    free(owners);
    return st;
}

static void check_dist(const starhalo_distribution_t *dist)
{
    const int64_t n = starhalo_distribution_global_size(dist);
    const int P = starhalo_distribution_num_ranks(dist);
    FZ_CHECK(n >= 0 && P >= 1);
    const int64_t step = n / MAX_ROUNDTRIP + 1; /* up to MAX_ROUNDTRIP indexes, spread out */
    for (int64_t k = 0; k < MAX_ROUNDTRIP && k * step < n; k++) { /* g += step overflows */
        const int64_t g = k * step;
        const int r = starhalo_distribution_owner(dist, g);
        FZ_CHECK(r >= 0 && r < P);
        const int64_t l = starhalo_distribution_global_to_local(dist, g);
        FZ_CHECK(l >= 0 && l < starhalo_distribution_local_size(dist, r));
        FZ_CHECK(starhalo_distribution_local_to_global(dist, r, l) == g);
    }
    FZ_CHECK(starhalo_distribution_owner(dist, -1) == -1);
    FZ_CHECK(starhalo_distribution_owner(dist, n) == -1);
    FZ_CHECK(starhalo_distribution_local_size(dist, P) == 0);
    if (P <= MAX_RANKS * 16) {
        int64_t total = 0;
        for (int r = 0; r < P; r++) {
            const int64_t ls = starhalo_distribution_local_size(dist, r);
            FZ_CHECK(ls >= 0 && ls <= n);
            FZ_CHECK(starhalo_distribution_local_to_global(dist, r, ls) == -1);
            total += ls;
        }
        FZ_CHECK(total == n);
    }
}

static void check_begin(const starhalo_index_plan_t *pl, const int64_t *req, int64_t nreq)
{
    const starhalo_distribution_t *dist = starhalo_index_plan_distribution(pl);
    const int rank = starhalo_index_plan_rank(pl), P = starhalo_index_plan_num_ranks(pl);
    const int64_t hs = starhalo_index_plan_halo_size(pl);
    const int64_t *hg = starhalo_index_plan_halo_globals(pl);
    const int64_t *hc = starhalo_index_plan_halo_counts(pl);
    const int64_t *ho = starhalo_index_plan_halo_offsets(pl);
    FZ_CHECK(hs >= 0 && hs <= nreq && ho[0] == 0 && ho[P] == hs && hc[rank] == 0);
    for (int r = 0; r < P; r++) {
        FZ_CHECK(ho[r + 1] - ho[r] == hc[r]);
        for (int64_t h = ho[r]; h < ho[r + 1]; h++) {
            FZ_CHECK(starhalo_distribution_owner(dist, hg[h]) == r);
            FZ_CHECK(h == ho[r] || hg[h - 1] < hg[h]);
            FZ_CHECK(starhalo_index_plan_global_to_halo(pl, hg[h]) == h);
            FZ_CHECK(starhalo_index_plan_halo_to_global(pl, h) == hg[h]);
        }
    }
    for (int64_t i = 0; i < nreq; i++) {
        const int owner = starhalo_distribution_owner(dist, req[i]);
        const int64_t h = starhalo_index_plan_global_to_halo(pl, req[i]);
        FZ_CHECK(owner == rank ? h == -1 : h >= 0 && hg[h] == req[i]);
    }
}

static void check_lowered(const starhalo_index_plan_t *pl, int64_t planes)
{
    starhalo_xfer_plan_t *x = NULL;
    const starhalo_status_t st = starhalo_index_plan_lower(pl, planes, &x);
    FZ_CHECK((st == STARHALO_OK) == (x != NULL));
    if (!x)
        return;
    const int64_t ls = starhalo_index_plan_local_size(pl), hs = starhalo_index_plan_halo_size(pl);
    FZ_CHECK(starhalo_xfer_plan_plane_size(x) == ls + hs);
    FZ_CHECK(starhalo_xfer_plan_planes(x) == planes);
    for (int i = 0; i < starhalo_xfer_plan_num_peers(x); i++) {
        const starhalo_peer_xfer_t *px = starhalo_xfer_plan_peer(x, i);
        int64_t s = 0;
        for (int k = 0; k < px->nsend_runs; k++) {
            const starhalo_run_t *r = &px->send_runs[k];
            FZ_CHECK(r->offset >= 0 && r->length > 0 && r->offset + r->length <= ls);
            s += r->length;
        }
        FZ_CHECK(s == px->send_count);
        for (int k = 0; k < px->nrecv_runs; k++) {
            const starhalo_run_t *r = &px->recv_runs[k];
            FZ_CHECK(r->offset >= ls && r->length == px->recv_count &&
                     r->offset + r->length <= ls + hs);
        }
    }
    starhalo_xfer_plan_destroy(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_t f = {data, size};
    starhalo_distribution_t *dist = NULL;
    const starhalo_status_t st = make_dist(&f, &dist);
    FZ_CHECK((st == STARHALO_OK) == (dist != NULL));
    if (!dist)
        return 0;
    check_dist(dist);
    const int P = starhalo_distribution_num_ranks(dist);
    if (P > MAX_RANKS) { /* every rank's plan in one process: bounded work */
        starhalo_distribution_destroy(dist);
        return 0;
    }
    starhalo_index_plan_t *plans[MAX_RANKS] = {NULL};
    int64_t *req = NULL;
    int ok = 1;
    for (int r = 0; r < P && ok; r++) {
        int64_t nreq = fz_num(&f);
        const int64_t nalloc = nreq < 0 ? 0 : nreq > MAX_REQUIRED ? MAX_REQUIRED : nreq;
        int64_t *grown = realloc(req, (size_t)(nalloc > 0 ? nalloc : 1) * sizeof *req);
        FZ_CHECK(grown);
        req = grown;
        for (int64_t i = 0; i < nalloc; i++)
            req[i] = fz_num(&f);
        if (nreq > 0)
            nreq = nalloc; /* the array holds what it says */
        const starhalo_status_t bs = starhalo_index_plan_begin(dist, r, req, nreq, &plans[r]);
        FZ_CHECK((bs == STARHALO_OK) == (plans[r] != NULL));
        ok = bs == STARHALO_OK;
        if (ok)
            check_begin(plans[r], req, nreq);
    }
    const int64_t planes = fz_num(&f);
    const uint8_t tamper = fz_u8(&f);
    if (ok) {
        /* The all-to-all: rank r is asked by rank q for q's halo segment owned by r. */
        int64_t counts[MAX_RANKS];
        for (int r = 0; r < P && ok; r++) {
            int64_t total = 0;
            for (int q = 0; q < P; q++)
                total += counts[q] = starhalo_index_plan_halo_counts(plans[q])[r];
            int64_t *asked = malloc((size_t)(total > 0 ? total : 1) * sizeof *asked);
            FZ_CHECK(asked);
            int64_t at = 0;
            for (int q = 0; q < P; q++) {
                const int64_t *hg = starhalo_index_plan_halo_globals(plans[q]);
                const int64_t off = starhalo_index_plan_halo_offsets(plans[q])[r];
                memcpy(asked + at, hg + off, (size_t)counts[q] * sizeof *asked);
                at += counts[q];
            }
            int tampered = 0;
            if ((tamper & 1) && r == (tamper >> 1) % P) {
                tampered = 1;
                if (total > 0 && (tamper & 2))
                    asked[0] = -1 - asked[0]; /* an index nobody owns */
                else
                    counts[0] = -1 - counts[0]; /* a negative count */
            }
            const starhalo_status_t fs = starhalo_index_plan_finish(plans[r], counts, asked);
            FZ_CHECK(tampered ? fs != STARHALO_OK : fs == STARHALO_OK);
            ok = fs == STARHALO_OK;
            free(asked);
        }
    }
    for (int r = 0; r < P && ok; r++)
        check_lowered(plans[r], planes);
    for (int r = 0; r < P; r++)
        starhalo_index_plan_destroy(plans[r]);
    free(req);
    starhalo_distribution_destroy(dist);
    return 0;
}
