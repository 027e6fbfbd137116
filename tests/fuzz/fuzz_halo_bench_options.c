/* SPDX-License-Identifier: MIT */
/**
 * @file fuzz_halo_bench_options.c
 * @brief Fuzz harness: halo_bench's command line (apps/halo_bench/hb_options.c), then the
 * world-size checks and the decomposition it builds, as every rank runs them before any
 * communication.
 *
 * Input: one byte for the world size (1..64), then the arguments separated by NUL bytes
 * (at most 64; the last one need not end with NUL). A parse must either succeed or write a
 * one-line message and fail; the decomposition must then either be built or refused with a
 * message, and with small images the message sizes are computed as halo_bench prints them.
 */
#include "fuzz_input.h"

#include <string.h>

#include "halo_bench.h"

enum { MAX_ARGS = 64, MAX_IMAGE_FOR_PLANS = 4096, MAX_PARTS_FOR_PLANS = 256 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const int nranks = data[0] % 64 + 1;
    char *buf = malloc(size); /* the arguments, each NUL-terminated */
    FZ_CHECK(buf);
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    static char name[] = "halo_bench";
    char *argv[MAX_ARGS + 2] = {name};
    int argc = 1;
    for (size_t at = 0; at < size - 1 && argc <= MAX_ARGS; at += strlen(buf + at) + 1)
        argv[argc++] = buf + at;
    argv[argc] = NULL;

    hb_options_t o;
    char err[HB_ERRLEN];
    const int rc = hb_options_parse(argc, argv, &o, err, sizeof err);
    FZ_CHECK(rc == 0 || rc == -1);
    FZ_CHECK(rc == 0 ? err[0] == '\0' : err[0] != '\0' && strchr(err, '\n') == NULL);
    if (rc == 0 && !o.help && o.nparts <= FZ_MAX_PARTS) {
        starhalo_decomp_t *dc = NULL;
        err[0] = '\0';
        const int brc = hb_decomp_build(&o, nranks, &dc, err, sizeof err);
        FZ_CHECK(brc == 0 ? dc != NULL : dc == NULL && err[0] != '\0');
        if (dc && o.image_size <= MAX_IMAGE_FOR_PLANS && o.nparts <= MAX_PARTS_FOR_PLANS) {
            int64_t lo = -1, hi = -1;
            FZ_CHECK(hb_message_bytes(&o, dc, &lo, &hi) == STARHALO_OK);
            FZ_CHECK(lo >= 0 && hi >= lo);
            hb_tile_geom_t g;
            hb_tile_geom(&o, dc, (int)o.nparts - 1, &g);
            FZ_CHECK(g.gw > 0 && g.gh > 0 && g.planes == o.batch * o.in_channels);
        }
        starhalo_decomp_destroy(dc);
    }
    free(buf);
    return 0;
}
