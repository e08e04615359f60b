/*
 * side_openmp.c -- the OpenMP side of the scheduler benchmark: one task per
 * node, its edges as depend clauses.
 *
 * One thread creates the tasks in index order (a topological order), each
 * with `out` on its own address and `in` on its predecessors', and the
 * runtime derives the graph from those addresses.  Creating and running
 * overlap, so there is no separate build time: the run includes it.
 *
 * One exception: libgomp walks the list of an address's earlier readers
 * each time a task adds itself as a reader, which made the 1-worker
 * fan-out take 61 s (quadratic in the 100,000 readers of the source).  A
 * task with more than WIDE_FAN_OUT successors therefore writes one address
 * per outgoing edge, and each successor reads its own.  Same edges, no
 * long reader lists.
 */
#include <stdio.h>
#include <stdlib.h>

#include "peers.h"

#define WIDE_FAN_OUT 64

/* The dependence addresses, as indices into one byte array: a task writes
 * out[out_begin[i] .. out_begin[i + 1]) and reads in[pred_begin[i] ..). */
typedef struct addresses {
    uint32_t *in;
    uint32_t *out_begin;
    uint32_t *out;
    char *slot; /* only the addresses matter */
} addresses;

static void addresses_free(addresses *a)
{
    free(a->in);
    free(a->out_begin);
    free(a->out);
    free(a->slot);
}

static int addresses_make(const shape *s, addresses *a)
{
    size_t n = s->n, edges = s->n_edges;
    a->in = malloc((edges + 1) * sizeof *a->in);
    a->out_begin = calloc(n + 1, sizeof *a->out_begin);
    a->out = malloc((n + edges + 1) * sizeof *a->out);
    a->slot = malloc(n + edges + 1);
    uint32_t *degree = calloc(n, sizeof *degree);
    if (!a->in || !a->out_begin || !a->out || !a->slot || !degree) {
        free(degree);
        addresses_free(a);
        return -1;
    }
    for (size_t e = 0; e < edges; e++)
        degree[s->preds[e]]++;
    for (size_t i = 0; i < n; i++)
        a->out_begin[i + 1] =
            a->out_begin[i] + (degree[i] > WIDE_FAN_OUT ? degree[i] : 1);
    /* degree[i] becomes the next free place in task i's out list. */
    for (size_t i = 0; i < n; i++) {
        a->out[a->out_begin[i]] = (uint32_t)i;
        degree[i] = a->out_begin[i];
    }
    for (size_t i = 0; i < n; i++)
        for (uint32_t e = s->pred_begin[i]; e < s->pred_begin[i + 1]; e++) {
            uint32_t p = s->preds[e];
            if (a->out_begin[p + 1] - a->out_begin[p] == 1) {
                a->in[e] = p;
            } else {
                a->in[e] = (uint32_t)n + e;
                a->out[degree[p]++] = (uint32_t)n + e;
            }
        }
    free(degree);
    return 0;
}

/* The task bodies differ only in the spin; two loops keep the empty one
 * truly empty. */
static void spawn_empty(const shape *s, const addresses *a)
{
    for (uint32_t i = 0; i < s->n; i++) {
        const uint32_t *in = &a->in[s->pred_begin[i]];
        uint32_t n_in = shape_n_preds(s, i);
        const uint32_t *out = &a->out[a->out_begin[i]];
        uint32_t n_out = a->out_begin[i + 1] - a->out_begin[i];
        char *slot = a->slot;
        /* gcc 12 takes what a depend iterator uses for unused */
        (void)in, (void)n_in, (void)out, (void)n_out, (void)slot;
#pragma omp task depend(iterator(j = 0 : n_in), in : slot[in[j]]) \
    depend(iterator(k = 0 : n_out), out : slot[out[k]])
        {
        }
    }
}

static void spawn_spinning(const shape *s, const addresses *a,
                           uint64_t iterations)
{
    for (uint32_t i = 0; i < s->n; i++) {
        const uint32_t *in = &a->in[s->pred_begin[i]];
        uint32_t n_in = shape_n_preds(s, i);
        const uint32_t *out = &a->out[a->out_begin[i]];
        uint32_t n_out = a->out_begin[i + 1] - a->out_begin[i];
        char *slot = a->slot;
        (void)in, (void)n_in, (void)out, (void)n_out, (void)slot;
#pragma omp task depend(iterator(j = 0 : n_in), in : slot[in[j]]) \
    depend(iterator(k = 0 : n_out), out : slot[out[k]]) \
    firstprivate(iterations)
        bench_spin(iterations);
    }
}

int bench_openmp(const shape *s, int workers, const bench_task *task,
                 bench_time *out)
{
    addresses a;
    if (addresses_make(s, &a) != 0) {
        fprintf(stderr, "openmp: out of memory\n");
        return -1;
    }
    int64_t t0 = bench_now_ns();
#pragma omp parallel num_threads(workers)
#pragma omp single
    {
        if (task->body == BODY_SPIN)
            spawn_spinning(s, &a, task->spin_iterations);
        else
            spawn_empty(s, &a);
    } /* the barrier waits for every task */
    int64_t t1 = bench_now_ns();
    addresses_free(&a);
    out->build_ns = -1;
    out->run_ns = (double)(t1 - t0);
    out->first_ns = out->run_ns;
    return 0;
}
