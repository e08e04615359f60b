/*
 * own_threads.h -- the library's own threads: named, and the profiler's
 * placed beside the thread that runs a DAG.
 *
 * Names show in ps, top and debuggers: "daglib worker", "daglib
 * profiler", "daglib prefault", "daglib progress".
 *
 * A woken thread goes where the kernel sees an idle CPU, but a virtual
 * machine's CPU that halted looks busy (its host preempted it): a
 * profiled run's thread, woken between its passes, was put on the CPU of
 * the thread running the DAG, the only worker's on 1 worker.  So it is
 * made to use the CPUs that thread may use but the one it runs on
 * (profiler.c).
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

#endif
