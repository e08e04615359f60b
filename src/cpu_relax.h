/*
 * cpu_relax.h -- a pause in a loop that waits for another thread: the
 * waiting core backs off and leaves the other thread of its core, if it
 * has one, the resources.
 */
#ifndef DAGLIB_CPU_RELAX_H
#define DAGLIB_CPU_RELAX_H

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

#endif
