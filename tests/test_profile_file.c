/*
 * test_profile_file.c -- the profiling file writer (src/profile/profile_file.c),
 * checked by readers it does not share code with: avro-c, Debian's
 * python3-avro (tests/support/read_avro.py) and a walk over the container
 * bytes written here.
 *
 * The stories: a file is a valid container from the moment it exists; its
 * header keeps the defaults of the later fields; no empty block is ever
 * written; an existing file is never truncated; whatever a task put in its
 * error message, the file stays valid UTF-8; deflate files read
 * everywhere; and when the disk refuses a write, the blocks already
 * written still read.
 */
#include <avro.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "avro_varint.h"
#include "meta_path.h"
#include "profile_file.h"
#include "profile_reader.h"
#include "test.h"

/* ---- forcing the run id --------------------------------------------------

   Run ids come from getrandom() (src/meta_path.c).  To prove that a file
   already there is never truncated, a test must make the writer draw a
   taken run id.  This definition, in the test program itself, takes
   precedence over libc's for every caller linked into it; it behaves as
   libc's does (the system call) unless a test asks for fixed bytes. */

static _Atomic int forced_draws; /* getrandom() calls still to answer 0xab */

ssize_t getrandom(void *buf, size_t n, unsigned int flags)
{
    if (atomic_load(&forced_draws) > 0) {
        atomic_fetch_sub(&forced_draws, 1);
        memset(buf, 0xab, n);
        return (ssize_t)n;
    }
    return syscall(SYS_getrandom, buf, n, flags);
}

/* The run id that 0xab bytes give. */
#define FORCED_RUN_ID "run_ababababa"

/* ---- writing ----------------------------------------------------------------- */

/* Record i of every file written here: each field varies with i, nulls
 * included. */
static profile_record sample(int i, char *name, size_t size)
{
    snprintf(name, size, "task %d", i);
    static const char *const errors[] = {NULL, "it broke", "again: ✗"};
    profile_record r = {
        .task_name = name,
        .task_name_len = strlen(name),
        .task_description = i % 2 == 0 ? "Even task ✓" : "",
        .runtime = i * 0.125,
        .started_at_us = i % 4 == 3 ? PROFILE_NO_TIME
                                    : 1700000000000000 + i * 1000,
        .ended_at_us = i % 4 == 3 ? PROFILE_NO_TIME
                                  : 1700000000000000 + i * 1000 + 500,
        .status = (profile_status)(i % 3),
        .attempts = i % 3 == 2 ? 0 : 1 + i % 2,
        .worker = i % 5 == 0 ? PROFILE_NO_WORKER : i % 4,
        .error = errors[i % 3],
    };
    return r;
}

static profile_file *create(const char *root, const char *dag,
                            const char *codec)
{
    profile_file *f = NULL;
    error_state err = ERROR_STATE_INIT;
    int rc = profile_file_create(root, dag, "Test DAG", codec, &f, &err);
    if (rc != DAGLIB_OK)
        FAIL("profile_file_create: %s", error_message(&err));
    error_clear(&err);
    return f;
}

static void append_samples(profile_file *f, int from, int to)
{
    error_state err = ERROR_STATE_INIT;
    for (int i = from; i < to; i++) {
        char name[32];
        profile_record r = sample(i, name, sizeof name);
        CHECK_OK(profile_file_append(f, &r, &err));
    }
}

static void flush(profile_file *f)
{
    error_state err = ERROR_STATE_INIT;
    int rc = profile_file_flush(f, &err);
    if (rc != DAGLIB_OK)
        FAIL("profile_file_flush: %s", error_message(&err));
}

static void close_file(profile_file *f)
{
    error_state err = ERROR_STATE_INIT;
    int rc = profile_file_close(f, &err);
    if (rc != DAGLIB_OK)
        FAIL("profile_file_close: %s", error_message(&err));
}

/* Close f and open its file with avro-c's reader; its path, malloc'd,
 * in *path. */
static profile_reader *close_and_read(profile_file *f, char **path)
{
    *path = strdup(profile_file_path(f));
    CHECK(*path != NULL);
    close_file(f);
    profile_reader *reader;
    char *why;
    CHECK(profile_reader_open(*path, PROFILE_ENGINE_AVRO_C, &reader, &why) == 0);
    return reader;
}

/* A file of `count` samples, a block every `per_block`; its path,
 * malloc'd. */
static char *write_samples(const char *codec, int count, int per_block)
{
    profile_file *f = create("meta", "samples", codec);
    for (int i = 0; i < count; i += per_block) {
        append_samples(f, i, i + per_block < count ? i + per_block : count);
        flush(f);
    }
    char *path = strdup(profile_file_path(f));
    close_file(f);
    return path;
}

static long file_size(const char *path)
{
    struct stat st;
    CHECK(stat(path, &st) == 0);
    return (long)st.st_size;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* ---- the container, walked by hand ---------------------------------------------- */

typedef struct container {
    char *schema; /* avro.schema, NUL-terminated */
    char codec[16];
    size_t header_len;
    int blocks;
    long counts[4096]; /* records per block */
    int clean;         /* the file ends exactly after a block */
} container;

static int64_t get_varint(const unsigned char *p, size_t len, size_t *pos)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*pos >= len)
            FAIL("the file ends inside a number at offset %zu", *pos);
        unsigned char b = p[(*pos)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
    }
    FAIL("a number longer than 10 bytes at offset %zu", *pos);
}

/* Walk path's header and blocks; a malformed header or block fails the
 * test, a tail that is not a whole block clears c->clean.  Free
 * c->schema. */
static void walk(const char *path, container *c)
{
    memset(c, 0, sizeof *c);
    size_t len = 0;
    unsigned char *p = (unsigned char *)test_read_file(path, &len);
    CHECK(p != NULL);
    CHECK(len >= 4 && memcmp(p, "Obj\x01", 4) == 0);
    size_t pos = 4;
    for (;;) {
        int64_t entries = get_varint(p, len, &pos);
        if (entries == 0)
            break;
        CHECK(entries > 0); /* this writer never writes sized map blocks */
        for (int64_t i = 0; i < entries; i++) {
            int64_t klen = get_varint(p, len, &pos);
            CHECK(klen >= 0 && (size_t)klen <= len - pos);
            const char *key = (const char *)p + pos;
            pos += (size_t)klen;
            int64_t vlen = get_varint(p, len, &pos);
            CHECK(vlen >= 0 && (size_t)vlen <= len - pos);
            if (klen == 11 && memcmp(key, "avro.schema", 11) == 0) {
                c->schema = strndup((const char *)p + pos, (size_t)vlen);
            } else if (klen == 10 && memcmp(key, "avro.codec", 10) == 0) {
                CHECK(vlen < (int64_t)sizeof c->codec);
                memcpy(c->codec, p + pos, (size_t)vlen);
            }
            pos += (size_t)vlen;
        }
    }
    CHECK(len - pos >= 16);
    const unsigned char *sync = p + pos;
    pos += 16;
    c->header_len = pos;
    c->clean = 1;
    while (pos < len) {
        size_t start = pos;
        int64_t count = get_varint(p, len, &pos);
        int64_t size = get_varint(p, len, &pos);
        CHECK(count >= 0 && size >= 0);
        if ((size_t)size + 16 > len - pos) {
            c->clean = 0; /* a torn tail */
            (void)start;
            break;
        }
        if (memcmp(p + pos + size, sync, 16) != 0)
            FAIL("the block at offset %zu does not end with the sync marker",
                 start);
        CHECK(c->blocks < (int)(sizeof c->counts / sizeof c->counts[0]));
        c->counts[c->blocks++] = (long)count;
        pos += (size_t)size + 16;
    }
    free(p);
}

static long total_records(const container *c)
{
    long n = 0;
    for (int b = 0; b < c->blocks; b++)
        n += c->counts[b];
    return n;
}

/* ---- reading back ----------------------------------------------------------------- */

/* Records avro-c reads from path; *clean says whether it got to the end
 * without an error.  -1 when avro-c cannot open the file. */
static long avroc_records(const char *path, int *clean)
{
    avro_file_reader_t reader;
    if (avro_file_reader(path, &reader) != 0)
        return -1;
    avro_schema_t schema = avro_file_reader_get_writer_schema(reader);
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    avro_value_t value;
    avro_generic_value_new(iface, &value);
    long n = 0;
    int rc;
    while ((rc = avro_file_reader_read_value(reader, &value)) == 0)
        n++;
    *clean = rc == EOF;
    avro_value_decref(&value);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
    avro_file_reader_close(reader);
    return n;
}

/* The error string of avro-c's record `index` of path, or "" for null;
 * malloc'd. */
static char *avroc_error_field(const char *path, long index)
{
    avro_file_reader_t reader;
    CHECK(avro_file_reader(path, &reader) == 0);
    avro_schema_t schema = avro_file_reader_get_writer_schema(reader);
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    avro_value_t value, field, branch;
    avro_generic_value_new(iface, &value);
    char *out = NULL;
    for (long n = 0; n <= index; n++)
        CHECK(avro_file_reader_read_value(reader, &value) == 0);
    int which;
    CHECK(avro_value_get_by_name(&value, "error", &field, NULL) == 0);
    CHECK(avro_value_get_discriminant(&field, &which) == 0);
    if (which == 0) {
        out = strdup("");
    } else {
        const char *s;
        size_t size;
        CHECK(avro_value_get_current_branch(&field, &branch) == 0);
        CHECK(avro_value_get_string(&branch, &s, &size) == 0);
        out = strndup(s, size - 1);
    }
    avro_value_decref(&value);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
    avro_file_reader_close(reader);
    return out;
}

/* Records our reader gets from path with the given engine; *clean as
 * above. */
static long reader_records(const char *path, profile_engine engine, int *clean)
{
    profile_reader *r;
    char *why = NULL;
    if (profile_reader_open(path, engine, &r, &why) != 0) {
        fprintf(stderr, "    profile_reader_open: %s\n", why);
        free(why);
        return -1;
    }
    profile_row row;
    long n = 0;
    int rc;
    while ((rc = profile_reader_next(r, PROFILE_ALL_FIELDS, &row)) == 1)
        n++;
    *clean = rc == 0 && profile_reader_error(r) == NULL;
    profile_reader_close(r);
    return n;
}

/* Python's reading of path (read_avro.py), the lines malloc'd in one
 * buffer; NULL when Python could not read the file.  *lines counts the
 * record lines (the schema line excluded). */
static char *python_read(const char *path, const char *reader_schema_file,
                         long *lines)
{
    int status = test_system("%s %s '%s' %s%s%s > python.out", TEST_PYTHON,
                             test_source_path("tests/support/read_avro.py"),
                             path, reader_schema_file ? "'" : "",
                             reader_schema_file ? reader_schema_file : "",
                             reader_schema_file ? "'" : "");
    if (status != 0)
        return NULL;
    char *text = test_read_file("python.out", NULL);
    CHECK(text != NULL);
    long n = -1;
    for (const char *p = text; *p != '\0'; p++)
        if (*p == '\n')
            n++;
    *lines = n;
    return text;
}

/* Python's JSON line for sample(i) written by write_samples(). */
static void python_line(int i, const char *run_id, char *out, size_t size)
{
    char name[32], runtime[32], started[32], ended[32], worker[16],
        error[64];
    profile_record r = sample(i, name, sizeof name);
    double whole = (double)(long)r.runtime;
    if (r.runtime == whole)
        snprintf(runtime, sizeof runtime, "%.1f", r.runtime);
    else
        snprintf(runtime, sizeof runtime, "%g", r.runtime);
    if (r.started_at_us == PROFILE_NO_TIME) {
        strcpy(started, "null");
        strcpy(ended, "null");
    } else {
        snprintf(started, sizeof started, "%lld", (long long)r.started_at_us);
        snprintf(ended, sizeof ended, "%lld", (long long)r.ended_at_us);
    }
    if (r.worker == PROFILE_NO_WORKER)
        strcpy(worker, "null");
    else
        snprintf(worker, sizeof worker, "%d", r.worker);
    if (r.error == NULL)
        strcpy(error, "null");
    else
        snprintf(error, sizeof error, "\"%s\"", r.error);
    static const char *const statuses[] = {"ok", "failed", "skipped"};
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    snprintf(out, size,
             "{\"attempts\": %d, \"dag_description\": \"Test DAG\", "
             "\"dag_name\": \"samples\", \"ended_at\": %s, \"error\": %s, "
             "\"host\": \"%s\", \"instance\": null, "
             "\"run_id\": \"%s\", \"started_at\": %s, \"status\": \"%s\", "
             "\"task\": \"%s\", "
             "\"task_description\": \"%s\", \"task_name\": \"%s\", "
             "\"task_runtime\": %s, \"worker\": %s}\n",
             r.attempts, ended, error, host, run_id, started, statuses[r.status],
             name, r.task_description, name, runtime, worker);
}

/* The run id in a path ".../run_xxxxxxxxx.avro", in a static buffer. */
static const char *run_id_of(const char *path)
{
    static char id[META_RUN_ID_SIZE];
    const char *base = strrchr(path, '/');
    CHECK(base != NULL && strlen(base + 1) == META_RUN_ID_LEN + 5);
    memcpy(id, base + 1, META_RUN_ID_LEN);
    id[META_RUN_ID_LEN] = '\0';
    return id;
}

/* Python reads path and sees exactly samples 0..count-1. */
static void check_python_reads_samples(const char *path, long count)
{
    long lines = 0;
    char *text = python_read(path, NULL, &lines);
    if (text == NULL)
        FAIL("python3-avro cannot read %s", path);
    CHECK_INT_EQ(lines, count);
    const char *p = strchr(text, '\n') + 1;
    for (long i = 0; i < count; i++) {
        char want[1024];
        python_line((int)i, run_id_of(path), want, sizeof want);
        size_t n = strcspn(p, "\n") + 1;
        if (strlen(want) != n || memcmp(p, want, n) != 0)
            FAIL("record %ld: Python read\n      %.*s    want\n      %s", i,
                 (int)n, p, want);
        p += n;
    }
    free(text);
}

static void check_varint(int64_t v)
{
    unsigned char expected[VARINT_LONG_BYTES];
    size_t expected_len = test_avro_varint(expected, v);
    unsigned char buf[VARINT_LONG_BYTES + 4];
    memset(buf, 0xaa, sizeof buf);
    unsigned char *end = varint_put_long(buf, v);
    if ((size_t)(end - buf) != expected_len ||
        memcmp(buf, expected, expected_len) != 0)
        FAIL("%lld encodes to %zu bytes, not the %zu expected",
             (long long)v, (size_t)(end - buf), expected_len);
    for (size_t i = VARINT_LONG_BYTES; i < sizeof buf; i++)
        CHECK(buf[i] == 0xaa); /* nothing past the room */
    const unsigned char *p = buf;
    int64_t back = 0;
    CHECK_INT_EQ(varint_long(&p, end, &back), VARINT_OK);
    CHECK(back == v && p == end);
}

/* ---- tests ------------------------------------------------------------------------ */

TEST(profile_file_varints_match_the_specification_at_every_length)
{
    /* Every length from 1 to 10 bytes, at and around each boundary, both
     * signs; then timestamps of this century, the numbers most written. */
    for (int bit = 0; bit < 63; bit++) {
        int64_t edge = (int64_t)1 << bit;
        for (int64_t d = -2; d <= 2; d++) {
            check_varint(edge + d);
            check_varint(-(edge + d));
        }
    }
    check_varint(INT64_MAX);
    check_varint(INT64_MIN);
    check_varint(INT64_MIN + 1);
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        check_varint((int64_t)x);
        check_varint((int64_t)(x >> (x % 64)));
        check_varint(946684800000000 + (int64_t)(x % 3155760000000000));
    }
}

TEST(profile_file_is_a_valid_empty_container_from_the_start)
{
    profile_file *f = create("meta", "empty", "null");
    const char *path = profile_file_path(f);
    char expected[64];
    snprintf(expected, sizeof expected, "meta/profiling/empty/%s.avro",
             profile_file_run_id(f));
    CHECK_STR_EQ(path, expected);
    CHECK(meta_is_run_id(profile_file_run_id(f), META_RUN_ID_LEN));

    /* Before any record or close: the header alone is there, and every
     * reader sees a file of zero records, not a broken one. */
    container c;
    walk(path, &c);
    CHECK_INT_EQ(c.blocks, 0);
    CHECK(c.clean);
    CHECK_INT_EQ(file_size(path), (long)c.header_len);
    free(c.schema);
    int clean = 0;
    CHECK_INT_EQ(avroc_records(path, &clean), 0);
    CHECK(clean);
    CHECK_INT_EQ(reader_records(path, PROFILE_ENGINE_AUTO, &clean), 0);
    CHECK(clean);
    CHECK_INT_EQ(reader_records(path, PROFILE_ENGINE_AVRO_C, &clean), 0);
    CHECK(clean);
    long lines = -1;
    char *text = python_read(path, NULL, &lines);
    CHECK(text != NULL);
    CHECK_INT_EQ(lines, 0);
    free(text);

    /* Closing a file with no record adds nothing: still zero records. */
    char *kept = strdup(path);
    long size = file_size(kept);
    close_file(f);
    CHECK_INT_EQ(file_size(kept), size);
    CHECK_INT_EQ(avroc_records(kept, &clean), 0);
    CHECK(clean);
    free(kept);
}

TEST(profile_file_header_schema_keeps_every_default)
{
    char *paths[2] = {write_samples("null", 3, 3), write_samples("deflate", 3, 3)};
    for (int k = 0; k < 2; k++) {
        container c;
        walk(paths[k], &c);
        /* The exact text: avro-c would have dropped the defaults. */
        CHECK_STR_EQ(c.schema, profile_schema_json());
        CHECK_STR_EQ(c.codec, k == 0 ? "null" : "deflate");
        free(c.schema);
        /* And what a reader of another language makes of it: the first six
         * fields have no default, each later field its own. */
        long lines;
        char *text = python_read(paths[k], NULL, &lines);
        CHECK(text != NULL);
        CHECK_INT_EQ(lines, 3);
        CHECK_CONTAINS(text, "\"name\": \"tprofile\", \"namespace\": "
                             "\"daglib.profiling\"");
        CHECK_CONTAINS(text, "{\"name\": \"task_runtime\", \"type\": "
                             "\"double\"}");
        CHECK_CONTAINS(text, "{\"default\": null, \"name\": \"started_at\"");
        CHECK_CONTAINS(text, "{\"default\": null, \"name\": \"ended_at\"");
        CHECK_CONTAINS(text, "{\"default\": \"ok\", \"name\": \"status\"");
        CHECK_CONTAINS(text, "{\"default\": 1, \"name\": \"attempts\"");
        CHECK_CONTAINS(text, "{\"default\": null, \"name\": \"worker\"");
        CHECK_CONTAINS(text, "{\"default\": null, \"name\": \"error\"");
        CHECK_CONTAINS(text, "{\"default\": \"\", \"name\": \"host\"");
        CHECK(strstr(text, "\"default\": null, \"name\": \"task_runtime\"") ==
              NULL);
        free(text);
        free(paths[k]);
    }
}

TEST(profile_file_schema_lets_newer_readers_read_the_original_files)
{
    /* What the defaults are for: a reader that resolves every file against
     * the newest file's schema (Spark, Hive, Trino) reads a file of the
     * Python original, filling the fields it lacks. */
    char *ours = write_samples("null", 1, 1);
    CHECK_INT_EQ(test_system("%s %s legacy legacy.avro 3", TEST_PYTHON,
                             test_source_path("tests/support/write_legacy.py")),
                 0);
    long lines;
    char *text = python_read("legacy.avro", ours, &lines);
    if (text == NULL)
        FAIL("Python could not resolve the original's file against ours");
    CHECK_INT_EQ(lines, 3);
    CHECK_CONTAINS(text, "{\"attempts\": 1, \"dag_description\": \"Written by "
                         "Python's avro\", \"dag_name\": \"py_legacy\", "
                         "\"ended_at\": null, \"error\": null, \"host\": \"\", "
                         "\"instance\": null, \"run_id\": "
                         "\"run_0a1b2c3d4\", \"started_at\": null, "
                         "\"status\": \"ok\", \"task\": \"\", "
                         "\"task_description\": \"Task "
                         "number 0 ✓\", \"task_name\": \"task 0\", "
                         "\"task_runtime\": 0.0, \"worker\": null}\n");
    free(text);
    free(ours);
}

TEST(profile_file_flush_with_nothing_pending_writes_nothing)
{
    profile_file *f = create("meta", "flushes", "null");
    char *path = strdup(profile_file_path(f));
    long header = file_size(path);
    flush(f);
    flush(f);
    CHECK_INT_EQ(file_size(path), header);
    append_samples(f, 0, 5);
    CHECK_INT_EQ(profile_file_pending(f), 5);
    CHECK_INT_EQ(file_size(path), header); /* memory only until a flush */
    flush(f);
    CHECK_INT_EQ(profile_file_pending(f), 0);
    long one_block = file_size(path);
    CHECK(one_block > header);
    flush(f);
    CHECK_INT_EQ(file_size(path), one_block);
    append_samples(f, 5, 8);
    flush(f);
    flush(f);
    long two_blocks = file_size(path);
    close_file(f); /* nothing pending: close adds nothing either */
    CHECK_INT_EQ(file_size(path), two_blocks);

    container c;
    walk(path, &c);
    free(c.schema);
    CHECK(c.clean);
    CHECK_INT_EQ(c.blocks, 2);
    CHECK_INT_EQ(c.counts[0], 5);
    CHECK_INT_EQ(c.counts[1], 3);
    free(path);
}

TEST(profile_file_records_read_back_field_by_field)
{
    char *path = write_samples("null", 40, 7);
    container c;
    walk(path, &c);
    free(c.schema);
    CHECK(c.clean);
    CHECK_INT_EQ(c.blocks, 6);
    CHECK_INT_EQ(total_records(&c), 40);
    for (int b = 0; b < c.blocks; b++)
        CHECK(c.counts[b] > 0);
    int clean = 0;
    CHECK_INT_EQ(avroc_records(path, &clean), 40);
    CHECK(clean);
    check_python_reads_samples(path, 40);
    free(path);
}

TEST(profile_file_timestamp_words_match_the_varints)
{
    /* The 8-byte timestamps are written as one word, kept for the next. */
    uint64_t x = 0x2545f4914f6cdd1du;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t v = (int64_t)(x >> (x % 64));
        if (i % 2 == 0)
            v = (int64_t)(x % ((uint64_t)1 << 56)) - ((int64_t)1 << 55);
        unsigned char expected[VARINT_LONG_BYTES];
        size_t len = test_avro_varint(expected, v);
        uint64_t word;
        if (!varint_word8(v, &word)) {
            CHECK(len != 8);
            continue;
        }
        CHECK_INT_EQ(len, 8);
        unsigned char got[8];
        memcpy(got, &word, 8);
        CHECK(memcmp(got, expected, 8) == 0);
    }
}

/* Record i of timestamps() and what it holds: each start the end of the
 * record before it, some null, some of every varint length. */
static void timestamp_pair(int i, int64_t *started, int64_t *ended)
{
    static const int64_t odd[] = {0, 1, -1, 63, 64, -65, (int64_t)1 << 48,
                                  ((int64_t)1 << 55) - 1, (int64_t)1 << 55,
                                  INT64_MAX, INT64_MIN + 1};
    const int64_t base = 1765000000000000;
    if (i == 0) { /* what a cache that starts zeroed would take as kept */
        *started = *ended = 0;
    } else if (i % 13 == 12) {
        *started = *ended = PROFILE_NO_TIME;
    } else if (i % 11 == 10) { /* repeated, but not 8 bytes long */
        *started = *ended = odd[(size_t)i % (sizeof odd / sizeof *odd)];
    } else if (i % 7 == 6) {
        *started = odd[(size_t)i % (sizeof odd / sizeof *odd)];
        *ended = odd[(size_t)(i + 3) % (sizeof odd / sizeof *odd)];
    } else {
        *started = base + i;
        *ended = base + i + 1;
    }
}

/* Write records with the times given, started then ended for each, a
 * block every `per_block`; check that both engines read every time back
 * exactly (PROFILE_NO_TIME as a null). */
static void check_times_read_back(const char *dag, const int64_t *times,
                                  int count, int per_block)
{
    profile_file *f = create("meta", dag, "null");
    error_state err = ERROR_STATE_INIT;
    for (int i = 0; i < count; i++) {
        char name[32];
        profile_record r = sample(i, name, sizeof name);
        r.started_at_us = times[2 * i];
        r.ended_at_us = times[2 * i + 1];
        CHECK_OK(profile_file_append(f, &r, &err));
        if (i % per_block == per_block - 1) /* the kept word outlives it */
            flush(f);
    }
    char *path = strdup(profile_file_path(f));
    CHECK(path != NULL);
    close_file(f);
    for (int engine = 0; engine < 2; engine++) {
        profile_reader *reader;
        char *why;
        CHECK(profile_reader_open(path,
                                  engine ? PROFILE_ENGINE_AVRO_C
                                         : PROFILE_ENGINE_AUTO,
                                  &reader, &why) == 0);
        profile_row row;
        for (int i = 0; i < count; i++) {
            CHECK_INT_EQ(profile_reader_next(reader, PROFILE_ALL_FIELDS, &row),
                         1);
            for (int k = 0; k < 2; k++) {
                const profile_cell *c =
                    &row.cell[k ? PF_ENDED_AT : PF_STARTED_AT];
                int64_t expected = times[2 * i + k];
                if (expected == PROFILE_NO_TIME)
                    CHECK_INT_EQ(c->kind, CELL_NULL);
                else if (c->kind != CELL_INT || c->u.i != expected)
                    FAIL("engine %d, record %d, time %d: %lld, not %lld",
                         engine, i, k, (long long)c->u.i, (long long)expected);
            }
        }
        CHECK_INT_EQ(profile_reader_next(reader, PROFILE_ALL_FIELDS, &row), 0);
        profile_reader_close(reader);
    }
    free(path);
}

TEST(profile_file_repeated_timestamps_read_back_exactly)
{
    enum { COUNT = 1000 };
    static int64_t times[2 * COUNT];
    for (int i = 0; i < COUNT; i++)
        timestamp_pair(i, &times[2 * i], &times[2 * i + 1]);
    check_times_read_back("times", times, COUNT, 97);
}

TEST(profile_file_later_timestamps_read_back_exactly)
{
    /* Each timestamp's 8 bytes are written as one word and the last one is
     * kept: times a little after the one before, by steps that carry into
     * every group of seven bits of the varint, with nulls, earlier times,
     * times before 1970 and block ends between them. */
    enum { COUNT = 4000 };
    static int64_t times[2 * COUNT];
    int64_t t = ((int64_t)1 << 49) - 3000;
    for (int i = 0; i < 2 * COUNT; i++) {
        if (i % 97 == 50)
            t = (t | (((int64_t)1 << (7 * (1 + i % 7))) - 1)) - 20;
        times[i] = i % 61 == 60   ? PROFILE_NO_TIME
                   : i % 53 == 52 ? -t
                   : i % 41 == 40 ? t - 5000
                                  : (t += (int64_t)(i * 37 % 8192));
    }
    check_times_read_back("later", times, COUNT, 701);
}

TEST(profile_file_shared_fields_of_every_length_read_back)
{
    /* The fields every record shares are copied in whole pieces, past
     * their end: names and descriptions of each length around a piece. */
    for (size_t len = 1; len <= 40; len++) {
        char dag[48], description[48];
        for (size_t k = 0; k < len; k++) {
            dag[k] = (char)('a' + k % 26);
            description[k] = (char)('A' + k % 26);
        }
        dag[len] = description[len] = '\0';
        profile_file *f = NULL;
        error_state err = ERROR_STATE_INIT;
        CHECK_OK(profile_file_create("meta", dag,
                                     description + (len % 3 == 0 ? len : 0),
                                     "null", &f, &err));
        append_samples(f, 0, 5);
        char *path = strdup(profile_file_path(f));
        char run_id[META_RUN_ID_SIZE];
        memcpy(run_id, profile_file_run_id(f), sizeof run_id);
        close_file(f);
        profile_reader *reader;
        char *why;
        CHECK(profile_reader_open(path, PROFILE_ENGINE_AUTO, &reader, &why) == 0);
        profile_row row;
        for (int i = 0; i < 5; i++) {
            CHECK_INT_EQ(profile_reader_next(reader, PROFILE_ALL_FIELDS, &row), 1);
            const profile_cell *c = row.cell;
            CHECK_INT_EQ(c[PF_DAG_NAME].u.text.n, len);
            CHECK(memcmp(c[PF_DAG_NAME].u.text.p, dag, len) == 0);
            size_t described = len % 3 == 0 ? 0 : len;
            CHECK_INT_EQ(c[PF_DAG_DESCRIPTION].u.text.n, described);
            CHECK(memcmp(c[PF_DAG_DESCRIPTION].u.text.p, description,
                         described) == 0);
            CHECK_INT_EQ(c[PF_RUN_ID].u.text.n, META_RUN_ID_LEN);
            CHECK(memcmp(c[PF_RUN_ID].u.text.p, run_id, META_RUN_ID_LEN) == 0);
            char name[32];
            profile_record r = sample(i, name, sizeof name);
            CHECK_INT_EQ(c[PF_TASK_NAME].u.text.n, r.task_name_len);
            CHECK(memcmp(c[PF_TASK_NAME].u.text.p, name, r.task_name_len) == 0);
            CHECK(c[PF_HOST].kind == CELL_TEXT && c[PF_HOST].u.text.n > 0);
        }
        CHECK_INT_EQ(profile_reader_next(reader, PROFILE_ALL_FIELDS, &row), 0);
        profile_reader_close(reader);
        free(path);
    }
}

TEST(profile_file_task_name_is_taken_by_its_length)
{
    /* Instance names arrive as (pointer, length), not NUL-terminated. */
    profile_file *f = create("meta", "lengths", "null");
    error_state err = ERROR_STATE_INIT;
    char name[32];
    profile_record r = sample(0, name, sizeof name);
    r.task_name = "mapped 3 and what follows";
    r.task_name_len = 8;
    CHECK_OK(profile_file_append(f, &r, &err));
    char *path;
    profile_reader *reader = close_and_read(f, &path);
    profile_row row;
    CHECK_INT_EQ(profile_reader_next(reader, PROFILE_ALL_FIELDS, &row), 1);
    CHECK_INT_EQ(row.cell[PF_TASK_NAME].kind, CELL_TEXT);
    CHECK_INT_EQ(row.cell[PF_TASK_NAME].u.text.n, 8);
    CHECK(memcmp(row.cell[PF_TASK_NAME].u.text.p, "mapped 3", 8) == 0);
    CHECK_INT_EQ(profile_reader_next(reader, PROFILE_ALL_FIELDS, &row), 0);
    profile_reader_close(reader);
    free(path);
}

TEST(profile_file_never_truncates_an_existing_file)
{
    /* The run id the writer is about to draw is taken by a file someone
     * else wrote: the writer must pick another name and leave that file
     * exactly as it was. */
    CHECK(mkdir("meta", 0755) == 0);
    CHECK(mkdir("meta/profiling", 0755) == 0);
    CHECK(mkdir("meta/profiling/taken", 0755) == 0);
    const char *precious = "meta/profiling/taken/" FORCED_RUN_ID ".avro";
    test_write_file(precious, "precious bytes", 14);
    atomic_store(&forced_draws, 3); /* three draws of the taken id */
    profile_file *f = create("meta", "taken", "null");
    CHECK_INT_EQ(atomic_load(&forced_draws), 0);
    CHECK(strcmp(profile_file_run_id(f), FORCED_RUN_ID) != 0);
    append_samples(f, 0, 3);
    close_file(f);
    size_t len = 0;
    char *bytes = test_read_file(precious, &len);
    CHECK(bytes != NULL);
    CHECK_INT_EQ(len, 14);
    CHECK(memcmp(bytes, "precious bytes", 14) == 0);
    free(bytes);
    CHECK_INT_EQ(count_entries("meta/profiling/taken"), 2);
}

TEST(profile_file_gives_up_when_no_run_id_is_free)
{
    CHECK(mkdir("meta", 0755) == 0);
    CHECK(mkdir("meta/profiling", 0755) == 0);
    CHECK(mkdir("meta/profiling/full", 0755) == 0);
    const char *precious = "meta/profiling/full/" FORCED_RUN_ID ".avro";
    test_write_file(precious, "precious", 8);
    atomic_store(&forced_draws, 1000); /* every draw gives the taken id */
    profile_file *f = (profile_file *)1;
    error_state err = ERROR_STATE_INIT;
    CHECK_CODE(profile_file_create("meta", "full", "", "null", &f, &err),
               DAGLIB_IO);
    atomic_store(&forced_draws, 0);
    CHECK(f == NULL);
    CHECK_CONTAINS(error_message(&err), "no free run id");
    error_clear(&err);
    CHECK_INT_EQ(file_size(precious), 8);
    CHECK_INT_EQ(count_entries("meta/profiling/full"), 1);
}

TEST(profile_file_refuses_unknown_codecs_and_leaves_nothing)
{
    profile_file *f = (profile_file *)1;
    error_state err = ERROR_STATE_INIT;
    CHECK_CODE(profile_file_create("meta", "codec", "", "snappy", &f, &err),
               DAGLIB_INVALID);
    CHECK(f == NULL);
    CHECK_CONTAINS(error_message(&err), "'snappy'");
    error_clear(&err);
    CHECK_INT_EQ(count_entries("meta"), -1); /* not even the root */
    CHECK_OK(profile_file_close(NULL, &err));
}

TEST(profile_file_creation_failure_leaves_nothing_behind)
{
    profile_file *f = (profile_file *)1;
    error_state err = ERROR_STATE_INIT;
    /* The root's place is taken by a file. */
    test_write_file("meta", "x", 1);
    CHECK_CODE(profile_file_create("meta/sub", "d", "", "null", &f, &err),
               DAGLIB_IO);
    CHECK(f == NULL);
    CHECK_CONTAINS(error_message(&err), "meta");
    error_clear(&err);
    CHECK(unlink("meta") == 0);

    /* The header itself cannot be written (the file size limit is below
     * it): no half-written file stays. */
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {100, 100};
        CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
        int rc = profile_file_create("meta", "tiny", "", "null", &f, &err);
        CHECK_CODE(rc, DAGLIB_IO);
        CHECK(f == NULL);
        CHECK_CONTAINS(error_message(&err), "cannot write the profiling file");
        error_clear(&err);
        exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_INT_EQ(count_entries("meta/profiling/tiny"), 0);
}

TEST(profile_file_replaces_invalid_utf8_in_error_messages)
{
    static const struct {
        const char *written, *read;
    } cases[] = {
        {"fine ✓", "fine ✓"},
        {"bad \xff byte", "bad \xef\xbf\xbd byte"},
        {"lone \xc3( lead", "lone \xef\xbf\xbd( lead"},
        {"cut at the end \xe2\x82", "cut at the end \xef\xbf\xbd\xef\xbf\xbd"},
        {"surrogate \xed\xa0\x80!", "surrogate \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd!"},
        {"overlong \xc0\xaf", "overlong \xef\xbf\xbd\xef\xbf\xbd"},
        {"\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd"},
    };
    enum { N = sizeof cases / sizeof cases[0] };
    profile_file *f = create("meta", "utf8", "null");
    error_state err = ERROR_STATE_INIT;
    for (int i = 0; i < N; i++) {
        char name[32];
        profile_record r = sample(1, name, sizeof name);
        r.error = cases[i].written;
        CHECK_OK(profile_file_append(f, &r, &err));
    }
    char *path = strdup(profile_file_path(f));
    close_file(f);
    for (int i = 0; i < N; i++) {
        char *got = avroc_error_field(path, i);
        if (strcmp(got, cases[i].read) != 0)
            FAIL("error %d read back as '%s'", i, got);
        free(got);
    }
    /* Python decodes strings strictly: it reads the file only if every
     * string in it is valid UTF-8. */
    long lines;
    char *text = python_read(path, NULL, &lines);
    if (text == NULL)
        FAIL("python3-avro cannot read a file with replaced messages");
    CHECK_INT_EQ(lines, N);
    for (int i = 0; i < N; i++) {
        char want[128];
        snprintf(want, sizeof want, "\"error\": \"%s\"", cases[i].read);
        CHECK_CONTAINS(text, want);
    }
    free(text);
    free(path);
}

TEST(profile_file_deflate_files_read_with_avro_c_and_python)
{
    char *plain = write_samples("null", 3000, 1000);
    char *deflated = write_samples("deflate", 3000, 1000);
    container c;
    walk(deflated, &c);
    free(c.schema);
    CHECK_STR_EQ(c.codec, "deflate");
    CHECK(c.clean);
    CHECK_INT_EQ(c.blocks, 3);
    CHECK_INT_EQ(total_records(&c), 3000);
    CHECK(file_size(deflated) * 3 < file_size(plain)); /* really deflated */
    int clean = 0;
    CHECK_INT_EQ(avroc_records(deflated, &clean), 3000);
    CHECK(clean);
    CHECK_INT_EQ(reader_records(deflated, PROFILE_ENGINE_AUTO, &clean), 3000);
    CHECK(clean);
    check_python_reads_samples(deflated, 3000);
    free(plain);
    free(deflated);
}

/* ---- the page cache ------------------------------------------------------ */

/* How many pages of path's bytes [from, to) are in the page cache; from
 * is a multiple of the page size. */
static long cached_pages(const char *path, long from, long to)
{
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    long page = sysconf(_SC_PAGESIZE);
    size_t len = (size_t)(to - from);
    void *map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, from);
    CHECK(map != MAP_FAILED);
    size_t pages = (len + (size_t)page - 1) / (size_t)page;
    unsigned char *resident = malloc(pages);
    CHECK(resident != NULL);
    CHECK(mincore(map, len, resident) == 0);
    long n = 0;
    for (size_t i = 0; i < pages; i++)
        n += resident[i] & 1;
    free(resident);
    munmap(map, len);
    close(fd);
    return n;
}

/* Whether this file system caches what is written to a file and lets its
 * clean pages go when asked (tmpfs keeps them: they are the file; some
 * file systems never cache them). */
static int clean_pages_can_go_here(void)
{
    static char bytes[1 << 16];
    int fd = open("probe", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, bytes, sizeof bytes) == (ssize_t)sizeof bytes);
    CHECK(fdatasync(fd) == 0);
    int cached = cached_pages("probe", 0, sizeof bytes) > 0;
    posix_fadvise(fd, 0, sizeof bytes, POSIX_FADV_DONTNEED);
    close(fd);
    int gone = cached_pages("probe", 0, sizeof bytes) == 0;
    unlink("probe");
    return cached && gone;
}

TEST(profile_file_hands_back_the_pages_the_disk_has)
{
    if (!clean_pages_can_go_here()) {
        fprintf(stderr, "    (files here are not cached as a disk's are; "
                        "skipped)\n");
        return;
    }
    profile_file *f = create("meta", "samples", "null");
    char *path = strdup(profile_file_path(f));
    CHECK(path != NULL);
    int sync_fd = open(path, O_RDONLY);
    CHECK(sync_fd >= 0);
    /* Blocks of 1-2 MiB, as the profiler writes them, up to 12 MiB. */
    const int per_block = 10000;
    int records = 0;
    while (profile_file_size(f) < (12u << 20)) {
        append_samples(f, records, records + per_block);
        records += per_block;
        flush(f);
        /* The disk has every block written so far before the next. */
        CHECK(fdatasync(sync_fd) == 0);
    }
    long size = (long)profile_file_size(f), page = sysconf(_SC_PAGESIZE);
    long behind = (size - (4L << 20)) / page * page;
    CHECK(behind > 8L << 20);
    /* Every page well behind the newest block left the cache; the newest
     * block is still in it. */
    CHECK_INT_EQ(cached_pages(path, 0, behind), 0);
    CHECK(cached_pages(path, (size - (1L << 20)) / page * page, size) > 0);
    close(sync_fd);
    close_file(f);
    int clean = 0;
    CHECK_INT_EQ(reader_records(path, PROFILE_ENGINE_AUTO, &clean), records);
    CHECK(clean);
    free(path);
}

/* Fill a file whose writes fail part-way (blocked(f) makes them fail,
 * unblocked(f) lets them through again) and check that the blocks written
 * before each failure read with every reader.  Runs in the calling
 * process; everything is checked here because a mount namespace does not
 * outlive it. */
static void write_until_refused(profile_file *f, void (*blocked)(void),
                                void (*unblocked)(void))
{
    const char *path = profile_file_path(f);
    error_state err = ERROR_STATE_INIT;
    append_samples(f, 0, 100);
    flush(f);
    long written = 100;
    blocked();
    int rc = DAGLIB_OK;
    for (int round = 0; round < 100 && rc == DAGLIB_OK; round++) {
        append_samples(f, (int)written, (int)written + 100);
        rc = profile_file_flush(f, &err);
        if (rc == DAGLIB_OK)
            written += 100;
    }
    CHECK_CODE(rc, DAGLIB_IO);
    CHECK_CONTAINS(error_message(&err), "cannot write the profiling file");
    error_clear(&err);
    CHECK_INT_EQ(profile_file_pending(f), 100); /* kept for a retry */

    /* What a reader sees now, and after a crash right here: whole blocks
     * only. */
    container c;
    walk(path, &c);
    free(c.schema);
    CHECK(c.clean);
    CHECK_INT_EQ(total_records(&c), written);
    int clean = 0;
    CHECK_INT_EQ(avroc_records(path, &clean), written);
    CHECK(clean);
    CHECK_INT_EQ(reader_records(path, PROFILE_ENGINE_AUTO, &clean), written);
    CHECK(clean);
    /* Python writes its output, so it needs the room back first; the
     * profiling file does not change until the next flush. */
    unblocked();
    check_python_reads_samples(path, written);

    /* Room again: the pending block goes out, nothing was lost. */
    flush(f);
    walk(path, &c);
    free(c.schema);
    CHECK(c.clean);
    CHECK_INT_EQ(total_records(&c), written + 100);
    check_python_reads_samples(path, written + 100);
}

static rlim_t fsize_limit;

static void limit_file_size(void)
{
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_FSIZE, &rl) == 0);
    rl.rlim_cur = fsize_limit;
    CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
}

static void unlimit_file_size(void)
{
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_FSIZE, &rl) == 0);
    rl.rlim_cur = rl.rlim_max;
    CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
}

TEST(profile_file_size_limit_leaves_whole_blocks)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN); /* the write fails with EFBIG instead */
        profile_file *f = create("meta", "samples", "null");
        /* Room for the first block and a bit: a later block is cut. */
        fsize_limit = (rlim_t)file_size(profile_file_path(f)) + 30000;
        write_until_refused(f, limit_file_size, unlimit_file_size);
        close_file(f);
        exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void fill_disk(void)
{
    /* Everything but a few pages of the small file system. */
    int fd = open("small/filler", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    char page[4096];
    memset(page, 'f', sizeof page);
    while (write(fd, page, sizeof page) == (ssize_t)sizeof page)
        ;
    close(fd);
    /* Give back enough for a block or two, not for a hundred. */
    CHECK(truncate("small/filler", file_size("small/filler") - 40960) == 0);
}

static void free_disk(void)
{
    CHECK(unlink("small/filler") == 0);
}

TEST(profile_file_full_disk_leaves_whole_blocks)
{
    /* A real ENOSPC, from a 256 KiB tmpfs in a private mount namespace
     * (it goes away with the child).  Needs root; elsewhere the size
     * limit test above covers the same path. */
    CHECK(mkdir("small", 0700) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        if (unshare(CLONE_NEWNS) != 0 ||
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
            mount("tmpfs", "small", "tmpfs", 0, "size=256k") != 0) {
            fprintf(stderr, "    (no tmpfs here: %s; skipped)\n",
                    strerror(errno));
            exit(0);
        }
        profile_file *f = create("small/meta", "samples", "null");
        write_until_refused(f, fill_disk, free_disk);
        close_file(f);
        exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
