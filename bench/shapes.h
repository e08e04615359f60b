/*
 * shapes.h -- the graphs every benchmark runs, as plain edge lists.
 *
 * A shape is a DAG of n tasks numbered in a topological order (every
 * predecessor of task i has a smaller number), with the predecessors of
 * each task in one CSR array.  daglib, oneTBB and OpenMP are all built
 * from these same arrays, so they run exactly the same edges.
 */
#ifndef BENCH_SHAPES_H
#define BENCH_SHAPES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum shape_kind {
    SHAPE_FAN_OUT,   /* 1 source -> n - 2 tasks -> 1 sink */
    SHAPE_CHAIN,     /* t0 -> t1 -> ... */
    SHAPE_TREE,      /* binary reduction: 2^k leaves up to one root */
    SHAPE_WAVEFRONT, /* side x side grid, each cell after left and up */
    SHAPE_COUNT
} shape_kind;

typedef struct shape {
    shape_kind kind;
    const char *name;    /* "fan-out", "chain", ... */
    uint32_t n;          /* tasks */
    uint32_t n_edges;
    uint32_t *pred_begin; /* preds of i: preds[pred_begin[i] .. pred_begin[i+1]) */
    uint32_t *preds;
    uint32_t *sources;   /* tasks without predecessors */
    uint32_t n_sources;
    char **names;        /* "t0", "t1", ...: daglib names its tasks */
} shape;

/* Build a shape of about `size` tasks (the tree rounds to 2^k - 1, the
 * wavefront to a square).  Returns 0, or -1 when memory runs out. */
int shape_build(shape *s, shape_kind kind, uint32_t size);
void shape_free(shape *s);

/* The number of predecessors of task i. */
static inline uint32_t shape_n_preds(const shape *s, uint32_t i)
{
    return s->pred_begin[i + 1] - s->pred_begin[i];
}

#ifdef __cplusplus
}
#endif

#endif
