/* SPDX-License-Identifier: MIT */
/**
 * @file soak_exchange.c
 * @brief Soak benchmark (issue 12; not in CI, docs/PERFORMANCE.md "Soak"): N forward and N
 * reverse (SUM) exchanges of one field, alternating, and every K of them the resources that
 * would grow if something leaked: RSS, the exchange's tasks and transfers in flight, the
 * direct transport's requests not completed, StarPU tasks submitted and not done, MPI tags
 * booked in the context, live exchanges. "Flat" means the last sample equals the first (RSS,
 * or the live heap in an ASan build: within --rss-slack KiB); rank 0 prints one line per sample and
 * the verdict, and the exit status is 1 when not flat.
 *
 *   mpirun -np 2 soak_exchange [--exchanges N] [--every K] [--size S] [--halo H]
 *                             [--transport direct|starpu] [--rss-slack KIB]
 *
 * The counters are read through runtime_internal.h (the context's free tag ranges, the
 * exchange's pending count and persistent requests), as test_index_starpu reads tags: a test
 * tool may look inside, the library exposes nothing for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>
#include <starpu.h>

#include "rt_exchange_internal.h"
#include "starhalo_mem_test.h"

#include <starhalo/starhalo_runtime.h>

typedef struct sample {
    long rss_kib;  /* RSS, or the live heap under ASan */
    long pending;  /* the exchange's tasks and detached transfers in flight */
    long open_req; /* direct transport: persistent requests started and not complete */
    long nsubmitted;
    long booked_tags;
    long exchanges;
} sample_t;

static long free_tags(const starhalo_context_t *ctx)
{
    long n = 0;
    for (int i = 0; i < ctx->nfree_tags; i++)
        n += (long)(ctx->free_tags[i].hi - ctx->free_tags[i].lo);
    return n;
}

static sample_t measure(const starhalo_context_t *ctx, starhalo_exchange_t *ex, long free0)
{
    sample_t s;
    s.rss_kib = starhalo_test_mem_kib();
    s.pending = __atomic_load_n(&ex->pending.count, __ATOMIC_ACQUIRE);
    s.open_req = starhalo__direct_open_requests(ex);
    s.nsubmitted = starpu_task_nsubmitted();
    s.booked_tags = free0 - free_tags(ctx);
    s.exchanges = 0;
    for (const rt_pending_t *p = ctx->in_flight; p; p = p->next)
        s.exchanges++;
    return s;
}

static long arg_long(int argc, char **argv, const char *name, long dflt)
{
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], name))
            return strtol(argv[i + 1], NULL, 10);
    return dflt;
}

static const char *arg_str(int argc, char **argv, const char *name, const char *dflt)
{
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], name))
            return argv[i + 1];
    return dflt;
}

int main(int argc, char **argv)
{
    const long n = arg_long(argc, argv, "--exchanges", 100000);
    const long every = arg_long(argc, argv, "--every", 10000);
    const long size = arg_long(argc, argv, "--size", 64);
    const long halo = arg_long(argc, argv, "--halo", 1);
    const long slack = arg_long(argc, argv, "--rss-slack", 1024);
    const char *tr = arg_str(argc, argv, "--transport", "direct");
    if (n < 1 || every < 1 || size < 4 || halo < 1 || halo > size / 4) {
        fprintf(stderr, "soak_exchange: error: bad arguments (see the file's comment)\n");
        return 2;
    }
    starhalo_context_conf_t conf;
    starhalo_context_conf_init(&conf);
    starhalo_context_t *ctx = NULL;
    if (starhalo_context_create(&conf, &ctx) != STARHALO_OK) {
        fprintf(stderr, "soak_exchange: error: %s\n", starhalo_last_error_message());
        return 1;
    }
    const int rank = starhalo_context_rank(ctx), nranks = starhalo_context_size(ctx);
    const long free0 = free_tags(ctx);
    starhalo_decomp_desc_t d = {0};
    d.ndims = 2;
    d.extent[0] = size * nranks;
    d.extent[1] = size;
    d.split = STARHALO_SPLIT_SQUARE;
    d.nparts = 1;
    while ((long)(d.nparts + 1) * (d.nparts + 1) <= nranks)
        d.nparts++;
    d.split = d.nparts * d.nparts == nranks ? STARHALO_SPLIT_SQUARE : STARHALO_SPLIT_VERTICAL;
    d.nparts = nranks;
    for (int s = 0; s < 4; s++)
        d.halo[s] = (int)halo;
    d.shape = STARHALO_STENCIL_BOX;
    d.periodic[0] = d.periodic[1] = 1;
    starhalo_decomp_t *dc = NULL;
    starhalo_field_t *f = NULL;
    starhalo_exchange_t *ex = NULL;
    const starhalo_transport_t t =
        !strcmp(tr, "starpu") ? STARHALO_TRANSPORT_STARPU_MPI : STARHALO_TRANSPORT_DIRECT_MPI;
    starhalo_status_t st = starhalo_decomp_create(&d, &dc);
    if (st == STARHALO_OK)
        st = starhalo_field_create(ctx, dc, NULL, STARHALO_FLOAT64, &f);
    if (st == STARHALO_OK)
        st = starhalo_exchange_create(ctx, &f, 1, t, &ex);
    if (st != STARHALO_OK) {
        fprintf(stderr, "soak_exchange: error: %s\n", starhalo_last_error_message());
        return 1;
    }
    if (rank == 0)
        printf("soak: %d ranks, %ld x %ld cells, halo %ld, periodic BOX, transport %s, %ld "
               "forward + %ld reverse exchanges, sampled every %ld (mem: %s)\n"
               "soak: %9s %8s %9s %7s %8s %10s %6s %9s %8s\n",
               nranks, (long)d.extent[0], size, halo, tr, n, n, every, STARHALO_TEST_MEM_WHAT,
               "exchanges", "seconds", "mem_kib", "pending", "open_req", "nsubmitted", "tags",
               "exchanges", "us/pair");
    sample_t first = {0}, last = {0};
    double t0 = MPI_Wtime(), tprev = t0;
    for (long i = 1; i <= n && st == STARHALO_OK; i++) {
        st = starhalo_exchange_submit(ex);
        if (st == STARHALO_OK)
            st = starhalo_exchange_submit_reverse(ex, STARHALO_REDUCE_SUM);
        if (st != STARHALO_OK || i % every)
            continue;
        st = starhalo_exchange_wait(ex);
        if (st == STARHALO_OK && starpu_task_wait_for_all() != 0)
            st = STARHALO_ERR_STARPU;
        const sample_t s = measure(ctx, ex, free0);
        long mine[6] = {s.rss_kib, s.pending, s.open_req, s.nsubmitted, s.booked_tags, s.exchanges},
             all[6];
        MPI_Reduce(mine, all, 6, MPI_LONG, MPI_MAX, 0, MPI_COMM_WORLD);
        const double now = MPI_Wtime();
        const sample_t m = {all[0], all[1], all[2], all[3], all[4], all[5]};
        if (i == every)
            first = m;
        last = m;
        if (rank == 0)
            printf("soak: %9ld %8.1f %9ld %7ld %8ld %10ld %6ld %9ld %8.1f\n", i, now - t0,
                   m.rss_kib, m.pending, m.open_req, m.nsubmitted, m.booked_tags, m.exchanges,
                   (now - tprev) / (double)every * 1e6);
        tprev = now;
    }
    int flat = st == STARHALO_OK && last.rss_kib - first.rss_kib <= slack && last.pending == 0 &&
               last.open_req == 0 && last.nsubmitted == 0 &&
               last.booked_tags == first.booked_tags && last.exchanges == first.exchanges;
    MPI_Bcast(&flat, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (rank == 0)
        printf("soak: %s (%s %+ld KiB from the first sample, max over ranks; slack %ld)%s%s\n",
               flat ? "flat" : "NOT FLAT", STARHALO_TEST_MEM_WHAT, last.rss_kib - first.rss_kib,
               slack, st == STARHALO_OK ? "" : ": ",
               st == STARHALO_OK ? "" : starhalo_last_error_message());
    starhalo_exchange_destroy(ex);
    starhalo_field_destroy(f);
    starhalo_decomp_destroy(dc);
    const long tags_after = free0 - free_tags(ctx);
    if (rank == 0)
        printf("soak: tags booked after destroy: %ld\n", tags_after);
    starhalo_context_destroy(ctx);
    return flat && tags_after == 0 ? 0 : 1;
}
