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
#include "error.h"
#include "profile_reader.h"
#include "profile_schema.h"
#include "record_plan.h"

struct profile_reader {
    profile_engine engine;
    int use_avroc;
    avro_container container; /* its buffers outlive each file */
    record_plan plan;
    char *plan_json; /* the schema text plan was compiled from */
    size_t plan_json_len;
    int plan_rc;     /* record_plan_compile()'s answer for it */
    avroc_engine avroc;
    uint32_t missing; /* fields the file lacks */

    /* the block being decoded */
    const unsigned char *cursor, *block_end;
    int64_t block_left;
    off_t block_offset;

    uint64_t records;
    int failed;
    int nomem; /* failed because memory ran out, not because of the file */
    char error[320];
};

/* A regular file, opened without blocking on a FIFO or a device that
 * happens to be named .avro, and not through a symbolic link: the tree
 * walk passes links over, and one swapped in since must not lead out of
 * the metadata root. */
static int open_regular(const char *path, char **why)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
    if (fd < 0) {
        int saved = errno;
        *why = format_string("cannot open: %s", strerror(saved));
        return saved == ENOMEM || *why == NULL ? PROFILE_READER_NOMEM : -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        *why = format_string("not a regular file");
        return *why == NULL ? PROFILE_READER_NOMEM : -1;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    return fd;
}

static void forget_plan(profile_reader *r)
{
    record_plan_free(&r->plan);
    free(r->plan_json);
    r->plan_json = NULL;
    r->plan_json_len = 0;
}

/* The plan for the schema of the file just opened: the last one when the
 * schema text is the same, which it is for every file one library
 * version wrote, so that the JSON is parsed once per scan instead of once
 * per file (about a third of the cost of a small file).  As
 * record_plan_compile(). */
static int plan_for_schema(profile_reader *r, char **errmsg)
{
    const avro_container *c = &r->container;
    if (r->plan_json != NULL && r->plan_json_len == c->schema_len &&
        memcmp(r->plan_json, c->schema_json, c->schema_len) == 0)
        return r->plan_rc;
    forget_plan(r);
    int rc = record_plan_compile(&r->plan, c->schema_json, c->schema_len,
                                 errmsg);
    if (rc < 0)
        return rc;
    r->plan_json = malloc(c->schema_len + 1);
    if (r->plan_json != NULL) {
        memcpy(r->plan_json, c->schema_json, c->schema_len + 1);
        r->plan_json_len = c->schema_len;
        r->plan_rc = rc;
    }
    return rc;
}

/* Back to "no file", keeping the buffers and the plan. */
static void end_file(profile_reader *r, const char *why)
{
    if (r->use_avroc)
        avroc_engine_close(&r->avroc);
    r->use_avroc = 0;
    r->missing = 0;
    r->cursor = r->block_end = NULL;
    r->block_left = 0;
    r->block_offset = 0;
    r->records = 0;
    r->failed = 1;
    r->nomem = 0;
    snprintf(r->error, sizeof r->error, "%s", why);
}

profile_reader *profile_reader_new(profile_engine engine)
{
    profile_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->engine = engine;
    r->container.fd = -1;
    end_file(r, "no file is open");
    return r;
}

int profile_reader_reopen(profile_reader *r, const char *path, char **errmsg)
{
    *errmsg = NULL;
    end_file(r, "no file is open");
    int fd = open_regular(path, errmsg);
    if (fd < 0)
        return fd;
    if (avro_container_reopen(&r->container, fd) != 0) {
        if (r->container.nomem)
            return PROFILE_READER_NOMEM;
        *errmsg = format_string("%s", r->container.error);
        return *errmsg == NULL ? PROFILE_READER_NOMEM : -1;
    }
    int planned = plan_for_schema(r, errmsg);
    if (planned == RECORD_PLAN_NOMEM)
        return PROFILE_READER_NOMEM;
    if (planned < 0)
        return -1;
    r->missing = r->plan.missing_mask;
    if (planned > 0 || r->engine == PROFILE_ENGINE_AVRO_C ||
        r->container.codec == AVRO_CODEC_OTHER) {
        /* avro-c reads from the start on its own, as far as the blocks
         * are found sound, by the plan too when there is one for bytes the
         * container decodes (avroc_engine.c says why). */
        const record_plan *check =
            planned == 0 && r->container.codec != AVRO_CODEC_OTHER ? &r->plan
                                                                  : NULL;
        int rc = avroc_engine_open(&r->avroc, &r->container, check, path,
                                   errmsg);
        if (rc != 0)
            return rc == AVROC_ENGINE_NOMEM ? PROFILE_READER_NOMEM : -1;
        r->use_avroc = 1;
        r->missing = 0;
        for (int f = 0; f < PF_COUNT; f++)
            if (r->avroc.field_index[f] < 0)
                r->missing |= PROFILE_FIELD_BIT(f);
    }
    r->failed = 0;
    r->error[0] = '\0';
    return 0;
}

int profile_reader_open(const char *path, profile_engine engine,
                        profile_reader **out, char **errmsg)
{
    *out = NULL;
    *errmsg = NULL;
    profile_reader *r = profile_reader_new(engine);
    if (r == NULL)
        return PROFILE_READER_NOMEM;
    int rc = profile_reader_reopen(r, path, errmsg);
    if (rc != 0) {
        profile_reader_close(r);
        return rc;
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

/* The container's answer when it has no block to give: 0 at the end, or
 * its error taken over. */
static int container_stopped(profile_reader *r, int rc)
{
    if (rc == 0)
        return 0;
    r->failed = 1;
    r->nomem = r->container.nomem;
    snprintf(r->error, sizeof r->error, "%s", r->container.error);
    return r->nomem ? PROFILE_READER_NOMEM : -1;
}

/* The codecs' largest ratios.  No DEFLATE stream inflates to more than
 * 1032 times its size; snappy's densest element is a copy of 64 bytes
 * written in 3. */
#define DEFLATE_MAX_RATIO 1032
#define SNAPPY_MAX_RATIO 22

/* Make the block at offset, of count records, the one being read: its
 * records' bytes (data NULL when they are counted, not read) and the most
 * bytes they can take.  A count beyond what those bytes can hold is a
 * damaged one, refused before anything trusts it.  1, or -1. */
static int enter_block(profile_reader *r, off_t offset, int64_t count,
                       uint64_t bytes, const unsigned char *data, size_t size)
{
    r->block_offset = offset;
    uint64_t smallest = r->plan.min_record_bytes > 0 ? r->plan.min_record_bytes : 1;
    if ((uint64_t)count > bytes / smallest)
        return stop(r, "a block claims more records than its bytes can hold",
                    1);
    r->cursor = data;
    r->block_end = data != NULL ? data + size : NULL;
    r->block_left = count;
    return 1;
}

/* Move to the next block with records.  1, 0 at the end, -1. */
static int next_block(profile_reader *r)
{
    avro_block block;
    int rc = avro_container_next_block(&r->container, &block);
    if (rc <= 0)
        return container_stopped(r, rc);
    return enter_block(r, block.offset, block.count, block.size, block.data,
                       block.size);
}

/* Move to the next block with records, reading its frame only: its
 * records are counted, not decoded (cursor NULL).  1, 0 at the end, -1. */
static int next_frame(profile_reader *r)
{
    avro_frame frame;
    int rc = avro_container_next_frame(&r->container, &frame);
    if (rc <= 0)
        return container_stopped(r, rc);
    /* (AVRO_CODEC_OTHER never gets here: avro-c reads those files.) */
    uint64_t ratio = r->container.codec == AVRO_CODEC_DEFLATE  ? DEFLATE_MAX_RATIO
                     : r->container.codec == AVRO_CODEC_SNAPPY ? SNAPPY_MAX_RATIO
                                                               : 1;
    uint64_t bytes = (uint64_t)frame.size * ratio;
    if (bytes > PROFILE_BLOCK_MAX_BYTES)
        bytes = PROFILE_BLOCK_MAX_BYTES;
    return enter_block(r, frame.offset, frame.count, bytes, NULL, 0);
}

/* Make the block being decoded one with records left, moving to the next
 * block when the current one is done.  1, 0 at the end, -1 or
 * PROFILE_READER_NOMEM. */
static int block_with_records(profile_reader *r)
{
    if (r->cursor == NULL && r->block_left > 0)
        return stop(r, "records that were counted cannot be decoded", 1);
    while (r->block_left == 0) {
        if (r->cursor != r->block_end)
            return stop(r, "bytes are left after the block's last record", 1);
        int rc = next_block(r);
        if (rc <= 0)
            return rc;
    }
    return 1;
}

int profile_reader_next(profile_reader *r, uint32_t wanted, profile_row *row)
{
    if (r->failed)
        return r->nomem ? PROFILE_READER_NOMEM : -1;
    /* A file without the task field gives task_name for it. */
    if (wanted & r->missing & PROFILE_FIELD_BIT(PF_TASK))
        wanted |= PROFILE_FIELD_BIT(PF_TASK_NAME);
    if (r->use_avroc) {
        const char *why = NULL;
        int rc = avroc_engine_next(&r->avroc, wanted, row, &why);
        if (rc < 0) {
            r->failed = 1;
            r->nomem = rc == AVROC_ENGINE_NOMEM;
            snprintf(r->error, sizeof r->error, "%s after %llu records", why,
                     (unsigned long long)r->records);
            return r->nomem ? PROFILE_READER_NOMEM : -1;
        }
        if (rc == 0)
            return 0;
    } else {
        int rc = block_with_records(r);
        if (rc <= 0)
            return rc;
        if (wanted != r->plan.selected_wanted)
            record_plan_select(&r->plan, wanted);
        const char *why = NULL;
        if (record_plan_decode(&r->plan, &r->cursor, r->block_end, wanted, row,
                               &why) != 0)
            return stop(r, why, 1);
        r->block_left--;
    }
    if (r->missing & wanted)
        profile_row_fill_defaults(r->missing & wanted, row);
    r->records++;
    return 1;
}

void profile_reader_counting(profile_reader *r, int counting)
{
    r->container.small_reads = counting;
}

int profile_reader_count(profile_reader *r, uint64_t max, uint64_t *counted)
{
    *counted = 0;
    if (r->failed)
        return r->nomem ? PROFILE_READER_NOMEM : -1;
    if (r->use_avroc) {
        /* avro-c has no frames to give: a record at a time. */
        profile_row row;
        int rc = profile_reader_next(r, 0, &row);
        *counted = rc > 0;
        return rc;
    }
    if (r->block_left == 0) {
        if (r->cursor != r->block_end)
            return stop(r, "bytes are left after the block's last record", 1);
        int rc = next_frame(r);
        if (rc <= 0)
            return rc;
    }
    uint64_t n = (uint64_t)r->block_left < max ? (uint64_t)r->block_left : max;
    r->block_left -= (int64_t)n;
    r->records += n;
    r->cursor = r->block_end = NULL;
    *counted = n;
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
    if (r == NULL)
        return;
    if (r->use_avroc)
        avroc_engine_close(&r->avroc);
    avro_container_close(&r->container);
    forget_plan(r);
    free(r);
}
