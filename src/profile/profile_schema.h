/*
 * profile_schema.h -- the Avro record daglib.profiling.tprofile, shared by
 * the writer (src/profile/profile_file.c) and the reader (src/profile/profile_reader.c).
 *
 * The first six fields are those of the Python original, in its order;
 * every later field has a default so that a reader taking the newest
 * file's schema for the whole tree also reads older files.
 */
#ifndef DAGLIB_PROFILE_SCHEMA_H
#define DAGLIB_PROFILE_SCHEMA_H

#include <stdint.h>

typedef enum profile_field {
    PF_DAG_NAME,
    PF_DAG_DESCRIPTION,
    PF_RUN_ID,
    PF_TASK_NAME,
    PF_TASK_DESCRIPTION,
    PF_TASK_RUNTIME,   /* double seconds; float in the Python original */
    PF_STARTED_AT,     /* ["null", timestamp-micros], default null */
    PF_ENDED_AT,       /* ["null", timestamp-micros], default null */
    PF_STATUS,         /* enum task_status {ok, failed, skipped}, default ok */
    PF_ATTEMPTS,       /* int, default 1 */
    PF_WORKER,         /* ["null", int], default null */
    PF_ERROR,          /* ["null", string], default null */
    PF_COUNT
} profile_field;

/* Fields every daglib profile has, from the Python original on. */
#define PF_REQUIRED_COUNT 6

typedef enum profile_status {
    PROFILE_OK = 0,
    PROFILE_FAILED = 1,
    PROFILE_SKIPPED = 2
} profile_status;

#define PROFILE_STATUS_COUNT 3

/* Field names, indexed by profile_field. */
extern const char *const profile_field_names[PF_COUNT];

/* Status symbols, indexed by profile_status: "ok", "failed", "skipped". */
extern const char *const profile_status_names[PROFILE_STATUS_COUNT];

/* The full schema JSON, defaults included, as written in every header. */
extern const char profile_schema_json[];

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
