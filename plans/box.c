/* SPDX-License-Identifier: MIT */
/**
 * @file box.c
 * @brief Half-open box arithmetic and the split-method names.
 */
#include "plans_internal.h"

#include <string.h>

int64_t starhalo_box_volume(const starhalo_box_t *box)
{
    if (!box)
        return 0;
    int64_t v = 1;
    for (int d = 0; d < STARHALO_MAX_DIMS; d++) {
        if (box->hi[d] <= box->lo[d])
            return 0;
        v *= box->hi[d] - box->lo[d];
    }
    return v;
}

starhalo_box_t starhalo_box_intersect(const starhalo_box_t *a, const starhalo_box_t *b)
{
    starhalo_box_t r = starhalo__box_empty();
    if (!a || !b)
        return r;
    for (int d = 0; d < STARHALO_MAX_DIMS; d++) {
        r.lo[d] = a->lo[d] > b->lo[d] ? a->lo[d] : b->lo[d];
        r.hi[d] = a->hi[d] < b->hi[d] ? a->hi[d] : b->hi[d];
        if (r.hi[d] < r.lo[d])
            r.hi[d] = r.lo[d]; /* keep empty boxes well-formed: lo == hi */
    }
    return r;
}

static const char *const split_names[] = {"vertical", "horizontal", "square", "grid"};

starhalo_status_t starhalo_split_parse(const char *name, starhalo_split_t *out)
{
    STARHALO_REQUIRE(name && out, STARHALO_ERR_INVALID_ARG, "split: NULL argument");
    for (int i = 0; i < 4; i++) {
        if (!strcmp(name, split_names[i])) {
            *out = (starhalo_split_t)i;
            return STARHALO_OK;
        }
    }
    return starhalo_error_set(STARHALO_ERR_INVALID_ARG,
                              "unknown split method '%s' (expected vertical, horizontal, "
                              "square or grid)",
                              name);
}

const char *starhalo_split_name(starhalo_split_t split)
{
    return (split >= STARHALO_SPLIT_VERTICAL && split <= STARHALO_SPLIT_GRID) ? split_names[split]
                                                                              : "unknown";
}
