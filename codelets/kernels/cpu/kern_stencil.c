/* SPDX-License-Identifier: MIT */
/**
 * @file kern_stencil.c
 * @brief 5- and 9-point Jacobi stencils and the squared-difference reduction on the CPU.
 *
 * The update formulas come from kern_index.h (shared with CUDA). The row loop runs over
 * contiguous x with restrict pointers and no branches. GCC 12's -O2 only uses the
 * "very-cheap" vectoriser cost model, which refuses loops that need a scalar epilogue (any row
 * length), so this file asks for the dynamic model explicitly.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif
#include "kern_index.h"
#include "kern_geom.h"

/* One function per (stencil, type): rows of the region, x innermost. */
/* GCC's ivdep; clang (the sanitized build) has no such pragma. */
#if defined(__clang__)
#define KERN_IVDEP
#else
#define KERN_IVDEP _Pragma("GCC ivdep")
#endif

#define DEFINE_STENCIL(NAME, T, SUFFIX)                                                            \
    static void NAME##_##SUFFIX(const starhalo_kern_tile_t *tile, const T *restrict in,            \
                                T *restrict out, const starhalo_box_t *region)                     \
    {                                                                                              \
        const int64_t gw = tile->box.hi[0] - tile->box.lo[0];                                      \
        const int64_t gh = tile->box.hi[1] - tile->box.lo[1];                                      \
        const int64_t planes = tile->batch * tile->channels;                                       \
        const int64_t x0 = region->lo[0] - tile->box.lo[0];                                        \
        const int64_t nx = region->hi[0] - region->lo[0];                                          \
        for (int64_t p = 0; p < planes; p++) {                                                     \
            for (int64_t y = region->lo[1] - tile->box.lo[1]; y < region->hi[1] - tile->box.lo[1]; \
                 y++) {                                                                            \
                const int64_t row = (p * gh + y) * gw + x0;                                        \
                const T *restrict c = in + row;                                                    \
                T *restrict o = out + row;                                                         \
                KERN_IVDEP for (int64_t x = 0; x < nx; x++) o[x] =                                 \
                    starhalo_kidx_##NAME##_##SUFFIX(c + x, gw);                                    \
            }                                                                                      \
        }                                                                                          \
    }
DEFINE_STENCIL(stencil5, float, f32)
DEFINE_STENCIL(stencil5, double, f64)
DEFINE_STENCIL(stencil9, float, f32)
DEFINE_STENCIL(stencil9, double, f64)
#undef DEFINE_STENCIL

typedef void (*stencil_f32_fn)(const starhalo_kern_tile_t *, const float *, float *,
                               const starhalo_box_t *);
typedef void (*stencil_f64_fn)(const starhalo_kern_tile_t *, const double *, double *,
                               const starhalo_box_t *);

/* Checks and dtype dispatch shared by the 5- and 9-point entry points. */
static starhalo_status_t run_stencil(const char *name, stencil_f32_fn f32, stencil_f64_fn f64,
                                     starhalo_dtype_t dtype, const starhalo_kern_tile_t *tile,
                                     const void *in, void *out, const starhalo_box_t *region)
{
    STARHALO_CHECK(starhalo__kern_check_region(name, tile, region, 1));
    if (starhalo__kern_region_empty(region))
        return STARHALO_OK;
    if (dtype == STARHALO_FLOAT32)
        f32(tile, in, out, region);
    else if (dtype == STARHALO_FLOAT64)
        f64(tile, in, out, region);
    else
        return starhalo_error_set(STARHALO_ERR_INVALID_ARG, "%s: unknown dtype %d", name,
                                  (int)dtype);
    return STARHALO_OK;
}

starhalo_status_t starhalo_kern_stencil5_cpu(starhalo_dtype_t dtype,
                                             const starhalo_kern_tile_t *tile, const void *in,
                                             void *out, const starhalo_box_t *region)
{
    return run_stencil("stencil5", stencil5_f32, stencil5_f64, dtype, tile, in, out, region);
}

starhalo_status_t starhalo_kern_stencil9_cpu(starhalo_dtype_t dtype,
                                             const starhalo_kern_tile_t *tile, const void *in,
                                             void *out, const starhalo_box_t *region)
{
    return run_stencil("stencil9", stencil9_f32, stencil9_f64, dtype, tile, in, out, region);
}

#define DEFINE_SQDIFF(T, SUFFIX)                                                                   \
    static double sqdiff_##SUFFIX(const starhalo_kern_tile_t *tile, const T *restrict a,           \
                                  const T *restrict b, const starhalo_box_t *region)               \
    {                                                                                              \
        const int64_t gw = tile->box.hi[0] - tile->box.lo[0];                                      \
        const int64_t gh = tile->box.hi[1] - tile->box.lo[1];                                      \
        const int64_t planes = tile->batch * tile->channels;                                       \
        const int64_t x0 = region->lo[0] - tile->box.lo[0];                                        \
        const int64_t nx = region->hi[0] - region->lo[0];                                          \
        double sum = 0.0;                                                                          \
        for (int64_t p = 0; p < planes; p++) {                                                     \
            for (int64_t y = region->lo[1] - tile->box.lo[1]; y < region->hi[1] - tile->box.lo[1]; \
                 y++) {                                                                            \
                const int64_t row = (p * gh + y) * gw + x0;                                        \
                double rs = 0.0;                                                                   \
                for (int64_t x = 0; x < nx; x++) {                                                 \
                    const double d = (double)a[row + x] - (double)b[row + x];                      \
                    rs += d * d;                                                                   \
                }                                                                                  \
                sum += rs;                                                                         \
            }                                                                                      \
        }                                                                                          \
        return sum;                                                                                \
    }
DEFINE_SQDIFF(float, f32)
DEFINE_SQDIFF(double, f64)
#undef DEFINE_SQDIFF

starhalo_status_t starhalo_kern_sqdiff_cpu(starhalo_dtype_t dtype, const starhalo_kern_tile_t *tile,
                                           const void *a, const void *b,
                                           const starhalo_box_t *region, double *sum)
{
    STARHALO_REQUIRE(sum, STARHALO_ERR_INVALID_ARG, "sqdiff: NULL sum");
    *sum = 0.0;
    STARHALO_CHECK(starhalo__kern_check_region("sqdiff", tile, region, 0));
    if (starhalo__kern_region_empty(region))
        return STARHALO_OK;
    if (dtype == STARHALO_FLOAT32)
        *sum = sqdiff_f32(tile, a, b, region);
    else if (dtype == STARHALO_FLOAT64)
        *sum = sqdiff_f64(tile, a, b, region);
    else
        return starhalo_error_set(STARHALO_ERR_INVALID_ARG, "sqdiff: unknown dtype %d", (int)dtype);
    return STARHALO_OK;
}
