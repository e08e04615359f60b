/*
 * test_library.c -- error codes, version, and the memory kept between
 * DAGs.
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "test.h"

TEST(library_error_codes_have_names_and_messages)
{
    CHECK_STR_EQ(daglib_errname(DAGLIB_OK), "OK");
    CHECK_STR_EQ(daglib_errname(DAGLIB_CYCLE), "CYCLE");
    CHECK_STR_EQ(daglib_errstr(DAGLIB_CYCLE), "the graph has a cycle");
    CHECK_STR_EQ(daglib_errname(12345), "UNKNOWN");
    CHECK_STR_EQ(daglib_errstr(-7), "unknown error");
    CHECK_STR_EQ(daglib_version(), DAGLIB_VERSION);
#define CHECK_DISTINCT_(name, code, msg) \
    CHECK(daglib_errstr(DAGLIB_##name)[0] != '\0');
    DAGLIB_ERRNO_MAP(CHECK_DISTINCT_)
#undef CHECK_DISTINCT_
}

static void nothing(daglib_context *ctx, int argc,
                    const daglib_value *const *argv)
{
    (void)ctx, (void)argc, (void)argv;
}

/* Page faults taken to build, run and free a 100,000-task chain. */
static long chain_faults(void)
{
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    daglib_dag *dag = daglib_dag_new("rebuilt", NULL, 0);
    char name[16], upstream[16];
    for (int i = 0; i < 100000; i++) {
        snprintf(name, sizeof name, "t%d", i);
        daglib_task *task = daglib_task_add(dag, name, NULL, nothing, NULL);
        if (i > 0)
            daglib_task_input(task, upstream);
        memcpy(upstream, name, sizeof name);
    }
    CHECK_INT_EQ(daglib_run(dag, NULL), DAGLIB_OK);
    daglib_dag_free(dag);
    getrusage(RUSAGE_SELF, &after);
    return after.ru_minflt - before.ru_minflt;
}

TEST(library_keeps_a_freed_dags_memory_until_released)
{
    daglib_release_memory();
    long fresh = chain_faults();
    /* Tens of MiB, a page fault per 4 KiB page... */
    CHECK(fresh > 2000);
    /* ...which the rebuild finds kept. */
    long rebuilt = chain_faults();
    CHECK(rebuilt < fresh / 10);
    daglib_release_memory();
    CHECK(chain_faults() > fresh / 2);
    daglib_release_memory();
}
