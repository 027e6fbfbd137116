/* SPDX-License-Identifier: MIT */
/**
 * @file raw_halo.c
 * @brief An independent raw-MPI halo exchange, the baseline a user would write by hand: no
 * starhalo code at all. One rank per part of a square (2-D grid), vertical or horizontal
 * split of a batch x channels x size x size float32 image, halo h on every side with corners,
 * persistent requests (MPI_Recv_init / MPI_Send_init once, MPI_Startall per exchange).
 * Messages of rows (north / south neighbours) travel from the tile itself through an MPI
 * vector datatype (one block of h rows per plane); columns and corners are packed into
 * buffers with plain loops. Ghost cells are checked against the global-index image once.
 *
 * Prints one CSV line: raw_halo,<ranks>,<size>,<channels>,<batch>,<halo>,<split>,<median us
 * per exchange of the slowest rank>,<validation ok 0/1>.
 *
 * usage: raw_halo [--image-size N] [--halo-len H] [--in-channels C] [--batch-size B]
 *                 [--slice-method square|vertical|horizontal] [--iterations I] [--warmup W]
 */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct opts {
    long size, halo, channels, batch, iterations, warmup;
    const char *split;
} opts_t;

static int parse(int argc, char **argv, opts_t *o)
{
    *o = (opts_t){1024, 3, 1, 1, 100, 10, "square"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long *dst = !strcmp(a, "--image-size")    ? &o->size
                    : !strcmp(a, "--halo-len")    ? &o->halo
                    : !strcmp(a, "--in-channels") ? &o->channels
                    : !strcmp(a, "--batch-size")  ? &o->batch
                    : !strcmp(a, "--iterations")  ? &o->iterations
                    : !strcmp(a, "--warmup")      ? &o->warmup
                                                  : NULL;
        if (dst && v) {
            char *end;
            *dst = strtol(v, &end, 10);
            if (*end || *dst < 0)
                return fprintf(stderr, "raw_halo: %s needs a number >= 0, not '%s'\n", a, v), 1;
            i++;
        } else if (!strcmp(a, "--slice-method") && v) {
            o->split = argv[++i];
        } else {
            return fprintf(stderr, "raw_halo: unknown or incomplete option '%s'\n", a), 1;
        }
    }
    if (strcmp(o->split, "square") && strcmp(o->split, "vertical") &&
        strcmp(o->split, "horizontal"))
        return fprintf(stderr, "raw_halo: unknown slice method '%s'\n", o->split), 1;
    if (o->size < 1 || o->halo < 1 || o->channels < 1 || o->batch < 1 || o->iterations < 1)
        return fprintf(stderr, "raw_halo: sizes, halo, channels, batch, iterations >= 1\n"), 1;
    return 0;
}

/* The tile of this rank: owned [x0, x1) x [y0, y1), ghosted by h on every side. */
typedef struct tile {
    long x0, x1, y0, y1, h, gw, gh, planes, plane;
    float *data;
} tile_t;

static float *cell(const tile_t *t, long p, long x, long y) /* global coordinates */
{
    return t->data + p * t->plane + (y - t->y0 + t->h) * t->gw + (x - t->x0 + t->h);
}

static float image_value(long p, long x, long y, long n)
{
    return (float)(1 + x + n * y + (p % 7) * n * n);
}

/* One neighbour: a box of cells to send (owned) and one to receive (ghosts). */
typedef struct link {
    int rank;
    long sx0, sx1, sy0, sy1, rx0, rx1, ry0, ry1;
    int rows; /* full-width rows: sent and received in place through a datatype */
    float *sbuf, *rbuf;
    MPI_Datatype stype, rtype;
} link_t;

static void copy_box(const tile_t *t, long x0, long x1, long y0, long y1, float *buf, int pack)
{
    long k = 0;
    for (long p = 0; p < t->planes; p++)
        for (long y = y0; y < y1; y++) {
            float *c = cell(t, p, x0, y);
            for (long x = 0; x < x1 - x0; x++, k++) {
                if (pack)
                    buf[k] = c[x];
                else
                    c[x] = buf[k];
            }
        }
}

int main(int argc, char **argv)
{
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_SINGLE, &provided);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    opts_t o;
    if (parse(argc, argv, &o)) {
        MPI_Finalize();
        return 2;
    }
    int dims[2] = {0, 0}; /* [0] parts along x, [1] along y */
    if (!strcmp(o.split, "vertical"))
        dims[0] = size, dims[1] = 1;
    else if (!strcmp(o.split, "horizontal"))
        dims[0] = 1, dims[1] = size;
    else
        MPI_Dims_create(size, 2, dims);
    const long n = o.size, h = o.halo;
    const int px = rank % dims[0], py = rank / dims[0];
    tile_t t = {n * px / dims[0],
                n * (px + 1) / dims[0],
                n * py / dims[1],
                n * (py + 1) / dims[1],
                h,
                0,
                0,
                o.batch * o.channels,
                0,
                NULL};
    if (t.x1 - t.x0 < h || t.y1 - t.y0 < h) {
        if (rank == 0)
            fprintf(stderr, "raw_halo: parts of %ld x %ld cells are thinner than the halo %ld\n",
                    t.x1 - t.x0, t.y1 - t.y0, h);
        MPI_Finalize();
        return 2;
    }
    t.gw = t.x1 - t.x0 + 2 * h;
    t.gh = t.y1 - t.y0 + 2 * h;
    t.plane = t.gw * t.gh;
    t.data = calloc((size_t)(t.plane * t.planes), sizeof(float));
    link_t links[8];
    int nl = 0;
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
            const int qx = px + dx, qy = py + dy;
            if ((!dx && !dy) || qx < 0 || qy < 0 || qx >= dims[0] || qy >= dims[1])
                continue;
            link_t *l = &links[nl++];
            memset(l, 0, sizeof *l);
            l->rank = qy * dims[0] + qx;
            l->sx0 = dx < 0 ? t.x0 : dx > 0 ? t.x1 - h : t.x0;
            l->sx1 = dx < 0 ? t.x0 + h : dx > 0 ? t.x1 : t.x1;
            l->sy0 = dy < 0 ? t.y0 : dy > 0 ? t.y1 - h : t.y0;
            l->sy1 = dy < 0 ? t.y0 + h : dy > 0 ? t.y1 : t.y1;
            l->rx0 = dx < 0 ? t.x0 - h : dx > 0 ? t.x1 : t.x0;
            l->rx1 = dx < 0 ? t.x0 : dx > 0 ? t.x1 + h : t.x1;
            l->ry0 = dy < 0 ? t.y0 - h : dy > 0 ? t.y1 : t.y0;
            l->ry1 = dy < 0 ? t.y0 : dy > 0 ? t.y1 + h : t.y1;
            l->rows = dx == 0 && t.gw == t.x1 - t.x0 + 2 * h && dims[0] == 1;
        }
    MPI_Request req[16];
    int nr = 0;
    for (int pass = 0; pass < 2; pass++) /* receives first */
        for (int i = 0; i < nl; i++) {
            link_t *l = &links[i];
            const long sc = (l->sx1 - l->sx0) * (l->sy1 - l->sy0) * t.planes;
            const long rc = (l->rx1 - l->rx0) * (l->ry1 - l->ry0) * t.planes;
            if (l->rows) { /* h full-width ghosted rows per plane, in place */
                if (pass == 0) {
                    MPI_Type_vector((int)t.planes, (int)(h * t.gw), (int)t.plane, MPI_FLOAT,
                                    &l->rtype);
                    MPI_Type_commit(&l->rtype);
                    MPI_Recv_init(cell(&t, 0, t.x0 - h, l->ry0), 1, l->rtype, l->rank, 0,
                                  MPI_COMM_WORLD, &req[nr++]);
                } else {
                    MPI_Type_vector((int)t.planes, (int)(h * t.gw), (int)t.plane, MPI_FLOAT,
                                    &l->stype);
                    MPI_Type_commit(&l->stype);
                    MPI_Send_init(cell(&t, 0, t.x0 - h, l->sy0), 1, l->stype, l->rank, 0,
                                  MPI_COMM_WORLD, &req[nr++]);
                }
            } else if (pass == 0) {
                l->rbuf = malloc((size_t)rc * sizeof(float));
                MPI_Recv_init(l->rbuf, (int)rc, MPI_FLOAT, l->rank, 0, MPI_COMM_WORLD, &req[nr++]);
            } else {
                l->sbuf = malloc((size_t)sc * sizeof(float));
                MPI_Send_init(l->sbuf, (int)sc, MPI_FLOAT, l->rank, 0, MPI_COMM_WORLD, &req[nr++]);
            }
        }
    /* Every pair of ranks exchanges one message each way, so tag 0 matches in order. */
    const int nrecv = nl;
    for (long p = 0; p < t.planes; p++)
        for (long y = t.y0; y < t.y1; y++)
            for (long x = t.x0; x < t.x1; x++)
                *cell(&t, p, x, y) = image_value(p, x, y, n);
    double *times = malloc(sizeof(double) * (size_t)o.iterations);
    /* Back to back after one barrier, as halo_bench times its exchanges. */
    for (long it = -o.warmup; it < o.iterations; it++) {
        if (it == 0)
            MPI_Barrier(MPI_COMM_WORLD);
        const double t0 = MPI_Wtime();
        MPI_Startall(nrecv, req);
        for (int i = 0; i < nl; i++)
            if (!links[i].rows)
                copy_box(&t, links[i].sx0, links[i].sx1, links[i].sy0, links[i].sy1, links[i].sbuf,
                         1);
        MPI_Startall(nr - nrecv, req + nrecv);
        MPI_Waitall(nr, req, MPI_STATUSES_IGNORE);
        for (int i = 0; i < nl; i++)
            if (!links[i].rows)
                copy_box(&t, links[i].rx0, links[i].rx1, links[i].ry0, links[i].ry1, links[i].rbuf,
                         0);
        if (it >= 0)
            times[it] = MPI_Wtime() - t0;
    }
    /* Ghosts inside the image hold the neighbour's owned values. */
    long wrong = 0;
    for (int i = 0; i < nl; i++)
        for (long p = 0; p < t.planes; p++)
            for (long y = links[i].ry0; y < links[i].ry1; y++)
                for (long x = links[i].rx0; x < links[i].rx1; x++)
                    wrong += *cell(&t, p, x, y) != image_value(p, x, y, n);
    /* Median of this rank (insertion sort: iterations are few). */
    for (long i = 1; i < o.iterations; i++)
        for (long j = i; j > 0 && times[j] < times[j - 1]; j--) {
            const double s = times[j];
            times[j] = times[j - 1];
            times[j - 1] = s;
        }
    double med = times[o.iterations / 2], worst = 0;
    long all_wrong = 0;
    MPI_Reduce(&med, &worst, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    MPI_Reduce(&wrong, &all_wrong, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0)
        printf("raw_halo,%d,%ld,%ld,%ld,%ld,%s,%.2f,%d\n", size, n, o.channels, o.batch, h, o.split,
               worst * 1e6, all_wrong == 0);
    for (int i = 0; i < nr; i++)
        MPI_Request_free(&req[i]);
    for (int i = 0; i < nl; i++) {
        free(links[i].sbuf);
        free(links[i].rbuf);
        if (links[i].rows) {
            MPI_Type_free(&links[i].stype);
            MPI_Type_free(&links[i].rtype);
        }
    }
    free(times);
    free(t.data);
    MPI_Finalize();
    return all_wrong == 0 || rank != 0 ? 0 : 1;
}
