/* SPDX-License-Identifier: MIT */
/**
 * @file rt_compute_conv.c
 * @brief The conv2d forward layer as tasks: output-channel groups (contiguous planes of the
 * output tile, asynchronous partitioning) x {interior, boundary} regions through the conv2d
 * codelet, the interior submitted between exchange begin and end.
 *
 * Why channel groups and not row bands: with C_out planes a row band of the output is not
 * contiguous, but the planes of a group of output channels are (batch 1), and each group
 * needs only its own slice of the weights, so groups are independent tasks of equal cost.
 * The conv codelet passes STARHALO_KERN_EXCLUSIVE_OUTPUT (the kernel may overwrite, then
 * restore, cells of its output tile outside the region). That stays correct on a group child:
 * the kernel's output tile is exactly the group's planes (channels = Cg, pointer = the
 * child), and the task holds that child alone.
 */
#include <stdlib.h>
#include <string.h>

#include <starhalo/starhalo_starpu.h>

#include "rt_compute_internal.h"

typedef struct conv_group {
    starpu_data_handle_t weights; /**< Cg x Cin x k x k weights then Cg bias values (zero
                                       without a bias; read only with one) */
    float *wbuf;
    starhalo_kern_tile_t out_tile; /**< the group's planes */
} conv_group_t;

typedef struct conv_part {
    int part;
    starpu_data_handle_t in_tile, out_tile;
    starpu_data_handle_t *children; /**< one per group when partitioned */
    starhalo_kern_tile_t in_geom;
    starhalo_box_t owned;      /**< output cells of this part */
    int split;                 /**< interior/boundary split available (stride 1) */
    starhalo_regions_t region; /**< output coordinates, clipped to owned */
} conv_part_t;

struct starhalo_conv2d {
    starhalo_field_t *in, *out;
    starhalo_exchange_t *ex;
    starhalo_layer_t layer;
    starhalo_box_t domain;
    int has_bias; /**< a bias was given: NULL skips oneDNN's bias pass over the output */
    int ngroups;
    conv_group_t *groups;
    int nlocal;
    conv_part_t *parts;
    int status;
};

starhalo_status_t starhalo_layer_output_decomp(const starhalo_decomp_t *in,
                                               const starhalo_layer_t *layer, int64_t out_channels,
                                               const int halo[2 * STARHALO_MAX_DIMS],
                                               starhalo_stencil_shape_t shape,
                                               starhalo_decomp_t **out)
{
    STARHALO_REQUIRE(in && layer && out, STARHALO_ERR_INVALID_ARG,
                     "layer_output_decomp: NULL argument");
    STARHALO_REQUIRE(out_channels >= 1, STARHALO_ERR_INVALID_ARG,
                     "layer_output_decomp: %lld output channels", (long long)out_channels);
    const starhalo_decomp_desc_t *src = starhalo_decomp_desc(in);
    int ppd[STARHALO_MAX_DIMS];
    starhalo_decomp_part_grid(in, ppd);
    starhalo_decomp_desc_t d = *src;
    d.split = STARHALO_SPLIT_GRID; /* same part grid, so the same part indexes */
    d.channels = out_channels;
    d.shape = shape;
    int64_t *sizes[STARHALO_MAX_DIMS] = {NULL, NULL, NULL};
    starhalo_status_t rc = STARHALO_OK;
    for (int k = 0; k < STARHALO_MAX_DIMS; k++) {
        d.parts_per_dim[k] = ppd[k];
        d.halo[2 * k] = halo ? halo[2 * k] : 0;
        d.halo[2 * k + 1] = halo ? halo[2 * k + 1] : 0;
        d.part_sizes[k] = NULL;
    }
    for (int k = 0; k < 2 && rc == STARHALO_OK; k++) {
        d.extent[k] = starhalo_layer_output_extent(layer, src->extent[k]);
        sizes[k] = calloc((size_t)ppd[k], sizeof **sizes);
        if (!sizes[k]) {
            rc = starhalo_error_set(STARHALO_ERR_NO_MEMORY, "layer_output_decomp");
            break;
        }
        for (int i = 0; i < ppd[k]; i++) {
            int coord[STARHALO_MAX_DIMS] = {0, 0, 0};
            coord[k] = i;
            starhalo_box_t b = starhalo_decomp_owned_box(in, starhalo_decomp_part_index(in, coord));
            int64_t lo = 0, hi = 0;
            starhalo_layer_output_range(layer, src->extent[k], b.lo[k], b.hi[k], &lo, &hi);
            sizes[k][i] = hi - lo;
            if (hi <= lo)
                rc = starhalo_error_set(STARHALO_ERR_INVALID_ARG,
                                        "layer_output_decomp: input part %d of dim %d (cells "
                                        "%lld..%lld) computes no output cell",
                                        i, k, (long long)b.lo[k], (long long)b.hi[k]);
        }
        d.part_sizes[k] = sizes[k];
    }
    if (rc == STARHALO_OK)
        rc = starhalo_decomp_create(&d, out);
    for (int k = 0; k < STARHALO_MAX_DIMS; k++)
        free(sizes[k]);
    return rc;
}

starhalo_status_t starhalo__compute_check_layer(const char *what, const starhalo_field_t *in,
                                                const starhalo_field_t *out,
                                                const starhalo_layer_t *layer)
{
    int mh = 0, ph = 0;
    STARHALO_CHECK(starhalo_layer_halo(layer, &mh, &ph));
    const starhalo_decomp_t *di = starhalo_field_decomp(in);
    const starhalo_decomp_t *dout = starhalo_field_decomp(out);
    const starhalo_decomp_desc_t *a = starhalo_decomp_desc(di);
    const starhalo_decomp_desc_t *b = starhalo_decomp_desc(dout);
    STARHALO_REQUIRE(starhalo_field_dtype(in) == STARHALO_FLOAT32 &&
                         starhalo_field_dtype(out) == STARHALO_FLOAT32,
                     STARHALO_ERR_INVALID_ARG, "%s: fields must be float32", what);
    STARHALO_REQUIRE(a->ndims == 2 && b->ndims == 2, STARHALO_ERR_INVALID_ARG,
                     "%s: %d-D input, %d-D output (2-D needed)", what, a->ndims, b->ndims);
    STARHALO_REQUIRE((a->batch > 0 ? a->batch : 1) == (b->batch > 0 ? b->batch : 1),
                     STARHALO_ERR_INVALID_ARG, "%s: input and output batch differ", what);
    STARHALO_REQUIRE(mh + ph == 0 || a->shape == STARHALO_STENCIL_BOX, STARHALO_ERR_INVALID_ARG,
                     "%s: the input needs the BOX shape (corner ghosts)", what);
    for (int k = 0; k < 2; k++) {
        STARHALO_REQUIRE(a->halo[2 * k] >= mh && a->halo[2 * k + 1] >= ph, STARHALO_ERR_INVALID_ARG,
                         "%s: input halo %d/%d on dim %d, the layer needs %d/%d", what,
                         a->halo[2 * k], a->halo[2 * k + 1], k, mh, ph);
        STARHALO_REQUIRE(b->extent[k] == starhalo_layer_output_extent(layer, a->extent[k]),
                         STARHALO_ERR_INVALID_ARG,
                         "%s: output extent %lld on dim %d, the layer gives %lld", what,
                         (long long)b->extent[k], k,
                         (long long)starhalo_layer_output_extent(layer, a->extent[k]));
    }
    const int np = starhalo_decomp_num_parts(di);
    STARHALO_REQUIRE(np == starhalo_decomp_num_parts(dout), STARHALO_ERR_INVALID_ARG,
                     "%s: input has %d parts, output %d", what, np,
                     starhalo_decomp_num_parts(dout));
    for (int p = 0; p < np; p++) {
        starhalo_box_t ib = starhalo_decomp_owned_box(di, p);
        starhalo_box_t ob = starhalo_decomp_owned_box(dout, p);
        for (int k = 0; k < 2; k++) {
            int64_t lo, hi;
            starhalo_layer_output_range(layer, a->extent[k], ib.lo[k], ib.hi[k], &lo, &hi);
            STARHALO_REQUIRE(ob.lo[k] == lo && ob.hi[k] == hi, STARHALO_ERR_INVALID_ARG,
                             "%s: output part %d owns %lld..%lld on dim %d, the layer "
                             "gives %lld..%lld (use starhalo_layer_output_decomp)",
                             what, p, (long long)ob.lo[k], (long long)ob.hi[k], k, (long long)lo,
                             (long long)hi);
        }
        STARHALO_REQUIRE(starhalo_field_part_rank(in, p) == starhalo_field_part_rank(out, p),
                         STARHALO_ERR_INVALID_ARG,
                         "%s: part %d lives on rank %d in the input, %d in the output", what, p,
                         starhalo_field_part_rank(in, p), starhalo_field_part_rank(out, p));
    }
    return STARHALO_OK;
}

static starhalo_status_t make_groups(starhalo_conv2d_t *cv, int wanted, const float *w,
                                     const float *bias)
{
    const starhalo_decomp_desc_t *a = starhalo_decomp_desc(starhalo_field_decomp(cv->in));
    const starhalo_decomp_desc_t *b = starhalo_decomp_desc(starhalo_field_decomp(cv->out));
    const int64_t cin = a->channels > 0 ? a->channels : 1;
    const int64_t cout = b->channels > 0 ? b->channels : 1;
    const int64_t batch = b->batch > 0 ? b->batch : 1;
    const int64_t kk = (int64_t)cv->layer.kernel * cv->layer.kernel;
    int ng = batch == 1 ? wanted : 1;
    ng = ng > cout ? (int)cout : ng;
    ng = ng < 1 ? 1 : ng;
    cv->ngroups = ng;
    cv->groups = calloc((size_t)ng, sizeof *cv->groups);
    if (!cv->groups)
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "conv2d groups");
    for (int g = 0; g < ng; g++) {
        const int64_t c0 = cout * g / ng, c1 = cout * (g + 1) / ng, cg = c1 - c0;
        conv_group_t *gr = &cv->groups[g];
        gr->wbuf = malloc(sizeof(float) * (size_t)(cg * cin * kk + cg));
        if (!gr->wbuf)
            return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "conv2d weights");
        memcpy(gr->wbuf, w + c0 * cin * kk, sizeof(float) * (size_t)(cg * cin * kk));
        for (int64_t c = 0; c < cg; c++)
            gr->wbuf[cg * cin * kk + c] = bias ? bias[c0 + c] : 0.0f;
        starpu_vector_data_register(&gr->weights, STARPU_MAIN_RAM, (uintptr_t)gr->wbuf,
                                    (uint32_t)(cg * cin * kk + cg), sizeof(float));
        gr->out_tile.channels = cg;
    }
    return STARHALO_OK;
}

static starhalo_status_t make_part(starhalo_conv2d_t *cv, conv_part_t *cp, int mh, int ph)
{
    STARHALO_CHECK(starhalo_field_part_handle(cv->in, cp->part, &cp->in_tile));
    STARHALO_CHECK(starhalo_field_part_handle(cv->out, cp->part, &cp->out_tile));
    cp->in_geom = starhalo__compute_tile(cv->in, cp->part);
    const starhalo_part_plan_t *oplan = starhalo_field_part_plan(cv->out, cp->part);
    cp->owned = starhalo_part_plan_owned(oplan);
    const starhalo_kern_tile_t og = starhalo__compute_tile(cv->out, cp->part);
    /* Stride 1: output cell o reads input o - padding .. o - padding + d(k-1), so the input
     * plan's regions for that reach are, clipped to the owned output, the output regions. */
    cp->split = cv->layer.stride == 1;
    if (cp->split) {
        const int reach[2 * STARHALO_MAX_DIMS] = {mh, ph, mh, ph, 0, 0};
        starhalo_regions_t r;
        STARHALO_CHECK(
            starhalo_part_plan_regions(starhalo_field_part_plan(cv->in, cp->part), reach, &r));
        cp->region.interior = starhalo_box_intersect(&r.interior, &cp->owned);
        cp->region.nboundary = 0;
        for (int k = 0; k < r.nboundary; k++) {
            starhalo_box_t piece = starhalo_box_intersect(&r.boundary[k], &cp->owned);
            if (starhalo_box_volume(&piece) > 0)
                cp->region.boundary[cp->region.nboundary++] = piece;
        }
    }
    if (cv->ngroups > 1) {
        const int64_t plane = (og.box.hi[0] - og.box.lo[0]) * (og.box.hi[1] - og.box.lo[1]);
        uint32_t len[STARPU_NMAXBUFS];
        cp->children = calloc((size_t)cv->ngroups, sizeof *cp->children);
        if (!cp->children || cv->ngroups > STARPU_NMAXBUFS)
            return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "conv2d group handles");
        for (int g = 0; g < cv->ngroups; g++)
            len[g] = (uint32_t)(cv->groups[g].out_tile.channels * plane);
        struct starpu_data_filter f = {
            .filter_func = starpu_vector_filter_list,
            .nchildren = (unsigned)cv->ngroups,
            .filter_arg_ptr = len,
        };
        starpu_data_partition_plan(cp->out_tile, &f, cp->children);
    }
    return STARHALO_OK;
}

static void conv_free(starhalo_conv2d_t *cv)
{
    for (int i = 0; cv->parts && i < cv->nlocal; i++) {
        if (cv->parts[i].children)
            starpu_data_partition_clean(cv->parts[i].out_tile, (unsigned)cv->ngroups,
                                        cv->parts[i].children);
        free(cv->parts[i].children);
    }
    for (int g = 0; cv->groups && g < cv->ngroups; g++) {
        if (cv->groups[g].weights)
            starpu_data_unregister(cv->groups[g].weights);
        free(cv->groups[g].wbuf);
    }
    free(cv->groups);
    free(cv->parts);
    free(cv);
}

starhalo_status_t starhalo_conv2d_create(starhalo_context_t *ctx, starhalo_field_t *in,
                                         starhalo_field_t *out, starhalo_exchange_t *ex_in,
                                         const starhalo_layer_t *layer, const float *weights,
                                         const float *bias, const starhalo_compute_conf_t *conf,
                                         starhalo_conv2d_t **out_cv)
{
    STARHALO_REQUIRE(out_cv, STARHALO_ERR_INVALID_ARG, "conv2d_create: NULL result pointer");
    *out_cv = NULL;
    STARHALO_REQUIRE(ctx && in && out && ex_in && layer && weights, STARHALO_ERR_INVALID_ARG,
                     "conv2d_create: NULL context, field, exchange, layer or weights");
    STARHALO_REQUIRE(in != out, STARHALO_ERR_INVALID_ARG,
                     "conv2d_create: input and output must be different fields");
    STARHALO_CHECK(starhalo__compute_require_structured(in, "conv2d_create", "input"));
    STARHALO_CHECK(starhalo__compute_require_structured(out, "conv2d_create", "output"));
    STARHALO_REQUIRE(!conf || conf->bands >= 0, STARHALO_ERR_INVALID_ARG,
                     "conv2d_create: bands %d (expected >= 0)", conf ? conf->bands : 0);
    int mh = 0, ph = 0;
    STARHALO_CHECK(starhalo_layer_halo(layer, &mh, &ph));
    starhalo_conv2d_t *cv = calloc(1, sizeof *cv);
    if (!cv)
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "conv2d_create");
    cv->in = in;
    cv->out = out;
    cv->ex = ex_in;
    cv->layer = *layer;
    cv->has_bias = bias != NULL;
    starhalo_status_t rc = starhalo__compute_check_layer("conv2d", cv->in, cv->out, &cv->layer);
    cv->domain = starhalo__compute_image_box(in);
    int *ids = NULL;
    if (rc == STARHALO_OK)
        rc = starhalo__compute_local_parts(out, &ids, &cv->nlocal);
    /* Default: enough groups to give every worker a task, counting the local parts. Groups
     * beyond that only cost: each group's call redoes the im2col of the whole input (1 part x
     * 2 groups per part on 2 workers: 33 ms, 2 groups: 39-45 ms, 256x256 32 -> 128). */
    const int workers = (int)starpu_cpu_worker_get_count();
    const int nl = cv->nlocal > 0 ? cv->nlocal : 1;
    const int wanted = conf && conf->bands > 0 ? conf->bands : (workers + nl - 1) / nl;
    if (rc == STARHALO_OK)
        rc = make_groups(cv, wanted, weights, bias);
    cv->parts = calloc((size_t)cv->nlocal + 1, sizeof *cv->parts);
    if (rc == STARHALO_OK && !cv->parts)
        rc = starhalo_error_set(STARHALO_ERR_NO_MEMORY, "conv2d_create");
    for (int i = 0; i < cv->nlocal && rc == STARHALO_OK; i++) {
        cv->parts[i].part = ids[i];
        rc = make_part(cv, &cv->parts[i], mh, ph);
    }
    free(ids);
    if (rc != STARHALO_OK) {
        conv_free(cv);
        return rc;
    }
    *out_cv = cv;
    return STARHALO_OK;
}

void starhalo_conv2d_destroy(starhalo_conv2d_t *cv)
{
    if (!cv)
        return;
    starpu_task_wait_for_all();
    conv_free(cv);
}

/* Submit group @p g of part @p cp for @p region. */
static starhalo_status_t submit(starhalo_conv2d_t *cv, conv_part_t *cp, int g,
                                const starhalo_box_t *region, int priority)
{
    if (starhalo_box_volume(region) <= 0)
        return STARHALO_OK;
    starhalo_kern_tile_t ot = starhalo__compute_tile(cv->out, cp->part);
    ot.channels = cv->groups[g].out_tile.channels;
    const struct starhalo__task_opts o = {.priority = priority, .status = &cv->status};
    return starhalo__insert_conv2d(&o, cp->in_tile, cv->groups[g].weights,
                                   cp->children ? cp->children[g] : cp->out_tile, &cp->in_geom, &ot,
                                   &cv->layer, cv->has_bias, region, &cv->domain);
}

starhalo_status_t starhalo_conv2d_forward(starhalo_conv2d_t *cv, starhalo_step_mode_t mode)
{
    STARHALO_REQUIRE(cv, STARHALO_ERR_INVALID_ARG, "conv2d_forward: NULL layer");
    STARHALO_REQUIRE(mode == STARHALO_STEP_TASK || mode == STARHALO_STEP_BSP,
                     STARHALO_ERR_INVALID_ARG, "conv2d_forward: unknown mode %d", (int)mode);
    const int failed = __atomic_load_n(&cv->status, __ATOMIC_SEQ_CST);
    if (failed)
        return starhalo_error_set((starhalo_status_t)failed,
                                  "conv2d_forward: an earlier conv task failed");
    const int hi = starpu_sched_get_max_priority();
    for (int i = 0; i < cv->nlocal; i++)
        if (cv->parts[i].children)
            starpu_data_partition_submit(cv->parts[i].out_tile, (unsigned)cv->ngroups,
                                         cv->parts[i].children);
    if (mode == STARHALO_STEP_TASK) {
        STARHALO_CHECK(starhalo_exchange_begin(cv->ex));
        for (int i = 0; i < cv->nlocal; i++)
            for (int g = 0; g < cv->ngroups && cv->parts[i].split; g++)
                STARHALO_CHECK(submit(cv, &cv->parts[i], g, &cv->parts[i].region.interior, 0));
        STARHALO_CHECK(starhalo_exchange_end(cv->ex));
    } else {
        STARHALO_CHECK(starhalo_exchange_submit(cv->ex));
        STARHALO_CHECK(starhalo_exchange_wait(cv->ex));
    }
    for (int i = 0; i < cv->nlocal; i++) {
        conv_part_t *cp = &cv->parts[i];
        for (int g = 0; g < cv->ngroups; g++) {
            if (mode == STARHALO_STEP_BSP || !cp->split) {
                STARHALO_CHECK(submit(cv, cp, g, &cp->owned, 0));
                continue;
            }
            for (int k = 0; k < cp->region.nboundary; k++)
                STARHALO_CHECK(submit(cv, cp, g, &cp->region.boundary[k], hi));
        }
    }
    for (int i = 0; i < cv->nlocal; i++)
        if (cv->parts[i].children)
            starpu_data_unpartition_submit(cv->parts[i].out_tile, (unsigned)cv->ngroups,
                                           cv->parts[i].children, STARPU_MAIN_RAM);
    return STARHALO_OK;
}
