/*
 * task_types.c -- the "Types of tasks" chapter of the original
 * documentation: mapped tasks (over a list, or over another mapped task),
 * joins, chunked results, and extra dependencies.
 *
 * A mapped task runs once per item, its instances ("add_two 0" ..
 * "add_two 4") in parallel; a final mapped task returns the tuple of its
 * instances' results.  A join receives one list of every instance's result.
 * A chunked task's list result is split as numpy.array_split splits it,
 * and each chunk is an instance that others map over or join.
 *
 *   $ examples/task_types
 *   map over a list: (3, 4, 5, 6, 7)
 *   map over a mapped task: (9, 12, 15, 18, 21)
 *   join: 25
 *   map and join, both final: (9, 12, 15, 18, 21, 75)
 *   chunks: ([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
 *   chunks, map and join: 9900
 *   depends_on: 3
 */
#include <stdio.h>

#include "daglib.h"

#define PROGRAM "examples/task_types"

/* ---- tasks ------------------------------------------------------------- */

/* The list from..to, or NULL when memory runs out. */
static daglib_value *range_list(int64_t from, int64_t to)
{
    daglib_value *list = daglib_value_new_list();
    for (int64_t i = from; list != NULL && i <= to; i++) {
        if (daglib_list_append_int(list, i) != DAGLIB_OK) {
            daglib_value_free(list);
            list = NULL;
        }
    }
    return list;
}

static void add_two(daglib_context *ctx, int argc,
                    const daglib_value *const *argv)
{
    (void)argc;
    daglib_result_int(ctx, daglib_value_int(argv[0]) + 2);
}

static void multiply_by_3(daglib_context *ctx, int argc,
                          const daglib_value *const *argv)
{
    (void)argc;
    daglib_result_int(ctx, daglib_value_int(argv[0]) * 3);
}

/* The sum of a number, or of every number in a list, however nested: a
 * join of chunks receives a list of lists. */
static int64_t deep_sum(const daglib_value *v)
{
    if (daglib_value_type(v) != DAGLIB_LIST)
        return daglib_value_int(v);
    int64_t sum = 0;
    for (size_t i = 0; i < daglib_value_count(v); i++)
        sum += deep_sum(daglib_value_item(v, i));
    return sum;
}

/* The sum of every argument, so that a join (one list argument) and
 * depends_on (one argument per dependency) both add up. */
static void sum_all(daglib_context *ctx, int argc,
                    const daglib_value *const *argv)
{
    int64_t sum = 0;
    for (int a = 0; a < argc; a++)
        sum += deep_sum(argv[a]);
    daglib_result_int(ctx, sum);
}

/* A source of numbers: user_data says which. */
struct range {
    int64_t from, to;
};

static void numbers(daglib_context *ctx, int argc,
                    const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    const struct range *r = daglib_user_data(ctx);
    daglib_value *list = range_list(r->from, r->to);
    daglib_result_value(ctx, list); /* NULL fails the task */
}

/* One chunk, every item doubled. */
static void double_each(daglib_context *ctx, int argc,
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

static void one(daglib_context *ctx, int argc, const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_result_int(ctx, 1);
}

static void two(daglib_context *ctx, int argc, const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_result_int(ctx, 2);
}

/* ---- the chapter's DAGs ---------------------------------------------------
 *
 * Each builder adds its tasks to an empty DAG and returns DAGLIB_OK or the
 * first error (the DAG keeps its message).  Build errors are sticky, so a
 * builder may stop at the first failing call without losing the cause.
 */

/* add_two mapped over [1, 2, 3, 4, 5], final. */
static int add_mapped_add_two(daglib_dag *dag, int final)
{
    daglib_value *items = range_list(1, 5);
    if (items == NULL)
        return DAGLIB_NOMEM;
    daglib_task *t = daglib_task_add(dag, "add_two", "Add two", add_two, NULL);
    int rc = t == NULL ? daglib_dag_errcode(dag) : daglib_task_map_values(t, items);
    daglib_value_free(items); /* the task keeps its own copy */
    if (rc == DAGLIB_OK && final)
        rc = daglib_task_set_final(t);
    return rc;
}

static int build_map_over_a_list(daglib_dag *dag)
{
    return add_mapped_add_two(dag, 1);
}

/* multiply_by_3's instance i receives add_two's instance i's result. */
static int add_multiply_by_3(daglib_dag *dag)
{
    daglib_task *m = daglib_task_add(dag, "multiply_by_3", "Multiply by 3",
                                     multiply_by_3, NULL);
    if (m == NULL)
        return daglib_dag_errcode(dag);
    int rc = daglib_task_map(m, "add_two");
    return rc != DAGLIB_OK ? rc : daglib_task_set_final(m);
}

static int build_map_over_a_mapped_task(daglib_dag *dag)
{
    int rc = add_mapped_add_two(dag, 0);
    return rc != DAGLIB_OK ? rc : add_multiply_by_3(dag);
}

/* sum_all joining the instances of mapped, final. */
static int add_sum_all(daglib_dag *dag, const char *mapped)
{
    daglib_task *s = daglib_task_add(dag, "sum_all", "Sum them all", sum_all,
                                     NULL);
    if (s == NULL)
        return daglib_dag_errcode(dag);
    int rc = daglib_task_join(s, mapped);
    return rc != DAGLIB_OK ? rc : daglib_task_set_final(s);
}

static int build_join(daglib_dag *dag)
{
    int rc = add_mapped_add_two(dag, 0);
    return rc != DAGLIB_OK ? rc : add_sum_all(dag, "add_two");
}

/* multiply_by_3's five results, then their sum: six finals. */
static int build_map_and_join(daglib_dag *dag)
{
    int rc = add_mapped_add_two(dag, 0);
    if (rc == DAGLIB_OK)
        rc = add_multiply_by_3(dag);
    return rc != DAGLIB_OK ? rc : add_sum_all(dag, "multiply_by_3");
}

static struct range one_to_ten = {1, 10};
static struct range zero_to_99 = {0, 99};

static int build_chunks(daglib_dag *dag)
{
    daglib_task *t = daglib_task_add(dag, "example_array", "1 to 10", numbers,
                                     &one_to_ten);
    if (t == NULL)
        return daglib_dag_errcode(dag);
    int rc = daglib_task_set_chunks(t, 2);
    return rc != DAGLIB_OK ? rc : daglib_task_set_final(t);
}

/* 0..99 in 5 chunks of 20, each doubled, then summed: 2 * 4950. */
static int build_chunks_map_and_join(daglib_dag *dag)
{
    daglib_task *base = daglib_task_add(dag, "base_array", "0 to 99", numbers,
                                        &zero_to_99);
    daglib_task *process =
        daglib_task_add(dag, "process_array_chunks", "Double each item",
                        double_each, NULL);
    if (base == NULL || process == NULL)
        return daglib_dag_errcode(dag);
    int rc = daglib_task_set_chunks(base, 5);
    if (rc == DAGLIB_OK)
        rc = daglib_task_map(process, "base_array");
    return rc != DAGLIB_OK ? rc : add_sum_all(dag, "process_array_chunks");
}

/* task_2 names no input: its dependencies' results come as arguments, in
 * the order they were added. */
static int build_depends_on(daglib_dag *dag)
{
    daglib_task *a = daglib_task_add(dag, "task_1a", "One", one, NULL);
    daglib_task *b = daglib_task_add(dag, "task_1b", "Two", two, NULL);
    daglib_task *t2 = daglib_task_add(dag, "task_2", "Add them up", sum_all,
                                      NULL);
    if (a == NULL || b == NULL || t2 == NULL)
        return daglib_dag_errcode(dag);
    int rc = daglib_task_depends_on(t2, "task_1a");
    if (rc == DAGLIB_OK)
        rc = daglib_task_depends_on(t2, "task_1b");
    return rc != DAGLIB_OK ? rc : daglib_task_set_final(t2);
}

/* ---- running them --------------------------------------------------------- */

static const struct story {
    const char *label;
    const char *dag_name;
    int (*build)(daglib_dag *dag);
} stories[] = {
    {"map over a list", "map_over_a_list", build_map_over_a_list},
    {"map over a mapped task", "map_over_a_mapped_task",
     build_map_over_a_mapped_task},
    {"join", "join", build_join},
    {"map and join, both final", "map_and_join", build_map_and_join},
    {"chunks", "chunks", build_chunks},
    {"chunks, map and join", "chunks_map_and_join", build_chunks_map_and_join},
    {"depends_on", "depends_on", build_depends_on},
};

/* Build, run and print one story.  Returns the exit status: 0, or 1 after
 * printing the DAG's error on stderr. */
static int tell(const struct story *s)
{
    int status = 1;
    daglib_value *finals = NULL;
    daglib_dag *dag = daglib_dag_new(s->dag_name, s->label, 0);
    if (dag == NULL) {
        fprintf(stderr, PROGRAM ": out of memory\n");
        return 1;
    }
    if (s->build(dag) != DAGLIB_OK || daglib_run(dag, &finals) != DAGLIB_OK) {
        fprintf(stderr, PROGRAM ": %s\n", daglib_dag_errmsg(dag));
        goto done;
    }
    if (printf("%s: ", s->label) < 0 ||
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
    for (size_t i = 0; i < sizeof stories / sizeof stories[0]; i++)
        if (tell(&stories[i]) != 0)
            return 1;
    return fflush(stdout) == 0 ? 0 : 1;
}
