/*
 * remote_fence.c -- membarrier(2), where there is one.
 */
#include <stdatomic.h>

#include "remote_fence.h"

#if defined(__linux__)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#if defined(SYS_membarrier)
#define HAVE_MEMBARRIER 1
#endif
#endif

enum {
    UNKNOWN = 0,     /* the system not asked yet */
    OFFERED = 2,     /* the system has it; the process is not registered */
    REGISTERED = 1,
    REFUSED = -1
};

/* Two threads asking at once may both ask the system, or both register,
 * which does no harm; a late store may undo another's REFUSED, which
 * only means asking again. */
#ifdef HAVE_MEMBARRIER
static atomic_int availability = UNKNOWN;
#else
static atomic_int availability = REFUSED;
#endif

/* Whether the system offers the command: the cheap question, asked once. */
static int offered(void)
{
    int known = atomic_load_explicit(&availability, memory_order_acquire);
    if (known != UNKNOWN)
        return known != REFUSED;
#ifdef HAVE_MEMBARRIER
    long commands = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    known = commands >= 0 && (commands & MEMBARRIER_CMD_PRIVATE_EXPEDITED)
                ? OFFERED
                : REFUSED;
#else
    known = REFUSED;
#endif
    atomic_store_explicit(&availability, known, memory_order_release);
    return known != REFUSED;
}

#ifdef HAVE_MEMBARRIER
/* Whether the process is registered for the command, registering it the
 * first time (the dear part). */
static int available(void)
{
    if (!offered())
        return 0;
    if (atomic_load_explicit(&availability, memory_order_acquire) == REGISTERED)
        return 1;
    int known = syscall(SYS_membarrier,
                        MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0
                    ? REGISTERED
                    : REFUSED;
    atomic_store_explicit(&availability, known, memory_order_release);
    return known == REGISTERED;
}
#endif

int remote_fence(void)
{
    atomic_thread_fence(memory_order_seq_cst);
#ifdef HAVE_MEMBARRIER
    if (available() &&
        syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0)
        return 0;
    atomic_store_explicit(&availability, REFUSED, memory_order_release);
#endif
    return -1;
}

int remote_fence_refused(void)
{
    return !offered();
}

void remote_fence_pretend_refused(int refused)
{
    atomic_store_explicit(&availability, refused ? REFUSED : UNKNOWN,
                          memory_order_release);
}
