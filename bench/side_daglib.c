/*
 * side_daglib.c -- the daglib side of the scheduler benchmark, through the
 * public API only.
 *
 * daglib compiles a DAG into a plan at its first run and reuses the plan
 * afterwards.  So that "build" means the same thing as for oneTBB (a graph
 * ready to run), it counts the API calls plus that compile, taken as the
 * first run's time minus a second run's; "run" is the second run.  Task
 * names are formatted beforehand (shape.names): printing numbers is the
 * caller's cost, not the library's.
 */
#include <stdio.h>

#include "daglib.h"
#include "peers.h"

static void empty_task(daglib_context *ctx, int argc,
                       const daglib_value *const *argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
}

static void int_task(daglib_context *ctx, int argc,
                     const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_result_int(ctx, 1);
}

static void spin_task(daglib_context *ctx, int argc,
                      const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    bench_spin(*(const uint64_t *)daglib_user_data(ctx));
}

static daglib_dag *build(const shape *s, int workers, const bench_task *task)
{
    daglib_task_fn fn = task->body == BODY_INT    ? int_task
                        : task->body == BODY_SPIN ? spin_task
                                                  : empty_task;
    void *user_data = (void *)&task->spin_iterations;
    daglib_dag *dag = daglib_dag_new("bench", NULL, task->dag_flags);
    daglib_dag_set_workers(dag, workers);
    daglib_dag_reserve(dag, s->n); /* the caller knows how many: one table */
    for (uint32_t i = 0; i < s->n; i++) {
        daglib_task *t = daglib_task_add(dag, s->names[i], NULL, fn, user_data);
        for (uint32_t e = s->pred_begin[i]; e < s->pred_begin[i + 1]; e++)
            daglib_task_input(t, s->names[s->preds[e]]);
    }
    return dag; /* build errors are sticky: daglib_run reports them */
}

int bench_daglib(const shape *s, int workers, const bench_task *task,
                 bench_time *out)
{
    int64_t t0 = bench_now_ns();
    daglib_dag *dag = build(s, workers, task);
    int64_t t1 = bench_now_ns();
    int rc = dag != NULL ? daglib_run(dag, NULL) : DAGLIB_NOMEM;
    int64_t t2 = bench_now_ns(), cpu2 = bench_process_cpu_ns();
    if (rc == DAGLIB_OK)
        rc = daglib_run(dag, NULL);
    int64_t t3 = bench_now_ns(), cpu3 = bench_process_cpu_ns();
    if (rc != DAGLIB_OK) {
        fprintf(stderr, "daglib, %s: %s\n", s->name,
                dag != NULL ? daglib_dag_errmsg(dag) : "out of memory");
        daglib_dag_free(dag);
        return -1;
    }
    daglib_dag_free(dag);
    double compile = (double)((t2 - t1) - (t3 - t2));
    out->build_ns = (double)(t1 - t0) + (compile > 0 ? compile : 0);
    out->run_ns = (double)(t3 - t2);
    out->first_ns = (double)(t2 - t0);
    out->run_cpu_ns = (double)(cpu3 - cpu2);
    return 0;
}
