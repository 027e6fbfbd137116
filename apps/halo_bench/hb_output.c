/* SPDX-License-Identifier: MIT */
/**
 * @file hb_output.c
 * @brief halo_bench output helpers: timing statistics, halo message sizes, the CSV line and
 * NumPy .npy tile dumps.
 */
#include "halo_bench.h"

#include "appkit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void hb_stats(const double *samples, int64_t n, double *mean, double *median)
{
    *mean = *median = 0.0;
    if (n <= 0)
        return;
    double *s = malloc((size_t)n * sizeof *s);
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += samples[i];
    *mean = sum / (double)n;
    if (!s) {
        *median = *mean;
        return;
    }
    memcpy(s, samples, (size_t)n * sizeof *s);
    *median = starhalo_app_median(s, n);
    free(s);
}

starhalo_status_t hb_message_bytes(const hb_options_t *o, const starhalo_decomp_t *decomp,
                                   int64_t *min_bytes, int64_t *max_bytes)
{
    const int64_t esz = (int64_t)starhalo_dtype_size(o->dtype);
    const int nparts = starhalo_decomp_num_parts(decomp);
    int64_t lo = -1, hi = 0;
    for (int part = 0; part < nparts; part++) {
        starhalo_part_plan_t *plan = NULL;
        starhalo_xfer_plan_t *xfer = NULL;
        starhalo_status_t st = starhalo_part_plan_create(decomp, part, &plan);
        if (st == STARHALO_OK)
            st = starhalo_part_plan_lower(plan, &xfer);
        if (st == STARHALO_OK) {
            const int64_t planes = starhalo_xfer_plan_planes(xfer);
            for (int i = 0; i < starhalo_xfer_plan_num_peers(xfer); i++) {
                const int64_t b = starhalo_xfer_plan_peer(xfer, i)->send_count * planes * esz;
                if (b > hi)
                    hi = b;
                if (lo < 0 || b < lo)
                    lo = b;
            }
        }
        starhalo_xfer_plan_destroy(xfer);
        starhalo_part_plan_destroy(plan);
        if (st != STARHALO_OK)
            return st;
    }
    *min_bytes = lo < 0 ? 0 : lo;
    *max_bytes = hi;
    return STARHALO_OK;
}

static void join_list(FILE *f, const double *v, int n)
{
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%.6f", i ? ";" : "", v[i]);
}

int hb_csv_append(const hb_options_t *o, int nranks, int64_t msg_min, int64_t msg_max,
                  const double *rank_mean_ms, const double *rank_median_ms, char *err,
                  size_t errlen)
{
    FILE *f = fopen(o->csv, "a");
    if (!f) {
        snprintf(err, errlen, "cannot open --csv file '%s': %s", o->csv, strerror(errno));
        return -1;
    }
    if (ftell(f) == 0)
        fprintf(
            f,
            "transport,runtime_transport,slice_method,image_size,batch_size,in_channels,halo_len,"
            "num_spatial_parts,ranks,parts_per_rank,dtype,periodic,warmup,iterations,"
            "msg_bytes_min,msg_bytes_max,max_mean_ms,max_median_ms,rank_mean_ms,"
            "rank_median_ms\n");
    /* The column keeps its name: "<runtime transport>+run" when the timed exchange is
     * starhalo_exchange_run (with --with-compute the conv layer exchanges, whatever --call). */
    char run_name[64];
    snprintf(run_name, sizeof run_name, "%s+run", o->runtime_transport);
    double max_mean = 0.0, max_median = 0.0;
    for (int r = 0; r < nranks; r++) {
        if (rank_mean_ms[r] > max_mean)
            max_mean = rank_mean_ms[r];
        if (rank_median_ms[r] > max_median)
            max_median = rank_median_ms[r];
    }
    fprintf(f, "%s,%s,%s,%lld,%lld,%lld,%lld,%lld,%d,%lld,%s,%d,%lld,%lld,%lld,%lld,%.6f,%.6f,",
            hb_transport_name(o->transport),
            o->transport != HB_TRANSPORT_STARPU ? "-"
            : o->call_run && !o->with_compute   ? run_name
                                                : o->runtime_transport,
            starhalo_split_name(o->split), (long long)o->image_size, (long long)o->batch,
            (long long)o->in_channels, (long long)o->halo, (long long)o->nparts, nranks,
            (long long)o->parts_per_rank, o->dtype == STARHALO_FLOAT64 ? "float64" : "float32",
            o->periodic, (long long)o->warmup, (long long)o->iterations, (long long)msg_min,
            (long long)msg_max, max_mean, max_median);
    join_list(f, rank_mean_ms, nranks);
    fputc(',', f);
    join_list(f, rank_median_ms, nranks);
    fputc('\n', f);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "cannot write --csv file '%s': %s", o->csv, strerror(errno));
        return -1;
    }
    return 0;
}

int hb_npy_write(const char *path, starhalo_dtype_t dtype, int64_t n, int64_t c, int64_t gh,
                 int64_t gw, const void *data, char *err, size_t errlen)
{
    const int64_t shape[4] = {n, c, gh, gw};
    if (starhalo_app_npy_write(path, dtype, 4, shape, data) == 0)
        return 0;
    snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
    return -1;
}
