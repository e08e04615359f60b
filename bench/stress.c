/*
 * stress.c -- run the benchmark shapes many times on 1, 2 and 4 workers and
 * check that the scheduler did its job: every task ran exactly once, after
 * its inputs, and received their results intact.
 *
 * Not a benchmark: it is how scheduler changes made for speed are checked,
 * also under ThreadSanitizer (`make -f bench/bench.mk stress-tsan`).  On
 * top of the four shapes it runs dense layers (every task of a layer reads
 * every task of the one before), which gives many nodes with many
 * predecessors and results with many readers at once.  Three modes:
 * integer results, text results (they own memory, so they are freed after
 * their last reader: a premature free shows as a wrong input or a TSan or
 * ASan report), and one failing task (exactly its descendants must be
 * skipped, everything else must run).
 *
 *   stress [-i ROUNDS] [-n TASKS]
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daglib.h"
#include "shapes.h"

typedef enum mode { MODE_INT, MODE_TEXT, MODE_FAIL, MODE_COUNT } mode;
static const char *const mode_names[MODE_COUNT] = {"int", "text", "fail"};

typedef struct check {
    const shape *s;
    mode mode;
    uint32_t failing; /* MODE_FAIL: the task that fails */
    _Atomic uint32_t *runs; /* per task */
    _Atomic uint32_t bad;   /* tasks that saw a wrong input */
} check;

typedef struct task_ref {
    check *check;
    uint32_t id;
} task_ref;

/* What task id returns: id + 1 (as text in text mode). */
static int input_is_right(const check *c, const daglib_value *v, uint32_t id)
{
    if (c->mode == MODE_TEXT) {
        char want[16];
        snprintf(want, sizeof want, "%u", id + 1);
        return daglib_value_type(v) == DAGLIB_TEXT &&
               strcmp(daglib_value_text(v), want) == 0;
    }
    return daglib_value_type(v) == DAGLIB_INTEGER &&
           daglib_value_int(v) == (int64_t)id + 1;
}

static void checked_task(daglib_context *ctx, int argc,
                         const daglib_value *const *argv)
{
    const task_ref *me = daglib_user_data(ctx);
    check *c = me->check;
    const shape *s = c->s;
    atomic_fetch_add_explicit(&c->runs[me->id], 1, memory_order_relaxed);
    uint32_t begin = s->pred_begin[me->id];
    if ((uint32_t)argc != shape_n_preds(s, me->id))
        atomic_fetch_add(&c->bad, 1);
    for (int i = 0; i < argc; i++)
        if (!input_is_right(c, argv[i], s->preds[begin + (uint32_t)i])) {
            atomic_fetch_add(&c->bad, 1);
            break;
        }
    if (c->mode == MODE_FAIL && me->id == c->failing) {
        daglib_result_error(ctx, "failing on purpose");
    } else if (c->mode == MODE_TEXT) {
        char text[16];
        snprintf(text, sizeof text, "%u", me->id + 1);
        daglib_result_text(ctx, text, -1, DAGLIB_TRANSIENT);
    } else {
        daglib_result_int(ctx, (int64_t)me->id + 1);
    }
}

/* Dense layers: `layers` layers of `width` tasks, each reading all of the
 * layer before. */
static int dense_build(shape *s, uint32_t layers, uint32_t width)
{
    memset(s, 0, sizeof *s);
    s->kind = SHAPE_COUNT;
    s->name = "dense layers";
    s->n = layers * width;
    s->pred_begin = malloc(((size_t)s->n + 1) * sizeof *s->pred_begin);
    s->preds = malloc((size_t)s->n * width * sizeof *s->preds);
    s->sources = malloc((size_t)width * sizeof *s->sources);
    s->names = calloc(s->n, sizeof *s->names);
    if (!s->pred_begin || !s->preds || !s->sources || !s->names)
        return -1;
    for (uint32_t i = 0; i < s->n; i++) {
        s->pred_begin[i] = s->n_edges;
        if (i < width)
            s->sources[s->n_sources++] = i;
        else
            for (uint32_t p = (i / width - 1) * width; p < i / width * width;
                 p++)
                s->preds[s->n_edges++] = p;
        char name[16];
        snprintf(name, sizeof name, "t%u", i);
        if ((s->names[i] = strdup(name)) == NULL)
            return -1;
    }
    s->pred_begin[s->n] = s->n_edges;
    return 0;
}

/* Run s `rounds` times on `workers` workers in `m` mode; the number of
 * problems found. */
static int stress_one(const shape *s, int workers, mode m, int rounds)
{
    check c = {.s = s, .mode = m, .failing = s->n / 3};
    c.runs = calloc(s->n, sizeof *c.runs);
    task_ref *refs = malloc(s->n * sizeof *refs);
    uint8_t *doomed = calloc(s->n, 1); /* the failing task's descendants */
    if (c.runs == NULL || refs == NULL || doomed == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    daglib_dag *dag = daglib_dag_new("stress", NULL, 0);
    daglib_dag_set_workers(dag, workers);
    for (uint32_t i = 0; i < s->n; i++) {
        refs[i] = (task_ref){&c, i};
        daglib_task *t =
            daglib_task_add(dag, s->names[i], NULL, checked_task, &refs[i]);
        for (uint32_t e = s->pred_begin[i]; e < s->pred_begin[i + 1]; e++) {
            daglib_task_input(t, s->names[s->preds[e]]);
            if (doomed[s->preds[e]] || s->preds[e] == c.failing)
                doomed[i] = m == MODE_FAIL;
        }
    }
    int problems = 0;
    for (int round = 1; round <= rounds && problems == 0; round++) {
        int rc = daglib_run(dag, NULL);
        int want = m == MODE_FAIL ? DAGLIB_TASK_FAILED : DAGLIB_OK;
        if (rc != want) {
            fprintf(stderr, "%s, %s, %d workers: run gave %s (%s)\n", s->name,
                    mode_names[m], workers, daglib_errname(rc),
                    daglib_dag_errmsg(dag));
            problems++;
        }
        for (uint32_t i = 0; i < s->n; i++) {
            uint32_t want_runs = doomed[i] ? 0 : (uint32_t)round;
            uint32_t got = atomic_load(&c.runs[i]);
            if (got != want_runs) {
                fprintf(stderr,
                        "%s, %s, %d workers, round %d: t%u ran %u times, "
                        "not %u\n",
                        s->name, mode_names[m], workers, round, i, got,
                        want_runs);
                problems++;
                break;
            }
        }
        if (atomic_load(&c.bad) > 0) {
            fprintf(stderr, "%s, %s, %d workers: %u tasks saw wrong inputs\n",
                    s->name, mode_names[m], workers, atomic_load(&c.bad));
            problems++;
        }
    }
    daglib_dag_free(dag);
    free(doomed);
    free(refs);
    free(c.runs);
    return problems;
}

int main(int argc, char **argv)
{
    int rounds = 20;
    uint32_t size = 2000;
    int opt;
    while ((opt = getopt(argc, argv, "i:n:")) != -1) {
        if (opt == 'i')
            rounds = atoi(optarg);
        else if (opt == 'n')
            size = (uint32_t)strtoul(optarg, NULL, 10);
        else {
            fprintf(stderr, "usage: %s [-i ROUNDS] [-n TASKS]\n", argv[0]);
            return 2;
        }
    }
    shape shapes[SHAPE_COUNT + 1];
    for (int k = 0; k < SHAPE_COUNT; k++)
        if (shape_build(&shapes[k], (shape_kind)k, size) != 0)
            return 1;
    if (dense_build(&shapes[SHAPE_COUNT], 6, 100) != 0)
        return 1;

    const int worker_counts[] = {1, 2, 4};
    int problems = 0, cases = 0;
    for (int k = 0; k <= SHAPE_COUNT; k++)
        for (int m = 0; m < MODE_COUNT; m++)
            for (int w = 0; w < 3; w++) {
                problems +=
                    stress_one(&shapes[k], worker_counts[w], (mode)m, rounds);
                cases++;
            }
    printf("stress: %d cases of %d rounds (%u tasks), %d problems\n", cases,
           rounds, size, problems);
    for (int k = 0; k <= SHAPE_COUNT; k++)
        shape_free(&shapes[k]);
    return problems == 0 ? 0 : 1;
}
