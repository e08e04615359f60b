/*
 * own_threads.c -- see own_threads.h.
 */
#include "own_threads.h"

void own_thread_name(const char *name)
{
#ifdef __linux__
    pthread_setname_np(pthread_self(), name);
#else
    (void)name;
#endif
}

int helper_cpus_now(uint32_t helpers, helper_cpus *out)
{
#ifdef __linux__
    if (sched_getaffinity(0, sizeof out->cpus, &out->cpus) != 0)
        return -1;
    int cpu = sched_getcpu();
    int others = CPU_COUNT(&out->cpus) - 1;
    if (cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &out->cpus) &&
        helpers > 0 && (uint32_t)others >= helpers)
        CPU_CLR(cpu, &out->cpus);
    return 0;
#else
    (void)helpers;
    (void)out;
    return -1;
#endif
}
