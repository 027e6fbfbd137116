/* SPDX-License-Identifier: MIT */
/**
 * @file codelet_band_stencil.c
 * @brief The Jacobi codelet of the stencil task graph: the regions of one output row band.
 *
 * The output buffer is a child of the tile (asynchronous partitioning into row bands), so
 * several tasks write one tile at once. The kernels run on the tile geometry with
 * out = band - band_offset: every cell they write lies in the band, wherever StarPU placed
 * the band's buffer (beside its parent's on the host, its own allocation on a GPU).
 */
#include "codelets.h"

/* The address of element 0 of the tile, as seen from the band's buffer (never dereferenced). */
static void *tile_origin(const starhalo__band_args_t *a, void *band)
{
    return (void *)((uintptr_t)band - (uintptr_t)a->band_offset * starhalo_dtype_size(a->dtype));
}

static void band_stencil_cpu(void *buffers[], void *cl_arg)
{
    const starhalo__band_args_t *a = cl_arg;
    const void *in = (const void *)STARPU_VECTOR_GET_PTR(buffers[0]);
    void *out = tile_origin(a, (void *)STARPU_VECTOR_GET_PTR(buffers[1]));
    for (int r = 0; r < a->nregions; r++)
        starhalo__cl_record(
            a->status,
            a->points == 9
                ? starhalo_kern_stencil9_cpu(a->dtype, &a->tile, in, out, &a->region[r])
                : starhalo_kern_stencil5_cpu(a->dtype, &a->tile, in, out, &a->region[r]));
}

#if STARHALO_USE_CUDA && defined(STARPU_USE_CUDA)
static void band_stencil_cuda(void *buffers[], void *cl_arg)
{
    const starhalo__band_args_t *a = cl_arg;
    const void *in = (const void *)STARPU_VECTOR_GET_PTR(buffers[0]);
    void *out = tile_origin(a, (void *)STARPU_VECTOR_GET_PTR(buffers[1]));
    for (int r = 0; r < a->nregions; r++)
        starhalo__cl_record(
            a->status, a->points == 9
                           ? starhalo_kern_stencil9_cuda(a->dtype, &a->tile, in, out, &a->region[r],
                                                         starpu_cuda_get_local_stream())
                           : starhalo_kern_stencil5_cuda(a->dtype, &a->tile, in, out, &a->region[r],
                                                         starpu_cuda_get_local_stream()));
}
#endif

/* Footprint = cells computed, so bands of different heights get separate history entries. */
static uint32_t band_footprint(struct starpu_task *task)
{
    const starhalo__band_args_t *a = task->cl_arg;
    int64_t cells = 0;
    for (int r = 0; r < a->nregions; r++)
        cells += starhalo_box_volume(&a->region[r]);
    uint32_t h = starpu_hash_crc32c_be_n(&cells, sizeof cells, 0);
    return starpu_hash_crc32c_be((uint32_t)a->points * 16u + (uint32_t)a->dtype, h);
}

static struct starpu_perfmodel band_model = {
    .type = STARPU_HISTORY_BASED,
    .symbol = "starhalo_band_stencil",
    .footprint = band_footprint,
};

struct starpu_codelet starhalo_cl_band_stencil = {
    .cpu_funcs = {band_stencil_cpu},
    .cpu_funcs_name = {"band_stencil_cpu"},
#if STARHALO_USE_CUDA && defined(STARPU_USE_CUDA)
    .cuda_funcs = {band_stencil_cuda},
    .cuda_flags = {STARPU_CUDA_ASYNC},
#endif
    .nbuffers = 2,
    .modes = {STARPU_R, STARPU_RW},
    .model = &band_model,
    .name = "starhalo_band_stencil",
};
