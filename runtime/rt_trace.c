/* SPDX-License-Identifier: MIT */
/**
 * @file rt_trace.c
 * @brief Direct-transport transfers as FxT user events (see rt_trace.h). Compiled to nothing
 * when the StarPU built against has no FxT: rt_trace.h then has empty inlines.
 */
#include "rt_trace.h"

#ifdef HAVE_STARPU_FXT

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>

#include <starpu.h>
#include <starpu_fxt.h>

static atomic_uint_fast64_t next_id;
static atomic_int enabled = -1; /* -1: not read yet */

int starhalo__trace_enabled(void)
{
    int e = atomic_load_explicit(&enabled, memory_order_relaxed);
    if (e < 0) {
        e = starpu_fxt_is_enabled() != 0;
        atomic_store_explicit(&enabled, e, memory_order_relaxed);
    }
    return e;
}

uint64_t starhalo__trace_next_id(void)
{
    return (uint64_t)atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed) + 1;
}

int starhalo__trace_format(char *buf, int len, int done, int is_send, int peer, int64_t bytes,
                           uint64_t id)
{
    return snprintf(buf, (size_t)len, "starhalo_xfer %s %s peer=%d bytes=%" PRId64 " id=%" PRIu64,
                    done ? "done" : "post", is_send ? "send" : "recv", peer, bytes, id);
}

void starhalo__trace_xfer(int done, int is_send, int peer, int64_t bytes, uint64_t id)
{
    if (!starhalo__trace_enabled())
        return;
    /* At most 14 + 5 + 5 + 17 + 27 + 23 = 91 characters: it always fits. */
    char s[STARHALO__TRACE_MAX];
    starhalo__trace_format(s, (int)sizeof s, done, is_send, peer, bytes, id);
    starpu_fxt_trace_user_event_string(s);
}

#else

/* ISO C wants at least one declaration in a translation unit. */
typedef int starhalo__trace_unused_t;

#endif /* HAVE_STARPU_FXT */

/* ---- one request's events (used by the direct transport and the progress thread) ---- */

#include "runtime_internal.h"

void starhalo__trace_req_post(rt_reqinfo_t *r)
{
    r->id = starhalo__trace_next_id();
    r->done = 0;
    starhalo__trace_xfer(0, r->is_send, r->peer, r->bytes, r->id);
}

/* Once per post: the progress thread may have reported the request before the unpack. */
void starhalo__trace_req_done(rt_reqinfo_t *r)
{
    if (!starhalo__trace_enabled() || r->done)
        return;
    r->done = 1;
    starhalo__trace_xfer(1, r->is_send, r->peer, r->bytes, r->id);
}
