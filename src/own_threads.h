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
#include <sched.h>
#include <stdint.h>

/* Name the calling thread (at most 15 bytes; best effort). */
void own_thread_name(const char *name);

/* Where `helpers` threads beside the calling thread may run: the CPUs
 * the calling thread may use but the one it runs on, when there are at
 * least `helpers` of those; else all of its CPUs. */
typedef struct helper_cpus {
    cpu_set_t cpus;
} helper_cpus;

/* Those CPUs, in *out: 0, or -1 when they cannot be known (not Linux, or
 * more CPUs than a cpu_set_t holds). */
int helper_cpus_now(uint32_t helpers, helper_cpus *out);

#endif
