/* SPDX-License-Identifier: MIT */
/**
 * @file rt_trace.h
 * @brief Direct-transport transfers in the FxT trace, as StarPU user events (strings).
 *
 * One transfer is two events of the rank that owns the request, both from that rank's clock:
 *
 *     starhalo_xfer post send peer=1 bytes=131072 id=17    (MPI_Start of the request)
 *     starhalo_xfer done send peer=1 bytes=131072 id=17    (its completion was seen)
 *
 * "send" or "recv"; peer is the rank in the exchange's communicator, bytes the message size,
 * id an unsigned number chosen by the caller. tools/overlap-report pairs each "done" with the
 * oldest unpaired "post" of the same rank, direction, peer and id, so the id may be unique per
 * transfer (starhalo__trace_next_id) or stable per persistent request (its slot index): a
 * request is never started again before it completed. starpu_fxt_tool 1.3.10 writes these
 * events into paje.trace as `9 <ms> prog_event <rank>_p "<string>"` (a marker on the rank's
 * program row in ViTE) and into trace.rec as "E: ProgEvent" records without the rank.
 *
 * Any thread may emit: StarPU workers, the application thread, or a plain pthread (the
 * direct transport's progress thread). starpu_fxt_tool handles these events without looking
 * at the thread, and FxT's buffer is shared by all threads of the process. Events emitted
 * before starpu_init or after starpu_shutdown are dropped (FxT is not recording); a thread
 * other than StarPU's must not emit while starpu_shutdown runs.
 *
 * Built against a StarPU without FxT (Debian's), every function below is an empty inline:
 * no formatting, no call, nothing to test at the call site. With FxT, a call that
 * starhalo__trace_enabled() would refuse costs one load of a cached flag.
 */
#ifndef STARHALO_RT_TRACE_H
#define STARHALO_RT_TRACE_H

#include <stdint.h>

#include <starhalo/starhalo_config.h>

/** Longest event string emitted, NUL included (FxT itself takes up to 2032 bytes). */
#define STARHALO__TRACE_MAX 96

#ifdef HAVE_STARPU_FXT

/** 1 when StarPU records an FxT trace (STARPU_FXT_TRACE unset or non-zero), else 0; the
 * environment is read once. */
int starhalo__trace_enabled(void);

/** A process-wide unique id (1, 2, ...), atomic: usable from any thread. */
uint64_t starhalo__trace_next_id(void);

/** Emits "starhalo_xfer post|done send|recv peer=P bytes=B id=I" (@p done 0: post). */
void starhalo__trace_xfer(int done, int is_send, int peer, int64_t bytes, uint64_t id);

/** Formats the event string into @p buf (@p len bytes); returns its length (exposed for the
 * tests, starhalo__trace_xfer uses it). */
int starhalo__trace_format(char *buf, int len, int done, int is_send, int peer, int64_t bytes,
                           uint64_t id);

#else

static inline int starhalo__trace_enabled(void)
{
    return 0;
}

static inline uint64_t starhalo__trace_next_id(void)
{
    return 0;
}

static inline void starhalo__trace_xfer(int done, int is_send, int peer, int64_t bytes, uint64_t id)
{
    (void)done;
    (void)is_send;
    (void)peer;
    (void)bytes;
    (void)id;
}

#endif /* HAVE_STARPU_FXT */

#endif /* STARHALO_RT_TRACE_H */
