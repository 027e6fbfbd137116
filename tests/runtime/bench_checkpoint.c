/* SPDX-License-Identifier: MIT */
/* Checkpoint I/O bandwidth: starhalo_field_write (including MPI_File_sync and the rename) and
 * starhalo_field_read (including the checksum) of an N x N float32 field, and a memcpy of the
 * same bytes on rank 0 for reference. Built, not run by ctest; tools/bench-checkpoint
 * interleaves it with dd.
 * usage: bench_checkpoint FILE N PARTS_PER_RANK REPEATS   (prints one line per repeat) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <starhalo/starhalo.h>

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_checkpoint FILE N PARTS_PER_RANK REPEATS\n");
        return 2;
    }
    const char *path = argv[1];
    const int64_t n = atoll(argv[2]);
    const int ppr = atoi(argv[3]), reps = atoi(argv[4]);
    starhalo_context_conf_t conf;
    starhalo_context_conf_init(&conf);
    starhalo_context_t *ctx = NULL;
    if (starhalo_context_create(&conf, &ctx) != STARHALO_OK) {
        fprintf(stderr, "bench_checkpoint: %s\n", starhalo_last_error_message());
        return 1;
    }
    const int rank = starhalo_context_rank(ctx), size = starhalo_context_size(ctx);
    starhalo_decomp_desc_t d;
    memset(&d, 0, sizeof d);
    d.ndims = 2;
    d.extent[0] = d.extent[1] = n;
    d.extent[2] = 1;
    d.split = STARHALO_SPLIT_HORIZONTAL;
    d.nparts = ppr * size;
    d.halo[0] = d.halo[1] = d.halo[2] = d.halo[3] = 1;
    starhalo_decomp_t *dec = NULL;
    starhalo_field_t *f = NULL;
    starhalo_status_t rc = starhalo_decomp_create(&d, &dec);
    if (rc == STARHALO_OK)
        rc = starhalo_field_create(ctx, dec, NULL, STARHALO_FLOAT32, &f);
    int parts[256];
    const int np = rc == STARHALO_OK ? starhalo_field_local_parts(f, parts) : 0;
    for (int i = 0; i < np && rc == STARHALO_OK; i++) { /* non-zero data, distinct per cell */
        float *p = NULL;
        rc = starhalo_field_part_data(f, parts[i], (void **)&p);
        const starhalo_box_t g = starhalo_part_plan_ghosted(starhalo_field_part_plan(f, parts[i]));
        for (int64_t k = 0; rc == STARHALO_OK && k < starhalo_box_volume(&g); k++)
            p[k] = (float)(k % 65521) + 0.5f * (float)parts[i];
    }
    const double bytes = (double)n * (double)n * 4.0;
    const size_t nb = (size_t)bytes;
    char *a = rank == 0 ? malloc(nb) : NULL, *b = rank == 0 ? malloc(nb) : NULL;
    if (rank == 0 && a && b)
        memset(a, 1, nb), memset(b, 2, nb);
    for (int r = 0; r < reps && rc == STARHALO_OK; r++) {
        starhalo_checkpoint_meta_t meta = {.step = r};
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        rc = starhalo_field_write(f, path, &meta);
        const double tw = MPI_Wtime() - t0;
        MPI_Barrier(MPI_COMM_WORLD);
        t0 = MPI_Wtime();
        if (rc == STARHALO_OK)
            rc = starhalo_field_read(f, path, &meta);
        const double tr = MPI_Wtime() - t0;
        double tm = 0.0;
        if (rank == 0 && a && b) {
            t0 = MPI_Wtime();
            memcpy(b, a, nb);
            tm = MPI_Wtime() - t0;
            a[r % nb] ^= b[(r * 7) % nb]; /* keep the copy observable */
        }
        if (rank == 0 && rc == STARHALO_OK)
            printf("bench_checkpoint: ranks %d parts %d MiB %.0f write_MBps %.1f read_MBps %.1f "
                   "memcpy_MBps %.1f\n",
                   size, d.nparts, bytes / 1048576.0, bytes / tw / 1e6, bytes / tr / 1e6,
                   tm > 0 ? bytes / tm / 1e6 : 0.0);
    }
    if (rc != STARHALO_OK && rank == 0)
        fprintf(stderr, "bench_checkpoint: %s\n", starhalo_last_error_message());
    free(a);
    free(b);
    starhalo_field_destroy(f);
    starhalo_decomp_destroy(dec);
    starhalo_context_destroy(ctx);
    return rc == STARHALO_OK ? 0 : 1;
}
