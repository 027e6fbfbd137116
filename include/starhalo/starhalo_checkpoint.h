/* SPDX-License-Identifier: MIT */
/**
 * @file starhalo_checkpoint.h
 * @brief Checkpoint and restart of a distributed field: collective MPI-IO of every part's
 * owned cells into ONE NumPy .npy file holding the global array, independent of the
 * decomposition (docs/CHECKPOINT.md).
 *
 * File: shape (N, C, [D,] H, W) (batch and channels always, 1 when the decomposition has
 * none), the field's dtype, C order; `numpy.load(path)` opens it. The header
 * carries step, generation and a checksum of the data (starhalo_npy.h).
 */
#ifndef STARHALO_CHECKPOINT_H
#define STARHALO_CHECKPOINT_H

#include <starhalo/starhalo_npy.h>
#include <starhalo/starhalo_runtime.h>

STARHALO_BEGIN_DECLS

/** What a checkpoint records besides the array. */
typedef struct starhalo_checkpoint_meta {
    int64_t step;       /**< the application's step (e.g. iterations done) */
    int64_t generation; /**< free for the application (a run id, a buffer index) */
    uint64_t checksum;  /**< out: the checksum written or verified */
} starhalo_checkpoint_meta_t;

/**
 * Write the owned cells of every part of @p field to @p path: each part's box through a
 * subarray file view (collective MPI_File_write_all calls of a bounded staging buffer,
 * STARHALO_CHECKPOINT_CHUNK_BYTES), the header by rank 0, into `<path>.tmp.<pid of rank 0>`,
 * then MPI_File_sync, close, a barrier, and rank 0 renames it onto @p path (and syncs the
 * directory): a crash at any point leaves the previous file intact. Waits for the tasks
 * writing the tiles. Collective: same path and meta on every rank. @p meta may be NULL (step
 * 0, generation 0); its checksum is set on return.
 * @retval STARHALO_ERR_IO open/write/sync/rename failed (the message names the file and the
 *         MPI or errno text); STARHALO_ERR_MISMATCH ranks passed different paths or metadata;
 *         STARHALO_ERR_UNSUPPORTED an index field, an extent over INT_MAX, MPI below
 *         MPI_THREAD_MULTIPLE. Every rank returns the same status and message.
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_field_write(starhalo_field_t *field, const char *path, starhalo_checkpoint_meta_t *meta);

/**
 * Read @p path (written by starhalo_field_write from any decomposition, rank count and part
 * map of the same global shape and dtype) into the owned cells of @p field; ghost cells are
 * not touched (the next exchange fills them). Verifies the size and the checksum. Collective.
 * @p meta (may be NULL) receives step, generation and checksum.
 * On error the owned cells may be partly overwritten. Every rank returns the same status and
 * message:
 * @retval STARHALO_ERR_IO the file is missing or unreadable
 * @retval STARHALO_ERR_CORRUPT not an .npy, no starhalo metadata, truncated or longer than the
 *         header says, checksum mismatch
 * @retval STARHALO_ERR_FILE_MISMATCH dtype or shape differ from the field's
 */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_field_read(starhalo_field_t *field, const char *path, starhalo_checkpoint_meta_t *meta);

/**
 * The .npy shape of @p field's global array (see the file comment); returns ndims.
 */
STARHALO_API int starhalo_field_file_shape(const starhalo_field_t *field,
                                           int64_t shape[STARHALO_NPY_MAX_DIMS]);

STARHALO_END_DECLS

#endif
