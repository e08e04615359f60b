/*
 * remote_fence.h -- a memory barrier executed by the process's other
 * threads, on request.
 *
 * Where one side of a handshake runs often (a run's caller, once a task)
 * and the other seldom (a helper joining a run while the caller is in a
 * long task), the busy side can go without a fence: the rare side makes
 * every running thread of the process execute one, which orders the busy
 * side's accesses as its own fence would have.  On Linux this is
 * membarrier's private expedited command: 0.5-4 us a call here.  The
 * process must register for it first, which costs 15-20 ms once the
 * process has threads (the kernel waits for an RCU grace period): that is
 * done on a thread of its own at the first call, so that nobody waits
 * for it; the fence works from when it is done.
 */
#ifndef DAGLIB_REMOTE_FENCE_H
#define DAGLIB_REMOTE_FENCE_H

/* Make every other running thread of the process execute a full memory
 * barrier before this returns, and fence the calling thread: 0.  1 when
 * the process is not registered yet (the first call starts that): ask
 * again later.  -1 when the system cannot (nothing is then ordered, and
 * later calls fail at once). */
int remote_fence(void);

/* Whether remote_fence() cannot work here: the system has no such
 * fence, or a call failed already.  A caller that needs it can then do
 * without from the start.  Asks the system once, cheaply, and registers
 * nothing. */
int remote_fence_refused(void);

/* For tests: behave from now on as if the system had no remote fence
 * (refused 1), or as before the first call (0). */
void remote_fence_pretend_refused(int refused);

#endif
