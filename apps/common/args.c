/* SPDX-License-Identifier: MIT */
/**
 * @file args.c
 * @brief The "--name value" step of the apps' option loops (sparse_cg, transport_bench).
 */
#include "appkit.h"

#include <stdio.h>
#include <string.h>

int starhalo_app_next_option(int argc, char **argv, int *i, const char **name, const char **value,
                             char *err, size_t errlen)
{
    const char *a = argv[*i];
    *name = a;
    *value = NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h"))
        return 2;
    if (*i + 1 >= argc) {
        snprintf(err, errlen, "option '%s' needs a value (see --help)", a);
        return 1;
    }
    *value = argv[++*i];
    return 0;
}
