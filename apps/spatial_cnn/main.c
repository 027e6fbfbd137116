/* SPDX-License-Identifier: MIT */
/**
 * @file main.c
 * @brief spatial_cnn: train conv3x3 (C0->C1) -> ReLU -> conv3x3 (C1->C2) with SGD on one
 * image batch split over spatial parts (starhalo fields, StarPU tasks, differentiable halo
 * exchanges); prints loss and time per step; --validate compares the output, the input
 * gradient, the weight gradients and the losses with a single-rank whole-image reference.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <starhalo/starhalo_npy.h>

#include "appkit.h"
#include "spatial_cnn.h"

#define TOL 1e-5

static const char usage[] =
    "usage: spatial_cnn [--image-size S] [--channels C0,C1,C2] [--batch-size N]\n"
    "                   [--num-spatial-parts P] [--parts-per-rank Q]\n"
    "                   [--slice-method vertical|horizontal|square] [--steps K] [--lr X]\n"
    "                   [--mode task|bsp] [--validate] [--dump DIR]\n"
    "                   [--checkpoint FILE [--checkpoint-every K]] [--restart FILE]\n"
    "                   (--steps counts from the initial weights: a restart resumes at the\n"
    "                   file's step)\n"
    "                   (default lr: 0.25 / (batch * S * S), the loss being a sum over cells)\n";

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    const long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Identical on every rank: 0 ok, 1 error (err filled), 2 help. */
static int parse(int argc, char **argv, int nranks, cnn_opts_t *o, char *err, size_t n)
{
    static const struct option lo[] = {{"image-size", required_argument, 0, 's'},
                                       {"channels", required_argument, 0, 'c'},
                                       {"batch-size", required_argument, 0, 'b'},
                                       {"num-spatial-parts", required_argument, 0, 'p'},
                                       {"parts-per-rank", required_argument, 0, 'q'},
                                       {"slice-method", required_argument, 0, 'm'},
                                       {"steps", required_argument, 0, 'k'},
                                       {"lr", required_argument, 0, 'l'},
                                       {"validate", no_argument, 0, 'v'},
                                       {"dump", required_argument, 0, 'd'},
                                       {"mode", required_argument, 0, 'M'},
                                       {"checkpoint", required_argument, 0, 'C'},
                                       {"checkpoint-every", required_argument, 0, 'E'},
                                       {"restart", required_argument, 0, 'R'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    *o = (cnn_opts_t){.size = 64,
                      .ch = {3, 8, 2},
                      .batch = 1,
                      .parts_per_rank = 0,
                      .split = STARHALO_SPLIT_HORIZONTAL,
                      .steps = 5,
                      .lr = -1.0};
    int ppr_given = 0, c, li;
    long v;
    opterr = 0;
    optind = 1;
    while ((li = -1, c = getopt_long(argc, argv, "", lo, &li)) != -1) {
        const char *name = li >= 0 ? lo[li].name : (optind > 1 ? argv[optind - 1] : "");
        if (c == 's' || c == 'b' || c == 'p' || c == 'q' || c == 'k') {
            if (parse_int(optarg, 1, c == 's' ? 1L << 16 : 1L << 20, &v)) {
                snprintf(err, n, "invalid value '%s' for --%s (expected a positive integer)",
                         optarg, name);
                return 1;
            }
            if (c == 's')
                o->size = v;
            else if (c == 'b')
                o->batch = v;
            else if (c == 'p')
                o->parts = (int)v;
            else if (c == 'q')
                o->parts_per_rank = (int)v, ppr_given = 1;
            else
                o->steps = (int)v;
        } else if (c == 'c') {
            long ch[3];
            char buf[64], *save = NULL, *tok;
            snprintf(buf, sizeof buf, "%s", optarg);
            int k = 0;
            for (tok = strtok_r(buf, ",", &save); tok && k < 4; tok = strtok_r(NULL, ",", &save))
                if (k >= 3 || parse_int(tok, 1, 4096, &ch[k++])) {
                    k = -1;
                    break;
                }
            if (k != 3) {
                snprintf(err, n,
                         "invalid value '%s' for --channels (expected C0,C1,C2, each 1..4096)",
                         optarg);
                return 1;
            }
            for (int i = 0; i < 3; i++)
                o->ch[i] = ch[i];
        } else if (c == 'm') {
            if (starhalo_split_parse(optarg, &o->split) != STARHALO_OK ||
                o->split == STARHALO_SPLIT_GRID) {
                snprintf(err, n,
                         "unknown slice method '%s' (expected vertical, horizontal or square)",
                         optarg);
                return 1;
            }
        } else if (c == 'l') {
            char *end = NULL;
            errno = 0;
            o->lr = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(o->lr >= 0.0) || !isfinite(o->lr)) {
                snprintf(err, n, "invalid value '%s' for --lr (expected a number >= 0)", optarg);
                return 1;
            }
        } else if (c == 'v') {
            o->validate = 1;
        } else if (c == 'd') {
            o->dump = optarg;
        } else if (c == 'M') {
            if (starhalo_step_mode_parse(optarg, &o->mode) != STARHALO_OK) {
                snprintf(err, n, "unknown mode '%s' (expected task or bsp)", optarg);
                return 1;
            }
        } else if (c == 'C' || c == 'R') {
            if (!*optarg) {
                snprintf(err, n, "empty file name for --%s", name);
                return 1;
            }
            *(c == 'C' ? &o->checkpoint : &o->restart) = optarg;
        } else if (c == 'E') {
            if (parse_int(optarg, 0, 1L << 20, &v)) {
                snprintf(err, n, "invalid value '%s' for --checkpoint-every (expected >= 0)",
                         optarg);
                return 1;
            }
            o->checkpoint_every = (int)v;
        } else if (c == 'h') {
            return 2;
        } else {
            snprintf(err, n, "unknown or incomplete option '%s'",
                     optind > 1 ? argv[optind - 1] : "?");
            return 1;
        }
    }
    if (optind < argc) {
        snprintf(err, n, "unexpected argument '%s'", argv[optind]);
        return 1;
    }
    if (o->checkpoint_every && !o->checkpoint) {
        snprintf(err, n, "--checkpoint-every needs --checkpoint FILE");
        return 1;
    }
    if (o->restart && o->validate) {
        snprintf(err, n, "--validate compares from the initial weights: not with --restart");
        return 1;
    }
    if (o->lr < 0.0) /* the loss is a sum over cells: scale the step with their number */
        o->lr = 0.25 / ((double)o->batch * (double)o->size * (double)o->size);
    if (!ppr_given)
        o->parts_per_rank = o->parts ? o->parts / nranks : 1;
    if (!o->parts)
        o->parts = o->parts_per_rank * nranks;
    if (o->parts != o->parts_per_rank * nranks) {
        snprintf(err, n, "--num-spatial-parts %d is not ranks (%d) x parts per rank (%d)", o->parts,
                 nranks, o->parts_per_rank);
        return 1;
    }
    if (o->parts_per_rank > 256) {
        snprintf(err, n, "--parts-per-rank %d is more than 256", o->parts_per_rank);
        return 1;
    }
    return 0;
}

/* Check the decomposition before any communication (pure: same verdict on every rank). */
static int check_decomp(const cnn_opts_t *o, char *err, size_t n)
{
    starhalo_decomp_desc_t d;
    cnn_decomp_desc(o, o->ch[0], &d);
    starhalo_decomp_t *dec = NULL;
    const starhalo_status_t rc = starhalo_decomp_create(&d, &dec);
    starhalo_decomp_destroy(dec);
    if (rc != STARHALO_OK)
        snprintf(err, n, "%s", starhalo_last_error_message());
    return rc != STARHALO_OK;
}

static double max_rel(const double *ref, const double *got, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        num = fmax(num, fabs(ref[i] - got[i]));
        den = fmax(den, fabs(ref[i]));
    }
    return num / (den > 0.0 ? den : 1.0);
}

static double max_rel_f(const float *ref, const float *got, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        num = fmax(num, fabs((double)ref[i] - got[i]));
        den = fmax(den, fabs((double)ref[i]));
    }
    return num / (den > 0.0 ? den : 1.0);
}

typedef struct run {
    int rank;
    cnn_opts_t o;
    cnn_step_out_t dist, ref;
    cnn_ref_t *r;
    double worst;
} run_t;

static int alloc_out(const cnn_opts_t *o, cnn_step_out_t *s, int images)
{
    const size_t img = (size_t)(o->batch * o->size * o->size);
    s->gw1 = malloc(sizeof(double) * (size_t)(o->ch[1] * o->ch[0] * 9));
    s->gw2 = malloc(sizeof(double) * (size_t)(o->ch[2] * o->ch[1] * 9));
    s->y = images ? malloc(sizeof(float) * img * (size_t)o->ch[2]) : NULL;
    s->dx = images ? malloc(sizeof(float) * img * (size_t)o->ch[0]) : NULL;
    return s->gw1 && s->gw2 && (!images || (s->y && s->dx));
}

static void free_out(cnn_step_out_t *s)
{
    free(s->gw1), free(s->gw2), free(s->y), free(s->dx);
}

/* Rank 0 of --validate: the reference step and the comparison; returns 0 when within TOL. */
static int compare_step(run_t *t, int step)
{
    cnn_ref_step(t->r, &t->ref);
    const cnn_opts_t *o = &t->o;
    const size_t img = (size_t)(o->batch * o->size * o->size);
    const double e[5] = {fabs(t->ref.loss - t->dist.loss) / fmax(fabs(t->ref.loss), 1e-30),
                         step == 0 ? max_rel_f(t->ref.y, t->dist.y, img * (size_t)o->ch[2]) : 0.0,
                         step == 0 ? max_rel_f(t->ref.dx, t->dist.dx, img * (size_t)o->ch[0]) : 0.0,
                         max_rel(t->ref.gw1, t->dist.gw1, (size_t)(o->ch[1] * o->ch[0] * 9)),
                         max_rel(t->ref.gw2, t->dist.gw2, (size_t)(o->ch[2] * o->ch[1] * 9))};
    double w = 0.0;
    for (int i = 0; i < 5; i++)
        w = fmax(w, e[i]);
    t->worst = fmax(t->worst, w);
    printf("validate step %d: rel err loss %.2e", step, e[0]);
    if (step == 0)
        printf(" output %.2e input-grad %.2e", e[1], e[2]);
    printf(" grad-w1 %.2e grad-w2 %.2e (reference loss %.9g)\n", e[3], e[4], t->ref.loss);
    return w <= TOL ? 0 : 1;
}

static int dump(const run_t *t, cnn_net_t *net, const float *y)
{
    const cnn_opts_t *o = &t->o;
    const size_t n1 = (size_t)(o->ch[1] * o->ch[0] * 9), n2 = (size_t)(o->ch[2] * o->ch[1] * 9);
    float *w1 = malloc(sizeof(float) * n1), *w2 = malloc(sizeof(float) * n2);
    int rc = (!w1 || !w2 || cnn_net_weights(net, w1, w2) != STARHALO_OK) ? -1 : 0;
    if (rc == 0 && t->rank == 0) {
        char path[4096];
        const int64_t s1[4] = {o->ch[1], o->ch[0], 3, 3}, s2[4] = {o->ch[2], o->ch[1], 3, 3};
        const int64_t sy[4] = {o->batch, o->ch[2], o->size, o->size};
        if (mkdir(o->dump, 0777) != 0 && errno != EEXIST)
            rc = -1;
        snprintf(path, sizeof path, "%s/w1.npy", o->dump);
        rc = rc ? rc : starhalo_app_npy_write(path, STARHALO_FLOAT32, 4, s1, w1);
        snprintf(path, sizeof path, "%s/w2.npy", o->dump);
        rc = rc ? rc : starhalo_app_npy_write(path, STARHALO_FLOAT32, 4, s2, w2);
        snprintf(path, sizeof path, "%s/output.npy", o->dump);
        rc = rc ? rc : starhalo_app_npy_write(path, STARHALO_FLOAT32, 4, sy, y);
        if (rc)
            fprintf(stderr, "spatial_cnn: error: cannot write .npy files in '%s'\n", o->dump);
    }
    free(w1), free(w2);
    return rc ? 1 : 0;
}

/* The weights checkpoint: one float32 vector, w1 (C1 x C0 x 3 x 3) then w2, C order. */
static starhalo_npy_header_t weights_header(const cnn_opts_t *o)
{
    starhalo_npy_header_t h;
    memset(&h, 0, sizeof h);
    h.dtype = STARHALO_FLOAT32;
    h.ndims = 1;
    h.shape[0] = o->ch[1] * o->ch[0] * 9 + o->ch[2] * o->ch[1] * 9;
    return h;
}

/* Rank 0 did the file work; every rank returns its status and message. */
static starhalo_status_t from_rank0(MPI_Comm comm, int rank, starhalo_status_t rc)
{
    struct {
        int rc;
        char msg[480];
    } m = {(int)rc, ""};
    if (rank == 0)
        snprintf(m.msg, sizeof m.msg, "%s", starhalo_last_error_message());
    if (MPI_Bcast(&m, (int)sizeof m, MPI_BYTE, 0, comm) != MPI_SUCCESS)
        return starhalo_error_set(STARHALO_ERR_MPI, "MPI_Bcast of a status");
    return rank == 0 ? rc : starhalo_error_set((starhalo_status_t)m.rc, "%s", m.msg);
}

/* The weights are replicated: rank 0 saves them (crash-safe, starhalo_npy_save). */
static starhalo_status_t checkpoint(run_t *t, cnn_net_t *net, MPI_Comm comm, int step)
{
    starhalo_npy_header_t h = weights_header(&t->o);
    const size_t n1 = (size_t)(t->o.ch[1] * t->o.ch[0] * 9);
    float *w = malloc(sizeof(float) * (size_t)h.shape[0]);
    starhalo_status_t rc = w ? cnn_net_weights(net, w, w + n1)
                             : starhalo_error_set(STARHALO_ERR_NO_MEMORY, "checkpoint buffer");
    if (rc == STARHALO_OK && t->rank == 0) {
        h.step = step;
        rc = starhalo_npy_save(t->o.checkpoint, &h, w);
        if (rc == STARHALO_OK)
            printf("spatial_cnn: checkpoint step %d -> %s\n", step, t->o.checkpoint);
    }
    free(w);
    return from_rank0(comm, t->rank, rc);
}

/* Rank 0 loads and verifies the file, every rank gets the weights and the step: any rank
 * count restarts from any other's checkpoint. */
static starhalo_status_t restart(run_t *t, cnn_net_t *net, MPI_Comm comm, int *start)
{
    const starhalo_npy_header_t want = weights_header(&t->o);
    const size_t n1 = (size_t)(t->o.ch[1] * t->o.ch[0] * 9);
    float *w = malloc(sizeof(float) * (size_t)want.shape[0]);
    starhalo_npy_header_t got;
    memset(&got, 0, sizeof got);
    starhalo_status_t rc =
        w ? STARHALO_OK : starhalo_error_set(STARHALO_ERR_NO_MEMORY, "restart buffer");
    if (rc == STARHALO_OK && t->rank == 0) {
        rc = starhalo_npy_load(t->o.restart, &want, &got, w);
        /* --dump writes the last step's output: at least one step must run. */
        const int last = t->o.dump ? t->o.steps - 1 : t->o.steps;
        if (rc == STARHALO_OK && (got.step < 0 || got.step > last))
            rc = starhalo_error_set(STARHALO_ERR_INVALID_ARG,
                                    "'%s' holds step %lld, outside [0, %d] (--steps %d%s)",
                                    t->o.restart, (long long)got.step, last, t->o.steps,
                                    t->o.dump ? ", --dump needs a step to run" : "");
    }
    rc = from_rank0(comm, t->rank, rc);
    if (rc == STARHALO_OK && (MPI_Bcast(w, (int)want.shape[0], MPI_FLOAT, 0, comm) != MPI_SUCCESS ||
                              MPI_Bcast(&got.step, 1, MPI_INT64_T, 0, comm) != MPI_SUCCESS))
        rc = starhalo_error_set(STARHALO_ERR_MPI, "restart: MPI_Bcast");
    if (rc == STARHALO_OK)
        rc = cnn_net_set_weights(net, w, w + n1);
    if (rc == STARHALO_OK) {
        *start = (int)got.step;
        if (t->rank == 0)
            printf("spatial_cnn: restarting from '%s' at step %d\n", t->o.restart, *start);
    }
    free(w);
    return rc;
}

static int train(run_t *t, starhalo_context_t *ctx)
{
    cnn_net_t *net = NULL;
    starhalo_status_t rc = cnn_net_create(ctx, &t->o, &net);
    const int images = t->o.validate || t->o.dump;
    int bad = 0;
    if (rc == STARHALO_OK && !alloc_out(&t->o, &t->dist, images))
        rc = starhalo_error_set(STARHALO_ERR_NO_MEMORY, "output buffers");
    if (rc == STARHALO_OK && t->rank == 0 && t->o.validate &&
        (!alloc_out(&t->o, &t->ref, 1) || !(t->r = cnn_ref_create(&t->o))))
        rc = starhalo_error_set(STARHALO_ERR_NO_MEMORY, "reference buffers");
    if (rc == STARHALO_OK && t->rank == 0)
        printf("spatial_cnn: image %lldx%lld batch %lld channels %lld,%lld,%lld, %d parts "
               "(%s, %d per rank), %d ranks x %d CPU workers, lr %g, mode %s\n",
               (long long)t->o.size, (long long)t->o.size, (long long)t->o.batch,
               (long long)t->o.ch[0], (long long)t->o.ch[1], (long long)t->o.ch[2], t->o.parts,
               starhalo_split_name(t->o.split), t->o.parts_per_rank, starhalo_context_size(ctx),
               starhalo_context_ncpus(ctx), t->o.lr,
               t->o.mode == STARHALO_STEP_BSP ? "bsp" : "task");
    int start = 0;
    if (rc == STARHALO_OK && t->o.restart)
        rc = restart(t, net, starhalo_context_comm(ctx), &start);
    double total = 0.0;
    for (int s = start; s < t->o.steps && rc == STARHALO_OK; s++) {
        const int gather = t->o.validate ? s == 0 : (t->o.dump && s == t->o.steps - 1);
        MPI_Barrier(starhalo_context_comm(ctx));
        const double t0 = MPI_Wtime();
        rc = cnn_net_step(net, gather, &t->dist);
        if (rc == STARHALO_OK) /* the last reverse exchange may still be in flight */
            rc = starhalo_context_wait_all(ctx);
        const double dt = MPI_Wtime() - t0;
        total += s > start || start > 0 ? dt : 0.0; /* the first step of a run warms up */
        if (rc == STARHALO_OK && t->rank == 0) {
            printf("step %d: loss %.9g time %.4f s\n", s, t->dist.loss, dt);
            if (t->o.validate)
                bad |= compare_step(t, s);
        }
        const int done = s + 1;
        if (rc == STARHALO_OK && t->o.checkpoint &&
            ((t->o.checkpoint_every && done % t->o.checkpoint_every == 0) || done == t->o.steps))
            rc = checkpoint(t, net, starhalo_context_comm(ctx), done);
    }
    if (rc == STARHALO_OK && t->o.checkpoint && start == t->o.steps)
        rc = checkpoint(t, net, starhalo_context_comm(ctx), start); /* nothing left to run */
    const int first_timed = start > 0 ? start : 1;
    if (rc == STARHALO_OK && t->rank == 0 && t->o.steps > first_timed)
        printf("mean time per step (steps %d..%d): %.4f s\n", first_timed, t->o.steps - 1,
               total / (t->o.steps - first_timed));
    if (rc == STARHALO_OK && t->rank == 0 && t->o.validate) {
        const size_t n1 = (size_t)(t->o.ch[1] * t->o.ch[0] * 9);
        const size_t n2 = (size_t)(t->o.ch[2] * t->o.ch[1] * 9);
        float *w1 = malloc(sizeof(float) * n1), *w2 = malloc(sizeof(float) * n2);
        const float *r1, *r2;
        cnn_ref_weights(t->r, &r1, &r2);
        if (w1 && w2 && cnn_net_weights(net, w1, w2) == STARHALO_OK) {
            const double e = fmax(max_rel_f(r1, w1, n1), max_rel_f(r2, w2, n2));
            printf("validate final weights: rel err %.2e\n", e);
            bad |= e > TOL;
            t->worst = fmax(t->worst, e);
        } else
            bad = 1;
        free(w1), free(w2);
        printf("validate: %s (worst rel err %.2e, tolerance %.0e)\n", bad ? "FAILED" : "passed",
               t->worst, TOL);
    }
    if (rc == STARHALO_OK && t->o.dump) {
        /* The output of the last step was gathered when not validating; with --validate the
         * dump holds the final weights and the first step's output. */
        bad |= dump(t, net, t->dist.y);
    }
    if (rc != STARHALO_OK && t->rank == 0)
        fprintf(stderr, "spatial_cnn: error: %s: %s\n", starhalo_err_name(rc),
                starhalo_last_error_message());
    cnn_net_destroy(net);
    cnn_ref_destroy(t->r);
    free_out(&t->dist);
    free_out(&t->ref);
    return rc != STARHALO_OK || bad;
}

int main(int argc, char **argv)
{
    int provided = 0, rank = 0, nranks = 1;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    run_t t;
    memset(&t, 0, sizeof t);
    t.rank = rank;
    char err[512] = "";
    int prc = parse(argc, argv, nranks, &t.o, err, sizeof err);
    if (prc == 0 && provided < MPI_THREAD_MULTIPLE) {
        snprintf(err, sizeof err, "MPI_THREAD_MULTIPLE not available (got %d)", provided);
        prc = 1;
    }
    if (prc == 0)
        prc = check_decomp(&t.o, err, sizeof err);
    /* Ranks agree on the verdict (MPI_THREAD_MULTIPLE may differ in principle). */
    int worst = prc;
    MPI_Allreduce(&prc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (worst) {
        if (rank == 0)
            fputs(worst == 2 && prc == 2 ? usage : "", stdout);
        if (rank == 0 && prc == 1)
            fprintf(stderr, "spatial_cnn: error: %s\n", err);
        MPI_Finalize();
        return worst == 2 ? 0 : 1;
    }
    starhalo_context_conf_t cc;
    starhalo_context_conf_init(&cc);
    starhalo_context_t *ctx = NULL;
    int status = 0;
    if (starhalo_context_create(&cc, &ctx) != STARHALO_OK) {
        if (rank == 0)
            fprintf(stderr, "spatial_cnn: error: %s\n", starhalo_last_error_message());
        status = 1;
    } else {
        status = train(&t, ctx);
        starhalo_context_destroy(ctx);
    }
    int all = 0;
    MPI_Allreduce(&status, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return all ? 1 : 0;
}
