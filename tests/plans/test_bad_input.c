/* SPDX-License-Identifier: MIT */
/**
 * @file test_bad_input.c
 * @brief Every public entry point of starhalo_plan.h, starhalo_index.h, starhalo_types.h and
 * starhalo_error.h with NULL, out-of-range and overflowing arguments: each must return its
 * status (or the documented sentinel value of a query), never crash. The table is the "plans"
 * block of docs/BAD_INPUT.md (--markdown prints it; ctest bad_input_doc_plans compares).
 *
 * Valid objects the cases use: g_dc (37 x 37, 2 x 2 square parts, halo 1, BOX), g_pp (its
 * part 0), g_dist (block, 10 indexes over 2 ranks), g_ip (rank 0's index plan, not finished),
 * g_box (a 2 x 2 x 1 box), g_npy (a valid .npy header of a 2 x 3 float32 array, g_npy_len
 * bytes), g_npy_i4 (the same with dtype '<i4'), g_text (a 4 KiB buffer).
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bad_input_table.h"

#include <starhalo/starhalo_index.h>
#include <starhalo/starhalo_npy.h>
#include <starhalo/starhalo_plan.h>
#include <starhalo/starhalo_tile.h>
#include <starhalo/starhalo_types.h>

static starhalo_decomp_t *g_dc, *dc;
static starhalo_part_plan_t *g_pp, *pp;
static starhalo_xfer_plan_t *xp;
static starhalo_distribution_t *g_dist, *dist;
static starhalo_index_plan_t *g_ip, *ip;
static starhalo_split_t split;
static starhalo_dtype_t dtype;
static starhalo_reduce_op_t rop;
static starhalo_regions_t rg;
static starhalo_tile_t g_tile;
static starhalo_box_t g_box = {{0, 0, 0}, {2, 2, 1}};
static int minus, plus, part, ppd[3], coord[3];
static int64_t lo, hi;
static const int reach1[6] = {1, 1, 1, 1, 0, 0}, reach_wide[6] = {2, 0, 0, 0, 0, 0};
static const int reach_neg[6] = {0, -1, 0, 0, 0, 0}, coord_bad[3] = {5, 0, 0};
static const int64_t cell_out[3] = {37, 0, 0};
static const int64_t req_bad[2] = {3, 10}, req_neg[1] = {-1};
static const int64_t counts_neg[2] = {-1, 0}, counts_ok[2] = {0, 1},
                     counts_huge[2] = {INT64_MAX, INT64_MAX};
static const int64_t asked_not_owned[1] = {7};
static const int owners_bad[3] = {0, 2, 1}, owners_ok[3] = {0, 1, 1};
static const starhalo_run_t run_out[1] = {{8, 4}}, run_huge[1] = {{INT64_MAX, 1}};

static char g_npy[256], g_npy_i4[256], g_text[4096];
static size_t g_npy_len, g_len;
static starhalo_npy_header_t g_hdr, g_hdr_in;
static const char not_npy[64] = "\x89PNG\r\n\x1a\n not an .npy file";
/* A header to format: dtype, dims, the first extent (the others 2). */
static starhalo_npy_header_t *npy_hdr(starhalo_dtype_t dt, int ndims, int64_t extent0)
{
    memset(&g_hdr_in, 0, sizeof g_hdr_in);
    g_hdr_in.dtype = dt;
    g_hdr_in.ndims = ndims;
    for (int d = 0; d < STARHALO_NPY_MAX_DIMS; d++)
        g_hdr_in.shape[d] = d ? 2 : extent0;
    return &g_hdr_in;
}

/* The valid description g_dc was made from, with one field changed. */
static starhalo_decomp_desc_t base(void)
{
    starhalo_decomp_desc_t d = {0};
    d.ndims = 2;
    d.extent[0] = d.extent[1] = 37;
    d.split = STARHALO_SPLIT_SQUARE;
    d.nparts = 4;
    d.halo[0] = d.halo[1] = d.halo[2] = d.halo[3] = 1;
    d.shape = STARHALO_STENCIL_BOX;
    return d;
}
static starhalo_decomp_desc_t g_desc;
#define DESC(field, value) (g_desc = base(), g_desc.field = (value), &g_desc)
static const int64_t sizes_zero[2] = {37, 0}, sizes_short[2] = {10, 20}, sizes_long[2] = {30, 30};
static starhalo_decomp_desc_t *desc_sizes(const int64_t *s)
{
    g_desc = base();
    g_desc.split = STARHALO_SPLIT_VERTICAL;
    g_desc.nparts = 2;
    g_desc.part_sizes[0] = s;
    return &g_desc;
}
static starhalo_decomp_desc_t *desc_grid(int px, int py, int pz)
{
    g_desc = base();
    g_desc.split = STARHALO_SPLIT_GRID;
    g_desc.parts_per_dim[0] = px;
    g_desc.parts_per_dim[1] = py;
    g_desc.parts_per_dim[2] = pz;
    return &g_desc;
}
static starhalo_layer_t g_layer;
#define LAYER(k, s, d, p) (g_layer = (starhalo_layer_t){k, s, d, p}, &g_layer)
static starhalo_peer_xfer_t g_peer;
static starhalo_peer_xfer_t *peer_runs(const starhalo_run_t *runs, int64_t count)
{
    g_peer = (starhalo_peer_xfer_t){0};
    g_peer.send_count = count;
    g_peer.nsend_runs = 1;
    g_peer.send_runs = runs;
    return &g_peer;
}
/* The output range of input [a, b) as text, from lo = hi = -7 (so that "unset" shows). */
static const char *range_of(const starhalo_layer_t *layer, int64_t n, int64_t a, int64_t b)
{
    static char text[64];
    lo = hi = -7;
    starhalo_layer_output_range(layer, n, a, b, &lo, &hi);
    snprintf(text, sizeof text, "[%lld, %lld)", (long long)lo, (long long)hi);
    return text;
}
static int box_is_empty(starhalo_box_t b)
{
    return starhalo_box_volume(&b) == 0;
}

/* clang-format off */
#define CASES(S, V) \
    S(dc_null_desc, STARHALO_ERR_INVALID_ARG, starhalo_decomp_create(NULL, &dc)) \
    S(dc_null_out, STARHALO_ERR_INVALID_ARG, starhalo_decomp_create(&g_desc, NULL)) \
    S(dc_ndims1, STARHALO_ERR_INVALID_ARG, starhalo_decomp_create(DESC(ndims, 1), &dc)) \
    S(dc_ndims4, STARHALO_ERR_INVALID_ARG, starhalo_decomp_create(DESC(ndims, 4), &dc)) \
    S(dc_extent0, STARHALO_ERR_INVALID_ARG, starhalo_decomp_create(DESC(extent[1], 0), &dc)) \
    S(dc_extent_neg, STARHALO_ERR_INVALID_ARG, starhalo_decomp_create(DESC(extent[0], -5), &dc)) \
    S(dc_extent_huge, STARHALO_ERR_INVALID_ARG, starhalo_decomp_create(DESC(extent[0], INT64_MAX), &dc)) \
    S(dc_batch_neg, STARHALO_ERR_INVALID_ARG, starhalo_decomp_create(DESC(batch, -1), &dc)) \
    S(dc_channels_neg, STARHALO_ERR_INVALID_ARG, starhalo_decomp_create(DESC(channels, -2), &dc)) \
    S(dc_planes_huge, STARHALO_ERR_INVALID_ARG, starhalo_decomp_create(DESC(batch, INT64_MAX / 4), &dc)) \
    S(dc_split_bad, STARHALO_ERR_INVALID_ARG, starhalo_decomp_create(DESC(split, (starhalo_split_t)7), &dc)) \
    S(dc_nparts0, STARHALO_ERR_INVALID_ARG, starhalo_decomp_create(DESC(nparts, 0), &dc)) \
    S(dc_not_square, STARHALO_ERR_NOT_SQUARE, starhalo_decomp_create(DESC(nparts, 3), &dc)) \
    S(dc_too_many, STARHALO_ERR_TOO_MANY_PARTS, starhalo_decomp_create(DESC(nparts, 38 * 38), &dc)) \
    S(dc_grid_neg, STARHALO_ERR_INVALID_ARG, starhalo_decomp_create(desc_grid(2, -1, 0), &dc)) \
    S(dc_grid_3d_on_2d, STARHALO_ERR_INVALID_ARG, starhalo_decomp_create(desc_grid(2, 2, 2), &dc)) \
    S(dc_grid_overflow, STARHALO_ERR_INVALID_ARG, starhalo_decomp_create(desc_grid(INT_MAX, INT_MAX, 0), &dc)) \
    S(dc_halo_neg, STARHALO_ERR_INVALID_ARG, starhalo_decomp_create(DESC(halo[2], -1), &dc)) \
    S(dc_halo_wide, STARHALO_ERR_HALO_TOO_WIDE, starhalo_decomp_create(DESC(halo[1], 19), &dc)) \
    S(dc_halo_huge, STARHALO_ERR_HALO_TOO_WIDE, starhalo_decomp_create(DESC(halo[0], INT_MAX), &dc)) \
    S(dc_shape_bad, STARHALO_ERR_INVALID_ARG, starhalo_decomp_create(DESC(shape, (starhalo_stencil_shape_t)5), &dc)) \
    S(dc_sizes_zero, STARHALO_ERR_INVALID_ARG, starhalo_decomp_create(desc_sizes(sizes_zero), &dc)) \
    S(dc_sizes_short, STARHALO_ERR_INVALID_ARG, starhalo_decomp_create(desc_sizes(sizes_short), &dc)) \
    S(dc_sizes_long, STARHALO_ERR_INVALID_ARG, starhalo_decomp_create(desc_sizes(sizes_long), &dc)) \
    S(split_null, STARHALO_ERR_INVALID_ARG, starhalo_split_parse(NULL, &split)) \
    S(split_unknown, STARHALO_ERR_INVALID_ARG, starhalo_split_parse("diagonal", &split)) \
    S(split_null_out, STARHALO_ERR_INVALID_ARG, starhalo_split_parse("square", NULL)) \
    V(split_name_bad, "unknown", "%s", starhalo_split_name((starhalo_split_t)9)) \
    V(desc_null, "NULL", "%s", starhalo_decomp_desc(NULL) ? "non-NULL" : "NULL") \
    V(num_parts_null, "0", "%d", starhalo_decomp_num_parts(NULL)) \
    V(part_grid_null, "0", "%d", (starhalo_decomp_part_grid(NULL, ppd), ppd[0])) \
    V(part_grid_null_out, "nothing", "%s", (starhalo_decomp_part_grid(g_dc, NULL), "nothing")) \
    V(part_index_null, "-1", "%d", starhalo_decomp_part_index(NULL, coord)) \
    V(part_index_null_coord, "-1", "%d", starhalo_decomp_part_index(g_dc, NULL)) \
    V(part_index_out, "-1", "%d", starhalo_decomp_part_index(g_dc, coord_bad)) \
    V(part_coord_out, "-1", "%d", (starhalo_decomp_part_coord(g_dc, 4, coord), coord[0])) \
    V(part_coord_null_out, "nothing", "%s", (starhalo_decomp_part_coord(g_dc, 0, NULL), "nothing")) \
    V(owned_box_out, "an empty box", "%s", box_is_empty(starhalo_decomp_owned_box(g_dc, -1)) ? "an empty box" : "a box") \
    V(owned_box_null, "an empty box", "%s", box_is_empty(starhalo_decomp_owned_box(NULL, 0)) ? "an empty box" : "a box") \
    S(owner_of_null, STARHALO_ERR_INVALID_ARG, starhalo_decomp_owner_of(NULL, cell_out, &part)) \
    S(owner_of_outside, STARHALO_ERR_OUT_OF_RANGE, starhalo_decomp_owner_of(g_dc, cell_out, &part)) \
    S(part_tile_null, STARHALO_ERR_INVALID_ARG, starhalo_decomp_part_tile(NULL, 0, STARHALO_FLOAT32, &g_tile)) \
    S(part_tile_null_out, STARHALO_ERR_INVALID_ARG, starhalo_decomp_part_tile(g_dc, 0, STARHALO_FLOAT32, NULL)) \
    S(part_tile_dtype, STARHALO_ERR_INVALID_ARG, starhalo_decomp_part_tile(g_dc, 0, (starhalo_dtype_t)3, &g_tile)) \
    S(part_tile_out, STARHALO_ERR_OUT_OF_RANGE, starhalo_decomp_part_tile(g_dc, -1, STARHALO_FLOAT32, &g_tile)) \
    S(pp_null, STARHALO_ERR_INVALID_ARG, starhalo_part_plan_create(NULL, 0, &pp)) \
    S(pp_null_out, STARHALO_ERR_INVALID_ARG, starhalo_part_plan_create(g_dc, 0, NULL)) \
    S(pp_neg, STARHALO_ERR_OUT_OF_RANGE, starhalo_part_plan_create(g_dc, -1, &pp)) \
    S(pp_past, STARHALO_ERR_OUT_OF_RANGE, starhalo_part_plan_create(g_dc, 4, &pp)) \
    V(pp_part_null, "-1", "%d", starhalo_part_plan_part(NULL)) \
    V(pp_owned_null, "an empty box", "%s", box_is_empty(starhalo_part_plan_owned(NULL)) ? "an empty box" : "a box") \
    V(pp_ghosted_null, "an empty box", "%s", box_is_empty(starhalo_part_plan_ghosted(NULL)) ? "an empty box" : "a box") \
    V(pp_nn_null, "0", "%d", starhalo_part_plan_num_neighbors(NULL)) \
    V(pp_nb_null, "NULL", "%s", starhalo_part_plan_neighbor(NULL, 0) ? "non-NULL" : "NULL") \
    V(pp_nb_past, "NULL", "%s", starhalo_part_plan_neighbor(g_pp, 26) ? "non-NULL" : "NULL") \
    V(pp_nb_neg, "NULL", "%s", starhalo_part_plan_neighbor(g_pp, -1) ? "non-NULL" : "NULL") \
    S(regions_null, STARHALO_ERR_INVALID_ARG, starhalo_part_plan_regions(NULL, reach1, &rg)) \
    S(regions_null_reach, STARHALO_ERR_INVALID_ARG, starhalo_part_plan_regions(g_pp, NULL, &rg)) \
    S(regions_null_out, STARHALO_ERR_INVALID_ARG, starhalo_part_plan_regions(g_pp, reach1, NULL)) \
    S(regions_wide, STARHALO_ERR_INVALID_ARG, starhalo_part_plan_regions(g_pp, reach_wide, &rg)) \
    S(regions_neg, STARHALO_ERR_INVALID_ARG, starhalo_part_plan_regions(g_pp, reach_neg, &rg)) \
    V(volume_null, "0", "%lld", (long long)starhalo_box_volume(NULL)) \
    V(intersect_null, "an empty box", "%s", box_is_empty(starhalo_box_intersect(NULL, &g_box)) ? "an empty box" : "a box") \
    S(layer_null, STARHALO_ERR_INVALID_ARG, starhalo_layer_halo(NULL, &minus, &plus)) \
    S(layer_null_out, STARHALO_ERR_INVALID_ARG, starhalo_layer_halo(LAYER(3, 1, 1, 1), NULL, &plus)) \
    S(layer_kernel0, STARHALO_ERR_INVALID_ARG, starhalo_layer_halo(LAYER(0, 1, 1, 0), &minus, &plus)) \
    S(layer_stride0, STARHALO_ERR_INVALID_ARG, starhalo_layer_halo(LAYER(3, 0, 1, 0), &minus, &plus)) \
    S(layer_dilation0, STARHALO_ERR_INVALID_ARG, starhalo_layer_halo(LAYER(3, 1, 0, 0), &minus, &plus)) \
    S(layer_padding_neg, STARHALO_ERR_INVALID_ARG, starhalo_layer_halo(LAYER(3, 1, 1, -1), &minus, &plus)) \
    S(layer_span_overflow, STARHALO_ERR_INVALID_ARG, starhalo_layer_halo(LAYER(INT_MAX, 1, 2, 0), &minus, &plus)) \
    V(out_extent_null, "0", "%lld", (long long)starhalo_layer_output_extent(NULL, 10)) \
    V(out_extent_stride0, "0", "%lld", (long long)starhalo_layer_output_extent(LAYER(3, 0, 1, 1), 10)) \
    V(out_extent_overflow, "0", "%lld", (long long)starhalo_layer_output_extent(LAYER(INT_MAX, 1, INT_MAX, INT_MAX), INT64_MAX)) \
    V(out_range_null, "[0, 0)", "%s", range_of(NULL, 10, 0, 5)) \
    V(out_range_stride0, "[0, 0)", "%s", range_of(LAYER(3, 0, 1, 1), 10, 0, 5)) \
    V(out_range_null_out, "nothing", "%s", (starhalo_layer_output_range(LAYER(3, 1, 1, 1), 10, 0, 5, NULL, &hi), "nothing")) \
    S(lower_null, STARHALO_ERR_INVALID_ARG, starhalo_part_plan_lower(NULL, &xp)) \
    S(lower_null_out, STARHALO_ERR_INVALID_ARG, starhalo_part_plan_lower(g_pp, NULL)) \
    S(xfer_npeers_neg, STARHALO_ERR_INVALID_ARG, starhalo_xfer_plan_create(-1, NULL, 4, 1, &xp)) \
    S(xfer_peers_null, STARHALO_ERR_INVALID_ARG, starhalo_xfer_plan_create(1, NULL, 4, 1, &xp)) \
    S(xfer_null_out, STARHALO_ERR_INVALID_ARG, starhalo_xfer_plan_create(0, NULL, 4, 1, NULL)) \
    S(xfer_plane_neg, STARHALO_ERR_INVALID_ARG, starhalo_xfer_plan_create(0, NULL, -4, 1, &xp)) \
    S(xfer_run_outside, STARHALO_ERR_PLAN_INVALID, starhalo_xfer_plan_create(1, peer_runs(run_out, 4), 10, 1, &xp)) \
    S(xfer_run_overflow, STARHALO_ERR_PLAN_INVALID, starhalo_xfer_plan_create(1, peer_runs(run_huge, 1), 10, 1, &xp)) \
    S(xfer_count_wrong, STARHALO_ERR_PLAN_INVALID, starhalo_xfer_plan_create(1, peer_runs(run_out, 3), 12, 1, &xp)) \
    V(xfer_np_null, "0", "%d", starhalo_xfer_plan_num_peers(NULL)) \
    V(xfer_peer_null, "NULL", "%s", starhalo_xfer_plan_peer(NULL, 0) ? "non-NULL" : "NULL") \
    V(xfer_plane_null, "0", "%lld", (long long)starhalo_xfer_plan_plane_size(NULL)) \
    V(xfer_planes_null, "0", "%lld", (long long)starhalo_xfer_plan_planes(NULL)) \
    S(dist_n_neg, STARHALO_ERR_INVALID_ARG, starhalo_distribution_create_block(-1, 2, &dist)) \
    S(dist_ranks0, STARHALO_ERR_INVALID_ARG, starhalo_distribution_create_cyclic(10, 0, &dist)) \
    S(dist_null_out, STARHALO_ERR_INVALID_ARG, starhalo_distribution_create_block(10, 2, NULL)) \
    S(dist_block0, STARHALO_ERR_INVALID_ARG, starhalo_distribution_create_block_cyclic(10, 2, 0, &dist)) \
    S(dist_owners_null, STARHALO_ERR_INVALID_ARG, starhalo_distribution_create_general(3, 2, NULL, &dist)) \
    S(dist_general_owner_out, STARHALO_ERR_OUT_OF_RANGE, starhalo_distribution_create_general(3, 2, owners_bad, &dist)) \
    S(dist_general_ranks0, STARHALO_ERR_INVALID_ARG, starhalo_distribution_create_general(3, 0, owners_ok, &dist)) \
    S(dist_general_null_out, STARHALO_ERR_INVALID_ARG, starhalo_distribution_create_general(3, 2, owners_ok, NULL)) \
    V(dist_kind_name_bad, "unknown", "%s", starhalo_dist_kind_name((starhalo_dist_kind_t)9)) \
    V(dist_kind_null, "-1", "%d", (int)starhalo_distribution_kind(NULL)) \
    V(dist_size_null, "0", "%lld", (long long)starhalo_distribution_global_size(NULL)) \
    V(dist_ranks_null, "0", "%d", starhalo_distribution_num_ranks(NULL)) \
    V(dist_owner_null, "-1", "%d", starhalo_distribution_owner(NULL, 0)) \
    V(dist_owner_out, "-1", "%d", starhalo_distribution_owner(g_dist, 10)) \
    V(dist_local_size_null, "0", "%lld", (long long)starhalo_distribution_local_size(NULL, 0)) \
    V(dist_local_size_out, "0", "%lld", (long long)starhalo_distribution_local_size(g_dist, 2)) \
    V(dist_g2l_null, "-1", "%lld", (long long)starhalo_distribution_global_to_local(NULL, 0)) \
    V(dist_g2l_out, "-1", "%lld", (long long)starhalo_distribution_global_to_local(g_dist, -3)) \
    V(dist_l2g_null, "-1", "%lld", (long long)starhalo_distribution_local_to_global(NULL, 0, 0)) \
    V(dist_l2g_out, "-1", "%lld", (long long)starhalo_distribution_local_to_global(g_dist, 0, 5)) \
    V(dist_l2g_rank_out, "-1", "%lld", (long long)starhalo_distribution_local_to_global(g_dist, 3, 0)) \
    V(dist_hash_null, "0", "%llu", (unsigned long long)starhalo_distribution_hash(NULL)) \
    S(ip_null_out, STARHALO_ERR_INVALID_ARG, starhalo_index_plan_begin(g_dist, 0, req_bad, 1, NULL)) \
    S(ip_null_dist, STARHALO_ERR_INVALID_ARG, starhalo_index_plan_begin(NULL, 0, req_bad, 1, &ip)) \
    S(ip_rank_neg, STARHALO_ERR_INVALID_ARG, starhalo_index_plan_begin(g_dist, -1, req_bad, 1, &ip)) \
    S(ip_rank_past, STARHALO_ERR_INVALID_ARG, starhalo_index_plan_begin(g_dist, 2, req_bad, 1, &ip)) \
    S(ip_nreq_neg, STARHALO_ERR_INVALID_ARG, starhalo_index_plan_begin(g_dist, 0, req_bad, -1, &ip)) \
    S(ip_req_null, STARHALO_ERR_INVALID_ARG, starhalo_index_plan_begin(g_dist, 0, NULL, 2, &ip)) \
    S(ip_req_past, STARHALO_ERR_OUT_OF_RANGE, starhalo_index_plan_begin(g_dist, 0, req_bad, 2, &ip)) \
    S(ip_req_neg, STARHALO_ERR_OUT_OF_RANGE, starhalo_index_plan_begin(g_dist, 0, req_neg, 1, &ip)) \
    S(fin_null, STARHALO_ERR_INVALID_ARG, starhalo_index_plan_finish(NULL, counts_ok, asked_not_owned)) \
    S(fin_null_counts, STARHALO_ERR_INVALID_ARG, starhalo_index_plan_finish(g_ip, NULL, asked_not_owned)) \
    S(fin_count_neg, STARHALO_ERR_PLAN_INVALID, starhalo_index_plan_finish(g_ip, counts_neg, asked_not_owned)) \
    S(fin_count_overflow, STARHALO_ERR_PLAN_INVALID, starhalo_index_plan_finish(g_ip, counts_huge, asked_not_owned)) \
    S(fin_asked_null, STARHALO_ERR_INVALID_ARG, starhalo_index_plan_finish(g_ip, counts_ok, NULL)) \
    S(fin_not_owned, STARHALO_ERR_PLAN_INVALID, starhalo_index_plan_finish(g_ip, counts_ok, asked_not_owned)) \
    S(ip_lower_null, STARHALO_ERR_INVALID_ARG, starhalo_index_plan_lower(NULL, 1, &xp)) \
    S(ip_lower_unfinished, STARHALO_ERR_PLAN_INVALID, starhalo_index_plan_lower(g_ip, 1, &xp)) \
    S(ip_lower_null_out, STARHALO_ERR_INVALID_ARG, starhalo_index_plan_lower(g_ip, 1, NULL)) \
    V(ip_rank_null, "-1", "%d", starhalo_index_plan_rank(NULL)) \
    V(ip_nranks_null, "0", "%d", starhalo_index_plan_num_ranks(NULL)) \
    V(ip_dist_null, "NULL", "%s", starhalo_index_plan_distribution(NULL) ? "non-NULL" : "NULL") \
    V(ip_local_null, "0", "%lld", (long long)starhalo_index_plan_local_size(NULL)) \
    V(ip_halo_null, "0", "%lld", (long long)starhalo_index_plan_halo_size(NULL)) \
    V(ip_globals_null, "NULL", "%s", starhalo_index_plan_halo_globals(NULL) ? "non-NULL" : "NULL") \
    V(ip_counts_null, "NULL", "%s", starhalo_index_plan_halo_counts(NULL) ? "non-NULL" : "NULL") \
    V(ip_offsets_null, "NULL", "%s", starhalo_index_plan_halo_offsets(NULL) ? "non-NULL" : "NULL") \
    V(ip_pcounts_null, "NULL", "%s", starhalo_index_plan_provides_counts(NULL) ? "non-NULL" : "NULL") \
    V(ip_poffsets_null, "NULL", "%s", starhalo_index_plan_provides_offsets(NULL) ? "non-NULL" : "NULL") \
    V(ip_provides_null, "NULL", "%s", starhalo_index_plan_provides(NULL) ? "non-NULL" : "NULL") \
    V(ip_g2h_null, "-1", "%lld", (long long)starhalo_index_plan_global_to_halo(NULL, 0)) \
    V(ip_g2h_out, "-1", "%lld", (long long)starhalo_index_plan_global_to_halo(g_ip, 99)) \
    V(ip_h2g_null, "-1", "%lld", (long long)starhalo_index_plan_halo_to_global(NULL, 0)) \
    V(ip_h2g_out, "-1", "%lld", (long long)starhalo_index_plan_halo_to_global(g_ip, 5)) \
    S(npy_fmt_null, STARHALO_ERR_INVALID_ARG, starhalo_npy_header_format(NULL, g_text, sizeof g_text, &g_len)) \
    S(npy_fmt_dtype, STARHALO_ERR_INVALID_ARG, starhalo_npy_header_format(npy_hdr((starhalo_dtype_t)7, 2, 2), g_text, sizeof g_text, &g_len)) \
    S(npy_fmt_ndims, STARHALO_ERR_INVALID_ARG, starhalo_npy_header_format(npy_hdr(STARHALO_FLOAT32, 9, 2), g_text, sizeof g_text, &g_len)) \
    S(npy_fmt_extent, STARHALO_ERR_INVALID_ARG, starhalo_npy_header_format(npy_hdr(STARHALO_FLOAT32, 2, -1), g_text, sizeof g_text, &g_len)) \
    S(npy_fmt_cap, STARHALO_ERR_OUT_OF_RANGE, starhalo_npy_header_format(npy_hdr(STARHALO_FLOAT32, 2, 2), g_text, 16, &g_len)) \
    S(npy_fmt_null_buf, STARHALO_ERR_INVALID_ARG, starhalo_npy_header_format(npy_hdr(STARHALO_FLOAT32, 2, 2), NULL, 64, &g_len)) \
    S(npy_fmt_null_len, STARHALO_ERR_INVALID_ARG, starhalo_npy_header_format(npy_hdr(STARHALO_FLOAT32, 2, 2), g_text, sizeof g_text, NULL)) \
    S(npy_parse_null, STARHALO_ERR_INVALID_ARG, starhalo_npy_header_parse(NULL, 64, &g_hdr)) \
    S(npy_parse_null_out, STARHALO_ERR_INVALID_ARG, starhalo_npy_header_parse(g_npy, g_npy_len, NULL)) \
    S(npy_parse_empty, STARHALO_ERR_CORRUPT, starhalo_npy_header_parse(g_npy, 0, &g_hdr)) \
    S(npy_parse_cut, STARHALO_ERR_CORRUPT, starhalo_npy_header_parse(g_npy, 40, &g_hdr)) \
    S(npy_parse_magic, STARHALO_ERR_CORRUPT, starhalo_npy_header_parse(not_npy, sizeof not_npy, &g_hdr)) \
    S(npy_parse_int32, STARHALO_ERR_UNSUPPORTED, starhalo_npy_header_parse(g_npy_i4, g_npy_len, &g_hdr)) \
    V(npy_sum_null, "5", "%llu", (unsigned long long)starhalo_npy_checksum_add(5, STARHALO_FLOAT32, NULL, 3, 0)) \
    V(npy_sum_dtype, "5", "%llu", (unsigned long long)starhalo_npy_checksum_add(5, (starhalo_dtype_t)9, g_text, 3, 0)) \
    V(npy_finish_null, "0", "%llu", (unsigned long long)starhalo_npy_checksum_finish(5, NULL)) \
    V(dtype_size_bad, "0", "%zu", starhalo_dtype_size((starhalo_dtype_t)7)) \
    S(dtype_null, STARHALO_ERR_INVALID_ARG, starhalo_dtype_parse(NULL, &dtype)) \
    S(dtype_unknown, STARHALO_ERR_INVALID_ARG, starhalo_dtype_parse("int8", &dtype)) \
    S(dtype_null_out, STARHALO_ERR_INVALID_ARG, starhalo_dtype_parse("float32", NULL)) \
    S(reduce_null, STARHALO_ERR_INVALID_ARG, starhalo_reduce_op_parse(NULL, &rop)) \
    S(reduce_unknown, STARHALO_ERR_INVALID_ARG, starhalo_reduce_op_parse("avg", &rop)) \
    S(reduce_null_out, STARHALO_ERR_INVALID_ARG, starhalo_reduce_op_parse("sum", NULL)) \
    V(reduce_name_bad, "unknown", "%s", starhalo_reduce_op_name((starhalo_reduce_op_t)9)) \
    V(strerror_bad, "unknown status", "%s", starhalo_strerror((starhalo_status_t)-99)) \
    V(err_name_bad, "STARHALO_ERR_UNKNOWN", "%s", starhalo_err_name((starhalo_status_t)5))
/* clang-format on */

BAD_INPUT_FUNCTIONS(CASES)
static const bad_case_t cases[] = {BAD_INPUT_ROWS(CASES)};

int main(int argc, char **argv)
{
    g_desc = base();
    const int64_t req[1] = {7};
    if (starhalo_npy_header_format(npy_hdr(STARHALO_FLOAT32, 2, 3), g_npy, sizeof g_npy,
                                   &g_npy_len) != STARHALO_OK) {
        fprintf(stderr, "bad input: npy setup failed: %s\n", starhalo_last_error_message());
        return 1;
    }
    memcpy(g_npy_i4, g_npy, sizeof g_npy);
    for (size_t i = 10; i + 3 <= g_npy_len; i++) /* past the magic, which holds a 0 byte */
        if (!memcmp(g_npy_i4 + i, "<f4", 3))
            g_npy_i4[i + 1] = 'i';
    if (starhalo_decomp_create(&g_desc, &g_dc) != STARHALO_OK ||
        starhalo_part_plan_create(g_dc, 0, &g_pp) != STARHALO_OK ||
        starhalo_distribution_create_block(10, 2, &g_dist) != STARHALO_OK ||
        starhalo_index_plan_begin(g_dist, 0, req, 1, &g_ip) != STARHALO_OK) {
        fprintf(stderr, "bad input: setup failed: %s\n", starhalo_last_error_message());
        return 1;
    }
    const int rc = bad_input_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
    /* A case that wrongly succeeded may have created an object. */
    starhalo_decomp_destroy(dc);
    starhalo_part_plan_destroy(pp);
    starhalo_xfer_plan_destroy(xp);
    starhalo_distribution_destroy(dist);
    starhalo_index_plan_destroy(ip);
    starhalo_index_plan_destroy(g_ip);
    starhalo_distribution_destroy(g_dist);
    starhalo_part_plan_destroy(g_pp);
    starhalo_decomp_destroy(g_dc);
    return rc;
}
