/*
 * remote_fence.h -- a memory barrier executed by the process's other
 * threads, on request.
 *
 * Where one side of a handshake runs often (a run's caller, once a task)
 * and the other once (a helper joining the run), the busy side can go
 * without a fence: the rare side makes every running thread of the
 * process execute one, which orders the busy side's accesses as its own
 * fence would have (Linux's membarrier, private expedited: a fraction of
 * a microsecond, against a fence on every task).
 */
#ifndef DAGLIB_REMOTE_FENCE_H
#define DAGLIB_REMOTE_FENCE_H

/* Whether remote_fence() can work here: 1, or 0 on a system without it.
 * The first call registers the process for it; later calls only read
 * what the first found. */
int remote_fence_available(void);

/* Make every other running thread of the process execute a full memory
 * barrier before this returns, and fence the calling thread.  0, or -1
 * when the system refused (nothing is then ordered). */
int remote_fence(void);

#endif
