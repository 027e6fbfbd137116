/* SPDX-License-Identifier: MIT */
/**
 * @file probe_common.h
 * @brief What the trace probes (trace_probe.c, xfer_probe.c) share: the busy compute codelet
 * whose tasks the overlap report counts, and their `--elems --iters --tasks --work` options.
 */
#ifndef STARHALO_TESTS_PROBE_COMMON_H
#define STARHALO_TESTS_PROBE_COMMON_H

#include <starpu.h>

#include <stdlib.h>
#include <string.h>

/* `work` passes of a cheap update over the vector: compute that takes a while. */
static void probe_compute_cpu(void *buffers[], void *cl_arg)
{
    float *v = (float *)STARPU_VECTOR_GET_PTR(buffers[0]);
    size_t n = STARPU_VECTOR_GET_NX(buffers[0]);
    int work;
    starpu_codelet_unpack_args(cl_arg, &work);
    for (int r = 0; r < work; r++)
        for (size_t i = 0; i < n; i++)
            v[i] = v[i] * 0.999f + 1.0f;
}

static struct starpu_codelet probe_compute_cl = {
    .cpu_funcs = {probe_compute_cpu}, .nbuffers = 1, .modes = {STARPU_RW}, .name = "probe_compute"};

static int probe_parse_int(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v <= 0 || v > 100000000)
        return -1;
    *out = (int)v;
    return 0;
}

/* Returns 0, or -1 on an unknown option or a value that is not a positive integer. */
static int probe_parse_args(int argc, char **argv, int *elems, int *iters, int *ntasks, int *work)
{
    for (int a = 1; a < argc; a++) {
        int *dst = NULL;
        if (strcmp(argv[a], "--elems") == 0)
            dst = elems;
        else if (strcmp(argv[a], "--iters") == 0)
            dst = iters;
        else if (strcmp(argv[a], "--tasks") == 0)
            dst = ntasks;
        else if (strcmp(argv[a], "--work") == 0)
            dst = work;
        if (dst == NULL || a + 1 >= argc || probe_parse_int(argv[++a], dst) != 0)
            return -1;
    }
    return 0;
}

#endif
