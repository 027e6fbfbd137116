/* SPDX-License-Identifier: MIT */
/**
 * @file rt_checkpoint.c
 * @brief starhalo_field_write / starhalo_field_read: one .npy file holding the global array,
 * written and read with collective MPI-IO through subarray file views (docs/CHECKPOINT.md).
 *
 * Why the steps are ordered as they are:
 * - Every collective (open, set_view, write_all/read_all, close) is entered by every rank even
 *   after a local failure, and statuses are agreed only at fixed points: a rank that skipped a
 *   collective would leave the others hanging in it.
 * - One file view per local part slot: a combined filetype of several parts would interleave
 *   their rows, and MPI requires a filetype's displacements to be monotonic. Ranks with fewer
 *   parts join the remaining rounds with a zero count.
 * - The owned rows go through a bounded contiguous buffer (STARHALO_CHECKPOINT_CHUNK_BYTES,
 *   16 MiB) in successive collective calls on the same view, and are checksummed while being
 *   copied: with the strided memory type of the ghosted tile, Open MPI 4.1's OMPIO took 4-8x
 *   longer than ROMIO to write the same bytes, from the buffer both are alike
 *   (docs/PERFORMANCE.md), and the copy replaces the separate checksum pass. The file pointer
 *   of a view advances, so chunk k lands after chunk k-1.
 * - Crash safety: data goes to `<path>.tmp.<pid of rank 0>`, is synced and closed by everyone,
 *   and only after the agreement (a barrier) does rank 0 rename it over @p path, so a kill at
 *   any point leaves either the old or the new file, both complete.
 * - The checksum is a sum over elements keyed by their global index (starhalo_npy.h), so each
 *   rank adds its own parts and one MPI_Allreduce finishes it, for any decomposition.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <starhalo/starhalo_checkpoint.h>

#include "mpi_status.h"
#include "runtime_internal.h"

/* The per-rank view of the file: element type, per local part the file subarray of its owned
 * box, and the chunking of its rows. */
typedef struct io_plan {
    MPI_Comm comm;
    int rank, size;
    starhalo_npy_header_t hdr; /**< dtype and shape of the field */
    int64_t count;             /**< elements of the global array */
    MPI_Datatype etype;
    size_t esz;
    MPI_Datatype *file; /**< nlocal; MPI_DATATYPE_NULL until built */
    int nlocal, rounds; /**< rounds: the most local parts of any rank */
    int64_t row_cap;    /**< rows of the widest local part that fit in a chunk */
    int64_t *calls;     /**< per round: the most chunks any rank needs (agreed) */
    char *buf;          /**< one chunk */
} io_plan_t;

int starhalo_field_file_shape(const starhalo_field_t *f, int64_t shape[STARHALO_NPY_MAX_DIMS])
{
    if (!f || !f->decomp || !shape)
        return 0;
    const starhalo_decomp_desc_t *d = starhalo_decomp_desc(f->decomp);
    int n = 0;
    shape[n++] = d->batch > 0 ? d->batch : 1;
    shape[n++] = d->channels > 0 ? d->channels : 1;
    for (int k = d->ndims - 1; k >= 0; k--)
        shape[n++] = d->extent[k];
    return n;
}

/* Every rank returns the same status, and a rank that was fine the failing rank's message
 * ("one clear error on every rank"). */
static starhalo_status_t io_agree(const io_plan_t *p, starhalo_status_t local)
{
    return starhalo__mpi_agree(p->comm, local);
}

static starhalo_status_t io_error(int mpi_rc, const char *what, const char *path)
{
    char s[MPI_MAX_ERROR_STRING] = "";
    int n = 0;
    MPI_Error_string(mpi_rc, s, &n);
    return starhalo_error_set(STARHALO_ERR_IO, "%s '%s': %s", what, path, s);
}

static void plan_free(io_plan_t *p)
{
    for (int i = 0; i < p->nlocal && p->file; i++)
        if (p->file[i] != MPI_DATATYPE_NULL)
            MPI_Type_free(&p->file[i]);
    free(p->file);
    free(p->calls);
    free(p->buf);
    p->file = NULL;
    p->calls = NULL;
    p->buf = NULL;
}

/* The subarray over C-order dims [planes, (D), H, W] of the global array selecting a part's
 * owned box. */
static starhalo_status_t part_type(const starhalo_field_t *f, const rt_part_t *rp,
                                   MPI_Datatype etype, MPI_Datatype *file)
{
    const starhalo_decomp_desc_t *d = starhalo_decomp_desc(f->decomp);
    const starhalo_box_t o = starhalo_part_plan_owned(rp->plan);
    const int nd = 1 + d->ndims;
    int64_t fsz[4] = {f->planes}, sub[4] = {f->planes}, fst[4] = {0};
    for (int j = 1; j < nd; j++) {
        const int k = d->ndims - j; /* spatial dim of array dim j */
        fsz[j] = d->extent[k];
        sub[j] = o.hi[k] - o.lo[k];
        fst[j] = o.lo[k];
    }
    int ifs[4], is[4], ifst[4];
    for (int j = 0; j < nd; j++) {
        STARHALO_REQUIRE(fsz[j] <= INT_MAX, STARHALO_ERR_UNSUPPORTED,
                         "checkpoint: extent %lld does not fit an MPI int", (long long)fsz[j]);
        ifs[j] = (int)fsz[j], is[j] = (int)sub[j], ifst[j] = (int)fst[j];
    }
    if (MPI_Type_create_subarray(nd, ifs, is, ifst, MPI_ORDER_C, etype, file) != MPI_SUCCESS ||
        MPI_Type_commit(file) != MPI_SUCCESS)
        return starhalo_error_set(STARHALO_ERR_MPI, "checkpoint: subarray type of part %d",
                                  rp->part);
    return STARHALO_OK;
}

/* A part's owned box as rows (planes x D x H of them, W elements each). */
typedef struct rows {
    starhalo_box_t g, o;
    int64_t n, len, per_plane;
} rows_t;

static rows_t part_rows(const starhalo_field_t *f, const rt_part_t *rp)
{
    rows_t r;
    r.g = starhalo_part_plan_ghosted(rp->plan);
    r.o = starhalo_part_plan_owned(rp->plan);
    r.len = r.o.hi[0] - r.o.lo[0];
    r.per_plane = (r.o.hi[1] - r.o.lo[1]) * (r.o.hi[2] - r.o.lo[2]);
    r.n = f->planes * r.per_plane;
    return r;
}

static int64_t chunk_bytes(void)
{
    return starhalo__env_int64("STARHALO_CHECKPOINT_CHUNK_BYTES", (int64_t)16 << 20,
                               (int64_t)1 << 30);
}

/* Local checks and datatypes (no communication). */
static starhalo_status_t plan_local(starhalo_field_t *f, const char *path, io_plan_t *p)
{
    STARHALO_REQUIRE(path && *path, STARHALO_ERR_INVALID_ARG, "checkpoint: empty path");
    STARHALO_REQUIRE(strlen(path) < 3500, STARHALO_ERR_INVALID_ARG, "checkpoint: path too long");
    STARHALO_REQUIRE(f->decomp, STARHALO_ERR_UNSUPPORTED,
                     "checkpoint: index fields (no decomposition) are not supported");
    int level = MPI_THREAD_SINGLE;
    MPI_Query_thread(&level);
    STARHALO_REQUIRE(level == MPI_THREAD_MULTIPLE, STARHALO_ERR_UNSUPPORTED,
                     "checkpoint I/O calls MPI next to StarPU-MPI's thread: initialise MPI with "
                     "MPI_THREAD_MULTIPLE (got level %d)",
                     level);
    p->hdr.dtype = f->dtype;
    p->hdr.ndims = starhalo_field_file_shape(f, p->hdr.shape);
    p->count = 1;
    for (int k = 0; k < p->hdr.ndims; k++)
        p->count *= p->hdr.shape[k];
    p->etype = f->dtype == STARHALO_FLOAT64 ? MPI_DOUBLE : MPI_FLOAT;
    p->esz = starhalo_dtype_size(f->dtype);
    p->file = malloc(sizeof(MPI_Datatype) * (size_t)(f->nlocal + 1));
    STARHALO_REQUIRE(p->file, STARHALO_ERR_NO_MEMORY, "checkpoint: no memory");
    p->nlocal = f->nlocal;
    for (int i = 0; i < f->nlocal; i++)
        p->file[i] = MPI_DATATYPE_NULL;
    int64_t widest = 1;
    for (int i = 0; i < f->nlocal; i++) {
        STARHALO_CHECK(part_type(f, &f->parts[i], p->etype, &p->file[i]));
        const rows_t r = part_rows(f, &f->parts[i]);
        widest = r.len > widest ? r.len : widest;
    }
    /* Whole rows per chunk, at least one (a row is at most 2^31 elements). */
    p->row_cap = chunk_bytes() / (widest * (int64_t)p->esz);
    p->row_cap = p->row_cap > 0 ? p->row_cap : 1;
    STARHALO_REQUIRE(p->row_cap * widest <= INT_MAX, STARHALO_ERR_UNSUPPORTED,
                     "checkpoint: a row of %lld elements is too long for MPI-IO counts",
                     (long long)widest);
    p->buf = malloc((size_t)(p->row_cap * widest) * p->esz);
    STARHALO_REQUIRE(p->buf, STARHALO_ERR_NO_MEMORY, "checkpoint: no memory for the buffer");
    return STARHALO_OK;
}

/* Plan, agreed; freed again on failure. Ranks must pass the same path and step/generation. */
static starhalo_status_t plan_agreed(starhalo_field_t *f, const char *path,
                                     const starhalo_checkpoint_meta_t *meta, io_plan_t *p)
{
    memset(p, 0, sizeof *p);
    p->comm = f->ctx->comm;
    p->rank = f->ctx->rank;
    p->size = f->ctx->size;
    STARHALO_CHECK(io_agree(p, plan_local(f, path, p)));
    uint64_t h = starhalo__hash(0, path, strlen(path));
    if (meta)
        h = starhalo__hash(starhalo__hash(h, &meta->step, 8), &meta->generation, 8);
    STARHALO_CHECK(starhalo__agree(p->comm, h, STARHALO_OK, "checkpoint path or metadata", 0));
    if (MPI_Allreduce(&f->nlocal, &p->rounds, 1, MPI_INT, MPI_MAX, p->comm) != MPI_SUCCESS)
        return starhalo_error_set(STARHALO_ERR_MPI, "checkpoint: MPI_Allreduce");
    int64_t *mine = calloc((size_t)p->rounds + 1, sizeof *mine);
    p->calls = calloc((size_t)p->rounds + 1, sizeof *p->calls);
    starhalo_status_t rc = io_agree(
        p, mine && p->calls ? STARHALO_OK
                            : starhalo_error_set(STARHALO_ERR_NO_MEMORY, "checkpoint: no memory"));
    for (int i = 0; rc == STARHALO_OK && i < f->nlocal; i++)
        mine[i] = (part_rows(f, &f->parts[i]).n + p->row_cap - 1) / p->row_cap;
    if (rc == STARHALO_OK &&
        MPI_Allreduce(mine, p->calls, p->rounds, MPI_INT64_T, MPI_MAX, p->comm) != MPI_SUCCESS)
        rc = starhalo_error_set(STARHALO_ERR_MPI, "checkpoint: MPI_Allreduce");
    free(mine);
    return rc;
}

static starhalo_status_t plan_create(starhalo_field_t *f, const char *path,
                                     const starhalo_checkpoint_meta_t *meta, io_plan_t *p)
{
    const starhalo_status_t rc = plan_agreed(f, path, meta, p);
    if (rc != STARHALO_OK)
        plan_free(p);
    return rc;
}

/* Copy rows [first, first + n) of a part between its tile and p->buf (to_buf: write) and add
 * them to the checksum, each keyed by its file index. */
static uint64_t copy_rows(const starhalo_field_t *f, const io_plan_t *p, const rt_part_t *rp,
                          const rows_t *r, int64_t first, int64_t n, int to_buf, uint64_t sum)
{
    const starhalo_decomp_desc_t *d = starhalo_decomp_desc(f->decomp);
    const int64_t W = d->extent[0], H = d->extent[1], D = d->ndims > 2 ? d->extent[2] : 1;
    const int64_t gw = r->g.hi[0] - r->g.lo[0], gh = r->g.hi[1] - r->g.lo[1];
    const int64_t gd = r->g.hi[2] - r->g.lo[2], oh = r->o.hi[1] - r->o.lo[1];
    for (int64_t q = first; q < first + n; q++) {
        const int64_t pl = q / r->per_plane, rem = q % r->per_plane;
        const int64_t z = r->o.lo[2] + rem / oh, y = r->o.lo[1] + rem % oh;
        const int64_t t =
            ((pl * gd + z - r->g.lo[2]) * gh + y - r->g.lo[1]) * gw + r->o.lo[0] - r->g.lo[0];
        char *tile = (char *)rp->data + (size_t)t * p->esz;
        char *b = p->buf + (size_t)((q - first) * r->len) * p->esz;
        if (to_buf)
            memcpy(b, tile, (size_t)r->len * p->esz);
        else
            memcpy(tile, b, (size_t)r->len * p->esz);
        sum = starhalo_npy_checksum_add(sum, f->dtype, b, r->len,
                                        ((pl * D + z) * H + y) * W + r->o.lo[0]);
    }
    return sum;
}

/* Acquire every local tile (stopping at a failure: *held counts the acquired prefix), or
 * release the first *held. */
static starhalo_status_t tiles(starhalo_field_t *f, int acquire, int write, int *held)
{
    if (!acquire) {
        starhalo_status_t rc = STARHALO_OK;
        for (int i = 0; i < *held; i++) {
            const starhalo_status_t r = starhalo_field_release(f, f->parts[i].part);
            rc = rc != STARHALO_OK ? rc : r;
        }
        return rc;
    }
    for (*held = 0; *held < f->nlocal; ++*held)
        STARHALO_CHECK(starhalo_field_acquire(f, f->parts[*held].part, write));
    return STARHALO_OK;
}

/* Every part slot, chunk by chunk, collectively, data after the header; *sum gets this rank's
 * share of the checksum. Every rank enters every call; a local failure is remembered. */
static starhalo_status_t transfer(starhalo_field_t *f, const io_plan_t *p, MPI_File fh,
                                  int64_t offset, int write, const char *path, uint64_t *sum)
{
    starhalo_status_t rc = STARHALO_OK;
    const int64_t pause_ms =
        write ? starhalo__env_int64("STARHALO_CHECKPOINT_PAUSE_MS", 0, 600000) : 0;
    *sum = 0;
    for (int r = 0; r < p->rounds; r++) {
        const int mine = r < f->nlocal;
        int mrc = MPI_File_set_view(fh, (MPI_Offset)offset, p->etype, mine ? p->file[r] : p->etype,
                                    "native", MPI_INFO_NULL);
        if (mrc != MPI_SUCCESS && rc == STARHALO_OK)
            rc = io_error(mrc, "checkpoint: MPI_File_set_view on", path);
        const rows_t rw = mine ? part_rows(f, &f->parts[r]) : (rows_t){0};
        for (int64_t c = 0; c < p->calls[r]; c++) {
            const int64_t first = c * p->row_cap;
            int64_t n = rw.n - first < p->row_cap ? rw.n - first : p->row_cap;
            n = n > 0 ? n : 0;
            const int count = (int)(n * rw.len);
            if (write && n)
                *sum = copy_rows(f, p, &f->parts[r], &rw, first, n, 1, *sum);
            MPI_Status st;
            mrc = write ? MPI_File_write_all(fh, p->buf, count, p->etype, &st)
                        : MPI_File_read_all(fh, p->buf, count, p->etype, &st);
            int got = 0;
            if (mrc == MPI_SUCCESS)
                MPI_Get_count(&st, p->etype, &got);
            if ((mrc != MPI_SUCCESS || got != count) && rc == STARHALO_OK)
                rc =
                    mrc != MPI_SUCCESS
                        ? io_error(mrc, write ? "checkpoint: writing" : "checkpoint: reading", path)
                        : starhalo_error_set(write ? STARHALO_ERR_IO : STARHALO_ERR_CORRUPT,
                                             "checkpoint: short %s of part %d in '%s'",
                                             write ? "write" : "read", f->parts[r].part, path);
            if (!write && n)
                *sum = copy_rows(f, p, &f->parts[r], &rw, first, n, 0, *sum);
        }
        if (r == 0 && pause_ms > 0) /* test hook: a window for killing a rank mid-write */
            nanosleep(&(struct timespec){pause_ms / 1000, (pause_ms % 1000) * 1000000}, NULL);
    }
    return rc;
}

/* Unsigned addition wraps mod 2^64, in any order. */
static starhalo_status_t sum_ranks(const io_plan_t *p, uint64_t *sum)
{
    uint64_t mine = *sum;
    if (MPI_Allreduce(&mine, sum, 1, MPI_UINT64_T, MPI_SUM, p->comm) != MPI_SUCCESS)
        return starhalo_error_set(STARHALO_ERR_MPI, "checkpoint: MPI_Allreduce of the checksum");
    return STARHALO_OK;
}

starhalo_status_t starhalo_field_write(starhalo_field_t *f, const char *path,
                                       starhalo_checkpoint_meta_t *meta)
{
    STARHALO_REQUIRE(f, STARHALO_ERR_INVALID_ARG, "field_write: field is NULL");
    io_plan_t p;
    STARHALO_CHECK(plan_create(f, path, meta, &p));
    int held = 0;
    starhalo_status_t rc = io_agree(&p, tiles(f, 1, 0, &held));
    p.hdr.has_meta = 1;
    p.hdr.step = meta ? meta->step : 0;
    p.hdr.generation = meta ? meta->generation : 0;
    char header[STARHALO_NPY_MAX_HEADER];
    size_t hlen = 0;
    /* The checksum is known after the data; its 16 digits keep the header length. Pure: the
     * same result on every rank. */
    if (rc == STARHALO_OK)
        rc = starhalo_npy_header_format(&p.hdr, header, sizeof header, &hlen);
    /* The temporary's name: rank 0's pid, so that concurrent jobs never share one. */
    int pid = (int)getpid();
    char tmp[4096];
    if (rc == STARHALO_OK && MPI_Bcast(&pid, 1, MPI_INT, 0, p.comm) != MPI_SUCCESS)
        rc = starhalo_error_set(STARHALO_ERR_MPI, "checkpoint: MPI_Bcast");
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, pid);
    MPI_File fh = MPI_FILE_NULL;
    if (rc == STARHALO_OK) {
        const int mrc =
            MPI_File_open(p.comm, tmp, MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, &fh);
        rc = io_agree(&p, mrc == MPI_SUCCESS ? STARHALO_OK
                                             : io_error(mrc, "checkpoint: cannot create", tmp));
    }
    if (rc == STARHALO_OK) {
        starhalo_status_t w = STARHALO_OK;
        const MPI_Offset bytes =
            (MPI_Offset)hlen + (MPI_Offset)p.count * (MPI_Offset)starhalo_dtype_size(f->dtype);
        int mrc = MPI_File_set_size(fh, bytes); /* drops the tail of a reused temporary */
        if (mrc != MPI_SUCCESS)
            w = io_error(mrc, "checkpoint: sizing", tmp);
        uint64_t sum = 0;
        starhalo_status_t t = transfer(f, &p, fh, (int64_t)hlen, 1, tmp, &sum);
        w = w != STARHALO_OK ? w : t;
        t = sum_ranks(&p, &sum);
        w = w != STARHALO_OK ? w : t;
        p.hdr.checksum = starhalo_npy_checksum_finish(sum, &p.hdr);
        size_t again = 0;
        t = starhalo_npy_header_format(&p.hdr, header, sizeof header, &again);
        if (t == STARHALO_OK && again != hlen)
            t = starhalo_error_set(STARHALO_ERR_INTERNAL, "checkpoint: header length changed");
        w = w != STARHALO_OK ? w : t;
        mrc = MPI_File_set_view(fh, 0, MPI_BYTE, MPI_BYTE, "native", MPI_INFO_NULL);
        if (mrc != MPI_SUCCESS && w == STARHALO_OK)
            w = io_error(mrc, "checkpoint: MPI_File_set_view on", tmp);
        if (p.rank == 0 && w == STARHALO_OK) {
            MPI_Status st;
            mrc = MPI_File_write_at(fh, 0, header, (int)hlen, MPI_BYTE, &st);
            if (mrc != MPI_SUCCESS)
                w = io_error(mrc, "checkpoint: writing the header of", tmp);
        }
        mrc = MPI_File_sync(fh);
        if (mrc != MPI_SUCCESS && w == STARHALO_OK)
            w = io_error(mrc, "checkpoint: MPI_File_sync of", tmp);
        mrc = MPI_File_close(&fh);
        if (mrc != MPI_SUCCESS && w == STARHALO_OK)
            w = io_error(mrc, "checkpoint: closing", tmp);
        rc = io_agree(&p, w); /* also the barrier before the rename */
        starhalo_status_t pub = STARHALO_OK;
        if (p.rank == 0) {
            if (rc == STARHALO_OK)
                pub = starhalo__npy_publish(tmp, path);
            else
                (void)unlink(tmp);
        }
        if (rc == STARHALO_OK)
            rc = io_agree(&p, pub);
    }
    (void)tiles(f, 0, 0, &held);
    plan_free(&p);
    if (rc == STARHALO_OK && meta)
        meta->checksum = p.hdr.checksum;
    return rc;
}

/* Rank 0: read and check the header against the field and the file size. */
static starhalo_status_t read_header(const io_plan_t *p, MPI_File fh, const char *path,
                                     starhalo_npy_header_t *h)
{
    MPI_Offset size = 0;
    int mrc = MPI_File_get_size(fh, &size);
    if (mrc != MPI_SUCCESS)
        return io_error(mrc, "checkpoint: size of", path);
    char buf[STARHALO_NPY_MAX_HEADER + 16];
    const int n = size < (MPI_Offset)sizeof buf ? (int)size : (int)sizeof buf;
    MPI_Status st;
    mrc = MPI_File_read_at(fh, 0, buf, n, MPI_BYTE, &st);
    if (mrc != MPI_SUCCESS)
        return io_error(mrc, "checkpoint: reading the header of", path);
    return starhalo_npy_header_check(buf, (size_t)n, (int64_t)size, &p->hdr, path, h);
}

starhalo_status_t starhalo_field_read(starhalo_field_t *f, const char *path,
                                      starhalo_checkpoint_meta_t *meta)
{
    STARHALO_REQUIRE(f, STARHALO_ERR_INVALID_ARG, "field_read: field is NULL");
    io_plan_t p;
    STARHALO_CHECK(plan_create(f, path, NULL, &p));
    MPI_File fh = MPI_FILE_NULL;
    int mrc = MPI_File_open(p.comm, path, MPI_MODE_RDONLY, MPI_INFO_NULL, &fh);
    starhalo_status_t rc = io_agree(
        &p, mrc == MPI_SUCCESS ? STARHALO_OK : io_error(mrc, "checkpoint: cannot open", path));
    if (rc != STARHALO_OK) {
        plan_free(&p);
        return rc;
    }
    starhalo_npy_header_t h;
    memset(&h, 0, sizeof h);
    rc = io_agree(&p, p.rank == 0 ? read_header(&p, fh, path, &h) : STARHALO_OK);
    if (rc == STARHALO_OK && MPI_Bcast(&h, (int)sizeof h, MPI_BYTE, 0, p.comm) != MPI_SUCCESS)
        rc = starhalo_error_set(STARHALO_ERR_MPI, "checkpoint: MPI_Bcast of the header");
    int held = 0;
    if (rc == STARHALO_OK)
        rc = io_agree(&p, tiles(f, 1, 1, &held));
    uint64_t sum = 0;
    if (rc == STARHALO_OK)
        rc = io_agree(&p, transfer(f, &p, fh, h.data_offset, 0, path, &sum));
    if (rc == STARHALO_OK)
        rc = sum_ranks(&p, &sum);
    if (rc == STARHALO_OK) {
        const uint64_t got = starhalo_npy_checksum_finish(sum, &h);
        if (got != h.checksum) /* the same values on every rank: no agreement needed */
            rc = starhalo_error_set(STARHALO_ERR_CORRUPT,
                                    "'%s': checksum mismatch (header 0x%016llx, data 0x%016llx)",
                                    path, (unsigned long long)h.checksum, (unsigned long long)got);
    }
    (void)tiles(f, 0, 1, &held);
    MPI_File_close(&fh);
    plan_free(&p);
    if (rc == STARHALO_OK && meta) {
        meta->step = h.step;
        meta->generation = h.generation;
        meta->checksum = h.checksum;
    }
    return rc;
}
