/*
 * larger_projects.c -- the "Larger projects" chapter of the original
 * documentation: split a project into DAGs of their own (kept in separate
 * files in a real project), run and test each alone, then merge them as
 * subdags into the DAG that puts them together.
 *
 * subdag_1 squares 1..5 and subdag_2 squares 6..10.  The project merges
 * both and adds combiner, which depends on both squaring tasks and sums
 * everything: 385.  Merged with keep_finals, the subdags' finals become
 * the project's too, before its own.  A subdag whose task names clash
 * with the project's is refused, and nothing of it is copied.
 *
 *   $ examples/larger_projects
 *   subdag_1: [1, 4, 9, 16, 25]
 *   subdag_2: [36, 49, 64, 81, 100]
 *   project: 385
 *   project keeping the subdags' finals: ([1, 4, 9, 16, 25], [36, 49, 64, 81, 100], 385)
 *   name clash: DAG 'project' and its subdag 'subdag_1' both have a task named 'task_a'
 */
#include <stdio.h>

#include "daglib.h"

#define PROGRAM "examples/larger_projects"

/* ---- tasks ------------------------------------------------------------- */

struct range {
    int64_t from, to;
};

/* The numbers from..to of the range in user_data. */
static void numbers(daglib_context *ctx, int argc,
                    const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    const struct range *r = daglib_user_data(ctx);
    daglib_value *list = daglib_value_new_list();
    for (int64_t i = r->from; list != NULL && i <= r->to; i++) {
        if (daglib_list_append_int(list, i) != DAGLIB_OK) {
            daglib_value_free(list);
            list = NULL;
        }
    }
    daglib_result_value(ctx, list); /* NULL fails the task */
}

static void squares(daglib_context *ctx, int argc,
                    const daglib_value *const *argv)
{
    (void)argc;
    daglib_value *out = daglib_value_new_list();
    for (size_t i = 0; out != NULL && i < daglib_value_count(argv[0]); i++) {
        int64_t n = daglib_value_int(daglib_value_item(argv[0], i));
        if (daglib_list_append_int(out, n * n) != DAGLIB_OK) {
            daglib_value_free(out);
            out = NULL;
        }
    }
    daglib_result_value(ctx, out); /* NULL fails the task */
}

/* The sum of every item of every argument (each a list of squares). */
static void combiner(daglib_context *ctx, int argc,
                     const daglib_value *const *argv)
{
    int64_t sum = 0;
    for (int a = 0; a < argc; a++)
        for (size_t i = 0; i < daglib_value_count(argv[a]); i++)
            sum += daglib_value_int(daglib_value_item(argv[a], i));
    daglib_result_int(ctx, sum);
}

/* ---- the DAGs ---------------------------------------------------------------- */

static struct range one_to_five = {1, 5};
static struct range six_to_ten = {6, 10};

/* A subdag's tasks: source yields the range, square (final) squares it.
 * Returns DAGLIB_OK or the first error, whose message the DAG keeps. */
static int add_squares(daglib_dag *dag, const char *source, const char *square,
                       struct range *range)
{
    daglib_task *s = daglib_task_add(dag, source, "Some numbers", numbers,
                                     range);
    daglib_task *t = daglib_task_add(dag, square, "Their squares", squares,
                                     NULL);
    if (s == NULL || t == NULL)
        return daglib_dag_errcode(dag);
    int rc = daglib_task_input(t, source);
    return rc != DAGLIB_OK ? rc : daglib_task_set_final(t);
}

/* Run dag and print "label: finals".  Returns the exit status. */
static int run_and_print(daglib_dag *dag, const char *label)
{
    daglib_value *finals = NULL;
    if (daglib_run(dag, &finals) != DAGLIB_OK) {
        fprintf(stderr, PROGRAM ": %s\n", daglib_dag_errmsg(dag));
        return 1;
    }
    int bad = printf("%s: ", label) < 0 ||
              daglib_value_print(finals, stdout) != DAGLIB_OK ||
              putchar('\n') == EOF;
    daglib_value_free(finals);
    if (bad)
        fprintf(stderr, PROGRAM ": cannot write the result\n");
    return bad;
}

/* The project: both subdags and the combiner that depends on them. */
static int run_project(const daglib_dag *sub1, const daglib_dag *sub2,
                       int keep_finals, const char *label)
{
    int status = 1;
    daglib_dag *dag = daglib_dag_new("project", "Puts the squares together", 0);
    if (dag == NULL) {
        fprintf(stderr, PROGRAM ": out of memory\n");
        return 1;
    }
    if (daglib_dag_add_subdag(dag, sub1, keep_finals) != DAGLIB_OK ||
        daglib_dag_add_subdag(dag, sub2, keep_finals) != DAGLIB_OK)
        goto failed;
    daglib_task *c = daglib_task_add(dag, "combiner", "Sum of all squares",
                                     combiner, NULL);
    if (c == NULL || daglib_task_depends_on(c, "task_b") != DAGLIB_OK ||
        daglib_task_depends_on(c, "task_d") != DAGLIB_OK ||
        daglib_task_set_final(c) != DAGLIB_OK)
        goto failed;
    status = run_and_print(dag, label);
    goto done;
failed:
    fprintf(stderr, PROGRAM ": %s\n", daglib_dag_errmsg(dag));
done:
    daglib_dag_free(dag);
    return status;
}

/* Merging subdag_1 into a project that already has its task_a. */
static int show_a_name_clash(const daglib_dag *sub1)
{
    daglib_dag *dag = daglib_dag_new("project", NULL, 0);
    if (dag == NULL) {
        fprintf(stderr, PROGRAM ": out of memory\n");
        return 1;
    }
    int status = 1;
    if (daglib_task_add(dag, "task_a", NULL, numbers, &one_to_five) == NULL) {
        fprintf(stderr, PROGRAM ": %s\n", daglib_dag_errmsg(dag));
    } else if (daglib_dag_add_subdag(dag, sub1, 0) != DAGLIB_DUPLICATE) {
        fprintf(stderr, PROGRAM ": expected a name clash: %s\n",
                daglib_dag_errmsg(dag));
    } else {
        status = printf("name clash: %s\n", daglib_dag_errmsg(dag)) < 0;
    }
    daglib_dag_free(dag);
    return status;
}

int main(void)
{
    int status = 1;
    daglib_dag *sub1 = daglib_dag_new("subdag_1", "Squares 1 to 5", 0);
    daglib_dag *sub2 = daglib_dag_new("subdag_2", "Squares 6 to 10", 0);
    if (sub1 == NULL || sub2 == NULL) {
        fprintf(stderr, PROGRAM ": out of memory\n");
        goto done;
    }
    if (add_squares(sub1, "task_a", "task_b", &one_to_five) != DAGLIB_OK ||
        add_squares(sub2, "task_c", "task_d", &six_to_ten) != DAGLIB_OK) {
        fprintf(stderr, PROGRAM ": %s\n",
                daglib_dag_errmsg(daglib_dag_errcode(sub1) != DAGLIB_OK ? sub1
                                                                        : sub2));
        goto done;
    }
    /* Each subdag runs on its own, as its tests would run it. */
    if (run_and_print(sub1, "subdag_1") != 0 ||
        run_and_print(sub2, "subdag_2") != 0 ||
        run_project(sub1, sub2, 0, "project") != 0 ||
        run_project(sub1, sub2, 1, "project keeping the subdags' finals") != 0 ||
        show_a_name_clash(sub1) != 0)
        goto done;
    status = fflush(stdout) == 0 ? 0 : 1;
done:
    daglib_dag_free(sub1);
    daglib_dag_free(sub2);
    return status;
}
