/*
 * profiler.h -- recording a profiled run into its Avro file.
 *
 * Workers only note which node finished, in a log of their own: a chain of
 * fixed-size chunks that the worker appends to and one profiler thread
 * reads (single producer, single consumer), so recording takes no lock and
 * shares no cache line between workers.  The profiler thread turns the
 * noted nodes into records, encodes them off the tasks' critical path, and
 * writes a block at least every PROFILER_FLUSH_MS (and at the end), so
 * another process querying during the run sees the finished tasks.
 */
#ifndef DAGLIB_PROFILER_H
#define DAGLIB_PROFILER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "error.h"
#include "profile_file.h"
#include "scheduler.h"

#define PROFILE_LOG_CHUNK 1024

typedef struct profile_log_chunk {
    _Atomic uint32_t count; /* items published by the worker */
    _Atomic(struct profile_log_chunk *) next;
    uint32_t items[PROFILE_LOG_CHUNK];
} profile_log_chunk;

typedef struct profile_log {
    /* the worker's end */
    _Alignas(64) profile_log_chunk *tail;
    uint32_t tail_count;
    _Atomic int lost; /* a chunk could not be allocated */
    /* the profiler thread's end */
    _Alignas(64) profile_log_chunk *head;
    uint32_t head_read;
} profile_log;

typedef struct profiler {
    run *run;
    profile_file *file;
    profile_log *logs; /* one per worker */
    uint32_t n_logs;
    int64_t mono0_ns; /* CLOCK_MONOTONIC and CLOCK_REALTIME read together */
    int64_t wall0_us;

    pthread_t thread;
    pthread_mutex_t lock; /* between the run's caller and the thread only */
    pthread_cond_t stop_signal;
    int stop;
    error_state error; /* the first write error; later records are dropped */
    char *name_buffer;
    size_t name_capacity;
} profiler;

/* Create the run's file and start the profiler thread.  DAGLIB_OK with *out
 * set, or an error in err with nothing left on disk. */
int profiler_start(profiler **out, run *r, const char *root,
                   const char *dag_name, const char *dag_description,
                   const char *codec, error_state *err);

/* The run id and the path of the file; borrowed from the profiler. */
const char *profiler_run_id(const profiler *pr);
const char *profiler_path(const profiler *pr);

/* Slow path of profiler_task_done: start a new chunk.  0 or -1. */
int profile_log_extend(profile_log *log);

/* Worker w finished node n (ran, failed or was skipped).  Hot path. */
static inline void profiler_task_done(profiler *pr, uint32_t w, uint32_t n)
{
    profile_log *log = &pr->logs[w];
    if (log->tail_count == PROFILE_LOG_CHUNK && profile_log_extend(log) != 0)
        return;
    log->tail->items[log->tail_count++] = n;
    atomic_store_explicit(&log->tail->count, log->tail_count,
                          memory_order_release);
}

/* After the run: stop the thread, write what is left, fsync, close, free.
 * DAGLIB_OK, or the first error (records lost, write failed) in err. */
int profiler_finish(profiler *pr, error_state *err);

#endif
