/*
 * plan.c -- compile a DAG into a plan (see plan.h).
 *
 * Steps, each linear in tasks, instances and references:
 *   1. resolve every reference by name;
 *   2. count each task's instances -- 1 for a plain task, the list's
 *      length for a static map, the mapped task's count for a map over a
 *      task, n for n chunks -- following map references (a map of a map of
 *      ...), and check each kind is used on what it needs;
 *   3. give every task a range of nodes (a chunked task: the node running
 *      its function, then one node per chunk) and lay out each node's
 *      arguments: its item (static map) or the mapped task's instance, or
 *      all joined instances, then named inputs, then extra dependencies;
 *   4. invert the arguments into successor lists;
 *   5. order the nodes topologically (Kahn); nodes left over lie on or
 *      behind a cycle, and walking predecessors among them finds one to
 *      name in the error.
 */
#include <stdlib.h>
#include <string.h>

#include "dag.h"
#include "plan.h"
#include "value.h"

#define NO_REF UINT32_MAX

void plan_free(plan *p)
{
    if (p == NULL)
        return;
    big_free(p->nodes);
    big_free(p->kinds);
    big_free(p->succ);
    big_free(p->args);
    big_free(p->consts);
    big_free(p->finals);
    big_free(p->sources);
    big_free(p->task_first);
    big_free(p->task_count);
    free(p);
}

/* count + 1 items, zeroed: empty arrays are real, and a node array has
 * room for its end mark. */
static void *alloc_array(size_t count, size_t size)
{
    /* big_alloc checks the product. */
    return count == SIZE_MAX ? NULL : big_alloc(count + 1, size);
}

int plan_node_name(const plan *p, uint32_t n, char *buf, size_t size)
{
    const plan_node *pn = &p->nodes[n];
    uint32_t instance = plan_node_instance(p, n);
    if (instance == PLAN_NO_INSTANCE)
        return snprintf(buf, size, "%s", pn->task->name);
    return snprintf(buf, size, "%s %u", pn->task->name, instance);
}

/* ---- compiling state ------------------------------------------------------ */

/* What the compiler knows of each task.  The fields it needs from the
 * daglib_task (kind, chunks, fn) are copied here in one pass: the tasks lie
 * scattered in the DAG's arena, a cache miss each, and every later pass
 * reads this compact array instead. */
typedef struct task_layout {
    daglib_task_fn fn;
    uint32_t chunks;   /* 0: the result is not chunked */
    uint32_t count;    /* instances */
    uint32_t first;    /* first instance node */
    uint32_t producer; /* chunked: the node running the function */
    uint32_t kind_ref; /* the REF_MAP or REF_JOIN reference, or NO_REF */
    uint32_t ref_begin, n_refs; /* its inputs then dependencies, in by_task */
    uint32_t const_base;        /* static map: its first constant */
    uint8_t kind;               /* task_kind */
    uint8_t multi;              /* mapped or chunked: used by instance */
    uint8_t visit;              /* counting: 0 new, 1 in progress, 2 done */
} task_layout;

typedef struct compiler {
    daglib_dag *dag;
    error_state *err;
    uint32_t *target; /* per reference: the task it names */
    uint32_t *by_task; /* reference indices grouped by task, inputs first */
    task_layout *layout;
    plan *p;
} compiler;

static int out_of_memory(compiler *c)
{
    return error_set(c->err, DAGLIB_NOMEM, "out of memory compiling DAG '%s'",
                     c->dag->name);
}

static const char *task_name_of(const compiler *c, uint32_t t)
{
    return dag_task(c->dag, t)->name;
}

/* Resolve the pending references refs[0..n) (in order).  Names
 * referred to ahead mostly come in the order of their tasks (a graph
 * built from its end): when most of a group's did, *next guesses the
 * next group's to follow on from its last (dag_find_pending). */
static int resolve_group(daglib_dag *dag, task_ref *const refs[], uint32_t n,
                         uint32_t *next, error_state *err)
{
    static const char *const verbs[] = {
        [REF_INPUT] = "takes the input",
        [REF_DEPENDS] = "depends on",
        [REF_MAP] = "is mapped over",
        [REF_JOIN] = "joins",
    };
    const pending_name *names[DAG_FIND_MANY];
    uint32_t found[DAG_FIND_MANY];
    if (n == 0)
        return DAGLIB_OK;
    for (uint32_t i = 0; i < n; i++)
        names[i] = dag_pending(dag, refs[i]->target);
    dag_find_pending(dag, names, n, *next, found);
    uint32_t in_order = 0;
    for (uint32_t i = 1; i < n; i++)
        in_order += found[i] == found[i - 1] + 1;
    *next = 2 * in_order >= n - 1 && found[n - 1] != NAME_NOT_FOUND
                ? found[n - 1] + 1
                : NAME_NOT_FOUND;
    for (uint32_t i = 0; i < n; i++) {
        task_ref *ref = refs[i];
        if (found[i] == NAME_NOT_FOUND)
            return error_set(err, DAGLIB_NOTFOUND,
                             "task '%s' of DAG '%s' %s '%s', which is not a "
                             "task of the DAG",
                             dag_task(dag, ref_from(*ref))->name, dag->name,
                             verbs[ref_kind(*ref)], names[i]->name);
        ref->target = found[i];
        dag_note_resolved(dag, ref_from(*ref), found[i]);
    }
    return DAGLIB_OK;
}

/* 1. Names the DAG did not know when they were referred to, or did not
 * look up then, to task indices, in place: a later compile finds them
 * resolved, and the names are handed back. */
static int resolve_pending(daglib_dag *dag, error_state *err)
{
    /* The first group tries tasks 0, 1, ...: a few compares. */
    task_ref *group[DAG_FIND_MANY];
    uint32_t n = 0, next = 0;
    for (uint32_t r = 0; r < dag->n_refs; r++) {
        task_ref *ref = dag_ref(dag, r);
        if (!(ref->target & REF_PENDING))
            continue;
        group[n++] = ref;
        if (n == DAG_FIND_MANY) {
            int rc = resolve_group(dag, group, n, &next, err);
            if (rc != DAGLIB_OK)
                return rc;
            n = 0;
        }
    }
    int rc = resolve_group(dag, group, n, &next, err);
    if (rc == DAGLIB_OK)
        dag_forget_pending(dag);
    return rc;
}

/* Copy the (resolved) targets; note each task's map or join reference. */
static void read_refs(compiler *c)
{
    const daglib_dag *dag = c->dag;
    for (uint32_t r = 0; r < dag->n_refs; r++) {
        task_ref ref = *dag_ref(dag, r);
        c->target[r] = ref.target;
        if (ref_kind(ref) == REF_MAP || ref_kind(ref) == REF_JOIN)
            c->layout[ref_from(ref)].kind_ref = r;
    }
}

/* Group each task's input and dependency references, inputs first. */
static void group_refs(compiler *c)
{
    const daglib_dag *dag = c->dag;
    uint32_t n_depends = 0;
    for (uint32_t r = 0; r < dag->n_refs; r++) {
        task_ref ref = *dag_ref(dag, r);
        if (ref_kind(ref) == REF_INPUT || ref_kind(ref) == REF_DEPENDS)
            c->layout[ref_from(ref)].n_refs++;
        n_depends += ref_kind(ref) == REF_DEPENDS;
    }
    uint32_t next = 0;
    for (uint32_t t = 0; t < dag->n_tasks; t++) {
        c->layout[t].ref_begin = next;
        next += c->layout[t].n_refs;
        c->layout[t].n_refs = 0;
    }
    /* One pass per kind, so inputs come first; most DAGs have no
     * dependencies, and a pass over every reference is worth saving. */
    int last_kind = n_depends > 0 ? REF_DEPENDS : REF_INPUT;
    for (int kind = REF_INPUT; kind <= last_kind; kind++) {
        for (uint32_t r = 0; r < dag->n_refs; r++) {
            task_ref ref = *dag_ref(dag, r);
            if (ref_kind(ref) != (task_ref_kind)kind)
                continue;
            task_layout *l = &c->layout[ref_from(ref)];
            c->by_task[l->ref_begin + l->n_refs++] = r;
        }
    }
}

/* 2. Instances of task t and of every task it is mapped over. */
static int count_instances(compiler *c, uint32_t t, uint32_t *stack)
{
    uint32_t depth = 0;
    stack[depth++] = t;
    c->layout[t].visit = 1;
    while (depth > 0) {
        uint32_t u = stack[depth - 1];
        task_layout *l = &c->layout[u];
        if (l->kind == TASK_MAP) {
            uint32_t v = c->target[l->kind_ref];
            task_layout *lv = &c->layout[v];
            if (lv->visit == 0) {
                lv->visit = 1;
                stack[depth++] = v;
                continue;
            }
            if (lv->visit == 1)
                return error_set(c->err, DAGLIB_CYCLE,
                                 "DAG '%s' has a cycle of mapped tasks through "
                                 "'%s' and '%s'",
                                 c->dag->name, task_name_of(c, u),
                                 task_name_of(c, v));
            if (!lv->multi)
                return error_set(c->err, DAGLIB_INVALID,
                                 "task '%s' is mapped over '%s', which is not "
                                 "mapped or chunked",
                                 task_name_of(c, u), task_name_of(c, v));
            l->count = lv->count;
            l->multi = 1;
        } else if (l->kind == TASK_MAP_VALUES) {
            size_t items =
                daglib_value_count(dag_task(c->dag, u)->extra->map_values);
            if (items >= PLAN_ARG_CONST)
                return error_set(c->err, DAGLIB_INVALID,
                                 "task '%s' is mapped over too many items",
                                 task_name_of(c, u));
            l->count = (uint32_t)items;
            l->multi = 1;
        } else {
            l->count = l->chunks > 0 ? l->chunks : 1;
            l->multi = l->chunks > 0;
        }
        l->visit = 2;
        depth--;
    }
    return DAGLIB_OK;
}

/* Inputs, dependencies and joins name tasks that fit them. */
static int check_kinds(compiler *c)
{
    const daglib_dag *dag = c->dag;
    for (uint32_t r = 0; r < dag->n_refs; r++) {
        task_ref ref = *dag_ref(dag, r);
        const task_layout *up = &c->layout[c->target[r]];
        if (ref_kind(ref) == REF_JOIN && !up->multi)
            return error_set(c->err, DAGLIB_INVALID,
                             "task '%s' joins '%s', which is not mapped or "
                             "chunked",
                             task_name_of(c, ref_from(ref)),
                             task_name_of(c, c->target[r]));
        if ((ref_kind(ref) == REF_INPUT || ref_kind(ref) == REF_DEPENDS) &&
            up->multi)
            return error_set(c->err, DAGLIB_INVALID,
                             "task '%s' %s '%s', which has %u instances: map "
                             "over it or join it instead",
                             task_name_of(c, ref_from(ref)),
                             ref_kind(ref) == REF_INPUT ? "takes the input"
                                                    : "depends on",
                             task_name_of(c, c->target[r]), up->count);
    }
    return DAGLIB_OK;
}

/* 3. Node ranges, then every node and its arguments. */
static int lay_out_nodes(compiler *c)
{
    const daglib_dag *dag = c->dag;
    plan *p = c->p;
    uint64_t nodes = 0, args = 0, consts = 0;
    for (uint32_t t = 0; t < dag->n_tasks; t++) {
        task_layout *l = &c->layout[t];
        uint64_t common = l->n_refs;
        l->producer = PLAN_NO_NODE;
        if (l->chunks > 0) {
            l->producer = (uint32_t)nodes++;
            args += common;
            if (l->kind == TASK_JOIN)
                args += c->layout[c->target[l->kind_ref]].count;
            args += l->count; /* each chunk node reads the producer */
        } else if (l->kind == TASK_JOIN) {
            args += common + c->layout[c->target[l->kind_ref]].count;
        } else if (l->kind == TASK_PLAIN) {
            args += common;
        } else {
            args += (uint64_t)l->count * (common + 1);
        }
        l->first = (uint32_t)nodes;
        nodes += l->count;
        if (l->kind == TASK_MAP_VALUES) {
            l->const_base = (uint32_t)consts;
            consts += l->count;
        }
        if (nodes >= PLAN_ARG_CONST || args >= UINT32_MAX ||
            consts >= PLAN_ARG_CONST)
            return error_set(c->err, DAGLIB_INVALID,
                             "DAG '%s' expands to too many task instances",
                             dag->name);
    }
    p->n_nodes = (uint32_t)nodes;
    p->n_args = (uint32_t)args;
    p->nodes = alloc_array(p->n_nodes, sizeof *p->nodes); /* and the end mark */
    p->kinds = alloc_array(p->n_nodes, sizeof *p->kinds);
    p->args = alloc_array(p->n_args, sizeof *p->args);
    p->consts = alloc_array(consts, sizeof *p->consts);
    p->n_consts = (uint32_t)consts;
    if (p->nodes == NULL || p->kinds == NULL || p->args == NULL ||
        p->consts == NULL)
        return out_of_memory(c);

    uint32_t next_arg = 0;
    for (uint32_t t = 0; t < dag->n_tasks; t++) {
        const daglib_task *task = dag_task(dag, t); /* stored, not read */
        const task_layout *l = &c->layout[t];
        const task_layout *over =
            l->kind_ref != NO_REF ? &c->layout[c->target[l->kind_ref]] : NULL;
        /* The nodes that run the task's function. */
        uint32_t runners_first = l->producer != PLAN_NO_NODE ? l->producer
                                                              : l->first;
        uint32_t runners = l->producer != PLAN_NO_NODE ? 1 : l->count;
        for (uint32_t i = 0; i < runners; i++) {
            plan_node *pn = &p->nodes[runners_first + i];
            plan_node_kind *kind = &p->kinds[runners_first + i];
            pn->fn = l->fn;
            pn->task = task;
            kind->instance = l->kind == TASK_MAP_VALUES || l->kind == TASK_MAP
                                 ? i
                                 : PLAN_NO_INSTANCE;
            pn->arg_begin = next_arg;
            if (l->kind == TASK_MAP_VALUES) {
                p->args[next_arg++] = PLAN_ARG_CONST | (l->const_base + i);
                p->consts[l->const_base + i] =
                    daglib_value_item(task->extra->map_values, i);
            } else if (l->kind == TASK_MAP) {
                p->args[next_arg++] = over->first + i;
            } else if (l->kind == TASK_JOIN) {
                for (uint32_t k = 0; k < over->count; k++)
                    p->args[next_arg++] = over->first + k;
                kind->n_joined = over->count;
                pn->flags |= NODE_JOINS;
            }
            for (uint32_t k = 0; k < l->n_refs; k++)
                p->args[next_arg++] =
                    c->layout[c->target[c->by_task[l->ref_begin + k]]].first;
            if (l->producer != PLAN_NO_NODE)
                pn->flags |= NODE_CHUNKED;
        }
        if (l->producer == PLAN_NO_NODE)
            continue;
        for (uint32_t i = 0; i < l->count; i++) {
            plan_node *pn = &p->nodes[l->first + i];
            pn->fn = plan_take_chunk;
            pn->task = task;
            p->kinds[l->first + i].instance = i;
            pn->flags = NODE_TAKES_CHUNK;
            pn->arg_begin = next_arg;
            p->args[next_arg++] = l->producer;
        }
    }
    return DAGLIB_OK;
}

/* 4. The end mark, successor lists and predecessor counts from the
 * arguments, given each node's arg_begin and p->n_args: each node's successors
 * counted, the counts summed into where each list ends, then the lists
 * filled back to front, so that each list is in node order and each
 * succ_begin ends at its list's start. */
static int invert_args(plan *p)
{
    plan_node *nodes = p->nodes;
    uint64_t edges = 0;
    for (uint32_t n = 0; n <= p->n_nodes; n++)
        nodes[n].n_preds = nodes[n].succ_begin = 0;
    nodes[p->n_nodes].arg_begin = p->n_args;
    for (uint32_t n = 0; n < p->n_nodes; n++) {
        const uint32_t *args = &p->args[nodes[n].arg_begin];
        const uint32_t n_args = plan_node_n_args(&nodes[n]);
        for (uint32_t a = 0; a < n_args; a++) {
            if (args[a] & PLAN_ARG_CONST)
                continue;
            nodes[n].n_preds++;
            nodes[args[a]].succ_begin++;
            edges++;
        }
    }
    p->succ = alloc_array(edges, sizeof *p->succ);
    if (p->succ == NULL)
        return -1;
    uint32_t end = 0;
    for (uint32_t n = 0; n < p->n_nodes; n++) {
        end += nodes[n].succ_begin;
        nodes[n].succ_begin = end;
    }
    nodes[p->n_nodes].succ_begin = end;
    for (uint32_t n = p->n_nodes; n-- > 0;) {
        const uint32_t *args = &p->args[nodes[n].arg_begin];
        for (uint32_t a = plan_node_n_args(&nodes[n]); a-- > 0;)
            if (!(args[a] & PLAN_ARG_CONST))
                p->succ[--nodes[args[a]].succ_begin] = n;
    }
    return 0;
}

/* Name one cycle among the nodes Kahn's algorithm could not order
 * (remaining[n] > 0): each such node has a predecessor among them, so
 * walking predecessors must come back to a node already seen. */
static int report_cycle(const char *dag_name, const plan *p,
                        const uint32_t *remaining, error_state *err)
{
    uint32_t *seen_at = malloc(((size_t)p->n_nodes + 1) * sizeof *seen_at);
    uint32_t *path = malloc(((size_t)p->n_nodes + 1) * sizeof *path);
    char *text = NULL;
    if (seen_at == NULL || path == NULL)
        goto done;
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
        const uint32_t n_args = plan_node_n_args(pn);
        for (uint32_t a = 0; a < n_args; a++) {
            uint32_t up = p->args[pn->arg_begin + a];
            if (!(up & PLAN_ARG_CONST) && remaining[up] > 0) {
                node = up;
                break;
            }
        }
    }
    if (length == 0) /* cannot happen: remaining nodes exist */
        goto done;
    /* path[seen_at[node] .. length) walks the cycle against the edges;
     * print it along them, closing on the first name. */
    size_t size = 1;
    for (uint32_t i = seen_at[node]; i < length; i++)
        size += (size_t)p->nodes[path[i]].task->name_len + 16;
    size += (size_t)p->nodes[path[length - 1]].task->name_len + 12;
    text = malloc(size);
    if (text == NULL)
        goto done;
    size_t used = 0;
    for (uint32_t i = length; i-- > seen_at[node];) {
        used += (size_t)plan_node_name(p, path[i], text + used, size - used);
        used += (size_t)snprintf(text + used, size - used, " -> ");
    }
    plan_node_name(p, path[length - 1], text + used, size - used);
done:
    error_set(err, DAGLIB_CYCLE, "DAG '%s' has a cycle: %s", dag_name,
              text != NULL ? text : "(out of memory naming it)");
    free(text);
    free(seen_at);
    free(path);
    return DAGLIB_CYCLE;
}

/* 5. Check the graph is acyclic; collect sources and count sinks. */
static int order_nodes(const char *dag_name, plan *p, error_state *err)
{
    uint32_t n_nodes = p->n_nodes;
    uint32_t *remaining = alloc_array(n_nodes, sizeof *remaining);
    uint32_t *queue = alloc_array(n_nodes, sizeof *queue);
    p->sources = alloc_array(n_nodes, sizeof *p->sources);
    if (remaining == NULL || queue == NULL || p->sources == NULL) {
        big_free(remaining);
        big_free(queue);
        return error_set(err, DAGLIB_NOMEM, "out of memory compiling DAG '%s'",
                         dag_name);
    }
    uint32_t head = 0, tail = 0;
    p->n_sources = p->n_sinks = 0;
    for (uint32_t n = 0; n < n_nodes; n++) {
        remaining[n] = p->nodes[n].n_preds;
        if (remaining[n] == 0) {
            queue[tail++] = n;
            p->sources[p->n_sources++] = n;
        }
        if (plan_node_n_succ(&p->nodes[n]) == 0)
            p->n_sinks++;
    }
    while (head < tail) {
        const plan_node *pn = &p->nodes[queue[head++]];
        const uint32_t n_succ = plan_node_n_succ(pn);
        for (uint32_t s = 0; s < n_succ; s++) {
            uint32_t next = p->succ[pn->succ_begin + s];
            if (--remaining[next] == 0)
                queue[tail++] = next;
        }
    }
    int rc = DAGLIB_OK;
    if (tail < n_nodes)
        rc = report_cycle(dag_name, p, remaining, err);
    big_free(remaining);
    big_free(queue);
    return rc;
}

/* The final nodes: each final task's instances, in marking order. */
static int collect_finals(compiler *c)
{
    const daglib_dag *dag = c->dag;
    plan *p = c->p;
    uint64_t count = 0;
    for (uint32_t f = 0; f < dag->n_finals; f++)
        count += c->layout[dag->finals[f]].count;
    p->finals = alloc_array(count, sizeof *p->finals);
    if (p->finals == NULL)
        return out_of_memory(c);
    for (uint32_t f = 0; f < dag->n_finals; f++) {
        const task_layout *l = &c->layout[dag->finals[f]];
        for (uint32_t i = 0; i < l->count; i++) {
            p->finals[p->n_finals++] = l->first + i;
            p->nodes[l->first + i].flags |= NODE_FINAL;
        }
    }
    return DAGLIB_OK;
}

static int keep_task_ranges(compiler *c)
{
    plan *p = c->p;
    p->n_tasks = c->dag->n_tasks;
    p->task_first = alloc_array(p->n_tasks, sizeof *p->task_first);
    p->task_count = alloc_array(p->n_tasks, sizeof *p->task_count);
    if (p->task_first == NULL || p->task_count == NULL)
        return out_of_memory(c);
    for (uint32_t t = 0; t < p->n_tasks; t++) {
        p->task_first[t] = c->layout[t].first;
        p->task_count[t] = c->layout[t].count;
    }
    return DAGLIB_OK;
}

/* A DAG of plain tasks (no map, join or chunks): one node per task,
 * numbered as the tasks, its arguments its references.  Each task counts
 * its references both ways as they are made (dag.h), so the nodes are
 * laid out in one pass over the tasks; the lists are filled in one pass
 * over the references when they were made task by task, inputs only, else
 * in one per kind and one over the arguments; and when every reference
 * points to an earlier task -- a
 * DAG built in order, as most are -- the order of the indices is already
 * topological and no cycle check is needed. */
static int order_nodes(const char *dag_name, plan *p, error_state *err);

static int grow_sources(plan *p, uint32_t *room)
{
    uint32_t *bigger = alloc_array((size_t)*room * 2, sizeof *bigger);
    if (bigger == NULL)
        return -1;
    memcpy(bigger, p->sources, (size_t)p->n_sources * sizeof *bigger);
    big_free(p->sources);
    p->sources = bigger;
    *room *= 2;
    return 0;
}

static int compile_plain(const daglib_dag *dag, plan *p, error_state *err)
{
    uint32_t n = dag->n_tasks, n_refs = dag->n_refs;
    /* References in task order, inputs only (a DAG built task by task),
     * are the argument lists already, one after the other. */
    int args_as_made = !dag->refs_unordered && !dag->refs_depend;
    p->n_nodes = n;
    p->n_args = n_refs;
    /* Written in full before they are read: */
    p->nodes = big_alloc_raw((size_t)n + 1, sizeof *p->nodes);
    p->args = big_alloc_raw((size_t)n_refs + 1, sizeof *p->args);
    p->succ = big_alloc_raw((size_t)n_refs + 1, sizeof *p->succ);
    /* Where each node's next successor goes (and, first, its next
     * argument when the references are not its arguments as made): the
     * nodes themselves are not touched again once laid out. */
    uint32_t *cursor = big_alloc_raw((size_t)n + 1, sizeof *cursor);
    p->consts = alloc_array(0, sizeof *p->consts);
    /* Sources are few as a rule: an array that grows as they are found. */
    uint32_t sources_room = 64;
    p->sources = alloc_array(sources_room, sizeof *p->sources);
    if (p->nodes == NULL || p->args == NULL || p->succ == NULL ||
        cursor == NULL || p->consts == NULL || p->sources == NULL)
        goto nomem;
    plan_node *nodes = p->nodes;
    /* The nodes, their list ranges, sources and sinks. */
    uint32_t next_arg = 0, next_succ = 0;
    p->n_sources = p->n_sinks = 0;
    for (uint32_t b = 0, t = 0; t < n; b++) {
        const daglib_task *tasks = dag->task_blocks[b];
        const task_links *links = dag->link_blocks[b];
        uint32_t in_block = block_items_used(b, t, n);
        for (uint32_t i = 0; i < in_block; i++, t++) {
            const task_links *l = &links[i];
            nodes[t] = (plan_node){
                .fn = l->fn,
                .task = &tasks[i],
                .succ_begin = next_succ,
                .arg_begin = next_arg,
                .n_preds = l->n_refs_out,
            };
            cursor[t] = args_as_made ? next_succ : next_arg;
            next_arg += l->n_refs_out;
            next_succ += l->n_refs_in;
            if (l->n_refs_out == 0) {
                if (p->n_sources == sources_room &&
                    grow_sources(p, &sources_room) != 0)
                    goto nomem;
                p->sources[p->n_sources++] = t;
            }
            p->n_sinks += l->n_refs_in == 0;
        }
    }
    if (next_arg != n_refs || next_succ != n_refs) { /* a bug, not the caller's */
        big_free(cursor);
        return error_set(err, DAGLIB_INVALID,
                         "DAG '%s' is inconsistent: its tasks count %u "
                         "references made and %u received, not %u (a bug "
                         "in daglib)",
                         dag->name, next_arg, next_succ, n_refs);
    }
    nodes[n] = (plan_node){.succ_begin = n_refs, .arg_begin = n_refs};
    int forward = !dag->refs_backward;
    /* The arguments, inputs first, then dependencies, each in declaration
     * order; the successor lists in node order, as invert_args() makes
     * them. */
    if (args_as_made) {
        for (uint32_t b = 0, r = 0; r < n_refs; b++) {
            const task_ref *refs = dag->ref_blocks[b];
            uint32_t in_block = block_items_used(b, r, n_refs);
            for (uint32_t i = 0; i < in_block; i++, r++) {
                uint32_t up = refs[i].target;
                p->args[r] = up;
                p->succ[cursor[up]++] = ref_from(refs[i]);
            }
        }
    } else {
        int last_kind = dag->refs_depend ? REF_DEPENDS : REF_INPUT;
        for (int kind = REF_INPUT; kind <= last_kind; kind++)
            for (uint32_t b = 0, r = 0; r < n_refs; b++) {
                const task_ref *refs = dag->ref_blocks[b];
                uint32_t in_block = block_items_used(b, r, n_refs);
                for (uint32_t i = 0; i < in_block; i++)
                    if (ref_kind(refs[i]) == (task_ref_kind)kind)
                        p->args[cursor[ref_from(refs[i])]++] = refs[i].target;
                r += in_block;
            }
        for (uint32_t t = 0; t < n; t++)
            cursor[t] = nodes[t].succ_begin;
        for (uint32_t t = 0; t < n; t++) {
            const uint32_t *args = &p->args[nodes[t].arg_begin];
            const uint32_t n_args = plan_node_n_args(&nodes[t]);
            for (uint32_t a = 0; a < n_args; a++)
                p->succ[cursor[args[a]]++] = t;
        }
    }
    big_free(cursor);
    cursor = NULL;
    p->finals = alloc_array(dag->n_finals, sizeof *p->finals);
    if (p->finals == NULL)
        goto nomem;
    for (uint32_t f = 0; f < dag->n_finals; f++) {
        p->finals[p->n_finals++] = dag->finals[f];
        nodes[dag->finals[f]].flags |= NODE_FINAL;
    }
    p->n_tasks = n; /* task_first and task_count: NULL, each task one node */
    if (!forward) {
        big_free(p->sources);
        p->sources = NULL;
        return order_nodes(dag->name, p, err);
    }
    return DAGLIB_OK;

nomem:
    big_free(cursor);
    return error_set(err, DAGLIB_NOMEM, "out of memory compiling DAG '%s'",
                     dag->name);
}

int plan_compile(struct daglib_dag *dag, plan **out, error_state *err)
{
    *out = NULL;
    int rc = dag->n_pending > 0 ? resolve_pending(dag, err) : DAGLIB_OK;
    if (rc != DAGLIB_OK)
        return rc;
    compiler c = {dag, err, NULL, NULL, NULL, NULL};
    c.p = calloc(1, sizeof *c.p);
    if (c.p == NULL)
        return out_of_memory(&c);
    if (!dag->has_kinds) {
        rc = compile_plain(dag, c.p, err);
        if (rc != DAGLIB_OK) {
            plan_free(c.p);
            return rc;
        }
        *out = c.p;
        return DAGLIB_OK;
    }
    c.target = alloc_array(dag->n_refs, sizeof *c.target);
    c.by_task = alloc_array(dag->n_refs, sizeof *c.by_task);
    c.layout = alloc_array(dag->n_tasks, sizeof *c.layout);
    uint32_t *stack = alloc_array(dag->n_tasks, sizeof *stack);
    if (c.target == NULL || c.by_task == NULL || c.layout == NULL ||
        stack == NULL) {
        rc = out_of_memory(&c);
        goto done;
    }
    for (uint32_t t = 0; t < dag->n_tasks; t++) {
        const daglib_task *task = dag_task(dag, t);
        c.layout[t].fn = dag_task_links(dag, t)->fn;
        c.layout[t].chunks = task_chunks(task);
        c.layout[t].kind = (uint8_t)task->kind;
        c.layout[t].kind_ref = NO_REF;
    }
    read_refs(&c);
    group_refs(&c);
    for (uint32_t t = 0; t < dag->n_tasks && rc == DAGLIB_OK; t++)
        if (c.layout[t].visit == 0)
            rc = count_instances(&c, t, stack);
    if (rc == DAGLIB_OK)
        rc = check_kinds(&c);
    if (rc == DAGLIB_OK)
        rc = lay_out_nodes(&c);
    if (rc == DAGLIB_OK && invert_args(c.p) != 0)
        rc = out_of_memory(&c);
    if (rc == DAGLIB_OK)
        rc = collect_finals(&c);
    if (rc == DAGLIB_OK)
        rc = keep_task_ranges(&c);
    if (rc == DAGLIB_OK)
        rc = order_nodes(dag->name, c.p, err);
done:
    big_free(stack);
    big_free(c.target);
    big_free(c.by_task);
    big_free(c.layout);
    if (rc != DAGLIB_OK) {
        plan_free(c.p);
        return rc;
    }
    *out = c.p;
    return DAGLIB_OK;
}

/* ---- culling to a step ------------------------------------------------------ */

int plan_cull(const plan *full, uint32_t step, const char *dag_name, plan **out,
              error_state *err)
{
    *out = NULL;
    uint32_t first = plan_task_first(full, step);
    uint32_t count = plan_task_count(full, step);
    plan *p = calloc(1, sizeof *p);
    uint32_t *new_index = alloc_array(full->n_nodes, sizeof *new_index);
    uint32_t *stack = alloc_array(full->n_nodes, sizeof *stack);
    if (p == NULL || new_index == NULL || stack == NULL)
        goto nomem;
    /* Mark the step's instances and their ancestors. */
    for (uint32_t n = 0; n < full->n_nodes; n++)
        new_index[n] = PLAN_NO_NODE;
    uint32_t depth = 0;
    for (uint32_t i = 0; i < count; i++) {
        new_index[first + i] = 0;
        stack[depth++] = first + i;
    }
    while (depth > 0) {
        const plan_node *pn = &full->nodes[stack[--depth]];
        const uint32_t n_args = plan_node_n_args(pn);
        for (uint32_t a = 0; a < n_args; a++) {
            uint32_t up = full->args[pn->arg_begin + a];
            if (!(up & PLAN_ARG_CONST) && new_index[up] == PLAN_NO_NODE) {
                new_index[up] = 0;
                stack[depth++] = up;
            }
        }
    }
    /* Keep them in their original order, with their arguments. */
    uint32_t kept = 0, kept_args = 0;
    for (uint32_t n = 0; n < full->n_nodes; n++) {
        if (new_index[n] == PLAN_NO_NODE)
            continue;
        new_index[n] = kept++;
        kept_args += plan_node_n_args(&full->nodes[n]);
    }
    p->n_nodes = kept;
    p->n_args = kept_args;
    p->nodes = alloc_array(kept, sizeof *p->nodes); /* and the end mark */
    p->kinds = full->kinds != NULL ? alloc_array(kept, sizeof *p->kinds) : NULL;
    p->args = alloc_array(kept_args, sizeof *p->args);
    p->finals = alloc_array(count, sizeof *p->finals);
    if (p->nodes == NULL || (full->kinds != NULL && p->kinds == NULL) ||
        p->args == NULL || p->finals == NULL)
        goto nomem;
    uint32_t next_arg = 0;
    for (uint32_t n = 0; n < full->n_nodes; n++) {
        if (new_index[n] == PLAN_NO_NODE)
            continue;
        plan_node *pn = &p->nodes[new_index[n]];
        *pn = full->nodes[n];
        pn->flags &= ~NODE_FINAL;
        if (p->kinds != NULL)
            p->kinds[new_index[n]] = full->kinds[n];
        const uint32_t *args = &full->args[full->nodes[n].arg_begin];
        uint32_t n_args = plan_node_n_args(&full->nodes[n]);
        pn->arg_begin = next_arg;
        for (uint32_t a = 0; a < n_args; a++)
            p->args[next_arg++] =
                args[a] & PLAN_ARG_CONST ? args[a] : new_index[args[a]];
    }
    for (uint32_t i = 0; i < count; i++) {
        p->finals[p->n_finals++] = new_index[first + i];
        p->nodes[new_index[first + i]].flags |= NODE_FINAL;
    }
    /* A mapped or chunked step returns a tuple of its instances. */
    p->tuple_finals =
        count != 1 || plan_node_instance(full, first) != PLAN_NO_INSTANCE;
    /* Constants keep their indices: copy them all (they are borrowed). */
    p->n_consts = full->n_consts;
    p->consts = alloc_array(p->n_consts, sizeof *p->consts);
    if (p->consts == NULL)
        goto nomem;
    memcpy(p->consts, full->consts, full->n_consts * sizeof *p->consts);
    if (invert_args(p) != 0)
        goto nomem;
    big_free(new_index);
    big_free(stack);
    int rc = order_nodes(dag_name, p, err); /* acyclic: part of an acyclic plan */
    if (rc != DAGLIB_OK) {
        plan_free(p);
        return rc;
    }
    *out = p;
    return DAGLIB_OK;

nomem:
    big_free(new_index);
    big_free(stack);
    plan_free(p);
    return error_set(err, DAGLIB_NOMEM, "out of memory culling DAG '%s'",
                     dag_name);
}
