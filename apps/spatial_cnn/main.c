/* SPDX-License-Identifier: MIT */
/**
 * @file main.c
 * @brief spatial_cnn: train a CNN (a --net FILE layer list, or the two-layer net of
 * --channels) with momentum SGD on one image batch split over spatial parts (starhalo fields,
 * StarPU tasks, differentiable halo exchanges); prints loss and time per step; --validate
 * compares the losses, every parameter gradient, the output and the input gradient with the
 * single-rank whole-image reference (ref.c), --dump writes what another framework needs to
 * retrain the same net from the same start.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <starhalo/starhalo_npy.h>

#include "appkit.h"
#include "spatial_cnn.h"

static const char usage[] =
    "usage: spatial_cnn [--net FILE [--input-channels C0] | --channels C0,C1,C2]\n"
    "                   [--image-size S] [--batch-size N] | [--input FILE.npy]\n"
    "                   [--num-spatial-parts P] [--parts-per-rank Q]\n"
    "                   [--slice-method vertical|horizontal|square] [--steps K] [--lr X]\n"
    "                   [--momentum M] [--mode task|bsp] [--validate [--tolerance E]]\n"
    "                   [--dump DIR]\n"
    "                   [--checkpoint FILE [--checkpoint-every K]] [--restart FILE]\n"
    "                   (--steps counts from the initial weights: a restart resumes at the\n"
    "                   file's step)\n"
    "                   (default lr: 0.25 / (batch * S * S) for an MSE net, the loss being a\n"
    "                   sum over cells; 0.05 for a classifier)\n";

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
                                       {"net", required_argument, 0, 'n'},
                                       {"input-channels", required_argument, 0, 'i'},
                                       {"momentum", required_argument, 0, 'u'},
                                       {"tolerance", required_argument, 0, 't'},
                                       {"input", required_argument, 0, 'I'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    *o = (cnn_opts_t){.train = {.size = 64, .batch = 1, .lr = -1.0, .bn_eps = 1e-5},
                      .ch = {3, 8, 2},
                      .parts_per_rank = 0,
                      .split = STARHALO_SPLIT_HORIZONTAL,
                      .steps = 5,
                      .tolerance = 1e-4};
    int ppr_given = 0, channels_given = 0, shape_given = 0, c, li;
    long in_channels = 0;
    long v;
    opterr = 0;
    optind = 1;
    while ((li = -1, c = getopt_long(argc, argv, "", lo, &li)) != -1) {
        const char *name = li >= 0 ? lo[li].name : (optind > 1 ? argv[optind - 1] : "");
        if (c == 's' || c == 'b' || c == 'p' || c == 'q' || c == 'k' || c == 'i') {
            if (parse_int(optarg, 1, c == 's' ? 1L << 16 : c == 'i' ? 4096 : 1L << 20, &v)) {
                snprintf(err, n, "invalid value '%s' for --%s (expected a positive integer)",
                         optarg, name);
                return 1;
            }
            if (c == 's')
                o->train.size = v, shape_given = 1;
            else if (c == 'b')
                o->train.batch = v, shape_given = 1;
            else if (c == 'i')
                in_channels = v;
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
            channels_given = 1;
        } else if (c == 'm') {
            if (starhalo_split_parse(optarg, &o->split) != STARHALO_OK ||
                o->split == STARHALO_SPLIT_GRID) {
                snprintf(err, n,
                         "unknown slice method '%s' (expected vertical, horizontal or square)",
                         optarg);
                return 1;
            }
        } else if (c == 'l' || c == 'u' || c == 't') {
            char *end = NULL;
            errno = 0;
            const double x = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(x >= 0.0) || !isfinite(x) ||
                (c == 'u' && x >= 1.0)) {
                snprintf(err, n, "invalid value '%s' for --%s (expected a number >= 0%s)", optarg,
                         name, c == 'u' ? " and < 1" : "");
                return 1;
            }
            *(c == 'l' ? &o->train.lr : c == 'u' ? &o->train.momentum : &o->tolerance) = x;
        } else if (c == 'n') {
            o->net_file = optarg;
        } else if (c == 'I') {
            o->input = optarg;
            if (!*optarg) {
                snprintf(err, n, "empty file name for --input");
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
    if (o->net_file && channels_given) {
        snprintf(err, n,
                 "--channels sets the built-in two-layer net: not with --net "
                 "(use --input-channels)");
        return 1;
    }
    if (in_channels && !o->net_file) {
        snprintf(err, n, "--input-channels needs --net FILE (else --channels C0,C1,C2)");
        return 1;
    }
    o->train.channels = o->net_file ? (in_channels ? in_channels : 3) : o->ch[0];
    if (o->input && (shape_given || in_channels)) {
        snprintf(err, n,
                 "--input sets the batch, the channels and the image size: not with "
                 "--batch-size, --image-size or --input-channels");
        return 1;
    }
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

/* --input: a NumPy float32 array N x C x S x S (any .npy that NumPy writes, C order). Every
 * rank reads the whole file, so every rank reaches the same verdict. */
static int read_input(cnn_opts_t *o, char *err, size_t n)
{
    FILE *f = fopen(o->input, "rb");
    if (!f) {
        snprintf(err, n, "--input '%s': cannot open: %s", o->input, strerror(errno));
        return 1;
    }
    char head[STARHALO_NPY_MAX_HEADER];
    const size_t len = fread(head, 1, sizeof head, f);
    starhalo_npy_header_t h;
    int rc = starhalo_npy_header_parse(head, len, &h) != STARHALO_OK;
    if (rc)
        snprintf(err, n, "--input '%s': %s", o->input, starhalo_last_error_message());
    else if (h.dtype != STARHALO_FLOAT32 || h.ndims != 4 || h.shape[2] != h.shape[3] ||
             h.shape[0] < 1 || h.shape[1] < 1 || h.shape[2] < 1 || h.shape[1] > 4096 ||
             h.shape[2] > (1 << 16)) {
        snprintf(err, n,
                 "--input '%s': expected a float32 array N x C x S x S (C <= 4096, "
                 "S <= 65536)",
                 o->input);
        rc = 1;
    } else if (!o->net_file && o->ch[0] != h.shape[1]) {
        snprintf(err, n, "--input '%s' has %lld channels, --channels says %lld", o->input,
                 (long long)h.shape[1], (long long)o->ch[0]);
        rc = 1;
    }
    const size_t count = rc ? 0 : (size_t)(h.shape[0] * h.shape[1] * h.shape[2] * h.shape[3]);
    if (!rc && !(o->input_data = malloc(sizeof(float) * count))) {
        snprintf(err, n, "--input '%s': out of memory for %zu values", o->input, count);
        rc = 1;
    }
    if (!rc && (fseek(f, (long)h.data_offset, SEEK_SET) != 0 ||
                fread(o->input_data, sizeof(float), count, f) != count)) {
        snprintf(err, n, "--input '%s': truncated (%zu values expected)", o->input, count);
        rc = 1;
    }
    fclose(f);
    if (!rc) {
        o->train.batch = h.shape[0];
        o->train.channels = o->ch[0] = h.shape[1];
        o->train.size = h.shape[2];
    }
    return rc;
}

/* The net (file or built-in), its shapes for this input, the default lr; then the input
 * decomposition. Pure: the same verdict on every rank. */
static int load_net(cnn_opts_t *o, char *err, size_t n)
{
    if (o->input && read_input(o, err, n))
        return 1;
    static cnn_netdesc_t net;
    o->net = &net;
    const char *name = o->net_file ? o->net_file : "two-layer";
    if (o->net_file) {
        if (cnn_net_parse_file(o->net_file, &net, err, n) != 0)
            return 1;
    } else
        cnn_net_two_layer(o->ch[1], o->ch[2], &net);
    if (cnn_net_infer(&net, name, o->train.channels, o->train.size, o->train.size, err, n) != 0)
        return 1;
    if (o->train.lr < 0.0) /* an MSE loss is a sum over cells: scale the step with them */
        o->train.lr =
            net.classify
                ? 0.05
                : 0.25 / ((double)o->train.batch * (double)o->train.size * (double)o->train.size);
    starhalo_decomp_desc_t d;
    cnn_decomp_desc(o, o->train.channels, 0, &d);
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
    cnn_step_out_t dist;
    cnn_ref_t *r;
    double worst;
    double *losses; /**< one per step (--dump) */
    float *init;    /**< the initial parameters (--dump) */
} run_t;

static int64_t input_count(const cnn_opts_t *o)
{
    return o->train.batch * o->train.channels * o->train.size * o->train.size;
}

/* The index of the layer whose output the net's output is (cnn_ref_activation). */
static int output_layer(const cnn_opts_t *o)
{
    return o->net->classify ? o->net->nlayers - 2 : o->net->nlayers - 1;
}

/* Rank 0 of --validate: the reference step and the comparison; returns 0 when within the
 * tolerance. */
static int compare_step(run_t *t, cnn_net_t *net, int step)
{
    const double ref_loss = cnn_ref_step(t->r);
    const cnn_netdesc_t *d = t->o.net;
    double e_loss = fabs(ref_loss - t->dist.loss) / fmax(fabs(ref_loss), 1e-30), e_grad = 0.0;
    int worst_l = -1, worst_p = 0;
    for (int l = 0; l < d->nlayers; l++) {
        const char *names[CNN_MAX_PARAMS];
        int64_t counts[CNN_MAX_PARAMS];
        const int np = cnn_layer_params(&d->layers[l], names, counts);
        for (int p = 0; p < np; p++) {
            const double e =
                max_rel(cnn_ref_grad(t->r, l, p), t->dist.grad + cnn_net_param_offset(net, l, p),
                        (size_t)counts[p]);
            if (e > e_grad || worst_l < 0)
                e_grad = e, worst_l = l, worst_p = p;
        }
    }
    double e_out = 0.0, e_dx = 0.0;
    if (step == 0) {
        e_out = max_rel_f(cnn_ref_activation(t->r, output_layer(&t->o)), t->dist.output,
                          (size_t)cnn_net_output_count(net));
        e_dx = max_rel_f(cnn_ref_input_grad(t->r), t->dist.dx, (size_t)input_count(&t->o));
    }
    /* The gradients get 10x the tolerance: a small gradient late in training is the
     * difference of large terms (batch norm's backward), so its float rounding stands out;
     * the parameters they lead to are held to the tolerance itself (compare_final). */
    const double w = fmax(fmax(e_loss, e_grad / 10.0), fmax(e_out, e_dx));
    t->worst = fmax(t->worst, w);
    printf("validate step %d: rel err loss %.2e", step, e_loss);
    if (step == 0)
        printf(" output %.2e input-grad %.2e", e_out, e_dx);
    if (worst_l >= 0) {
        const char *names[CNN_MAX_PARAMS];
        int64_t counts[CNN_MAX_PARAMS];
        cnn_layer_params(&d->layers[worst_l], names, counts);
        printf(" grads %.2e (worst: layer %d %s; bound 10x)", e_grad, worst_l, names[worst_p]);
    }
    printf(" (reference loss %.9g)\n", ref_loss);
    return w <= t->o.tolerance ? 0 : 1;
}

/* Final parameters against the reference's. */
static int compare_final(run_t *t, cnn_net_t *net)
{
    const cnn_netdesc_t *d = t->o.net;
    float *p = malloc(sizeof(float) * (size_t)(cnn_net_param_count(net) + 1));
    if (!p)
        return 1;
    cnn_net_params(net, p, NULL);
    double e = 0.0;
    for (int l = 0; l < d->nlayers; l++) {
        const char *names[CNN_MAX_PARAMS];
        int64_t counts[CNN_MAX_PARAMS];
        const int np = cnn_layer_params(&d->layers[l], names, counts);
        for (int q = 0; q < np; q++)
            e = fmax(e, max_rel_f(cnn_ref_param(t->r, l, q), p + cnn_net_param_offset(net, l, q),
                                  (size_t)counts[q]));
    }
    free(p);
    printf("validate final parameters: rel err %.2e\n", e);
    t->worst = fmax(t->worst, e);
    return e > t->o.tolerance;
}

static int write_npy(const char *dir, const char *name, starhalo_dtype_t dt, int nd,
                     const int64_t *shape, const void *data)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    return starhalo_app_npy_write(path, dt, nd, shape, data);
}

/* The parameters of every layer, as p<layer>_<name>_<suffix>.npy. */
static int write_params(const run_t *t, cnn_net_t *net, const float *p, const char *suffix)
{
    const cnn_netdesc_t *d = t->o.net;
    int rc = 0;
    for (int l = 0; l < d->nlayers && !rc; l++) {
        const cnn_layer_desc_t *ld = &d->layers[l];
        const char *names[CNN_MAX_PARAMS];
        int64_t counts[CNN_MAX_PARAMS];
        const int np = cnn_layer_params(ld, names, counts);
        for (int q = 0; q < np && !rc; q++) {
            int64_t shape[4] = {counts[q], 1, 1, 1};
            int nd = 1;
            if (ld->op == CNN_CONV && q == 0)
                nd = 4, shape[0] = ld->cout, shape[1] = ld->in_c / ld->groups,
                shape[2] = shape[3] = ld->kernel;
            else if (ld->op == CNN_FC && q == 0)
                nd = 2, shape[0] = ld->nclasses, shape[1] = ld->in_c;
            char name[128];
            snprintf(name, sizeof name, "p%d_%s_%s", l, names[q], suffix);
            rc = write_npy(t->o.dump, name, STARHALO_FLOAT32, nd, shape,
                           p + cnn_net_param_offset(net, l, q));
        }
    }
    return rc;
}

/* --dump: input, labels or target, initial and final parameters, losses, the output. */
static int dump(const run_t *t, cnn_net_t *net, int steps)
{
    const cnn_opts_t *o = &t->o;
    const cnn_netdesc_t *d = o->net;
    const cnn_layer_desc_t *last = &d->layers[d->nlayers - 1];
    const int64_t nt = o->train.batch * last->out_c * last->out_h * last->out_w;
    float *x = malloc(sizeof(float) * (size_t)input_count(o));
    float *tg = d->classify ? NULL : malloc(sizeof(float) * (size_t)nt);
    float *p = malloc(sizeof(float) * (size_t)cnn_net_param_count(net) + 1);
    int rc = !x || (!d->classify && !tg) || !p;
    if (!rc)
        rc = cnn_net_gather_input(net, 0, x) != STARHALO_OK;
    if (!rc && !d->classify)
        rc = cnn_net_gather_input(net, 1, tg) != STARHALO_OK;
    if (!rc)
        cnn_net_params(net, p, NULL);
    if (!rc && t->rank == 0) {
        if (mkdir(o->dump, 0777) != 0 && errno != EEXIST)
            rc = 1;
        const int64_t sx[4] = {o->train.batch, o->train.channels, o->train.size, o->train.size};
        rc = rc ? rc : write_npy(o->dump, "input", STARHALO_FLOAT32, 4, sx, x);
        if (d->classify) {
            /* float64 class indexes: starhalo's .npy writer has no integer type */
            double *lab = malloc(sizeof(double) * (size_t)o->train.batch);
            for (int64_t i = 0; lab && i < o->train.batch; i++)
                lab[i] = cnn_data_label(i, d->layers[d->nlayers - 2].nclasses);
            rc = rc ? rc
                    : !lab ||
                          write_npy(o->dump, "labels", STARHALO_FLOAT64, 1, &o->train.batch, lab);
            free(lab);
        } else {
            const int64_t st[4] = {o->train.batch, last->out_c, last->out_h, last->out_w};
            rc = rc ? rc : write_npy(o->dump, "target", STARHALO_FLOAT32, 4, st, tg);
        }
        rc = rc ? rc : write_params(t, net, t->init, "init");
        rc = rc ? rc : write_params(t, net, p, "final");
        const int64_t ns = steps;
        rc = rc ? rc : write_npy(o->dump, "loss", STARHALO_FLOAT64, 1, &ns, t->losses);
        if (t->dist.output) {
            const cnn_layer_desc_t *ol = &d->layers[output_layer(o)];
            const int64_t so[4] = {o->train.batch, ol->out_c, ol->out_h, ol->out_w};
            rc = rc ? rc
                    : write_npy(o->dump, "output", STARHALO_FLOAT32, d->classify ? 2 : 4, so,
                                t->dist.output);
        }
        if (rc)
            fprintf(stderr, "spatial_cnn: error: cannot write .npy files in '%s'\n", o->dump);
    }
    free(x), free(tg), free(p);
    return rc ? 1 : 0;
}

/* The checkpoint: one float32 vector, the parameters (cnn_net_params order) and, with
 * momentum, the momentum buffer after them. */
static starhalo_npy_header_t params_header(const run_t *t, const cnn_net_t *net)
{
    starhalo_npy_header_t h;
    memset(&h, 0, sizeof h);
    h.dtype = STARHALO_FLOAT32;
    h.ndims = 1;
    h.shape[0] = cnn_net_param_count(net) * (t->o.train.momentum > 0.0 ? 2 : 1);
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

/* The parameters are replicated: rank 0 saves them (crash-safe, starhalo_npy_save). */
static starhalo_status_t checkpoint(run_t *t, cnn_net_t *net, MPI_Comm comm, int step)
{
    starhalo_npy_header_t h = params_header(t, net);
    const int64_t np = cnn_net_param_count(net);
    float *w = malloc(sizeof(float) * (size_t)(2 * np + 1));
    starhalo_status_t rc =
        w ? STARHALO_OK : starhalo_error_set(STARHALO_ERR_NO_MEMORY, "checkpoint buffer");
    if (rc == STARHALO_OK)
        cnn_net_params(net, w, w + np);
    if (rc == STARHALO_OK && t->rank == 0) {
        h.step = step;
        rc = starhalo_npy_save(t->o.checkpoint, &h, w);
        if (rc == STARHALO_OK)
            printf("spatial_cnn: checkpoint step %d -> %s\n", step, t->o.checkpoint);
    }
    free(w);
    return from_rank0(comm, t->rank, rc);
}

/* Rank 0 loads and verifies the file, every rank gets the parameters and the step: any rank
 * count restarts from any other's checkpoint. */
static starhalo_status_t restart(run_t *t, cnn_net_t *net, MPI_Comm comm, int *start)
{
    const starhalo_npy_header_t want = params_header(t, net);
    const int64_t np = cnn_net_param_count(net);
    float *w = calloc((size_t)(2 * np + 1), sizeof(float));
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
        rc = cnn_net_set_params(net, w, t->o.train.momentum > 0.0 ? w + np : NULL);
    if (rc == STARHALO_OK) {
        *start = (int)got.step;
        if (t->rank == 0)
            printf("spatial_cnn: restarting from '%s' at step %d\n", t->o.restart, *start);
    }
    free(w);
    return rc;
}

static void free_run(run_t *t)
{
    cnn_ref_destroy(t->r);
    free(t->dist.grad), free(t->dist.output), free(t->dist.dx);
    free(t->losses), free(t->init);
}

/* This process's peak resident set in MiB (Linux: ru_maxrss in KiB). */
static double peak_rss_mib(void)
{
    struct rusage u;
    return getrusage(RUSAGE_SELF, &u) == 0 ? (double)u.ru_maxrss / 1024.0 : 0.0;
}

/* Rank 0 prints the largest and the mean peak RSS over the ranks, and the largest before the
 * net existed (MPI, StarPU and the context alone). Collective. */
static void report_rss(MPI_Comm comm, int rank, double before)
{
    double mine[2] = {peak_rss_mib(), before}, mx[2] = {0, 0}, sum = 0.0;
    int n = 1;
    MPI_Comm_size(comm, &n);
    MPI_Reduce(mine, mx, 2, MPI_DOUBLE, MPI_MAX, 0, comm);
    MPI_Reduce(mine, &sum, 1, MPI_DOUBLE, MPI_SUM, 0, comm);
    if (rank == 0)
        printf("peak RSS per rank: max %.1f MiB, mean %.1f MiB (before the net: max %.1f MiB)\n",
               mx[0], sum / n, mx[1]);
}

static int train(run_t *t, starhalo_context_t *ctx)
{
    const double rss_before = peak_rss_mib();
    cnn_net_t *net = NULL;
    starhalo_status_t rc = cnn_net_create(ctx, &t->o, &net);
    const int images = t->o.validate || t->o.dump;
    int bad = 0;
    if (rc == STARHALO_OK) {
        t->dist.grad = malloc(sizeof(double) * (size_t)(cnn_net_param_count(net) + 1));
        t->losses = calloc((size_t)t->o.steps + 1, sizeof(double));
        t->init = malloc(sizeof(float) * (size_t)(cnn_net_param_count(net) + 1));
        if (images) {
            t->dist.output = malloc(sizeof(float) * (size_t)cnn_net_output_count(net));
            t->dist.dx = malloc(sizeof(float) * (size_t)input_count(&t->o));
        }
        if (!t->dist.grad || !t->losses || !t->init || (images && (!t->dist.output || !t->dist.dx)))
            rc = starhalo_error_set(STARHALO_ERR_NO_MEMORY, "output buffers");
        else
            cnn_net_params(net, t->init, NULL);
    }
    if (rc == STARHALO_OK && t->rank == 0 && t->o.validate &&
        !(t->r = cnn_ref_create(t->o.net, &t->o.train)))
        rc = starhalo_error_set(STARHALO_ERR_NO_MEMORY, "the reference");
    if (rc == STARHALO_OK && t->r && t->o.input_data)
        cnn_ref_set_input(t->r, t->o.input_data);
    if (rc == STARHALO_OK && t->rank == 0) {
        printf("spatial_cnn: net %s (%d layers, %lld parameters), image %lldx%lld batch %lld "
               "channels %lld, %d parts (%s, %d per rank), %d ranks x %d CPU workers, lr %g, "
               "momentum %g, mode %s\n",
               t->o.net_file ? t->o.net_file : "two-layer", t->o.net->nlayers,
               (long long)cnn_net_param_count(net), (long long)t->o.train.size,
               (long long)t->o.train.size, (long long)t->o.train.batch,
               (long long)t->o.train.channels, t->o.parts, starhalo_split_name(t->o.split),
               t->o.parts_per_rank, starhalo_context_size(ctx), starhalo_context_ncpus(ctx),
               t->o.train.lr, t->o.train.momentum, t->o.mode == STARHALO_STEP_BSP ? "bsp" : "task");
    }
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
        t->losses[s] = t->dist.loss;
        if (rc == STARHALO_OK && t->rank == 0) {
            printf("step %d: loss %.9g time %.4f s\n", s, t->dist.loss, dt);
            if (t->o.validate)
                bad |= compare_step(t, net, s);
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
        bad |= compare_final(t, net);
        printf("validate: %s (worst rel err %.2e, tolerance %.0e)\n", bad ? "FAILED" : "passed",
               t->worst, t->o.tolerance);
    }
    /* The output of the last step was gathered when not validating; with --validate the
     * dump holds the first step's output. */
    if (rc == STARHALO_OK && t->o.dump)
        bad |= dump(t, net, t->o.steps);
    if (rc != STARHALO_OK && t->rank == 0)
        fprintf(stderr, "spatial_cnn: error: %s: %s\n", starhalo_err_name(rc),
                starhalo_last_error_message());
    if (rc == STARHALO_OK)
        report_rss(starhalo_context_comm(ctx), t->rank, rss_before);
    cnn_net_destroy(net);
    free_run(t);
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
        prc = load_net(&t.o, err, sizeof err);
    /* Ranks agree on the verdict (MPI_THREAD_MULTIPLE may differ in principle). */
    int worst = prc;
    MPI_Allreduce(&prc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (worst) {
        if (rank == 0)
            fputs(worst == 2 && prc == 2 ? usage : "", stdout);
        if (rank == 0 && prc == 1)
            fprintf(stderr, "spatial_cnn: error: %s\n", err);
        free(t.o.input_data);
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
    free(t.o.input_data);
    MPI_Finalize();
    return all ? 1 : 0;
}
