/*
 * fuzz_profile_reader.c -- libFuzzer target: any bytes, read as a
 * profiling file by both engines of src/profile/profile_reader.c.
 *
 *   make fuzz
 *   build/fuzz/fuzz_profile_reader -max_total_time=600 build/fuzz/corpus
 *
 * Each input is written to a file (the reader reads files, through a file
 * descriptor and through avro-c's stdio) and read to its end with
 * PROFILE_ENGINE_AUTO and PROFILE_ENGINE_AVRO_C, every cell touched so that
 * ASan sees any read out of bounds.  Built with ASan and UBSan: a crash, a
 * sanitizer report or a leak is a finding.  So is a disagreement: when the
 * block decoder reads a file, the avro-c engine must return the same rows
 * and stop at the same record (avroc_engine.c explains why it can), and
 * the target aborts when it does not; so it does when counting the
 * records from block frames (profile_reader_count(), what count(*) does)
 * disagrees with decoding where it must agree: opening alike, the same
 * records when decoding reaches the end, never fewer, and a stop only
 * where decoding stops too, after as many records when for the same
 * reason (a damaged record inside a whole block is counted, where
 * decoding stops at it).  The differences allowed are
 * avro-c's: it cannot read past a block of zero records, so there it
 * stops, with rows that begin the block decoder's; and it refuses at once
 * a schema it cannot read (a fixed of size 0).
 *
 * Where the schema has no record plan (a nested record, an array, a map)
 * avro-c decodes records nothing checked first, and avro-c 1.11 trusts
 * them: it allocates a string's claimed length before checking it and
 * leaks the buffer when the read then fails (avroc_engine.c).  Those are
 * avro-c's known ways, not findings about this code, so for such schemas
 * the target opens and closes the file with both engines but reads no
 * record.  And avro-c gets an allocator that refuses, as a production
 * malloc would, anything above MAX_AVRO_ALLOCATION, where ASan would
 * abort instead.  Its schema parser leaks what it built when it refuses a
 * schema (a named type defined twice, say).  Leaks with libavro on the
 * stack are therefore not reported here (the unit tests, under ASan, check
 * that this code releases what avro-c gives it).
 */
#include <avro.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "avro_container.h"
#include "profile_reader.h"
#include "record_plan.h"

#define MAX_AVRO_ALLOCATION (64u << 20)

static char input_path[4096];

/* By module: libavro has no frame pointers, and unwinding it the slow way
 * to match the parser's functions by name costs four fifths of the
 * speed. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libavro.so\n";
}

static void *bounded_allocator(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    if (nsize > MAX_AVRO_ALLOCATION)
        return NULL;
    return realloc(ptr, nsize);
}

static void remove_input(void)
{
    unlink(input_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(input_path, sizeof input_path, "%s/fuzz-profile-%ld.avro",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp", (long)getpid());
    atexit(remove_input);
    avro_set_allocator(bounded_allocator, NULL);
    return 0;
}

/* What one engine read: a digest of every row, the count, how it ended. */
typedef struct outcome {
    int opened, clean;
    uint64_t rows;
    uint64_t digest;
    uint64_t digest_at_mark; /* the digest once `mark` rows were read */
    char engine[16];
    char error[320];
} outcome;

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull; /* FNV-1a */
    return h;
}

/* Whether the input's header holds a schema that no record plan covers
 * (record_plan_compile() answers 1): avro-c alone decodes its records. */
static int without_plan(void)
{
    int fd = open(input_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        abort();
    avro_container c;
    int rc = 0;
    if (avro_container_open(&c, fd) == 0) {
        record_plan plan;
        char *why = NULL;
        rc = record_plan_compile(&plan, c.schema_json, c.schema_len, &why) == 1;
        if (why == NULL)
            record_plan_free(&plan);
        free(why);
    }
    avro_container_close(&c);
    return rc;
}

static void read_with(profile_engine engine, int records, uint64_t mark,
                      outcome *out)
{
    memset(out, 0, sizeof *out);
    out->digest = 14695981039346656037ull;
    out->digest_at_mark = out->digest;
    profile_reader *r;
    char *why = NULL;
    if (profile_reader_open(input_path, engine, &r, &why) != 0) {
        if (why == NULL || why[0] == '\0')
            abort(); /* a refusal always says why */
        snprintf(out->error, sizeof out->error, "%s", why);
        free(why);
        return;
    }
    out->opened = 1;
    snprintf(out->engine, sizeof out->engine, "%s", profile_reader_engine(r));
    profile_row row;
    int rc;
    while (records && (rc = profile_reader_next(r, PROFILE_ALL_FIELDS, &row)) == 1) {
        out->rows++;
        for (int f = 0; f < PF_COUNT; f++) {
            const profile_cell *c = &row.cell[f];
            out->digest = mix(out->digest, &c->kind, 1);
            if (c->kind == CELL_INT)
                out->digest = mix(out->digest, &c->u.i, sizeof c->u.i);
            else if (c->kind == CELL_REAL)
                out->digest = mix(out->digest, &c->u.d, sizeof c->u.d);
            else if (c->kind == CELL_TEXT)
                out->digest = mix(out->digest, c->u.text.p, c->u.text.n);
            else if (c->kind != CELL_NULL)
                abort(); /* a cell of no kind */
        }
        if (out->rows == mark)
            out->digest_at_mark = out->digest;
    }
    if (!records)
        rc = 0;
    else if (rc == 0 && profile_reader_error(r) != NULL)
        abort();
    else if (rc == -1 && profile_reader_error(r) == NULL)
        abort();
    out->clean = rc == 0;
    if (!out->clean)
        snprintf(out->error, sizeof out->error, "%s", profile_reader_error(r));
    profile_reader_close(r);
}

/* The records count(*) counts: from block frames, not decoded, max at a
 * time. */
static void count_with(uint64_t max, outcome *out)
{
    memset(out, 0, sizeof *out);
    profile_reader *r = profile_reader_new(PROFILE_ENGINE_AUTO);
    if (r == NULL)
        abort();
    profile_reader_counting(r, 1);
    char *why = NULL;
    if (profile_reader_reopen(r, input_path, &why) != 0) {
        snprintf(out->error, sizeof out->error, "%s", why != NULL ? why : "");
        free(why);
        profile_reader_close(r);
        return;
    }
    out->opened = 1;
    uint64_t n;
    int rc;
    while ((rc = profile_reader_count(r, max, &n)) == 1) {
        if (n == 0 || n > max)
            abort();
        out->rows += n;
    }
    out->clean = rc == 0;
    if (!out->clean)
        snprintf(out->error, sizeof out->error, "%s", profile_reader_error(r));
    profile_reader_close(r);
}

/* Whether a count agrees with decoding as far as it must (see the top). */
static int count_agrees(const outcome *counted, const outcome *decoded)
{
    if (counted->opened != decoded->opened)
        return 0;
    if (!counted->opened)
        return strcmp(counted->error, decoded->error) == 0;
    if (decoded->clean)
        return counted->clean && counted->rows == decoded->rows;
    if (counted->rows < decoded->rows)
        return 0;
    return counted->clean || strcmp(counted->error, decoded->error) != 0 ||
           counted->rows == decoded->rows;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = open(input_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        abort();
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(fd, data + done, size - done);
        if (w <= 0)
            abort();
        done += (size_t)w;
    }
    close(fd);

    int records = !without_plan();
    outcome fast, reference;
    read_with(PROFILE_ENGINE_AVRO_C, records, 0, &reference);
    read_with(PROFILE_ENGINE_AUTO, records, reference.rows, &fast);
    outcome counted[2];
    if (records) {
        count_with(UINT64_MAX, &counted[0]);
        count_with(1 + size % 3, &counted[1]);
    }
    unlink(input_path); /* nothing left behind when an abort follows */
    for (int i = 0; records && i < 2; i++) {
        if (!count_agrees(&counted[i], &fast)) {
            fprintf(stderr, "counting gives %llu records (%s), decoding %llu "
                            "(%s)\n",
                    (unsigned long long)counted[i].rows,
                    counted[i].clean ? "clean" : counted[i].error,
                    (unsigned long long)fast.rows,
                    fast.clean ? "clean" : fast.error);
            abort();
        }
    }
    if (fast.opened && strcmp(fast.engine, "block") == 0) {
        int empty_block = !reference.clean &&
                          strstr(reference.error, "a block of zero records");
        if (!reference.opened &&
            strstr(reference.error, "avro-c cannot read a fixed of size 0")) {
            /* avro-c's limit, said at once */
        } else if (empty_block) {
            if (fast.rows < reference.rows ||
                fast.digest_at_mark != reference.digest)
                abort();
        } else if (!reference.opened || fast.clean != reference.clean ||
                   fast.rows != reference.rows ||
                   fast.digest != reference.digest) {
            fprintf(stderr,
                    "engines disagree: block %llu rows (%s), avro-c %s %llu "
                    "rows (%s)\n",
                    (unsigned long long)fast.rows,
                    fast.clean ? "clean" : "stopped",
                    reference.opened ? "opened" : "refused",
                    (unsigned long long)reference.rows,
                    reference.clean ? "clean" : "stopped");
            abort();
        }
    }
    return 0;
}
