/* SPDX-License-Identifier: MIT */
/**
 * @file layer.c
 * @brief Sliding-window layers (conv, pool): halo widths, output extent, and which outputs a
 * part computes, so the distributed output has the undistributed shape.
 */
#include "plans_internal.h"

#include <limits.h>
#include <string.h>

starhalo_status_t starhalo_layer_halo(const starhalo_layer_t *layer, int *minus, int *plus)
{
    STARHALO_REQUIRE(layer && minus && plus, STARHALO_ERR_INVALID_ARG, "layer_halo: NULL argument");
    STARHALO_REQUIRE(layer->kernel >= 1, STARHALO_ERR_INVALID_ARG,
                     "layer kernel must be >= 1 (got %d)", layer->kernel);
    STARHALO_REQUIRE(layer->stride >= 1, STARHALO_ERR_INVALID_ARG,
                     "layer stride must be >= 1 (got %d)", layer->stride);
    STARHALO_REQUIRE(layer->dilation >= 1, STARHALO_ERR_INVALID_ARG,
                     "layer dilation must be >= 1 (got %d)", layer->dilation);
    STARHALO_REQUIRE(layer->padding >= 0, STARHALO_ERR_INVALID_ARG,
                     "layer padding must be >= 0 (got %d)", layer->padding);
    /* In 64 bits: the product of two ints overflows an int (found by tests/fuzz). */
    const int64_t span = (int64_t)layer->dilation * (layer->kernel - 1);
    STARHALO_REQUIRE(span <= INT_MAX, STARHALO_ERR_INVALID_ARG,
                     "layer window span dilation * (kernel - 1) = %lld does not fit a halo width",
                     (long long)span);
    *minus = layer->padding;
    *plus = span > layer->padding ? (int)(span - layer->padding) : 0;
    return STARHALO_OK;
}

/* The layer's parameters are valid (what starhalo_layer_halo accepts). */
static int layer_ok(const starhalo_layer_t *layer)
{
    int minus, plus;
    return layer && starhalo_layer_halo(layer, &minus, &plus) == STARHALO_OK;
}

int64_t starhalo_layer_output_extent(const starhalo_layer_t *layer, int64_t n)
{
    if (!layer_ok(layer) || n < 0 || n > INT64_MAX - 2 * (int64_t)INT_MAX)
        return 0;
    const int64_t num =
        n + 2 * (int64_t)layer->padding - (int64_t)layer->dilation * (layer->kernel - 1) - 1;
    return num < 0 ? 0 : num / layer->stride + 1;
}

static int64_t ceil_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b + (a % b != 0) : -((-a) / b); /* no a + b - 1: a may be INT64_MAX */
}

void starhalo_layer_output_range(const starhalo_layer_t *layer, int64_t n, int64_t in_lo,
                                 int64_t in_hi, int64_t *out_lo, int64_t *out_hi)
{
    if (!out_lo || !out_hi)
        return;
    *out_lo = *out_hi = 0;
    if (!layer_ok(layer))
        return;
    const int64_t m = starhalo_layer_output_extent(layer, n);
    int64_t lo = in_lo <= 0 ? 0 : ceil_div(in_lo, layer->stride);
    /* The last part also takes outputs whose window starts past the input (padding wider
     * than the window reach), so the ranges always tile [0, m). */
    int64_t hi = in_hi >= n ? m : ceil_div(in_hi, layer->stride);
    lo = lo > m ? m : lo;
    hi = hi > m ? m : hi;
    *out_lo = lo;
    *out_hi = hi < lo ? lo : hi;
}

starhalo_status_t starhalo_layer_output_regions(const starhalo_layer_t *layer,
                                                const starhalo_box_t *in_owned,
                                                const starhalo_box_t *out_owned,
                                                starhalo_regions_t *out)
{
    STARHALO_REQUIRE(in_owned && out_owned && out, STARHALO_ERR_INVALID_ARG,
                     "layer_output_regions: NULL argument");
    int minus, plus;
    STARHALO_CHECK(starhalo_layer_halo(layer, &minus, &plus));
    memset(out, 0, sizeof *out);
    const int64_t span = (int64_t)layer->dilation * (layer->kernel - 1);
    starhalo_box_t in = *out_owned;
    for (int d = 0; d < 2; d++) {
        /* o reads o*s - p .. o*s - p + span: inside [lo, hi) iff
         * o >= ceil((lo + p) / s) and o <= floor((hi - 1 - span + p) / s). */
        const int64_t lo = ceil_div(in_owned->lo[d] + layer->padding, layer->stride);
        const int64_t top = in_owned->hi[d] - 1 - span + layer->padding;
        const int64_t hi = top < 0 ? -ceil_div(-top, layer->stride) + 1 : top / layer->stride + 1;
        in.lo[d] = lo > out_owned->lo[d] ? lo : out_owned->lo[d];
        in.hi[d] = hi < out_owned->hi[d] ? hi : out_owned->hi[d];
    }
    if (in.hi[0] <= in.lo[0] || in.hi[1] <= in.lo[1]) {
        out->interior = *out_owned;
        out->interior.hi[0] = out->interior.lo[0]; /* empty */
        if (starhalo_box_volume(out_owned) > 0)
            out->boundary[out->nboundary++] = *out_owned;
        return STARHALO_OK;
    }
    out->interior = in;
    starhalo_box_t b = *out_owned;
    /* rows below / above the interior (full width), then columns left / right of it */
    b.hi[1] = in.lo[1];
    if (starhalo_box_volume(&b) > 0)
        out->boundary[out->nboundary++] = b;
    b = *out_owned;
    b.lo[1] = in.hi[1];
    if (starhalo_box_volume(&b) > 0)
        out->boundary[out->nboundary++] = b;
    b = in;
    b.lo[0] = out_owned->lo[0];
    b.hi[0] = in.lo[0];
    if (starhalo_box_volume(&b) > 0)
        out->boundary[out->nboundary++] = b;
    b = in;
    b.lo[0] = in.hi[0];
    b.hi[0] = out_owned->hi[0];
    if (starhalo_box_volume(&b) > 0)
        out->boundary[out->nboundary++] = b;
    return STARHALO_OK;
}
