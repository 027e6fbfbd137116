/* SPDX-License-Identifier: MIT */
/**
 * @file rt_compute_cl.c
 * @brief The codelets of the compute task graph: a stencil on the regions of one output row
 * band, and the per-part squared difference behind the residual.
 *
 * These are band-aware variants of the stencil codelet: the output buffer is a child of the
 * tile (asynchronous partitioning), so several tasks write one tile concurrently.
 */
#include <stdint.h>

#include "rt_compute_internal.h"

static void band_stencil_cpu(void *buffers[], void *cl_arg)
{
    const starhalo__band_args_t *a = cl_arg;
    const void *in = (const void *)STARPU_VECTOR_GET_PTR(buffers[0]);
    char *band = (char *)STARPU_VECTOR_GET_PTR(buffers[1]);
    void *out = band - a->band_offset * (int64_t)starhalo_dtype_size(a->dtype);
    for (int r = 0; r < a->nregions; r++) {
        starhalo_status_t rc =
            a->kind == STARHALO_STENCIL_9PT
                ? starhalo_kern_stencil9_cpu(a->dtype, &a->tile, in, out, &a->region[r])
                : starhalo_kern_stencil5_cpu(a->dtype, &a->tile, in, out, &a->region[r]);
        starhalo__cl_record(a->status, rc);
    }
}

/* Footprint = cells computed, so bands of different heights get separate history entries. */
static uint32_t band_footprint(struct starpu_task *task)
{
    const starhalo__band_args_t *a = task->cl_arg;
    int64_t cells = 0;
    for (int r = 0; r < a->nregions; r++)
        cells += starhalo_box_volume(&a->region[r]);
    uint32_t h = starpu_hash_crc32c_be_n(&cells, sizeof cells, 0);
    return starpu_hash_crc32c_be((uint32_t)a->kind * 16u + (uint32_t)a->dtype, h);
}

static struct starpu_perfmodel band_model = {
    .type = STARPU_HISTORY_BASED,
    .symbol = "starhalo_band_stencil",
    .footprint = band_footprint,
};

struct starpu_codelet starhalo__cl_band_stencil = {
    .cpu_funcs = {band_stencil_cpu},
    .cpu_funcs_name = {"band_stencil_cpu"},
    .nbuffers = 2,
    .modes = {STARPU_R, STARPU_RW},
    .model = &band_model,
    .name = "starhalo_band_stencil",
};

static void sqdiff_cpu(void *buffers[], void *cl_arg)
{
    const starhalo__sqdiff_args_t *a = cl_arg;
    const void *x = (const void *)STARPU_VECTOR_GET_PTR(buffers[0]);
    const void *y = (const void *)STARPU_VECTOR_GET_PTR(buffers[1]);
    double *sum = (double *)STARPU_VARIABLE_GET_PTR(buffers[2]);
    starhalo__cl_record(a->status,
                        starhalo_kern_sqdiff_cpu(a->dtype, &a->tile, x, y, &a->region, sum));
}

static struct starpu_perfmodel sqdiff_model = {
    .type = STARPU_HISTORY_BASED,
    .symbol = "starhalo_sqdiff",
};

struct starpu_codelet starhalo__cl_sqdiff = {
    .cpu_funcs = {sqdiff_cpu},
    .cpu_funcs_name = {"sqdiff_cpu"},
    .nbuffers = 3,
    .modes = {STARPU_R, STARPU_R, STARPU_W},
    .model = &sqdiff_model,
    .name = "starhalo_sqdiff",
};
