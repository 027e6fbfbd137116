/* SPDX-License-Identifier: MIT */
/**
 * @file net.c
 * @brief spatial_cnn's distributed network over starhalo, built from a netfile.h layer list.
 * Every image activation and its gradient is a field; a conv or pool layer's output field is
 * decomposed by starhalo_layer_output_decomp of its input's (strided layers shrink the parts,
 * uneven splits allowed), and every field gets the halo its consumers need. Forward exchanges
 * pad the inputs of conv / pool layers, reverse exchanges (SUM) send their ghost gradients
 * back. After gap, the N x C features, fc and the loss are replicated host arrays.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spatial_cnn.h"

/** One activation: the input of layer l is act[l], its output act[l + 1]. */
typedef struct act {
    starhalo_decomp_t *dec;   /**< image activations only */
    starhalo_field_t *f, *g;  /**< value and gradient; may alias the previous act's */
    starhalo_exchange_t *exf; /**< forward exchange of f (a conv / pool reads it) */
    starhalo_exchange_t *exg; /**< reverse exchange of g */
    int own_f, own_g;
    double *flat, *dflat; /**< flat activations (after gap): N x C, every rank */
} act_t;

/** One layer's runtime objects. */
typedef struct layer_rt {
    starhalo_cnn_conv_t *conv;
    starhalo_cnn_pool_t *pool;
    starhalo_cnn_bn_t *bn;
    starhalo_field_t *gacc; /**< save: the gradient its add sent back */
} layer_rt_t;

struct cnn_net {
    starhalo_context_t *ctx;
    cnn_opts_t o;
    const cnn_netdesc_t *d;
    int n; /**< layers */
    act_t *a;
    layer_rt_t *l;
    starhalo_field_t *target; /**< MSE nets */
    int64_t nparams;
    int64_t off[CNN_MAX_LAYERS][CNN_MAX_PARAMS];
    float *p, *v; /**< parameters and momentum buffer */
    double *grad;
};

static starhalo_status_t agree(cnn_net_t *net, starhalo_status_t rc);

void cnn_decomp_desc(const cnn_opts_t *o, int64_t channels, int halo, starhalo_decomp_desc_t *d)
{
    memset(d, 0, sizeof *d);
    d->ndims = 2;
    d->extent[0] = d->extent[1] = o->train.size;
    d->extent[2] = 1;
    d->batch = o->train.batch;
    d->channels = channels;
    d->split = o->split;
    d->nparts = o->parts;
    for (int k = 0; k < 4; k++)
        d->halo[k] = halo;
    d->shape = STARHALO_STENCIL_BOX;
}

/* The sliding window of a conv / pool layer; identity for the others. */
static starhalo_layer_t window(const cnn_layer_desc_t *ld)
{
    starhalo_layer_t w = {1, 1, 1, 0};
    if (ld->op == CNN_CONV || ld->op == CNN_MAXPOOL || ld->op == CNN_AVGPOOL) {
        w.kernel = ld->kernel;
        w.stride = ld->stride;
        w.padding = ld->pad;
        w.dilation = ld->op == CNN_CONV ? ld->dilation : 1;
    }
    return w;
}

static int is_window(const cnn_layer_desc_t *ld)
{
    return ld->op == CNN_CONV || ld->op == CNN_MAXPOOL || ld->op == CNN_AVGPOOL;
}

/* Fill the owned cells of every local part of @p f with gen(n, c, y, x), or, when @p global
 * is given, with the cells of that whole N x C x H x W array (the same on every rank). */
static starhalo_status_t fill(starhalo_field_t *f, float (*gen)(int64_t, int64_t, int64_t, int64_t),
                              const float *global)
{
    const starhalo_decomp_desc_t *d = starhalo_decomp_desc(starhalo_field_decomp(f));
    int parts[256];
    const int n = starhalo_field_local_parts(f, NULL);
    STARHALO_REQUIRE(n <= 256, STARHALO_ERR_INVALID_ARG, "more than 256 parts per rank");
    starhalo_field_local_parts(f, parts);
    for (int i = 0; i < n; i++) {
        const starhalo_part_plan_t *pl = starhalo_field_part_plan(f, parts[i]);
        const starhalo_box_t g = starhalo_part_plan_ghosted(pl), ob = starhalo_part_plan_owned(pl);
        const int64_t gw = g.hi[0] - g.lo[0], gh = g.hi[1] - g.lo[1];
        float *p = NULL;
        STARHALO_CHECK(starhalo_field_acquire(f, parts[i], 1));
        STARHALO_CHECK(starhalo_field_part_data(f, parts[i], (void **)&p));
        for (int64_t b = 0; b < d->batch; b++)
            for (int64_t c = 0; c < d->channels; c++)
                for (int64_t y = ob.lo[1]; y < ob.hi[1]; y++)
                    for (int64_t x = ob.lo[0]; x < ob.hi[0]; x++)
                        p[((b * d->channels + c) * gh + y - g.lo[1]) * gw + x - g.lo[0]] =
                            global
                                ? global[((b * d->channels + c) * d->extent[1] + y) * d->extent[0] +
                                         x]
                                : gen(b, c, y, x);
        STARHALO_CHECK(starhalo_field_release(f, parts[i]));
    }
    return STARHALO_OK;
}

/* Do two decompositions own the same boxes (same tiles up to halos and channels)? */
static int same_boxes(const starhalo_decomp_t *a, const starhalo_decomp_t *b)
{
    const int np = starhalo_decomp_num_parts(a);
    if (np != starhalo_decomp_num_parts(b))
        return 0;
    for (int p = 0; p < np; p++) {
        const starhalo_box_t x = starhalo_decomp_owned_box(a, p),
                             y = starhalo_decomp_owned_box(b, p);
        if (memcmp(&x, &y, sizeof x) != 0)
            return 0;
    }
    return 1;
}

/*
 * Decompositions: first without halos, to group the activations that own the same boxes;
 * then every activation of a group gets the largest halo any consumer of the group needs
 * (ReLU, BN, add read one field's tile with another's geometry: equal tiles).
 */
static starhalo_status_t make_decomps(cnn_net_t *net)
{
    const cnn_netdesc_t *d = net->d;
    int nimg = 0; /* image activations act[0 .. nimg - 1] */
    while (nimg <= net->n && (nimg == 0 || !d->layers[nimg - 1].flat_out))
        nimg++;
    starhalo_decomp_t **bare = calloc((size_t)nimg, sizeof *bare);
    int *group = calloc((size_t)nimg, sizeof *group);
    int(*halo)[4] = calloc((size_t)nimg, sizeof *halo);
    starhalo_status_t rc = bare && group && halo
                               ? STARHALO_OK
                               : starhalo_error_set(STARHALO_ERR_NO_MEMORY, "net decompositions");
    for (int i = 0; i < nimg && rc == STARHALO_OK; i++) {
        const int64_t ch = i == 0 ? d->layers[0].in_c : d->layers[i - 1].out_c;
        if (i == 0) {
            starhalo_decomp_desc_t dd;
            cnn_decomp_desc(&net->o, ch, 0, &dd);
            rc = starhalo_decomp_create(&dd, &bare[0]);
        } else {
            const starhalo_layer_t w = window(&d->layers[i - 1]);
            rc = starhalo_layer_output_decomp(bare[i - 1], &w, ch, NULL, STARHALO_STENCIL_BOX,
                                              &bare[i]);
        }
        group[i] = i;
        for (int j = 0; j < i && rc == STARHALO_OK; j++)
            if (same_boxes(bare[j], bare[i])) {
                group[i] = group[j];
                break;
            }
    }
    /* The halo a consumer needs, per group (layer i reads act[i]). */
    for (int i = 0; i < nimg && i < net->n && rc == STARHALO_OK; i++) {
        if (!is_window(&d->layers[i]))
            continue;
        const starhalo_layer_t w = window(&d->layers[i]);
        int minus = 0, plus = 0;
        rc = starhalo_layer_halo(&w, &minus, &plus);
        for (int k = 0; k < 2; k++) {
            int *h = halo[group[i]];
            h[2 * k] = h[2 * k] > minus ? h[2 * k] : minus;
            h[2 * k + 1] = h[2 * k + 1] > plus ? h[2 * k + 1] : plus;
        }
    }
    for (int i = 0; i < nimg && rc == STARHALO_OK; i++) {
        const int64_t ch = i == 0 ? d->layers[0].in_c : d->layers[i - 1].out_c;
        int h[2 * STARHALO_MAX_DIMS] = {0};
        memcpy(h, halo[group[i]], sizeof halo[0]);
        const starhalo_layer_t id = {1, 1, 1, 0};
        rc =
            starhalo_layer_output_decomp(bare[i], &id, ch, h, STARHALO_STENCIL_BOX, &net->a[i].dec);
    }
    for (int i = 0; bare && i < nimg; i++)
        starhalo_decomp_destroy(bare[i]);
    free(bare), free(group), free(halo);
    return rc;
}

static starhalo_status_t new_field(cnn_net_t *net, const starhalo_decomp_t *dec,
                                   starhalo_field_t **f)
{
    return starhalo_field_create(net->ctx, dec, NULL, STARHALO_FLOAT32, f);
}

/* Fields: a layer that only reads and rewrites cells (save, add, ReLU) shares its input's
 * gradient field with its output's (in-place backward), save its value field too. */
static starhalo_status_t make_fields(cnn_net_t *net)
{
    const cnn_netdesc_t *d = net->d;
    for (int i = 0; i <= net->n; i++) {
        act_t *a = &net->a[i];
        if (!a->dec)
            break;
        if (i > 0 && d->layers[i - 1].op == CNN_SAVE)
            a->f = net->a[i - 1].f;
        else {
            STARHALO_CHECK(new_field(net, a->dec, &a->f));
            a->own_f = 1;
        }
    }
    for (int i = net->n; i >= 0; i--) {
        act_t *a = &net->a[i];
        if (!a->dec)
            continue;
        /* dL/d(input) only for --validate: the first conv / pool then skips its backward
         * data (in oneDNN, slow for few input channels). */
        if (i == 0 && !net->o.validate && is_window(&d->layers[0]))
            continue;
        const cnn_op_t op = i < net->n ? d->layers[i].op : CNN_RELU;
        if (i < net->n && net->a[i + 1].g && (op == CNN_RELU || op == CNN_SAVE || op == CNN_ADD))
            a->g = net->a[i + 1].g;
        else {
            STARHALO_CHECK(new_field(net, a->dec, &a->g));
            a->own_g = 1;
        }
    }
    /* Exchanges of the fields a conv / pool reads and of their gradients. */
    for (int i = 0; i < net->n; i++) {
        if (!is_window(&d->layers[i]))
            continue;
        act_t *a = &net->a[i];
        if (i > 0 && net->a[i - 1].f == a->f && net->a[i - 1].exf)
            a->exf = net->a[i - 1].exf;
        else
            STARHALO_CHECK(
                starhalo_exchange_create(net->ctx, &a->f, 1, STARHALO_TRANSPORT_DEFAULT, &a->exf));
        if (a->g)
            STARHALO_CHECK(
                starhalo_exchange_create(net->ctx, &a->g, 1, STARHALO_TRANSPORT_DEFAULT, &a->exg));
    }
    return STARHALO_OK;
}

static starhalo_status_t make_layers(cnn_net_t *net)
{
    const cnn_netdesc_t *d = net->d;
    for (int i = 0; i < net->n; i++) {
        const cnn_layer_desc_t *ld = &d->layers[i];
        act_t *in = &net->a[i], *out = &net->a[i + 1];
        layer_rt_t *lr = &net->l[i];
        const starhalo_layer_t w = window(ld);
        switch (ld->op) {
        case CNN_CONV:
            STARHALO_CHECK(starhalo_cnn_conv_create_grouped(net->ctx, in->f, in->exf, out->f,
                                                            out->g, in->g, in->exg, &w, ld->groups,
                                                            net->p + net->off[i][0], &lr->conv));
            if (ld->bias)
                STARHALO_CHECK(starhalo_cnn_conv_set_bias(lr->conv, net->p + net->off[i][1]));
            STARHALO_CHECK(starhalo_cnn_conv_set_mode(lr->conv, net->o.mode));
            break;
        case CNN_MAXPOOL:
        case CNN_AVGPOOL:
            STARHALO_CHECK(starhalo_cnn_pool_create(
                net->ctx, ld->op == CNN_MAXPOOL ? STARHALO_POOL_MAX : STARHALO_POOL_AVG, in->f,
                in->exf, out->f, out->g, in->g, in->exg, &w, &lr->pool));
            break;
        case CNN_BN:
            STARHALO_CHECK(starhalo_cnn_bn_create(net->ctx, in->f, out->f, out->g, in->g,
                                                  net->o.train.bn_eps, &lr->bn));
            break;
        case CNN_SAVE:
            STARHALO_CHECK(new_field(net, in->dec, &lr->gacc));
            break;
        case CNN_GAP:
            out->flat = calloc((size_t)(net->o.train.batch * ld->in_c), sizeof(double));
            out->dflat = calloc((size_t)(net->o.train.batch * ld->in_c), sizeof(double));
            STARHALO_REQUIRE(out->flat && out->dflat, STARHALO_ERR_NO_MEMORY, "gap features");
            break;
        case CNN_FC:
            out->flat = calloc((size_t)(net->o.train.batch * ld->nclasses), sizeof(double));
            out->dflat = calloc((size_t)(net->o.train.batch * ld->nclasses), sizeof(double));
            STARHALO_REQUIRE(out->flat && out->dflat, STARHALO_ERR_NO_MEMORY, "fc output");
            break;
        default:
            break;
        }
    }
    /* An add's two inputs must have the same tiles. */
    for (int i = 0; i < net->n; i++)
        if (d->layers[i].op == CNN_ADD)
            STARHALO_REQUIRE(same_boxes(net->a[i].dec, net->a[d->layers[i].save_index].dec),
                             STARHALO_ERR_INVALID_ARG,
                             "layer %d (add %s): the saved activation is split differently", i,
                             d->layers[i].name);
    return STARHALO_OK;
}

starhalo_status_t cnn_net_create(starhalo_context_t *ctx, const cnn_opts_t *o, cnn_net_t **out)
{
    *out = NULL;
    cnn_net_t *net = calloc(1, sizeof *net);
    if (!net)
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "cnn_net_create");
    net->ctx = ctx;
    net->o = *o;
    net->d = o->net;
    net->n = o->net->nlayers;
    *out = net; /* cnn_net_destroy frees a partly built net */
    net->a = calloc((size_t)net->n + 1, sizeof *net->a);
    net->l = calloc((size_t)net->n, sizeof *net->l);
    STARHALO_REQUIRE(net->a && net->l, STARHALO_ERR_NO_MEMORY, "cnn_net_create");
    for (int i = 0; i < net->n; i++) {
        const char *names[CNN_MAX_PARAMS];
        int64_t counts[CNN_MAX_PARAMS];
        const int np = cnn_layer_params(&net->d->layers[i], names, counts);
        for (int p = 0; p < np; p++) {
            net->off[i][p] = net->nparams;
            net->nparams += counts[p];
        }
    }
    net->p = malloc(sizeof(float) * (size_t)(net->nparams + 1));
    net->v = calloc((size_t)net->nparams + 1, sizeof(float));
    net->grad = calloc((size_t)net->nparams + 1, sizeof(double));
    STARHALO_REQUIRE(net->p && net->v && net->grad, STARHALO_ERR_NO_MEMORY, "parameters");
    for (int i = 0; i < net->n; i++) {
        const char *names[CNN_MAX_PARAMS];
        int64_t counts[CNN_MAX_PARAMS];
        const int np = cnn_layer_params(&net->d->layers[i], names, counts);
        for (int p = 0; p < np; p++)
            for (int64_t k = 0; k < counts[p]; k++)
                net->p[net->off[i][p] + k] = cnn_param_init(net->d, i, p, k);
    }
    /* Decompositions and fields are collective and agree themselves; the layers allocate
     * locally: agree before the first step. */
    STARHALO_CHECK(make_decomps(net));
    STARHALO_CHECK(make_fields(net));
    STARHALO_CHECK(agree(net, make_layers(net)));
    if (o->input_data)
        STARHALO_CHECK(cnn_net_set_input(net, o->input_data));
    else
        STARHALO_CHECK(fill(net->a[0].f, cnn_data_input, NULL));
    if (!net->d->classify) {
        STARHALO_CHECK(new_field(net, net->a[net->n].dec, &net->target));
        STARHALO_CHECK(fill(net->target, cnn_data_target, NULL));
    }
    return STARHALO_OK;
}

void cnn_net_destroy(cnn_net_t *net)
{
    if (!net)
        return;
    for (int i = 0; net->l && i < net->n; i++) {
        starhalo_cnn_conv_destroy(net->l[i].conv);
        starhalo_cnn_pool_destroy(net->l[i].pool);
        starhalo_cnn_bn_destroy(net->l[i].bn);
    }
    for (int i = 0; net->a && i <= net->n; i++) {
        act_t *a = &net->a[i];
        if (a->exf && !(i > 0 && net->a[i - 1].exf == a->exf))
            starhalo_exchange_destroy(a->exf);
        starhalo_exchange_destroy(a->exg);
    }
    for (int i = 0; net->l && i < net->n; i++)
        starhalo_field_destroy(net->l[i].gacc);
    starhalo_field_destroy(net->target);
    for (int i = 0; net->a && i <= net->n; i++) {
        act_t *a = &net->a[i];
        if (a->own_f)
            starhalo_field_destroy(a->f);
        if (a->own_g)
            starhalo_field_destroy(a->g);
        starhalo_decomp_destroy(a->dec);
        free(a->flat), free(a->dflat);
    }
    free(net->a), free(net->l), free(net->p), free(net->v), free(net->grad);
    free(net);
}

/* MSE: dy = y - t on owned cells; returns this rank's 0.5 * sum(dy^2) (parts in order). */
static starhalo_status_t mse_grad(cnn_net_t *net, double *local)
{
    starhalo_field_t *fy = net->a[net->n].f, *ft = net->target, *fd = net->a[net->n].g;
    const starhalo_decomp_desc_t *d = starhalo_decomp_desc(starhalo_field_decomp(fy));
    int parts[256];
    const int n = starhalo_field_local_parts(fy, parts);
    *local = 0.0;
    for (int i = 0; i < n; i++) {
        const starhalo_part_plan_t *pl = starhalo_field_part_plan(fy, parts[i]);
        const starhalo_box_t g = starhalo_part_plan_ghosted(pl), ob = starhalo_part_plan_owned(pl);
        const int64_t gw = g.hi[0] - g.lo[0], gh = g.hi[1] - g.lo[1];
        float *y = NULL, *t = NULL, *dy = NULL;
        STARHALO_CHECK(starhalo_field_acquire(fy, parts[i], 0));
        STARHALO_CHECK(starhalo_field_acquire(ft, parts[i], 0));
        STARHALO_CHECK(starhalo_field_acquire(fd, parts[i], 1));
        STARHALO_CHECK(starhalo_field_part_data(fy, parts[i], (void **)&y));
        STARHALO_CHECK(starhalo_field_part_data(ft, parts[i], (void **)&t));
        STARHALO_CHECK(starhalo_field_part_data(fd, parts[i], (void **)&dy));
        for (int64_t p = 0; p < d->batch * d->channels; p++)
            for (int64_t yy = ob.lo[1]; yy < ob.hi[1]; yy++)
                for (int64_t x = ob.lo[0]; x < ob.hi[0]; x++) {
                    const int64_t k = (p * gh + yy - g.lo[1]) * gw + x - g.lo[0];
                    dy[k] = y[k] - t[k];
                    *local += 0.5 * (double)dy[k] * (double)dy[k];
                }
        STARHALO_CHECK(starhalo_field_release(fd, parts[i]));
        STARHALO_CHECK(starhalo_field_release(ft, parts[i]));
        STARHALO_CHECK(starhalo_field_release(fy, parts[i]));
    }
    return STARHALO_OK;
}

/* fc forward on the replicated features: out[n][k] = b[k] + sum_c W[k][c] in[n][c]. */
static void fc_forward(const cnn_net_t *net, int l)
{
    const cnn_layer_desc_t *ld = &net->d->layers[l];
    const float *w = net->p + net->off[l][0], *b = net->p + net->off[l][1];
    const double *in = net->a[l].flat;
    double *out = net->a[l + 1].flat;
    for (int64_t n = 0; n < net->o.train.batch; n++)
        for (int k = 0; k < ld->nclasses; k++) {
            double s = b[k];
            for (int64_t c = 0; c < ld->in_c; c++)
                s += (double)w[k * ld->in_c + c] * in[n * ld->in_c + c];
            out[n * ld->nclasses + k] = s;
        }
}

static void fc_backward(cnn_net_t *net, int l)
{
    const cnn_layer_desc_t *ld = &net->d->layers[l];
    const float *w = net->p + net->off[l][0];
    double *gw = net->grad + net->off[l][0], *gb = net->grad + net->off[l][1];
    const double *in = net->a[l].flat, *dout = net->a[l + 1].dflat;
    double *din = net->a[l].dflat;
    const int64_t N = net->o.train.batch, C = ld->in_c;
    for (int k = 0; k < ld->nclasses; k++) {
        double sb = 0.0;
        for (int64_t n = 0; n < N; n++)
            sb += dout[n * ld->nclasses + k];
        gb[k] = sb;
        for (int64_t c = 0; c < C; c++) {
            double s = 0.0;
            for (int64_t n = 0; n < N; n++)
                s += dout[n * ld->nclasses + k] * in[n * C + c];
            gw[k * C + c] = s;
        }
    }
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) {
            double s = 0.0;
            for (int k = 0; k < ld->nclasses; k++)
                s += (double)w[k * C + c] * dout[n * ld->nclasses + k];
            din[n * C + c] = s;
        }
}

/* Mean over the batch of softmax cross-entropy of the logits act[l]; dlogits into dflat. */
static double softmax_ce(cnn_net_t *net, int l)
{
    const int K = (int)net->d->layers[l].in_c;
    const int64_t N = net->o.train.batch;
    const double *z = net->a[l].flat;
    double *dz = net->a[l].dflat, loss = 0.0;
    for (int64_t n = 0; n < N; n++) {
        double m = z[n * K];
        for (int k = 1; k < K; k++)
            m = fmax(m, z[n * K + k]);
        double s = 0.0;
        for (int k = 0; k < K; k++)
            s += exp(z[n * K + k] - m);
        const int label = cnn_data_label(n, K);
        loss += (log(s) + m - z[n * K + label]) / (double)N;
        for (int k = 0; k < K; k++)
            dz[n * K + k] = (exp(z[n * K + k] - m) / s - (k == label)) / (double)N;
    }
    return loss;
}

/* A rank that failed goes on through every layer, so that it meets the others in each
 * collective (batch norm, gap and gradient sums agree on the statuses there); the step
 * agrees at its end (cnn_net_step). @p rc is the first error, kept. */
static starhalo_status_t keep(starhalo_status_t rc, starhalo_status_t now)
{
    return rc != STARHALO_OK ? rc : now;
}

static starhalo_status_t forward(cnn_net_t *net, double *loss)
{
    const cnn_netdesc_t *d = net->d;
    starhalo_status_t rc = STARHALO_OK;
    for (int i = 0; i < net->n; i++) {
        const cnn_layer_desc_t *ld = &d->layers[i];
        act_t *in = &net->a[i], *out = &net->a[i + 1];
        layer_rt_t *lr = &net->l[i];
        switch (ld->op) {
        case CNN_CONV:
            rc = keep(rc, starhalo_cnn_conv_forward(lr->conv));
            break;
        case CNN_MAXPOOL:
        case CNN_AVGPOOL:
            rc = keep(rc, starhalo_cnn_pool_forward(lr->pool));
            break;
        case CNN_BN:
            rc = keep(rc, starhalo_cnn_bn_forward(lr->bn, net->p + net->off[i][0],
                                                  net->p + net->off[i][1]));
            break;
        case CNN_RELU:
            rc = keep(rc, starhalo_cnn_relu(in->f, out->f));
            break;
        case CNN_SAVE:
            break;
        case CNN_ADD:
            rc = keep(rc, starhalo_cnn_add(in->f, net->a[ld->save_index].f, out->f));
            break;
        case CNN_GAP:
            rc = keep(rc, starhalo_cnn_gap_forward(net->ctx, in->f, out->flat));
            break;
        case CNN_FC:
            fc_forward(net, i);
            break;
        case CNN_SOFTMAX_CE:
            *loss = softmax_ce(net, i);
            break;
        }
    }
    if (!d->classify) {
        double local = 0.0;
        /* The host waits for the output, then in MPI: idle workers give up the core. */
        starhalo_context_host_wait_begin(net->ctx);
        if (rc == STARHALO_OK)
            rc = mse_grad(net, &local);
        MPI_Comm comm = starhalo_context_comm(net->ctx);
        if (MPI_Allreduce(&local, loss, 1, MPI_DOUBLE, MPI_SUM, comm) != MPI_SUCCESS &&
            rc == STARHALO_OK)
            rc = starhalo_error_set(STARHALO_ERR_MPI, "loss MPI_Allreduce");
        starhalo_context_host_wait_end(net->ctx);
    }
    return rc;
}

static starhalo_status_t backward(cnn_net_t *net)
{
    const cnn_netdesc_t *d = net->d;
    starhalo_status_t rc = STARHALO_OK;
    for (int i = net->n - 1; i >= 0; i--) {
        const cnn_layer_desc_t *ld = &d->layers[i];
        act_t *in = &net->a[i], *out = &net->a[i + 1];
        layer_rt_t *lr = &net->l[i];
        switch (ld->op) {
        case CNN_CONV:
            rc = keep(rc, starhalo_cnn_conv_backward(lr->conv));
            break;
        case CNN_MAXPOOL:
        case CNN_AVGPOOL:
            rc = keep(rc, starhalo_cnn_pool_backward(lr->pool));
            break;
        case CNN_BN:
            rc = keep(rc, starhalo_cnn_bn_backward(lr->bn, net->grad + net->off[i][0],
                                                   net->grad + net->off[i][1]));
            break;
        case CNN_RELU: /* in place: in->g is out->g */
            rc = keep(rc, starhalo_cnn_relu_backward(in->f, out->g));
            break;
        case CNN_SAVE: /* the gradient through the residual branch joins here */
            rc = keep(rc, starhalo_cnn_add(out->g, lr->gacc, out->g));
            break;
        case CNN_ADD: /* in->g is out->g; the saved activation gets a copy */
            rc = keep(rc, starhalo_cnn_copy(out->g, net->l[ld->save_index].gacc));
            break;
        case CNN_GAP:
            rc = keep(rc, starhalo_cnn_gap_backward(in->g, out->dflat));
            break;
        case CNN_FC:
            fc_backward(net, i);
            break;
        case CNN_SOFTMAX_CE:
            break; /* the forward pass left dlogits */
        }
    }
    /* The conv gradients last: each sum waits for its layer's tasks. */
    for (int i = 0; i < net->n; i++)
        if (d->layers[i].op == CNN_CONV) {
            rc = keep(rc,
                      starhalo_cnn_conv_grad_weights(net->l[i].conv, net->grad + net->off[i][0]));
            if (d->layers[i].bias)
                rc = keep(rc,
                          starhalo_cnn_conv_grad_bias(net->l[i].conv, net->grad + net->off[i][1]));
        }
    return rc;
}

/* Push the replicated parameters into the layers that hold copies. */
static starhalo_status_t push_params(cnn_net_t *net)
{
    for (int i = 0; i < net->n; i++)
        if (net->d->layers[i].op == CNN_CONV) {
            STARHALO_CHECK(starhalo_cnn_conv_set_weights(net->l[i].conv, net->p + net->off[i][0]));
            if (net->d->layers[i].bias)
                STARHALO_CHECK(starhalo_cnn_conv_set_bias(net->l[i].conv, net->p + net->off[i][1]));
        }
    return STARHALO_OK;
}

int64_t cnn_net_output_count(const cnn_net_t *net)
{
    /* classify: the logits are fc's output, the input of the last layer (softmax_ce) */
    const cnn_layer_desc_t *ol = &net->d->layers[net->d->classify ? net->n - 2 : net->n - 1];
    return net->o.train.batch * ol->out_c * ol->out_h * ol->out_w;
}

/* Every rank returns an error when one failed: the first failing rank's message travels to
 * the others ("rank R: ..."), so rank 0 can print it. Collective. */
static starhalo_status_t agree(cnn_net_t *net, starhalo_status_t rc)
{
    MPI_Comm comm = starhalo_context_comm(net->ctx);
    const int me = starhalo_context_rank(net->ctx);
    int mine = rc != STARHALO_OK ? me : INT32_MAX, root = INT32_MAX; /* the lowest failing rank */
    if (MPI_Allreduce(&mine, &root, 1, MPI_INT, MPI_MIN, comm) != MPI_SUCCESS)
        return starhalo_error_set(STARHALO_ERR_MPI, "agreeing on a step's status");
    if (root == INT32_MAX)
        return STARHALO_OK;
    struct {
        int rc;
        char msg[400];
    } m = {(int)rc, ""};
    if (me == root)
        snprintf(m.msg, sizeof m.msg, "%s", starhalo_last_error_message());
    if (MPI_Bcast(&m, (int)sizeof m, MPI_BYTE, root, comm) != MPI_SUCCESS)
        return starhalo_error_set(STARHALO_ERR_MPI, "agreeing on a step's status");
    return me == root ? rc
                      : starhalo_error_set((starhalo_status_t)m.rc, "rank %d: %s", root, m.msg);
}

starhalo_status_t cnn_net_step(cnn_net_t *net, int gather, cnn_step_out_t *out)
{
    starhalo_status_t rc = forward(net, &out->loss);
    rc = keep(rc, backward(net));
    STARHALO_CHECK(agree(net, rc));
    if (out->grad)
        memcpy(out->grad, net->grad, sizeof(double) * (size_t)net->nparams);
    if (gather) {
        if (net->d->classify) {
            const double *z = net->a[net->n - 1].flat;
            for (int64_t k = 0; out->output && k < cnn_net_output_count(net); k++)
                out->output[k] = (float)z[k];
        } else
            STARHALO_CHECK(starhalo_field_gather(net->ctx, net->a[net->n].f, 0, out->output));
        if (net->a[0].g && out->dx)
            STARHALO_CHECK(starhalo_field_gather(net->ctx, net->a[0].g, 0, out->dx));
    }
    /* SGD with momentum (PyTorch's): v = momentum * v + g, w -= lr * v. Every rank has the
     * same gradient bits, so the same parameters. */
    const double lr = net->o.train.lr, mu = net->o.train.momentum;
    for (int64_t k = 0; k < net->nparams; k++) {
        net->v[k] = (float)(mu * (double)net->v[k] + net->grad[k]);
        net->p[k] = (float)((double)net->p[k] - lr * (double)net->v[k]);
    }
    return push_params(net);
}

int64_t cnn_net_param_count(const cnn_net_t *net)
{
    return net->nparams;
}

int64_t cnn_net_param_offset(const cnn_net_t *net, int l, int p)
{
    return net->off[l][p];
}

void cnn_net_params(const cnn_net_t *net, float *params, float *velocity)
{
    if (params)
        memcpy(params, net->p, sizeof(float) * (size_t)net->nparams);
    if (velocity)
        memcpy(velocity, net->v, sizeof(float) * (size_t)net->nparams);
}

starhalo_status_t cnn_net_set_params(cnn_net_t *net, const float *params, const float *velocity)
{
    memcpy(net->p, params, sizeof(float) * (size_t)net->nparams);
    if (velocity)
        memcpy(net->v, velocity, sizeof(float) * (size_t)net->nparams);
    else
        memset(net->v, 0, sizeof(float) * (size_t)net->nparams);
    return push_params(net);
}

starhalo_status_t cnn_net_set_input(cnn_net_t *net, const float *global)
{
    return fill(net->a[0].f, NULL, global);
}

starhalo_status_t cnn_net_gather_input(cnn_net_t *net, int target, float *global)
{
    STARHALO_REQUIRE(!target || net->target, STARHALO_ERR_INVALID_ARG, "the net has no target");
    return starhalo_field_gather(net->ctx, target ? net->target : net->a[0].f, 0, global);
}
