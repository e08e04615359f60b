/*
 * prefault.c -- see prefault.h.
 *
 * Requests wait in a small table, each a range cut into chunks claimed one
 * at a time under the helper's lock.  A request of prefault_soon() is the
 * helper's alone, oldest first.  One of prefault_now() has its caller
 * claiming chunks too, and the helper takes it before the others: its
 * caller waits for no more than the chunk the helper is on.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "own_threads.h"
#include "prefault.h"

/* Below this, waking the helper costs more than it saves: a page costs
 * about a microsecond, waking a thread tens of them. */
#define SHARE_MIN_BYTES ((size_t)1 << 20)
/* What a caller of prefault_now() waits for at most (the helper's chunk in
 * progress), and what one madvise() call faults in: the kernel holds the
 * process's memory map for the call, so a caller's mmap() waits for it.
 * 16 pages: 256 KiB chunks made a fresh 1M-task build 2-4 ns a task
 * slower. */
#define CHUNK_BYTES ((size_t)64 << 10)
/* Requests waiting or in progress at once; more are not taken (they are
 * hints). */
#define QUEUE_SLOTS 16

typedef struct request {
    const void *owner; /* NULL: a free slot */
    char *start;
    size_t len;
    size_t n_chunks; /* cut short by prefault_forget() */
    size_t claimed;  /* chunks handed out */
    size_t finished; /* chunks done */
    int failed;      /* a chunk the kernel did not fault in */
    /* A caller waits for it, and frees the slot: prefault_now()'s own,
     * or one prefault_forget() cut short. */
    int waited;
    uint64_t order; /* when queued */
    _Atomic size_t *mark;
    size_t mark_to;
} request;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t work; /* the helper: chunks to claim, or stop */
    pthread_cond_t done; /* the last chunk of a request finished */
    request queue[QUEUE_SLOTS];
    uint64_t queued; /* requests queued so far */
    /* Requests of prefault_soon() in the table: prefault_forget() looks
     * only when there are some. */
    _Atomic unsigned soon;
    pthread_t thread;
    int running, stop;
    pthread_mutex_t releasing; /* one release at a time: one join */
} helper = {.lock = PTHREAD_MUTEX_INITIALIZER,
            .releasing = PTHREAD_MUTEX_INITIALIZER,
            .work = PTHREAD_COND_INITIALIZER,
            .done = PTHREAD_COND_INITIALIZER};

/* 0 once a kernel without MADV_POPULATE_WRITE (before 5.14) said so:
 * nobody asks the helper any more. */
static _Atomic int kernel_populates = 1;

/* Chunk i of r faulted in; 0, or -1 where the kernel did not. */
static int fault_chunk(const request *r, size_t i)
{
    size_t at = i * CHUNK_BYTES;
    size_t len = r->len - at < CHUNK_BYTES ? r->len - at : CHUNK_BYTES;
#ifdef MADV_POPULATE_WRITE
    if (madvise(r->start + at, len, MADV_POPULATE_WRITE) == 0)
        return 0;
    if (errno == EINVAL)
        atomic_store_explicit(&kernel_populates, 0, memory_order_relaxed);
#else
    (void)len;
    atomic_store_explicit(&kernel_populates, 0, memory_order_relaxed);
#endif
    return -1;
}

/* Under the lock: one chunk of r finished.  A request nobody waits for is
 * over with its last chunk: its mark raised, its slot freed. */
static void chunk_finished_locked(request *r, int failed)
{
    r->finished++;
    r->failed |= failed;
    if (r->finished < r->n_chunks)
        return;
    if (!r->waited) {
        if (!r->failed && r->mark != NULL)
            prefault_mark_raise(r->mark, r->mark_to);
        r->owner = NULL;
        atomic_fetch_sub_explicit(&helper.soon, 1, memory_order_release);
    }
    pthread_cond_broadcast(&helper.done);
}

/* Under the lock: the request whose chunks the helper takes next, or
 * NULL. */
static request *next_for_helper_locked(void)
{
    request *best = NULL;
    for (unsigned i = 0; i < QUEUE_SLOTS; i++) {
        request *r = &helper.queue[i];
        if (r->owner == NULL || r->claimed == r->n_chunks)
            continue;
        if (best == NULL || r->waited > best->waited ||
            (r->waited == best->waited && r->order < best->order))
            best = r;
    }
    return best;
}

/* Under the lock: claim r's next chunk and fault it in, the lock let go
 * meanwhile. */
static void do_chunk_locked(request *r)
{
    size_t i = r->claimed++;
    pthread_mutex_unlock(&helper.lock);
    int failed = fault_chunk(r, i) != 0;
    pthread_mutex_lock(&helper.lock);
    chunk_finished_locked(r, failed);
}

static void *helper_thread(void *arg)
{
    (void)arg;
    own_thread_name("daglib prefault");
    pthread_mutex_lock(&helper.lock);
    while (!helper.stop) {
        request *r = next_for_helper_locked();
        if (r == NULL)
            pthread_cond_wait(&helper.work, &helper.lock);
        else
            do_chunk_locked(r);
    }
    pthread_mutex_unlock(&helper.lock);
    return NULL;
}

/* A child of fork() has the helper's memory but not its thread, nor the
 * threads waiting for requests: it starts with an empty table, and a lock
 * and condition variables of its own (the copies may record waiters that
 * are not in the child, and glibc's would wait for them). */
static void before_fork(void) { pthread_mutex_lock(&helper.lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&helper.lock); }
static void after_fork_child(void)
{
    memset(helper.queue, 0, sizeof helper.queue);
    atomic_store_explicit(&helper.soon, 0, memory_order_relaxed);
    helper.running = 0;
    helper.stop = 0;
    pthread_mutex_init(&helper.lock, NULL);
    pthread_mutex_init(&helper.releasing, NULL);
    pthread_cond_init(&helper.work, NULL);
    pthread_cond_init(&helper.done, NULL);
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

/* Under the lock: a request in a free slot, the helper running and told;
 * NULL when the table is full or no thread can be made. */
static request *queue_locked(const void *owner, void *start, size_t len,
                             int waited)
{
    if (!helper.running) {
        if (pthread_create(&helper.thread, NULL, helper_thread, NULL) != 0)
            return NULL;
        helper.running = 1;
    }
    for (unsigned i = 0; i < QUEUE_SLOTS; i++) {
        request *r = &helper.queue[i];
        if (r->owner != NULL)
            continue;
        *r = (request){.owner = owner,
                       .start = start,
                       .len = len,
                       .n_chunks = (len + CHUNK_BYTES - 1) / CHUNK_BYTES,
                       .waited = waited,
                       .order = helper.queued++};
        pthread_cond_signal(&helper.work);
        return r;
    }
    return NULL;
}

/* Under the lock: wait for the chunks of r in progress, and free its
 * slot. */
static void wait_locked(request *r)
{
    while (r->finished < r->claimed)
        pthread_cond_wait(&helper.done, &helper.lock);
    r->owner = NULL;
}

/* Whether the helper may be asked at all: a process allowed two CPUs or
 * more, on a kernel that faults in on request. */
static int helper_usable(void)
{
    pthread_once(&setup, set_up);
    return cpus_allowed >= 2 &&
           atomic_load_explicit(&kernel_populates, memory_order_relaxed);
}

void prefault_now(void *start, size_t len)
{
    request *r = NULL;
    if (len >= SHARE_MIN_BYTES && helper_usable()) {
        pthread_mutex_lock(&helper.lock);
        /* Its own address as owner: nobody else's. */
        if ((r = queue_locked(&r, start, len, 1)) != NULL) {
            while (r->claimed < r->n_chunks)
                do_chunk_locked(r);
            wait_locked(r);
        }
        pthread_mutex_unlock(&helper.lock);
    }
    if (r == NULL) {
        request alone = {.start = start, .len = len};
        for (size_t i = 0; i * CHUNK_BYTES < len; i++)
            fault_chunk(&alone, i);
    }
}

int prefault_soon(const void *owner, void *start, size_t len,
                  _Atomic size_t *mark, size_t mark_to)
{
    if (len == 0 || !helper_usable())
        return 0;
    pthread_mutex_lock(&helper.lock);
    request *r = queue_locked(owner, start, len, 0);
    if (r != NULL) {
        r->mark = mark;
        r->mark_to = mark_to;
        atomic_fetch_add_explicit(&helper.soon, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&helper.lock);
    return r != NULL;
}

void prefault_forget(const void *owner)
{
    /* Only the mapping's user queues requests on it, so what it reads here
     * counts its own requests, if it has any. */
    if (atomic_load_explicit(&helper.soon, memory_order_acquire) == 0)
        return;
    pthread_mutex_lock(&helper.lock);
    for (unsigned i = 0; i < QUEUE_SLOTS; i++) {
        request *r = &helper.queue[i];
        if (r->owner != owner || r->waited)
            continue;
        /* No more chunks, the mark left as it is. */
        r->waited = 1;
        r->n_chunks = r->claimed;
        atomic_fetch_sub_explicit(&helper.soon, 1, memory_order_release);
        wait_locked(r);
    }
    pthread_mutex_unlock(&helper.lock);
}

void prefault_release(void)
{
    pthread_mutex_lock(&helper.releasing);
    pthread_mutex_lock(&helper.lock);
    int running = helper.running;
    pthread_t thread = helper.thread;
    helper.stop = running;
    pthread_cond_signal(&helper.work);
    pthread_mutex_unlock(&helper.lock);
    /* While it stops, `running` stays set: nobody makes another.  With no
     * helper, one made since is not this release's to touch. */
    if (running) {
        pthread_join(thread, NULL);
        pthread_mutex_lock(&helper.lock);
        helper.running = 0;
        helper.stop = 0;
        pthread_mutex_unlock(&helper.lock);
    }
    /* Requests left wait for the next helper, or prefault_forget(). */
    pthread_mutex_unlock(&helper.releasing);
}
