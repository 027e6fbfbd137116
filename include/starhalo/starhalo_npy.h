/* SPDX-License-Identifier: MIT */
/**
 * @file starhalo_npy.h
 * @brief NumPy .npy headers and the checkpoint checksum: pure functions (no MPI, no StarPU),
 * shared by the checkpoint I/O of the runtime (starhalo_checkpoint.h) and the apps' --dump.
 *
 * A checkpoint is a plain .npy file (format 1.0; 2.0 when the header exceeds 64 KiB): magic,
 * version, header length, the dict `{'descr': '<f4', 'fortran_order': False, 'shape': (...), }`,
 * then starhalo's metadata as a Python comment on the same header line,
 * `# starhalo step=<int> generation=<int> checksum=0x<16 hex digits>`, spaces up to a 64-byte
 * boundary and '\n'. NumPy evaluates the header with ast.literal_eval, which ignores the
 * comment, and rejects extra dict keys, hence the comment (docs/CHECKPOINT.md).
 */
#ifndef STARHALO_NPY_H
#define STARHALO_NPY_H

#include <stddef.h>
#include <stdint.h>

#include <starhalo/starhalo_error.h>
#include <starhalo/starhalo_types.h>

STARHALO_BEGIN_DECLS

/** Most dimensions a header may describe. */
#define STARHALO_NPY_MAX_DIMS 8
/** Longest header starhalo_npy_header_format() writes or starhalo_npy_header_parse() reads
 * (NumPy's own limit of its reader is 10000 bytes). */
#define STARHALO_NPY_MAX_HEADER 4096

/** A parsed or to-be-written .npy header. */
typedef struct starhalo_npy_header {
    starhalo_dtype_t dtype;               /**< '<f4' or '<f8' */
    int ndims;                            /**< 0 (a scalar) .. STARHALO_NPY_MAX_DIMS */
    int64_t shape[STARHALO_NPY_MAX_DIMS]; /**< C order, slowest first */
    int64_t data_offset;                  /**< bytes before the data (set by both calls) */
    int has_meta;                         /**< the starhalo comment is (to be) present */
    int64_t step;                         /**< metadata: application step */
    int64_t generation;                   /**< metadata: free for the application */
    uint64_t checksum;                    /**< metadata: starhalo_npy_checksum_finish() */
} starhalo_npy_header_t;

/**
 * Format @p h (dtype, ndims, shape and, with has_meta, step/generation/checksum) as a complete
 * .npy header into @p buf; sets *len and h->data_offset to its length (a multiple of 64).
 * @retval STARHALO_ERR_INVALID_ARG NULL, bad dtype or ndims, a negative extent
 * @retval STARHALO_ERR_OUT_OF_RANGE @p cap is too small
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_npy_header_format(starhalo_npy_header_t *h, char *buf, size_t cap, size_t *len);

/**
 * Parse the start of a .npy file. @p buf holds the first @p len bytes of the file (the whole
 * header must be inside; data after it is ignored). Accepts what NumPy writes for little-endian
 * float32/float64 C-order arrays (versions 1.0, 2.0, 3.0; keys in any order) plus starhalo's
 * metadata comment; nothing else. Never reads outside [buf, buf + len).
 * @retval STARHALO_ERR_CORRUPT not an .npy (magic, version), header cut short, not a dict of
 *         exactly descr/fortran_order/shape, a damaged metadata comment
 * @retval STARHALO_ERR_UNSUPPORTED a dtype other than <f4/<f8, Fortran order, too many dims
 * @retval STARHALO_ERR_INVALID_ARG @p buf or @p out is NULL
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_npy_header_parse(const char *buf, size_t len, starhalo_npy_header_t *out);

/**
 * Parse the first @p len bytes of a file of @p file_size bytes (named @p path in messages) as
 * a starhalo checkpoint and check it against @p want (dtype, ndims, shape): it must carry the
 * metadata comment, and its size must be the header plus exactly the array.
 * @retval STARHALO_ERR_CORRUPT as starhalo_npy_header_parse(), no metadata, truncated or too long
 * @retval STARHALO_ERR_FILE_MISMATCH dtype or shape differ from @p want
 * @retval STARHALO_ERR_UNSUPPORTED as starhalo_npy_header_parse()
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_npy_header_check(
    const char *buf, size_t len, int64_t file_size, const starhalo_npy_header_t *want,
    const char *path, starhalo_npy_header_t *out);

/**
 * Save a whole array held by one process (e.g. replicated weights) as a checkpoint .npy: the
 * checksum is computed into h->checksum (h->has_meta is set), the file is written as
 * `<path>.tmp.<pid>`, fsync'ed and renamed over @p path, so a crash leaves the old file.
 * Not collective: call it on one rank.
 * @retval STARHALO_ERR_IO (the message names the file and the errno text)
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_npy_save(const char *path,
                                                                    starhalo_npy_header_t *h,
                                                                    const void *data);

/**
 * Load a checkpoint .npy written by starhalo_npy_save() (or starhalo_field_write()) whose
 * dtype and shape must be those of @p want, into @p data (room for the whole array), verifying
 * its size and checksum; @p out receives the header (step, generation). Not collective.
 * @retval STARHALO_ERR_IO, STARHALO_ERR_CORRUPT, STARHALO_ERR_FILE_MISMATCH as
 *         starhalo_npy_header_check(), and CORRUPT for a checksum mismatch
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_npy_load(
    const char *path, const starhalo_npy_header_t *want, starhalo_npy_header_t *out, void *data);

/** Rename the synced temporary @p tmp over @p path and sync the directory (internal, shared
 * by starhalo_npy_save and starhalo_field_write). */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo__npy_publish(const char *tmp,
                                                                        const char *path);

/**
 * Add @p count elements of @p dtype, the first at linear (C-order, file-order) index
 * @p first_index of the array, to a running checksum. The sum over all elements (in any order,
 * split any way: addition mod 2^64) is independent of the decomposition that holds them:
 * sum_i mix(bits_i + i * 0x9E3779B97F4A7C15) with mix(x) = x ^ x >> 29, * 0xBF58476D1CE4E5B9,
 * ^ >> 32 (a bijection, so any change of one element changes the sum). NULL @p data or an
 * unknown dtype adds nothing.
 */
STARHALO_API uint64_t starhalo_npy_checksum_add(uint64_t sum, starhalo_dtype_t dtype,
                                                const void *data, int64_t count,
                                                int64_t first_index);

/** The stored checksum: FNV-1a over the 8-byte little-endian words (sum, dtype, ndims,
 * shape[0..ndims), step, generation) of @p h, so metadata damage is caught too; 0 for a
 * NULL @p h. */
STARHALO_API uint64_t starhalo_npy_checksum_finish(uint64_t sum, const starhalo_npy_header_t *h);

STARHALO_END_DECLS

#endif
