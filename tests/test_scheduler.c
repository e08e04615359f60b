/*
 * test_scheduler.c -- running DAGs: results travel along the edges, every
 * task runs exactly once and only after its inputs, independent tasks run
 * at the same time, and results are freed as soon as nobody needs them.
 */
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "remote_fence.h"
#include "test.h"

/* ---- the page's example ------------------------------------------------- */

static void task_1(daglib_context *ctx, int argc,
                   const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_value *list = daglib_value_new_list();
    for (int i = 1; i <= 3; i++)
        daglib_list_append_int(list, i);
    daglib_result_value(ctx, list);
}

static void task_2(daglib_context *ctx, int argc,
                   const daglib_value *const *argv)
{
    if (argc != 1) {
        daglib_result_error(ctx, "expected 1 input, got %d", argc);
        return;
    }
    daglib_value *doubled = daglib_value_new_list();
    for (size_t i = 0; i < daglib_value_count(argv[0]); i++)
        daglib_list_append_int(
            doubled, 2 * daglib_value_int(daglib_value_item(argv[0], i)));
    daglib_result_value(ctx, doubled);
}

TEST(scheduler_runs_the_page_example)
{
    for (int workers = 1; workers <= 4; workers++) {
        daglib_dag *dag =
            daglib_dag_new("example", "This is an example DAG", 0);
        daglib_task_add(dag, "task_1", "Do some stuff", task_1, NULL);
        daglib_task *t2 =
            daglib_task_add(dag, "task_2", "Do some other stuff", task_2, NULL);
        daglib_task_input(t2, "task_1");
        daglib_task_set_final(t2);
        CHECK_OK(daglib_dag_set_workers(dag, workers));
        daglib_value *finals = NULL;
        CHECK_OK(daglib_run(dag, &finals));
        char *printed = daglib_value_to_string(finals);
        CHECK_STR_EQ(printed, "[2, 4, 6]");
        daglib_free(printed);
        daglib_value_free(finals);
        daglib_dag_free(dag);
    }
}

/* ---- arguments ---------------------------------------------------------- */

static void constant(daglib_context *ctx, int argc,
                     const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_result_int(ctx, (int64_t)(intptr_t)daglib_user_data(ctx));
}

/* 1000 * argc + the inputs as digits, in order: shows order and count. */
static void digits(daglib_context *ctx, int argc,
                   const daglib_value *const *argv)
{
    int64_t v = 1000 * argc;
    for (int i = 0; i < argc; i++)
        v = v * 10 + daglib_value_int(argv[i]);
    daglib_result_int(ctx, v);
}

TEST(scheduler_passes_inputs_then_dependencies_in_declared_order)
{
    daglib_dag *dag = daglib_dag_new("order", NULL, 0);
    for (intptr_t i = 1; i <= 4; i++) {
        char name[8];
        snprintf(name, sizeof name, "c%d", (int)i);
        daglib_task_add(dag, name, NULL, constant, (void *)i);
    }
    daglib_task *t = daglib_task_add(dag, "t", NULL, digits, NULL);
    /* Dependencies declared first still come after the inputs. */
    daglib_task_depends_on(t, "c4");
    daglib_task_input(t, "c2");
    daglib_task_depends_on(t, "c1");
    daglib_task_input(t, "c3");
    daglib_task_set_final(t);
    daglib_value *finals = NULL;
    CHECK_OK(daglib_run(dag, &finals));
    /* 4 arguments: 4000, then c2 c3 c4 c1 */
    CHECK_INT_EQ(daglib_value_int(finals), 40002341);
    daglib_value_free(finals);
    daglib_dag_free(dag);
}

static void sum_all(daglib_context *ctx, int argc,
                    const daglib_value *const *argv)
{
    int64_t sum = 0;
    for (int i = 0; i < argc; i++)
        sum += daglib_value_int(argv[i]);
    daglib_result_int(ctx, sum);
}

TEST(scheduler_passes_dependency_results_like_the_original)
{
    /* depends_on=[task_1a, task_1b]: task_2(*tasks) -> sum(tasks) == 3 */
    daglib_dag *dag = daglib_dag_new("depends", NULL, 0);
    daglib_task_add(dag, "task_1a", NULL, constant, (void *)1);
    daglib_task_add(dag, "task_1b", NULL, constant, (void *)2);
    daglib_task *t2 = daglib_task_add(dag, "task_2", NULL, sum_all, NULL);
    daglib_task_depends_on(t2, "task_1a");
    daglib_task_depends_on(t2, "task_1b");
    daglib_task_set_final(t2);
    daglib_value *finals = NULL;
    CHECK_OK(daglib_run(dag, &finals));
    CHECK_INT_EQ(daglib_value_type(finals), DAGLIB_INTEGER);
    CHECK_INT_EQ(daglib_value_int(finals), 3);
    daglib_value_free(finals);
    daglib_dag_free(dag);
}

TEST(scheduler_passes_many_arguments)
{
    daglib_dag *dag = daglib_dag_new("many", NULL, 0);
    daglib_task *sink = daglib_task_add(dag, "sink", NULL, sum_all, NULL);
    for (intptr_t i = 1; i <= 100; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%d", (int)i);
        daglib_task_add(dag, name, NULL, constant, (void *)i);
        daglib_task_input(sink, name);
    }
    daglib_task_set_final(sink);
    daglib_value *finals = NULL;
    CHECK_OK(daglib_run(dag, &finals));
    CHECK_INT_EQ(daglib_value_int(finals), 5050);
    daglib_value_free(finals);
    daglib_dag_free(dag);
}

TEST(scheduler_returns_several_finals_as_a_tuple_in_marking_order)
{
    daglib_dag *dag = daglib_dag_new("finals", NULL, 0);
    daglib_task *a = daglib_task_add(dag, "a", NULL, constant, (void *)1);
    daglib_task *b = daglib_task_add(dag, "b", NULL, constant, (void *)2);
    daglib_task *c = daglib_task_add(dag, "c", NULL, sum_all, NULL);
    daglib_task_input(c, "a");
    daglib_task_input(c, "b");
    daglib_task_set_final(c);
    daglib_task_set_final(a);
    daglib_task_set_final(b);
    daglib_task_set_final(a); /* twice is once */
    daglib_value *finals = NULL;
    CHECK_OK(daglib_run(dag, &finals));
    char *printed = daglib_value_to_string(finals);
    CHECK_STR_EQ(printed, "(3, 1, 2)");
    daglib_free(printed);
    daglib_value_free(finals);
    daglib_dag_free(dag);
}

TEST(scheduler_without_finals_returns_null)
{
    daglib_dag *dag = daglib_dag_new("nofinals", NULL, 0);
    daglib_task_add(dag, "a", NULL, constant, (void *)1);
    daglib_value *finals = (daglib_value *)&finals; /* must be overwritten */
    CHECK_OK(daglib_run(dag, &finals));
    CHECK(finals == NULL);
    daglib_dag_free(dag);

    dag = daglib_dag_new("empty", NULL, 0);
    CHECK_OK(daglib_run(dag, &finals));
    CHECK(finals == NULL);
    daglib_dag_free(dag);
}

/* ---- shapes: every task once, after its inputs ---------------------------- */

#define VALUE_MODULUS 1000003

struct shape_check {
    _Atomic int *runs;  /* per task: times run */
    int n_tasks;
};

/* Each task checks its inputs ran, counts itself, and returns
 * (1 + sum of inputs) mod VALUE_MODULUS. */
static void checked_sum(daglib_context *ctx, int argc,
                        const daglib_value *const *argv)
{
    struct shape_check *check = daglib_user_data(ctx);
    int id = atoi(daglib_context_task_name(ctx) + 1);
    atomic_fetch_add(&check->runs[id], 1);
    int64_t v = 1;
    for (int i = 0; i < argc; i++) {
        if (daglib_value_type(argv[i]) != DAGLIB_INTEGER) {
            daglib_result_error(ctx, "input %d of t%d is not an integer", i,
                                id);
            return;
        }
        v += daglib_value_int(argv[i]);
    }
    daglib_result_int(ctx, v % VALUE_MODULUS);
}

static daglib_task *add_numbered(daglib_dag *dag, int id,
                                 struct shape_check *check)
{
    char name[24];
    snprintf(name, sizeof name, "t%d", id);
    return daglib_task_add(dag, name, NULL, checked_sum, check);
}

static void input_numbered(daglib_task *t, int id)
{
    char name[24];
    snprintf(name, sizeof name, "t%d", id);
    CHECK_OK(daglib_task_input(t, name));
}

/* DENSE: layers of DENSE_WIDTH tasks, each task of a layer joining every
 * task of the layer before (wide joins, each task feeding many), a last
 * task joining the last layer, and stray sinks beside it. */
enum shape { CHAIN, FAN, TREE, WAVEFRONT, DENSE };
#define DENSE_WIDTH 20

/* Build a shape of about n tasks; returns the expected final value. */
static int64_t build_shape(daglib_dag *dag, enum shape shape, int n,
                           struct shape_check *check)
{
    int64_t expected = 0;
    switch (shape) {
    case CHAIN:
        for (int i = 0; i < n; i++) {
            daglib_task *t = add_numbered(dag, i, check);
            if (i > 0)
                input_numbered(t, i - 1);
            if (i == n - 1)
                daglib_task_set_final(t);
        }
        expected = n % VALUE_MODULUS;
        break;
    case FAN: {
        add_numbered(dag, 0, check);
        daglib_task *sink = add_numbered(dag, n - 1, check);
        for (int i = 1; i < n - 1; i++) {
            input_numbered(add_numbered(dag, i, check), 0);
            input_numbered(sink, i);
        }
        daglib_task_set_final(sink);
        expected = (1 + 2 * (int64_t)(n - 2)) % VALUE_MODULUS;
        break;
    }
    case TREE: {
        /* Heap layout: node i has children 2i+1 and 2i+2; n = 2^k - 1. */
        for (int i = 0; i < n; i++) {
            daglib_task *t = add_numbered(dag, i, check);
            if (2 * i + 2 < n) {
                input_numbered(t, 2 * i + 1);
                input_numbered(t, 2 * i + 2);
            }
            if (i == 0)
                daglib_task_set_final(t);
        }
        expected = n % VALUE_MODULUS;
        break;
    }
    case WAVEFRONT: {
        int side = 1;
        while ((side + 1) * (side + 1) <= n)
            side++;
        int64_t *v = calloc((size_t)side * side, sizeof *v);
        for (int i = 0; i < side; i++) {
            for (int j = 0; j < side; j++) {
                int id = i * side + j;
                daglib_task *t = add_numbered(dag, id, check);
                v[id] = 1;
                if (i > 0) {
                    input_numbered(t, id - side);
                    v[id] += v[id - side];
                }
                if (j > 0) {
                    input_numbered(t, id - 1);
                    v[id] += v[id - 1];
                }
                v[id] %= VALUE_MODULUS;
            }
        }
        char last[24];
        snprintf(last, sizeof last, "t%d", side * side - 1);
        daglib_task_set_final(daglib_dag_task(dag, last));
        expected = v[side * side - 1];
        check->n_tasks = side * side;
        free(v);
        return expected;
    }
    case DENSE: {
        int layers = (n - 1) / (2 * DENSE_WIDTH);
        int64_t v = 1;
        int id = 0;
        for (int layer = 0; layer < layers; layer++) {
            for (int i = 0; i < DENSE_WIDTH; i++) {
                daglib_task *t = add_numbered(dag, id + i, check);
                for (int j = 0; layer > 0 && j < DENSE_WIDTH; j++)
                    input_numbered(t, id - DENSE_WIDTH + j);
            }
            if (layer > 0)
                v = (1 + DENSE_WIDTH * v) % VALUE_MODULUS;
            id += DENSE_WIDTH;
        }
        daglib_task *last = add_numbered(dag, id, check);
        for (int j = 0; j < DENSE_WIDTH; j++)
            input_numbered(last, id - DENSE_WIDTH + j);
        daglib_task_set_final(last);
        expected = (1 + DENSE_WIDTH * v) % VALUE_MODULUS;
        for (id++; id < n; id++) /* sinks nobody waits for */
            add_numbered(dag, id, check);
        break;
    }
    }
    check->n_tasks = n;
    return expected;
}

static void run_shape(enum shape shape, int n, int workers)
{
    struct shape_check check;
    check.runs = calloc((size_t)n, sizeof *check.runs);
    daglib_dag *dag = daglib_dag_new("shape", NULL, 0);
    int64_t expected = build_shape(dag, shape, n, &check);
    CHECK_OK(daglib_dag_set_workers(dag, workers));
    for (int round = 0; round < 2; round++) { /* a DAG runs again */
        daglib_value *finals = NULL;
        CHECK_OK(daglib_run(dag, &finals));
        if (daglib_value_int(finals) != expected)
            FAIL("shape %d, %d tasks, %d workers: got %lld, want %lld",
                 (int)shape, check.n_tasks, workers,
                 (long long)daglib_value_int(finals), (long long)expected);
        daglib_value_free(finals);
        for (int i = 0; i < check.n_tasks; i++)
            if (atomic_load(&check.runs[i]) != round + 1)
                FAIL("task t%d ran %d times after %d runs", i,
                     atomic_load(&check.runs[i]), round + 1);
    }
    daglib_dag_free(dag);
    free(check.runs);
}

TEST(scheduler_runs_every_shape_on_any_number_of_workers)
{
    static const int worker_counts[] = {1, 2, 3, 8};
    for (size_t w = 0; w < sizeof worker_counts / sizeof worker_counts[0];
         w++) {
        int workers = worker_counts[w];
        run_shape(CHAIN, 2000, workers);
        run_shape(FAN, 2000, workers);
        run_shape(TREE, 2047, workers);
        run_shape(WAVEFRONT, 40 * 40, workers);
        run_shape(DENSE, 2001, workers);
    }
}

TEST(scheduler_survives_many_runs_of_a_small_graph)
{
    /* Start-up and shutdown races show up over many short runs. */
    for (int i = 0; i < 200; i++) {
        run_shape(FAN, 8, 4);
        run_shape(TREE, 7, 3);
    }
}

/* ---- parallelism ---------------------------------------------------------- */

struct rendezvous {
    _Atomic int arrived;
    int parties; /* 0: a pair */
};

/* Waits until all the tasks meeting (a pair unless told) are running:
 * possible only if they run at the same time.  Gives up after 10 s. */
static void meet(daglib_context *ctx, int argc, const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    struct rendezvous *r = daglib_user_data(ctx);
    atomic_fetch_add(&r->arrived, 1);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int parties = r->parties > 0 ? r->parties : 2;
    while (atomic_load(&r->arrived) < parties) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > 10) {
            daglib_result_error(ctx, "the other task never started");
            return;
        }
        struct timespec nap = {0, 100000};
        nanosleep(&nap, NULL);
    }
    daglib_result_int(ctx, daglib_context_worker(ctx));
}

static void meet_nobody(daglib_context *ctx, int argc,
                        const daglib_value *const *argv)
{
    (void)ctx, (void)argc, (void)argv;
}

TEST(scheduler_runs_independent_tasks_at_the_same_time)
{
    struct rendezvous r = {0};
    daglib_dag *dag = daglib_dag_new("parallel", NULL, 0);
    daglib_task_set_final(daglib_task_add(dag, "left", NULL, meet, &r));
    daglib_task_set_final(daglib_task_add(dag, "right", NULL, meet, &r));
    CHECK_OK(daglib_dag_set_workers(dag, 2));
    daglib_value *finals = NULL;
    CHECK_OK(daglib_run(dag, &finals));
    /* Two different workers ran them. */
    CHECK_INT_EQ(daglib_value_count(finals), 2);
    CHECK(daglib_value_int(daglib_value_item(finals, 0)) !=
          daglib_value_int(daglib_value_item(finals, 1)));
    daglib_value_free(finals);
    daglib_dag_free(dag);
}

/* The caller starts a run alone and shares its ready tasks when a helper
 * joins: after a task, or, while the caller's task goes on (here, until
 * the helper runs "right"), dealt out by the helper itself.  The tasks
 * dealt out feed a wide join ("right") and a sum that the caller's side
 * never counted; the caller's task feeds one ("both") that the helper's
 * side does too. */
TEST(scheduler_helper_shares_the_callers_ready_tasks_during_a_long_task)
{
    for (int round = 0; round < 20; round++) {
        struct rendezvous r = {0};
        daglib_dag *dag = daglib_dag_new("long first", NULL, 0);
        CHECK_OK(daglib_dag_set_workers(dag, 2));
        /* The first source: the caller runs it first. */
        CHECK(daglib_task_add(dag, "left", NULL, meet, &r) != NULL);
        daglib_task *right = daglib_task_add(dag, "right", NULL, meet, &r);
        daglib_task *sum = daglib_task_add(dag, "sum", NULL, sum_all, NULL);
        daglib_task *both = daglib_task_add(dag, "both", NULL, sum_all, NULL);
        for (intptr_t i = 0; i < 40; i++) {
            char name[16];
            snprintf(name, sizeof name, "c%d", (int)i);
            CHECK(daglib_task_add(dag, name, NULL, constant, (void *)i) !=
                  NULL);
            CHECK_OK(daglib_task_input(right, name));
            CHECK_OK(daglib_task_input(sum, name));
        }
        CHECK_OK(daglib_task_input(both, "left"));
        CHECK_OK(daglib_task_input(both, "right"));
        CHECK_OK(daglib_task_set_final(sum));
        CHECK_OK(daglib_task_set_final(both));
        daglib_value *finals = NULL;
        CHECK_OK(daglib_run(dag, &finals));
        CHECK_INT_EQ(daglib_value_int(daglib_value_item(finals, 0)),
                     40 * 39 / 2);
        /* One worker each: 0 + 1. */
        CHECK_INT_EQ(daglib_value_int(daglib_value_item(finals, 1)), 1);
        daglib_value_free(finals);
        daglib_dag_free(dag);
    }
}

TEST(scheduler_uses_a_worker_per_online_cpu_by_default)
{
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    int parties = online < 1                    ? 1
                  : online > DAGLIB_MAX_WORKERS ? DAGLIB_MAX_WORKERS
                                                : (int)online;
    /* Twice: the second DAG is made while the count the first took still
     * stands. */
    for (int round = 0; round < 2; round++) {
        struct rendezvous r = {0, parties};
        daglib_dag *dag = daglib_dag_new("everyone", NULL, 0);
        for (int i = 0; i < parties; i++) {
            char name[16];
            snprintf(name, sizeof name, "meet %d", i);
            CHECK_OK(daglib_task_set_final(
                daglib_task_add(dag, name, NULL, meet, &r)));
        }
        daglib_value *finals = NULL;
        CHECK_OK(daglib_run(dag, &finals));
        for (int i = 0; i < parties; i++)
            CHECK(daglib_value_int(daglib_value_item(finals, (size_t)i)) <
                  parties);
        daglib_value_free(finals);
        daglib_dag_free(dag);
    }
}

/* The process's threads. */
static int thread_count(void)
{
    int threads = (int)test_proc_status("Threads");
    CHECK(threads > 0);
    return threads;
}

/* thread_count() once it is `want`, or after a second what it is then: a
 * joined thread leaves the count a little after its join returned. */
static int thread_count_settled(int want)
{
    int threads = thread_count();
    for (int tries = 0; threads != want && tries < 1000; tries++) {
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
        threads = thread_count();
    }
    return threads;
}

/* Runs the pair of meeting tasks: they finish only if two workers run
 * them at the same time. */
static void run_meeting(daglib_dag *dag, struct rendezvous *r)
{
    atomic_store(&r->arrived, 0);
    daglib_value *finals = NULL;
    CHECK_OK(daglib_run(dag, &finals));
    CHECK(daglib_value_int(daglib_value_item(finals, 0)) !=
          daglib_value_int(daglib_value_item(finals, 1)));
    daglib_value_free(finals);
}

static daglib_dag *meeting_dag(struct rendezvous *r, int workers)
{
    daglib_dag *dag = daglib_dag_new("meeting", NULL, 0);
    daglib_task_set_final(daglib_task_add(dag, "left", NULL, meet, r));
    daglib_task_set_final(daglib_task_add(dag, "right", NULL, meet, r));
    for (int i = 0; i < 100; i++) { /* work for the other workers too */
        char name[16];
        snprintf(name, sizeof name, "t%d", i);
        daglib_task_add(dag, name, NULL, meet_nobody, NULL);
    }
    CHECK_OK(daglib_dag_set_workers(dag, workers));
    return dag;
}

/* Where the system has no remote fence (remote_fence.h), a run is shared
 * from its start: the shapes run right that way, and the meeting is the
 * check -- a caller that began alone would keep "left" to itself, with no
 * helper able to take "right" until "left" gave up. */
TEST(scheduler_shares_runs_from_the_start_without_a_remote_fence)
{
    remote_fence_pretend_refused(1);
    for (int workers = 2; workers <= 3; workers++) {
        run_shape(CHAIN, 500, workers);
        run_shape(FAN, 500, workers);
        run_shape(WAVEFRONT, 20 * 20, workers);
        run_shape(DENSE, 501, workers);
    }
    struct rendezvous r = {0};
    daglib_dag *dag = meeting_dag(&r, 2);
    run_meeting(dag, &r);
    daglib_dag_free(dag);
    remote_fence_pretend_refused(0);
}

/* Naps as many milliseconds as its user data says. */
static void nap_ms(daglib_context *ctx, int argc,
                   const daglib_value *const *argv)
{
    (void)argc, (void)argv;
    long ms = (long)(intptr_t)daglib_user_data(ctx);
    struct timespec nap = {ms / 1000, ms % 1000 * 1000000};
    nanosleep(&nap, NULL);
}

/* A worker with nothing to do while another naps goes to sleep (a helper
 * gives its thread back to the pool); a pair of tasks that must run at the
 * same time after each nap brings it back, three times a run. */
TEST(scheduler_idle_workers_come_back_for_later_work)
{
    struct rendezvous pairs[3] = {{0, 0}, {0, 0}, {0, 0}};
    daglib_dag *dag = daglib_dag_new("idle", NULL, 0);
    CHECK_OK(daglib_dag_set_workers(dag, 2));
    const char *after = NULL;
    for (int k = 0; k < 3; k++) {
        char nap[16], left[16], right[16];
        snprintf(nap, sizeof nap, "nap %d", k);
        snprintf(left, sizeof left, "left %d", k);
        snprintf(right, sizeof right, "right %d", k);
        daglib_task *t = daglib_task_add(dag, nap, NULL, nap_ms, (void *)30);
        if (after != NULL)
            CHECK_OK(daglib_task_depends_on(t, after));
        CHECK_OK(daglib_task_depends_on(
            daglib_task_add(dag, left, NULL, meet, &pairs[k]), nap));
        CHECK_OK(daglib_task_depends_on(
            daglib_task_add(dag, right, NULL, meet, &pairs[k]), nap));
        daglib_task *join = daglib_task_add(
            dag, k == 0 ? "join 0" : k == 1 ? "join 1" : "join 2", NULL,
            meet_nobody, NULL);
        CHECK_OK(daglib_task_input(join, left));
        CHECK_OK(daglib_task_input(join, right));
        after = daglib_task_name(join);
    }
    int threads = 0;
    for (int round = 0; round < 2; round++) {
        for (int k = 0; k < 3; k++)
            atomic_store(&pairs[k].arrived, 0);
        CHECK_OK(daglib_run(dag, NULL));
        if (round == 0)
            threads = thread_count();
    }
    /* Coming back took no new thread. */
    CHECK_INT_EQ(thread_count_settled(threads), threads);
    daglib_dag_free(dag);
}

/* Helpers park while the source naps; its successors post them again, and
 * the caller may finish those before any helper is back: the run ends
 * with slots posted and not taken, or taken as it ends. */
TEST(scheduler_runs_end_while_parked_helpers_are_posted_again)
{
    daglib_dag *dag = daglib_dag_new("reposted", NULL, 0);
    CHECK_OK(daglib_dag_set_workers(dag, 4));
    daglib_task_add(dag, "source", NULL, nap_ms, (void *)2);
    daglib_task *sink = daglib_task_add(dag, "sink", NULL, meet_nobody, NULL);
    for (int i = 0; i < 6; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%d", i);
        daglib_task *t = daglib_task_add(dag, name, NULL, meet_nobody, NULL);
        CHECK_OK(daglib_task_depends_on(t, "source"));
        CHECK_OK(daglib_task_depends_on(sink, name));
    }
    for (int run = 0; run < 60; run++)
        CHECK_OK(daglib_run(dag, NULL));
    daglib_dag_free(dag);
}

TEST(scheduler_keeps_a_dags_worker_threads_between_runs)
{
    /* Made and joined for every run, the threads would cost a small
     * DAG's run twenty times its tasks.  (Counted from the first run: a
     * sanitizer may add a thread of its own then.) */
    struct rendezvous r = {0};
    daglib_release_memory(); /* no threads kept from an earlier DAG */
    int before = thread_count();
    daglib_dag *dag = meeting_dag(&r, 4);
    run_meeting(dag, &r);
    int with_pool = thread_count();
    CHECK(with_pool >= before + 3);
    for (int run = 0; run < 50; run++) {
        run_meeting(dag, &r);
        CHECK_INT_EQ(thread_count(), with_pool);
    }
    /* More workers add threads; fewer leave the rest waiting. */
    CHECK_OK(daglib_dag_set_workers(dag, 6));
    run_meeting(dag, &r);
    CHECK_INT_EQ(thread_count(), with_pool + 2);
    CHECK_OK(daglib_dag_set_workers(dag, 2));
    run_meeting(dag, &r);
    CHECK_INT_EQ(thread_count(), with_pool + 2);
    /* Freed, the DAG leaves its threads to the next one. */
    daglib_dag_free(dag);
    CHECK_INT_EQ(thread_count(), with_pool + 2);
    dag = meeting_dag(&r, 3);
    run_meeting(dag, &r);
    CHECK_INT_EQ(thread_count(), with_pool + 2);
    daglib_dag_free(dag);
    daglib_release_memory();
    CHECK_INT_EQ(thread_count_settled(with_pool - 3), with_pool - 3);
}

TEST(scheduler_runs_a_dag_again_in_a_forked_child)
{
    /* A child has the DAG's memory but none of its threads: it makes its
     * own, and the parent's still work. */
#if defined(__SANITIZE_THREAD__)
    return; /* ThreadSanitizer does not start threads after a fork */
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
    return;
#endif
#endif
    struct rendezvous r = {0};
    daglib_dag *dag = meeting_dag(&r, 3);
    run_meeting(dag, &r);
    fflush(NULL);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        atomic_store(&r.arrived, 0);
        daglib_value *finals = NULL;
        int rc = daglib_run(dag, &finals);
        int ok = rc == DAGLIB_OK &&
                 daglib_value_int(daglib_value_item(finals, 0)) !=
                     daglib_value_int(daglib_value_item(finals, 1));
        daglib_value_free(finals);
        daglib_dag_free(dag);
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    run_meeting(dag, &r);
    daglib_dag_free(dag);
}

static void report_worker(daglib_context *ctx, int argc,
                          const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_result_int(ctx, daglib_context_worker(ctx));
}

TEST(scheduler_worker_index_is_within_the_worker_count)
{
    daglib_dag *dag = daglib_dag_new("workers", NULL, 0);
    for (int i = 0; i < 64; i++) {
        char name[16];
        snprintf(name, sizeof name, "w%d", i);
        daglib_task_set_final(
            daglib_task_add(dag, name, NULL, report_worker, NULL));
    }
    CHECK_OK(daglib_dag_set_workers(dag, 3));
    daglib_value *finals = NULL;
    CHECK_OK(daglib_run(dag, &finals));
    for (size_t i = 0; i < daglib_value_count(finals); i++) {
        int64_t w = daglib_value_int(daglib_value_item(finals, i));
        CHECK(w >= 0 && w < 3);
    }
    daglib_value_free(finals);
    daglib_dag_free(dag);
}

/* ---- memory: results freed after their last consumer ---------------------- */

static _Atomic int live_results;
static _Atomic int most_live_results;

static void forget_result(void *p)
{
    (void)p;
    atomic_fetch_sub(&live_results, 1);
}

static void tracked(daglib_context *ctx, int argc,
                    const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    int live = atomic_fetch_add(&live_results, 1) + 1;
    int most = atomic_load(&most_live_results);
    while (live > most &&
           !atomic_compare_exchange_weak(&most_live_results, &most, live))
        ;
    daglib_result_pointer(ctx, &live_results, forget_result);
}

TEST(scheduler_frees_each_result_after_its_last_consumer)
{
    daglib_dag *dag = daglib_dag_new("flat", NULL, 0);
    char name[24], previous[24];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "link %d", i);
        daglib_task *t = daglib_task_add(dag, name, NULL, tracked, NULL);
        if (i > 0)
            daglib_task_input(t, previous);
        /* Every tenth link is read twice: once more by a side task. */
        if (i % 10 == 0 && i > 0) {
            char side[32];
            snprintf(side, sizeof side, "side %d", i);
            daglib_task_input(daglib_task_add(dag, side, NULL, tracked, NULL),
                              name);
        }
        memcpy(previous, name, sizeof name);
    }
    daglib_task_set_final(daglib_dag_task(dag, "link 0"));
    CHECK_OK(daglib_dag_set_workers(dag, 1));
    daglib_value *finals = NULL;
    CHECK_OK(daglib_run(dag, &finals));
    /* The final (kept), the input being read, the new result, and at most
     * a side task's pair: memory stays flat along 5000 links. */
    CHECK(atomic_load(&most_live_results) <= 5);
    CHECK_INT_EQ(atomic_load(&live_results), 1); /* only the final */
    daglib_value_free(finals);
    CHECK_INT_EQ(atomic_load(&live_results), 0);
    daglib_dag_free(dag);
}

TEST(scheduler_frees_results_when_several_workers_share_them)
{
    atomic_store(&live_results, 0);
    daglib_dag *dag = daglib_dag_new("shared", NULL, 0);
    daglib_task_add(dag, "root", NULL, tracked, NULL);
    for (int i = 0; i < 200; i++) {
        char name[16];
        snprintf(name, sizeof name, "reader %d", i);
        daglib_task_input(daglib_task_add(dag, name, NULL, tracked, NULL),
                          "root");
    }
    CHECK_OK(daglib_dag_set_workers(dag, 4));
    for (int round = 0; round < 20; round++) {
        CHECK_OK(daglib_run(dag, NULL));
        CHECK_INT_EQ(atomic_load(&live_results), 0);
    }
    daglib_dag_free(dag);
}

/* Tasks finished in the current run, and results freed only once all had
 * (by the run's end, not by their last reader). */
static _Atomic int tasks_finished, freed_at_the_end;
#define MIXED_TASKS 8

static void count_finished(void *user_data, const daglib_task_event *event)
{
    (void)user_data;
    (void)event;
    atomic_fetch_add(&tasks_finished, 1);
}

static void forget_watched_result(void *p)
{
    (void)p;
    atomic_fetch_sub(&live_results, 1);
    if (atomic_load(&tasks_finished) == MIXED_TASKS)
        atomic_fetch_add(&freed_at_the_end, 1);
}

static void watched(daglib_context *ctx, int argc,
                    const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    atomic_fetch_add(&live_results, 1);
    daglib_result_pointer(ctx, &live_results, forget_watched_result);
}

/* A watched result on odd rounds (the round is the user data's count), a
 * number on even ones. */
static void owned_on_odd_rounds(daglib_context *ctx, int argc,
                                const daglib_value *const *argv)
{
    const int *round = daglib_user_data(ctx);
    if (*round % 2 == 1)
        watched(ctx, argc, argv);
    else
        daglib_result_int(ctx, *round);
}

static void fail_always(daglib_context *ctx, int argc,
                        const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_result_error(ctx, "fails on purpose");
}

/* How many of its inputs are pointers, 100 * that + argc, into the int
 * its user data points to (if any). */
static void count_pointers(daglib_context *ctx, int argc,
                           const daglib_value *const *argv)
{
    int pointers = 0;
    for (int i = 0; i < argc; i++)
        pointers += daglib_value_type(argv[i]) == DAGLIB_POINTER;
    int *seen = daglib_user_data(ctx);
    if (seen != NULL)
        *seen = 100 * pointers + argc;
}

TEST(scheduler_frees_owned_results_read_beside_ones_that_own_nothing)
{
    /* A reader learns from its predecessors whether any result it reads
     * owns memory: here beside numbers, as the only input, beside a
     * failed input (the reader skipped), and from a task whose result
     * owns memory every other run.  Each result is freed by its last
     * reader, not left to the end of the run, which frees whatever is
     * left when a task failed. */
    const daglib_observer observer = {NULL, count_finished, NULL};
    for (int workers = 1; workers <= 2; workers++) {
        atomic_store(&live_results, 0);
        atomic_store(&freed_at_the_end, 0);
        int round = 0;
        daglib_dag *dag = daglib_dag_new("mixed", NULL, 0);
        CHECK_OK(daglib_dag_set_observer(dag, &observer));
        daglib_task_add(dag, "owner", NULL, watched, NULL);
        daglib_task_add(dag, "number", NULL, constant, (void *)(intptr_t)7);
        daglib_task_add(dag, "failing", NULL, fail_always, NULL);
        daglib_task_add(dag, "sometimes", NULL, owned_on_odd_rounds, &round);
        int seen = 0;
        daglib_task *mixed =
            daglib_task_add(dag, "mixed", NULL, count_pointers, &seen);
        daglib_task_input(mixed, "number");
        daglib_task_input(mixed, "owner");
        daglib_task_input(mixed, "sometimes");
        daglib_task_input(daglib_task_add(dag, "lone", NULL, count_pointers,
                                          NULL),
                          "owner");
        daglib_task *skipped =
            daglib_task_add(dag, "skipped", NULL, count_pointers, NULL);
        daglib_task_input(skipped, "owner");
        daglib_task_input(skipped, "failing");
        daglib_task_input(skipped, "sometimes");
        daglib_task_input(daglib_task_add(dag, "after", NULL, count_pointers,
                                          NULL),
                          "sometimes");
        CHECK_OK(daglib_dag_set_workers(dag, workers));
        for (; round < 6; round++) {
            atomic_store(&tasks_finished, 0);
            CHECK_INT_EQ(daglib_run(dag, NULL), DAGLIB_TASK_FAILED);
            CHECK_INT_EQ(atomic_load(&tasks_finished), MIXED_TASKS);
            CHECK_INT_EQ(seen, round % 2 == 1 ? 203 : 103);
            CHECK_INT_EQ(atomic_load(&live_results), 0);
        }
        CHECK_INT_EQ(atomic_load(&freed_at_the_end), 0);
        daglib_dag_free(dag);
    }
}

/* ---- the helper threads' name -------------------------------------------- */

/* For a task of a DAG of several: naps long enough for the workers to
 * share the tasks, then says whether a helper (not the caller) runs it. */
static int napped_on_a_helper(daglib_context *ctx)
{
    struct timespec nap = {0, 2 * 1000 * 1000};
    nanosleep(&nap, NULL);
    return daglib_context_worker(ctx) != 0;
}

static _Atomic int helper_tasks, helper_tasks_named;

static void note_thread_name(daglib_context *ctx, int argc,
                             const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    if (!napped_on_a_helper(ctx))
        return;
    char name[16] = "";
    pthread_getname_np(pthread_self(), name, sizeof name);
    atomic_fetch_add(&helper_tasks, 1);
    if (strcmp(name, "daglib worker") == 0)
        atomic_fetch_add(&helper_tasks_named, 1);
}

TEST(scheduler_names_its_helper_threads)
{
    /* ps, top and debuggers show them as the library's; threads added
     * for a later run with more workers too. */
    daglib_release_memory(); /* threads of this test's own */
    daglib_dag *dag = daglib_dag_new("named", NULL, 0);
    for (int i = 0; i < 16; i++) {
        char name[16];
        snprintf(name, sizeof name, "nap %d", i);
        CHECK(daglib_task_add(dag, name, NULL, note_thread_name, NULL) != NULL);
    }
    for (int workers = 2; workers <= 4; workers += 2) {
        CHECK_OK(daglib_dag_set_workers(dag, workers));
        atomic_store(&helper_tasks, 0);
        atomic_store(&helper_tasks_named, 0);
        CHECK_OK(daglib_run(dag, NULL));
        CHECK(atomic_load(&helper_tasks) > 0);
        CHECK_INT_EQ(atomic_load(&helper_tasks_named),
                     atomic_load(&helper_tasks));
    }
    daglib_dag_free(dag);
}

/* ---- where the helper threads wait ----------------------------------------- */

/* The CPUs the helpers that ran tasks could use while they ran them, all
 * told, and how many tasks they ran. */
struct helper_cpus {
    pthread_mutex_t lock;
    cpu_set_t seen;
    int tasks;
};

static void note_helper_cpus(daglib_context *ctx, int argc,
                             const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    struct helper_cpus *h = daglib_user_data(ctx);
    if (!napped_on_a_helper(ctx))
        return;
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    sched_getaffinity(0, sizeof cpus, &cpus);
    pthread_mutex_lock(&h->lock);
    if (h->tasks++ == 0)
        h->seen = cpus;
    else
        CPU_OR(&h->seen, &h->seen, &cpus);
    pthread_mutex_unlock(&h->lock);
}

/* Runs a DAG of napping tasks on `workers` workers; the CPUs its helpers
 * could use while they ran them. */
static cpu_set_t cpus_while_running(int workers)
{
    static struct helper_cpus h = {PTHREAD_MUTEX_INITIALIZER, {{0}}, 0};
    h.tasks = 0;
    CPU_ZERO(&h.seen);
    daglib_dag *dag = daglib_dag_new("placed", NULL, 0);
    for (int i = 0; i < 8 * workers; i++) {
        char name[16];
        snprintf(name, sizeof name, "nap %d", i);
        CHECK(daglib_task_add(dag, name, NULL, note_helper_cpus, &h) != NULL);
    }
    CHECK_OK(daglib_dag_set_workers(dag, workers));
    CHECK_OK(daglib_run(dag, NULL));
    if (h.tasks == 0) /* the caller ran them all: nothing seen */
        h.seen = (cpu_set_t){{0}};
    daglib_dag_free(dag);
    return h.seen;
}

/* Whether every thread named "daglib worker" may use `want` alone, and
 * there is one at least. */
static int waiting_helpers_use(const cpu_set_t *want)
{
    DIR *tasks = opendir("/proc/self/task");
    CHECK(tasks != NULL);
    int helpers = 0, all_so = 1;
    struct dirent *entry;
    while ((entry = readdir(tasks)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        char path[300], name[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", entry->d_name);
        FILE *comm = fopen(path, "r");
        if (comm == NULL)
            continue; /* gone meanwhile */
        int read = fgets(name, sizeof name, comm) != NULL;
        fclose(comm);
        if (!read || strcmp(name, "daglib worker\n") != 0)
            continue;
        cpu_set_t cpus;
        if (sched_getaffinity((pid_t)atoi(entry->d_name), sizeof cpus,
                              &cpus) != 0)
            continue;
        helpers++;
        all_so &= CPU_EQUAL(&cpus, want);
    }
    closedir(tasks);
    return helpers > 0 && all_so;
}

/* waiting_helpers_use(), once the helpers settled: they choose their
 * CPUs after the run's end. */
static int helpers_settle_on(const cpu_set_t *want)
{
    for (int tries = 0; tries < 1000; tries++) {
        if (waiting_helpers_use(want))
            return 1;
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
    }
    return 0;
}

/* The set of one CPU. */
static cpu_set_t only_cpu(int cpu)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    return one;
}

struct pinned_caller {
    int workers;
    cpu_set_t seen;
};

static void *run_pinned(void *arg)
{
    struct pinned_caller *c = arg;
    c->seen = cpus_while_running(c->workers);
    return NULL;
}

/* cpus_while_running(workers) on a thread of its own that may use `cpu`
 * alone, so that it posts its runs from there. */
static cpu_set_t cpus_while_running_from(int cpu, int workers)
{
    cpu_set_t one = only_cpu(cpu);
    pthread_attr_t attr;
    CHECK(pthread_attr_init(&attr) == 0);
    CHECK(pthread_attr_setaffinity_np(&attr, sizeof one, &one) == 0);
    struct pinned_caller c = {workers, {{0}}};
    pthread_t caller;
    CHECK(pthread_create(&caller, &attr, run_pinned, &c) == 0);
    pthread_join(caller, NULL);
    pthread_attr_destroy(&attr);
    return c.seen;
}

static _Atomic int helpers_narrowed;

/* On a helper: lets its thread use the CPU its user data says, alone. */
static void narrow_helper(daglib_context *ctx, int argc,
                          const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    if (!napped_on_a_helper(ctx))
        return;
    cpu_set_t one = only_cpu(*(const int *)daglib_user_data(ctx));
    if (sched_setaffinity(0, sizeof one, &one) == 0)
        atomic_fetch_add(&helpers_narrowed, 1);
}

TEST(scheduler_helpers_wait_off_the_callers_cpu)
{
    /* A helper woken where its caller runs takes turns with it on one CPU
     * while another idles: with a CPU to spare for each, helpers wait on
     * their CPUs but the one their caller ran on; without, on all of
     * them.  They run tasks on all of them, as before they waited. */
    cpu_set_t mine;
    if (sched_getaffinity(0, sizeof mine, &mine) != 0 ||
        CPU_COUNT(&mine) < 2 || CPU_COUNT(&mine) >= DAGLIB_MAX_WORKERS) {
        fprintf(stderr, "    (not 2 to %d CPUs to run on: skipped)\n",
                DAGLIB_MAX_WORKERS - 1);
        return;
    }
    int n = CPU_COUNT(&mine), cpu = 0;
    while (!CPU_ISSET(cpu, &mine))
        cpu++;
    cpu_set_t others = mine;
    CPU_CLR(cpu, &others);
    daglib_release_memory(); /* threads of this test's own */

    /* The helper is made here, with all of this thread's CPUs; a caller
     * that may use one CPU alone takes it over (the pool a freed DAG
     * left). */
    cpu_set_t seen = cpus_while_running(2);
    CHECK(CPU_COUNT(&seen) == 0 || CPU_EQUAL(&seen, &mine));
    seen = cpus_while_running_from(cpu, 2);
    CHECK(helpers_settle_on(&others));
    CHECK(CPU_COUNT(&seen) == 0 || CPU_EQUAL(&seen, &mine));
    seen = cpus_while_running_from(cpu, 2); /* woken from there */
    CHECK(CPU_COUNT(&seen) == 0 || CPU_EQUAL(&seen, &mine));

    /* More helpers than other CPUs: they wait on all of them.  (Made
     * here, as threads made by a caller of one CPU would wait on that.) */
    seen = cpus_while_running(n + 1);
    CHECK(helpers_settle_on(&mine));
    CHECK(CPU_COUNT(&seen) == 0 || CPU_EQUAL(&seen, &mine));

    /* A task that changes its thread's CPUs changes them for good, as on
     * a thread that never waited beside anybody. */
    daglib_release_memory();
    daglib_dag *dag = daglib_dag_new("narrowing", NULL, 0);
    for (int i = 0; i < 16; i++) {
        char name[16];
        snprintf(name, sizeof name, "narrow %d", i);
        CHECK(daglib_task_add(dag, name, NULL, narrow_helper, &cpu) != NULL);
    }
    CHECK_OK(daglib_dag_set_workers(dag, 2));
    CHECK_OK(daglib_run(dag, NULL));
    daglib_dag_free(dag);
    cpu_set_t one = only_cpu(cpu);
    if (atomic_load(&helpers_narrowed) > 0) {
        seen = cpus_while_running(2);
        CHECK(CPU_COUNT(&seen) == 0 || CPU_EQUAL(&seen, &one));
        CHECK(helpers_settle_on(&one));
    }
    daglib_release_memory();
}

/* ---- misuse during a run ---------------------------------------------------- */

static void run_own_dag(daglib_context *ctx, int argc,
                        const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_dag *dag = daglib_user_data(ctx);
    int nested = daglib_run(dag, NULL);
    int change = daglib_task_add(dag, "late", NULL, run_own_dag, NULL) == NULL;
    daglib_result_int(ctx, nested * 10 + change);
}

TEST(scheduler_refuses_to_run_or_change_a_running_dag)
{
    daglib_dag *dag = daglib_dag_new("reentrant", NULL, 0);
    daglib_task_set_final(daglib_task_add(dag, "t", NULL, run_own_dag, dag));
    daglib_value *finals = NULL;
    CHECK_OK(daglib_run(dag, &finals));
    CHECK_INT_EQ(daglib_value_int(finals), DAGLIB_MISUSE * 10 + 1);
    daglib_value_free(finals);
    daglib_dag_free(dag);
}

static void name_and_data(daglib_context *ctx, int argc,
                          const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    char text[64];
    snprintf(text, sizeof text, "%s:%s", daglib_context_task_name(ctx),
             (const char *)daglib_user_data(ctx));
    daglib_result_text(ctx, text, -1, DAGLIB_TRANSIENT);
}

TEST(scheduler_gives_each_task_its_name_and_user_data)
{
    daglib_dag *dag = daglib_dag_new("context", NULL, 0);
    daglib_task_set_final(
        daglib_task_add(dag, "task_1", NULL, name_and_data, "first"));
    daglib_value *finals = NULL;
    CHECK_OK(daglib_run(dag, &finals));
    CHECK_STR_EQ(daglib_value_text(finals), "task_1:first");
    daglib_value_free(finals);
    daglib_dag_free(dag);
}

TEST(scheduler_gives_each_run_a_new_run_id)
{
    daglib_dag *dag = daglib_dag_new("ids", NULL, 0);
    daglib_task_add(dag, "t", NULL, constant, NULL);
    CHECK_OK(daglib_run(dag, NULL));
    char first[32];
    snprintf(first, sizeof first, "%s", daglib_dag_run_id(dag));
    CHECK_INT_EQ(strlen(first), 13);
    CHECK_OK(daglib_run(dag, NULL));
    CHECK(strcmp(first, daglib_dag_run_id(dag)) != 0);
    daglib_dag_free(dag);
}

/* ---- sharing out coarse work ---------------------------------------------- */

static _Atomic int ran_on[8];

static void nap_and_count(daglib_context *ctx, int argc,
                          const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    atomic_fetch_add(&ran_on[daglib_context_worker(ctx)], 1);
    struct timespec nap = {0, 4 * 1000 * 1000};
    nanosleep(&nap, NULL);
}

TEST(scheduler_shares_a_coarse_fan_out_among_all_workers)
{
    /* Nodes a worker takes or steals in a batch are out of the others'
     * reach: with tasks of milliseconds, a worker that kept 8 or 16 of
     * them while others wait would double the run.  Sleeping tasks need no
     * core, so 8 workers share them out on any machine. */
    daglib_dag *dag = daglib_dag_new("coarse", NULL, 0);
    CHECK_OK(daglib_dag_set_workers(dag, 8));
    CHECK(daglib_task_add(dag, "source", NULL, nap_and_count, NULL) != NULL);
    for (int i = 0; i < 64; i++) {
        char name[16];
        snprintf(name, sizeof name, "nap %d", i);
        daglib_task *t = daglib_task_add(dag, name, NULL, nap_and_count, NULL);
        CHECK(t != NULL);
        CHECK_OK(daglib_task_depends_on(t, "source"));
    }
    /* A worker delayed on a loaded machine may leave its share to others
     * in one run, not in three. */
    int fewest_most = 65;
    for (int round = 0; round < 3; round++) {
        for (int w = 0; w < 8; w++)
            atomic_store(&ran_on[w], 0);
        CHECK_OK(daglib_run(dag, NULL));
        int most = 0, total = 0;
        for (int w = 0; w < 8; w++) {
            int n = atomic_load(&ran_on[w]);
            total += n;
            if (n > most)
                most = n;
        }
        CHECK_INT_EQ(total, 65);
        if (most < fewest_most)
            fewest_most = most;
    }
    if (fewest_most > 12) /* 8 or 9 each when shared out evenly */
        FAIL("in every run, one worker ran %d or more of the 65 tasks",
             fewest_most);
    daglib_dag_free(dag);
}
