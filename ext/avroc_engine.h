/*
 * avroc_engine.h -- read a profiling file through avro-c's own file reader
 * and generic values: the reference the block decoder is tested against,
 * and the fallback for what the block decoder does not cover (codecs such
 * as snappy, field types such as nested records).
 *
 * Fields are matched by name here as well, and missing ones get the same
 * defaults: avro-c's resolver would ignore the defaults, so it is not used.
 */
#ifndef DAGLIB_AVROC_ENGINE_H
#define DAGLIB_AVROC_ENGINE_H

#include <avro.h>

#include "profile_reader.h"

typedef struct avroc_engine {
    avro_file_reader_t file;
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t value;
    int have_value;
    int field_index[PF_COUNT]; /* in the writer's record, or -1 */
    int ended;
} avroc_engine;

/* Open path with avro-c.  0, or -1 with *why (malloc'd). */
int avroc_engine_open(avroc_engine *e, const char *path, char **why);

/* As profile_reader_next(); on -1, *why is a static message. */
int avroc_engine_next(avroc_engine *e, uint32_t wanted, profile_row *row,
                      const char **why);

void avroc_engine_close(avroc_engine *e);

#endif
