/*
 * assets.c -- the "Assets" chapter of the original documentation: a task
 * defined once, outside any DAG, and added to several DAGs, whose tasks
 * name it as their input.
 *
 * The asset `table` is six rows of five numbers.  dag1 counts its rows,
 * dag2 its columns, dag3 does both (two finals, hence a tuple).  Each DAG
 * runs its own copy of the task: nothing is shared between the runs.
 *
 *   $ examples/assets
 *   dag1: 6
 *   dag2: 5
 *   dag3: (6, 5)
 */
#include <stdio.h>

#include "daglib.h"

#define PROGRAM "examples/assets"

/* [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], ..., [26, 27, 28, 29, 30]] */
static void table(daglib_context *ctx, int argc,
                  const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_value *rows = daglib_value_new_list();
    for (int r = 0; rows != NULL && r < 6; r++) {
        daglib_value *row = daglib_value_new_list();
        for (int c = 1; row != NULL && c <= 5; c++) {
            if (daglib_list_append_int(row, 5 * r + c) != DAGLIB_OK) {
                daglib_value_free(row);
                row = NULL;
            }
        }
        /* daglib_list_append takes the row even when it fails. */
        if (row == NULL || daglib_list_append(rows, row) != DAGLIB_OK) {
            daglib_value_free(rows);
            rows = NULL;
        }
    }
    daglib_result_value(ctx, rows); /* NULL fails the task */
}

static const daglib_asset table_asset = {
    .name = "table",
    .description = "Six rows of five numbers",
    .fn = table,
    .user_data = NULL,
};

static void count_rows(daglib_context *ctx, int argc,
                       const daglib_value *const *argv)
{
    (void)argc;
    daglib_result_int(ctx, (int64_t)daglib_value_count(argv[0]));
}

static void count_cols(daglib_context *ctx, int argc,
                       const daglib_value *const *argv)
{
    (void)argc;
    const daglib_value *first_row = daglib_value_item(argv[0], 0);
    daglib_result_int(ctx, (int64_t)daglib_value_count(first_row));
}

/* Add a final task called name that reads the asset. */
static int add_final_reader(daglib_dag *dag, const char *name,
                            daglib_task_fn fn)
{
    daglib_task *t = daglib_task_add(dag, name, NULL, fn, NULL);
    if (t == NULL)
        return daglib_dag_errcode(dag);
    int rc = daglib_task_input(t, table_asset.name);
    return rc != DAGLIB_OK ? rc : daglib_task_set_final(t);
}

/* One DAG of the chapter: the asset, then the readers that are not NULL. */
static int run_dag(const char *name, daglib_task_fn rows, daglib_task_fn cols)
{
    int status = 1;
    daglib_value *finals = NULL;
    daglib_dag *dag = daglib_dag_new(name, "Uses the table asset", 0);
    if (dag == NULL) {
        fprintf(stderr, PROGRAM ": out of memory\n");
        return 1;
    }
    if (daglib_dag_add_asset(dag, &table_asset) == NULL ||
        (rows != NULL && add_final_reader(dag, "count_rows", rows) != DAGLIB_OK) ||
        (cols != NULL && add_final_reader(dag, "count_cols", cols) != DAGLIB_OK) ||
        daglib_run(dag, &finals) != DAGLIB_OK) {
        fprintf(stderr, PROGRAM ": %s\n", daglib_dag_errmsg(dag));
        goto done;
    }
    if (printf("%s: ", name) < 0 ||
        daglib_value_print(finals, stdout) != DAGLIB_OK || putchar('\n') == EOF) {
        fprintf(stderr, PROGRAM ": cannot write the result\n");
        goto done;
    }
    status = 0;
done:
    daglib_value_free(finals);
    daglib_dag_free(dag);
    return status;
}

int main(void)
{
    if (run_dag("dag1", count_rows, NULL) != 0 ||
        run_dag("dag2", NULL, count_cols) != 0 ||
        run_dag("dag3", count_rows, count_cols) != 0)
        return 1;
    return fflush(stdout) == 0 ? 0 : 1;
}
