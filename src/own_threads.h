/*
 * own_threads.h -- the library's own threads: named, and kept off the CPU
 * of the thread that wakes them.
 *
 * Names show in ps, top and debuggers: "daglib worker", "daglib
 * profiler", "daglib prefault", "daglib progress".
 *
 * A woken thread goes where the kernel sees an idle CPU, but a virtual
 * machine's CPU that halted looks busy (its host preempted it): a helper
 * woken after the program slept shared its caller's CPU until the load
 * balancer parted them, milliseconds later -- longer than many runs.  So
 * the workers' threads (worker_pool.c) and a profiled run's thread
 * (profiler.c) are kept off the CPU of the thread that calls
 * daglib_run(), within the CPUs that thread may use.
 */
#ifndef DAGLIB_OWN_THREADS_H
#define DAGLIB_OWN_THREADS_H

#include <pthread.h>
#include <stdint.h>

#define NO_CPU (-1)

/* Name a thread the library made (at most 15 bytes; best effort). */
void own_thread_name(pthread_t thread, const char *name);

/* The CPU the calling thread runs on, or NO_CPU when unknown. */
int current_cpu(void);

/* Let threads[0 .. n) use the CPUs the calling thread may use but `cpu`
 * (the calling thread's).  Best effort: with NO_CPU, a single CPU
 * allowed or an error, the threads stay as they are. */
void keep_threads_off_cpu(const pthread_t *threads, uint32_t n, int cpu);

#endif
