/* SPDX-License-Identifier: MIT */
/**
 * @file main.c
 * @brief heat2d: Jacobi on an N x N grid with Dirichlet boundary values (top edge 1, the
 * other edges 0) over starhalo: --mode task (interior bands overlap the halo exchange), bsp
 * (exchange, wait, compute) or raw (hand-written MPI, no StarPU: the baseline).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <starhalo/starhalo_checkpoint.h>
#include <starhalo/starhalo_starpu.h>

#include "heat2d.h"

static const char usage[] =
    "usage: heat2d [--size N] [--iterations K] [--warmup W] [--parts P] [--parts-per-rank Q]\n"
    "              [--slice-method vertical|horizontal|square] [--mode task|bsp|raw]\n"
    "              [--stencil 5|9] [--dtype float32|float64] [--residual-every k]\n"
    "              [--bands B] [--split-strips] [--window W] [--pgm FILE] [--dump DIR]\n"
    "              [--checkpoint FILE [--checkpoint-every K]] [--restart FILE]\n"
    "  (the run makes warmup + iterations steps in all; --restart continues from the file's\n"
    "   step, so the same options with and without a restart end on the same step)\n";

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || !end || *end || end == s || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Parse on every rank identically; on error fill @p err and return non-zero. */
static int parse(int argc, char **argv, int nranks, heat2d_opts_t *o, char *err, size_t errlen)
{
    static const struct option longopts[] = {{"size", required_argument, 0, 's'},
                                             {"iterations", required_argument, 0, 'i'},
                                             {"warmup", required_argument, 0, 'w'},
                                             {"parts", required_argument, 0, 'p'},
                                             {"parts-per-rank", required_argument, 0, 'q'},
                                             {"slice-method", required_argument, 0, 'm'},
                                             {"mode", required_argument, 0, 'M'},
                                             {"residual-every", required_argument, 0, 'r'},
                                             {"pgm", required_argument, 0, 'g'},
                                             {"dump", required_argument, 0, 'd'},
                                             {"dtype", required_argument, 0, 't'},
                                             {"stencil", required_argument, 0, 'k'},
                                             {"bands", required_argument, 0, 'b'},
                                             {"split-strips", no_argument, 0, 'S'},
                                             {"window", required_argument, 0, 'W'},
                                             {"checkpoint", required_argument, 0, 'C'},
                                             {"checkpoint-every", required_argument, 0, 'E'},
                                             {"restart", required_argument, 0, 'R'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->size = 2048;
    o->iterations = 100;
    o->warmup = 5;
    o->parts_per_rank = 1;
    o->split = STARHALO_SPLIT_HORIZONTAL;
    o->mode = HEAT2D_MODE_TASK;
    o->dtype = STARHALO_FLOAT32;
    o->stencil = STARHALO_STENCIL_5PT;
    opterr = 0;
    optind = 1;
    int c, li = -1;
    long v;
    char name[64];
    while ((li = -1, c = getopt_long(argc, argv, "", longopts, &li)) != -1) {
        /* Name the option as typed: --x for a long option, else the offending word. */
        if (li >= 0)
            snprintf(name, sizeof name, "--%s", longopts[li].name);
        else
            snprintf(name, sizeof name, "%s", optind > 1 ? argv[optind - 1] : "");
        switch (c) {
        case 's':
        case 'i':
        case 'w':
        case 'p':
        case 'q':
        case 'r':
        case 'E':
        case 'b': {
            const long lo = (c == 'w' || c == 'r' || c == 'b') ? 0 : 1;
            if (parse_long(optarg, lo, c == 's' ? 1L << 20 : 1L << 30, &v)) {
                snprintf(err, errlen, "invalid value '%s' for %s (expected an integer >= %ld)",
                         optarg, name, lo);
                return 1;
            }
            if (c == 's')
                o->size = v;
            else if (c == 'i')
                o->iterations = (int)v;
            else if (c == 'w')
                o->warmup = (int)v;
            else if (c == 'p')
                o->parts = (int)v;
            else if (c == 'q')
                o->parts_per_rank = (int)v;
            else if (c == 'r')
                o->residual_every = (int)v;
            else if (c == 'E')
                o->checkpoint_every = (int)v;
            else
                o->bands = (int)v;
            break;
        }
        case 'm':
            if (starhalo_split_parse(optarg, &o->split) != STARHALO_OK ||
                o->split == STARHALO_SPLIT_GRID) {
                snprintf(err, errlen,
                         "unknown slice method '%s' (expected vertical, horizontal or square)",
                         optarg);
                return 1;
            }
            break;
        case 'M': {
            starhalo_step_mode_t m;
            if (!strcmp(optarg, "raw"))
                o->mode = HEAT2D_MODE_RAW;
            else if (starhalo_step_mode_parse(optarg, &m) == STARHALO_OK)
                o->mode = m == STARHALO_STEP_TASK ? HEAT2D_MODE_TASK : HEAT2D_MODE_BSP;
            else {
                snprintf(err, errlen, "unknown mode '%s' (expected task, bsp or raw)", optarg);
                return 1;
            }
            break;
        }
        case 'g':
            o->pgm = optarg;
            break;
        case 'C':
        case 'R':
            if (!*optarg) {
                snprintf(err, errlen, "empty file name for %s", name);
                return 1;
            }
            *(c == 'C' ? &o->checkpoint : &o->restart) = optarg;
            break;
        case 'd':
            o->dump = optarg;
            break;
        case 't':
            if (starhalo_dtype_parse(optarg, &o->dtype) != STARHALO_OK) {
                snprintf(err, errlen, "unknown dtype '%s' (expected float32 or float64)", optarg);
                return 1;
            }
            break;
        case 'k':
            if (starhalo_stencil_kind_parse(optarg, &o->stencil) != STARHALO_OK) {
                snprintf(err, errlen, "unknown stencil '%s' (expected 5 or 9)", optarg);
                return 1;
            }
            break;
        case 'S':
            o->split_strips = 1;
            break;
        case 'W':
            if (parse_long(optarg, -1, 1L << 20, &v)) {
                snprintf(err, errlen, "invalid value '%s' for --window (expected -1 or >= 0)",
                         optarg);
                return 1;
            }
            o->window = (int)v;
            break;
        case 'h':
            snprintf(err, errlen, "help");
            return 2;
        default:
            snprintf(err, errlen, "unknown or incomplete option '%s'", name);
            return 1;
        }
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
        return 1;
    }
    if (o->checkpoint_every && !o->checkpoint) {
        snprintf(err, errlen, "--checkpoint-every needs --checkpoint FILE");
        return 1;
    }
    if ((o->checkpoint || o->restart) && o->mode == HEAT2D_MODE_RAW) {
        snprintf(err, errlen, "--checkpoint and --restart need --mode task or bsp");
        return 1;
    }
    if (o->parts == 0)
        o->parts = nranks * o->parts_per_rank;
    if (o->parts != nranks * o->parts_per_rank) {
        snprintf(err, errlen, "--parts %d is not ranks (%d) x --parts-per-rank (%d) = %d", o->parts,
                 nranks, o->parts_per_rank, nranks * o->parts_per_rank);
        return 1;
    }
    return 0;
}

static const char *mode_name(int mode)
{
    return mode == HEAT2D_MODE_RAW ? "raw" : mode == HEAT2D_MODE_BSP ? "bsp" : "task";
}

/* Print the last error once (rank 0), with the failing call. */
static int fail(int rank, const char *what, starhalo_status_t rc)
{
    if (rank == 0)
        fprintf(stderr, "heat2d: error: %s: %s\n", what,
                *starhalo_last_error_message() ? starhalo_last_error_message()
                                               : starhalo_strerror(rc));
    return 1;
}

/* Fill both fields: owned cells 0, ghosts = boundary values. */
static starhalo_status_t init_field(starhalo_field_t *f, starhalo_dtype_t dtype)
{
    int n = starhalo_field_local_parts(f, NULL);
    int ids[256];
    if (n > 256)
        return starhalo_error_set(STARHALO_ERR_INVALID_ARG, "more than 256 parts per rank");
    starhalo_field_local_parts(f, ids);
    for (int i = 0; i < n; i++) {
        void *ptr = NULL;
        STARHALO_CHECK(starhalo_field_acquire(f, ids[i], 1));
        STARHALO_CHECK(starhalo_field_part_data(f, ids[i], &ptr));
        starhalo_box_t g = starhalo_part_plan_ghosted(starhalo_field_part_plan(f, ids[i]));
        heat2d_fill_tile(dtype, &g, ptr);
        STARHALO_CHECK(starhalo_field_release(f, ids[i]));
    }
    return STARHALO_OK;
}

typedef struct task_run {
    starhalo_context_t *ctx;
    starhalo_decomp_t *decomp;
    starhalo_field_t *f[2];
    starhalo_exchange_t *ex[2];
    starhalo_stencil_t *st[2];
} task_run_t;

static starhalo_status_t task_setup(const heat2d_opts_t *o, task_run_t *t)
{
    starhalo_context_conf_t cc;
    starhalo_context_conf_init(&cc);
    STARHALO_CHECK(starhalo_context_create(&cc, &t->ctx));
    STARHALO_CHECK(heat2d_decomp(o, &t->decomp));
    starhalo_compute_conf_t conf = {
        .bands = o->bands, .split_strips = o->split_strips, .window = o->window};
    for (int b = 0; b < 2; b++) {
        STARHALO_CHECK(starhalo_field_create(t->ctx, t->decomp, NULL, o->dtype, &t->f[b]));
        STARHALO_CHECK(init_field(t->f[b], o->dtype));
        STARHALO_CHECK(
            starhalo_exchange_create(t->ctx, &t->f[b], 1, STARHALO_TRANSPORT_DEFAULT, &t->ex[b]));
    }
    for (int b = 0; b < 2; b++)
        STARHALO_CHECK(starhalo_stencil_create(t->ctx, t->f[b], t->f[1 - b], t->ex[b], o->stencil,
                                               &conf, &t->st[b]));
    return STARHALO_OK;
}

static void task_teardown(task_run_t *t)
{
    for (int b = 0; b < 2; b++)
        starhalo_stencil_destroy(t->st[b]);
    for (int b = 0; b < 2; b++) {
        starhalo_exchange_destroy(t->ex[b]);
        starhalo_field_destroy(t->f[b]);
    }
    starhalo_decomp_destroy(t->decomp);
    starhalo_context_destroy(t->ctx);
}

static int run_task(const heat2d_opts_t *o, int rank, heat2d_result_t *res)
{
    task_run_t t;
    memset(&t, 0, sizeof t);
    starhalo_status_t rc = task_setup(o, &t);
    if (rc != STARHALO_OK) {
        fail(rank, "setup", rc);
        task_teardown(&t);
        return 1;
    }
    if (rank == 0)
        printf("heat2d: workers per rank %d, compute tasks per step on rank 0: %d\n",
               starhalo_context_ncpus(t.ctx), starhalo_stencil_tasks_per_step(t.st[0]));
    const starhalo_step_mode_t mode =
        o->mode == HEAT2D_MODE_BSP ? STARHALO_STEP_BSP : STARHALO_STEP_TASK;
    MPI_Comm comm = starhalo_context_comm(t.ctx);
    int cur = 0;
    double t0 = 0.0;
    res->residual = 0.0;
    /* Steps are counted from the initial field: a restart resumes at the file's step. */
    const int total = o->warmup + o->iterations;
    int start = 0;
    if (o->restart) {
        starhalo_checkpoint_meta_t meta;
        rc = starhalo_field_read(t.f[0], o->restart, &meta);
        if (rc == STARHALO_OK && (meta.step < 0 || meta.step > total))
            rc = starhalo_error_set(STARHALO_ERR_INVALID_ARG,
                                    "'%s' holds step %lld, outside [0, warmup + iterations = %d]",
                                    o->restart, (long long)meta.step, total);
        if (rc == STARHALO_OK) {
            start = (int)meta.step;
            if (rank == 0)
                printf("heat2d: restarting from '%s' at step %d\n", o->restart, start);
        }
    }
    const int first_timed = start > o->warmup ? start : o->warmup;
    t0 = MPI_Wtime();
    for (int it = start; it < total && rc == STARHALO_OK; it++) {
        if (it == first_timed) {
            rc = starhalo_context_wait_all(t.ctx);
            MPI_Barrier(comm);
            t0 = MPI_Wtime();
        }
        if (rc == STARHALO_OK)
            rc = starhalo_stencil_step(t.st[cur], mode);
        cur = 1 - cur;
        const int k = it - o->warmup + 1;
        if (rc == STARHALO_OK && (k == o->iterations ||
                                  (o->residual_every > 0 && k > 0 && k % o->residual_every == 0))) {
            double s = 0.0;
            rc = starhalo_field_sqdiff(t.ctx, t.f[cur], t.f[1 - cur], &s);
            res->residual = sqrt(s);
            if (rank == 0 && o->residual_every > 0)
                printf("heat2d: iteration %d residual %.9e\n", k, res->residual);
        }
        if (rc == STARHALO_OK && o->checkpoint &&
            ((o->checkpoint_every && (it + 1) % o->checkpoint_every == 0) || it + 1 == total)) {
            starhalo_checkpoint_meta_t meta = {.step = it + 1};
            rc = starhalo_field_write(t.f[cur], o->checkpoint, &meta);
            if (rc == STARHALO_OK && rank == 0)
                printf("heat2d: checkpoint step %d -> %s\n", it + 1, o->checkpoint);
        }
    }
    if (rc == STARHALO_OK && o->checkpoint && start == total) { /* nothing left to run */
        starhalo_checkpoint_meta_t meta = {.step = total};
        rc = starhalo_field_write(t.f[cur], o->checkpoint, &meta);
    }
    if (rc == STARHALO_OK)
        rc = starhalo_context_wait_all(t.ctx);
    MPI_Barrier(comm);
    res->seconds = MPI_Wtime() - t0;
    res->timed = total - first_timed;
#ifdef STARHALO_SIMGRID
    /* Simulated: the codelets did not run, so there is no result to gather or check. */
    task_teardown(&t);
    return rc == STARHALO_OK ? 0 : fail(rank, "run", rc);
#endif
    void *global = NULL;
    if (rc == STARHALO_OK && rank == 0) {
        global = malloc((size_t)(o->size * o->size) * starhalo_dtype_size(o->dtype));
        if (!global)
            rc = starhalo_error_set(STARHALO_ERR_NO_MEMORY, "gather buffer");
    }
    if (rc == STARHALO_OK)
        rc = starhalo_field_gather(t.ctx, t.f[cur], 0, global);
    int status = rc == STARHALO_OK ? 0 : fail(rank, "run", rc);
    if (status == 0 && rank == 0)
        status = heat2d_finish(o, global, res);
    free(global);
    task_teardown(&t);
    return status;
}

int main(int argc, char **argv)
{
    int provided = 0, rank = 0, nranks = 1;
    /* MULTIPLE: the residual and the gather call MPI while StarPU-MPI's thread runs. */
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    heat2d_opts_t o;
    char err[512] = "";
    int prc = parse(argc, argv, nranks, &o, err, sizeof err);
    if (prc == 0 && o.mode != HEAT2D_MODE_RAW && provided < MPI_THREAD_MULTIPLE) {
        snprintf(err, sizeof err, "MPI_THREAD_MULTIPLE not available (got %d)", provided);
        prc = 1;
    }
    if (prc == 0) {
        /* Geometry errors (square with a non-square count, too many parts) are the same on
         * every rank: check before any StarPU start-up. */
        starhalo_decomp_t *d = NULL;
        starhalo_status_t rc = heat2d_decomp(&o, &d);
        starhalo_decomp_destroy(d);
        if (rc != STARHALO_OK) {
            snprintf(err, sizeof err, "%s", starhalo_last_error_message());
            prc = 1;
        }
    }
    if (prc != 0) {
        if (rank == 0) {
            if (prc == 2)
                fputs(usage, stdout);
            else
                fprintf(stderr, "heat2d: error: %s\n", err);
        }
        MPI_Finalize();
        return prc == 2 ? 0 : 1;
    }
    if (rank == 0)
        printf("heat2d: mode %s size %lld iterations %d warmup %d ranks %d parts %d (%d per rank) "
               "slice %s stencil %d dtype %s\n",
               mode_name(o.mode), (long long)o.size, o.iterations, o.warmup, nranks, o.parts,
               o.parts_per_rank, starhalo_split_name(o.split), (int)o.stencil,
               o.dtype == STARHALO_FLOAT32 ? "float32" : "float64");
    heat2d_result_t res;
    memset(&res, 0, sizeof res);
    res.timed = o.iterations;
    int status = o.mode == HEAT2D_MODE_RAW ? heat2d_run_raw(&o, &res) : run_task(&o, rank, &res);
    if (status == 0 && rank == 0) {
        printf("heat2d: time per iteration %.3f ms (%d iterations, %.3f s)\n",
               res.timed > 0 ? 1e3 * res.seconds / res.timed : 0.0, res.timed, res.seconds);
        printf("heat2d: residual %.9e checksum %.17g\n", res.residual, res.checksum);
    }
    int all = 0;
    MPI_Allreduce(&status, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return all ? 1 : 0;
}
