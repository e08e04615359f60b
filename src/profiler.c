/*
 * profiler.c -- the profiler thread: drain the workers' logs, encode, flush.
 *
 * The thread wakes every PROFILER_WAKE_MS, turns what the workers noted
 * into records (encoding happens here, not on the workers), and writes a
 * block when PROFILER_FLUSH_MS have passed since the last one or as soon as
 * the pending block is full (profile_file_block_full: a record count and a
 * byte size, checked after every record).  Blocks of many records are what
 * make the files fast to query; the time bound is what lets a query during
 * the run see the tasks finished so far, and the size bound keeps every
 * block within what a reader accepts.
 *
 * A write error is kept, later records are dropped, and the run's caller
 * gets the error from profiler_finish(); the tasks themselves never wait
 * on the file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dag.h"
#include "profiler.h"

#define PROFILER_WAKE_MS 100
#define PROFILER_FLUSH_MS 500

static int64_t clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int profile_log_extend(profile_log *log)
{
    profile_log_chunk *chunk = malloc(sizeof *chunk);
    if (chunk == NULL) {
        atomic_store_explicit(&log->lost, 1, memory_order_relaxed);
        return -1;
    }
    atomic_init(&chunk->count, 0);
    atomic_init(&chunk->next, NULL);
    atomic_store_explicit(&log->tail->next, chunk, memory_order_release);
    log->tail = chunk;
    log->tail_count = 0;
    return 0;
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

static int64_t wall_us(const profiler *pr, int64_t mono_ns)
{
    return pr->wall0_us + (mono_ns - pr->mono0_ns) / 1000;
}

static const char *instance_name(profiler *pr, uint32_t n, size_t *len)
{
    const run *r = pr->run;
    const plan_node *pn = &r->plan->nodes[n];
    if (pn->instance == PLAN_NO_INSTANCE) {
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

static void record_node(profiler *pr, uint32_t n)
{
    if (pr->error.code != DAGLIB_OK)
        return;
    const run *r = pr->run;
    const node_state *st = &r->states[n];
    const node_timing *t = &r->timing[n];
    profile_record rec;
    const plan_node *pn = &r->plan->nodes[n];
    rec.task_name = instance_name(pr, n, &rec.task_name_len);
    rec.task_description = pn->task->description;
    rec.task = NULL;
    rec.task_len = 0;
    rec.instance = PROFILE_NO_INSTANCE;
    if (pn->instance != PLAN_NO_INSTANCE && pn->instance <= INT32_MAX) {
        rec.task = pn->task->name;
        rec.task_len = pn->task->name_len;
        rec.instance = (int32_t)pn->instance;
    }
    rec.error = st->error;
    if (st->status == NODE_SKIPPED) {
        rec.status = PROFILE_SKIPPED;
        rec.runtime = 0.0;
        rec.started_at_us = rec.ended_at_us = PROFILE_NO_TIME;
        rec.attempts = 0;
        rec.worker = PROFILE_NO_WORKER;
    } else {
        rec.status = st->status == NODE_OK ? PROFILE_OK : PROFILE_FAILED;
        rec.runtime = (double)t->runtime_ns / 1e9;
        rec.attempts = st->attempts;
        rec.worker = st->worker;
        if (st->attempts > 0) {
            rec.started_at_us = wall_us(pr, t->started_ns);
            rec.ended_at_us = wall_us(pr, t->ended_ns);
        } else {
            rec.started_at_us = rec.ended_at_us = PROFILE_NO_TIME;
        }
        if (st->status == NODE_FAILED && rec.error == NULL)
            rec.error = "out of memory";
    }
    if (profile_file_append(pr->file, &rec, &pr->error) == DAGLIB_OK &&
        profile_file_block_full(pr->file))
        profile_file_flush(pr->file, &pr->error);
}

/* Turn everything the workers have published into records. */
static void drain_logs(profiler *pr)
{
    for (uint32_t w = 0; w < pr->n_logs; w++) {
        profile_log *log = &pr->logs[w];
        for (;;) {
            profile_log_chunk *chunk = log->head;
            uint32_t count =
                atomic_load_explicit(&chunk->count, memory_order_acquire);
            while (log->head_read < count)
                record_node(pr, chunk->items[log->head_read++]);
            if (log->head_read < PROFILE_LOG_CHUNK)
                break;
            profile_log_chunk *next =
                atomic_load_explicit(&chunk->next, memory_order_acquire);
            if (next == NULL)
                break;
            free(chunk);
            log->head = next;
            log->head_read = 0;
        }
    }
}

static void flush_block(profiler *pr)
{
    if (pr->error.code == DAGLIB_OK && profile_file_pending(pr->file) > 0)
        profile_file_flush(pr->file, &pr->error);
}

/* ---- the thread ------------------------------------------------------------ */

static void *profiler_main(void *arg)
{
    profiler *pr = arg;
    int64_t last_flush = clock_ns(CLOCK_MONOTONIC);
    pthread_mutex_lock(&pr->lock);
    while (!pr->stop) {
        int64_t wake = clock_ns(CLOCK_MONOTONIC) + PROFILER_WAKE_MS * 1000000LL;
        struct timespec deadline = {wake / 1000000000, wake % 1000000000};
        pthread_cond_timedwait(&pr->stop_signal, &pr->lock, &deadline);
        if (pr->stop)
            break;
        pthread_mutex_unlock(&pr->lock);
        drain_logs(pr);
        int64_t now = clock_ns(CLOCK_MONOTONIC);
        if (now - last_flush >= PROFILER_FLUSH_MS * 1000000LL) {
            flush_block(pr);
            last_flush = now;
        }
        pthread_mutex_lock(&pr->lock);
    }
    pthread_mutex_unlock(&pr->lock);
    return NULL;
}

static void free_logs(profiler *pr)
{
    if (pr->logs == NULL)
        return;
    for (uint32_t w = 0; w < pr->n_logs; w++) {
        profile_log_chunk *chunk = pr->logs[w].head;
        while (chunk != NULL) {
            profile_log_chunk *next =
                atomic_load_explicit(&chunk->next, memory_order_relaxed);
            free(chunk);
            chunk = next;
        }
    }
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
        profile_log *log = &pr->logs[w];
        profile_log_chunk *first = malloc(sizeof *first);
        if (first == NULL) {
            profiler_free(pr);
            return error_set(err, DAGLIB_NOMEM,
                             "out of memory starting profiling");
        }
        atomic_init(&first->count, 0);
        atomic_init(&first->next, NULL);
        log->head = log->tail = first;
        atomic_init(&log->lost, 0);
    }

    int rc = profile_file_create(root, dag_name, dag_description, codec,
                                 &pr->file, err);
    if (rc != DAGLIB_OK) {
        profiler_free(pr);
        return rc;
    }
    pr->mono0_ns = clock_ns(CLOCK_MONOTONIC);
    pr->wall0_us = clock_ns(CLOCK_REALTIME) / 1000;

    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&pr->stop_signal, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&pr->lock, NULL);
    if (pthread_create(&pr->thread, NULL, profiler_main, pr) != 0) {
        int saved = errno;
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
                         strerror(saved));
    }
    *out = pr;
    return DAGLIB_OK;
}

int profiler_finish(profiler *pr, error_state *err)
{
    pthread_mutex_lock(&pr->lock);
    pr->stop = 1;
    pthread_cond_signal(&pr->stop_signal);
    pthread_mutex_unlock(&pr->lock);
    pthread_join(pr->thread, NULL);
    pthread_cond_destroy(&pr->stop_signal);
    pthread_mutex_destroy(&pr->lock);

    drain_logs(pr);
    flush_block(pr);
    error_state close_error = ERROR_STATE_INIT;
    profile_file_close(pr->file, &close_error);
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
