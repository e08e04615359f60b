/*
 * side_taskflow.cpp -- the Taskflow side of the scheduler benchmark: a
 * tf::Taskflow of one task per node, one precede per edge.
 *
 * C++ only because Taskflow is.  Taskflow's calling thread never runs
 * tasks, it only submits the graph and waits, so the executor gets
 * `workers` threads of its own: one thread more than the other sides, which
 * count the caller among their `workers`.  That is the usual way to set
 * Taskflow against them (an executor of N workers), and the way the earlier
 * reference figures were taken.  The executor exists before the clock
 * starts, as the other sides' thread pools do.  Build: emplacing the tasks
 * and adding the edges; run: executor.run(taskflow).wait().
 */
#include <cstdio>
#include <exception>
#include <vector>

#include <taskflow/taskflow.hpp>

#include "peers.h"

template <typename Body>
static void build_and_run(const shape *s, tf::Executor &executor, Body body,
                          bench_time *out)
{
    int64_t t0 = bench_now_ns();
    tf::Taskflow taskflow;
    // precede() needs the handles of a task's predecessors, which the
    // shape names by index.
    std::vector<tf::Task> tasks;
    tasks.reserve(s->n);
    for (uint32_t i = 0; i < s->n; i++)
        tasks.push_back(taskflow.emplace(body));
    for (uint32_t i = 0; i < s->n; i++)
        for (uint32_t e = s->pred_begin[i]; e < s->pred_begin[i + 1]; e++)
            tasks[s->preds[e]].precede(tasks[i]);
    int64_t t1 = bench_now_ns();
    executor.run(taskflow).wait();
    int64_t t2 = bench_now_ns();
    out->build_ns = (double)(t1 - t0);
    out->run_ns = (double)(t2 - t1);
    out->first_ns = (double)(t2 - t0);
    // The taskflow's nodes are freed here, after the clock, as the other
    // sides free theirs.
}

extern "C" const char *bench_taskflow_version(void)
{
    return tf::version();
}

extern "C" int bench_taskflow(const shape *s, int workers,
                              const bench_task *task, bench_time *out)
{
    // tf::Executor takes a size_t: a negative count would ask for billions
    // of threads.
    if (workers < 1) {
        std::fprintf(stderr, "taskflow, %s: %d workers\n", s->name, workers);
        return -1;
    }
    try {
        tf::Executor executor(static_cast<size_t>(workers));
        if (task->body == BODY_SPIN) {
            uint64_t iterations = task->spin_iterations;
            build_and_run(
                s, executor, [iterations]() { bench_spin(iterations); }, out);
        } else {
            build_and_run(s, executor, []() {}, out);
        }
    } catch (const std::exception &e) {
        std::fprintf(stderr, "taskflow, %s: %s\n", s->name, e.what());
        return -1;
    }
    return 0;
}
