/*
 * shapes.c -- build the benchmark graphs (see shapes.h).
 *
 * Every shape is written as "task i waits for these earlier tasks", so a
 * peer that creates tasks in index order (OpenMP's depend clauses) always
 * meets a task's predecessors before the task itself.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shapes.h"

static const char *const shape_names[SHAPE_COUNT] = {
    [SHAPE_FAN_OUT] = "fan-out",
    [SHAPE_CHAIN] = "chain",
    [SHAPE_TREE] = "binary tree",
    [SHAPE_WAVEFRONT] = "wavefront",
};

/* Appends edges task by task; begin() opens the next task's list. */
typedef struct edge_writer {
    shape *s;
    uint32_t task;
} edge_writer;

static void begin(edge_writer *w)
{
    w->s->pred_begin[w->task++] = w->s->n_edges;
}

static void pred(edge_writer *w, uint32_t p)
{
    w->s->preds[w->s->n_edges++] = p;
}

static uint32_t tree_size(uint32_t size)
{
    uint32_t n = 1;
    while (n < size && n < (UINT32_MAX >> 1))
        n = 2 * n + 1;
    return n;
}

int shape_build(shape *s, shape_kind kind, uint32_t size)
{
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->name = shape_names[kind];
    uint32_t side = 0, max_edges;
    switch (kind) {
    case SHAPE_FAN_OUT:
        s->n = size + 2;
        max_edges = 2 * size;
        break;
    case SHAPE_CHAIN:
        s->n = size;
        max_edges = size;
        break;
    case SHAPE_TREE:
        s->n = tree_size(size);
        max_edges = s->n;
        break;
    default:
        side = (uint32_t)lround(sqrt((double)size));
        s->n = side * side;
        max_edges = 2 * s->n;
        break;
    }
    s->pred_begin = malloc(((size_t)s->n + 1) * sizeof *s->pred_begin);
    s->preds = malloc(((size_t)max_edges + 1) * sizeof *s->preds);
    s->sources = malloc(((size_t)s->n + 1) * sizeof *s->sources);
    s->names = calloc(s->n, sizeof *s->names);
    if (!s->pred_begin || !s->preds || !s->sources || !s->names) {
        shape_free(s);
        return -1;
    }

    edge_writer w = {s, 0};
    switch (kind) {
    case SHAPE_FAN_OUT:
        begin(&w); /* the source */
        for (uint32_t i = 1; i <= size; i++) {
            begin(&w);
            pred(&w, 0);
        }
        begin(&w); /* the sink */
        for (uint32_t i = 1; i <= size; i++)
            pred(&w, i);
        break;
    case SHAPE_CHAIN:
        for (uint32_t i = 0; i < s->n; i++) {
            begin(&w);
            if (i > 0)
                pred(&w, i - 1);
        }
        break;
    case SHAPE_TREE: {
        /* Leaves first: with L = (n + 1) / 2 leaves, inner task i > L - 1
         * reduces the two tasks 2(i - L) and 2(i - L) + 1 below it. */
        uint32_t leaves = (s->n + 1) / 2;
        for (uint32_t i = 0; i < s->n; i++) {
            begin(&w);
            if (i >= leaves) {
                pred(&w, 2 * (i - leaves));
                pred(&w, 2 * (i - leaves) + 1);
            }
        }
        break;
    }
    default:
        for (uint32_t r = 0; r < side; r++)
            for (uint32_t c = 0; c < side; c++) {
                begin(&w);
                if (r > 0)
                    pred(&w, (r - 1) * side + c);
                if (c > 0)
                    pred(&w, r * side + c - 1);
            }
        break;
    }
    s->pred_begin[s->n] = s->n_edges;

    for (uint32_t i = 0; i < s->n; i++) {
        if (shape_n_preds(s, i) == 0)
            s->sources[s->n_sources++] = i;
        char name[16];
        int len = snprintf(name, sizeof name, "t%u", i);
        if ((s->names[i] = malloc((size_t)len + 1)) == NULL) {
            shape_free(s);
            return -1;
        }
        memcpy(s->names[i], name, (size_t)len + 1);
    }
    return 0;
}

void shape_free(shape *s)
{
    if (s->names != NULL)
        for (uint32_t i = 0; i < s->n; i++)
            free(s->names[i]);
    free(s->names);
    free(s->pred_begin);
    free(s->preds);
    free(s->sources);
    memset(s, 0, sizeof *s);
}
