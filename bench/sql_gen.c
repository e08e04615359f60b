/*
 * sql_gen.c -- write a metadata tree of synthetic profiling files, fast,
 * for the SQL benchmark (bench/sql_bench.c).
 *
 *   sql_gen ROOT DAGS FILES_PER_DAG RECORDS_PER_FILE CODEC
 *
 * Writes DAGS x FILES_PER_DAG files under ROOT/profiling/dag_NN/, each one
 * run of RECORDS_PER_FILE task records, with libdaglib's own writer
 * (src/profile/profile_file.h, internal but linkable from build/libdaglib-internal.a): the
 * same bytes a profiled run writes, without running tasks.  CODEC is
 * "null" or "deflate".  Records are flushed in blocks of up to 1000, as
 * the profiler's time-based flush gives for a run of that many tasks.
 *
 * The values are fixed by the record's position, so every tree of the
 * same shape holds the same rows (only the random run ids differ): task
 * "task_KK" (KK = record index mod 100), runtime (index mod 1000) / 1000
 * seconds plus a hundredth of the DAG's number, every tenth task failed
 * with an error, workers 0..7, timestamps a millisecond apart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile_file.h"

#define BLOCK_RECORDS 1000
#define BASE_US INT64_C(1717200000000000) /* 2024-06-01T00:00:00Z */

static int write_run(const char *root, const char *dag, long dag_number,
                     long records, const char *codec)
{
    error_state err = ERROR_STATE_INIT;
    profile_file *f;
    if (profile_file_create(root, dag, "Synthetic runs for the SQL benchmark",
                            codec, &f, &err) != DAGLIB_OK) {
        fprintf(stderr, "sql_gen: %s\n", error_message(&err));
        error_clear(&err);
        return -1;
    }
    char name[32];
    for (long i = 0; i < records; i++) {
        profile_record r;
        int n = snprintf(name, sizeof name, "task_%02ld", i % 100);
        r.task_name = name;
        r.task_name_len = (size_t)n;
        r.task_description = "A synthetic task of the SQL benchmark";
        r.runtime = (double)(i % 1000) / 1000.0 + (double)dag_number / 100.0;
        r.started_at_us = BASE_US + i * 1000;
        r.ended_at_us = r.started_at_us + (int64_t)(r.runtime * 1e6);
        r.status = i % 10 == 9 ? PROFILE_FAILED : PROFILE_OK;
        r.attempts = 1;
        r.worker = (int32_t)(i % 8);
        r.error = r.status == PROFILE_FAILED ? "synthetic failure" : NULL;
        if (profile_file_append(f, &r, &err) != DAGLIB_OK ||
            (profile_file_pending(f) >= BLOCK_RECORDS &&
             profile_file_flush(f, &err) != DAGLIB_OK)) {
            fprintf(stderr, "sql_gen: %s\n", error_message(&err));
            error_clear(&err);
            profile_file_close(f, &err);
            error_clear(&err);
            return -1;
        }
    }
    if (profile_file_close(f, &err) != DAGLIB_OK) {
        fprintf(stderr, "sql_gen: %s\n", error_message(&err));
        error_clear(&err);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: sql_gen ROOT DAGS FILES_PER_DAG "
                        "RECORDS_PER_FILE null|deflate\n");
        return 2;
    }
    const char *root = argv[1], *codec = argv[5];
    long dags = atol(argv[2]), files = atol(argv[3]), records = atol(argv[4]);
    if (dags < 1 || dags > 100 || files < 1 || records < 1) {
        fprintf(stderr, "sql_gen: DAGS must be 1..100, the others positive\n");
        return 2;
    }
    for (long d = 0; d < dags; d++) {
        char dag[16];
        snprintf(dag, sizeof dag, "dag_%02ld", d);
        for (long i = 0; i < files; i++)
            if (write_run(root, dag, d, records, codec) != 0)
                return 1;
    }
    return 0;
}
