/*
 * avroc_engine.c -- profiling records through avro-c's generic values.
 *
 * Slow (a value tree per record, a call per varint byte) but written by
 * other people: it is what the block decoder must agree with.  The avro-c
 * 1.11 traps avoided here: avro_strerror() is one global buffer in
 * Debian's build, so messages are our own.  Its file reader trusts the
 * block framing: it allocates whatever size a block header claims before
 * reading it (2^62 from a damaged header: an abort under ASan, a huge
 * mapping elsewhere), reads a size of zero or less, or a block of zero
 * records, as a block holding the previous block's bytes again (rows
 * repeated), and drops the whole records of a block the file ends inside.
 * Its record decoding trusts the data as much: a string length is
 * allocated before it is checked, and the buffer is leaked when the read
 * then fails.  And it leaks what it allocated when it refuses a header
 * for an unknown codec.
 *
 * So the blocks are walked first: avro_container.c checks the framing
 * and decompresses them (deflate, and snappy with its CRC checked), and
 * where the caller gives a record plan, the plan checks the records.
 * avro-c then reads the file through a view that ends after the last
 * block that passed, or before the first block of zero records.  The
 * whole records of a block the walk stopped in (one framed by its sync
 * marker but damaged further on) are decoded by avro-c from memory, and
 * what stopped the walk is reported last: the same rows, and the same
 * stop, as the block decoder's.  A block without its sync marker yields
 * nothing.  Only where there is no plan (a field type it does not decode:
 * a nested record, an array, a map) or for lzma does avro-c decode
 * records nothing has checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "avroc_engine.h"
#include "error.h"
#include "record_plan.h"

/* A malloc'd copy of a message, as the open functions hand out. */
static char *copy_message(const char *s)
{
    return format_string("%s", s);
}

/* ---- the file as far as its blocks are good ----------------------------- */

typedef struct file_view {
    int fd;
    off_t pos, end;
} file_view;

static ssize_t view_read(void *cookie, char *buf, size_t size)
{
    file_view *v = cookie;
    if (v->pos >= v->end)
        return 0;
    if ((off_t)size > v->end - v->pos)
        size = (size_t)(v->end - v->pos);
    ssize_t got;
    do
        got = pread(v->fd, buf, size, v->pos);
    while (got < 0 && errno == EINTR);
    if (got > 0)
        v->pos += got;
    return got;
}

static int view_close(void *cookie)
{
    file_view *v = cookie;
    close(v->fd);
    free(v);
    return 0;
}

/* A stdio stream of the first `end` bytes of fd's file (fd is taken
 * over), or NULL. */
static FILE *open_view(int fd, off_t end)
{
    file_view *v = malloc(sizeof *v);
    if (v == NULL) {
        close(fd);
        return NULL;
    }
    *v = (file_view){fd, 0, end};
    cookie_io_functions_t io = {.read = view_read, .close = view_close};
    FILE *fp = fopencookie(v, "rb", io);
    if (fp == NULL)
        view_close(v);
    return fp;
}

/* How many of block's records the plan reads whole, in how many bytes
 * (*bytes), with *why saying what stops it short of the block's count or
 * its end (NULL when nothing does).  The block engine stops at the same
 * record, for the same reasons (profile_reader.c). */
static int64_t whole_records(const record_plan *plan, const avro_block *b,
                             size_t *bytes, const char **why)
{
    *why = NULL;
    *bytes = 0;
    size_t smallest = plan->min_record_bytes > 0 ? plan->min_record_bytes : 1;
    if ((uint64_t)b->count > b->size / smallest) {
        *why = "a block claims more records than its bytes can hold";
        return 0;
    }
    const unsigned char *p = b->data, *end = b->data + b->size;
    profile_row ignored;
    int64_t n = 0;
    while (n < b->count) {
        if (record_plan_decode(plan, &p, end, 0, &ignored, why) != 0)
            return n;
        *bytes = (size_t)(p - b->data);
        n++;
    }
    if (p != end)
        *why = "bytes are left after the block's last record";
    return n;
}

/* Keep the first `bytes` bytes of block as the tail, `count` records. */
static int keep_tail(avroc_engine *e, const avro_block *block, size_t bytes,
                     int64_t count)
{
    e->tail = malloc(bytes > 0 ? bytes : 1);
    if (e->tail == NULL)
        return -1;
    memcpy(e->tail, block->data, bytes);
    e->tail_len = bytes;
    e->tail_left = count;
    return 0;
}

/* Walk c's blocks, each checked by the container and, when plan is not
 * NULL, decoded by it too, so that avro-c never meets a length or an
 * index that lies (it would allocate what a length claims, and leak the
 * buffer when the read fails).  Returns where the last wholly good block
 * ends; e->stop gets why the walk stopped before the end of the file, and
 * e->tail the whole records of the block it stopped in.  -1 when memory
 * runs out. */
static off_t check_blocks(avroc_engine *e, avro_container *c,
                          const record_plan *plan)
{
    if (c->codec == AVRO_CODEC_OTHER)
        plan = NULL; /* bytes nothing here decompresses (lzma) */
    off_t good_end = c->consumed;
    for (;;) {
        uint64_t empty = c->empty_blocks;
        avro_block block;
        int rc = avro_container_next_block(c, &block);
        if (c->empty_blocks != empty && rc != 0) {
            snprintf(e->stop, sizeof e->stop,
                     "a block of zero records at offset %lld (avro-c "
                     "cannot read past one)",
                     (long long)good_end);
            break;
        }
        if (rc <= 0) {
            if (rc < 0 && c->nomem)
                good_end = -1;
            else if (rc < 0)
                snprintf(e->stop, sizeof e->stop, "%s", c->error);
            break;
        }
        const char *why = NULL;
        avro_block plain = block; /* the records' bytes, decompressed */
        size_t bytes = plain.size;
        int64_t whole = plain.count;
        if (plan != NULL)
            whole = whole_records(plan, &plain, &bytes, &why);
        if (why == NULL) {
            good_end = c->consumed;
            e->records_left += plain.count;
            continue;
        }
        if (whole > 0 && keep_tail(e, &plain, bytes, whole) != 0) {
            good_end = -1;
            break;
        }
        snprintf(e->stop, sizeof e->stop, "%s (block at offset %lld)", why,
                 (long long)block.offset);
        break;
    }
    return good_end;
}

/* Whether s holds a fixed of size 0: avro-c 1.11 cannot read one (its
 * allocator's NULL for 0 bytes reads as out of memory), where the block
 * decoder reads it fine.  Links are not followed: they name a type
 * defined, and looked at, elsewhere in the schema. */
static int has_empty_fixed(avro_schema_t s, int depth)
{
    if (s == NULL || depth > 64)
        return 0;
    switch (avro_typeof(s)) {
    case AVRO_FIXED:
        return avro_schema_fixed_size(s) == 0;
    case AVRO_RECORD:
        for (size_t i = 0; i < avro_schema_record_size(s); i++)
            if (has_empty_fixed(
                    avro_schema_record_field_get_by_index(s, (int)i), depth + 1))
                return 1;
        return 0;
    case AVRO_UNION:
        for (size_t b = 0; b < avro_schema_union_size(s); b++)
            if (has_empty_fixed(avro_schema_union_branch(s, (int)b), depth + 1))
                return 1;
        return 0;
    case AVRO_ARRAY:
        return has_empty_fixed(avro_schema_array_items(s), depth + 1);
    case AVRO_MAP:
        return has_empty_fixed(avro_schema_map_values(s), depth + 1);
    default:
        return 0;
    }
}

/* Whether avro-c 1.11 (Debian's build) decodes the codec: it refuses the
 * others only after allocating what it then leaks. */
static int avroc_knows_codec(const char *name)
{
    static const char *const known[] = {"null", "deflate", "snappy", "lzma"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(name, known[i]) == 0)
            return 1;
    return 0;
}

static int open_engine(avroc_engine *e, avro_container *c,
                       const record_plan *plan, const char *path, char **why)
{
    memset(e, 0, sizeof *e);
    *why = NULL;
    if (!avroc_knows_codec(c->codec_name)) {
        char buf[96];
        snprintf(buf, sizeof buf, "the file's codec '%s' is not one avro-c reads",
                 c->codec_name);
        for (char *p = buf; *p != '\0'; p++) /* the name is the file's bytes */
            if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
                *p = '?';
        *why = copy_message(buf);
        avro_container_close(c);
        return -1;
    }
    off_t good_end = check_blocks(e, c, plan);
    if (good_end >= 0 && e->records_left == 0) {
        /* No checked block for avro-c to read: opening the file would only
         * make it miss a first block and write its global error buffer
         * (see avroc_engine_next).  The schema is all it would give. */
        if (avro_schema_from_json_length(c->schema_json, c->schema_len,
                                         &e->schema) != 0)
            e->schema = NULL;
        avro_container_close(c);
        e->file_done = 1;
    } else {
        int fd = good_end < 0 ? -1 : fcntl(c->fd, F_DUPFD_CLOEXEC, 0);
        avro_container_close(c);
        FILE *view = fd >= 0 ? open_view(fd, good_end) : NULL;
        if (view == NULL) {
            *why = copy_message(good_end < 0 || fd >= 0
                                    ? "out of memory"
                                    : "cannot open the file again for avro-c");
            avroc_engine_close(e);
            return -1;
        }
        /* avro-c closes the view, on failure too. */
        if (avro_file_reader_fp(view, path, 1, &e->file) != 0) {
            e->file = NULL;
            *why = copy_message(
                "avro-c cannot read the file's header or first block");
            avroc_engine_close(e);
            return -1;
        }
        e->schema = avro_file_reader_get_writer_schema(e->file);
    }
    if (e->schema == NULL || avro_typeof(e->schema) != AVRO_RECORD) {
        *why = copy_message("not a daglib profile: the schema is not a record");
        avroc_engine_close(e);
        return -1;
    }
    if (has_empty_fixed(e->schema, 0)) {
        *why = copy_message("avro-c cannot read a fixed of size 0");
        avroc_engine_close(e);
        return -1;
    }
    for (int f = 0; f < PF_COUNT; f++)
        e->field_index[f] = -1;
    uint32_t named = 0;
    size_t n = avro_schema_record_size(e->schema);
    for (size_t i = 0; i < n; i++) {
        const char *name = avro_schema_record_field_name(e->schema, (int)i);
        for (int f = 0; name != NULL && f < PF_COUNT; f++) {
            if (e->field_index[f] >= 0 || strcmp(profile_field_names[f], name) != 0)
                continue;
            named |= PROFILE_FIELD_BIT(f);
            if (record_plan_schema_delivers(
                    avro_schema_record_field_get_by_index(e->schema, (int)i),
                    profile_field_kinds[f]))
                e->field_index[f] = (int)i;
        }
    }
    for (int f = 0; f < PF_REQUIRED_COUNT; f++) {
        if (e->field_index[f] < 0) {
            char buf[96];
            snprintf(buf, sizeof buf,
                     (named & PROFILE_FIELD_BIT(f))
                         ? "not a daglib profile: field '%s' has an unusable type"
                         : "not a daglib profile: no field '%s'",
                     profile_field_names[f]);
            *why = copy_message(buf);
            avroc_engine_close(e);
            return -1;
        }
    }
    e->iface = avro_generic_class_from_schema(e->schema);
    if (e->iface == NULL || avro_generic_value_new(e->iface, &e->value) != 0) {
        *why = copy_message("out of memory");
        avroc_engine_close(e);
        return -1;
    }
    e->have_value = 1;
    return 0;
}

int avroc_engine_open(avroc_engine *e, avro_container *c,
                      const record_plan *plan, const char *path, char **why)
{
    int rc = open_engine(e, c, plan, path, why);
    if (rc != 0 && (*why == NULL || strcmp(*why, "out of memory") == 0)) {
        free(*why); /* every failed allocation above says just that */
        *why = NULL;
        return AVROC_ENGINE_NOMEM;
    }
    return rc;
}

/* One value into a cell of the given kind; NULL when it does not fit, as
 * the block decoder does. */
static void cell_from_value(avro_value_t *v, int kind, profile_cell *cell)
{
    cell->kind = CELL_NULL;
    const char *s;
    const void *b;
    size_t size;
    int32_t i32;
    int64_t i64;
    float f;
    double d;
    switch (avro_value_get_type(v)) {
    case AVRO_UNION: {
        avro_value_t branch;
        if (avro_value_get_current_branch(v, &branch) == 0)
            cell_from_value(&branch, kind, cell);
        return;
    }
    case AVRO_STRING:
        if (kind == CELL_TEXT && avro_value_get_string(v, &s, &size) == 0) {
            cell->kind = CELL_TEXT;
            cell->u.text.p = s != NULL ? s : "";
            cell->u.text.n = size > 0 ? size - 1 : 0; /* size counts the NUL */
        }
        return;
    case AVRO_BYTES:
        if (kind == CELL_TEXT && avro_value_get_bytes(v, &b, &size) == 0) {
            cell->kind = CELL_TEXT;
            cell->u.text.p = b != NULL ? b : "";
            cell->u.text.n = size;
        }
        return;
    case AVRO_ENUM: {
        int symbol;
        avro_schema_t schema = avro_value_get_schema(v);
        const char *name = NULL;
        /* avro-c neither checks the index it decoded nor, for one out of
         * range, returns NULL reliably: a damaged index reads as absent. */
        if (kind == CELL_TEXT && avro_value_get_enum(v, &symbol) == 0 &&
            symbol >= 0 && symbol < avro_schema_enum_number_of_symbols(schema))
            name = avro_schema_enum_get(schema, symbol);
        if (name != NULL) {
            cell->kind = CELL_TEXT;
            cell->u.text.p = name;
            cell->u.text.n = strlen(name);
        }
        return;
    }
    case AVRO_INT32:
        if (avro_value_get_int(v, &i32) != 0)
            return;
        i64 = i32;
        goto integer;
    case AVRO_INT64:
        if (avro_value_get_long(v, &i64) != 0)
            return;
    integer:
        if (kind == CELL_INT) {
            cell->kind = CELL_INT;
            cell->u.i = i64;
        } else if (kind == CELL_REAL) {
            cell->kind = CELL_REAL;
            cell->u.d = (double)i64;
        }
        return;
    case AVRO_FLOAT:
        if (kind == CELL_REAL && avro_value_get_float(v, &f) == 0) {
            cell->kind = CELL_REAL;
            cell->u.d = (double)f;
        }
        return;
    case AVRO_DOUBLE:
        if (kind == CELL_REAL && avro_value_get_double(v, &d) == 0) {
            cell->kind = CELL_REAL;
            cell->u.d = d;
        }
        return;
    default:
        return;
    }
}

/* The next record of the cut block's whole records into e->value: 0, or
 * EOF when there is none (left). */
static int next_tail_record(avroc_engine *e)
{
    if (e->tail_left <= 0)
        return EOF;
    if (e->tail_reader == NULL) {
        e->tail_reader = avro_reader_memory(e->tail, (int64_t)e->tail_len);
        if (e->tail_reader == NULL)
            return EOF;
    }
    if (avro_value_read(e->tail_reader, &e->value) != 0) {
        e->tail_left = 0; /* the record the file ends inside */
        return EOF;
    }
    e->tail_left--;
    return 0;
}

int avroc_engine_next(avroc_engine *e, uint32_t wanted, profile_row *row,
                      const char **why)
{
    if (e->ended)
        return 0;
    /* avro-c is never asked for a record past the checked ones: at the end
     * of a file it writes its one global error buffer (Debian's build
     * keeps no buffer per thread), which readers on other threads write
     * too; and once at its end it gives errors, not EOF again. */
    if (e->records_left == 0)
        e->file_done = 1;
    int rc = e->file_done ? EOF : avro_file_reader_read_value(e->file, &e->value);
    if (rc == 0)
        e->records_left--;
    if (rc == EOF) {
        e->file_done = 1;
        rc = next_tail_record(e);
    }
    if (rc == EOF) {
        e->ended = 1;
        if (e->stop[0] != '\0') {
            *why = e->stop;
            return -1;
        }
        return 0;
    }
    if (rc != 0) {
        *why = "avro-c cannot read the rest of the file (cut short or damaged)";
        return -1;
    }
    for (int f = 0; f < PF_COUNT; f++) {
        profile_cell *cell = &row->cell[f];
        if (!(wanted & PROFILE_FIELD_BIT(f)))
            continue;
        if (e->field_index[f] < 0) {
            cell->kind = CELL_NULL; /* the defaults are filled by the caller */
            continue;
        }
        avro_value_t field;
        if (avro_value_get_by_index(&e->value, (size_t)e->field_index[f], &field,
                                    NULL) != 0) {
            cell->kind = CELL_NULL;
            continue;
        }
        cell_from_value(&field, profile_field_kinds[f], cell);
    }
    return 1;
}

void avroc_engine_close(avroc_engine *e)
{
    if (e->have_value)
        avro_value_decref(&e->value);
    if (e->iface != NULL)
        avro_value_iface_decref(e->iface);
    if (e->schema != NULL)
        avro_schema_decref(e->schema);
    if (e->file != NULL)
        avro_file_reader_close(e->file);
    if (e->tail_reader != NULL)
        avro_reader_free(e->tail_reader);
    free(e->tail);
    memset(e, 0, sizeof *e);
}
