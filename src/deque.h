/*
 * deque.h -- a work-stealing deque of node indices (Chase-Lev).
 *
 * The owning worker pushes and takes at the bottom without contention;
 * other workers steal from the top with one CAS.  This is the C11
 * formulation of Le, Pop, Cohen and Zappa Nardelli (PPoPP 2013), except
 * that the release fence before publishing `bottom` is folded into a
 * release store: the same instructions on x86 and ARM, and visible to
 * ThreadSanitizer, which does not model standalone fences.
 *
 * One extension: a thief takes up to half of the items, at most
 * DEQUE_STEAL_MAX, with its one CAS.  Stealing one at a time from a worker
 * that just made 100,000 tasks ready costs two cache-line transfers per
 * task (`top` for the CAS, `bottom` for the check); a batch pays them once
 * per DEQUE_STEAL_MAX.  The price is on the owner's side: a thief that
 * read `top` = t claims at most [t, t + DEQUE_STEAL_MAX), so the owner
 * takes its newest item without a CAS only when that item lies beyond; in
 * the last DEQUE_STEAL_MAX items it takes the oldest one instead, by CAS,
 * as a thief would.  The owner may also take DEQUE_TAKE_BATCH items at
 * once, with one fence, when they all lie beyond (deque_take_batch):
 * they can then no longer be stolen, which the scheduler allows only
 * while no worker is short of work.
 *
 * The ring grows by doubling when full.  Stealers may still be reading an
 * old ring, so retired rings are kept until deque_destroy(), after the run.
 * Invariant: only the owner writes `bottom` and `ring`; anyone may advance
 * `top` by CAS.
 */
#ifndef DAGLIB_DEQUE_H
#define DAGLIB_DEQUE_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#define DEQUE_EMPTY UINT32_MAX
#define DEQUE_INITIAL_CAPACITY 1024
#define DEQUE_STEAL_MAX 16
#define DEQUE_TAKE_BATCH 8

typedef struct deque_ring {
    int64_t mask;
    struct deque_ring *retired; /* the ring this one replaced */
    _Atomic uint32_t slot[];
} deque_ring;

typedef struct deque {
    _Alignas(64) _Atomic int64_t top;
    _Alignas(64) _Atomic int64_t bottom;
    _Atomic(deque_ring *) ring;
} deque;

static inline deque_ring *deque_ring_new(int64_t capacity)
{
    deque_ring *r = malloc(sizeof *r + (size_t)capacity * sizeof r->slot[0]);
    if (r != NULL) {
        r->mask = capacity - 1;
        r->retired = NULL;
    }
    return r;
}

/* 0, or -1 when memory runs out. */
static inline int deque_init(deque *d)
{
    deque_ring *r = deque_ring_new(DEQUE_INITIAL_CAPACITY);
    if (r == NULL)
        return -1;
    atomic_init(&d->top, 0);
    atomic_init(&d->bottom, 0);
    atomic_init(&d->ring, r);
    return 0;
}

static inline void deque_destroy(deque *d)
{
    deque_ring *r = atomic_load_explicit(&d->ring, memory_order_relaxed);
    while (r != NULL) {
        deque_ring *older = r->retired;
        free(r);
        r = older;
    }
}

/* Owner only: a ring of `capacity` items (a power of two, bigger than
 * r's) in place of r.  0, or -1 when memory runs out. */
static inline int deque_grow(deque *d, deque_ring *r, int64_t top,
                             int64_t bottom, int64_t capacity)
{
    deque_ring *bigger = deque_ring_new(capacity);
    if (bigger == NULL)
        return -1;
    for (int64_t i = top; i < bottom; i++)
        atomic_store_explicit(
            &bigger->slot[i & bigger->mask],
            atomic_load_explicit(&r->slot[i & r->mask], memory_order_relaxed),
            memory_order_relaxed);
    bigger->retired = r;
    atomic_store_explicit(&d->ring, bigger, memory_order_release);
    return 0;
}

/* Owner only.  0, 1 when the ring had to grow first (an allocation and
 * a copy of every item), or -1 when it could not. */
static inline int deque_push(deque *d, uint32_t item)
{
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    deque_ring *r = atomic_load_explicit(&d->ring, memory_order_relaxed);
    int grew = 0;
    if (b - t > r->mask) {
        if (deque_grow(d, r, t, b, (r->mask + 1) * 2) != 0)
            return -1;
        r = atomic_load_explicit(&d->ring, memory_order_relaxed);
        grew = 1;
    }
    atomic_store_explicit(&r->slot[b & r->mask], item, memory_order_relaxed);
    atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
    return grew;
}

/* Owner only: push n items, items[n - 1] last, publishing them at once
 * (the ring grown once, to fit them all).  0, or -1 when the ring could
 * not grow (then none was pushed). */
static inline int deque_push_all(deque *d, const uint32_t *items, uint32_t n)
{
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    deque_ring *r = atomic_load_explicit(&d->ring, memory_order_relaxed);
    int64_t capacity = r->mask + 1;
    while (b - t + (int64_t)n > capacity)
        capacity *= 2;
    if (capacity > r->mask + 1) {
        if (deque_grow(d, r, t, b, capacity) != 0)
            return -1;
        r = atomic_load_explicit(&d->ring, memory_order_relaxed);
    }
    for (uint32_t i = 0; i < n; i++)
        atomic_store_explicit(&r->slot[(b + i) & r->mask], items[i],
                              memory_order_relaxed);
    atomic_store_explicit(&d->bottom, b + n, memory_order_release);
    return 0;
}

/* Owner only: an item (the newest, unless few are left), or DEQUE_EMPTY. */
static inline uint32_t deque_take(deque *d)
{
    deque_ring *r = atomic_load_explicit(&d->ring, memory_order_relaxed);
    for (;;) {
        int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed) - 1;
        atomic_store_explicit(&d->bottom, b, memory_order_relaxed);
        atomic_thread_fence(memory_order_seq_cst);
        int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
        if (b - t >= DEQUE_STEAL_MAX) /* out of any thief's reach */
            return atomic_load_explicit(&r->slot[b & r->mask],
                                        memory_order_relaxed);
        atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
        if (t > b)
            return DEQUE_EMPTY;
        /* Within reach of a batch: take the oldest, racing the thieves.
         * Losing means a thief advanced `top`; look again. */
        uint32_t item =
            atomic_load_explicit(&r->slot[t & r->mask], memory_order_relaxed);
        if (atomic_compare_exchange_strong_explicit(
                &d->top, &t, t + 1, memory_order_seq_cst, memory_order_relaxed))
            return item;
    }
}

/* Owner only: the DEQUE_TAKE_BATCH newest items at once, into items[]
 * oldest first, when they all lie beyond any thief's reach -- one fence
 * for the batch instead of one each; else one item, as deque_take() gives
 * it.  Returns how many: 0 when the deque is empty.  Items taken in a
 * batch can no longer be stolen, so a batch is small. */
static inline uint32_t deque_take_batch(deque *d,
                                        uint32_t items[DEQUE_TAKE_BATCH])
{
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    /* A stale `top` is only a hint here: it is read again below. */
    int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
    if (b - t >= DEQUE_STEAL_MAX + DEQUE_TAKE_BATCH) {
        int64_t first = b - DEQUE_TAKE_BATCH;
        atomic_store_explicit(&d->bottom, first, memory_order_relaxed);
        atomic_thread_fence(memory_order_seq_cst);
        t = atomic_load_explicit(&d->top, memory_order_relaxed);
        if (first - t >= DEQUE_STEAL_MAX) {
            deque_ring *r =
                atomic_load_explicit(&d->ring, memory_order_relaxed);
            for (uint32_t i = 0; i < DEQUE_TAKE_BATCH; i++)
                items[i] = atomic_load_explicit(&r->slot[(first + i) & r->mask],
                                                memory_order_relaxed);
            return DEQUE_TAKE_BATCH;
        }
        /* Thieves came close: put the items back; the deque is again
         * [top, b), whatever thieves have taken meanwhile. */
        atomic_store_explicit(&d->bottom, b, memory_order_relaxed);
    }
    uint32_t item = deque_take(d);
    if (item == DEQUE_EMPTY)
        return 0;
    items[0] = item;
    return 1;
}

/* Anyone: take half of the items (rounded up, at most DEQUE_STEAL_MAX),
 * oldest first, into items[].  Returns how many: 0 when the deque is empty
 * or a race was lost. */
static inline uint32_t deque_steal(deque *d, uint32_t items[DEQUE_STEAL_MAX])
{
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    atomic_thread_fence(memory_order_seq_cst);
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_acquire);
    if (t >= b)
        return 0;
    int64_t half = (b - t + 1) / 2;
    uint32_t n = half < DEQUE_STEAL_MAX ? (uint32_t)half : DEQUE_STEAL_MAX;
    deque_ring *r = atomic_load_explicit(&d->ring, memory_order_acquire);
    for (uint32_t i = 0; i < n; i++)
        items[i] = atomic_load_explicit(&r->slot[(t + i) & r->mask],
                                        memory_order_relaxed);
    if (!atomic_compare_exchange_strong_explicit(
            &d->top, &t, t + n, memory_order_seq_cst, memory_order_relaxed))
        return 0;
    return n;
}

/* Anyone: a hint that the deque may hold items. */
static inline int deque_maybe_nonempty(deque *d)
{
    int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    return b > t;
}

#endif
