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

void own_thread_beside_caller(pthread_attr_t *attr)
{
#ifdef __linux__
    cpu_set_t cpus;
    if (sched_getaffinity(0, sizeof cpus, &cpus) != 0)
        return;
    int cpu = sched_getcpu();
    if (cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &cpus) &&
        CPU_COUNT(&cpus) > 1) {
        CPU_CLR(cpu, &cpus);
        pthread_attr_setaffinity_np(attr, sizeof cpus, &cpus);
    }
#else
    (void)attr;
#endif
}
