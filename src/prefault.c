/*
 * prefault.c -- see prefault.h.
 *
 * A request is a range cut into chunks that whoever takes part claims one
 * at a time from a counter: the helper, and for prefault_now() the caller,
 * who goes on claiming until none are left and then waits only for the
 * chunk the helper is on.  The helper is a worker pool of one thread, so a
 * request it never got to (its thread still asleep when the caller is
 * done) is simply dropped.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>

#include "prefault.h"
#include "worker_pool.h"

/* Below this, waking the helper costs more than it saves: a page costs
 * about a microsecond, waking a thread tens of them. */
#define SHARE_MIN_BYTES ((size_t)1 << 20)
/* What a caller sharing a request waits for at most once it is done (the
 * helper's chunk in progress), and what one madvise() call faults in: the
 * kernel holds the process's memory map for the call, so a caller's
 * mmap() waits for it.  16 pages: 256 KiB chunks made a fresh 1M-task
 * build 2-4 ns a task slower. */
#define SHARE_CHUNK_BYTES ((size_t)64 << 10)

static struct {
    pthread_mutex_t lock; /* one caller at a time */
    worker_pool *pool;    /* the helper: one thread */
    int posted;           /* a request posted and not waited for */
    /* The request: */
    char *start;
    size_t len, n_chunks;
    _Atomic size_t next_chunk; /* chunks claimed so far */
    _Atomic size_t *mark;      /* raised to mark_to when the helper did all */
    size_t mark_to;
    /* The mapping of a request of prefault_ahead() not waited for yet. */
    _Atomic(const void *) owner;
} helper = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void fault_in(void *start, size_t len, int *failed)
{
#ifdef MADV_POPULATE_WRITE
    if (madvise(start, len, MADV_POPULATE_WRITE) != 0)
        *failed = 1;
#else
    (void)start, (void)len;
    *failed = 1;
#endif
}

/* Claim chunks of the request until none are left; 1 when this thread
 * faulted all of it in. */
static int claim_chunks(void)
{
    size_t i, done = 0;
    int failed = 0;
    while ((i = atomic_fetch_add_explicit(&helper.next_chunk, 1,
                                          memory_order_relaxed)) <
           helper.n_chunks) {
        size_t at = i * SHARE_CHUNK_BYTES;
        size_t len = helper.len - at < SHARE_CHUNK_BYTES ? helper.len - at
                                                          : SHARE_CHUNK_BYTES;
        fault_in(helper.start + at, len, &failed);
        done++;
    }
    return done == helper.n_chunks && !failed;
}

static void helper_job(void *ctx, uint32_t slot)
{
    (void)ctx, (void)slot;
    if (claim_chunks() && helper.mark != NULL)
        prefault_mark_raise(helper.mark, helper.mark_to);
}

/* Under the lock: the request posted is over (done, or dropped untaken). */
static void finish_locked(void)
{
    if (!helper.posted)
        return;
    worker_pool_wait(helper.pool);
    helper.posted = 0;
    atomic_store_explicit(&helper.owner, NULL, memory_order_relaxed);
}

/* A child of fork() has the helper's memory but not its thread: the pool
 * notices and makes a new one; the request in progress is forgotten. */
static void before_fork(void) { pthread_mutex_lock(&helper.lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&helper.lock); }
static void after_fork_child(void)
{
    helper.posted = 0;
    atomic_store_explicit(&helper.owner, NULL, memory_order_relaxed);
    pthread_mutex_unlock(&helper.lock);
}

static pthread_once_t setup = PTHREAD_ONCE_INIT;
static int cpus_allowed = 1;

static void set_up(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        cpus_allowed = CPU_COUNT(&set);
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

/* Take the helper for a request of len bytes from start, made a thread for
 * it when needed; 0 (nothing taken) when the process has one CPU, another
 * caller has it, or no thread can be made. */
static int take_helper(void *start, size_t len)
{
    pthread_once(&setup, set_up);
    if (cpus_allowed < 2 || pthread_mutex_trylock(&helper.lock) != 0)
        return 0;
    finish_locked();
    if (helper.pool == NULL)
        helper.pool = worker_pool_new();
    if (helper.pool == NULL || worker_pool_reserve(&helper.pool, 1) == 0) {
        pthread_mutex_unlock(&helper.lock);
        return 0;
    }
    helper.start = start;
    helper.len = len;
    helper.n_chunks = (len + SHARE_CHUNK_BYTES - 1) / SHARE_CHUNK_BYTES;
    atomic_store_explicit(&helper.next_chunk, 0, memory_order_relaxed);
    helper.mark = NULL;
    return 1;
}

static void post_locked(void)
{
    worker_pool_post(helper.pool, 1, helper_job, NULL);
    helper.posted = 1;
}

void prefault_now(void *start, size_t len)
{
    int failed = 0;
    if (len < SHARE_MIN_BYTES || !take_helper(start, len)) {
        fault_in(start, len, &failed);
        return;
    }
    post_locked();
    claim_chunks();
    finish_locked();
    pthread_mutex_unlock(&helper.lock);
}

void prefault_ahead(const void *owner, void *start, size_t len,
                    _Atomic size_t *mark, size_t mark_to)
{
    /* Only the helper claims its chunks. */
    if (len == 0 || !take_helper(start, len))
        return;
    helper.mark = mark;
    helper.mark_to = mark_to;
    atomic_store_explicit(&helper.owner, owner, memory_order_relaxed);
    post_locked();
    pthread_mutex_unlock(&helper.lock);
}

void prefault_forget(const void *owner)
{
    /* Only the mapping's user posts requests on it, so what it reads here
     * is its own request or none of its mapping's. */
    if (atomic_load_explicit(&helper.owner, memory_order_relaxed) != owner)
        return;
    pthread_mutex_lock(&helper.lock);
    if (atomic_load_explicit(&helper.owner, memory_order_relaxed) == owner)
        finish_locked();
    pthread_mutex_unlock(&helper.lock);
}

void prefault_release(void)
{
    pthread_mutex_lock(&helper.lock);
    finish_locked();
    worker_pool_destroy(helper.pool);
    helper.pool = NULL;
    pthread_mutex_unlock(&helper.lock);
}
