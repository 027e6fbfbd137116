/* SPDX-License-Identifier: MIT */
/* GPU conv throughput of one part as the task graph runs it (interior + 4 boundary regions,
 * five cuDNN calls) against one cuDNN call on the whole part: a ghosted W x H part, C -> C
 * channels, kernel 3, on the same stream, timed with CUDA events after a warm-up. Prints
 * "bench_cuda_conv: whole_ms A split_ms B split_throughput_share R" (R = A / B; the issue's
 * target is R >= 0.5). Exits 77 (skipped) without a CUDA device. tools/gpu-check runs it. */
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kern_cuda.h"
#include "kern_test_util.h"

static int arg(int argc, char **argv, const char *name, int def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], name))
            return atoi(argv[i + 1]);
    return def;
}

#define CUDA_OK(call)                                                                              \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess) {                                                                   \
            fprintf(stderr, "bench_cuda_conv: %s: %s\n", #call, cudaGetErrorString(e_));           \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

/* Mean ms of one pass over the regions, @p reps passes after 2 warm-up passes. */
static int time_regions(const starhalo_kern_tile_t *it, const float *in, const float *w,
                        const starhalo_layer_t *L, const starhalo_kern_tile_t *ot, float *out,
                        const starhalo_box_t *regions, int nregions, int reps, cudaStream_t s,
                        double *ms)
{
    cudaEvent_t a, b;
    CUDA_OK(cudaEventCreate(&a));
    CUDA_OK(cudaEventCreate(&b));
    for (int r = -2; r < reps; r++) {
        if (r == 0)
            CUDA_OK(cudaEventRecord(a, s));
        for (int i = 0; i < nregions; i++)
            if (starhalo_kern_conv2d_cuda(it, in, w, NULL, L, ot, out, &regions[i], NULL, s) !=
                STARHALO_OK) {
                fprintf(stderr, "bench_cuda_conv: %s\n", starhalo_last_error_message());
                return 1;
            }
    }
    CUDA_OK(cudaEventRecord(b, s));
    CUDA_OK(cudaEventSynchronize(b));
    float t = 0;
    CUDA_OK(cudaEventElapsedTime(&t, a, b));
    *ms = (double)t / reps;
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    return 0;
}

int main(int argc, char **argv)
{
    int ndev = 0;
    if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev == 0) {
        printf("no CUDA device: skipped\n");
        return 77;
    }
    const int W = arg(argc, argv, "--width", 1024), H = arg(argc, argv, "--height", 512);
    const int C = arg(argc, argv, "--channels", 64), reps = arg(argc, argv, "--reps", 20);
    const starhalo_layer_t L = {3, 1, 1, 1};
    const starhalo_box_t gbox = kt_box(-1, W + 1, -1, H + 1), obox = kt_box(0, W, 0, H);
    const starhalo_kern_tile_t it = starhalo_kern_tile_make(&gbox, 1, C);
    const starhalo_kern_tile_t ot = starhalo_kern_tile_make(&obox, 1, C);
    const size_t ni = (size_t)starhalo_kern_tile_elems(&it),
                 no = (size_t)starhalo_kern_tile_elems(&ot);
    const size_t nw = (size_t)C * C * 9;
    float *h = malloc(ni * sizeof(float));
    kt_fill_f32(h, (int64_t)ni, 1);
    float *in, *w, *out;
    CUDA_OK(cudaMalloc((void **)&in, ni * sizeof(float)));
    CUDA_OK(cudaMalloc((void **)&w, nw * sizeof(float)));
    CUDA_OK(cudaMalloc((void **)&out, no * sizeof(float)));
    CUDA_OK(cudaMemcpy(in, h, ni * sizeof(float), cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemcpy(w, h, nw * sizeof(float), cudaMemcpyHostToDevice));
    cudaStream_t s;
    CUDA_OK(cudaStreamCreate(&s));
    starhalo_box_t pieces[5];
    kt_split(&obox, 1, pieces);
    double whole = 0, split = 0;
    if (time_regions(&it, in, w, &L, &ot, out, &obox, 1, reps, s, &whole) ||
        time_regions(&it, in, w, &L, &ot, out, pieces, 5, reps, s, &split))
        return 1;
    printf("bench_cuda_conv: part %dx%d channels %d whole_ms %.4f split_ms %.4f "
           "split_throughput_share %.3f\n",
           W, H, C, whole, split, whole / split);
    cudaFree(in);
    cudaFree(w);
    cudaFree(out);
    cudaStreamDestroy(s);
    free(h);
    return 0;
}
