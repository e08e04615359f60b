/*
 * retries.c -- the "Retries" chapter of the original documentation (which
 * used tenacity): a task that fails now and then is tried again, after a
 * delay that grows by a factor each time.
 *
 * unreliable_task fails its first two tries and succeeds on the third,
 * waiting 10 ms, then 20 ms in between.  hopeless_task never succeeds: after
 * its last try the run fails with that try's message, and report, which
 * needs its result, is skipped.  An observer (on the workers' threads) sees
 * each instance finish, with the number of tries and the last failure's
 * message, which is kept even when a later try succeeded.
 *
 *   $ examples/retries
 *   unreliable_task: 'Awesome sauce!'
 *   unreliable_task attempts: 3
 *   unreliable_task last failure: Broken sauce, try 2
 *   run error: task 'hopeless_task' of DAG 'hopeless' failed: Broken sauce, try 3 (1 task failed, 1 skipped)
 *   hopeless_task attempts: 3
 *   report: skipped
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daglib.h"

#define PROGRAM "examples/retries"

/* ---- tasks ------------------------------------------------------------- */

/* A task that fails until its try number reaches succeed_on.  Tries of one
 * task never overlap, but the count is atomic because each try may run on
 * another worker. */
struct flaky {
    int succeed_on;
    _Atomic int tries;
};

static void unreliable(daglib_context *ctx, int argc,
                       const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    struct flaky *f = daglib_user_data(ctx);
    int attempt = atomic_fetch_add(&f->tries, 1) + 1;
    if (attempt < f->succeed_on)
        daglib_result_error(ctx, "Broken sauce, try %d", attempt);
    else
        daglib_result_text(ctx, "Awesome sauce!", -1, DAGLIB_STATIC);
}

static void report(daglib_context *ctx, int argc,
                   const daglib_value *const *argv)
{
    (void)argc;
    daglib_result_copy(ctx, argv[0]);
}

/* ---- watching the tries ------------------------------------------------------ */

#define MAX_WATCHED 4

struct finished {
    char *name;
    int status;
    int attempts;
    char *error; /* NULL when no try failed */
};

/* What the observer saw; the lock because callbacks come from several
 * workers at once. */
struct watch {
    pthread_mutex_t lock;
    struct finished seen[MAX_WATCHED];
    int count;
    int lost; /* finishes not kept: no room or no memory */
};

static char *copy_of(const char *s)
{
    if (s == NULL)
        return NULL;
    size_t len = strlen(s);
    char *copy = malloc(len + 1);
    if (copy != NULL)
        memcpy(copy, s, len + 1);
    return copy;
}

static void on_finish(void *user_data, const daglib_task_event *event)
{
    struct watch *w = user_data;
    /* Strings in the event are borrowed for the call only. */
    struct finished f = {copy_of(event->task_name), event->status,
                         event->attempt, copy_of(event->error)};
    int kept = 0;
    pthread_mutex_lock(&w->lock);
    if (f.name != NULL && (event->error == NULL || f.error != NULL) &&
        w->count < MAX_WATCHED) {
        w->seen[w->count++] = f;
        kept = 1;
    } else {
        w->lost++;
    }
    pthread_mutex_unlock(&w->lock);
    if (!kept) {
        free(f.name);
        free(f.error);
    }
}

/* What the observer saw of the task called name, or NULL.  Called after a
 * run, when the workers are done. */
static const struct finished *seen(const struct watch *w, const char *name)
{
    for (int i = 0; i < w->count; i++)
        if (strcmp(w->seen[i].name, name) == 0)
            return &w->seen[i];
    return NULL;
}

static void forget(struct watch *w)
{
    for (int i = 0; i < w->count; i++) {
        free(w->seen[i].name);
        free(w->seen[i].error);
    }
    w->count = 0;
    w->lost = 0;
}

static const char *status_name(int status)
{
    switch (status) {
    case DAGLIB_STATUS_OK: return "ok";
    case DAGLIB_STATUS_FAILED: return "failed";
    case DAGLIB_STATUS_SKIPPED: return "skipped";
    default: return "unknown";
    }
}

/* ---- the chapter ---------------------------------------------------------- */

/* Add a retried task called name to dag, final, or (when dependant is not
 * NULL) followed by a task of that name that needs its result.  Returns
 * DAGLIB_OK or the first error, whose message the DAG keeps. */
static int add_retried(daglib_dag *dag, const char *name, struct flaky *flaky,
                       const daglib_retry *policy, const char *dependant,
                       const daglib_observer *observer)
{
    daglib_task *t = daglib_task_add(dag, name, "Fails now and then",
                                     unreliable, flaky);
    if (t == NULL)
        return daglib_dag_errcode(dag);
    int rc = daglib_task_set_retry(t, policy);
    if (rc == DAGLIB_OK)
        rc = daglib_dag_set_observer(dag, observer);
    if (rc != DAGLIB_OK || dependant == NULL)
        return rc != DAGLIB_OK ? rc : daglib_task_set_final(t);
    daglib_task *after = daglib_task_add(dag, dependant, "Needs it", report,
                                         NULL);
    return after == NULL ? daglib_dag_errcode(dag)
                         : daglib_task_input(after, name);
}

/* Three tries at most, 10 ms before the second, 20 ms before the third; the
 * one-second cap on a wait is there to show the field, never reached. */
static int eventually_succeeds(struct watch *w, const daglib_observer *observer)
{
    static const daglib_retry policy = {
        .attempts = 3, .delay = 0.01, .backoff = 2.0, .max_delay = 1.0};
    struct flaky flaky = {.succeed_on = 3};
    daglib_value *result = NULL;
    int status = 1;

    daglib_dag *dag = daglib_dag_new("unreliable", "Retries", 0);
    if (dag == NULL) {
        fprintf(stderr, PROGRAM ": out of memory\n");
        return 1;
    }
    if (add_retried(dag, "unreliable_task", &flaky, &policy, NULL,
                    observer) != DAGLIB_OK ||
        daglib_run(dag, &result) != DAGLIB_OK) {
        fprintf(stderr, PROGRAM ": %s\n", daglib_dag_errmsg(dag));
        goto done;
    }
    const struct finished *f = seen(w, "unreliable_task");
    if (w->lost > 0 || f == NULL || f->error == NULL) {
        fprintf(stderr, PROGRAM ": the observer missed the tries\n");
        goto done;
    }
    if (printf("unreliable_task: ") < 0 ||
        daglib_value_print(result, stdout) != DAGLIB_OK ||
        printf("\nunreliable_task attempts: %d\n", f->attempts) < 0 ||
        printf("unreliable_task last failure: %s\n", f->error) < 0) {
        fprintf(stderr, PROGRAM ": cannot write the results\n");
        goto done;
    }
    status = 0;
done:
    daglib_value_free(result);
    daglib_dag_free(dag);
    forget(w);
    return status;
}

/* No waits between tries here: the point is the failure. */
static int never_succeeds(struct watch *w, const daglib_observer *observer)
{
    static const daglib_retry policy = {.attempts = 3, .delay = 0, .backoff = 1};
    struct flaky flaky = {.succeed_on = 1000};
    int status = 1;

    daglib_dag *dag = daglib_dag_new("hopeless", "Retries", 0);
    if (dag == NULL) {
        fprintf(stderr, PROGRAM ": out of memory\n");
        return 1;
    }
    if (add_retried(dag, "hopeless_task", &flaky, &policy, "report",
                    observer) != DAGLIB_OK) {
        fprintf(stderr, PROGRAM ": %s\n", daglib_dag_errmsg(dag));
        goto done;
    }
    /* The one outcome expected here is a failed task; anything else (a
     * build error, success) is the program's failure. */
    if (daglib_run(dag, NULL) != DAGLIB_TASK_FAILED) {
        fprintf(stderr, PROGRAM ": expected hopeless_task to fail: %s\n",
                daglib_dag_errmsg(dag));
        goto done;
    }
    const struct finished *hopeless = seen(w, "hopeless_task");
    const struct finished *after = seen(w, "report");
    if (w->lost > 0 || hopeless == NULL || after == NULL) {
        fprintf(stderr, PROGRAM ": the observer missed a task\n");
        goto done;
    }
    if (printf("run error: %s\n", daglib_dag_errmsg(dag)) < 0 ||
        printf("hopeless_task attempts: %d\n", hopeless->attempts) < 0 ||
        printf("report: %s\n", status_name(after->status)) < 0) {
        fprintf(stderr, PROGRAM ": cannot write the results\n");
        goto done;
    }
    status = 0;
done:
    daglib_dag_free(dag);
    forget(w);
    return status;
}

int main(void)
{
    struct watch w = {.lock = PTHREAD_MUTEX_INITIALIZER};
    daglib_observer observer = {NULL, on_finish, &w};
    if (eventually_succeeds(&w, &observer) != 0 ||
        never_succeeds(&w, &observer) != 0)
        return 1;
    return fflush(stdout) == 0 ? 0 : 1;
}
