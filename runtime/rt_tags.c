/* SPDX-License-Identifier: MIT */
/**
 * @file rt_tags.c
 * @brief MPI tag booking (a first-fit free-range list bounded by the tag upper bound) and the
 * collective agreement check used by field and exchange creation.
 *
 * Invariant: every rank books and releases in the same order (field/exchange create and
 * destroy are collective), so the same call gets the same base everywhere; a booked range is
 * reused by every exchange call and returned on destroy, so tags never grow.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_status.h"
#include "runtime_internal.h"

starhalo_status_t starhalo__tags_book(starhalo_context_t *ctx, int64_t n, int64_t *base)
{
    for (int i = 0; i < ctx->nfree_tags; i++) {
        rt_tag_range_t *r = &ctx->free_tags[i];
        if (r->hi - r->lo >= n) {
            *base = r->lo;
            r->lo += n;
            if (r->lo == r->hi) {
                memmove(r, r + 1, sizeof(*r) * (size_t)(ctx->nfree_tags - i - 1));
                ctx->nfree_tags--;
            }
            return STARHALO_OK;
        }
    }
    return starhalo_error_set(STARHALO_ERR_TAGS_EXHAUSTED,
                              "no %lld free consecutive MPI tags below the tag bound %lld",
                              (long long)n, (long long)ctx->tag_ub);
}

void starhalo__tags_release(starhalo_context_t *ctx, int64_t base, int64_t n)
{
    if (n <= 0)
        return;
    int i = 0;
    while (i < ctx->nfree_tags && ctx->free_tags[i].lo < base)
        i++;
    /* Merge with the previous and/or next range when adjacent. */
    const int prev = i > 0 && ctx->free_tags[i - 1].hi == base;
    const int next = i < ctx->nfree_tags && ctx->free_tags[i].lo == base + n;
    if (prev && next) {
        ctx->free_tags[i - 1].hi = ctx->free_tags[i].hi;
        memmove(&ctx->free_tags[i], &ctx->free_tags[i + 1],
                sizeof(rt_tag_range_t) * (size_t)(ctx->nfree_tags - i - 1));
        ctx->nfree_tags--;
    } else if (prev) {
        ctx->free_tags[i - 1].hi += n;
    } else if (next) {
        ctx->free_tags[i].lo = base;
    } else {
        rt_tag_range_t *grown =
            realloc(ctx->free_tags, sizeof(*grown) * (size_t)(ctx->nfree_tags + 1));
        if (!grown)
            return; /* the range is lost, never reused twice: still correct */
        ctx->free_tags = grown;
        memmove(&grown[i + 1], &grown[i], sizeof(*grown) * (size_t)(ctx->nfree_tags - i));
        grown[i].lo = base;
        grown[i].hi = base + n;
        ctx->nfree_tags++;
    }
}

uint64_t starhalo__hash(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    if (h == 0)
        h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* The MPI layer's one agreement (mpi_status.c); without @p spread a rank whose own input
 * was fine reports MISMATCH rather than another rank's error, as field and exchange creation
 * document. */
starhalo_status_t starhalo__agree(MPI_Comm comm, uint64_t hash, starhalo_status_t local_err,
                                  const char *what, int spread)
{
    const starhalo_status_t rc = starhalo__agree_status(comm, local_err, hash, what);
    if (local_err != STARHALO_OK)
        return rc == STARHALO_ERR_MPI && rc != local_err ? rc : local_err;
    if (rc == STARHALO_OK || spread || rc == STARHALO_ERR_MISMATCH)
        return rc;
    char why[512]; /* the agreement's message names the failing rank and its error */
    snprintf(why, sizeof why, "%s", starhalo_last_error_message());
    return starhalo_error_set(STARHALO_ERR_MISMATCH, "another rank rejected its %s (%s): %s", what,
                              starhalo_err_name(rc), why);
}
