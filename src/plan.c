/*
 * plan.c -- compile a DAG into a plan (see plan.h).
 *
 * Steps, each linear in tasks plus references:
 *   1. resolve every reference by name, in declaration order;
 *   2. lay out each node's arguments (named inputs first, then extra
 *      dependencies, each in the order declared) with a counting sort;
 *   3. invert them into successor lists;
 *   4. order the nodes topologically (Kahn); nodes left over lie on or
 *      behind a cycle, and walking predecessors among them finds one to
 *      name in the error.
 */
#include <stdlib.h>
#include <string.h>

#include "dag.h"
#include "plan.h"

void plan_free(plan *p)
{
    if (p == NULL)
        return;
    free(p->nodes);
    free(p->succ);
    free(p->args);
    free(p->finals);
    free(p->sources);
    free(p);
}

static void *alloc_array(size_t count, size_t size)
{
    /* calloc checks the multiplication; +1 so that empty arrays are real. */
    return calloc(count + 1, size);
}

/* Resolve every reference to a node index, into target[ref]. */
static int resolve_refs(const daglib_dag *dag, uint32_t *target,
                        error_state *err)
{
    for (uint32_t r = 0; r < dag->n_refs; r++) {
        const task_ref *ref = &dag->refs[r];
        uint32_t found = ref->target;
        if (found == NAME_NOT_FOUND)
            found = dag_find_task(dag, ref->name, ref->name_len);
        if (found == NAME_NOT_FOUND)
            return error_set(err, DAGLIB_NOTFOUND,
                             "task '%s' of DAG '%s' %s '%s', which is not a "
                             "task of the DAG",
                             dag->tasks[ref->from]->name, dag->name,
                             ref->kind == REF_INPUT ? "takes the input"
                                                    : "depends on",
                             ref->name);
        target[r] = found;
    }
    return DAGLIB_OK;
}

/* Fill p->args: for each node, its inputs then its dependencies. */
static void lay_out_args(const daglib_dag *dag, plan *p, const uint32_t *target)
{
    plan_node *nodes = p->nodes;
    for (uint32_t r = 0; r < dag->n_refs; r++)
        nodes[dag->refs[r].from].n_args++;
    uint32_t next = 0;
    for (uint32_t n = 0; n < p->n_nodes; n++) {
        nodes[n].arg_begin = next;
        next += nodes[n].n_args;
        nodes[n].n_args = 0;
    }
    for (int kind = REF_INPUT; kind <= REF_DEPENDS; kind++) {
        for (uint32_t r = 0; r < dag->n_refs; r++) {
            const task_ref *ref = &dag->refs[r];
            if (ref->kind != (uint32_t)kind)
                continue;
            plan_node *node = &nodes[ref->from];
            p->args[node->arg_begin + node->n_args++] = target[r];
        }
    }
}

/* Fill successor lists, predecessor and consumer counts from the args. */
static void invert_args(plan *p)
{
    plan_node *nodes = p->nodes;
    for (uint32_t n = 0; n < p->n_nodes; n++) {
        nodes[n].n_preds = nodes[n].n_args;
        for (uint32_t a = 0; a < nodes[n].n_args; a++) {
            uint32_t upstream = p->args[nodes[n].arg_begin + a];
            nodes[upstream].n_succ++;
            nodes[upstream].n_consumers++;
        }
    }
    uint32_t next = 0;
    for (uint32_t n = 0; n < p->n_nodes; n++) {
        nodes[n].succ_begin = next;
        next += nodes[n].n_succ;
        nodes[n].n_succ = 0;
    }
    for (uint32_t n = 0; n < p->n_nodes; n++) {
        for (uint32_t a = 0; a < nodes[n].n_args; a++) {
            plan_node *up = &nodes[p->args[nodes[n].arg_begin + a]];
            p->succ[up->succ_begin + up->n_succ++] = n;
        }
    }
}

/* Name one cycle among the nodes Kahn's algorithm could not order
 * (remaining[n] > 0): each such node has a predecessor among them, so
 * walking predecessors must come back to a node already seen. */
static int report_cycle(const daglib_dag *dag, const plan *p,
                        const uint32_t *remaining, error_state *err)
{
    uint32_t *seen_at = malloc(((size_t)p->n_nodes + 1) * sizeof *seen_at);
    uint32_t *path = malloc(((size_t)p->n_nodes + 1) * sizeof *path);
    if (seen_at == NULL || path == NULL) {
        free(seen_at);
        free(path);
        return error_set(err, DAGLIB_CYCLE, "DAG '%s' has a cycle", dag->name);
    }
    for (uint32_t n = 0; n < p->n_nodes; n++)
        seen_at[n] = PLAN_NO_NODE;
    uint32_t node = 0;
    while (remaining[node] == 0)
        node++;
    uint32_t length = 0;
    while (seen_at[node] == PLAN_NO_NODE) {
        seen_at[node] = length;
        path[length++] = node;
        const plan_node *pn = &p->nodes[node];
        for (uint32_t a = 0; a < pn->n_args; a++) {
            uint32_t up = p->args[pn->arg_begin + a];
            if (remaining[up] > 0) {
                node = up;
                break;
            }
        }
    }
    /* path[seen_at[node] .. length) walks the cycle against the edges;
     * print it along them, closing on the first name. */
    size_t size = 64;
    for (uint32_t i = seen_at[node]; i < length; i++)
        size += p->nodes[path[i]].task->name_len + 4;
    size += p->nodes[node].task->name_len;
    char *text = malloc(size);
    if (text != NULL) {
        size_t used = 0;
        for (uint32_t i = length; i-- > seen_at[node];) {
            const struct daglib_task *t = p->nodes[path[i]].task;
            memcpy(text + used, t->name, t->name_len);
            used += t->name_len;
            memcpy(text + used, " -> ", 4);
            used += 4;
        }
        const struct daglib_task *first = p->nodes[path[length - 1]].task;
        memcpy(text + used, first->name, first->name_len);
        text[used + first->name_len] = '\0';
    }
    error_set(err, DAGLIB_CYCLE, "DAG '%s' has a cycle: %s", dag->name,
              text != NULL ? text : "(out of memory naming it)");
    free(text);
    free(seen_at);
    free(path);
    return DAGLIB_CYCLE;
}

/* Check the graph is acyclic; collect sources and count sinks. */
static int order_nodes(const daglib_dag *dag, plan *p, error_state *err)
{
    uint32_t n_nodes = p->n_nodes;
    uint32_t *remaining = alloc_array(n_nodes, sizeof *remaining);
    uint32_t *queue = alloc_array(n_nodes, sizeof *queue);
    p->sources = alloc_array(n_nodes, sizeof *p->sources);
    if (remaining == NULL || queue == NULL || p->sources == NULL) {
        free(remaining);
        free(queue);
        return error_set(err, DAGLIB_NOMEM, "out of memory compiling DAG '%s'",
                         dag->name);
    }
    uint32_t head = 0, tail = 0;
    for (uint32_t n = 0; n < n_nodes; n++) {
        remaining[n] = p->nodes[n].n_preds;
        if (remaining[n] == 0) {
            queue[tail++] = n;
            p->sources[p->n_sources++] = n;
        }
        if (p->nodes[n].n_succ == 0)
            p->n_sinks++;
    }
    while (head < tail) {
        const plan_node *pn = &p->nodes[queue[head++]];
        for (uint32_t s = 0; s < pn->n_succ; s++) {
            uint32_t next = p->succ[pn->succ_begin + s];
            if (--remaining[next] == 0)
                queue[tail++] = next;
        }
    }
    int rc = DAGLIB_OK;
    if (tail < n_nodes)
        rc = report_cycle(dag, p, remaining, err);
    free(remaining);
    free(queue);
    return rc;
}

int plan_compile(const daglib_dag *dag, plan **out, error_state *err)
{
    *out = NULL;
    plan *p = calloc(1, sizeof *p);
    uint32_t *target = alloc_array(dag->n_refs, sizeof *target);
    if (p == NULL || target == NULL)
        goto nomem;
    p->n_nodes = dag->n_tasks;
    p->n_edges = dag->n_refs;
    p->nodes = alloc_array(p->n_nodes, sizeof *p->nodes);
    p->args = alloc_array(p->n_edges, sizeof *p->args);
    p->succ = alloc_array(p->n_edges, sizeof *p->succ);
    p->finals = alloc_array(dag->n_finals, sizeof *p->finals);
    if (p->nodes == NULL || p->args == NULL || p->succ == NULL ||
        p->finals == NULL)
        goto nomem;

    for (uint32_t n = 0; n < p->n_nodes; n++) {
        const struct daglib_task *task = dag->tasks[n];
        p->nodes[n].fn = task->fn;
        p->nodes[n].task = task;
        p->nodes[n].instance = PLAN_NO_INSTANCE;
        p->nodes[n].flags = task->final ? NODE_FINAL : 0;
    }
    for (uint32_t f = 0; f < dag->n_finals; f++)
        p->finals[p->n_finals++] = dag->finals[f];

    int rc = resolve_refs(dag, target, err);
    if (rc == DAGLIB_OK) {
        lay_out_args(dag, p, target);
        invert_args(p);
        rc = order_nodes(dag, p, err);
    }
    free(target);
    if (rc != DAGLIB_OK) {
        plan_free(p);
        return rc;
    }
    *out = p;
    return DAGLIB_OK;

nomem:
    free(target);
    plan_free(p);
    return error_set(err, DAGLIB_NOMEM, "out of memory compiling DAG '%s'",
                     dag->name);
}
