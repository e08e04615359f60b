/*
 * visualizing.c -- the "Visualizing" chapter of the original
 * documentation (dag.visualize()): the graph as Graphviz DOT text, whole
 * or culled to what one step needs.
 *
 * add_two is mapped over [1, 2, 3], multiply_by_3 over add_two's
 * instances, and sum_all joins them; report reads sum_all.  There is a
 * node per task instance ("add_two 0" ...) and an edge per argument; finals
 * are drawn with a thicker border.  Culled to multiply_by_3, only it and
 * its ancestors remain.  The program prints both drawings, which need no
 * run.
 *
 * With --runtimes it runs the DAG with profiling on (the file goes under
 * $DAGLIB_META_DIR or meta/) and prints instead the whole drawing with
 * each node labelled by its runtime in that run, read back from the file.
 * With --svg it also pipes the whole drawing through `dot -Tsvg` into
 * graph.svg (needs Graphviz: apt-get install graphviz).
 *
 *   $ examples/visualizing
 *   whole DAG:
 *   digraph "visualizing" {
 *       ...
 *       n0 [label="add_two 0"];
 *   ...
 *   culled to multiply_by_3:
 *   digraph "visualizing" {
 *   ...
 *   $ examples/visualizing --runtimes
 *   result: 36
 *   labelled with the runtimes of that run:
 *   digraph "visualizing" {
 *   ...
 *       n0 [label="add_two 0\n0.001062 s"];
 *   ...
 *   $ examples/visualizing --runtimes --svg && xdg-open graph.svg
 */
#define _POSIX_C_SOURCE 200809L /* popen, nanosleep */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daglib.h"

#define PROGRAM "examples/visualizing"
#define SVG_FILE "graph.svg"

/* ---- tasks ------------------------------------------------------------- */

/* Sleeps n milliseconds, so that a drawing with runtimes has some to show. */
static void add_two(daglib_context *ctx, int argc,
                    const daglib_value *const *argv)
{
    (void)argc;
    struct timespec pause = {0, (long)daglib_value_int(argv[0]) * 1000000L};
    nanosleep(&pause, NULL);
    daglib_result_int(ctx, daglib_value_int(argv[0]) + 2);
}

static void multiply_by_3(daglib_context *ctx, int argc,
                          const daglib_value *const *argv)
{
    (void)argc;
    daglib_result_int(ctx, daglib_value_int(argv[0]) * 3);
}

static void sum_all(daglib_context *ctx, int argc,
                    const daglib_value *const *argv)
{
    (void)argc;
    int64_t sum = 0;
    for (size_t i = 0; i < daglib_value_count(argv[0]); i++)
        sum += daglib_value_int(daglib_value_item(argv[0], i));
    daglib_result_int(ctx, sum);
}

static void report(daglib_context *ctx, int argc,
                   const daglib_value *const *argv)
{
    (void)argc;
    daglib_result_copy(ctx, argv[0]);
}

/* ---- the chapter ---------------------------------------------------------- */

static int build(daglib_dag *dag)
{
    daglib_value *items = daglib_value_new_list();
    if (items == NULL)
        return DAGLIB_NOMEM;
    int rc = DAGLIB_OK;
    for (int i = 1; rc == DAGLIB_OK && i <= 3; i++)
        rc = daglib_list_append_int(items, i);

    daglib_task *a = daglib_task_add(dag, "add_two", "Add two", add_two, NULL);
    daglib_task *m = daglib_task_add(dag, "multiply_by_3", "Multiply by 3",
                                     multiply_by_3, NULL);
    daglib_task *s = daglib_task_add(dag, "sum_all", "Sum them all", sum_all,
                                     NULL);
    daglib_task *r = daglib_task_add(dag, "report", "Pass the sum on", report,
                                     NULL);
    if (rc == DAGLIB_OK && (a == NULL || m == NULL || s == NULL || r == NULL))
        rc = daglib_dag_errcode(dag);
    if (rc == DAGLIB_OK)
        rc = daglib_task_map_values(a, items);
    daglib_value_free(items); /* add_two keeps its own copy */
    if (rc == DAGLIB_OK)
        rc = daglib_task_map(m, "add_two");
    if (rc == DAGLIB_OK)
        rc = daglib_task_join(s, "multiply_by_3");
    if (rc == DAGLIB_OK)
        rc = daglib_task_input(r, "sum_all");
    if (rc == DAGLIB_OK)
        rc = daglib_task_set_final(r);
    return rc;
}

/* Pipe dot_text through Graphviz into SVG_FILE.  The command is a constant:
 * nothing from outside reaches the shell. */
static int write_svg(const char *dot_text)
{
    FILE *dot = popen("dot -Tsvg -o " SVG_FILE, "w");
    if (dot == NULL) {
        perror(PROGRAM ": cannot start dot");
        return 1;
    }
    int wrote = fputs(dot_text, dot) != EOF;
    int status = pclose(dot);
    if (!wrote || status != 0) {
        fprintf(stderr, PROGRAM ": dot -Tsvg failed (status %d); is Graphviz "
                        "installed? (apt-get install graphviz)\n", status);
        return 1;
    }
    return 0;
}

/* Run the DAG once (profiled) and draw it labelled with that run's
 * runtimes.  Returns the drawing to free with daglib_free(), or NULL with
 * the error on the DAG. */
static char *run_and_draw(daglib_dag *dag)
{
    daglib_value *result = NULL;
    if (daglib_run(dag, &result) != DAGLIB_OK)
        return NULL;
    int bad = printf("result: ") < 0 ||
              daglib_value_print(result, stdout) != DAGLIB_OK ||
              putchar('\n') == EOF;
    daglib_value_free(result);
    if (bad) {
        fprintf(stderr, PROGRAM ": cannot write the result\n");
        return NULL;
    }
    return daglib_dag_to_dot(dag, NULL, daglib_dag_run_id(dag));
}

int main(int argc, char **argv)
{
    int svg = 0, runtimes = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--svg") == 0) {
            svg = 1;
        } else if (strcmp(argv[i], "--runtimes") == 0) {
            runtimes = 1;
        } else {
            fprintf(stderr, "usage: " PROGRAM " [--runtimes] [--svg]\n");
            return 2;
        }
    }

    int status = 1;
    char *whole = NULL, *culled = NULL;
    /* Profiling only when asked: the plain drawings need no run. */
    daglib_dag *dag = daglib_dag_new("visualizing", "Map, map again, join",
                                     runtimes ? DAGLIB_PROFILE : 0);
    if (dag == NULL) {
        fprintf(stderr, PROGRAM ": out of memory\n");
        return 1;
    }
    if (build(dag) != DAGLIB_OK)
        goto failed;
    if (runtimes) {
        if ((whole = run_and_draw(dag)) == NULL)
            goto failed;
        if (printf("labelled with the runtimes of that run:\n%s", whole) < 0 ||
            fflush(stdout) != 0)
            goto unwritten;
    } else {
        if ((whole = daglib_dag_to_dot(dag, NULL, NULL)) == NULL ||
            (culled = daglib_dag_to_dot(dag, "multiply_by_3", NULL)) == NULL)
            goto failed;
        /* The DOT text ends with a newline. */
        if (printf("whole DAG:\n%sculled to multiply_by_3:\n%s", whole,
                   culled) < 0 ||
            fflush(stdout) != 0)
            goto unwritten;
    }
    status = svg ? write_svg(whole) : 0;
    goto done;

unwritten:
    fprintf(stderr, PROGRAM ": cannot write the drawings\n");
    goto done;
failed:
    if (daglib_dag_errcode(dag) != DAGLIB_OK)
        fprintf(stderr, PROGRAM ": %s\n", daglib_dag_errmsg(dag));
done:
    daglib_free(whole);
    daglib_free(culled);
    daglib_dag_free(dag);
    return status;
}
