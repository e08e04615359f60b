/*
 * test_dot.c -- drawing a DAG: the DOT text has a node per task instance
 * and an edge per argument, Graphviz renders it, culling to a step keeps
 * only what the step needs, and a run's profile labels the nodes.
 */
#include <stdlib.h>
#include <time.h>

#include "test.h"

static void nothing(daglib_context *ctx, int argc,
                    const daglib_value *const *argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
}

static int count_of(const char *haystack, const char *needle)
{
    int n = 0;
    for (const char *p = haystack; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static daglib_dag *mapped_example(void)
{
    daglib_dag *dag = daglib_dag_new("drawn", NULL, DAGLIB_PROFILE);
    daglib_value *items = daglib_value_new_list();
    for (int i = 1; i <= 3; i++)
        daglib_list_append_int(items, i);
    daglib_task_add(dag, "source", NULL, nothing, NULL);
    daglib_task *m = daglib_task_add(dag, "add_two", NULL, nothing, NULL);
    daglib_task_map_values(m, items);
    daglib_task_depends_on(m, "source");
    daglib_value_free(items);
    daglib_task *j = daglib_task_add(dag, "sum_all", NULL, nothing, NULL);
    daglib_task_join(j, "add_two");
    daglib_task_set_final(j);
    daglib_task_add(dag, "say \"hi\"", NULL, nothing, NULL);
    return dag;
}

TEST(dot_has_a_node_per_instance_and_an_edge_per_argument)
{
    daglib_dag *dag = mapped_example();
    char *dot = daglib_dag_to_dot(dag, NULL, NULL);
    CHECK(dot != NULL);
    CHECK(strncmp(dot, "digraph \"drawn\" {", 17) == 0);
    CHECK_INT_EQ(count_of(dot, "[label="), 6);
    CHECK_CONTAINS(dot, "label=\"add_two 0\"");
    CHECK_CONTAINS(dot, "label=\"add_two 2\"");
    CHECK_CONTAINS(dot, "label=\"say \\\"hi\\\"\""); /* quotes escaped */
    CHECK_INT_EQ(count_of(dot, " -> "), 6); /* 3 from source, 3 into sum */
    daglib_free(dot);
    daglib_dag_free(dag);
}

TEST(dot_renders_with_graphviz)
{
    daglib_dag *dag = mapped_example();
    char *dot = daglib_dag_to_dot(dag, NULL, NULL);
    test_write_file("graph.dot", dot, strlen(dot));
    daglib_free(dot);
    CHECK_INT_EQ(test_system("dot -Tsvg graph.dot -o graph.svg"), 0);
    char *svg = test_read_file("graph.svg", NULL);
    CHECK_CONTAINS(svg, "<svg");
    CHECK_CONTAINS(svg, "add_two 1");
    CHECK_CONTAINS(svg, "sum_all");
    free(svg);
    daglib_dag_free(dag);
}

TEST(dot_culled_to_a_step_keeps_its_ancestors_only)
{
    daglib_dag *dag = mapped_example();
    char *dot = daglib_dag_to_dot(dag, "add_two", NULL);
    CHECK(dot != NULL);
    CHECK_INT_EQ(count_of(dot, "[label="), 4); /* source + 3 instances */
    CHECK(strstr(dot, "sum_all") == NULL);
    CHECK(strstr(dot, "say") == NULL);
    daglib_free(dot);
    CHECK(daglib_dag_to_dot(dag, "nope", NULL) == NULL);
    CHECK_CODE(daglib_dag_errcode(dag), DAGLIB_NOTFOUND);
    daglib_dag_free(dag);
}

TEST(dot_refuses_a_bad_run_id)
{
    daglib_dag *dag = mapped_example();
    CHECK(daglib_dag_to_dot(dag, NULL, "../../etc/passwd") == NULL);
    CHECK_CODE(daglib_dag_errcode(dag), DAGLIB_INVALID);
    CHECK(daglib_dag_to_dot(dag, NULL, "run_000000000") == NULL);
    CHECK_CODE(daglib_dag_errcode(dag), DAGLIB_IO);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "run_000000000");
    daglib_dag_free(dag);
}

static void one(daglib_context *ctx, int argc, const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_result_int(ctx, 1);
}

TEST(dot_labels_nodes_with_the_runtimes_of_a_run)
{
    daglib_dag *dag = daglib_dag_new("timed", NULL, DAGLIB_PROFILE);
    daglib_task_add(dag, "first", NULL, one, NULL);
    daglib_task_input(daglib_task_add(dag, "second", NULL, one, NULL), "first");
    CHECK_OK(daglib_run(dag, NULL));
    char run_id[16];
    snprintf(run_id, sizeof run_id, "%s", daglib_dag_run_id(dag));
    /* A task added after the run is drawn, but has no time in it. */
    daglib_task_add(dag, "later", NULL, one, NULL);
    char *dot = daglib_dag_to_dot(dag, NULL, run_id);
    CHECK(dot != NULL);
    /* Tasks this quick take nanoseconds or microseconds, never
     * "0.000000 s". */
    CHECK_INT_EQ(count_of(dot, "s\"]"), 2);
    CHECK(strstr(dot, "0.000000") == NULL);
    CHECK_CONTAINS(dot, "label=\"first\\n");
    CHECK_CONTAINS(dot, "label=\"later\\nnot in this run\"");
    daglib_free(dot);
    daglib_dag_free(dag);
}

static void nap_3ms(daglib_context *ctx, int argc,
                    const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    struct timespec pause = {0, 3000000};
    nanosleep(&pause, NULL);
    daglib_result_int(ctx, 1);
}

static void fail(daglib_context *ctx, int argc, const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_result_error(ctx, "no");
}

TEST(dot_shows_each_tasks_status_and_a_readable_unit)
{
    daglib_dag *dag = daglib_dag_new("outcomes", NULL, DAGLIB_PROFILE);
    daglib_task_add(dag, "slow", NULL, nap_3ms, NULL);
    daglib_task_add(dag, "broken", NULL, fail, NULL);
    daglib_task_input(daglib_task_add(dag, "after", NULL, one, NULL), "broken");
    CHECK_CODE(daglib_run(dag, NULL), DAGLIB_TASK_FAILED);
    char *dot = daglib_dag_to_dot(dag, NULL, daglib_dag_run_id(dag));
    CHECK(dot != NULL);
    /* 3 ms or more (a loaded machine oversleeps): milliseconds. */
    const char *slow = strstr(dot, "label=\"slow\\n");
    CHECK(slow != NULL);
    double ms = atof(slow + strlen("label=\"slow\\n"));
    CHECK(ms >= 3.0 && ms < 1000.0);
    CHECK_CONTAINS(slow, " ms\"];");
    /* A failure and what it skipped do not look like successes. */
    CHECK_CONTAINS(dot, "label=\"broken\\nfailed after ");
    CHECK_CONTAINS(dot, "color=red, fontcolor=red];");
    CHECK_CONTAINS(dot, "label=\"after\\nskipped\", style=\"rounded,dashed\"");
    CHECK_INT_EQ(count_of(dot, ", color=red"), 1);
    daglib_free(dot);
    daglib_dag_free(dag);
}
