/* SPDX-License-Identifier: MIT */
/**
 * @file transport_bench.c
 * @brief Times the plain-MPI transports (two-sided, persistent, RMA fence, RMA lock) and the
 * StarPU runtime's two transports (StarPU-MPI detached transfers, direct persistent requests
 * driven by the pack / unpack tasks; --starpu 0 leaves StarPU out) on the same two plans: an index
 * plan (every rank requires a random fraction, default 5 %, of the points the other ranks own on a
 * G x G grid distributed in row blocks) and a structured vertical split of the same grid (column
 * halos, packed).
 *
 * Method: each sample is the mean of --iters back-to-back operations after a barrier, timed on
 * every rank and reduced with MAX; transports are interleaved (ABCD ABCD ...) and the median
 * of --repeats samples is reported, so slow phases of a shared machine hit every transport.
 * In the same rounds, memcpy of the same byte count (the larger of a rank's send and receive
 * bytes) is timed, and the index plan build is timed against one update.
 * Every executor is checked once (forward values are the global-index image) before timing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include <starhalo/starhalo_mpi_exchange.h>

#include "appkit.h"
#include "tb.h"

#define APP "transport_bench"

typedef struct options {
    int64_t grid;
    double fraction;
    int halo;
    int repeats;
    int iters;
    int starpu;
    const char *csv;
} options_t;

static void usage(void)
{
    printf("usage: " APP " [--grid G] [--fraction F] [--halo H] [--repeats R] [--iters I]\n"
           "                       [--starpu 0|1] [--csv FILE]\n"
           "  G x G grid (4096), index plan: random fraction F (0.05) of the other ranks'\n"
           "  points; structured plan: vertical split with H-wide column halos (3).\n"
           "  Medians of R (21) interleaved samples of I (20) operations each.\n"
           "  --starpu 1 (default) also times the StarPU transports (starpu-mpi, starpu-direct,\n"
           "  starpu-run = starpu-direct through the blocking starhalo_exchange_run);\n"
           "  the StarPU workers then run during the plain-MPI rows too.\n");
}

static int parse_int(const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (*end || errno || x < lo || x > hi)
        return -1;
    *out = x;
    return 0;
}

static int parse(int argc, char **argv, options_t *o, char *err, size_t errlen)
{
    *o = (options_t){4096, 0.05, 3, 21, 20, 1, NULL};
    for (int i = 1; i < argc; i++) {
        const char *a, *v;
        const int st = starhalo_app_next_option(argc, argv, &i, &a, &v, err, errlen);
        if (st)
            return st;
        long x = 0;
        if (!strcmp(a, "--grid")) {
            if (parse_int(v, 16, 65536, &x)) {
                snprintf(err, errlen, "--grid '%s' must be an integer in [16, 65536]", v);
                return 1;
            }
            o->grid = x;
        } else if (!strcmp(a, "--fraction")) {
            char *end;
            errno = 0;
            o->fraction = strtod(v, &end);
            if (*end || errno || !(o->fraction > 0) || o->fraction > 1) {
                snprintf(err, errlen, "--fraction '%s' must be a number in (0, 1]", v);
                return 1;
            }
        } else if (!strcmp(a, "--halo")) {
            if (parse_int(v, 1, 64, &x)) {
                snprintf(err, errlen, "--halo '%s' must be an integer in [1, 64]", v);
                return 1;
            }
            o->halo = (int)x;
        } else if (!strcmp(a, "--repeats")) {
            if (parse_int(v, 1, 100000, &x)) {
                snprintf(err, errlen, "--repeats '%s' must be an integer in [1, 100000]", v);
                return 1;
            }
            o->repeats = (int)x;
        } else if (!strcmp(a, "--iters")) {
            if (parse_int(v, 1, 1000000, &x)) {
                snprintf(err, errlen, "--iters '%s' must be an integer in [1, 1000000]", v);
                return 1;
            }
            o->iters = (int)x;
        } else if (!strcmp(a, "--starpu")) {
            if (parse_int(v, 0, 1, &x)) {
                snprintf(err, errlen, "--starpu '%s' must be 0 or 1", v);
                return 1;
            }
            o->starpu = (int)x;
        } else if (!strcmp(a, "--csv")) {
            o->csv = v;
        } else {
            snprintf(err, errlen, "unknown option '%s' (see --help)", a);
            return 1;
        }
    }
    return 0;
}

static double median(double *v, int n)
{
    return starhalo_app_median(v, n);
}

/* The slowest rank's time of one call of f(arg), averaged over iters calls. */

static double sample(op_fn f, void *arg, int iters, int *ok)
{
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    for (int i = 0; i < iters; i++)
        *ok &= f(arg) == 0;
    double t = (MPI_Wtime() - t0) / iters, tmax = 0;
    MPI_Allreduce(&t, &tmax, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return tmax;
}

typedef struct exec_arg {
    starhalo_mpi_exchange_t *ex;
    double *array;
} exec_arg_t;

static int do_update(void *a)
{
    exec_arg_t *e = a;
    return starhalo_mpi_exchange_update(e->ex, e->array) == STARHALO_OK ? 0 : -1;
}

static int do_reverse(void *a)
{
    exec_arg_t *e = a;
    return starhalo_mpi_exchange_update_by_halo(e->ex, e->array, STARHALO_REDUCE_SUM) == STARHALO_OK
               ? 0
               : -1;
}

typedef struct copy_arg {
    char *dst, *src;
    size_t bytes;
} copy_arg_t;

static int do_memcpy(void *a)
{
    copy_arg_t *c = a;
    memcpy(c->dst, c->src, c->bytes);
    __asm__ __volatile__("" ::"r"(c->dst) : "memory"); /* keep the copy */
    return 0;
}

/* Hand-written reference for index plans: element gather straight from the provides, receive
 * straight into the contiguous halo segments (no unpack), Irecv / Isend / Waitall. */
typedef struct raw_arg {
    const starhalo_index_plan_t *plan;
    double *array;
    double *sbuf;
    MPI_Request *reqs;
} raw_arg_t;

static int do_raw(void *a)
{
    raw_arg_t *r = a;
    const int P = starhalo_index_plan_num_ranks(r->plan);
    const int64_t ls = starhalo_index_plan_local_size(r->plan);
    const int64_t *hc = starhalo_index_plan_halo_counts(r->plan);
    const int64_t *ho = starhalo_index_plan_halo_offsets(r->plan);
    const int64_t *pc = starhalo_index_plan_provides_counts(r->plan);
    const int64_t *po = starhalo_index_plan_provides_offsets(r->plan);
    const int64_t *prov = starhalo_index_plan_provides(r->plan);
    int n = 0, rc = MPI_SUCCESS;
    for (int q = 0; q < P; q++)
        if (hc[q] > 0)
            rc |= MPI_Irecv(r->array + ls + ho[q], (int)hc[q], MPI_DOUBLE, q, 0, MPI_COMM_WORLD,
                            &r->reqs[n++]);
    for (int q = 0; q < P; q++) {
        if (pc[q] == 0)
            continue;
        for (int64_t i = po[q]; i < po[q + 1]; i++)
            r->sbuf[i] = r->array[prov[i]];
        rc |=
            MPI_Isend(r->sbuf + po[q], (int)pc[q], MPI_DOUBLE, q, 0, MPI_COMM_WORLD, &r->reqs[n++]);
    }
    rc |= MPI_Waitall(n, r->reqs, MPI_STATUSES_IGNORE);
    return rc == MPI_SUCCESS ? 0 : -1;
}

static void mx_destroy(void *a)
{
    exec_arg_t *e = a;
    starhalo_mpi_exchange_destroy(e->ex);
    free(e->array);
}

/* The four plain-MPI rows of @p bp (rows[0..3], in transport enum order). */
static int mpi_rows(const bench_plan_t *bp, int rank, exec_arg_t *args, tb_row_t *rows, int *n)
{
    for (int t = 0; t < STARHALO_MPI_NUM_TRANSPORTS; t++) {
        MPI_Barrier(MPI_COMM_WORLD);
        const double t0 = MPI_Wtime();
        if (starhalo_mpi_exchange_create(MPI_COMM_WORLD, bp->x, NULL, STARHALO_FLOAT64,
                                         (starhalo_mpi_transport_t)t, &args[t].ex) != STARHALO_OK) {
            if (rank == 0)
                fprintf(stderr, APP ": error: %s\n", starhalo_last_error_message());
            return -1;
        }
        tb_row_t *r = &rows[(*n)++];
        r->name = starhalo_mpi_transport_name((starhalo_mpi_transport_t)t);
        r->create_s = MPI_Wtime() - t0;
        r->fwd = do_update;
        r->rev = do_reverse;
        r->arg = &args[t];
        r->destroy = mx_destroy;
        args[t].array = r->array = malloc((size_t)(bp->len + 1) * sizeof(double));
        memcpy(r->array, bp->init, (size_t)bp->len * sizeof(double));
    }
    return 0;
}

#define MAX_ROWS (STARHALO_MPI_NUM_TRANSPORTS + TB_STARPU_ROWS)

static void print_row(FILE *csv, const bench_plan_t *bp, int size, const char *tn, double f,
                      double best_f, double r, double best_r, double mcpy, double create_s)
{
    printf("  %-13s %12.2f %8.2f %12.2f %8.2f %9.2f %11.3f\n", tn, f * 1e6, f / best_f, r * 1e6,
           r / best_r, bp->bytes / f / 1e9, create_s * 1e3);
    if (!csv)
        return;
    fprintf(csv, "%s,%s,update,%d,%lld,%.3f,%.3f,%.3f,%.4f\n", bp->name, tn, size,
            (long long)bp->bytes, f * 1e6, f / best_f, mcpy * 1e6, mcpy / f);
    fprintf(csv, "%s,%s,update_by_halo_sum,%d,%lld,%.3f,%.3f,%.3f,%.4f\n", bp->name, tn, size,
            (long long)bp->bytes, r * 1e6, r / best_r, mcpy * 1e6, mcpy / r);
    fprintf(csv, "%s,%s,executor_create,%d,%lld,%.3f,,,\n", bp->name, tn, size,
            (long long)bp->bytes, create_s * 1e6);
}

/* Time every transport on one plan, interleaved; write rows; return 0 or -1. */
static int run_plan(const options_t *o, starhalo_context_t *ctx, bench_plan_t *bp, FILE *csv,
                    int rank, int size, double build_s)
{
    exec_arg_t args[STARHALO_MPI_NUM_TRANSPORTS];
    tb_row_t rows[MAX_ROWS];
    memset(rows, 0, sizeof rows);
    memset(args, 0, sizeof args);
    int nrows = 0;
    int built = mpi_rows(bp, rank, args, rows, &nrows) == 0;
    if (built && ctx) {
        built = tb_starpu_rows(ctx, bp, rows, &nrows) == 0;
        if (!built && rank == 0)
            fprintf(stderr, APP ": error: StarPU rows of plan %s: %s\n", bp->name,
                    starhalo_last_error_message());
    }
    int ok = built;
    for (int t = 0; t < nrows && built; t++) /* every row checked once before timing */
        ok &= rows[t].fwd(rows[t].arg) == 0 &&
              !memcmp(rows[t].array, bp->expect, (size_t)bp->len * sizeof(double));
    int all_ok = 0;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (!all_ok && built && rank == 0)
        fprintf(stderr, APP ": error: a transport produced wrong halo values on plan %s\n",
                bp->name);

    const size_t cb = (size_t)(bp->bytes > 0 ? bp->bytes : 1);
    copy_arg_t cp = {malloc(cb), malloc(cb), cb};
    memset(cp.src, 1, cb);
    memset(cp.dst, 0, cb);
    const int R = o->repeats;
    double *fw = malloc((size_t)(MAX_ROWS * R) * sizeof *fw);
    double *rv = malloc((size_t)(MAX_ROWS * R) * sizeof *rv);
    double *mc = malloc((size_t)R * sizeof *mc), *rw = malloc((size_t)R * sizeof *rw);
    raw_arg_t raw = {bp->iplan, NULL, NULL, NULL};
    if (bp->iplan) {
        const int P = starhalo_index_plan_num_ranks(bp->iplan);
        raw.array = malloc((size_t)(bp->len + 1) * sizeof(double));
        raw.sbuf = malloc((size_t)(starhalo_index_plan_provides_offsets(bp->iplan)[P] + 1) *
                          sizeof(double));
        raw.reqs = malloc((size_t)(2 * P) * sizeof *raw.reqs);
        memcpy(raw.array, bp->init, (size_t)bp->len * sizeof(double));
        ok &= do_raw(&raw) == 0 && !memcmp(raw.array, bp->expect, (size_t)bp->len * sizeof(double));
    }
    for (int r = 0; r < R && all_ok; r++) {
        for (int t = 0; t < nrows; t++)
            fw[t * R + r] = sample(rows[t].fwd, rows[t].arg, o->iters, &ok);
        for (int t = 0; t < nrows; t++)
            rv[t * R + r] = sample(rows[t].rev, rows[t].arg, o->iters, &ok);
        mc[r] = sample(do_memcpy, &cp, o->iters, &ok);
        if (bp->iplan)
            rw[r] = sample(do_raw, &raw, o->iters, &ok);
    }
    double mf[MAX_ROWS], mr[MAX_ROWS], best_f = 1e30, best_r = 1e30;
    for (int t = 0; t < nrows && all_ok; t++) {
        mf[t] = median(fw + t * R, R);
        mr[t] = median(rv + t * R, R);
        best_f = mf[t] < best_f ? mf[t] : best_f;
        best_r = mr[t] < best_r ? mr[t] : best_r;
    }
    const double mcpy = all_ok ? median(mc, R) : 0;
    const double mraw = all_ok && bp->iplan ? median(rw, R) : 0;
    if (rank == 0 && all_ok) {
        printf("plan %s: %d ranks, %lld bytes per rank and update, memcpy of the same bytes "
               "%.2f us (%.2f GB/s)\n",
               bp->name, size, (long long)bp->bytes, mcpy * 1e6, bp->bytes / mcpy / 1e9);
        printf("  %-13s %12s %8s %12s %8s %9s %11s\n", "transport", "update us", "ratio",
               "reverse us", "ratio", "GB/s", "create ms");
        for (int t = 0; t < nrows; t++)
            print_row(csv, bp, size, rows[t].name, mf[t], best_f, mr[t], best_r, mcpy,
                      rows[t].create_s);
        if (bp->iplan) {
            printf("  %-13s %12.2f %8.2f   (hand-written gather + Irecv/Isend, no unpack)\n",
                   "raw-mpi", mraw * 1e6, mraw / best_f);
            if (csv)
                fprintf(csv, "%s,raw-mpi,update,%d,%lld,%.3f,%.3f,%.3f,%.4f\n", bp->name, size,
                        (long long)bp->bytes, mraw * 1e6, mraw / best_f, mcpy * 1e6, mcpy / mraw);
        }
        printf("  persistent / two-sided: update %.3f, reverse %.3f\n",
               mf[STARHALO_MPI_PERSISTENT] / mf[STARHALO_MPI_TWO_SIDED],
               mr[STARHALO_MPI_PERSISTENT] / mr[STARHALO_MPI_TWO_SIDED]);
        if (nrows == MAX_ROWS) {
            const int sm = STARHALO_MPI_NUM_TRANSPORTS, sd = sm + 1, sr = sm + 2;
            printf("  starpu-direct / starpu-mpi: update %.3f, reverse %.3f\n", mf[sd] / mf[sm],
                   mr[sd] / mr[sm]);
            printf("  starpu-run / two-sided: update %.3f, reverse %.3f\n",
                   mf[sr] / mf[STARHALO_MPI_TWO_SIDED], mr[sr] / mr[STARHALO_MPI_TWO_SIDED]);
        }
        if (build_s > 0) {
            printf("  plan build %.3f ms = %.2f x one two-sided update (%.2f x the best)\n",
                   build_s * 1e3, build_s / mf[STARHALO_MPI_TWO_SIDED], build_s / best_f);
            if (csv)
                fprintf(csv, "%s,,plan_build,%d,%lld,%.3f,%.3f,,\n", bp->name, size,
                        (long long)bp->bytes, build_s * 1e6, build_s / mf[STARHALO_MPI_TWO_SIDED]);
        }
        if (csv)
            fprintf(csv, "%s,,memcpy,%d,%lld,%.3f,,,\n", bp->name, size, (long long)bp->bytes,
                    mcpy * 1e6);
    }
    for (int t = 0; t < nrows; t++)
        rows[t].destroy(rows[t].arg);
    for (int t = nrows; t < STARHALO_MPI_NUM_TRANSPORTS; t++) /* a failed create */
        starhalo_mpi_exchange_destroy(args[t].ex);
    free(cp.dst);
    free(cp.src);
    free(fw);
    free(rv);
    free(mc);
    free(rw);
    free(raw.array);
    free(raw.sbuf);
    free(raw.reqs);
    return all_ok ? 0 : -1;
}

static int64_t max_bytes(const starhalo_xfer_plan_t *x)
{
    int64_t s = 0, r = 0;
    for (int i = 0; i < starhalo_xfer_plan_num_peers(x); i++) {
        s += starhalo_xfer_plan_peer(x, i)->send_count;
        r += starhalo_xfer_plan_peer(x, i)->recv_count;
    }
    int64_t b = (s > r ? s : r) * starhalo_xfer_plan_planes(x) * (int64_t)sizeof(double), all;
    MPI_Allreduce(&b, &all, 1, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD);
    return all;
}

/* Index plan: block rows of the grid; each rank requires a random fraction of the others'
 * points. Returns the plan build time (median of 3 builds) or -1. */
static double make_index_plan(const options_t *o, int rank, int size, bench_plan_t *bp)
{
    const int64_t n = o->grid * o->grid;
    starhalo_distribution_t *d;
    if (starhalo_distribution_create_block(n, size, &d) != STARHALO_OK)
        return -1;
    const int64_t ls = starhalo_distribution_local_size(d, rank);
    const int64_t want = (int64_t)(o->fraction * (double)(n - ls));
    int64_t *req = malloc((size_t)(want + 1) * sizeof *req), k = 0;
    uint64_t s = 0x2545F4914F6CDD1DULL + (uint64_t)rank * 7919;
    while (k < want) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        const int64_t g = (int64_t)(s % (uint64_t)n);
        if (starhalo_distribution_owner(d, g) != rank)
            req[k++] = g;
    }
    starhalo_index_plan_t *p = NULL;
    double t[3];
    for (int i = 0; i < 3; i++) {
        starhalo_index_plan_destroy(p);
        p = NULL;
        MPI_Barrier(MPI_COMM_WORLD);
        const double t0 = MPI_Wtime();
        if (starhalo_index_plan_create_mpi(MPI_COMM_WORLD, d, req, want, &p) != STARHALO_OK) {
            free(req);
            return -1;
        }
        double dt = MPI_Wtime() - t0;
        MPI_Allreduce(&dt, &t[i], 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    }
    free(req);
    if (starhalo_index_plan_lower(p, 1, &bp->x) != STARHALO_OK)
        return -1;
    const int64_t hs = starhalo_index_plan_halo_size(p);
    bp->len = ls + hs;
    bp->init = malloc((size_t)(bp->len + 1) * sizeof(double));
    bp->expect = malloc((size_t)(bp->len + 1) * sizeof(double));
    for (int64_t l = 0; l < ls; l++)
        bp->init[l] = bp->expect[l] = 2.0 * starhalo_distribution_local_to_global(d, rank, l) + 1;
    for (int64_t h = 0; h < hs; h++) {
        bp->init[ls + h] = -1;
        bp->expect[ls + h] = 2.0 * starhalo_index_plan_halo_to_global(p, h) + 1;
    }
    bp->bytes = max_bytes(bp->x);
    bp->iplan = p; /* kept (with its distribution) for the raw reference */
    bp->dist = d;
    return median(t, 3);
}

/* Structured plan: vertical strips with H-wide column halos (non-periodic, STAR). */
static int make_structured_plan(const options_t *o, int rank, int size, bench_plan_t *bp)
{
    starhalo_decomp_desc_t desc;
    memset(&desc, 0, sizeof desc);
    desc.ndims = 2;
    desc.extent[0] = desc.extent[1] = o->grid;
    desc.split = STARHALO_SPLIT_VERTICAL;
    desc.nparts = size;
    desc.halo[0] = desc.halo[1] = o->halo;
    desc.shape = STARHALO_STENCIL_STAR;
    starhalo_decomp_t *dc = NULL;
    starhalo_part_plan_t *pp = NULL;
    if (starhalo_decomp_create(&desc, &dc) != STARHALO_OK ||
        starhalo_part_plan_create(dc, rank, &pp) != STARHALO_OK ||
        starhalo_part_plan_lower(pp, &bp->x) != STARHALO_OK) {
        starhalo_part_plan_destroy(pp);
        starhalo_decomp_destroy(dc);
        return -1;
    }
    const starhalo_box_t gb = starhalo_part_plan_ghosted(pp), ob = starhalo_part_plan_owned(pp);
    const int64_t gw = gb.hi[0] - gb.lo[0], gh = gb.hi[1] - gb.lo[1];
    bp->len = gw * gh;
    bp->init = malloc((size_t)bp->len * sizeof(double));
    bp->expect = malloc((size_t)bp->len * sizeof(double));
    for (int64_t y = gb.lo[1]; y < gb.hi[1]; y++)
        for (int64_t x = gb.lo[0]; x < gb.hi[0]; x++) {
            const int64_t i = (y - gb.lo[1]) * gw + (x - gb.lo[0]);
            const int inside = x >= 0 && x < o->grid && y >= 0 && y < o->grid;
            const int owned = x >= ob.lo[0] && x < ob.hi[0] && y >= ob.lo[1] && y < ob.hi[1];
            bp->init[i] = owned ? (double)(y * o->grid + x) : -1;
            bp->expect[i] = inside ? (double)(y * o->grid + x) : -1;
        }
    bp->bytes = max_bytes(bp->x);
    starhalo_part_plan_destroy(pp);
    bp->decomp = dc; /* kept for the StarPU field */
    return 0;
}

/* The StarPU context for the StarPU rows, with the launch defaults of docs/LAUNCH.md. */
static starhalo_context_t *make_context(int rank)
{
    starhalo_context_conf_t conf;
    starhalo_context_conf_init(&conf);
    starhalo_context_t *ctx = NULL;
    const starhalo_status_t st = starhalo_context_create(&conf, &ctx);
    if (st != STARHALO_OK && rank == 0)
        fprintf(stderr, APP ": error: starting StarPU: %s\n", starhalo_last_error_message());
    return ctx;
}

int main(int argc, char **argv)
{
    /* Options first (no MPI needed). MULTIPLE only with StarPU: the direct StarPU transport
     * calls MPI from worker threads; the plain rows alone keep the cheaper default level. */
    options_t o;
    char err[512] = "";
    const int pr = parse(argc, argv, &o, err, sizeof err);
    int provided;
    MPI_Init_thread(&argc, &argv, pr == 0 && o.starpu ? MPI_THREAD_MULTIPLE : MPI_THREAD_SINGLE,
                    &provided);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (pr == 2 && rank == 0)
        usage();
    if (pr == 1 && rank == 0)
        fprintf(stderr, APP ": error: %s\n", err);
    if (pr != 0) {
        MPI_Finalize();
        return pr == 2 ? 0 : 1;
    }
    if (o.grid < 2 * size) {
        if (rank == 0)
            fprintf(stderr, APP ": error: --grid %lld is too small for %d ranks\n",
                    (long long)o.grid, size);
        MPI_Finalize();
        return 1;
    }
    int csv_ok = 1;
    FILE *csv = NULL;
    if (rank == 0 && o.csv) {
        csv = fopen(o.csv, "w");
        csv_ok = csv != NULL;
        if (csv_ok)
            fprintf(csv, "plan,transport,op,ranks,bytes_per_rank,median_us,ratio_to_best,"
                         "memcpy_us,memcpy_over_op\n");
        else
            fprintf(stderr, APP ": error: cannot write '%s': %s\n", o.csv, strerror(errno));
    }
    MPI_Bcast(&csv_ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!csv_ok) {
        MPI_Finalize();
        return 1;
    }
    bench_plan_t ip = {.name = "index"}, sp = {.name = "vertical"};
    const double build = make_index_plan(&o, rank, size, &ip);
    const int sok = make_structured_plan(&o, rank, size, &sp);
    int ok = build >= 0 && sok == 0, all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (!all) {
        if (rank == 0)
            fprintf(stderr, APP ": error: building the plans failed: %s\n",
                    starhalo_last_error_message());
        MPI_Finalize();
        return 1;
    }
    if (rank == 0)
        printf(APP ": grid %lld^2, %d ranks, index fraction %.3f, column halo %d, %d repeats "
                   "x %d ops\n",
               (long long)o.grid, size, o.fraction, o.halo, o.repeats, o.iters);
    starhalo_context_t *ctx = o.starpu ? make_context(rank) : NULL;
    int have = !o.starpu || ctx, all_have = 0;
    MPI_Allreduce(&have, &all_have, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    int rc = 1;
    if (all_have) {
        if (rank == 0 && ctx)
            printf("  StarPU rows: %d CPU worker(s) per rank, transports starpu-mpi, "
                   "starpu-direct and starpu-run\n",
                   starhalo_context_ncpus(ctx));
        rc = run_plan(&o, ctx, &ip, csv, rank, size, build);
        rc |= run_plan(&o, ctx, &sp, csv, rank, size, 0);
    }
    starhalo_context_destroy(ctx);
    if (csv)
        fclose(csv);
    bench_plan_t *plans[2] = {&ip, &sp};
    for (int i = 0; i < 2; i++) {
        starhalo_xfer_plan_destroy(plans[i]->x);
        starhalo_index_plan_destroy(plans[i]->iplan);
        starhalo_distribution_destroy(plans[i]->dist);
        starhalo_decomp_destroy(plans[i]->decomp);
        free(plans[i]->init);
        free(plans[i]->expect);
    }
    MPI_Finalize();
    return rc ? 1 : 0;
}
