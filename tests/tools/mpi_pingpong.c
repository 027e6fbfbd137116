/* SPDX-License-Identifier: MIT */
/**
 * @file mpi_pingpong.c
 * @brief Raw MPI ping-pong between ranks 0 and 1: one-way time and bandwidth per message size,
 * to check what tools/netns-run's shaped loopback delivers. Checks the payload it gets back.
 *
 * Usage: mpi_pingpong [--reps R] [--max-bytes B]   (sizes 0, 1 KiB, 12 KiB, 64 KiB, ... up to B)
 */
#include <mpi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    long reps = 20, max_bytes = 4L << 20;
    int bad_args = 0;
    for (int a = 1; a < argc; a++) {
        long *dst = NULL;
        if (strcmp(argv[a], "--reps") == 0)
            dst = &reps;
        else if (strcmp(argv[a], "--max-bytes") == 0)
            dst = &max_bytes;
        char *end = NULL;
        if (dst != NULL && a + 1 < argc)
            *dst = strtol(argv[++a], &end, 10);
        if (dst == NULL || end == NULL || *end != '\0' || *dst <= 0 || *dst > (1L << 30))
            bad_args = 1;
    }
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (bad_args || size < 2) {
        if (rank == 0)
            fprintf(stderr, "mpi_pingpong: error: %s\n",
                    bad_args ? "usage: mpi_pingpong [--reps R] [--max-bytes B] (positive)"
                             : "needs at least 2 ranks");
        MPI_Finalize();
        return 1;
    }
    unsigned char *buf = malloc((size_t)max_bytes);
    long sizes[32];
    int nsizes = 0;
    sizes[nsizes++] = 0;
    for (long s = 1024; s <= max_bytes && nsizes < 30; s *= 4)
        sizes[nsizes++] = s == 4096 ? 12288 : s;
    int failed = 0;
    if (rank == 0)
        printf("%12s %14s %12s\n", "bytes", "one-way us", "MB/s");
    for (int k = 0; k < nsizes; k++) {
        int n = (int)sizes[k];
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = 0.0;
        /* Round -1 is a warm-up (TCP connections are opened lazily): not timed. */
        for (long r = -1; r < reps && rank < 2; r++) {
            if (r == 0)
                t0 = MPI_Wtime();
            if (rank == 0) {
                memset(buf, (int)(r & 0xff), (size_t)n);
                MPI_Send(buf, n, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
                MPI_Recv(buf, n, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                for (int i = 0; i < n; i += 4096)
                    failed |= buf[i] != (unsigned char)((r + 1) & 0xff);
            } else {
                MPI_Recv(buf, n, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                memset(buf, (int)((r + 1) & 0xff), (size_t)n);
                MPI_Send(buf, n, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
            }
        }
        double one_way = (MPI_Wtime() - t0) / (2.0 * (double)reps);
        if (rank == 0)
            printf("%12d %14.1f %12.1f\n", n, one_way * 1e6, n > 0 ? n / one_way / 1e6 : 0.0);
    }
    MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD);
    if (rank == 0 && failed)
        fprintf(stderr, "mpi_pingpong: error: payload came back wrong\n");
    free(buf);
    MPI_Finalize();
    return failed ? 1 : 0;
}
