/*
 * spin.c -- the spinning task body every side of the speed-up benchmark
 * runs (peers.h).
 *
 * A loop this tight runs at a speed that depends on its alignment: inlined
 * into each caller it ran at full speed in some copies and at half in
 * others, which made one side's single thread look twice as slow as the
 * calibration said.  One function, not inlined, aligned to a cache line,
 * gives every caller the same loop.
 */
#include "peers.h"

__attribute__((noinline, aligned(64))) void bench_spin(uint64_t iterations)
{
    /* The empty asm keeps the compiler from folding the loop away. */
    for (uint64_t i = 0; i < iterations; i++)
        __asm__ __volatile__("" : : "r"(i));
}
