/*
 * sql_gen.c -- write a metadata tree of synthetic profiling files, fast,
 * for the SQL benchmark (bench/sql_bench.c).
 *
 *   sql_gen ROOT DAGS FILES_PER_DAG RECORDS_PER_FILE CODEC
 *
 * Writes DAGS x FILES_PER_DAG files under ROOT/profiling/dag_NN/, each one
 * run of RECORDS_PER_FILE task records.  CODEC "null" or "deflate": with
 * libdaglib's own writer (src/profile/profile_file.h, internal but
 * linkable from build/libdaglib-internal.a), the same bytes a profiled
 * run writes, without running tasks, in blocks of up to 1000 records, as
 * the profiler's time-based flush gives for a run of that many tasks.
 * "avroc-deflate" or "avroc-snappy": with avro-c's writer and its default
 * 16 KiB blocks (about a hundred of these records each), as files of other
 * Avro writers come; the rows are the same.  Prints the records per block
 * of the first file.
 *
 * The values are fixed by the record's position, so every tree of the
 * same shape holds the same rows (only the random run ids differ): task
 * "task_KK" (KK = record index mod 100), runtime (index mod 1000) / 1000
 * seconds plus a hundredth of the DAG's number, every tenth task failed
 * with an error, workers 0..7, timestamps a millisecond apart.
 */
#include <avro.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "avro_container.h"
#include "profile_file.h"

#define BLOCK_RECORDS 1000
#define BASE_US INT64_C(1717200000000000) /* 2024-06-01T00:00:00Z */

#define DAG_DESCRIPTION "Synthetic runs for the SQL benchmark"

/* Record i of a run of the DAG numbered dag_number; name holds its task
 * name. */
static profile_record record_at(long i, long dag_number, char name[32])
{
    profile_record r;
    memset(&r, 0, sizeof r);
    int n = snprintf(name, 32, "task_%02ld", i % 100);
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
    r.task = NULL;
    r.instance = PROFILE_NO_INSTANCE;
    return r;
}

static int write_run(const char *root, const char *dag, long dag_number,
                     long records, const char *codec)
{
    error_state err = ERROR_STATE_INIT;
    profile_file *f;
    if (profile_file_create(root, dag, DAG_DESCRIPTION, codec, &f, &err) !=
        DAGLIB_OK) {
        fprintf(stderr, "sql_gen: %s\n", error_message(&err));
        error_clear(&err);
        return -1;
    }
    char name[32];
    for (long i = 0; i < records; i++) {
        profile_record r = record_at(i, dag_number, name);
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

/* ---- avro-c's writer ------------------------------------------------------ */

static void set_string(avro_value_t *rec, const char *field, const char *s,
                       size_t n)
{
    avro_value_t v;
    avro_value_get_by_name(rec, field, &v, NULL);
    avro_value_set_string_len(&v, s, n + 1); /* avro-c counts the NUL */
}

/* ["null", x]: null when `there` is 0, else the branch to set. */
static avro_value_t *optional(avro_value_t *rec, const char *field, int there,
                              avro_value_t *branch)
{
    avro_value_t v;
    avro_value_get_by_name(rec, field, &v, NULL);
    avro_value_set_branch(&v, there ? 1 : 0, branch);
    if (!there)
        avro_value_set_null(branch);
    return there ? branch : NULL;
}

static int write_avroc_run(const char *root, const char *dag, long dag_number,
                           long file_number, long records, const char *codec,
                           const char *host, avro_schema_t schema,
                           avro_value_iface_t *iface)
{
    char dir[4096], path[4200], run_id[16];
    snprintf(dir, sizeof dir, "%s/profiling/%s", root, dag);
    snprintf(run_id, sizeof run_id, "run_%09lx",
             (unsigned long)(0xa0000000ul + (unsigned long)dag_number * 100000ul +
                             (unsigned long)file_number));
    snprintf(path, sizeof path, "%s/%s.avro", dir, run_id);
    char mkdirs[4200];
    snprintf(mkdirs, sizeof mkdirs, "mkdir -p '%s'", dir);
    if (system(mkdirs) != 0)
        return -1;
    avro_file_writer_t w;
    if (avro_file_writer_create_with_codec(path, schema, &w, codec, 0) != 0) {
        fprintf(stderr, "sql_gen: avro-c: %s: %s\n", path, avro_strerror());
        return -1;
    }
    avro_value_t rec, v, branch;
    avro_generic_value_new(iface, &rec);
    char name[32];
    int rc = 0;
    for (long i = 0; i < records && rc == 0; i++) {
        profile_record r = record_at(i, dag_number, name);
        set_string(&rec, "dag_name", dag, strlen(dag));
        set_string(&rec, "dag_description", DAG_DESCRIPTION,
                   strlen(DAG_DESCRIPTION));
        set_string(&rec, "run_id", run_id, strlen(run_id));
        set_string(&rec, "task_name", r.task_name, r.task_name_len);
        set_string(&rec, "task_description", r.task_description,
                   strlen(r.task_description));
        avro_value_get_by_name(&rec, "task_runtime", &v, NULL);
        avro_value_set_double(&v, r.runtime);
        avro_value_set_long(optional(&rec, "started_at", 1, &branch),
                            r.started_at_us);
        avro_value_set_long(optional(&rec, "ended_at", 1, &branch),
                            r.ended_at_us);
        avro_value_get_by_name(&rec, "status", &v, NULL);
        avro_value_set_enum(&v, (int)r.status);
        avro_value_get_by_name(&rec, "attempts", &v, NULL);
        avro_value_set_int(&v, r.attempts);
        avro_value_set_int(optional(&rec, "worker", 1, &branch), r.worker);
        if (optional(&rec, "error", r.error != NULL, &branch) != NULL)
            avro_value_set_string(&branch, r.error);
        set_string(&rec, "host", host, strlen(host));
        set_string(&rec, "task", r.task_name, r.task_name_len);
        optional(&rec, "instance", 0, &branch);
        rc = avro_file_writer_append_value(w, &rec);
    }
    avro_value_decref(&rec);
    if (avro_file_writer_close(w) != 0 || rc != 0) {
        fprintf(stderr, "sql_gen: avro-c could not write %s\n", path);
        return -1;
    }
    return 0;
}

/* Records per block of the file at path, to say what a writer made. */
static void print_blocks(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    avro_container c;
    if (fd < 0 || avro_container_open(&c, fd) != 0)
        return;
    avro_block block;
    long blocks = 0, records = 0;
    while (avro_container_next_block(&c, &block) == 1) {
        blocks++;
        records += (long)block.count;
    }
    avro_container_close(&c);
    if (blocks > 0)
        fprintf(stderr, "sql_gen: %s: %ld records in %ld blocks, %.0f a block\n",
                path, records, blocks, (double)records / (double)blocks);
}

static int write_avroc_tree(const char *root, long dags, long files,
                            long records, const char *codec)
{
    avro_schema_t schema;
    const char *json = profile_schema_json();
    if (avro_schema_from_json_length(json, strlen(json), &schema) != 0) {
        fprintf(stderr, "sql_gen: avro-c: %s\n", avro_strerror());
        return -1;
    }
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    /* The host column as libdaglib's writer fills it: this machine's name. */
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    int rc = 0;
    for (long d = 0; d < dags && rc == 0; d++) {
        char dag[32];
        snprintf(dag, sizeof dag, "dag_%02ld", d);
        for (long i = 0; i < files && rc == 0; i++)
            rc = write_avroc_run(root, dag, d, i, records, codec, host, schema,
                                 iface);
    }
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
    if (rc == 0) {
        char first[4200];
        snprintf(first, sizeof first, "%s/profiling/dag_00/run_%09lx.avro",
                 root, 0xa0000000ul);
        print_blocks(first);
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: sql_gen ROOT DAGS FILES_PER_DAG "
                        "RECORDS_PER_FILE "
                        "null|deflate|avroc-deflate|avroc-snappy\n");
        return 2;
    }
    const char *root = argv[1], *codec = argv[5];
    long dags = atol(argv[2]), files = atol(argv[3]), records = atol(argv[4]);
    if (dags < 1 || dags > 100 || files < 1 || records < 1) {
        fprintf(stderr, "sql_gen: DAGS must be 1..100, the others positive\n");
        return 2;
    }
    if (strncmp(codec, "avroc-", 6) == 0)
        return write_avroc_tree(root, dags, files, records, codec + 6) == 0 ? 0
                                                                           : 1;
    for (long d = 0; d < dags; d++) {
        char dag[16];
        snprintf(dag, sizeof dag, "dag_%02ld", d);
        for (long i = 0; i < files; i++)
            if (write_run(root, dag, d, records, codec) != 0)
                return 1;
    }
    return 0;
}
