/* SPDX-License-Identifier: MIT */
/**
 * @file test_halo_bench_core.c
 * @brief Tests halo_bench's pieces without MPI: option defaults (MPI4DL's), option errors,
 * the world-size checks, that the oracle check catches missing, shifted and corrupted ghost
 * cells (expected values written by a naive loop here), the .npy header, and the statistics.
 */
#include "starhalo_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "halo_bench.h"

static int parse(hb_options_t *o, char *err, const char *a1, const char *a2, const char *a3,
                 const char *a4)
{
    char *argv[6] = {"halo_bench", (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL};
    int argc = 1;
    while (argc < 5 && argv[argc])
        argc++;
    return hb_options_parse(argc, argv, o, err, HB_ERRLEN);
}

static void test_defaults_match_mpi4dl(void **state)
{
    hb_options_t o;
    char err[HB_ERRLEN];
    assert_int_equal(parse(&o, err, NULL, NULL, NULL, NULL), 0);
    assert_int_equal(o.image_size, 8);
    assert_int_equal(o.batch, 1);
    assert_int_equal(o.halo, 1);
    assert_int_equal(o.in_channels, 1);
    assert_int_equal(o.out_channels, 256);
    assert_int_equal(o.warmup, 10);
    assert_int_equal(o.iterations, 100);
    assert_int_equal(o.nparts, 4);
    assert_int_equal(o.split, STARHALO_SPLIT_SQUARE);
    assert_int_equal(o.transport, HB_TRANSPORT_STARPU);
    assert_string_equal(o.runtime_transport, "auto");
    assert_int_equal(o.parts_per_rank, 1);
    assert_int_equal(o.dtype, STARHALO_FLOAT32);
    assert_int_equal(o.fp16_allreduce, 0);
}

static void test_forms_and_flags(void **state)
{
    hb_options_t o;
    char err[HB_ERRLEN];
    assert_int_equal(
        parse(&o, err, "--image-size=1024", "--slice-method", "vertical", "--fp16-allreduce"), 0);
    assert_int_equal(o.image_size, 1024);
    assert_int_equal(o.split, STARHALO_SPLIT_VERTICAL);
    assert_int_equal(o.fp16_allreduce, 1);
    assert_int_equal(parse(&o, err, "--transport=mpi", "--dtype", "float64", "--warmup=0"), 0);
    assert_int_equal(o.transport, HB_TRANSPORT_MPI);
    assert_int_equal(o.dtype, STARHALO_FLOAT64);
    assert_int_equal(o.warmup, 0);
}

static void expect_error(const char *a1, const char *a2, const char *want)
{
    hb_options_t o;
    char err[HB_ERRLEN];
    assert_int_equal(parse(&o, err, a1, a2, NULL, NULL), -1);
    if (!strstr(err, want))
        print_error("error '%s' lacks '%s'\n", err, want);
    assert_non_null(strstr(err, want));
    assert_null(strchr(err, '\n'));
}

static void test_bad_options(void **state)
{
    expect_error("--slice-method", "diagonal", "unknown slice method 'diagonal'");
    expect_error("--slice-method", "grid", "unknown slice method 'grid'");
    expect_error("--transport", "tcp", "unknown transport 'tcp'");
    expect_error("--runtime-transport", "udp", "unknown runtime transport 'udp'");
    expect_error("--dtype", "int8", "unknown dtype 'int8'");
    expect_error("--iterations", "0", "--iterations must be positive, got 0");
    expect_error("--warmup", "-1", "--warmup must be zero or positive, got -1");
    expect_error("--halo-len", "0", "--halo-len must be positive");
    expect_error("--batch-size", "3x", "'3x' is not an integer");
    expect_error("--image-size", "99999999999", "too large");
    expect_error("--image-size", NULL, "--image-size expects a value");
    expect_error("--bogus", NULL, "unrecognized argument '--bogus'");
    expect_error("--validate=1", NULL, "--validate takes no value");
}

static void expect_decomp_error(const char *a1, const char *a2, const char *a3, const char *a4,
                                int nranks, const char *want)
{
    hb_options_t o;
    char err[HB_ERRLEN];
    assert_int_equal(parse(&o, err, a1, a2, a3, a4), 0);
    starhalo_decomp_t *d = (starhalo_decomp_t *)&o; /* must be reset to NULL */
    assert_int_equal(hb_decomp_build(&o, nranks, &d, err, sizeof err), -1);
    assert_null(d);
    if (!strstr(err, want))
        print_error("error '%s' lacks '%s'\n", err, want);
    assert_non_null(strstr(err, want));
}

static void test_world_checks(void **state)
{
    expect_decomp_error("--num-spatial-parts", "3", "--slice-method", "vertical", 2,
                        "must equal ranks x parts-per-rank = 2 x 1 = 2");
    expect_decomp_error("--num-spatial-parts", "2", "--slice-method", "square", 2,
                        "perfect-square part count, got --num-spatial-parts 2");
    expect_decomp_error("--halo-len", "5", "--num-spatial-parts=2", "--slice-method=vertical", 2,
                        "--halo-len 5 is wider than a part (4 cells");
    expect_decomp_error("--halo-len", "3", "--num-spatial-parts=3", "--slice-method=horizontal", 3,
                        "--halo-len 3 is wider than a part (2 cells along the image height");
    expect_decomp_error("--image-size", "2", "--num-spatial-parts=4", "--slice-method=vertical", 4,
                        "4 parts along the image width but only 2 cells");

    hb_options_t o;
    char err[HB_ERRLEN];
    starhalo_decomp_t *d = NULL;
    assert_int_equal(parse(&o, err, "--num-spatial-parts", "4", "--parts-per-rank", "2"), 0);
    assert_int_equal(hb_decomp_build(&o, 2, &d, err, sizeof err), 0);
    assert_int_equal(starhalo_decomp_num_parts(d), 4);
    starhalo_decomp_destroy(d);
}

/* 2 vertical parts of a 6x6 image, halo 1: part 0 owns x in [0,3), its only non-padding ghosts
 * are column x = 3, y in [0,6). */
static void test_oracle_catches_errors(void **state)
{
    hb_options_t o;
    char err[HB_ERRLEN], what[256];
    assert_int_equal(parse(&o, err, "--image-size=6", "--num-spatial-parts=2",
                           "--slice-method=vertical", "--in-channels=2"),
                     0);
    starhalo_decomp_t *d = NULL;
    assert_int_equal(hb_decomp_build(&o, 2, &d, err, sizeof err), 0);
    hb_tile_geom_t g;
    hb_tile_geom(&o, d, 0, &g);
    assert_int_equal(g.gw, 5);
    assert_int_equal(g.gh, 8);
    float *tile = calloc((size_t)(g.gw * g.gh * g.planes), sizeof *tile);
    assert_non_null(tile);
    hb_tile_fill(&o, &g, 0, tile);
    /* Before any exchange: 6 ghost cells per plane carry the sentinel. */
    assert_int_equal(hb_tile_check(&o, &g, 0, 1, tile, what, sizeof what), 12);
    assert_non_null(strstr(what, "never received"));
    /* Padding is 0 and owned cells are in [1, 2^23]. */
    assert_true(tile[0] == 0.0f);
    const float v00 = tile[1 * g.gw + 1];
    assert_true(v00 >= 1.0f && v00 <= 8388608.0f);

    /* A correct exchange, written naively: ghost (y, 3) = global image cell (y, 3). */
    for (int p = 0; p < 2; p++)
        for (int y = 0; y < 6; y++)
            tile[p * 40 + (y + 1) * 5 + 4] = (float)hb_oracle_value(&o, 0, p, y, 3);
    assert_int_equal(hb_tile_check(&o, &g, 0, 1, tile, what, sizeof what), 0);
    assert_int_equal(hb_tile_check(&o, &g, 1, 0, tile, what, sizeof what), 12); /* stale gen */

    /* A copy shifted by one row, or from the wrong plane, is caught. */
    float saved = tile[40 + 3 * 5 + 4];
    tile[40 + 3 * 5 + 4] = (float)hb_oracle_value(&o, 0, 1, 3, 3);
    assert_int_equal(hb_tile_check(&o, &g, 0, 0, tile, what, sizeof what), 1);
    tile[40 + 3 * 5 + 4] = (float)hb_oracle_value(&o, 0, 0, 2, 3);
    assert_int_equal(hb_tile_check(&o, &g, 0, 0, tile, what, sizeof what), 1);
    assert_non_null(strstr(what, "plane 1 cell (y=2, x=3)"));
    tile[40 + 3 * 5 + 4] = saved;
    /* Corrupted owned cells only matter to a full check; a written padding cell always. */
    tile[1 * 5 + 2] += 1.0f;
    assert_int_equal(hb_tile_check(&o, &g, 0, 0, tile, what, sizeof what), 0);
    assert_int_equal(hb_tile_check(&o, &g, 0, 1, tile, what, sizeof what), 1);
    tile[1 * 5 + 2] -= 1.0f;
    tile[0] = 5.0f;
    assert_int_equal(hb_tile_check(&o, &g, 0, 0, tile, what, sizeof what), 1);
    free(tile);
    starhalo_decomp_destroy(d);
}

static void test_npy_header(void **state)
{
    char path[] = "/tmp/hb_npy_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    const float data[2 * 3 * 5] = {1.0f, 2.0f, 3.0f};
    char err[HB_ERRLEN];
    assert_int_equal(hb_npy_write(path, STARHALO_FLOAT32, 1, 2, 3, 5, data, err, sizeof err), 0);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char buf[512];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    unlink(path);
    assert_memory_equal(buf, "\x93NUMPY\x01\x00", 8);
    const size_t hlen = buf[8] | (size_t)buf[9] << 8;
    assert_int_equal((10 + hlen) % 64, 0);
    assert_int_equal(n, 10 + hlen + sizeof data);
    assert_int_equal(buf[10 + hlen - 1], '\n');
    buf[10 + hlen - 1] = '\0';
    assert_non_null(strstr((char *)buf + 10, "'descr': '<f4'"));
    assert_non_null(strstr((char *)buf + 10, "'shape': (1, 2, 3, 5)"));
    assert_memory_equal(buf + 10 + hlen, data, sizeof data);
}

static void test_stats(void **state)
{
    const double odd[] = {5.0, 1.0, 3.0}, even[] = {4.0, 1.0, 3.0, 100.0};
    double mean, median;
    hb_stats(odd, 3, &mean, &median);
    assert_true(mean == 3.0 && median == 3.0);
    hb_stats(even, 4, &mean, &median);
    assert_true(mean == 27.0 && median == 3.5);
}

/* --with-compute helpers: the relative error catches a wrong value and a NaN; the seeded
 * data is the same on every call (ranks generate it independently); a tile's owned cells hold
 * the image's values and its ghosts zeros; the options' combinations are checked. */
static void test_compute_helpers(void **state)
{
    (void)state;
    const float ref[4] = {1.0f, -2.0f, 4.0f, 0.5f};
    float a[4] = {1.0f, -2.0f, 4.0f, 0.5f};
    assert_true(hb_rel_error(a, ref, 4) == 0.0);
    a[2] = 4.0f + 4e-4f; /* 1e-4 of max |ref| */
    assert_true(hb_rel_error(a, ref, 4) > 0.9e-4 && hb_rel_error(a, ref, 4) < 1.1e-4);
    a[2] = NAN;
    assert_false(hb_rel_error(a, ref, 4) <= 1e-5);

    hb_options_t o;
    char err[HB_ERRLEN];
    char *argv[] = {
        "hb", "--with-compute", "--halo-len", "2", "--in-channels", "2", "--out-channels",
        "3",  "--image-size",   "6"};
    assert_int_equal(hb_options_parse(10, argv, &o, err, sizeof err), 0);
    assert_int_equal(o.mode_task, 1);
    const starhalo_layer_t l = hb_conv_layer(&o);
    assert_int_equal(l.kernel, 5);
    assert_int_equal(l.padding, 2);
    assert_int_equal(l.stride, 1);
    float w1[3 * 2 * 25], w2[3 * 2 * 25];
    hb_conv_weights(&o, w1);
    hb_conv_weights(&o, w2);
    assert_memory_equal(w1, w2, sizeof w1);
    int distinct = 0;
    for (int i = 1; i < 150; i++)
        distinct += w1[i] != w1[0];
    assert_true(distinct > 140);

    float img[2 * 36];
    hb_conv_input_image(&o, img);
    starhalo_decomp_t *d = NULL;
    o.nparts = 2;
    o.split = STARHALO_SPLIT_VERTICAL;
    assert_int_equal(hb_decomp_build(&o, 2, &d, err, sizeof err), 0);
    hb_tile_geom_t g;
    hb_tile_geom(&o, d, 1, &g); /* owns x 3..5, ghosted x 1..7, y -2..7 */
    float tile[2 * 10 * 7];
    hb_conv_fill_tile(&o, &g, tile);
    for (int64_t p = 0; p < 2; p++)
        for (int64_t y = -2; y < 8; y++)
            for (int64_t x = 1; x < 8; x++) {
                const float v = tile[(p * 10 + y + 2) * 7 + x - 1];
                if (y >= 0 && y < 6 && x >= 3 && x < 6)
                    assert_true(v == img[(p * 6 + y) * 6 + x]);
                else
                    assert_true(v == 0.0f);
            }
    starhalo_decomp_destroy(d);

    expect_error("--mode", "bsp", "--mode needs --with-compute");
    char *bad[] = {"hb", "--with-compute", "--transport", "mpi", "--mode", "task"};
    assert_int_equal(hb_options_parse(6, bad, &o, err, sizeof err), -1);
    assert_non_null(strstr(err, "--mode task needs --transport starpu"));
    char *skip[] = {"hb", "--with-compute", "--skip-exchange"};
    assert_int_equal(hb_options_parse(3, skip, &o, err, sizeof err), -1);
    assert_non_null(strstr(err, "--skip-exchange needs --transport mpi"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_match_mpi4dl),
        cmocka_unit_test(test_forms_and_flags),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_world_checks),
        cmocka_unit_test(test_oracle_catches_errors),
        cmocka_unit_test(test_npy_header),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_compute_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
