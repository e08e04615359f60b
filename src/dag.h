/*
 * dag.h -- what a DAG holds between building and running it.
 *
 * Building only records: tasks, and references to other tasks by name
 * (inputs, extra dependencies).  Names are resolved, the graph expanded
 * and checked when the DAG is compiled into a plan (plan.c), at the first
 * run after a change; the plan is then reused by later runs.
 *
 * Build errors are sticky (error_is_sticky): once one happened, the DAG
 * refuses everything but freeing, so a program can build without checking
 * every call and still get the first error from daglib_run().
 */
#ifndef DAGLIB_DAG_H
#define DAGLIB_DAG_H

#include <stdatomic.h>
#include <stdint.h>

#include "arena.h"
#include "big_array.h"
#include "daglib.h"
#include "error.h"
#include "meta_path.h"
#include "name_table.h"

struct plan;
struct run_memory;

typedef enum task_ref_kind {
    REF_INPUT,   /* result passed as a named input */
    REF_DEPENDS, /* extra dependency, result passed after the inputs */
    REF_MAP,     /* mapped over that task's instances */
    REF_JOIN     /* joins that task's instances */
} task_ref_kind;

typedef enum task_kind {
    TASK_PLAIN,
    TASK_MAP_VALUES, /* over a static list */
    TASK_MAP,        /* over another task's instances (a REF_MAP reference) */
    TASK_JOIN        /* of another task's instances (a REF_JOIN reference) */
} task_kind;

/* A reference from one task to another, 8 bytes: who refers, how, and to
 * what.  A name already known when the reference is made is mostly
 * resolved at once; the others point into the DAG's pending names, kept
 * for the compiler, which resolves them in place. */
typedef struct task_ref {
    uint32_t from_kind; /* index of the referring task | kind << REF_KIND_SHIFT */
    uint32_t target;    /* index of the referenced task, or REF_PENDING | i */
} task_ref;

#define REF_KIND_SHIFT 30
#define REF_FROM_MASK ((1u << REF_KIND_SHIFT) - 1)
#define REF_PENDING 0x80000000u
/* Tasks are numbered below this (a reference keeps its kind above). */
#define DAG_MAX_TASKS REF_FROM_MASK

static inline uint32_t ref_from(task_ref r) { return r.from_kind & REF_FROM_MASK; }
static inline task_ref_kind ref_kind(task_ref r)
{
    return (task_ref_kind)(r.from_kind >> REF_KIND_SHIFT);
}

/* A referenced name not resolved when referred to: not a task yet, or
 * not looked up then (daglib_dag's guesses, below). */
typedef struct pending_name {
    const char *name; /* in the DAG's pending_strings */
    uint32_t len;
    uint32_t hash; /* name_hash(), computed when referred to */
} pending_name;

/* What few tasks have: a list to map over, chunks, a retry policy. */
typedef struct task_extra {
    daglib_value *map_values; /* TASK_MAP_VALUES: the DAG's own copy */
    daglib_retry retry;       /* attempts 1: no retry */
    uint32_t chunks;          /* 0: the result is not chunked */
} task_extra;

/* 48 bytes per task; its name is in the arena, what compiling needs of it
 * apart (task_links). */
struct daglib_task {
    daglib_dag *dag;
    const char *name; /* in the DAG's arena, like description */
    const char *description;
    void *user_data;
    task_extra *extra; /* NULL: plain, unchunked, no retry */
    uint32_t index;
    uint16_t name_len; /* at most TASK_NAME_MAX_BYTES */
    uint8_t kind;      /* task_kind */
    uint8_t final;
};

/* What compiling reads of a task, 16 bytes in blocks of their own, not the
 * whole task: its function, and how many references it makes and
 * receives -- counted as references are made, while both tasks are in
 * cache, so that a DAG of plain tasks is laid out in one pass over these
 * with nothing to count. */
typedef struct task_links {
    daglib_task_fn fn;
    uint32_t n_refs_out; /* references it makes, resolved or not */
    uint32_t n_refs_in;  /* resolved references to it */
} task_links;

/* Longest task name: names are written in every profiling record. */
#define TASK_NAME_MAX_BYTES 4096
_Static_assert(TASK_NAME_MAX_BYTES <= UINT16_MAX, "a name's length fits");

#define REF_GUESS_POSITIONS 4
#define REF_GUESS_GIVE_UP 4
#define REF_LOOKUP_EVERY 128
#define REF_PUT_OFF_FROM_SLOTS (1u << 17)

typedef enum dag_codec { DAG_CODEC_NULL, DAG_CODEC_DEFLATE } dag_codec;

struct daglib_dag {
    char *name;
    char *description;
    unsigned flags;
    char *meta_dir; /* NULL: DAGLIB_META_DIR or "meta" at each run */
    int workers;
    dag_codec codec;

    error_state error;
    int error_is_sticky;

    arena strings; /* names, descriptions, task extras */
    /* Tasks and references in blocks that never move (big_array.h's
     * block_of): task i is task_blocks[block][offset]. */
    daglib_task *task_blocks[GROW_BLOCKS];
    task_links *link_blocks[GROW_BLOCKS]; /* numbered as the tasks */
    uint32_t n_tasks;
    /* The most tasks daglib_dag_reserve() said there will be (0: never
     * said): tasks' memory is not faulted in ahead past them. */
    uint32_t tasks_expected;
    name_table task_names;
    /* Guesses at the task a name refers to, each one compare, tried
     * before hashing the name: big DAGs are built by loops, and loops
     * refer in patterns -- to the task after the one last referred to (a
     * join taking t1, t2, ...), or, for a task's k-th reference, as far
     * back as the previous such reference went (a chain, a grid's row
     * above and cell to the left) or to the same task (a fan out of one
     * source).  A task's references past the last position share it.
     * Each wrong guess costs a cache miss in a big DAG, so a position
     * whose guesses were all wrong REF_GUESS_GIVE_UP times in a row (a
     * graph referring at random) stops guessing until a looked-up name
     * turns out to be one a guess would have found.
     *
     * Where the name table is too big for the caches (from
     * REF_PUT_OFF_FROM_SLOTS slots, 1 MiB), a lookup at random waits on
     * three cache misses in a row: the slot, the task, its name.  So such
     * a position puts its lookups off, keeping each name with its hash,
     * and compiling looks them up many at once (dag_find_pending), their
     * misses overlapping.  Two references in a row of every
     * REF_LOOKUP_EVERY are still looked up at once, to tell when the
     * pattern is back. */
    uint32_t next_referred;
    uint32_t ref_distance[REF_GUESS_POSITIONS];
    uint32_t ref_target[REF_GUESS_POSITIONS];
    uint8_t guesses_missed[REF_GUESS_POSITIONS]; /* in a row, up to GIVE_UP */
    task_ref *ref_blocks[GROW_BLOCKS]; /* in the order they were declared */
    uint32_t n_refs;
    /* What the references are like, for the compiler: some reference is
     * to a task not before the referring one (refs_backward), some comes
     * after a reference from a later task (refs_unordered), some is a
     * dependency rather than an input (refs_depend).  A DAG built task by
     * task, each taking earlier tasks' results, has none of them. */
    uint8_t refs_backward, refs_unordered, refs_depend;
    uint32_t last_ref_from;
    int has_kinds; /* some task is mapped, joining or chunked */
    uint32_t *finals; /* task indices, in the order they were marked */
    uint32_t n_finals, final_capacity;

    struct plan *plan; /* compiled; NULL until the next run compiles it */
    struct run_memory *run_memory; /* kept from run to run; NULL before */
    atomic_int running;

    daglib_observer observer; /* no callbacks by default */
    FILE *progress;           /* NULL: no progress line */

    char run_id[META_RUN_ID_SIZE]; /* "" before the first run */
    char *profile_path;

    /* Names not resolved when referred to, in blocks like the references,
     * their bytes in an arena of their own: both are handed back once
     * compiling resolved them all. */
    pending_name *pending_blocks[GROW_BLOCKS];
    uint32_t n_pending;
    arena pending_strings;
    /* References put off at each guess position, up to REF_LOOKUP_EVERY
     * (above). */
    uint8_t lookups_put_off[REF_GUESS_POSITIONS];
};

static inline daglib_task *dag_task(const daglib_dag *dag, uint32_t i)
{
    uint32_t offset, block = block_of(i, &offset);
    return &dag->task_blocks[block][offset];
}

static inline task_links *dag_task_links(const daglib_dag *dag, uint32_t i)
{
    uint32_t offset, block = block_of(i, &offset);
    return &dag->link_blocks[block][offset];
}

static inline task_ref *dag_ref(const daglib_dag *dag, uint32_t r)
{
    uint32_t offset, block = block_of(r, &offset);
    return &dag->ref_blocks[block][offset];
}

/* The pending name a reference's target REF_PENDING | i points to. */
static inline pending_name *dag_pending(const daglib_dag *dag, uint32_t target)
{
    uint32_t offset, block = block_of(target & ~REF_PENDING, &offset);
    return &dag->pending_blocks[block][offset];
}

/* Count a reference from task `from` resolved to task `target`: made
 * to a known task, or a pending name found when compiling. */
static inline void dag_note_resolved(daglib_dag *dag, uint32_t from,
                                     uint32_t target)
{
    dag_task_links(dag, target)->n_refs_in++;
    dag->refs_backward |= target >= from;
}

/* The task's retry policy, chunks, static list. */
const daglib_retry *task_retry(const daglib_task *task);

static inline uint32_t task_chunks(const daglib_task *task)
{
    return task->extra != NULL ? task->extra->chunks : 0;
}

/* Record a run-time error on the DAG (not sticky); returns code. */
int dag_run_error(daglib_dag *dag, int code, const char *fmt, ...)
    DAGLIB_PRINTF(3, 4);

/* The index of the task called name, or NAME_NOT_FOUND. */
uint32_t dag_find_task(const daglib_dag *dag, const char *name, uint32_t len);

/* dag_find_task() for n (at most DAG_FIND_MANY) pending names, into
 * found[0..n), trying task guess + i for names[i] first (unless guess is
 * NAME_NOT_FOUND).  Each step of the other lookups -- the hash slot, the
 * task it holds, that task's name and counts -- is asked of the memory
 * for all of them before any is read, so that their cache misses
 * overlap, where a lookup on its own waits on three in a row in a big
 * DAG. */
#define DAG_FIND_MANY 32
void dag_find_pending(const daglib_dag *dag, const pending_name *const names[],
                      uint32_t n, uint32_t guess, uint32_t found[]);

/* Hand back the pending names, every reference resolved. */
void dag_forget_pending(daglib_dag *dag);

/* Forget the compiled plan (the graph changed). */
void dag_invalidate_plan(daglib_dag *dag);

/* The codec's Avro name. */
const char *dag_codec_name(dag_codec codec);

#endif
