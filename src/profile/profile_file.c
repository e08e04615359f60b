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
    off_t handed_back; /* the file's pages before this were handed back */

    /* The fields every record of the run shares, encoded once: a field's
     * bytes start at shared_at[field], and a record copies shared_len[field]
     * of them, which covers the shared fields that follow it (then 0). */
    bytes shared;
    uint32_t shared_at[PF_COUNT], shared_len[PF_COUNT];

    /* The last time encoded, and its bytes: a task's start is the end of
     * the task its worker ran just before, more often than not. */
    time_bytes last_time;

    bytes block; /* records not written yet */
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
 * last one encoded is kept, and a value equal to it copied. */
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
    if (v == last->value) {
        store_u64(p, last->word);
        return p + 8;
    }
    uint64_t word;
    if (!varint_word8(v, &word))
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

/* Which fields every record of the run shares. */
#define FIELD_SHARED_DAG_NAME 1
#define FIELD_SHARED_DAG_DESCRIPTION 1
#define FIELD_SHARED_RUN_ID 1
#define FIELD_SHARED_TASK_NAME 0
#define FIELD_SHARED_TASK_DESCRIPTION 0
#define FIELD_SHARED_TASK_RUNTIME 0
#define FIELD_SHARED_STARTED_AT 0
#define FIELD_SHARED_ENDED_AT 0
#define FIELD_SHARED_STATUS 0
#define FIELD_SHARED_ATTEMPTS 0
#define FIELD_SHARED_WORKER 0
#define FIELD_SHARED_ERROR 0
#define FIELD_SHARED_HOST 1
#define FIELD_SHARED_TASK 0
#define FIELD_SHARED_INSTANCE 0

/* Where each field's value comes from: the run (s) for what its records
 * share, the record (r) for the rest (lengths put_record() measured
 * once).  A field of the table without a line here does not compile. */
#define FIELD_VALUE_DAG_NAME s->dag_name, strlen(s->dag_name)
#define FIELD_VALUE_DAG_DESCRIPTION                                           \
    s->dag_description, strlen(s->dag_description)
#define FIELD_VALUE_RUN_ID s->run_id, (size_t)META_RUN_ID_LEN
#define FIELD_VALUE_TASK_NAME r->task_name, r->task_name_len
#define FIELD_VALUE_TASK_DESCRIPTION r->task_description, description_len
#define FIELD_VALUE_TASK_RUNTIME r->runtime
#define FIELD_VALUE_STARTED_AT &f->last_time, r->started_at_us
#define FIELD_VALUE_ENDED_AT &f->last_time, r->ended_at_us
#define FIELD_VALUE_STATUS (int64_t)r->status
#define FIELD_VALUE_ATTEMPTS r->attempts
#define FIELD_VALUE_WORKER r->worker
#define FIELD_VALUE_ERROR r->error
#define FIELD_VALUE_HOST s->host, strlen(s->host)
#define FIELD_VALUE_TASK                                                      \
    r->task != NULL ? r->task : r->task_name,                                 \
        r->task != NULL ? r->task_len : r->task_name_len
#define FIELD_VALUE_INSTANCE r->task != NULL ? r->instance : PROFILE_NO_INSTANCE

/* What the records of a run share, before it is encoded. */
typedef struct shared_values {
    const char *dag_name, *dag_description, *run_id, *host;
} shared_values;

/* FIELD_SHARED_##id, expanded before pasting: ONLY_SHARED_1(x) is x and
 * ONLY_SHARED_0(x) nothing, and NOT_SHARED_* the other way round, so each
 * encoder below sees only the value sources of its own fields. */
#define ONLY_SHARED_1(...) __VA_ARGS__
#define ONLY_SHARED_0(...)
#define NOT_SHARED_1(...)
#define NOT_SHARED_0(...) __VA_ARGS__
#define PASTE_(a, b) a##b
#define PASTE(a, b) PASTE_(a, b)
#define IF_SHARED(id, ...) PASTE(ONLY_SHARED_, FIELD_SHARED_##id)(__VA_ARGS__)
#define IF_NOT_SHARED(id, ...) PASTE(NOT_SHARED_, FIELD_SHARED_##id)(__VA_ARGS__)

/* A stretch of shared fields is copied in whole pieces of this many
 * bytes, the last one past its end (copy_shared()): the shared bytes have
 * a piece of zeros after them, and a record's room a piece more than its
 * bound.  Fewer instructions than an exact copy of a length known only at
 * run time. */
#define COPY_PIECE 16

/* Encode the shared fields once.  A field that starts a stretch of shared
 * fields gets the length of the whole stretch, the others 0, so that a
 * record copies each stretch in one go. */
static int encode_shared(profile_file *f, const shared_values *s)
{
    size_t bound = 0;
#define BOUND_SHARED_(id, name, wire, type, def, sql)                         \
    IF_SHARED(id, bound += bound_##wire(FIELD_VALUE_##id);)
    PROFILE_FIELD_MAP(BOUND_SHARED_)
#undef BOUND_SHARED_
    if (bytes_reserve(&f->shared, bound + COPY_PIECE) != 0)
        return -1;
    memset(f->shared.data, 0, bound + COPY_PIECE);
    unsigned char *p = f->shared.data;
    int previous_shared = 0;
    profile_field stretch = PF_COUNT;
#define ENCODE_SHARED_(id, name, wire, type, def, sql)                        \
    IF_SHARED(id, {                                                           \
        f->shared_at[PF_##id] = (uint32_t)(p - f->shared.data);               \
        f->shared_len[PF_##id] = 0;                                           \
        if (!previous_shared)                                                 \
            stretch = PF_##id;                                                \
        p = enc_##wire(p, FIELD_VALUE_##id);                                  \
        f->shared_len[stretch] =                                              \
            (uint32_t)(p - f->shared.data) - f->shared_at[stretch];           \
    })                                                                        \
    previous_shared = FIELD_SHARED_##id;
    PROFILE_FIELD_MAP(ENCODE_SHARED_)
#undef ENCODE_SHARED_
    f->shared.len = (size_t)(p - f->shared.data);
    return 0;
}

/* The stretch of shared fields starting at `field`, in whole pieces. */
static inline unsigned char *copy_shared(unsigned char *p,
                                         const profile_file *f,
                                         profile_field field)
{
    const unsigned char *from = f->shared.data + f->shared_at[field];
    size_t n = f->shared_len[field];
    for (size_t i = 0; i < n; i += COPY_PIECE)
        memcpy(p + i, from + i, COPY_PIECE);
    return p + n;
}

/* The record's fields in the table's order: the shared ones copied, the
 * others encoded by their wire, the room for all of them reserved once. */
static void put_record(bytes *b, profile_file *f, const profile_record *r)
{
    const size_t description_len = strlen(r->task_description); /* once */
    size_t bound = f->shared.len + COPY_PIECE;
#define BOUND_FIELD_(id, name, wire, type, def, sql)                          \
    IF_NOT_SHARED(id, bound += bound_##wire(FIELD_VALUE_##id);)
    PROFILE_FIELD_MAP(BOUND_FIELD_)
#undef BOUND_FIELD_
    if (bytes_reserve(b, bound) != 0)
        return;
    unsigned char *p = b->data + b->len;
#define ENCODE_FIELD_(id, name, wire, type, def, sql)                         \
    IF_SHARED(id, p = copy_shared(p, f, PF_##id);)                            \
    IF_NOT_SHARED(id, p = enc_##wire(p, FIELD_VALUE_##id);)
    PROFILE_FIELD_MAP(ENCODE_FIELD_)
#undef ENCODE_FIELD_
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
    f->last_time.value = PROFILE_NO_TIME; /* never looked up */
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

int profile_file_append(profile_file *f, const profile_record *r,
                        error_state *err)
{
    bytes *b = &f->block;
    size_t mark = b->len;
    put_record(b, f, r);
    if (b->failed) {
        b->failed = 0; /* drop this record, keep the block */
        b->len = mark;
        return error_set(err, DAGLIB_NOMEM,
                         "out of memory encoding a profiling record");
    }
    if (b->len - mark > PROFILE_RECORD_MAX_BYTES) {
        size_t size = b->len - mark;
        b->len = mark; /* a block holding it could not be read back */
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

/* Start writing the block just written (at f->size) to disk now, so that
 * the sync at the end of the run finds little left to do.  Only a hint:
 * errors are the sync's to report. */
static void start_writeback(profile_file *f, off_t block_bytes)
{
#ifdef SYNC_FILE_RANGE_WRITE
    sync_file_range(f->fd, f->size, block_bytes, SYNC_FILE_RANGE_WRITE);
#else
    (void)f;
    (void)block_bytes;
#endif
}

/* How far behind the newest block the file's pages are handed back while
 * the run goes on.  Also the unit they are handed back in: on x86-64 the
 * kernel caches a file in naturally aligned groups of pages of up to 2
 * MiB, and keeps a group that crosses either end of the range it is asked
 * to drop. */
#define PROFILE_CACHED_BYTES ((off_t)2 << 20)

/* Hand back the cached pages of the file from offset `from` to
 * PROFILE_CACHED_BYTES behind its end.  A run's file is read later, if at
 * all, and otherwise every block takes pages the kernel has to find anew
 * -- where memory is lent by a host (a virtual machine that returns its
 * free pages), faulting them in costs more than writing the block.  The
 * next blocks reuse the pages just freed, and a long run's file does not
 * fill the cache.  A page still on its way to the disk stays (waiting for
 * the disk here would hold the encoding up): handed back again from offset
 * 0 once the file is synced, it goes too.  Only hints: errors are the
 * sync's to report. */
static void hand_back_pages(profile_file *f, off_t from)
{
#ifdef POSIX_FADV_DONTNEED
    off_t end = (f->size - PROFILE_CACHED_BYTES) / PROFILE_CACHED_BYTES *
                PROFILE_CACHED_BYTES;
    if (end <= from)
        return;
    posix_fadvise(f->fd, from, end - from, POSIX_FADV_DONTNEED);
    f->handed_back = end;
#else
    (void)f;
    (void)from;
#endif
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
    start_writeback(f, (off_t)block_bytes);
    f->size += (off_t)block_bytes;
    hand_back_pages(f, f->handed_back);
    f->block.len = 0;
    f->pending = 0;
    return DAGLIB_OK;
}

int profile_file_close(profile_file *f, error_state *err)
{
    if (f == NULL)
        return DAGLIB_OK;
    int rc = profile_file_flush(f, err);
    if (fdatasync(f->fd) == 0)
        hand_back_pages(f, 0);
    else if (errno != EINVAL && rc == DAGLIB_OK)
        rc = error_set(err, DAGLIB_IO, "cannot sync the profiling file '%s': %s",
                       f->path, strerror(errno));
    if (close(f->fd) != 0 && errno != EINTR && rc == DAGLIB_OK)
        rc = error_set(err, DAGLIB_IO, "cannot close the profiling file '%s': %s",
                       f->path, strerror(errno));
    profile_file_free(f);
    return rc;
}
