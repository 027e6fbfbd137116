/* SPDX-License-Identifier: MIT */
/**
 * @file stencil5.c
 * @brief StarPU's mpi/examples/stencil/stencil5.c ported to starhalo tiles (docs/STENCIL5.md).
 *
 * The original registers every matrix cell as a StarPU-MPI variable and inserts one task per
 * cell and iteration: (x,y) = average of itself and its 4 neighbours, in place, in (x, y)
 * order, so each sweep is a Gauss-Seidel sweep ordered by StarPU-MPI's sequential
 * consistency. It then runs the same number of iterations on a shifted distribution (every
 * cell migrated to the next rank) and brings the data home.
 *
 * Here the matrix is a starhalo field of T x T tiles with one ghost cell, each tile a
 * StarPU-MPI datum registered by starhalo. One task per tile and iteration reads the four
 * neighbour tiles, fills its ghosts from them and sweeps its cells in the original's order:
 * tiles are inserted in (x, y) order too, so each cell sees exactly the neighbour values it
 * sees in the original and the result is bitwise the same. Tiles follow the original's
 * distribution (my_distrib of the tile coordinates); the second phase runs each tile's task
 * on the shifted rank with STARPU_EXECUTE_ON_NODE, StarPU-MPI carrying the tile there and
 * back (starhalo tiles stay on their owner, so they are not re-registered). With -tiles equal
 * to -size (the default) every tile is one cell and the -display output is the original's,
 * line for line. Run it like the original: mpirun -np 4 stencil5 -display.
 */
/* drand48 (starpu_drand48) is XSI: without it the macro's call is implicit and returns 0. */
#define _XOPEN_SOURCE 700
#include <math.h>
#include <mpi.h>
#include <starhalo/starhalo.h>
#include <starhalo/starhalo_starpu.h>
#include <starpu.h>
#include <starpu_mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "appkit.h"

/* The original's defaults (Debian's StarPU is configured with --enable-quick-check). */
#ifdef STARPU_QUICK_CHECK
#define NITER_DEF 5
#define SIZE_DEF  4
#elif !defined(STARPU_LONG_CHECK)
#define NITER_DEF 10
#define SIZE_DEF  5
#else
#define NITER_DEF 100
#define SIZE_DEF  20
#endif
#define S5_STR_(x) #x
#define S5_STR(x)  S5_STR_(x)

/* Neighbour tiles, in the original's operand order: x-1, x+1, y-1, y+1. */
enum { XM1, XP1, YM1, YP1, NSIDES };

typedef struct stencil5_opts {
    int niter;
    int display;
    int size;  /**< X = Y */
    int tiles; /**< tiles per dimension */
} stencil5_opts_t;

/* What the sweep codelet needs: the matrix size and the geometry of its buffers. */
typedef struct sweep_args {
    int size;
    int nbuffers;                     /**< 1 + neighbours present */
    int side[NSIDES];                 /**< buffer index of each neighbour, 0 = none */
    starhalo_tile_t tile[1 + NSIDES]; /**< geometry of buffer i */
} sweep_args_t;

/* The original's block distribution, applied to tile coordinates. */
static int my_distrib(int x, int y, int nb_nodes)
{
    return ((int)(x / sqrt(nb_nodes) + (y / sqrt(nb_nodes)) * sqrt(nb_nodes))) % nb_nodes;
}

/* Shifted distribution, as the original's migration. */
static int my_distrib2(int x, int y, int nb_nodes)
{
    return (my_distrib(x, y, nb_nodes) + 1) % nb_nodes;
}

/* Matrix cell (x, y) is tile cell (dim 0 = y, dim 1 = x): y is contiguous, as matrix[x][y]. */
static float *cell(const starhalo_tile_t *t, float *a, int x, int y)
{
    return a + starhalo_tile_offset(t, 0, y, x, 0);
}

/* Fill the ghosts from the neighbour tiles, then the original's update over the tile's cells
 * in (x, y) order, the global border left as is. */
static void sweep_cpu(void *buffers[], void *cl_arg)
{
    sweep_args_t args;
    starpu_codelet_unpack_args(cl_arg, &args);
    const sweep_args_t *s = &args;
    const starhalo_tile_t *t = &s->tile[0];
    float *a = (float *)STARPU_VECTOR_GET_PTR(buffers[0]);
    int x0 = (int)t->owned.lo[1], x1 = (int)t->owned.hi[1];
    int y0 = (int)t->owned.lo[0], y1 = (int)t->owned.hi[0];
    for (int side = 0; side < NSIDES; side++) {
        int b = s->side[side];
        if (b == 0)
            continue;
        const starhalo_tile_t *n = &s->tile[b];
        float *na = (float *)STARPU_VECTOR_GET_PTR(buffers[b]);
        int row = side == XM1 ? x0 - 1 : x1, col = side == YM1 ? y0 - 1 : y1;
        if (side == XM1 || side == XP1)
            for (int y = y0; y < y1; y++)
                *cell(t, a, row, y) = *cell(n, na, row, y);
        else
            for (int x = x0; x < x1; x++)
                *cell(t, a, x, col) = *cell(n, na, x, col);
    }
    for (int x = x0 > 1 ? x0 : 1; x < x1 && x < s->size - 1; x++)
        for (int y = y0 > 1 ? y0 : 1; y < y1 && y < s->size - 1; y++)
            *cell(t, a, x, y) = (*cell(t, a, x, y) + *cell(t, a, x - 1, y) + *cell(t, a, x + 1, y) +
                                 *cell(t, a, x, y - 1) + *cell(t, a, x, y + 1)) /
                                5;
}

static struct starpu_codelet sweep_cl = {
    .cpu_funcs = {sweep_cpu},
    .nbuffers = STARPU_VARIABLE_NBUFFERS,
    .name = "stencil5_sweep",
};

typedef struct stencil5 {
    const stencil5_opts_t *o;
    int rank, nranks;
    starhalo_context_t *ctx;
    starhalo_decomp_t *decomp;
    starhalo_field_t *field;
    float *matrix; /**< size x size, this rank's copy as the original's matrix[x][y] */
} stencil5_t;

/* Part of tile (tx, ty): tx along x (dim 1), ty along y (dim 0). */
static int part_of(const stencil5_t *s, int tx, int ty)
{
    int coord[STARHALO_MAX_DIMS] = {ty, tx, 0};
    return starhalo_decomp_part_index(s->decomp, coord);
}

/* One iteration: one task per tile in (x, y) order, run by @p distrib's rank. */
static starhalo_status_t sweep_all(stencil5_t *s, int (*distrib)(int, int, int))
{
    MPI_Comm comm = starhalo_context_comm(s->ctx);
    int T = s->o->tiles;
    for (int tx = 0; tx < T; tx++)
        for (int ty = 0; ty < T; ty++) {
            static const int dx[NSIDES] = {-1, 1, 0, 0}, dy[NSIDES] = {0, 0, -1, 1};
            /* The original inserts no task for border cells: nor does a tile of them only. */
            starhalo_box_t own = starhalo_decomp_owned_box(s->decomp, part_of(s, tx, ty));
            int n1 = s->o->size - 1;
            if (own.hi[0] <= 1 || own.lo[0] >= n1 || own.hi[1] <= 1 || own.lo[1] >= n1)
                continue;
            sweep_args_t a;
            memset(&a, 0, sizeof a);
            a.size = s->o->size;
            struct starpu_data_descr d[1 + NSIDES];
            int n = 0;
            for (int side = -1; side < NSIDES; side++) {
                int nx = tx + (side < 0 ? 0 : dx[side]), ny = ty + (side < 0 ? 0 : dy[side]);
                if (nx < 0 || nx >= T || ny < 0 || ny >= T)
                    continue;
                int part = part_of(s, nx, ny);
                STARHALO_CHECK(starhalo_field_part_handle(s->field, part, &d[n].handle));
                STARHALO_CHECK(starhalo_field_part_tile(s->field, part, &a.tile[n]));
                d[n].mode = side < 0 ? STARPU_RW : STARPU_R;
                if (side >= 0)
                    a.side[side] = n;
                n++;
            }
            a.nbuffers = n;
            int rc = starpu_mpi_task_insert(comm, &sweep_cl, STARPU_DATA_MODE_ARRAY, d, n,
                                            STARPU_VALUE, &a, sizeof a, STARPU_EXECUTE_ON_NODE,
                                            distrib(tx, ty, s->nranks), 0);
            if (rc != 0)
                return starhalo_error_set(STARHALO_ERR_STARPU, "starpu_mpi_task_insert: %d", rc);
        }
    return STARHALO_OK;
}

/* One phase: niter iterations run by @p distrib's ranks, then wait as the original does. */
static starhalo_status_t phase(stencil5_t *s, int (*distrib)(int, int, int), int first)
{
    for (int loop = 0; loop < s->o->niter; loop++) {
        starpu_iteration_push((unsigned long)(first + loop));
        starhalo_status_t rc = sweep_all(s, distrib);
        starpu_iteration_pop();
        STARHALO_CHECK(rc);
    }
    if (!getenv("STARPU_SSILENT"))
        fprintf(stderr, "Waiting ...\n");
    return starhalo_context_wait_all(s->ctx);
}

/* Copy this rank's tiles from (to_tiles = 0) or into (1) the matrix. */
static starhalo_status_t copy_tiles(stencil5_t *s, int to_tiles)
{
    int nlocal = starhalo_field_local_parts(s->field, NULL);
    int *parts = malloc((size_t)(nlocal > 0 ? nlocal : 1) * sizeof *parts);
    if (!parts)
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "local part list");
    starhalo_field_local_parts(s->field, parts);
    starhalo_status_t rc = STARHALO_OK;
    for (int i = 0; i < nlocal && rc == STARHALO_OK; i++) {
        starhalo_tile_t t;
        float *a = NULL;
        rc = starhalo_field_part_tile(s->field, parts[i], &t);
        if (rc == STARHALO_OK)
            rc = starhalo_field_acquire(s->field, parts[i], to_tiles);
        if (rc != STARHALO_OK)
            break;
        rc = starhalo_field_part_data(s->field, parts[i], (void **)&a);
        for (int x = (int)t.owned.lo[1]; rc == STARHALO_OK && x < t.owned.hi[1]; x++)
            for (int y = (int)t.owned.lo[0]; y < t.owned.hi[0]; y++) {
                float *m = &s->matrix[(size_t)x * (size_t)s->o->size + (size_t)y];
                if (to_tiles)
                    *cell(&t, a, x, y) = *m;
                else
                    *m = *cell(&t, a, x, y);
            }
        starhalo_status_t rel = starhalo_field_release(s->field, parts[i]);
        rc = rc != STARHALO_OK ? rc : rel;
    }
    free(parts);
    return rc;
}

/* The original's -display, STARPU_SSILENT included (it silences all but the first rows). */
static void display(const stencil5_t *s, int before, float mean)
{
    int silent = getenv("STARPU_SSILENT") != NULL, n = s->o->size;
    if (silent && !before)
        return;
    if (!silent)
        printf(before ? "[%d][starpu_mpi][main] mean=%2.2f\n" : "[%d] mean=%2.2f\n", s->rank, mean);
    for (int x = 0; x < n; x++) {
        printf("[%d] ", s->rank);
        for (int y = 0; y < n; y++)
            printf("%2.2f ", s->matrix[(size_t)x * (size_t)n + (size_t)y]);
        printf("\n");
    }
    fflush(stdout);
}

static starhalo_status_t run(stencil5_t *s)
{
    const stencil5_opts_t *o = s->o;
    int n = o->size, T = o->tiles;
    starhalo_decomp_desc_t d = {.ndims = 2,
                                .extent = {n, n, 1},
                                .split = STARHALO_SPLIT_GRID,
                                .parts_per_dim = {T, T, 1},
                                .halo = {1, 1, 1, 1},
                                .shape = STARHALO_STENCIL_STAR};
    STARHALO_CHECK(starhalo_decomp_create(&d, &s->decomp));
    int *owner = malloc((size_t)T * (size_t)T * sizeof *owner);
    s->matrix = malloc((size_t)n * (size_t)n * sizeof *s->matrix);
    if (!owner || !s->matrix) {
        free(owner);
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "%dx%d matrix", n, n);
    }
    for (int tx = 0; tx < T; tx++)
        for (int ty = 0; ty < T; ty++)
            owner[part_of(s, tx, ty)] = my_distrib(tx, ty, s->nranks);
    starhalo_status_t rc =
        starhalo_field_create(s->ctx, s->decomp, owner, STARHALO_FLOAT32, &s->field);
    free(owner);
    STARHALO_CHECK(rc);

    /* Initial data values: the original's generator (STARPU_RAND_SEED overrides the seed). */
    float mean = 0;
    starpu_srand48((long int)time(NULL));
    for (int x = 0; x < n; x++)
        for (int y = 0; y < n; y++) {
            s->matrix[(size_t)x * (size_t)n + (size_t)y] = (float)starpu_drand48();
            mean += s->matrix[(size_t)x * (size_t)n + (size_t)y];
        }
    mean /= (float)(n * n);
    if (o->display)
        display(s, 1, mean);
    STARHALO_CHECK(copy_tiles(s, 1));

    /* The first phase on the initial distribution, the second on the shifted one. */
    STARHALO_CHECK(phase(s, my_distrib, 0));
    STARHALO_CHECK(phase(s, my_distrib2, o->niter));
    STARHALO_CHECK(copy_tiles(s, 0));
    if (o->display)
        display(s, 0, mean);
    return STARHALO_OK;
}

static int parse_int(const char *v, int lo, int *out)
{
    char *end = NULL;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || end == v || *end || x < lo || x > 1 << 20)
        return 1;
    *out = (int)x;
    return 0;
}

/* The original's options (-iter N, -display) and the port's (-size N, -tiles T).
 * @return 0, 1 (message in err) or 2 (help). */
static int parse(int argc, char **argv, stencil5_opts_t *o, char *err, size_t errlen)
{
    *o = (stencil5_opts_t){.niter = NITER_DEF, .size = SIZE_DEF, .tiles = 0};
    for (int i = 1; i < argc; i++) {
        const char *name = argv[i], *value = NULL;
        if (!strcmp(name, "-display")) {
            o->display = 1;
            continue;
        }
        if (strcmp(name, "-iter") && strcmp(name, "-size") && strcmp(name, "-tiles") &&
            strcmp(name, "-h") && strcmp(name, "--help")) {
            snprintf(err, errlen, "unknown option '%s' (see -h)", name);
            return 1;
        }
        int rc = starhalo_app_next_option(argc, argv, &i, &name, &value, err, errlen);
        if (rc != 0)
            return rc;
        int *dst = !strcmp(name, "-iter")   ? &o->niter
                   : !strcmp(name, "-size") ? &o->size
                                            : &o->tiles;
        if (parse_int(value, dst == &o->niter ? 0 : 1, dst)) {
            snprintf(err, errlen, "%s needs an integer %s, got '%s'", name,
                     dst == &o->niter ? ">= 0" : ">= 1", value);
            return 1;
        }
    }
    if (o->tiles == 0)
        o->tiles = o->size;
    return 0;
}

static const char usage[] =
    "usage: stencil5 [-iter N] [-display] [-size N] [-tiles T]\n"
    "  StarPU's mpi/examples/stencil/stencil5 on starhalo tiles: N iterations of the 5-point\n"
    "  average on an N x N matrix, then N more on the shifted distribution.\n"
    "  -iter N     iterations per phase (default " S5_STR(
        NITER_DEF) ")\n"
                   "  -display    print each rank's matrix before and after, as the original\n"
                   "  -size N     matrix size (default " S5_STR(
                       SIZE_DEF) ", the original's)\n"
                                 "  -tiles T    T x T tiles (default N: one cell per tile, the "
                                 "original's granularity)\n";

int main(int argc, char **argv)
{
    int rank = 0, provided = 0;
    /* StarPU-MPI needs SERIALIZED; the context takes MPI as it is (docs/LAUNCH.md). */
    MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    stencil5_opts_t o;
    char err[256] = "";
    int prc = parse(argc, argv, &o, err, sizeof err);
    if (prc == 0 && o.tiles > o.size) {
        snprintf(err, sizeof err, "-tiles %d is more than -size %d", o.tiles, o.size);
        prc = 1;
    }
    if (prc != 0) {
        if (rank == 0 && prc == 2)
            fputs(usage, stdout);
        else if (rank == 0)
            fprintf(stderr, "stencil5: error: %s\n", err);
        MPI_Finalize();
        return prc == 2 ? 0 : 1;
    }
    stencil5_t s = {.o = &o, .rank = rank};
    starhalo_context_conf_t conf;
    starhalo_context_conf_init(&conf);
    starhalo_status_t rc = starhalo_context_create(&conf, &s.ctx);
    if (rc == STARHALO_OK)
        s.nranks = starhalo_context_size(s.ctx);
    int status = 0;
    if (rc == STARHALO_OK && starhalo_context_ncpus(s.ctx) == 0) {
        if (!getenv("STARPU_SSILENT"))
            fprintf(stderr, "We need at least 1 CPU worker.\n");
        status = rank == 0 ? 77 : 0;
    } else if (rc == STARHALO_OK) {
        rc = run(&s);
    }
    if (rc != STARHALO_OK) {
        /* starhalo's errors are agreed on: every rank has the same one, rank 0 prints it. */
        if (rank == 0)
            fprintf(stderr, "stencil5: error: %s\n", starhalo_last_error_message());
        status = 1;
    }
    starhalo_field_destroy(s.field);
    starhalo_decomp_destroy(s.decomp);
    starhalo_context_destroy(s.ctx);
    free(s.matrix);
    MPI_Finalize();
    return status;
}
