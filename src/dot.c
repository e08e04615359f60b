/*
 * dot.c -- daglib_dag_to_dot(): the graph as Graphviz DOT text.
 *
 * One node per task instance (what actually runs), one edge per argument;
 * nodes are named n<index> and labelled with the instance name, so any
 * name prints safely.  With a run id, each label gets the instance's
 * runtime in a readable unit (850 ns, 12 µs, 3.4 ms, 1.2 s) and its status
 * from that run's profiling file, read through the same reader as the SQL
 * table (records match by instance name): a failed task is drawn red, a
 * skipped one grey and dashed, so neither reads as a success.  Rendering
 * is left to Graphviz (`dot -Tsvg`).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dag.h"
#include "meta_path.h"
#include "plan.h"
#include "profile_reader.h"

/* A growing string. */
typedef struct text {
    char *data;
    size_t len, cap;
    int failed;
} text;

static void text_add(text *t, const char *fmt, ...) DAGLIB_PRINTF(2, 3);

static void text_add(text *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap * 2 + (size_t)n + 1;
        char *bigger = realloc(t->data, cap);
        if (bigger == NULL) {
            t->failed = 1;
            return;
        }
        t->data = bigger;
        t->cap = cap;
    }
}

/* Add s as the inside of a DOT string: quotes and backslashes escaped. */
static void text_add_quoted(text *t, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\')
            text_add(t, "\\%c", s[i]);
        else
            text_add(t, "%c", s[i]);
    }
}

/* Runtimes of one run, sorted by instance name once, so labelling a DAG
 * of n instances costs n binary searches, not n scans of the run. */
typedef struct runtime {
    char *name;
    double seconds; /* -1 when the record has none */
    profile_status status;
} runtime;

typedef struct runtimes {
    runtime *entries;
    size_t count;
} runtimes;

static void runtimes_free(runtimes *r)
{
    for (size_t i = 0; i < r->count; i++)
        free(r->entries[i].name);
    free(r->entries);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const runtime *)a)->name, ((const runtime *)b)->name);
}

/* The status a record's cell names; ok for one without (older files). */
static profile_status status_of(const profile_cell *cell)
{
    if (cell->kind == CELL_TEXT)
        for (int s = 0; s < PROFILE_STATUS_COUNT; s++)
            if (strlen(profile_status_names[s]) == cell->u.text.n &&
                memcmp(profile_status_names[s], cell->u.text.p,
                       cell->u.text.n) == 0)
                return (profile_status)s;
    return PROFILE_OK;
}

static int load_runtimes(daglib_dag *dag, const char *run_id, runtimes *out)
{
    memset(out, 0, sizeof *out);
    if (!meta_is_run_id(run_id, strlen(run_id)))
        return dag_run_error(dag, DAGLIB_INVALID,
                             "'%.32s' is not a run id (run_ and 9 hex digits)",
                             run_id);
    char *path = format_string("%s/%s/%s/%s.avro",
                               meta_root_effective(dag->meta_dir),
                               META_PROFILING_DIR, dag->name, run_id);
    if (path == NULL)
        return dag_run_error(dag, DAGLIB_NOMEM, "out of memory");
    profile_reader *reader = NULL;
    char *why = NULL;
    if (profile_reader_open(path, PROFILE_ENGINE_AUTO, &reader, &why) != 0) {
        int rc = dag_run_error(dag, DAGLIB_IO, "cannot read run %s: %s",
                               run_id, why != NULL ? why : "out of memory");
        free(why);
        free(path);
        return rc;
    }
    free(path);
    size_t cap = 0;
    profile_row row;
    uint32_t wanted = PROFILE_FIELD_BIT(PF_TASK_NAME) |
                      PROFILE_FIELD_BIT(PF_TASK_RUNTIME) |
                      PROFILE_FIELD_BIT(PF_STATUS);
    int rc = DAGLIB_OK, got;
    while ((got = profile_reader_next(reader, wanted, &row)) == 1) {
        if (out->count == cap) {
            size_t bigger_cap = cap == 0 ? 64 : cap * 2;
            runtime *bigger =
                realloc(out->entries, bigger_cap * sizeof *bigger);
            if (bigger == NULL) {
                rc = dag_run_error(dag, DAGLIB_NOMEM, "out of memory");
                break;
            }
            out->entries = bigger;
            cap = bigger_cap;
        }
        const profile_cell *name = &row.cell[PF_TASK_NAME];
        const profile_cell *seconds = &row.cell[PF_TASK_RUNTIME];
        size_t len = name->kind == CELL_TEXT ? name->u.text.n : 0;
        char *copy = malloc(len + 1);
        if (copy == NULL) {
            rc = dag_run_error(dag, DAGLIB_NOMEM, "out of memory");
            break;
        }
        if (len > 0)
            memcpy(copy, name->u.text.p, len);
        copy[len] = '\0';
        out->entries[out->count++] = (runtime){
            copy, seconds->kind == CELL_REAL ? seconds->u.d : -1.0,
            status_of(&row.cell[PF_STATUS])};
    }
    if (rc == DAGLIB_OK && got < 0)
        rc = dag_run_error(dag, DAGLIB_IO, "cannot read run %s: %s", run_id,
                           profile_reader_error(reader));
    profile_reader_close(reader);
    if (rc != DAGLIB_OK) {
        runtimes_free(out);
        return rc;
    }
    if (out->count > 1)
        qsort(out->entries, out->count, sizeof *out->entries, by_name);
    return DAGLIB_OK;
}

static const runtime *runtime_of(const runtimes *r, const char *name)
{
    runtime key = {(char *)name, 0, PROFILE_OK};
    return r->count > 0
               ? bsearch(&key, r->entries, r->count, sizeof key, by_name)
               : NULL;
}

/* seconds in the unit that keeps two or three significant digits:
 * "850 ns", "12 µs", "3.4 ms", "1.2 s" ("0 s" for a task that took no
 * measurable time). */
static void add_duration(text *t, double seconds)
{
    static const struct {
        double scale;
        const char *unit;
    } units[] = {{1e-6, "µs"}, {1e-3, "ms"}, {1, "s"}};
    if (seconds <= 0) {
        text_add(t, "0 s");
        return;
    }
    if (seconds < 1e-6) {
        text_add(t, "%.0f ns", seconds * 1e9);
        return;
    }
    size_t u = 0;
    while (u + 1 < sizeof units / sizeof units[0] &&
           seconds >= units[u + 1].scale * 0.9995)
        u++;
    double value = seconds / units[u].scale;
    text_add(t, value < 999.5 ? "%.3g %s" : "%.0f %s", value, units[u].unit);
}

/* The label's second line and the node's style for its record in a run. */
static void add_outcome(text *t, const runtime *r)
{
    if (r == NULL) {
        text_add(t, "\\nnot in this run\"");
        return;
    }
    if (r->status == PROFILE_SKIPPED) {
        text_add(t, "\\nskipped\", style=\"rounded,dashed\", color=gray50, "
                    "fontcolor=gray50");
        return;
    }
    text_add(t, "\\n%s", r->status == PROFILE_FAILED ? "failed after " : "");
    if (r->seconds >= 0)
        add_duration(t, r->seconds);
    else
        text_add(t, "no time");
    text_add(t, "\"%s", r->status == PROFILE_FAILED
                           ? ", color=red, fontcolor=red"
                           : "");
}

static char *render(const daglib_dag *dag, const plan *p, const runtimes *times)
{
    text t = {malloc(4096), 0, 4096, 0};
    if (t.data == NULL)
        return NULL;
    text_add(&t, "digraph \"");
    text_add_quoted(&t, dag->name, strlen(dag->name));
    text_add(&t, "\" {\n    rankdir=TB;\n"
                 "    node [shape=box, style=rounded, fontname=\"Helvetica\"];\n");
    char name[4200];
    for (uint32_t n = 0; n < p->n_nodes; n++) {
        const plan_node *pn = &p->nodes[n];
        plan_node_name(p, n, name, sizeof name);
        text_add(&t, "    n%u [label=\"", n);
        text_add_quoted(&t, name, strlen(name));
        if (times != NULL)
            add_outcome(&t, runtime_of(times, name));
        else
            text_add(&t, "\"");
        text_add(&t, "%s];\n", pn->flags & NODE_FINAL ? ", penwidth=2" : "");
    }
    for (uint32_t n = 0; n < p->n_nodes; n++) {
        const plan_node *pn = &p->nodes[n];
        const uint32_t n_succ = plan_node_n_succ(pn);
        for (uint32_t s = 0; s < n_succ; s++)
            text_add(&t, "    n%u -> n%u;\n", n, p->succ[pn->succ_begin + s]);
    }
    text_add(&t, "}\n");
    if (t.failed) {
        free(t.data);
        return NULL;
    }
    return t.data;
}

char *daglib_dag_to_dot(daglib_dag *dag, const char *step, const char *run_id)
{
    if (dag == NULL || dag->error_is_sticky)
        return NULL;
    if (atomic_load(&dag->running)) {
        dag_run_error(dag, DAGLIB_MISUSE, "DAG '%s' cannot be drawn while it runs",
                      dag->name);
        return NULL;
    }
    error_clear(&dag->error);
    if (dag->plan == NULL &&
        plan_compile(dag, &dag->plan, &dag->error) != DAGLIB_OK)
        return NULL;
    const plan *p = dag->plan;
    plan *culled = NULL;
    if (step != NULL) {
        uint32_t t = dag_find_task(dag, step, (uint32_t)strlen(step));
        if (t == NAME_NOT_FOUND) {
            dag_run_error(dag, DAGLIB_NOTFOUND, "DAG '%s' has no task '%s'",
                          dag->name, step);
            return NULL;
        }
        if (plan_cull(p, t, dag->name, &culled, &dag->error) != DAGLIB_OK)
            return NULL;
        p = culled;
    }
    runtimes times;
    int labelled = run_id != NULL;
    if (labelled && load_runtimes(dag, run_id, &times) != DAGLIB_OK) {
        plan_free(culled);
        return NULL;
    }
    char *dot = render(dag, p, labelled ? &times : NULL);
    if (dot == NULL)
        dag_run_error(dag, DAGLIB_NOMEM, "out of memory drawing DAG '%s'",
                      dag->name);
    if (labelled)
        runtimes_free(&times);
    plan_free(culled);
    return dot;
}
