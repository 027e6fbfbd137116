/* SPDX-License-Identifier: MIT */
/**
 * @file sparse_cg.c
 * @brief Distributed sparse matrix-vector product and conjugate gradients on a 2-D (5-point)
 * or 3-D (7-point) Poisson matrix whose rows are PERMUTED over the ranks (a general owner
 * array: no rank owns a contiguous range), with halos through an index plan and the plain-MPI
 * executor.
 *
 * The right-hand side is b = A x* for a known x*, so the error is measurable; rank 0 also
 * solves the same system with a serial, matrix-free CG (stencil loops, no CSR, no plan) and
 * the gathered distributed solution must match it. Exit status 0 only if both checks pass.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mpi.h>

#include <starhalo/starhalo_mpi_exchange.h>

#include "appkit.h"
#include "cg_halo.h"

#define APP "sparse_cg"

static const double PI = 3.14159265358979323846;

typedef struct options {
    int64_t n;      /* grid points per dimension */
    int dim;        /* 2 or 3 */
    int iterations; /* maximum CG iterations */
    double tol;     /* stop when ||r|| / ||b|| < tol */
    starhalo_mpi_transport_t transport;
    cg_starpu_t starpu; /* != NONE: the halo goes through StarPU tasks instead */
    unsigned seed;      /* row permutation */
    const char *dump;
} options_t;

static void usage(void)
{
    printf("usage: " APP " [--n N] [--dim 2|3] [--iterations K] [--tol T]\n"
           "                 [--transport two-sided|persistent|rma-fence|rma-lock|starpu-mpi|\n"
           "                              starpu-direct] [--seed S] [--dump DIR]\n"
           "  Solves the Poisson system A x = A x* with CG; rows permuted over the ranks.\n"
           "  --dump DIR writes DIR/solution.npy (float64, shape (N, N) or (N, N, N)).\n");
}

/* Parse on every rank identically; returns 0, 1 (error, message in err) or 2 (help). */
static int parse(int argc, char **argv, options_t *o, char *err, size_t errlen)
{
    *o = (options_t){.n = 64,
                     .dim = 2,
                     .iterations = 2000,
                     .tol = 1e-10,
                     .transport = STARHALO_MPI_TWO_SIDED,
                     .seed = 1,
                     .dump = NULL};
    for (int i = 1; i < argc; i++) {
        const char *a, *v;
        const int st = starhalo_app_next_option(argc, argv, &i, &a, &v, err, errlen);
        if (st)
            return st;
        char *end = NULL;
        errno = 0;
        if (!strcmp(a, "--n")) {
            long long x = strtoll(v, &end, 10);
            if (*end || errno || x < 3 || x > 100000) {
                snprintf(err, errlen, "--n '%s' must be an integer in [3, 100000]", v);
                return 1;
            }
            o->n = x;
        } else if (!strcmp(a, "--dim")) {
            long x = strtol(v, &end, 10);
            if (*end || errno || (x != 2 && x != 3)) {
                snprintf(err, errlen, "--dim '%s' must be 2 or 3", v);
                return 1;
            }
            o->dim = (int)x;
        } else if (!strcmp(a, "--iterations")) {
            long x = strtol(v, &end, 10);
            if (*end || errno || x < 1 || x > 10000000) {
                snprintf(err, errlen, "--iterations '%s' must be an integer in [1, 10000000]", v);
                return 1;
            }
            o->iterations = (int)x;
        } else if (!strcmp(a, "--tol")) {
            double x = strtod(v, &end);
            if (*end || errno || !(x > 0) || x >= 1) {
                snprintf(err, errlen, "--tol '%s' must be a number in (0, 1)", v);
                return 1;
            }
            o->tol = x;
        } else if (!strcmp(a, "--transport")) {
            if (cg_halo_parse(v, &o->transport, &o->starpu) != 0) {
                snprintf(err, errlen,
                         "--transport '%s' must be two-sided, persistent, rma-fence, rma-lock, "
                         "starpu-mpi or starpu-direct",
                         v);
                return 1;
            }
        } else if (!strcmp(a, "--seed")) {
            unsigned long x = strtoul(v, &end, 10);
            if (*end || errno || v[0] == '-') {
                snprintf(err, errlen, "--seed '%s' must be a non-negative integer", v);
                return 1;
            }
            o->seed = (unsigned)x;
        } else if (!strcmp(a, "--dump")) {
            o->dump = v;
        } else {
            snprintf(err, errlen, "unknown option '%s' (see --help)", a);
            return 1;
        }
    }
    const double total = pow((double)o->n, o->dim);
    if (total > 2e8) {
        snprintf(err, errlen, "--n %lld with --dim %d gives %.3g unknowns (limit 2e8)",
                 (long long)o->n, o->dim, total);
        return 1;
    }
    return 0;
}

/* Grid coordinates of global row g and back; x fastest. */
static void coords(int64_t g, int64_t n, int64_t c[3])
{
    c[0] = g % n;
    c[1] = (g / n) % n;
    c[2] = g / (n * n);
}

/* The manufactured solution: smooth plus a rank-independent ripple. */
static double exact(int64_t g, int64_t n)
{
    int64_t c[3];
    coords(g, n, c);
    const double h = 1.0 / (double)(n + 1);
    return sin(PI * (c[0] + 1) * h) * sin(PI * (c[1] + 1) * h) *
               (1 + 0.5 * cos(2 * PI * (c[2] + 1) * h)) +
           0.01 * (double)((g * 7) % 11);
}

/* Neighbours of g inside the grid (Dirichlet: outside neighbours are dropped). */
static int neighbours(int64_t g, int64_t n, int dim, int64_t out[6])
{
    int64_t c[3];
    coords(g, n, c);
    const int64_t stride[3] = {1, n, n * n};
    int k = 0;
    for (int d = 0; d < dim; d++) {
        if (c[d] > 0)
            out[k++] = g - stride[d];
        if (c[d] < n - 1)
            out[k++] = g + stride[d];
    }
    return k;
}

/* Serial matrix-free y = A x on the full grid (rank 0's reference). */
static void serial_apply(const double *x, double *y, int64_t n, int dim, int64_t total)
{
    for (int64_t g = 0; g < total; g++) {
        int64_t nb[6];
        const int k = neighbours(g, n, dim, nb);
        double s = 2.0 * dim * x[g];
        for (int j = 0; j < k; j++)
            s -= x[nb[j]];
        y[g] = s;
    }
}

static double dot(const double *a, const double *b, int64_t m)
{
    double s = 0;
    for (int64_t i = 0; i < m; i++)
        s += a[i] * b[i];
    return s;
}

/* Serial CG with the same stopping rule; returns iterations. */
static int serial_cg(const double *b, double *x, int64_t n, int dim, int64_t total, int maxit,
                     double tol)
{
    double *r = malloc((size_t)total * sizeof *r), *p = malloc((size_t)total * sizeof *p);
    double *q = malloc((size_t)total * sizeof *q);
    if (!r || !p || !q) {
        free(r);
        free(p);
        free(q);
        return -1;
    }
    for (int64_t g = 0; g < total; g++) {
        x[g] = 0;
        r[g] = p[g] = b[g];
    }
    const double bnorm = sqrt(dot(b, b, total));
    double rr = dot(r, r, total);
    int it = 0;
    while (it < maxit && sqrt(rr) > tol * bnorm) {
        serial_apply(p, q, n, dim, total);
        const double alpha = rr / dot(p, q, total);
        for (int64_t g = 0; g < total; g++) {
            x[g] += alpha * p[g];
            r[g] -= alpha * q[g];
        }
        const double rr2 = dot(r, r, total);
        for (int64_t g = 0; g < total; g++)
            p[g] = r[g] + rr2 / rr * p[g];
        rr = rr2;
        it++;
    }
    free(r);
    free(p);
    free(q);
    return it;
}

/* Local CSR over the local array [owned | halo]. */
typedef struct local_matrix {
    int64_t rows;
    int64_t *rowptr;
    int64_t *col;
    double *val;
} local_matrix_t;

static void spmv(const local_matrix_t *m, const double *x, double *y)
{
    for (int64_t i = 0; i < m->rows; i++) {
        double s = 0;
        for (int64_t k = m->rowptr[i]; k < m->rowptr[i + 1]; k++)
            s += m->val[k] * x[m->col[k]];
        y[i] = s;
    }
}

static double pdot(const double *a, const double *b, int64_t m)
{
    double s = dot(a, b, m), all = 0;
    MPI_Allreduce(&s, &all, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return all;
}

/* One line from rank 0, then every rank leaves with status 1. */
static int fail_all(int rank, const char *msg)
{
    if (rank == 0)
        fprintf(stderr, APP ": error: %s\n", msg);
    MPI_Finalize();
    return 1;
}

int main(int argc, char **argv)
{
    /* Options first (no MPI needed): the StarPU transports want another thread level. */
    options_t o;
    char err[4400] = "";
    const int pr = parse(argc, argv, &o, err, sizeof err);
    int provided;
    MPI_Init_thread(&argc, &argv, pr == 0 ? cg_halo_thread_level(o.starpu) : MPI_THREAD_SINGLE,
                    &provided);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (pr == 2) {
        if (rank == 0)
            usage();
        MPI_Finalize();
        return 0;
    }
    if (pr == 1)
        return fail_all(rank, err);
    /* The dump folder is checked on rank 0 before any work; everyone learns the verdict. */
    int dump_ok = 1;
    if (o.dump && rank == 0) {
        struct stat sb;
        if (stat(o.dump, &sb) != 0 && mkdir(o.dump, 0755) != 0)
            dump_ok = 0;
        else if (stat(o.dump, &sb) != 0 || !S_ISDIR(sb.st_mode))
            dump_ok = 0;
    }
    MPI_Bcast(&dump_ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!dump_ok) {
        snprintf(err, sizeof err, "--dump '%s' is not a directory and cannot be created", o.dump);
        return fail_all(rank, err);
    }

    const int64_t n = o.n, total = o.dim == 2 ? n * n : n * n * n;
    /* Permuted rows: row g goes to the block owner of its position in a seeded shuffle. */
    int *owner = malloc((size_t)total * sizeof *owner);
    int64_t *perm = malloc((size_t)total * sizeof *perm);
    if (!owner || !perm)
        return fail_all(rank, "out of memory for the row permutation");
    for (int64_t g = 0; g < total; g++)
        perm[g] = g;
    uint64_t s = 0x9E3779B97F4A7C15ULL ^ o.seed;
    for (int64_t g = total - 1; g > 0; g--) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        const int64_t j = (int64_t)(s % (uint64_t)(g + 1));
        const int64_t t = perm[g];
        perm[g] = perm[j];
        perm[j] = t;
    }
    for (int64_t g = 0; g < total; g++) {
        const int64_t q = total / size, rem = total % size, pos = perm[g];
        owner[g] = (int)(pos < rem * (q + 1) ? pos / (q + 1) : rem + (pos - rem * (q + 1)) / q);
    }
    free(perm);
    starhalo_distribution_t *dist = NULL;
    if (starhalo_distribution_create_general(total, size, owner, &dist) != STARHALO_OK)
        return fail_all(rank, starhalo_last_error_message());
    free(owner);

    /* Required indexes: every neighbour of an owned row. */
    const int64_t ls = starhalo_distribution_local_size(dist, rank);
    int64_t *req = malloc((size_t)(2 * o.dim * ls + 1) * sizeof *req), nreq = 0;
    for (int64_t l = 0; l < ls; l++) {
        int64_t nb[6];
        const int k =
            neighbours(starhalo_distribution_local_to_global(dist, rank, l), n, o.dim, nb);
        for (int j = 0; j < k; j++)
            req[nreq++] = nb[j];
    }
    starhalo_index_plan_t *plan = NULL;
    double t0 = MPI_Wtime();
    starhalo_status_t st = starhalo_index_plan_create_mpi(MPI_COMM_WORLD, dist, req, nreq, &plan);
    const double t_plan = MPI_Wtime() - t0;
    free(req);
    if (st != STARHALO_OK)
        return fail_all(rank, starhalo_last_error_message());
    const int64_t hs = starhalo_index_plan_halo_size(plan);

    /* Local CSR with columns in [owned | halo] numbering. */
    local_matrix_t m = {ls, malloc((size_t)(ls + 1) * sizeof(int64_t)),
                        malloc((size_t)((2 * o.dim + 1) * ls + 1) * sizeof(int64_t)),
                        malloc((size_t)((2 * o.dim + 1) * ls + 1) * sizeof(double))};
    m.rowptr[0] = 0;
    for (int64_t l = 0; l < ls; l++) {
        const int64_t g = starhalo_distribution_local_to_global(dist, rank, l);
        int64_t nb[6], k = m.rowptr[l];
        const int nn = neighbours(g, n, o.dim, nb);
        m.col[k] = l;
        m.val[k++] = 2.0 * o.dim;
        for (int j = 0; j < nn; j++) {
            m.col[k] = starhalo_distribution_owner(dist, nb[j]) == rank
                           ? starhalo_distribution_global_to_local(dist, nb[j])
                           : ls + starhalo_index_plan_global_to_halo(plan, nb[j]);
            m.val[k++] = -1.0;
        }
        m.rowptr[l + 1] = k;
    }

    cg_halo_t *halo = NULL;
    if (cg_halo_create(plan, o.transport, o.starpu, &halo) != STARHALO_OK)
        return fail_all(rank, starhalo_last_error_message());

    double *x = calloc((size_t)ls + 1, sizeof *x), *r = malloc(((size_t)ls + 1) * sizeof *r);
    double *p = cg_halo_array(halo), *q = malloc(((size_t)ls + 1) * sizeof *q);
    double *b = malloc(((size_t)ls + 1) * sizeof *b);
    if (!x || !r || !p || !q || !b || !m.rowptr || !m.col || !m.val)
        return fail_all(rank, "out of memory for the local vectors");
    /* b = A x*, through the same exchange + SpMV. */
    for (int64_t l = 0; l < ls; l++)
        p[l] = exact(starhalo_distribution_local_to_global(dist, rank, l), n);
    int ok = cg_halo_update(halo) == 0;
    spmv(&m, p, b);

    /* CG from x = 0. */
    for (int64_t l = 0; l < ls; l++)
        r[l] = p[l] = b[l];
    const double bnorm = sqrt(pdot(b, b, ls));
    double rr = pdot(r, r, ls), t_update = 0;
    int it = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    const double t_solve0 = MPI_Wtime();
    while (ok && it < o.iterations && sqrt(rr) > o.tol * bnorm) {
        const double tu = MPI_Wtime();
        ok = cg_halo_update(halo) == 0;
        t_update += MPI_Wtime() - tu;
        spmv(&m, p, q);
        const double alpha = rr / pdot(p, q, ls);
        for (int64_t l = 0; l < ls; l++) {
            x[l] += alpha * p[l];
            r[l] -= alpha * q[l];
        }
        const double rr2 = pdot(r, r, ls);
        for (int64_t l = 0; l < ls; l++)
            p[l] = r[l] + rr2 / rr * p[l];
        rr = rr2;
        it++;
    }
    const double t_solve = MPI_Wtime() - t_solve0;
    /* True residual ||b - A x|| / ||b||. */
    for (int64_t l = 0; l < ls; l++)
        p[l] = x[l];
    ok = ok && cg_halo_update(halo) == 0;
    spmv(&m, p, q);
    for (int64_t l = 0; l < ls; l++)
        q[l] = b[l] - q[l];
    const double relres = sqrt(pdot(q, q, ls)) / bnorm;
    int all_ok = 0;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (!all_ok) {
        cg_halo_destroy(halo);
        return fail_all(rank, "a halo update failed during the solve");
    }

    /* Gather (global, value) pairs on rank 0. */
    int lsi = (int)ls, *counts = NULL, *displs = NULL;
    double *xg = NULL, *all_vals = NULL;
    int64_t *glob = malloc(((size_t)ls + 1) * sizeof *glob), *all_glob = NULL;
    for (int64_t l = 0; l < ls; l++)
        glob[l] = starhalo_distribution_local_to_global(dist, rank, l);
    if (rank == 0) {
        counts = malloc((size_t)size * sizeof *counts);
        displs = malloc((size_t)size * sizeof *displs);
        all_vals = malloc((size_t)total * sizeof *all_vals);
        all_glob = malloc((size_t)total * sizeof *all_glob);
        xg = malloc((size_t)total * sizeof *xg);
    }
    MPI_Gather(&lsi, 1, MPI_INT, counts, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (rank == 0)
        for (int i = 0, d = 0; i < size; d += counts[i], i++)
            displs[i] = d;
    MPI_Gatherv(x, lsi, MPI_DOUBLE, all_vals, counts, displs, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    MPI_Gatherv(glob, lsi, MPI_INT64_T, all_glob, counts, displs, MPI_INT64_T, 0, MPI_COMM_WORLD);

    int verdict = 1; /* 1 pass, 0 fail, -1 dump failed */
    if (rank == 0) {
        for (int64_t i = 0; i < total; i++)
            xg[all_glob[i]] = all_vals[i];
        double *bs = malloc((size_t)total * sizeof *bs), *xs = malloc((size_t)total * sizeof *xs);
        double *xe = malloc((size_t)total * sizeof *xe);
        for (int64_t g = 0; g < total; g++)
            xe[g] = exact(g, n);
        serial_apply(xe, bs, n, o.dim, total);
        const int its = serial_cg(bs, xs, n, o.dim, total, o.iterations, o.tol);
        double dmax = 0, emax = 0, xmax = 0;
        for (int64_t g = 0; g < total; g++) {
            dmax = fmax(dmax, fabs(xg[g] - xs[g]));
            emax = fmax(emax, fabs(xg[g] - xe[g]));
            xmax = fmax(xmax, fabs(xe[g]));
        }
        /* Both solves stop at ||r|| <= tol ||b||; their distance is bounded by about
         * cond(A) * tol, and cond(A) ~ 0.4 (n + 1)^2 for the Dirichlet Laplacian. */
        const double bound = fmax(1e-12, 10.0 * o.tol * (double)((n + 1) * (n + 1))) * xmax;
        const int converged = relres <= 10 * o.tol;
        verdict = its >= 0 && dmax <= bound && abs(its - it) <= 2 + it / 20;
        printf(APP ": %lld^%d unknowns, %d ranks, %s, halo %lld on rank 0, %d iterations "
                   "(serial %d), %s, rel. residual %.3e, max|x - x_serial| %.3e (bound %.1e), "
                   "max|x - x*| %.3e, plan build %.3f ms, halo update %.2f us, solve %.3f s: %s\n",
               (long long)n, o.dim, size, cg_halo_name(halo), (long long)hs, it, its,
               converged ? "converged" : "NOT converged", relres, dmax, bound, emax, t_plan * 1e3,
               it ? t_update / it * 1e6 : 0.0, t_solve, verdict ? "OK" : "FAIL");
        if (o.dump) {
            char path[4096 + 16];
            const int64_t shape[3] = {n, n, n};
            snprintf(path, sizeof path, "%s/solution.npy", o.dump);
            if (starhalo_app_npy_write(path, STARHALO_FLOAT64, o.dim, shape, xg) != 0) {
                snprintf(err, sizeof err, "cannot write '%s': %s", path, strerror(errno));
                verdict = -1;
            }
        }
        free(bs);
        free(xs);
        free(xe);
    }
    MPI_Bcast(&verdict, 1, MPI_INT, 0, MPI_COMM_WORLD);
    free(counts);
    free(displs);
    free(all_vals);
    free(all_glob);
    free(glob);
    free(xg);
    free(x);
    free(r);
    free(q);
    free(b);
    free(m.rowptr);
    free(m.col);
    free(m.val);
    cg_halo_destroy(halo); /* frees p */
    starhalo_index_plan_destroy(plan);
    starhalo_distribution_destroy(dist);
    if (verdict < 0)
        return fail_all(rank, err);
    MPI_Finalize();
    return verdict ? 0 : 1;
}
