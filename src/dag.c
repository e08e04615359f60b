/*
 * dag.c -- creating a DAG, adding tasks and their references, settings.
 *
 * Everything here is the cold path of a program's start-up, but building a
 * 100,000-task graph should still cost little: task structs and strings
 * come from one arena, references go to one array, names to one hash
 * table, and no name is resolved before the DAG is compiled.
 *
 * Every build call starts with dag_build_check(): a sticky error, a NULL
 * DAG or a running DAG end the call before anything changes.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dag.h"
#include "meta_path.h"
#include "plan.h"
#include "value.h"

/* Longest task name: names are written in every profiling record. */
#define TASK_NAME_MAX_BYTES 4096

/* ---- errors ---------------------------------------------------------------- */

/* A build error: kept, and returned by every later call. */
static int dag_build_error(daglib_dag *dag, int code, const char *fmt, ...)
    DAGLIB_PRINTF(3, 4);

static int dag_build_error(daglib_dag *dag, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_setv(&dag->error, code, fmt, ap);
    va_end(ap);
    dag->error_is_sticky = 1;
    return code;
}

int dag_run_error(daglib_dag *dag, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_setv(&dag->error, code, fmt, ap);
    va_end(ap);
    return code;
}

/* A successful call clears the last (non-sticky) error, as in SQLite. */
static int dag_ok(daglib_dag *dag)
{
    if (dag->error.code != DAGLIB_OK)
        error_clear(&dag->error);
    return DAGLIB_OK;
}

static int dag_build_check(daglib_dag *dag)
{
    if (dag == NULL)
        return DAGLIB_MISUSE;
    if (dag->error_is_sticky)
        return dag->error.code;
    if (atomic_load_explicit(&dag->running, memory_order_relaxed))
        return dag_run_error(dag, DAGLIB_MISUSE,
                             "DAG '%s' cannot change while it runs", dag->name);
    return DAGLIB_OK;
}

void dag_invalidate_plan(daglib_dag *dag)
{
    plan_free(dag->plan);
    dag->plan = NULL;
}

const char *dag_codec_name(dag_codec codec)
{
    return codec == DAG_CODEC_DEFLATE ? "deflate" : "null";
}

/* ---- the DAG ---------------------------------------------------------------- */

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        return 1;
    return n > DAGLIB_MAX_WORKERS ? DAGLIB_MAX_WORKERS : (int)n;
}

static char *copy_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    if (copy != NULL)
        memcpy(copy, s, n);
    return copy;
}

daglib_dag *daglib_dag_new(const char *name, const char *description,
                           unsigned flags)
{
    daglib_dag *dag = calloc(1, sizeof *dag);
    if (dag == NULL)
        return NULL;
    char generated[META_GENERATED_NAME_SIZE];
    if (name == NULL) {
        meta_generated_dag_name(generated);
        name = generated;
    }
    dag->name = copy_string(name);
    dag->description = copy_string(description != NULL ? description : "");
    if (dag->name == NULL || dag->description == NULL) {
        daglib_dag_free(dag);
        return NULL;
    }
    dag->flags = flags;
    dag->workers = online_cpus();
    dag->codec = DAG_CODEC_NULL;
    atomic_init(&dag->running, 0);

    error_state why = ERROR_STATE_INIT;
    if (meta_check_dag_name(dag->name, &why) != DAGLIB_OK) {
        dag_build_error(dag, DAGLIB_INVALID, "%s", error_message(&why));
        error_clear(&why);
    } else if (!utf8_valid(dag->description, strlen(dag->description))) {
        dag_build_error(dag, DAGLIB_INVALID,
                        "the description of DAG '%s' is not valid UTF-8",
                        dag->name);
    } else if ((flags & ~DAGLIB_PROFILE) != 0) {
        dag_build_error(dag, DAGLIB_INVALID,
                        "unknown flags 0x%x for DAG '%s'",
                        flags & ~DAGLIB_PROFILE, dag->name);
    }
    return dag;
}

void daglib_dag_free(daglib_dag *dag)
{
    if (dag == NULL)
        return;
    plan_free(dag->plan);
    free(dag->tasks);
    free(dag->refs);
    free(dag->finals);
    name_table_free(&dag->task_names);
    arena_free(&dag->strings);
    error_clear(&dag->error);
    free(dag->profile_path);
    free(dag->meta_dir);
    free(dag->description);
    free(dag->name);
    free(dag);
}

const char *daglib_dag_name(const daglib_dag *dag)
{
    return dag != NULL ? dag->name : NULL;
}

int daglib_dag_errcode(const daglib_dag *dag)
{
    return dag != NULL ? dag->error.code : DAGLIB_MISUSE;
}

const char *daglib_dag_errmsg(const daglib_dag *dag)
{
    if (dag == NULL)
        return "NULL DAG";
    return error_message(&dag->error);
}

int daglib_dag_set_meta_dir(daglib_dag *dag, const char *root)
{
    int rc = dag_build_check(dag);
    if (rc != DAGLIB_OK)
        return rc;
    if (root != NULL && root[0] == '\0')
        return dag_run_error(dag, DAGLIB_INVALID,
                             "the metadata root of DAG '%s' cannot be empty",
                             dag->name);
    char *copy = NULL;
    if (root != NULL && (copy = copy_string(root)) == NULL)
        return dag_run_error(dag, DAGLIB_NOMEM, "out of memory");
    free(dag->meta_dir);
    dag->meta_dir = copy;
    return dag_ok(dag);
}

int daglib_dag_set_workers(daglib_dag *dag, int workers)
{
    int rc = dag_build_check(dag);
    if (rc != DAGLIB_OK)
        return rc;
    if (workers < 1 || workers > DAGLIB_MAX_WORKERS)
        return dag_run_error(dag, DAGLIB_INVALID,
                             "%d workers for DAG '%s': a run needs 1 to %d",
                             workers, dag->name, DAGLIB_MAX_WORKERS);
    dag->workers = workers;
    return dag_ok(dag);
}

int daglib_dag_set_codec(daglib_dag *dag, const char *codec)
{
    int rc = dag_build_check(dag);
    if (rc != DAGLIB_OK)
        return rc;
    if (codec != NULL && strcmp(codec, "null") == 0)
        dag->codec = DAG_CODEC_NULL;
    else if (codec != NULL && strcmp(codec, "deflate") == 0)
        dag->codec = DAG_CODEC_DEFLATE;
    else
        return dag_run_error(dag, DAGLIB_INVALID,
                             "unknown codec '%s' for DAG '%s': use \"null\" or "
                             "\"deflate\"",
                             codec != NULL ? codec : "(null)", dag->name);
    return dag_ok(dag);
}

const char *daglib_dag_run_id(const daglib_dag *dag)
{
    return dag != NULL && dag->run_id[0] != '\0' ? dag->run_id : NULL;
}

const char *daglib_dag_profile_path(const daglib_dag *dag)
{
    return dag != NULL ? dag->profile_path : NULL;
}

/* ---- tasks ------------------------------------------------------------------ */

static int task_has_name(const void *owner, uint32_t index, const char *name,
                         uint32_t len)
{
    const daglib_task *task = ((const daglib_dag *)owner)->tasks[index];
    return task->name_len == len && memcmp(task->name, name, len) == 0;
}

uint32_t dag_find_task(const daglib_dag *dag, const char *name, uint32_t len)
{
    return name_table_find(&dag->task_names, name, len, name_hash(name, len),
                           task_has_name, dag);
}

/* Why name[0..len) cannot be a task name, or NULL when it can. */
static const char *task_name_problem(const char *name, size_t len,
                                     int printable_ascii)
{
    if (len == 0)
        return "it is empty";
    if (len > TASK_NAME_MAX_BYTES)
        return "it is longer than 4096 bytes";
    if (printable_ascii)
        return NULL;
    if (!utf8_valid(name, len))
        return "it is not valid UTF-8";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f)
            return "it contains a control character";
    }
    return NULL;
}

/* strlen(name), and in *printable_ascii whether every byte is printable
 * ASCII -- the common case, which needs no UTF-8 check. */
static size_t measure_name(const char *name, int *printable_ascii)
{
    const char *p = name;
    unsigned outside = 0;
    for (; *p != '\0'; p++)
        outside |= (unsigned char)(*p - 0x20) >= 0x5f;
    *printable_ascii = !outside;
    return (size_t)(p - name);
}

static int grow_array(void **items, uint32_t *capacity, size_t item_size)
{
    uint32_t wanted = *capacity == 0 ? 16 : *capacity * 2;
    if (wanted < *capacity || (size_t)wanted > SIZE_MAX / item_size)
        return -1;
    void *bigger = realloc(*items, (size_t)wanted * item_size);
    if (bigger == NULL)
        return -1;
    *items = bigger;
    *capacity = wanted;
    return 0;
}

daglib_task *daglib_task_add(daglib_dag *dag, const char *name,
                             const char *description, daglib_task_fn fn,
                             void *user_data)
{
    if (dag_build_check(dag) != DAGLIB_OK)
        return NULL;
    if (name == NULL) {
        dag_build_error(dag, DAGLIB_MISUSE,
                        "a task of DAG '%s' was added without a name",
                        dag->name);
        return NULL;
    }
    int printable;
    size_t len = measure_name(name, &printable);
    const char *problem = task_name_problem(name, len, printable);
    if (problem != NULL) {
        dag_build_error(dag, DAGLIB_INVALID,
                        "'%.64s' cannot be a task name of DAG '%s': %s", name,
                        dag->name, problem);
        return NULL;
    }
    if (fn == NULL) {
        dag_build_error(dag, DAGLIB_MISUSE,
                        "task '%s' of DAG '%s' was added without a function",
                        name, dag->name);
        return NULL;
    }
    if (description == NULL)
        description = "";
    size_t description_len = measure_name(description, &printable);
    if (!printable && !utf8_valid(description, description_len)) {
        dag_build_error(dag, DAGLIB_INVALID,
                        "the description of task '%s' is not valid UTF-8",
                        name);
        return NULL;
    }
    if (dag->n_tasks == UINT32_MAX - 1) {
        dag_build_error(dag, DAGLIB_INVALID, "DAG '%s' has too many tasks",
                        dag->name);
        return NULL;
    }
    if (dag->n_tasks == dag->task_capacity &&
        grow_array((void **)&dag->tasks, &dag->task_capacity,
                   sizeof *dag->tasks) != 0)
        goto nomem;
    daglib_task *task = arena_alloc(&dag->strings, sizeof *task);
    if (task == NULL)
        goto nomem;
    *task = (daglib_task){
        .dag = dag,
        .name = arena_strndup(&dag->strings, name, len),
        .description = description_len == 0
                           ? ""
                           : arena_strndup(&dag->strings, description,
                                           description_len),
        .name_len = (uint32_t)len,
        .hash = name_hash(name, len),
        .index = dag->n_tasks,
        .fn = fn,
        .user_data = user_data,
    };
    if (task->name == NULL || task->description == NULL)
        goto nomem;
    /* One probe both checks for a duplicate and inserts. */
    uint32_t stored =
        name_table_insert(&dag->task_names, task->name, task->name_len,
                          task->hash, task->index, task_has_name, dag);
    if (stored == NAME_NOT_FOUND)
        goto nomem;
    if (stored != task->index) {
        dag_build_error(dag, DAGLIB_DUPLICATE,
                        "DAG '%s' already has a task named '%s'", dag->name,
                        name);
        return NULL;
    }
    dag->tasks[dag->n_tasks++] = task;
    dag_invalidate_plan(dag);
    dag_ok(dag);
    return task;

nomem:
    dag_build_error(dag, DAGLIB_NOMEM, "out of memory adding task '%s'", name);
    return NULL;
}

static int add_ref(daglib_task *task, task_ref_kind kind, const char *upstream)
{
    if (task == NULL)
        return DAGLIB_MISUSE;
    daglib_dag *dag = task->dag;
    int rc = dag_build_check(dag);
    if (rc != DAGLIB_OK)
        return rc;
    const char *what = kind == REF_INPUT ? "an input" : "a dependency";
    if (upstream == NULL)
        return dag_build_error(dag, DAGLIB_MISUSE,
                               "task '%s' was given %s without a name",
                               task->name, what);
    int printable;
    size_t len = measure_name(upstream, &printable);
    if (len > TASK_NAME_MAX_BYTES)
        printable = 0; /* let task_name_problem say so */
    /* A name that matches a task is valid: check only the others. */
    int looked_up = printable && len > 0;
    uint32_t target = looked_up ? dag_find_task(dag, upstream, (uint32_t)len)
                                : NAME_NOT_FOUND;
    const char *problem = target != NAME_NOT_FOUND
                              ? NULL
                              : task_name_problem(upstream, len, printable);
    if (problem != NULL)
        return dag_build_error(dag, DAGLIB_INVALID,
                               "task '%s' was given %s '%.64s' that cannot be "
                               "a task name: %s",
                               task->name, what, upstream, problem);
    if (!looked_up)
        target = dag_find_task(dag, upstream, (uint32_t)len);
    if (dag->n_refs == dag->ref_capacity &&
        grow_array((void **)&dag->refs, &dag->ref_capacity,
                   sizeof *dag->refs) != 0)
        return dag_build_error(dag, DAGLIB_NOMEM, "out of memory");
    task_ref ref = {
        .from = task->index,
        .kind = kind,
        .target = target,
        .name_len = (uint32_t)len,
        .name = NULL,
    };
    if (ref.target == NAME_NOT_FOUND) {
        ref.name = arena_strndup(&dag->strings, upstream, len);
        if (ref.name == NULL)
            return dag_build_error(dag, DAGLIB_NOMEM, "out of memory");
    }
    dag->refs[dag->n_refs++] = ref;
    dag_invalidate_plan(dag);
    return dag_ok(dag);
}

int daglib_task_input(daglib_task *task, const char *upstream)
{
    return add_ref(task, REF_INPUT, upstream);
}

int daglib_task_depends_on(daglib_task *task, const char *upstream)
{
    return add_ref(task, REF_DEPENDS, upstream);
}

int daglib_task_set_final(daglib_task *task)
{
    if (task == NULL)
        return DAGLIB_MISUSE;
    daglib_dag *dag = task->dag;
    int rc = dag_build_check(dag);
    if (rc != DAGLIB_OK)
        return rc;
    if (task->final)
        return dag_ok(dag);
    if (dag->n_finals == dag->final_capacity &&
        grow_array((void **)&dag->finals, &dag->final_capacity,
                   sizeof *dag->finals) != 0)
        return dag_build_error(dag, DAGLIB_NOMEM, "out of memory");
    dag->finals[dag->n_finals++] = task->index;
    task->final = 1;
    dag_invalidate_plan(dag);
    return dag_ok(dag);
}

const char *daglib_task_name(const daglib_task *task)
{
    return task != NULL ? task->name : NULL;
}

daglib_task *daglib_dag_task(daglib_dag *dag, const char *name)
{
    if (dag == NULL || name == NULL)
        return NULL;
    size_t len = strlen(name);
    if (len > UINT32_MAX)
        return NULL;
    uint32_t index = dag_find_task(dag, name, (uint32_t)len);
    return index == NAME_NOT_FOUND ? NULL : dag->tasks[index];
}
