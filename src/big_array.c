/*
 * big_array.c -- the big arrays of big_array.h: from MAPPED_MIN_BYTES,
 * mappings of their own with a 64-byte header saying how much was mapped,
 * and a cache of freed ones; smaller ones from malloc.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "big_array.h"
#include "prefault.h"

#define MAPPED_MIN_BYTES ((size_t)64 << 10)
/* Enough for every mapping of a DAG of millions of tasks with its plan and
 * run, so that rebuilding it faults nothing in. */
#define BIG_CACHE_SLOTS 128
#define BIG_CACHE_MAX_BYTES ((size_t)1 << 30)

/* Before each big array: how much was mapped for it, 0 when it came from
 * calloc or malloc.  64 bytes: a mapped array starts on a cache line (a
 * plan node fills half of one, a profiler's chunk begins one), one from
 * malloc where malloc's memory would. */
typedef struct big_header {
    size_t mapped;
    /* Bytes from the header on faulted in, as far as big_block_prefault()
     * needs to know; raised by the prefault helper too. */
    _Atomic size_t faulted;
    /* How far the helper was asked to fault a block in: only the block's
     * user, one thread at a time, reads and writes it. */
    size_t asked;
    unsigned char pad[64 - 3 * sizeof(size_t)];
} big_header;

_Static_assert(sizeof(big_header) == 64, "a header fills a cache line");

/* Freed mappings kept for reuse, and what the process's mappings add up
 * to, which bounds them. */
static struct {
    pthread_mutex_t lock;
    big_header *slot[BIG_CACHE_SLOTS];
    size_t slot_mapped[BIG_CACHE_SLOTS]; /* slot[i]->mapped, without a
                                          * miss per kept mapping */
    uint64_t slot_kept_at[BIG_CACHE_SLOTS]; /* `keeps` when kept */
    uint64_t keeps;                         /* mappings kept so far */
    unsigned count;
    size_t kept_bytes; /* in slot[] */
    size_t live_bytes; /* mapped and in use */
    size_t peak_bytes; /* the most live_bytes has been since the start or
                        * the last big_cache_release() */
} big_cache = {PTHREAD_MUTEX_INITIALIZER, {NULL}, {0}, {0}, 0, 0, 0, 0, 0};

/* Under the lock: take kept slot i out (the last one moves into its
 * place). */
static big_header *remove_slot(unsigned i)
{
    big_header *h = big_cache.slot[i];
    unsigned last = --big_cache.count;
    big_cache.slot[i] = big_cache.slot[last];
    big_cache.slot_mapped[i] = big_cache.slot_mapped[last];
    big_cache.slot_kept_at[i] = big_cache.slot_kept_at[last];
    big_cache.kept_bytes -= h->mapped;
    return h;
}

static void count_live_locked(size_t mapped)
{
    big_cache.live_bytes += mapped;
    if (big_cache.live_bytes > big_cache.peak_bytes)
        big_cache.peak_bytes = big_cache.live_bytes;
}

static void count_live(size_t mapped)
{
    pthread_mutex_lock(&big_cache.lock);
    count_live_locked(mapped);
    pthread_mutex_unlock(&big_cache.lock);
}

/* The cache's lock is held across a fork, so that a child's copy is never
 * locked by a thread the child does not have. */
static pthread_once_t fork_watch = PTHREAD_ONCE_INIT;
static void before_fork(void) { pthread_mutex_lock(&big_cache.lock); }
static void after_fork(void) { pthread_mutex_unlock(&big_cache.lock); }
static void watch_forks(void)
{
    pthread_atfork(before_fork, after_fork, after_fork);
}

/* The smallest kept mapping of at least bytes (and not twice as many), or
 * NULL: the closest fit leaves the bigger ones to the arrays that need
 * them. */
static big_header *take_cached(size_t bytes)
{
    pthread_once(&fork_watch, watch_forks);
    pthread_mutex_lock(&big_cache.lock);
    unsigned best = big_cache.count;
    for (unsigned i = 0; i < big_cache.count; i++) {
        size_t mapped = big_cache.slot_mapped[i];
        if (mapped >= bytes && mapped / 2 <= bytes &&
            (best == big_cache.count || mapped < big_cache.slot_mapped[best]))
            best = i;
    }
    big_header *found = NULL;
    if (best < big_cache.count) {
        found = remove_slot(best);
        count_live_locked(found->mapped);
    }
    pthread_mutex_unlock(&big_cache.lock);
    return found;
}

/* A mapping is no longer in use: kept if it fits the room (twice what the
 * process's mappings once added up to, big_array.h); 1 if kept, 0 if the
 * caller unmaps it.  Room is made by handing back the mappings kept
 * longest: after a big DAG, the smaller ones that followed would
 * otherwise find the cache full of what nobody asks for any more. */
static int mapping_freed(big_header *h)
{
    big_header *evicted[BIG_CACHE_SLOTS];
    unsigned n_evicted = 0;
    int kept = 0;
    pthread_mutex_lock(&big_cache.lock);
    big_cache.live_bytes -= h->mapped;
    size_t room = big_cache.peak_bytes < BIG_CACHE_MAX_BYTES / 2
                      ? big_cache.peak_bytes * 2
                      : BIG_CACHE_MAX_BYTES;
    /* kept_bytes <= room always: the peak only grows until a release
     * empties the cache. */
    if (h->mapped <= room) {
        while (big_cache.count == BIG_CACHE_SLOTS ||
               h->mapped > room - big_cache.kept_bytes) {
            unsigned oldest = 0;
            for (unsigned i = 1; i < big_cache.count; i++)
                if (big_cache.slot_kept_at[i] < big_cache.slot_kept_at[oldest])
                    oldest = i;
            evicted[n_evicted++] = remove_slot(oldest);
        }
        unsigned k = big_cache.count++;
        big_cache.slot[k] = h;
        big_cache.slot_mapped[k] = h->mapped;
        big_cache.slot_kept_at[k] = ++big_cache.keeps;
        big_cache.kept_bytes += h->mapped;
        kept = 1;
    }
    pthread_mutex_unlock(&big_cache.lock);
    for (unsigned i = 0; i < n_evicted; i++)
        munmap(evicted[i], evicted[i]->mapped);
    return kept;
}

void big_cache_release(void)
{
    pthread_mutex_lock(&big_cache.lock);
    unsigned count = big_cache.count;
    big_header *kept[BIG_CACHE_SLOTS];
    memcpy(kept, big_cache.slot, count * sizeof *kept);
    big_cache.count = 0;
    big_cache.kept_bytes = 0;
    big_cache.peak_bytes = big_cache.live_bytes;
    pthread_mutex_unlock(&big_cache.lock);
    for (unsigned i = 0; i < count; i++)
        munmap(kept[i], kept[i]->mapped);
}

void big_cache_figures(size_t *kept, size_t *live, size_t *peak)
{
    pthread_mutex_lock(&big_cache.lock);
    *kept = big_cache.kept_bytes;
    *live = big_cache.live_bytes;
    *peak = big_cache.peak_bytes;
    pthread_mutex_unlock(&big_cache.lock);
}

#define BIG_ZERO 1u  /* zeroed, also when reused */
#define BIG_WHOLE 2u /* will be written whole: fault it all in at once */

/* A block's steps from this size on are faulted in ahead (up to
 * AHEAD_STEPS of them) by the prefault helper (prefault.h): a smaller one
 * is not worth a wake-up. */
#define AHEAD_MIN_BYTES ((size_t)64 << 10)
#define AHEAD_STEPS 8

/* Room for the header and the rounding to a page, whatever the page. */
#define BIG_OVERHEAD_MAX ((size_t)1 << 20)

static size_t page_bytes(void)
{
    long page = sysconf(_SC_PAGESIZE);
    return page > 0 ? (size_t)page : 4096;
}

/* ---- failures on demand, for tests ---------------------------------------- */

static _Atomic long fail_at; /* the call to fail, from 1; 0: none */
static _Atomic long calls;   /* big_array() calls since armed */

void big_fail_arm(long n)
{
    atomic_store(&calls, 0);
    atomic_store(&fail_at, n);
}

long big_fail_disarm(void)
{
    atomic_store(&fail_at, 0);
    return atomic_load(&calls);
}

/* One relaxed load when not armed. */
static int this_call_fails(void)
{
    long at = atomic_load_explicit(&fail_at, memory_order_relaxed);
    return at != 0 &&
           atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed) + 1 == at;
}

static void *big_array(size_t count, size_t size, unsigned flags)
{
    int zero = (flags & BIG_ZERO) != 0;
    if (count == 0 || size == 0)
        count = size = 1;
    if (count > (SIZE_MAX - BIG_OVERHEAD_MAX) / size)
        return NULL;
    size_t bytes = count * size + sizeof(big_header);
    if (this_call_fails())
        return NULL;
    if (bytes < MAPPED_MIN_BYTES) {
        big_header *h = zero ? calloc(1, bytes) : malloc(bytes);
        if (h == NULL)
            return NULL;
        h->mapped = 0;
        return h + 1;
    }
    size_t page = page_bytes();
    size_t len = (bytes + page - 1) & ~(page - 1);
    big_header *kept = take_cached(bytes);
    if (kept != NULL) {
        /* Its last uses faulted it in as far as kept->faulted says; an
         * array written whole gets the rest at once, as a fresh one. */
        kept->asked = 0;
        size_t faulted = atomic_load(&kept->faulted);
        if ((flags & BIG_WHOLE) && len > faulted) {
            size_t from = faulted & ~(page - 1);
            prefault_now((char *)kept + from, len - from);
            atomic_store(&kept->faulted, len);
        }
        if (zero)
            memset(kept + 1, 0, bytes - sizeof *kept);
        return kept + 1;
    }
    big_header *h = mmap(NULL, len, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (h == MAP_FAILED)
        return NULL;
#ifdef MADV_NOHUGEPAGE
    /* Also where the system puts every big mapping on huge pages. */
    madvise(h, len, MADV_NOHUGEPAGE);
#endif
    h->mapped = len;
    atomic_init(&h->faulted, 0);
    h->asked = 0;
    count_live(len);
    if (flags & BIG_WHOLE) {
        prefault_now(h, len);
        atomic_store(&h->faulted, len);
    }
    return h + 1;
}

void *big_alloc(size_t count, size_t size)
{
    return big_array(count, size, BIG_ZERO | BIG_WHOLE);
}

void *big_alloc_raw(size_t count, size_t size)
{
    return big_array(count, size, BIG_WHOLE);
}

void *big_alloc_block(size_t count, size_t size)
{
    return big_array(count, size, 0);
}

void big_block_prefault(void *block, size_t from, size_t len)
{
    big_block_prefault_until(block, from, len, SIZE_MAX);
}

void big_block_prefault_until(void *block, size_t from, size_t len,
                              size_t until)
{
    big_header *h = (big_header *)block - 1;
    if (h->mapped == 0)
        return;
    size_t page = page_bytes();
    size_t start = (sizeof *h + from) & ~(page - 1);
    size_t end = (sizeof *h + from + len + page - 1) & ~(page - 1);
    if (end > h->mapped)
        end = h->mapped;
    if (len == 0 || start >= end)
        return;
    size_t faulted = atomic_load_explicit(&h->faulted, memory_order_acquire);
    if (end > faulted) {
        size_t begin = start > faulted ? start : faulted & ~(page - 1);
        prefault_now((char *)h + begin, end - begin);
        prefault_mark_raise(&h->faulted, end);
    }
    /* The next steps on the helper, while the caller fills this one: a
     * window of up to AHEAD_STEPS, asked for again when half of it is
     * used, so that the helper, which takes tens of microseconds to wake,
     * is woken every few steps.  The window is at most half the steps
     * filled before, so that a block filled only in part (the last one of
     * every array) is faulted in no more than half again as far. */
    size_t step = end - start;
    size_t window = start / step / 2;
    if (window > AHEAD_STEPS)
        window = AHEAD_STEPS;
    if (step < AHEAD_MIN_BYTES || window == 0 || end == h->mapped)
        return;
    faulted = atomic_load_explicit(&h->faulted, memory_order_relaxed);
    size_t asked = h->asked > faulted ? h->asked : faulted;
    if (asked >= h->mapped || asked >= end + step * ((window + 1) / 2))
        return;
    size_t window_end =
        h->mapped - end > step * window ? end + step * window : h->mapped;
    /* Not past what the block's user expects to fill, once it says. */
    if (until != SIZE_MAX && until - 1 < SIZE_MAX - sizeof *h - page) {
        size_t until_page = (sizeof *h + until + page - 1) & ~(page - 1);
        if (until_page >= end && until_page < window_end)
            window_end = until_page;
    }
    if (window_end <= asked) /* asked that far before the user said */
        return;
    if (prefault_soon(h, (char *)h + asked,
                      window_end - asked, &h->faulted, window_end))
        h->asked = window_end;
}

void big_free(void *p)
{
    if (p == NULL)
        return;
    big_header *h = (big_header *)p - 1;
    if (h->mapped == 0) {
        free(h);
        return;
    }
    prefault_forget(h);
    if (!mapping_freed(h))
        munmap(h, h->mapped);
}

