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

int own_thread_cpus(cpu_set_t *cpus)
{
#ifdef __linux__
    return sched_getaffinity(0, sizeof *cpus, cpus) == 0 ? 0 : -1;
#else
    (void)cpus;
    return -1;
#endif
}

int own_thread_cpu_to_leave(const cpu_set_t *cpus, int cpu, unsigned threads)
{
#ifdef __linux__
    if (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, cpus) ||
        (unsigned)CPU_COUNT(cpus) <= threads)
        return -1;
    return cpu;
#else
    (void)cpus;
    (void)cpu;
    (void)threads;
    return -1;
#endif
}

int own_thread_use(const cpu_set_t *cpus, int leave)
{
#ifdef __linux__
    cpu_set_t use = *cpus;
    if (leave >= 0)
        CPU_CLR(leave, &use);
    return sched_setaffinity(0, sizeof use, &use) == 0 ? 0 : -1;
#else
    (void)cpus;
    (void)leave;
    return -1;
#endif
}

int own_thread_current_cpu(void)
{
#ifdef __linux__
    return sched_getcpu();
#else
    return -1;
#endif
}

void own_thread_beside_caller(pthread_attr_t *attr)
{
#ifdef __linux__
    cpu_set_t cpus;
    if (own_thread_cpus(&cpus) != 0)
        return;
    int leave = own_thread_cpu_to_leave(&cpus, own_thread_current_cpu(), 1);
    if (leave >= 0) {
        CPU_CLR(leave, &cpus);
        pthread_attr_setaffinity_np(attr, sizeof cpus, &cpus);
    }
#else
    (void)attr;
#endif
}
