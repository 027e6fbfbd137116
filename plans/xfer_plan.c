/* SPDX-License-Identifier: MIT */
/**
 * @file xfer_plan.c
 * @brief Transfer plans: per peer, the runs of one local plane to gather (send) and scatter
 * (recv). Structured part plans lower to runs over the ghosted tile; index plans build them
 * directly with starhalo_xfer_plan_create.
 */
#include "plans_internal.h"

#include <stdlib.h>
#include <string.h>

/* Number of rows ((z, y) pairs) of a box: an upper bound on its run count. */
static int64_t box_rows(const starhalo_box_t *b)
{
    if (starhalo_box_volume(b) == 0)
        return 0;
    return (b->hi[1] - b->lo[1]) * (b->hi[2] - b->lo[2]);
}

/* Append the runs of box b inside ghosted tile g; rows that touch merge into one run. */
static int box_runs(const starhalo_box_t *g, const starhalo_box_t *b, starhalo_run_t *runs,
                    int64_t *count)
{
    int n = 0;
    *count = 0;
    if (starhalo_box_volume(b) == 0)
        return 0;
    const int64_t gw = g->hi[0] - g->lo[0], gh = g->hi[1] - g->lo[1];
    const int64_t len = b->hi[0] - b->lo[0];
    for (int64_t z = b->lo[2]; z < b->hi[2]; z++) {
        for (int64_t y = b->lo[1]; y < b->hi[1]; y++) {
            const int64_t off = ((z - g->lo[2]) * gh + (y - g->lo[1])) * gw + (b->lo[0] - g->lo[0]);
            if (n > 0 && runs[n - 1].offset + runs[n - 1].length == off)
                runs[n - 1].length += len;
            else
                runs[n++] = (starhalo_run_t){off, len};
            *count += len;
        }
    }
    return n;
}

/* Allocate a plan with room for npeers peers and nruns runs. */
static starhalo_status_t xfer_alloc(int npeers, int64_t nruns, starhalo_xfer_plan_t **out)
{
    starhalo_xfer_plan_t *x = calloc(1, sizeof *x);
    if (x) {
        x->peers = calloc(npeers ? (size_t)npeers : 1, sizeof *x->peers);
        x->runs = calloc(nruns ? (size_t)nruns : 1, sizeof *x->runs);
    }
    if (!x || !x->peers || !x->runs) {
        starhalo_xfer_plan_destroy(x);
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY,
                                  "transfer plan: out of memory (%d peers, %lld runs)", npeers,
                                  (long long)nruns);
    }
    x->npeers = npeers;
    *out = x;
    return STARHALO_OK;
}

starhalo_status_t starhalo_part_plan_lower(const starhalo_part_plan_t *plan,
                                           starhalo_xfer_plan_t **out)
{
    STARHALO_REQUIRE(plan && out, STARHALO_ERR_INVALID_ARG, "part_plan_lower: NULL argument");
    *out = NULL;
    int64_t nruns = 0;
    for (int i = 0; i < plan->nneighbors; i++)
        nruns += box_rows(&plan->neighbors[i].send) + box_rows(&plan->neighbors[i].recv);
    starhalo_xfer_plan_t *x;
    STARHALO_CHECK(xfer_alloc(plan->nneighbors, nruns, &x));
    x->plane_size = starhalo_box_volume(&plan->ghosted);
    x->planes = plan->planes;
    starhalo_run_t *next = x->runs;
    for (int i = 0; i < plan->nneighbors; i++) {
        const starhalo_neighbor_t *nb = &plan->neighbors[i];
        starhalo_peer_xfer_t *px = &x->peers[i];
        px->peer = nb->part;
        px->send_tag = nb->send_tag;
        px->recv_tag = nb->recv_tag;
        px->send_runs = next;
        px->nsend_runs = box_runs(&plan->ghosted, &nb->send, next, &px->send_count);
        next += px->nsend_runs;
        px->recv_runs = next;
        px->nrecv_runs = box_runs(&plan->ghosted, &nb->recv, next, &px->recv_count);
        next += px->nrecv_runs;
    }
    *out = x;
    return STARHALO_OK;
}

/* Check one run list against the plane and its declared element count. */
static starhalo_status_t check_runs(int i, const char *what, const starhalo_run_t *runs, int n,
                                    int64_t count, int64_t plane_size)
{
    STARHALO_REQUIRE(n >= 0 && (n == 0 || runs), STARHALO_ERR_INVALID_ARG,
                     "peer %d: %d %s runs but no array", i, n, what);
    int64_t sum = 0;
    for (int r = 0; r < n; r++) {
        /* No offset + length: it overflows for offsets near INT64_MAX. */
        STARHALO_REQUIRE(
            runs[r].offset >= 0 && runs[r].length >= 0 && runs[r].offset <= plane_size &&
                runs[r].length <= plane_size - runs[r].offset,
            STARHALO_ERR_PLAN_INVALID,
            "peer %d: %s run %d [%lld, +%lld) is outside the plane of %lld elements", i, what, r,
            (long long)runs[r].offset, (long long)runs[r].length, (long long)plane_size);
        STARHALO_REQUIRE(runs[r].length <= INT64_MAX - sum, STARHALO_ERR_PLAN_INVALID,
                         "peer %d: %s runs hold more than 2^63 elements", i, what);
        sum += runs[r].length;
    }
    STARHALO_REQUIRE(sum == count, STARHALO_ERR_PLAN_INVALID,
                     "peer %d: %s runs hold %lld elements but %s_count is %lld", i, what,
                     (long long)sum, what, (long long)count);
    return STARHALO_OK;
}

starhalo_status_t starhalo_xfer_plan_create(int npeers, const starhalo_peer_xfer_t *peers,
                                            int64_t plane_size, int64_t planes,
                                            starhalo_xfer_plan_t **out)
{
    STARHALO_REQUIRE(out, STARHALO_ERR_INVALID_ARG, "xfer_plan_create: NULL out");
    *out = NULL;
    STARHALO_REQUIRE(npeers >= 0 && (npeers == 0 || peers), STARHALO_ERR_INVALID_ARG,
                     "xfer_plan_create: %d peers but no array", npeers);
    STARHALO_REQUIRE(plane_size >= 0 && planes >= 0, STARHALO_ERR_INVALID_ARG,
                     "xfer_plan_create: negative plane_size (%lld) or planes (%lld)",
                     (long long)plane_size, (long long)planes);
    int64_t nruns = 0;
    for (int i = 0; i < npeers; i++) {
        STARHALO_CHECK(check_runs(i, "send", peers[i].send_runs, peers[i].nsend_runs,
                                  peers[i].send_count, plane_size));
        STARHALO_CHECK(check_runs(i, "recv", peers[i].recv_runs, peers[i].nrecv_runs,
                                  peers[i].recv_count, plane_size));
        nruns += peers[i].nsend_runs + peers[i].nrecv_runs;
    }
    starhalo_xfer_plan_t *x;
    STARHALO_CHECK(xfer_alloc(npeers, nruns, &x));
    x->plane_size = plane_size;
    x->planes = planes;
    starhalo_run_t *next = x->runs;
    for (int i = 0; i < npeers; i++) {
        x->peers[i] = peers[i];
        if (peers[i].nsend_runs)
            memcpy(next, peers[i].send_runs, (size_t)peers[i].nsend_runs * sizeof *next);
        x->peers[i].send_runs = next;
        next += peers[i].nsend_runs;
        if (peers[i].nrecv_runs)
            memcpy(next, peers[i].recv_runs, (size_t)peers[i].nrecv_runs * sizeof *next);
        x->peers[i].recv_runs = next;
        next += peers[i].nrecv_runs;
    }
    *out = x;
    return STARHALO_OK;
}

void starhalo_xfer_plan_destroy(starhalo_xfer_plan_t *plan)
{
    if (!plan)
        return;
    free(plan->peers);
    free(plan->runs);
    free(plan);
}

int starhalo_xfer_plan_num_peers(const starhalo_xfer_plan_t *plan)
{
    return plan ? plan->npeers : 0;
}

const starhalo_peer_xfer_t *starhalo_xfer_plan_peer(const starhalo_xfer_plan_t *plan, int i)
{
    if (!plan || i < 0 || i >= plan->npeers)
        return NULL;
    return &plan->peers[i];
}

int64_t starhalo_xfer_plan_plane_size(const starhalo_xfer_plan_t *plan)
{
    return plan ? plan->plane_size : 0;
}

int64_t starhalo_xfer_plan_planes(const starhalo_xfer_plan_t *plan)
{
    return plan ? plan->planes : 0;
}
