/* SPDX-License-Identifier: MIT */
/**
 * @file starhalo_export.h
 * @brief Visibility, nodiscard and C++ linkage macros shared by every public header.
 */
#ifndef STARHALO_EXPORT_H
#define STARHALO_EXPORT_H

#if defined(__GNUC__)
#define STARHALO_API         __attribute__((visibility("default")))
#define STARHALO_NODISCARD   __attribute__((warn_unused_result))
#define STARHALO_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define STARHALO_API
#define STARHALO_NODISCARD
#define STARHALO_UNLIKELY(x) (x)
#endif

#ifdef __cplusplus
#define STARHALO_BEGIN_DECLS extern "C" {
#define STARHALO_END_DECLS   }
#else
#define STARHALO_BEGIN_DECLS
#define STARHALO_END_DECLS
#endif

#endif
