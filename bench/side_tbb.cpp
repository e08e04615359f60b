/*
 * side_tbb.cpp -- the oneTBB side of the scheduler benchmark: a flow graph
 * of continue_nodes, one per task, one make_edge per edge.
 *
 * C++ only because oneTBB is.  The graph is built and run inside a
 * task_arena of `workers` threads (the calling thread included), so the
 * thread count matches the other sides.  Build: constructing the nodes and
 * edges; run: try_put to every source, then wait_for_all.
 */
#include <cstdio>
#include <deque>

#include <tbb/flow_graph.h>
#include <tbb/task_arena.h>

#include "peers.h"

using tbb::flow::continue_msg;

template <typename Body>
static void build_and_run(const shape *s, Body body, bench_time *out)
{
    int64_t t0 = bench_now_ns();
    tbb::flow::graph g;
    // A deque never moves its elements, and nodes must not move.
    std::deque<tbb::flow::continue_node<continue_msg>> nodes;
    for (uint32_t i = 0; i < s->n; i++)
        nodes.emplace_back(g, body);
    for (uint32_t i = 0; i < s->n; i++)
        for (uint32_t e = s->pred_begin[i]; e < s->pred_begin[i + 1]; e++)
            tbb::flow::make_edge(nodes[s->preds[e]], nodes[i]);
    int64_t t1 = bench_now_ns();
    for (uint32_t k = 0; k < s->n_sources; k++)
        nodes[s->sources[k]].try_put(continue_msg());
    g.wait_for_all();
    int64_t t2 = bench_now_ns();
    out->build_ns = (double)(t1 - t0);
    out->run_ns = (double)(t2 - t1);
    out->first_ns = (double)(t2 - t0);
}

extern "C" int bench_tbb(const shape *s, int workers, const bench_task *task,
                         bench_time *out)
{
    try {
        tbb::task_arena arena(workers);
        arena.execute([&] {
            if (task->body == BODY_SPIN) {
                uint64_t iterations = task->spin_iterations;
                build_and_run(
                    s, [iterations](const continue_msg &) {
                        bench_spin(iterations);
                    },
                    out);
            } else {
                build_and_run(s, [](const continue_msg &) {}, out);
            }
        });
    } catch (const std::exception &e) {
        std::fprintf(stderr, "tbb, %s: %s\n", s->name, e.what());
        return -1;
    }
    return 0;
}
