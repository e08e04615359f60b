/*
 * run.c -- daglib_run(): compile if needed, open the profiling file, run,
 * and turn the outcome into finals or one readable error.
 *
 * Order matters for the guarantees of daglib.h: everything that can be
 * refused (a build error, a bad graph, an unwritable profiling directory)
 * is refused before the first task runs, and the profiling file is
 * complete (flushed, fsynced, closed) before daglib_run() returns.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dag.h"
#include "meta_path.h"
#include "plan.h"
#include "profiler.h"
#include "progress.h"
#include "scheduler.h"

/* A final's result, or none (NULL) if it never ran: a run cut short. */
static daglib_value *final_result(run *r, uint32_t n, daglib_value *none)
{
    value_init(none);
    return node_ran(&r->states[n]) ? &r->outputs[n].result : none;
}

/* Move the finals out of the run into what daglib_run() returns. */
static int collect_finals(run *r, daglib_value **finals)
{
    const plan *p = r->plan;
    daglib_value none;
    if (p->n_finals == 0 && !p->tuple_finals)
        return DAGLIB_OK;
    if (p->n_finals == 1 && !p->tuple_finals) {
        *finals = value_box(final_result(r, p->finals[0], &none));
        return *finals != NULL ? DAGLIB_OK : DAGLIB_NOMEM;
    }
    daglib_value tuple;
    value_set_list(&tuple);
    tuple.flags |= VALUE_TUPLE;
    if (value_list_reserve(&tuple, p->n_finals) != DAGLIB_OK)
        return DAGLIB_NOMEM;
    for (uint32_t f = 0; f < p->n_finals; f++)
        value_list_push(&tuple, final_result(r, p->finals[f], &none));
    *finals = value_box(&tuple);
    if (*finals == NULL) {
        value_clear(&tuple);
        return DAGLIB_NOMEM;
    }
    return DAGLIB_OK;
}

static int report_failure(daglib_dag *dag, run *r)
{
    uint32_t first = atomic_load(&r->first_failure);
    uint32_t failed = atomic_load(&r->n_failed);
    uint32_t skipped = atomic_load(&r->n_skipped);
    char name[256];
    run_node_name(r, first, name, sizeof name);
    const char *message = r->outputs[first].error;
    return dag_run_error(
        dag, DAGLIB_TASK_FAILED,
        "task '%s' of DAG '%s' failed: %s (%u task%s failed, %u skipped)", name,
        dag->name, message != NULL ? message : "out of memory", failed,
        failed == 1 ? "" : "s", skipped);
}

/* Keep the run's id and file path on the DAG.  0, or -1 when memory runs
 * out: the caller then gives the file up, since a run that leaves a file
 * must be able to name it. */
static int remember_profile(daglib_dag *dag, const profiler *pr)
{
    free(dag->profile_path);
    dag->profile_path = NULL;
    if (pr == NULL)
        return 0;
    snprintf(dag->run_id, sizeof dag->run_id, "%s", profiler_run_id(pr));
    size_t len = strlen(profiler_path(pr));
    dag->profile_path = malloc(len + 1);
    if (dag->profile_path == NULL)
        return -1;
    memcpy(dag->profile_path, profiler_path(pr), len + 1);
    return 0;
}

/* Stop a profiler whose run will not start, leaving nothing on disk. */
static void abandon_profile(profiler *pr)
{
    unlink(profiler_path(pr)); /* open still: unlinking is fine */
    error_state ignored = ERROR_STATE_INIT;
    profiler_finish(pr, &ignored);
    error_clear(&ignored);
}

static int run_plan(daglib_dag *dag, const plan *p, daglib_value **finals)
{
    uint32_t workers = (uint32_t)dag->workers;
    if (workers > p->n_nodes)
        workers = p->n_nodes > 0 ? p->n_nodes : 1;
    int profiled = (dag->flags & DAGLIB_PROFILE) != 0;
    int observed = dag->observer.on_start != NULL ||
                   dag->observer.on_finish != NULL;

    run r;
    if (dag->run_memory == NULL &&
        (dag->run_memory = calloc(1, sizeof *dag->run_memory)) == NULL)
        return dag_run_error(dag, DAGLIB_NOMEM,
                             "out of memory preparing a run of DAG '%s'",
                             dag->name);
    if (run_init(&r, p, dag, dag->run_memory, workers) != 0)
        return dag_run_error(dag, DAGLIB_NOMEM,
                             "out of memory preparing a run of DAG '%s'",
                             dag->name);
    r.observer = observed ? &dag->observer : NULL;
    r.timed = profiled || observed; /* the scheduler counts on it */
    /* The observer is told a task's run time as it finishes, in seconds:
     * only the profiler converts ticks later.  An untimed run reads no
     * clock, so it does not choose one (choosing reads a file, once per
     * process: tens of microseconds of a fresh process's first run). */
    r.clock = profiled && !observed ? ticks_best_source() : TICKS_MONOTONIC;
    r.counting = dag->progress != NULL;
    int rc = DAGLIB_OK;
    if (profiled) {
        rc = profiler_start(&r.profiler, &r, meta_root_effective(dag->meta_dir),
                            dag->name, dag->description,
                            dag_codec_name(dag->codec), &dag->error);
        if (rc != DAGLIB_OK) {
            run_destroy(&r);
            return rc;
        }
        if (remember_profile(dag, r.profiler) != 0) {
            abandon_profile(r.profiler);
            r.profiler = NULL;
            run_destroy(&r);
            return dag_run_error(dag, DAGLIB_NOMEM,
                                 "out of memory starting a run of DAG '%s'",
                                 dag->name);
        }
    } else {
        meta_new_run_id(dag->run_id);
        remember_profile(dag, NULL);
    }

    progress *shown = NULL;
    if (dag->progress != NULL)
        shown = progress_start(&r, dag->progress, dag->name);
    int started = run_execute(&r);
    progress_stop(shown);
    int profile_rc = DAGLIB_OK;
    error_state profile_error = ERROR_STATE_INIT;
    if (r.profiler != NULL)
        profile_rc = profiler_finish(r.profiler, &profile_error);
    r.profiler = NULL;

    if (started != 0) {
        rc = dag_run_error(dag, DAGLIB_NOMEM,
                           "out of memory running DAG '%s'", dag->name);
    } else if (atomic_load(&r.n_failed) > 0) {
        rc = report_failure(dag, &r);
    } else if (profile_rc != DAGLIB_OK) {
        error_move(&dag->error, &profile_error);
        rc = profile_rc;
    } else if (finals != NULL && collect_finals(&r, finals) != DAGLIB_OK) {
        rc = dag_run_error(dag, DAGLIB_NOMEM,
                           "out of memory returning the finals of DAG '%s'",
                           dag->name);
    }
    error_clear(&profile_error);
    run_destroy(&r);
    return rc;
}

/* Claim the DAG for a run and compile it if it changed; DAGLIB_OK or the
 * error, with the DAG released again on error. */
static int begin_run(daglib_dag *dag)
{
    if (dag == NULL)
        return DAGLIB_MISUSE;
    if (dag->error_is_sticky)
        return dag->error.code;
    int idle = 0;
    /* Two threads running one DAG: refuse the second without touching the
     * DAG, which the first is using. */
    if (!atomic_compare_exchange_strong(&dag->running, &idle, 1))
        return DAGLIB_MISUSE;
    error_clear(&dag->error);
    int rc = DAGLIB_OK;
    if (dag->plan == NULL)
        rc = plan_compile(dag, &dag->plan, &dag->error);
    if (rc != DAGLIB_OK)
        atomic_store(&dag->running, 0);
    return rc;
}

static int end_run(daglib_dag *dag, int rc, daglib_value **finals)
{
    if (rc != DAGLIB_OK && finals != NULL && *finals != NULL) {
        daglib_value_free(*finals);
        *finals = NULL;
    }
    atomic_store(&dag->running, 0);
    return rc;
}

int daglib_run(daglib_dag *dag, daglib_value **finals)
{
    if (finals != NULL)
        *finals = NULL;
    int rc = begin_run(dag);
    if (rc != DAGLIB_OK)
        return rc;
    return end_run(dag, run_plan(dag, dag->plan, finals), finals);
}

int daglib_run_to_step(daglib_dag *dag, const char *step, daglib_value **result)
{
    if (result != NULL)
        *result = NULL;
    if (dag != NULL && step == NULL && !dag->error_is_sticky)
        return dag_run_error(dag, DAGLIB_MISUSE, "no step given to run to");
    int rc = begin_run(dag);
    if (rc != DAGLIB_OK)
        return rc;
    size_t len = strlen(step);
    uint32_t t = len <= UINT32_MAX ? dag_find_task(dag, step, (uint32_t)len)
                                   : NAME_NOT_FOUND;
    if (t == NAME_NOT_FOUND)
        return end_run(dag,
                       dag_run_error(dag, DAGLIB_NOTFOUND,
                                     "DAG '%s' has no task '%s' to run to",
                                     dag->name, step),
                       result);
    plan *culled = NULL;
    rc = plan_cull(dag->plan, t, dag->name, &culled, &dag->error);
    if (rc == DAGLIB_OK)
        rc = run_plan(dag, culled, result);
    plan_free(culled);
    return end_run(dag, rc, result);
}
