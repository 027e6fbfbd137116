/* SPDX-License-Identifier: MIT */
/* Tests decompositions: owned boxes tile the domain exactly once over fixed and seeded random
 * shapes (uneven spread, explicit sizes), owner_of agrees with a naive scan, part index and
 * coordinates round-trip, the named splits give the documented grids, and every bad input
 * returns its specific status code with a non-empty message. */
#include "plans_fixture.h"

static void check_tiling(const fx_shape_t *s)
{
    fx_world_t w;
    fx_world_init(&w, s);
    int64_t ncells = w.extent[0] * w.extent[1] * w.extent[2];
    int *owner = malloc((size_t)ncells * sizeof *owner);
    assert_non_null(owner);
    for (int64_t i = 0; i < ncells; i++)
        owner[i] = -1;
    int grid[3];
    starhalo_decomp_part_grid(w.dc, grid);
    for (int k = 0; k < 3; k++)
        assert_int_equal(grid[k], w.grid[k]);
    for (int p = 0; p < w.nparts; p++) {
        const starhalo_box_t b = starhalo_decomp_owned_box(w.dc, p);
        const starhalo_box_t ref = fx_owned(&w, p);
        assert_true(fx_box_equal(&b, &ref));
        const starhalo_box_t pb = starhalo_part_plan_owned(w.plans[p]);
        assert_true(fx_box_equal(&pb, &ref));
        assert_int_equal(starhalo_part_plan_part(w.plans[p]), p);
        int coord[3];
        starhalo_decomp_part_coord(w.dc, p, coord);
        assert_int_equal(starhalo_decomp_part_index(w.dc, coord), p);
        assert_int_equal(p, coord[0] + w.grid[0] * (coord[1] + w.grid[1] * coord[2]));
        assert_true(starhalo_box_volume(&b) > 0);
        int64_t c[3];
        FX_FOR_CELLS(b, c)
        {
            const int64_t i = fx_linear(&w, c);
            assert_int_equal(owner[i], -1); /* owned once */
            owner[i] = p;
        }
    }
    const starhalo_box_t dom = {{0, 0, 0}, {w.extent[0], w.extent[1], w.extent[2]}};
    int64_t c[3];
    FX_FOR_CELLS(dom, c)
    {
        const int64_t i = fx_linear(&w, c);
        assert_int_not_equal(owner[i], -1); /* no cell dropped */
        int q = -1;
        assert_status_ok(starhalo_decomp_owner_of(w.dc, c, &q));
        assert_int_equal(q, owner[i]);
        assert_int_equal(fx_owner(&w, c), owner[i]);
    }
    free(owner);
    fx_world_free(&w);
}

static void tile_cb(const fx_shape_t *s, void *ctx)
{
    (void)ctx;
    check_tiling(s);
}

static void fixed_shapes_tile_the_domain(void **state)
{
    (void)state;
    fx_each_fixed_shape(1, tile_cb, NULL);
}

static void random_shapes_tile_the_domain(void **state)
{
    (void)state;
    uint64_t rng = 0x5eed0001u;
    for (int i = 0; i < 300; i++) {
        fx_shape_t s;
        fx_random_shape(&rng, &s);
        check_tiling(&s);
    }
}

static void uneven_extents_spread_the_remainder(void **state)
{
    (void)state;
    starhalo_decomp_desc_t d = {0};
    d.ndims = 2;
    d.extent[0] = 10;
    d.extent[1] = 3;
    d.split = STARHALO_SPLIT_VERTICAL;
    d.nparts = 4;
    starhalo_decomp_t *dc;
    assert_status_ok(starhalo_decomp_create(&d, &dc));
    const int64_t lo[] = {0, 3, 6, 8}, hi[] = {3, 6, 8, 10}; /* 10 = 3+3+2+2 */
    for (int p = 0; p < 4; p++) {
        starhalo_box_t b = starhalo_decomp_owned_box(dc, p);
        assert_int_equal(b.lo[0], lo[p]);
        assert_int_equal(b.hi[0], hi[p]);
        assert_int_equal(b.lo[1], 0);
        assert_int_equal(b.hi[1], 3);
        assert_int_equal(b.lo[2], 0);
        assert_int_equal(b.hi[2], 1);
    }
    const starhalo_decomp_desc_t *n = starhalo_decomp_desc(dc);
    assert_int_equal(n->batch, 1);
    assert_int_equal(n->channels, 1);
    assert_int_equal(n->nparts, 4);
    assert_null(n->part_sizes[0]);
    starhalo_decomp_destroy(dc);
}

static void named_splits_give_their_grids(void **state)
{
    (void)state;
    const struct {
        starhalo_split_t split;
        int nparts, gx, gy;
    } cases[] = {{STARHALO_SPLIT_VERTICAL, 3, 3, 1},
                 {STARHALO_SPLIT_HORIZONTAL, 3, 1, 3},
                 {STARHALO_SPLIT_SQUARE, 9, 3, 3},
                 {STARHALO_SPLIT_SQUARE, 1, 1, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        starhalo_decomp_desc_t d = {0};
        d.ndims = 2;
        d.extent[0] = d.extent[1] = 6;
        d.split = cases[i].split;
        d.nparts = cases[i].nparts;
        starhalo_decomp_t *dc;
        assert_status_ok(starhalo_decomp_create(&d, &dc));
        int g[3];
        starhalo_decomp_part_grid(dc, g);
        assert_int_equal(g[0], cases[i].gx);
        assert_int_equal(g[1], cases[i].gy);
        assert_int_equal(g[2], 1);
        starhalo_decomp_destroy(dc);
    }
    starhalo_split_t sp;
    const char *names[] = {"vertical", "horizontal", "square", "grid"};
    for (int i = 0; i < 4; i++) {
        assert_status_ok(starhalo_split_parse(names[i], &sp));
        assert_int_equal(sp, i);
        assert_string_equal(starhalo_split_name(sp), names[i]);
    }
}

/* Expect @p code from decomp_create with a message; the case name is printed on failure. */
static void expect_error(const char *what, const starhalo_decomp_desc_t *d, starhalo_status_t code)
{
    starhalo_decomp_t *dc = (starhalo_decomp_t *)(uintptr_t)1;
    starhalo_error_clear();
    starhalo_status_t st = starhalo_decomp_create(d, &dc);
    if (st != code)
        print_error("%s: got %s (%s)\n", what, starhalo_err_name(st),
                    starhalo_last_error_message());
    assert_int_equal(st, code);
    assert_null(dc);
    assert_true(strlen(starhalo_last_error_message()) > 0);
}

static starhalo_decomp_desc_t good_desc(void)
{
    starhalo_decomp_desc_t d = {0};
    d.ndims = 2;
    d.extent[0] = d.extent[1] = 8;
    d.split = STARHALO_SPLIT_SQUARE;
    d.nparts = 4;
    for (int s = 0; s < 4; s++)
        d.halo[s] = 1;
    return d;
}

static void bad_inputs_return_their_errors(void **state)
{
    (void)state;
    starhalo_decomp_desc_t d = good_desc();
    starhalo_decomp_t *dc;
    assert_status_ok(starhalo_decomp_create(&d, &dc));
    starhalo_decomp_destroy(dc);
    starhalo_decomp_destroy(NULL);

    d = good_desc(), d.ndims = 1;
    expect_error("ndims 1", &d, STARHALO_ERR_INVALID_ARG);
    d = good_desc(), d.ndims = 4;
    expect_error("ndims 4", &d, STARHALO_ERR_INVALID_ARG);
    d = good_desc(), d.extent[1] = 0;
    expect_error("zero extent", &d, STARHALO_ERR_INVALID_ARG);
    d = good_desc(), d.extent[0] = -3;
    expect_error("negative extent", &d, STARHALO_ERR_INVALID_ARG);
    d = good_desc(), d.batch = -1;
    expect_error("negative batch", &d, STARHALO_ERR_INVALID_ARG);
    d = good_desc(), d.channels = -2;
    expect_error("negative channels", &d, STARHALO_ERR_INVALID_ARG);
    d = good_desc(), d.split = (starhalo_split_t)17;
    expect_error("unknown split", &d, STARHALO_ERR_INVALID_ARG);
    d = good_desc(), d.nparts = 0;
    expect_error("zero parts", &d, STARHALO_ERR_INVALID_ARG);
    d = good_desc(), d.split = STARHALO_SPLIT_VERTICAL, d.nparts = -2;
    expect_error("negative parts", &d, STARHALO_ERR_INVALID_ARG);
    d = good_desc(), d.nparts = 3;
    expect_error("square of 3", &d, STARHALO_ERR_NOT_SQUARE);
    assert_non_null(strstr(starhalo_last_error_message(), "3"));
    d = good_desc(), d.split = STARHALO_SPLIT_GRID, d.parts_per_dim[0] = -1;
    expect_error("negative grid", &d, STARHALO_ERR_INVALID_ARG);
    d = good_desc(), d.split = STARHALO_SPLIT_VERTICAL, d.nparts = 9;
    expect_error("9 parts over 8 columns", &d, STARHALO_ERR_TOO_MANY_PARTS);
    assert_non_null(strstr(starhalo_last_error_message(), "dim 0"));
    d = good_desc(), d.split = STARHALO_SPLIT_GRID, d.parts_per_dim[0] = 1, d.parts_per_dim[1] = 9;
    expect_error("9 parts over 8 rows", &d, STARHALO_ERR_TOO_MANY_PARTS);
    assert_non_null(strstr(starhalo_last_error_message(), "dim 1"));
    d = good_desc(), d.halo[3] = -1;
    expect_error("negative halo", &d, STARHALO_ERR_INVALID_ARG);
    d = good_desc(), d.shape = (starhalo_stencil_shape_t)5;
    expect_error("unknown shape", &d, STARHALO_ERR_INVALID_ARG);

    /* Explicit sizes: wrong sum, zero entry. */
    const int64_t short_sum[] = {3, 4}, zero_entry[] = {0, 8}, good[] = {5, 3};
    d = good_desc(), d.part_sizes[0] = short_sum;
    expect_error("sizes sum 7 != 8", &d, STARHALO_ERR_INVALID_ARG);
    d = good_desc(), d.part_sizes[1] = zero_entry;
    expect_error("zero size", &d, STARHALO_ERR_INVALID_ARG);
    d = good_desc(), d.part_sizes[0] = good;
    assert_status_ok(starhalo_decomp_create(&d, &dc));
    starhalo_box_t b = starhalo_decomp_owned_box(dc, 1);
    assert_int_equal(b.lo[0], 5);
    assert_int_equal(b.hi[0], 8);
    starhalo_decomp_destroy(dc);

    /* Halo wider than the part it comes from: 8 columns in 4 parts of 2, halo 3. */
    d = good_desc(), d.split = STARHALO_SPLIT_VERTICAL, d.halo[1] = 3;
    expect_error("halo 3 over 2-wide parts", &d, STARHALO_ERR_HALO_TOO_WIDE);
    const char *msg = starhalo_last_error_message();
    assert_non_null(strstr(msg, "plus side of dim 0"));
    assert_non_null(strstr(msg, "3"));
    assert_non_null(strstr(msg, "2 cells"));

    /* Only the periodic wrap makes it too wide: sizes {5,4,1}, minus halo 2. Non-periodic,
     * the minus ghosts of parts 1 and 2 come from parts 0 and 1 (5 and 4 wide); periodic,
     * part 0's come from part 2 (1 wide). */
    const int64_t thin_last[] = {5, 4, 1};
    d = good_desc(), d.extent[0] = 10, d.split = STARHALO_SPLIT_VERTICAL, d.nparts = 3;
    d.halo[0] = 2, d.halo[1] = 0, d.part_sizes[0] = thin_last;
    assert_status_ok(starhalo_decomp_create(&d, &dc));
    starhalo_decomp_destroy(dc);
    d.periodic[0] = 1;
    expect_error("periodic wrap from a thin part", &d, STARHALO_ERR_HALO_TOO_WIDE);
    msg = starhalo_last_error_message();
    assert_non_null(strstr(msg, "part 0"));
    assert_non_null(strstr(msg, "part 2"));
    assert_non_null(strstr(msg, "minus side"));

    /* A single periodic part is its own neighbour: halo must fit in the extent. */
    d = good_desc(), d.split = STARHALO_SPLIT_GRID, d.extent[1] = 2, d.halo[2] = 3;
    d.periodic[1] = 1;
    expect_error("periodic self halo", &d, STARHALO_ERR_HALO_TOO_WIDE);

    starhalo_split_t sp;
    starhalo_error_clear();
    assert_int_equal(starhalo_split_parse("diagonal", &sp), STARHALO_ERR_INVALID_ARG);
    assert_non_null(strstr(starhalo_last_error_message(), "diagonal"));
    assert_int_equal(starhalo_decomp_create(NULL, &dc), STARHALO_ERR_INVALID_ARG);

    /* owner_of outside the domain, part plan of a missing part. */
    d = good_desc();
    assert_status_ok(starhalo_decomp_create(&d, &dc));
    int part;
    const int64_t outside[3] = {8, 0, 0}, neg[3] = {0, -1, 0};
    assert_int_equal(starhalo_decomp_owner_of(dc, outside, &part), STARHALO_ERR_OUT_OF_RANGE);
    assert_int_equal(starhalo_decomp_owner_of(dc, neg, &part), STARHALO_ERR_OUT_OF_RANGE);
    starhalo_part_plan_t *plan = NULL;
    starhalo_error_clear();
    assert_int_equal(starhalo_part_plan_create(dc, 4, &plan), STARHALO_ERR_OUT_OF_RANGE);
    assert_true(strlen(starhalo_last_error_message()) > 0);
    assert_int_equal(starhalo_part_plan_create(dc, -1, &plan), STARHALO_ERR_OUT_OF_RANGE);
    assert_null(plan);
    const int bad_coord[3] = {2, 0, 0};
    assert_int_equal(starhalo_decomp_part_index(dc, bad_coord), -1);
    starhalo_box_t none = starhalo_decomp_owned_box(dc, 4);
    assert_int_equal(starhalo_box_volume(&none), 0);
    none = starhalo_part_plan_owned(NULL);
    assert_int_equal(starhalo_box_volume(&none), 0);
    assert_int_equal(starhalo_part_plan_num_neighbors(NULL), 0);
    assert_null(starhalo_part_plan_neighbor(NULL, 0));
    starhalo_decomp_destroy(dc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fixed_shapes_tile_the_domain),
        cmocka_unit_test(random_shapes_tile_the_domain),
        cmocka_unit_test(uneven_extents_spread_the_remainder),
        cmocka_unit_test(named_splits_give_their_grids),
        cmocka_unit_test(bad_inputs_return_their_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
