/* SPDX-License-Identifier: MIT */
/* Tests the StarPU codelets (stencil5, stencil9, conv2d, pool2d, ReLU, conv2d backward data
 * and weights, pack and unpack) in one process with 2 CPU workers and the dmda scheduler (so
 * the history perf models are used): each output is computed as interior + boundary region
 * tasks on VECTOR handles and compared with the kernel run on the whole region (bitwise for
 * stencils, max pooling, ReLU, backward and pack/unpack, relative error <= 1e-5 for conv). A
 * task given a bad region reports its status through opts.status.
 * With --cuda the same tests run on one CUDA worker and no CPU worker, so every task runs
 * its CUDA implementation against the CPU kernels' results; exit 77 (skipped) when StarPU
 * finds no CUDA device. */
#include "kern_test_util.h"

#include <stdio.h>
#include <string.h>

#include "codelet_xfer.h"
#include "codelets_cnn.h"

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

/* ReLU forward and backward, conv2d backward data and weights as tasks: the CPU kernels' bits. */
static void cnn_codelets(void **state)
{
    (void)state;
    const starhalo_layer_t L = {3, 1, 1, 1};
    const starhalo_box_t gbox = kt_box(-1, 21, -1, 17), obox = kt_box(0, 20, 0, 16);
    const starhalo_box_t region = kt_box(0, 20, 1, 15);
    const starhalo_kern_tile_t it = starhalo_kern_tile_make(&gbox, 2, 3);
    const starhalo_kern_tile_t ot = starhalo_kern_tile_make(&obox, 2, 4);
    const int64_t ni = starhalo_kern_tile_elems(&it), no = starhalo_kern_tile_elems(&ot);
    const int64_t nw = 4 * 3 * 9;
    float *x = malloc(ni * 4), *dy = malloc(no * 4), *w = malloc(nw * 4), *gi = malloc(ni * 4);
    float *gi_ref = malloc(ni * 4), *r = malloc(no * 4), *r_ref = malloc(no * 4);
    float *pre = malloc(no * 4); /* ReLU's pre-activation, output geometry */
    double *dw = malloc(nw * 8), *dw_ref = malloc(nw * 8);
    kt_fill_f32(x, ni, 31);
    kt_fill_f32(dy, no, 32);
    kt_fill_f32(w, nw, 33);
    kt_fill_f32(pre, no, 34);
    memcpy(r, dy, no * 4);
    memcpy(r_ref, dy, no * 4);
    assert_status_ok(starhalo_kern_conv2d_bwd_data_dnnl(&ot, dy, w, &L, &it, gi_ref, &region));
    assert_status_ok(starhalo_kern_conv2d_bwd_weights_dnnl(&it, x, &ot, dy, &L, &region, dw_ref));
    assert_status_ok(starhalo_kern_relu_bwd_cpu(&ot, pre, r_ref, &region));
    starpu_data_handle_t hx = reg(x, ni, 4), hdy = reg(dy, no, 4), hw = reg(w, nw, 4);
    starpu_data_handle_t hgi = reg(gi, ni, 4), hdw = reg(dw, nw, 8), hr = reg(r, no, 4);
    starpu_data_handle_t hp = reg(pre, no, 4);
    int status = 0;
    struct starhalo__task_opts o = {0};
    o.status = &status;
    const starhalo__conv_bwd_args_t a = {it, ot, L, region, NULL, 1};
    assert_status_ok(starhalo__insert_conv2d_bwd_data(&o, hdy, hw, hgi, &a));
    assert_status_ok(starhalo__insert_conv2d_bwd_weights(&o, hx, hdy, hdw, &a));
    const starhalo__relu_args_t ra = {ot, region, 1, NULL};
    assert_status_ok(starhalo__insert_relu(&o, hp, hr, &ra));
    starpu_task_wait_for_all();
    starpu_data_handle_t all[7] = {hx, hdy, hw, hgi, hdw, hr, hp};
    for (int i = 0; i < 7; i++)
        starpu_data_unregister(all[i]);
    assert_int_equal(status, 0);
    assert_memory_equal(gi, gi_ref, ni * 4);
    assert_memory_equal(dw, dw_ref, nw * 8);
    assert_memory_equal(r, r_ref, no * 4);
    free(x), free(dy), free(w), free(gi), free(gi_ref), free(r), free(r_ref), free(pre), free(dw),
        free(dw_ref);
}

static void submit_xfer(struct starpu_codelet *cl, starhalo_cl_xfer_args_t *a, int n,
                        const starpu_data_handle_t *h, const enum starpu_data_access_mode *m)
{
    struct starpu_task *t = starpu_task_create();
    t->cl = cl;
    t->cl_arg = a;
    t->nbuffers = n;
    for (int i = 0; i < n; i++) {
        t->handles[i] = h[i];
        t->modes[i] = m[i];
    }
    assert_int_equal(starpu_task_submit(t), 0);
}

/* One field of 3 planes, two messages of different runs: pack, then a reverse SUM unpack of
 * both messages into another tile (the corner case: one cell in both messages). */
static void pack_unpack_codelets(void **state)
{
    (void)state;
    const starhalo_run_t ra[] = {{2, 5}, {30, 9}}, rb[] = {{0, 3}, {33, 4}, {60, 20}};
    const starhalo_cl_msg_t msgs[2] = {{ra, 2, 14}, {rb, 3, 27}};
    const int64_t plane = 90, planes[1] = {3};
    float tile[270], m0[42], m1[81], w0[42], w1[81], acc[270], want[270];
    kt_fill_f32(tile, 270, 41);
    kt_fill_f32(acc, 270, 42);
    memcpy(want, acc, sizeof acc);
    starhalo_kern_pack_cpu(STARHALO_FLOAT32, tile, plane, 3, ra, 2, 14, w0);
    starhalo_kern_pack_cpu(STARHALO_FLOAT32, tile, plane, 3, rb, 3, 27, w1);
    starhalo_kern_unpack_cpu(STARHALO_FLOAT32, w0, 14, 3, ra, 2, want, plane, STARHALO_REDUCE_SUM);
    starhalo_kern_unpack_cpu(STARHALO_FLOAT32, w1, 27, 3, rb, 3, want, plane, STARHALO_REDUCE_SUM);
    starpu_data_handle_t ht = reg(tile, 270, 4), h0 = reg(m0, 42, 4), h1 = reg(m1, 81, 4);
    starpu_data_handle_t hacc = reg(acc, 270, 4);
    starhalo_cl_xfer_args_t pa = {STARHALO_FLOAT32,       1, planes, plane, 2, msgs,
                                  STARHALO_REDUCE_REPLACE};
    starhalo_cl_xfer_args_t ua = pa;
    ua.op = STARHALO_REDUCE_SUM;
    const starpu_data_handle_t ph[3] = {ht, h0, h1}, uh[3] = {h0, h1, hacc};
    const enum starpu_data_access_mode pm[3] = {STARPU_R, STARPU_W, STARPU_W},
                                       um[3] = {STARPU_R, STARPU_R, STARPU_RW};
    submit_xfer(&starhalo_cl_pack, &pa, 3, ph, pm);
    submit_xfer(&starhalo_cl_unpack, &ua, 3, uh, um);
    starpu_task_wait_for_all();
    starpu_data_handle_t all[4] = {ht, h0, h1, hacc};
    for (int i = 0; i < 4; i++)
        starpu_data_unregister(all[i]);
    assert_int_equal(starhalo__xfer_status, 0);
    assert_memory_equal(m0, w0, sizeof w0);
    assert_memory_equal(m1, w1, sizeof w1);
    assert_memory_equal(acc, want, sizeof want);
}

int main(int argc, char **argv)
{
    const int cuda = argc > 1 && !strcmp(argv[1], "--cuda");
    setenv("STARPU_NCPU", cuda ? "0" : "2", cuda);
    setenv("STARPU_NCUDA", cuda ? "1" : "0", cuda);
    setenv("STARPU_SCHED", "dmda", 0);
    setenv("STARPU_NOPENCL", "0", 0);
    const int ret = starpu_init(NULL);
    if (cuda && (ret == -ENODEV || (ret == 0 && starpu_cuda_worker_get_count() == 0))) {
        printf("no CUDA worker: skipped\n");
        if (ret == 0)
            starpu_shutdown();
        return 77;
    }
    if (ret != 0) {
        fprintf(stderr, "test_codelets: starpu_init returned %d\n", ret);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stencil_codelets),
        cmocka_unit_test(conv_and_pool_codelets),
        cmocka_unit_test(cnn_codelets),
        cmocka_unit_test(pack_unpack_codelets),
        cmocka_unit_test(failing_task_reports_status),
    };
    const int rc = cmocka_run_group_tests(tests, NULL, NULL);
    starpu_shutdown();
    return rc;
}
