/*
 * remote_fence.c -- membarrier(2), where there is one.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "own_threads.h"
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
    REGISTERED = 1,
    OFFERED = 2,     /* the system has it; the process is not registered */
    REGISTERING = 3, /* on a thread of its own */
    REFUSED = -1
};

/* Two threads asking at once may both ask the system, which does no
 * harm; a late store may undo another's REFUSED, which only means asking
 * again. */
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
    int expected = UNKNOWN;
    atomic_compare_exchange_strong_explicit(&availability, &expected, known,
                                            memory_order_acq_rel,
                                            memory_order_acquire);
    return expected == UNKNOWN ? known != REFUSED : expected != REFUSED;
}

#ifdef HAVE_MEMBARRIER
static void *register_process(void *unused)
{
    (void)unused;
    own_thread_name("daglib fence");
    int known = syscall(SYS_membarrier,
                        MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0
                    ? REGISTERED
                    : REFUSED;
    atomic_store_explicit(&availability, known, memory_order_release);
    return NULL;
}

/* Start registering the process on a thread of its own, unless it is
 * registered or being registered. */
static void start_registering(void)
{
    int expected = OFFERED;
    if (!atomic_compare_exchange_strong_explicit(
            &availability, &expected, REGISTERING, memory_order_acq_rel,
            memory_order_acquire))
        return;
    pthread_attr_t attr;
    pthread_t thread;
    int made = pthread_attr_init(&attr) == 0;
    if (made) {
        made = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) ==
                   0 &&
               pthread_create(&thread, &attr, register_process, NULL) == 0;
        pthread_attr_destroy(&attr);
    }
    if (!made) /* no thread for it: do without */
        atomic_store_explicit(&availability, REFUSED, memory_order_release);
}
#endif

int remote_fence(void)
{
    atomic_thread_fence(memory_order_seq_cst);
#ifdef HAVE_MEMBARRIER
    if (!offered())
        return -1;
    switch (atomic_load_explicit(&availability, memory_order_acquire)) {
    case REGISTERED:
        if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) ==
            0)
            return 0;
        atomic_store_explicit(&availability, REFUSED, memory_order_release);
        return -1;
    case REFUSED:
        return -1;
    default:
        start_registering();
        return 1;
    }
#else
    return -1;
#endif
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
