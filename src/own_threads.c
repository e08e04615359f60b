/*
 * own_threads.c -- see own_threads.h.
 */
#include <sched.h>

#include "own_threads.h"

void own_thread_name(pthread_t thread, const char *name)
{
#ifdef __linux__
    pthread_setname_np(thread, name);
#else
    (void)thread;
    (void)name;
#endif
}

int current_cpu(void)
{
#ifdef __linux__
    int cpu = sched_getcpu();
    return cpu >= 0 && cpu < CPU_SETSIZE ? cpu : NO_CPU;
#else
    return NO_CPU;
#endif
}

void keep_threads_off_cpu(const pthread_t *threads, uint32_t n, int cpu)
{
#ifdef __linux__
    cpu_set_t others;
    if (cpu == NO_CPU || sched_getaffinity(0, sizeof others, &others) != 0 ||
        !CPU_ISSET(cpu, &others) || CPU_COUNT(&others) < 2)
        return;
    CPU_CLR(cpu, &others);
    for (uint32_t i = 0; i < n; i++)
        pthread_setaffinity_np(threads[i], sizeof others, &others);
#else
    (void)threads;
    (void)n;
    (void)cpu;
#endif
}
