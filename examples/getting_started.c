/*
 * getting_started.c -- the "Getting started" chapter of the original
 * documentation: a DAG of two tasks, where the second names the first as
 * its input and is final, so that running the DAG returns its result.
 *
 * It then shows what a run returns for each number of finals: the one
 * result as it is, a tuple for several (in the order they were marked),
 * None for none.  Profiling is off here (flags 0): no file is written.
 *
 *   $ examples/getting_started
 *   one final: [2, 4, 6]
 *   two finals: ([1, 2, 3], [2, 4, 6])
 *   no final: None
 */
#include <stdio.h>

#include "daglib.h"

#define PROGRAM "examples/getting_started"

/* "Do some stuff": [1, 2, 3]. */
static void task_1(daglib_context *ctx, int argc,
                   const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_value *list = daglib_value_new_list();
    for (int i = 1; list != NULL && i <= 3; i++) {
        if (daglib_list_append_int(list, i) != DAGLIB_OK) {
            daglib_value_free(list);
            list = NULL;
        }
    }
    daglib_result_value(ctx, list); /* NULL fails the task */
}

/* "Do some other stuff": task_1's items doubled.  argv[0] is task_1's
 * result, because task_1 is the one input task_2 names. */
static void task_2(daglib_context *ctx, int argc,
                   const daglib_value *const *argv)
{
    (void)argc;
    daglib_value *doubled = daglib_value_new_list();
    for (size_t i = 0; doubled != NULL && i < daglib_value_count(argv[0]); i++) {
        int64_t x = daglib_value_int(daglib_value_item(argv[0], i));
        if (daglib_list_append_int(doubled, 2 * x) != DAGLIB_OK) {
            daglib_value_free(doubled);
            doubled = NULL;
        }
    }
    daglib_result_value(ctx, doubled); /* NULL fails the task */
}

/* Which of the two tasks are final in one story. */
enum finals { FINAL_TASK_2, FINAL_BOTH, FINAL_NONE };

/* Build the two-task DAG, run it, print "label: finals".  Returns the exit
 * status: 0, or 1 after printing the DAG's error on stderr. */
static int run_and_print(const char *label, enum finals finals)
{
    int status = 1;
    daglib_value *result = NULL;
    daglib_dag *dag =
        daglib_dag_new("getting_started", "This is an example DAG", 0);
    if (dag == NULL) {
        fprintf(stderr, PROGRAM ": out of memory\n");
        return 1;
    }

    daglib_task *t1 = daglib_task_add(dag, "task_1", "Do some stuff", task_1,
                                      NULL);
    daglib_task *t2 = daglib_task_add(dag, "task_2", "Do some other stuff",
                                      task_2, NULL);
    if (t1 == NULL || t2 == NULL || daglib_task_input(t2, "task_1") != DAGLIB_OK)
        goto failed;
    /* Finals come back in the order they are marked. */
    if (finals == FINAL_BOTH && daglib_task_set_final(t1) != DAGLIB_OK)
        goto failed;
    if (finals != FINAL_NONE && daglib_task_set_final(t2) != DAGLIB_OK)
        goto failed;

    if (daglib_run(dag, &result) != DAGLIB_OK)
        goto failed;
    if (printf("%s: ", label) < 0 ||
        daglib_value_print(result, stdout) != DAGLIB_OK || putchar('\n') == EOF) {
        fprintf(stderr, PROGRAM ": cannot write the result\n");
        goto done;
    }
    status = 0;
    goto done;

failed:
    fprintf(stderr, PROGRAM ": %s\n", daglib_dag_errmsg(dag));
done:
    daglib_value_free(result);
    daglib_dag_free(dag);
    return status;
}

int main(void)
{
    if (run_and_print("one final", FINAL_TASK_2) != 0 ||
        run_and_print("two finals", FINAL_BOTH) != 0 ||
        run_and_print("no final", FINAL_NONE) != 0)
        return 1;
    return fflush(stdout) == 0 ? 0 : 1;
}
