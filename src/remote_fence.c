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
#include <pthread.h>

#include "own_threads.h"
#endif
#endif

enum {
    UNKNOWN = 0,     /* the system not asked yet */
    REGISTERED = 1,
    OFFERED = 2,     /* the system has it; the process is not registered */
    REGISTERING = 3, /* on a thread of its own */
    REFUSED = -1
};

/* The moves that can come late -- the system's answer, the registering
 * thread's result -- are compare-and-swaps from the state they leave, so
 * that they undo nothing; what is left -- the system asked again after a
 * test's reset, a registered process registering again -- does no harm. */
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
    int expected = REGISTERING;
    atomic_compare_exchange_strong_explicit(&availability, &expected, known,
                                            memory_order_acq_rel,
                                            memory_order_relaxed);
    return NULL;
}

/* A child forked while the process registered has no thread doing it:
 * it registers afresh when next asked.  (A registration finished before
 * the fork holds in the child.) */
static void forget_registering(void)
{
    int expected = REGISTERING;
    atomic_compare_exchange_strong_explicit(&availability, &expected, OFFERED,
                                            memory_order_relaxed,
                                            memory_order_relaxed);
}

static void watch_forks(void)
{
    pthread_atfork(NULL, NULL, forget_registering);
}

/* Start registering the process on a thread of its own, unless it is
 * registered or being registered. */
static void start_registering(void)
{
    static pthread_once_t forks_watched = PTHREAD_ONCE_INIT;
    pthread_once(&forks_watched, watch_forks);
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
    if (!made) /* no thread for it: this process does without, for good */
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
