/*
 * ticks.h -- the clock a profiled run's workers read as each task ends
 * (and before one starts, unless it follows straight on: scheduler.c).
 *
 * Calling clock_gettime() for each task was most of what profiling cost
 * the workers.  Where the kernel itself keeps time with the CPU's time-stamp
 * counter (an invariant TSC, the same on every CPU), reading the counter
 * directly gives the same clock for half the price; elsewhere the ticks
 * are CLOCK_MONOTONIC nanoseconds.  Ticks become nanoseconds off the
 * workers' path: the profiler reads a tick and CLOCK_MONOTONIC together at
 * the start of a run and again whenever it converts, and places every tick
 * on the line through those two readings.  Since every tick it converts
 * lies between them, the error is at most the readings' own (tens of
 * nanoseconds), whatever the interval.
 */
#ifndef DAGLIB_TICKS_H
#define DAGLIB_TICKS_H

#include <stdint.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define TICKS_HAVE_TSC 1
#else
#define TICKS_HAVE_TSC 0
#endif

typedef enum ticks_source {
    TICKS_MONOTONIC = 0, /* CLOCK_MONOTONIC nanoseconds */
    TICKS_TSC            /* the time-stamp counter */
} ticks_source;

/* The fastest source this process may use: TICKS_TSC where the CPU says
 * its counter is invariant and the kernel's clocksource is "tsc", else
 * TICKS_MONOTONIC.  Decided once; thread safe. */
ticks_source ticks_best_source(void);

static inline int64_t ticks_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline uint64_t ticks_now(ticks_source source)
{
#if TICKS_HAVE_TSC
    if (source == TICKS_TSC)
        return __rdtsc();
#endif
    (void)source;
    return (uint64_t)ticks_monotonic_ns();
}

/* A tick and CLOCK_MONOTONIC read together. */
typedef struct ticks_anchor {
    uint64_t ticks;
    int64_t mono_ns;
} ticks_anchor;

void ticks_anchor_read(ticks_source source, ticks_anchor *out);

/* Ticks to CLOCK_MONOTONIC on the line through two anchors (the later
 * one read after every tick to convert). */
typedef struct ticks_scale {
    ticks_anchor origin;
    double ns_per_tick;
} ticks_scale;

void ticks_scale_set(ticks_scale *s, ticks_source source,
                     const ticks_anchor *first, const ticks_anchor *last);

static inline int64_t ticks_to_mono_ns(const ticks_scale *s, uint64_t t)
{
    return s->origin.mono_ns +
           (int64_t)((double)(int64_t)(t - s->origin.ticks) * s->ns_per_tick);
}

/* A span in seconds, not cut to whole nanoseconds: a span of a few ticks
 * is not nothing.  A span is far below 2^63 ticks: converted as signed,
 * which costs a few instructions less than unsigned. */
static inline double ticks_span_seconds(const ticks_scale *s, uint64_t ticks)
{
    return (double)(int64_t)ticks * s->ns_per_tick * 1e-9;
}

#endif
