/*
 * ticks.c -- choosing the workers' clock, and turning its ticks into
 * CLOCK_MONOTONIC nanoseconds.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "ticks.h"

#if TICKS_HAVE_TSC
#include <cpuid.h>
#endif

/* Tries at reading an anchor; the narrowest pair of counter reads around
 * the clock_gettime() wins (an interrupt in between widens a pair). */
#define ANCHOR_TRIES 3

static ticks_source best_source = TICKS_MONOTONIC;
static pthread_once_t best_source_once = PTHREAD_ONCE_INIT;

#if TICKS_HAVE_TSC
/* CPUID 0x80000007, EDX bit 8: the counter runs at a constant rate in
 * every power state. */
static int tsc_invariant(void)
{
    unsigned eax, ebx, ecx, edx;
    if ((unsigned)__get_cpuid_max(0x80000000, NULL) < 0x80000007u)
        return 0;
    if (!__get_cpuid(0x80000007, &eax, &ebx, &ecx, &edx))
        return 0;
    return (edx >> 8) & 1;
}

/* The kernel keeps CLOCK_MONOTONIC with the TSC only after checking that
 * the CPUs' counters agree and stay stable; its choice is the one to
 * trust (a virtual machine may claim an invariant counter it cannot keep). */
static int kernel_keeps_time_with_tsc(void)
{
    FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/"
                    "current_clocksource",
                    "re");
    if (f == NULL)
        return 0;
    char name[32] = "";
    int ok = fgets(name, sizeof name, f) != NULL && strcmp(name, "tsc\n") == 0;
    fclose(f);
    return ok;
}
#endif

static void choose_source(void)
{
#if TICKS_HAVE_TSC
    if (tsc_invariant() && kernel_keeps_time_with_tsc())
        best_source = TICKS_TSC;
#endif
}

ticks_source ticks_best_source(void)
{
    pthread_once(&best_source_once, choose_source);
    return best_source;
}

void ticks_anchor_read(ticks_source source, ticks_anchor *out)
{
    if (source == TICKS_MONOTONIC) {
        out->mono_ns = ticks_monotonic_ns();
        out->ticks = (uint64_t)out->mono_ns;
        return;
    }
    uint64_t narrowest = UINT64_MAX;
    for (int i = 0; i < ANCHOR_TRIES; i++) {
        uint64_t before = ticks_now(source);
        int64_t mono = ticks_monotonic_ns();
        uint64_t after = ticks_now(source);
        if (after - before < narrowest) {
            narrowest = after - before;
            out->ticks = before + (after - before) / 2;
            out->mono_ns = mono;
        }
    }
}

void ticks_scale_set(ticks_scale *s, ticks_source source,
                     const ticks_anchor *first, const ticks_anchor *last)
{
    s->origin = *first;
    s->ns_per_tick = 1.0;
    if (source == TICKS_MONOTONIC || last->ticks <= first->ticks)
        return;
    s->ns_per_tick = (double)(last->mono_ns - first->mono_ns) /
                     (double)(last->ticks - first->ticks);
}
