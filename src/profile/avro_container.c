/*
 * avro_container.c -- read an Avro object container a block at a time.
 *
 * Written by hand because the fast record decoder (record_plan.c) wants a
 * whole block in memory, which avro-c's file reader never exposes.  Every
 * number read from the file is distrusted: a size is checked against the
 * limits below before anything is allocated for it, and a block is only
 * handed out once all of it, sync marker included, has been read and
 * matched (its frame alone, for a count of its records, once the marker
 * where its size puts it has been): only whole blocks count.  A file that
 * ends inside a block
 * (still being written, cut short, or followed by zeros a power loss left)
 * yields every block before, then an error naming the offset; none of the
 * records of that block, not even those whose bytes are all there, since
 * bytes that were never framed by a sync marker may be anything.
 */
#include <errno.h>
#include <snappy-c.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "avro_container.h"
#include "avro_varint.h"
#include "profile_schema.h"

#define READ_CHUNK (64 * 1024)
/* What a read asks for when only frames are wanted (small_reads): a
 * header of daglib's and a block's count and size, not the block. */
#define SMALL_READ (8 * 1024)
/* Far above anything daglib writes, low enough that a corrupt size cannot
 * make us allocate the machine away.  Blocks: the limit the writer keeps
 * to (profile_schema.h); other Avro writers make blocks of 16-64 KiB. */
#define MAX_HEADER_BYTES (16u << 20)
#define MAX_BLOCK_BYTES PROFILE_BLOCK_MAX_BYTES

static int fail(avro_container *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(avro_container *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    va_end(ap);
    return -1;
}

/* The same for a failed allocation: the file may be fine. */
static int fail_nomem(avro_container *c, const char *what)
{
    c->nomem = 1;
    return fail(c, "out of memory %s", what);
}

/* Make buf[pos .. len) hold at least n bytes.  0 when it does, 1 when the
 * file ends first (what there is stays available), -1 on error.
 * The buffer grows only as read() fills it, doubling, never straight to n:
 * n comes from a size in the file, and a damaged one (a block claiming
 * 1 GiB in a file of 1 KiB) must not make us allocate what it claims. */
static int ensure(avro_container *c, size_t n)
{
    while (c->len - c->pos < n) {
        if (c->at_eof)
            return 1;
        if (c->pos > 0) { /* keep the unread bytes at the front */
            memmove(c->buf, c->buf + c->pos, c->len - c->pos);
            c->len -= c->pos;
            c->pos = 0;
        }
        if (c->cap - c->len < READ_CHUNK / 2) {
            size_t cap = c->cap < READ_CHUNK ? READ_CHUNK : c->cap * 2;
            if (cap > n && n > READ_CHUNK)
                cap = n; /* no more than asked for, once it is all there */
            if (cap <= c->len)
                cap = c->len + READ_CHUNK;
            unsigned char *bigger = realloc(c->buf, cap);
            if (bigger == NULL)
                return fail_nomem(c, "reading a block");
            c->buf = bigger;
            c->cap = cap;
        }
        size_t room = c->cap - c->len;
        size_t missing = n - (c->len - c->pos);
        if (c->small_reads && room > SMALL_READ && room > missing)
            room = missing > SMALL_READ ? missing : SMALL_READ;
        ssize_t got = read(c->fd, c->buf + c->len, room);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return fail(c, "read error at offset %lld: %s",
                        (long long)(c->consumed + (off_t)c->len), strerror(errno));
        }
        if (got == 0)
            c->at_eof = 1;
        c->len += (size_t)got;
    }
    return 0;
}

static void consume(avro_container *c, size_t n)
{
    c->pos += n;
    c->consumed += (off_t)n;
}

/* A zig-zag varint at buf[pos].  0 with *out set, 1 when the file ends
 * before it does, -1 when it is malformed. */
static int read_long(avro_container *c, int64_t *out)
{
    int rc = ensure(c, VARINT_LONG_BYTES);
    if (rc < 0)
        return -1;
    const unsigned char *start = c->buf + c->pos, *p = start;
    rc = varint_long(&p, c->buf + c->len, out);
    if (rc == VARINT_SHORT)
        return 1;
    if (rc == VARINT_BAD)
        return fail(c, "malformed number at offset %lld", (long long)c->consumed);
    consume(c, (size_t)(p - start));
    return 0;
}

/* A length-prefixed string or bytes of the header, malloc'd with a NUL
 * after it.  0, or -1 with the error set. */
static int read_header_bytes(avro_container *c, char **out, size_t *len)
{
    int64_t n;
    int rc = read_long(c, &n);
    if (rc != 0)
        return rc < 0 ? -1 : fail(c, "the header is cut short");
    if (n < 0 || (uint64_t)n > MAX_HEADER_BYTES)
        return fail(c, "the header holds an entry of %lld bytes", (long long)n);
    rc = ensure(c, (size_t)n);
    if (rc != 0)
        return rc < 0 ? -1 : fail(c, "the header is cut short");
    char *s = malloc((size_t)n + 1);
    if (s == NULL)
        return fail_nomem(c, "reading the header");
    memcpy(s, c->buf + c->pos, (size_t)n);
    s[n] = '\0';
    consume(c, (size_t)n);
    *out = s;
    *len = (size_t)n;
    return 0;
}

static int read_metadata(avro_container *c)
{
    int have_codec = 0;
    for (;;) {
        int64_t count;
        int rc = read_long(c, &count);
        if (rc != 0)
            return rc < 0 ? -1 : fail(c, "the header is cut short");
        if (count == 0)
            break;
        if (count < 0) { /* a negative count is followed by the block size */
            int64_t ignored;
            if (count == INT64_MIN || read_long(c, &ignored) != 0)
                return fail(c, "the header's metadata is damaged");
            count = -count;
        }
        if (count > 4096)
            return fail(c, "the header holds %lld metadata entries",
                        (long long)count);
        for (int64_t i = 0; i < count; i++) {
            char *key = NULL, *value = NULL;
            size_t key_len, value_len;
            if (read_header_bytes(c, &key, &key_len) != 0)
                return -1;
            if (read_header_bytes(c, &value, &value_len) != 0) {
                free(key);
                return -1;
            }
            if (strcmp(key, "avro.schema") == 0 && c->schema_json == NULL) {
                c->schema_json = value;
                c->schema_len = value_len;
                value = NULL;
            } else if (strcmp(key, "avro.codec") == 0) {
                snprintf(c->codec_name, sizeof c->codec_name, "%s", value);
                have_codec = 1;
            }
            free(key);
            free(value);
        }
    }
    if (c->schema_json == NULL)
        return fail(c, "the header has no avro.schema");
    if (!have_codec)
        snprintf(c->codec_name, sizeof c->codec_name, "null");
    if (strcmp(c->codec_name, "null") == 0)
        c->codec = AVRO_CODEC_NULL;
    else if (strcmp(c->codec_name, "deflate") == 0)
        c->codec = AVRO_CODEC_DEFLATE;
    else if (strcmp(c->codec_name, "snappy") == 0)
        c->codec = AVRO_CODEC_SNAPPY;
    else
        c->codec = AVRO_CODEC_OTHER;
    return 0;
}

int avro_container_open(avro_container *c, int fd)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    return avro_container_reopen(c, fd);
}

int avro_container_reopen(avro_container *c, int fd)
{
    /* Keep what costs allocations and page faults to set up again: the
     * read buffer, the inflate buffer and the decompressor. */
    avro_container kept = *c;
    if (c->fd >= 0)
        close(c->fd);
    free(c->schema_json);
    memset(c, 0, sizeof *c);
    c->buf = kept.buf;
    c->cap = kept.cap;
    c->inflated = kept.inflated;
    c->inflated_cap = kept.inflated_cap;
    c->inflater = kept.inflater;
    c->small_reads = kept.small_reads;
    c->fd = fd;
    int rc = ensure(c, AVRO_MAGIC_SIZE);
    if (rc < 0)
        return -1;
    if (rc > 0 || memcmp(c->buf + c->pos, AVRO_MAGIC, AVRO_MAGIC_SIZE) != 0)
        return fail(c, c->len == 0 ? "empty file, not an Avro container"
                                   : "not an Avro container (bad magic)");
    consume(c, AVRO_MAGIC_SIZE);
    if (read_metadata(c) != 0)
        return -1;
    rc = ensure(c, AVRO_SYNC_SIZE);
    if (rc != 0)
        return rc < 0 ? -1 : fail(c, "the header is cut short");
    memcpy(c->sync, c->buf + c->pos, AVRO_SYNC_SIZE);
    consume(c, AVRO_SYNC_SIZE);
    return 0;
}

/* Inflate a raw deflate block (the Avro deflate codec has no zlib header)
 * into c->inflated.  libdeflate rather than zlib: an Avro block is one
 * whole buffer, which is what libdeflate decompresses (about twice as fast
 * as zlib's stream, with no state to set up per block).  Avro does not
 * record the inflated size, so a buffer that turns out too small is
 * doubled and the block inflated again; the buffer is kept from block to
 * block, so that happens only while it grows. */
static int inflate_block(avro_container *c, const unsigned char *in,
                         size_t in_len, off_t offset, size_t *out_len)
{
    if (c->inflater == NULL &&
        (c->inflater = libdeflate_alloc_decompressor()) == NULL)
        return fail_nomem(c, "starting to inflate a block");
    size_t want = in_len * 4 + 4096;
    for (;;) {
        if (want > MAX_BLOCK_BYTES)
            want = MAX_BLOCK_BYTES;
        if (c->inflated_cap < want) {
            unsigned char *bigger = realloc(c->inflated, want);
            if (bigger == NULL)
                return fail_nomem(c, "inflating a block");
            c->inflated = bigger;
            c->inflated_cap = want;
        }
        enum libdeflate_result r = libdeflate_deflate_decompress(
            c->inflater, in, in_len, c->inflated, c->inflated_cap, out_len);
        if (r == LIBDEFLATE_SUCCESS)
            return 0;
        if (r != LIBDEFLATE_INSUFFICIENT_SPACE)
            return fail(c, "the block at offset %lld does not inflate "
                           "(corrupt or cut short)",
                        (long long)offset);
        if (c->inflated_cap >= MAX_BLOCK_BYTES)
            return fail(c, "the block at offset %lld inflates past %u bytes",
                        (long long)offset, MAX_BLOCK_BYTES);
        want = c->inflated_cap * 2;
    }
}

/* Decompress a snappy block as Avro frames it -- the compressed bytes,
 * then the CRC-32 of the uncompressed ones, big-endian -- into
 * c->inflated, checking the CRC.  The claimed length is checked against
 * the block limit, and the block validated, before anything is allocated
 * for it. */
static int unsnappy_block(avro_container *c, const unsigned char *in,
                          size_t in_len, off_t offset, size_t *out_len)
{
    if (in_len < 4)
        return fail(c, "the snappy block at offset %lld is too short for its "
                       "checksum",
                    (long long)offset);
    const char *compressed = (const char *)in;
    size_t compressed_len = in_len - 4, len = 0;
    /* snappy_uncompress() checks all it reads; a separate validating pass
     * (a quarter of a count(*) over snappy files) is only worth it before
     * the buffer grows, so that a damaged length allocates nothing. */
    if (snappy_uncompressed_length(compressed, compressed_len, &len) !=
            SNAPPY_OK ||
        (len > c->inflated_cap &&
         snappy_validate_compressed_buffer(compressed, compressed_len) !=
             SNAPPY_OK))
        return fail(c, "the snappy block at offset %lld does not decompress",
                    (long long)offset);
    if (len > MAX_BLOCK_BYTES)
        return fail(c, "the block at offset %lld inflates past %u bytes",
                    (long long)offset, MAX_BLOCK_BYTES);
    if (len > c->inflated_cap) {
        unsigned char *bigger = realloc(c->inflated, len);
        if (bigger == NULL)
            return fail_nomem(c, "decompressing a snappy block");
        c->inflated = bigger;
        c->inflated_cap = len;
    }
    if (len > 0 && snappy_uncompress(compressed, compressed_len,
                                     (char *)c->inflated, &len) != SNAPPY_OK)
        return fail(c, "the snappy block at offset %lld does not decompress",
                    (long long)offset);
    const unsigned char *crc = in + compressed_len;
    uint32_t want = (uint32_t)crc[0] << 24 | (uint32_t)crc[1] << 16 |
                    (uint32_t)crc[2] << 8 | crc[3];
    /* libdeflate's CRC-32 (the same sum as zlib's) folds with carry-less
     * multiplies: measured several times faster than zlib 1.2's table, and
     * the whole block is summed. */
    if (libdeflate_crc32(0, c->inflated, len) != want)
        return fail(c, "the snappy block at offset %lld fails its CRC",
                    (long long)offset);
    *out_len = len;
    return 0;
}

/* The records' bytes of a block the container decodes (null, deflate,
 * snappy): in place, or in c->inflated.  0, or -1 with the error set. */
static int block_bytes(avro_container *c, const unsigned char *data,
                       size_t size, off_t offset, const unsigned char **out,
                       size_t *out_len)
{
    switch (c->codec) {
    case AVRO_CODEC_DEFLATE:
        if (inflate_block(c, data, size, offset, out_len) != 0)
            return -1;
        *out = c->inflated;
        return 0;
    case AVRO_CODEC_SNAPPY:
        if (unsnappy_block(c, data, size, offset, out_len) != 0)
            return -1;
        *out = c->inflated;
        return 0;
    default:
        /* Still in buf: nothing reads the file again before the next
         * call, so the bytes stay where they are. */
        *out = data;
        *out_len = size;
        return 0;
    }
}

static int cut_short(avro_container *c, off_t offset)
{
    return fail(c, "the block at offset %lld is cut short (the file may "
                   "still be being written)",
                (long long)offset);
}

static int wrong_marker(avro_container *c, off_t offset)
{
    return fail(c, "the block at offset %lld does not end with the file's "
                   "sync marker",
                (long long)offset);
}

/* Before reading a block of `size` bytes that is not in the buffer yet,
 * look at where its sync marker should be: a block claiming far more than
 * was written (a zero-filled or sparse tail, a damaged size) is then
 * refused without reading, or allocating, what it claims (offset: where
 * the block starts, for the message).  0 when the
 * marker is there (or the descriptor cannot seek: then the block is read
 * and checked as usual), 1 when the file ends first, -1 when the marker is
 * wrong. */
static int sync_marker_ahead(avro_container *c, size_t size, off_t offset)
{
    if (c->len - c->pos >= size + AVRO_SYNC_SIZE)
        return 0;
    unsigned char marker[AVRO_SYNC_SIZE];
    off_t at = c->consumed + (off_t)size;
    size_t got = 0;
    while (got < sizeof marker) {
        ssize_t n = pread(c->fd, marker + got, sizeof marker - got,
                          at + (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == ESPIPE ? 0
                                   : fail(c, "read error at offset %lld: %s",
                                          (long long)at, strerror(errno));
        if (n == 0)
            return 1;
        got += (size_t)n;
    }
    if (memcmp(marker, c->sync, AVRO_SYNC_SIZE) != 0)
        return wrong_marker(c, offset);
    return 0;
}

/* Read the next block's count and size and check them against the limits.
 * 1 with them set, 0 at the clean end of the file, -1. */
static int read_frame(avro_container *c, int64_t *count, int64_t *size,
                      off_t *offset)
{
    if (c->error[0] != '\0')
        return -1;
    *offset = c->consumed;
    int rc = ensure(c, 1);
    if (rc < 0)
        return -1;
    if (rc > 0)
        return 0; /* the file ends between blocks: a clean end */
    rc = read_long(c, count);
    if (rc == 0)
        rc = read_long(c, size);
    if (rc < 0)
        return -1;
    if (rc > 0)
        return cut_short(c, *offset);
    if (*count < 0 || *size < 0 || (uint64_t)*size > MAX_BLOCK_BYTES)
        return fail(c, "the block at offset %lld claims %lld records in "
                       "%lld bytes",
                    (long long)*offset, (long long)*count, (long long)*size);
    return 1;
}

/* Read the data and sync marker of the block whose frame was just read,
 * and match the marker: 0 with *data at its bytes, in buf, consumed. */
static int read_block_data(avro_container *c, size_t size, off_t offset,
                           const unsigned char **data)
{
    int rc = sync_marker_ahead(c, size, offset);
    if (rc == 0)
        rc = ensure(c, size + AVRO_SYNC_SIZE);
    if (rc < 0)
        return -1;
    if (rc > 0) /* no sync marker read: none of its records count */
        return cut_short(c, offset);
    *data = c->buf + c->pos;
    if (memcmp(*data + size, c->sync, AVRO_SYNC_SIZE) != 0)
        return wrong_marker(c, offset);
    consume(c, size + AVRO_SYNC_SIZE);
    return 0;
}

/* Pass over the data of the block whose frame was just read and match its
 * sync marker, without reading the data: when the block is not all in
 * the buffer already, the buffer is dropped and the file read on from
 * the marker, which then comes with the next frame in one read.  A file
 * already found to end inside the block stays cut short there, as for
 * read_block_data(), even if it has grown since. */
static int pass_block_data(avro_container *c, size_t size, off_t offset)
{
    if (c->len - c->pos < size + AVRO_SYNC_SIZE) {
        if (c->at_eof)
            return cut_short(c, offset);
        off_t marker = c->consumed + (off_t)size;
        if (lseek(c->fd, marker, SEEK_SET) != marker)
            return fail(c, "seek error at offset %lld: %s", (long long)marker,
                        strerror(errno));
        c->pos = c->len = 0;
        c->consumed = marker;
        size = 0;
    }
    int rc = ensure(c, size + AVRO_SYNC_SIZE);
    if (rc < 0)
        return -1;
    if (rc > 0)
        return cut_short(c, offset);
    if (memcmp(c->buf + c->pos + size, c->sync, AVRO_SYNC_SIZE) != 0)
        return wrong_marker(c, offset);
    consume(c, size + AVRO_SYNC_SIZE);
    return 0;
}

/* A block of zero records whose bytes were just read: nothing to hand
 * out, but bytes that decode to something would be records whose count
 * was lost -- a changed byte, not a block to pass over in silence.
 * (Bytes of a codec only avro-c knows cannot be told apart.) */
static int check_empty_block(avro_container *c, const unsigned char *data,
                             size_t size, off_t offset)
{
    const unsigned char *plain = NULL;
    size_t len = 0;
    if (c->codec != AVRO_CODEC_OTHER &&
        block_bytes(c, data, size, offset, &plain, &len) != 0)
        return -1;
    if (len > 0)
        return fail(c, "the block at offset %lld claims no records but "
                       "holds %lld bytes",
                    (long long)offset, (long long)size);
    c->empty_blocks++;
    return 0;
}

/* The frame of the next block with records, blocks of zero records read,
 * checked and passed over: 1 with it set, 0 at the clean end, -1.  Its
 * data and sync marker are next in the file. */
static int next_frame_with_records(avro_container *c, int64_t *count,
                                   int64_t *size, off_t *offset)
{
    for (;;) {
        int rc = read_frame(c, count, size, offset);
        if (rc <= 0 || *count > 0)
            return rc;
        const unsigned char *data;
        if (read_block_data(c, (size_t)*size, *offset, &data) != 0 ||
            check_empty_block(c, data, (size_t)*size, *offset) != 0)
            return -1;
    }
}

int avro_container_next_block(avro_container *c, avro_block *out)
{
    int64_t count, size;
    off_t offset;
    int rc = next_frame_with_records(c, &count, &size, &offset);
    if (rc <= 0)
        return rc;
    const unsigned char *data;
    if (read_block_data(c, (size_t)size, offset, &data) != 0)
        return -1;
    out->count = count;
    out->offset = offset;
    if (block_bytes(c, data, (size_t)size, offset, &out->data, &out->size) != 0)
        return -1;
    return 1;
}

int avro_container_next_frame(avro_container *c, avro_frame *out)
{
    int64_t count, size;
    off_t offset;
    int rc = next_frame_with_records(c, &count, &size, &offset);
    if (rc <= 0)
        return rc;
    if (pass_block_data(c, (size_t)size, offset) != 0)
        return -1;
    out->count = count;
    out->size = (size_t)size;
    out->offset = offset;
    return 1;
}

void avro_container_close(avro_container *c)
{
    if (c->fd >= 0)
        close(c->fd);
    libdeflate_free_decompressor(c->inflater);
    free(c->buf);
    free(c->schema_json);
    free(c->inflated);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}
