/*
 * scheduler.h -- the state of one run and the workers that execute it.
 *
 * A run owns two records per plan node.  Its node_state (16 bytes), zeroed
 * before every run: a count of predecessors done, a count of readers done
 * for releasing the result, what its predecessors said (one failed, one's
 * result owns memory), and the outcome.  Its node_output (32 bytes):
 * the result itself (inline, so most results allocate nothing) and a
 * failure's message, written when the node runs and read only after --
 * so a run clears a third of what it would if the two were one.  Each
 * worker has a work-stealing deque; worker 0 is the caller's thread, the
 * others are slots of the DAG's worker pool, which a pool thread runs
 * until the slot parks (scheduler.c) and maybe another thread later.
 *
 * Who touches what: node_state.preds_done and .readers_done are atomics any
 * worker may increment, and .upstream_failed and .reads_owned flags any
 * predecessor's worker may set before its hand-off; everything else is
 * written by the worker that runs the node, before it hands the node's
 * successors on (a release), and read by others only after they acquired
 * that hand-off -- but for two
 * writes that need no hand-off: before the node runs, the worker that
 * holds it on its overflow stack links it through its output, and after,
 * the last reader of its result frees it.
 */
#ifndef DAGLIB_SCHEDULER_H
#define DAGLIB_SCHEDULER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "deque.h"
#include "plan.h"
#include "profile_schema.h"
#include "ticks.h"
#include "worker_pool.h"
#include "value.h"

struct profiler;

/* node_state.status */
enum node_status {
    NODE_WAITING = 0,
    NODE_OK,
    NODE_FAILED,
    NODE_SKIPPED
};

typedef struct node_state {
    _Atomic uint32_t preds_done;     /* predecessors finished so far */
    _Atomic uint32_t readers_done;   /* argument slots read so far */
    _Atomic uint8_t upstream_failed; /* a predecessor failed or was skipped */
    /* A predecessor's result owns memory, so its readers count: a node
     * without one releases no argument, and reads none of their outputs. */
    _Atomic uint8_t reads_owned;
    uint8_t status; /* enum node_status */
    uint16_t attempts;
    uint16_t worker;
} node_state;

_Static_assert(sizeof(node_state) == 16, "a run zeroes 16 bytes a node");

/* Meaningful once the node's status says it ran (node_ran). */
typedef struct node_output {
    char *error; /* a failed task's message */
    /* While the node waits on a worker's overflow stack, before it runs,
     * its result's capacity links it to the next one there. */
    daglib_value result;
} node_output;

/* Did the node run (or was it skipped) in this run: is its output set? */
static inline int node_ran(const node_state *st)
{
    return st->status != NODE_WAITING;
}

/* When a task ran, in ticks of the run's clock (ticks.h); kept only while
 * its worker finishes it, then handed to the profiler and the observer. */
typedef struct task_times {
    uint64_t started; /* the first attempt's start */
    uint64_t ended;   /* the last attempt's end */
    uint64_t runtime; /* the attempts added up */
} task_times;

struct run;

/* What a DAG keeps from one run to the next: the node states, the single
 * worker's stack and the workers' threads.  Handing the memory back and
 * getting fresh pages at the next run would cost a page fault per 4 KiB,
 * more than the run itself; making threads, twenty times a small run. */
typedef struct run_memory {
    node_state *states;   /* capacity + 1, zeroed before each run */
    node_output *outputs; /* capacity + 1, never zeroed */
    uint32_t *stack;    /* capacity, or NULL until a run needs one */
    uint32_t capacity;  /* nodes */
    worker_pool *pool;  /* the workers' threads, kept between runs; NULL
                         * until a run on several workers */
} run_memory;

void run_memory_free(run_memory *m);

typedef struct worker {
    struct run *run;
    uint32_t index;
    /* Counts for the progress line, written by this worker only. */
    _Atomic uint32_t done, failed, running;
    uint32_t overflow;   /* nodes the deque had no room for, owner only */
    /* Nodes taken in one go, from the worker's deque or stolen, not run
     * yet: the next to run last (owner only).  Out of the thieves' reach,
     * they cost no atomic operation each; so they are taken only while no
     * worker is hungry (n_hungry), and all but the next handed back when
     * one is, as soon as the worker's running task returns. */
    uint32_t taken[DEQUE_STEAL_MAX], n_taken;
    /* Arrivals at one wide join not yet added to its count (scheduler.c),
     * owner only: join_count of them at node join_node; and sinks done,
     * not yet taken off the run's count. */
    uint32_t join_node, join_count, sinks_held;
    uint64_t rng;        /* victim selection */
    /* A timed run's clock reading at the end of this worker's last task,
     * and whether it still stands for the start of the next one: whether
     * nothing but the scheduler's quick hand-over ran since
     * (scheduler.c, "one clock reading a task"). */
    uint64_t last_end;
    int went_straight_on;
    /* A helper that gave its thread back (scheduler.c, park): still
     * counted in n_hungry, and linked in run.parked until posted again. */
    int parked_hungry;
    struct worker *next_parked;
    deque queue;
} worker;

_Static_assert(DEQUE_TAKE_BATCH <= DEQUE_STEAL_MAX,
               "a worker's taken nodes hold a batch of either");

/* Nodes ready to run, for a worker that shares none: the one worker of
 * a one-worker run, or the caller before a helper joins (scheduler.c,
 * "the caller alone"). */
typedef struct single_stack {
    uint32_t *items;
    uint32_t top;
} single_stack;

/* run.sharing */
enum run_sharing {
    SHARING_NOT_YET, /* the caller runs alone, on run.alone */
    SHARING_STARTING, /* the caller's or a helper's thread deals run.alone out */
    SHARING /* every worker takes from deques and counts with atomics */
};

typedef struct run {
    const plan *plan;
    const struct daglib_dag *dag;
    run_memory *memory; /* the DAG's, lent for the run */
    node_state *states;
    node_output *outputs;
    int timed;          /* read the clock around each task */
    ticks_source clock; /* which clock, when timed */
    worker *workers;
    uint32_t n_workers;
    struct profiler *profiler; /* NULL unless profiled */
    const daglib_observer *observer; /* NULL unless observed */
    int counting; /* keep the workers' progress counts */

    _Atomic uint32_t sinks_left;
    _Atomic int done;
    _Atomic uint32_t first_failure; /* node, or PLAN_NO_NODE */
    _Atomic uint32_t n_failed;
    _Atomic uint32_t n_skipped;

    /* Idle workers asleep or parked; the lock is taken only when someone
     * sleeps. */
    _Atomic uint32_t n_sleeping;
    /* Workers that looked for work in every other deque and stole none
     * (a lost race counts too), still looking, asleep, parked or not:
     * while any is, nodes are kept where they can be stolen.  Helpers
     * still parked when the run ends leave it above zero. */
    _Atomic uint32_t n_hungry;
    _Atomic int messages_kept; /* some node kept an error message */
    pthread_mutex_t sleep_lock;
    pthread_cond_t wake_up; /* the caller's thread sleeps here */
    worker *parked;         /* helpers parked, under sleep_lock */

    /* Until a helper joins, the caller runs alone (scheduler.c). */
    single_stack alone;
    _Atomic int sharing; /* enum run_sharing */
    /* A helper arrived and waits to share: the caller checks after every
     * task it runs alone. */
    _Atomic int helper_joining;
    /* Set while the caller, alone, runs a task's function: a helper that
     * sees it after its remote fence may deal the caller's stack out
     * itself. */
    _Atomic int caller_in_task;
} run;

/* The context a task function receives. */
struct daglib_context {
    run *run;
    uint32_t node;
    uint32_t worker;
    node_state *state;
    node_output *output;
    char *name_buffer; /* "name 3" for a mapped instance, made on demand */
};

/* Set up states for plan (every count at zero) in memory, which the run
 * borrows until run_destroy().  0, or -1 when memory runs out. */
int run_init(run *r, const plan *p, const struct daglib_dag *dag,
             run_memory *memory, uint32_t n_workers);

/* Split a list value in place into a list of n lists, sized as
 * numpy.array_split does.  DAGLIB_OK, DAGLIB_INVALID (not a list) or
 * DAGLIB_NOMEM (the value is then unchanged). */
int split_into_chunks(daglib_value *list, uint32_t n);

/* Execute every node; returns when all are done.  0, or -1 when memory
 * runs out for a one-worker run's stack.  Workers no thread could be made
 * for do not run: the others run their share. */
int run_execute(run *r);

/* Release everything the run still holds (results, messages, workers). */
void run_destroy(run *r);

/* The instance name of node n ("name" or "name 3") into buf; returns the
 * length written (truncated to size - 1). */
size_t run_node_name(const run *r, uint32_t n, char *buf, size_t size);

#endif
