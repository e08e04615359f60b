/*
 * progress.c -- draw a run's progress on a stream the caller chose.
 *
 * On a terminal the line is redrawn in place every PROGRESS_TTY_MS (a
 * carriage return, then erase to the end of the line); on anything else
 * (a log file, a pipe) a plain line is printed every PROGRESS_PLAIN_MS, so
 * logs stay readable.  Both end with a final line when the run is over.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
    fprintf(p->out, "%s%s: %lu/%u done, %lu running, %lu failed, %.1f s%s%s",
            p->tty ? "\r" : "", p->dag_name, done, r->plan->n_nodes, running,
            failed, seconds_since(&p->started), p->tty ? "\033[K" : "",
            p->tty && !last ? "" : "\n");
    fflush(p->out);
}

static void *progress_main(void *arg)
{
    progress *p = arg;
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
