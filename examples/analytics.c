/*
 * analytics.c -- the profiling page's analytics loop.
 *
 * Creates and runs the DAG "example2" five times.  task_1 sleeps one to
 * three seconds and returns [1, 2, 3]; task_2 multiplies each item by a
 * random number from 1 to 10.  Every run adds a profiling file, so that
 * afterwards
 *
 *   SELECT AVG(task_runtime) AS avg_task_runtime FROM profiling
 *
 * averages over all of them.  The random numbers come from a small
 * generator of the program's own (the library never touches rand()).
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "daglib.h"

static uint64_t random_state;

/* A uniform integer in [low, high] (xorshift64*). */
static int random_between(int low, int high)
{
    random_state ^= random_state >> 12;
    random_state ^= random_state << 25;
    random_state ^= random_state >> 27;
    uint64_t r = random_state * 0x2545F4914F6CDD1Dull;
    return low + (int)((r >> 33) % (uint64_t)(high - low + 1));
}

static void task_1(daglib_context *ctx, int argc,
                   const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    struct timespec pause = {random_between(1, 3), 0};
    nanosleep(&pause, NULL);

    daglib_value *list = daglib_value_new_list();
    for (int i = 1; i <= 3; i++)
        daglib_list_append_int(list, i);
    daglib_result_value(ctx, list);
}

static void task_2(daglib_context *ctx, int argc,
                   const daglib_value *const *argv)
{
    (void)argc;
    daglib_value *scaled = daglib_value_new_list();
    for (size_t i = 0; i < daglib_value_count(argv[0]); i++) {
        int64_t x = daglib_value_int(daglib_value_item(argv[0], i));
        daglib_list_append_int(scaled, x * random_between(1, 10));
    }
    daglib_result_value(ctx, scaled);
}

int main(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    random_state = ((uint64_t)now.tv_sec << 20) ^ (uint64_t)now.tv_nsec ^
                   0x9E3779B97F4A7C15ull;

    for (int run = 0; run < 5; run++) { /* create and run the DAG 5 times */
        daglib_dag *dag = daglib_dag_new(
            "example2", "This is another example DAG", DAGLIB_PROFILE);
        if (dag == NULL) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
        daglib_task_add(dag, "task_1", "Do some stuff", task_1, NULL);
        daglib_task *t2 =
            daglib_task_add(dag, "task_2", "Do some other stuff", task_2, NULL);
        daglib_task_input(t2, "task_1");
        daglib_task_set_final(t2);

        daglib_value *result = NULL;
        if (daglib_run(dag, &result) != DAGLIB_OK) {
            fprintf(stderr, "examples/analytics: %s\n", daglib_dag_errmsg(dag));
            daglib_dag_free(dag);
            return 1;
        }
        daglib_value_print(result, stdout);
        putchar('\n');
        fflush(stdout);
        daglib_value_free(result);
        daglib_dag_free(dag);
    }
    return 0;
}
