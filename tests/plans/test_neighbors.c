/* SPDX-License-Identifier: MIT */
/* Tests part plans across all parts of fixed and seeded random decompositions: ghosted boxes,
 * every recv box equals exactly one matching send box of the right neighbour (recv == send +
 * shift, tags paired), every ghost cell is received exactly once from the part owning the cell
 * it mirrors (naive reference, wrapped when periodic) and padding ghosts never, BOX corners
 * present and STAR corners absent, periodic wrap with self and doubled neighbours, and the
 * interior/boundary regions (disjoint, cover the owned box, interior needs no message,
 * boundary does). */
#include "plans_fixture.h"

/* The entry of part q's list that faces back towards direction -dir. */
static const starhalo_neighbor_t *find_back(const fx_world_t *w, int q, const int dir[3])
{
    const starhalo_neighbor_t *found = NULL;
    for (int i = 0; i < starhalo_part_plan_num_neighbors(w->plans[q]); i++) {
        const starhalo_neighbor_t *m = starhalo_part_plan_neighbor(w->plans[q], i);
        if (m->dir[0] == -dir[0] && m->dir[1] == -dir[1] && m->dir[2] == -dir[2]) {
            assert_null(found); /* one entry per direction */
            found = m;
        }
    }
    return found;
}

static void check_pairing(const fx_world_t *w, int p)
{
    const starhalo_part_plan_t *plan = w->plans[p];
    const starhalo_box_t own = fx_owned(w, p);
    const starhalo_box_t gh = starhalo_part_plan_ghosted(plan);
    const int *halo = w->shape->desc.halo;
    for (int k = 0; k < 3; k++) {
        assert_int_equal(gh.lo[k], own.lo[k] - (k < w->ndims ? halo[2 * k] : 0));
        assert_int_equal(gh.hi[k], own.hi[k] + (k < w->ndims ? halo[2 * k + 1] : 0));
    }
    int tags_seen[27] = {0};
    for (int i = 0; i < starhalo_part_plan_num_neighbors(plan); i++) {
        const starhalo_neighbor_t *nb = starhalo_part_plan_neighbor(plan, i);
        assert_true(nb->part >= 0 && nb->part < w->nparts);
        assert_true(nb->send_tag >= 0 && nb->send_tag < 27);
        assert_int_equal(tags_seen[nb->send_tag]++, 0); /* distinct tags per part */
        const starhalo_neighbor_t *m = find_back(w, nb->part, nb->dir);
        assert_non_null(m);
        assert_int_equal(m->part, p);
        assert_int_equal(m->send_tag, nb->recv_tag);
        assert_int_equal(m->recv_tag, nb->send_tag);
        for (int k = 0; k < 3; k++) {
            assert_int_equal(m->shift[k], -nb->shift[k]);
            assert_int_equal(nb->recv.lo[k], m->send.lo[k] + nb->shift[k]);
            assert_int_equal(nb->recv.hi[k], m->send.hi[k] + nb->shift[k]);
            if (k >= w->ndims)
                assert_int_equal(nb->dir[k], 0);
        }
        /* Send boxes inside the owned box, recv boxes in the ghost frame. */
        starhalo_box_t in = starhalo_box_intersect(&nb->send, &own);
        assert_int_equal(starhalo_box_volume(&in), starhalo_box_volume(&nb->send));
        in = starhalo_box_intersect(&nb->recv, &gh);
        assert_int_equal(starhalo_box_volume(&in), starhalo_box_volume(&nb->recv));
        in = starhalo_box_intersect(&nb->recv, &own);
        assert_int_equal(starhalo_box_volume(&in), 0);
        /* At least one direction of the pair carries data. */
        assert_true(starhalo_box_volume(&nb->send) + starhalo_box_volume(&nb->recv) > 0);
        const int nz = (nb->dir[0] != 0) + (nb->dir[1] != 0) + (nb->dir[2] != 0);
        assert_true(nz >= 1);
        if (w->shape->desc.shape == STARHALO_STENCIL_STAR)
            assert_int_equal(nz, 1);
    }
}

/* Every ghost cell is received by exactly the recv boxes the naive mirror predicts. */
static void check_ghost_coverage(const fx_world_t *w, int p)
{
    const starhalo_part_plan_t *plan = w->plans[p];
    const starhalo_box_t gh = starhalo_part_plan_ghosted(plan);
    const starhalo_box_t own = fx_owned(w, p);
    int64_t g[3], m[3];
    FX_FOR_CELLS(gh, g)
    {
        if (fx_in_box(&own, g))
            continue;
        const int mirrored = fx_mirror(w, p, g, m);
        int hits = 0;
        for (int i = 0; i < starhalo_part_plan_num_neighbors(plan); i++) {
            const starhalo_neighbor_t *nb = starhalo_part_plan_neighbor(plan, i);
            if (!fx_in_box(&nb->recv, g))
                continue;
            hits++;
            assert_int_equal(nb->part, fx_owner(w, m));
            for (int k = 0; k < 3; k++)
                assert_int_equal(g[k] - nb->shift[k], m[k]);
        }
        if (hits != (mirrored ? 1 : 0))
            print_error("%s: part %d ghost (%lld,%lld,%lld) received %d times\n", w->shape->name, p,
                        (long long)g[0], (long long)g[1], (long long)g[2], hits);
        assert_int_equal(hits, mirrored ? 1 : 0);
    }
}

/* Regions for a reach: disjoint, cover owned, interior reads no messaged ghost, each boundary
 * cell reads at least one. */
static void check_regions(const fx_world_t *w, int p, const int reach[6])
{
    const starhalo_part_plan_t *plan = w->plans[p];
    starhalo_regions_t r;
    assert_status_ok(starhalo_part_plan_regions(plan, reach, &r));
    const starhalo_box_t own = fx_owned(w, p);
    assert_true(r.nboundary >= 0 && r.nboundary <= STARHALO_MAX_BOUNDARY_BOXES);
    int64_t total = starhalo_box_volume(&r.interior);
    for (int i = 0; i < r.nboundary; i++) {
        assert_true(starhalo_box_volume(&r.boundary[i]) > 0); /* empty boxes omitted */
        total += starhalo_box_volume(&r.boundary[i]);
    }
    assert_int_equal(total, starhalo_box_volume(&own));
    int64_t c[3], f[3];
    FX_FOR_CELLS(own, c)
    {
        int in = fx_in_box(&r.interior, c);
        for (int i = 0; i < r.nboundary; i++)
            in += fx_in_box(&r.boundary[i], c);
        assert_int_equal(in, 1); /* covered exactly once: disjoint + cover */
        /* Does the box footprint of c read a ghost that a message fills? */
        int needs = 0;
        const starhalo_box_t fp = {{c[0] - reach[0], c[1] - (w->ndims > 1 ? reach[2] : 0),
                                    c[2] - (w->ndims > 2 ? reach[4] : 0)},
                                   {c[0] + reach[1] + 1, c[1] + (w->ndims > 1 ? reach[3] : 0) + 1,
                                    c[2] + (w->ndims > 2 ? reach[5] : 0) + 1}};
        FX_FOR_CELLS(fp, f)
        {
            if (fx_in_box(&own, f))
                continue;
            /* Outside the owned box and not beyond a non-periodic border: a messaged ghost
             * (under BOX; STAR corners count too: the footprint is a box). */
            int padding = 0;
            for (int k = 0; k < 3; k++)
                padding =
                    padding || ((f[k] < 0 || f[k] >= w->extent[k]) && !w->shape->desc.periodic[k]);
            needs = needs || !padding;
        }
        assert_int_equal(needs, !fx_in_box(&r.interior, c));
    }
}

static void check_world(const fx_shape_t *s, uint64_t *rng)
{
    fx_world_t w;
    fx_world_init(&w, s);
    for (int p = 0; p < w.nparts; p++) {
        check_pairing(&w, p);
        check_ghost_coverage(&w, p);
        int reach[6] = {0};
        for (int k = 0; k < 2 * w.ndims; k++)
            reach[k] = s->desc.halo[k]
                           ? (int)(starhalo_test_rand(rng) % (uint64_t)(s->desc.halo[k] + 1))
                           : 0;
        check_regions(&w, p, reach);
        check_regions(&w, p, s->desc.halo);
    }
    fx_world_free(&w);
}

static void random_shapes_pair_and_cover(void **state)
{
    (void)state;
    uint64_t rng = 0x5eed0002u;
    for (int i = 0; i < 250; i++) {
        fx_shape_t s;
        fx_random_shape(&rng, &s);
        check_world(&s, &rng);
    }
}

static void world_cb(const fx_shape_t *s, void *ctx)
{
    check_world(s, ctx);
}

static void fixed_shapes_pair_and_cover(void **state)
{
    (void)state;
    uint64_t rng = 7;
    fx_each_fixed_shape(3, world_cb, &rng);
}

static int count_nz(const starhalo_neighbor_t *nb, int nz)
{
    return ((nb->dir[0] != 0) + (nb->dir[1] != 0) + (nb->dir[2] != 0)) == nz;
}

static void box_has_corners_star_does_not(void **state)
{
    (void)state;
    const int64_t e2[3] = {8, 8, 1}, e3[3] = {6, 6, 6};
    const int g33[3] = {3, 3, 1}, g333[3] = {3, 3, 3};
    for (int shp = 0; shp < 2; shp++) {
        fx_shape_t s;
        fx_fixed_shape(&s, 2, e2, g33, 1, 0, (starhalo_stencil_shape_t)shp);
        fx_world_t w;
        fx_world_init(&w, &s);
        /* The centre part of a 3x3 grid: 4 faces, and 4 corners under BOX. */
        const starhalo_part_plan_t *c = w.plans[4];
        int faces = 0, corners = 0;
        for (int i = 0; i < starhalo_part_plan_num_neighbors(c); i++) {
            faces += count_nz(starhalo_part_plan_neighbor(c, i), 1);
            corners += count_nz(starhalo_part_plan_neighbor(c, i), 2);
        }
        assert_int_equal(faces, 4);
        assert_int_equal(corners, shp == STARHALO_STENCIL_BOX ? 4 : 0);
        /* Corner part 0 (non-periodic): 2 faces (+1 corner under BOX). */
        assert_int_equal(starhalo_part_plan_num_neighbors(w.plans[0]),
                         shp == STARHALO_STENCIL_BOX ? 3 : 2);
        fx_world_free(&w);

        fx_fixed_shape(&s, 3, e3, g333, 1, 0, (starhalo_stencil_shape_t)shp);
        fx_world_init(&w, &s);
        c = w.plans[13];
        assert_int_equal(starhalo_part_plan_num_neighbors(c), shp == STARHALO_STENCIL_BOX ? 26 : 6);
        fx_world_free(&w);
    }
}

static void periodic_wrap_and_doubled_neighbors(void **state)
{
    (void)state;
    /* 2 parts along x, 1 along y, periodic: part 0 meets part 1 on both x sides and itself
     * along y. */
    const int64_t e[3] = {6, 4, 1};
    const int g[3] = {2, 1, 1};
    fx_shape_t s;
    fx_fixed_shape(&s, 2, e, g, 1, 1, STARHALO_STENCIL_STAR);
    fx_world_t w;
    fx_world_init(&w, &s);
    const starhalo_part_plan_t *p0 = w.plans[0];
    assert_int_equal(starhalo_part_plan_num_neighbors(p0), 4);
    int to1 = 0, to_self = 0;
    for (int i = 0; i < 4; i++) {
        const starhalo_neighbor_t *nb = starhalo_part_plan_neighbor(p0, i);
        to1 += nb->part == 1;
        to_self += nb->part == 0;
        if (nb->dir[0] == -1) { /* wraps to part 1's right edge: x[-1,0) from x[5,6) */
            assert_int_equal(nb->part, 1);
            assert_int_equal(nb->shift[0], -6);
            assert_int_equal(nb->recv.lo[0], -1);
            assert_int_equal(nb->recv.hi[0], 0);
        }
        if (nb->dir[1] == 1) { /* itself: y[4,5) from y[0,1) */
            assert_int_equal(nb->part, 0);
            assert_int_equal(nb->shift[1], 4);
            assert_int_equal(nb->send.lo[1], 3);
            assert_int_equal(nb->recv.lo[1], 4);
        }
    }
    assert_int_equal(to1, 2);
    assert_int_equal(to_self, 2);
    fx_world_free(&w);

    /* Non-periodic border: no neighbour, ghosts stay padding. */
    fx_fixed_shape(&s, 2, e, g, 1, 0, STARHALO_STENCIL_STAR);
    fx_world_init(&w, &s);
    assert_int_equal(starhalo_part_plan_num_neighbors(w.plans[0]), 1);
    assert_int_equal(starhalo_part_plan_neighbor(w.plans[0], 0)->part, 1);
    assert_null(starhalo_part_plan_neighbor(w.plans[0], 1));
    fx_world_free(&w);
}

static void asymmetric_halo_lists_both_directions(void **state)
{
    (void)state;
    /* Halo only on the plus side of x: part 0 receives from part 1; part 1 sends to part 0
     * and receives nothing from it, yet both list each other (symmetric rule). */
    starhalo_decomp_desc_t d = {0};
    d.ndims = 2, d.extent[0] = 8, d.extent[1] = 4;
    d.split = STARHALO_SPLIT_VERTICAL, d.nparts = 2, d.halo[1] = 2;
    starhalo_decomp_t *dc;
    assert_status_ok(starhalo_decomp_create(&d, &dc));
    starhalo_part_plan_t *a, *b;
    assert_status_ok(starhalo_part_plan_create(dc, 0, &a));
    assert_status_ok(starhalo_part_plan_create(dc, 1, &b));
    assert_int_equal(starhalo_part_plan_num_neighbors(a), 1);
    assert_int_equal(starhalo_part_plan_num_neighbors(b), 1);
    const starhalo_neighbor_t *na = starhalo_part_plan_neighbor(a, 0);
    const starhalo_neighbor_t *nb = starhalo_part_plan_neighbor(b, 0);
    assert_int_equal(starhalo_box_volume(&na->recv), 8);
    assert_int_equal(starhalo_box_volume(&na->send), 0);
    assert_int_equal(starhalo_box_volume(&nb->send), 8);
    assert_int_equal(nb->send.lo[0], 4);
    assert_int_equal(nb->send.hi[0], 6);
    starhalo_part_plan_destroy(a);
    starhalo_part_plan_destroy(b);
    starhalo_decomp_destroy(dc);
}

static void regions_shapes_and_errors(void **state)
{
    (void)state;
    /* 3x3 square over 12x12, halo 1: the centre part x,y in [4,8) has interior [5,7)^2 and
     * four boundary boxes, bottom and top slabs full width first. */
    starhalo_decomp_desc_t d = {0};
    d.ndims = 2, d.extent[0] = d.extent[1] = 12;
    d.split = STARHALO_SPLIT_SQUARE, d.nparts = 9;
    for (int i = 0; i < 4; i++)
        d.halo[i] = 1;
    starhalo_decomp_t *dc;
    assert_status_ok(starhalo_decomp_create(&d, &dc));
    starhalo_part_plan_t *c, *corner;
    assert_status_ok(starhalo_part_plan_create(dc, 4, &c));
    assert_status_ok(starhalo_part_plan_create(dc, 0, &corner));
    const int reach[6] = {1, 1, 1, 1, 0, 0};
    starhalo_regions_t r;
    assert_status_ok(starhalo_part_plan_regions(c, reach, &r));
    const starhalo_box_t interior = {{5, 5, 0}, {7, 7, 1}};
    assert_true(fx_box_equal(&r.interior, &interior));
    assert_int_equal(r.nboundary, 4);
    const starhalo_box_t expect[4] = {{{4, 4, 0}, {8, 5, 1}},
                                      {{4, 7, 0}, {8, 8, 1}},
                                      {{4, 5, 0}, {5, 7, 1}},
                                      {{7, 5, 0}, {8, 7, 1}}};
    for (int i = 0; i < 4; i++)
        assert_true(fx_box_equal(&r.boundary[i], &expect[i]));
    /* Corner part: image-border sides are zero padding, the interior reaches them. */
    assert_status_ok(starhalo_part_plan_regions(corner, reach, &r));
    const starhalo_box_t ci = {{0, 0, 0}, {3, 3, 1}};
    assert_true(fx_box_equal(&r.interior, &ci));
    assert_int_equal(r.nboundary, 2);
    /* Reach 0: everything is interior. */
    const int zero[6] = {0};
    assert_status_ok(starhalo_part_plan_regions(c, zero, &r));
    assert_int_equal(r.nboundary, 0);
    assert_int_equal(starhalo_box_volume(&r.interior), 16);
    /* Reach wider than the halo. */
    const int too_far[6] = {0, 2, 0, 0, 0, 0};
    starhalo_error_clear();
    assert_int_equal(starhalo_part_plan_regions(c, too_far, &r), STARHALO_ERR_INVALID_ARG);
    assert_non_null(strstr(starhalo_last_error_message(), "plus side of dim 0"));
    const int negative[6] = {0, 0, -1, 0, 0, 0};
    assert_int_equal(starhalo_part_plan_regions(c, negative, &r), STARHALO_ERR_INVALID_ARG);
    starhalo_part_plan_destroy(c);
    starhalo_part_plan_destroy(corner);
    starhalo_part_plan_destroy(NULL);
    starhalo_decomp_destroy(dc);

    /* An interior that vanishes: 2-wide parts, reach 1 on both sides. */
    d.extent[0] = d.extent[1] = 6;
    assert_status_ok(starhalo_decomp_create(&d, &dc));
    assert_status_ok(starhalo_part_plan_create(dc, 4, &c));
    assert_status_ok(starhalo_part_plan_regions(c, reach, &r));
    assert_int_equal(starhalo_box_volume(&r.interior), 0);
    assert_int_equal(r.interior.lo[0], r.interior.hi[0]);
    assert_int_equal(r.nboundary, 1);
    starhalo_part_plan_destroy(c);
    starhalo_decomp_destroy(dc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fixed_shapes_pair_and_cover),
        cmocka_unit_test(random_shapes_pair_and_cover),
        cmocka_unit_test(box_has_corners_star_does_not),
        cmocka_unit_test(periodic_wrap_and_doubled_neighbors),
        cmocka_unit_test(asymmetric_halo_lists_both_directions),
        cmocka_unit_test(regions_shapes_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
