/*
 * profiler.c -- the profiler thread: drain the workers' logs, encode, flush.
 *
 * While the run goes on, the thread turns what the workers noted into
 * records: at once again after a pass that found events, after a pause
 * that doubles from PROFILER_POLL_MIN_US to PROFILER_POLL_MAX_MS while
 * passes find none.  So the encoding of a busy run overlaps its tasks (on
 * a spare core, or in the gaps of the workers' time slices) instead of
 * waiting for the end, and a run of slow tasks costs a few wake-ups a
 * second.  A block is written as soon as it is full (profile_file_block_full:
 * a record count and a byte size) and when PROFILER_FLUSH_MS have passed
 * since the last one.  Blocks of many records are what make the files fast
 * to query; the time bound is what lets a query during the run see the
 * tasks finished so far, and the size bound keeps every block within what
 * a reader accepts.
 *
 * A write error is kept, later records are dropped, and the run's caller
 * gets the error from profiler_finish(); the tasks themselves never wait
 * on the file.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dag.h"
#include "own_threads.h"
#include "profiler.h"

#define PROFILER_POLL_MIN_US 50
#define PROFILER_POLL_MAX_MS 100
#define PROFILER_FLUSH_MS 500

static pthread_mutex_t last_costs_lock = PTHREAD_MUTEX_INITIALIZER;
static profile_costs last_costs;

void profiler_last_costs(profile_costs *out)
{
    pthread_mutex_lock(&last_costs_lock);
    *out = last_costs;
    pthread_mutex_unlock(&last_costs_lock);
}

static int64_t realtime_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Only the worker pops, so a chunk it sees on top cannot be popped and
 * pushed again under it (no ABA). */
static profile_log_chunk *pop_spare(profile_log *log)
{
    profile_log_chunk *top =
        atomic_load_explicit(&log->spares, memory_order_acquire);
    while (top != NULL &&
           !atomic_compare_exchange_weak_explicit(
               &log->spares, &top,
               atomic_load_explicit(&top->next, memory_order_relaxed),
               memory_order_acquire, memory_order_acquire))
        ;
    return top;
}

/* The next chunk of the log's blocks, faulted in. */
static profile_log_chunk *carve_chunk(profile_log *log)
{
    if (log->n_chunks == UINT32_MAX)
        return NULL;
    uint32_t offset, block = block_of(log->n_chunks, &offset);
    profile_log_chunk *chunk = block_slot(log->blocks, block, offset,
                                          sizeof *chunk, 0);
    if (chunk != NULL)
        log->n_chunks++;
    return chunk;
}

static profile_log_chunk *new_chunk(profile_log *log)
{
    profile_log_chunk *chunk = pop_spare(log);
    if (chunk == NULL && (chunk = carve_chunk(log)) == NULL)
        return NULL;
    atomic_init(&chunk->count, 0);
    atomic_init(&chunk->next, NULL);
    return chunk;
}

int profile_log_extend(profile_log *log)
{
    profile_log_chunk *chunk = new_chunk(log);
    if (chunk == NULL) {
        atomic_store_explicit(&log->lost, 1, memory_order_relaxed);
        return -1;
    }
    atomic_store_explicit(&log->tail->next, chunk, memory_order_release);
    log->tail = chunk;
    log->tail_count = 0;
    return 0;
}

int profiler_note_slow(profiler *pr, uint32_t w, uint32_t n,
                       const node_state *st, const node_output *out,
                       const task_times *times, int one_slot)
{
    profile_log *log = &pr->logs[w];
    const uint32_t slots = one_slot ? 1 : 3;
    int extended = 0;
    if (log->tail_count + slots > PROFILE_LOG_CHUNK) {
        if (profile_log_extend(log) != 0)
            return 1;
        extended = 1;
    }
    profile_event *ev = &log->tail->events[log->tail_count];
    if (one_slot) {
        ev[0] = (profile_event){n, (uint32_t)(times->ended - times->started),
                                times->ended};
    } else {
        uint32_t outcome = (uint32_t)st->status |
                           (uint32_t)(out->error != NULL) << 8 |
                           (uint32_t)st->attempts << 16;
        ev[0] = (profile_event){n | PROFILE_EVENT_FULL, outcome, times->started};
        ev[1] = (profile_event){PROFILE_EVENT_MORE, 0, times->ended};
        ev[2] = (profile_event){PROFILE_EVENT_MORE, 0, times->runtime};
    }
    log->tail_count += slots;
    atomic_store_explicit(&log->tail->count, log->tail_count,
                          memory_order_release);
    return extended;
}

/* A chunk read to the end goes back to its worker. */
static void recycle_chunk(profile_log *log, profile_log_chunk *chunk)
{
    profile_log_chunk *top =
        atomic_load_explicit(&log->spares, memory_order_relaxed);
    do
        atomic_store_explicit(&chunk->next, top, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&log->spares, &top, chunk,
                                                  memory_order_release,
                                                  memory_order_relaxed));
}

const char *profiler_run_id(const profiler *pr)
{
    return profile_file_run_id(pr->file);
}

const char *profiler_path(const profiler *pr)
{
    return profile_file_path(pr->file);
}

/* ---- records ------------------------------------------------------------- */

/* A tick as wall time.  The last one is kept: a task's start is most
 * often the end of the task before it on its worker. */
static int64_t wall_us(profiler *pr, uint64_t ticks)
{
    if (ticks != pr->last_ticks) {
        int64_t mono_ns = ticks_to_mono_ns(&pr->scale, ticks);
        pr->last_ticks = ticks;
        pr->last_wall_us = pr->wall0_us + (mono_ns - pr->start.mono_ns) / 1000;
    }
    return pr->last_wall_us;
}

/* The scale for the ticks read before `now`.  The kept tick is made the
 * anchor's own, converted on the new scale: no tick kept from the old
 * scale can answer for one read since. */
static void set_scale(profiler *pr, const ticks_anchor *now)
{
    ticks_scale_set(&pr->scale, pr->clock, &pr->start, now);
    pr->last_ticks = now->ticks + 1; /* not now->ticks: convert it anew */
    wall_us(pr, now->ticks);
}

/* Node n's printed name: its task's, or "task 3" for instance 3. */
static const char *instance_name(profiler *pr, uint32_t n, uint32_t instance,
                                 size_t *len)
{
    const run *r = pr->run;
    const plan_node *pn = &r->plan->nodes[n];
    if (instance == PLAN_NO_INSTANCE) {
        *len = pn->task->name_len;
        return pn->task->name;
    }
    size_t needed = (size_t)pn->task->name_len + 12;
    if (needed > pr->name_capacity) {
        char *bigger = realloc(pr->name_buffer, needed);
        if (bigger == NULL) {
            *len = pn->task->name_len;
            return pn->task->name;
        }
        pr->name_buffer = bigger;
        pr->name_capacity = needed;
    }
    *len = run_node_name(r, n, pr->name_buffer, pr->name_capacity);
    return pr->name_buffer;
}

/* The calling thread's CPU time: what encoding costs, whether or not the
 * thread shares its core with workers. */
static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void write_block(profiler *pr)
{
    int64_t t0 = ticks_monotonic_ns(), cpu0 = thread_cpu_ns();
    if (pr->error.code == DAGLIB_OK && profile_file_pending(pr->file) > 0)
        profile_file_flush(pr->file, &pr->error);
    pr->costs.write_ns += ticks_monotonic_ns() - t0;
    pr->write_cpu_ns += thread_cpu_ns() - cpu0;
}

/* Turn the event at ev into a record; how many slots it took. */
static uint32_t record_event(profiler *pr, uint32_t w, const profile_event *ev)
{
    profile_note note;
    const uint32_t slots = profile_event_read(ev, &note);
    const uint32_t n = note.node;
    if (pr->error.code != DAGLIB_OK)
        return slots;
    const run *r = pr->run;
    const plan_node *pn = &r->plan->nodes[n];
    const uint32_t instance = plan_node_instance(r->plan, n);
    profile_record rec;
    rec.task_name = instance_name(pr, n, instance, &rec.task_name_len);
    rec.task_description = pn->task->description;
    rec.task = NULL;
    rec.task_len = 0;
    rec.instance = PROFILE_NO_INSTANCE;
    if (instance != PLAN_NO_INSTANCE && instance <= INT32_MAX) {
        rec.task = pn->task->name;
        rec.task_len = pn->task->name_len;
        rec.instance = (int32_t)instance;
    }
    rec.error = NULL;
    if (note.status == NODE_SKIPPED) {
        rec.status = PROFILE_SKIPPED;
        rec.runtime = 0.0;
        rec.started_at_us = rec.ended_at_us = PROFILE_NO_TIME;
        rec.attempts = 0;
        rec.worker = PROFILE_NO_WORKER;
    } else {
        rec.status = note.status == NODE_OK ? PROFILE_OK : PROFILE_FAILED;
        rec.runtime = ticks_span_seconds(&pr->scale, note.times.runtime);
        rec.attempts = (int32_t)note.attempts;
        rec.worker = (int32_t)w;
        if (note.attempts > 0) {
            rec.started_at_us = wall_us(pr, note.times.started);
            rec.ended_at_us = wall_us(pr, note.times.ended);
        } else {
            rec.started_at_us = rec.ended_at_us = PROFILE_NO_TIME;
        }
        /* A message may outlive a retry that then succeeded.  The node's
         * output is looked at only then: it is on the worker's cache
         * lines. */
        if (note.has_message)
            rec.error = r->outputs[n].error;
        if (note.status == NODE_FAILED && rec.error == NULL)
            rec.error = "out of memory";
    }
    if (profile_file_append(pr->file, &rec, &pr->error) == DAGLIB_OK &&
        profile_file_block_full(pr->file))
        write_block(pr);
    return slots;
}

/* How many slots ahead of the one being encoded the memory it will need
 * is asked for, in three steps, each a cache miss in a big DAG and each
 * needing the one before: the event (its worker's core wrote it), then
 * the event's plan node, then the node's task. */
#define PREFETCH_EVENT_AHEAD 64
#define PREFETCH_NODE_AHEAD 40
#define PREFETCH_TASK_AHEAD 16

/* Always inlined: GCC takes a function that only prefetches for one
 * without effects, and drops the calls. */
static inline __attribute__((always_inline)) void
prefetch_ahead(const profiler *pr, const profile_log_chunk *chunk, uint32_t i,
               uint32_t count)
{
    const plan_node *nodes = pr->run->plan->nodes;
    if (i + PREFETCH_EVENT_AHEAD < count)
        __builtin_prefetch(&chunk->events[i + PREFETCH_EVENT_AHEAD]);
    uint32_t n;
    if (i + PREFETCH_NODE_AHEAD < count &&
        (n = chunk->events[i + PREFETCH_NODE_AHEAD].node) != PROFILE_EVENT_MORE)
        __builtin_prefetch(&nodes[n & ~PROFILE_EVENT_FULL]);
    if (i + PREFETCH_TASK_AHEAD < count &&
        (n = chunk->events[i + PREFETCH_TASK_AHEAD].node) != PROFILE_EVENT_MORE)
        __builtin_prefetch(nodes[n & ~PROFILE_EVENT_FULL].task);
}

/* Turn the events of the workers' full chunks into records, and with
 * `partial` also those of the chunks they are filling; how many.  Reading
 * a chunk while its worker fills it would pull the worker's cache lines
 * away from it event by event, so that waits for the flush. */
static size_t drain_logs(profiler *pr, int partial)
{
    int64_t cpu0 = thread_cpu_ns(), written0 = pr->write_cpu_ns;
    size_t drained = 0;
    for (uint32_t w = 0; w < pr->n_logs; w++) {
        profile_log *log = &pr->logs[w];
        for (;;) {
            /* Read before the events are: every tick converted lies
             * between the run's first anchor and this one. */
            ticks_anchor now;
            ticks_anchor_read(pr->clock, &now);
            set_scale(pr, &now);
            profile_log_chunk *chunk = log->head;
            profile_log_chunk *next =
                atomic_load_explicit(&chunk->next, memory_order_acquire);
            if (next == NULL && !partial)
                break;
            /* A chunk with a next is full: its count is final (it may end
             * a slot or two short, where three would not fit). */
            uint32_t count =
                atomic_load_explicit(&chunk->count, memory_order_acquire);
            while (log->head_read < count) {
                prefetch_ahead(pr, chunk, log->head_read, count);
                log->head_read +=
                    record_event(pr, w, &chunk->events[log->head_read]);
                drained++;
            }
            if (next == NULL)
                break;
            log->head = next;
            log->head_read = 0;
            recycle_chunk(log, chunk);
        }
    }
    pr->costs.records += drained;
    pr->costs.encode_ns +=
        thread_cpu_ns() - cpu0 - (pr->write_cpu_ns - written0);
    return drained;
}

/* ---- the thread ------------------------------------------------------------ */

static void *profiler_main(void *arg)
{
    profiler *pr = arg;
    own_thread_name("daglib profiler");
    int64_t last_flush = ticks_monotonic_ns();
    int64_t pause_ns = PROFILER_POLL_MIN_US * 1000LL;
    pthread_mutex_lock(&pr->lock);
    while (!pr->stop) {
        pthread_mutex_unlock(&pr->lock);
        int64_t now = ticks_monotonic_ns();
        int flush_due = now - last_flush >= PROFILER_FLUSH_MS * 1000000LL;
        size_t drained = drain_logs(pr, flush_due);
        if (flush_due) {
            write_block(pr);
            last_flush = now;
        }
        pthread_mutex_lock(&pr->lock);
        if (drained > 0) {
            pause_ns = PROFILER_POLL_MIN_US * 1000LL;
            continue;
        }
        int64_t wake = now + pause_ns;
        if (wake > last_flush + PROFILER_FLUSH_MS * 1000000LL)
            wake = last_flush + PROFILER_FLUSH_MS * 1000000LL;
        struct timespec deadline = {wake / 1000000000, wake % 1000000000};
        if (!pr->stop)
            pthread_cond_timedwait(&pr->stop_signal, &pr->lock, &deadline);
        if (pause_ns < PROFILER_POLL_MAX_MS * 1000000LL)
            pause_ns *= 2;
    }
    pthread_mutex_unlock(&pr->lock);
    pr->costs.thread_cpu_ns = thread_cpu_ns(); /* read by the joiner */
    return NULL;
}

int profile_log_init(profile_log *log)
{
    memset(log, 0, sizeof *log);
    atomic_init(&log->lost, 0);
    atomic_init(&log->spares, NULL);
    log->head = log->tail = new_chunk(log);
    return log->head != NULL ? 0 : -1;
}

void profile_log_release(profile_log *log)
{
    for (uint32_t k = 0; k < GROW_BLOCKS; k++) {
        big_free(log->blocks[k]);
        log->blocks[k] = NULL;
    }
    log->n_chunks = 0;
    log->head = log->tail = NULL;
}

static void free_logs(profiler *pr)
{
    if (pr->logs == NULL)
        return;
    for (uint32_t w = 0; w < pr->n_logs; w++)
        profile_log_release(&pr->logs[w]);
    free(pr->logs);
}

static void profiler_free(profiler *pr)
{
    free_logs(pr);
    error_clear(&pr->error);
    free(pr->name_buffer);
    free(pr);
}

int profiler_start(profiler **out, run *r, const char *root,
                   const char *dag_name, const char *dag_description,
                   const char *codec, error_state *err)
{
    int64_t t0 = ticks_monotonic_ns(), cpu0 = thread_cpu_ns();
    *out = NULL;
    profiler *pr = calloc(1, sizeof *pr);
    if (pr == NULL)
        return error_set(err, DAGLIB_NOMEM, "out of memory starting profiling");
    pr->run = r;
    pr->n_logs = r->n_workers;
    size_t logs_bytes = (sizeof(profile_log) * pr->n_logs + 63) & ~(size_t)63;
    pr->logs = aligned_alloc(64, logs_bytes);
    if (pr->logs == NULL) {
        free(pr);
        return error_set(err, DAGLIB_NOMEM, "out of memory starting profiling");
    }
    memset(pr->logs, 0, logs_bytes);
    for (uint32_t w = 0; w < pr->n_logs; w++) {
        if (profile_log_init(&pr->logs[w]) != 0) {
            profiler_free(pr);
            return error_set(err, DAGLIB_NOMEM,
                             "out of memory starting profiling");
        }
    }

    int rc = profile_file_create(root, dag_name, dag_description, codec,
                                 &pr->file, err);
    if (rc != DAGLIB_OK) {
        profiler_free(pr);
        return rc;
    }
    pr->clock = r->clock;
    ticks_anchor_read(pr->clock, &pr->start);
    pr->wall0_us = realtime_us();

    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&pr->stop_signal, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&pr->lock, NULL);
    /* Made beside the run's caller (own_threads.h). */
    pthread_attr_t beside;
    int placed = pthread_attr_init(&beside) == 0;
    if (placed)
        own_thread_beside_caller(&beside);
    int made = pthread_create(&pr->thread, placed ? &beside : NULL,
                              profiler_main, pr);
    if (placed)
        pthread_attr_destroy(&beside);
    if (made != 0) { /* pthread_create() returns its error, errno aside */
        char *path = format_string("%s", profile_file_path(pr->file));
        profile_file_close(pr->file, NULL);
        if (path != NULL)
            unlink(path); /* nothing half-written stays behind */
        free(path);
        pthread_cond_destroy(&pr->stop_signal);
        pthread_mutex_destroy(&pr->lock);
        profiler_free(pr);
        return error_set(err, DAGLIB_NOMEM,
                         "cannot start the profiling thread: %s",
                         strerror(made));
    }
    pr->costs.create_ns = ticks_monotonic_ns() - t0;
    pr->costs.caller_cpu_ns = thread_cpu_ns() - cpu0;
    *out = pr;
    return DAGLIB_OK;
}

int profiler_finish(profiler *pr, error_state *err)
{
    int64_t t0 = ticks_monotonic_ns(), cpu0 = thread_cpu_ns();
    pthread_mutex_lock(&pr->lock);
    pr->stop = 1;
    pthread_cond_signal(&pr->stop_signal);
    pthread_mutex_unlock(&pr->lock);
    pthread_join(pr->thread, NULL);
    pthread_cond_destroy(&pr->stop_signal);
    pthread_mutex_destroy(&pr->lock);

    int64_t t1 = ticks_monotonic_ns();
    int64_t encoded = pr->costs.encode_ns, written = pr->costs.write_ns;
    drain_logs(pr, 1);
    write_block(pr);
    int64_t t2 = ticks_monotonic_ns();
    pr->costs.bytes = profile_file_size(pr->file);
    error_state close_error = ERROR_STATE_INIT;
    profile_file_close(pr->file, &close_error);
    pr->costs.stop_ns = t1 - t0;
    pr->costs.encode_after_ns = pr->costs.encode_ns - encoded;
    pr->costs.write_after_ns = pr->costs.write_ns - written;
    pr->costs.sync_ns = ticks_monotonic_ns() - t2;
    pr->costs.caller_cpu_ns += thread_cpu_ns() - cpu0;
    pthread_mutex_lock(&last_costs_lock);
    last_costs = pr->costs;
    pthread_mutex_unlock(&last_costs_lock);
    if (pr->error.code == DAGLIB_OK && close_error.code != DAGLIB_OK)
        error_move(&pr->error, &close_error);
    error_clear(&close_error);
    for (uint32_t w = 0; w < pr->n_logs && pr->error.code == DAGLIB_OK; w++)
        if (atomic_load_explicit(&pr->logs[w].lost, memory_order_relaxed))
            error_set(&pr->error, DAGLIB_NOMEM,
                      "out of memory recording the run: some profiling "
                      "records were lost");
    int rc = pr->error.code;
    if (rc != DAGLIB_OK)
        error_move(err, &pr->error);
    profiler_free(pr);
    return rc;
}
