/*
 * profiling.c -- the profiling page's first example.
 *
 * Two tasks: task_1 sleeps a second and returns [1, 2, 3]; task_2 doubles
 * each item.  With DAGLIB_PROFILE the run writes
 * meta/profiling/example/run_<9 hex digits>.avro (or under
 * $DAGLIB_META_DIR), which the profiling table of the SQLite extension
 * reads:
 *
 *   $ examples/profiling
 *   [2, 4, 6]
 *   $ sqlite3 -cmd '.load ./daglib_sqlite' :memory: 'SELECT * FROM profiling'
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */

#include <stdio.h>
#include <time.h>

#include "daglib.h"

static void task_1(daglib_context *ctx, int argc,
                   const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    struct timespec one_second = {1, 0};
    nanosleep(&one_second, NULL);

    daglib_value *list = daglib_value_new_list();
    for (int i = 1; i <= 3; i++)
        daglib_list_append_int(list, i);
    daglib_result_value(ctx, list);
}

static void task_2(daglib_context *ctx, int argc,
                   const daglib_value *const *argv)
{
    (void)argc;
    const daglib_value *task_1_result = argv[0];
    daglib_value *doubled = daglib_value_new_list();
    for (size_t i = 0; i < daglib_value_count(task_1_result); i++) {
        int64_t x = daglib_value_int(daglib_value_item(task_1_result, i));
        daglib_list_append_int(doubled, x * 2);
    }
    daglib_result_value(ctx, doubled);
}

int main(void)
{
    daglib_dag *dag =
        daglib_dag_new("example", "This is an example DAG", DAGLIB_PROFILE);
    if (dag == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    daglib_task_add(dag, "task_1", "Do some stuff", task_1, NULL);
    daglib_task *t2 =
        daglib_task_add(dag, "task_2", "Do some other stuff", task_2, NULL);
    daglib_task_input(t2, "task_1");
    daglib_task_set_final(t2);

    daglib_value *result = NULL;
    int rc = daglib_run(dag, &result);
    if (rc != DAGLIB_OK) {
        fprintf(stderr, "examples/profiling: %s\n", daglib_dag_errmsg(dag));
        daglib_dag_free(dag);
        return 1;
    }
    daglib_value_print(result, stdout);
    putchar('\n');
    daglib_value_free(result);
    daglib_dag_free(dag);
    return 0;
}
