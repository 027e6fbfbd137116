/* SPDX-License-Identifier: MIT */
/**
 * @file starhalo_error.h
 * @brief The one status enum of starhalo, its messages, and the propagation macros.
 *
 * Every fallible function returns a starhalo_status_t. Codes are negative (like StarPU's
 * -errno returns), so `if (rc < 0)` works everywhere. The library never exits or aborts.
 */
#ifndef STARHALO_ERROR_H
#define STARHALO_ERROR_H

#include <starhalo/starhalo_export.h>

STARHALO_BEGIN_DECLS

/* One list generates the enum, the messages and the names (libuv's UV_ERRNO_MAP). */
#define STARHALO_ERRNO_MAP(XX)                                                                     \
    XX(INVALID_ARG, -1, "invalid argument")                                                        \
    XX(NO_MEMORY, -2, "out of memory")                                                             \
    XX(NOT_INITIALIZED, -3, "context not initialized")                                             \
    XX(UNSUPPORTED, -4, "not supported by this build")                                             \
    XX(NO_DEVICE, -5, "no worker or device can run this")                                          \
    XX(PLAN_INVALID, -6, "plan is inconsistent")                                                   \
    XX(HALO_TOO_WIDE, -7, "halo wider than the neighbouring part")                                 \
    XX(TOO_MANY_PARTS, -8, "more parts than cells")                                                \
    XX(NOT_SQUARE, -9, "part count is not a perfect square")                                       \
    XX(OUT_OF_RANGE, -10, "index out of range")                                                    \
    XX(MISMATCH, -11, "ranks disagree on a collective argument")                                   \
    XX(TAGS_EXHAUSTED, -12, "MPI tag space exhausted")                                             \
    XX(MPI, -13, "MPI call failed")                                                                \
    XX(STARPU, -14, "StarPU call failed")                                                          \
    XX(CUDA, -15, "CUDA call failed")                                                              \
    XX(DNNL, -16, "oneDNN call failed")                                                            \
    XX(HWLOC, -17, "hwloc call failed")                                                            \
    XX(IO, -18, "file input/output failed")                                                        \
    XX(TASK_FAILED, -19, "a task reported a failure")                                              \
    XX(INTERNAL, -20, "internal error (bug)")                                                      \
    XX(CORRUPT, -21, "file is truncated, corrupted or not a starhalo .npy checkpoint")             \
    XX(FILE_MISMATCH, -22, "file does not match the expected dtype or shape")

/** Status returned by every fallible starhalo function. */
typedef enum starhalo_status {
    STARHALO_OK = 0,
#define STARHALO_XX_(name, code, msg) STARHALO_ERR_##name = (code),
    STARHALO_ERRNO_MAP(STARHALO_XX_)
#undef STARHALO_XX_
} starhalo_status_t;

/** @return a static, human-readable message for @p status ("invalid argument"). */
STARHALO_API const char *starhalo_strerror(starhalo_status_t status);

/** @return the enumerator's name for @p status ("STARHALO_ERR_INVALID_ARG"). */
STARHALO_API const char *starhalo_err_name(starhalo_status_t status);

/**
 * @return the detailed message of the last error raised on this thread with
 * starhalo_error_set(), e.g. "halo 3 on the minus side of dim 0 is wider than part 2 (2
 * cells)"; "" when none.
 */
STARHALO_API const char *starhalo_last_error_message(void);

/**
 * Record a detailed message for the calling thread and return @p status unchanged: how the
 * library's layers report, and how an application's own code or codelets report through the
 * same channel (starhalo_last_error_message() reads it back).
 */
STARHALO_API starhalo_status_t starhalo_error_set(starhalo_status_t status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** Clear this thread's last error message. */
STARHALO_API void starhalo_error_clear(void);

/** Propagate a non-OK status to the caller; always braced, never compiled out. */
#define STARHALO_CHECK(expr)                                                                       \
    do {                                                                                           \
        starhalo_status_t starhalo_rc_ = (expr);                                                   \
        if (STARHALO_UNLIKELY(starhalo_rc_ != STARHALO_OK))                                        \
            return starhalo_rc_;                                                                   \
    } while (0)

/** Check a precondition; on failure record a formatted message and return @p code. */
#define STARHALO_REQUIRE(cond, code, ...)                                                          \
    do {                                                                                           \
        if (STARHALO_UNLIKELY(!(cond)))                                                            \
            return starhalo_error_set((code), __VA_ARGS__);                                        \
    } while (0)

STARHALO_END_DECLS

#endif
