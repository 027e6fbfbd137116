/* SPDX-License-Identifier: MIT */
/* starhalo_field_write / starhalo_field_read on 1, 2 or 4 ranks: 2-D and 3-D fields with
 * batch and channels, written from one decomposition and part map and read into others (other
 * split, part count, cyclic and reversed maps, all parts on one rank); every owned cell must
 * hold the value of its global index, the file must hold the global array in C order (checked
 * by reading it back with stdio on rank 0), and bad calls and bad files give the same status on
 * every rank. starhalo_npy_save/load are checked on one rank. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <starhalo/starhalo.h>

#include "starhalo_mpi_test.h"

static starhalo_context_t *g_ctx;
static int g_rank, g_size;
static char g_dir[256];

typedef struct geom {
    int ndims;
    int64_t extent[3], batch, channels;
    starhalo_split_t split;
    int nparts, ppd[3];
    int map; /* 0 blocks (NULL), 1 cyclic, 2 reversed cyclic, 3 all on rank 0 */
} geom_t;

/* The value of global element (plane, z, y, x): exact in float32. */
static double value(const geom_t *g, int64_t plane, int64_t z, int64_t y, int64_t x)
{
    const int64_t lin = ((plane * g->extent[2] + z) * g->extent[1] + y) * g->extent[0] + x;
    return (double)(lin % 1000003) + 0.25;
}

static starhalo_status_t make(const geom_t *g, starhalo_dtype_t dt, starhalo_decomp_t **d,
                              starhalo_field_t **f)
{
    starhalo_decomp_desc_t desc;
    memset(&desc, 0, sizeof desc);
    desc.ndims = g->ndims;
    memcpy(desc.extent, g->extent, sizeof desc.extent);
    desc.batch = g->batch;
    desc.channels = g->channels;
    desc.split = g->split;
    desc.nparts = g->nparts;
    memcpy(desc.parts_per_dim, g->ppd, sizeof desc.parts_per_dim);
    for (int k = 0; k < 2 * g->ndims; k++)
        desc.halo[k] = 1;
    STARHALO_CHECK(starhalo_decomp_create(&desc, d));
    const int np = starhalo_decomp_num_parts(*d);
    int *map = NULL;
    if (g->map) {
        map = malloc(sizeof(int) * (size_t)np);
        for (int p = 0; p < np; p++)
            map[p] = g->map == 1 ? p % g_size : g->map == 2 ? (np - 1 - p) % g_size : 0;
    }
    const starhalo_status_t rc = starhalo_field_create(g_ctx, *d, map, dt, f);
    free(map);
    return rc;
}

/* Fill (or check, counting wrong cells) the owned cells of every local part. */
static int visit(const geom_t *g, starhalo_field_t *f, int fill)
{
    int bad = 0, parts[64];
    const int n = starhalo_field_local_parts(f, parts);
    const int f64 = starhalo_field_dtype(f) == STARHALO_FLOAT64;
    for (int i = 0; i < n; i++) {
        const starhalo_part_plan_t *pl = starhalo_field_part_plan(f, parts[i]);
        const starhalo_box_t gb = starhalo_part_plan_ghosted(pl), o = starhalo_part_plan_owned(pl);
        const int64_t gw = gb.hi[0] - gb.lo[0], gh = gb.hi[1] - gb.lo[1], gd = gb.hi[2] - gb.lo[2];
        void *ptr = NULL;
        bad += starhalo_field_acquire(f, parts[i], fill) != STARHALO_OK;
        bad += starhalo_field_part_data(f, parts[i], &ptr) != STARHALO_OK;
        for (int64_t p = 0; p < g->batch * g->channels; p++)
            for (int64_t z = o.lo[2]; z < o.hi[2]; z++)
                for (int64_t y = o.lo[1]; y < o.hi[1]; y++)
                    for (int64_t x = o.lo[0]; x < o.hi[0]; x++) {
                        const int64_t k =
                            ((p * gd + z - gb.lo[2]) * gh + y - gb.lo[1]) * gw + x - gb.lo[0];
                        const double v = value(g, p, z, y, x);
                        if (fill && f64)
                            ((double *)ptr)[k] = v;
                        else if (fill)
                            ((float *)ptr)[k] = (float)v;
                        else
                            bad += (f64 ? ((double *)ptr)[k] : (double)((float *)ptr)[k]) != v;
                    }
        bad += starhalo_field_release(f, parts[i]) != STARHALO_OK;
    }
    return bad;
}

/* Rank 0 reads the file with stdio: the global array in C order after the header. */
static int check_file(const geom_t *g, const char *path, starhalo_dtype_t dt, int64_t step)
{
    if (g_rank != 0)
        return 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return 1;
    char head[4096];
    const size_t n = fread(head, 1, sizeof head, fp);
    starhalo_npy_header_t h;
    int bad = starhalo_npy_header_parse(head, n, &h) != STARHALO_OK;
    bad += !h.has_meta || h.step != step || h.dtype != dt;
    const int64_t want[5] = {g->batch, g->channels, g->extent[2], g->extent[1], g->extent[0]};
    bad += h.ndims != g->ndims + 2;
    for (int k = 0; k < h.ndims && !bad; k++)
        bad += h.shape[k] != want[g->ndims == 3 ? k : (k < 2 ? k : k + 1)];
    bad += fseek(fp, (long)h.data_offset, SEEK_SET) != 0;
    const size_t es = starhalo_dtype_size(dt);
    for (int64_t p = 0; p < g->batch * g->channels && !bad; p++)
        for (int64_t z = 0; z < g->extent[2]; z++)
            for (int64_t y = 0; y < g->extent[1]; y++)
                for (int64_t x = 0; x < g->extent[0]; x++) {
                    double v = 0.0;
                    float fv = 0.0f;
                    if (fread(es == 8 ? (void *)&v : (void *)&fv, es, 1, fp) != 1)
                        return bad + 1;
                    bad += (es == 8 ? v : (double)fv) != value(g, p, z, y, x);
                }
    bad += fgetc(fp) != EOF;
    fclose(fp);
    return bad;
}

static void round_trip(const geom_t *w, const geom_t *r, starhalo_dtype_t dt, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.npy", g_dir, name);
    starhalo_decomp_t *dw = NULL, *dr = NULL;
    starhalo_field_t *fw = NULL, *fr = NULL;
    int bad = 0;
    STARHALO_MPI_CHECK(bad, make(w, dt, &dw, &fw) == STARHALO_OK);
    STARHALO_MPI_CHECK(bad, make(r, dt, &dr, &fr) == STARHALO_OK);
    starhalo_mpi_assert_all_ok(bad, "create");
    bad += visit(w, fw, 1);
    starhalo_checkpoint_meta_t meta = {.step = 17, .generation = 4};
    STARHALO_MPI_CHECK(bad, starhalo_field_write(fw, path, &meta) == STARHALO_OK);
    STARHALO_MPI_CHECK(bad, check_file(w, path, dt, 17) == 0);
    starhalo_checkpoint_meta_t got;
    memset(&got, 0, sizeof got);
    STARHALO_MPI_CHECK(bad, starhalo_field_read(fr, path, &got) == STARHALO_OK);
    STARHALO_MPI_CHECK(bad, got.step == 17 && got.generation == 4 && got.checksum == meta.checksum);
    STARHALO_MPI_CHECK(bad, visit(r, fr, 0) == 0);
    /* No temporary is left behind. */
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    STARHALO_MPI_CHECK(bad, access(tmp, F_OK) != 0);
    starhalo_mpi_assert_all_ok(bad, name);
    starhalo_field_destroy(fw);
    starhalo_field_destroy(fr);
    starhalo_decomp_destroy(dw);
    starhalo_decomp_destroy(dr);
}

static void test_2d_other_split_and_parts(void **state)
{
    (void)state;
    const geom_t w = {2, {37, 29, 1}, 2, 3, STARHALO_SPLIT_VERTICAL, 2 * g_size, {0}, 0};
    const geom_t r = {2, {37, 29, 1}, 2, 3, STARHALO_SPLIT_SQUARE, 9, {0}, 1};
    round_trip(&w, &r, STARHALO_FLOAT32, "split2d");
}

static void test_3d_grid_maps(void **state)
{
    (void)state;
    const geom_t w = {3, {11, 9, 7}, 1, 2, STARHALO_SPLIT_GRID, 0, {2, 1, 2}, 2};
    const geom_t r = {3, {11, 9, 7}, 1, 2, STARHALO_SPLIT_GRID, 0, {1, 3, 1}, 3};
    round_trip(&w, &r, STARHALO_FLOAT64, "grid3d");
}

static void test_bad_calls(void **state)
{
    (void)state;
    const geom_t g = {2, {16, 12, 1}, 1, 1, STARHALO_SPLIT_HORIZONTAL, g_size, {0}, 0};
    const geom_t g8 = {2, {16, 12, 1}, 1, 1, STARHALO_SPLIT_HORIZONTAL, g_size, {0}, 0};
    starhalo_decomp_t *d = NULL, *d8 = NULL;
    starhalo_field_t *f = NULL, *f8 = NULL;
    int bad = 0;
    STARHALO_MPI_CHECK(bad, make(&g, STARHALO_FLOAT32, &d, &f) == STARHALO_OK);
    STARHALO_MPI_CHECK(bad, make(&g8, STARHALO_FLOAT64, &d8, &f8) == STARHALO_OK);
    char path[512], other[512];
    snprintf(path, sizeof path, "%s/bad.npy", g_dir);
    STARHALO_MPI_CHECK(bad, starhalo_field_write(f, path, NULL) == STARHALO_OK);
    /* Each error is the same on every rank (and a hang would be killed by the timeout). */
    STARHALO_MPI_CHECK(bad, starhalo_field_read(f8, path, NULL) == STARHALO_ERR_FILE_MISMATCH);
    STARHALO_MPI_CHECK(bad, strstr(starhalo_last_error_message(), "holds float32") != NULL);
    snprintf(other, sizeof other, "%s/none/x.npy", g_dir);
    STARHALO_MPI_CHECK(bad, starhalo_field_write(f, other, NULL) == STARHALO_ERR_IO);
    STARHALO_MPI_CHECK(bad, starhalo_field_read(f, other, NULL) == STARHALO_ERR_IO);
    STARHALO_MPI_CHECK(bad, starhalo_field_write(f, "", NULL) == STARHALO_ERR_INVALID_ARG);
    STARHALO_MPI_CHECK(bad, starhalo_field_write(NULL, path, NULL) == STARHALO_ERR_INVALID_ARG);
    /* Ranks passing different paths or steps: MISMATCH everywhere, nothing written. */
    snprintf(other, sizeof other, "%s/bad%d.npy", g_dir, g_rank);
    if (g_size > 1) {
        STARHALO_MPI_CHECK(bad, starhalo_field_write(f, other, NULL) == STARHALO_ERR_MISMATCH);
        starhalo_checkpoint_meta_t m = {.step = g_rank};
        STARHALO_MPI_CHECK(bad, starhalo_field_write(f, path, &m) == STARHALO_ERR_MISMATCH);
    }
    /* Damage the data on rank 0; every rank sees the checksum error. */
    MPI_Barrier(MPI_COMM_WORLD);
    if (g_rank == 0) {
        FILE *fp = fopen(path, "r+b");
        int c = EOF;
        STARHALO_MPI_CHECK(bad, fp && fseek(fp, -5, SEEK_END) == 0 && (c = fgetc(fp)) != EOF);
        STARHALO_MPI_CHECK(bad, fp && fseek(fp, -5, SEEK_END) == 0 && fputc(c ^ 0xff, fp) != EOF);
        if (fp)
            fclose(fp);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    STARHALO_MPI_CHECK(bad, starhalo_field_read(f, path, NULL) == STARHALO_ERR_CORRUPT);
    STARHALO_MPI_CHECK(bad, strstr(starhalo_last_error_message(), "checksum mismatch") != NULL);
    starhalo_mpi_assert_all_ok(bad, "bad calls");
    starhalo_field_destroy(f);
    starhalo_field_destroy(f8);
    starhalo_decomp_destroy(d);
    starhalo_decomp_destroy(d8);
}

static void test_npy_save_load(void **state)
{
    (void)state;
    if (g_rank != 0)
        return;
    char path[512];
    snprintf(path, sizeof path, "%s/w.npy", g_dir);
    float w[30], r[30];
    for (int i = 0; i < 30; i++)
        w[i] = (float)i / 7.0f;
    starhalo_npy_header_t h = {.dtype = STARHALO_FLOAT32, .ndims = 2, .shape = {5, 6}};
    h.step = 9;
    assert_int_equal(starhalo_npy_save(path, &h, w), STARHALO_OK);
    starhalo_npy_header_t want = {.dtype = STARHALO_FLOAT32, .ndims = 2, .shape = {5, 6}}, got;
    assert_int_equal(starhalo_npy_load(path, &want, &got, r), STARHALO_OK);
    assert_memory_equal(w, r, sizeof w);
    assert_int_equal(got.step, 9);
    want.shape[1] = 7;
    assert_int_equal(starhalo_npy_load(path, &want, &got, r), STARHALO_ERR_FILE_MISMATCH);
    want.shape[1] = 6;
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, -1, SEEK_END), 0);
    fputc(0x11, fp);
    fclose(fp);
    assert_int_equal(starhalo_npy_load(path, &want, &got, r), STARHALO_ERR_CORRUPT);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size - 4), 0);
    assert_int_equal(starhalo_npy_load(path, &want, &got, r), STARHALO_ERR_CORRUPT);
    assert_non_null(strstr(starhalo_last_error_message(), "truncated"));
    unlink(path);
    assert_int_equal(starhalo_npy_load(path, &want, &got, r), STARHALO_ERR_IO);
}

int main(void)
{
    starhalo_context_conf_t conf;
    starhalo_context_conf_init(&conf);
    if (starhalo_context_create(&conf, &g_ctx) != STARHALO_OK) {
        fprintf(stderr, "test_checkpoint: context: %s\n", starhalo_last_error_message());
        return 1;
    }
    g_rank = starhalo_context_rank(g_ctx);
    g_size = starhalo_context_size(g_ctx);
    /* One directory per run, named by rank 0. */
    int pid = (int)getpid();
    MPI_Bcast(&pid, 1, MPI_INT, 0, MPI_COMM_WORLD);
    snprintf(g_dir, sizeof g_dir, "test_checkpoint.%d.%d", g_size, pid);
    if (g_rank == 0 && mkdir(g_dir, 0777) != 0)
        fprintf(stderr, "test_checkpoint: cannot create %s\n", g_dir);
    MPI_Barrier(MPI_COMM_WORLD);
    if (g_rank != 0 && !freopen("/dev/null", "w", stdout))
        fprintf(stderr, "test_checkpoint: rank %d could not silence stdout\n", g_rank);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_2d_other_split_and_parts),
        cmocka_unit_test(test_3d_grid_maps),
        cmocka_unit_test(test_bad_calls),
        cmocka_unit_test(test_npy_save_load),
    };
    const int failed = cmocka_run_group_tests_name("checkpoint", tests, NULL, NULL);
    MPI_Barrier(MPI_COMM_WORLD);
    if (g_rank == 0) {
        static const char *const files[] = {"split2d.npy", "grid3d.npy", "bad.npy"};
        char path[512];
        for (int i = 0; i < 3; i++) {
            snprintf(path, sizeof path, "%s/%s", g_dir, files[i]);
            unlink(path);
        }
        rmdir(g_dir);
    }
    starhalo_context_destroy(g_ctx);
    return failed ? 1 : 0;
}
