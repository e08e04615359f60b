/*
 * plan.h -- a DAG compiled for running: nodes in flat arrays, edges by index.
 *
 * Compiling resolves every name, expands every task into its instances
 * (a mapped task into one node per item, a chunked task into the node that
 * computes the list and one node per chunk), checks the graph (unknown
 * names, misused kinds, cycles) and lays it out for the scheduler: one
 * plan_node per instance, successor and argument lists in two shared
 * arrays (CSR), so the hot loop follows indices and never touches a name.
 *
 * A plan is immutable once compiled and shared by every run of the DAG
 * until the DAG changes; what changes during a run lives in node_state and
 * node_output (scheduler.h).
 */
#ifndef DAGLIB_PLAN_H
#define DAGLIB_PLAN_H

#include <stdint.h>

#include "daglib.h"
#include "error.h"

#define PLAN_NO_NODE UINT32_MAX
#define PLAN_NO_INSTANCE UINT32_MAX
/* An argument that is a constant (an item of a static map), not a node:
 * plan.consts[arg & ~PLAN_ARG_CONST]. */
#define PLAN_ARG_CONST 0x80000000u

/* plan_node.flags */
#define NODE_FINAL 0x1u   /* its result is returned by the run: never released */
#define NODE_CHUNKED 0x2u /* splits its list result into n_chunks chunks */
#define NODE_TAKES_CHUNK 0x4u /* takes chunk kinds[n].instance of its one argument */
#define NODE_JOINS 0x8u /* its first kinds[n].n_joined arguments go as one list */

/* 32 bytes: a plain DAG's plan writes and a run reads nothing more per
 * node.  Its lists' lengths are where the next node's lists begin (the
 * plan ends with a node that only marks where the lists end), and what
 * only mapped, chunked and joining nodes need lives in plan.kinds. */
typedef struct plan_node {
    daglib_task_fn fn;
    const struct daglib_task *task; /* name, description, user data, retry */
    uint32_t succ_begin; /* plan.succ[succ_begin .. the next node's) */
    uint32_t arg_begin;  /* plan.args[arg_begin .. the next node's) */
    uint32_t n_preds;    /* node arguments, hence edges in */
    uint32_t flags;
    /* Every argument slot reading the node's result is one successor edge,
     * so the successors also count the readers that release it; a chunked
     * node's chunk count is its task's. */
} plan_node;

_Static_assert(sizeof(void *) != 8 || sizeof(plan_node) == 32,
               "a plan node fills half a cache line");

/* What a node of a mapped, chunked or joining task has besides. */
typedef struct plan_node_kind {
    uint32_t instance; /* PLAN_NO_INSTANCE, or the index of an instance */
    uint32_t n_joined; /* NODE_JOINS: how many arguments make the list */
} plan_node_kind;

typedef struct plan {
    plan_node *nodes; /* n_nodes, then the end mark */
    uint32_t n_nodes;
    plan_node_kind *kinds; /* per node; NULL when every node is a plain task */
    uint32_t *succ; /* successor node indices, grouped by node */
    uint32_t *args; /* argument node indices (or constants), grouped by node */
    uint32_t n_args;
    const daglib_value **consts; /* borrowed from the tasks' static maps */
    uint32_t n_consts;
    uint32_t *finals; /* final nodes in the order they were marked */
    uint32_t n_finals;
    uint32_t *sources; /* nodes without predecessors */
    uint32_t n_sources;
    uint32_t n_sinks; /* nodes without successors */
    /* Per task: its instance nodes task_first[t] .. + task_count[t]
     * (for a chunked task, its chunk nodes), PLAN_NO_NODE when culled;
     * both NULL when task t is node t (a DAG of plain tasks). */
    uint32_t *task_first;
    uint32_t *task_count;
    uint32_t n_tasks;
    int tuple_finals; /* return finals as a tuple even when there is one */
} plan;

/* Compile dag.  DAGLIB_OK with *out set (free with plan_free), or
 * DAGLIB_NOTFOUND / DAGLIB_INVALID / DAGLIB_CYCLE / DAGLIB_NOMEM with a
 * message in err. */
int plan_compile(struct daglib_dag *dag, plan **out, error_state *err);

static inline uint32_t plan_node_n_succ(const plan_node *pn)
{
    return pn[1].succ_begin - pn->succ_begin;
}

static inline uint32_t plan_node_n_args(const plan_node *pn)
{
    return pn[1].arg_begin - pn->arg_begin;
}

static inline uint32_t plan_node_instance(const plan *p, uint32_t n)
{
    return p->kinds != NULL ? p->kinds[n].instance : PLAN_NO_INSTANCE;
}

/* The printed name of node n, "task" or "task 3", as snprintf() does. */
int plan_node_name(const plan *p, uint32_t n, char *buf, size_t size);

static inline uint32_t plan_task_first(const plan *p, uint32_t t)
{
    return p->task_first != NULL ? p->task_first[t] : t;
}

static inline uint32_t plan_task_count(const plan *p, uint32_t t)
{
    return p->task_count != NULL ? p->task_count[t] : 1;
}

/* A plan of what task `step` needs: its instances and their ancestors,
 * with the step's instances as the finals.  DAGLIB_OK with *out set, or
 * DAGLIB_NOMEM. */
int plan_cull(const plan *full, uint32_t step, const char *dag_name, plan **out,
              error_state *err);

void plan_free(plan *p);

/* The function of the nodes that take one chunk of a chunked task's list
 * (scheduler.c, which splits the list). */
void plan_take_chunk(daglib_context *ctx, int argc,
                     const daglib_value *const *argv);

#endif
