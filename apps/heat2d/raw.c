/* SPDX-License-Identifier: MIT */
/**
 * @file raw.c
 * @brief The baseline: a hand-written MPI bulk-synchronous Jacobi (Irecv/Isend/Waitall, then
 * compute), no StarPU. Same decomposition, transfer plans and kernels as the task modes, so
 * the final fields are bitwise identical.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <starhalo/starhalo_kernels.h>

#include "heat2d.h"

/* Direction slots are 0..26 (starhalo_plan.h), so part * 32 + slot is a unique tag. */
#define SLOTS 32

typedef struct raw_part {
    int part;
    starhalo_part_plan_t *plan;
    starhalo_xfer_plan_t *xfer;
    starhalo_kern_tile_t tile;
    starhalo_box_t owned;
    void *u[2];
    void **sendbuf;
    void **recvbuf;
} raw_part_t;

typedef struct raw {
    const heat2d_opts_t *o;
    starhalo_decomp_t *decomp;
    int nlocal;
    raw_part_t *parts;
    MPI_Request *reqs;
    int nreqs;
    size_t es;
} raw_t;

static int owner(const raw_t *r, int part)
{
    return part / r->o->parts_per_rank;
}

static void exchange(raw_t *r, int cur)
{
    int n = 0;
    for (int i = 0; i < r->nlocal; i++) {
        raw_part_t *p = &r->parts[i];
        for (int k = 0; k < starhalo_xfer_plan_num_peers(p->xfer); k++) {
            const starhalo_peer_xfer_t *x = starhalo_xfer_plan_peer(p->xfer, k);
            MPI_Irecv(p->recvbuf[k], (int)((size_t)x->recv_count * r->es), MPI_BYTE,
                      owner(r, x->peer), p->part * SLOTS + x->recv_tag, MPI_COMM_WORLD,
                      &r->reqs[n++]);
        }
    }
    for (int i = 0; i < r->nlocal; i++) {
        raw_part_t *p = &r->parts[i];
        const int64_t plane = starhalo_xfer_plan_plane_size(p->xfer);
        for (int k = 0; k < starhalo_xfer_plan_num_peers(p->xfer); k++) {
            const starhalo_peer_xfer_t *x = starhalo_xfer_plan_peer(p->xfer, k);
            starhalo_kern_pack_cpu(r->o->dtype, p->u[cur], plane, 1, x->send_runs, x->nsend_runs,
                                   x->send_count, p->sendbuf[k]);
            MPI_Isend(p->sendbuf[k], (int)((size_t)x->send_count * r->es), MPI_BYTE,
                      owner(r, x->peer), x->peer * SLOTS + x->send_tag, MPI_COMM_WORLD,
                      &r->reqs[n++]);
        }
    }
    MPI_Waitall(n, r->reqs, MPI_STATUSES_IGNORE);
    for (int i = 0; i < r->nlocal; i++) {
        raw_part_t *p = &r->parts[i];
        const int64_t plane = starhalo_xfer_plan_plane_size(p->xfer);
        for (int k = 0; k < starhalo_xfer_plan_num_peers(p->xfer); k++) {
            const starhalo_peer_xfer_t *x = starhalo_xfer_plan_peer(p->xfer, k);
            starhalo_kern_unpack_cpu(r->o->dtype, p->recvbuf[k], x->recv_count, 1, x->recv_runs,
                                     x->nrecv_runs, p->u[cur], plane, STARHALO_REDUCE_REPLACE);
        }
    }
}

static starhalo_status_t compute(raw_t *r, int cur)
{
    for (int i = 0; i < r->nlocal; i++) {
        raw_part_t *p = &r->parts[i];
        STARHALO_CHECK(r->o->stencil == STARHALO_STENCIL_9PT
                           ? starhalo_kern_stencil9_cpu(r->o->dtype, &p->tile, p->u[cur],
                                                        p->u[1 - cur], &p->owned)
                           : starhalo_kern_stencil5_cpu(r->o->dtype, &p->tile, p->u[cur],
                                                        p->u[1 - cur], &p->owned));
    }
    return STARHALO_OK;
}

/* Same reduction order as starhalo_field_sqdiff: parts in order, then MPI_Allreduce. */
static double residual(raw_t *r, int newer)
{
    double local = 0.0, global = 0.0;
    for (int i = 0; i < r->nlocal; i++) {
        raw_part_t *p = &r->parts[i];
        double s = 0.0;
        if (starhalo_kern_sqdiff_cpu(r->o->dtype, &p->tile, p->u[newer], p->u[1 - newer], &p->owned,
                                     &s) == STARHALO_OK)
            local += s;
    }
    MPI_Allreduce(&local, &global, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return sqrt(global);
}

static starhalo_status_t setup(raw_t *r, int rank)
{
    STARHALO_CHECK(heat2d_decomp(r->o, &r->decomp));
    r->es = starhalo_dtype_size(r->o->dtype);
    r->nlocal = r->o->parts_per_rank;
    r->parts = calloc((size_t)r->nlocal, sizeof *r->parts);
    if (!r->parts)
        return STARHALO_ERR_NO_MEMORY;
    int nreq = 0;
    for (int i = 0; i < r->nlocal; i++) {
        raw_part_t *p = &r->parts[i];
        p->part = rank * r->o->parts_per_rank + i;
        STARHALO_CHECK(starhalo_part_plan_create(r->decomp, p->part, &p->plan));
        STARHALO_CHECK(starhalo_part_plan_lower(p->plan, &p->xfer));
        starhalo_box_t g = starhalo_part_plan_ghosted(p->plan);
        p->tile = starhalo_kern_tile_make(&g, 1, 1);
        p->owned = starhalo_part_plan_owned(p->plan);
        const size_t bytes = (size_t)starhalo_box_volume(&g) * r->es;
        const int npeers = starhalo_xfer_plan_num_peers(p->xfer);
        p->sendbuf = calloc((size_t)npeers + 1, sizeof *p->sendbuf);
        p->recvbuf = calloc((size_t)npeers + 1, sizeof *p->recvbuf);
        if (!p->sendbuf || !p->recvbuf)
            return STARHALO_ERR_NO_MEMORY;
        for (int b = 0; b < 2; b++) {
            p->u[b] = malloc(bytes);
            if (!p->u[b])
                return STARHALO_ERR_NO_MEMORY;
            heat2d_fill_tile(r->o->dtype, &g, p->u[b]);
        }
        for (int k = 0; k < npeers; k++) {
            const starhalo_peer_xfer_t *x = starhalo_xfer_plan_peer(p->xfer, k);
            p->sendbuf[k] = malloc((size_t)x->send_count * r->es + 1);
            p->recvbuf[k] = malloc((size_t)x->recv_count * r->es + 1);
            if (!p->sendbuf[k] || !p->recvbuf[k])
                return STARHALO_ERR_NO_MEMORY;
        }
        nreq += 2 * npeers;
    }
    r->reqs = calloc((size_t)nreq + 1, sizeof *r->reqs);
    return r->reqs ? STARHALO_OK : STARHALO_ERR_NO_MEMORY;
}

static void teardown(raw_t *r)
{
    for (int i = 0; r->parts && i < r->nlocal; i++) {
        raw_part_t *p = &r->parts[i];
        const int npeers = p->xfer ? starhalo_xfer_plan_num_peers(p->xfer) : 0;
        for (int k = 0; k < npeers; k++) {
            free(p->sendbuf ? p->sendbuf[k] : NULL);
            free(p->recvbuf ? p->recvbuf[k] : NULL);
        }
        free(p->sendbuf);
        free(p->recvbuf);
        free(p->u[0]);
        free(p->u[1]);
        starhalo_xfer_plan_destroy(p->xfer);
        starhalo_part_plan_destroy(p->plan);
    }
    free(r->parts);
    free(r->reqs);
    starhalo_decomp_destroy(r->decomp);
}

/* Gather the owned blocks to rank 0 in part order (blocking, like the library's gather). */
static void *gather(raw_t *r, int rank, int cur)
{
    const int64_t n = r->o->size;
    char *global = rank == 0 ? malloc((size_t)(n * n) * r->es) : NULL;
    for (int q = 0; q < r->o->parts; q++) {
        const int src = owner(r, q);
        if (src != rank && rank != 0)
            continue;
        starhalo_box_t ob = starhalo_decomp_owned_box(r->decomp, q);
        const int64_t w = ob.hi[0] - ob.lo[0], h = ob.hi[1] - ob.lo[1];
        char *dense = malloc((size_t)(w * h) * r->es);
        if (src == rank) {
            raw_part_t *p = &r->parts[q - rank * r->o->parts_per_rank];
            const int64_t gw = p->tile.box.hi[0] - p->tile.box.lo[0];
            for (int64_t y = 0; y < h; y++)
                memcpy(dense + (size_t)(y * w) * r->es,
                       (char *)p->u[cur] + (size_t)((y + ob.lo[1] - p->tile.box.lo[1]) * gw +
                                                    ob.lo[0] - p->tile.box.lo[0]) *
                                               r->es,
                       (size_t)w * r->es);
            if (rank != 0)
                MPI_Send(dense, (int)((size_t)(w * h) * r->es), MPI_BYTE, 0, q, MPI_COMM_WORLD);
        } else {
            MPI_Recv(dense, (int)((size_t)(w * h) * r->es), MPI_BYTE, src, q, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
        }
        if (rank == 0)
            for (int64_t y = 0; y < h; y++)
                memcpy(global + (size_t)((ob.lo[1] + y) * n + ob.lo[0]) * r->es,
                       dense + (size_t)(y * w) * r->es, (size_t)w * r->es);
        free(dense);
    }
    return global;
}

int heat2d_run_raw(const heat2d_opts_t *o, heat2d_result_t *res)
{
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    raw_t r;
    memset(&r, 0, sizeof r);
    r.o = o;
    starhalo_status_t rc = setup(&r, rank);
    int ok = rc == STARHALO_OK, all_ok = 0;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (!all_ok) {
        if (rank == 0)
            fprintf(stderr, "heat2d: error: %s\n",
                    rc != STARHALO_OK ? starhalo_last_error_message() : "setup failed on a rank");
        teardown(&r);
        return 1;
    }
    int cur = 0;
    double t0 = 0.0;
    res->residual = 0.0;
    for (int it = 0; it < o->warmup + o->iterations && rc == STARHALO_OK; it++) {
        if (it == o->warmup) {
            MPI_Barrier(MPI_COMM_WORLD);
            t0 = MPI_Wtime();
        }
        exchange(&r, cur);
        rc = compute(&r, cur);
        cur = 1 - cur;
        const int k = it - o->warmup + 1;
        if (k == o->iterations || (o->residual_every > 0 && k > 0 && k % o->residual_every == 0)) {
            res->residual = residual(&r, cur);
            if (rank == 0 && o->residual_every > 0)
                printf("heat2d: iteration %d residual %.9e\n", k, res->residual);
        }
    }
    MPI_Barrier(MPI_COMM_WORLD);
    res->seconds = MPI_Wtime() - t0;
    int status = rc == STARHALO_OK ? 0 : 1;
    if (rc != STARHALO_OK)
        fprintf(stderr, "heat2d: error: %s\n", starhalo_last_error_message());
    void *global = gather(&r, rank, cur);
    if (rank == 0)
        status |= heat2d_finish(o, global, res);
    free(global);
    teardown(&r);
    return status;
}
