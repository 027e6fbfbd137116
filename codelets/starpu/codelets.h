/* SPDX-License-Identifier: MIT */
/**
 * @file codelets.h
 * @brief The StarPU codelets of starhalo and their cl_args structs (one codelet per file).
 */
#ifndef STARHALO_CODELETS_H
#define STARHALO_CODELETS_H

#include <stdint.h>

#include <starpu.h>

#include <starhalo/starhalo_plan.h>
#include <starhalo/starhalo_types.h>

/** One message buffer of a pack/unpack task: the runs it gathers or scatters per plane. */
typedef struct starhalo_cl_msg {
    const starhalo_run_t *runs;
    int nruns;
    int64_t count; /**< elements per plane (sum of run lengths) */
} starhalo_cl_msg_t;

/**
 * cl_args of starhalo_cl_pack / starhalo_cl_unpack (passed by pointer, owned by the
 * exchange, never freed by StarPU). Buffers of pack: nfields tiles (R), then nmsgs message
 * vectors (W). Buffers of unpack: nmsgs message vectors (R), then nfields tiles (RW). A
 * message holds, for each field in order, [planes[f]][count] elements.
 */
typedef struct starhalo_cl_xfer_args {
    starhalo_dtype_t dtype;
    int nfields;
    const int64_t *planes; /**< planes of each field */
    int64_t plane_size;    /**< elements of one ghosted tile plane */
    int nmsgs;
    const starhalo_cl_msg_t *msgs;
    starhalo_reduce_op_t op; /**< unpack only */
} starhalo_cl_xfer_args_t;

extern struct starpu_codelet starhalo_cl_pack;
extern struct starpu_codelet starhalo_cl_unpack;

#endif
