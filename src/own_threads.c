/*
 * own_threads.c -- see own_threads.h.
 */
#include <sched.h>

#include "own_threads.h"

void own_thread_name(const char *name)
{
#ifdef __linux__
    pthread_setname_np(pthread_self(), name);
#else
    (void)name;
#endif
}

#ifdef __linux__
/* The CPUs the calling thread may use, less the one it runs on when that
 * leaves at least `threads` of them; -1 when they cannot be known. */
static int cpus_beside_caller(cpu_set_t *cpus, unsigned threads)
{
    if (sched_getaffinity(0, sizeof *cpus, cpus) != 0)
        return -1;
    int cpu = sched_getcpu();
    if (cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, cpus) &&
        (unsigned)CPU_COUNT(cpus) > threads)
        CPU_CLR(cpu, cpus);
    return 0;
}
#endif

void own_thread_beside_caller(pthread_attr_t *attr)
{
#ifdef __linux__
    cpu_set_t cpus;
    if (cpus_beside_caller(&cpus, 1) == 0)
        pthread_attr_setaffinity_np(attr, sizeof cpus, &cpus);
#else
    (void)attr;
#endif
}

void own_threads_place_beside_caller(const pthread_t *threads, unsigned n)
{
#ifdef __linux__
    cpu_set_t cpus;
    if (n == 0 || cpus_beside_caller(&cpus, n) != 0)
        return;
    for (unsigned i = 0; i < n; i++)
        pthread_setaffinity_np(threads[i], sizeof cpus, &cpus);
#else
    (void)threads;
    (void)n;
#endif
}
