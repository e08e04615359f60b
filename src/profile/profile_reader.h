/*
 * profile_reader.h -- stream the records of one profiling file.
 *
 * Two engines behind one interface:
 *   - "block": reads a whole block at a time and decodes it with a plan
 *     compiled once per file from the header's schema (parsed with jansson),
 *     matching fields by name, so files of older layouts (the Python
 *     original's six fields, float runtimes) read without avro-c's
 *     resolver, which ignores defaults.  Every length and count read from
 *     the file is checked against the block before use.
 *   - "avro-c": avro-c's own file reader and generic values, the reference.
 *     The block engine hands a file over to it for what its plan does not
 *     cover (a codec it does not decode); tests run both over the same
 *     files and require identical rows.
 *
 * A reader never fails a whole file for a bad tail: the records before the
 * problem are returned, then profile_reader_next() reports the problem.
 * Pure C; no SQLite here, so libdaglib and the tests use it directly.
 */
#ifndef DAGLIB_PROFILE_READER_H
#define DAGLIB_PROFILE_READER_H

#include <stddef.h>
#include <stdint.h>

#include "profile_row.h"

typedef struct profile_reader profile_reader;

typedef enum profile_engine {
    PROFILE_ENGINE_AUTO,  /* block decoder, avro-c where it must */
    PROFILE_ENGINE_AVRO_C /* avro-c only */
} profile_engine;

/* What the functions below return when memory runs out, as distinct from
 * -1, a file that cannot be read: a scan must then fail, not go on as if
 * the file were broken. */
#define PROFILE_READER_NOMEM (-2)

/* Open path and read its header.  Returns 0 with *out set, or -1 with *out
 * NULL and *errmsg (malloc'd, caller frees) saying why: cannot open, not an
 * Avro container, not a daglib profile (a required field missing or of an
 * unusable type); PROFILE_READER_NOMEM when memory runs out (*errmsg NULL
 * or a message). */
int profile_reader_open(const char *path, profile_engine engine,
                        profile_reader **out, char **errmsg);

/* A reader without a file, to be given one file after another with
 * profile_reader_reopen(): a scan over many files reuses the buffers and
 * the compiled schema.  NULL when memory runs out. */
profile_reader *profile_reader_new(profile_engine engine);

/* Close the file r is reading (if any) and open path, as
 * profile_reader_open() does.  0, or -1 with *errmsg (malloc'd, caller
 * frees), or PROFILE_READER_NOMEM; r then has no file
 * (profile_reader_next() returns -1) and may be given another. */
int profile_reader_reopen(profile_reader *r, const char *path, char **errmsg);

/* Decode the next record into *row, filling at least the fields whose bits
 * are set in wanted (others may be left unset).  A field the file lacks
 * gets the schema default (status "ok", attempts 1, others NULL).
 * Returns 1 for a row, 0 at the clean end of the file, -1 when the rest of
 * the file cannot be read (profile_reader_error() says why; rows returned
 * before stay valid; further calls return -1), PROFILE_READER_NOMEM when
 * memory ran out (further calls return it too). */
int profile_reader_next(profile_reader *r, uint32_t wanted, profile_row *row);

/* Count records without reading them, for a query that uses no field
 * (count(*)): *counted (at least 1, at most max, max >= 1) records of the
 * next block, as many as its header claims, once the block's frame is
 * found whole -- its size within the limits and the file, its sync marker
 * read and matched, its count no more than its bytes can hold -- but
 * without reading or decompressing its bytes.  So a block cut short, or
 * whose marker does not match, stops the count where it stops
 * profile_reader_next(), with the same message; a record damaged inside
 * a whole block is counted, where profile_reader_next() stops at it.
 * (A file only avro-c reads is counted a record at a time, decoded.)
 * Returns 1 with *counted set, else as profile_reader_next() (*counted
 * 0).  The records of a block that were counted are not decoded: should
 * profile_reader_next() be asked for the rest of a block counted in part,
 * it stops with an error. */
int profile_reader_count(profile_reader *r, uint64_t max, uint64_t *counted);

/* Say whether r will only count (profile_reader_count()) in the files it
 * opens from now on: it then reads them a few KiB at a time, the header
 * and the blocks' frames, instead of a block at a time.  A hint about
 * reading only; every function works either way. */
void profile_reader_counting(profile_reader *r, int counting);

/* The problem that stopped the reader, or NULL. */
const char *profile_reader_error(const profile_reader *r);

/* Records returned so far. */
uint64_t profile_reader_records(const profile_reader *r);

/* "block" or "avro-c": the engine actually reading the file. */
const char *profile_reader_engine(const profile_reader *r);

/* Close and free.  NULL is a no-op. */
void profile_reader_close(profile_reader *r);

#endif
