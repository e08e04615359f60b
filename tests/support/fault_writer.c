/*
 * fault_writer.c -- the writers of tests/suites/reference.sh and faults.sh.
 *
 *   fault_writer daglib ROOT DAG CODEC RECORDS PER_BLOCK
 *       libdaglib's profile writer (null or deflate): RECORDS records of
 *       every kind (nulls, errors, long and non-ASCII text), a block every
 *       PER_BLOCK records; prints the file's path
 *   fault_writer avroc PATH CODEC RECORDS BLOCK_BYTES
 *       avro-c's writer (null, deflate or snappy) with the profiling
 *       schema, blocks of about BLOCK_BYTES
 *   fault_writer run ROOT DAG TASKS SPIN_US
 *       one profiled run of TASKS independent tasks "t<i>" (description
 *       "d<i>"), each busy for SPIN_US microseconds, on two workers: what
 *       faults.sh kills half way
 *   fault_writer runs ROOT DAG SECONDS TASKS SPIN_US
 *       profiled runs of TASKS such tasks, one after another, until SECONDS
 *       have passed; prints "RUNS RECORDS" (the records written), exit 1
 *       if a run fails
 *
 * The checks are the suites' and Python's: this program only writes.
 */
#include <avro.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daglib.h"
#include "profile_file.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- daglib: libdaglib's own writer ----------------------------------------- */

static profile_record sample(int i, char *name, size_t name_size, char *text,
                             size_t text_size)
{
    snprintf(name, name_size, i % 7 == 3 ? "t\u00e2che %d" : "task %d", i);
    /* Every tenth description is long enough for a two-byte length. */
    int n = snprintf(text, text_size, "record %d", i);
    if (i % 10 == 9)
        while (n + 12 < (int)text_size && n < 300)
            n += snprintf(text + n, text_size - (size_t)n, " \u2713 %d", i);
    profile_record r = {
        .task_name = name,
        .task_name_len = strlen(name),
        .task_description = i % 5 == 4 ? "" : text,
        .runtime = i % 3 == 0 ? i * 0.125 : i / 7.0,
        .started_at_us = i % 4 == 2 ? PROFILE_NO_TIME
                                    : 1700000000000000 + (int64_t)i * 1000003,
        .ended_at_us = i % 4 == 2 ? PROFILE_NO_TIME
                                  : 1700000000000000 + (int64_t)i * 1000003 + i,
        .status = (profile_status)(i % 3),
        .attempts = 1 + i % 4,
        .worker = i % 5 == 1 ? PROFILE_NO_WORKER : i % 9,
        .error = i % 3 == 1 ? (i % 2 ? "boom" : "failed: \u00e9chec") : NULL,
    };
    return r;
}

static int write_daglib(const char *root, const char *dag, const char *codec,
                        int records, int per_block)
{
    profile_file *f = NULL;
    error_state err = ERROR_STATE_INIT;
    if (profile_file_create(root, dag, "Written by fault_writer", codec, &f,
                            &err) != 0) {
        fprintf(stderr, "fault_writer: %s\n", error_message(&err));
        return 1;
    }
    printf("%s\n", profile_file_path(f));
    for (int i = 0; i < records; i++) {
        char name[64], text[400];
        profile_record r = sample(i, name, sizeof name, text, sizeof text);
        if (profile_file_append(f, &r, &err) != 0 ||
            ((i + 1) % per_block == 0 && profile_file_flush(f, &err) != 0)) {
            fprintf(stderr, "fault_writer: %s\n", error_message(&err));
            profile_file_close(f, &err);
            return 1;
        }
    }
    if (profile_file_close(f, &err) != 0) {
        fprintf(stderr, "fault_writer: %s\n", error_message(&err));
        return 1;
    }
    return 0;
}

/* ---- avroc: avro-c's writer ------------------------------------------------- */

static int write_avroc(const char *path, const char *codec, int records,
                       size_t block_bytes)
{
    remove(path);
    avro_schema_t schema;
    if (avro_schema_from_json_length(profile_schema_json(),
                                     strlen(profile_schema_json()), &schema) != 0)
        return 1;
    avro_file_writer_t w;
    if (avro_file_writer_create_with_codec(path, schema, &w, codec,
                                           block_bytes) != 0) {
        fprintf(stderr, "fault_writer: avro-c: %s\n", avro_strerror());
        avro_schema_decref(schema);
        return 1;
    }
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    avro_value_t rec, field, branch;
    avro_generic_value_new(iface, &rec);
    int rc = 0;
    for (int i = 0; i < records && rc == 0; i++) {
        char name[64], text[400];
        profile_record r = sample(i, name, sizeof name, text, sizeof text);
        static const char *const strings[] = {"dag_name", "dag_description",
                                              "run_id", "task_name",
                                              "task_description"};
        const char *values[] = {"avroc", "Written by avro-c", "run_0000c0de0",
                                r.task_name, r.task_description};
        for (int s = 0; s < 5; s++) {
            avro_value_get_by_name(&rec, strings[s], &field, NULL);
            avro_value_set_string(&field, values[s]);
        }
        avro_value_get_by_name(&rec, "task_runtime", &field, NULL);
        avro_value_set_double(&field, r.runtime);
        int64_t times[2] = {r.started_at_us, r.ended_at_us};
        static const char *const time_names[] = {"started_at", "ended_at"};
        for (int t = 0; t < 2; t++) {
            avro_value_get_by_name(&rec, time_names[t], &field, NULL);
            int set = times[t] != PROFILE_NO_TIME;
            avro_value_set_branch(&field, set, &branch);
            if (set)
                avro_value_set_long(&branch, times[t]);
            else
                avro_value_set_null(&branch);
        }
        avro_value_get_by_name(&rec, "status", &field, NULL);
        avro_value_set_enum(&field, (int)r.status);
        avro_value_get_by_name(&rec, "attempts", &field, NULL);
        avro_value_set_int(&field, r.attempts);
        avro_value_get_by_name(&rec, "worker", &field, NULL);
        avro_value_set_branch(&field, r.worker != PROFILE_NO_WORKER, &branch);
        if (r.worker != PROFILE_NO_WORKER)
            avro_value_set_int(&branch, r.worker);
        else
            avro_value_set_null(&branch);
        avro_value_get_by_name(&rec, "error", &field, NULL);
        avro_value_set_branch(&field, r.error != NULL, &branch);
        if (r.error != NULL)
            avro_value_set_string(&branch, r.error);
        else
            avro_value_set_null(&branch);
        /* The later fields at their defaults: a union's null, else as
         * the generic value starts ("" or 0). */
        for (int f = PF_ERROR + 1; f < PF_COUNT; f++) {
            avro_value_get_by_name(&rec, profile_field_names[f], &field, NULL);
            if (avro_value_get_type(&field) == AVRO_UNION &&
                avro_value_set_branch(&field, 0, &branch) == 0)
                avro_value_set_null(&branch);
        }
        rc = avro_file_writer_append_value(w, &rec);
    }
    if (avro_file_writer_close(w) != 0)
        rc = 1;
    avro_value_decref(&rec);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
    return rc == 0 ? 0 : 1;
}

/* ---- run / runs: profiled DAG runs through the public API ------------------- */

static void spin(daglib_context *ctx, int argc, const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    double until = now_s() + (double)(intptr_t)daglib_user_data(ctx) / 1e6;
    while (now_s() < until)
        ;
    daglib_result_null(ctx);
}

static daglib_dag *build(const char *root, const char *dag_name, int tasks,
                         long spin_us)
{
    daglib_dag *dag = daglib_dag_new(dag_name, NULL, DAGLIB_PROFILE);
    if (dag == NULL || daglib_dag_set_meta_dir(dag, root) != DAGLIB_OK ||
        daglib_dag_set_workers(dag, 2) != DAGLIB_OK)
        goto fail;
    for (int i = 0; i < tasks; i++) {
        char name[32], description[32];
        snprintf(name, sizeof name, "t%d", i);
        snprintf(description, sizeof description, "d%d", i);
        if (daglib_task_add(dag, name, description, spin,
                            (void *)(intptr_t)spin_us) == NULL)
            goto fail;
    }
    return dag;
fail:
    fprintf(stderr, "fault_writer: cannot build the DAG: %s\n",
            dag ? daglib_dag_errmsg(dag) : "out of memory");
    daglib_dag_free(dag);
    return NULL;
}

static int one_run(const char *root, const char *dag_name, int tasks,
                   long spin_us)
{
    daglib_dag *dag = build(root, dag_name, tasks, spin_us);
    if (dag == NULL)
        return 1;
    int rc = daglib_run(dag, NULL);
    if (rc != DAGLIB_OK)
        fprintf(stderr, "fault_writer: run: %s\n", daglib_dag_errmsg(dag));
    daglib_dag_free(dag);
    return rc == DAGLIB_OK ? 0 : 1;
}

static int runs_for(const char *root, const char *dag_name, double seconds,
                    int tasks, long spin_us)
{
    daglib_dag *dag = build(root, dag_name, tasks, spin_us);
    if (dag == NULL)
        return 1;
    long long runs = 0;
    double end = now_s() + seconds;
    int rc = 0;
    while (now_s() < end) {
        if (daglib_run(dag, NULL) != DAGLIB_OK) {
            fprintf(stderr, "fault_writer: run: %s\n", daglib_dag_errmsg(dag));
            rc = 1;
            break;
        }
        runs++;
    }
    daglib_dag_free(dag);
    printf("%lld %lld\n", runs, runs * tasks);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 7 && strcmp(argv[1], "daglib") == 0)
        return write_daglib(argv[2], argv[3], argv[4], atoi(argv[5]),
                            atoi(argv[6]));
    if (argc == 6 && strcmp(argv[1], "avroc") == 0)
        return write_avroc(argv[2], argv[3], atoi(argv[4]),
                           (size_t)atol(argv[5]));
    if (argc == 6 && strcmp(argv[1], "run") == 0)
        return one_run(argv[2], argv[3], atoi(argv[4]), atol(argv[5]));
    if (argc == 7 && strcmp(argv[1], "runs") == 0)
        return runs_for(argv[2], argv[3], atof(argv[4]), atoi(argv[5]),
                        atol(argv[6]));
    fprintf(stderr, "usage: see the top of tests/support/fault_writer.c\n");
    return 2;
}
