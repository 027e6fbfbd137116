/* SPDX-License-Identifier: MIT */
/**
 * @file rt_compute_collect.c
 * @brief Collective helpers around the task graph: the residual reduction (one task per part,
 * then MPI_Allreduce) and the gather of a field's owned cells to one rank.
 */
#include <stdlib.h>
#include <string.h>

#include <starhalo/starhalo_starpu.h>

#include "mpi_status.h"
#include "rt_compute_internal.h"

/* The main thread calls MPI while StarPU-MPI's progress thread does too. */
static starhalo_status_t require_multiple(const char *what)
{
    int level = MPI_THREAD_SINGLE;
    MPI_Query_thread(&level);
    STARHALO_REQUIRE(level == MPI_THREAD_MULTIPLE, STARHALO_ERR_UNSUPPORTED,
                     "%s calls MPI next to StarPU-MPI's thread: initialise MPI with "
                     "MPI_THREAD_MULTIPLE before starhalo_context_create (got level %d)",
                     what, level);
    return STARHALO_OK;
}

static starhalo_status_t local_sqdiff(starhalo_field_t *a, starhalo_field_t *b, double *sum)
{
    int n = 0, *ids = NULL;
    starhalo_status_t rc = starhalo__compute_local_parts(a, &ids, &n);
    double *part_sum = calloc((size_t)n + 1, sizeof *part_sum);
    starhalo__sqdiff_args_t *args = calloc((size_t)n + 1, sizeof *args);
    starpu_data_handle_t *h = calloc((size_t)n + 1, sizeof *h);
    int status = 0;
    if (rc == STARHALO_OK && (!part_sum || !args || !h))
        rc = starhalo_error_set(STARHALO_ERR_NO_MEMORY, "sqdiff");
    int nreg = 0;
    for (int i = 0; i < n && rc == STARHALO_OK; i++, nreg++) {
        starpu_data_handle_t ta, tb;
        rc = starhalo_field_part_handle(a, ids[i], &ta);
        if (rc == STARHALO_OK)
            rc = starhalo_field_part_handle(b, ids[i], &tb);
        if (rc != STARHALO_OK)
            break;
        args[i].dtype = starhalo_field_dtype(a);
        args[i].tile = starhalo__compute_tile(a, ids[i]);
        args[i].region = starhalo_part_plan_owned(starhalo_field_part_plan(a, ids[i]));
        args[i].status = &status;
        starpu_variable_data_register(&h[i], STARPU_MAIN_RAM, (uintptr_t)&part_sum[i],
                                      sizeof(double));
        int src = starpu_task_insert(&starhalo_cl_sqdiff, STARPU_R, ta, STARPU_R, tb, STARPU_W,
                                     h[i], STARPU_CL_ARGS_NFREE, &args[i], sizeof args[i], 0);
        if (src != 0)
            rc = starhalo_error_set(STARHALO_ERR_STARPU, "sqdiff task: StarPU returned %d", src);
    }
    /* Unregistering waits for the task and brings the value home. */
    for (int i = 0; i < nreg; i++)
        starpu_data_unregister(h[i]);
    if (rc == STARHALO_OK && status != 0)
        rc = starhalo_error_set((starhalo_status_t)status, "sqdiff task failed");
    *sum = 0.0;
    for (int i = 0; i < n && rc == STARHALO_OK; i++)
        *sum += part_sum[i]; /* part order: reproducible for a given decomposition */
    free(ids);
    free(part_sum);
    free(args);
    free(h);
    return rc;
}

starhalo_status_t starhalo_field_sqdiff(starhalo_context_t *ctx, starhalo_field_t *a,
                                        starhalo_field_t *b, double *sum)
{
    STARHALO_REQUIRE(ctx && a && b && sum, STARHALO_ERR_INVALID_ARG, "sqdiff: NULL argument");
    STARHALO_CHECK(starhalo__compute_require_structured(a, "sqdiff", "first"));
    STARHALO_CHECK(starhalo__compute_require_structured(b, "sqdiff", "second"));
    /* b's tiles are read with a's geometry */
    STARHALO_CHECK(starhalo_field_match(a, b, STARHALO_MATCH_DTYPE | STARHALO_MATCH_TILES,
                                        "sqdiff: second field against first"));
    STARHALO_CHECK(require_multiple("starhalo_field_sqdiff"));
    double local = 0.0;
    MPI_Comm comm = starhalo_context_comm(ctx);
    STARHALO_CHECK(starhalo__mpi_agree(comm, local_sqdiff(a, b, &local)));
    if (MPI_Allreduce(&local, sum, 1, MPI_DOUBLE, MPI_SUM, comm) != MPI_SUCCESS)
        return starhalo_error_set(STARHALO_ERR_MPI, "sqdiff: MPI_Allreduce failed");
    return STARHALO_OK;
}

/* Copy the owned box of every plane between a ghosted tile and a dense owned buffer. */
static void copy_owned(const starhalo_kern_tile_t *t, const starhalo_box_t *o, size_t es,
                       char *tile, char *dense, int to_dense)
{
    const int64_t gw = t->box.hi[0] - t->box.lo[0], gh = t->box.hi[1] - t->box.lo[1];
    const int64_t w = o->hi[0] - o->lo[0], h = o->hi[1] - o->lo[1];
    for (int64_t p = 0; p < t->batch * t->channels; p++)
        for (int64_t y = 0; y < h; y++) {
            char *tr = tile + (size_t)(((p * gh + y + o->lo[1] - t->box.lo[1]) * gw) + o->lo[0] -
                                       t->box.lo[0]) *
                                  es;
            char *dr = dense + (size_t)((p * h + y) * w) * es;
            if (to_dense)
                memcpy(dr, tr, (size_t)w * es);
            else
                memcpy(tr, dr, (size_t)w * es);
        }
}

/* Place a dense owned block into the global planes on the root. */
static void place(const starhalo_decomp_desc_t *d, const starhalo_box_t *o, int64_t planes,
                  size_t es, const char *dense, char *global)
{
    const int64_t W = d->extent[0], H = d->extent[1];
    const int64_t w = o->hi[0] - o->lo[0], h = o->hi[1] - o->lo[1];
    for (int64_t p = 0; p < planes; p++)
        for (int64_t y = 0; y < h; y++)
            memcpy(global + (size_t)((p * H + o->lo[1] + y) * W + o->lo[0]) * es,
                   dense + (size_t)((p * h + y) * w) * es, (size_t)w * es);
}

static starhalo_status_t pull_part(starhalo_field_t *f, int part, char *dense)
{
    void *ptr = NULL;
    STARHALO_CHECK(starhalo_field_acquire(f, part, 0));
    starhalo_status_t rc = starhalo_field_part_data(f, part, &ptr);
    if (rc == STARHALO_OK) {
        starhalo_kern_tile_t t = starhalo__compute_tile(f, part);
        starhalo_box_t o = starhalo_part_plan_owned(starhalo_field_part_plan(f, part));
        copy_owned(&t, &o, starhalo_dtype_size(starhalo_field_dtype(f)), ptr, dense, 1);
    }
    starhalo_status_t rr = starhalo_field_release(f, part);
    return rc != STARHALO_OK ? rc : rr;
}

starhalo_status_t starhalo_field_gather(starhalo_context_t *ctx, starhalo_field_t *field, int root,
                                        void *global)
{
    STARHALO_REQUIRE(ctx && field, STARHALO_ERR_INVALID_ARG, "gather: NULL argument");
    STARHALO_CHECK(starhalo__compute_require_structured(field, "gather", "given"));
    STARHALO_CHECK(require_multiple("starhalo_field_gather"));
    MPI_Comm comm = starhalo_context_comm(ctx);
    const int me = starhalo_context_rank(ctx);
    STARHALO_REQUIRE(root >= 0 && root < starhalo_context_size(ctx), STARHALO_ERR_INVALID_ARG,
                     "gather: root %d outside [0, %d)", root, starhalo_context_size(ctx));
    STARHALO_REQUIRE(me != root || global, STARHALO_ERR_INVALID_ARG,
                     "gather: NULL output on the root");
    const starhalo_decomp_t *dc = starhalo_field_decomp(field);
    const starhalo_decomp_desc_t *d = starhalo_decomp_desc(dc);
    const int64_t planes = (d->batch > 0 ? d->batch : 1) * (d->channels > 0 ? d->channels : 1);
    const size_t es = starhalo_dtype_size(starhalo_field_dtype(field));
    const int np = starhalo_decomp_num_parts(dc);
    int64_t maxv = 1;
    for (int p = 0; p < np; p++) {
        starhalo_box_t o = starhalo_decomp_owned_box(dc, p);
        int64_t v = starhalo_box_volume(&o);
        maxv = v > maxv ? v : maxv;
    }
    char *dense = malloc((size_t)(maxv * planes) * es);
    starhalo_status_t rc =
        dense ? STARHALO_OK : starhalo_error_set(STARHALO_ERR_NO_MEMORY, "gather buffer");
    /* Parts in index order: every sender and the root walk the same order, so blocking
     * point-to-point messages cannot deadlock. A failure still sends (garbage), so ranks stay
     * in step; the status is agreed at the end. */
    for (int p = 0; p < np; p++) {
        const int owner = starhalo_field_part_rank(field, p);
        if (owner != me && me != root)
            continue;
        starhalo_box_t o = starhalo_decomp_owned_box(dc, p);
        const int count = (int)(starhalo_box_volume(&o) * planes * (int64_t)es);
        if (owner == me && dense) {
            starhalo_status_t prc = pull_part(field, p, dense);
            rc = rc != STARHALO_OK ? rc : prc;
        }
        if (owner == me && me != root) {
            if (MPI_Send(dense, dense ? count : 0, MPI_BYTE, root, p, comm) != MPI_SUCCESS)
                rc = starhalo_error_set(STARHALO_ERR_MPI, "gather: MPI_Send of part %d", p);
        } else if (owner != me) {
            if (MPI_Recv(dense, dense ? count : 0, MPI_BYTE, owner, p, comm, MPI_STATUS_IGNORE) !=
                MPI_SUCCESS)
                rc = starhalo_error_set(STARHALO_ERR_MPI, "gather: MPI_Recv of part %d", p);
        }
        if (me == root && dense && rc == STARHALO_OK)
            place(d, &o, planes, es, dense, global);
    }
    free(dense);
    return starhalo__mpi_agree(comm, rc);
}
