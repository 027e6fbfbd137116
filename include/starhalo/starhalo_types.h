/* SPDX-License-Identifier: MIT */
/**
 * @file starhalo_types.h
 * @brief Small enums shared by every layer: element types and reduction operators.
 */
#ifndef STARHALO_TYPES_H
#define STARHALO_TYPES_H

#include <stddef.h>

#include <starhalo/starhalo_error.h>

STARHALO_BEGIN_DECLS

/** Element type of a field. */
typedef enum starhalo_dtype { STARHALO_FLOAT32 = 0, STARHALO_FLOAT64 = 1 } starhalo_dtype_t;

/** How a reverse exchange combines incoming ghost values with the owner's values. */
typedef enum starhalo_reduce_op {
    STARHALO_REDUCE_REPLACE = 0, /**< owner takes the incoming value */
    STARHALO_REDUCE_SUM,         /**< owner adds it (gradients) */
    STARHALO_REDUCE_MAX,
    STARHALO_REDUCE_MIN
} starhalo_reduce_op_t;

/** @return 4 or 8, or 0 for an unknown type. */
STARHALO_API size_t starhalo_dtype_size(starhalo_dtype_t dtype);
/** Parse "float32"/"float64" (also "f32", "f64", "float", "double"). */
STARHALO_API STARHALO_NODISCARD starhalo_status_t starhalo_dtype_parse(const char *name,
                                                                       starhalo_dtype_t *out);
/** Parse "replace", "sum", "max", "min". */
STARHALO_API STARHALO_NODISCARD starhalo_status_t
starhalo_reduce_op_parse(const char *name, starhalo_reduce_op_t *out);
STARHALO_API const char *starhalo_reduce_op_name(starhalo_reduce_op_t op);

STARHALO_END_DECLS

#endif
