/*
 * profile_schema.h -- the Avro record daglib.profiling.tprofile, shared by
 * the writer (profile_file.c), the readers (profile_reader.c) and the
 * SQL table (ext/profiling_vtab.c).
 */
#ifndef DAGLIB_PROFILE_SCHEMA_H
#define DAGLIB_PROFILE_SCHEMA_H

#include <stdint.h>

/* The fields of the record, in its order: one table from which the
 * enum, the header's schema JSON, the writer's encoding, the readers'
 * layout and defaults and the SQL table's columns all derive.
 *
 *   X(ID, name, wire, avro type JSON, default JSON, SQL type)
 *
 * wire is how the field is written (PROFILE_WIRE_*).  The first six are
 * the Python original's, in its order, with no default; they are the
 * columns of SELECT *.  Every later field has a default, so that a reader
 * taking the newest file's schema for a whole tree (Spark, Hive, Trino,
 * and this project's own reader) also reads older files; they are hidden
 * columns.  A new field goes at the end. */
#define PROFILE_TIMESTAMP_JSON \
    "{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}"
#define PROFILE_STATUS_JSON                                                   \
    "{\"type\":\"enum\",\"name\":\"task_status\","                           \
    "\"symbols\":[\"ok\",\"failed\",\"skipped\"],\"default\":\"ok\"}"

#define PROFILE_ORIGINAL_FIELDS(X)                                            \
    X(DAG_NAME, dag_name, STRING, "\"string\"", NULL, "VARCHAR(128)")          \
    X(DAG_DESCRIPTION, dag_description, STRING, "\"string\"", NULL, "TEXT")    \
    X(RUN_ID, run_id, STRING, "\"string\"", NULL, "VARCHAR(13)")               \
    X(TASK_NAME, task_name, STRING, "\"string\"", NULL, "VARCHAR(255)")        \
    X(TASK_DESCRIPTION, task_description, STRING, "\"string\"", NULL, "TEXT")  \
    /* a double here; a float in the Python original */                       \
    X(TASK_RUNTIME, task_runtime, DOUBLE, "\"double\"", NULL, "DOUBLE")

#define PROFILE_LATER_FIELDS(X)                                               \
    X(STARTED_AT, started_at, OPTIONAL_LONG,                                  \
      "[\"null\"," PROFILE_TIMESTAMP_JSON "]", "null", "TIMESTAMP")             \
    X(ENDED_AT, ended_at, OPTIONAL_LONG,                                      \
      "[\"null\"," PROFILE_TIMESTAMP_JSON "]", "null", "TIMESTAMP")             \
    X(STATUS, status, ENUM, PROFILE_STATUS_JSON, "\"ok\"", "VARCHAR(7)")       \
    X(ATTEMPTS, attempts, INT, "\"int\"", "1", "INTEGER")                      \
    X(WORKER, worker, OPTIONAL_INT, "[\"null\",\"int\"]", "null", "INTEGER")    \
    X(ERROR, error, OPTIONAL_STRING, "[\"null\",\"string\"]", "null", "TEXT")   \
    /* the writing machine's host name: where a run happened when many */    \
    /* machines write into one shared tree */                                 \
    X(HOST, host, STRING, "\"string\"", "\"\"", "VARCHAR(255)")                 \
    /* the task as declared ("work" for the instance "work 3"); a file */     \
    /* without it reads as its task_name (profile_row_fill_defaults) */       \
    X(TASK, task, STRING, "\"string\"", "\"\"", "VARCHAR(255)")                 \
    /* the instance of a mapped or chunked task (3 for "work 3"), else */    \
    /* null: recorded, never guessed from a name ("step 2" may be a task) */ \
    X(INSTANCE, instance, OPTIONAL_INT, "[\"null\",\"int\"]", "null",          \
      "INTEGER")

#define PROFILE_FIELD_MAP(X) PROFILE_ORIGINAL_FIELDS(X) PROFILE_LATER_FIELDS(X)

typedef enum profile_field {
#define PROFILE_FIELD_ENUM_(id, name, wire, type, def, sql) PF_##id,
    PROFILE_FIELD_MAP(PROFILE_FIELD_ENUM_)
#undef PROFILE_FIELD_ENUM_
    PF_COUNT
} profile_field;

/* Fields every daglib profile has, from the Python original on. */
#define PF_REQUIRED_COUNT 6

/* Fields of the first daglib files in C: a file with at least these, of
 * the table's types, is read by the fast path however many of the later
 * fields it has. */
#define PF_FIRST_DAGLIB_COUNT 12

/* How a field is encoded. */
typedef enum profile_wire {
    PROFILE_WIRE_STRING,
    PROFILE_WIRE_DOUBLE,
    PROFILE_WIRE_INT,           /* an Avro int */
    PROFILE_WIRE_ENUM,          /* the status symbols */
    PROFILE_WIRE_OPTIONAL_LONG, /* ["null", long] */
    PROFILE_WIRE_OPTIONAL_INT,  /* ["null", int] */
    PROFILE_WIRE_OPTIONAL_STRING
} profile_wire;

/* Field names and wires, indexed by profile_field. */
extern const char *const profile_field_names[PF_COUNT];
extern const uint8_t profile_field_wires[PF_COUNT];

typedef enum profile_status {
    PROFILE_OK = 0,
    PROFILE_FAILED = 1,
    PROFILE_SKIPPED = 2
} profile_status;

#define PROFILE_STATUS_COUNT 3

/* Status symbols, indexed by profile_status: "ok", "failed", "skipped". */
extern const char *const profile_status_names[PROFILE_STATUS_COUNT];

/* The full schema JSON, defaults included, as written in every header:
 * built from the field table on first use, then the same string for the
 * life of the process.  Thread safe. */
const char *profile_schema_json(void);

/* How big a block may be.  The writer closes a block once its records
 * reach PROFILE_BLOCK_TARGET_BYTES (or PROFILE_BLOCK_MAX_RECORDS records),
 * so that a query during a run sees blocks often and a reader never holds
 * much at once; the reader refuses a block, compressed or not, of more
 * than PROFILE_BLOCK_MAX_BYTES, and reports it in profiling_files.  One
 * record may not exceed PROFILE_RECORD_MAX_BYTES, which keeps every block
 * the writer makes under the reader's limit. */
#define PROFILE_BLOCK_TARGET_BYTES (1u << 20)
#define PROFILE_BLOCK_MAX_RECORDS 65536
#define PROFILE_RECORD_MAX_BYTES (16u << 20)
#define PROFILE_BLOCK_MAX_BYTES (64u << 20)

/* The record name and namespace. */
#define PROFILE_RECORD_NAME "tprofile"
#define PROFILE_RECORD_NAMESPACE "daglib.profiling"

#endif
