/*
 * profile_reader.c -- one profiling file, record by record, through the
 * block decoder when it can and avro-c when it must.
 *
 * Opening reads the header once: the container framing (avro_container.c)
 * gives the schema and codec, the schema compiles into a record plan
 * (record_plan.c), and the plan or the codec decides the engine.  Then
 * profile_reader_next() walks a block's bytes with the plan and fetches
 * the next block when one runs out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "avro_container.h"
#include "avroc_engine.h"
#include "profile_reader.h"
#include "record_plan.h"

struct profile_reader {
    int use_avroc;
    avro_container container;
    record_plan plan;
    avroc_engine avroc;
    uint32_t missing; /* fields the file lacks */

    /* the block being decoded */
    const unsigned char *cursor, *block_end;
    int64_t block_left;
    off_t block_offset;
    int block_cut_short;

    uint64_t records;
    int failed;
    char error[320];
};

static char *copy_message(const char *fmt, const char *a, const char *b)
{
    int n = snprintf(NULL, 0, fmt, a, b);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s != NULL)
        snprintf(s, (size_t)n + 1, fmt, a, b);
    return s;
}

/* A regular file, opened without blocking on a FIFO or a device that
 * happens to be named .avro. */
static int open_regular(const char *path, char **why)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        *why = copy_message("cannot open: %s%s", strerror(errno), "");
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        *why = copy_message("not a regular file%s%s", "", "");
        return -1;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    return fd;
}

static void reader_free(profile_reader *r)
{
    avro_container_close(&r->container);
    record_plan_free(&r->plan);
    avroc_engine_close(&r->avroc);
    free(r);
}

int profile_reader_open(const char *path, profile_engine engine,
                        profile_reader **out, char **errmsg)
{
    *out = NULL;
    *errmsg = NULL;
    profile_reader *r = calloc(1, sizeof *r);
    if (r == NULL) {
        *errmsg = copy_message("out of memory%s%s", "", "");
        return -1;
    }
    r->container.fd = -1;
    int fd = open_regular(path, errmsg);
    if (fd < 0) {
        free(r);
        return -1;
    }
    if (avro_container_open(&r->container, fd) != 0) {
        *errmsg = copy_message("%s%s", r->container.error, "");
        reader_free(r);
        return -1;
    }
    int planned = record_plan_compile(&r->plan, r->container.schema_json,
                                      r->container.schema_len, errmsg);
    if (planned < 0) {
        reader_free(r);
        return -1;
    }
    r->missing = r->plan.missing_mask;
    if (planned > 0 || engine == PROFILE_ENGINE_AVRO_C ||
        r->container.codec == AVRO_CODEC_OTHER) {
        /* avro-c reads from the start on its own, as far as the blocks
         * are found sound, by the plan too when there is one for bytes the
         * container decodes (avroc_engine.c says why). */
        r->use_avroc = 1;
        const record_plan *check =
            planned == 0 && r->container.codec != AVRO_CODEC_OTHER ? &r->plan
                                                                  : NULL;
        if (avroc_engine_open(&r->avroc, &r->container, check, path,
                              errmsg) != 0) {
            reader_free(r);
            return -1;
        }
        r->missing = 0;
        for (int f = 0; f < PF_COUNT; f++)
            if (r->avroc.field_index[f] < 0)
                r->missing |= PROFILE_FIELD_BIT(f);
    }
    *out = r;
    return 0;
}

/* Stop reading for good: why, and where when the problem is in a block. */
static int stop(profile_reader *r, const char *why, int in_block)
{
    r->failed = 1;
    if (in_block)
        snprintf(r->error, sizeof r->error, "%s (block at offset %lld)", why,
                 (long long)r->block_offset);
    else
        snprintf(r->error, sizeof r->error, "%s", why);
    return -1;
}

/* Move to the next block with records.  1, 0 at the end, -1. */
static int next_block(profile_reader *r)
{
    avro_block block;
    int rc = avro_container_next_block(&r->container, &block);
    if (rc <= 0) {
        if (rc < 0) {
            r->failed = 1;
            snprintf(r->error, sizeof r->error, "%s", r->container.error);
        }
        return rc;
    }
    r->block_offset = block.offset;
    r->block_cut_short = block.cut_short;
    size_t smallest = r->plan.min_record_bytes > 0 ? r->plan.min_record_bytes : 1;
    if (!block.cut_short && (uint64_t)block.count > block.size / smallest)
        return stop(r, "a block claims more records than its bytes can hold",
                    1);
    r->cursor = block.data;
    r->block_end = block.data + block.size;
    r->block_left = block.count;
    return 1;
}

int profile_reader_next(profile_reader *r, uint32_t wanted, profile_row *row)
{
    if (r->failed)
        return -1;
    if (r->use_avroc) {
        const char *why = NULL;
        int rc = avroc_engine_next(&r->avroc, wanted, row, &why);
        if (rc < 0) {
            r->failed = 1;
            snprintf(r->error, sizeof r->error, "%s after %llu records", why,
                     (unsigned long long)r->records);
            return -1;
        }
        if (rc == 0)
            return 0;
    } else {
        while (r->block_left == 0) {
            if (r->block_cut_short)
                return stop(r, r->container.error, 0);
            if (r->cursor != r->block_end)
                return stop(r, "bytes are left after the block's last record",
                            1);
            int rc = next_block(r);
            if (rc <= 0)
                return rc;
        }
        const char *why = NULL;
        if (record_plan_decode(&r->plan, &r->cursor, r->block_end, wanted, row,
                               &why) != 0) {
            if (r->block_cut_short)
                return stop(r, r->container.error, 0);
            return stop(r, why, 1);
        }
        r->block_left--;
    }
    if (r->missing & wanted)
        profile_row_fill_defaults(r->missing & wanted, row);
    r->records++;
    return 1;
}

const char *profile_reader_error(const profile_reader *r)
{
    return r->failed ? r->error : NULL;
}

uint64_t profile_reader_records(const profile_reader *r)
{
    return r->records;
}

const char *profile_reader_engine(const profile_reader *r)
{
    return r->use_avroc ? "avro-c" : "block";
}

void profile_reader_close(profile_reader *r)
{
    if (r != NULL)
        reader_free(r);
}
