/* SPDX-License-Identifier: MIT */
/**
 * @file bench_exchange.c
 * @brief Minimal timing harness (built, not run by ctest): time per forward halo exchange of
 * the runtime (begin + end + wait) against a hand-written MPI Isend/Irecv exchange of the same
 * bytes over the same transfer plans, interleaved in the same run (ABAB..., median).
 *
 * Usage: bench_exchange [--size N] [--halo H] [--channels C] [--parts P]
 *          [--split vertical|horizontal|square] [--iters I] [--reps R] [--bind 0|1]
 *          [--ncpus N] [--sched NAME] [--transport starpu|direct] [--raw-only 1]
 * The in-run raw MPI loop runs with StarPU's workers paused (starpu_pause); paused 1.3 workers
 * still spin, so it is slower than a pure MPI process: --raw-only 1 runs the same raw exchange
 * in a process without StarPU (the fair baseline). One line per run on rank 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "appkit.h"
#include <starhalo/starhalo_kernels.h>

#include <starhalo/starhalo_runtime.h>
#include <starhalo/starhalo_starpu.h>

typedef struct raw_part {
    int part, per_rank; /* contiguous map: rank = part / per_rank */
    starhalo_part_plan_t *pplan;
    starhalo_xfer_plan_t *plan;
    void *tile;
    void **sbuf, **rbuf;
    int64_t plane_size;
} raw_part_t;

typedef struct opts {
    int64_t size;
    int halo, parts, iters, reps, bind, ncpus;
    int64_t channels;
    starhalo_split_t split;
    const char *sched;
    starhalo_transport_t transport;
    int raw_only;
} opts_t;

static int parse(int argc, char **argv, opts_t *o)
{
    *o = (opts_t){
        1024, 3, 2, 200, 5, -1, -1, 1, STARHALO_SPLIT_VERTICAL, NULL, STARHALO_TRANSPORT_DEFAULT,
        0};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--size"))
            o->size = atoll(v);
        else if (!strcmp(k, "--halo"))
            o->halo = atoi(v);
        else if (!strcmp(k, "--channels"))
            o->channels = atoll(v);
        else if (!strcmp(k, "--parts"))
            o->parts = atoi(v);
        else if (!strcmp(k, "--iters"))
            o->iters = atoi(v);
        else if (!strcmp(k, "--reps"))
            o->reps = atoi(v);
        else if (!strcmp(k, "--bind"))
            o->bind = atoi(v);
        else if (!strcmp(k, "--ncpus"))
            o->ncpus = atoi(v);
        else if (!strcmp(k, "--transport") && (!strcmp(v, "starpu") || !strcmp(v, "direct")))
            o->transport = !strcmp(v, "direct") ? STARHALO_TRANSPORT_DIRECT_MPI
                                                : STARHALO_TRANSPORT_STARPU_MPI;
        else if (!strcmp(k, "--raw-only"))
            o->raw_only = atoi(v);
        else if (!strcmp(k, "--sched"))
            o->sched = v;
        else if (!strcmp(k, "--split")) {
            if (starhalo_split_parse(v, &o->split) != STARHALO_OK)
                return 1;
        } else
            return 1;
    }
    return 0;
}

static double median(double *v, int n)
{
    return starhalo_app_median(v, n);
}

/* One raw exchange: post receives, pack + send, wait, unpack (REPLACE). */
static void raw_exchange(raw_part_t *rp, int n, int64_t planes, MPI_Comm comm, MPI_Request *reqs)
{
    int nreq = 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < starhalo_xfer_plan_num_peers(rp[i].plan); k++) {
            const starhalo_peer_xfer_t *x = starhalo_xfer_plan_peer(rp[i].plan, k);
            if (x->recv_count)
                MPI_Irecv(rp[i].rbuf[k], (int)(x->recv_count * planes), MPI_FLOAT,
                          x->peer / rp[i].per_rank, x->peer * 27 + x->recv_tag, comm,
                          &reqs[nreq++]);
        }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < starhalo_xfer_plan_num_peers(rp[i].plan); k++) {
            const starhalo_peer_xfer_t *x = starhalo_xfer_plan_peer(rp[i].plan, k);
            if (!x->send_count)
                continue;
            starhalo_kern_pack_cpu(STARHALO_FLOAT32, rp[i].tile, rp[i].plane_size, planes,
                                   x->send_runs, x->nsend_runs, x->send_count, rp[i].sbuf[k]);
            MPI_Isend(rp[i].sbuf[k], (int)(x->send_count * planes), MPI_FLOAT,
                      x->peer / rp[i].per_rank, rp[i].part * 27 + x->send_tag, comm, &reqs[nreq++]);
        }
    MPI_Waitall(nreq, reqs, MPI_STATUSES_IGNORE);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < starhalo_xfer_plan_num_peers(rp[i].plan); k++) {
            const starhalo_peer_xfer_t *x = starhalo_xfer_plan_peer(rp[i].plan, k);
            if (x->recv_count)
                starhalo_kern_unpack_cpu(STARHALO_FLOAT32, rp[i].rbuf[k], x->recv_count, planes,
                                         x->recv_runs, x->nrecv_runs, rp[i].tile, rp[i].plane_size,
                                         STARHALO_REDUCE_REPLACE);
        }
}

/* The same plans the field uses (contiguous map), built without any StarPU object. */
static int64_t setup_raw(const starhalo_decomp_t *d, int rank, int size, int64_t planes,
                         raw_part_t *rp, int *nlocal)
{
    int64_t max_msg = 0;
    const int per_rank = starhalo_decomp_num_parts(d) / size;
    *nlocal = per_rank;
    for (int i = 0; i < per_rank; i++) {
        rp[i].part = rank * per_rank + i;
        rp[i].per_rank = per_rank;
        if (starhalo_part_plan_create(d, rp[i].part, &rp[i].pplan) != STARHALO_OK ||
            starhalo_part_plan_lower(rp[i].pplan, &rp[i].plan) != STARHALO_OK)
            return -1;
        rp[i].plane_size = starhalo_xfer_plan_plane_size(rp[i].plan);
        rp[i].tile = calloc((size_t)(rp[i].plane_size * planes), sizeof(float));
        const int np = starhalo_xfer_plan_num_peers(rp[i].plan);
        rp[i].sbuf = calloc((size_t)np + 1, sizeof(void *));
        rp[i].rbuf = calloc((size_t)np + 1, sizeof(void *));
        for (int k = 0; k < np; k++) {
            const starhalo_peer_xfer_t *x = starhalo_xfer_plan_peer(rp[i].plan, k);
            rp[i].sbuf[k] = malloc((size_t)(x->send_count * planes + 1) * sizeof(float));
            rp[i].rbuf[k] = malloc((size_t)(x->recv_count * planes + 1) * sizeof(float));
            if (x->send_count * planes * 4 > max_msg)
                max_msg = x->send_count * planes * 4;
        }
    }
    return max_msg;
}

static void make_desc(const opts_t *o, starhalo_decomp_desc_t *desc)
{
    memset(desc, 0, sizeof *desc);
    desc->ndims = 2;
    desc->extent[0] = desc->extent[1] = o->size;
    desc->channels = o->channels;
    desc->split = o->split;
    desc->nparts = o->parts;
    for (int i = 0; i < 4; i++)
        desc->halo[i] = o->halo;
    desc->shape = o->split == STARHALO_SPLIT_SQUARE ? STARHALO_STENCIL_BOX : STARHALO_STENCIL_STAR;
}

/* Mean seconds per call of @p iters calls, max over ranks. */
static double time_loop(MPI_Comm comm, int iters, void (*step)(void *), void *arg)
{
    MPI_Barrier(comm);
    const double t0 = MPI_Wtime();
    for (int it = 0; it < iters; it++)
        step(arg);
    double local = (MPI_Wtime() - t0) / iters, global;
    MPI_Allreduce(&local, &global, 1, MPI_DOUBLE, MPI_MAX, comm);
    return global;
}

typedef struct raw_ctx {
    raw_part_t *rp;
    int n;
    int64_t planes;
    MPI_Comm comm;
    MPI_Request *reqs;
} raw_ctx_t;

static void raw_step(void *arg)
{
    raw_ctx_t *r = arg;
    raw_exchange(r->rp, r->n, r->planes, r->comm, r->reqs);
}

static void starhalo_step(void *arg)
{
    starhalo_exchange_t *ex = arg;
    if (starhalo_exchange_submit(ex) != STARHALO_OK || starhalo_exchange_wait(ex) != STARHALO_OK) {
        fprintf(stderr, "bench_exchange: error: %s\n", starhalo_last_error_message());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
}

static void free_raw(raw_part_t *rp, int n)
{
    for (int i = 0; i < n; i++) {
        for (int k = 0; rp[i].plan && k < starhalo_xfer_plan_num_peers(rp[i].plan); k++) {
            free(rp[i].sbuf[k]);
            free(rp[i].rbuf[k]);
        }
        free(rp[i].sbuf);
        free(rp[i].rbuf);
        free(rp[i].tile);
        starhalo_xfer_plan_destroy(rp[i].plan);
        starhalo_part_plan_destroy(rp[i].pplan);
    }
}

/* --raw-only 1: plain MPI process, no StarPU at all (the fair baseline: no paused workers). */
static int run_raw_only(const opts_t *o)
{
    int provided, rank, size, n = 0;
    MPI_Init_thread(NULL, NULL, MPI_THREAD_SINGLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    starhalo_decomp_desc_t desc;
    make_desc(o, &desc);
    starhalo_decomp_t *d = NULL;
    raw_part_t rp[64];
    memset(rp, 0, sizeof rp);
    if (starhalo_decomp_create(&desc, &d) != STARHALO_OK || o->parts % size ||
        o->parts / size > 64) {
        if (rank == 0)
            fprintf(stderr, "bench_exchange: error: bad decomposition\n");
        MPI_Finalize();
        return 1;
    }
    const int64_t max_msg = setup_raw(d, rank, size, o->channels, rp, &n);
    MPI_Request reqs[64 * 54];
    raw_ctx_t rc = {rp, n, o->channels, MPI_COMM_WORLD, reqs};
    double *tr = malloc(sizeof(double) * (size_t)o->reps);
    time_loop(MPI_COMM_WORLD, o->iters, raw_step, &rc); /* warm-up */
    for (int r = 0; r < o->reps; r++)
        tr[r] = 1e6 * time_loop(MPI_COMM_WORLD, o->iters, raw_step, &rc);
    if (rank == 0)
        printf("size=%lld halo=%d channels=%lld parts=%d ranks=%d split=%s raw_only_us=%.1f "
               "max_msg_bytes=%lld\n",
               (long long)o->size, o->halo, (long long)o->channels, o->parts, size,
               starhalo_split_name(o->split), median(tr, o->reps), (long long)max_msg);
    free(tr);
    free_raw(rp, n);
    starhalo_decomp_destroy(d);
    MPI_Finalize();
    return 0;
}

int main(int argc, char **argv)
{
    opts_t o;
    if (parse(argc, argv, &o)) {
        fprintf(stderr, "bench_exchange: error: bad option (see the file header)\n");
        return 1;
    }
    if (o.raw_only)
        return run_raw_only(&o);
    starhalo_context_conf_t conf;
    starhalo_context_conf_init(&conf);
    conf.bind_workers = o.bind;
    conf.ncpus = o.ncpus;
    conf.sched = o.sched;
    starhalo_context_t *ctx = NULL;
    if (starhalo_context_create(&conf, &ctx) != STARHALO_OK) {
        fprintf(stderr, "bench_exchange: error: %s\n", starhalo_last_error_message());
        return 1;
    }
    const int rank = starhalo_context_rank(ctx), size = starhalo_context_size(ctx);
    starhalo_decomp_desc_t desc;
    make_desc(&o, &desc);
    starhalo_decomp_t *d = NULL;
    starhalo_field_t *f = NULL;
    starhalo_exchange_t *ex = NULL;
    if (o.parts % size || o.parts / size > 64 || starhalo_decomp_create(&desc, &d) != STARHALO_OK ||
        starhalo_field_create(ctx, d, NULL, STARHALO_FLOAT32, &f) != STARHALO_OK ||
        starhalo_exchange_create(ctx, &f, 1, o.transport, &ex) != STARHALO_OK) {
        if (rank == 0)
            fprintf(stderr, "bench_exchange: error: %s\n", starhalo_last_error_message());
        starhalo_context_destroy(ctx);
        return 1;
    }
    raw_part_t rp[64];
    memset(rp, 0, sizeof rp);
    int n = 0;
    const int64_t max_msg = setup_raw(d, rank, size, o.channels, rp, &n);
    MPI_Comm raw_comm;
    MPI_Comm_dup(starhalo_context_comm(ctx), &raw_comm);
    MPI_Request reqs[64 * 54];
    raw_ctx_t rc = {rp, n, o.channels, raw_comm, reqs};
    double *ts = malloc(sizeof(double) * (size_t)o.reps),
           *tr = malloc(sizeof(double) * (size_t)o.reps);
    double *ratio = malloc(sizeof(double) * (size_t)o.reps);
    for (int r = -1; r < o.reps; r++) { /* r = -1 is the warm-up pair */
        const double gs = time_loop(raw_comm, o.iters, starhalo_step, ex);
        starpu_pause(); /* workers stop taking tasks (they may still spin) */
        const double gr = time_loop(raw_comm, o.iters, raw_step, &rc);
        starpu_resume();
        if (r >= 0) {
            ts[r] = gs * 1e6;
            tr[r] = gr * 1e6;
            ratio[r] = gs / gr;
        }
    }
    const double ms = median(ts, o.reps), mr = median(tr, o.reps), mq = median(ratio, o.reps);
    const char *tname = o.transport == STARHALO_TRANSPORT_DIRECT_MPI   ? "direct"
                        : o.transport == STARHALO_TRANSPORT_STARPU_MPI ? "starpu"
                                                                       : "default";
    if (rank == 0)
        printf("size=%lld halo=%d channels=%lld parts=%d ranks=%d split=%s starpu_us=%.1f "
               "raw_us=%.1f ratio=%.2f max_msg_bytes=%lld ncpus=%d transport=%s\n",
               (long long)o.size, o.halo, (long long)o.channels, o.parts, size,
               starhalo_split_name(o.split), ms, mr, mq, (long long)max_msg,
               starhalo_context_ncpus(ctx), tname);
    free_raw(rp, n);
    free(ts);
    free(tr);
    free(ratio);
    MPI_Comm_free(&raw_comm);
    starhalo_exchange_destroy(ex);
    starhalo_field_destroy(f);
    starhalo_decomp_destroy(d);
    starhalo_context_destroy(ctx);
    return 0;
}
