/* SPDX-License-Identifier: MIT */
/**
 * @file types.c
 * @brief Element types and reduction operators: sizes, names, parsing.
 */
#include <starhalo/starhalo_types.h>

#include <string.h>

size_t starhalo_dtype_size(starhalo_dtype_t dtype)
{
    switch (dtype) {
    case STARHALO_FLOAT32:
        return 4;
    case STARHALO_FLOAT64:
        return 8;
    }
    return 0;
}

starhalo_status_t starhalo_dtype_parse(const char *name, starhalo_dtype_t *out)
{
    STARHALO_REQUIRE(name && out, STARHALO_ERR_INVALID_ARG, "dtype: NULL argument");
    if (!strcmp(name, "float32") || !strcmp(name, "f32") || !strcmp(name, "float")) {
        *out = STARHALO_FLOAT32;
        return STARHALO_OK;
    }
    if (!strcmp(name, "float64") || !strcmp(name, "f64") || !strcmp(name, "double")) {
        *out = STARHALO_FLOAT64;
        return STARHALO_OK;
    }
    return starhalo_error_set(STARHALO_ERR_INVALID_ARG,
                              "unknown dtype '%s' (expected float32 or float64)", name);
}

static const char *const reduce_names[] = {"replace", "sum", "max", "min"};

starhalo_status_t starhalo_reduce_op_parse(const char *name, starhalo_reduce_op_t *out)
{
    STARHALO_REQUIRE(name && out, STARHALO_ERR_INVALID_ARG, "reduce op: NULL argument");
    for (int i = 0; i < 4; i++) {
        if (!strcmp(name, reduce_names[i])) {
            *out = (starhalo_reduce_op_t)i;
            return STARHALO_OK;
        }
    }
    return starhalo_error_set(STARHALO_ERR_INVALID_ARG,
                              "unknown reduction '%s' (expected replace, sum, max or min)", name);
}

const char *starhalo_reduce_op_name(starhalo_reduce_op_t op)
{
    return (op >= STARHALO_REDUCE_REPLACE && op <= STARHALO_REDUCE_MIN) ? reduce_names[op]
                                                                        : "unknown";
}
