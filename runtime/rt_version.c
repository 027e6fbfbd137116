/* SPDX-License-Identifier: MIT */
/**
 * @file rt_version.c
 * @brief Version string of the library (lets applications check what they linked).
 */
#include <starhalo/starhalo_config.h>
#include <starhalo/starhalo_export.h>

STARHALO_API const char *starhalo_version(void);

const char *starhalo_version(void)
{
    return STARHALO_VERSION;
}
