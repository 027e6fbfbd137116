/* SPDX-License-Identifier: MIT */
/**
 * @file kern_dnnl_backward.c
 * @brief conv2d backward data / backward weights through oneDNN 2.6's convolution_backward_data
 * and convolution_backward_weights primitives (float32), with the contracts of the loop
 * kernels of kern_conv_backward.c.
 *
 * The region's whole input window lies inside the input tile (starhalo__kern_bwd_geom checks
 * it), so each call is a convolution without padding between the window (src / diff_src,
 * (oh-1)*stride + dilation*(k-1) + 1 cells per dim) and the region (dst / diff_dst).
 *
 * Layouts. The primitives are created with format "any": with plain NCHW / OIHW descriptors
 * oneDNN 2.6 picks its gemm implementation (x64:gemm:jit), with "any" its direct blocked one
 * (jit:avx512_core here, nChw16c), 2.7-5x faster on 16 -> 16 channels (backward data with
 * fewer than 8 input channels stays plain: see bwd_build). The caller's data are
 * described as they lie: the window and the region as strided views into the tiles (tile
 * strides, data handle at the first cell), the weights as dense OIHW. Each argument whose
 * view differs from the layout the primitive chose goes through a oneDNN reorder between the
 * view and a per-thread scratch (jit:uni reorders take the strided views, so no copy of ours is
 * needed): in for weights and diff_dst (backward data) or src and diff_dst (backward weights),
 * out for diff_src or diff_weights. An argument whose view is already the chosen layout is
 * used in place.
 *
 * Backward data writes only the window of grad_in, so the tile is zeroed first unless the window
 * is the whole tile (a part's owned box with halo = padding and stride 1); oneDNN writes every
 * diff_src cell of the window, zeros where no output reads it. Backward weights: oneDNN
 * computes float diff_weights (reordered to dense OIHW), converted to the contract's double.
 * Grouped convs (the _g entry points) describe the weights as GOIHW (kern_dnnl_internal.h).
 * Primitives live in the per-thread cache of kern_dnnl_cache.c, keyed by the shape and both tile
 * geometries (the views' strides); each keeps its forward hint.
 */
#include "kern_dnnl_internal.h"
#include "kern_geom.h"
#include "starhalo_kernels_cnn.h"

enum { ARG_SRC = 0, ARG_WEI = 1, ARG_DST = 2 };

/* Products per weight tap that one backward-weights call sums in float (see the bands in
 * starhalo_kern_conv2d_bwd_weights_dnnl). */
#define BWD_WEIGHTS_BAND 4096

/* Backward data with fewer input channels runs on plain layouts (see bwd_build). */
#define BWD_DATA_BLOCKED_MIN_CIN 8

/* The key of a backward call: window and region sizes, no padding, the tiles' plane sizes. */
static void bwd_key(int op, const starhalo_kidx_bwd_t *g, int groups, starhalo__dnnl_key_t *k)
{
    memset(k, 0, sizeof *k);
    k->op = op;
    k->groups = groups;
    k->kernel = (int)g->k;
    k->stride = (int)g->s;
    k->dilation = (int)g->dil;
    k->n = g->n;
    k->cin = g->cin;
    k->cout = g->cout;
    k->oh = g->oh;
    k->ow = g->ow;
    k->ih = (g->oh - 1) * g->s + g->dil * (g->k - 1) + 1;
    k->iw = (g->ow - 1) * g->s + g->dil * (g->k - 1) + 1;
    k->in_sp[0] = g->igh;
    k->in_sp[1] = g->igw;
    k->out_sp[0] = g->ogh;
    k->out_sp[1] = g->ogw;
}

/* The caller's view of argument @p arg: dense OIHW (GOIHW when grouped) weights, or the window (src
 * side) or the region (diff_dst) as a strided view into its tile (the tile's plane height and
 * pitch). */
static void view_md(const starhalo__dnnl_key_t *k, int arg, dnnl_memory_desc_t *md)
{
    if (arg == ARG_WEI) {
        starhalo__dnnl_weights_md(k, 0, md);
        return;
    }
    const int64_t c = arg == ARG_SRC ? k->cin : k->cout;
    const int64_t *sp = arg == ARG_SRC ? k->in_sp : k->out_sp;
    const dnnl_dims_t dims = {k->n, c, arg == ARG_SRC ? k->ih : k->oh,
                              arg == ARG_SRC ? k->iw : k->ow};
    const dnnl_dims_t strides = {c * sp[0] * sp[1], sp[0] * sp[1], sp[1], 1};
    dnnl_memory_desc_init_by_strides(md, 4, dims, dnnl_f32, strides);
}

/* Argument @p arg's memory object, view and reorder (into the chosen layout for the inputs,
 * out of it for the output) of entry @p e. */
static starhalo_status_t bwd_arg(starhalo__dnnl_thread_t *ts, starhalo__dnnl_entry_t *e, int arg,
                                 dnnl_query_t what, dnnl_memory_t *mem, int output)
{
    STARHALO_CHECK(starhalo__dnnl_entry_memory(ts, e, what, 0, mem));
    const dnnl_memory_desc_t *chosen = dnnl_primitive_desc_query_md(e->pd, what, 0);
    dnnl_memory_desc_t view;
    view_md(&e->key, arg, &view);
    STARHALO__DNNL_TRY(dnnl_memory_create(&e->view[arg], &view, ts->engine, DNNL_MEMORY_NONE),
                       "memory");
    e->bytes[arg] = dnnl_memory_desc_get_size(chosen);
    if (dnnl_memory_desc_equal(chosen, &view))
        return STARHALO_OK;
    dnnl_primitive_desc_t rpd = NULL;
    STARHALO__DNNL_TRY(
        output
            ? dnnl_reorder_primitive_desc_create(&rpd, chosen, ts->engine, &view, ts->engine, NULL)
            : dnnl_reorder_primitive_desc_create(&rpd, &view, ts->engine, chosen, ts->engine, NULL),
        "reorder primitive descriptor");
    const dnnl_status_t st = dnnl_primitive_create(&e->reorder[arg], rpd);
    dnnl_primitive_desc_destroy(rpd);
    STARHALO__DNNL_TRY(st, "reorder primitive creation");
    return STARHALO_OK;
}

/*
 * The backward builder of the primitive cache: a forward training descriptor as the hint, then
 * the backward data or weights primitive descriptor, layouts "any"; then the reorders. One
 * exception: backward data pads diff_src's channels to the block (16 with AVX-512) in the
 * blocked layout, so with few input channels it costs what 16 would (1.7 ms for batch 2,
 * 128x128, 1..8 -> 16 channels); there plain NCHW / OIHW (oneDNN's gemm) is faster: 0.33 ms for
 * 1 -> 16, 1.36 ms for 3 -> 16, 1.38 against 6.9 ms for 2 -> 64; from 8 input channels the
 * blocked one wins (1.7 against 2.2 ms for 8 -> 8). Backward weights is faster blocked for
 * every shape measured (1..64 channels).
 */
static starhalo_status_t bwd_build(starhalo__dnnl_thread_t *ts, const starhalo__dnnl_key_t *k,
                                   starhalo__dnnl_entry_t *e)
{
    const int data = k->op == STARHALO__DNNL_CONV_BWD_DATA;
    const dnnl_dims_t sdims = {k->n, k->cin, k->ih, k->iw};
    const dnnl_dims_t ddims = {k->n, k->cout, k->oh, k->ow};
    const dnnl_dims_t strides = {k->stride, k->stride};
    const dnnl_dims_t dil = {k->dilation - 1, k->dilation - 1};
    const dnnl_dims_t pad = {0, 0};
    const int plain = data && k->cin < BWD_DATA_BLOCKED_MIN_CIN;
    dnnl_memory_desc_t src, wei, dst;
    dnnl_memory_desc_init_by_tag(&src, 4, sdims, dnnl_f32, plain ? dnnl_nchw : dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&dst, 4, ddims, dnnl_f32, plain ? dnnl_nchw : dnnl_format_tag_any);
    starhalo__dnnl_weights_md(k, !plain, &wei);
    dnnl_convolution_desc_t fd, bd;
    STARHALO__DNNL_TRY(dnnl_dilated_convolution_forward_desc_init(
                           &fd, dnnl_forward_training, dnnl_convolution_direct, &src, &wei, NULL,
                           &dst, strides, dil, pad, pad),
                       "convolution forward (hint) descriptor");
    STARHALO__DNNL_TRY(dnnl_primitive_desc_create(&e->hint, &fd, NULL, ts->engine, NULL),
                       "convolution forward (hint) primitive descriptor");
    if (data)
        STARHALO__DNNL_TRY(
            dnnl_dilated_convolution_backward_data_desc_init(&bd, dnnl_convolution_direct, &src,
                                                             &wei, &dst, strides, dil, pad, pad),
            "convolution backward data descriptor");
    else
        STARHALO__DNNL_TRY(
            dnnl_dilated_convolution_backward_weights_desc_init(
                &bd, dnnl_convolution_direct, &src, &wei, NULL, &dst, strides, dil, pad, pad),
            "convolution backward weights descriptor");
    STARHALO__DNNL_TRY(dnnl_primitive_desc_create(&e->pd, &bd, NULL, ts->engine, e->hint),
                       data ? "convolution backward data primitive descriptor"
                            : "convolution backward weights primitive descriptor");
    dnnl_primitive_desc_query(e->pd, dnnl_query_impl_info_str, 0, &e->impl);
    STARHALO_CHECK(
        bwd_arg(ts, e, ARG_SRC, data ? dnnl_query_diff_src_md : dnnl_query_src_md, &e->src, data));
    STARHALO_CHECK(bwd_arg(
        ts, e, ARG_WEI, data ? dnnl_query_weights_md : dnnl_query_diff_weights_md, &e->wei, !data));
    STARHALO_CHECK(bwd_arg(ts, e, ARG_DST, dnnl_query_diff_dst_md, &e->dst, 0));
    e->in_place = !e->reorder[ARG_SRC];
    return STARHALO_OK;
}

static starhalo_status_t reorder(starhalo__dnnl_thread_t *ts, dnnl_primitive_t r,
                                 dnnl_memory_t from, dnnl_memory_t to)
{
    const dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    STARHALO__DNNL_TRY(dnnl_primitive_execute(r, ts->stream, 2, args), "reorder");
    return STARHALO_OK;
}

/*
 * One call: @p ptr[arg] = the caller's data of each argument (its view's first cell). Inputs
 * are reordered into the thread's scratch when their view is not the chosen layout, the
 * primitive runs, and the output is reordered back into its view.
 */
static starhalo_status_t bwd_execute(starhalo__dnnl_thread_t *ts, starhalo__dnnl_entry_t *e,
                                     float *const ptr[3])
{
    const int data = e->key.op == STARHALO__DNNL_CONV_BWD_DATA;
    const int output = data ? ARG_SRC : ARG_WEI;
    dnnl_memory_t mem[3] = {e->src, e->wei, e->dst};
    for (int a = 0; a < 3; a++) {
        float *p = ptr[a];
        if (e->reorder[a]) {
            const size_t n = (e->bytes[a] + sizeof(float) - 1) / sizeof(float);
            STARHALO_CHECK(starhalo__dnnl_grow(&ts->blocked[a], &ts->blocked_n[a], n ? n : 1));
            p = ts->blocked[a];
            STARHALO__DNNL_TRY(dnnl_memory_set_data_handle(e->view[a], ptr[a]), "set view handle");
        }
        STARHALO__DNNL_TRY(dnnl_memory_set_data_handle(mem[a], p), "set data handle");
        if (e->reorder[a] && a != output)
            STARHALO_CHECK(reorder(ts, e->reorder[a], e->view[a], mem[a]));
    }
    const dnnl_exec_arg_t args[3] = {
        {data ? DNNL_ARG_DIFF_SRC : DNNL_ARG_SRC, e->src},
        {data ? DNNL_ARG_WEIGHTS : DNNL_ARG_DIFF_WEIGHTS, e->wei},
        {DNNL_ARG_DIFF_DST, e->dst},
    };
    STARHALO__DNNL_TRY(dnnl_primitive_execute(e->prim, ts->stream, 3, args), "execute");
    if (e->reorder[output])
        STARHALO_CHECK(reorder(ts, e->reorder[output], mem[output], e->view[output]));
    STARHALO__DNNL_TRY(dnnl_stream_wait(ts->stream), "stream wait");
    ts->last_impl = e->impl;
    ts->last_in_place = e->in_place;
    return STARHALO_OK;
}

starhalo_status_t starhalo_kern_conv2d_bwd_data_dnnl(const starhalo_kern_tile_t *out_tile,
                                                     const float *grad_out, const float *weights,
                                                     const starhalo_layer_t *layer,
                                                     const starhalo_kern_tile_t *in_tile,
                                                     float *grad_in, const starhalo_box_t *region)
{
    return starhalo_kern_conv2d_bwd_data_dnnl_g(out_tile, grad_out, weights, layer, 1, in_tile,
                                                grad_in, region);
}

starhalo_status_t starhalo_kern_conv2d_bwd_data_dnnl_g(const starhalo_kern_tile_t *out_tile,
                                                       const float *grad_out, const float *weights,
                                                       const starhalo_layer_t *layer, int groups,
                                                       const starhalo_kern_tile_t *in_tile,
                                                       float *grad_in, const starhalo_box_t *region)
{
    starhalo_kidx_bwd_t g;
    STARHALO_CHECK(starhalo__kern_bwd_prepare("conv2d_bwd_data", in_tile, out_tile, layer, region,
                                              grad_out, weights, grad_in, &g));
    STARHALO_CHECK(starhalo__kern_groups_check("conv2d_bwd_data", groups, in_tile, out_tile));
    const size_t tile_bytes = sizeof(float) * (size_t)starhalo_kern_tile_elems(in_tile);
    if (starhalo__kern_region_empty_2d(region)) {
        memset(grad_in, 0, tile_bytes);
        return STARHALO_OK;
    }
    starhalo__dnnl_key_t k;
    starhalo__dnnl_thread_t *ts = NULL;
    starhalo__dnnl_entry_t *e = NULL;
    bwd_key(STARHALO__DNNL_CONV_BWD_DATA, &g, groups, &k);
    STARHALO_CHECK(starhalo__dnnl_thread_get(&ts));
    STARHALO_CHECK(starhalo__dnnl_entry_get(ts, &k, bwd_build, &e));
    if (g.ix0 != 0 || g.iy0 != 0 || k.iw != g.igw || k.ih != g.igh)
        memset(grad_in, 0, tile_bytes); /* the cells outside the window */
    float *const ptr[3] = {grad_in + g.iy0 * g.igw + g.ix0, (float *)weights,
                           (float *)grad_out + g.oy0 * g.ogw + g.ox0}; /* read only but [0] */
    return bwd_execute(ts, e, ptr);
}

starhalo_status_t
starhalo_kern_conv2d_bwd_weights_dnnl(const starhalo_kern_tile_t *in_tile, const float *in,
                                      const starhalo_kern_tile_t *out_tile, const float *grad_out,
                                      const starhalo_layer_t *layer, const starhalo_box_t *region,
                                      double *grad_w)
{
    return starhalo_kern_conv2d_bwd_weights_dnnl_g(in_tile, in, out_tile, grad_out, layer, 1,
                                                   region, grad_w);
}

starhalo_status_t
starhalo_kern_conv2d_bwd_weights_dnnl_g(const starhalo_kern_tile_t *in_tile, const float *in,
                                        const starhalo_kern_tile_t *out_tile, const float *grad_out,
                                        const starhalo_layer_t *layer, int groups,
                                        const starhalo_box_t *region, double *grad_w)
{
    starhalo_kidx_bwd_t g;
    STARHALO_CHECK(starhalo__kern_bwd_prepare("conv2d_bwd_weights", in_tile, out_tile, layer,
                                              region, in, grad_out, grad_w, &g));
    STARHALO_CHECK(starhalo__kern_groups_check("conv2d_bwd_weights", groups, in_tile, out_tile));
    const int64_t nw = g.cout * (g.cin / groups) * g.k * g.k;
    if (starhalo__kern_region_empty_2d(region)) {
        memset(grad_w, 0, sizeof(double) * (size_t)nw);
        return STARHALO_OK;
    }
    starhalo__dnnl_key_t k;
    starhalo__dnnl_thread_t *ts = NULL;
    starhalo__dnnl_entry_t *e = NULL;
    STARHALO_CHECK(starhalo__dnnl_thread_get(&ts));
    STARHALO_CHECK(starhalo__dnnl_grow(&ts->scratch_w, &ts->scratch_w_n, (size_t)nw));
    /* oneDNN sums in float, so its error grows with the number of products per tap: against
     * double loops 3.6e-6 (max norm) for 64x64 x batch 4, 2.3e-5 for a 1024x1024 region. So the
     * region runs in bands of output rows of at most BWD_WEIGHTS_BAND products per tap (one row
     * if a row has more), added in double: 1-2e-6 measured up to 1024x1024, and no slower (the
     * bands' blocked copies stay in cache). Equal bands but the last: at most two shapes. */
    int64_t rows = BWD_WEIGHTS_BAND / (g.n * g.ow);
    rows = rows < 1 ? 1 : rows;
    const int64_t nbands = (g.oh + rows - 1) / rows;
    rows = (g.oh + nbands - 1) / nbands;
    for (int64_t b = 0; b < nbands; b++) {
        starhalo_kidx_bwd_t gb = g;
        gb.oy0 = g.oy0 + b * rows;
        gb.iy0 = g.iy0 + b * rows * g.s;
        gb.oh = b * rows + rows <= g.oh ? rows : g.oh - b * rows;
        bwd_key(STARHALO__DNNL_CONV_BWD_WEIGHTS, &gb, groups, &k);
        STARHALO_CHECK(starhalo__dnnl_entry_get(ts, &k, bwd_build, &e));
        float *const ptr[3] = {(float *)in + gb.iy0 * g.igw + g.ix0, ts->scratch_w,
                               (float *)grad_out + gb.oy0 * g.ogw + g.ox0}; /* read only but [1] */
        STARHALO_CHECK(bwd_execute(ts, e, ptr));
        for (int64_t t = 0; t < nw; t++)
            grad_w[t] = b ? grad_w[t] + (double)ts->scratch_w[t] : (double)ts->scratch_w[t];
    }
    return STARHALO_OK;
}
