/* SPDX-License-Identifier: MIT */
/**
 * @file index_plan.c
 * @brief The local (communication-free) steps of an index halo plan: sort the required
 * indexes into the halo, localize what others request, lower to a transfer plan.
 *
 * The halo is sorted by (owner, global index) so that each owner's part is contiguous and the
 * global -> halo lookup is a binary search inside that owner's segment (no hash table needed).
 */
#include <starhalo/starhalo_index.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct starhalo_index_plan {
    const starhalo_distribution_t *dist;
    int rank;
    int nranks;
    int64_t local_size;
    int64_t halo_size;
    int64_t *halo_globals; /* [halo_size] */
    int64_t *halo_counts;  /* [P] */
    int64_t *halo_offsets; /* [P + 1] */
    int64_t *prov_counts;  /* [P] */
    int64_t *prov_offsets; /* [P + 1] */
    int64_t *provides;     /* [prov_offsets[P]] local indexes */
    int finished;
};

/* LSD radix sort of @p n keys below 2^bits (11-bit digits, 2 to 6 passes) using @p tmp of the
 * same size; O(n) per pass instead of qsort's O(n log n) comparator calls. Returns the buffer
 * holding the sorted keys (@p keys or @p tmp). */
static uint64_t *radix_sort(uint64_t *keys, uint64_t *tmp, int64_t n, int bits)
{
    enum { DIGIT = 11, BUCKETS = 1 << DIGIT };
    static _Thread_local int64_t count[BUCKETS + 1];
    for (int shift = 0; shift < bits; shift += DIGIT) {
        memset(count, 0, sizeof count);
        for (int64_t i = 0; i < n; i++)
            count[((keys[i] >> shift) & (BUCKETS - 1)) + 1]++;
        for (int d = 0; d < BUCKETS; d++)
            count[d + 1] += count[d];
        for (int64_t i = 0; i < n; i++)
            tmp[count[(keys[i] >> shift) & (BUCKETS - 1)]++] = keys[i];
        uint64_t *t = keys;
        keys = tmp;
        tmp = t;
    }
    return keys;
}

starhalo_status_t starhalo_index_plan_begin(const starhalo_distribution_t *dist, int rank,
                                            const int64_t *required, int64_t nrequired,
                                            starhalo_index_plan_t **out)
{
    STARHALO_REQUIRE(out, STARHALO_ERR_INVALID_ARG, "index plan: NULL output pointer");
    *out = NULL;
    STARHALO_REQUIRE(dist, STARHALO_ERR_INVALID_ARG, "index plan: NULL distribution");
    const int P = starhalo_distribution_num_ranks(dist);
    const int64_t n = starhalo_distribution_global_size(dist);
    STARHALO_REQUIRE(rank >= 0 && rank < P, STARHALO_ERR_INVALID_ARG,
                     "index plan: rank %d outside the distribution's [0, %d)", rank, P);
    STARHALO_REQUIRE(nrequired >= 0 && (required || nrequired == 0), STARHALO_ERR_INVALID_ARG,
                     "index plan: rank %d passed %lld required indexes%s", rank,
                     (long long)nrequired, required ? "" : " and a NULL array");
    STARHALO_REQUIRE((uint64_t)n <= UINT64_MAX / (uint64_t)P, STARHALO_ERR_UNSUPPORTED,
                     "index plan: %lld indexes over %d ranks overflow the 64-bit sort key",
                     (long long)n, P);
    for (int64_t i = 0; i < nrequired; i++)
        STARHALO_REQUIRE(required[i] >= 0 && required[i] < n, STARHALO_ERR_OUT_OF_RANGE,
                         "index plan: rank %d requires global index %lld (entry %lld), outside "
                         "[0, %lld)",
                         rank, (long long)required[i], (long long)i, (long long)n);

    starhalo_index_plan_t *p = calloc(1, sizeof *p);
    /* Sort key = owner * n + g: ascending owner, then ascending global index. */
    const size_t nk_alloc = (size_t)(nrequired > 0 ? nrequired : 1);
    uint64_t *keys = malloc(nk_alloc * sizeof *keys), *tmp = malloc(nk_alloc * sizeof *tmp);
    if (p) {
        p->halo_counts = calloc((size_t)P, sizeof(int64_t));
        p->halo_offsets = calloc((size_t)P + 1, sizeof(int64_t));
        p->prov_counts = calloc((size_t)P, sizeof(int64_t));
        p->prov_offsets = calloc((size_t)P + 1, sizeof(int64_t));
        p->halo_globals = malloc((size_t)(nrequired > 0 ? nrequired : 1) * sizeof(int64_t));
    }
    if (!p || !keys || !tmp || !p->halo_counts || !p->halo_offsets || !p->prov_counts ||
        !p->prov_offsets || !p->halo_globals) {
        free(keys);
        free(tmp);
        starhalo_index_plan_destroy(p);
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "index plan: out of memory");
    }
    p->dist = dist;
    p->rank = rank;
    p->nranks = P;
    p->local_size = starhalo_distribution_local_size(dist, rank);

    int64_t nk = 0;
    for (int64_t i = 0; i < nrequired; i++) {
        const int owner = starhalo_distribution_owner(dist, required[i]);
        if (owner != rank) /* owned indexes are already in the local part */
            keys[nk++] = (uint64_t)owner * (uint64_t)n + (uint64_t)required[i];
    }
    /* P * n < 2^63 always holds for in-memory sizes; bits = width of the largest key. */
    int bits = 1;
    while (bits < 64 && ((uint64_t)P * (uint64_t)n) >> bits)
        bits++;
    const uint64_t *sorted = radix_sort(keys, tmp, nk, bits);
    for (int64_t i = 0; i < nk; i++) {
        if (i > 0 && sorted[i] == sorted[i - 1])
            continue; /* duplicate */
        p->halo_globals[p->halo_size++] = (int64_t)(sorted[i] % (uint64_t)n);
        p->halo_counts[sorted[i] / (uint64_t)n]++;
    }
    free(keys);
    free(tmp);
    for (int r = 0; r < P; r++)
        p->halo_offsets[r + 1] = p->halo_offsets[r] + p->halo_counts[r];
    *out = p;
    return STARHALO_OK;
}

starhalo_status_t starhalo_index_plan_finish(starhalo_index_plan_t *plan,
                                             const int64_t *requested_counts,
                                             const int64_t *requested)
{
    STARHALO_REQUIRE(plan && requested_counts, STARHALO_ERR_INVALID_ARG,
                     "index plan finish: NULL argument");
    const int P = plan->nranks;
    int64_t total = 0;
    for (int r = 0; r < P; r++) {
        STARHALO_REQUIRE(requested_counts[r] >= 0 && requested_counts[r] <= INT64_MAX - total,
                         STARHALO_ERR_PLAN_INVALID,
                         "index plan finish: rank %d requests %lld indexes from rank %d", r,
                         (long long)requested_counts[r], plan->rank);
        total += requested_counts[r];
    }
    STARHALO_REQUIRE(requested || total == 0, STARHALO_ERR_INVALID_ARG,
                     "index plan finish: NULL requested array");
    int64_t *prov = (uint64_t)total <= SIZE_MAX / sizeof *prov
                        ? malloc((size_t)(total > 0 ? total : 1) * sizeof *prov)
                        : NULL;
    STARHALO_REQUIRE(prov, STARHALO_ERR_NO_MEMORY, "index plan: out of memory");
    for (int r = 0; r < P; r++) {
        plan->prov_counts[r] = requested_counts[r];
        plan->prov_offsets[r + 1] = plan->prov_offsets[r] + requested_counts[r];
    }
    for (int r = 0; r < P; r++)
        for (int64_t i = plan->prov_offsets[r]; i < plan->prov_offsets[r + 1]; i++) {
            const int64_t g = requested[i];
            if (starhalo_distribution_owner(plan->dist, g) != plan->rank) {
                free(prov);
                return starhalo_error_set(STARHALO_ERR_PLAN_INVALID,
                                          "index plan finish: rank %d requested global %lld "
                                          "from rank %d, which does not own it",
                                          r, (long long)g, plan->rank);
            }
            prov[i] = starhalo_distribution_global_to_local(plan->dist, g);
        }
    free(plan->provides);
    plan->provides = prov;
    plan->finished = 1;
    return STARHALO_OK;
}

void starhalo_index_plan_destroy(starhalo_index_plan_t *plan)
{
    if (!plan)
        return;
    free(plan->halo_globals);
    free(plan->halo_counts);
    free(plan->halo_offsets);
    free(plan->prov_counts);
    free(plan->prov_offsets);
    free(plan->provides);
    free(plan);
}

int starhalo_index_plan_rank(const starhalo_index_plan_t *plan)
{
    return plan ? plan->rank : -1;
}

int starhalo_index_plan_num_ranks(const starhalo_index_plan_t *plan)
{
    return plan ? plan->nranks : 0;
}

const starhalo_distribution_t *starhalo_index_plan_distribution(const starhalo_index_plan_t *plan)
{
    return plan ? plan->dist : NULL;
}

int64_t starhalo_index_plan_local_size(const starhalo_index_plan_t *plan)
{
    return plan ? plan->local_size : 0;
}

int64_t starhalo_index_plan_halo_size(const starhalo_index_plan_t *plan)
{
    return plan ? plan->halo_size : 0;
}

const int64_t *starhalo_index_plan_halo_globals(const starhalo_index_plan_t *plan)
{
    return plan ? plan->halo_globals : NULL;
}

const int64_t *starhalo_index_plan_halo_counts(const starhalo_index_plan_t *plan)
{
    return plan ? plan->halo_counts : NULL;
}

const int64_t *starhalo_index_plan_halo_offsets(const starhalo_index_plan_t *plan)
{
    return plan ? plan->halo_offsets : NULL;
}

const int64_t *starhalo_index_plan_provides_counts(const starhalo_index_plan_t *plan)
{
    return plan ? plan->prov_counts : NULL;
}

const int64_t *starhalo_index_plan_provides_offsets(const starhalo_index_plan_t *plan)
{
    return plan ? plan->prov_offsets : NULL;
}

const int64_t *starhalo_index_plan_provides(const starhalo_index_plan_t *plan)
{
    return plan ? plan->provides : NULL;
}

int64_t starhalo_index_plan_global_to_halo(const starhalo_index_plan_t *plan, int64_t g)
{
    if (!plan)
        return -1;
    const int owner = starhalo_distribution_owner(plan->dist, g);
    if (owner < 0 || owner == plan->rank)
        return -1;
    int64_t lo = plan->halo_offsets[owner], hi = plan->halo_offsets[owner + 1];
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (plan->halo_globals[mid] < g)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < plan->halo_offsets[owner + 1] && plan->halo_globals[lo] == g ? lo : -1;
}

int64_t starhalo_index_plan_halo_to_global(const starhalo_index_plan_t *plan, int64_t h)
{
    return plan && h >= 0 && h < plan->halo_size ? plan->halo_globals[h] : -1;
}

/* Merge consecutive local indexes into runs; returns the number of runs written to @p runs. */
static int merge_runs(const int64_t *idx, int64_t n, starhalo_run_t *runs)
{
    int nr = 0;
    for (int64_t i = 0; i < n; i++) {
        if (nr > 0 && runs[nr - 1].offset + runs[nr - 1].length == idx[i])
            runs[nr - 1].length++;
        else
            runs[nr++] = (starhalo_run_t){idx[i], 1};
    }
    return nr;
}

starhalo_status_t starhalo_index_plan_lower(const starhalo_index_plan_t *plan, int64_t planes,
                                            starhalo_xfer_plan_t **out)
{
    STARHALO_REQUIRE(plan && out, STARHALO_ERR_INVALID_ARG, "index plan lower: NULL argument");
    *out = NULL;
    STARHALO_REQUIRE(plan->finished, STARHALO_ERR_PLAN_INVALID,
                     "index plan lower: rank %d's plan is not finished (no provides yet)",
                     plan->rank);
    STARHALO_REQUIRE(planes >= 1, STARHALO_ERR_INVALID_ARG,
                     "index plan lower: %lld planes (need at least 1)", (long long)planes);
    const int P = plan->nranks;
    const int64_t nprov = plan->prov_offsets[P];
    starhalo_peer_xfer_t *peers = calloc((size_t)P, sizeof *peers);
    starhalo_run_t *sruns = malloc((size_t)(nprov > 0 ? nprov : 1) * sizeof *sruns);
    starhalo_run_t *rruns = malloc((size_t)P * sizeof *rruns);
    if (!peers || !sruns || !rruns) {
        free(peers);
        free(sruns);
        free(rruns);
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "index plan lower: out of memory");
    }
    int np = 0;
    int64_t nsr = 0;
    for (int r = 0; r < P; r++) {
        if (plan->prov_counts[r] == 0 && plan->halo_counts[r] == 0)
            continue;
        starhalo_peer_xfer_t *x = &peers[np];
        x->peer = r;
        x->send_count = plan->prov_counts[r];
        x->send_runs = sruns + nsr;
        x->nsend_runs =
            merge_runs(plan->provides + plan->prov_offsets[r], plan->prov_counts[r], sruns + nsr);
        nsr += x->nsend_runs;
        x->recv_count = plan->halo_counts[r];
        rruns[np] =
            (starhalo_run_t){plan->local_size + plan->halo_offsets[r], plan->halo_counts[r]};
        x->nrecv_runs = plan->halo_counts[r] > 0;
        x->recv_runs = &rruns[np];
        np++;
    }
    starhalo_status_t st =
        starhalo_xfer_plan_create(np, peers, plan->local_size + plan->halo_size, planes, out);
    free(peers);
    free(sruns);
    free(rruns);
    return st;
}
