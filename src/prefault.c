/*
 * prefault.c -- see prefault.h.
 *
 * Requests wait in a small table, each a range cut into chunks that are
 * claimed one at a time under the helper's lock: by the helper, and by a
 * caller that joins its request (prefault_now() joins its own at once), so
 * that nobody waits for more than the chunk the other one is on.  The
 * helper takes the chunks of a request someone is joining first, then the
 * other requests oldest first.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "prefault.h"

/* Below this, waking the helper costs more than it saves: a page costs
 * about a microsecond, waking a thread tens of them. */
#define SHARE_MIN_BYTES ((size_t)1 << 20)
/* What a caller joining a request waits for at most (the helper's chunk
 * in progress), and what one madvise() call faults in: the kernel holds
 * the process's memory map for the call, so a caller's mmap() waits for
 * it.  16 pages: 256 KiB chunks made a fresh 1M-task build 2-4 ns a task
 * slower. */
#define CHUNK_BYTES ((size_t)64 << 10)
/* Requests waiting or in progress at once; more are not taken (a fault
 * request is a hint; a zero request is then done by its caller). */
#define QUEUE_SLOTS 16

typedef struct request {
    const void *owner; /* NULL: free slot */
    prefault_work work;
    char *start;
    size_t len;
    size_t n_chunks; /* cut short by prefault_forget() */
    size_t claimed;  /* chunks handed out */
    size_t finished; /* chunks done */
    int failed;      /* a chunk the kernel did not fault in */
    int joined;      /* a caller takes part and frees the slot */
    uint64_t order;  /* when queued */
    _Atomic size_t *mark;
    size_t mark_to;
} request;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t work; /* the helper: chunks to claim, or stop */
    pthread_cond_t done; /* a request's last chunk finished */
    request queue[QUEUE_SLOTS];
    uint64_t queued; /* requests queued so far */
    /* Requests that are not joined: prefault_forget() looks only when
     * there are some. */
    _Atomic unsigned unjoined;
    pthread_t thread;
    int running, stop;
} helper = {.lock = PTHREAD_MUTEX_INITIALIZER,
            .work = PTHREAD_COND_INITIALIZER,
            .done = PTHREAD_COND_INITIALIZER};

static int do_chunk(const request *r, size_t i)
{
    size_t at = i * CHUNK_BYTES;
    size_t len = r->len - at < CHUNK_BYTES ? r->len - at : CHUNK_BYTES;
    if (r->work == PREFAULT_ZERO) {
        memset(r->start + at, 0, len);
        return 0;
    }
#ifdef MADV_POPULATE_WRITE
    return madvise(r->start + at, len, MADV_POPULATE_WRITE);
#else
    return -1;
#endif
}

/* Under the lock: one chunk of r finished.  A request nobody joins is over
 * with its last chunk: its mark raised, its slot freed. */
static void chunk_finished_locked(request *r, int failed)
{
    r->finished++;
    r->failed |= failed;
    if (r->finished < r->n_chunks)
        return;
    if (!r->joined) {
        if (!r->failed && r->mark != NULL)
            prefault_mark_raise(r->mark, r->mark_to);
        r->owner = NULL;
        atomic_fetch_sub_explicit(&helper.unjoined, 1, memory_order_relaxed);
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
        if (best == NULL || r->joined > best->joined ||
            (r->joined == best->joined && r->order < best->order))
            best = r;
    }
    return best;
}

static void *helper_thread(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&helper.lock);
    for (;;) {
        request *r = next_for_helper_locked();
        if (helper.stop)
            break;
        if (r == NULL) {
            pthread_cond_wait(&helper.work, &helper.lock);
            continue;
        }
        size_t i = r->claimed++;
        pthread_mutex_unlock(&helper.lock);
        int failed = do_chunk(r, i) != 0;
        pthread_mutex_lock(&helper.lock);
        chunk_finished_locked(r, failed);
    }
    pthread_mutex_unlock(&helper.lock);
    return NULL;
}

/* A child of fork() has the helper's memory but not its thread, nor the
 * threads that were joining requests: their requests go, and the others
 * start again from their first chunk (a chunk in progress at the fork may
 * be half done in the child's copy), for a new helper or their joins. */
static void before_fork(void) { pthread_mutex_lock(&helper.lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&helper.lock); }
static void after_fork_child(void)
{
    unsigned unjoined = 0;
    for (unsigned i = 0; i < QUEUE_SLOTS; i++) {
        request *r = &helper.queue[i];
        if (r->owner == NULL)
            continue;
        if (r->joined) {
            r->owner = NULL;
            continue;
        }
        r->claimed = r->finished = 0;
        r->failed = 0;
        unjoined++;
    }
    atomic_store_explicit(&helper.unjoined, unjoined, memory_order_relaxed);
    helper.running = 0;
    helper.stop = 0;
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

/* Under the lock: a free slot for a request, the helper running; NULL
 * when the process has one CPU, the table is full or no thread can be
 * made. */
static request *queue_locked(const void *owner, prefault_work work,
                             void *start, size_t len)
{
    if (cpus_allowed < 2)
        return NULL;
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
                       .work = work,
                       .start = start,
                       .len = len,
                       .n_chunks = (len + CHUNK_BYTES - 1) / CHUNK_BYTES,
                       .order = helper.queued++};
        pthread_cond_signal(&helper.work);
        return r;
    }
    return NULL;
}

/* Under the lock: claim and do r's chunks the helper has not, then wait
 * for those it is on, and free the slot. */
static void join_locked(request *r)
{
    if (!r->joined) {
        r->joined = 1;
        atomic_fetch_sub_explicit(&helper.unjoined, 1, memory_order_relaxed);
    }
    while (r->claimed < r->n_chunks) {
        size_t i = r->claimed++;
        pthread_mutex_unlock(&helper.lock);
        int failed = do_chunk(r, i) != 0;
        pthread_mutex_lock(&helper.lock);
        r->finished++;
        r->failed |= failed;
    }
    while (r->finished < r->claimed)
        pthread_cond_wait(&helper.done, &helper.lock);
    if (!r->failed && r->mark != NULL)
        prefault_mark_raise(r->mark, r->mark_to);
    r->owner = NULL;
}

void prefault_now(void *start, size_t len)
{
    request *r = NULL;
    if (len >= SHARE_MIN_BYTES) {
        pthread_once(&setup, set_up);
        pthread_mutex_lock(&helper.lock);
        /* Its own address as owner: nobody else's. */
        if ((r = queue_locked(&r, PREFAULT_FAULT, start, len)) != NULL) {
            r->joined = 1;
            join_locked(r);
        }
        pthread_mutex_unlock(&helper.lock);
    }
    if (r == NULL) {
        request alone = {.work = PREFAULT_FAULT, .start = start, .len = len};
        for (size_t i = 0; i * CHUNK_BYTES < len; i++)
            do_chunk(&alone, i);
    }
}

int prefault_soon(const void *owner, prefault_work work, void *start,
                  size_t len, _Atomic size_t *mark, size_t mark_to)
{
    if (len == 0)
        return 0;
    pthread_once(&setup, set_up);
    pthread_mutex_lock(&helper.lock);
    request *r = queue_locked(owner, work, start, len);
    if (r != NULL) {
        r->mark = mark;
        r->mark_to = mark_to;
        atomic_fetch_add_explicit(&helper.unjoined, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&helper.lock);
    return r != NULL;
}

/* Apply fn to each of owner's requests nobody joined yet, under the
 * lock; nothing when there are none (one atomic load). */
static void for_owners_requests(const void *owner, void (*fn)(request *))
{
    /* Only the mapping's user queues requests on it, so what it reads here
     * counts its own requests, if it has any. */
    if (atomic_load_explicit(&helper.unjoined, memory_order_relaxed) == 0)
        return;
    pthread_mutex_lock(&helper.lock);
    for (unsigned i = 0; i < QUEUE_SLOTS; i++) {
        request *r = &helper.queue[i];
        if (r->owner == owner && !r->joined)
            fn(r);
    }
    pthread_mutex_unlock(&helper.lock);
}

void prefault_join(const void *owner)
{
    for_owners_requests(owner, join_locked);
}

/* Under the lock: no more chunks of r, its mark left as it is; wait for
 * those in progress. */
static void forget_locked(request *r)
{
    r->joined = 1;
    atomic_fetch_sub_explicit(&helper.unjoined, 1, memory_order_relaxed);
    r->n_chunks = r->claimed;
    while (r->finished < r->claimed)
        pthread_cond_wait(&helper.done, &helper.lock);
    r->owner = NULL;
}

void prefault_forget(const void *owner)
{
    for_owners_requests(owner, forget_locked);
}

void prefault_release(void)
{
    pthread_mutex_lock(&helper.lock);
    if (!helper.running) {
        pthread_mutex_unlock(&helper.lock);
        return;
    }
    helper.stop = 1;
    pthread_cond_signal(&helper.work);
    pthread_t thread = helper.thread;
    pthread_mutex_unlock(&helper.lock);
    pthread_join(thread, NULL);
    pthread_mutex_lock(&helper.lock);
    /* Requests nobody joins are dropped where they are: a hint that was
     * not taken, or zeroes the caller's join will write itself. */
    helper.running = 0;
    helper.stop = 0;
    pthread_mutex_unlock(&helper.lock);
}
