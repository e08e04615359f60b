/*
 * plan.h -- a DAG compiled for running: nodes in flat arrays, edges by index.
 *
 * Compiling resolves every name, checks the graph (unknown names, cycles)
 * and lays it out for the scheduler: one plan_node per task instance,
 * successor lists and argument lists in two shared arrays (CSR), so the
 * hot loop follows indices and never touches a name or a hash table.
 *
 * A plan is immutable once compiled and shared by every run of the DAG
 * until the DAG changes; what changes during a run lives in node_state
 * (scheduler.h).
 */
#ifndef DAGLIB_PLAN_H
#define DAGLIB_PLAN_H

#include <stdint.h>

#include "daglib.h"
#include "error.h"

#define PLAN_NO_NODE UINT32_MAX
#define PLAN_NO_INSTANCE UINT32_MAX

/* plan_node.flags */
#define NODE_FINAL 0x1u /* its result is returned by the run: never released */

typedef struct plan_node {
    daglib_task_fn fn;
    const struct daglib_task *task; /* name, description, user data */
    uint32_t instance;   /* PLAN_NO_INSTANCE, or the index of a mapped instance */
    uint32_t n_preds;    /* arguments, hence edges in */
    uint32_t succ_begin; /* plan.succ[succ_begin .. succ_begin + n_succ) */
    uint32_t n_succ;
    uint32_t arg_begin;  /* plan.args[arg_begin .. arg_begin + n_args) */
    uint32_t n_args;
    uint32_t n_consumers; /* how many argument slots read its result */
    uint32_t flags;
} plan_node;

typedef struct plan {
    plan_node *nodes;
    uint32_t n_nodes;
    uint32_t *succ; /* successor node indices, grouped by node */
    uint32_t *args; /* argument node indices, grouped by node, in call order */
    uint32_t n_edges;
    uint32_t *finals; /* final nodes in the order they were marked */
    uint32_t n_finals;
    uint32_t *sources; /* nodes without predecessors */
    uint32_t n_sources;
    uint32_t n_sinks; /* nodes without successors */
} plan;

/* Compile dag.  DAGLIB_OK with *out set (free with plan_free), or
 * DAGLIB_NOTFOUND / DAGLIB_CYCLE / DAGLIB_NOMEM with a message in err. */
int plan_compile(const struct daglib_dag *dag, plan **out, error_state *err);

void plan_free(plan *p);

#endif
