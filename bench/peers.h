/*
 * peers.h -- one call per scheduler under test: build a shape, run it once,
 * say how long each took.
 *
 * Every side builds its own graph from the same shape (shapes.h), with the
 * same task body, and the same number of threads, the calling thread
 * included.  Times are whole-graph nanoseconds; the driver divides.
 */
#ifndef BENCH_PEERS_H
#define BENCH_PEERS_H

#include <stdint.h>
#include <time.h>

#include "shapes.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum body_kind {
    BODY_EMPTY, /* does nothing: the scheduler's own cost */
    BODY_INT,   /* daglib only: returns an integer result */
    BODY_SPIN   /* spins a calibrated number of iterations */
} body_kind;

typedef struct bench_task {
    body_kind body;
    uint64_t spin_iterations; /* BODY_SPIN */
    unsigned dag_flags;       /* daglib only: DAGLIB_PROFILE or 0 */
} bench_task;

/* Nanoseconds for the whole graph; build < 0 when the peer has no separate
 * build (OpenMP creates its tasks while they run). */
typedef struct bench_time {
    double build_ns;
    double run_ns;
    double first_ns; /* the graph built and run once, as a program does */
    double run_cpu_ns; /* the process's CPU time during the run (daglib) */
} bench_time;

/* Each returns 0, or -1 (with a message on stderr) when it failed. */
int bench_daglib(const shape *s, int workers, const bench_task *task,
                 bench_time *out);
int bench_tbb(const shape *s, int workers, const bench_task *task,
              bench_time *out);
int bench_openmp(const shape *s, int workers, const bench_task *task,
                 bench_time *out);
/* Built only when make is given TASKFLOW=DIR, DIR holding
 * taskflow/taskflow.hpp (Taskflow has no Debian package). */
int bench_taskflow(const shape *s, int workers, const bench_task *task,
                   bench_time *out);
const char *bench_taskflow_version(void);

static inline int64_t bench_process_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Burn about `iterations` cycles without touching memory (bench/spin.c):
 * one copy of the loop, at one alignment, for every side and for the
 * calibration, since an inlined copy's speed depends on where it lands. */
void bench_spin(uint64_t iterations);

#ifdef __cplusplus
}
#endif

#endif
