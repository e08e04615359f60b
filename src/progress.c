/*
 * progress.c -- draw a run's progress on a stream the caller chose.
 *
 * On a terminal the line is redrawn in place every PROGRESS_TTY_MS (a
 * carriage return, then erase to the end of the line); on anything else
 * (a log file, a pipe) a plain line is printed every PROGRESS_PLAIN_MS, so
 * logs stay readable.  Both end with a final line when the run is over.
 *
 * A line redrawn in place must fit the terminal, as wide as it is at each
 * draw (a pane may be resized meanwhile): a line that wraps leaves a new
 * line behind at every redraw.  So it is cut to one column less than the
 * width, the counts kept whole and shortened first, the DAG's name last.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "own_threads.h"
#include "progress.h"

#define PROGRESS_TTY_MS 200
#define PROGRESS_PLAIN_MS 5000

struct progress {
    run *run;
    FILE *out;
    const char *dag_name;
    int tty;
    struct timespec started;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t stop_signal;
    int stop;
};

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) +
           (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Columns of the terminal out is on; 80 when it does not say. */
static size_t terminal_columns(FILE *out)
{
    struct winsize size;
    if (ioctl(fileno(out), TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
        return size.ws_col;
    return 80;
}

/* Display columns of s: one per character (UTF-8 continuation bytes take
 * none); DAG names hold no control characters. */
static size_t columns_of(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

/* The longest prefix of s[0..len) that takes at most `columns`, cut
 * between characters. */
static size_t prefix_fitting(const char *s, size_t len, size_t columns)
{
    size_t used = 0, i = 0;
    while (i < len) {
        size_t next = i + 1;
        while (next < len && ((unsigned char)s[next] & 0xC0) == 0x80)
            next++;
        if (used + 1 > columns)
            break;
        used++;
        i = next;
    }
    return i;
}

/* Write "name: counts" in at most `columns` columns: the name is cut (and
 * ends in "~") before the counts are, and the counts only when even a
 * one-character name does not leave room for them. */
static void put_fitted(FILE *out, const char *name, const char *counts,
                       size_t columns)
{
    size_t name_len = strlen(name), counts_len = strlen(counts);
    size_t counts_cols = columns_of(counts, counts_len);
    if (columns_of(name, name_len) + 2 + counts_cols <= columns) {
        fprintf(out, "%s: %s", name, counts);
        return;
    }
    if (counts_cols + 4 <= columns) { /* "n~: " and the counts */
        size_t keep = prefix_fitting(name, name_len, columns - counts_cols - 3);
        fprintf(out, "%.*s~: %s", (int)keep, name, counts);
        return;
    }
    fprintf(out, "%.*s", (int)prefix_fitting(counts, counts_len, columns),
            counts);
}

static void draw(progress *p, int last)
{
    const run *r = p->run;
    unsigned long done = 0, failed = 0, running = 0;
    for (uint32_t i = 0; i < r->n_workers; i++) {
        done += atomic_load_explicit(&r->workers[i].done, memory_order_relaxed);
        failed +=
            atomic_load_explicit(&r->workers[i].failed, memory_order_relaxed);
        running +=
            atomic_load_explicit(&r->workers[i].running, memory_order_relaxed);
    }
    double seconds = seconds_since(&p->started);
    char counts[160];
    snprintf(counts, sizeof counts, "%lu/%u done, %lu running, %lu failed, %.1f s",
             done, r->plan->n_nodes, running, failed, seconds);
    if (!p->tty) {
        fprintf(p->out, "%s: %s\n", p->dag_name, counts);
        fflush(p->out);
        return;
    }
    size_t columns = terminal_columns(p->out);
    size_t room = columns > 1 ? columns - 1 : 1; /* never the last column */
    if (columns_of(counts, strlen(counts)) + 4 > room)
        snprintf(counts, sizeof counts, "%lu/%u, %lu run, %lu failed, %.0fs",
                 done, r->plan->n_nodes, running, failed, seconds);
    fputc('\r', p->out);
    put_fitted(p->out, p->dag_name, counts, room);
    fputs(last ? "\033[K\n" : "\033[K", p->out);
    fflush(p->out);
}

static void *progress_main(void *arg)
{
    progress *p = arg;
    own_thread_name("daglib progress");
    long period_ms = p->tty ? PROGRESS_TTY_MS : PROGRESS_PLAIN_MS;
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += period_ms / 1000;
        deadline.tv_nsec += (period_ms % 1000) * 1000000;
        if (deadline.tv_nsec >= 1000000000) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&p->stop_signal, &p->lock, &deadline);
        if (!p->stop)
            draw(p, 0);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

progress *progress_start(run *r, FILE *out, const char *dag_name)
{
    progress *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->run = r;
    p->out = out;
    p->dag_name = dag_name;
    p->tty = isatty(fileno(out));
    clock_gettime(CLOCK_MONOTONIC, &p->started);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&p->stop_signal, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&p->lock, NULL);
    if (pthread_create(&p->thread, NULL, progress_main, p) != 0) {
        pthread_cond_destroy(&p->stop_signal);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return NULL;
    }
    return p;
}

void progress_stop(progress *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_signal(&p->stop_signal);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    draw(p, 1);
    pthread_cond_destroy(&p->stop_signal);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
