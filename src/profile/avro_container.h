/*
 * avro_container.h -- the framing of an Avro object container file, read
 * from a file descriptor a block at a time.
 *
 * A container (avro_format.h) is the magic, a metadata map, a sync marker,
 * then blocks of (record count, byte size, data, sync marker).  This layer
 * checks every count and size against what the file really holds and
 * hands out a block's (decompressed) bytes; it knows nothing about the
 * records inside.  Memory: one buffer as large as the
 * largest block, reused.
 */
#ifndef DAGLIB_AVRO_CONTAINER_H
#define DAGLIB_AVRO_CONTAINER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <libdeflate.h>

#include "avro_format.h"

typedef enum avro_codec {
    AVRO_CODEC_NULL,
    AVRO_CODEC_DEFLATE,
    AVRO_CODEC_SNAPPY, /* each block's CRC-32 checked */
    AVRO_CODEC_OTHER   /* readable only by avro-c (lzma, ...) */
} avro_codec;

typedef struct avro_container {
    int fd;
    /* file bytes read but not consumed: buf[pos .. len) */
    unsigned char *buf;
    size_t pos, len, cap;
    int at_eof;
    off_t consumed; /* file offset of buf[pos] */

    char *schema_json; /* NUL-terminated, from the header */
    size_t schema_len;
    char codec_name[32];
    avro_codec codec;
    unsigned char sync[AVRO_SYNC_SIZE];

    unsigned char *inflated; /* deflate and snappy: the block's bytes */
    size_t inflated_cap;
    struct libdeflate_decompressor *inflater; /* NULL until needed */

    /* Read a few KiB at a time rather than whole blocks: for a reader
     * that only counts (avro_container_next_frame).  Kept by reopen. */
    int small_reads;

    uint64_t empty_blocks; /* blocks of zero records skipped so far */
    char error[256]; /* why reading stopped; "" when it has not */
    int nomem;       /* it stopped because memory ran out */
} avro_container;

/* A block handed out by avro_container_next_block(): its records' bytes,
 * valid until the next call. */
typedef struct avro_block {
    const unsigned char *data;
    size_t size;
    int64_t count;
    off_t offset; /* where the block starts in the file */
} avro_block;

/* Take over fd (closed by avro_container_close, even on failure) and read
 * the header.  0, or -1 with c->error saying why (not an Avro container,
 * a damaged header, out of memory, an I/O error). */
int avro_container_open(avro_container *c, int fd);

/* The same for another file, with a container that was opened before (or
 * closed since): its file is closed, its buffers kept for the new one. */
int avro_container_reopen(avro_container *c, int fd);

/* The next block: 1 with *out set, 0 at the clean end of the file, -1 when
 * the rest cannot be read (c->error: truncated, a wrong sync marker, a
 * block that does not inflate, an I/O error).  Blocks of zero records are
 * skipped, and counted in c->empty_blocks (avro-c cannot read past one:
 * see avroc_engine.c).  A block is handed out only with its sync marker
 * read and matched: one the file ends inside gives -1, whatever the codec. */
int avro_container_next_block(avro_container *c, avro_block *out);

/* A block as its frame describes it, for avro_container_next_frame(). */
typedef struct avro_frame {
    int64_t count; /* records, as the block's header claims */
    size_t size;   /* bytes as stored (compressed, for a codec) */
    off_t offset;  /* where the block starts in the file */
} avro_frame;

/* The next block with records, as avro_container_next_block() finds it,
 * its sync marker read and matched, but its bytes neither read nor
 * decompressed: its frame only.  What a count of records needs, at the
 * cost of a read of the marker and a seek.  Blocks of zero records are
 * read and checked as avro_container_next_block() does. */
int avro_container_next_frame(avro_container *c, avro_frame *out);

/* Release everything; the struct may be reused by avro_container_open. */
void avro_container_close(avro_container *c);

#endif
