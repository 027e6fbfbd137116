/* SPDX-License-Identifier: MIT */
/**
 * @file codelet_call.c
 * @brief starhalo_cl_call: a CPU task that runs a runtime function on its argument. The
 * direct MPI transport's tasks are such calls: their handles only order them (the tiles and
 * buffers are main-RAM memory the function reaches through its own pointers).
 */
#include "codelets.h"

static void call_cpu(void *buffers[], void *cl_arg)
{
    (void)buffers;
    const starhalo_cl_call_t *c = cl_arg;
    c->fn(c->arg);
}

struct starpu_codelet starhalo_cl_call = {
    .cpu_funcs = {call_cpu},
    .cpu_funcs_name = {"call_cpu"},
    .nbuffers = STARPU_VARIABLE_NBUFFERS,
    .name = "starhalo_call",
};
