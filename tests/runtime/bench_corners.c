/* SPDX-License-Identifier: MIT */
/**
 * @file bench_corners.c
 * @brief Corners of a BOX halo: direct diagonal messages (one round, 8 messages per rank) or
 * two phases (the x neighbours first, then the y neighbours with rows that span the ghost
 * columns, which carry the corners: two rounds, 4 messages). Issue 3 asks to measure and choose.
 *
 * Plain MPI on a periodic px x py grid of ranks, each owning an n x n float32 tile with halo h;
 * both variants use the same subarray datatypes (no packing code), so only the message pattern
 * differs. Before timing, both are checked: every ghost cell equals the global index of the
 * (wrapped) cell it mirrors. Timing: variants interleaved (ABAB...), each sample the mean of
 * --iters exchanges after a barrier, MAX over ranks; the median of --repeats samples is printed.
 *
 * usage: mpirun -np P bench_corners [--image N] [--halo H] [--iters K] [--repeats R]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

typedef struct grid {
    int px, py, cx, cy; /* ranks in x / y, my coordinates */
    int n, h, w;        /* owned extent, halo, ghosted extent n + 2h */
    int64_t image;      /* global extent */
    MPI_Comm comm;
} grid_t;

static int neighbour(const grid_t *g, int dy, int dx)
{
    const int cy = (g->cy + dy + g->py) % g->py, cx = (g->cx + dx + g->px) % g->px;
    int r = 0;
    const int coords[2] = {cy, cx};
    MPI_Cart_rank(g->comm, coords, &r);
    return r;
}

/* Rows or columns [start, start + len) of the ghosted tile along one dimension. */
static void range(const grid_t *g, int d, int send, int *start, int *len)
{
    if (d == 0) {
        *start = g->h;
        *len = g->n;
    } else if (d < 0) {
        *start = send ? g->h : 0;
        *len = g->h;
    } else {
        *start = send ? g->n : g->n + g->h;
        *len = g->h;
    }
}

static MPI_Datatype box(const grid_t *g, int r0, int nr, int c0, int nc)
{
    const int sizes[2] = {g->w, g->w}, sub[2] = {nr, nc}, starts[2] = {r0, c0};
    MPI_Datatype t;
    MPI_Type_create_subarray(2, sizes, sub, starts, MPI_ORDER_C, MPI_FLOAT, &t);
    MPI_Type_commit(&t);
    return t;
}

/* One round over the listed directions; @p full_rows: y messages span the ghost columns. */
static void round_of(const grid_t *g, float *a, const int (*dirs)[2], int ndirs, int full_rows)
{
    MPI_Request req[16];
    MPI_Datatype types[16];
    int nreq = 0;
    for (int k = 0; k < ndirs; k++) {
        const int dy = dirs[k][0], dx = dirs[k][1];
        int r0, nr, c0, nc, s0, ns, t0, nt;
        range(g, dy, 0, &r0, &nr);
        range(g, dx, 0, &c0, &nc);
        range(g, dy, 1, &s0, &ns);
        range(g, dx, 1, &t0, &nt);
        if (full_rows) {
            c0 = t0 = 0;
            nc = nt = g->w;
        }
        const int peer = neighbour(g, dy, dx);
        /* Tag = the sender's direction, so a peer met in two directions is told apart. */
        const int recv_tag = 3 * (1 - dy) + (1 - dx), send_tag = 3 * (dy + 1) + (dx + 1);
        types[nreq] = box(g, r0, nr, c0, nc);
        MPI_Irecv(a, 1, types[nreq], peer, recv_tag, g->comm, &req[nreq]);
        nreq++;
        types[nreq] = box(g, s0, ns, t0, nt);
        MPI_Isend(a, 1, types[nreq], peer, send_tag, g->comm, &req[nreq]);
        nreq++;
    }
    MPI_Waitall(nreq, req, MPI_STATUSES_IGNORE);
    for (int k = 0; k < nreq; k++)
        MPI_Type_free(&types[k]);
}

static const int all8[8][2] = {{-1, -1}, {-1, 0}, {-1, 1}, {0, -1},
                               {0, 1},   {1, -1}, {1, 0},  {1, 1}};
static const int xs[2][2] = {{0, -1}, {0, 1}}, ys[2][2] = {{-1, 0}, {1, 0}};

static void exchange(const grid_t *g, float *a, int two_phase)
{
    if (!two_phase) {
        round_of(g, a, all8, 8, 0);
    } else {
        round_of(g, a, xs, 2, 0);
        round_of(g, a, ys, 2, 1);
    }
}

static float image_value(const grid_t *g, int i, int j)
{
    /* Global index of ghosted-tile cell (i, j), wrapped (periodic); exact in float below 2^24. */
    const int64_t gi = ((int64_t)g->cy * g->n + i - g->h + g->image) % g->image;
    const int64_t gj = ((int64_t)g->cx * g->n + j - g->h + g->image) % g->image;
    return (float)((gi * g->image + gj) % 16777216);
}

static int check(const grid_t *g, float *a, int two_phase)
{
    for (int i = 0; i < g->w * g->w; i++)
        a[i] = -1.0f;
    for (int i = g->h; i < g->h + g->n; i++)
        for (int j = g->h; j < g->h + g->n; j++)
            a[(size_t)i * g->w + j] = image_value(g, i, j);
    exchange(g, a, two_phase);
    int bad = 0;
    for (int i = 0; i < g->w; i++)
        for (int j = 0; j < g->w; j++)
            bad += a[(size_t)i * g->w + j] != image_value(g, i, j);
    return bad;
}

static int cmp(const void *x, const void *y)
{
    const double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int64_t image = 1024;
    int halo = 3, iters = 200, repeats = 15;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--image"))
            image = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--halo"))
            halo = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--iters"))
            iters = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--repeats"))
            repeats = atoi(argv[i + 1]);
        else {
            if (rank == 0)
                fprintf(stderr, "bench_corners: error: unknown option '%s'\n", argv[i]);
            MPI_Finalize();
            return 1;
        }
    }
    int dims[2] = {0, 0}, periods[2] = {1, 1}, coords[2];
    MPI_Dims_create(size, 2, dims);
    grid_t g = {.py = dims[0], .px = dims[1], .h = halo, .image = image};
    if (image % g.px || image % g.py || dims[0] != dims[1] || halo < 1 || halo > image / g.px ||
        iters < 1 || repeats < 1 || image * image > 16777216) {
        if (rank == 0)
            fprintf(stderr, "bench_corners: error: needs a square rank grid dividing --image "
                            "(<= 4096), 1 <= --halo <= tile, --iters/--repeats >= 1\n");
        MPI_Finalize();
        return 1;
    }
    MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 0, &g.comm);
    MPI_Cart_coords(g.comm, rank, 2, coords);
    g.cy = coords[0];
    g.cx = coords[1];
    g.n = (int)(image / g.px);
    g.w = g.n + 2 * g.h;
    float *a = malloc(sizeof(float) * (size_t)g.w * (size_t)g.w);
    double *samples = malloc(sizeof(double) * 2 * (size_t)repeats);
    int bad[2] = {a ? check(&g, a, 0) : 1, a ? check(&g, a, 1) : 1}, anybad[2];
    MPI_Allreduce(bad, anybad, 2, MPI_INT, MPI_SUM, g.comm);
    if (rank == 0)
        printf("check: diagonal %s, two-phase %s\n", anybad[0] ? "FAILED" : "ok",
               anybad[1] ? "FAILED" : "ok");
    for (int r = 0; r < repeats && !anybad[0] && !anybad[1]; r++)
        for (int v = 0; v < 2; v++) {
            MPI_Barrier(g.comm);
            const double t0 = MPI_Wtime();
            for (int k = 0; k < iters; k++)
                exchange(&g, a, v);
            double t = (MPI_Wtime() - t0) / iters, tmax = 0.0;
            MPI_Allreduce(&t, &tmax, 1, MPI_DOUBLE, MPI_MAX, g.comm);
            samples[(size_t)v * (size_t)repeats + (size_t)r] = tmax;
        }
    if (rank == 0 && !anybad[0] && !anybad[1]) {
        qsort(samples, (size_t)repeats, sizeof(double), cmp);
        qsort(samples + repeats, (size_t)repeats, sizeof(double), cmp);
        const double d = samples[repeats / 2], p = samples[repeats + repeats / 2];
        printf("ranks %d (%dx%d) image %lld halo %d: diagonal %.2f us, two-phase %.2f us, "
               "two-phase/diagonal %.2f\n",
               size, g.py, g.px, (long long)image, halo, d * 1e6, p * 1e6, p / d);
    }
    free(a);
    free(samples);
    MPI_Comm_free(&g.comm);
    MPI_Finalize();
    return anybad[0] || anybad[1];
}
