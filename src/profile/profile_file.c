/*
 * profile_file.c -- write one run's Avro object container file.
 *
 * The encoder is ours rather than avro-c's writer, for three reasons
 * checked against avro-c 1.11: its writer drops the schema's defaults from
 * the header, pushes blocks through a 4 KiB stdio buffer (a concurrent
 * reader sees torn tails), and falls back from exclusive create to
 * truncating an existing file.  Avro's binary encoding of this one record
 * is small: zig-zag varints, length-prefixed strings, little-endian
 * doubles, union and enum indices.  avro-c stays the reference reader:
 * the tests read every file written here back through it.
 *
 * Invariant: the file on disk is always a valid container -- the header is
 * written in one write before the file is announced, each block in one
 * writev(), and a failed write is cut off again with ftruncate(), so a
 * reader (or a crash) only ever meets whole blocks.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include "avro_format.h"
#include "avro_varint.h"
#include "meta_path.h"
#include "profile_file.h"
#include "unaligned.h"
#include "value.h"

/* A growing byte buffer; `failed` is sticky so encoders need no checks. */
typedef struct bytes {
    unsigned char *data;
    size_t len, cap;
    int failed;
} bytes;

/* A timestamp whose varint takes 8 bytes (every time from 1979 to 3111),
 * and those bytes as one word. */
typedef struct time_bytes {
    int64_t value;
    uint64_t word;
} time_bytes;

struct profile_file {
    int fd;
    char *path;
    char run_id[META_RUN_ID_SIZE];
    int deflate;
    unsigned char sync[AVRO_SYNC_SIZE];
    off_t size; /* bytes known to be on disk: whole blocks only */

    /* The fields every record of the run shares, encoded once: a field's
     * bytes start at shared_at[field], and a record copies shared_len[field]
     * of them, which covers the shared fields that follow it (then 0). */
    bytes shared;
    uint32_t shared_at[PF_COUNT], shared_len[PF_COUNT];

    /* The last time encoded, and its bytes: a task's start is the end of
     * the task its worker ran just before, more often than not. */
    time_bytes last_time;

    bytes task_entry; /* a record's task fields, when no slot holds them */
    bytes block;      /* records not written yet */
    size_t pending;
    bytes zbuf;  /* deflated block data */
    z_stream zs; /* reused for every block */
    int zs_ready;
};

/* ---- encoding ------------------------------------------------------------- */

static int bytes_grow(bytes *b, size_t extra)
{
    size_t cap = b->cap == 0 ? 4096 : b->cap;
    while (cap - b->len < extra) {
        if (cap > SIZE_MAX / 2) {
            b->failed = 1;
            return -1;
        }
        cap *= 2;
    }
    unsigned char *bigger = realloc(b->data, cap);
    if (bigger == NULL) {
        b->failed = 1;
        return -1;
    }
    b->data = bigger;
    b->cap = cap;
    return 0;
}

static inline int bytes_reserve(bytes *b, size_t extra)
{
    if (b->failed)
        return -1;
    if (b->cap - b->len >= extra)
        return 0;
    return bytes_grow(b, extra);
}

static void bytes_free(bytes *b)
{
    free(b->data);
    *b = (bytes){0};
}

static void put_raw(bytes *b, const void *p, size_t n)
{
    if (n == 0 || bytes_reserve(b, n) != 0)
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void put_long(bytes *b, int64_t v)
{
    if (bytes_reserve(b, VARINT_LONG_BYTES) != 0)
        return;
    b->len = (size_t)(varint_put_long(b->data + b->len, v) - b->data);
}

static void put_string(bytes *b, const char *s, size_t n)
{
    put_long(b, (int64_t)n);
    put_raw(b, s, n);
}

/* ---- a field per wire (profile_schema.h) ------------------------------------
 *
 * A record is encoded with one reservation: each wire has a bound on the
 * bytes its value can take (bound_*) and an encoder that writes at a
 * cursor without checking room (enc_*).  Checking and growing the buffer
 * per number cost more than the encoding itself. */

static inline size_t bound_STRING(const char *s, size_t n)
{
    (void)s;
    return VARINT_LONG_BYTES + n;
}

static inline unsigned char *enc_STRING(unsigned char *p, const char *s,
                                        size_t n)
{
    p = varint_put_long(p, (int64_t)n);
    copy_short(p, s, n);
    return p + n;
}

static inline size_t bound_DOUBLE(double d)
{
    (void)d;
    return 8;
}

static inline unsigned char *enc_DOUBLE(unsigned char *p, double d)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &d, 8); /* Avro's order already */
#else
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(bits >> (8 * i));
#endif
    return p + 8;
}

/* Numbers reserve VARINT_LONG_BYTES, ints too: varint_put_long() may
 * write that many. */
static inline size_t bound_INT(int32_t v)
{
    (void)v;
    return VARINT_LONG_BYTES;
}

static inline unsigned char *enc_INT(unsigned char *p, int32_t v)
{
    return varint_put_long(p, v);
}

static inline size_t bound_ENUM(int64_t symbol)
{
    (void)symbol;
    return VARINT_LONG_BYTES;
}

static inline unsigned char *enc_ENUM(unsigned char *p, int64_t symbol)
{
    return varint_put_long(p, symbol);
}

/* ["null", long]: PROFILE_NO_TIME is the null.  The timestamps: the
 * last one encoded is kept, and one a little later (under 8 ms: a task's
 * end after its start, a start after the end before it) added to its
 * bytes. */
static inline size_t bound_OPTIONAL_LONG(const time_bytes *last, int64_t v)
{
    (void)last, (void)v;
    return 1 + VARINT_LONG_BYTES;
}

static inline unsigned char *enc_OPTIONAL_LONG(unsigned char *p,
                                               time_bytes *last, int64_t v)
{
    if (v == PROFILE_NO_TIME) {
        *p++ = 0;
        return p;
    }
    *p++ = 2; /* branch 1, zig-zagged */
    const uint64_t later = (uint64_t)v - (uint64_t)last->value;
    uint64_t word;
    /* Zig-zagged, v >= 0 is 2v: an add only between times since 1970. */
    if (!(v >= 0 && later < 1u << 13 &&
          varint_word8_add(last->word, 2 * later, &word)) &&
        !varint_word8(v, &word))
        return varint_put_long(p, v);
    last->value = v;
    last->word = word;
    store_u64(p, word);
    return p + 8;
}

/* ["null", int]: PROFILE_NULL_INT is the null. */
static inline size_t bound_OPTIONAL_INT(int32_t v)
{
    (void)v;
    return 1 + VARINT_LONG_BYTES;
}

static inline unsigned char *enc_OPTIONAL_INT(unsigned char *p, int32_t v)
{
    if (v == PROFILE_NULL_INT) {
        *p++ = 0;
        return p;
    }
    *p++ = 2;
    return varint_put_long(p, v);
}

/* ["null", string]: NULL is the null.  The text must be valid UTF-8 in
 * the file: error messages come from task code and may hold anything, so
 * each byte of a broken sequence becomes U+FFFD (three bytes: hence the
 * bound). */
static inline size_t bound_OPTIONAL_STRING(const char *s)
{
    return 1 + VARINT_LONG_BYTES + (s != NULL ? 3 * strlen(s) : 0);
}

static unsigned char *enc_OPTIONAL_STRING(unsigned char *p, const char *s)
{
    if (s == NULL) {
        *p++ = 0;
        return p;
    }
    *p++ = 2;
    size_t n = strlen(s);
    if (utf8_valid(s, n))
        return enc_STRING(p, s, n);
    size_t clean = 0; /* the cleaned length, then the bytes */
    for (size_t i = 0; i < n;) {
        size_t run = 1;
        while (run <= 4 && i + run <= n && !utf8_valid(s + i, run))
            run++;
        int whole = run <= 4 && i + run <= n;
        clean += whole ? run : 3;
        i += whole ? run : 1;
    }
    p = varint_put_long(p, (int64_t)clean);
    for (size_t i = 0; i < n;) {
        size_t run = 1;
        while (run <= 4 && i + run <= n && !utf8_valid(s + i, run))
            run++;
        if (run <= 4 && i + run <= n) {
            memcpy(p, s + i, run);
            p += run;
            i += run;
        } else {
            memcpy(p, "\xef\xbf\xbd", 3);
            p += 3;
            i++;
        }
    }
    return p;
}

/* Where each field's value comes from: the run (RUN), shared by all its
 * records and encoded once per file; the task (TASK), encoded once per
 * task (profile_tasks); the record itself (RECORD).  A field of the table
 * without a line here does not compile. */
#define FIELD_FROM_DAG_NAME RUN
#define FIELD_FROM_DAG_DESCRIPTION RUN
#define FIELD_FROM_RUN_ID RUN
#define FIELD_FROM_TASK_NAME TASK
#define FIELD_FROM_TASK_DESCRIPTION TASK
#define FIELD_FROM_TASK_RUNTIME RECORD
#define FIELD_FROM_STARTED_AT RECORD
#define FIELD_FROM_ENDED_AT RECORD
#define FIELD_FROM_STATUS RECORD
#define FIELD_FROM_ATTEMPTS RECORD
#define FIELD_FROM_WORKER RECORD
#define FIELD_FROM_ERROR RECORD
#define FIELD_FROM_HOST RUN
#define FIELD_FROM_TASK TASK
#define FIELD_FROM_INSTANCE TASK

/* Each field's value, from the run's values (s), the task's (t) or the
 * record (r), with lengths measured once. */
#define FIELD_VALUE_DAG_NAME s->dag_name, strlen(s->dag_name)
#define FIELD_VALUE_DAG_DESCRIPTION                                           \
    s->dag_description, strlen(s->dag_description)
#define FIELD_VALUE_RUN_ID s->run_id, (size_t)META_RUN_ID_LEN
#define FIELD_VALUE_TASK_NAME t->name, t->name_len
#define FIELD_VALUE_TASK_DESCRIPTION t->description, t->description_len
#define FIELD_VALUE_TASK_RUNTIME r->runtime
#define FIELD_VALUE_STARTED_AT &f->last_time, r->started_at_us
#define FIELD_VALUE_ENDED_AT &f->last_time, r->ended_at_us
#define FIELD_VALUE_STATUS (int64_t)r->status
#define FIELD_VALUE_ATTEMPTS r->attempts
#define FIELD_VALUE_WORKER r->worker
#define FIELD_VALUE_ERROR r->error
#define FIELD_VALUE_HOST s->host, strlen(s->host)
#define FIELD_VALUE_TASK t->task, t->task_len
#define FIELD_VALUE_INSTANCE t->instance

/* What the records of a run share, before it is encoded. */
typedef struct shared_values {
    const char *dag_name, *dag_description, *run_id, *host;
} shared_values;

/* What the records of a task share, before it is encoded. */
typedef struct task_values {
    const char *name, *description, *task;
    size_t name_len, description_len, task_len;
    int32_t instance;
} task_values;

static task_values task_values_of(const profile_record *r)
{
    int instance = r->task != NULL;
    return (task_values){r->task_name,
                         r->task_description,
                         instance ? r->task : r->task_name,
                         r->task_name_len,
                         strlen(r->task_description),
                         instance ? r->task_len : r->task_name_len,
                         instance ? r->instance : PROFILE_NO_INSTANCE};
}

/* IF_FROM(source, id, code): the code for the fields whose value comes
 * from source, nothing for the others (FIELD_FROM_##id is expanded before
 * it is pasted). */
#define IF_RUN_RUN(...) __VA_ARGS__
#define IF_RUN_TASK(...)
#define IF_RUN_RECORD(...)
#define IF_TASK_RUN(...)
#define IF_TASK_TASK(...) __VA_ARGS__
#define IF_TASK_RECORD(...)
#define IF_RECORD_RUN(...)
#define IF_RECORD_TASK(...)
#define IF_RECORD_RECORD(...) __VA_ARGS__
#define PASTE3_(a, b, c) a##b##c
#define PASTE3(a, b, c) PASTE3_(a, b, c)
#define IF_FROM(source, id, ...)                                              \
    PASTE3(IF_##source, _, FIELD_FROM_##id)(__VA_ARGS__)
#define IS_RUN_RUN 1
#define IS_RUN_TASK 0
#define IS_RUN_RECORD 0
#define IS_TASK_RUN 0
#define IS_TASK_TASK 1
#define IS_TASK_RECORD 0
#define IS_FROM(source, id) PASTE3(IS_##source, _, FIELD_FROM_##id)

/* The task's fields lie in stretches between the others (two: the name
 * and description, then the task and instance).  How many, counted from
 * the table: a field from the task whose previous field is not. */
#define TASK_FIELD_BIT_(id, name, wire, type, def, sql)                       \
    | (unsigned)IS_FROM(TASK, id) << PF_##id
enum { TASK_FIELD_BITS = 0 PROFILE_FIELD_MAP(TASK_FIELD_BIT_) };
#undef TASK_FIELD_BIT_
#define TASK_STRETCH_START_(id, name, wire, type, def, sql)                   \
    +(IS_FROM(TASK, id) && !(((unsigned)TASK_FIELD_BITS << 1) >> PF_##id & 1))
enum { TASK_STRETCHES = 0 PROFILE_FIELD_MAP(TASK_STRETCH_START_) };
#undef TASK_STRETCH_START_
_Static_assert(PF_COUNT < 32, "a bit per field");
_Static_assert(TASK_STRETCHES >= 1, "the task gives fields");

/* Stretches of encoded fields are copied in whole pieces of COPY_PIECE
 * bytes, two at least, past their end (copy_pieces()): what is copied
 * from has COPY_SLACK readable bytes after it, and a record's room
 * COPY_SLACK more than its bound.  Fewer instructions than an exact copy
 * of a length known only at run time. */
#define COPY_PIECE 16
#define COPY_SLACK (2 * COPY_PIECE)

static inline unsigned char *copy_pieces(unsigned char *p,
                                         const unsigned char *from, size_t n)
{
    if (n <= 2 * COPY_PIECE) { /* nearly always: two, with no loop */
        memcpy(p, from, COPY_PIECE);
        memcpy(p + COPY_PIECE, from + COPY_PIECE, COPY_PIECE);
        return p + n;
    }
    for (size_t i = 0; i < n; i += COPY_PIECE)
        memcpy(p + i, from + i, COPY_PIECE);
    return p + n;
}

/* Encode the shared fields once.  A field that starts a stretch of shared
 * fields gets the length of the whole stretch, the others 0, so that a
 * record copies each stretch in one go. */
static int encode_shared(profile_file *f, const shared_values *s)
{
    size_t bound = 0;
#define BOUND_SHARED_(id, name, wire, type, def, sql)                         \
    IF_FROM(RUN, id, bound += bound_##wire(FIELD_VALUE_##id);)
    PROFILE_FIELD_MAP(BOUND_SHARED_)
#undef BOUND_SHARED_
    if (bytes_reserve(&f->shared, bound + COPY_SLACK) != 0)
        return -1;
    memset(f->shared.data, 0, bound + COPY_SLACK);
    unsigned char *p = f->shared.data;
    int previous_shared = 0;
    profile_field stretch = PF_COUNT;
#define ENCODE_SHARED_(id, name, wire, type, def, sql)                        \
    IF_FROM(RUN, id, {                                                        \
        f->shared_at[PF_##id] = (uint32_t)(p - f->shared.data);               \
        f->shared_len[PF_##id] = 0;                                           \
        if (!previous_shared)                                                 \
            stretch = PF_##id;                                                \
        p = enc_##wire(p, FIELD_VALUE_##id);                                  \
        f->shared_len[stretch] =                                              \
            (uint32_t)(p - f->shared.data) - f->shared_at[stretch];           \
    })                                                                        \
    previous_shared = IS_FROM(RUN, id);
    PROFILE_FIELD_MAP(ENCODE_SHARED_)
#undef ENCODE_SHARED_
    f->shared.len = (size_t)(p - f->shared.data);
    return 0;
}

/* A task's entry: the length of each stretch, then the stretches. */
#define TASK_ENTRY_HEAD (TASK_STRETCHES * sizeof(uint32_t))

/* The bytes t's entry may take. */
static size_t task_entry_bound(const task_values *t)
{
    size_t bound = TASK_ENTRY_HEAD;
#define BOUND_TASK_(id, name, wire, type, def, sql)                           \
    IF_FROM(TASK, id, bound += bound_##wire(FIELD_VALUE_##id);)
    PROFILE_FIELD_MAP(BOUND_TASK_)
#undef BOUND_TASK_
    return bound;
}

/* Encode t's entry at p, which has room for task_entry_bound(t); its
 * end. */
static unsigned char *encode_task_entry(unsigned char *p, const task_values *t)
{
    uint32_t lens[TASK_STRETCHES];
    unsigned char *entry = p, *start = NULL;
    p += TASK_ENTRY_HEAD;
    int stretch = -1, previous_task = 0;
#define ENCODE_TASK_(id, name, wire, type, def, sql)                          \
    IF_FROM(TASK, id, {                                                       \
        if (!previous_task) {                                                 \
            stretch++;                                                        \
            start = p;                                                        \
        }                                                                     \
        p = enc_##wire(p, FIELD_VALUE_##id);                                  \
        lens[stretch] = (uint32_t)(p - start);                                \
    })                                                                        \
    previous_task = IS_FROM(TASK, id);
    PROFILE_FIELD_MAP(ENCODE_TASK_)
#undef ENCODE_TASK_
    memcpy(entry, lens, sizeof lens);
    return p;
}

/* The bytes the record's own fields may take. */
static inline size_t record_fields_bound(const profile_file *f,
                                         const profile_record *r)
{
    size_t bound = 0;
#define BOUND_FIELD_(id, name, wire, type, def, sql)                          \
    IF_FROM(RECORD, id, bound += bound_##wire(FIELD_VALUE_##id);)
    PROFILE_FIELD_MAP(BOUND_FIELD_)
#undef BOUND_FIELD_
    return bound;
}

/* The record's fields in the table's order: the run's and the task's
 * copied (task: an entry, with COPY_SLACK readable bytes after it), the
 * others encoded by their wire, the room for all of them reserved once. */
static void put_record(bytes *b, profile_file *f, const unsigned char *task,
                       const profile_record *r)
{
    uint32_t lens[TASK_STRETCHES];
    memcpy(lens, task, sizeof lens);
    const unsigned char *from = task + TASK_ENTRY_HEAD;
    size_t bound = f->shared.len + record_fields_bound(f, r) + COPY_SLACK;
    for (int k = 0; k < TASK_STRETCHES; k++)
        bound += lens[k];
    if (bytes_reserve(b, bound) != 0)
        return;
    unsigned char *p = b->data + b->len;
    int stretch = 0, previous_run = 0, previous_task = 0;
#define ENCODE_FIELD_(id, name, wire, type, def, sql)                         \
    IF_FROM(RUN, id, if (!previous_run) {                                     \
        p = copy_pieces(p, f->shared.data + f->shared_at[PF_##id],            \
                        f->shared_len[PF_##id]);                              \
    })                                                                        \
    IF_FROM(TASK, id, if (!previous_task) {                                   \
        p = copy_pieces(p, from, lens[stretch]);                              \
        from += lens[stretch++];                                              \
    })                                                                        \
    IF_FROM(RECORD, id, p = enc_##wire(p, FIELD_VALUE_##id);)                 \
    previous_run = IS_FROM(RUN, id);                                          \
    previous_task = IS_FROM(TASK, id);
    PROFILE_FIELD_MAP(ENCODE_FIELD_)
#undef ENCODE_FIELD_
    (void)previous_run, (void)previous_task, (void)stretch;
    b->len = (size_t)(p - b->data);
}

/* ---- creating the file ------------------------------------------------------ */

/* mkdir -p for the root itself: its place is the caller's choice, so
 * symbolic links in it are followed. */
static int make_root(const char *root, error_state *err)
{
    size_t len = strlen(root);
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return error_set(err, DAGLIB_NOMEM, "out of memory");
    memcpy(copy, root, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (copy[i] != '/' && copy[i] != '\0')
            continue;
        char saved = copy[i];
        copy[i] = '\0';
        if (mkdir(copy, 0777) != 0 && errno != EEXIST) {
            int saved_errno = errno;
            int rc = error_set(err, DAGLIB_IO,
                               "cannot create the metadata directory '%s': %s",
                               copy, strerror(saved_errno));
            free(copy);
            return rc;
        }
        copy[i] = saved;
    }
    free(copy);
    return DAGLIB_OK;
}

/* Open (creating if needed) directory `name` under dirfd without
 * following a symbolic link.  The new fd, or -1 with err set. */
static int open_subdir(int dirfd, const char *name, const char *shown,
                       error_state *err)
{
    if (mkdirat(dirfd, name, 0777) != 0 && errno != EEXIST) {
        error_set(err, DAGLIB_IO, "cannot create directory '%s': %s", shown,
                  strerror(errno));
        return -1;
    }
    int fd = openat(dirfd, name,
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        error_set(err, DAGLIB_IO, "cannot open directory '%s': %s%s", shown,
                  strerror(e),
                  e == ELOOP || e == ENOTDIR
                      ? " (a symbolic link or a file is in the way; "
                        "profiling files are never written through links)"
                      : "");
    }
    return fd;
}

/* Write every byte of the n pieces: one writev() unless the kernel takes
 * less, then the rest.  0, or -1 with errno. */
static int write_all(int fd, struct iovec *piece, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, piece, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        size_t done = (size_t)w;
        for (; n > 0 && done >= piece->iov_len; piece++, n--)
            done -= piece->iov_len;
        if (n > 0) {
            piece->iov_base = (char *)piece->iov_base + done;
            piece->iov_len -= done;
        }
    }
    return 0;
}

static void encode_header(bytes *b, const char *codec,
                          const unsigned char sync[AVRO_SYNC_SIZE])
{
    put_raw(b, AVRO_MAGIC, AVRO_MAGIC_SIZE);
    put_long(b, 2); /* metadata map: one block of two entries */
    put_string(b, "avro.schema", 11);
    const char *schema = profile_schema_json();
    put_string(b, schema, strlen(schema));
    put_string(b, "avro.codec", 10);
    put_string(b, codec, strlen(codec));
    put_long(b, 0);
    put_raw(b, sync, AVRO_SYNC_SIZE);
}

static void profile_file_free(profile_file *f)
{
    if (f->zs_ready)
        deflateEnd(&f->zs);
    bytes_free(&f->shared);
    bytes_free(&f->task_entry);
    bytes_free(&f->block);
    bytes_free(&f->zbuf);
    free(f->path);
    free(f);
}

/* This machine's host name, as printable ASCII (anything else becomes
 * '?', so that the field is valid UTF-8 whatever the system says), into
 * out; its length.  "" when the system will not say. */
static void this_host(char *out, size_t size)
{
    if (gethostname(out, size) != 0)
        out[0] = '\0';
    out[size - 1] = '\0';
    for (char *c = out; *c != '\0'; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
            *c = '?';
}

/* Create the file with a fresh run id in dirfd; the fd, or -1. */
static int create_exclusive(profile_file *f, int dirfd, const char *dir_shown,
                            error_state *err)
{
    for (int tries = 0; tries < 64; tries++) {
        meta_new_run_id(f->run_id);
        char name[META_RUN_ID_SIZE + 5];
        snprintf(name, sizeof name, "%s.avro", f->run_id);
        int fd = openat(dirfd, name,
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        0644);
        if (fd >= 0)
            return fd;
        if (errno != EEXIST) {
            error_set(err, DAGLIB_IO, "cannot create a profiling file in '%s': %s",
                      dir_shown, strerror(errno));
            return -1;
        }
    }
    error_set(err, DAGLIB_IO, "no free run id in '%s' after 64 tries",
              dir_shown);
    return -1;
}

int profile_file_create(const char *root, const char *dag_name,
                        const char *dag_description, const char *codec,
                        profile_file **out, error_state *err)
{
    *out = NULL;
    int deflate = strcmp(codec, "deflate") == 0;
    if (!deflate && strcmp(codec, "null") != 0)
        return error_set(err, DAGLIB_INVALID, "unknown Avro codec '%s'", codec);
    profile_file *f = calloc(1, sizeof *f);
    if (f == NULL)
        return error_set(err, DAGLIB_NOMEM, "out of memory");
    f->fd = -1;
    f->deflate = deflate;
    /* Any pair of a time and its word will do to start with. */
    f->last_time.value = (int64_t)1 << 48;
    varint_word8(f->last_time.value, &f->last_time.word);
    char *profiling_dir = format_string("%s/%s", root, META_PROFILING_DIR);
    char *dag_dir = format_string("%s/%s/%s", root, META_PROFILING_DIR, dag_name);
    int rc = DAGLIB_OK, root_fd = -1, profiling_fd = -1, dag_fd = -1;
    if (profiling_dir == NULL || dag_dir == NULL) {
        rc = error_set(err, DAGLIB_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = make_root(root, err)) != DAGLIB_OK)
        goto done;
    root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) {
        rc = error_set(err, DAGLIB_IO, "cannot open the metadata root '%s': %s",
                       root, strerror(errno));
        goto done;
    }
    profiling_fd = open_subdir(root_fd, META_PROFILING_DIR, profiling_dir, err);
    if (profiling_fd < 0 ||
        (dag_fd = open_subdir(profiling_fd, dag_name, dag_dir, err)) < 0) {
        rc = DAGLIB_IO;
        goto done;
    }
    f->fd = create_exclusive(f, dag_fd, dag_dir, err);
    if (f->fd < 0) {
        rc = DAGLIB_IO;
        goto done;
    }
    f->path = format_string("%s/%s.avro", dag_dir, f->run_id);
    meta_random_bytes(f->sync, sizeof f->sync);

    bytes header = {0};
    encode_header(&header, codec, f->sync);
    char host[256];
    this_host(host, sizeof host);
    const shared_values shared = {dag_name, dag_description, f->run_id, host};
    if (f->path == NULL || header.failed || encode_shared(f, &shared) != 0) {
        rc = error_set(err, DAGLIB_NOMEM, "out of memory");
    } else if (write_all(f->fd, &(struct iovec){header.data, header.len}, 1) !=
               0) {
        rc = error_set(err, DAGLIB_IO, "cannot write the profiling file '%s': %s",
                       f->path, strerror(errno));
    } else {
        f->size = (off_t)header.len;
    }
    bytes_free(&header);
    if (rc == DAGLIB_OK && deflate) {
        if (deflateInit2(&f->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
                         Z_DEFAULT_STRATEGY) != Z_OK)
            rc = error_set(err, DAGLIB_NOMEM, "cannot start zlib");
        else
            f->zs_ready = 1;
    }
    if (rc != DAGLIB_OK) {
        /* Nothing half-written stays behind. */
        char name[META_RUN_ID_SIZE + 5];
        snprintf(name, sizeof name, "%s.avro", f->run_id);
        unlinkat(dag_fd, name, 0);
    }

done:
    if (dag_fd >= 0)
        close(dag_fd);
    if (profiling_fd >= 0)
        close(profiling_fd);
    if (root_fd >= 0)
        close(root_fd);
    free(profiling_dir);
    free(dag_dir);
    if (rc != DAGLIB_OK) {
        if (f->fd >= 0)
            close(f->fd);
        profile_file_free(f);
        return rc;
    }
    *out = f;
    return DAGLIB_OK;
}

const char *profile_file_run_id(const profile_file *f)
{
    return f->run_id;
}

const char *profile_file_path(const profile_file *f)
{
    return f->path;
}

uint64_t profile_file_size(const profile_file *f)
{
    return (uint64_t)f->size;
}

/* ---- records and blocks ---------------------------------------------------- */

/* Put r, its task fields the entry at task, in the pending block. */
static int append_with_entry(profile_file *f, const unsigned char *task,
                             const profile_record *r, error_state *err)
{
    bytes *b = &f->block;
    size_t mark = b->len;
    put_record(b, f, task, r);
    if (b->failed) {
        b->failed = 0; /* drop this record, keep the block */
        b->len = mark;
        return error_set(err, DAGLIB_NOMEM,
                         "out of memory encoding a profiling record");
    }
    if (b->len - mark > PROFILE_RECORD_MAX_BYTES) {
        size_t size = b->len - mark;
        b->len = mark; /* a block holding it could not be read back */
        if (r->task_name == NULL)
            return error_set(err, DAGLIB_INVALID,
                             "a profiling record takes %zu bytes, more than "
                             "the %u a record may",
                             size, PROFILE_RECORD_MAX_BYTES);
        return error_set(err, DAGLIB_INVALID,
                         "the profiling record of task '%.*s' takes %zu bytes, "
                         "more than the %u a record may (its names, "
                         "descriptions and error are too long)",
                         (int)r->task_name_len, r->task_name, size,
                         PROFILE_RECORD_MAX_BYTES);
    }
    f->pending++;
    return DAGLIB_OK;
}

int profile_file_append(profile_file *f, const profile_record *r,
                        error_state *err)
{
    const task_values t = task_values_of(r);
    bytes *entry = &f->task_entry;
    entry->failed = 0;
    if (bytes_reserve(entry, task_entry_bound(&t) + COPY_SLACK) != 0)
        return error_set(err, DAGLIB_NOMEM,
                         "out of memory encoding a profiling record");
    encode_task_entry(entry->data, &t);
    return append_with_entry(f, entry->data, r, err);
}

profile_tasks *profile_tasks_new(uint32_t n_slots)
{
    profile_tasks *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->at = calloc(n_slots > 0 ? n_slots : 1, sizeof *t->at);
    if (t->at == NULL) {
        free(t);
        return NULL;
    }
    t->n_slots = n_slots;
    t->len = 1; /* offset 0 marks an empty slot */
    return t;
}

void profile_tasks_free(profile_tasks *t)
{
    if (t == NULL)
        return;
    free(t->at);
    free(t->entries);
    free(t);
}

/* Encode r's task fields into slot k.  0, or -1 when memory runs out or
 * a record of the task could be too large to write (it is then encoded
 * from r, and refused naming its task). */
static int fill_slot(const profile_file *f, profile_tasks *tasks, uint32_t k,
                     const profile_record *r)
{
    const task_values t = task_values_of(r);
    profile_record without_error = *r;
    without_error.error = NULL;
    const size_t bound = task_entry_bound(&t);
    if (bound > PROFILE_RECORD_MAX_BYTES ||
        f->shared.len + bound + COPY_SLACK +
                record_fields_bound(f, &without_error) >
            PROFILE_RECORD_MAX_BYTES)
        return -1;
    const size_t needed = tasks->len + bound + COPY_SLACK;
    if (needed > UINT32_MAX)
        return -1; /* offsets are 32 bits */
    if (needed > tasks->cap) {
        size_t cap = tasks->cap > 0 ? tasks->cap : 64 * 1024;
        while (cap < needed)
            cap *= 2;
        unsigned char *bigger = realloc(tasks->entries, cap);
        if (bigger == NULL)
            return -1;
        tasks->entries = bigger;
        tasks->cap = cap;
    }
    tasks->at[k] = (uint32_t)tasks->len;
    unsigned char *end = encode_task_entry(tasks->entries + tasks->len, &t);
    tasks->len = (size_t)(end - tasks->entries);
    tasks->n_filled++;
    return 0;
}

int profile_file_append_task(profile_file *f, profile_tasks *tasks, uint32_t k,
                             const profile_record *r, error_state *err)
{
    if (!profile_tasks_filled(tasks, k) && fill_slot(f, tasks, k, r) != 0)
        return profile_file_append(f, r, err);
    return append_with_entry(f, profile_tasks_entry(tasks, k), r, err);
}

int profile_file_block_full(const profile_file *f)
{
    return f->pending >= PROFILE_BLOCK_MAX_RECORDS ||
           f->block.len >= PROFILE_BLOCK_TARGET_BYTES;
}

size_t profile_file_pending(const profile_file *f)
{
    return f->pending;
}

/* The block's data, deflated when the codec says so; NULL when memory
 * runs out. */
static const bytes *block_payload(profile_file *f)
{
    if (!f->deflate)
        return &f->block;
    bytes *z = &f->zbuf;
    z->len = 0;
    z->failed = 0;
    if (deflateReset(&f->zs) != Z_OK ||
        bytes_reserve(z, deflateBound(&f->zs, f->block.len)) != 0)
        return NULL;
    f->zs.next_in = f->block.data;
    f->zs.avail_in = (uInt)f->block.len;
    f->zs.next_out = z->data;
    f->zs.avail_out = (uInt)z->cap;
    if (deflate(&f->zs, Z_FINISH) != Z_STREAM_END)
        return NULL;
    z->len = z->cap - f->zs.avail_out;
    return z;
}

int profile_file_flush(profile_file *f, error_state *err)
{
    if (f->pending == 0)
        return DAGLIB_OK;
    if (f->block.len > UINT_MAX)
        return error_set(err, DAGLIB_NOMEM, "profiling block too large");
    const bytes *payload = block_payload(f);
    if (payload == NULL)
        return error_set(err, DAGLIB_NOMEM,
                         "out of memory writing a profiling block");
    unsigned char counts[2 * VARINT_LONG_BYTES];
    unsigned char *end = varint_put_long(counts, (int64_t)f->pending);
    end = varint_put_long(end, (int64_t)payload->len);
    struct iovec pieces[] = {
        {counts, (size_t)(end - counts)},
        {payload->data, payload->len},
        {f->sync, AVRO_SYNC_SIZE},
    };
    size_t block_bytes = pieces[0].iov_len + payload->len + AVRO_SYNC_SIZE;
    if (write_all(f->fd, pieces, 3) != 0) {
        int saved = errno;
        /* A torn block would hide every later one from readers. */
        if (ftruncate(f->fd, f->size) == 0)
            lseek(f->fd, f->size, SEEK_SET);
        return error_set(err, DAGLIB_IO, "cannot write the profiling file '%s': %s",
                         f->path, strerror(saved));
    }
#ifdef SYNC_FILE_RANGE_WRITE
    /* Start writing the block to disk now, so that the sync at the end of
     * the run finds little left to do.  Only a hint: errors are the
     * sync's to report. */
    sync_file_range(f->fd, f->size, (off_t)block_bytes, SYNC_FILE_RANGE_WRITE);
#endif
    f->size += (off_t)block_bytes;
    f->block.len = 0;
    f->pending = 0;
    return DAGLIB_OK;
}

int profile_file_close(profile_file *f, error_state *err)
{
    if (f == NULL)
        return DAGLIB_OK;
    int rc = profile_file_flush(f, err);
    if (fdatasync(f->fd) != 0 && errno != EINVAL && rc == DAGLIB_OK)
        rc = error_set(err, DAGLIB_IO, "cannot sync the profiling file '%s': %s",
                       f->path, strerror(errno));
    if (close(f->fd) != 0 && errno != EINTR && rc == DAGLIB_OK)
        rc = error_set(err, DAGLIB_IO, "cannot close the profiling file '%s': %s",
                       f->path, strerror(errno));
    profile_file_free(f);
    return rc;
}
