/*
 * own_threads.h -- the library's own threads: named, and the profiler's
 * and the worker pool's woken beside the thread that runs a DAG.
 *
 * Names show in ps, top and debuggers: "daglib worker", "daglib
 * profiler", "daglib prefault", "daglib progress", "daglib fence".
 *
 * A woken thread goes where the kernel sees an idle CPU, but a virtual
 * machine's CPU that halted looks busy (its host preempted it), so a
 * thread woken by the thread running a DAG was put on that thread's CPU
 * as often as not, the two then taking turns on one CPU while another
 * idled.  So the profiler's thread is made to use the CPUs the caller may
 * use but the one it runs on, and a worker pool's helper, while it waits
 * for a run, the CPUs it may use but the one the run's caller ran on last
 * (worker_pool.c).  A waiting helper is restricted only when the CPUs
 * left are at least as many as the helpers posted; it has all of its
 * CPUs back before it runs a task, so that tasks, and the threads and
 * programs they start, see the CPUs they would see without it.  A
 * 100,000-task wavefront's run on 2 workers took 15-16 ns a task, and 8
 * with the helper waiting off the caller's CPU; a run of 100 tasks after
 * a millisecond's sleep takes 2-3 us more (8.6-9.0 against 6.1-6.2), the
 * price of waking a thread on another CPU.
 */
#ifndef DAGLIB_OWN_THREADS_H
#define DAGLIB_OWN_THREADS_H

#include <pthread.h>
#include <sched.h>

/* Name the calling thread (at most 15 bytes; best effort). */
void own_thread_name(const char *name);

/* Make a thread created with attr use the CPUs the calling thread may
 * use but the one it runs on, when there are others (best effort: on
 * another system, or when they cannot be known, attr is left as it is). */
void own_thread_beside_caller(pthread_attr_t *attr);

/* The CPUs the calling thread may use; 0, or -1 when they cannot be
 * known. */
int own_thread_cpus(cpu_set_t *cpus);

/* The CPU of `cpus` a thread waiting beside a caller on CPU `cpu` is to
 * keep off: `cpu`, when that leaves `cpus` at least `threads` others;
 * else -1 (none). */
int own_thread_cpu_to_leave(const cpu_set_t *cpus, int cpu, unsigned threads);

/* Let the calling thread use `cpus` (its own, from own_thread_cpus())
 * but `leave`, or all of them when `leave` is -1; 0, or -1 when the
 * system refused. */
int own_thread_use(const cpu_set_t *cpus, int leave);

/* The CPU the calling thread runs on, or -1 when it cannot be known. */
int own_thread_current_cpu(void);

#endif
