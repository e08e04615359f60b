/*
 * progress.h -- an opt-in progress line for long runs.
 *
 * A thread of its own samples the workers' counters (each worker writes
 * only its own, so the tasks pay a store, not a shared atomic) and draws
 * done/total, running, failed and elapsed time.
 */
#ifndef DAGLIB_PROGRESS_H
#define DAGLIB_PROGRESS_H

#include <stdio.h>

#include "scheduler.h"

typedef struct progress progress;

/* Start drawing the progress of r on out.  NULL when the thread cannot
 * start: the run then goes on without a progress line. */
progress *progress_start(run *r, FILE *out, const char *dag_name);

/* Draw the final line and stop.  NULL is a no-op. */
void progress_stop(progress *p);

#endif
