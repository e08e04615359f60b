/*
 * seeds.c -- write the fuzzer's seed corpus: small profiling files from
 * libdaglib's writer (null and deflate, several blocks, nulls and errors)
 * and from avro-c's (null, deflate, snappy), so that mutations start from
 * every framing and codec the reader knows.  Python's layouts are added by
 * `make fuzz` with tests/support/write_legacy.py.  Then the faults
 * tests/suites/faults.sh and reference.sh meet, made from libdaglib's
 * files: cut inside a block, followed by zeros (after the end, or over a
 * cut block's tail as a power loss leaves it), by half a block repeated,
 * by the last block again with no records counted, and one byte changed.
 *
 *   seeds DIR
 */
#include <avro.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profile_file.h"

static profile_record sample(int i, char *name, size_t size)
{
    snprintf(name, size, "task %d", i);
    profile_record r = {
        .task_name = name,
        .task_name_len = strlen(name),
        .task_description = i % 2 ? "odd" : "",
        .runtime = i * 0.5,
        .started_at_us = i % 3 == 2 ? PROFILE_NO_TIME : 1700000000000000 + i,
        .ended_at_us = i % 3 == 2 ? PROFILE_NO_TIME : 1700000000000009 + i,
        .status = (profile_status)(i % 3),
        .attempts = i % 4,
        .worker = i % 2 ? i : PROFILE_NO_WORKER,
        .error = i % 3 == 1 ? "boom" : NULL,
    };
    return r;
}

/* libdaglib's writer: 7 records in blocks of 3, moved to dir/name. */
static int daglib_seed(const char *dir, const char *codec)
{
    char root[4096];
    snprintf(root, sizeof root, "%s/tmp-meta", dir);
    profile_file *f = NULL;
    error_state err = ERROR_STATE_INIT;
    if (profile_file_create(root, "seed", "Seed DAG", codec, &f, &err) != 0) {
        fprintf(stderr, "seeds: %s\n", error_message(&err));
        return -1;
    }
    for (int i = 0; i < 7; i++) {
        char name[32];
        profile_record r = sample(i, name, sizeof name);
        profile_file_append(f, &r, &err);
        if (i % 3 == 2)
            profile_file_flush(f, &err);
    }
    char from[4096], to[4096];
    snprintf(from, sizeof from, "%s", profile_file_path(f));
    snprintf(to, sizeof to, "%s/daglib-%s.avro", dir, codec);
    if (profile_file_close(f, &err) != 0 || rename(from, to) != 0)
        return -1;
    char dag_dir[4096];
    snprintf(dag_dir, sizeof dag_dir, "%s/profiling/seed", root);
    rmdir(dag_dir);
    snprintf(dag_dir, sizeof dag_dir, "%s/profiling", root);
    rmdir(dag_dir);
    rmdir(root);
    return 0;
}

/* avro-c's writer: 5 records with the full schema. */
static int avroc_seed(const char *dir, const char *codec)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/avroc-%s.avro", dir, codec);
    unlink(path);
    avro_schema_t schema;
    if (avro_schema_from_json_length(profile_schema_json(),
                                     strlen(profile_schema_json()), &schema) != 0)
        return -1;
    avro_file_writer_t w;
    if (avro_file_writer_create_with_codec(path, schema, &w, codec, 0) != 0) {
        avro_schema_decref(schema);
        return -1;
    }
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    avro_value_t rec, field, branch;
    avro_generic_value_new(iface, &rec);
    for (int i = 0; i < 5; i++) {
        static const char *const strings[] = {"dag_name", "dag_description",
                                              "run_id", "task_name",
                                              "task_description"};
        for (int s = 0; s < 5; s++) {
            avro_value_get_by_name(&rec, strings[s], &field, NULL);
            avro_value_set_string(&field, s == 2 ? "run_000000000" : "seed");
        }
        avro_value_get_by_name(&rec, "task_runtime", &field, NULL);
        avro_value_set_double(&field, i * 0.25);
        static const char *const unions[] = {"started_at", "ended_at",
                                             "worker", "error"};
        for (int u = 0; u < 4; u++) {
            avro_value_get_by_name(&rec, unions[u], &field, NULL);
            int set = (i + u) % 2;
            avro_value_set_branch(&field, set, &branch);
            if (!set)
                avro_value_set_null(&branch);
            else if (u < 2)
                avro_value_set_long(&branch, 1700000000000000 + i);
            else if (u == 2)
                avro_value_set_int(&branch, i);
            else
                avro_value_set_string(&branch, "failed");
        }
        avro_value_get_by_name(&rec, "status", &field, NULL);
        avro_value_set_enum(&field, i % 3);
        avro_value_get_by_name(&rec, "attempts", &field, NULL);
        avro_value_set_int(&field, i);
        avro_file_writer_append_value(w, &rec);
    }
    int rc = avro_file_writer_close(w);
    avro_value_decref(&rec);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
    return rc == 0 ? 0 : -1;
}

/* ---- faults ------------------------------------------------------------------ */

static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    unsigned char *data = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)n)) != NULL &&
        fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return data;
}

static int spit(const char *dir, const char *name, const unsigned char *a,
                size_t a_size, const unsigned char *b, size_t b_size)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    int ok = fwrite(a, 1, a_size, f) == a_size &&
             (b_size == 0 || fwrite(b, 1, b_size, f) == b_size);
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Variants of a file of libdaglib's with at least two blocks, the last
 * holding fewer than 64 records (its count is one byte).  The file ends
 * with its sync marker, which also ends the header and every block. */
static int fault_seeds(const char *dir, const char *codec)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/daglib-%s.avro", dir, codec);
    size_t size = 0;
    unsigned char *data = slurp(path, &size);
    if (data == NULL || size < 64) {
        free(data);
        return -1;
    }
    const unsigned char *sync = data + size - 16;
    size_t last = 0; /* where the last block starts */
    for (const unsigned char *p = data; p < sync;) {
        const unsigned char *hit = memmem(p, (size_t)(sync - p), sync, 16);
        if (hit == NULL)
            break;
        last = (size_t)(hit - data) + 16;
        p = hit + 16;
    }
    int rc = last == 0 ? -1 : 0;
    size_t mid = (last + size) / 2;
    unsigned char *zeros = calloc(4096, 1);
    unsigned char *copy = malloc(size);
    if (zeros == NULL || copy == NULL)
        rc = -1;
#define SEED(kind, a, an, b, bn)                                              \
    do {                                                                      \
        char name[128];                                                       \
        snprintf(name, sizeof name, "fault-%s-%s.avro", codec, kind);         \
        if (rc == 0 && spit(dir, name, a, an, b, bn) != 0)                    \
            rc = -1;                                                          \
    } while (0)
    if (rc == 0) {
        SEED("cut", data, mid, NULL, 0);
        SEED("zero-tail", data, size, zeros, 4096);
        SEED("power-loss", data, mid, zeros, size - mid);
        SEED("half-block-again", data, size, data + last, mid - last);
        memcpy(copy, data + last, size - last);
        copy[0] = 0; /* the count: no records, but the bytes are there */
        SEED("counted-zero", data, size, copy, size - last);
        memcpy(copy, data, size);
        copy[(last + mid) / 2] ^= 0x10;
        SEED("flipped", copy, size, NULL, 0);
    }
#undef SEED
    free(zeros);
    free(copy);
    free(data);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seeds DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    if (daglib_seed(dir, "null") != 0 || daglib_seed(dir, "deflate") != 0 ||
        avroc_seed(dir, "null") != 0 || avroc_seed(dir, "deflate") != 0 ||
        avroc_seed(dir, "snappy") != 0 || fault_seeds(dir, "null") != 0 ||
        fault_seeds(dir, "deflate") != 0) {
        fprintf(stderr, "seeds: cannot write the seed corpus in %s\n", dir);
        return 1;
    }
    return 0;
}
