/*
 * cpu_hints.h -- hints to the processor, which change no result: a pause
 * in a loop that waits for another thread, and asking for a cache line
 * about to be written.
 */
#ifndef DAGLIB_CPU_HINTS_H
#define DAGLIB_CPU_HINTS_H

/* The waiting core backs off and leaves the other thread of its core, if
 * it has one, the resources. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Ask for the cache line at p for writing, ahead of the stores: a store
 * that waits for its line holds up the stores behind it.  On x86-64 a
 * prefetchw whatever the compiler targets (a no-op on processors from
 * before it; some 32-bit x86 processors fault on it); elsewhere the
 * compiler's prefetch for writing. */
static inline void prefetch_for_writing(const void *p)
{
#if defined(__x86_64__)
    __asm__ volatile("prefetchw %0" ::"m"(*(const char *)p));
#else
    __builtin_prefetch(p, 1, 3);
#endif
}

#endif
