/*
 * test_failure.c -- a task that fails: its dependants are skipped, the
 * independent branches still run, and the run says who failed and why.
 */
#include <stdatomic.h>

#include "test.h"

static _Atomic int calls;

static void ok_task(daglib_context *ctx, int argc,
                    const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    atomic_fetch_add(&calls, 1);
    daglib_result_int(ctx, 1);
}

static void failing_task(daglib_context *ctx, int argc,
                         const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    atomic_fetch_add(&calls, 1);
    daglib_result_int(ctx, 99); /* discarded by the error */
    daglib_result_error(ctx, "division by %s", "zero");
}

static _Atomic int dependant_ran;

static void dependant(daglib_context *ctx, int argc,
                      const daglib_value *const *argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    atomic_store(&dependant_ran, 1);
}

/*      root
 *     /    \
 *   bad    good
 *    |       |
 *  after   good2 (final)
 *    |
 *  after2
 */
static daglib_dag *diamond_with_a_failure(void)
{
    daglib_dag *dag = daglib_dag_new("failing", NULL, 0);
    daglib_task_add(dag, "root", NULL, ok_task, NULL);
    daglib_task_input(daglib_task_add(dag, "bad", NULL, failing_task, NULL),
                      "root");
    daglib_task_input(daglib_task_add(dag, "after", NULL, dependant, NULL),
                      "bad");
    daglib_task_input(daglib_task_add(dag, "after2", NULL, dependant, NULL),
                      "after");
    daglib_task_input(daglib_task_add(dag, "good", NULL, ok_task, NULL),
                      "root");
    daglib_task *good2 = daglib_task_add(dag, "good2", NULL, ok_task, NULL);
    daglib_task_input(good2, "good");
    daglib_task_set_final(good2);
    return dag;
}

TEST(failure_skips_dependants_and_runs_independent_branches)
{
    for (int workers = 1; workers <= 4; workers++) {
        atomic_store(&calls, 0);
        atomic_store(&dependant_ran, 0);
        daglib_dag *dag = diamond_with_a_failure();
        daglib_dag_set_workers(dag, workers);
        daglib_value *finals = (daglib_value *)&finals;
        CHECK_CODE(daglib_run(dag, &finals), DAGLIB_TASK_FAILED);
        CHECK(finals == NULL);
        CHECK(!atomic_load(&dependant_ran));
        CHECK_INT_EQ(atomic_load(&calls), 4); /* root, bad, good, good2 */
        daglib_dag_free(dag);
    }
}

TEST(failure_message_names_the_task_and_counts_the_damage)
{
    daglib_dag *dag = diamond_with_a_failure();
    CHECK_CODE(daglib_run(dag, NULL), DAGLIB_TASK_FAILED);
    const char *msg = daglib_dag_errmsg(dag);
    CHECK_CONTAINS(msg, "task 'bad'");
    CHECK_CONTAINS(msg, "division by zero");
    CHECK_CONTAINS(msg, "1 task failed, 2 skipped");
    daglib_dag_free(dag);
}

TEST(failure_is_not_sticky_the_dag_runs_again)
{
    daglib_dag *dag = diamond_with_a_failure();
    CHECK_CODE(daglib_run(dag, NULL), DAGLIB_TASK_FAILED);
    CHECK_CODE(daglib_run(dag, NULL), DAGLIB_TASK_FAILED);
    CHECK_CODE(daglib_dag_errcode(dag), DAGLIB_TASK_FAILED);
    daglib_dag_free(dag);
}

static void flaky_by_name(daglib_context *ctx, int argc,
                          const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    const char *name = daglib_context_task_name(ctx);
    if (name[0] == 'x')
        daglib_result_error(ctx, "%s gave up", name);
    else
        daglib_result_int(ctx, 1);
}

TEST(failure_of_many_tasks_is_counted)
{
    daglib_dag *dag = daglib_dag_new("many_failures", NULL, 0);
    for (int i = 0; i < 50; i++) {
        char name[16], after[24];
        snprintf(name, sizeof name, "%c%d", i % 2 ? 'x' : 'o', i);
        snprintf(after, sizeof after, "after %s", name);
        daglib_task_add(dag, name, NULL, flaky_by_name, NULL);
        daglib_task_input(
            daglib_task_add(dag, after, NULL, flaky_by_name, NULL), name);
    }
    daglib_dag_set_workers(dag, 3);
    CHECK_CODE(daglib_run(dag, NULL), DAGLIB_TASK_FAILED);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "(25 tasks failed, 25 skipped)");
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "gave up");
    daglib_dag_free(dag);
}

static void bad_text(daglib_context *ctx, int argc,
                     const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_result_text(ctx, "caf\xe9", -1, DAGLIB_TRANSIENT);
}

TEST(failure_when_a_result_is_not_valid_utf8)
{
    daglib_dag *dag = daglib_dag_new("utf8", NULL, 0);
    daglib_task_set_final(daglib_task_add(dag, "latin1", NULL, bad_text, NULL));
    CHECK_CODE(daglib_run(dag, NULL), DAGLIB_TASK_FAILED);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "latin1");
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "UTF-8");
    daglib_dag_free(dag);
}

static void error_without_message(daglib_context *ctx, int argc,
                                  const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    const char *no_format = NULL;
    daglib_result_error(ctx, no_format, 0);
}

TEST(failure_without_a_message_still_reads_well)
{
    daglib_dag *dag = daglib_dag_new("silent", NULL, 0);
    daglib_task_add(dag, "quiet", NULL, error_without_message, NULL);
    CHECK_CODE(daglib_run(dag, NULL), DAGLIB_TASK_FAILED);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "task 'quiet'");
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "without a message");
    daglib_dag_free(dag);
}

static void null_result(daglib_context *ctx, int argc,
                        const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_result_int(ctx, 7);
    daglib_result_value(ctx, NULL); /* a constructor that ran out of memory */
}

TEST(failure_when_the_result_value_handed_over_is_null)
{
    daglib_dag *dag = daglib_dag_new("nulled", NULL, 0);
    daglib_task *t = daglib_task_add(dag, "builder", NULL, null_result, NULL);
    daglib_task_set_final(t);
    daglib_task_input(daglib_task_add(dag, "after", NULL, ok_task, NULL),
                      "builder");
    daglib_value *finals = NULL;
    CHECK_CODE(daglib_run(dag, &finals), DAGLIB_TASK_FAILED);
    CHECK(finals == NULL);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "task 'builder'");
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "result value is NULL");
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "1 skipped");
    daglib_dag_free(dag);
}
