/*
 * profile_row.h -- one profiling record as the readers hand it out: a
 * cell per field of the record (profile_schema.h), each a NULL, an
 * integer, a real or text that points into the reader's buffers.
 *
 * Its own header because both decoders (record_plan.c, avroc_engine.c)
 * fill rows and the reader (profile_reader.c) hands them out, and none of
 * them should need another's header for it.
 */
#ifndef DAGLIB_PROFILE_ROW_H
#define DAGLIB_PROFILE_ROW_H

#include <stddef.h>
#include <stdint.h>

#include "profile_schema.h"

typedef enum profile_cell_kind {
    CELL_NULL,
    CELL_INT,  /* attempts, worker; started_at/ended_at in epoch microseconds */
    CELL_REAL, /* task_runtime */
    CELL_TEXT  /* strings, status symbol; not NUL-terminated */
} profile_cell_kind;

typedef struct profile_cell {
    uint8_t kind; /* profile_cell_kind */
    union {
        int64_t i;
        double d;
        struct {
            const char *p;
            size_t n;
        } text;
    } u;
} profile_cell;

/* One record.  Text points into the reader's buffers: valid until the next
 * profile_reader_next() or profile_reader_close() on the same reader. */
typedef struct profile_row {
    profile_cell cell[PF_COUNT];
} profile_row;

/* Bit of a field in a `wanted` mask. */
#define PROFILE_FIELD_BIT(f) (1u << (f))
#define PROFILE_ALL_FIELDS ((1u << PF_COUNT) - 1u)

#endif
