/*
 * profiler.h -- recording a profiled run into its Avro file.
 *
 * Workers only note what they finished -- the node, its outcome and its
 * clock ticks -- in a log of their own: a chain of fixed-size chunks that
 * the worker appends to and one profiler thread reads (single producer,
 * single consumer), so recording takes no lock and shares no cache line
 * between workers.  The profiler thread turns the noted events into
 * records while the run goes on, polling more often while there is work,
 * and writes a block whenever one is full and at least every
 * PROFILER_FLUSH_MS (and at the end), so another process querying during
 * the run sees the finished tasks.
 */
#ifndef DAGLIB_PROFILER_H
#define DAGLIB_PROFILER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "big_array.h"
#include "cpu_hints.h"
#include "error.h"
#include "profile_file.h"
#include "scheduler.h"
#include "ticks.h"

#define PROFILE_LOG_CHUNK 1024

/* What a worker notes when it finished a node (ran, failed or skipped),
 * in slots of 16 bytes.  Nearly every node ran once, succeeded and took
 * under 2^32 ticks (over a second): one slot holds the node, its span and
 * its end.  Any other outcome takes three: the node marked
 * PROFILE_EVENT_FULL with its outcome and start, then its end and its run
 * time, each marked PROFILE_EVENT_MORE.  A worker may run far ahead of the
 * profiler's thread, and its notes are then written to memory no cache
 * holds: the smaller they are, the less that costs it. */
#define PROFILE_EVENT_FULL PLAN_ARG_CONST /* nodes are numbered below it */
#define PROFILE_EVENT_MORE UINT32_MAX

typedef struct profile_event {
    uint32_t node; /* | PROFILE_EVENT_FULL, or PROFILE_EVENT_MORE */
    uint32_t word; /* one slot: the span in ticks; full: the outcome,
                    * status | has_message << 8 | attempts << 16 */
    uint64_t ticks; /* one slot: the end; full: start, end, run time */
} profile_event;

/* An event read back. */
typedef struct profile_note {
    uint32_t node, status, has_message, attempts;
    task_times times;
} profile_note;

/* Read the event at ev (all its slots published) into out; how many slots
 * it took. */
static inline uint32_t profile_event_read(const profile_event *ev,
                                          profile_note *out)
{
    if (ev->node & PROFILE_EVENT_FULL) {
        *out = (profile_note){ev[0].node & ~PROFILE_EVENT_FULL,
                              ev[0].word & 0xff, ev[0].word >> 8 & 1,
                              ev[0].word >> 16,
                              {ev[0].ticks, ev[1].ticks, ev[2].ticks}};
        return 3;
    }
    *out = (profile_note){ev->node, NODE_OK, 0, 1,
                          {ev->ticks - ev->word, ev->ticks, ev->word}};
    return 1;
}

/* The profiler reads a chunk's `next` to learn that the chunk is full, and
 * its `count` only now and then (see profiler.c): on a cache line of its
 * own, `next` changes once per chunk, so the worker's line of `count` and
 * events stays its own while it fills them. */
typedef struct profile_log_chunk {
    _Atomic(struct profile_log_chunk *) next;
    _Alignas(64) _Atomic uint32_t count; /* slots published by the worker */
    profile_event events[PROFILE_LOG_CHUNK];
} profile_log_chunk;

/* A log's chunks come from a block array of its own (big_array.h), freed
 * with the log: its blocks are kept for the next run's logs, faulted in.
 * A worker can run far ahead of the profiler's thread (a run of empty
 * tasks notes an event in a few nanoseconds, the encoding takes tens), so
 * a run may fill megabytes of chunks; as malloc's, they came back as fresh
 * pages at every run, a page fault per 4 KiB on the workers' path. */
typedef struct profile_log {
    /* the worker's end */
    _Alignas(64) profile_log_chunk *tail;
    uint32_t tail_count;
    _Atomic int lost; /* a chunk could not be allocated */
    void *blocks[GROW_BLOCKS];
    uint32_t n_chunks; /* taken from the blocks */
    /* Chunks the profiler has read, handed back for the worker to fill
     * again (a stack linked through `next`: the profiler pushes, the
     * worker pops), so a long run cycles through a few warm chunks
     * instead of faulting in fresh memory. */
    _Atomic(profile_log_chunk *) spares;
    /* the profiler thread's end */
    _Alignas(64) profile_log_chunk *head;
    uint32_t head_read;
} profile_log;

/* Where a profiled run's cost went, in nanoseconds of the thread that
 * paid it: for the benchmark's split (bench/scheduler_bench.c). */
typedef struct profile_costs {
    int64_t create_ns;    /* profiler_start(): file, header, thread */
    int64_t encode_ns;    /* events turned into records (CPU time) ... */
    int64_t write_ns;     /* blocks written (wall time) ... */
    int64_t encode_after_ns; /* ... of which after the last task */
    int64_t write_after_ns;
    int64_t stop_ns;      /* waiting for the thread's last pass */
    int64_t sync_ns;      /* fdatasync() and close() */
    int64_t thread_cpu_ns; /* all the profiler thread's CPU time */
    int64_t caller_cpu_ns; /* the run's caller's, starting and finishing */
    uint64_t records;
    uint64_t bytes;       /* the file's size */
} profile_costs;

/* The costs of the profiled run that finished last in this process. */
void profiler_last_costs(profile_costs *out);

typedef struct profiler {
    run *run;
    profile_file *file;
    profile_log *logs; /* one per worker */
    uint32_t n_logs;
    ticks_source clock; /* the run's */
    ticks_anchor start; /* ticks and CLOCK_MONOTONIC at the start ... */
    int64_t wall0_us;   /* ... and CLOCK_REALTIME with them */
    ticks_scale scale;  /* for the chunk being turned into records: set
                         * before each is read (drain_logs) */
    uint64_t last_ticks; /* the last tick converted on that scale, */
    int64_t last_wall_us; /* and its wall time */

    pthread_t thread;
    pthread_mutex_t lock; /* between the run's caller and the thread only */
    pthread_cond_t stop_signal;
    int stop;
    error_state error; /* the first write error; later records are dropped */
    char *name_buffer;
    size_t name_capacity;
    profile_costs costs;
    int64_t write_cpu_ns; /* what writing took of the CPU times measured */
} profiler;

/* Create the run's file and start the profiler thread.  DAGLIB_OK with *out
 * set, or an error in err with nothing left on disk. */
int profiler_start(profiler **out, run *r, const char *root,
                   const char *dag_name, const char *dag_description,
                   const char *codec, error_state *err);

/* The run id and the path of the file; borrowed from the profiler. */
const char *profiler_run_id(const profiler *pr);
const char *profiler_path(const profiler *pr);

/* An empty log with its first chunk (0), or -1 when memory runs out;
 * profile_log_release() hands its blocks back, also after a failed init. */
int profile_log_init(profile_log *log);
void profile_log_release(profile_log *log);

/* Slow path of profiler_task_done: start a new chunk.  0, or -1 with
 * `lost` set when memory runs out. */
int profile_log_extend(profile_log *log);

/* profiler_task_done's other path: three slots (one_slot 0), or a new
 * chunk first. */
int profiler_note_slow(profiler *pr, uint32_t w, uint32_t n,
                       const node_state *st, const node_output *out,
                       const task_times *times, int one_slot);

/* How many slots ahead the worker asks for its log's lines (cpu_hints.h):
 * chunks are filled again once the profiler's thread has read them, so
 * their lines were last on the other core. */
#define PROFILE_LOG_WRITE_AHEAD 8
_Static_assert(PROFILE_LOG_WRITE_AHEAD * sizeof(profile_event) == 2 * 64,
               "two cache lines ahead");

/* Worker w finished node n, with outcome st and out and times.  Hot
 * path.  1 when it went for a new chunk for the log (and, memory run out,
 * lost the event): the scheduler then reads the clock afresh for w's next
 * task. */
static inline int profiler_task_done(profiler *pr, uint32_t w, uint32_t n,
                                     const node_state *st,
                                     const node_output *out,
                                     const task_times *times)
{
    profile_log *log = &pr->logs[w];
    const uint64_t span = times->ended - times->started;
    const int one_slot = st->status == NODE_OK && st->attempts == 1 &&
                         out->error == NULL && span <= UINT32_MAX;
    if (!one_slot || log->tail_count == PROFILE_LOG_CHUNK)
        return profiler_note_slow(pr, w, n, st, out, times, one_slot);
    if (log->tail_count + PROFILE_LOG_WRITE_AHEAD < PROFILE_LOG_CHUNK)
        prefetch_for_writing(
            &log->tail->events[log->tail_count + PROFILE_LOG_WRITE_AHEAD]);
    profile_event *ev = &log->tail->events[log->tail_count++];
    ev->node = n;
    ev->word = (uint32_t)span;
    ev->ticks = times->ended;
    atomic_store_explicit(&log->tail->count, log->tail_count,
                          memory_order_release);
    return 0;
}

/* After the run: stop the thread, write what is left, fsync, close, free.
 * DAGLIB_OK, or the first error (records lost, write failed) in err. */
int profiler_finish(profiler *pr, error_state *err);

#endif
