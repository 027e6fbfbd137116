/* SPDX-License-Identifier: MIT */
/* Tests lowered transfer plans with a one-process global-index-image exchange: every part's
 * ghosted tile holds (global linear index + 1) + plane offset in its owned cells; each part's
 * send runs are packed with starhalo_kern_pack_cpu and unpacked into the matching neighbour's
 * recv runs; then every ghost holds the value of the cell it mirrors (wrapped when periodic)
 * and padding ghosts hold 0. The reverse SUM exchange sends ghosts back and each owned cell
 * must equal the number of ghost copies of it (naive count). Also: run merging, counts, and
 * starhalo_xfer_plan_create copying and validation. */
#include "plans_fixture.h"

#include <starhalo/starhalo_kernels.h>

#define PLANE_STRIDE 1000000.0 /* plane p adds p * PLANE_STRIDE: planes stay distinct */

typedef struct tiles {
    starhalo_xfer_plan_t **x;
    double **data;
} tiles_t;

/* Offset of global cell g in part p's ghosted tile plane. */
static int64_t tile_offset(const fx_world_t *w, int p, const int64_t g[3])
{
    const starhalo_box_t gh = starhalo_part_plan_ghosted(w->plans[p]);
    const int64_t gw = gh.hi[0] - gh.lo[0], gy = gh.hi[1] - gh.lo[1];
    return ((g[2] - gh.lo[2]) * gy + (g[1] - gh.lo[1])) * gw + (g[0] - gh.lo[0]);
}

/* Lower every plan and allocate zeroed tiles. */
static void tiles_init(const fx_world_t *w, tiles_t *t)
{
    const size_t np = w->nparts > 0 ? (size_t)w->nparts : 1;
    t->x = calloc(np, sizeof *t->x);
    t->data = calloc(np, sizeof *t->data);
    assert_true(t->x && t->data);
    for (int p = 0; p < w->nparts; p++) {
        assert_status_ok(starhalo_part_plan_lower(w->plans[p], &t->x[p]));
        const starhalo_box_t gh = starhalo_part_plan_ghosted(w->plans[p]);
        assert_int_equal(starhalo_xfer_plan_plane_size(t->x[p]), starhalo_box_volume(&gh));
        const int64_t n =
            starhalo_xfer_plan_plane_size(t->x[p]) * starhalo_xfer_plan_planes(t->x[p]);
        t->data[p] = calloc((size_t)n, sizeof(double));
        assert_non_null(t->data[p]);
    }
}

static void tiles_free(const fx_world_t *w, tiles_t *t)
{
    for (int p = 0; p < w->nparts; p++) {
        starhalo_xfer_plan_destroy(t->x[p]);
        free(t->data[p]);
    }
    free(t->x);
    free(t->data);
}

/* The peer entry of part q's plan that sends what part p's peer i receives. */
static const starhalo_peer_xfer_t *matching_peer(const tiles_t *t, int p, int i)
{
    const starhalo_peer_xfer_t *mine = starhalo_xfer_plan_peer(t->x[p], i);
    const starhalo_xfer_plan_t *xq = t->x[mine->peer];
    const starhalo_peer_xfer_t *found = NULL;
    for (int j = 0; j < starhalo_xfer_plan_num_peers(xq); j++) {
        const starhalo_peer_xfer_t *e = starhalo_xfer_plan_peer(xq, j);
        if (e->peer == p && e->send_tag == mine->recv_tag) {
            assert_null(found); /* (peer, tag) identifies the message */
            found = e;
        }
    }
    assert_non_null(found);
    assert_int_equal(found->recv_tag, mine->send_tag);
    assert_int_equal(found->send_count, mine->recv_count);
    assert_int_equal(found->recv_count, mine->send_count);
    return found;
}

static void check_runs(const starhalo_run_t *runs, int n, int64_t count, int64_t plane)
{
    int64_t sum = 0;
    for (int r = 0; r < n; r++) {
        assert_true(runs[r].length > 0);
        assert_true(runs[r].offset >= 0 && runs[r].offset + runs[r].length <= plane);
        if (r > 0) /* merged: no two consecutive runs touch */
            assert_true(runs[r - 1].offset + runs[r - 1].length != runs[r].offset);
        sum += runs[r].length;
    }
    assert_int_equal(sum, count);
}

/* Forward: pack q's send runs, unpack into p's recv runs; reverse: the other way with SUM. */
static void exchange(const fx_world_t *w, const tiles_t *t, int reverse)
{
    const int64_t planes = starhalo_xfer_plan_planes(t->x[0]);
    for (int p = 0; p < w->nparts; p++) {
        const int64_t plane_p = starhalo_xfer_plan_plane_size(t->x[p]);
        for (int i = 0; i < starhalo_xfer_plan_num_peers(t->x[p]); i++) {
            const starhalo_peer_xfer_t *mine = starhalo_xfer_plan_peer(t->x[p], i);
            const starhalo_peer_xfer_t *theirs = matching_peer(t, p, i);
            const int q = mine->peer;
            const int64_t plane_q = starhalo_xfer_plan_plane_size(t->x[q]);
            check_runs(mine->recv_runs, mine->nrecv_runs, mine->recv_count, plane_p);
            check_runs(theirs->send_runs, theirs->nsend_runs, theirs->send_count, plane_q);
            const int64_t n = mine->recv_count;
            double *msg = malloc((size_t)(n * planes + 1) * sizeof *msg);
            assert_non_null(msg);
            if (!reverse) {
                starhalo_kern_pack_cpu(STARHALO_FLOAT64, t->data[q], plane_q, planes,
                                       theirs->send_runs, theirs->nsend_runs, n, msg);
                starhalo_kern_unpack_cpu(STARHALO_FLOAT64, msg, n, planes, mine->recv_runs,
                                         mine->nrecv_runs, t->data[p], plane_p,
                                         STARHALO_REDUCE_REPLACE);
            } else {
                starhalo_kern_pack_cpu(STARHALO_FLOAT64, t->data[p], plane_p, planes,
                                       mine->recv_runs, mine->nrecv_runs, n, msg);
                starhalo_kern_unpack_cpu(STARHALO_FLOAT64, msg, n, planes, theirs->send_runs,
                                         theirs->nsend_runs, t->data[q], plane_q,
                                         STARHALO_REDUCE_SUM);
            }
            free(msg);
        }
    }
}

/* Called on one plane element of one cell of a tile. */
typedef void (*cell_fn)(const fx_world_t *w, int p, const int64_t g[3], int64_t k, double *cell,
                        void *ctx);

/* Visit every plane of every cell of every part's owned box (or whole ghosted tile). */
static void visit(const fx_world_t *w, const tiles_t *t, int whole_tile, cell_fn fn, void *ctx)
{
    const int64_t planes = starhalo_xfer_plan_planes(t->x[0]);
    for (int p = 0; p < w->nparts; p++) {
        const starhalo_box_t box =
            whole_tile ? starhalo_part_plan_ghosted(w->plans[p]) : fx_owned(w, p);
        const int64_t plane = starhalo_xfer_plan_plane_size(t->x[p]);
        int64_t g[3];
        FX_FOR_CELLS(box, g)
        for (int64_t k = 0; k < planes; k++)
            fn(w, p, g, k, &t->data[p][k * plane + tile_offset(w, p, g)], ctx);
    }
}

typedef struct check_ctx {
    const char *name;
    int64_t *copies; /* per global cell: how many ghosts mirror it */
} check_ctx_t;

/* Owned cells: global index + 1 (0 stays "padding"), plus a per-plane offset. */
static double index_value(const fx_world_t *w, const int64_t c[3], int64_t k)
{
    return (double)(fx_linear(w, c) + 1) + (double)k * PLANE_STRIDE;
}

static void set_index(const fx_world_t *w, int p, const int64_t g[3], int64_t k, double *cell,
                      void *ctx)
{
    *cell = index_value(w, g, k);
}

/* Ghosts hold the value of the mirrored cell, padding 0; count the copies for the reverse. */
static void check_forward(const fx_world_t *w, int p, const int64_t g[3], int64_t k, double *cell,
                          void *ctx)
{
    check_ctx_t *cc = ctx;
    const starhalo_box_t own = fx_owned(w, p);
    if (fx_in_box(&own, g))
        return;
    int64_t m[3];
    const int mirrored = fx_mirror(w, p, g, m);
    if (mirrored && k == 0)
        cc->copies[fx_linear(w, m)]++;
    const double want = mirrored ? index_value(w, m, k) : 0.0;
    if (*cell != want)
        print_error("%s: part %d ghost (%lld,%lld,%lld) plane %lld: %g != %g\n", cc->name, p,
                    (long long)g[0], (long long)g[1], (long long)g[2], (long long)k, *cell, want);
    assert_true(*cell == want);
}

/* Reverse input: owned cells 0, ghosts k + 1. */
static void set_reverse(const fx_world_t *w, int p, const int64_t g[3], int64_t k, double *cell,
                        void *ctx)
{
    const starhalo_box_t own = fx_owned(w, p);
    *cell = fx_in_box(&own, g) ? 0.0 : (double)(k + 1);
}

/* After SUM every owned cell gathered (k + 1) from each of its ghost copies. */
static void check_reverse(const fx_world_t *w, int p, const int64_t g[3], int64_t k, double *cell,
                          void *ctx)
{
    const check_ctx_t *cc = ctx;
    assert_true(*cell == (double)(cc->copies[fx_linear(w, g)] * (k + 1)));
}

static void check_shape(const fx_shape_t *s, void *unused)
{
    fx_world_t w;
    fx_world_init(&w, s);
    tiles_t t;
    tiles_init(&w, &t);
    assert_int_equal(starhalo_xfer_plan_planes(t.x[0]),
                     (s->desc.batch ? s->desc.batch : 1) *
                         (s->desc.channels ? s->desc.channels : 1));
    check_ctx_t cc = {s->name,
                      calloc((size_t)(w.extent[0] * w.extent[1] * w.extent[2]), sizeof(int64_t))};
    assert_non_null(cc.copies);
    visit(&w, &t, 0, set_index, NULL);
    exchange(&w, &t, 0);
    visit(&w, &t, 1, check_forward, &cc);
    visit(&w, &t, 1, set_reverse, NULL);
    exchange(&w, &t, 1);
    visit(&w, &t, 0, check_reverse, &cc);
    free(cc.copies);
    tiles_free(&w, &t);
    fx_world_free(&w);
}

static void fixed_shapes_exchange_the_index_image(void **state)
{
    (void)state;
    fx_each_fixed_shape(3, check_shape, NULL);
}

static void random_shapes_exchange_the_index_image(void **state)
{
    (void)state;
    uint64_t rng = 0x5eed0003u;
    for (int i = 0; i < 200; i++) {
        fx_shape_t s;
        fx_random_shape(&rng, &s);
        check_shape(&s, NULL);
    }
}

/* Part 0 of a decomposition, lowered: the three objects a lowering test holds. */
typedef struct part0 {
    starhalo_decomp_t *dc;
    starhalo_part_plan_t *plan;
    starhalo_xfer_plan_t *x;
} part0_t;

static part0_t lower_part0(const starhalo_decomp_desc_t *d)
{
    part0_t p;
    assert_status_ok(starhalo_decomp_create(d, &p.dc));
    assert_status_ok(starhalo_part_plan_create(p.dc, 0, &p.plan));
    assert_status_ok(starhalo_part_plan_lower(p.plan, &p.x));
    return p;
}

static void free_part0(part0_t *p)
{
    starhalo_xfer_plan_destroy(p->x);
    starhalo_part_plan_destroy(p->plan);
    starhalo_decomp_destroy(p->dc);
}

static void full_width_bands_merge_into_one_run(void **state)
{
    (void)state;
    /* Horizontal strips with no x halo: a 2-row band of an 8-wide tile is one run of 16. */
    starhalo_decomp_desc_t d = {0};
    d.ndims = 2, d.extent[0] = 8, d.extent[1] = 8;
    d.split = STARHALO_SPLIT_HORIZONTAL, d.nparts = 2, d.halo[2] = d.halo[3] = 2;
    d.batch = 2, d.channels = 3;
    part0_t p0 = lower_part0(&d);
    const starhalo_xfer_plan_t *x = p0.x;
    assert_int_equal(starhalo_xfer_plan_num_peers(x), 1);
    assert_int_equal(starhalo_xfer_plan_plane_size(x), 8 * 8); /* y[-2,6) x 8 */
    assert_int_equal(starhalo_xfer_plan_planes(x), 6);
    const starhalo_peer_xfer_t *px = starhalo_xfer_plan_peer(x, 0);
    assert_null(starhalo_xfer_plan_peer(x, 1));
    assert_int_equal(px->peer, 1);
    assert_int_equal(px->nsend_runs, 1);
    assert_int_equal(px->send_runs[0].offset, 4 * 8); /* rows y = 2,3 -> local rows 4,5 */
    assert_int_equal(px->send_runs[0].length, 16);
    assert_int_equal(px->nrecv_runs, 1);
    assert_int_equal(px->recv_runs[0].offset, 6 * 8);
    assert_int_equal(px->recv_count, 16);
    free_part0(&p0);

    /* With an x halo the rows are separate runs: one per row of the box. */
    d.halo[0] = d.halo[1] = 1;
    p0 = lower_part0(&d);
    px = starhalo_xfer_plan_peer(p0.x, 0);
    assert_int_equal(px->nsend_runs, 2);
    assert_int_equal(px->send_runs[0].offset, 4 * 10 + 1);
    assert_int_equal(px->send_runs[0].length, 8);
    assert_int_equal(px->send_runs[1].offset, 5 * 10 + 1);
    free_part0(&p0);
}

/* The worked example of docs/PLANS.md: 8x8, square of 4, halo 1, BOX, part 0. */
static void docs_worked_example_runs(void **state)
{
    (void)state;
    starhalo_decomp_desc_t d = {0};
    d.ndims = 2, d.extent[0] = d.extent[1] = 8;
    d.split = STARHALO_SPLIT_SQUARE, d.nparts = 4, d.shape = STARHALO_STENCIL_BOX;
    for (int i = 0; i < 4; i++)
        d.halo[i] = 1;
    part0_t p0 = lower_part0(&d);
    const starhalo_xfer_plan_t *x = p0.x;
    assert_int_equal(starhalo_xfer_plan_plane_size(x), 36);
    assert_int_equal(starhalo_xfer_plan_num_peers(x), 3);
    const starhalo_peer_xfer_t *to1 = starhalo_xfer_plan_peer(x, 0);
    const starhalo_peer_xfer_t *to2 = starhalo_xfer_plan_peer(x, 1);
    const starhalo_peer_xfer_t *to3 = starhalo_xfer_plan_peer(x, 2);
    assert_int_equal(to1->peer, 1);
    assert_int_equal(to1->send_tag, 14);
    assert_int_equal(to1->nsend_runs, 4);
    for (int r = 0; r < 4; r++) {
        assert_int_equal(to1->send_runs[r].offset, 10 + 6 * r);
        assert_int_equal(to1->send_runs[r].length, 1);
    }
    assert_int_equal(to2->peer, 2);
    assert_int_equal(to2->nsend_runs, 1);
    assert_int_equal(to2->send_runs[0].offset, 25);
    assert_int_equal(to2->send_runs[0].length, 4);
    assert_int_equal(to2->recv_runs[0].offset, 31);
    assert_int_equal(to3->peer, 3);
    assert_int_equal(to3->send_runs[0].offset, 28);
    assert_int_equal(to3->recv_runs[0].offset, 35);
    assert_int_equal(to3->send_tag, 17);
    assert_int_equal(to3->recv_tag, 9);
    free_part0(&p0);
}

static void xfer_plan_create_copies_and_validates(void **state)
{
    (void)state;
    starhalo_run_t send[2] = {{0, 3}, {10, 2}}, recv[1] = {{20, 5}};
    starhalo_peer_xfer_t peers[2] = {
        {.peer = 3,
         .send_tag = 1,
         .recv_tag = 2,
         .send_count = 5,
         .nsend_runs = 2,
         .send_runs = send,
         .recv_count = 5,
         .nrecv_runs = 1,
         .recv_runs = recv},
        {.peer = 4, .send_tag = 7, .recv_tag = 8},
    };
    starhalo_xfer_plan_t *x;
    assert_status_ok(starhalo_xfer_plan_create(2, peers, 32, 4, &x));
    send[0].offset = 99; /* the plan holds a copy */
    const starhalo_peer_xfer_t *p0 = starhalo_xfer_plan_peer(x, 0);
    assert_int_equal(p0->peer, 3);
    assert_int_equal(p0->send_runs[0].offset, 0);
    assert_int_equal(p0->send_runs[1].offset, 10);
    assert_int_equal(p0->recv_runs[0].length, 5);
    assert_int_equal(starhalo_xfer_plan_peer(x, 1)->nsend_runs, 0);
    assert_int_equal(starhalo_xfer_plan_plane_size(x), 32);
    assert_int_equal(starhalo_xfer_plan_planes(x), 4);
    starhalo_xfer_plan_destroy(x);
    starhalo_xfer_plan_destroy(NULL);
    send[0].offset = 0;

    x = NULL;
    starhalo_error_clear();
    assert_int_equal(starhalo_xfer_plan_create(2, peers, 24, 1, &x), STARHALO_ERR_PLAN_INVALID);
    assert_null(x);
    assert_true(strlen(starhalo_last_error_message()) > 0); /* recv run [20,25) > 24 */
    peers[0].send_count = 6;
    assert_int_equal(starhalo_xfer_plan_create(2, peers, 32, 1, &x), STARHALO_ERR_PLAN_INVALID);
    peers[0].send_count = 5, peers[0].send_runs = NULL;
    assert_int_equal(starhalo_xfer_plan_create(2, peers, 32, 1, &x), STARHALO_ERR_INVALID_ARG);
    assert_int_equal(starhalo_xfer_plan_create(1, NULL, 32, 1, &x), STARHALO_ERR_INVALID_ARG);
    assert_int_equal(starhalo_xfer_plan_create(0, NULL, -1, 1, &x), STARHALO_ERR_INVALID_ARG);
    assert_status_ok(starhalo_xfer_plan_create(0, NULL, 0, 1, &x));
    assert_int_equal(starhalo_xfer_plan_num_peers(x), 0);
    starhalo_xfer_plan_destroy(x);
    assert_int_equal(starhalo_part_plan_lower(NULL, &x), STARHALO_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fixed_shapes_exchange_the_index_image),
        cmocka_unit_test(random_shapes_exchange_the_index_image),
        cmocka_unit_test(full_width_bands_merge_into_one_run),
        cmocka_unit_test(docs_worked_example_runs),
        cmocka_unit_test(xfer_plan_create_copies_and_validates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
