/* SPDX-License-Identifier: MIT */
/**
 * @file hb_compute.c
 * @brief halo_bench --with-compute: MPI4DL's benchmark_sp_halo_exchange_with_compute. A conv
 * layer (kernel 2*halo+1, stride 1, padding halo, so the output has the input's shape) runs
 * after (BSP) or during (task mode) the exchange of its input. Two implementations:
 *  - StarPU: the library's conv2d task graph (starhalo_conv2d_forward) over the transport's
 *    field and exchange; the interior conv tasks run while the halos travel;
 *  - MPI: the raw BSP baseline: the hand-written exchange, then one oneDNN call per part on
 *    its whole ghosted tile (starhalo_kern_conv2d_cpu, in place).
 * Input image and weights are functions of their global indexes, so every rank generates the
 * same values without a broadcast, and rank 0 can compute the single-rank reference.
 */
#include "halo_bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <starhalo/starhalo_compute.h>

#include <starhalo/starhalo_kernels.h>

/* ---- seeded data ------------------------------------------------------------------------ */

/* splitmix64 finaliser: cheap, well mixed, and the same on every rank. */
static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A value in [-1, 1) with 24 significant bits (exact in float32). */
static inline float unit_value(uint64_t seed, uint64_t index)
{
    const uint64_t bits = mix64(seed ^ mix64(index)) >> 40;
    return (float)((double)bits / (double)(1u << 23) - 1.0);
}

#define SEED_INPUT   0x696e707574ULL /* "input" */
#define SEED_WEIGHTS 0x7765696768ULL /* "weigh" */

starhalo_layer_t hb_conv_layer(const hb_options_t *o)
{
    starhalo_layer_t l = {0};
    l.kernel = 2 * (int)o->halo + 1;
    l.stride = 1;
    l.dilation = 1;
    l.padding = (int)o->halo;
    return l;
}

float hb_conv_input_value(const hb_options_t *o, int64_t plane, int64_t y, int64_t x)
{
    const uint64_t n = (uint64_t)o->image_size;
    return unit_value(SEED_INPUT, ((uint64_t)plane * n + (uint64_t)y) * n + (uint64_t)x);
}

void hb_conv_weights(const hb_options_t *o, float *w)
{
    const int64_t k = 2 * o->halo + 1;
    const int64_t count = o->out_channels * o->in_channels * k * k;
    /* Unit variance of the outputs whatever the fan-in, so errors compare across shapes. */
    const float scale = (float)(1.0 / sqrt((double)(o->in_channels * k * k)));
    for (int64_t i = 0; i < count; i++)
        w[i] = unit_value(SEED_WEIGHTS, (uint64_t)i) * scale;
}

void hb_conv_fill_tile(const hb_options_t *o, const hb_tile_geom_t *g, float *tile)
{
    for (int64_t p = 0; p < g->planes; p++)
        for (int64_t y = g->ghosted.lo[1]; y < g->ghosted.hi[1]; y++)
            for (int64_t x = g->ghosted.lo[0]; x < g->ghosted.hi[0]; x++) {
                const int owned = x >= g->owned.lo[0] && x < g->owned.hi[0] &&
                                  y >= g->owned.lo[1] && y < g->owned.hi[1];
                tile[(p * g->gh + (y - g->ghosted.lo[1])) * g->gw + (x - g->ghosted.lo[0])] =
                    owned ? hb_conv_input_value(o, p, y, x) : 0.0f;
            }
}

void hb_conv_input_image(const hb_options_t *o, float *img)
{
    const int64_t n = o->image_size, planes = o->batch * o->in_channels;
    for (int64_t p = 0; p < planes; p++)
        for (int64_t y = 0; y < n; y++)
            for (int64_t x = 0; x < n; x++)
                img[(p * n + y) * n + x] = hb_conv_input_value(o, p, y, x);
}

static starhalo_box_t image_box(const hb_options_t *o)
{
    starhalo_box_t b;
    memset(&b, 0, sizeof b);
    b.hi[0] = b.hi[1] = o->image_size;
    for (int d = 2; d < STARHALO_MAX_DIMS; d++)
        b.hi[d] = 1;
    return b;
}

starhalo_status_t hb_compute_reference(const hb_options_t *o, float *out)
{
    const int64_t n = o->image_size;
    const int64_t k = 2 * o->halo + 1;
    float *img = malloc(sizeof(float) * (size_t)(o->batch * o->in_channels * n * n));
    float *w = malloc(sizeof(float) * (size_t)(o->out_channels * o->in_channels * k * k));
    starhalo_status_t st = STARHALO_OK;
    if (!img || !w) {
        st = starhalo_error_set(STARHALO_ERR_NO_MEMORY, "reference conv: %lld x %lld image",
                                (long long)n, (long long)n);
    } else {
        hb_conv_input_image(o, img);
        hb_conv_weights(o, w);
        const starhalo_box_t box = image_box(o);
        const starhalo_kern_tile_t it = starhalo_kern_tile_make(&box, o->batch, o->in_channels);
        const starhalo_kern_tile_t ot = starhalo_kern_tile_make(&box, o->batch, o->out_channels);
        const starhalo_layer_t layer = hb_conv_layer(o);
        /* No ghosts: the layer's padding becomes oneDNN's zero padding. */
        st = starhalo_kern_conv2d_cpu(&it, img, w, NULL, &layer, &ot, out, &box, &box);
    }
    free(img);
    free(w);
    return st;
}

double hb_rel_error(const float *a, const float *ref, int64_t n)
{
    double diff = 0.0, scale = 0.0;
    int nan = 0;
    for (int64_t i = 0; i < n; i++) {
        const double d = fabs((double)a[i] - (double)ref[i]);
        nan |= isnan(d); /* a NaN must fail: comparisons would drop it */
        if (d > diff)
            diff = d;
        if (fabs((double)ref[i]) > scale)
            scale = fabs((double)ref[i]);
    }
    if (nan)
        return NAN;
    if (scale == 0.0)
        return diff == 0.0 ? 0.0 : INFINITY;
    return diff / scale;
}

/* ---- the layer over a transport --------------------------------------------------------- */

typedef struct hb_cpart {
    int part;
    hb_tile_geom_t g;
    float *out; /**< MPI path: the owned output box, N x Cout planes */
} hb_cpart_t;

struct hb_compute {
    const hb_options_t *o;
    const starhalo_decomp_t *decomp;
    const hb_transport_ops_t *ops;
    hb_transport_t *t;
    MPI_Comm comm;
    int rank;
    starhalo_layer_t layer;
    float *w;
    int nlocal;
    hb_cpart_t *parts;
    /* StarPU path */
    starhalo_decomp_t *odecomp;
    starhalo_field_t *ofield;
    starhalo_conv2d_t *cv;
};

static starhalo_status_t fill_inputs(hb_compute_t *c)
{
    for (int i = 0; i < c->nlocal; i++) {
        void *tile = NULL;
        STARHALO_CHECK(c->ops->acquire(c->t, c->parts[i].part, 1, &tile));
        hb_conv_fill_tile(c->o, &c->parts[i].g, tile);
        STARHALO_CHECK(c->ops->release(c->t, c->parts[i].part));
    }
    return STARHALO_OK;
}

static starhalo_status_t setup_starpu(hb_compute_t *c)
{
    const int zero[2 * STARHALO_MAX_DIMS] = {0};
    starhalo_context_t *ctx = hb_transport_starpu_context(c->t);
    STARHALO_CHECK(starhalo_layer_output_decomp(c->decomp, &c->layer, c->o->out_channels, zero,
                                                STARHALO_STENCIL_BOX, &c->odecomp));
    STARHALO_CHECK(starhalo_field_create(ctx, c->odecomp, NULL, STARHALO_FLOAT32, &c->ofield));
    const starhalo_compute_conf_t conf = {.bands = (int)c->o->bands};
    return starhalo_conv2d_create(ctx, hb_transport_starpu_field(c->t), c->ofield,
                                  hb_transport_starpu_exchange(c->t), &c->layer, c->w, NULL, &conf,
                                  &c->cv);
}

static int64_t box_cells(const starhalo_box_t *b)
{
    return (b->hi[0] - b->lo[0]) * (b->hi[1] - b->lo[1]);
}

starhalo_status_t hb_compute_create(const hb_options_t *o, const starhalo_decomp_t *decomp,
                                    const hb_transport_ops_t *ops, hb_transport_t *t, MPI_Comm comm,
                                    hb_compute_t **out)
{
    *out = NULL;
    hb_compute_t *c = calloc(1, sizeof *c);
    STARHALO_REQUIRE(c, STARHALO_ERR_NO_MEMORY, "cannot allocate the conv layer");
    c->o = o;
    c->decomp = decomp;
    c->ops = ops;
    c->t = t;
    c->comm = comm;
    MPI_Comm_rank(comm, &c->rank);
    c->layer = hb_conv_layer(o);
    const int64_t k = c->layer.kernel;
    c->nlocal = (int)o->parts_per_rank;
    c->w = malloc(sizeof(float) * (size_t)(o->out_channels * o->in_channels * k * k));
    c->parts = calloc((size_t)c->nlocal, sizeof *c->parts);
    starhalo_status_t st = STARHALO_OK;
    if (!c->w || !c->parts)
        st =
            starhalo_error_set(STARHALO_ERR_NO_MEMORY, "conv weights (%lld x %lld x %lld^2)",
                               (long long)o->out_channels, (long long)o->in_channels, (long long)k);
    if (st == STARHALO_OK)
        hb_conv_weights(o, c->w);
    for (int i = 0; st == STARHALO_OK && i < c->nlocal; i++) {
        hb_cpart_t *p = &c->parts[i];
        p->part = hb_first_part(o, c->rank) + i;
        hb_tile_geom(o, decomp, p->part, &p->g);
        if (o->transport == HB_TRANSPORT_MPI) {
            p->out = malloc(sizeof(float) *
                            (size_t)(box_cells(&p->g.owned) * o->batch * o->out_channels));
            if (!p->out)
                st = starhalo_error_set(STARHALO_ERR_NO_MEMORY, "part %d: conv output", p->part);
        }
    }
    if (st == STARHALO_OK)
        st = fill_inputs(c);
    if (st == STARHALO_OK && o->transport == HB_TRANSPORT_STARPU)
        st = setup_starpu(c);
    if (st != STARHALO_OK) {
        hb_compute_destroy(c);
        return st;
    }
    *out = c;
    return STARHALO_OK;
}

/* The raw baseline's compute: one oneDNN call per part on its whole ghosted tile. The image
 * border ghosts hold zeros, so the tile box is the window and oneDNN runs in place. */
static starhalo_status_t conv_mpi(hb_compute_t *c)
{
    const hb_options_t *o = c->o;
    for (int i = 0; i < c->nlocal; i++) {
        hb_cpart_t *p = &c->parts[i];
        void *tile = NULL;
        STARHALO_CHECK(c->ops->acquire(c->t, p->part, 0, &tile));
        const starhalo_kern_tile_t it =
            starhalo_kern_tile_make(&p->g.ghosted, o->batch, o->in_channels);
        const starhalo_kern_tile_t ot =
            starhalo_kern_tile_make(&p->g.owned, o->batch, o->out_channels);
        const starhalo_status_t st = starhalo_kern_conv2d_cpu(&it, tile, c->w, NULL, &c->layer, &ot,
                                                              p->out, &p->g.owned, NULL);
        STARHALO_CHECK(c->ops->release(c->t, p->part));
        STARHALO_CHECK(st);
    }
    return STARHALO_OK;
}

starhalo_status_t hb_compute_iteration(hb_compute_t *c)
{
    if (c->o->transport == HB_TRANSPORT_STARPU) {
        STARHALO_CHECK(starhalo_conv2d_forward(c->cv, c->o->mode_task ? STARHALO_STEP_TASK
                                                                      : STARHALO_STEP_BSP));
        return starhalo_context_wait_all(hb_transport_starpu_context(c->t));
    }
    if (!c->o->skip_exchange)
        STARHALO_CHECK(c->ops->exchange(c->t));
    return conv_mpi(c);
}

/* Copy a dense owned box (planes x rows x cols) into the global output. */
static void place(const hb_options_t *o, const starhalo_box_t *b, const float *src, float *global)
{
    const int64_t n = o->image_size, bw = b->hi[0] - b->lo[0], bh = b->hi[1] - b->lo[1];
    for (int64_t p = 0; p < o->batch * o->out_channels; p++)
        for (int64_t y = 0; y < bh; y++)
            memcpy(global + (p * n + b->lo[1] + y) * n + b->lo[0], src + (p * bh + y) * bw,
                   sizeof(float) * (size_t)bw);
}

static starhalo_status_t gather_mpi(hb_compute_t *c, float *global)
{
    const hb_options_t *o = c->o;
    const int64_t planes = o->batch * o->out_channels;
    if (c->rank != 0) {
        for (int i = 0; i < c->nlocal; i++) {
            const hb_cpart_t *p = &c->parts[i];
            const int rc = MPI_Send(p->out, (int)(box_cells(&p->g.owned) * planes), MPI_FLOAT, 0,
                                    p->part, c->comm);
            STARHALO_REQUIRE(rc == MPI_SUCCESS, STARHALO_ERR_MPI, "gather: MPI_Send of part %d",
                             p->part);
        }
        return STARHALO_OK;
    }
    int64_t maxcells = 0;
    for (int p = 0; p < (int)o->nparts; p++) {
        const starhalo_box_t b = starhalo_decomp_owned_box(c->decomp, p);
        if (box_cells(&b) > maxcells)
            maxcells = box_cells(&b);
    }
    float *buf = malloc(sizeof(float) * (size_t)(maxcells * planes));
    STARHALO_REQUIRE(buf, STARHALO_ERR_NO_MEMORY, "gather buffer");
    starhalo_status_t st = STARHALO_OK;
    for (int p = 0; p < (int)o->nparts && st == STARHALO_OK; p++) {
        const starhalo_box_t b = starhalo_decomp_owned_box(c->decomp, p);
        const int owner = p / (int)o->parts_per_rank;
        if (owner == 0) {
            place(o, &b, c->parts[p - hb_first_part(o, 0)].out, global);
            continue;
        }
        const int rc = MPI_Recv(buf, (int)(box_cells(&b) * planes), MPI_FLOAT, owner, p, c->comm,
                                MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS)
            st = starhalo_error_set(STARHALO_ERR_MPI, "gather: MPI_Recv of part %d", p);
        else
            place(o, &b, buf, global);
    }
    free(buf);
    return st;
}

starhalo_status_t hb_compute_gather(hb_compute_t *c, float *global)
{
    if (c->o->transport == HB_TRANSPORT_STARPU)
        return starhalo_field_gather(hb_transport_starpu_context(c->t), c->ofield, 0, global);
    return gather_mpi(c, global);
}

void hb_compute_destroy(hb_compute_t *c)
{
    if (!c)
        return;
    starhalo_conv2d_destroy(c->cv);
    starhalo_field_destroy(c->ofield);
    starhalo_decomp_destroy(c->odecomp);
    for (int i = 0; c->parts && i < c->nlocal; i++)
        free(c->parts[i].out);
    free(c->parts);
    free(c->w);
    free(c);
}
