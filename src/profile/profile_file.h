/*
 * profile_file.h -- one run's profiling file, an Avro object container.
 *
 * The file is created with O_EXCL under <root>/profiling/<dag>/, its header
 * (the full schema JSON, defaults included) written at once, so a reader
 * never meets an empty or headerless file.  Records are encoded into a
 * memory block; profile_file_flush() writes the block with one writev() call,
 * so another process sees whole blocks, and a process killed between
 * flushes leaves a file whose complete blocks read cleanly.  An empty block
 * is never written.  Each block is handed to the disk as it is written,
 * and on Linux the file's pages leave the page cache as the disk takes
 * them, all but the last few MiB once the file is closed, so a long run's
 * file neither fills the cache nor keeps asking the kernel for fresh
 * pages.
 *
 * Not synchronised: one thread (the run's profiler) owns a profile_file.
 */
#ifndef DAGLIB_PROFILE_FILE_H
#define DAGLIB_PROFILE_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "profile_schema.h"

typedef struct profile_file profile_file;

/* started_at / ended_at value meaning "null". */
#define PROFILE_NO_TIME INT64_MIN
/* An optional int's null (worker, instance). */
#define PROFILE_NULL_INT (-1)
#define PROFILE_NO_WORKER PROFILE_NULL_INT
#define PROFILE_NO_INSTANCE PROFILE_NULL_INT

typedef struct profile_record {
    const char *task_name; /* instance name, UTF-8 */
    size_t task_name_len;
    const char *task_description; /* NUL-terminated UTF-8, never NULL */
    double runtime;                /* seconds */
    int64_t started_at_us;         /* Unix epoch microseconds or PROFILE_NO_TIME */
    int64_t ended_at_us;
    profile_status status;
    int32_t attempts;
    int32_t worker;    /* or PROFILE_NO_WORKER */
    const char *error; /* NUL-terminated, or NULL; invalid UTF-8 is replaced */
    /* The task as declared, and which of its instances this is, for a
     * mapped or chunked task; task NULL for any other (then the task is
     * task_name and the instance null). */
    const char *task;
    size_t task_len;
    int32_t instance; /* >= 0, or PROFILE_NO_INSTANCE */
} profile_record;

/* Create a new profiling file for a run of dag_name under root ("null" or
 * "deflate" codec).  Creates <root>, <root>/profiling and the DAG directory
 * as needed, never following a symbolic link below root, and picks a run
 * id whose file does not exist yet (O_EXCL).  dag_name must already have
 * passed meta_check_dag_name().
 * Returns DAGLIB_OK with *out set, or DAGLIB_IO / DAGLIB_INVALID /
 * DAGLIB_NOMEM with a message in err and nothing left on disk. */
int profile_file_create(const char *root, const char *dag_name,
                        const char *dag_description, const char *codec,
                        profile_file **out, error_state *err);

/* The run id ("run_xxxxxxxxx") and the path of the file; borrowed. */
const char *profile_file_run_id(const profile_file *f);
const char *profile_file_path(const profile_file *f);

/* Bytes written so far: the header and whole blocks. */
uint64_t profile_file_size(const profile_file *f);

/* Encode one record into the pending block (memory only).
 * DAGLIB_OK, DAGLIB_NOMEM, or DAGLIB_INVALID for a record larger than
 * PROFILE_RECORD_MAX_BYTES (dropped: no reader would accept its block). */
int profile_file_append(profile_file *f, const profile_record *r,
                        error_state *err);

/* Records waiting in the pending block. */
size_t profile_file_pending(const profile_file *f);

/* Whether the pending block has reached the size a block should have
 * (profile_schema.h): time to flush it. */
int profile_file_block_full(const profile_file *f);

/* Write the pending records as one block (nothing when there are none).
 * DAGLIB_OK or DAGLIB_IO (the block stays pending) / DAGLIB_NOMEM. */
int profile_file_flush(profile_file *f, error_state *err);

/* Flush, fdatasync and close; frees f whatever happens.  NULL is a no-op.
 * DAGLIB_OK or DAGLIB_IO. */
int profile_file_close(profile_file *f, error_state *err);

#endif
