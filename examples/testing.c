/*
 * testing.c -- the "Testing" chapter of the original documentation: run a
 * DAG only up to a step, to check that step's result on its own.
 *
 * daglib_run_to_step() runs the step and its ancestors, nothing else, and
 * returns the step's result; for a mapped or chunked step, the tuple of
 * its instances' results.  An observer records which task instances ran,
 * printed sorted since independent instances finish in any order.  The
 * chunked task_1 shows as itself (the call of its function) and one
 * instance per chunk ("task_1 0", "task_1 1"), as in its DOT drawing.
 *
 *   $ examples/testing
 *   to task_1: ([1, 2, 3], [4, 5, 6])
 *   ran: task_1, task_1 0, task_1 1
 *   to task_2: ([2, 4, 6], [8, 10, 12])
 *   ran: task_1, task_1 0, task_1 1, task_2 0, task_2 1
 *   whole DAG: 42
 *   ran: task_1, task_1 0, task_1 1, task_2 0, task_2 1, task_3
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daglib.h"

#define PROGRAM "examples/testing"

/* ---- tasks ------------------------------------------------------------- */

/* [1, 2, 3, 4, 5, 6], which the DAG splits into two chunks. */
static void task_1(daglib_context *ctx, int argc,
                   const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_value *list = daglib_value_new_list();
    for (int i = 1; list != NULL && i <= 6; i++) {
        if (daglib_list_append_int(list, i) != DAGLIB_OK) {
            daglib_value_free(list);
            list = NULL;
        }
    }
    daglib_result_value(ctx, list); /* NULL fails the task */
}

/* One chunk of task_1, every item doubled. */
static void task_2(daglib_context *ctx, int argc,
                   const daglib_value *const *argv)
{
    (void)argc;
    daglib_value *out = daglib_value_new_list();
    for (size_t i = 0; out != NULL && i < daglib_value_count(argv[0]); i++) {
        int64_t x = daglib_value_int(daglib_value_item(argv[0], i));
        if (daglib_list_append_int(out, 2 * x) != DAGLIB_OK) {
            daglib_value_free(out);
            out = NULL;
        }
    }
    daglib_result_value(ctx, out); /* NULL fails the task */
}

/* The join of task_2: a list of lists, summed. */
static void task_3(daglib_context *ctx, int argc,
                   const daglib_value *const *argv)
{
    (void)argc;
    int64_t sum = 0;
    for (size_t i = 0; i < daglib_value_count(argv[0]); i++) {
        const daglib_value *chunk = daglib_value_item(argv[0], i);
        for (size_t j = 0; j < daglib_value_count(chunk); j++)
            sum += daglib_value_int(daglib_value_item(chunk, j));
    }
    daglib_result_int(ctx, sum);
}

/* ---- recording what ran ---------------------------------------------------- */

#define MAX_RECORDED 16

/* Observer callbacks come from several workers at once, hence the lock. */
struct ran {
    pthread_mutex_t lock;
    char *names[MAX_RECORDED];
    int count;
    int lost; /* instances not recorded: no room or no memory */
};

static void record_finish(void *user_data, const daglib_task_event *event)
{
    struct ran *ran = user_data;
    size_t len = strlen(event->task_name);
    char *copy = malloc(len + 1); /* the name is borrowed for the call */
    if (copy != NULL)
        memcpy(copy, event->task_name, len + 1);
    pthread_mutex_lock(&ran->lock);
    if (copy != NULL && ran->count < MAX_RECORDED) {
        ran->names[ran->count++] = copy;
        copy = NULL;
    } else {
        ran->lost++;
    }
    pthread_mutex_unlock(&ran->lock);
    free(copy);
}

static void forget(struct ran *ran)
{
    for (int i = 0; i < ran->count; i++)
        free(ran->names[i]);
    ran->count = 0;
    ran->lost = 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "ran: a, b, c", sorted.  Called between runs, when no worker is left. */
static int print_ran(struct ran *ran)
{
    if (ran->lost > 0) {
        fprintf(stderr, PROGRAM ": %d task instances not recorded\n", ran->lost);
        return 1;
    }
    qsort(ran->names, (size_t)ran->count, sizeof ran->names[0], by_name);
    if (fputs("ran:", stdout) == EOF)
        return 1;
    for (int i = 0; i < ran->count; i++)
        if (printf("%s %s", i == 0 ? "" : ",", ran->names[i]) < 0)
            return 1;
    return putchar('\n') == EOF;
}

/* ---- the chapter ---------------------------------------------------------- */

static int print_result(const char *label, const daglib_value *v)
{
    return printf("%s: ", label) < 0 || daglib_value_print(v, stdout) != DAGLIB_OK ||
           putchar('\n') == EOF;
}

static int build(daglib_dag *dag, const daglib_observer *observer)
{
    daglib_task *t1 = daglib_task_add(dag, "task_1", "Six numbers", task_1,
                                      NULL);
    daglib_task *t2 = daglib_task_add(dag, "task_2", "Double each chunk",
                                      task_2, NULL);
    daglib_task *t3 = daglib_task_add(dag, "task_3", "Sum it all", task_3,
                                      NULL);
    if (t1 == NULL || t2 == NULL || t3 == NULL)
        return daglib_dag_errcode(dag);
    int rc = daglib_task_set_chunks(t1, 2);
    if (rc == DAGLIB_OK)
        rc = daglib_task_map(t2, "task_1");
    if (rc == DAGLIB_OK)
        rc = daglib_task_join(t3, "task_2");
    if (rc == DAGLIB_OK)
        rc = daglib_task_set_final(t3);
    if (rc == DAGLIB_OK)
        rc = daglib_dag_set_observer(dag, observer);
    return rc;
}

int main(void)
{
    static const char *const steps[] = {"task_1", "task_2", NULL /* all */};
    struct ran ran = {.lock = PTHREAD_MUTEX_INITIALIZER};
    daglib_observer observer = {NULL, record_finish, &ran};
    int status = 1;

    daglib_dag *dag = daglib_dag_new("testing", "Run to a step", 0);
    if (dag == NULL) {
        fprintf(stderr, PROGRAM ": out of memory\n");
        return 1;
    }
    if (build(dag, &observer) != DAGLIB_OK)
        goto failed;

    /* The same DAG object runs three times: a run to a step leaves it as
     * it was. */
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        daglib_value *result = NULL;
        char label[64];
        int rc;
        if (steps[i] != NULL) {
            rc = daglib_run_to_step(dag, steps[i], &result);
            snprintf(label, sizeof label, "to %s", steps[i]);
        } else {
            rc = daglib_run(dag, &result);
            snprintf(label, sizeof label, "whole DAG");
        }
        if (rc != DAGLIB_OK)
            goto failed;
        int bad = print_result(label, result) || print_ran(&ran);
        daglib_value_free(result);
        forget(&ran);
        if (bad) {
            fprintf(stderr, PROGRAM ": cannot write the results\n");
            goto done;
        }
    }
    status = fflush(stdout) == 0 ? 0 : 1;
    goto done;

failed:
    fprintf(stderr, PROGRAM ": %s\n", daglib_dag_errmsg(dag));
done:
    forget(&ran);
    daglib_dag_free(dag);
    return status;
}
