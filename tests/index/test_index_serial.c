/* SPDX-License-Identifier: MIT */
/* Tests the MPI-free parts of index plans: owner / local / global round trips of every
 * distribution kind against naive definitions, input validation, the LAMA worked example built
 * by simulating the all-to-all in one process, random required indexes with global <-> halo
 * round trips, and the lowering to a transfer plan (runs cover exactly the provides / halo). */
#include "starhalo_test.h"
#include "lama_example.h"

#include <starhalo/starhalo_index.h>

#include <stdlib.h>
#include <string.h>

/* Naive owner: walk the definition literally. */
static int naive_owner(starhalo_dist_kind_t kind, int64_t n, int P, int64_t b, const int *own,
                       int64_t g)
{
    switch (kind) {
    case STARHALO_DIST_BLOCK: {
        int64_t start = 0;
        for (int r = 0; r < P; r++) {
            const int64_t sz = n / P + (r < n % P ? 1 : 0);
            if (g < start + sz)
                return r;
            start += sz;
        }
        return -1;
    }
    case STARHALO_DIST_CYCLIC:
        return (int)(g % P);
    case STARHALO_DIST_BLOCK_CYCLIC:
        return (int)((g / b) % P);
    case STARHALO_DIST_GENERAL:
        return own[g];
    }
    return -1;
}

static void check_dist(starhalo_dist_kind_t kind, int64_t n, int P, int64_t b, const int *own)
{
    starhalo_distribution_t *d = NULL;
    switch (kind) {
    case STARHALO_DIST_BLOCK:
        assert_status_ok(starhalo_distribution_create_block(n, P, &d));
        break;
    case STARHALO_DIST_CYCLIC:
        assert_status_ok(starhalo_distribution_create_cyclic(n, P, &d));
        break;
    case STARHALO_DIST_BLOCK_CYCLIC:
        assert_status_ok(starhalo_distribution_create_block_cyclic(n, P, b, &d));
        break;
    case STARHALO_DIST_GENERAL:
        assert_status_ok(starhalo_distribution_create_general(n, P, own, &d));
        break;
    }
    assert_int_equal(starhalo_distribution_kind(d), kind);
    int64_t *next_local = calloc((size_t)(P > 0 ? P : 1), sizeof *next_local);
    assert_non_null(next_local);
    for (int64_t g = 0; g < n; g++) {
        const int r = naive_owner(kind, n, P, b, own, g);
        assert_int_equal(starhalo_distribution_owner(d, g), r);
        /* Local indexes are the owned globals in ascending order. */
        assert_int_equal(starhalo_distribution_global_to_local(d, g), next_local[r]);
        assert_int_equal(starhalo_distribution_local_to_global(d, r, next_local[r]), g);
        next_local[r]++;
    }
    int64_t total = 0;
    for (int r = 0; r < P; r++) {
        assert_int_equal(starhalo_distribution_local_size(d, r), next_local[r]);
        assert_int_equal(starhalo_distribution_local_to_global(d, r, next_local[r]), -1);
        total += next_local[r];
    }
    assert_int_equal(total, n);
    assert_int_equal(starhalo_distribution_owner(d, -1), -1);
    assert_int_equal(starhalo_distribution_owner(d, n), -1);
    assert_int_equal(starhalo_distribution_global_to_local(d, n), -1);
    free(next_local);
    starhalo_distribution_destroy(d);
}

static void distributions_round_trip(void **state)
{
    (void)state;
    const int64_t sizes[] = {0, 1, 7, 40, 101};
    const int ranks[] = {1, 2, 3, 4, 13};
    uint64_t seed = 42;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (size_t j = 0; j < sizeof ranks / sizeof ranks[0]; j++) {
            const int64_t n = sizes[i];
            const int P = ranks[j];
            check_dist(STARHALO_DIST_BLOCK, n, P, 1, NULL);
            check_dist(STARHALO_DIST_CYCLIC, n, P, 1, NULL);
            for (int64_t b = 1; b <= 5; b += 2)
                check_dist(STARHALO_DIST_BLOCK_CYCLIC, n, P, b, NULL);
            int *own = malloc((size_t)(n + 1) * sizeof *own);
            for (int64_t g = 0; g < n; g++)
                own[g] = (int)(starhalo_test_rand(&seed) % (uint64_t)P);
            check_dist(STARHALO_DIST_GENERAL, n, P, 1, own);
            free(own);
        }
}

static void distributions_reject_bad_input(void **state)
{
    (void)state;
    starhalo_distribution_t *d = (starhalo_distribution_t *)&d;
    assert_int_equal(starhalo_distribution_create_block(-1, 2, &d), STARHALO_ERR_INVALID_ARG);
    assert_null(d);
    assert_int_equal(starhalo_distribution_create_cyclic(5, 0, &d), STARHALO_ERR_INVALID_ARG);
    assert_int_equal(starhalo_distribution_create_block_cyclic(5, 2, 0, &d),
                     STARHALO_ERR_INVALID_ARG);
    const int own[3] = {0, 2, 1};
    assert_int_equal(starhalo_distribution_create_general(3, 2, own, &d),
                     STARHALO_ERR_OUT_OF_RANGE);
    assert_null(d);
    assert_non_null(strstr(starhalo_last_error_message(), "global index 1"));
    starhalo_distribution_destroy(NULL);

    /* Hashes differ by kind, size and owner array. */
    starhalo_distribution_t *a, *b, *c, *e;
    assert_status_ok(starhalo_distribution_create_block(40, 4, &a));
    assert_status_ok(starhalo_distribution_create_block(41, 4, &b));
    assert_status_ok(starhalo_distribution_create_cyclic(40, 4, &c));
    const int own2[3] = {0, 1, 1};
    assert_status_ok(starhalo_distribution_create_general(3, 2, own2, &e));
    starhalo_distribution_t *f;
    const int own3[3] = {1, 1, 0};
    assert_status_ok(starhalo_distribution_create_general(3, 2, own3, &f));
    assert_true(starhalo_distribution_hash(a) != starhalo_distribution_hash(b));
    assert_true(starhalo_distribution_hash(a) != starhalo_distribution_hash(c));
    assert_true(starhalo_distribution_hash(e) != starhalo_distribution_hash(f));
    starhalo_distribution_destroy(a);
    starhalo_distribution_destroy(b);
    starhalo_distribution_destroy(c);
    starhalo_distribution_destroy(e);
    starhalo_distribution_destroy(f);
}

/* Build every rank's plan in one process: the all-to-all becomes a loop. */
static void simulate_build(const starhalo_distribution_t *d, const int64_t *const *req,
                           const int64_t *nreq, starhalo_index_plan_t **plans)
{
    const int P = starhalo_distribution_num_ranks(d);
    for (int r = 0; r < P; r++)
        assert_status_ok(starhalo_index_plan_begin(d, r, req[r], nreq[r], &plans[r]));
    int64_t *counts = calloc((size_t)(P > 0 ? P : 1), sizeof *counts);
    for (int o = 0; o < P; o++) {
        int64_t total = 0;
        for (int r = 0; r < P; r++)
            total += counts[r] = starhalo_index_plan_halo_counts(plans[r])[o];
        int64_t *asked = malloc((size_t)(total + 1) * sizeof *asked), k = 0;
        for (int r = 0; r < P; r++) {
            const int64_t *off = starhalo_index_plan_halo_offsets(plans[r]);
            const int64_t *hg = starhalo_index_plan_halo_globals(plans[r]);
            for (int64_t i = off[o]; i < off[o + 1]; i++)
                asked[k++] = hg[i];
        }
        assert_status_ok(starhalo_index_plan_finish(plans[o], counts, asked));
        free(asked);
    }
    free(counts);
}

static void lama_worked_example(void **state)
{
    (void)state;
    starhalo_distribution_t *d;
    assert_status_ok(starhalo_distribution_create_block(LAMA_N, LAMA_P, &d));
    const int64_t *req[LAMA_P];
    for (int r = 0; r < LAMA_P; r++)
        req[r] = lama_required[r];
    starhalo_index_plan_t *plans[LAMA_P];
    simulate_build(d, req, lama_nrequired, plans);
    for (int r = 0; r < LAMA_P; r++) {
        const starhalo_index_plan_t *p = plans[r];
        assert_int_equal(starhalo_index_plan_local_size(p), 10);
        assert_int_equal(starhalo_index_plan_halo_size(p), lama_halo_size[r]);
        for (int64_t h = 0; h < lama_halo_size[r]; h++) {
            assert_int_equal(starhalo_index_plan_halo_globals(p)[h], lama_halo[r][h]);
            assert_int_equal(starhalo_index_plan_global_to_halo(p, lama_halo[r][h]), h);
        }
        for (int o = 0; o < LAMA_P; o++) {
            assert_int_equal(starhalo_index_plan_halo_counts(p)[o], lama_halo_counts[r][o]);
            assert_int_equal(starhalo_index_plan_provides_counts(p)[o], lama_prov_counts[r][o]);
        }
        assert_int_equal(starhalo_index_plan_provides_offsets(p)[LAMA_P], lama_nprovides[r]);
        for (int64_t i = 0; i < lama_nprovides[r]; i++)
            assert_int_equal(starhalo_index_plan_provides(p)[i], lama_provides[r][i]);
        /* Owned and absent indexes are not in the halo. */
        assert_int_equal(starhalo_index_plan_global_to_halo(p, r * 10 + 5), -1);
        assert_int_equal(starhalo_index_plan_global_to_halo(p, 38), -1);
        assert_int_equal(starhalo_index_plan_global_to_halo(p, 40), -1);
    }
    /* Lowered rank 1: peers 0, 2, 3; from 0 it receives halo [0, 9] at 10 + 0. */
    starhalo_xfer_plan_t *x;
    assert_status_ok(starhalo_index_plan_lower(plans[1], 1, &x));
    assert_int_equal(starhalo_xfer_plan_num_peers(x), 3);
    assert_int_equal(starhalo_xfer_plan_plane_size(x), 14);
    const starhalo_peer_xfer_t *p0 = starhalo_xfer_plan_peer(x, 0);
    assert_int_equal(p0->peer, 0);
    assert_int_equal(p0->recv_count, 2);
    assert_int_equal(p0->recv_runs[0].offset, 10);
    assert_int_equal(p0->recv_runs[0].length, 2);
    assert_int_equal(p0->send_count, 1);
    assert_int_equal(p0->send_runs[0].offset, 0);
    starhalo_xfer_plan_destroy(x);
    for (int r = 0; r < LAMA_P; r++)
        starhalo_index_plan_destroy(plans[r]);
    starhalo_distribution_destroy(d);
}

static void random_required_round_trips(void **state)
{
    (void)state;
    uint64_t seed = 7;
    for (int trial = 0; trial < 20; trial++) {
        const int P = 1 + (int)(starhalo_test_rand(&seed) % 5);
        const int64_t n = (int64_t)(starhalo_test_rand(&seed) % 300);
        int *own = malloc((size_t)(n + 1) * sizeof *own);
        for (int64_t g = 0; g < n; g++)
            own[g] = (int)(starhalo_test_rand(&seed) % (uint64_t)P);
        starhalo_distribution_t *d;
        assert_status_ok(starhalo_distribution_create_general(n, P, own, &d));
        int64_t **req = calloc((size_t)P, sizeof *req);
        int64_t *nreq = calloc((size_t)P, sizeof *nreq);
        for (int r = 0; r < P; r++) {
            nreq[r] = n ? (int64_t)(starhalo_test_rand(&seed) % (uint64_t)(n + 1)) : 0;
            req[r] = malloc((size_t)(nreq[r] + 1) * sizeof **req);
            for (int64_t i = 0; i < nreq[r]; i++)
                req[r][i] = (int64_t)(starhalo_test_rand(&seed) % (uint64_t)n);
        }
        starhalo_index_plan_t **plans = calloc((size_t)P, sizeof *plans);
        simulate_build(d, (const int64_t *const *)req, nreq, plans);
        for (int r = 0; r < P; r++) {
            const starhalo_index_plan_t *p = plans[r];
            /* Naive halo membership: required, not owned. */
            char *want = calloc((size_t)(n + 1), 1);
            for (int64_t i = 0; i < nreq[r]; i++)
                if (own[req[r][i]] != r)
                    want[req[r][i]] = 1;
            int64_t expected = 0;
            for (int64_t g = 0; g < n; g++) {
                const int64_t h = starhalo_index_plan_global_to_halo(p, g);
                if (want[g]) {
                    expected++;
                    assert_true(h >= 0);
                    assert_int_equal(starhalo_index_plan_halo_to_global(p, h), g);
                } else {
                    assert_int_equal(h, -1);
                }
            }
            assert_int_equal(starhalo_index_plan_halo_size(p), expected);
            /* Provides of owner o for r, mapped back to globals, equal r's halo segment. */
            for (int o = 0; o < P; o++) {
                const starhalo_index_plan_t *q = plans[o];
                const int64_t *po = starhalo_index_plan_provides_offsets(q);
                const int64_t *ho = starhalo_index_plan_halo_offsets(p);
                assert_int_equal(po[r + 1] - po[r], ho[o + 1] - ho[o]);
                for (int64_t i = 0; i < po[r + 1] - po[r]; i++)
                    assert_int_equal(starhalo_distribution_local_to_global(
                                         d, o, starhalo_index_plan_provides(q)[po[r] + i]),
                                     starhalo_index_plan_halo_globals(p)[ho[o] + i]);
            }
            /* Lowered runs select exactly the provides / halo. */
            starhalo_xfer_plan_t *x;
            assert_status_ok(starhalo_index_plan_lower(p, 2, &x));
            assert_int_equal(starhalo_xfer_plan_planes(x), 2);
            for (int i = 0; i < starhalo_xfer_plan_num_peers(x); i++) {
                const starhalo_peer_xfer_t *px = starhalo_xfer_plan_peer(x, i);
                const int64_t *prov = starhalo_index_plan_provides(p) +
                                      starhalo_index_plan_provides_offsets(p)[px->peer];
                int64_t k = 0;
                for (int j = 0; j < px->nsend_runs; j++)
                    for (int64_t e = 0; e < px->send_runs[j].length; e++)
                        assert_int_equal(px->send_runs[j].offset + e, prov[k++]);
                assert_int_equal(k, px->send_count);
            }
            starhalo_xfer_plan_destroy(x);
            free(want);
        }
        for (int r = 0; r < P; r++) {
            starhalo_index_plan_destroy(plans[r]);
            free(req[r]);
        }
        free(plans);
        free(req);
        free(nreq);
        free(own);
        starhalo_distribution_destroy(d);
    }
}

static void plan_rejects_bad_input(void **state)
{
    (void)state;
    starhalo_distribution_t *d;
    assert_status_ok(starhalo_distribution_create_block(40, 4, &d));
    starhalo_index_plan_t *p = (starhalo_index_plan_t *)&p;
    const int64_t bad[3] = {3, 40, 1};
    assert_int_equal(starhalo_index_plan_begin(d, 0, bad, 3, &p), STARHALO_ERR_OUT_OF_RANGE);
    assert_null(p);
    assert_non_null(strstr(starhalo_last_error_message(), "40"));
    assert_int_equal(starhalo_index_plan_begin(d, 4, bad, 1, &p), STARHALO_ERR_INVALID_ARG);
    /* Rank 0 asked for an index it does not own. */
    assert_status_ok(starhalo_index_plan_begin(d, 0, NULL, 0, &p));
    const int64_t counts[4] = {0, 1, 0, 0}, asked[1] = {12};
    assert_int_equal(starhalo_index_plan_finish(p, counts, asked), STARHALO_ERR_PLAN_INVALID);
    starhalo_xfer_plan_t *x;
    assert_int_equal(starhalo_index_plan_lower(p, 1, &x), STARHALO_ERR_PLAN_INVALID);
    starhalo_index_plan_destroy(p);
    starhalo_distribution_destroy(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(distributions_round_trip),
        cmocka_unit_test(distributions_reject_bad_input),
        cmocka_unit_test(lama_worked_example),
        cmocka_unit_test(random_required_round_trips),
        cmocka_unit_test(plan_rejects_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
