/*
 * own_threads.h -- the library's own threads: named, and the profiler's
 * and the worker pool's placed beside the thread that runs a DAG.
 *
 * Names show in ps, top and debuggers: "daglib worker", "daglib
 * profiler", "daglib prefault", "daglib progress".
 *
 * A woken thread goes where the kernel sees an idle CPU, but a virtual
 * machine's CPU that halted looks busy (its host preempted it): a
 * profiled run's thread, woken between its passes, was put on the CPU of
 * the thread running the DAG, the only worker's on 1 worker, and a
 * worker pool's helper, woken for a run, was put there as often as not,
 * the two workers then taking turns on one CPU while the other idled (a
 * 100,000-task wavefront's run on 2 workers: 15-16 ns a task, 8-9 with
 * the helper kept off the caller's CPU).  So they are made to use the
 * CPUs the caller may use but the one it runs on, when there are at
 * least as many of those as such threads; otherwise all the caller may
 * use, as threads it made would.
 */
#ifndef DAGLIB_OWN_THREADS_H
#define DAGLIB_OWN_THREADS_H

#include <pthread.h>

/* Name the calling thread (at most 15 bytes; best effort). */
void own_thread_name(const char *name);

/* Make a thread created with attr use the CPUs the calling thread may
 * use but the one it runs on, when there are others (best effort: on
 * another system, or when they cannot be known, attr is left as it is). */
void own_thread_beside_caller(pthread_attr_t *attr);

/* Place n threads of the library's, waiting, on the CPUs the calling
 * thread may use but the one it runs on, when those are at least n, else
 * on all it may use (best effort, as above). */
void own_threads_place_beside_caller(const pthread_t *threads, unsigned n);

#endif
