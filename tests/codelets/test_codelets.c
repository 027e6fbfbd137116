/* SPDX-License-Identifier: MIT */
/* Tests the StarPU codelets (stencil5, stencil9, conv2d, pool2d) in one process with 2 CPU
 * workers and the dmda scheduler (so the history perf models are used): each output is
 * computed as interior + boundary region tasks on VECTOR handles and compared with the
 * kernel run on the whole region (bitwise for stencils and max pooling, relative error
 * <= 1e-5 for conv). A task given a bad region reports its status through opts.status. */
#include "kern_test_util.h"

#include <stdio.h>
#include <string.h>

#include "codelets.h"

static int setup(void **state)
{
    (void)state;
    setenv("STARPU_NCPU", "2", 0);
    setenv("STARPU_SCHED", "dmda", 0);
    setenv("STARPU_NCUDA", "0", 0);
    setenv("STARPU_NOPENCL", "0", 0);
    return starpu_init(NULL) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    starpu_shutdown();
    return 0;
}

static starpu_data_handle_t reg(void *ptr, int64_t n, size_t esz)
{
    starpu_data_handle_t h;
    starpu_vector_data_register(&h, STARPU_MAIN_RAM, (uintptr_t)ptr, (uint32_t)n, esz);
    return h;
}

static void check_stencil(int nine, starhalo_dtype_t dt)
{
    const starhalo_box_t box = kt_box(-1, 66, 4, 49);
    const starhalo_kern_tile_t t = starhalo_kern_tile_make(&box, 1, 2);
    const int64_t n = starhalo_kern_tile_elems(&t);
    const size_t esz = starhalo_dtype_size(dt);
    char *in = malloc(n * esz), *out = malloc(n * esz), *ref = malloc(n * esz);
    if (dt == STARHALO_FLOAT32)
        kt_fill_f32((float *)in, n, 21);
    else
        kt_fill_f64((double *)in, n, 21);
    memcpy(out, in, n * esz); /* ghosts of out keep the input's values */
    memcpy(ref, in, n * esz);
    const starhalo_box_t whole = kt_box(0, 65, 5, 48);
    assert_status_ok(nine ? starhalo_kern_stencil9_cpu(dt, &t, in, ref, &whole)
                          : starhalo_kern_stencil5_cpu(dt, &t, in, ref, &whole));
    starpu_data_handle_t hin = reg(in, n, esz), hout = reg(out, n, esz);
    int status = 0;
    struct starhalo__task_opts o = {0};
    o.status = &status;
    starhalo_box_t pieces[5];
    kt_split(&whole, 2, pieces);
    for (int i = 0; i < 5; i++) {
        o.priority = i == 0 ? 0 : 1; /* boundary first, as the runtime does */
        assert_status_ok(nine ? starhalo__insert_stencil9(&o, hin, hout, dt, &t, &pieces[i])
                              : starhalo__insert_stencil5(&o, hin, hout, dt, &t, &pieces[i]));
    }
    starpu_task_wait_for_all();
    starpu_data_unregister(hin);
    starpu_data_unregister(hout);
    assert_int_equal(status, 0);
    assert_memory_equal(out, ref, n * esz);
    free(in);
    free(out);
    free(ref);
}

static void stencil_codelets(void **state)
{
    (void)state;
    for (int rep = 0; rep < 3; rep++) { /* several runs: dmda calibrates the models */
        check_stencil(0, STARHALO_FLOAT32);
        check_stencil(0, STARHALO_FLOAT64);
        check_stencil(1, STARHALO_FLOAT32);
        check_stencil(1, STARHALO_FLOAT64);
    }
}

/* A ghosted part of a 40 x 36 image with 3 x 3 / pad 1 layers: tile = owned box + 1. */
static void check_layer(int conv, starhalo_pool_kind_t kind)
{
    const int64_t batch = 2, cin = 3, cout = conv ? 4 : 3;
    const starhalo_layer_t L = {3, 1, 1, 1};
    const starhalo_box_t image = kt_box(0, 40, 0, 36);
    const starhalo_box_t gbox = kt_box(19, 41, -1, 19); /* owns x [20, 40), y [0, 18) */
    const starhalo_box_t obox = kt_box(20, 40, 0, 18);
    const starhalo_kern_tile_t it = starhalo_kern_tile_make(&gbox, batch, cin);
    const starhalo_kern_tile_t ot = starhalo_kern_tile_make(&obox, batch, cout);
    const int64_t ni = starhalo_kern_tile_elems(&it), no = starhalo_kern_tile_elems(&ot);
    const int64_t nw = cout * cin * 9 + cout;
    float *in = malloc(ni * sizeof(float)), *w = malloc(nw * sizeof(float));
    float *out = calloc(no, sizeof(float)), *ref = calloc(no, sizeof(float));
    kt_fill_f32(in, ni, 8);
    kt_fill_f32(w, nw, 9);
    if (conv)
        assert_status_ok(
            starhalo_kern_conv2d_cpu(&it, in, w, w + cout * cin * 9, &L, &ot, ref, &obox, &image));
    else
        assert_status_ok(starhalo_kern_pool2d_cpu(kind, &it, in, &L, &ot, ref, &obox, &image));
    starpu_data_handle_t hin = reg(in, ni, sizeof(float)), hout = reg(out, no, sizeof(float));
    starpu_data_handle_t hw = reg(w, nw, sizeof(float));
    int status = 0;
    struct starhalo__task_opts o = {0};
    o.status = &status;
    o.name = conv ? "conv_region" : "pool_region";
    starhalo_box_t pieces[5];
    kt_split(&obox, 1, pieces);
    for (int i = 0; i < 5; i++)
        assert_status_ok(
            conv ? starhalo__insert_conv2d(&o, hin, hw, hout, &it, &ot, &L, 1, &pieces[i], &image)
                 : starhalo__insert_pool2d(&o, hin, hout, kind, &it, &ot, &L, &pieces[i], &image));
    starpu_task_wait_for_all();
    starpu_data_unregister(hin);
    starpu_data_unregister(hout);
    starpu_data_unregister(hw);
    assert_int_equal(status, 0);
    if (conv || kind != STARHALO_POOL_MAX)
        assert_true(kt_rel_err(out, ref, no) <= 1e-5);
    else
        assert_memory_equal(out, ref, no * sizeof(float));
    free(in);
    free(w);
    free(out);
    free(ref);
}

static void conv_and_pool_codelets(void **state)
{
    (void)state;
    for (int rep = 0; rep < 2; rep++) {
        check_layer(1, STARHALO_POOL_MAX);
        check_layer(0, STARHALO_POOL_MAX);
        check_layer(0, STARHALO_POOL_AVG);
    }
}

static void failing_task_reports_status(void **state)
{
    (void)state;
    const starhalo_box_t box = kt_box(0, 8, 0, 8);
    const starhalo_kern_tile_t t = starhalo_kern_tile_make(&box, 1, 1);
    float in[64] = {0}, out[64] = {0};
    starpu_data_handle_t hin = reg(in, 64, sizeof(float)), hout = reg(out, 64, sizeof(float));
    int status = 0;
    struct starhalo__task_opts o = {0};
    o.status = &status;
    o.synchronous = 1;
    const starhalo_box_t bad = kt_box(0, 8, 1, 7); /* reads x = -1 */
    assert_status_ok(starhalo__insert_stencil5(&o, hin, hout, STARHALO_FLOAT32, &t, &bad));
    assert_int_equal(status, STARHALO_ERR_INVALID_ARG);
    assert_int_equal(starhalo__insert_stencil5(&o, hin, hin, STARHALO_FLOAT32, &t, &bad),
                     STARHALO_ERR_INVALID_ARG);
    starpu_data_unregister(hin);
    starpu_data_unregister(hout);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stencil_codelets),
        cmocka_unit_test(conv_and_pool_codelets),
        cmocka_unit_test(failing_task_reports_status),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
