/* SPDX-License-Identifier: MIT */
/**
 * @file test_bad_input_runtime.c
 * @brief Every public entry point of starhalo_runtime.h, starhalo_starpu.h,
 * starhalo_compute.h, starhalo_cnn.h, starhalo_index_starpu.h and starhalo_mpi_exchange.h
 * with NULL, out-of-range and inconsistent arguments, on one rank: each must return its
 * status (or the documented value of a query), never crash, hang or abort through MPI. The
 * table is the "runtime" block of docs/BAD_INPUT.md (ctest bad_input_doc_runtime compares).
 *
 * Valid objects the cases use: g_ctx (a context), g_dc (16 x 8, 2 vertical parts, halo 1),
 * g_f and g_f2 (float32 fields on it), g_ex (an exchange of g_f), g_other (a field on a
 * different decomposition), g_dist / g_ip (10 indexes, one rank, finished index plan),
 * g_xp (its transfer plan), g_mx (a plain-MPI exchange of it), g_ip_open / g_if_open (an
 * index plan not finished and a field of it), g_sxp (part 0 of g_dc lowered: peer part 1),
 * g_buf (a large buffer), g_junk (a file of text), g_wrong_shape (a checkpoint of g_other),
 * tiles_null / tiles_odd (two NULL / two odd-address tiles for starhalo_field_wrap), g_desc
 * (an empty insert description).
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "bad_input_table.h"

#include <starhalo/starhalo.h>

static starhalo_context_t *g_ctx, *ctx;
static starhalo_context_conf_t g_conf;
static starhalo_decomp_t *g_dc, *g_dc_other, *dc;
static starhalo_field_t *g_f, *g_f2, *g_other, *f;
static starhalo_exchange_t *g_ex, *ex;
static starhalo_stencil_t *st;
static starhalo_conv2d_t *cv;
static starhalo_cnn_conv_t *cc;
static starhalo_distribution_t *g_dist;
static starhalo_index_plan_t *g_ip, *g_ip_open, *ip;
static starhalo_xfer_plan_t *g_xp, *g_sxp;
static starhalo_field_t *g_if_open;
static starhalo_mpi_exchange_t *g_mx, *mx;
static starhalo_step_mode_t mode;
static starhalo_stencil_kind_t kind;
static starhalo_mpi_transport_t mtr;
static starpu_data_handle_t handle;
static starhalo_tile_t tile;
static starhalo_bands_t *bands;
static starhalo_insert_desc_t g_desc;
static const int reach_wide[6] = {2, 1, 1, 1, 0, 0};
static double g_tile_mem[2];
static void *const tiles_null[2] = {NULL, NULL};
static void *const tiles_odd[2] = {(char *)g_tile_mem + 1, (char *)g_tile_mem + 1};
static void *ptr;
static double sum, g_gradw[64];
static float g_buf[4096];
static int parts[8];
static const int map_bad[2] = {0, 3}, halo1[6] = {1, 1, 1, 1, 0, 0};
static const int64_t req_out[1] = {12};
static starhalo_field_t *const fields_null[1] = {NULL};
static starhalo_field_t *g_pair[2];
static const starhalo_layer_t g_layer3 = {3, 1, 1, 1};

static starhalo_context_conf_t *conf_with(int ncpus, MPI_Comm comm)
{
    starhalo_context_conf_init(&g_conf);
    g_conf.ncpus = ncpus;
    g_conf.comm = comm;
    return &g_conf;
}
static starhalo_field_t *const *pair(starhalo_field_t *a, starhalo_field_t *b)
{
    g_pair[0] = a;
    g_pair[1] = b;
    return g_pair;
}
static starhalo_checkpoint_meta_t meta;
static char g_junk[64], g_wrong_shape[64];
static int64_t shape[STARHALO_NPY_MAX_DIMS];
static starhalo_layer_t g_layer;
#define LAYER(k, s, d, p) (g_layer = (starhalo_layer_t){k, s, d, p}, &g_layer)
/* begin twice on g_ex: the second begin's status; the exchange is then ended. */
static starhalo_status_t begin_twice(void)
{
    starhalo_status_t first = starhalo_exchange_begin(g_ex), second = STARHALO_ERR_INTERNAL;
    if (first == STARHALO_OK) {
        second = starhalo_exchange_begin(g_ex);
        if (starhalo_exchange_end(g_ex) != STARHALO_OK || starhalo_exchange_wait(g_ex))
            second = STARHALO_ERR_INTERNAL;
    }
    return second;
}

/* Every starhalo_field_match flag (one name: the doc table cannot hold a '|'). */
#define MATCH_ALL                                                                                  \
    (STARHALO_MATCH_DTYPE | STARHALO_MATCH_HALOS | STARHALO_MATCH_BATCH |                          \
     STARHALO_MATCH_CHANNELS | STARHALO_MATCH_TILES)

/* clang-format off */
#define CASES(S, V) \
    V(conf_init_null, "nothing", "%s", (starhalo_context_conf_init(NULL), "nothing")) \
    S(ctx_null_out, STARHALO_ERR_INVALID_ARG, starhalo_context_create(NULL, NULL)) \
    S(ctx_ncpus0, STARHALO_ERR_INVALID_ARG, starhalo_context_create(conf_with(0, MPI_COMM_WORLD), &ctx)) \
    S(ctx_ncpus_huge, STARHALO_ERR_INVALID_ARG, starhalo_context_create(conf_with(INT_MAX, MPI_COMM_WORLD), &ctx)) \
    S(ctx_comm_null, STARHALO_ERR_INVALID_ARG, starhalo_context_create(conf_with(-1, MPI_COMM_NULL), &ctx)) \
    V(ctx_rank_null, "-1", "%d", starhalo_context_rank(NULL)) \
    V(ctx_size_null, "0", "%d", starhalo_context_size(NULL)) \
    V(ctx_comm_q_null, "MPI_COMM_NULL", "%s", starhalo_context_comm(NULL) == MPI_COMM_NULL ? "MPI_COMM_NULL" : "a communicator") \
    V(ctx_ncpus_null, "0", "%d", starhalo_context_ncpus(NULL)) \
    S(ctx_wait_null, STARHALO_ERR_INVALID_ARG, starhalo_context_wait_all(NULL)) \
    S(f_null_ctx, STARHALO_ERR_INVALID_ARG, starhalo_field_create(NULL, g_dc, NULL, STARHALO_FLOAT32, &f)) \
    S(f_null_dc, STARHALO_ERR_INVALID_ARG, starhalo_field_create(g_ctx, NULL, NULL, STARHALO_FLOAT32, &f)) \
    S(f_dtype, STARHALO_ERR_INVALID_ARG, starhalo_field_create(g_ctx, g_dc, NULL, (starhalo_dtype_t)9, &f)) \
    S(f_map, STARHALO_ERR_INVALID_ARG, starhalo_field_create(g_ctx, g_dc, map_bad, STARHALO_FLOAT32, &f)) \
    S(f_null_out, STARHALO_ERR_INVALID_ARG, starhalo_field_create(g_ctx, g_dc, NULL, STARHALO_FLOAT32, NULL)) \
    V(f_decomp_null, "NULL", "%s", starhalo_field_decomp(NULL) ? "non-NULL" : "NULL") \
    V(f_part_rank_null, "-1", "%d", starhalo_field_part_rank(NULL, 0)) \
    V(f_part_rank_out, "-1", "%d", starhalo_field_part_rank(g_f, 2)) \
    V(f_local_parts_null, "0", "%d", starhalo_field_local_parts(NULL, parts)) \
    V(f_part_plan_null, "NULL", "%s", starhalo_field_part_plan(NULL, 0) ? "non-NULL" : "NULL") \
    V(f_part_plan_out, "NULL", "%s", starhalo_field_part_plan(g_f, -1) ? "non-NULL" : "NULL") \
    S(f_data_null_out, STARHALO_ERR_INVALID_ARG, starhalo_field_part_data(g_f, 0, NULL)) \
    S(f_data_null, STARHALO_ERR_OUT_OF_RANGE, starhalo_field_part_data(NULL, 0, &ptr)) \
    S(f_data_out, STARHALO_ERR_OUT_OF_RANGE, starhalo_field_part_data(g_f, 7, &ptr)) \
    S(f_handle_null_out, STARHALO_ERR_INVALID_ARG, starhalo_field_part_handle(g_f, 0, NULL)) \
    S(f_handle_out, STARHALO_ERR_OUT_OF_RANGE, starhalo_field_part_handle(g_f, 2, &handle)) \
    S(f_acquire_null, STARHALO_ERR_OUT_OF_RANGE, starhalo_field_acquire(NULL, 0, 1)) \
    S(f_acquire_out, STARHALO_ERR_OUT_OF_RANGE, starhalo_field_acquire(g_f, 9, 0)) \
    S(f_release_out, STARHALO_ERR_OUT_OF_RANGE, starhalo_field_release(g_f, -1)) \
    S(ex_null_ctx, STARHALO_ERR_INVALID_ARG, starhalo_exchange_create(NULL, &g_f, 1, STARHALO_TRANSPORT_DEFAULT, &ex)) \
    S(ex_null_fields, STARHALO_ERR_INVALID_ARG, starhalo_exchange_create(g_ctx, NULL, 1, STARHALO_TRANSPORT_DEFAULT, &ex)) \
    S(ex_nfields0, STARHALO_ERR_INVALID_ARG, starhalo_exchange_create(g_ctx, &g_f, 0, STARHALO_TRANSPORT_DEFAULT, &ex)) \
    S(ex_nfields_neg, STARHALO_ERR_INVALID_ARG, starhalo_exchange_create(g_ctx, &g_f, -1, STARHALO_TRANSPORT_DEFAULT, &ex)) \
    S(ex_field_null, STARHALO_ERR_INVALID_ARG, starhalo_exchange_create(g_ctx, fields_null, 1, STARHALO_TRANSPORT_DEFAULT, &ex)) \
    S(ex_transport, STARHALO_ERR_INVALID_ARG, starhalo_exchange_create(g_ctx, &g_f, 1, (starhalo_transport_t)7, &ex)) \
    S(ex_mixed, STARHALO_ERR_INVALID_ARG, starhalo_exchange_create(g_ctx, pair(g_f, g_other), 2, STARHALO_TRANSPORT_DEFAULT, &ex)) \
    S(ex_null_out, STARHALO_ERR_INVALID_ARG, starhalo_exchange_create(g_ctx, &g_f, 1, STARHALO_TRANSPORT_DEFAULT, NULL)) \
    S(ex_begin_null, STARHALO_ERR_INVALID_ARG, starhalo_exchange_begin(NULL)) \
    S(ex_end_null, STARHALO_ERR_INVALID_ARG, starhalo_exchange_end(NULL)) \
    S(ex_submit_null, STARHALO_ERR_INVALID_ARG, starhalo_exchange_submit(NULL)) \
    S(ex_end_alone, STARHALO_ERR_INVALID_ARG, starhalo_exchange_end(g_ex)) \
    S(ex_end_reverse_alone, STARHALO_ERR_INVALID_ARG, starhalo_exchange_end_reverse(g_ex)) \
    S(ex_begin_twice, STARHALO_ERR_INVALID_ARG, begin_twice()) \
    S(ex_begin_rev_null, STARHALO_ERR_INVALID_ARG, starhalo_exchange_begin_reverse(NULL, STARHALO_REDUCE_SUM)) \
    S(ex_begin_rev_op, STARHALO_ERR_INVALID_ARG, starhalo_exchange_begin_reverse(g_ex, (starhalo_reduce_op_t)9)) \
    S(ex_end_rev_null, STARHALO_ERR_INVALID_ARG, starhalo_exchange_end_reverse(NULL)) \
    S(ex_submit_rev_op, STARHALO_ERR_INVALID_ARG, starhalo_exchange_submit_reverse(g_ex, (starhalo_reduce_op_t)-1)) \
    S(ex_run_null, STARHALO_ERR_INVALID_ARG, starhalo_exchange_run(NULL)) \
    S(ex_run_rev_op, STARHALO_ERR_INVALID_ARG, starhalo_exchange_run_reverse(g_ex, (starhalo_reduce_op_t)7)) \
    S(ex_run_rev_null, STARHALO_ERR_INVALID_ARG, starhalo_exchange_run_reverse(NULL, STARHALO_REDUCE_MAX)) \
    S(ex_wait_null, STARHALO_ERR_INVALID_ARG, starhalo_exchange_wait(NULL)) \
    S(mode_null, STARHALO_ERR_INVALID_ARG, starhalo_step_mode_parse(NULL, &mode)) \
    S(mode_unknown, STARHALO_ERR_INVALID_ARG, starhalo_step_mode_parse("overlap", &mode)) \
    S(mode_null_out, STARHALO_ERR_INVALID_ARG, starhalo_step_mode_parse("task", NULL)) \
    S(kind_null, STARHALO_ERR_INVALID_ARG, starhalo_stencil_kind_parse(NULL, &kind)) \
    S(kind_unknown, STARHALO_ERR_INVALID_ARG, starhalo_stencil_kind_parse("7pt", &kind)) \
    S(kind_null_out, STARHALO_ERR_INVALID_ARG, starhalo_stencil_kind_parse("5pt", NULL)) \
    S(st_null_ctx, STARHALO_ERR_INVALID_ARG, starhalo_stencil_create(NULL, g_f, g_f2, g_ex, STARHALO_STENCIL_5PT, NULL, &st)) \
    S(st_null_in, STARHALO_ERR_INVALID_ARG, starhalo_stencil_create(g_ctx, NULL, g_f2, g_ex, STARHALO_STENCIL_5PT, NULL, &st)) \
    S(st_in_is_out, STARHALO_ERR_INVALID_ARG, starhalo_stencil_create(g_ctx, g_f, g_f, g_ex, STARHALO_STENCIL_5PT, NULL, &st)) \
    S(st_kind, STARHALO_ERR_INVALID_ARG, starhalo_stencil_create(g_ctx, g_f, g_f2, g_ex, (starhalo_stencil_kind_t)7, NULL, &st)) \
    S(st_other_decomp, STARHALO_ERR_INVALID_ARG, starhalo_stencil_create(g_ctx, g_f, g_other, g_ex, STARHALO_STENCIL_5PT, NULL, &st)) \
    S(st_null_out, STARHALO_ERR_INVALID_ARG, starhalo_stencil_create(g_ctx, g_f, g_f2, g_ex, STARHALO_STENCIL_5PT, NULL, NULL)) \
    S(st_step_null, STARHALO_ERR_INVALID_ARG, starhalo_stencil_step(NULL, STARHALO_STEP_TASK)) \
    V(st_tasks_null, "0", "%d", starhalo_stencil_tasks_per_step(NULL)) \
    S(sqdiff_null, STARHALO_ERR_INVALID_ARG, starhalo_field_sqdiff(NULL, g_f, g_f2, &sum)) \
    S(sqdiff_null_b, STARHALO_ERR_INVALID_ARG, starhalo_field_sqdiff(g_ctx, g_f, NULL, &sum)) \
    S(sqdiff_other, STARHALO_ERR_INVALID_ARG, starhalo_field_sqdiff(g_ctx, g_f, g_other, &sum)) \
    S(sqdiff_null_out, STARHALO_ERR_INVALID_ARG, starhalo_field_sqdiff(g_ctx, g_f, g_f2, NULL)) \
    S(gather_null, STARHALO_ERR_INVALID_ARG, starhalo_field_gather(NULL, g_f, 0, g_buf)) \
    S(gather_null_field, STARHALO_ERR_INVALID_ARG, starhalo_field_gather(g_ctx, NULL, 0, g_buf)) \
    S(gather_root, STARHALO_ERR_INVALID_ARG, starhalo_field_gather(g_ctx, g_f, 1, g_buf)) \
    S(gather_null_out, STARHALO_ERR_INVALID_ARG, starhalo_field_gather(g_ctx, g_f, 0, NULL)) \
    S(lod_null, STARHALO_ERR_INVALID_ARG, starhalo_layer_output_decomp(NULL, &g_layer3, 4, halo1, STARHALO_STENCIL_BOX, &dc)) \
    S(lod_null_layer, STARHALO_ERR_INVALID_ARG, starhalo_layer_output_decomp(g_dc, NULL, 4, halo1, STARHALO_STENCIL_BOX, &dc)) \
    S(lod_stride0, STARHALO_ERR_INVALID_ARG, starhalo_layer_output_decomp(g_dc, LAYER(3, 0, 1, 1), 4, halo1, STARHALO_STENCIL_BOX, &dc)) \
    S(lod_channels0, STARHALO_ERR_INVALID_ARG, starhalo_layer_output_decomp(g_dc, &g_layer3, 0, halo1, STARHALO_STENCIL_BOX, &dc)) \
    S(lod_null_out, STARHALO_ERR_INVALID_ARG, starhalo_layer_output_decomp(g_dc, &g_layer3, 4, halo1, STARHALO_STENCIL_BOX, NULL)) \
    S(conv_null_ctx, STARHALO_ERR_INVALID_ARG, starhalo_conv2d_create(NULL, g_f, g_f2, g_ex, &g_layer3, g_buf, NULL, NULL, &cv)) \
    S(conv_null_layer, STARHALO_ERR_INVALID_ARG, starhalo_conv2d_create(g_ctx, g_f, g_f2, g_ex, NULL, g_buf, NULL, NULL, &cv)) \
    S(conv_null_weights, STARHALO_ERR_INVALID_ARG, starhalo_conv2d_create(g_ctx, g_f, g_f2, g_ex, &g_layer3, NULL, NULL, NULL, &cv)) \
    S(conv_null_out, STARHALO_ERR_INVALID_ARG, starhalo_conv2d_create(g_ctx, g_f, g_f2, g_ex, &g_layer3, g_buf, NULL, NULL, NULL)) \
    S(conv_fwd_null, STARHALO_ERR_INVALID_ARG, starhalo_conv2d_forward(NULL, STARHALO_STEP_BSP)) \
    S(cnn_null_ctx, STARHALO_ERR_INVALID_ARG, starhalo_cnn_conv_create(NULL, g_f, g_ex, g_f2, NULL, NULL, NULL, &g_layer3, g_buf, &cc)) \
    S(cnn_null_layer, STARHALO_ERR_INVALID_ARG, starhalo_cnn_conv_create(g_ctx, g_f, g_ex, g_f2, NULL, NULL, NULL, NULL, g_buf, &cc)) \
    S(cnn_null_out, STARHALO_ERR_INVALID_ARG, starhalo_cnn_conv_create(g_ctx, g_f, g_ex, g_f2, NULL, NULL, NULL, &g_layer3, g_buf, NULL)) \
    S(cnn_set_null, STARHALO_ERR_INVALID_ARG, starhalo_cnn_conv_set_weights(NULL, g_buf)) \
    S(cnn_get_null, STARHALO_ERR_INVALID_ARG, starhalo_cnn_conv_get_weights(NULL, g_buf)) \
    S(cnn_fwd_null, STARHALO_ERR_INVALID_ARG, starhalo_cnn_conv_forward(NULL)) \
    S(cnn_bwd_null, STARHALO_ERR_INVALID_ARG, starhalo_cnn_conv_backward(NULL)) \
    S(cnn_gw_null, STARHALO_ERR_INVALID_ARG, starhalo_cnn_conv_grad_weights(NULL, g_gradw)) \
    S(relu_null, STARHALO_ERR_INVALID_ARG, starhalo_cnn_relu(NULL, g_f)) \
    S(relu_null_out, STARHALO_ERR_INVALID_ARG, starhalo_cnn_relu(g_f, NULL)) \
    S(relu_other, STARHALO_ERR_INVALID_ARG, starhalo_cnn_relu(g_f, g_other)) \
    S(relu_bwd_null, STARHALO_ERR_INVALID_ARG, starhalo_cnn_relu_backward(NULL, g_f)) \
    S(relu_bwd_other, STARHALO_ERR_INVALID_ARG, starhalo_cnn_relu_backward(g_other, g_f)) \
    S(ckw_null, STARHALO_ERR_INVALID_ARG, starhalo_field_write(NULL, g_junk, &meta)) \
    S(ckw_null_path, STARHALO_ERR_INVALID_ARG, starhalo_field_write(g_f, NULL, &meta)) \
    S(ckw_no_dir, STARHALO_ERR_IO, starhalo_field_write(g_f, "/nonexistent-dir/f.npy", &meta)) \
    S(ckw_index_field, STARHALO_ERR_UNSUPPORTED, starhalo_field_write(g_if_open, g_junk, &meta)) \
    S(ckr_null, STARHALO_ERR_INVALID_ARG, starhalo_field_read(NULL, g_junk, &meta)) \
    S(ckr_null_path, STARHALO_ERR_INVALID_ARG, starhalo_field_read(g_f, NULL, &meta)) \
    S(ckr_missing, STARHALO_ERR_IO, starhalo_field_read(g_f, "/nonexistent-dir/f.npy", &meta)) \
    S(ckr_junk, STARHALO_ERR_CORRUPT, starhalo_field_read(g_f, g_junk, &meta)) \
    S(ckr_wrong_shape, STARHALO_ERR_FILE_MISMATCH, starhalo_field_read(g_f, g_wrong_shape, &meta)) \
    V(ck_shape_null, "0", "%d", starhalo_field_file_shape(NULL, shape)) \
    V(ck_shape_null_out, "0", "%d", starhalo_field_file_shape(g_f, NULL)) \
    S(cnn_mode_null, STARHALO_ERR_INVALID_ARG, starhalo_cnn_conv_set_mode(NULL, STARHALO_STEP_BSP)) \
    S(if_null_ctx, STARHALO_ERR_INVALID_ARG, starhalo_index_field_create(NULL, g_ip, STARHALO_FLOAT32, 1, &f)) \
    S(if_null_plan, STARHALO_ERR_INVALID_ARG, starhalo_index_field_create(g_ctx, NULL, STARHALO_FLOAT32, 1, &f)) \
    S(if_dtype, STARHALO_ERR_INVALID_ARG, starhalo_index_field_create(g_ctx, g_ip, (starhalo_dtype_t)5, 1, &f)) \
    S(if_planes0, STARHALO_ERR_INVALID_ARG, starhalo_index_field_create(g_ctx, g_ip, STARHALO_FLOAT32, 0, &f)) \
    S(if_null_out, STARHALO_ERR_INVALID_ARG, starhalo_index_field_create(g_ctx, g_ip, STARHALO_FLOAT32, 1, NULL)) \
    V(if_plan_null, "NULL", "%s", starhalo_index_field_plan(NULL) ? "non-NULL" : "NULL") \
    V(if_plan_structured, "NULL", "%s", starhalo_index_field_plan(g_f) ? "non-NULL" : "NULL") \
    S(iex_null_ctx, STARHALO_ERR_INVALID_ARG, starhalo_index_exchange_create(NULL, &g_f, 1, STARHALO_TRANSPORT_DEFAULT, &ex)) \
    S(iex_structured, STARHALO_ERR_INVALID_ARG, starhalo_index_exchange_create(g_ctx, &g_f, 1, STARHALO_TRANSPORT_DEFAULT, &ex)) \
    S(iex_unfinished, STARHALO_ERR_PLAN_INVALID, starhalo_index_exchange_create(g_ctx, &g_if_open, 1, STARHALO_TRANSPORT_DEFAULT, &ex)) \
    S(iex_nfields0, STARHALO_ERR_INVALID_ARG, starhalo_index_exchange_create(g_ctx, &g_f, 0, STARHALO_TRANSPORT_DEFAULT, &ex)) \
    S(ipm_comm_null, STARHALO_ERR_INVALID_ARG, starhalo_index_plan_create_mpi(MPI_COMM_NULL, g_dist, req_out, 0, &ip)) \
    S(ipm_null_dist, STARHALO_ERR_INVALID_ARG, starhalo_index_plan_create_mpi(MPI_COMM_WORLD, NULL, req_out, 0, &ip)) \
    S(ipm_required_out, STARHALO_ERR_OUT_OF_RANGE, starhalo_index_plan_create_mpi(MPI_COMM_WORLD, g_dist, req_out, 1, &ip)) \
    S(ipm_null_out, STARHALO_ERR_INVALID_ARG, starhalo_index_plan_create_mpi(MPI_COMM_WORLD, g_dist, req_out, 0, NULL)) \
    S(mtr_null, STARHALO_ERR_INVALID_ARG, starhalo_mpi_transport_parse(NULL, &mtr)) \
    S(mtr_unknown, STARHALO_ERR_INVALID_ARG, starhalo_mpi_transport_parse("udp", &mtr)) \
    S(mtr_null_out, STARHALO_ERR_INVALID_ARG, starhalo_mpi_transport_parse("persistent", NULL)) \
    V(mtr_name_bad, "unknown", "%s", starhalo_mpi_transport_name((starhalo_mpi_transport_t)9)) \
    S(mx_comm_null, STARHALO_ERR_INVALID_ARG, starhalo_mpi_exchange_create(MPI_COMM_NULL, g_xp, NULL, STARHALO_FLOAT32, STARHALO_MPI_TWO_SIDED, &mx)) \
    S(mx_null_plan, STARHALO_ERR_INVALID_ARG, starhalo_mpi_exchange_create(MPI_COMM_WORLD, NULL, NULL, STARHALO_FLOAT32, STARHALO_MPI_TWO_SIDED, &mx)) \
    S(mx_dtype, STARHALO_ERR_INVALID_ARG, starhalo_mpi_exchange_create(MPI_COMM_WORLD, g_xp, NULL, (starhalo_dtype_t)4, STARHALO_MPI_TWO_SIDED, &mx)) \
    S(mx_transport, STARHALO_ERR_INVALID_ARG, starhalo_mpi_exchange_create(MPI_COMM_WORLD, g_xp, NULL, STARHALO_FLOAT32, (starhalo_mpi_transport_t)8, &mx)) \
    S(mx_part_rank, STARHALO_ERR_INVALID_ARG, starhalo_mpi_exchange_create(MPI_COMM_WORLD, g_sxp, map_bad, STARHALO_FLOAT32, STARHALO_MPI_TWO_SIDED, &mx)) \
    S(mx_null_out, STARHALO_ERR_INVALID_ARG, starhalo_mpi_exchange_create(MPI_COMM_WORLD, g_xp, NULL, STARHALO_FLOAT32, STARHALO_MPI_TWO_SIDED, NULL)) \
    S(mx_update_null, STARHALO_ERR_INVALID_ARG, starhalo_mpi_exchange_update(NULL, g_buf)) \
    S(mx_update_null_array, STARHALO_ERR_INVALID_ARG, starhalo_mpi_exchange_update(g_mx, NULL)) \
    S(mx_by_halo_op, STARHALO_ERR_INVALID_ARG, starhalo_mpi_exchange_update_by_halo(g_mx, g_buf, (starhalo_reduce_op_t)9)) \
    S(mx_by_halo_null, STARHALO_ERR_INVALID_ARG, starhalo_mpi_exchange_update_by_halo(NULL, g_buf, STARHALO_REDUCE_SUM)) \
    V(mx_transport_null, "-1", "%d", (int)starhalo_mpi_exchange_transport(NULL)) \
    V(mx_bytes_null, "0", "%lld", (long long)starhalo_mpi_exchange_send_bytes(NULL)) \
    S(f_tile_null_out, STARHALO_ERR_INVALID_ARG, starhalo_field_part_tile(g_f, 0, NULL)) \
    S(f_tile_null, STARHALO_ERR_OUT_OF_RANGE, starhalo_field_part_tile(NULL, 0, &tile)) \
    S(f_tile_out, STARHALO_ERR_OUT_OF_RANGE, starhalo_field_part_tile(g_f, 2, &tile)) \
    S(f_tile_index_field, STARHALO_ERR_INVALID_ARG, starhalo_field_part_tile(g_if_open, 0, &tile)) \
    S(f_match_null, STARHALO_ERR_INVALID_ARG, starhalo_field_match(NULL, g_f, STARHALO_MATCH_PARTS, NULL)) \
    S(f_match_index_field, STARHALO_ERR_INVALID_ARG, starhalo_field_match(g_f, g_if_open, STARHALO_MATCH_PARTS, NULL)) \
    S(f_match_other_decomp, STARHALO_ERR_INVALID_ARG, starhalo_field_match(g_f, g_other, STARHALO_MATCH_PARTS, "x")) \
    V(f_match_twin, "STARHALO_OK", "%s", starhalo_field_match(g_f, g_f2, MATCH_ALL, NULL) == STARHALO_OK ? "STARHALO_OK" : "an error") \
    S(f_flush_null, STARHALO_ERR_INVALID_ARG, starhalo_field_mpi_flush(NULL)) \
    S(f_wrap_null_tiles, STARHALO_ERR_INVALID_ARG, starhalo_field_wrap(g_ctx, g_dc, NULL, STARHALO_FLOAT32, NULL, &f)) \
    S(f_wrap_null_tile, STARHALO_ERR_INVALID_ARG, starhalo_field_wrap(g_ctx, g_dc, NULL, STARHALO_FLOAT32, tiles_null, &f)) \
    S(f_wrap_misaligned, STARHALO_ERR_INVALID_ARG, starhalo_field_wrap(g_ctx, g_dc, NULL, STARHALO_FLOAT32, tiles_odd, &f)) \
    S(f_wrap_null_ctx, STARHALO_ERR_INVALID_ARG, starhalo_field_wrap(NULL, g_dc, NULL, STARHALO_FLOAT32, tiles_odd, &f)) \
    S(bands_null, STARHALO_ERR_INVALID_ARG, starhalo_bands_create(NULL, halo1, 0, 0, &bands)) \
    S(bands_null_reach, STARHALO_ERR_INVALID_ARG, starhalo_bands_create(g_f, NULL, 0, 0, &bands)) \
    S(bands_reach_wide, STARHALO_ERR_INVALID_ARG, starhalo_bands_create(g_f, reach_wide, 0, 0, &bands)) \
    S(bands_nbands_neg, STARHALO_ERR_INVALID_ARG, starhalo_bands_create(g_f, halo1, -2, 0, &bands)) \
    S(bands_flags, STARHALO_ERR_INVALID_ARG, starhalo_bands_create(g_f, halo1, 0, 4u, &bands)) \
    S(bands_index_field, STARHALO_ERR_INVALID_ARG, starhalo_bands_create(g_if_open, halo1, 0, 0, &bands)) \
    S(bands_null_out, STARHALO_ERR_INVALID_ARG, starhalo_bands_create(g_f, halo1, 0, 0, NULL)) \
    V(bands_field_null, "NULL", "%s", starhalo_bands_field(NULL) ? "non-NULL" : "NULL") \
    V(bands_pieces_null, "0", "%d", starhalo_bands_num_pieces(NULL, 0, STARHALO_REGION_INTERIOR)) \
    V(bands_piece_null, "NULL", "%s", starhalo_bands_piece(NULL, 0, STARHALO_REGION_OWNED, 0) ? "non-NULL" : "NULL") \
    S(bands_partition_null, STARHALO_ERR_INVALID_ARG, starhalo_bands_partition(NULL)) \
    S(bands_unpartition_null, STARHALO_ERR_INVALID_ARG, starhalo_bands_unpartition(NULL)) \
    S(bands_insert_null, STARHALO_ERR_INVALID_ARG, starhalo_bands_insert(NULL, STARHALO_REGION_INTERIOR, &g_desc, NULL)) \
    V(bands_destroy_null, "nothing", "%s", (starhalo_bands_destroy(NULL), "nothing"))
/* clang-format on */

BAD_INPUT_FUNCTIONS(CASES)
static const bad_case_t cases[] = {BAD_INPUT_ROWS(CASES)};

static starhalo_status_t setup(void)
{
    starhalo_context_conf_t conf;
    starhalo_context_conf_init(&conf);
    STARHALO_CHECK(starhalo_context_create(&conf, &g_ctx));
    starhalo_decomp_desc_t d = {0};
    d.ndims = 2;
    d.extent[0] = 16;
    d.extent[1] = 8;
    d.split = STARHALO_SPLIT_VERTICAL;
    d.nparts = 2;
    d.halo[0] = d.halo[1] = d.halo[2] = d.halo[3] = 1;
    d.shape = STARHALO_STENCIL_BOX;
    STARHALO_CHECK(starhalo_decomp_create(&d, &g_dc));
    d.extent[0] = 18;
    STARHALO_CHECK(starhalo_decomp_create(&d, &g_dc_other));
    STARHALO_CHECK(starhalo_field_create(g_ctx, g_dc, NULL, STARHALO_FLOAT32, &g_f));
    STARHALO_CHECK(starhalo_field_create(g_ctx, g_dc, NULL, STARHALO_FLOAT32, &g_f2));
    STARHALO_CHECK(starhalo_field_create(g_ctx, g_dc_other, NULL, STARHALO_FLOAT32, &g_other));
    STARHALO_CHECK(starhalo_exchange_create(g_ctx, &g_f, 1, STARHALO_TRANSPORT_DEFAULT, &g_ex));
    STARHALO_CHECK(starhalo_distribution_create_block(10, 1, &g_dist));
    const int64_t req[2] = {1, 2};
    STARHALO_CHECK(starhalo_index_plan_create_mpi(MPI_COMM_WORLD, g_dist, req, 2, &g_ip));
    STARHALO_CHECK(starhalo_index_plan_begin(g_dist, 0, req, 2, &g_ip_open));
    STARHALO_CHECK(starhalo_index_plan_lower(g_ip, 1, &g_xp));
    STARHALO_CHECK(starhalo_index_field_create(g_ctx, g_ip_open, STARHALO_FLOAT32, 1, &g_if_open));
    starhalo_part_plan_t *part0 = NULL;
    STARHALO_CHECK(starhalo_part_plan_create(g_dc, 0, &part0));
    const starhalo_status_t lowered = starhalo_part_plan_lower(part0, &g_sxp);
    starhalo_part_plan_destroy(part0);
    STARHALO_CHECK(lowered);
    snprintf(g_junk, sizeof g_junk, "/tmp/starhalo-bad-input-%d.txt", (int)getpid());
    snprintf(g_wrong_shape, sizeof g_wrong_shape, "/tmp/starhalo-bad-input-%d.npy", (int)getpid());
    FILE *junk = fopen(g_junk, "w");
    if (!junk || fputs("not a checkpoint, just some text that is longer than a header\n", junk) < 0)
        return starhalo_error_set(STARHALO_ERR_IO, "cannot write %s", g_junk);
    fclose(junk);
    STARHALO_CHECK(starhalo_field_write(g_other, g_wrong_shape, &meta));
    return starhalo_mpi_exchange_create(MPI_COMM_WORLD, g_xp, NULL, STARHALO_FLOAT32,
                                        STARHALO_MPI_TWO_SIDED, &g_mx);
}

int main(int argc, char **argv)
{
    if (setup() != STARHALO_OK) {
        fprintf(stderr, "bad input: setup failed: %s\n", starhalo_last_error_message());
        return 1;
    }
    const int rc = bad_input_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
    /* Objects a case that wrongly succeeded may have created. */
    starhalo_mpi_exchange_destroy(mx);
    starhalo_index_plan_destroy(ip);
    starhalo_cnn_conv_destroy(cc);
    starhalo_conv2d_destroy(cv);
    starhalo_stencil_destroy(st);
    starhalo_exchange_destroy(ex);
    starhalo_field_destroy(f);
    starhalo_decomp_destroy(dc);
    starhalo_context_destroy(ctx);

    starhalo_mpi_exchange_destroy(g_mx);
    starhalo_xfer_plan_destroy(g_xp);
    starhalo_xfer_plan_destroy(g_sxp);
    starhalo_field_destroy(g_if_open);
    starhalo_index_plan_destroy(g_ip_open);
    starhalo_index_plan_destroy(g_ip);
    starhalo_distribution_destroy(g_dist);
    starhalo_exchange_destroy(g_ex);
    starhalo_field_destroy(g_other);
    starhalo_field_destroy(g_f2);
    starhalo_field_destroy(g_f);
    starhalo_decomp_destroy(g_dc_other);
    starhalo_decomp_destroy(g_dc);
    starhalo_context_destroy(g_ctx);
    remove(g_junk);
    remove(g_wrong_shape);
    return rc;
}
