/*
 * avroc_engine.h -- read a profiling file through avro-c's own file reader
 * and generic values: the reference the block decoder is tested against,
 * and the fallback for what the block decoder does not cover (a codec
 * such as lzma, field types such as nested records).
 *
 * Fields are matched by name here as well, and missing ones get the same
 * defaults: avro-c's resolver would ignore the defaults, so it is not used.
 *
 * avro-c believes every count and length it reads, so it only ever sees
 * the blocks that were checked first (the file as far as they go); see
 * avroc_engine.c.
 */
#ifndef DAGLIB_AVROC_ENGINE_H
#define DAGLIB_AVROC_ENGINE_H

#include <avro.h>

#include "avro_container.h"
#include "profile_row.h"
#include "record_plan.h"

typedef struct avroc_engine {
    avro_file_reader_t file;
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t value;
    int have_value;
    int field_index[PF_COUNT]; /* in the writer's record, or -1 */
    int file_done; /* avro-c's reader is at the end of the view */
    int64_t records_left; /* in the checked blocks, not read yet */
    int ended;
    /* After the checked blocks: the whole records of the block the check
     * stopped in (framed by its sync marker, damaged further on), which avro-c decodes
     * from memory. */
    char *tail;
    size_t tail_len;
    int64_t tail_left;
    avro_reader_t tail_reader;
    char stop[256]; /* why reading stops after all that; "" at a clean end */
} avroc_engine;

/* What avroc_engine_open() returns when memory runs out. */
#define AVROC_ENGINE_NOMEM (-2)

/* Read with avro-c the file whose header c has just read (from path).
 * Takes c over: its blocks are checked (their records too, with plan
 * when it is not NULL: the caller's plan for this file's schema), then c
 * is closed, whatever happens.  0, or -1 with *why (malloc'd), or
 * AVROC_ENGINE_NOMEM (*why NULL).  The schema it parses has passed
 * record_plan_compile() first: avro-c's parser is never the first to see
 * one. */
int avroc_engine_open(avroc_engine *e, avro_container *c,
                      const record_plan *plan, const char *path, char **why);

/* As profile_reader_next(); on -1, *why is a static message. */
int avroc_engine_next(avroc_engine *e, uint32_t wanted, profile_row *row,
                      const char **why);

void avroc_engine_close(avroc_engine *e);

#endif
