/*
 * test_kinds.c -- mapped, joining and chunked tasks, runs to a step,
 * subdags, assets and retries: each story gives the result the original
 * library's documentation shows, and each misuse a clear error.
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <time.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "test.h"

/* ---- helpers ------------------------------------------------------------- */

static daglib_value *int_list(int from, int to)
{
    daglib_value *list = daglib_value_new_list();
    for (int i = from; i <= to; i++)
        daglib_list_append_int(list, i);
    return list;
}

/* Run dag and compare the printed finals with want. */
static void check_run_prints(daglib_dag *dag, const char *want)
{
    daglib_value *finals = NULL;
    int rc = daglib_run(dag, &finals);
    if (rc != DAGLIB_OK)
        FAIL("run failed: %s", daglib_dag_errmsg(dag));
    char *printed = daglib_value_to_string(finals);
    CHECK_STR_EQ(printed, want);
    daglib_free(printed);
    daglib_value_free(finals);
}

static void check_step_prints(daglib_dag *dag, const char *step,
                              const char *want)
{
    daglib_value *result = NULL;
    int rc = daglib_run_to_step(dag, step, &result);
    if (rc != DAGLIB_OK)
        FAIL("run to %s failed: %s", step, daglib_dag_errmsg(dag));
    char *printed = daglib_value_to_string(result);
    CHECK_STR_EQ(printed, want);
    daglib_free(printed);
    daglib_value_free(result);
}

static _Atomic int calls;

static void add_two(daglib_context *ctx, int argc,
                    const daglib_value *const *argv)
{
    (void)argc;
    atomic_fetch_add(&calls, 1);
    daglib_result_int(ctx, daglib_value_int(argv[0]) + 2);
}

static void multiply_by_3(daglib_context *ctx, int argc,
                          const daglib_value *const *argv)
{
    (void)argc;
    atomic_fetch_add(&calls, 1);
    daglib_result_int(ctx, daglib_value_int(argv[0]) * 3);
}

/* Sum of a list argument (a join), or of a list of lists. */
static int64_t deep_sum(const daglib_value *v)
{
    if (daglib_value_type(v) != DAGLIB_LIST)
        return daglib_value_int(v);
    int64_t sum = 0;
    for (size_t i = 0; i < daglib_value_count(v); i++)
        sum += deep_sum(daglib_value_item(v, i));
    return sum;
}

static void sum_all(daglib_context *ctx, int argc,
                    const daglib_value *const *argv)
{
    int64_t sum = 0;
    for (int i = 0; i < argc; i++)
        sum += deep_sum(argv[i]);
    daglib_result_int(ctx, sum);
}

static void return_user_list(daglib_context *ctx, int argc,
                             const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    atomic_fetch_add(&calls, 1);
    daglib_result_copy(ctx, daglib_user_data(ctx));
}

static void double_each(daglib_context *ctx, int argc,
                        const daglib_value *const *argv)
{
    (void)argc;
    atomic_fetch_add(&calls, 1);
    daglib_value *out = daglib_value_new_list();
    for (size_t i = 0; i < daglib_value_count(argv[0]); i++)
        daglib_list_append_int(out,
                               2 * daglib_value_int(daglib_value_item(argv[0], i)));
    daglib_result_value(ctx, out);
}

static void my_name(daglib_context *ctx, int argc,
                    const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_result_text(ctx, daglib_context_task_name(ctx), -1,
                       DAGLIB_TRANSIENT);
}

/* ---- mapping -------------------------------------------------------------- */

TEST(kinds_map_over_a_static_list)
{
    /* @dag.task(map_to=[1, 2, 3, 4, 5], final=True) def add_two(n) */
    daglib_dag *dag = daglib_dag_new("map", NULL, 0);
    daglib_task *t = daglib_task_add(dag, "add_two", NULL, add_two, NULL);
    daglib_value *items = int_list(1, 5);
    CHECK_OK(daglib_task_map_values(t, items));
    daglib_value_free(items); /* the DAG keeps its own copy */
    daglib_task_set_final(t);
    check_run_prints(dag, "(3, 4, 5, 6, 7)");
    daglib_dag_free(dag);
}

TEST(kinds_mapped_instances_are_named_by_index)
{
    daglib_dag *dag = daglib_dag_new("names", NULL, 0);
    daglib_task *t = daglib_task_add(dag, "add_two", NULL, my_name, NULL);
    daglib_value *items = int_list(7, 9);
    daglib_task_map_values(t, items);
    daglib_value_free(items);
    daglib_task_set_final(t);
    check_run_prints(dag, "('add_two 0', 'add_two 1', 'add_two 2')");
    daglib_dag_free(dag);
}

TEST(kinds_map_over_a_mapped_task)
{
    daglib_dag *dag = daglib_dag_new("map2", NULL, 0);
    daglib_value *items = int_list(1, 5);
    daglib_task_map_values(daglib_task_add(dag, "add_two", NULL, add_two, NULL),
                           items);
    daglib_value_free(items);
    daglib_task *m = daglib_task_add(dag, "multiply_by_3", NULL, multiply_by_3,
                                     NULL);
    CHECK_OK(daglib_task_map(m, "add_two"));
    daglib_task_set_final(m);
    check_run_prints(dag, "(9, 12, 15, 18, 21)");
    daglib_dag_free(dag);
}

struct meeting {
    _Atomic int arrived;
};

static void meet_then_echo(daglib_context *ctx, int argc,
                           const daglib_value *const *argv)
{
    (void)argc;
    struct meeting *m = daglib_user_data(ctx);
    atomic_fetch_add(&m->arrived, 1);
    for (int waited = 0; atomic_load(&m->arrived) < 2; waited++) {
        if (waited > 100000) {
            daglib_result_error(ctx, "the other instance never ran");
            return;
        }
        struct timespec nap = {0, 100000};
        nanosleep(&nap, NULL);
    }
    daglib_result_copy(ctx, argv[0]);
}

TEST(kinds_mapped_instances_run_in_parallel)
{
    struct meeting m = {0};
    daglib_dag *dag = daglib_dag_new("parallel", NULL, 0);
    daglib_task *t = daglib_task_add(dag, "meet", NULL, meet_then_echo, &m);
    daglib_value *items = int_list(1, 2);
    daglib_task_map_values(t, items);
    daglib_value_free(items);
    daglib_task_set_final(t);
    daglib_dag_set_workers(dag, 2);
    check_run_prints(dag, "(1, 2)");
    daglib_dag_free(dag);
}

/* ---- joining -------------------------------------------------------------- */

TEST(kinds_join_receives_every_instance)
{
    daglib_dag *dag = daglib_dag_new("join", NULL, 0);
    daglib_value *items = int_list(1, 5);
    daglib_task_map_values(daglib_task_add(dag, "add_two", NULL, add_two, NULL),
                           items);
    daglib_value_free(items);
    daglib_task *s = daglib_task_add(dag, "sum_all", NULL, sum_all, NULL);
    CHECK_OK(daglib_task_join(s, "add_two"));
    daglib_task_set_final(s);
    check_run_prints(dag, "25");
    daglib_dag_free(dag);
}

TEST(kinds_map_then_join_with_both_final)
{
    daglib_dag *dag = daglib_dag_new("both", NULL, 0);
    daglib_value *items = int_list(1, 5);
    daglib_task_map_values(daglib_task_add(dag, "add_two", NULL, add_two, NULL),
                           items);
    daglib_value_free(items);
    daglib_task *m = daglib_task_add(dag, "multiply_by_3", NULL, multiply_by_3,
                                     NULL);
    daglib_task_map(m, "add_two");
    daglib_task_set_final(m);
    daglib_task *s = daglib_task_add(dag, "sum_all", NULL, sum_all, NULL);
    daglib_task_join(s, "multiply_by_3");
    daglib_task_set_final(s);
    for (int workers = 1; workers <= 3; workers++) {
        daglib_dag_set_workers(dag, workers);
        check_run_prints(dag, "(9, 12, 15, 18, 21, 75)");
    }
    daglib_dag_free(dag);
}

TEST(kinds_join_of_an_empty_map_gets_an_empty_list)
{
    daglib_dag *dag = daglib_dag_new("empty", NULL, 0);
    daglib_value *none = daglib_value_new_list();
    daglib_task_map_values(daglib_task_add(dag, "add_two", NULL, add_two, NULL),
                           none);
    daglib_value_free(none);
    daglib_task *s = daglib_task_add(dag, "sum_all", NULL, sum_all, NULL);
    daglib_task_join(s, "add_two");
    daglib_task_set_final(s);
    check_run_prints(dag, "0");
    daglib_dag_free(dag);
}

/* ---- chunks --------------------------------------------------------------- */

static daglib_dag *chunked_dag(int from, int to, int chunks,
                               daglib_value **list_out)
{
    daglib_dag *dag = daglib_dag_new("chunks", NULL, 0);
    *list_out = int_list(from, to);
    daglib_task *t =
        daglib_task_add(dag, "example_array", NULL, return_user_list, *list_out);
    CHECK_OK(daglib_task_set_chunks(t, chunks));
    daglib_task_set_final(t);
    return dag;
}

TEST(kinds_chunks_split_a_list_result)
{
    daglib_value *list;
    daglib_dag *dag = chunked_dag(1, 10, 2, &list);
    check_run_prints(dag, "([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])");
    daglib_dag_free(dag);
    daglib_value_free(list);
}

TEST(kinds_chunks_are_sized_like_numpy_array_split)
{
    daglib_value *list;
    daglib_dag *dag = chunked_dag(1, 10, 3, &list);
    check_run_prints(dag, "([1, 2, 3, 4], [5, 6, 7], [8, 9, 10])");
    daglib_dag_free(dag);
    daglib_value_free(list);
    dag = chunked_dag(1, 2, 4, &list);
    check_run_prints(dag, "([1], [2], [], [])");
    daglib_dag_free(dag);
    daglib_value_free(list);
    /* One chunk is one final: returned as is, as the original does. */
    dag = chunked_dag(1, 7, 1, &list);
    check_run_prints(dag, "[1, 2, 3, 4, 5, 6, 7]");
    daglib_dag_free(dag);
    daglib_value_free(list);
}

TEST(kinds_chunks_map_and_join_put_together)
{
    /* base_array: 0..99 in 5 chunks -> process_array_chunks doubles each
     * -> sum_all joins them: 9900 */
    daglib_dag *dag = daglib_dag_new("together", NULL, 0);
    daglib_value *list = int_list(0, 99);
    daglib_task *base =
        daglib_task_add(dag, "base_array", NULL, return_user_list, list);
    daglib_task_set_chunks(base, 5);
    daglib_task_map(
        daglib_task_add(dag, "process_array_chunks", NULL, double_each, NULL),
        "base_array");
    daglib_task *s = daglib_task_add(dag, "sum_all", NULL, sum_all, NULL);
    daglib_task_join(s, "process_array_chunks");
    daglib_task_set_final(s);
    daglib_dag_set_workers(dag, 3);
    check_run_prints(dag, "9900");
    daglib_dag_free(dag);
    daglib_value_free(list);
}

static void not_a_list(daglib_context *ctx, int argc,
                       const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_result_int(ctx, 42);
}

TEST(kinds_chunked_task_that_returns_no_list_fails_clearly)
{
    daglib_dag *dag = daglib_dag_new("nolist", NULL, 0);
    daglib_task *t = daglib_task_add(dag, "number", NULL, not_a_list, NULL);
    daglib_task_set_chunks(t, 2);
    daglib_task_map(daglib_task_add(dag, "after", NULL, double_each, NULL),
                    "number");
    CHECK_CODE(daglib_run(dag, NULL), DAGLIB_TASK_FAILED);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "task 'number'");
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "must be a list");
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "an integer");
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "4 skipped"); /* 2 chunks, 2 maps */
    daglib_dag_free(dag);
}

/* ---- running to a step ------------------------------------------------------ */

TEST(kinds_run_to_a_step_runs_only_its_ancestors)
{
    daglib_dag *dag = daglib_dag_new("steps", NULL, 0);
    daglib_value *list = int_list(1, 6);
    daglib_task *t = daglib_task_add(dag, "task_1", NULL, return_user_list, list);
    daglib_task_set_chunks(t, 2);
    daglib_task_map(daglib_task_add(dag, "task_2", NULL, double_each, NULL),
                    "task_1");
    daglib_task *s = daglib_task_add(dag, "task_3", NULL, sum_all, NULL);
    daglib_task_join(s, "task_2");
    daglib_task_set_final(s);
    daglib_task_add(dag, "unrelated", NULL, return_user_list, list);

    atomic_store(&calls, 0);
    check_step_prints(dag, "task_1", "([1, 2, 3], [4, 5, 6])");
    CHECK_INT_EQ(atomic_load(&calls), 1); /* task_1 only */
    atomic_store(&calls, 0);
    check_step_prints(dag, "task_2", "([2, 4, 6], [8, 10, 12])");
    CHECK_INT_EQ(atomic_load(&calls), 3); /* task_1, task_2 0, task_2 1 */
    check_step_prints(dag, "task_3", "42");
    check_step_prints(dag, "unrelated", "[1, 2, 3, 4, 5, 6]");
    CHECK_CODE(daglib_run_to_step(dag, "task_9", NULL), DAGLIB_NOTFOUND);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "task_9");
    check_run_prints(dag, "42"); /* the whole DAG still runs */
    daglib_dag_free(dag);
    daglib_value_free(list);
}

/* ---- subdags and assets ---------------------------------------------------- */

static void squares(daglib_context *ctx, int argc,
                    const daglib_value *const *argv)
{
    (void)argc;
    daglib_value *out = daglib_value_new_list();
    for (size_t i = 0; i < daglib_value_count(argv[0]); i++) {
        int64_t n = daglib_value_int(daglib_value_item(argv[0], i));
        daglib_list_append_int(out, n * n);
    }
    daglib_result_value(ctx, out);
}

static daglib_dag *squares_dag(const char *source, const char *square,
                               daglib_value *list)
{
    daglib_dag *dag = daglib_dag_new(NULL, NULL, 0);
    daglib_task_add(dag, source, NULL, return_user_list, list);
    daglib_task *t = daglib_task_add(dag, square, NULL, squares, NULL);
    daglib_task_input(t, source);
    daglib_task_set_final(t);
    return dag;
}

static void larger_project(int keep_finals, const char *want)
{
    daglib_value *a = int_list(1, 5), *c = int_list(6, 10);
    daglib_dag *sub1 = squares_dag("task_a", "task_b", a);
    daglib_dag *sub2 = squares_dag("task_c", "task_d", c);
    check_run_prints(sub1, "[1, 4, 9, 16, 25]");
    check_run_prints(sub2, "[36, 49, 64, 81, 100]");
    daglib_dag *dag = daglib_dag_new(NULL, NULL, 0);
    CHECK_OK(daglib_dag_add_subdag(dag, sub1, keep_finals));
    CHECK_OK(daglib_dag_add_subdag(dag, sub2, keep_finals));
    daglib_dag_free(sub1); /* the DAG copied what it needs */
    daglib_dag_free(sub2);
    daglib_task *combiner = daglib_task_add(dag, "combiner", NULL, sum_all, NULL);
    daglib_task_depends_on(combiner, "task_b");
    daglib_task_depends_on(combiner, "task_d");
    daglib_task_set_final(combiner);
    check_run_prints(dag, want);
    daglib_dag_free(dag);
    daglib_value_free(a);
    daglib_value_free(c);
}

TEST(kinds_subdags_merge_without_their_finals)
{
    larger_project(0, "385");
}

TEST(kinds_subdags_merge_keeping_their_finals)
{
    larger_project(1, "([1, 4, 9, 16, 25], [36, 49, 64, 81, 100], 385)");
}

static void nothing(daglib_context *ctx, int argc,
                    const daglib_value *const *argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
}

TEST(kinds_subdag_name_clash_copies_nothing)
{
    daglib_dag *dag = daglib_dag_new("main", NULL, 0);
    daglib_task_add(dag, "shared", NULL, nothing, NULL);
    daglib_dag *sub = daglib_dag_new("sub", NULL, 0);
    daglib_task_add(sub, "own", NULL, nothing, NULL);
    daglib_task_add(sub, "shared", NULL, nothing, NULL);
    CHECK_CODE(daglib_dag_add_subdag(dag, sub, 0), DAGLIB_DUPLICATE);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "shared");
    CHECK(daglib_dag_task(dag, "own") == NULL);
    CHECK_CODE(daglib_dag_add_subdag(dag, dag, 0), DAGLIB_DUPLICATE); /* sticky */
    daglib_dag_free(sub);
    daglib_dag_free(dag);
}

TEST(kinds_cycle_across_a_merge_is_found)
{
    daglib_dag *one = daglib_dag_new("one", NULL, 0);
    daglib_task_input(daglib_task_add(one, "x", NULL, nothing, NULL), "y");
    daglib_dag *two = daglib_dag_new("two", NULL, 0);
    daglib_task_input(daglib_task_add(two, "y", NULL, nothing, NULL), "x");
    CHECK_CODE(daglib_run(one, NULL), DAGLIB_NOTFOUND); /* alone: no y */
    daglib_dag *both = daglib_dag_new("both", NULL, 0);
    CHECK_OK(daglib_dag_add_subdag(both, one, 0));
    CHECK_OK(daglib_dag_add_subdag(both, two, 0));
    CHECK_CODE(daglib_run(both, NULL), DAGLIB_CYCLE);
    CHECK(strstr(daglib_dag_errmsg(both), "x -> y -> x") ||
          strstr(daglib_dag_errmsg(both), "y -> x -> y"));
    daglib_dag_free(one);
    daglib_dag_free(two);
    daglib_dag_free(both);
}

static void table(daglib_context *ctx, int argc,
                  const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_value *rows = daglib_value_new_list();
    for (int r = 0; r < 6; r++)
        daglib_list_append(rows, int_list(5 * r + 1, 5 * r + 5));
    daglib_result_value(ctx, rows);
}

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
    daglib_result_int(
        ctx, (int64_t)daglib_value_count(daglib_value_item(argv[0], 0)));
}

static void table_shape(daglib_context *ctx, int argc,
                        const daglib_value *const *argv)
{
    (void)argc;
    daglib_value *shape = daglib_value_new_list();
    daglib_list_append_int(shape, (int64_t)daglib_value_count(argv[0]));
    daglib_list_append_int(
        shape, (int64_t)daglib_value_count(daglib_value_item(argv[0], 0)));
    daglib_result_value(ctx, shape);
}

TEST(kinds_an_asset_serves_several_dags)
{
    static const daglib_asset table_asset = {"table", "Six rows of five",
                                             table, NULL};
    struct {
        const char *name;
        daglib_task_fn fn;
        const char *want;
    } uses[] = {{"dag1", count_rows, "6"},
                {"dag2", count_cols, "5"},
                {"dag3", table_shape, "[6, 5]"}};
    for (size_t i = 0; i < 3; i++) {
        daglib_dag *dag = daglib_dag_new(uses[i].name, NULL, 0);
        CHECK(daglib_dag_add_asset(dag, &table_asset) != NULL);
        daglib_task *t = daglib_task_add(dag, "use", NULL, uses[i].fn, NULL);
        daglib_task_input(t, "table");
        daglib_task_set_final(t);
        check_run_prints(dag, uses[i].want);
        daglib_dag_free(dag);
    }
    daglib_dag *dag = daglib_dag_new("noasset", NULL, 0);
    CHECK(daglib_dag_add_asset(dag, NULL) == NULL);
    CHECK_CODE(daglib_dag_errcode(dag), DAGLIB_MISUSE);
    daglib_dag_free(dag);
}

/* ---- retries -------------------------------------------------------------- */

static _Atomic int tries;

/* Fails until its try number reaches the number in its user data. */
static void unreliable(daglib_context *ctx, int argc,
                       const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    int attempt = atomic_fetch_add(&tries, 1) + 1;
    if (attempt < (int)(intptr_t)daglib_user_data(ctx))
        daglib_result_error(ctx, "Broken sauce, try %d", attempt);
    else
        daglib_result_text(ctx, "Awesome sauce!", -1, DAGLIB_STATIC);
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

TEST(kinds_retry_until_success)
{
    atomic_store(&tries, 0);
    daglib_dag *dag = daglib_dag_new("retry", NULL, 0);
    daglib_task *t =
        daglib_task_add(dag, "unreliable_task", NULL, unreliable, (void *)3);
    daglib_retry policy = {.attempts = 5, .delay = 0.01, .backoff = 2.0};
    CHECK_OK(daglib_task_set_retry(t, &policy));
    daglib_task_set_final(t);
    double started = seconds_now();
    check_run_prints(dag, "'Awesome sauce!'");
    double took = seconds_now() - started;
    CHECK_INT_EQ(atomic_load(&tries), 3);
    CHECK(took >= 0.03 - 0.002); /* waited 0.01 then 0.02 */
    daglib_dag_free(dag);
}

TEST(kinds_retry_gives_up_after_the_last_attempt)
{
    atomic_store(&tries, 0);
    daglib_dag *dag = daglib_dag_new("giveup", NULL, 0);
    daglib_task *t = daglib_task_add(dag, "unreliable_task", NULL, unreliable,
                                     (void *)1000);
    daglib_retry policy = {.attempts = 3, .delay = 0.0, .backoff = 1.0};
    daglib_task_set_retry(t, &policy);
    daglib_task_input(daglib_task_add(dag, "after", NULL, nothing, NULL),
                      "unreliable_task");
    CHECK_CODE(daglib_run(dag, NULL), DAGLIB_TASK_FAILED);
    CHECK_INT_EQ(atomic_load(&tries), 3);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "Broken sauce, try 3");
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "1 skipped");
    daglib_dag_free(dag);
}

TEST(kinds_retry_waits_are_capped)
{
    atomic_store(&tries, 0);
    daglib_dag *dag = daglib_dag_new("capped", NULL, 0);
    daglib_task *t =
        daglib_task_add(dag, "unreliable_task", NULL, unreliable, (void *)4);
    daglib_retry policy = {
        .attempts = 4, .delay = 0.02, .backoff = 10.0, .max_delay = 0.03};
    daglib_task_set_retry(t, &policy);
    double started = seconds_now();
    CHECK_OK(daglib_run(dag, NULL));
    double took = seconds_now() - started;
    /* 0.02 + 0.03 + 0.03 instead of 0.02 + 0.2 + 2 */
    CHECK(took >= 0.08 - 0.002 && took < 0.5);
    daglib_dag_free(dag);
}

/* Asks for its name on every try, fails until its try number (of 100)
 * reaches the number in its user data, then returns its name and how
 * many arguments it had, "name/argc". */
static void unreliable_named(daglib_context *ctx, int argc,
                             const daglib_value *const *argv)
{
    (void)argv;
    int attempt = atomic_fetch_add(&tries, 1) + 1;
    const char *name = daglib_context_task_name(ctx);
    if (attempt % 100 < (int)(intptr_t)daglib_user_data(ctx)) {
        daglib_result_error(ctx, "%s broke on try %d", name, attempt);
        return;
    }
    char text[64];
    snprintf(text, sizeof text, "%s/%d", name, argc);
    daglib_result_text(ctx, text, -1, DAGLIB_TRANSIENT);
}

TEST(kinds_retry_a_task_that_asks_its_name_with_few_or_many_inputs)
{
    /* Up to 16 arguments a task is called the short way, with more the
     * general one: each retries, with its instance's name (made for the
     * call, a mapped task's) at hand on every try and handed back. */
    const int inputs[] = {2, 17};
    for (size_t c = 0; c < sizeof inputs / sizeof *inputs; c++) {
        atomic_store(&tries, 0);
        daglib_dag *dag = daglib_dag_new("named_retry", NULL, 0);
        daglib_task *t = daglib_task_add(dag, "flaky", NULL, unreliable_named,
                                         (void *)3);
        daglib_value *items = int_list(1, 1);
        CHECK_OK(daglib_task_map_values(t, items));
        daglib_value_free(items);
        for (int i = 0; i < inputs[c]; i++) {
            char name[16];
            snprintf(name, sizeof name, "in%d", i);
            daglib_task_add(dag, name, NULL, nothing, NULL);
            CHECK_OK(daglib_task_input(t, name));
        }
        daglib_retry policy = {.attempts = 3, .delay = 0, .backoff = 1};
        CHECK_OK(daglib_task_set_retry(t, &policy));
        daglib_task_set_final(t);
        char expected[32];
        snprintf(expected, sizeof expected, "'flaky 0/%d'", inputs[c] + 1);
        check_run_prints(dag, expected);
        CHECK_INT_EQ(atomic_load(&tries), 3);
        /* Right the first time: its name is still handed back. */
        atomic_store(&tries, 2);
        check_run_prints(dag, expected);
        CHECK_INT_EQ(atomic_load(&tries), 3);
        /* One try fewer than it needs: the last message is kept. */
        atomic_store(&tries, 100);
        policy.attempts = 2;
        CHECK_OK(daglib_task_set_retry(t, &policy));
        CHECK_CODE(daglib_run(dag, NULL), DAGLIB_TASK_FAILED);
        CHECK_CONTAINS(daglib_dag_errmsg(dag), "flaky 0 broke on try 102");
        CHECK_INT_EQ(atomic_load(&tries), 102);
        daglib_dag_free(dag);
    }
}

/* ---- bad input ------------------------------------------------------------- */

TEST(kinds_misuse_is_a_clear_error)
{
    daglib_value *items = int_list(1, 3);

    daglib_dag *dag = daglib_dag_new("bad", NULL, 0);
    daglib_task *plain = daglib_task_add(dag, "plain", NULL, nothing, NULL);
    daglib_task *m = daglib_task_add(dag, "m", NULL, add_two, NULL);
    CHECK_OK(daglib_task_map(m, "plain"));
    CHECK_CODE(daglib_run(dag, NULL), DAGLIB_INVALID);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "'m' is mapped over 'plain', which is not");
    (void)plain;
    daglib_dag_free(dag);

    dag = daglib_dag_new("bad", NULL, 0);
    daglib_task_join(daglib_task_add(dag, "j", NULL, sum_all, NULL), "ghost");
    CHECK_CODE(daglib_run(dag, NULL), DAGLIB_NOTFOUND);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "ghost");
    daglib_dag_free(dag);

    dag = daglib_dag_new("bad", NULL, 0);
    daglib_task_add(dag, "plain", NULL, nothing, NULL);
    daglib_task_join(daglib_task_add(dag, "j", NULL, sum_all, NULL), "plain");
    CHECK_CODE(daglib_run(dag, NULL), DAGLIB_INVALID);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "joins 'plain', which is not");
    daglib_dag_free(dag);

    dag = daglib_dag_new("bad", NULL, 0);
    daglib_task_map_values(daglib_task_add(dag, "mapped", NULL, add_two, NULL),
                           items);
    daglib_task_input(daglib_task_add(dag, "reader", NULL, nothing, NULL),
                      "mapped");
    CHECK_CODE(daglib_run(dag, NULL), DAGLIB_INVALID);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "has 3 instances");
    daglib_dag_free(dag);

    dag = daglib_dag_new("bad", NULL, 0);
    CHECK_CODE(daglib_task_set_chunks(daglib_task_add(dag, "c", NULL, nothing,
                                                      NULL),
                                      0),
               DAGLIB_INVALID);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "0 chunks");
    daglib_dag_free(dag);

    dag = daglib_dag_new("bad", NULL, 0);
    daglib_task *twice = daglib_task_add(dag, "twice", NULL, add_two, NULL);
    CHECK_OK(daglib_task_map_values(twice, items));
    CHECK_CODE(daglib_task_join(twice, "x"), DAGLIB_MISUSE);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "cannot also be");
    daglib_dag_free(dag);

    dag = daglib_dag_new("bad", NULL, 0);
    daglib_task *chunked = daglib_task_add(dag, "chunked", NULL, nothing, NULL);
    daglib_task_set_chunks(chunked, 2);
    CHECK_CODE(daglib_task_map_values(chunked, items), DAGLIB_MISUSE);
    daglib_dag_free(dag);

    dag = daglib_dag_new("bad", NULL, 0);
    daglib_value *number = daglib_value_new_int(3);
    CHECK_CODE(daglib_task_map_values(
                   daglib_task_add(dag, "n", NULL, nothing, NULL), number),
               DAGLIB_MISUSE);
    daglib_value_free(number);
    daglib_dag_free(dag);

    dag = daglib_dag_new("bad", NULL, 0);
    daglib_retry silly = {.attempts = 0, .delay = -1, .backoff = 0.5};
    CHECK_CODE(daglib_task_set_retry(
                   daglib_task_add(dag, "r", NULL, nothing, NULL), &silly),
               DAGLIB_INVALID);
    daglib_dag_free(dag);

    dag = daglib_dag_new("bad", NULL, 0);
    daglib_task *a = daglib_task_add(dag, "a", NULL, add_two, NULL);
    daglib_task *b = daglib_task_add(dag, "b", NULL, add_two, NULL);
    daglib_task_map(a, "b");
    daglib_task_map(b, "a");
    CHECK_CODE(daglib_run(dag, NULL), DAGLIB_CYCLE);
    daglib_dag_free(dag);

    daglib_value_free(items);
}

/* ---- observing ------------------------------------------------------------ */

struct observed {
    _Atomic int starts, finishes, skipped, failed, retried;
};

static void on_start(void *user_data, const daglib_task_event *e)
{
    struct observed *o = user_data;
    atomic_fetch_add(&o->starts, 1);
    if (e->attempt > 1)
        atomic_fetch_add(&o->retried, 1);
}

static void on_finish(void *user_data, const daglib_task_event *e)
{
    struct observed *o = user_data;
    atomic_fetch_add(&o->finishes, 1);
    if (e->status == DAGLIB_STATUS_SKIPPED)
        atomic_fetch_add(&o->skipped, 1);
    if (e->status == DAGLIB_STATUS_FAILED) {
        atomic_fetch_add(&o->failed, 1);
        if (e->error == NULL || strstr(e->error, "Broken sauce") == NULL)
            abort();
    }
    if (e->task_name == NULL || e->worker < 0 || e->runtime < 0)
        abort();
}

TEST(kinds_observer_sees_every_try_and_every_instance)
{
    atomic_store(&tries, 0);
    struct observed o = {0};
    daglib_observer observer = {on_start, on_finish, &o};
    daglib_dag *dag = daglib_dag_new("observed", NULL, 0);
    daglib_value *items = int_list(1, 4);
    daglib_task_map_values(daglib_task_add(dag, "add_two", NULL, add_two, NULL),
                           items);
    daglib_value_free(items);
    daglib_task *u = daglib_task_add(dag, "unreliable_task", NULL, unreliable,
                                     (void *)1000);
    daglib_retry policy = {.attempts = 2, .delay = 0, .backoff = 1};
    daglib_task_set_retry(u, &policy);
    daglib_task_input(daglib_task_add(dag, "after", NULL, nothing, NULL),
                      "unreliable_task");
    CHECK_OK(daglib_dag_set_observer(dag, &observer));
    daglib_dag_set_workers(dag, 2);
    CHECK_CODE(daglib_run(dag, NULL), DAGLIB_TASK_FAILED);
    CHECK_INT_EQ(atomic_load(&o.starts), 4 + 2); /* 4 instances, 2 tries */
    CHECK_INT_EQ(atomic_load(&o.retried), 1);
    CHECK_INT_EQ(atomic_load(&o.finishes), 4 + 1 + 1);
    CHECK_INT_EQ(atomic_load(&o.skipped), 1);
    CHECK_INT_EQ(atomic_load(&o.failed), 1);
    daglib_dag_free(dag);
}

TEST(kinds_progress_prints_plain_lines_when_not_on_a_terminal)
{
    FILE *out = fopen("progress.txt", "w");
    CHECK(out != NULL);
    daglib_dag *dag = daglib_dag_new("progressing", NULL, 0);
    daglib_value *items = int_list(1, 10);
    daglib_task_map_values(daglib_task_add(dag, "add_two", NULL, add_two, NULL),
                           items);
    daglib_value_free(items);
    CHECK_OK(daglib_dag_set_progress(dag, out));
    CHECK_OK(daglib_run(dag, NULL));
    fclose(out);
    char *text = test_read_file("progress.txt", NULL);
    CHECK_CONTAINS(text, "progressing: 10/10 done, 0 running, 0 failed");
    CHECK(strchr(text, '\r') == NULL);
    CHECK(strstr(text, "\033[K") == NULL);
    free(text);
    daglib_dag_free(dag);
}

static void slow_add_two(daglib_context *ctx, int argc,
                         const daglib_value *const *argv)
{
    struct timespec pause = {0, 60 * 1000 * 1000};
    nanosleep(&pause, NULL);
    add_two(ctx, argc, argv);
}

/* Run a 0.6 s DAG called name with its progress on a pseudo-terminal of
 * `columns` columns (0: as it comes); what the terminal received goes to
 * text. */
static void run_on_terminal(const char *name, unsigned short columns,
                            char *text, size_t size)
{
    int terminal = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK(terminal >= 0);
    CHECK(grantpt(terminal) == 0 && unlockpt(terminal) == 0);
    if (columns > 0) {
        struct winsize ws = {.ws_row = 24, .ws_col = columns};
        CHECK(ioctl(terminal, TIOCSWINSZ, &ws) == 0);
    }
    int fd = open(ptsname(terminal), O_WRONLY | O_NOCTTY);
    CHECK(fd >= 0);
    FILE *out = fdopen(fd, "w");
    CHECK(out != NULL && isatty(fileno(out)));
    daglib_dag *dag = daglib_dag_new(name, NULL, 0);
    daglib_value *items = int_list(1, 10);
    daglib_task_map_values(
        daglib_task_add(dag, "add_two", NULL, slow_add_two, NULL), items);
    daglib_value_free(items);
    CHECK_OK(daglib_dag_set_workers(dag, 1));
    CHECK_OK(daglib_dag_set_progress(dag, out));
    CHECK_OK(daglib_run(dag, NULL)); /* 0.6 s: a redraw every 0.2 s */
    fclose(out);
    /* The terminal hands the bytes over in pieces; once they are all
     * read, with the other side closed, read() fails (EIO). */
    size_t used = 0;
    ssize_t got;
    while (used < size - 1 &&
           (got = read(terminal, text + used, size - 1 - used)) > 0)
        used += (size_t)got;
    text[used] = '\0';
    close(terminal);
    daglib_dag_free(dag);
}

TEST(kinds_progress_redraws_one_line_in_place_on_a_terminal)
{
    char text[8192];
    run_on_terminal("drawn", 0, text, sizeof text);
    CHECK_CONTAINS(text, "drawn: 10/10 done, 0 running, 0 failed");
    /* Each draw goes back to the start of the line and erases its rest
     * (the terminal turns the last line's newline into "\r\n"); how many
     * draws a 0.6 s run gets depends on the scheduler of the machine, so
     * only that there is one is checked, and that there is one line. */
    int draws = 0;
    for (const char *p = text; (p = strstr(p, "\r")) != NULL; p++)
        if (p[1] != '\n')
            draws++;
    CHECK(draws >= 1);
    CHECK_CONTAINS(text, "\033[K");
    const char *first_newline = strchr(text, '\n');
    CHECK(first_newline != NULL && first_newline[1] == '\0');
}

TEST(kinds_progress_line_fits_a_narrow_terminal)
{
    /* A line as wide as the terminal wraps, and every redraw then leaves
     * a line behind.  Each draw must leave the last column free, the
     * DAG's name giving way first, however narrow the pane. */
    static const char long_name[] =
        "nightly_warehouse_refresh_for_every_region_and_every_product_line";
    static const unsigned short widths[] = {60, 40, 12};
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
        char text[8192];
        run_on_terminal(long_name, widths[w], text, sizeof text);
        int draws = 0;
        for (char *line = strtok(text, "\r"); line != NULL;
             line = strtok(NULL, "\r")) {
            char *erase = strstr(line, "\033[K");
            if (erase == NULL)
                continue; /* the "\n" the terminal adds after the last */
            *erase = '\0';
            draws++;
            if (strlen(line) >= widths[w])
                FAIL("%zu columns drawn on a %u-column terminal: '%s'",
                     strlen(line), widths[w], line);
            if (widths[w] >= 60)
                CHECK_CONTAINS(line, "/10 done, ");
            else if (widths[w] >= 40)
                CHECK_CONTAINS(line, "/10, ");
        }
        CHECK(draws >= 1);
    }
}
