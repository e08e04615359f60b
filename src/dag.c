/*
 * dag.c -- creating a DAG, adding tasks and their references, settings.
 *
 * Everything here is the cold path of a program's start-up, but building a
 * million-task graph should still cost little per task: task structs (48
 * bytes), their links (function and reference counts, 16 bytes) and
 * references (8 bytes) go to block arrays that never move, strings to
 * arenas, names to one hash table probed at most once per call (a
 * reference first tries three guesses from the last ones, and one going
 * at random into a big DAG is looked up when compiling: dag.h), and
 * nothing is copied as the DAG grows.
 *
 * Every build call starts with dag_build_check(): a sticky error, a NULL
 * DAG or a running DAG end the call before anything changes.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dag.h"
#include "meta_path.h"
#include "plan.h"
#include "scheduler.h"
#include "unaligned.h"
#include "value.h"

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
    if (dag->plan != NULL) { /* every build call comes here: no call */
        plan_free(dag->plan);
        dag->plan = NULL;
    }
}

const char *dag_codec_name(dag_codec codec)
{
    return codec == DAG_CODEC_DEFLATE ? "deflate" : "null";
}

/* ---- the DAG ---------------------------------------------------------------- */

/* The count of online CPUs comes from a file in /sys: opening it took 7
 * us, and 55 in a process that had slept for a while -- a tenth of
 * building a 10,000-task DAG.  So it is counted again only once the
 * second it was counted in is over. */
static int online_cpus(void)
{
    static _Atomic int counted;      /* 0: not yet */
    static _Atomic long counted_in;  /* that second of the coarse clock */
    struct timespec now = {0, 0}; /* a clock refused: counted every time */
#ifdef CLOCK_MONOTONIC_COARSE
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
#else
    clock_gettime(CLOCK_MONOTONIC, &now);
#endif
    int n = atomic_load_explicit(&counted, memory_order_relaxed);
    if (n > 0 && now.tv_sec != 0 &&
        atomic_load_explicit(&counted_in, memory_order_relaxed) == now.tv_sec)
        return n;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    n = online < 1                    ? 1
        : online > DAGLIB_MAX_WORKERS ? DAGLIB_MAX_WORKERS
                                      : (int)online;
    atomic_store_explicit(&counted, n, memory_order_relaxed);
    atomic_store_explicit(&counted_in, (long)now.tv_sec, memory_order_relaxed);
    return n;
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
    if (dag->run_memory != NULL) {
        run_memory_free(dag->run_memory);
        free(dag->run_memory);
    }
    if (dag->has_kinds)
        for (uint32_t t = 0; t < dag->n_tasks; t++)
            if (dag_task(dag, t)->extra != NULL)
                daglib_value_free(dag_task(dag, t)->extra->map_values);
    for (int b = 0; b < GROW_BLOCKS; b++) {
        big_free(dag->task_blocks[b]);
        big_free(dag->link_blocks[b]);
        big_free(dag->ref_blocks[b]);
    }
    dag_forget_pending(dag);
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
        return dag_build_error(dag, DAGLIB_INVALID,
                               "the metadata root of DAG '%s' cannot be empty",
                               dag->name);
    char *copy = NULL;
    if (root != NULL && (copy = copy_string(root)) == NULL)
        return dag_build_error(dag, DAGLIB_NOMEM, "out of memory");
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
        return dag_build_error(dag, DAGLIB_INVALID,
                               "%d workers for DAG '%s': a run needs 1 to %d",
                               workers, dag->name, DAGLIB_MAX_WORKERS);
    dag->workers = workers;
    return dag_ok(dag);
}

int daglib_dag_reserve(daglib_dag *dag, size_t tasks)
{
    int rc = dag_build_check(dag);
    if (rc != DAGLIB_OK)
        return rc;
    if (tasks > DAG_MAX_TASKS - dag->n_tasks)
        return dag_run_error(dag, DAGLIB_INVALID,
                             "room for %zu more tasks asked of DAG '%s', which "
                             "has %u and may have %u",
                             tasks, dag->name, dag->n_tasks, DAG_MAX_TASKS);
    if (name_table_reserve(&dag->task_names, (uint32_t)tasks) != 0)
        return dag_run_error(dag, DAGLIB_NOMEM,
                             "out of memory making room for %zu more tasks in "
                             "DAG '%s'",
                             tasks, dag->name);
    if (dag->n_tasks + (uint32_t)tasks > dag->tasks_expected)
        dag->tasks_expected = dag->n_tasks + (uint32_t)tasks;
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
        return dag_build_error(dag, DAGLIB_INVALID,
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

/* dag_build_check() for a call on a task, which may be NULL. */
static int task_build_check(daglib_task *task)
{
    return task != NULL ? dag_build_check(task->dag) : DAGLIB_MISUSE;
}

/* Equal bytes, the short names most are without a call: two overlapping
 * loads cover 4 to 16 bytes, and the first, middle and last byte 1 to 3
 * (a fan's source, "t0", may be compared a million times). */
static inline int same_bytes(const char *a, const char *b, uint32_t len)
{
    if (len >= 8 && len <= 16)
        return ((load_u64(a) ^ load_u64(b)) |
                (load_u64(a + len - 8) ^ load_u64(b + len - 8))) == 0;
    if (len >= 4 && len < 8)
        return ((load_u32(a) ^ load_u32(b)) |
                (load_u32(a + len - 4) ^ load_u32(b + len - 4))) == 0;
    if (len >= 1 && len < 4)
        return ((a[0] ^ b[0]) | (a[len / 2] ^ b[len / 2]) |
                (a[len - 1] ^ b[len - 1])) == 0;
    return memcmp(a, b, len) == 0;
}

static inline int task_has_name(const void *owner, uint32_t index,
                                const char *name, uint32_t len)
{
    const daglib_task *task = dag_task(owner, index);
    return task->name_len == len && same_bytes(task->name, name, len);
}

static const daglib_retry no_retry = {
    .attempts = 1, .delay = 0, .backoff = 1, .max_delay = 0};

const daglib_retry *task_retry(const daglib_task *task)
{
    return task->extra != NULL ? &task->extra->retry : &no_retry;
}

/* The task's rarely used fields, made on first use. */
static task_extra *task_extra_of(daglib_task *task)
{
    if (task->extra == NULL) {
        task_extra *extra = arena_alloc(&task->dag->strings, sizeof *extra);
        if (extra == NULL)
            return NULL;
        *extra = (task_extra){.map_values = NULL, .retry = no_retry,
                              .chunks = 0};
        task->extra = extra;
    }
    return task->extra;
}

/* The task called name, or NAME_NOT_FOUND; the name's hash in *hash, for
 * a name to be looked up again later. */
static inline uint32_t find_task_hashing(const daglib_dag *dag,
                                         const char *name, uint32_t len,
                                         uint32_t *hash)
{
    *hash = name_hash(name, len);
    return name_table_find(&dag->task_names, name, len, *hash, task_has_name,
                           dag);
}

uint32_t dag_find_task(const daglib_dag *dag, const char *name, uint32_t len)
{
    uint32_t hash;
    return find_task_hashing(dag, name, len, &hash);
}

/* Whether t is a task, named name[0..len). */
static inline int is_task_named(const daglib_dag *dag, uint32_t t,
                                const char *name, uint32_t len)
{
    return t < dag->n_tasks && task_has_name(dag, t, name, len);
}

void dag_find_pending(const daglib_dag *dag, const pending_name *const names[],
                      uint32_t n, uint32_t guess, uint32_t found[])
{
    /* The names the guesses missed, to look up: names[left[j]] has
     * hashes[j], and the candidate the table holds for it candidates[j]. */
    uint32_t left[DAG_FIND_MANY], hashes[DAG_FIND_MANY],
        candidates[DAG_FIND_MANY], m = 0;
    for (uint32_t i = 0; i < n; i++) {
        found[i] = NAME_NOT_FOUND;
        if (guess != NAME_NOT_FOUND &&
            is_task_named(dag, guess + i, names[i]->name, names[i]->len))
            found[i] = guess + i;
        else
            hashes[m] = names[i]->hash, left[m++] = i;
    }
    if (m == 0)
        return;
    name_table_candidates(&dag->task_names, hashes, m, candidates);
    for (uint32_t j = 0; j < m; j++)
        if (candidates[j] != NAME_NOT_FOUND)
            __builtin_prefetch(dag_task(dag, candidates[j]));
    /* The name to compare, and the count a resolved reference adds to. */
    for (uint32_t j = 0; j < m; j++) {
        if (candidates[j] == NAME_NOT_FOUND)
            continue;
        __builtin_prefetch(dag_task(dag, candidates[j])->name);
        prefetch_for_writing(dag_task_links(dag, candidates[j]));
    }
    for (uint32_t j = 0; j < m; j++) {
        const pending_name *name = names[left[j]];
        if (candidates[j] == NAME_NOT_FOUND)
            continue;
        found[left[j]] =
            task_has_name(dag, candidates[j], name->name, name->len)
                ? candidates[j]
                : name_table_find(&dag->task_names, name->name, name->len,
                                  name->hash, task_has_name, dag);
    }
}

void dag_forget_pending(daglib_dag *dag)
{
    for (int b = 0; b < GROW_BLOCKS; b++) {
        big_free(dag->pending_blocks[b]);
        dag->pending_blocks[b] = NULL;
    }
    dag->n_pending = 0;
    arena_free(&dag->pending_strings);
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

/* task_name_problem() without a call for most names: printable ASCII of
 * a sensible length. */
static inline const char *name_problem(const char *name, size_t len,
                                       int printable_ascii)
{
    if (printable_ascii && len - 1 < TASK_NAME_MAX_BYTES)
        return NULL;
    return task_name_problem(name, len, printable_ascii);
}

/* The high bit of each byte of w that is not printable ASCII (0x20 to
 * 0x7e), eight bytes at once. */
static inline uint64_t unprintable_bytes(uint64_t w)
{
    const uint64_t high = 0x8080808080808080ull;
    const uint64_t low7 = w & ~high; /* no carry leaves a byte below */
    const uint64_t from_space = (low7 + 0x6060606060606060ull) & high;
    const uint64_t from_delete = (low7 + 0x0101010101010101ull) & high;
    return (w & high) | (~from_space & high) | from_delete;
}

static __attribute__((noinline)) uint64_t
unprintable_in_long_name(const char *name, size_t len)
{
    uint64_t outside = unprintable_bytes(load_u64(name + len - 8));
    for (size_t at = 0; at + 8 < len; at += 8)
        outside |= unprintable_bytes(load_u64(name + at));
    return outside;
}

/* strlen(name), and in *printable_ascii whether every byte is printable
 * ASCII -- the common case, which needs no UTF-8 check.  The bytes are
 * looked at in words, loaded within the name. */
static inline __attribute__((always_inline)) size_t
measure_name(const char *name, int *printable_ascii)
{
    const size_t len = strlen(name);
    uint64_t outside;
    if (len > 16) {
        outside = unprintable_in_long_name(name, len);
    } else if (len >= 8) {
        outside = unprintable_bytes(load_u64(name)) |
                  unprintable_bytes(load_u64(name + len - 8));
    } else if (len >= 4) {
        outside = unprintable_bytes(load_u32(name) |
                                    (uint64_t)load_u32(name + len - 4) << 32);
    } else {
        /* Its first, middle and last bytes are all of it; the rest spaces. */
        const unsigned char *u = (const unsigned char *)name;
        uint64_t w = 0x2020202020202020ull;
        if (len > 0)
            w = (w & ~0xffffffull) | u[0] | (uint64_t)u[len / 2] << 8 |
                (uint64_t)u[len - 1] << 16;
        outside = unprintable_bytes(w);
    }
    *printable_ascii = outside == 0;
    return len;
}

/* Tasks, their links and references are faulted in 4096 at a time, as
 * filling reaches them: a page faulted in alone costs about half as much
 * again. */
#define TASK_PREFAULT_SHIFT 12

/* Room for the next task (a new block every time the last one filled),
 * its function stored. */
static daglib_task *next_task_slot(daglib_dag *dag, daglib_task_fn fn)
{
    uint32_t offset, block = block_of(dag->n_tasks, &offset);
    /* Of this block, what daglib_dag_reserve() said will be used. */
    uint32_t first = dag->n_tasks - offset;
    size_t expected = dag->tasks_expected > first
                          ? dag->tasks_expected - first
                          : SIZE_MAX;
    task_links *links = block_slot_expecting(
        (void **)dag->link_blocks, block, offset, sizeof(task_links),
        TASK_PREFAULT_SHIFT, expected);
    if (links == NULL)
        return NULL;
    daglib_task *task = block_slot_expecting(
        (void **)dag->task_blocks, block, offset, sizeof(daglib_task),
        TASK_PREFAULT_SHIFT, expected);
    if (task != NULL)
        *links = (task_links){fn, 0, 0};
    return task;
}

static task_ref *next_ref_slot(daglib_dag *dag)
{
    uint32_t offset, block = block_of(dag->n_refs, &offset);
    return block_slot((void **)dag->ref_blocks, block, offset,
                      sizeof(task_ref), TASK_PREFAULT_SHIFT);
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
    const char *problem = name_problem(name, len, printable);
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
    if (dag->n_tasks >= DAG_MAX_TASKS) {
        dag_build_error(dag, DAGLIB_INVALID, "DAG '%s' has too many tasks",
                        dag->name);
        return NULL;
    }
    uint32_t hash = name_hash(name, len);
    daglib_task *task = next_task_slot(dag, fn);
    if (task == NULL)
        goto nomem;
    *task = (daglib_task){
        .dag = dag,
        .name = arena_strndup(&dag->strings, name, len),
        .description = description_len == 0
                           ? ""
                           : arena_strndup(&dag->strings, description,
                                           description_len),
        .user_data = user_data,
        .extra = NULL,
        .name_len = (uint16_t)len,
        .index = dag->n_tasks,
        .kind = TASK_PLAIN,
        .final = 0,
    };
    if (task->name == NULL || task->description == NULL)
        goto nomem;
    /* One probe both checks for a duplicate and inserts. */
    uint32_t stored =
        name_table_insert(&dag->task_names, task->name, task->name_len,
                          hash, task->index, task_has_name, dag);
    if (stored == NAME_NOT_FOUND)
        goto nomem;
    if (stored != task->index) {
        dag_build_error(dag, DAGLIB_DUPLICATE,
                        "DAG '%s' already has a task named '%s'", dag->name,
                        name);
        return NULL;
    }
    name_table_prefetch_next_group(&dag->task_names, task->name,
                                   task->name_len, hash);
    dag->n_tasks++;
    dag_invalidate_plan(dag);
    dag_ok(dag);
    return task;

nomem:
    dag_build_error(dag, DAGLIB_NOMEM, "out of memory adding task '%s'", name);
    return NULL;
}

static const char *ref_kind_words(task_ref_kind kind)
{
    switch (kind) {
    case REF_INPUT:
        return "an input";
    case REF_DEPENDS:
        return "a dependency";
    case REF_MAP:
        return "a task to map over";
    default:
        return "a task to join";
    }
}

/* Record that task `from` refers to task `target` in the given way. */
static int store_ref(daglib_dag *dag, daglib_task *from, task_ref_kind kind,
                     uint32_t target)
{
    task_ref *ref = next_ref_slot(dag);
    if (ref == NULL)
        return dag_build_error(dag, DAGLIB_NOMEM, "out of memory");
    *ref = (task_ref){from->index | (uint32_t)kind << REF_KIND_SHIFT, target};
    dag->n_refs++;
    dag_task_links(dag, from->index)->n_refs_out++;
    if (!(target & REF_PENDING))
        dag_note_resolved(dag, from->index, target);
    dag->refs_unordered |= from->index < dag->last_ref_from;
    dag->last_ref_from = from->index;
    dag->refs_depend |= kind == REF_DEPENDS;
    dag_invalidate_plan(dag);
    return dag_ok(dag);
}

/* Whether one of the DAG's guesses (dag.h) for the k-th reference of task
 * `from` is task t: no memory but the DAG's own is read. */
static int guessed(const daglib_dag *dag, uint32_t from, uint32_t k,
                   uint32_t t)
{
    return t == dag->next_referred || t == from - dag->ref_distance[k] ||
           t == dag->ref_target[k];
}

/* Whether t is a task named by the string name: its bytes compared up to
 * the task name's length, never past the string's end (a shorter string
 * differs there), then the string's end.  A guess right so needs the
 * string neither measured nor checked: a task's name is valid. */
static inline int is_task_named_string(const daglib_dag *dag, uint32_t t,
                                       const char *name)
{
    if (t >= dag->n_tasks)
        return 0;
    const daglib_task *task = dag_task(dag, t);
    const char *own = task->name;
    for (uint32_t i = 0; i < task->name_len; i++)
        if (own[i] != name[i])
            return 0;
    return name[task->name_len] == '\0';
}

/* The task named upstream if one of the DAG's guesses (dag.h) is right,
 * for the k-th reference of task `from`; else NAME_NOT_FOUND. */
static uint32_t guess_ref(const daglib_dag *dag, uint32_t from, uint32_t k,
                          const char *upstream)
{
    /* The first guess is right as a rule: checked on its own, it waits on
     * nothing the others load. */
    if (is_task_named_string(dag, dag->next_referred, upstream))
        return dag->next_referred;
    if (is_task_named_string(dag, from - dag->ref_distance[k], upstream))
        return from - dag->ref_distance[k];
    if (is_task_named_string(dag, dag->ref_target[k], upstream))
        return dag->ref_target[k];
    return NAME_NOT_FOUND;
}

/* The k-th reference of task `from` went to task target: the guesses for
 * the next ones. */
static void set_guesses(daglib_dag *dag, uint32_t from, uint32_t k,
                        uint32_t target)
{
    dag->next_referred = target + 1;
    dag->ref_distance[k] = from - target;
    dag->ref_target[k] = target;
}

/* Record that task `from` refers to `upstream` in the given way. */
static int append_ref(daglib_dag *dag, daglib_task *from, task_ref_kind kind,
                      const char *upstream)
{
    if (upstream == NULL)
        return dag_build_error(dag, DAGLIB_MISUSE,
                               "task '%s' was given %s without a name",
                               from->name, ref_kind_words(kind));
    uint32_t made = dag_task_links(dag, from->index)->n_refs_out;
    uint32_t k = made < REF_GUESS_POSITIONS ? made : REF_GUESS_POSITIONS - 1;
    uint8_t *missed = &dag->guesses_missed[k];
    uint32_t target = NAME_NOT_FOUND, hash = 0;
    if (*missed < REF_GUESS_GIVE_UP) {
        target = guess_ref(dag, from->index, k, upstream);
        if (target != NAME_NOT_FOUND) {
            *missed = 0;
            set_guesses(dag, from->index, k, target);
            return store_ref(dag, from, kind, target);
        }
        ++*missed;
    }
    int printable;
    size_t len = measure_name(upstream, &printable);
    /* A printable name of a sensible length is valid (name_problem): only
     * such names are looked up, and only the others checked. */
    int looked_up = printable && len - 1 < TASK_NAME_MAX_BYTES;
    if (looked_up) {
        if (*missed == REF_GUESS_GIVE_UP &&
            dag->task_names.mask >= REF_PUT_OFF_FROM_SLOTS - 1 &&
            ++dag->lookups_put_off[k] < REF_LOOKUP_EVERY - 1) {
            /* Looked up when compiling, with the others put off. */
            hash = name_hash(upstream, len);
        } else {
            /* Of every REF_LOOKUP_EVERY references put off, the last two
             * are looked up at once: the first sets the guesses, which
             * the second then checks, as references in a row. */
            if (dag->lookups_put_off[k] >= REF_LOOKUP_EVERY)
                dag->lookups_put_off[k] = 0;
            target = find_task_hashing(dag, upstream, (uint32_t)len, &hash);
            if (*missed == REF_GUESS_GIVE_UP && target != NAME_NOT_FOUND &&
                guessed(dag, from->index, k, target))
                *missed = 0; /* the pattern is back: guess again */
        }
        if (target != NAME_NOT_FOUND)
            set_guesses(dag, from->index, k, target);
    }
    const char *problem =
        looked_up ? NULL : name_problem(upstream, len, printable);
    if (problem != NULL)
        return dag_build_error(dag, DAGLIB_INVALID,
                               "task '%s' was given %s '%.64s' that cannot be "
                               "a task name: %s",
                               from->name, ref_kind_words(kind), upstream,
                               problem);
    if (!looked_up)
        target = find_task_hashing(dag, upstream, (uint32_t)len, &hash);
    if (target != NAME_NOT_FOUND)
        return store_ref(dag, from, kind, target);
    /* Not a task yet: keep the name for the compiler. */
    uint32_t offset, block = block_of(dag->n_pending, &offset);
    pending_name *p = block_slot((void **)dag->pending_blocks, block, offset,
                                 sizeof *p, TASK_PREFAULT_SHIFT);
    const char *copy = arena_strndup(&dag->pending_strings, upstream, len);
    if (p == NULL || copy == NULL)
        return dag_build_error(dag, DAGLIB_NOMEM, "out of memory");
    /* every path to here hashed the name */
    *p = (pending_name){copy, (uint32_t)len, hash};
    return store_ref(dag, from, kind, REF_PENDING | dag->n_pending++);
}

static int add_ref(daglib_task *task, task_ref_kind kind, const char *upstream)
{
    int rc = task_build_check(task);
    if (rc != DAGLIB_OK)
        return rc;
    return append_ref(task->dag, task, kind, upstream);
}

int daglib_task_input(daglib_task *task, const char *upstream)
{
    return add_ref(task, REF_INPUT, upstream);
}

int daglib_task_depends_on(daglib_task *task, const char *upstream)
{
    return add_ref(task, REF_DEPENDS, upstream);
}

static int add_task_ref(daglib_task *task, task_ref_kind kind,
                        const daglib_task *upstream)
{
    int rc = task_build_check(task);
    if (rc != DAGLIB_OK)
        return rc;
    daglib_dag *dag = task->dag;
    if (upstream == NULL || upstream->dag != dag)
        return dag_build_error(dag, DAGLIB_MISUSE,
                               "task '%s' was given %s that is %s",
                               task->name, ref_kind_words(kind),
                               upstream == NULL ? "NULL"
                                                : "a task of another DAG");
    return store_ref(dag, task, kind, upstream->index);
}

int daglib_task_input_task(daglib_task *task, const daglib_task *upstream)
{
    return add_task_ref(task, REF_INPUT, upstream);
}

int daglib_task_depends_on_task(daglib_task *task, const daglib_task *upstream)
{
    return add_task_ref(task, REF_DEPENDS, upstream);
}

int daglib_task_set_final(daglib_task *task)
{
    int rc = task_build_check(task);
    if (rc != DAGLIB_OK)
        return rc;
    daglib_dag *dag = task->dag;
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
    return index == NAME_NOT_FOUND ? NULL : dag_task(dag, index);
}

/* ---- kinds of tasks ---------------------------------------------------------- */

static const char *kind_words(const daglib_task *task)
{
    switch (task->kind) {
    case TASK_MAP_VALUES:
        return "mapped over a list";
    case TASK_MAP:
        return "mapped over a task";
    case TASK_JOIN:
        return "a joining task";
    default:
        return task_chunks(task) > 0 ? "chunked" : "a plain task";
    }
}

/* A task may take one kind; `becoming` names the one asked for. */
static int check_new_kind(daglib_task *task, const char *becoming,
                          int chunks_allowed)
{
    int rc = task_build_check(task);
    if (rc != DAGLIB_OK)
        return rc;
    daglib_dag *dag = task->dag;
    if (task->kind != TASK_PLAIN || (task_chunks(task) > 0 && !chunks_allowed))
        return dag_build_error(dag, DAGLIB_MISUSE,
                               "task '%s' is %s already; it cannot also be %s",
                               task->name, kind_words(task), becoming);
    return DAGLIB_OK;
}

int daglib_task_map_values(daglib_task *task, const daglib_value *list)
{
    int rc = check_new_kind(task, "mapped over a list", 0);
    if (rc != DAGLIB_OK)
        return rc;
    daglib_dag *dag = task->dag;
    if (daglib_value_type(list) != DAGLIB_LIST)
        return dag_build_error(dag, DAGLIB_MISUSE,
                               "task '%s' can be mapped over a list value only",
                               task->name);
    task_extra *extra = task_extra_of(task);
    daglib_value *copy = extra != NULL ? daglib_value_copy(list) : NULL;
    if (copy == NULL)
        return dag_build_error(dag, DAGLIB_NOMEM, "out of memory");
    extra->map_values = copy;
    task->kind = TASK_MAP_VALUES;
    dag->has_kinds = 1;
    dag_invalidate_plan(dag);
    return dag_ok(dag);
}

int daglib_task_map(daglib_task *task, const char *mapped_task)
{
    int rc = check_new_kind(task, "mapped over a task", 0);
    if (rc == DAGLIB_OK)
        rc = append_ref(task->dag, task, REF_MAP, mapped_task);
    if (rc == DAGLIB_OK) {
        task->kind = TASK_MAP;
        task->dag->has_kinds = 1;
    }
    return rc;
}

int daglib_task_join(daglib_task *task, const char *mapped_task)
{
    int rc = check_new_kind(task, "a joining task", 1);
    if (rc == DAGLIB_OK)
        rc = append_ref(task->dag, task, REF_JOIN, mapped_task);
    if (rc == DAGLIB_OK) {
        task->kind = TASK_JOIN;
        task->dag->has_kinds = 1;
    }
    return rc;
}

int daglib_task_set_chunks(daglib_task *task, int n)
{
    int rc = task_build_check(task);
    if (rc != DAGLIB_OK)
        return rc;
    daglib_dag *dag = task->dag;
    if (task->kind == TASK_MAP_VALUES || task->kind == TASK_MAP)
        return dag_build_error(dag, DAGLIB_MISUSE,
                               "task '%s' is %s; it cannot also be chunked",
                               task->name, kind_words(task));
    if (n < 1 || n > 1000000)
        return dag_build_error(dag, DAGLIB_INVALID,
                               "task '%s' cannot be split into %d chunks: "
                               "use 1 to 1000000",
                               task->name, n);
    task_extra *extra = task_extra_of(task);
    if (extra == NULL)
        return dag_build_error(dag, DAGLIB_NOMEM, "out of memory");
    extra->chunks = (uint32_t)n;
    dag->has_kinds = 1;
    dag_invalidate_plan(dag);
    return dag_ok(dag);
}

static int finite_at_least(double x, double low)
{
    return x == x && x >= low && x <= 1e9;
}

int daglib_task_set_retry(daglib_task *task, const daglib_retry *retry)
{
    int rc = task_build_check(task);
    if (rc != DAGLIB_OK)
        return rc;
    daglib_dag *dag = task->dag;
    if (retry == NULL)
        return dag_build_error(dag, DAGLIB_MISUSE,
                               "task '%s' was given a NULL retry policy",
                               task->name);
    if (retry->attempts < 1 || retry->attempts > 1000 ||
        !finite_at_least(retry->delay, 0) ||
        !finite_at_least(retry->backoff, 1) ||
        !finite_at_least(retry->max_delay, 0))
        return dag_build_error(
            dag, DAGLIB_INVALID,
            "task '%s': a retry policy needs 1 to 1000 attempts, a delay and "
            "a max_delay >= 0 and a backoff >= 1 (got %d, %g, %g, %g)",
            task->name, retry->attempts, retry->delay, retry->backoff,
            retry->max_delay);
    task_extra *extra = task_extra_of(task);
    if (extra == NULL)
        return dag_build_error(dag, DAGLIB_NOMEM, "out of memory");
    extra->retry = *retry;
    return dag_ok(dag);
}

/* ---- composing ----------------------------------------------------------- */

int daglib_dag_add_subdag(daglib_dag *dag, const daglib_dag *other,
                          int keep_finals)
{
    int rc = dag_build_check(dag);
    if (rc != DAGLIB_OK)
        return rc;
    if (other == NULL || other == dag)
        return dag_build_error(dag, DAGLIB_MISUSE,
                               "DAG '%s' was given %s as a subdag", dag->name,
                               other == NULL ? "NULL" : "itself");
    if (other->error_is_sticky)
        return dag_build_error(dag, other->error.code,
                               "subdag '%s' of DAG '%s' is broken: %s",
                               other->name, dag->name,
                               error_message(&other->error));
    /* Check every name first, so that a clash copies nothing. */
    for (uint32_t t = 0; t < other->n_tasks; t++) {
        const daglib_task *task = dag_task(other, t);
        if (dag_find_task(dag, task->name, task->name_len) != NAME_NOT_FOUND)
            return dag_build_error(dag, DAGLIB_DUPLICATE,
                                   "DAG '%s' and its subdag '%s' both have a "
                                   "task named '%s'",
                                   dag->name, other->name, task->name);
    }
    uint32_t base = dag->n_tasks;
    for (uint32_t t = 0; t < other->n_tasks; t++) {
        const daglib_task *from = dag_task(other, t);
        daglib_task *copy = daglib_task_add(dag, from->name, from->description,
                                            dag_task_links(other, t)->fn,
                                            from->user_data);
        if (copy == NULL)
            return dag->error.code;
        copy->kind = from->kind;
        if (from->kind != TASK_PLAIN)
            dag->has_kinds = 1;
        if (from->extra == NULL)
            continue;
        task_extra *extra = task_extra_of(copy);
        if (extra == NULL)
            return dag_build_error(dag, DAGLIB_NOMEM, "out of memory");
        extra->chunks = from->extra->chunks;
        extra->retry = from->extra->retry;
        dag->has_kinds |= extra->chunks > 0;
        if (from->extra->map_values != NULL &&
            (extra->map_values = daglib_value_copy(from->extra->map_values)) ==
                NULL)
            return dag_build_error(dag, DAGLIB_NOMEM, "out of memory");
    }
    for (uint32_t r = 0; r < other->n_refs; r++) {
        task_ref ref = *dag_ref(other, r);
        const char *name = ref.target & REF_PENDING
                               ? dag_pending(other, ref.target)->name
                               : dag_task(other, ref.target)->name;
        rc = append_ref(dag, dag_task(dag, base + ref_from(ref)), ref_kind(ref),
                        name);
        if (rc != DAGLIB_OK)
            return rc;
    }
    if (keep_finals)
        for (uint32_t f = 0; f < other->n_finals; f++)
            if ((rc = daglib_task_set_final(
                     dag_task(dag, base + other->finals[f]))) != DAGLIB_OK)
                return rc;
    return dag_ok(dag);
}

daglib_task *daglib_dag_add_asset(daglib_dag *dag, const daglib_asset *asset)
{
    if (dag_build_check(dag) != DAGLIB_OK)
        return NULL;
    if (asset == NULL) {
        dag_build_error(dag, DAGLIB_MISUSE, "DAG '%s' was given a NULL asset",
                        dag->name);
        return NULL;
    }
    return daglib_task_add(dag, asset->name, asset->description, asset->fn,
                           asset->user_data);
}

/* ---- observing ------------------------------------------------------------ */

int daglib_dag_set_observer(daglib_dag *dag, const daglib_observer *observer)
{
    int rc = dag_build_check(dag);
    if (rc != DAGLIB_OK)
        return rc;
    if (observer != NULL)
        dag->observer = *observer;
    else
        memset(&dag->observer, 0, sizeof dag->observer);
    return dag_ok(dag);
}

int daglib_dag_set_progress(daglib_dag *dag, FILE *out)
{
    int rc = dag_build_check(dag);
    if (rc != DAGLIB_OK)
        return rc;
    dag->progress = out;
    return dag_ok(dag);
}
