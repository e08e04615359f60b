/*
 * scheduler.c -- execute a plan on a pool of workers.
 *
 * The design follows Taskflow's executor, in C:
 *   - every node has an atomic count of finished predecessors; the worker
 *     whose arrival completes it owns the node;
 *   - a finishing worker keeps the first successor that became ready and
 *     runs it next itself (no queue round-trip), and pushes the others on
 *     its own work-stealing deque;
 *   - idle workers steal from the others (half of a deque, up to
 *     DEQUE_STEAL_MAX nodes at a time), spin a little, then sleep; the
 *     sleep lock is touched only when somebody sleeps.  A helper thread
 *     sleeps by giving its slot back to the worker pool (parking), to be
 *     posted again when work turns up: at the end of the run nobody has
 *     to wake it, which on a virtual machine costs tens of microseconds
 *     (a plain program's 10,000-task chain on 2 workers: 15 ns a task
 *     instead of 20);
 *   - unlike Taskflow, while no worker has found every deque empty, a
 *     worker takes its own nodes DEQUE_TAKE_BATCH at a time while they
 *     lie far from the thieves, and keeps what it stole to run next rather
 *     than offering it to be stolen again: a node then costs no fence or
 *     locked instruction of its own (a 100,000-task fan-out on 2 workers:
 *     19 ns a task instead of 24).  Such nodes are out of other workers'
 *     reach, so once one is hungry (n_hungry: it found nothing to steal),
 *     all but the next go back to the deque when the holder's running
 *     task returns -- for tasks of milliseconds, a task's time of waiting;
 *   - a node with a single predecessor or a result with a single consumer
 *     needs no atomic operation at all: the one predecessor (consumer) is
 *     the only writer; results that own no memory (NULL, numbers) are not
 *     counted at all;
 *   - at a wide join (JOIN_BATCH_MIN_PREDS predecessors or more), a worker
 *     counts its arrivals itself and adds them to the shared count in one
 *     operation (see note_arrival), instead of every worker fighting over
 *     the count's cache line at every arrival;
 *   - unlike Taskflow, the caller's thread starts the run alone, as a
 *     single worker, with no atomic operation, and shares it when the
 *     first helper arrives ("the caller alone", below).
 * A result is released as soon as its last consumer has run (finals are
 * kept), so a long chain keeps memory flat.  Failures travel with the
 * counts: a failed or skipped node marks its successors, which are then
 * skipped instead of run, so independent branches carry on and the run
 * still ends when every sink is done.
 *
 * The counts start at the zero calloc gives, so arming a run reads no plan
 * node, and the hot path touches a node's plan entry, its state, its
 * argument and successor lists -- never the daglib_task (retry policy,
 * names), which only failures and observers need.
 *
 * With one worker the same code is instantiated with `single` set: a plain
 * stack replaces the deque and the counts need no locked instructions.
 *
 * One clock reading a task: a timed run (profiled or observed) reads the
 * clock when a task returns, and that reading is also the start of the
 * next task on the same worker when the worker went straight on to it,
 * doing only the scheduler's hand-over in between (counting arrivals,
 * pushing successors, gathering arguments: tens of nanoseconds, which the
 * next task's runtime takes in).  Anything slower or not the scheduler's
 * -- looking for work, sleeping, waking a sleeper, freeing a result or
 * arguments, a failure, skipping a node, handing on more than
 * QUICK_HANDOVER_SUCCESSORS, growing a deque, handing back taken nodes,
 * an observer's callback, a new chunk of the profiler's log -- sets
 * went_straight_on to 0, and the next task reads the clock afresh.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpu_hints.h"
#include "dag.h"
#include "profiler.h"
#include "remote_fence.h"
#include "scheduler.h"

/* Idle rounds of stealing before yielding, and yields before sleeping. */
#define SPIN_ROUNDS 64
/* Joins this wide take arrivals in batches of at most JOIN_BATCH_MAX. */
#define JOIN_BATCH_MIN_PREDS 16
#define JOIN_BATCH_MAX 64
/* How many successors of a node about to run are searched for the join a
 * worker holds arrivals for; not found, the arrivals are added first. */
#define JOIN_FEEDS_SEARCH 4
#define YIELD_ROUNDS 16
/* How long the first helper to join a run the caller runs alone must find
 * the caller in one task before it deals the caller's stack out itself
 * ("the caller alone", below); also the longest nap of a helper waiting
 * for the run to be shared, which the run's end may wait for. */
#define HELPER_PATIENCE_NS 50000L
/* Arguments passed from the stack; more take one allocation per call. */
#define STACK_ARGS 16
/* Handing on more successors than this is no longer a quick hand-over
 * (pushing them, perhaps growing a deque): the next task on the worker
 * reads the clock afresh ("one clock reading a task", below). */
#define QUICK_HANDOVER_SUCCESSORS 8

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

/* Count down *counter and return the value it had.  A single worker is
 * the only thread touching it, so a plain load and store will do. */
static ALWAYS_INLINE uint32_t count_down(_Atomic uint32_t *counter, int single)
{
    if (single) {
        uint32_t v = atomic_load_explicit(counter, memory_order_relaxed);
        atomic_store_explicit(counter, v - 1, memory_order_relaxed);
        return v;
    }
    return atomic_fetch_sub_explicit(counter, 1, memory_order_acq_rel);
}

/* Count one more arrival on *counter; 1 when it was the last of total.
 * Node counters count up from the zero calloc gave them, so arming a run
 * touches no plan node.  The acq_rel increment orders what each arrival
 * wrote before it (results, failure marks) before what the last one does
 * next. */
static ALWAYS_INLINE int arrive(_Atomic uint32_t *counter, uint32_t total,
                                int single)
{
    if (single) {
        uint32_t v = atomic_load_explicit(counter, memory_order_relaxed) + 1;
        atomic_store_explicit(counter, v, memory_order_relaxed);
        return v == total;
    }
    return atomic_fetch_add_explicit(counter, 1, memory_order_acq_rel) + 1 ==
           total;
}

/* Whether a result may own memory (text, blob, list, pointer): its
 * readers are counted and the last one frees it.  NULLs and numbers own
 * nothing. */
static inline int result_owns_memory(const daglib_value *v)
{
    return v->type >= DAGLIB_TEXT;
}

/* Release a result: no call for one that owns nothing.  1 when there was
 * something to free. */
static inline int discard_result(daglib_value *v)
{
    if (result_owns_memory(v)) {
        value_clear(v);
        return 1;
    }
    v->type = DAGLIB_NULL;
    return 0;
}

/* Something that is not the quick hand-over ran on w since its last task
 * ended: its next task reads the clock afresh ("one clock reading a
 * task", above).  timed is the run's, a constant where the loops are
 * instantiated, so that an untimed run does not pay even the store. */
static ALWAYS_INLINE void read_clock_afresh(worker *w, int timed)
{
    if (timed)
        w->went_straight_on = 0;
}

/* ---- calling a task ------------------------------------------------------ */

/* The argument list a node's function receives: the joined results as one
 * list (shallow: the list views values owned by their nodes), then each
 * other argument, constants being the items of a static map. */
typedef struct call_args {
    const daglib_value *stack[STACK_ARGS];
    const daglib_value **argv;
    int argc;
    daglib_value joined;
} call_args;

/* What argument slot `arg` of a plan's lists passes. */
static ALWAYS_INLINE const daglib_value *arg_value(const run *r, uint32_t arg)
{
    return arg & PLAN_ARG_CONST ? r->plan->consts[arg & ~PLAN_ARG_CONST]
                                : &r->outputs[arg].result;
}

static int gather_args(run *r, uint32_t n, const plan_node *pn, call_args *ca)
{
    const plan *p = r->plan;
    const uint32_t *args = &p->args[pn->arg_begin];
    const uint32_t n_args = plan_node_n_args(pn);
    uint32_t joins = (pn->flags & NODE_JOINS) != 0;
    uint32_t n_joined = joins ? p->kinds[n].n_joined : 0;
    uint32_t argc = n_args - n_joined + joins;
    uint32_t room = argc > n_joined ? argc : n_joined;
    ca->argv = ca->stack;
    value_init(&ca->joined);
    /* A big fan-in (a million inputs) takes megabytes: big_alloc's. */
    if (room > STACK_ARGS &&
        (ca->argv = big_alloc_raw(room, sizeof *ca->argv)) == NULL)
        return -1;
    uint32_t a = 0;
    if (joins) {
        for (; a < n_joined; a++)
            ca->argv[a] = &r->outputs[args[a]].result;
        if (value_shallow_list(&ca->joined, ca->argv, n_joined) != DAGLIB_OK) {
            if (ca->argv != ca->stack)
                big_free((void *)ca->argv);
            return -1;
        }
        ca->argv[0] = &ca->joined;
    }
    for (uint32_t i = joins; a < n_args; a++, i++)
        ca->argv[i] = arg_value(r, args[a]);
    ca->argc = (int)argc;
    return 0;
}

static void release_call_args(call_args *ca)
{
    if (ca->joined.type != DAGLIB_NULL)
        value_clear(&ca->joined);
    if (ca->argv != ca->stack)
        big_free((void *)ca->argv);
}

static void sleep_seconds(double seconds)
{
    if (seconds <= 0)
        return;
    struct timespec pause;
    pause.tv_sec = (time_t)seconds;
    pause.tv_nsec = (long)((seconds - (double)pause.tv_sec) * 1e9);
    while (nanosleep(&pause, &pause) != 0 && errno == EINTR)
        ;
}

static void report_start(run *r, daglib_context *ctx, int attempt)
{
    daglib_task_event event = {
        .task_name = daglib_context_task_name(ctx),
        .worker = (int)ctx->worker,
        .attempt = attempt,
    };
    r->observer->on_start(r->observer->user_data, &event);
}

/* One try of the node's function: attempt `attempt`.  A timed run's
 * clock is read after it, and before it unless the worker's last reading
 * still stands for its start (straight_on); times adds the try up. */
static ALWAYS_INLINE void try_task(run *r, worker *w, const plan_node *pn,
                                   daglib_context *ctx, int argc,
                                   const daglib_value *const *argv,
                                   int attempt, int straight_on,
                                   task_times *times, int timed)
{
    node_state *st = ctx->state;
    st->attempts = (uint16_t)attempt;
    st->status = NODE_WAITING;
    if (!timed) {
        pn->fn(ctx, argc, argv);
        return;
    }
    uint64_t started = straight_on ? w->last_end : ticks_now(r->clock);
    pn->fn(ctx, argc, argv);
    uint64_t ended = ticks_now(r->clock);
    /* The counter is read without a fence (one costs the worker 10 ns a
     * task), so around a task a few dozen cycles long the processor may
     * read it early and the task's span come out as nothing, or less: a
     * task that ran took a tick at least, and a worker's times go on. */
    if (ended <= started)
        ended = started + 1;
    w->last_end = ended;
    w->went_straight_on = 1;
    if (attempt == 1)
        times->started = started;
    times->ended = ended;
    times->runtime += ended - started;
}

static void observe_try(run *r, worker *w, daglib_context *ctx, int attempt)
{
    if (r->observer != NULL && r->observer->on_start != NULL) {
        report_start(r, ctx, attempt);
        read_clock_afresh(w, r->timed);
    }
}

/* After a first try that failed, or for which the task's instance name
 * was made (asked for by the task or an observer): the tries the retry
 * policy allows while it fails, then the name handed back and a message
 * flagged.  Out of the hot path, as is the policy, which lives in the
 * task, a cache line read only once a try failed. */
static __attribute__((noinline)) void
after_first_try(run *r, worker *w, const plan_node *pn, daglib_context *ctx,
                int argc, const daglib_value *const *argv, task_times *times)
{
    node_state *st = ctx->state;
    if (st->status == NODE_FAILED) {
        const daglib_retry *retry = task_retry(pn->task);
        double wait = retry->delay;
        for (int attempt = 2;
             st->status == NODE_FAILED && attempt <= retry->attempts;
             attempt++) {
            sleep_seconds(retry->max_delay > 0 && wait > retry->max_delay
                              ? retry->max_delay
                              : wait);
            wait *= retry->backoff;
            observe_try(r, w, ctx, attempt);
            try_task(r, w, pn, ctx, argc, argv, attempt, 0, times, r->timed);
        }
    }
    if (ctx->name_buffer != NULL) {
        free(ctx->name_buffer);
        ctx->name_buffer = NULL;
        read_clock_afresh(w, r->timed);
    }
    if (ctx->output->error != NULL) /* even after a later success */
        atomic_store_explicit(&r->messages_kept, 1, memory_order_relaxed);
}

/* Whether node pn takes the short way: its arguments fit on the stack,
 * it neither joins nor is chunked, and nobody observes the run (an
 * untimed run is neither observed nor profiled: run.c). */
static ALWAYS_INLINE int plain_call(const run *r, const plan_node *pn,
                                    int timed)
{
    return !(pn->flags & (NODE_JOINS | NODE_CHUNKED)) &&
           plan_node_n_args(pn) <= STACK_ARGS &&
           (!timed || r->observer == NULL);
}

/* call_task() for a plain_call() node: the first try, and nothing more
 * unless it failed or asked for its name. */
static ALWAYS_INLINE void call_plain_task(run *r, worker *w, uint32_t n,
                                          const plan_node *pn,
                                          node_state *st, node_output *out,
                                          task_times *times, int timed)
{
    const daglib_value *argv[STACK_ARGS];
    const uint32_t *args = &r->plan->args[pn->arg_begin];
    const uint32_t argc = plan_node_n_args(pn);
    for (uint32_t a = 0; a < argc; a++)
        argv[a] = arg_value(r, args[a]);
    daglib_context ctx = {r, n, w->index, st, out, NULL};
    try_task(r, w, pn, &ctx, (int)argc, argv, 1, w->went_straight_on, times,
             timed);
    if (st->status == NODE_FAILED || ctx.name_buffer != NULL)
        after_first_try(r, w, pn, &ctx, (int)argc, argv, times);
}

/* Call the node's function, as many times as its retry policy allows
 * while it fails; leaves status WAITING (ran) or FAILED, and when the run
 * is timed, when the attempts ran in *times. */
static void call_task(run *r, worker *w, uint32_t n, const plan_node *pn,
                      node_state *st, node_output *out, task_times *times)
{
    call_args ca;
    if (gather_args(r, n, pn, &ca) != 0) {
        st->status = NODE_FAILED; /* no message: "out of memory" */
        return;
    }
    /* Arguments gathered into memory of their own: allocating it before
     * the task and freeing it after are not the hand-over. */
    const int allocated =
        r->timed && (ca.argv != ca.stack || ca.joined.type != DAGLIB_NULL);
    daglib_context ctx = {r, n, w->index, st, out, NULL};
    observe_try(r, w, &ctx, 1);
    try_task(r, w, pn, &ctx, ca.argc, ca.argv, 1,
             w->went_straight_on && !allocated, times, r->timed);
    if (st->status == NODE_FAILED || ctx.name_buffer != NULL)
        after_first_try(r, w, pn, &ctx, ca.argc, ca.argv, times);
    if (allocated)
        w->went_straight_on = 0;
    release_call_args(&ca);
    if ((pn->flags & NODE_CHUNKED) && st->status != NODE_FAILED) {
        read_clock_afresh(w, r->timed);
        int rc = split_into_chunks(&out->result, task_chunks(pn->task));
        if (rc != DAGLIB_OK) {
            const char *type_names[] = {"NULL", "an integer", "a real", "a text",
                                        "a blob", "a list", "a pointer"};
            free(out->error);
            out->error =
                rc == DAGLIB_NOMEM
                    ? NULL
                    : format_string("its result must be a list to split into "
                                    "%u chunks, not %s",
                                    task_chunks(pn->task),
                                    type_names[daglib_value_type(&out->result)]);
            st->status = NODE_FAILED;
            atomic_store_explicit(&r->messages_kept, 1, memory_order_relaxed);
        }
    }
}

/* Release the arguments node pn has read: the last reader of a result that
 * is not final frees it.  1 when a result was freed. */
static ALWAYS_INLINE int release_args(run *r, const plan_node *pn,
                                      const node_state *st, int single)
{
    /* Set by the predecessors before they handed the node on: without
     * it, no result the node read owns memory, and their outputs (cache
     * misses in a big graph) stay unread. */
    if (!atomic_load_explicit(&st->reads_owned, memory_order_relaxed))
        return 0;
    int freed = 0;
    const plan *p = r->plan;
    const uint32_t *args = &p->args[pn->arg_begin];
    const uint32_t n_args = plan_node_n_args(pn);
    for (uint32_t i = 0; i < n_args; i++) {
        uint32_t up = args[i];
        if (up & PLAN_ARG_CONST)
            continue;
        /* NULLs and numbers own nothing, so nobody needs to count their
         * readers (and their plan node stays out of the cache).  The type
         * is fixed until the last reader of a result that owns memory
         * clears it.  A final is kept. */
        node_output *uout = &r->outputs[up];
        if (!result_owns_memory(&uout->result))
            continue;
        const plan_node *upn = &p->nodes[up];
        if (upn->flags & NODE_FINAL)
            continue;
        const uint32_t readers = plan_node_n_succ(upn);
        if (readers == 1 ||
            arrive(&r->states[up].readers_done, readers, single))
            freed |= discard_result(&uout->result);
    }
    return freed;
}

static void note_failure(run *r, uint32_t n)
{
    uint32_t none = PLAN_NO_NODE;
    atomic_compare_exchange_strong_explicit(&r->first_failure, &none, n,
                                            memory_order_relaxed,
                                            memory_order_relaxed);
    atomic_fetch_add_explicit(&r->n_failed, 1, memory_order_relaxed);
}

static void report_finish(run *r, uint32_t n, const node_state *st,
                          const node_output *out, const task_times *times)
{
    char name[512];
    run_node_name(r, n, name, sizeof name);
    static const int statuses[] = {
        [NODE_OK] = DAGLIB_STATUS_OK,
        [NODE_FAILED] = DAGLIB_STATUS_FAILED,
        [NODE_SKIPPED] = DAGLIB_STATUS_SKIPPED,
    };
    daglib_task_event event = {
        .task_name = name,
        .worker = st->worker,
        .attempt = st->attempts,
        .status = statuses[st->status],
        /* an observed run's clock is CLOCK_MONOTONIC (run.c) */
        .runtime = (double)times->runtime / 1e9,
        .error = st->status == NODE_FAILED && out->error == NULL
                     ? "out of memory"
                     : out->error,
    };
    r->observer->on_finish(r->observer->user_data, &event);
}

static void count_outcome(worker *w, const node_state *st)
{
    atomic_store_explicit(&w->done,
                          atomic_load_explicit(&w->done, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    if (st->status == NODE_FAILED)
        atomic_store_explicit(
            &w->failed,
            atomic_load_explicit(&w->failed, memory_order_relaxed) + 1,
            memory_order_relaxed);
}

/* Run node n, or skip it when a predecessor failed: its status set, its
 * result and message kept, when it ran in *times.  Counts no arrival and
 * no reader, and pushes nothing: what the caller running alone does
 * differently (plain counts, its own stack) is all in close_node() and
 * finish_node(). */
static ALWAYS_INLINE void call_node(run *r, worker *w, uint32_t n,
                                    task_times *times, int timed)
{
    const plan_node *pn = &r->plan->nodes[n];
    node_state *st = &r->states[n];
    node_output *out = &r->outputs[n];
    out->error = NULL;
    value_init(&out->result);
    st->worker = (uint16_t)w->index;
    if (atomic_load_explicit(&st->upstream_failed, memory_order_relaxed)) {
        read_clock_afresh(w, timed);
        st->status = NODE_SKIPPED;
        atomic_fetch_add_explicit(&r->n_skipped, 1, memory_order_relaxed);
    } else {
        if (r->counting)
            atomic_store_explicit(&w->running, 1, memory_order_relaxed);
        if (plain_call(r, pn, timed))
            call_plain_task(r, w, n, pn, st, out, times, timed);
        else
            call_task(r, w, n, pn, st, out, times);
        if (r->counting)
            atomic_store_explicit(&w->running, 0, memory_order_relaxed);
        if (st->status == NODE_FAILED) {
            /* Its result freed, its successors marked: not the hand-over. */
            read_clock_afresh(w, timed);
            value_clear(&out->result);
            note_failure(r, n);
        } else {
            st->status = NODE_OK;
        }
    }
}

/* After call_node(): release the node's arguments, and report it. */
static ALWAYS_INLINE void close_node(run *r, worker *w, uint32_t n,
                                     const task_times *times, int single,
                                     int timed)
{
    const plan_node *pn = &r->plan->nodes[n];
    node_state *st = &r->states[n];
    node_output *out = &r->outputs[n];
    if (release_args(r, pn, st, single))
        read_clock_afresh(w, timed);
    if (plan_node_n_succ(pn) == 0 && !(pn->flags & NODE_FINAL) &&
        discard_result(&out->result))
        read_clock_afresh(w, timed);
    if (timed && r->observer != NULL && r->observer->on_finish != NULL) {
        report_finish(r, n, st, out, times);
        read_clock_afresh(w, timed);
    }
    if (r->counting)
        count_outcome(w, st);
    if (timed && r->profiler != NULL &&
        profiler_task_done(r->profiler, w->index, n, st, out, times))
        read_clock_afresh(w, timed);
}

static ALWAYS_INLINE void run_node(run *r, worker *w, uint32_t n, int single,
                                   int timed)
{
    task_times times = {0, 0, 0};
    call_node(r, w, n, &times, timed);
    close_node(r, w, n, &times, single, timed);
}

/* ---- chunks -------------------------------------------------------------- */

int split_into_chunks(daglib_value *list, uint32_t n)
{
    if (list->type != DAGLIB_LIST)
        return DAGLIB_INVALID;
    size_t length = list->u.list.count;
    size_t base = length / n, longer = length % n;
    daglib_value chunks;
    value_set_list(&chunks);
    if (value_list_reserve(&chunks, n) != DAGLIB_OK)
        return DAGLIB_NOMEM;
    /* Build every chunk first, moving nothing: a failure leaves the list
     * as it was. */
    for (uint32_t c = 0; c < n; c++) {
        daglib_value chunk;
        value_set_list(&chunk);
        size_t size = base + (c < longer);
        if (size > 0 && value_list_reserve(&chunk, size) != DAGLIB_OK) {
            value_clear(&chunks);
            return DAGLIB_NOMEM;
        }
        value_list_push(&chunks, &chunk); /* reserved: cannot fail */
    }
    size_t next = 0;
    for (uint32_t c = 0; c < n; c++) {
        daglib_value *chunk = &chunks.u.list.items[c];
        size_t size = base + (c < longer);
        for (size_t i = 0; i < size; i++)
            value_list_push(chunk, &list->u.list.items[next++]);
    }
    value_clear(list); /* its items were all moved: NULLs now */
    value_move(list, &chunks);
    return DAGLIB_OK;
}

void plan_take_chunk(daglib_context *ctx, int argc,
                     const daglib_value *const *argv)
{
    (void)argc;
    /* The producer split its list before handing on, and each chunk node
     * is the only reader of its own chunk: moving it out is safe, and
     * saves copying every item. */
    daglib_value *chunks = (daglib_value *)argv[0];
    uint32_t i = plan_node_instance(ctx->run->plan, ctx->node);
    daglib_value *slot = &ctx->output->result;
    value_clear(slot);
    value_move(slot, &chunks->u.list.items[i]);
}

/* ---- handing on successors ----------------------------------------------- */

/* Wake one sleeping worker, or all: the caller's thread from the
 * condition variable, parked helpers by posting their slots again.  One
 * is a parked helper when there is one (the caller sleeps on: the run's
 * end wakes it). */
static void wake_sleepers(run *r, worker *w, int all)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&r->n_sleeping, memory_order_relaxed) == 0)
        return;
    read_clock_afresh(w, r->timed);
    worker *unparked = NULL;
    pthread_mutex_lock(&r->sleep_lock);
    if (all || r->parked == NULL)
        pthread_cond_signal(&r->wake_up); /* only the caller waits there */
    while (r->parked != NULL) {
        worker *p = r->parked;
        r->parked = p->next_parked;
        p->next_parked = unparked;
        unparked = p;
        atomic_fetch_sub_explicit(&r->n_sleeping, 1, memory_order_relaxed);
        if (!all)
            break;
    }
    pthread_mutex_unlock(&r->sleep_lock);
    while (unparked != NULL) {
        worker *p = unparked;
        unparked = p->next_parked;
        worker_pool_repost(r->memory->pool, p->index - 1);
    }
}

static void finish_run(run *r)
{
    atomic_store_explicit(&r->done, 1, memory_order_release);
    pthread_mutex_lock(&r->sleep_lock);
    pthread_cond_signal(&r->wake_up); /* the caller, if asleep */
    pthread_mutex_unlock(&r->sleep_lock);
}

static void push_ready(run *r, worker *w, uint32_t n)
{
    int rc = deque_push(&w->queue, n);
    if (rc == 0)
        return;
    read_clock_afresh(w, r->timed); /* the deque grew, or could not */
    if (rc < 0) {
        /* No memory to grow the deque: keep the node on the worker's own
         * overflow stack, linked through the outputs of its nodes, which
         * are not set before they run. */
        r->outputs[n].result.capacity = w->overflow;
        w->overflow = n;
    }
}

/* ---- wide joins ----------------------------------------------------------
 *
 * Every predecessor of a join that finishes adds one to the join's count,
 * and with several workers each addition takes the count's cache line
 * from the worker that added last: at a join of 100,000 tasks that transfer
 * costs more than the tasks.  So a worker keeps its arrivals at one wide
 * join to itself, and adds them in one operation when it has
 * JOIN_BATCH_MAX of them, when it arrives at another wide join, when it is
 * about to run a node that does not feed the join, and before it looks
 * for work beyond its own deque and taken nodes.  The join cannot be
 * ready before the nodes feeding it have run, so holding arrivals while
 * running them delays it not at all; every other move adds them first, so
 * a join becomes ready as soon as the worker holding its last arrivals
 * moves on, and no worker goes idle holding any. */

/* Add the arrivals w holds; the join, when they completed it, or
 * PLAN_NO_NODE. */
static uint32_t settle_arrivals(run *r, worker *w)
{
    if (w->join_count == 0)
        return PLAN_NO_NODE;
    uint32_t join = w->join_node, count = w->join_count;
    w->join_count = 0;
    w->join_node = PLAN_NO_NODE;
    uint32_t before = atomic_fetch_add_explicit(&r->states[join].preds_done,
                                                count, memory_order_acq_rel);
    return before + count == r->plan->nodes[join].n_preds ? join
                                                          : PLAN_NO_NODE;
}

/* Take the sinks w finished off the run's count; the run is over when
 * that was the last of them. */
static void settle_sinks(run *r, worker *w)
{
    uint32_t held = w->sinks_held;
    if (held == 0)
        return;
    w->sinks_held = 0;
    if (atomic_fetch_sub_explicit(&r->sinks_left, held, memory_order_acq_rel) ==
        held)
        finish_run(r);
}

/* All that w holds, before it looks for work beyond its own deque and
 * taken nodes (and perhaps sleeps): the join these arrivals completed,
 * or PLAN_NO_NODE. */
static uint32_t settle_up(run *r, worker *w)
{
    settle_sinks(r, w);
    return settle_arrivals(r, w);
}

/* Note that a predecessor of wide join s finished.  Returns a node these
 * arrivals or the ones held before made ready (s, or the join held
 * before), or PLAN_NO_NODE; *also_ready a second one in the rare case
 * that both became ready. */
static uint32_t note_arrival(run *r, worker *w, uint32_t s,
                             uint32_t *also_ready)
{
    *also_ready = PLAN_NO_NODE;
    if (w->join_node != s) {
        *also_ready = settle_arrivals(r, w);
        w->join_node = s;
    }
    if (++w->join_count < JOIN_BATCH_MAX)
        return PLAN_NO_NODE;
    return settle_arrivals(r, w);
}

/* Whether node n feeds the join w holds arrivals for, as far as a short
 * look at its successors tells. */
static int feeds_held_join(const run *r, const worker *w, uint32_t n)
{
    const plan *p = r->plan;
    const plan_node *pn = &p->nodes[n];
    const uint32_t *succ = &p->succ[pn->succ_begin];
    uint32_t n_succ = plan_node_n_succ(pn);
    uint32_t look = n_succ < JOIN_FEEDS_SEARCH ? n_succ : JOIN_FEEDS_SEARCH;
    for (uint32_t i = 0; i < look; i++)
        if (succ[i] == w->join_node)
            return 1;
    return 0;
}

/* Hand on the successors of node n: returns the one to run next on this
 * worker, or PLAN_NO_NODE. */
static ALWAYS_INLINE uint32_t finish_node(run *r, worker *w, uint32_t n,
                                          int single, single_stack *stack,
                                          int timed)
{
    const plan *p = r->plan;
    const plan_node *pn = &p->nodes[n];
    const int failed = r->states[n].status != NODE_OK;
    /* What release_args() counts: a failed node's result was cleared. */
    const int owned = result_owns_memory(&r->outputs[n].result) &&
                      !(pn->flags & NODE_FINAL);
    const uint32_t *succ = &p->succ[pn->succ_begin];
    const uint32_t n_succ = plan_node_n_succ(pn);
    uint32_t next = PLAN_NO_NODE;
    uint32_t pushed = 0;
    if (n_succ > QUICK_HANDOVER_SUCCESSORS)
        read_clock_afresh(w, timed);
    for (uint32_t i = 0; i < n_succ; i++) {
        uint32_t s = succ[i];
        node_state *sst = &r->states[s];
        if (failed)
            atomic_store_explicit(&sst->upstream_failed, 1,
                                  memory_order_relaxed);
        if (owned)
            atomic_store_explicit(&sst->reads_owned, 1, memory_order_relaxed);
        uint32_t preds = p->nodes[s].n_preds;
        if (!single && preds >= JOIN_BATCH_MIN_PREDS) {
            uint32_t earlier;
            s = note_arrival(r, w, s, &earlier);
            if (earlier != PLAN_NO_NODE) {
                if (next == PLAN_NO_NODE) {
                    next = earlier;
                } else {
                    push_ready(r, w, earlier);
                    pushed++;
                }
            }
            if (s == PLAN_NO_NODE)
                continue;
        } else if (preds != 1 && !arrive(&sst->preds_done, preds, single)) {
            continue;
        }
        if (next == PLAN_NO_NODE) {
            next = s;
        } else if (single) {
            stack->items[stack->top++] = s;
        } else {
            push_ready(r, w, s);
            pushed++;
        }
    }
    if (pushed > 0)
        wake_sleepers(r, w, pushed > 1);
    /* The run's count of sinks left is a wide join of its own. */
    if (n_succ == 0) {
        if (single) {
            if (count_down(&r->sinks_left, 1) == 1)
                finish_run(r);
        } else if (++w->sinks_held == JOIN_BATCH_MAX) {
            settle_sinks(r, w);
        }
    }
    return next;
}

/* ---- the caller alone -------------------------------------------------------
 *
 * Helpers take tens of microseconds to arrive (a thread woken on another
 * CPU, which on a virtual machine may have to be woken itself), and a run
 * of small tasks is well under way by then.  So until one does, the
 * caller runs the plan as a one-worker run does, with plain counts and its
 * ready nodes on a stack of its own: no locked instruction, no fence.  A
 * 10,000-task wavefront's run on 2 workers after a pause took 8.5-10 ns a
 * task instead of 15.
 *
 * Sharing starts when the first helper arrives and sets helper_joining,
 * which the caller checks after each task's call.  Whoever first moves
 * `sharing` on deals the caller's stack out as deque entries.  As a rule
 * the caller, into its own deque, after its next task.  But the caller
 * sets caller_in_task around each task's call, and when the helper finds
 * it in a task for HELPER_PATIENCE_NS, it makes the caller's thread fence
 * (remote_fence: microseconds, too dear for every run; the process
 * registers for it first, 15-20 ms on a thread of its own) and then,
 * seeing the caller in a task, deals the stack out into its own deque:
 * nobody waits for a long task much longer than the patience (and the
 * registering, once).  Then the caller hands that task's successors on,
 * and everybody goes on, as several workers do.  Where the system has no
 * such fence, the helper waits for the caller's task to end, and runs
 * are shared from the start.
 *
 * Why the caller needs no fence between clearing caller_in_task and
 * reading helper_joining: the helper's remote fence runs on the caller's
 * thread at some point P, after helper_joining was set.  A clearing of
 * the flag before P is seen by the helper, which reads after its fence;
 * so any 1 it reads there was stored by a task that had not cleared it
 * by P, and that task's check after its call comes after P and sees
 * helper_joining set.  So the caller never goes on alone after a task a
 * helper saw it in, and it touches its stack and plain counts only after
 * a check that saw no helper. */

/* Deal the caller's stack out onto w's deque, and share from then on. */
static void start_sharing(run *r, worker *w)
{
    single_stack *stack = &r->alone;
    /* The stack's top goes last: the newest, which the deque's owner takes
     * first (but for the last few, which it takes oldest first). */
    if (deque_push_all(&w->queue, stack->items, stack->top) != 0)
        for (uint32_t i = 0; i < stack->top; i++)
            push_ready(r, w, stack->items[i]);
    stack->top = 0;
    atomic_store_explicit(&r->sharing, SHARING, memory_order_release);
}

/* Whether w's thread got to start sharing (and did); 0 when another did
 * or is doing it. */
static int claim_sharing(run *r, worker *w)
{
    int expected = SHARING_NOT_YET;
    if (!atomic_compare_exchange_strong_explicit(
            &r->sharing, &expected, SHARING_STARTING, memory_order_acq_rel,
            memory_order_relaxed))
        return 0;
    start_sharing(r, w);
    return 1;
}

/* A helper waiting for the run to be shared: spin, then yield, then nap
 * -- the caller may be in a long task or long between two. */
static void wait_a_round(unsigned round)
{
    if (round < SPIN_ROUNDS) {
        cpu_relax();
    } else if (round < SPIN_ROUNDS + YIELD_ROUNDS) {
        sched_yield();
    } else {
        struct timespec nap = {0, HELPER_PATIENCE_NS};
        nanosleep(&nap, NULL);
    }
}

/* Wait for whoever starts sharing; 0 when the run ended first. */
static int wait_for_sharing(run *r)
{
    for (unsigned round = 0;; round++) {
        if (atomic_load_explicit(&r->sharing, memory_order_acquire) == SHARING)
            return 1;
        if (atomic_load_explicit(&r->done, memory_order_acquire))
            return 0;
        wait_a_round(round);
    }
}

/* Run the plan on the caller's thread alone, from its sources.  With
 * helpers coming (watched), only until one joins: then 1, and *next the
 * node the caller goes on with (or PLAN_NO_NODE), the rest of the run
 * shared; 0 when the run ended first. */
static ALWAYS_INLINE int run_alone_with(run *r, single_stack *stack,
                                        uint32_t *next, int watched,
                                        int timed)
{
    worker *w = &r->workers[0];
    const plan *p = r->plan;
    /* Reverse, so the first source runs first. */
    for (uint32_t i = p->n_sources; i-- > 0;)
        stack->items[stack->top++] = p->sources[i];
    while (stack->top > 0) {
        uint32_t n = stack->items[--stack->top];
        do {
            task_times times = {0, 0, 0};
            if (watched) {
                atomic_store_explicit(&r->caller_in_task, 1,
                                      memory_order_release);
                call_node(r, w, n, &times, timed);
                atomic_store_explicit(&r->caller_in_task, 0,
                                      memory_order_relaxed);
                /* No fence here: the joining helper's stands for it. */
                atomic_signal_fence(memory_order_seq_cst);
                if (atomic_load_explicit(&r->helper_joining,
                                         memory_order_relaxed)) {
                    /* Never the run's end: n is not handed on yet. */
                    if (!claim_sharing(r, w))
                        wait_for_sharing(r);
                    /* Dealing out and waiting are not the hand-over. */
                    read_clock_afresh(w, timed);
                    close_node(r, w, n, &times, 0, timed);
                    *next = finish_node(r, w, n, 0, NULL, timed);
                    return 1;
                }
            } else {
                call_node(r, w, n, &times, timed);
            }
            close_node(r, w, n, &times, 1, timed);
            n = finish_node(r, w, n, 1, stack, timed);
        } while (n != PLAN_NO_NODE);
    }
    return 0;
}

/* The whole run, on a thread no helper joins. */
static void run_single(run *r, single_stack *stack)
{
    uint32_t next;
    if (r->timed)
        run_alone_with(r, stack, &next, 0, 1);
    else
        run_alone_with(r, stack, &next, 0, 0);
}

/* The run until a helper joins (1, and *next: run_alone_with()). */
static int run_until_joined(run *r, uint32_t *next)
{
    if (r->timed)
        return run_alone_with(r, &r->alone, next, 1, 1);
    return run_alone_with(r, &r->alone, next, 1, 0);
}

/* A helper arriving at a run the caller may still run alone: 1 once the
 * run is shared, 0 when it ended first. */
static int helper_arrives(run *r, worker *w)
{
    if (atomic_load_explicit(&r->sharing, memory_order_acquire) == SHARING)
        return 1;
    /* Only the first helper to arrive may deal the caller's stack out. */
    if (atomic_exchange_explicit(&r->helper_joining, 1, memory_order_seq_cst))
        return wait_for_sharing(r);
    /* Since when every look found the caller in a task (0: the last did
     * not): only a task longer than the patience is worth a fence, and
     * looks come a nap apart, so it takes one at least twice as long.  A
     * caller long between two tasks (handing on a wide fan-out, freeing a
     * big result, an observer's or the profiler's callback) shares after
     * its next task, without a fence. */
    int64_t in_task_since = 0;
    /* 1: the caller's thread fenced; -1: it cannot be made to. */
    int fenced = 0;
    for (unsigned round = 0;; round++) {
        int sharing = atomic_load_explicit(&r->sharing, memory_order_acquire);
        if (sharing == SHARING)
            return 1;
        if (atomic_load_explicit(&r->done, memory_order_acquire))
            return 0;
        int in_task =
            atomic_load_explicit(&r->caller_in_task, memory_order_acquire);
        if (sharing == SHARING_NOT_YET && fenced == 1 && in_task &&
            claim_sharing(r, w))
            return 1;
        if (sharing == SHARING_NOT_YET && fenced == 0) {
            if (!in_task)
                in_task_since = 0;
            else if (in_task_since == 0)
                in_task_since = ticks_monotonic_ns();
            else if (ticks_monotonic_ns() - in_task_since > HELPER_PATIENCE_NS)
                switch (remote_fence()) {
                case 0:
                    fenced = 1;
                    break;
                case 1: /* registering the process: look again */
                    break;
                default:
                    fenced = -1;
                }
        }
        wait_a_round(round);
    }
}

/* ---- several workers ------------------------------------------------------- */

static int any_work(run *r)
{
    for (uint32_t i = 0; i < r->n_workers; i++)
        if (deque_maybe_nonempty(&r->workers[i].queue))
            return 1;
    return 0;
}

/* Under the sleep lock: count the calling worker asleep, then see whether
 * it may sleep: no work anywhere, and the run not over.  A worker that
 * pushes work and then finds nobody counted asleep (wake_sleepers) is
 * seen here; one that finds somebody takes the lock and wakes them. */
static int may_sleep(run *r)
{
    atomic_fetch_add_explicit(&r->n_sleeping, 1, memory_order_seq_cst);
    atomic_thread_fence(memory_order_seq_cst);
    return !any_work(r) &&
           !atomic_load_explicit(&r->done, memory_order_acquire);
}

/* A helper with nothing to do gives its thread back (1), unless work
 * turned up or the run is over (0).  Its slot is posted again by
 * wake_sleepers(); until then, the worker stays counted hungry. */
static int park(run *r, worker *w)
{
    pthread_mutex_lock(&r->sleep_lock);
    int parked = may_sleep(r);
    if (parked) {
        w->parked_hungry = 1;
        w->next_parked = r->parked;
        r->parked = w;
    } else {
        atomic_fetch_sub_explicit(&r->n_sleeping, 1, memory_order_seq_cst);
    }
    pthread_mutex_unlock(&r->sleep_lock);
    return parked;
}

static void sleep_until_work(run *r)
{
    pthread_mutex_lock(&r->sleep_lock);
    if (may_sleep(r))
        pthread_cond_wait(&r->wake_up, &r->sleep_lock);
    atomic_fetch_sub_explicit(&r->n_sleeping, 1, memory_order_seq_cst);
    pthread_mutex_unlock(&r->sleep_lock);
}

static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

static int someone_hungry(const run *r)
{
    return atomic_load_explicit(&r->n_hungry, memory_order_relaxed) != 0;
}

/* Put all but the next of the worker's taken nodes back where others can
 * steal them. */
static void hand_back_taken(run *r, worker *w)
{
    read_clock_afresh(w, r->timed);
    uint32_t handed = w->n_taken - 1;
    for (uint32_t i = 0; i < handed; i++)
        push_ready(r, w, w->taken[i]);
    w->taken[0] = w->taken[handed];
    w->n_taken = 1;
    wake_sleepers(r, w, handed > 1);
}

static void no_longer_hungry(run *r, int *hungry)
{
    if (*hungry)
        atomic_fetch_sub_explicit(&r->n_hungry, 1, memory_order_relaxed);
    *hungry = 0;
}

/* Steal, spin, yield, sleep -- until a node turns up (returned), or the
 * run is over or a helper parked (PLAN_NO_NODE). */
static uint32_t find_work(worker *w)
{
    run *r = w->run;
    uint32_t n_workers = r->n_workers;
    /* Counted in r->n_hungry; a helper posted again after it parked still
     * is (it held nothing when it parked, so it comes straight here). */
    int hungry = w->parked_hungry;
    w->parked_hungry = 0;
    for (unsigned round = 0;; round++) {
        if (atomic_load_explicit(&r->done, memory_order_acquire)) {
            no_longer_hungry(r, &hungry);
            return PLAN_NO_NODE;
        }
        uint32_t start = (uint32_t)(next_random(&w->rng) % n_workers);
        for (uint32_t k = 0; k < n_workers; k++) {
            uint32_t victim = start + k < n_workers ? start + k
                                                    : start + k - n_workers;
            if (victim == w->index)
                continue;
            uint32_t stolen[DEQUE_STEAL_MAX];
            uint32_t got = deque_steal(&r->workers[victim].queue, stolen);
            if (got == 0)
                continue;
            /* Run the oldest now, the rest next, oldest first -- unless
             * others found nothing to steal: then where they can. */
            no_longer_hungry(r, &hungry);
            for (uint32_t i = got - 1; i > 0; i--)
                w->taken[w->n_taken++] = stolen[i];
            if (w->n_taken > 1 && someone_hungry(r))
                hand_back_taken(r, w);
            return stolen[0];
        }
        if (!hungry) { /* nothing anywhere: ask for what others hold */
            hungry = 1;
            atomic_fetch_add_explicit(&r->n_hungry, 1, memory_order_relaxed);
        }
        if (round < SPIN_ROUNDS) {
            cpu_relax();
        } else if (round < SPIN_ROUNDS + YIELD_ROUNDS) {
            sched_yield();
        } else if (w->index == 0) {
            sleep_until_work(r);
            round = 0;
        } else if (park(r, w)) {
            /* Hungry still.  w may run on another thread already: nothing
             * of it is touched from here on. */
            return PLAN_NO_NODE;
        } else {
            round = 0;
        }
    }
}

/* The next node the worker holds: taken before, else from its deque (a
 * batch while nobody is hungry), else from its overflow stack; or
 * DEQUE_EMPTY.  Taken nodes were handed back, if someone is hungry, after
 * the task that ran last (worker_loop_with). */
static uint32_t take_own(worker *w)
{
    uint32_t n;
    if (w->n_taken > 0)
        n = w->taken[--w->n_taken];
    else if (someone_hungry(w->run))
        n = deque_take(&w->queue);
    else if ((w->n_taken = deque_take_batch(&w->queue, w->taken)) > 0)
        n = w->taken[--w->n_taken];
    else
        n = DEQUE_EMPTY;
    if (n == DEQUE_EMPTY && w->overflow != PLAN_NO_NODE) {
        n = w->overflow;
        w->overflow = w->run->outputs[n].result.capacity;
    }
    return n;
}

/* Run nodes until the run is over (or w parks), starting with node n,
 * when it is not PLAN_NO_NODE. */
static ALWAYS_INLINE void worker_loop_with(worker *w, uint32_t n, int timed)
{
    run *r = w->run;
    for (;; n = PLAN_NO_NODE) {
        if (n == PLAN_NO_NODE)
            n = take_own(w);
        if (n == DEQUE_EMPTY)
            n = settle_up(r, w); /* before looking elsewhere */
        if (n == PLAN_NO_NODE) {
            read_clock_afresh(w, timed); /* the time looking is nobody's */
            n = find_work(w);
        }
        if (n == PLAN_NO_NODE)
            return;
        do {
            if (w->join_count > 0 && !feeds_held_join(r, w, n)) {
                uint32_t join = settle_arrivals(r, w);
                if (join != PLAN_NO_NODE) {
                    push_ready(r, w, join);
                    wake_sleepers(r, w, 0);
                }
            }
            run_node(r, w, n, 0, timed);
            n = finish_node(r, w, n, 0, NULL, timed);
            /* After every task, whether the worker goes straight on or
             * to take_own() next. */
            if (w->n_taken > 1 && someone_hungry(r))
                hand_back_taken(r, w);
        } while (n != PLAN_NO_NODE);
    }
}

static void worker_loop(worker *w, uint32_t first)
{
    if (w->run->timed)
        worker_loop_with(w, first, 1);
    else
        worker_loop_with(w, first, 0);
}

/* Helper k of the pool is worker k + 1; the run's caller is worker 0. */
static void helper_job(void *ctx, uint32_t slot)
{
    run *r = ctx;
    worker *w = &r->workers[slot + 1];
    if (helper_arrives(r, w))
        worker_loop(w, PLAN_NO_NODE);
}

/* ---- the run ---------------------------------------------------------------- */

static void free_node_memory(run_memory *m)
{
    big_free(m->states);
    big_free(m->outputs);
    free(m->stack); /* malloc: only the depth the runs reached is touched */
    m->states = NULL;
    m->outputs = NULL;
    m->stack = NULL;
    m->capacity = 0;
}

void run_memory_free(run_memory *m)
{
    free_node_memory(m);
    worker_pool_free(m->pool);
    m->pool = NULL;
}

/* Zeroed states for n nodes, and room for their outputs: the kept ones,
 * the states cleared (a run used them), or new ones when they are too
 * few.  0, or -1 when memory runs out. */
static int prepare_memory(run_memory *m, uint32_t n)
{
    if (m->states != NULL && n <= m->capacity) {
        memset(m->states, 0, ((size_t)n + 1) * sizeof *m->states);
        return 0;
    }
    free_node_memory(m);
    m->states = big_alloc((size_t)n + 1, sizeof *m->states);
    m->outputs = big_alloc_raw((size_t)n + 1, sizeof *m->outputs);
    if (m->states == NULL || m->outputs == NULL) {
        free_node_memory(m);
        return -1;
    }
    m->capacity = n;
    return 0;
}

int run_init(run *r, const plan *p, const struct daglib_dag *dag,
             run_memory *memory, uint32_t n_workers)
{
    memset(r, 0, sizeof *r);
    r->plan = p;
    r->dag = dag;
    r->memory = memory;
    r->n_workers = n_workers;
    if (prepare_memory(memory, p->n_nodes) != 0)
        goto nomem;
    /* Zeroes are every node's starting state: no predecessor done, no
     * reader done, no failure upstream, not run. */
    r->states = memory->states;
    r->outputs = memory->outputs;
    r->workers = calloc(n_workers, sizeof *r->workers);
    if (r->workers == NULL)
        goto nomem;
    for (uint32_t i = 0; i < n_workers; i++) {
        worker *w = &r->workers[i];
        w->run = r;
        w->index = i;
        w->overflow = PLAN_NO_NODE;
        w->join_node = PLAN_NO_NODE;
        w->join_count = 0;
        w->sinks_held = 0;
        atomic_init(&w->done, 0);
        atomic_init(&w->failed, 0);
        atomic_init(&w->running, 0);
        w->rng = 0x9E3779B97F4A7C15ull * (i + 1);
        if (n_workers > 1 && deque_init(&w->queue) != 0) {
            for (uint32_t j = 0; j < i; j++)
                deque_destroy(&r->workers[j].queue);
            goto nomem;
        }
    }
    atomic_init(&r->sinks_left, p->n_sinks);
    atomic_init(&r->done, 0);
    atomic_init(&r->first_failure, PLAN_NO_NODE);
    atomic_init(&r->n_failed, 0);
    atomic_init(&r->n_skipped, 0);
    atomic_init(&r->n_sleeping, 0);
    atomic_init(&r->n_hungry, 0);
    atomic_init(&r->messages_kept, 0);
    atomic_init(&r->sharing, SHARING_NOT_YET);
    atomic_init(&r->helper_joining, 0);
    atomic_init(&r->caller_in_task, 0);
    pthread_mutex_init(&r->sleep_lock, NULL);
    pthread_cond_init(&r->wake_up, NULL);
    return 0;

nomem:
    free(r->workers);
    memset(r, 0, sizeof *r);
    return -1;
}

int run_execute(run *r)
{
    const plan *p = r->plan;
    if (p->n_nodes == 0)
        return 0;
    run_memory *m = r->memory;
    /* Only as many workers as there are threads for: the others (threads
     * or memory ran out) never run. */
    uint32_t helpers =
        r->n_workers > 1 ? worker_pool_reserve(&m->pool, r->n_workers - 1)
                         : 0;
    /* Alone first, unless a helper could not take a long task's stack
     * over in an earlier run. */
    int alone_first = helpers == 0 || !remote_fence_refused();
    if (alone_first && m->stack == NULL &&
        (m->stack = malloc(((size_t)m->capacity + 1) * sizeof *m->stack)) ==
            NULL) {
        if (r->n_workers == 1)
            return -1;
        alone_first = 0; /* the deques run_init() made will do */
    }
    if (alone_first && helpers == 0) {
        /* A local stack: its top can stay in a register across tasks. */
        single_stack stack = {m->stack, 0};
        run_single(r, &stack);
        return 0;
    }
    if (alone_first) {
        r->alone = (single_stack){m->stack, 0};
        worker_pool_post(m->pool, helpers, helper_job, r);
        uint32_t next;
        if (run_until_joined(r, &next))
            worker_loop(&r->workers[0], next);
    } else {
        /* Shared from the start: the sources dealt out, so that workers
         * start without stealing. */
        atomic_store_explicit(&r->sharing, SHARING, memory_order_relaxed);
        for (uint32_t i = 0; i < p->n_sources; i++)
            push_ready(r, &r->workers[i % (helpers + 1)], p->sources[i]);
        worker_pool_post(m->pool, helpers, helper_job, r);
        worker_loop(&r->workers[0], PLAN_NO_NODE);
    }
    worker_pool_wait(m->pool);
    return 0;
}

void run_destroy(run *r)
{
    /* Every result that owns memory was freed by its last reader, or at
     * once when it had none, except the finals'; messages are rare and
     * flagged.  So a clean run has no state to visit but the finals. */
    if (r->states != NULL && atomic_load(&r->messages_kept)) {
        for (uint32_t n = 0; n < r->plan->n_nodes; n++) {
            if (!node_ran(&r->states[n]))
                continue;
            discard_result(&r->outputs[n].result);
            free(r->outputs[n].error);
        }
    } else if (r->states != NULL) {
        for (uint32_t f = 0; f < r->plan->n_finals; f++)
            if (node_ran(&r->states[r->plan->finals[f]]))
                discard_result(&r->outputs[r->plan->finals[f]].result);
    }
    if (r->workers != NULL && r->n_workers > 1)
        for (uint32_t i = 0; i < r->n_workers; i++)
            deque_destroy(&r->workers[i].queue);
    if (r->workers != NULL) {
        pthread_mutex_destroy(&r->sleep_lock);
        pthread_cond_destroy(&r->wake_up);
    }
    free(r->workers); /* the states stay with the DAG for its next run */
    memset(r, 0, sizeof *r);
}

size_t run_node_name(const run *r, uint32_t n, char *buf, size_t size)
{
    int len = plan_node_name(r->plan, n, buf, size);
    if (len < 0)
        return 0;
    return (size_t)len < size ? (size_t)len : size - 1;
}
