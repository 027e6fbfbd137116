/* SPDX-License-Identifier: MIT */
/**
 * @file halo_bench.c
 * @brief halo_bench main: MPI4DL's halo-exchange benchmark on starhalo. Options are checked
 * identically on every rank before any communication; then tiles are filled with the
 * global-index oracle, exchanged (warm-ups, then timed iterations), checked, and optionally
 * dumped and appended to a CSV file.
 */
#include "halo_bench.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A failure after the options were accepted (library, memory, I/O on one rank): say which
 * rank and what, then take the whole job down rather than leave peers in a collective. */
static void die(int rank, starhalo_status_t st, const char *what)
{
    const char *detail = starhalo_last_error_message();
    fprintf(stderr, "%s: error: rank %d: %s: %s%s%s\n", HB_NAME, rank, what, starhalo_strerror(st),
            detail && detail[0] ? ": " : "", detail ? detail : "");
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

/* Bad input: every rank reaches the same verdict without communicating; rank 0 says why. */
static int reject(int rank, const char *msg)
{
    if (rank == 0) {
        fprintf(stderr, "%s: error: %s\n", HB_NAME, msg);
        fflush(stderr);
    }
    MPI_Finalize();
    return 1;
}

/* Run @p fn on every local part's tile between acquire and release; stops at the first
 * non-zero return. */
typedef int (*tile_fn_t)(const hb_options_t *o, const hb_tile_geom_t *g, int part, void *tile,
                         void *arg);

static int for_each_tile(const hb_options_t *o, const hb_transport_ops_t *ops, hb_transport_t *t,
                         const starhalo_decomp_t *decomp, int rank, int write, tile_fn_t fn,
                         void *arg)
{
    for (int64_t i = 0; i < o->parts_per_rank; i++) {
        const int part = hb_first_part(o, rank) + (int)i;
        hb_tile_geom_t g;
        hb_tile_geom(o, decomp, part, &g);
        void *tile = NULL;
        starhalo_status_t st = ops->acquire(t, part, write, &tile);
        if (st != STARHALO_OK)
            die(rank, st, "cannot access a tile");
        const int rc = fn(o, &g, part, tile, arg);
        st = ops->release(t, part);
        if (st != STARHALO_OK)
            die(rank, st, "cannot release a tile");
        if (rc)
            return rc;
    }
    return 0;
}

static int fill_tile(const hb_options_t *o, const hb_tile_geom_t *g, int part, void *tile,
                     void *arg)
{
    hb_tile_fill(o, g, *(const uint64_t *)arg, tile);
    return 0;
}

typedef struct check_arg {
    uint64_t gen;
    int full;
    int64_t bad;
    char what[512];
} check_arg_t;

static int check_tile(const hb_options_t *o, const hb_tile_geom_t *g, int part, void *tile,
                      void *arg)
{
    check_arg_t *c = arg;
    char first[256];
    const int64_t n = hb_tile_check(o, g, c->gen, c->full, tile, first, sizeof first);
    if (n && !c->what[0])
        snprintf(c->what, sizeof c->what, "part %d: %s", part, first);
    c->bad += n;
    return 0;
}

static int dump_tile(const hb_options_t *o, const hb_tile_geom_t *g, int part, void *tile,
                     void *arg)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/part_%d.npy", o->dump, part);
    return hb_npy_write(path, o->dtype, o->batch, o->in_channels, g->gh, g->gw, tile, arg,
                        HB_ERRLEN);
}

static starhalo_status_t iteration(const hb_transport_ops_t *ops, hb_transport_t *t,
                                   hb_compute_t *comp)
{
    return comp ? hb_compute_iteration(comp) : ops->exchange(t);
}

/* The ghost cells after the timed loop; with --validate also a fresh generation of values
 * through one more exchange (stale data cannot pass), checking every cell. Prints the
 * verdict; returns 1 on failure. */
static int exchange_check(const hb_options_t *o, const hb_transport_ops_t *ops, hb_transport_t *t,
                          const starhalo_decomp_t *decomp, int rank)
{
#ifdef STARHALO_SIMGRID
    /* Simulated: the codelets did not run, the tiles hold no values to check. */
    printf("Validation skipped Rank:%d (simulated)\n", rank);
    return 0;
#endif
    check_arg_t check = {.gen = 0, .full = 0};
    for_each_tile(o, ops, t, decomp, rank, 0, check_tile, &check);
    if (check.bad == 0 && o->validate) {
        uint64_t gen = 1;
        for_each_tile(o, ops, t, decomp, rank, 1, fill_tile, &gen);
        starhalo_status_t st = ops->exchange(t);
        if (st != STARHALO_OK)
            die(rank, st, "validation exchange failed");
        check = (check_arg_t){.gen = 1, .full = 1};
        for_each_tile(o, ops, t, decomp, rank, 0, check_tile, &check);
    }
    if (check.bad == 0)
        printf("Validation passed Rank:%d\n", rank);
    else
        printf("Validation failed Rank:%d: %lld wrong cells, first at %s\n", rank,
               (long long)check.bad, check.what);
    return check.bad != 0;
}

/* Rank 0 writes the seeded input, the weights and the gathered output as .npy. */
static int dump_compute(const hb_options_t *o, const float *output, char *err)
{
    const int64_t n = o->image_size, k = 2 * o->halo + 1;
    float *img = malloc(sizeof(float) * (size_t)(o->batch * o->in_channels * n * n));
    float *w = malloc(sizeof(float) * (size_t)(o->out_channels * o->in_channels * k * k));
    char path[4096];
    int rc = -1;
    if (!img || !w) {
        snprintf(err, HB_ERRLEN, "--dump: out of memory");
        goto out;
    }
    hb_conv_input_image(o, img);
    hb_conv_weights(o, w);
    snprintf(path, sizeof path, "%s/input.npy", o->dump);
    if (hb_npy_write(path, STARHALO_FLOAT32, o->batch, o->in_channels, n, n, img, err, HB_ERRLEN))
        goto out;
    snprintf(path, sizeof path, "%s/weights.npy", o->dump);
    if (hb_npy_write(path, STARHALO_FLOAT32, o->out_channels, o->in_channels, k, k, w, err,
                     HB_ERRLEN))
        goto out;
    snprintf(path, sizeof path, "%s/output.npy", o->dump);
    rc = hb_npy_write(path, STARHALO_FLOAT32, o->batch, o->out_channels, n, n, output, err,
                      HB_ERRLEN);
out:
    free(img);
    free(w);
    return rc;
}

/* --with-compute: gather the output on rank 0 and compare it with the single-rank conv of
 * the whole image (--validate), dump it (--dump). Every rank prints the verdict. Returns 1
 * on failure. */
static int compute_check(const hb_options_t *o, hb_compute_t *comp, int rank)
{
#ifdef STARHALO_SIMGRID
    printf("Validation skipped Rank:%d (simulated)\n", rank);
    return 0;
#endif
    if (!o->validate && !o->dump) {
        printf("Validation skipped Rank:%d (--with-compute checks the output with --validate)\n",
               rank);
        return 0;
    }
    const int64_t count = o->batch * o->out_channels * o->image_size * o->image_size;
    float *global = NULL, *ref = NULL;
    if (rank == 0 && !(global = malloc(sizeof(float) * (size_t)count)))
        die(rank, starhalo_error_set(STARHALO_ERR_NO_MEMORY, "gathered output"), "out of memory");
    starhalo_status_t st = hb_compute_gather(comp, global);
    if (st != STARHALO_OK)
        die(rank, st, "cannot gather the conv output");
    double err_rel = 0.0;
    int fail = 0;
    char err[HB_ERRLEN];
    if (rank == 0 && o->validate) {
        if (!(ref = malloc(sizeof(float) * (size_t)count)))
            die(rank, starhalo_error_set(STARHALO_ERR_NO_MEMORY, "reference output"),
                "out of memory");
        if ((st = hb_compute_reference(o, ref)) != STARHALO_OK)
            die(rank, st, "single-rank reference conv failed");
        err_rel = hb_rel_error(global, ref, count);
        fail = !(err_rel <= 1e-5);
        printf("Validation: conv output vs single-rank conv: relative error %.3e (max |diff| / "
               "max |ref|, limit 1e-5)\n",
               err_rel);
    }
    if (rank == 0 && o->dump && dump_compute(o, global, err)) {
        fprintf(stderr, "%s: error: rank 0: %s\n", HB_NAME, err);
        fail = 1;
    }
    free(global);
    free(ref);
    double verdict[2] = {(double)fail, err_rel};
    MPI_Bcast(verdict, 2, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    if (verdict[0] == 0.0)
        printf("Validation passed Rank:%d\n", rank);
    else
        printf("Validation failed Rank:%d: conv output relative error %.3e\n", rank, verdict[1]);
    return verdict[0] != 0.0;
}

int main(int argc, char **argv)
{
    int provided = 0, rank = 0, nranks = 1;
    /* StarPU-MPI's progress thread calls MPI while this thread times and reduces. */
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    setvbuf(stdout, NULL, _IOLBF, 0);

    hb_options_t o;
    char err[HB_ERRLEN];
    if (hb_options_parse(argc, argv, &o, err, sizeof err))
        return reject(rank, err);
    if (o.help) {
        if (rank == 0)
            hb_options_usage();
        MPI_Finalize();
        return 0;
    }
    starhalo_decomp_t *decomp = NULL;
    if (hb_decomp_build(&o, nranks, &decomp, err, sizeof err))
        return reject(rank, err);
    if (o.transport == HB_TRANSPORT_STARPU && provided < MPI_THREAD_SERIALIZED) {
        starhalo_decomp_destroy(decomp);
        return reject(rank, "--transport starpu needs an MPI library with MPI_THREAD_SERIALIZED");
    }

    /* From here on the input is valid on every rank; failures are local and reduced. */
    int local_fail = 0;
    if (o.dump && mkdir(o.dump, 0777) != 0 && errno != EEXIST) {
        snprintf(err, sizeof err, "cannot create --dump directory '%s': %s", o.dump,
                 strerror(errno));
        local_fail = 1;
    }
    int any_fail = 0;
    MPI_Allreduce(&local_fail, &any_fail, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (any_fail) {
        if (local_fail)
            fprintf(stderr, "%s: error: rank %d: %s\n", HB_NAME, rank, err);
        starhalo_decomp_destroy(decomp);
        MPI_Finalize();
        return 1;
    }

    printf("rank : %d size:  %d\n", rank, nranks);

    const hb_transport_ops_t *ops =
        o.transport == HB_TRANSPORT_MPI ? &hb_transport_mpi_ops : &hb_transport_starpu_ops;
    hb_transport_t *t = NULL;
    starhalo_status_t st = ops->create(&o, decomp, MPI_COMM_WORLD, &t);
    if (st != STARHALO_OK)
        die(rank, st, "cannot set up the transport");

    uint64_t gen = 0;
    hb_compute_t *comp = NULL;
    if (o.with_compute) {
        if ((st = hb_compute_create(&o, decomp, ops, t, MPI_COMM_WORLD, &comp)) != STARHALO_OK)
            die(rank, st, "cannot set up the conv layer");
    } else {
        for_each_tile(&o, ops, t, decomp, rank, 1, fill_tile, &gen);
    }
    for (int64_t i = 0; i < o.warmup; i++)
        if ((st = iteration(ops, t, comp)) != STARHALO_OK)
            die(rank, st, "warm-up iteration failed");
    MPI_Barrier(MPI_COMM_WORLD);

    double *samples = malloc((size_t)o.iterations * sizeof *samples);
    if (!samples)
        die(rank, starhalo_error_set(STARHALO_ERR_NO_MEMORY, "timing samples"), "out of memory");
    for (int64_t i = 0; i < o.iterations; i++) {
        const double t0 = now_s();
        if ((st = iteration(ops, t, comp)) != STARHALO_OK)
            die(rank, st, comp ? "exchange + conv failed" : "exchange failed");
        samples[i] = now_s() - t0;
    }
    double mean = 0.0, median = 0.0;
    hb_stats(samples, o.iterations, &mean, &median);
    free(samples);
    printf("Rank:%d Time taken (ms):%.6f\n", rank, mean * 1e3);
    printf("Rank:%d Median time (ms):%.6f\n", rank, median * 1e3);

    if (comp) {
        local_fail = compute_check(&o, comp, rank);
    } else {
        local_fail = exchange_check(&o, ops, t, decomp, rank);
        if (o.dump && for_each_tile(&o, ops, t, decomp, rank, 0, dump_tile, err)) {
            fprintf(stderr, "%s: error: rank %d: %s\n", HB_NAME, rank, err);
            local_fail = 1;
        }
    }

    double mine[2] = {mean * 1e3, median * 1e3};
    double *all = rank == 0 ? malloc(2 * (size_t)nranks * sizeof *all) : NULL;
    MPI_Gather(mine, 2, MPI_DOUBLE, all, 2, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    if (rank == 0 && o.csv) {
        double *means = malloc((size_t)nranks * sizeof *means);
        double *medians = malloc((size_t)nranks * sizeof *medians);
        int64_t msg_min = 0, msg_max = 0;
        if (!all || !means || !medians ||
            hb_message_bytes(&o, decomp, &msg_min, &msg_max) != STARHALO_OK) {
            fprintf(stderr, "%s: error: cannot summarise the run for --csv\n", HB_NAME);
            local_fail = 1;
        } else {
            for (int r = 0; r < nranks; r++) {
                means[r] = all[2 * r];
                medians[r] = all[2 * r + 1];
            }
            if (hb_csv_append(&o, nranks, msg_min, msg_max, means, medians, err, sizeof err)) {
                fprintf(stderr, "%s: error: %s\n", HB_NAME, err);
                local_fail = 1;
            }
        }
        free(means);
        free(medians);
    }
    free(all);

    hb_compute_destroy(comp);
    ops->destroy(t);
    starhalo_decomp_destroy(decomp);
    MPI_Allreduce(&local_fail, &any_fail, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return any_fail ? 1 : 0;
}
