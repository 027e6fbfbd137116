/* SPDX-License-Identifier: MIT */
/* Tests the CUDA kernels against the CPU kernels (which the CPU tests check against naive
 * references): pack/unpack with every operator (also through the per-thread run-table upload
 * of the pack/unpack codelets), both stencils, conv2d backward data / weights and ReLU
 * bitwise, conv2d and pooling (cuDNN) to relative error <= 1e-5, on interior + boundary
 * regions. Exits 77 (skipped) when no CUDA device is present. */
#include <cuda_runtime.h>
#include <stdio.h>
#include <string.h>

#include "kern_test_util.h"
#include "starhalo_kernels_cnn.h"

static void *dev_copy(const void *host, size_t bytes)
{
    void *d = NULL;
    assert_int_equal(cudaMalloc(&d, bytes ? bytes : 1), cudaSuccess);
    if (host)
        assert_int_equal(cudaMemcpy(d, host, bytes, cudaMemcpyHostToDevice), cudaSuccess);
    return d;
}

static void to_host(void *host, const void *dev, size_t bytes)
{
    assert_int_equal(cudaDeviceSynchronize(), cudaSuccess);
    assert_int_equal(cudaMemcpy(host, dev, bytes, cudaMemcpyDeviceToHost), cudaSuccess);
}

static void pack_unpack_match_cpu(void **state)
{
    (void)state;
    const starhalo_run_t runs[] = {{40, 7}, {3, 0}, {0, 5}, {60, 13}, {90, 1}};
    const int nruns = 5;
    const int64_t plane = 101, planes = 3, count = 26;
    int64_t offsets[6], prefix[6];
    starhalo_kern_runs_prefix(runs, nruns, offsets, prefix);
    double tile[303], msg[78], want[303], got[303];
    kt_fill_f64(tile, 303, 1);
    kt_fill_f64(msg, 78, 2);
    double *dt = dev_copy(tile, sizeof tile), *dm = dev_copy(NULL, sizeof msg);
    int64_t *doff = dev_copy(offsets, sizeof offsets), *dpre = dev_copy(prefix, sizeof prefix);
    starhalo_kern_pack_cpu(STARHALO_FLOAT64, tile, plane, planes, runs, nruns, count, want);
    assert_status_ok(starhalo_kern_pack_cuda(STARHALO_FLOAT64, dt, plane, planes, doff, dpre, nruns,
                                             count, dm, NULL));
    to_host(got, dm, sizeof msg);
    assert_memory_equal(got, want, sizeof msg);
    for (int op = 0; op <= 3; op++) {
        memcpy(want, tile, sizeof tile);
        starhalo_kern_unpack_cpu(STARHALO_FLOAT64, msg, count, planes, runs, nruns, want, plane,
                                 (starhalo_reduce_op_t)op);
        assert_int_equal(cudaMemcpy(dt, tile, sizeof tile, cudaMemcpyHostToDevice), cudaSuccess);
        assert_int_equal(cudaMemcpy(dm, msg, sizeof msg, cudaMemcpyHostToDevice), cudaSuccess);
        assert_status_ok(starhalo_kern_unpack_cuda(STARHALO_FLOAT64, dm, count, planes, doff, dpre,
                                                   nruns, dt, plane, (starhalo_reduce_op_t)op,
                                                   NULL));
        to_host(got, dt, sizeof tile);
        assert_memory_equal(got, want, sizeof tile);
    }
    cudaFree(dt);
    cudaFree(dm);
    cudaFree(doff);
    cudaFree(dpre);
}

static void stencils_match_cpu(void **state)
{
    (void)state;
    const starhalo_box_t box = kt_box(-1, 48, 2, 33);
    const starhalo_kern_tile_t t = starhalo_kern_tile_make(&box, 1, 2);
    const int64_t n = starhalo_kern_tile_elems(&t);
    const starhalo_box_t whole = kt_box(0, 47, 3, 32);
    starhalo_box_t pieces[5];
    kt_split(&whole, 2, pieces);
    for (int nine = 0; nine <= 1; nine++)
        for (int dti = 0; dti <= 1; dti++) {
            const starhalo_dtype_t dt = dti ? STARHALO_FLOAT64 : STARHALO_FLOAT32;
            const size_t bytes = n * starhalo_dtype_size(dt);
            char *in = malloc(bytes), *want = calloc(1, bytes), *got = malloc(bytes);
            if (dti)
                kt_fill_f64((double *)in, n, 3);
            else
                kt_fill_f32((float *)in, n, 3);
            assert_status_ok(nine ? starhalo_kern_stencil9_cpu(dt, &t, in, want, &whole)
                                  : starhalo_kern_stencil5_cpu(dt, &t, in, want, &whole));
            void *din = dev_copy(in, bytes), *dout = dev_copy(NULL, bytes);
            assert_int_equal(cudaMemset(dout, 0, bytes), cudaSuccess);
            for (int i = 0; i < 5; i++)
                assert_status_ok(
                    nine ? starhalo_kern_stencil9_cuda(dt, &t, din, dout, &pieces[i], NULL)
                         : starhalo_kern_stencil5_cuda(dt, &t, din, dout, &pieces[i], NULL));
            to_host(got, dout, bytes);
            assert_memory_equal(got, want, bytes);
            cudaFree(din);
            cudaFree(dout);
            free(in);
            free(want);
            free(got);
        }
}

static void conv_and_pool_match_cpu(void **state)
{
    (void)state;
    const starhalo_layer_t L = {3, 1, 1, 1};
    const starhalo_box_t image = kt_box(0, 30, 0, 26);
    const starhalo_box_t gbox = kt_box(14, 31, -1, 14), obox = kt_box(15, 30, 0, 13);
    for (int op = -1; op <= STARHALO_POOL_AVG_EXCLUDE; op++) {
        const int64_t cin = 3, cout = op < 0 ? 4 : 3;
        const starhalo_kern_tile_t it = starhalo_kern_tile_make(&gbox, 2, cin);
        const starhalo_kern_tile_t ot = starhalo_kern_tile_make(&obox, 2, cout);
        const int64_t ni = starhalo_kern_tile_elems(&it), no = starhalo_kern_tile_elems(&ot);
        const int64_t nw = cout * cin * 9 + cout;
        float *in = malloc(ni * 4), *w = malloc(nw * 4), *want = calloc(no, 4),
              *got = malloc(no * 4);
        kt_fill_f32(in, ni, 4);
        kt_fill_f32(w, nw, 5);
        /* Zero the image-border ghosts (row y = -1, column x = 30) as the runtime does; both
         * sides then run without a domain (cuDNN pads symmetrically only, so the GPU path
         * reads the zero ghosts instead of clipping them to padding). */
        const int64_t gw = 17, gh = 15;
        for (int64_t p = 0; p < 2 * cin; p++)
            for (int64_t y = 0; y < gh; y++)
                for (int64_t x = 0; x < gw; x++)
                    if (y + gbox.lo[1] < image.lo[1] || x + gbox.lo[0] >= image.hi[0])
                        in[(p * gh + y) * gw + x] = 0.0f;
        if (op < 0)
            assert_status_ok(starhalo_kern_conv2d_cpu(&it, in, w, w + cout * cin * 9, &L, &ot, want,
                                                      &obox, NULL));
        else
            assert_status_ok(starhalo_kern_pool2d_cpu((starhalo_pool_kind_t)op, &it, in, &L, &ot,
                                                      want, &obox, NULL));
        float *din = dev_copy(in, ni * 4), *dw = dev_copy(w, nw * 4),
              *dout = dev_copy(NULL, no * 4);
        starhalo_box_t pieces[5];
        kt_split(&obox, 1, pieces);
        for (int i = 0; i < 5; i++)
            assert_status_ok(op < 0
                                 ? starhalo_kern_conv2d_cuda(&it, din, dw, dw + cout * cin * 9, &L,
                                                             &ot, dout, &pieces[i], NULL, NULL)
                                 : starhalo_kern_pool2d_cuda((starhalo_pool_kind_t)op, &it, din, &L,
                                                             &ot, dout, &pieces[i], NULL, NULL));
        to_host(got, dout, no * 4);
        assert_true(kt_rel_err(got, want, no) <= 1e-5);
        cudaFree(din);
        cudaFree(dw);
        cudaFree(dout);
        free(in);
        free(w);
        free(want);
        free(got);
    }
}

/* Two messages of different run lists through one starhalo_kern_runs_upload_cuda call (what
 * the pack/unpack codelets do), twice on one stream (the second upload reuses the buffer),
 * then a reverse SUM of both messages into one tile: the CPU loops' results. */
static void runs_upload_matches_cpu(void **state)
{
    (void)state;
    const starhalo_run_t ra[] = {{2, 5}, {30, 9}}, rb[] = {{0, 3}, {10, 0}, {50, 20}, {80, 4}};
    const starhalo_run_t *lists[2] = {ra, rb};
    const int nr[2] = {2, 4};
    const int64_t plane = 97, planes = 2;
    const int64_t counts[2] = {14, 27};
    float tile[194], msgs[2][54], got[194], want[194];
    kt_fill_f32(tile, 194, 6);
    memcpy(want, tile, sizeof tile);
    for (int m = 0; m < 2; m++) {
        starhalo_kern_pack_cpu(STARHALO_FLOAT32, tile, plane, planes, lists[m], nr[m], counts[m],
                               msgs[m]);
        starhalo_kern_unpack_cpu(STARHALO_FLOAT32, msgs[m], counts[m], planes, lists[m], nr[m],
                                 want, plane, STARHALO_REDUCE_SUM);
    }
    cudaStream_t st;
    assert_int_equal(cudaStreamCreate(&st), cudaSuccess);
    float *dt = dev_copy(tile, sizeof tile),
          *dm[2] = {dev_copy(NULL, sizeof msgs[0]), dev_copy(NULL, sizeof msgs[1])};
    /* Two packs of both messages (the second upload reuses the buffer), then the unpack. */
    for (int round = 0; round < 3; round++) {
        const int64_t *off[2], *pre[2];
        assert_status_ok(starhalo_kern_runs_upload_cuda(2, lists, nr, off, pre, st));
        for (int m = 0; m < 2; m++)
            assert_status_ok(
                round < 2
                    ? starhalo_kern_pack_cuda(STARHALO_FLOAT32, dt, plane, planes, off[m], pre[m],
                                              nr[m], counts[m], dm[m], st)
                    : starhalo_kern_unpack_cuda(STARHALO_FLOAT32, dm[m], counts[m], planes, off[m],
                                                pre[m], nr[m], dt, plane, STARHALO_REDUCE_SUM, st));
        assert_int_equal(cudaStreamSynchronize(st), cudaSuccess);
        for (int m = 0; round < 2 && m < 2; m++) {
            to_host(got, dm[m], sizeof(float) * (size_t)(counts[m] * planes));
            assert_memory_equal(got, msgs[m], sizeof(float) * (size_t)(counts[m] * planes));
        }
    }
    to_host(got, dt, sizeof tile);
    assert_memory_equal(got, want, sizeof tile);
    cudaFree(dt);
    cudaFree(dm[0]);
    cudaFree(dm[1]);
    cudaStreamDestroy(st);
}

/* conv2d backward data and weights on a sub-region of the output, strides and dilations, and
 * ReLU forward / backward: bitwise the CPU kernels'. */
static void cnn_backward_matches_cpu(void **state)
{
    (void)state;
    const starhalo_layer_t ls[] = {{3, 1, 1, 1}, {3, 2, 1, 1}, {3, 1, 2, 2}, {5, 1, 1, 2}};
    const int64_t n = 2, cin = 3, cout = 4, h = 11, w = 13;
    for (size_t li = 0; li < sizeof ls / sizeof ls[0]; li++) {
        const starhalo_layer_t *l = &ls[li];
        const int64_t reach = (int64_t)l->dilation * (l->kernel - 1);
        const int64_t oh = (h + 2 * l->padding - reach - 1) / l->stride + 1;
        const int64_t ow = (w + 2 * l->padding - reach - 1) / l->stride + 1;
        const int pad = l->padding + l->dilation * l->kernel + l->stride;
        const starhalo_box_t ibox = kt_box(-pad, w + pad, -pad, h + pad);
        const starhalo_box_t obox = kt_box(0, ow, 0, oh), region = kt_box(1, ow, 0, oh - 1);
        const starhalo_kern_tile_t it = starhalo_kern_tile_make(&ibox, n, cin);
        const starhalo_kern_tile_t ot = starhalo_kern_tile_make(&obox, n, cout);
        const int64_t ni = starhalo_kern_tile_elems(&it), no = starhalo_kern_tile_elems(&ot);
        const int64_t nw = cout * cin * l->kernel * l->kernel;
        float *x = malloc(ni * 4), *dy = malloc(no * 4), *wt = malloc(nw * 4);
        float *gi = malloc(ni * 4), *gi_dev = malloc(ni * 4);
        double *dw = malloc(nw * 8), *dw_dev = malloc(nw * 8);
        kt_fill_f32(x, ni, 11 + li);
        kt_fill_f32(dy, no, 12 + li);
        kt_fill_f32(wt, nw, 13 + li);
        assert_status_ok(starhalo_kern_conv2d_bwd_data_cpu(&ot, dy, wt, l, &it, gi, &region));
        assert_status_ok(starhalo_kern_conv2d_bwd_weights_cpu(&it, x, &ot, dy, l, &region, dw));
        float *dx = dev_copy(x, ni * 4), *ddy = dev_copy(dy, no * 4), *dwt = dev_copy(wt, nw * 4);
        float *dgi = dev_copy(NULL, ni * 4);
        double *ddw = dev_copy(NULL, nw * 8);
        assert_status_ok(
            starhalo_kern_conv2d_bwd_data_cuda(&ot, ddy, dwt, l, &it, dgi, &region, NULL));
        assert_status_ok(
            starhalo_kern_conv2d_bwd_weights_cuda(&it, dx, &ot, ddy, l, &region, ddw, NULL));
        to_host(gi_dev, dgi, ni * 4);
        to_host(dw_dev, ddw, nw * 8);
        assert_memory_equal(gi_dev, gi, ni * 4);
        assert_memory_equal(dw_dev, dw, nw * 8);
        /* ReLU forward into dy's copy, then backward of x's gradient, on the output tile. */
        float *want = malloc(no * 4), *got = malloc(no * 4);
        memcpy(want, x, no * 4);
        assert_status_ok(starhalo_kern_relu_cpu(&ot, dy, want, &region));
        assert_int_equal(cudaMemcpy(dx, x, no * 4, cudaMemcpyHostToDevice), cudaSuccess);
        assert_status_ok(starhalo_kern_relu_cuda(&ot, ddy, dx, &region, NULL));
        to_host(got, dx, no * 4);
        assert_memory_equal(got, want, no * 4);
        assert_status_ok(starhalo_kern_relu_bwd_cpu(&ot, dy, want, &region));
        assert_status_ok(starhalo_kern_relu_bwd_cuda(&ot, ddy, dx, &region, NULL));
        to_host(got, dx, no * 4);
        assert_memory_equal(got, want, no * 4);
        cudaFree(dx), cudaFree(ddy), cudaFree(dwt), cudaFree(dgi), cudaFree(ddw);
        free(x), free(dy), free(wt), free(gi), free(gi_dev), free(dw), free(dw_dev), free(want),
            free(got);
    }
}

int main(void)
{
    int ndev = 0;
    if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev == 0) {
        printf("no CUDA device: skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pack_unpack_match_cpu),    cmocka_unit_test(stencils_match_cpu),
        cmocka_unit_test(conv_and_pool_match_cpu),  cmocka_unit_test(runs_upload_matches_cpu),
        cmocka_unit_test(cnn_backward_matches_cpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
