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

/* 0: not asked yet; 1: registered; -1: not available.  Registering
 * twice does no harm, so two threads asking at once may both do it. */
static atomic_int availability;

static int available(void)
{
    int known = atomic_load_explicit(&availability, memory_order_acquire);
    if (known != 0)
        return known > 0;
#ifdef HAVE_MEMBARRIER
    long commands = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    known = commands >= 0 &&
                    (commands & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
                    syscall(SYS_membarrier,
                            MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0,
                            0) == 0
                ? 1
                : -1;
#else
    known = -1;
#endif
    atomic_store_explicit(&availability, known, memory_order_release);
    return known > 0;
}

int remote_fence(void)
{
    atomic_thread_fence(memory_order_seq_cst);
#ifdef HAVE_MEMBARRIER
    if (available() &&
        syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0)
        return 0;
    atomic_store_explicit(&availability, -1, memory_order_release);
#else
    (void)available();
#endif
    return -1;
}

int remote_fence_refused(void)
{
    return atomic_load_explicit(&availability, memory_order_acquire) < 0;
}

void remote_fence_pretend_refused(int refused)
{
    atomic_store_explicit(&availability, refused ? -1 : 0,
                          memory_order_release);
}
