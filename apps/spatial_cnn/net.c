/* SPDX-License-Identifier: MIT */
/**
 * @file net.c
 * @brief spatial_cnn's distributed network over starhalo: x -conv1-> z1 -ReLU-> a1 -conv2-> y,
 * loss = 0.5 * sum((y - t)^2). Forward exchanges pad x and a1 with their neighbours' cells;
 * backward reverse exchanges (SUM) send the ghost gradients of dx and da1 to their owners.
 */
#include <stdlib.h>
#include <string.h>

#include "spatial_cnn.h"

enum { F_X, F_Z1, F_A1, F_Y, F_T, F_DY, F_DA1, F_DX, NFIELDS };

struct cnn_net {
    starhalo_context_t *ctx;
    cnn_opts_t o;
    starhalo_decomp_t *dec[3]; /**< per channel count C0, C1, C2; halo 1, BOX */
    starhalo_field_t *f[NFIELDS];
    starhalo_exchange_t *ex_x, *ex_a1, *ex_da1, *ex_dx;
    starhalo_cnn_conv_t *conv[2];
    float *w[2];
    double *gw[2];
    int64_t nw[2];
};

/* Which decomposition (channel count) each field uses. */
static const int field_layer[NFIELDS] = {0, 1, 1, 2, 2, 2, 1, 0};

/* Fill the owned cells of every local part of @p f with gen(n, c, y, x). */
static starhalo_status_t fill(starhalo_field_t *f, float (*gen)(int64_t, int64_t, int64_t, int64_t))
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
                            gen(b, c, y, x);
        STARHALO_CHECK(starhalo_field_release(f, parts[i]));
    }
    return STARHALO_OK;
}

void cnn_decomp_desc(const cnn_opts_t *o, int64_t channels, starhalo_decomp_desc_t *d)
{
    memset(d, 0, sizeof *d);
    d->ndims = 2;
    d->extent[0] = d->extent[1] = o->size;
    d->extent[2] = 1;
    d->batch = o->batch;
    d->channels = channels;
    d->split = o->split;
    d->nparts = o->parts;
    for (int k = 0; k < 4; k++)
        d->halo[k] = 1;
    d->shape = STARHALO_STENCIL_BOX;
}

starhalo_status_t cnn_net_create(starhalo_context_t *ctx, const cnn_opts_t *o, cnn_net_t **out)
{
    *out = NULL;
    cnn_net_t *net = calloc(1, sizeof *net);
    if (!net)
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "cnn_net_create");
    net->ctx = ctx;
    net->o = *o;
    *out = net; /* cnn_net_destroy frees a partly built net */
    for (int l = 0; l < 3; l++) {
        starhalo_decomp_desc_t d;
        cnn_decomp_desc(o, o->ch[l], &d);
        STARHALO_CHECK(starhalo_decomp_create(&d, &net->dec[l]));
    }
    for (int i = 0; i < NFIELDS; i++)
        STARHALO_CHECK(starhalo_field_create(ctx, net->dec[field_layer[i]], NULL, STARHALO_FLOAT32,
                                             &net->f[i]));
    starhalo_exchange_t **ex[4] = {&net->ex_x, &net->ex_a1, &net->ex_da1, &net->ex_dx};
    const int exf[4] = {F_X, F_A1, F_DA1, F_DX};
    for (int i = 0; i < 4; i++)
        STARHALO_CHECK(
            starhalo_exchange_create(ctx, &net->f[exf[i]], 1, STARHALO_TRANSPORT_DEFAULT, ex[i]));
    STARHALO_CHECK(fill(net->f[F_X], cnn_input));
    STARHALO_CHECK(fill(net->f[F_T], cnn_target));
    for (int l = 0; l < 2; l++) {
        net->nw[l] = o->ch[l + 1] * o->ch[l] * 9;
        net->w[l] = malloc(sizeof(float) * (size_t)net->nw[l]);
        net->gw[l] = malloc(sizeof(double) * (size_t)net->nw[l]);
        if (!net->w[l] || !net->gw[l])
            return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "cnn_net_create: weights");
    }
    cnn_init_weights(o, net->w[0], net->w[1]);
    const starhalo_layer_t l3 = {3, 1, 1, 1};
    STARHALO_CHECK(starhalo_cnn_conv_create(ctx, net->f[F_X], net->ex_x, net->f[F_Z1],
                                            net->f[F_DA1], net->f[F_DX], net->ex_dx, &l3, net->w[0],
                                            &net->conv[0]));
    STARHALO_CHECK(starhalo_cnn_conv_create(ctx, net->f[F_A1], net->ex_a1, net->f[F_Y],
                                            net->f[F_DY], net->f[F_DA1], net->ex_da1, &l3,
                                            net->w[1], &net->conv[1]));
    for (int l = 0; l < 2; l++)
        STARHALO_CHECK(starhalo_cnn_conv_set_mode(net->conv[l], o->mode));
    return STARHALO_OK;
}

void cnn_net_destroy(cnn_net_t *net)
{
    if (!net)
        return;
    for (int l = 0; l < 2; l++) {
        starhalo_cnn_conv_destroy(net->conv[l]);
        free(net->w[l]);
        free(net->gw[l]);
    }
    starhalo_exchange_destroy(net->ex_x);
    starhalo_exchange_destroy(net->ex_a1);
    starhalo_exchange_destroy(net->ex_da1);
    starhalo_exchange_destroy(net->ex_dx);
    for (int i = 0; i < NFIELDS; i++)
        starhalo_field_destroy(net->f[i]);
    for (int l = 0; l < 3; l++)
        starhalo_decomp_destroy(net->dec[l]);
    free(net);
}

/* dy = y - t on owned cells; returns this rank's 0.5 * sum(dy^2) (parts in order). */
static starhalo_status_t loss_grad(cnn_net_t *net, double *local)
{
    starhalo_field_t *fy = net->f[F_Y], *ft = net->f[F_T], *fd = net->f[F_DY];
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

starhalo_status_t cnn_net_step(cnn_net_t *net, int gather, cnn_step_out_t *out)
{
    starhalo_cnn_conv_t **cv = net->conv;
    STARHALO_CHECK(starhalo_cnn_conv_forward(cv[0]));
    STARHALO_CHECK(starhalo_cnn_relu(net->f[F_Z1], net->f[F_A1]));
    STARHALO_CHECK(starhalo_cnn_conv_forward(cv[1]));
    double local = 0.0;
    STARHALO_CHECK(loss_grad(net, &local));
    /* backward: conv2 (dW2, da1 with ghost gradients routed back), ReLU, conv1 (dW1, dx) */
    STARHALO_CHECK(starhalo_cnn_conv_backward(cv[1]));
    STARHALO_CHECK(starhalo_cnn_relu_backward(net->f[F_Z1], net->f[F_DA1]));
    STARHALO_CHECK(starhalo_cnn_conv_backward(cv[0]));
    MPI_Comm comm = starhalo_context_comm(net->ctx);
    STARHALO_REQUIRE(MPI_Allreduce(&local, &out->loss, 1, MPI_DOUBLE, MPI_SUM, comm) == MPI_SUCCESS,
                     STARHALO_ERR_MPI, "loss MPI_Allreduce");
    for (int l = 0; l < 2; l++) {
        STARHALO_CHECK(starhalo_cnn_conv_grad_weights(cv[l], net->gw[l]));
        if (out->gw1 && l == 0)
            memcpy(out->gw1, net->gw[0], sizeof(double) * (size_t)net->nw[0]);
        if (out->gw2 && l == 1)
            memcpy(out->gw2, net->gw[1], sizeof(double) * (size_t)net->nw[1]);
    }
    if (gather) {
        STARHALO_CHECK(starhalo_field_gather(net->ctx, net->f[F_Y], 0, out->y));
        STARHALO_CHECK(starhalo_field_gather(net->ctx, net->f[F_DX], 0, out->dx));
    }
    /* SGD: every rank has the same gradient bits, so the same weights. */
    for (int l = 0; l < 2; l++) {
        for (int64_t i = 0; i < net->nw[l]; i++)
            net->w[l][i] = (float)(net->w[l][i] - net->o.lr * net->gw[l][i]);
        STARHALO_CHECK(starhalo_cnn_conv_set_weights(cv[l], net->w[l]));
    }
    return STARHALO_OK;
}

starhalo_status_t cnn_net_weights(cnn_net_t *net, float *w1, float *w2)
{
    STARHALO_CHECK(starhalo_cnn_conv_get_weights(net->conv[0], w1));
    return starhalo_cnn_conv_get_weights(net->conv[1], w2);
}

starhalo_status_t cnn_net_set_weights(cnn_net_t *net, const float *w1, const float *w2)
{
    const float *w[2] = {w1, w2};
    for (int l = 0; l < 2; l++) {
        memcpy(net->w[l], w[l], sizeof(float) * (size_t)net->nw[l]);
        STARHALO_CHECK(starhalo_cnn_conv_set_weights(net->conv[l], net->w[l]));
    }
    return STARHALO_OK;
}
