/* SPDX-License-Identifier: MIT */
/**
 * @file kern_dnnl.c
 * @brief conv2d and pooling forward on ghosted tiles through oneDNN 2.6 (v2 C API), float32.
 *
 * A call computes an output REGION. The input window it reads is computed by
 * starhalo_kidx_window (shared with CUDA): the part of it outside the tile or the image
 * becomes oneDNN's explicit padding, except padding over image-border ghosts of the tile that
 * hold zeros (checked; see try_ghost_padding). The memory descriptors first point straight into the
 * tiles (strides of the tile, data handle at the window's first cell: no copy); when oneDNN
 * would only run such a strided shape with a reference implementation, the window is copied
 * into a dense scratch buffer and the result copied back.
 *
 * Primitives are cached per thread (kern_dnnl_cache.c, shared with the conv backward
 * kernels of kern_dnnl_backward.c).
 */
#include "kern_dnnl_internal.h"
#include "kern_geom.h"
#include "kern_index.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Descriptors of one shape: in place (tile strides) or dense. */
static void make_mds(const starhalo__dnnl_key_t *k, int in_place, dnnl_memory_desc_t *src,
                     dnnl_memory_desc_t *dst)
{
    const dnnl_dims_t sdims = {k->n, k->cin, k->ih, k->iw};
    const dnnl_dims_t ddims = {k->n, k->cout, k->oh, k->ow};
    if (in_place) {
        const int64_t splane = k->in_sp[0] * k->in_sp[1], dplane = k->out_sp[0] * k->out_sp[1];
        const dnnl_dims_t sstr = {k->cin * splane, splane, k->in_sp[1], 1};
        const dnnl_dims_t dstr = {k->cout * dplane, dplane, k->out_sp[1], 1};
        dnnl_memory_desc_init_by_strides(src, 4, sdims, dnnl_f32, sstr);
        dnnl_memory_desc_init_by_strides(dst, 4, ddims, dnnl_f32, dstr);
    } else {
        dnnl_memory_desc_init_by_tag(src, 4, sdims, dnnl_f32, dnnl_nchw);
        dnnl_memory_desc_init_by_tag(dst, 4, ddims, dnnl_f32, dnnl_nchw);
    }
}

static dnnl_status_t make_pd(starhalo__dnnl_thread_t *ts, const starhalo__dnnl_key_t *k,
                             int in_place, dnnl_primitive_desc_t *pd)
{
    dnnl_memory_desc_t src, dst, wei, bias;
    make_mds(k, in_place, &src, &dst);
    const dnnl_dims_t strides = {k->stride, k->stride};
    const dnnl_dims_t dil = {k->dilation - 1, k->dilation - 1};
    const dnnl_dims_t pl = {k->pl[0], k->pl[1]}, pr = {k->pr[0], k->pr[1]};
    dnnl_status_t st;
    if (k->op == STARHALO__DNNL_CONV) {
        const dnnl_dims_t bdims = {k->cout};
        starhalo__dnnl_weights_md(k, 0, &wei);
        dnnl_memory_desc_init_by_tag(&bias, 1, bdims, dnnl_f32, dnnl_x);
        dnnl_convolution_desc_t cd;
        st = dnnl_dilated_convolution_forward_desc_init(
            &cd, dnnl_forward_inference, dnnl_convolution_direct, &src, &wei,
            k->has_bias ? &bias : NULL, &dst, strides, dil, pl, pr);
        if (st == dnnl_success)
            st = dnnl_primitive_desc_create(pd, &cd, NULL, ts->engine, NULL);
    } else {
        const dnnl_alg_kind_t alg = k->op == STARHALO__DNNL_POOL_MAX ? dnnl_pooling_max
                                    : k->op == STARHALO__DNNL_POOL_AVG
                                        ? dnnl_pooling_avg_include_padding
                                        : dnnl_pooling_avg_exclude_padding;
        const dnnl_dims_t kern = {k->kernel, k->kernel};
        dnnl_pooling_v2_desc_t pdsc;
        st = dnnl_pooling_v2_forward_desc_init(&pdsc, dnnl_forward_inference, alg, &src, &dst,
                                               strides, kern, dil, pl, pr);
        if (st == dnnl_success)
            st = dnnl_primitive_desc_create(pd, &pdsc, NULL, ts->engine, NULL);
    }
    return st;
}

/* The forward builder of the primitive cache. */
static starhalo_status_t entry_build(starhalo__dnnl_thread_t *ts, const starhalo__dnnl_key_t *k,
                                     starhalo__dnnl_entry_t *e)
{
    dnnl_primitive_desc_t pd = NULL;
    const char *impl = NULL;
    /* In place first; fall back to dense copies when only a reference kernel takes strides. */
    int in_place = 1;
    if (make_pd(ts, k, 1, &pd) == dnnl_success) {
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
        if (!impl || strstr(impl, "ref")) {
            dnnl_primitive_desc_destroy(pd);
            pd = NULL;
        }
    } else {
        pd = NULL;
    }
    if (!pd) {
        in_place = 0;
        STARHALO__DNNL_TRY(make_pd(ts, k, 0, &pd), k->op == STARHALO__DNNL_CONV
                                                       ? "convolution descriptor"
                                                       : "pooling descriptor");
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    }
    e->pd = pd;
    e->in_place = in_place;
    e->impl = impl;
    STARHALO_CHECK(starhalo__dnnl_entry_memory(ts, e, dnnl_query_src_md, 0, &e->src));
    STARHALO_CHECK(starhalo__dnnl_entry_memory(ts, e, dnnl_query_dst_md, 0, &e->dst));
    if (k->op == STARHALO__DNNL_CONV) {
        STARHALO_CHECK(starhalo__dnnl_entry_memory(ts, e, dnnl_query_weights_md, 0, &e->wei));
        if (k->has_bias)
            STARHALO_CHECK(starhalo__dnnl_entry_memory(ts, e, dnnl_query_weights_md, 1, &e->bias));
    }
    return STARHALO_OK;
}

/* A call: its geometry and the primitive key derived from it. */
typedef struct call_geom {
    starhalo__layer_geom_t g;
    starhalo__dnnl_key_t key;
    int64_t j0[2]; /* crop: first wanted output of the dense result, [0] = H, [1] = W */
    unsigned flags;
} call_geom_t;

/*
 * oneDNN runs strided (non-dense) views only with its reference kernel, so a window that is
 * not the whole tile (the interior of a part) would need a copy of its input. When the caller
 * allows reading the whole input tile (STARHALO_KERN_READ_WHOLE_TILE) and the window needs no
 * padding, run the convolution or pooling on the whole, dense tile instead and keep the region's
 * outputs: no input copy, a few extra output rows and columns (at most 25 % more work, else
 * the copy is cheaper), and one copy of the outputs. Cells outside the window only feed
 * outputs that are thrown away.
 */
static void try_crop(call_geom_t *c)
{
    const starhalo__layer_geom_t *g = &c->g;
    starhalo__dnnl_key_t *k = &c->key;
    if (g->ih == g->igh && g->iw == g->igw)
        return;
    int64_t j0[2], pl[2], outs[2];
    const int64_t full[2] = {g->igh, g->igw}, off[2] = {g->in_y0, g->in_x0};
    const int64_t want[2] = {g->oh, g->ow};
    const int64_t dk = (int64_t)k->dilation * (k->kernel - 1) + 1;
    for (int d = 0; d < 2; d++) {
        if (g->pl[d] || g->pr[d])
            return;
        j0[d] = (off[d] + k->stride - 1) / k->stride;
        pl[d] = j0[d] * k->stride - off[d];
        outs[d] = (full[d] + pl[d] - dk) / k->stride + 1;
        if (j0[d] + want[d] > outs[d])
            return;
    }
    if (outs[0] * outs[1] * 4 > want[0] * want[1] * 5)
        return;
    k->crop = 1;
    k->ih = full[0];
    k->iw = full[1];
    k->oh = outs[0];
    k->ow = outs[1];
    for (int d = 0; d < 2; d++) {
        k->pl[d] = pl[d];
        k->pr[d] = 0;
        c->j0[d] = j0[d];
    }
    k->out_sp[0] = outs[0];
    k->out_sp[1] = outs[1];
}

/* OR of the bits of @p n floats, sign bits dropped (-0 counts as zero, NaN does not). */
static uint32_t or_bits(const float *v, int64_t n)
{
    uint32_t acc = 0, b;
    for (int64_t i = 0; i < n; i++) {
        memcpy(&b, v + i, sizeof b);
        acc |= b;
    }
    return acc & 0x7fffffffu;
}

/* Are the cells of [x0, x1) x [y0, y1) outside the window [wx0, wx1) x [wy0, wy1) zero, in every
 * plane of the tile? One pass in memory order (the cells right of a row and left of the next
 * are neighbours), each row checked once. */
static int ring_zero(const float *in, const starhalo__layer_geom_t *g, int64_t planes, int64_t x0,
                     int64_t x1, int64_t y0, int64_t y1, int64_t wx0, int64_t wx1, int64_t wy0,
                     int64_t wy1)
{
    for (int64_t p = 0; p < planes; p++)
        for (int64_t y = y0; y < y1; y++) {
            const float *row = in + (p * g->igh + y) * g->igw;
            __builtin_prefetch(row + 16 * g->igw + x0);
            const uint32_t bits = y < wy0 || y >= wy1
                                      ? or_bits(row + x0, x1 - x0)
                                      : or_bits(row + x0, wx0 - x0) | or_bits(row + wx1, x1 - wx1);
            if (bits)
                return 0;
        }
    return 1;
}

/*
 * Explicit padding comes from the image border (the domain): the cells beyond it, when the
 * tile holds them, are ghosts outside the image. A field's are zero unless someone wrote them
 * (fields start zeroed and non-periodic exchanges never write them; periodic ones and stencil
 * boundary conditions do), so check: when every such cell the padding would cover is zero, and
 * zero cells are the same as zero padding (conv, include-padding average), the window takes
 * them instead. An interior or whole-part window then stays inside the tile, often is the
 * whole tile, and runs dense (in place or cropped) instead of through a copy of its input.
 * Needs READ_WHOLE_TILE: the cells read lie outside the region's window.
 */
static void try_ghost_padding(call_geom_t *c, int op, const float *in)
{
    starhalo__layer_geom_t *g = &c->g;
    if (op != STARHALO__DNNL_CONV && op != STARHALO__DNNL_POOL_AVG)
        return;
    /* [0] = H, [1] = W: cells the tile holds before and after the window. */
    const int64_t room_l[2] = {g->in_y0, g->in_x0};
    const int64_t room_r[2] = {g->igh - g->in_y0 - g->ih, g->igw - g->in_x0 - g->iw};
    int64_t el[2], er[2];
    for (int d = 0; d < 2; d++) {
        el[d] = g->pl[d] <= room_l[d] ? g->pl[d] : 0;
        er[d] = g->pr[d] <= room_r[d] ? g->pr[d] : 0;
    }
    if (!el[0] && !er[0] && !el[1] && !er[1])
        return;
    const int64_t planes = g->n * g->cin;
    const int64_t y0 = g->in_y0 - el[0], y1 = g->in_y0 + g->ih + er[0];
    const int64_t x0 = g->in_x0 - el[1], x1 = g->in_x0 + g->iw + er[1];
    if (!ring_zero(in, g, planes, x0, x1, y0, y1, g->in_x0, g->in_x0 + g->iw, g->in_y0,
                   g->in_y0 + g->ih))
        return;
    g->in_y0 = y0;
    g->in_x0 = x0;
    g->ih = y1 - y0;
    g->iw = x1 - x0;
    for (int d = 0; d < 2; d++) {
        g->pl[d] -= el[d];
        g->pr[d] -= er[d];
    }
}

static starhalo_status_t plan_call(const char *what, int op, const starhalo_kern_tile_t *it,
                                   const starhalo_layer_t *layer, int groups,
                                   const starhalo_kern_tile_t *ot, const starhalo_box_t *region,
                                   const starhalo_box_t *domain, const float *in, unsigned flags,
                                   call_geom_t *c)
{
    memset(c, 0, sizeof *c);
    STARHALO_CHECK(starhalo__kern_layer_geom(what, op != STARHALO__DNNL_CONV, it, layer, ot, region,
                                             domain, &c->g));
    c->flags = flags;
    if (in && (flags & STARHALO_KERN_READ_WHOLE_TILE))
        try_ghost_padding(c, op, in);
    const starhalo__layer_geom_t *g = &c->g;
    starhalo__dnnl_key_t *k = &c->key;
    k->op = op;
    k->kernel = layer->kernel;
    k->stride = layer->stride;
    k->dilation = layer->dilation;
    k->n = g->n;
    k->cin = g->cin;
    k->cout = g->cout;
    k->groups = groups;
    k->ih = g->ih;
    k->iw = g->iw;
    k->oh = g->oh;
    k->ow = g->ow;
    for (int d = 0; d < 2; d++) {
        k->pl[d] = g->pl[d];
        k->pr[d] = g->pr[d];
    }
    k->in_sp[0] = g->igh;
    k->in_sp[1] = g->igw;
    k->out_sp[0] = g->ogh;
    k->out_sp[1] = g->ogw;
    return STARHALO_OK;
}

/*
 * A narrow column region (the left and right boundary strips of a part) makes oneDNN's gemm
 * work on 1..8-wide output rows, several times slower per output than a row region. Its window
 * is copied anyway (not dense), so copy it transposed instead (W <-> H, and the weights
 * kk_y <-> kk_x), run a wide row region, and transpose the result back.
 */
static void try_transpose(call_geom_t *c)
{
    const starhalo__layer_geom_t *g = &c->g;
    starhalo__dnnl_key_t *k = &c->key;
    const int dense = g->ih == g->igh && g->iw == g->igw && g->oh == g->ogh && g->ow == g->ogw;
    if (k->crop || dense || g->ow > 8 || g->oh < 4 * g->ow)
        return;
    k->transposed = 1;
    k->ih = g->iw;
    k->iw = g->ih;
    k->oh = g->ow;
    k->ow = g->oh;
    const int64_t pl0 = k->pl[0], pr0 = k->pr[0];
    k->pl[0] = k->pl[1];
    k->pr[0] = k->pr[1];
    k->pl[1] = pl0;
    k->pr[1] = pr0;
    k->in_sp[0] = k->ih;
    k->in_sp[1] = k->iw;
    k->out_sp[0] = k->oh;
    k->out_sp[1] = k->ow;
}

/* Tile window [planes][h][w] at (x0, y0) <-> dense transposed block [planes][w][h]. */
static void copy_transposed(int to_dense, float *tile, int64_t gw, int64_t gh, int64_t x0,
                            int64_t y0, float *dense, int64_t planes, int64_t h, int64_t w)
{
    for (int64_t p = 0; p < planes; p++)
        for (int64_t y = 0; y < h; y++) {
            float *t = tile + (p * gh + y0 + y) * gw + x0;
            float *dd = dense + p * w * h + y;
            if (to_dense)
                for (int64_t x = 0; x < w; x++)
                    dd[x * h] = t[x];
            else
                for (int64_t x = 0; x < w; x++)
                    t[x] = dd[x * h];
        }
}

/*
 * Copy the cells of every output plane that lie outside the region to (save = 1) or from
 * (save = 0) @p buf: the border ring a cropped result written straight into the output tile
 * overwrites. Returns the number of floats.
 */
static int64_t ring_copy(int save, float *tile, const starhalo__layer_geom_t *g, int64_t planes,
                         float *buf)
{
    int64_t n = 0;
    for (int64_t p = 0; p < planes; p++)
        for (int64_t y = 0; y < g->ogh; y++) {
            float *row = tile + (p * g->ogh + y) * g->ogw;
            const int inside = y >= g->out_y0 && y < g->out_y0 + g->oh;
            /* Rows outside the region: whole row; inside: the cells left and right of it. */
            const int64_t seg[2][2] = {{0, inside ? g->out_x0 : g->ogw},
                                       {inside ? g->out_x0 + g->ow : g->ogw, g->ogw}};
            for (int s = 0; s < 2; s++) {
                const int64_t len = seg[s][1] - seg[s][0];
                if (len <= 0)
                    continue;
                if (buf && save)
                    memcpy(buf + n, row + seg[s][0], (size_t)len * sizeof(float));
                else if (buf)
                    memcpy(row + seg[s][0], buf + n, (size_t)len * sizeof(float));
                n += len;
            }
        }
    return n;
}

static starhalo_status_t run(const call_geom_t *c, const float *in, const float *weights,
                             const float *bias, float *out)
{
    starhalo__dnnl_thread_t *ts = NULL;
    starhalo__dnnl_entry_t *e = NULL;
    STARHALO_CHECK(starhalo__dnnl_thread_get(&ts));
    STARHALO_CHECK(starhalo__dnnl_entry_get(ts, &c->key, entry_build, &e));
    const starhalo__dnnl_key_t *k = &c->key;
    const starhalo__layer_geom_t *g = &c->g;
    float *src, *dst;
    /* A cropped result that has the output tile's exact geometry may go straight into the
     * tile when the caller has it exclusively: save the ring around the region, restore it. */
    const int direct = k->crop && (c->flags & STARHALO_KERN_EXCLUSIVE_OUTPUT) && g->ogh == k->oh &&
                       g->ogw == k->ow && g->out_y0 == c->j0[0] && g->out_x0 == c->j0[1];
    if (direct) {
        const int64_t ring = ring_copy(1, out, g, k->n * k->cout, NULL);
        STARHALO_CHECK(
            starhalo__dnnl_grow(&ts->scratch_in, &ts->scratch_in_n, (size_t)(ring > 0 ? ring : 1)));
        ring_copy(1, out, g, k->n * k->cout, ts->scratch_in);
        src = (float *)in;
        dst = out;
    } else if (k->crop) {
        STARHALO_CHECK(starhalo__dnnl_grow(&ts->scratch_out, &ts->scratch_out_n,
                                           (size_t)(k->n * k->cout * k->oh * k->ow)));
        src = (float *)in;
        dst = ts->scratch_out;
    } else if (k->transposed) {
        STARHALO_CHECK(starhalo__dnnl_grow(&ts->scratch_in, &ts->scratch_in_n,
                                           (size_t)(k->n * k->cin * k->ih * k->iw)));
        STARHALO_CHECK(starhalo__dnnl_grow(&ts->scratch_out, &ts->scratch_out_n,
                                           (size_t)(k->n * k->cout * k->oh * k->ow)));
        src = ts->scratch_in;
        dst = ts->scratch_out;
        copy_transposed(1, (float *)in, g->igw, g->igh, g->in_x0, g->in_y0, src, k->n * k->cin,
                        g->ih, g->iw);
        if (k->op == STARHALO__DNNL_CONV) {
            const int64_t kk = k->kernel, nf = k->cout * (k->cin / k->groups);
            STARHALO_CHECK(
                starhalo__dnnl_grow(&ts->scratch_w, &ts->scratch_w_n, (size_t)(nf * kk * kk)));
            for (int64_t f = 0; f < nf; f++)
                for (int64_t ky = 0; ky < kk; ky++)
                    for (int64_t kx = 0; kx < kk; kx++)
                        ts->scratch_w[(f * kk + kx) * kk + ky] = weights[(f * kk + ky) * kk + kx];
            weights = ts->scratch_w;
        }
    } else if (e->in_place) {
        src = (float *)in + g->in_y0 * g->igw + g->in_x0;
        dst = out + g->out_y0 * g->ogw + g->out_x0;
    } else {
        STARHALO_CHECK(starhalo__dnnl_grow(&ts->scratch_in, &ts->scratch_in_n,
                                           (size_t)(k->n * k->cin * k->ih * k->iw)));
        STARHALO_CHECK(starhalo__dnnl_grow(&ts->scratch_out, &ts->scratch_out_n,
                                           (size_t)(k->n * k->cout * k->oh * k->ow)));
        src = ts->scratch_in;
        dst = ts->scratch_out;
        starhalo__dnnl_copy_block(1, (float *)in, g->igw, g->igh, g->in_x0, g->in_y0, src,
                                  k->n * k->cin, k->ih, k->iw);
    }
    STARHALO__DNNL_TRY(dnnl_memory_set_data_handle(e->src, src), "set src handle");
    STARHALO__DNNL_TRY(dnnl_memory_set_data_handle(e->dst, dst), "set dst handle");
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, e->src}, {DNNL_ARG_DST, e->dst}};
    int nargs = 2;
    if (k->op == STARHALO__DNNL_CONV) {
        STARHALO__DNNL_TRY(dnnl_memory_set_data_handle(e->wei, (void *)weights),
                           "set weights handle");
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, e->wei};
        if (k->has_bias) {
            STARHALO__DNNL_TRY(dnnl_memory_set_data_handle(e->bias, (void *)bias),
                               "set bias handle");
            args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, e->bias};
        }
    }
    STARHALO__DNNL_TRY(dnnl_primitive_execute(e->prim, ts->stream, nargs, args), "execute");
    STARHALO__DNNL_TRY(dnnl_stream_wait(ts->stream), "stream wait");
    if (direct) {
        ring_copy(0, out, g, k->n * k->cout, ts->scratch_in);
    } else if (k->crop) {
        for (int64_t p = 0; p < k->n * k->cout; p++)
            for (int64_t y = 0; y < g->oh; y++)
                memcpy(out + (p * g->ogh + g->out_y0 + y) * g->ogw + g->out_x0,
                       dst + (p * k->oh + c->j0[0] + y) * k->ow + c->j0[1],
                       (size_t)g->ow * sizeof(float));
    } else if (k->transposed) {
        copy_transposed(0, out, g->ogw, g->ogh, g->out_x0, g->out_y0, dst, k->n * k->cout, g->oh,
                        g->ow);
    } else if (!e->in_place) {
        starhalo__dnnl_copy_block(0, out, g->ogw, g->ogh, g->out_x0, g->out_y0, dst, k->n * k->cout,
                                  k->oh, k->ow);
    }
    ts->last_impl = e->impl;
    ts->last_in_place = direct ? 3 : k->crop ? 2 : k->transposed ? 4 : e->in_place;
    return STARHALO_OK;
}

starhalo_status_t starhalo_kern_conv2d_cpu(const starhalo_kern_tile_t *in_tile, const float *in,
                                           const float *weights, const float *bias,
                                           const starhalo_layer_t *layer,
                                           const starhalo_kern_tile_t *out_tile, float *out,
                                           const starhalo_box_t *region,
                                           const starhalo_box_t *domain)
{
    return starhalo_kern_conv2d_cpu_ex(in_tile, in, weights, bias, layer, out_tile, out, region,
                                       domain, 0);
}

starhalo_status_t starhalo_kern_conv2d_cpu_ex(const starhalo_kern_tile_t *in_tile, const float *in,
                                              const float *weights, const float *bias,
                                              const starhalo_layer_t *layer,
                                              const starhalo_kern_tile_t *out_tile, float *out,
                                              const starhalo_box_t *region,
                                              const starhalo_box_t *domain, unsigned flags)
{
    return starhalo_kern_conv2d_cpu_g(in_tile, in, weights, bias, layer, 1, out_tile, out, region,
                                      domain, flags);
}

starhalo_status_t starhalo_kern_conv2d_cpu_g(const starhalo_kern_tile_t *in_tile, const float *in,
                                             const float *weights, const float *bias,
                                             const starhalo_layer_t *layer, int groups,
                                             const starhalo_kern_tile_t *out_tile, float *out,
                                             const starhalo_box_t *region,
                                             const starhalo_box_t *domain, unsigned flags)
{
    call_geom_t g;
    STARHALO_REQUIRE(region, STARHALO_ERR_INVALID_ARG, "conv2d: NULL region");
    if (starhalo__kern_region_empty(region))
        return STARHALO_OK;
    STARHALO_CHECK(plan_call("conv2d", STARHALO__DNNL_CONV, in_tile, layer, groups, out_tile,
                             region, domain, in, flags, &g));
    STARHALO_CHECK(starhalo__kern_groups_check("conv2d", groups, in_tile, out_tile));
    STARHALO_REQUIRE(in && weights && out, STARHALO_ERR_INVALID_ARG, "conv2d: NULL data pointer");
    g.key.has_bias = bias != NULL;
    if (flags & STARHALO_KERN_READ_WHOLE_TILE)
        try_crop(&g);
    try_transpose(&g);
    return run(&g, in, weights, bias, out);
}

starhalo_status_t starhalo_kern_pool2d_cpu(starhalo_pool_kind_t kind,
                                           const starhalo_kern_tile_t *in_tile, const float *in,
                                           const starhalo_layer_t *layer,
                                           const starhalo_kern_tile_t *out_tile, float *out,
                                           const starhalo_box_t *region,
                                           const starhalo_box_t *domain)
{
    return starhalo_kern_pool2d_cpu_ex(kind, in_tile, in, layer, out_tile, out, region, domain, 0);
}

starhalo_status_t starhalo_kern_pool2d_cpu_ex(starhalo_pool_kind_t kind,
                                              const starhalo_kern_tile_t *in_tile, const float *in,
                                              const starhalo_layer_t *layer,
                                              const starhalo_kern_tile_t *out_tile, float *out,
                                              const starhalo_box_t *region,
                                              const starhalo_box_t *domain, unsigned flags)
{
    call_geom_t g;
    STARHALO_REQUIRE(region, STARHALO_ERR_INVALID_ARG, "pool2d: NULL region");
    STARHALO_REQUIRE(kind == STARHALO_POOL_MAX || kind == STARHALO_POOL_AVG ||
                         kind == STARHALO_POOL_AVG_EXCLUDE,
                     STARHALO_ERR_INVALID_ARG, "pool2d: unknown pooling kind %d", (int)kind);
    if (starhalo__kern_region_empty(region))
        return STARHALO_OK;
    const int op = kind == STARHALO_POOL_MAX   ? STARHALO__DNNL_POOL_MAX
                   : kind == STARHALO_POOL_AVG ? STARHALO__DNNL_POOL_AVG
                                               : STARHALO__DNNL_POOL_AVG_EXCLUDE;
    STARHALO_CHECK(
        plan_call("pool2d", op, in_tile, layer, 1, out_tile, region, domain, in, flags, &g));
    STARHALO_REQUIRE(in && out, STARHALO_ERR_INVALID_ARG, "pool2d: NULL data pointer");
    if (flags & STARHALO_KERN_READ_WHOLE_TILE)
        try_crop(&g);
    try_transpose(&g);
    return run(&g, in, NULL, NULL, out);
}
