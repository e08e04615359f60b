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

/* Owner only: double the ring.  0, or -1 when memory runs out. */
static inline int deque_grow(deque *d, deque_ring *r, int64_t top,
                             int64_t bottom)
{
    deque_ring *bigger = deque_ring_new((r->mask + 1) * 2);
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

/* Owner only.  0, or -1 when the ring could not grow. */
static inline int deque_push(deque *d, uint32_t item)
{
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    deque_ring *r = atomic_load_explicit(&d->ring, memory_order_relaxed);
    if (b - t > r->mask) {
        if (deque_grow(d, r, t, b) != 0)
            return -1;
        r = atomic_load_explicit(&d->ring, memory_order_relaxed);
    }
    atomic_store_explicit(&r->slot[b & r->mask], item, memory_order_relaxed);
    atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
    return 0;
}

/* Owner only: the newest item, or DEQUE_EMPTY. */
static inline uint32_t deque_take(deque *d)
{
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed) - 1;
    deque_ring *r = atomic_load_explicit(&d->ring, memory_order_relaxed);
    atomic_store_explicit(&d->bottom, b, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
    if (t > b) {
        atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
        return DEQUE_EMPTY;
    }
    uint32_t item =
        atomic_load_explicit(&r->slot[b & r->mask], memory_order_relaxed);
    if (t == b) {
        /* The last item: race the stealers for it. */
        if (!atomic_compare_exchange_strong_explicit(
                &d->top, &t, t + 1, memory_order_seq_cst, memory_order_relaxed))
            item = DEQUE_EMPTY;
        atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
    }
    return item;
}

/* Anyone: the oldest item, or DEQUE_EMPTY (also when a race was lost). */
static inline uint32_t deque_steal(deque *d)
{
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    atomic_thread_fence(memory_order_seq_cst);
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_acquire);
    if (t >= b)
        return DEQUE_EMPTY;
    deque_ring *r = atomic_load_explicit(&d->ring, memory_order_acquire);
    uint32_t item =
        atomic_load_explicit(&r->slot[t & r->mask], memory_order_relaxed);
    if (!atomic_compare_exchange_strong_explicit(
            &d->top, &t, t + 1, memory_order_seq_cst, memory_order_relaxed))
        return DEQUE_EMPTY;
    return item;
}

/* Anyone: a hint that the deque may hold items. */
static inline int deque_maybe_nonempty(deque *d)
{
    int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    return b > t;
}

#endif
