/*
 * test_profile_reader.c -- reading profiling files (src/profile/profile_reader.c
 * and the block decoder and avro-c engine behind it).
 *
 * The block decoder is fast and hand-written; avro-c is slow and written
 * by other people.  So every file here is read by both engines, and the
 * rows must be identical: files from libdaglib (null and deflate, many
 * blocks), from avro-c's own writer (snappy too), and from Debian's
 * python3-avro (tests/support/write_legacy.py: the Python original's
 * layout, older and newer layouts).  Then the files nobody should write:
 * cut at every byte, flipped at every byte, and crafted to lie about
 * their counts and lengths.  Those must never crash, never allocate what a
 * lying number asks for, and always say what is wrong.
 */
#include <avro.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "avro_container.h"
#include "meta_path.h"
#include "profile_file.h"
#include "profile_reader.h"
#include "record_plan.h"
#include "test.h"
#include "test_craft.h"

#define ALL PROFILE_ALL_FIELDS
#define UNSET 0xff /* a cell the reader was not asked for */

/* ---- rows, copied out of the reader ----------------------------------------- */

typedef struct cell_copy {
    int kind;
    int64_t i;
    double d;
    char *text; /* malloc'd */
    size_t n;
} cell_copy;

typedef struct row_copy {
    cell_copy cell[PF_COUNT];
} row_copy;

typedef struct result {
    row_copy *rows;
    size_t n, cap;
    int opened;  /* profile_reader_open() succeeded */
    int clean;   /* reading ended with 0 and no error */
    char *error; /* why opening or reading stopped, malloc'd, or NULL */
    char engine[16];
} result;

static void copy_cell(const profile_cell *from, cell_copy *to)
{
    memset(to, 0, sizeof *to);
    to->kind = from->kind;
    switch (from->kind) {
    case CELL_INT:
        to->i = from->u.i;
        break;
    case CELL_REAL:
        to->d = from->u.d;
        break;
    case CELL_TEXT:
        to->n = from->u.text.n;
        to->text = malloc(to->n + 1);
        CHECK(to->text != NULL);
        memcpy(to->text, from->u.text.p, to->n);
        to->text[to->n] = '\0';
        break;
    case CELL_NULL:
        break;
    default:
        FAIL("a cell of kind %d", from->kind);
    }
}

static void result_free(result *res)
{
    for (size_t r = 0; r < res->n; r++)
        for (int f = 0; f < PF_COUNT; f++)
            free(res->rows[r].cell[f].text);
    free(res->rows);
    free(res->error);
    memset(res, 0, sizeof *res);
}

/* Read every row of the file r has just opened, copying the wanted
 * fields. */
static void drain(profile_reader *r, uint32_t wanted, result *res)
{
    res->opened = 1;
    snprintf(res->engine, sizeof res->engine, "%s", profile_reader_engine(r));
    CHECK(profile_reader_error(r) == NULL);
    int rc;
    for (;;) {
        profile_row row;
        for (int f = 0; f < PF_COUNT; f++)
            row.cell[f].kind = UNSET;
        rc = profile_reader_next(r, wanted, &row);
        if (rc != 1)
            break;
        if (res->n == res->cap) {
            res->cap = res->cap ? res->cap * 2 : 64;
            res->rows = realloc(res->rows, res->cap * sizeof *res->rows);
            CHECK(res->rows != NULL);
        }
        row_copy *copy = &res->rows[res->n++];
        for (int f = 0; f < PF_COUNT; f++) {
            if (wanted & PROFILE_FIELD_BIT(f))
                copy_cell(&row.cell[f], &copy->cell[f]);
            else
                memset(&copy->cell[f], 0, sizeof copy->cell[f]);
        }
        CHECK_INT_EQ(profile_reader_records(r), res->n);
    }
    CHECK(rc == 0 || rc == -1);
    const char *error = profile_reader_error(r);
    if (rc == 0) {
        CHECK(error == NULL);
        res->clean = 1;
    } else {
        CHECK(error != NULL && error[0] != '\0');
        res->error = strdup(error);
        /* A reader that stopped stays stopped. */
        profile_row row;
        CHECK_INT_EQ(profile_reader_next(r, wanted, &row), -1);
    }
}

/* Read every row of path with engine, copying the wanted fields. */
static void read_all(const char *path, profile_engine engine, uint32_t wanted,
                     result *res)
{
    memset(res, 0, sizeof *res);
    profile_reader *r = NULL;
    char *why = (char *)"untouched";
    if (profile_reader_open(path, engine, &r, &why) != 0) {
        CHECK(r == NULL);
        CHECK(why != NULL && why[0] != '\0');
        res->error = why;
        return;
    }
    CHECK(why == NULL);
    drain(r, wanted, res);
    profile_reader_close(r);
}

static int cells_equal(const cell_copy *a, const cell_copy *b)
{
    if (a->kind != b->kind)
        return 0;
    switch (a->kind) {
    case CELL_INT:
        return a->i == b->i;
    case CELL_REAL: /* bit for bit: a damaged file may hold NaNs */
        return memcmp(&a->d, &b->d, sizeof a->d) == 0;
    case CELL_TEXT:
        return a->n == b->n && memcmp(a->text, b->text, a->n) == 0;
    default:
        return 1;
    }
}

static void describe_cell(const cell_copy *c, char *out, size_t size)
{
    switch (c->kind) {
    case CELL_NULL:
        snprintf(out, size, "NULL");
        break;
    case CELL_INT:
        snprintf(out, size, "%lld", (long long)c->i);
        break;
    case CELL_REAL:
        snprintf(out, size, "%.17g", c->d);
        break;
    case CELL_TEXT:
        snprintf(out, size, "'%.*s'", (int)(c->n < 60 ? c->n : 60), c->text);
        break;
    default:
        snprintf(out, size, "(kind %d)", c->kind);
    }
}

/* Rows [0, n) of a and b agree on the fields in mask; `what` names the
 * comparison in a failure. */
static void check_same_rows(const result *a, const result *b, size_t n,
                            uint32_t mask, const char *what)
{
    CHECK(a->n >= n && b->n >= n);
    for (size_t r = 0; r < n; r++) {
        for (int f = 0; f < PF_COUNT; f++) {
            if (!(mask & PROFILE_FIELD_BIT(f)))
                continue;
            if (cells_equal(&a->rows[r].cell[f], &b->rows[r].cell[f]))
                continue;
            char x[96], y[96];
            describe_cell(&a->rows[r].cell[f], x, sizeof x);
            describe_cell(&b->rows[r].cell[f], y, sizeof y);
            FAIL("%s: row %zu, %s: %s != %s", what, r, profile_field_names[f],
                 x, y);
        }
    }
}

/* Read path with both engines: same outcome, identical rows.  The block
 * engine's result goes to *out when out is not NULL. */
static size_t both_engines_agree(const char *path, result *out)
{
    result fast, reference;
    read_all(path, PROFILE_ENGINE_AUTO, ALL, &fast);
    read_all(path, PROFILE_ENGINE_AVRO_C, ALL, &reference);
    if (!fast.opened || !reference.opened)
        FAIL("%s: cannot open: %s / %s", path, fast.error ? fast.error : "-",
             reference.error ? reference.error : "-");
    CHECK_STR_EQ(reference.engine, "avro-c");
    if (!fast.clean || !reference.clean)
        FAIL("%s: did not read cleanly: %s / %s", path,
             fast.error ? fast.error : "-",
             reference.error ? reference.error : "-");
    CHECK_INT_EQ(fast.n, reference.n);
    check_same_rows(&fast, &reference, fast.n, ALL, path);
    size_t n = fast.n;
    result_free(&reference);
    if (out != NULL)
        *out = fast;
    else
        result_free(&fast);
    return n;
}

/* ---- the values files hold -------------------------------------------------- */

static void set_text(cell_copy *c, const char *s)
{
    free(c->text);
    c->kind = CELL_TEXT;
    c->n = strlen(s);
    c->text = strdup(s);
}

static void set_int(cell_copy *c, int64_t v)
{
    free(c->text);
    memset(c, 0, sizeof *c);
    c->kind = CELL_INT;
    c->i = v;
}

static void set_real(cell_copy *c, double v)
{
    free(c->text);
    memset(c, 0, sizeof *c);
    c->kind = CELL_REAL;
    c->d = v;
}

static void set_null(cell_copy *c)
{
    free(c->text);
    memset(c, 0, sizeof *c);
    c->kind = CELL_NULL;
}

static void row_free(row_copy *row)
{
    for (int f = 0; f < PF_COUNT; f++)
        free(row->cell[f].text);
}

static const char *const statuses[] = {"ok", "failed", "skipped"};

/* Record i as tests/support/write_legacy.py writes it for kind (keep in
 * step with expected() there). */
static void expect_python(int i, const char *kind, row_copy *row)
{
    memset(row, 0, sizeof *row);
    char buf[64];
    snprintf(buf, sizeof buf, "py_%s", kind);
    set_text(&row->cell[PF_DAG_NAME], buf);
    set_text(&row->cell[PF_DAG_DESCRIPTION], "Written by Python's avro");
    set_text(&row->cell[PF_RUN_ID], "run_0a1b2c3d4");
    snprintf(buf, sizeof buf, "task %d", i);
    set_text(&row->cell[PF_TASK_NAME], buf);
    snprintf(buf, sizeof buf, "Task number %d ✓", i);
    set_text(&row->cell[PF_TASK_DESCRIPTION], buf);
    double runtime = i % 3 != 1 ? 0.25 * i : i + 0.1;
    if (strcmp(kind, "legacy") == 0)
        runtime = (double)(float)runtime; /* the original wrote a float */
    else if (strcmp(kind, "reordered") == 0)
        runtime = i; /* a long there */
    set_real(&row->cell[PF_TASK_RUNTIME], runtime);
    int64_t started = 1700000000000000 + (int64_t)i * 1000000;
    if (i % 4 == 3) {
        set_null(&row->cell[PF_STARTED_AT]);
        set_null(&row->cell[PF_ENDED_AT]);
    } else {
        set_int(&row->cell[PF_STARTED_AT], started);
        set_int(&row->cell[PF_ENDED_AT], started + i * 1000);
    }
    set_text(&row->cell[PF_STATUS], statuses[i % 3]);
    set_int(&row->cell[PF_ATTEMPTS], i % 3 + 1);
    if (i % 5 == 0)
        set_null(&row->cell[PF_WORKER]);
    else
        set_int(&row->cell[PF_WORKER], i % 2);
    if (i % 3 == 0) {
        set_null(&row->cell[PF_ERROR]);
    } else {
        snprintf(buf, sizeof buf, "boom %d", i);
        set_text(&row->cell[PF_ERROR], buf);
    }
    /* What a file without the later fields reads as: their defaults,
     * and the task its task_name. */
    set_text(&row->cell[PF_HOST], "");
    snprintf(buf, sizeof buf, "task %d", i);
    set_text(&row->cell[PF_TASK], buf);
    set_null(&row->cell[PF_INSTANCE]);
    if (strcmp(kind, "legacy") == 0) {
        set_null(&row->cell[PF_STARTED_AT]);
        set_null(&row->cell[PF_ENDED_AT]);
        set_text(&row->cell[PF_STATUS], "ok");
    }
    if (strcmp(kind, "legacy") == 0 || strcmp(kind, "partial") == 0) {
        set_int(&row->cell[PF_ATTEMPTS], 1);
        set_null(&row->cell[PF_WORKER]);
        set_null(&row->cell[PF_ERROR]);
    }
}

/* Write a file of `kind` with `count` records through Python. */
static void python_writes(const char *kind, const char *path, int count)
{
    int rc = test_system("%s %s %s '%s' %d", TEST_PYTHON,
                         test_source_path("tests/support/write_legacy.py"),
                         kind, path, count);
    if (rc != 0)
        FAIL("write_legacy.py %s failed (%d)", kind, rc);
}

/* The rows of res are exactly the records write_legacy.py wrote. */
static void check_python_rows(const result *res, const char *kind, int count)
{
    CHECK_INT_EQ(res->n, count);
    for (int i = 0; i < count; i++) {
        result want = {0};
        row_copy row;
        expect_python(i, kind, &row);
        want.rows = &row;
        want.n = 1;
        result got = *res;
        got.rows = &res->rows[i];
        got.n = 1;
        char what[64];
        snprintf(what, sizeof what, "%s record %d", kind, i);
        check_same_rows(&got, &want, 1, ALL, what);
        row_free(&row);
    }
}

/* Record i of the files libdaglib's writer and avro-c's writer make here. */
static profile_record sample(int i, char *name, size_t size)
{
    snprintf(name, size, "step %d", i);
    static const char *const errors[] = {NULL, "failed: ✗", "no"};
    profile_record r = {
        .task_name = name,
        .task_name_len = strlen(name),
        .task_description = i % 7 == 0 ? "" : "A step",
        .runtime = i / 1024.0,
        .started_at_us = i % 4 == 3 ? PROFILE_NO_TIME : 1600000000000000 + i,
        .ended_at_us = i % 4 == 3 ? PROFILE_NO_TIME : 1600000000000000 + 2 * i,
        .status = (profile_status)(i % 3),
        .attempts = i % 6,
        .worker = i % 5 == 0 ? PROFILE_NO_WORKER : i % 3,
        .error = errors[i % 3],
    };
    return r;
}

/* The host name libdaglib's writer records on this machine. */
static const char *this_host(void)
{
    static char host[256];
    if (host[0] == '\0' && gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    return host;
}

/* res holds exactly samples 0..count-1 of DAG dag with run id run_id,
 * written on host (avro-c's writer leaves it at its default, ""). */
static void check_sample_rows(const result *res, const char *dag,
                              const char *run_id, const char *host, int count)
{
    CHECK_INT_EQ(res->n, count);
    for (int i = 0; i < count; i++) {
        char name[32];
        profile_record s = sample(i, name, sizeof name);
        row_copy row;
        memset(&row, 0, sizeof row);
        set_text(&row.cell[PF_DAG_NAME], dag);
        set_text(&row.cell[PF_DAG_DESCRIPTION], "Sample DAG");
        set_text(&row.cell[PF_RUN_ID], run_id);
        set_text(&row.cell[PF_TASK_NAME], name);
        set_text(&row.cell[PF_TASK_DESCRIPTION], s.task_description);
        set_real(&row.cell[PF_TASK_RUNTIME], s.runtime);
        if (s.started_at_us == PROFILE_NO_TIME) {
            set_null(&row.cell[PF_STARTED_AT]);
            set_null(&row.cell[PF_ENDED_AT]);
        } else {
            set_int(&row.cell[PF_STARTED_AT], s.started_at_us);
            set_int(&row.cell[PF_ENDED_AT], s.ended_at_us);
        }
        set_text(&row.cell[PF_STATUS], statuses[s.status]);
        set_int(&row.cell[PF_ATTEMPTS], s.attempts);
        if (s.worker == PROFILE_NO_WORKER)
            set_null(&row.cell[PF_WORKER]);
        else
            set_int(&row.cell[PF_WORKER], s.worker);
        if (s.error == NULL)
            set_null(&row.cell[PF_ERROR]);
        else
            set_text(&row.cell[PF_ERROR], s.error);
        set_text(&row.cell[PF_HOST], host);
        set_text(&row.cell[PF_TASK], name); /* not mapped: its own name */
        set_null(&row.cell[PF_INSTANCE]);
        result want = {.rows = &row, .n = 1};
        result got = *res;
        got.rows = &res->rows[i];
        got.n = 1;
        char what[64];
        snprintf(what, sizeof what, "sample %d", i);
        check_same_rows(&got, &want, 1, ALL, what);
        row_free(&row);
    }
}

/* ---- writing files ------------------------------------------------------------- */

typedef struct written {
    char path[256];
    char run_id[META_RUN_ID_SIZE];
    int records;
    int blocks;
    long block_end[64]; /* file size after each block */
} written;

/* count samples through libdaglib's writer, a block every per_block
 * records (the last block takes the rest). */
static void daglib_writes(const char *dag, const char *codec, int count,
                          int per_block, written *w)
{
    memset(w, 0, sizeof *w);
    profile_file *f = NULL;
    error_state err = ERROR_STATE_INIT;
    CHECK_OK(profile_file_create("meta", dag, "Sample DAG", codec, &f, &err));
    for (int i = 0; i < count; i++) {
        char name[32];
        profile_record r = sample(i, name, sizeof name);
        CHECK_OK(profile_file_append(f, &r, &err));
        if ((i + 1) % per_block == 0 || i + 1 == count) {
            CHECK_OK(profile_file_flush(f, &err));
            struct stat st;
            CHECK(stat(profile_file_path(f), &st) == 0);
            if (w->blocks < 64)
                w->block_end[w->blocks] = (long)st.st_size;
            w->blocks++;
        }
    }
    snprintf(w->path, sizeof w->path, "%s", profile_file_path(f));
    snprintf(w->run_id, sizeof w->run_id, "%s", profile_file_run_id(f));
    w->records = count;
    CHECK_OK(profile_file_close(f, &err));
}

/* count samples through avro-c's own writer with the given codec, its
 * blocks as avro-c cuts them. */
static void avroc_writes(const char *path, const char *codec, int count)
{
    avro_schema_t schema;
    CHECK(avro_schema_from_json_length(profile_schema_json(),
                                       strlen(profile_schema_json()),
                                       &schema) == 0);
    avro_file_writer_t writer;
    unlink(path);
    if (avro_file_writer_create_with_codec(path, schema, &writer, codec, 0) !=
        0)
        FAIL("avro-c cannot write a %s file", codec);
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    avro_value_t rec, field, branch;
    CHECK(avro_generic_value_new(iface, &rec) == 0);
    for (int i = 0; i < count; i++) {
        char name[32];
        profile_record s = sample(i, name, sizeof name);
        avro_value_get_by_name(&rec, "dag_name", &field, NULL);
        avro_value_set_string(&field, "avroc");
        avro_value_get_by_name(&rec, "dag_description", &field, NULL);
        avro_value_set_string(&field, "Sample DAG");
        avro_value_get_by_name(&rec, "run_id", &field, NULL);
        avro_value_set_string(&field, "run_00000c0de");
        avro_value_get_by_name(&rec, "task_name", &field, NULL);
        avro_value_set_string(&field, name);
        avro_value_get_by_name(&rec, "task_description", &field, NULL);
        avro_value_set_string(&field, s.task_description);
        avro_value_get_by_name(&rec, "task_runtime", &field, NULL);
        avro_value_set_double(&field, s.runtime);
        int has_time = s.started_at_us != PROFILE_NO_TIME;
        avro_value_get_by_name(&rec, "started_at", &field, NULL);
        avro_value_set_branch(&field, has_time, &branch);
        if (has_time)
            avro_value_set_long(&branch, s.started_at_us);
        else
            avro_value_set_null(&branch);
        avro_value_get_by_name(&rec, "ended_at", &field, NULL);
        avro_value_set_branch(&field, has_time, &branch);
        if (has_time)
            avro_value_set_long(&branch, s.ended_at_us);
        else
            avro_value_set_null(&branch);
        avro_value_get_by_name(&rec, "status", &field, NULL);
        avro_value_set_enum(&field, (int)s.status);
        avro_value_get_by_name(&rec, "attempts", &field, NULL);
        avro_value_set_int(&field, s.attempts);
        avro_value_get_by_name(&rec, "worker", &field, NULL);
        avro_value_set_branch(&field, s.worker != PROFILE_NO_WORKER, &branch);
        if (s.worker != PROFILE_NO_WORKER)
            avro_value_set_int(&branch, s.worker);
        else
            avro_value_set_null(&branch);
        avro_value_get_by_name(&rec, "error", &field, NULL);
        avro_value_set_branch(&field, s.error != NULL, &branch);
        if (s.error != NULL)
            avro_value_set_string(&branch, s.error);
        else
            avro_value_set_null(&branch);
        avro_value_get_by_name(&rec, "task", &field, NULL);
        avro_value_set_string(&field, name);
        avro_value_get_by_name(&rec, "instance", &field, NULL);
        avro_value_set_branch(&field, 0, &branch);
        avro_value_set_null(&branch);
        CHECK(avro_file_writer_append_value(writer, &rec) == 0);
    }
    CHECK(avro_file_writer_close(writer) == 0);
    avro_value_decref(&rec);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
}

/* Blocks of path and the records in each, through the container layer. */
static int count_blocks(const char *path, long *records)
{
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    avro_container c;
    CHECK(avro_container_open(&c, fd) == 0);
    avro_block block;
    int blocks = 0, rc;
    *records = 0;
    while ((rc = avro_container_next_block(&c, &block)) == 1) {
        blocks++;
        *records += block.count;
    }
    CHECK_INT_EQ(rc, 0);
    avro_container_close(&c);
    return blocks;
}

/* ---- crafting files byte by byte ---------------------------------------------- */

/* One record of the full schema; what a test damages is passed in. */
typedef struct craft {
    int64_t name_len; /* task_name's length prefix; -1: the true length */
    int64_t started_branch; /* union index of started_at */
    int64_t status;         /* enum index */
    int64_t attempts;       /* an Avro int: 5 bytes of varint at most */
    int fields;             /* how many of the table's fields; 0: all */
    int padded_branch; /* started_at's branch 1 in two bytes (0x82 0x00):
                          valid Avro, though no writer spells it so */
    size_t long_name;  /* a task_name of this many bytes, not "t<i>" */
} craft;

#define GOOD_CRAFT ((craft){-1, 1, 0, 1, 0, 0, 0})

static void put_record(bytes *b, int i, craft c)
{
    char short_name[32], *name = short_name;
    snprintf(short_name, sizeof short_name, "t%d", i);
    if (c.long_name > 0) {
        name = malloc(c.long_name + 1);
        CHECK(name != NULL);
        memset(name, 'n', c.long_name);
        name[c.long_name] = '\0';
    }
    put_str(b, "crafted");
    put_str(b, "");
    put_str(b, "run_000000000");
    if (c.name_len < 0) {
        put_str(b, name);
    } else {
        put_long(b, c.name_len);
        put(b, name, strlen(name));
    }
    if (name != short_name)
        free(name);
    put_str(b, "");
    put_double(b, i);
    if (c.padded_branch)
        put(b, "\x82\x00", 2);
    else
        put_long(b, c.started_branch);
    if (c.started_branch == 1)
        put_long(b, 1000 + i);
    put_long(b, 0);         /* ended_at: null */
    put_long(b, c.status);  /* status */
    put_long(b, c.attempts);
    put_long(b, 0);         /* worker: null */
    put_long(b, 0);         /* error: null */
    /* The fields after error, as the field table has them. */
    for (int f = PF_ERROR + 1; f < (c.fields > 0 ? c.fields : PF_COUNT); f++) {
        switch ((profile_wire)profile_field_wires[f]) {
        case PROFILE_WIRE_STRING:
            put_str(b, "");
            break;
        case PROFILE_WIRE_DOUBLE:
            put_double(b, 0);
            break;
        case PROFILE_WIRE_INT:
        case PROFILE_WIRE_ENUM:
            put_long(b, 0);
            break;
        default: /* a null branch */
            put_long(b, 0);
            break;
        }
    }
}

static void put_block(bytes *b, int64_t count, const bytes *data)
{
    put_long(b, count);
    put_long(b, (int64_t)data->n);
    put(b, data->p, data->n);
    put(b, crafted_sync, 16);
}

/* The full schema with one more field, "x_count": an int, last. */
static const char *schema_with_extra_int(void)
{
    static char json[4096];
    size_t n = strlen(profile_schema_json());
    CHECK(n + 64 < sizeof json);
    memcpy(json, profile_schema_json(), n - 2); /* all but the closing "]}" */
    strcpy(json + n - 2, ",{\"name\":\"x_count\",\"type\":\"int\"}]}");
    return json;
}

/* A file: the header and a good block of two records, then `tail`; with
 * extra_int, the schema has x_count after the twelve fields (7 in the
 * good records). */
static void craft_file_of(const char *path, int extra_int, const bytes *tail)
{
    bytes file = {0}, good = {0};
    put_header(&file, extra_int ? schema_with_extra_int() : profile_schema_json(),
               "null");
    for (int i = 0; i < 2; i++) {
        put_record(&good, i, GOOD_CRAFT);
        if (extra_int)
            put_long(&good, 7);
    }
    put_block(&file, 2, &good);
    if (tail != NULL)
        put(&file, tail->p, tail->n);
    write_crafted(path, &file);
    free(good.p);
}

static void craft_file(const char *path, const bytes *tail)
{
    craft_file_of(path, 0, tail);
}

/* ---- libdaglib's files ------------------------------------------------------------ */

TEST(profile_reader_files_from_before_a_field_take_the_fast_path)
{
    /* A file written before the table's last field (host) was added: the
     * schema and records of the first PF_FIRST_DAGLIB_COUNT fields.  The
     * block decoder still reads it (no fall back to avro-c, no general
     * path), and the missing field reads as its default. */
    const char *full = profile_schema_json();
    const char *host = strstr(full, ",{\"name\":\"host\"");
    CHECK(host != NULL);
    CHECK_INT_EQ(PF_HOST, PF_FIRST_DAGLIB_COUNT); /* the first one added */
    char old[4096];
    CHECK((size_t)(host - full) + 3 < sizeof old);
    memcpy(old, full, (size_t)(host - full));
    strcpy(old + (host - full), "]}");

    record_plan plan;
    char *why = NULL;
    CHECK(record_plan_compile(&plan, old, strlen(old), &why) == 0);
    CHECK_INT_EQ(plan.layout, LAYOUT_DAGLIB);
    CHECK(plan.missing_mask ==
          (PROFILE_ALL_FIELDS & ~(PROFILE_FIELD_BIT(PF_FIRST_DAGLIB_COUNT) - 1)));
    record_plan_free(&plan);

    bytes file = {0}, data = {0};
    put_header(&file, old, "null");
    craft twelve = GOOD_CRAFT;
    twelve.fields = PF_FIRST_DAGLIB_COUNT;
    for (int i = 0; i < 3; i++)
        put_record(&data, i, twelve);
    put_block(&file, 3, &data);
    write_crafted("before_host.avro", &file);
    free(data.p);
    result res;
    read_all("before_host.avro", PROFILE_ENGINE_AUTO, ALL, &res);
    CHECK(res.opened && res.clean);
    CHECK_STR_EQ(res.engine, "block");
    CHECK_INT_EQ(res.n, 3);
    for (size_t r = 0; r < res.n; r++) {
        CHECK_INT_EQ(res.rows[r].cell[PF_HOST].kind, CELL_TEXT);
        CHECK_STR_EQ(res.rows[r].cell[PF_HOST].text, "");
        CHECK_INT_EQ(res.rows[r].cell[PF_TASK_RUNTIME].kind, CELL_REAL);
    }
    result_free(&res);
}

TEST(profile_reader_engines_agree_on_libdaglib_files)
{
    static const char *const codecs[] = {"null", "deflate"};
    for (int k = 0; k < 2; k++) {
        written w;
        daglib_writes("samples", codecs[k], 12345, 1000, &w);
        CHECK_INT_EQ(w.blocks, 13);
        result rows;
        CHECK_INT_EQ(both_engines_agree(w.path, &rows), 12345);
        CHECK_STR_EQ(rows.engine, "block");
        check_sample_rows(&rows, "samples", w.run_id, this_host(), 12345);
        result_free(&rows);
    }
}

TEST(profile_reader_engines_agree_on_blocks_of_every_size)
{
    /* Blocks of one record, of a few, and one large one. */
    static const int sizes[] = {1, 2, 3, 17, 4096};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        written w;
        daglib_writes("sizes", k % 2 ? "deflate" : "null", 4100, sizes[k], &w);
        long records;
        CHECK_INT_EQ(count_blocks(w.path, &records), (4100 + sizes[k] - 1) / sizes[k]);
        CHECK_INT_EQ(records, 4100);
        result rows;
        CHECK_INT_EQ(both_engines_agree(w.path, &rows), 4100);
        check_sample_rows(&rows, "sizes", w.run_id, this_host(), 4100);
        result_free(&rows);
        unlink(w.path);
    }
}

TEST(profile_reader_reads_avro_c_files_of_every_codec_with_the_block_decoder)
{
    /* A third writer: avro-c's own, with its own block sizes, and the
     * codec Java and Python writers often use, snappy. */
    static const struct {
        const char *codec, *engine;
    } cases[] = {{"null", "block"}, {"deflate", "block"}, {"snappy", "block"}};
    for (int k = 0; k < 3; k++) {
        avroc_writes("avroc.avro", cases[k].codec, 3000);
        result rows;
        CHECK_INT_EQ(both_engines_agree("avroc.avro", &rows), 3000);
        /* What AUTO chose: the block decoder, for every codec here. */
        CHECK_STR_EQ(rows.engine, cases[k].engine);
        check_sample_rows(&rows, "avroc", "run_00000c0de", "", 3000);
        result_free(&rows);
    }
}

/* Where the blocks of path start and how many records each holds,
 * through the container layer. */
static int block_offsets(const char *path, long *offsets, long *counts,
                         int max)
{
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    avro_container c;
    CHECK(avro_container_open(&c, fd) == 0);
    avro_block block;
    int n = 0;
    while (n < max && avro_container_next_block(&c, &block) == 1) {
        offsets[n] = (long)block.offset;
        counts[n++] = (long)block.count;
    }
    avro_container_close(&c);
    return n;
}

TEST(profile_reader_checks_snappy_blocks_before_avro_c)
{
    /* avro-c allocates a snappy block's claimed length and leaks the whole
     * reader when the first block does not decompress: the blocks are
     * decompressed and their CRC checked before avro-c sees them. */
    avroc_writes("snappy.avro", "snappy", 3000);
    long offsets[64], counts[64];
    int blocks = block_offsets("snappy.avro", offsets, counts, 64);
    CHECK(blocks >= 3);
    size_t len;
    unsigned char *data = (unsigned char *)test_read_file("snappy.avro", &len);
    CHECK(data != NULL);
    for (int k = 0; k < 2; k++) {
        int damaged = k == 0 ? 0 : blocks - 1;
        long before = 0;
        for (int b = 0; b < damaged; b++)
            before += counts[b];
        /* A byte in the middle of the block's compressed data. */
        long at = offsets[damaged] + 40;
        data[at] ^= 0x5a;
        test_write_file("damaged.avro", data, len);
        data[at] ^= 0x5a;
        for (int e = 0; e < 2; e++) {
            result res;
            read_all("damaged.avro",
                     e == 0 ? PROFILE_ENGINE_AUTO : PROFILE_ENGINE_AVRO_C, ALL,
                     &res);
            if (!res.opened)
                FAIL("damaged block %d: not opened: %s", damaged, res.error);
            CHECK_STR_EQ(res.engine, e == 0 ? "block" : "avro-c");
            CHECK(!res.clean);
            CHECK_CONTAINS(res.error, "the snappy block at offset");
            CHECK_INT_EQ(res.n, before);
            result_free(&res);
        }
    }
    free(data);
}

/* ---- Python's files ---------------------------------------------------------------- */

TEST(profile_reader_reads_the_python_originals_files)
{
    /* The original appended one record per open of the file: a block per
     * record, a float runtime, six fields. */
    python_writes("legacy", "legacy.avro", 25);
    long records;
    CHECK_INT_EQ(count_blocks("legacy.avro", &records), 25);
    CHECK_INT_EQ(records, 25);
    result rows;
    CHECK_INT_EQ(both_engines_agree("legacy.avro", &rows), 25);
    CHECK_STR_EQ(rows.engine, "block");
    check_python_rows(&rows, "legacy", 25);
    /* 1.1 went through a float: not the double 1.1. */
    CHECK(rows.rows[1].cell[PF_TASK_RUNTIME].d == (double)1.1f);
    CHECK(rows.rows[1].cell[PF_TASK_RUNTIME].d != 1.1);
    result_free(&rows);
}

TEST(profile_reader_gives_defaults_for_fields_a_file_lacks)
{
    /* A writer older than attempts, worker and error: status is there,
     * attempts reads as 1, worker and error as NULL. */
    python_writes("partial", "partial.avro", 12);
    result rows;
    CHECK_INT_EQ(both_engines_agree("partial.avro", &rows), 12);
    check_python_rows(&rows, "partial", 12);
    CHECK_STR_EQ(rows.rows[1].cell[PF_STATUS].text, "failed");
    CHECK_INT_EQ(rows.rows[1].cell[PF_ATTEMPTS].i, 1);
    CHECK_INT_EQ(rows.rows[1].cell[PF_WORKER].kind, CELL_NULL);
    result_free(&rows);
}

TEST(profile_reader_skips_unknown_fields_of_every_type)
{
    python_writes("extra", "extra.avro", 30);
    result rows;
    CHECK_INT_EQ(both_engines_agree("extra.avro", &rows), 30);
    CHECK_STR_EQ(rows.engine, "block"); /* no fallback for scalars */
    check_python_rows(&rows, "extra", 30);
    result_free(&rows);
}

TEST(profile_reader_matches_fields_by_name_not_position)
{
    python_writes("reordered", "reordered.avro", 12);
    result rows;
    CHECK_INT_EQ(both_engines_agree("reordered.avro", &rows), 12);
    CHECK_STR_EQ(rows.engine, "block");
    check_python_rows(&rows, "reordered", 12);
    result_free(&rows);
}

TEST(profile_reader_falls_back_to_avro_c_for_nested_fields)
{
    static const char *const kinds[] = {"nested", "array"};
    for (int k = 0; k < 2; k++) {
        char path[64];
        snprintf(path, sizeof path, "%s.avro", kinds[k]);
        python_writes(kinds[k], path, 12);
        result rows;
        CHECK_INT_EQ(both_engines_agree(path, &rows), 12);
        CHECK_STR_EQ(rows.engine, "avro-c");
        check_python_rows(&rows, kinds[k], 12);
        result_free(&rows);
    }
}

TEST(profile_reader_reads_python_deflate_files)
{
    python_writes("deflate", "deflate.avro", 1234);
    long records;
    CHECK_INT_EQ(count_blocks("deflate.avro", &records), 3);
    result rows;
    CHECK_INT_EQ(both_engines_agree("deflate.avro", &rows), 1234);
    CHECK_STR_EQ(rows.engine, "block");
    check_python_rows(&rows, "deflate", 1234);
    result_free(&rows);
}

/* ---- files that are not profiles ---------------------------------------------------- */

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    CHECK(d != NULL);
    int n = 0;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

/* Both engines refuse path at open with a message containing `because`. */
static void check_refused(const char *path, const char *because)
{
    for (int e = 0; e < 2; e++) {
        result res;
        read_all(path, e == 0 ? PROFILE_ENGINE_AUTO : PROFILE_ENGINE_AVRO_C,
                 ALL, &res);
        if (res.opened)
            FAIL("%s opened (%zu rows)", path, res.n);
        CHECK_CONTAINS(res.error, because);
        result_free(&res);
    }
}

TEST(profile_reader_refuses_files_that_are_not_profiles)
{
    int fds = open_fds();
    test_write_file("empty.avro", "", 0);
    check_refused("empty.avro", "empty file");
    unsigned char noise[4096];
    unsigned seed = 12345;
    for (size_t i = 0; i < sizeof noise; i++) {
        seed = seed * 1103515245u + 12345u;
        noise[i] = (unsigned char)(seed >> 16);
    }
    test_write_file("noise.avro", noise, sizeof noise);
    check_refused("noise.avro", "not an Avro container");
    python_writes("other", "other.avro", 3);
    check_refused("other.avro", "not a daglib profile: no field 'task_runtime'");
    python_writes("unusable", "unusable.avro", 3);
    check_refused("unusable.avro",
                  "not a daglib profile: field 'task_runtime' has an "
                  "unusable type");
    python_writes("scalar", "scalar.avro", 3);
    check_refused("scalar.avro", "not a daglib profile: the schema is a string");
    bytes b = {0};
    put_header(&b, "{\"type\": \"record\", \"fields\": [", "null");
    write_crafted("badjson.avro", &b);
    check_refused("badjson.avro", "not valid Avro schema JSON");
    check_refused("missing.avro", "cannot open");
    CHECK(mkdir("dir.avro", 0700) == 0);
    check_refused("dir.avro", "not a regular file");
    /* A header cut inside its schema, and one without a schema. */
    b = (bytes){0};
    put_header(&b, profile_schema_json(), "null");
    b.n = 100; /* the header cut short */
    write_crafted("cut_header.avro", &b);
    check_refused("cut_header.avro", "cut short");
    b = (bytes){0};
    put(&b, "Obj\x01", 4);
    put_long(&b, 1);
    put_str(&b, "avro.codec");
    put_str(&b, "null");
    put_long(&b, 0);
    put(&b, crafted_sync, 16);
    write_crafted("no_schema.avro", &b);
    check_refused("no_schema.avro", "no avro.schema");
    /* A codec nobody here decodes. */
    b = (bytes){0};
    put_header(&b, profile_schema_json(), "zstandard");
    write_crafted("zstd.avro", &b);
    check_refused("zstd.avro", "codec 'zstandard' is not one avro-c reads");
    /* Every refusal closed what it opened. */
    CHECK_INT_EQ(open_fds(), fds);
}

/* Whether avro-c refuses the schema.  Asked in a child that ends with
 * _exit(): avro-c 1.11 leaks what it built when it refuses some schemas
 * (a type defined twice, a name used before its definition). */
static int avroc_refuses(const char *json)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        avro_schema_t s = NULL;
        char verdict =
            avro_schema_from_json_length(json, strlen(json), &s) != 0 ? 'n' : 'y';
        _exit(write(fds[1], &verdict, 1) == 1 ? 0 : 1);
    }
    close(fds[1]);
    char verdict = '?';
    CHECK(read(fds[0], &verdict, 1) == 1);
    close(fds[0]);
    CHECK(waitpid(pid, NULL, 0) == pid);
    return verdict == 'n';
}

/* Whether record_plan_compile() finds the schema invalid, and why. */
static int plan_refuses(const char *json, char **why)
{
    record_plan plan;
    int rc = record_plan_compile(&plan, json, strlen(json), why);
    if (rc >= 0)
        record_plan_free(&plan);
    CHECK(rc != RECORD_PLAN_NOMEM);
    return rc < 0 && *why != NULL &&
           strstr(*why, "not valid Avro schema JSON") != NULL;
}

TEST(profile_reader_checks_schemas_as_avro_c_does_without_calling_it)
{
    /* The scan reads the header's schema itself (avro-c's parser crashes
     * when its own allocation fails): what it finds invalid, avro-c
     * refuses too, and what it accepts, avro-c accepts. */
#define R "{\"type\":\"record\",\"name\":\"r\",\"fields\":["
    static const char *const schemas[] = {
        R "{\"name\":\"a\",\"type\":\"strng\"}]}", /* an unknown type */
        R "{\"name\":\"a\",\"type\":{\"type\":\"enum\",\"name\":\"e\","
          "\"symbols\":[\"x\"]}},{\"name\":\"b\",\"type\":{\"type\":\"enum\","
          "\"name\":\"e\",\"symbols\":[\"y\"]}}]}", /* defined twice */
        "{\"type\":\"record\",\"name\":\"1r\",\"fields\":[]}",
        R "{\"name\":\"a\",\"type\":{\"type\":\"enum\",\"name\":\"e\","
          "\"symbols\":[\"ok-ish\"]}}]}",
        R "{\"name\":\"a\",\"type\":{\"type\":\"fixed\",\"name\":\"f\"}}]}",
        R "{\"name\":\"a\",\"type\":{\"type\":{\"type\":\"string\"}}}]}",
        R "{\"name\":\"a\",\"type\":[\"null\",[\"int\"]]}]}",
        R "]} x",
        R "{\"name\":\"a-b\",\"type\":\"int\"}]}",
        "{\"type\":\"record\",\"name\":\"r\",\"namespace\":\"n.s\",\"fields\":["
        "{\"name\":\"a\",\"type\":{\"type\":\"enum\",\"name\":\"e\","
        "\"symbols\":[\"x\"]}},{\"name\":\"b\",\"type\":\"e\"},"
        "{\"name\":\"c\",\"type\":\"n.s.e\"},{\"name\":\"d\",\"type\":"
        "[\"null\",\"e\"]}]}", /* references, with and without namespace */
        R "{\"name\":\"d\\u0061g\",\"type\":\"int\"}]}",
        R "{\"name\":\"a\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"}},"
          "{\"name\":\"b\",\"type\":{\"type\":\"array\",\"items\":\"long\"}}]}",
        R "{\"name\":\"a\",\"type\":{\"type\":\"record\",\"name\":\"in\","
          "\"fields\":[{\"name\":\"x\",\"type\":[\"null\",\"r\"]}]}}]}",
        R "{\"name\":\"a\"}]}",
        R "{\"name\":\"a\",\"type\":\"e\"},{\"name\":\"b\",\"type\":"
          "{\"type\":\"enum\",\"name\":\"e\",\"symbols\":[\"x\"]}}]}",
        R "{\"name\":\"a\",\"type\":\"map\"}]}",
        R "{\"name\":\"a\\x\",\"type\":\"int\"}]}",  /* a bad escape */
        R "{\"name\":\"\\ud800\",\"type\":\"int\"}]}", /* a lone surrogate */
        R "{\"name\":\"\xff\",\"type\":\"int\"}]}",  /* not UTF-8 */
        R "{\"name\":\"a\",\"type\":\"int\"},]}",
        R "{\"name\":\"a\",\"type\":\"int\",\"default\":-1.5e3}]}",
        /* numbers beyond a double, which jansson cannot keep */
        R "{\"name\":\"a\",\"type\":\"double\",\"default\":1e999}]}",
        R "{\"name\":\"a\",\"type\":\"double\",\"default\":-2E+400}]}",
        R "{\"name\":\"a\",\"type\":\"long\",\"default\":"
          "99999999999999999999999999999999999999999999999999999999999999"
          "9999999999999999999999999999999999999999999999999999999999999999"
          "9999999999999999999999999999999999999999999999999999999999999999"
          "9999999999999999999999999999999999999999999999999999999999999999"
          "9999999999999999999999999999999999999999999999999999999999999999"
          "99999999999999999999999999999999999999999}]}",
        R "{\"name\":\"a\",\"type\":\"double\",\"default\":1e308}]}",
        /* an integer beyond a long long, and one just inside */
        R "{\"name\":\"a\",\"type\":\"long\",\"default\":99999999999999999999}]}",
        R "{\"name\":\"a\",\"type\":\"long\",\"default\":-9223372036854775808}]}",
        "[\"null\",\"string\"]",
        "",
    };
#undef R
    for (size_t i = 0; i < sizeof schemas / sizeof *schemas; i++) {
        int avroc_says_no = avroc_refuses(schemas[i]);
        char *why = NULL;
        int refused = plan_refuses(schemas[i], &why);
        if (refused != avroc_says_no)
            FAIL("schema %zu: avro-c %s it, the plan %s it (%s): %s", i,
                 avroc_says_no ? "refuses" : "accepts",
                 refused ? "refuses" : "accepts", why ? why : "no message",
                 schemas[i]);
        free(why);
    }
}

TEST(profile_reader_plans_enums_named_once_and_referred_to)
{
    /* The twelve fields, then the status enum again by its short name and
     * by its full name: both decode as that enum. */
    static char json[4096];
    size_t n = strlen(profile_schema_json());
    CHECK(n + 128 < sizeof json);
    memcpy(json, profile_schema_json(), n - 2);
    snprintf(json + n - 2, sizeof json - (n - 2), "%s",
             ",{\"name\":\"x_status\",\"type\":\"task_status\"},"
             "{\"name\":\"x_again\",\"type\":[\"null\",\"" PROFILE_RECORD_NAMESPACE
             ".task_status\"]}]}");
    record_plan plan;
    char *why = NULL;
    CHECK_INT_EQ(record_plan_compile(&plan, json, strlen(json), &why), 0);
    CHECK(why == NULL);
    CHECK_INT_EQ(plan.n_ops, PF_COUNT + 2);
    CHECK_INT_EQ(plan.missing_mask, 0);
    const field_op *x = &plan.ops[PF_COUNT];
    CHECK(!x->is_union && x->scalar.type == WIRE_ENUM);
    CHECK_INT_EQ(x->scalar.n_symbols, 3);
    CHECK_STR_EQ(x->scalar.symbols[2], "skipped");
    const field_op *again = &plan.ops[PF_COUNT + 1];
    CHECK(again->is_union && again->branches[1].type == WIRE_ENUM);
    record_plan_free(&plan);
}

TEST(profile_reader_never_blocks_on_a_fifo)
{
    /* Opening a FIFO for reading waits for a writer, forever: a file named
     * .avro in the tree must not hang a query. */
    CHECK(mkfifo("x.avro", 0600) == 0);
    alarm(10); /* a hang fails the test instead of stalling the suite */
    check_refused("x.avro", "not a regular file");
    alarm(0);
}

TEST(profile_reader_never_reads_through_a_symbolic_link)
{
    /* The tree walk passes links over; one swapped in after the walk saw a
     * file must not lead the reader out of the metadata root. */
    written w;
    daglib_writes("linked", "null", 3, 10, &w);
    CHECK(symlink(w.path, "link.avro") == 0);
    check_refused("link.avro", "cannot open");
    result rows;
    CHECK_INT_EQ(both_engines_agree(w.path, &rows), 3); /* the file itself */
    result_free(&rows);
}

/* ---- truncated, flipped and lying files ---------------------------------------------- */

/* Write the first `len` bytes of data to path. */
static void write_prefix(const char *path, const char *data, size_t len)
{
    test_write_file(path, data, len);
}

TEST(profile_reader_truncated_files_give_the_whole_blocks_before_the_cut)
{
    static const char *const codecs[] = {"null", "deflate"};
    for (int k = 0; k < 2; k++) {
        written w;
        daglib_writes("cut", codecs[k], 9, 3, &w); /* 3 blocks of 3 */
        result full;
        CHECK_INT_EQ(both_engines_agree(w.path, &full), 9);
        size_t len;
        char *data = test_read_file(w.path, &len);
        CHECK(data != NULL);
        CHECK_INT_EQ(len, w.block_end[2]);
        /* Where the header ends: the container layer's own count. */
        int fd = open(w.path, O_RDONLY);
        avro_container c;
        CHECK(avro_container_open(&c, fd) == 0);
        long header_len = (long)c.consumed;
        avro_container_close(&c);
        for (size_t cut = 0; cut < len; cut++) {
            write_prefix("cut.avro", data, cut);
            /* Records in the blocks wholly before the cut. */
            size_t whole = 0;
            int at_boundary = (long)cut == header_len;
            for (int b = 0; b < 3; b++) {
                if (w.block_end[b] <= (long)cut)
                    whole = 3 * (size_t)(b + 1);
                if (w.block_end[b] == (long)cut)
                    at_boundary = 1;
            }
            result fast, reference;
            read_all("cut.avro", PROFILE_ENGINE_AUTO, ALL, &fast);
            read_all("cut.avro", PROFILE_ENGINE_AVRO_C, ALL, &reference);
            if ((long)cut < header_len) {
                /* No header, no file: refused at open, with a reason. */
                CHECK(!fast.opened && !reference.opened);
                CHECK(fast.error != NULL && reference.error != NULL);
            } else {
                CHECK(fast.opened && reference.opened);
                if (at_boundary) {
                    /* A file cut between blocks is a shorter file. */
                    if (!fast.clean || !reference.clean)
                        FAIL("cut at block boundary %zu: %s / %s", cut,
                             fast.error ? fast.error : "-",
                             reference.error ? reference.error : "-");
                    CHECK_INT_EQ(fast.n, whole);
                    CHECK_INT_EQ(reference.n, whole);
                } else {
                    if (fast.clean || reference.clean)
                        FAIL("%s file cut at %zu of %zu read as complete",
                             codecs[k], cut, len);
                    /* Only whole blocks count: not one record of the
                     * block the cut is in, whatever the codec. */
                    CHECK_INT_EQ(fast.n, whole);
                    CHECK_INT_EQ(reference.n, whole);
                }
                /* What was read is what was written. */
                check_same_rows(&fast, &full, fast.n, ALL, "cut (block)");
                check_same_rows(&reference, &full, reference.n, ALL,
                                "cut (avro-c)");
                if (fast.n != reference.n)
                    FAIL("%s cut at %zu: block engine %zu rows, avro-c %zu",
                         codecs[k], cut, fast.n, reference.n);
            }
            result_free(&fast);
            result_free(&reference);
        }
        free(data);
        result_free(&full);
    }
}

/* Both engines read path as the 9 records of its three whole blocks,
 * then stop with an error: whatever follows never becomes rows. */
static void check_whole_blocks_only(const char *path, const char *what)
{
    for (int e = 0; e < 2; e++) {
        result res;
        read_all(path, e == 0 ? PROFILE_ENGINE_AUTO : PROFILE_ENGINE_AVRO_C,
                 ALL, &res);
        CHECK(res.opened);
        if (res.n != 9 || res.clean)
            FAIL("%s (%s engine): %zu rows, %s", what, e == 0 ? "block" : "avro-c",
                 res.n, res.clean ? "read as complete" : res.error);
        result_free(&res);
    }
}

/* data[0 .. len) followed by tail[0 .. tail_len), written to path. */
static void write_with_tail(const char *path, const char *data, size_t len,
                            const void *tail, size_t tail_len)
{
    char *all = malloc(len + tail_len + 1);
    CHECK(all != NULL);
    memcpy(all, data, len);
    if (tail_len > 0)
        memcpy(all + len, tail, tail_len);
    test_write_file(path, all, len + tail_len);
    free(all);
}

TEST(profile_reader_zero_filled_and_repeated_tails_give_no_rows)
{
    /* What a power loss can leave after the last whole block (zeros, or
     * a block header and zeros where its records should be), and what a
     * retried append can (part of the last block again).  None of it was
     * framed by the file's sync marker, so none of it is a row. */
    static const char *const codecs[] = {"null", "deflate"};
    static const size_t zeros[] = {1, 2, 16, 19, 95, 96, 4096, 100000};
    unsigned char *zero = calloc(1, 100000 + 64);
    CHECK(zero != NULL);
    for (int k = 0; k < 2; k++) {
        written w;
        daglib_writes("tail", codecs[k], 9, 3, &w); /* 3 blocks of 3 */
        size_t len;
        char *data = test_read_file(w.path, &len);
        CHECK(data != NULL);
        char what[128];
        for (size_t z = 0; z < sizeof zeros / sizeof zeros[0]; z++) {
            write_with_tail("zeros.avro", data, len, zero, zeros[z]);
            snprintf(what, sizeof what, "%s + %zu zero bytes", codecs[k], zeros[z]);
            check_whole_blocks_only("zeros.avro", what);
            /* A header claiming 5 records of 19 bytes, then zeros. */
            bytes tail = {0};
            put_long(&tail, 5);
            put_long(&tail, 95);
            put(&tail, zero, zeros[z]);
            write_with_tail("header_zeros.avro", data, len, tail.p, tail.n);
            snprintf(what, sizeof what, "%s + a block header and %zu zero bytes",
                     codecs[k], zeros[z]);
            check_whole_blocks_only("header_zeros.avro", what);
            free(tail.p);
        }
        /* The first half, and all but the last byte, of the last block
         * appended again. */
        size_t last = (size_t)w.block_end[1], last_len = len - last;
        size_t parts[] = {last_len / 2, last_len - 1};
        for (int i = 0; i < 2; i++) {
            write_with_tail("repeated.avro", data, len, data + last, parts[i]);
            snprintf(what, sizeof what, "%s + %zu bytes of the last block again",
                     codecs[k], parts[i]);
            check_whole_blocks_only("repeated.avro", what);
        }
        free(data);
    }
    free(zero);
}

TEST(profile_reader_flipped_bytes_never_crash)
{
    /* No checksum in the null codec: a flipped byte may read as another
     * value, or stop the reader, but never crash it or read out of
     * bounds (the ASan build checks), and both engines return the same
     * rows and stop at the same place. */
    written w;
    daglib_writes("flip", "null", 6, 2, &w);
    result full;
    both_engines_agree(w.path, &full);
    size_t len;
    unsigned char *data = (unsigned char *)test_read_file(w.path, &len);
    CHECK(data != NULL);
    static const unsigned char masks[] = {0x01, 0x80, 0xff};
    int stopped = 0, disagreed = 0;
    for (size_t m = 0; m < sizeof masks; m++) {
        for (size_t at = 0; at < len; at++) {
            data[at] ^= masks[m];
            test_write_file("flip.avro", data, len);
            data[at] ^= masks[m];
            result fast, reference;
            read_all("flip.avro", PROFILE_ENGINE_AUTO, ALL, &fast);
            read_all("flip.avro", PROFILE_ENGINE_AVRO_C, ALL, &reference);
            if (!fast.clean)
                stopped++;
            if (fast.opened != reference.opened ||
                fast.clean != reference.clean || fast.n != reference.n) {
                fprintf(stderr,
                        "    byte %zu ^ 0x%02x: block engine %zu rows (%s), "
                        "avro-c %zu rows (%s)\n",
                        at, masks[m], fast.n, fast.error ? fast.error : "clean",
                        reference.n,
                        reference.error ? reference.error : "clean");
                disagreed++;
            }
            size_t common = fast.n < reference.n ? fast.n : reference.n;
            check_same_rows(&fast, &reference, common, ALL, "flipped");
            CHECK(fast.n <= 6);
            result_free(&fast);
            result_free(&reference);
        }
    }
    /* The sync markers and framing catch most damage. */
    CHECK(stopped > (int)len);
    CHECK_INT_EQ(disagreed, 0);
    free(data);
    result_free(&full);
}

/* The block engine reads `rows` records of path (the two good ones, and
 * any whole record before the damage), then stops with a message
 * containing `because`; the avro-c engine returns the same rows and stops
 * there too. */
static void check_lie_caught(const char *path, size_t rows,
                             const char *because)
{
    result fast, reference;
    read_all(path, PROFILE_ENGINE_AUTO, ALL, &fast);
    CHECK(fast.opened);
    CHECK_STR_EQ(fast.engine, "block");
    CHECK(!fast.clean);
    CHECK_CONTAINS(fast.error, because);
    CHECK_INT_EQ(fast.n, rows);
    read_all(path, PROFILE_ENGINE_AVRO_C, ALL, &reference);
    CHECK(reference.opened);
    CHECK(!reference.clean);
    CHECK_CONTAINS(reference.error, because);
    CHECK_INT_EQ(reference.n, rows);
    check_same_rows(&fast, &reference, rows, ALL, because);
    result_free(&fast);
    result_free(&reference);
}

TEST(profile_reader_refuses_lying_counts_and_lengths)
{
    bytes tail = {0}, data = {0};

    /* A count of 2^40 records over one record's bytes. */
    put_record(&data, 2, GOOD_CRAFT);
    put_block(&tail, (int64_t)1 << 40, &data);
    craft_file("count.avro", &tail);
    check_lie_caught("count.avro", 2, "claims more records than its bytes");

    /* A string whose length runs past the block. */
    tail.n = data.n = 0;
    put_record(&data, 2, (craft){1000, 1, 0, 1, 0, 0, 0});
    put_block(&tail, 1, &data);
    craft_file("length.avro", &tail);
    check_lie_caught("length.avro", 2, "runs past the end of its block");

    /* A negative string length. */
    tail.n = data.n = 0;
    put_str(&data, "crafted");
    put_str(&data, "");
    put_str(&data, "run_000000000");
    put_long(&data, -5);
    put(&data, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 42);
    put_block(&tail, 1, &data);
    craft_file("negative.avro", &tail);
    check_lie_caught("negative.avro", 2, "negative length");

    /* A union index out of range (started_at has two branches). */
    tail.n = data.n = 0;
    put_record(&data, 2, (craft){-1, 7, 0, 1, 0, 0, 0});
    put_block(&tail, 1, &data);
    craft_file("union.avro", &tail);
    check_lie_caught("union.avro", 2, "union index is out of range");

    /* An enum index out of range (three statuses). */
    tail.n = data.n = 0;
    put_record(&data, 2, (craft){-1, 1, 3, 1, 0, 0, 0});
    put_block(&tail, 1, &data);
    craft_file("enum.avro", &tail);
    check_lie_caught("enum.avro", 2, "enum index is out of range");

    /* An int (attempts) of more than 5 bytes: avro-c refuses it, and so
     * must the decoder of daglib's layout. */
    tail.n = data.n = 0;
    put_record(&data, 2, (craft){-1, 1, 0, (int64_t)1 << 40, 0, 0, 0});
    put_block(&tail, 1, &data);
    craft_file("attempts.avro", &tail);
    check_lie_caught("attempts.avro", 2, "an int takes more than 5 bytes");
    /* The same in a field of a layout decoded step by step. */
    tail.n = data.n = 0;
    put_record(&data, 2, GOOD_CRAFT);
    put_long(&data, (int64_t)1 << 40);
    put_block(&tail, 1, &data);
    craft_file_of("x_count.avro", 1, &tail);
    check_lie_caught("x_count.avro", 2, "an int takes more than 5 bytes");

    /* A record that ends before its block does. */
    tail.n = data.n = 0;
    put_record(&data, 2, GOOD_CRAFT);
    put(&data, "junk", 4);
    put_block(&tail, 1, &data);
    craft_file("leftover.avro", &tail);
    check_lie_caught("leftover.avro", 3, "bytes are left after the block's last");

    /* A block that does not end with the file's sync marker. */
    tail.n = data.n = 0;
    put_record(&data, 2, GOOD_CRAFT);
    put_long(&tail, 1);
    put_long(&tail, (int64_t)data.n);
    put(&tail, data.p, data.n);
    put(&tail, "fedcba9876543210", 16);
    craft_file("sync.avro", &tail);
    check_lie_caught("sync.avro", 2, "sync marker");

    /* Negative counts and sizes, and a number of eleven bytes. */
    tail.n = 0;
    put_long(&tail, -1);
    put_long(&tail, 10);
    craft_file("negcount.avro", &tail);
    check_lie_caught("negcount.avro", 2, "claims -1 records");
    tail.n = 0;
    put_long(&tail, 1);
    put_long(&tail, -10);
    craft_file("negsize.avro", &tail);
    check_lie_caught("negsize.avro", 2, "in -10 bytes");
    tail.n = 0;
    put(&tail, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11);
    put_long(&tail, 10);
    craft_file("varint.avro", &tail);
    check_lie_caught("varint.avro", 2, "malformed number");
    free(tail.p);
    free(data.p);
}

/* In a child process that cannot map 32 MiB more than it has: both
 * engines read path's good records and stop with `because`.  A reader
 * that allocated what a lying size claims dies here or says "out of
 * memory". */
static void check_no_huge_allocation(const char *path, const char *because)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        unsigned long long vm = test_proc_status("VmSize") * 1024;
        if (vm > 0) {
            struct rlimit rl = {vm + (32ull << 20), vm + (32ull << 20)};
            CHECK(setrlimit(RLIMIT_AS, &rl) == 0);
        }
        for (int e = 0; e < 2; e++) {
            result res;
            read_all(path, e == 0 ? PROFILE_ENGINE_AUTO : PROFILE_ENGINE_AVRO_C,
                     ALL, &res);
            CHECK(res.opened);
            CHECK_INT_EQ(res.n, 2);
            CHECK_CONTAINS(res.error, because);
            CHECK(strstr(res.error, "out of memory") == NULL);
            result_free(&res);
        }
        exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        FAIL("reading %s with a lying size failed in a memory-bounded "
             "process (status 0x%x)",
             path, status);
}

TEST(profile_reader_lying_sizes_allocate_nothing_huge)
{
    bytes tail = {0};
    /* A block that claims just under the reader's limit in a small file. */
    put_long(&tail, 3);
    put_long(&tail, (int64_t)PROFILE_BLOCK_MAX_BYTES - 1);
    put(&tail, "short", 5);
    craft_file("huge_block.avro", &tail);
    check_no_huge_allocation("huge_block.avro", "cut short");
    /* Past the limit, or past anything a size could be. */
    tail.n = 0;
    put_long(&tail, 3);
    put_long(&tail, (int64_t)1 << 62);
    craft_file("absurd_block.avro", &tail);
    check_no_huge_allocation("absurd_block.avro", "claims 3 records in");
    /* A string claiming 2^40 bytes inside a small block. */
    bytes data = {0};
    tail.n = 0;
    put_str(&data, "crafted");
    put_long(&data, (int64_t)1 << 40);
    put(&data, "not that long, only enough for one record's count to pass"
               "................................................", 106);
    put_block(&tail, 1, &data);
    craft_file("huge_string.avro", &tail);
    check_no_huge_allocation("huge_string.avro", "runs past the end");
    free(data.p);
    free(tail.p);
}

TEST(profile_reader_sparse_tails_are_refused_without_reading_them)
{
    /* A 1 GiB hole after the good block, and a block header claiming
     * just under the reader's limit before a hole: the missing sync
     * marker is seen where it should be, before anything that size is
     * read or allocated (check_no_huge_allocation's child cannot map
     * 32 MiB more). */
    craft_file("sparse.avro", NULL);
    int fd = open("sparse.avro", O_WRONLY);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, (off_t)1 << 30) == 0);
    close(fd);
    check_no_huge_allocation("sparse.avro", "sync marker");

    bytes tail = {0};
    put_long(&tail, 5);
    put_long(&tail, (int64_t)PROFILE_BLOCK_MAX_BYTES - 1);
    craft_file("sparse_block.avro", &tail);
    fd = open("sparse_block.avro", O_WRONLY);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, (off_t)1 << 30) == 0);
    close(fd);
    check_no_huge_allocation("sparse_block.avro", "sync marker");
    free(tail.p);
}

TEST(profile_reader_skips_empty_blocks_that_stop_avro_c)
{
    /* avro-c 1.11 reads a block of zero records as the previous block's
     * bytes over again (daglib never writes one, other writers might).
     * The block engine reads on past it; the avro-c engine stops there and
     * says why, instead of repeating rows. */
    bytes tail = {0}, none = {0}, data = {0};
    put_block(&tail, 0, &none);
    put_record(&data, 2, GOOD_CRAFT);
    put_block(&tail, 1, &data);
    craft_file("empty_block.avro", &tail);
    result fast, reference;
    read_all("empty_block.avro", PROFILE_ENGINE_AUTO, ALL, &fast);
    read_all("empty_block.avro", PROFILE_ENGINE_AVRO_C, ALL, &reference);
    CHECK(fast.clean);
    CHECK_INT_EQ(fast.n, 3);
    CHECK_STR_EQ(fast.rows[2].cell[PF_TASK_NAME].text, "t2");
    CHECK_INT_EQ(reference.n, 2);
    CHECK(!reference.clean);
    CHECK_CONTAINS(reference.error, "a block of zero records");
    check_same_rows(&fast, &reference, reference.n, ALL, "empty block");
    result_free(&fast);
    result_free(&reference);

    /* At the very end, an empty block is only the end. */
    tail.n = 0;
    put_block(&tail, 0, &none);
    craft_file("empty_last.avro", &tail);
    CHECK_INT_EQ(both_engines_agree("empty_last.avro", NULL), 2);
    free(tail.p);
    free(data.p);
}

TEST(profile_reader_fields_of_unusable_types_read_as_absent)
{
    /* A status that is a long, attempts that are strings: no value fits
     * the column, so both engines read such a field as absent (its
     * default), and of two fields of one name (which Avro forbids, but
     * avro-c parses) the first that fits counts. */
    static const char schema[] =
        "{\"type\":\"record\",\"name\":\"tprofile\",\"fields\":["
        "{\"name\":\"dag_name\",\"type\":\"string\"},"
        "{\"name\":\"dag_description\",\"type\":\"string\"},"
        "{\"name\":\"run_id\",\"type\":\"string\"},"
        "{\"name\":\"task_name\",\"type\":\"string\"},"
        "{\"name\":\"task_description\",\"type\":\"string\"},"
        "{\"name\":\"task_runtime\",\"type\":\"double\"},"
        "{\"name\":\"status\",\"type\":\"long\"},"
        "{\"name\":\"attempts\",\"type\":\"string\"},"
        "{\"name\":\"worker\",\"type\":\"string\"},"
        "{\"name\":\"worker\",\"type\":[\"null\",\"int\"]}]}";
    bytes file = {0}, data = {0};
    put_header(&file, schema, "null");
    for (int i = 0; i < 4; i++) {
        put_str(&data, "odd");
        put_str(&data, "");
        put_str(&data, "run_000000000");
        put_str(&data, "t");
        put_str(&data, "");
        put_double(&data, 0.5);
        put_long(&data, 2);        /* status, a long */
        put_str(&data, "three");   /* attempts, a string */
        put_str(&data, "w");       /* the worker that does not fit */
        put_long(&data, 1);        /* the one that does */
        put_long(&data, 10 + i);
    }
    put_block(&file, 4, &data);
    write_crafted("unusable_fields.avro", &file);
    free(data.p);
    result rows;
    CHECK_INT_EQ(both_engines_agree("unusable_fields.avro", &rows), 4);
    CHECK_STR_EQ(rows.engine, "block");
    for (int i = 0; i < 4; i++) {
        CHECK_STR_EQ(rows.rows[i].cell[PF_STATUS].text, "ok");
        CHECK_INT_EQ(rows.rows[i].cell[PF_ATTEMPTS].i, 1);
        CHECK_INT_EQ(rows.rows[i].cell[PF_WORKER].kind, CELL_INT);
        CHECK_INT_EQ(rows.rows[i].cell[PF_WORKER].i, 10 + i);
        CHECK_INT_EQ(rows.rows[i].cell[PF_ERROR].kind, CELL_NULL);
    }
    result_free(&rows);
}

TEST(profile_reader_avro_c_refuses_what_it_cannot_read)
{
    /* A fixed of size 0 is valid Avro that avro-c 1.11 fails on at the
     * first record (it takes the NULL of a 0-byte allocation for out of
     * memory): the block decoder reads the file, the avro-c engine says
     * at once that it cannot. */
    static char schema[4096];
    size_t n = strlen(profile_schema_json());
    memcpy(schema, profile_schema_json(), n - 2);
    strcpy(schema + n - 2, ",{\"name\":\"x_none\",\"type\":{\"type\":"
                           "\"fixed\",\"name\":\"nothing\",\"size\":0}}]}");
    bytes file = {0}, data = {0};
    put_header(&file, schema, "null");
    put_record(&data, 0, GOOD_CRAFT);
    put_record(&data, 1, GOOD_CRAFT);
    put_block(&file, 2, &data);
    write_crafted("fixed0.avro", &file);
    free(data.p);
    result fast, reference;
    read_all("fixed0.avro", PROFILE_ENGINE_AUTO, ALL, &fast);
    CHECK(fast.clean);
    CHECK_INT_EQ(fast.n, 2);
    CHECK_STR_EQ(fast.rows[1].cell[PF_TASK_NAME].text, "t1");
    read_all("fixed0.avro", PROFILE_ENGINE_AVRO_C, ALL, &reference);
    CHECK(!reference.opened);
    CHECK_CONTAINS(reference.error, "avro-c cannot read a fixed of size 0");
    result_free(&fast);
    result_free(&reference);
}

/* ---- asking for some fields only --------------------------------------------------- */

/* A file of each layout the block decoder knows: daglib's (`records`
 * in blocks of per_block), the Python original's and one with a field
 * of its own (10 records each), which the general steps decode. */
static void write_each_layout(int records, int per_block, written *w,
                              const char *paths[3])
{
    daglib_writes("layouts", "null", records, per_block, w);
    python_writes("legacy", "legacy.avro", 10);
    python_writes("extra", "extra.avro", 10);
    paths[0] = w->path;
    paths[1] = "legacy.avro";
    paths[2] = "extra.avro";
}

TEST(profile_reader_fills_the_wanted_fields)
{
    /* Each field alone, a few together, and none at all: the wanted ones
     * equal what avro-c reads with every field. */
    written w;
    const char *paths[3];
    write_each_layout(300, 100, &w, paths);
    uint32_t masks[PF_COUNT + 4];
    int n_masks = 0;
    for (int f = 0; f < PF_COUNT; f++)
        masks[n_masks++] = PROFILE_FIELD_BIT(f);
    masks[n_masks++] = 0;
    masks[n_masks++] = PROFILE_FIELD_BIT(PF_TASK_NAME) |
                       PROFILE_FIELD_BIT(PF_TASK_RUNTIME);
    masks[n_masks++] = PROFILE_FIELD_BIT(PF_STATUS) |
                       PROFILE_FIELD_BIT(PF_ATTEMPTS) |
                       PROFILE_FIELD_BIT(PF_ERROR);
    masks[n_masks++] = ALL & ~PROFILE_FIELD_BIT(PF_DAG_NAME);
    for (int p = 0; p < 3; p++) {
        result reference;
        read_all(paths[p], PROFILE_ENGINE_AVRO_C, ALL, &reference);
        CHECK(reference.clean);
        for (int m = 0; m < n_masks; m++) {
            for (int e = 0; e < 2; e++) {
                result some;
                read_all(paths[p],
                         e == 0 ? PROFILE_ENGINE_AUTO : PROFILE_ENGINE_AVRO_C,
                         masks[m], &some);
                CHECK(some.clean);
                CHECK_INT_EQ(some.n, reference.n);
                char what[96];
                snprintf(what, sizeof what, "%s, mask 0x%x, %s", paths[p],
                         masks[m], some.engine);
                check_same_rows(&some, &reference, some.n, masks[m], what);
                result_free(&some);
            }
        }
        result_free(&reference);
    }
}

TEST(profile_reader_decodes_no_field_a_query_does_not_want)
{
    /* SELECT avg(task_runtime) asks for the runtime alone: no other cell
     * is written, so no string is located, let alone copied, for any
     * layout (daglib's, the Python original's, and one the general steps
     * decode). */
    written w;
    const char *paths[3];
    write_each_layout(50, 20, &w, paths);
    const uint32_t runtime = PROFILE_FIELD_BIT(PF_TASK_RUNTIME);
    for (int p = 0; p < 3; p++) {
        profile_reader *r = NULL;
        char *why = NULL;
        CHECK(profile_reader_open(paths[p], PROFILE_ENGINE_AUTO, &r, &why) == 0);
        CHECK_STR_EQ(profile_reader_engine(r), "block");
        profile_row row;
        int rows = 0;
        for (;;) {
            for (int f = 0; f < PF_COUNT; f++)
                row.cell[f].kind = UNSET;
            if (profile_reader_next(r, runtime, &row) != 1)
                break;
            rows++;
            CHECK_INT_EQ(row.cell[PF_TASK_RUNTIME].kind, CELL_REAL);
            for (int f = 0; f < PF_COUNT; f++)
                if (f != PF_TASK_RUNTIME && row.cell[f].kind != UNSET)
                    FAIL("%s: %s was decoded for a runtime-only read",
                         paths[p], profile_field_names[f]);
        }
        CHECK(profile_reader_error(r) == NULL);
        CHECK_INT_EQ(rows, p == 0 ? 50 : 10);
        profile_reader_close(r);
    }
}

/* What counting a file's records gives: no rows, only their number. */
typedef struct counted {
    size_t n;
    int opened, clean;
    char *error; /* malloc'd, or NULL */
} counted;

/* Count every record of path with profile_reader_count(), at most max at
 * a time. */
static void count_all(const char *path, uint64_t max, counted *res)
{
    memset(res, 0, sizeof *res);
    profile_reader *r = profile_reader_new(PROFILE_ENGINE_AUTO);
    CHECK(r != NULL);
    profile_reader_counting(r, 1);
    char *why = NULL;
    if (profile_reader_reopen(r, path, &why) != 0) {
        res->error = why;
        profile_reader_close(r);
        return;
    }
    res->opened = 1;
    uint64_t n = 0;
    int rc;
    while ((rc = profile_reader_count(r, max, &n)) == 1) {
        CHECK(n >= 1 && n <= max);
        res->n += n;
        CHECK_INT_EQ(profile_reader_records(r), res->n);
    }
    CHECK_INT_EQ(n, 0);
    CHECK(rc == 0 || rc == -1);
    if (rc == 0) {
        CHECK(profile_reader_error(r) == NULL);
        res->clean = 1;
    } else {
        res->error = strdup(profile_reader_error(r));
        CHECK_INT_EQ(profile_reader_count(r, max, &n), -1); /* stays stopped */
    }
    profile_reader_close(r);
}

/* Counting path's records, many at a time or one by one, against decoding
 * them.  Counting reads block frames, not records, so:
 *   - opening succeeds or fails alike, for the same reason;
 *   - a file that decodes to its end counts as many records, to its end;
 *   - counting never gives fewer records than decoding;
 *   - counting stops only where decoding stops too: at a block cut short
 *     or without its marker, with the same message and, when decoding got
 *     that far, the same number.
 * (A damaged record inside a whole block stops decoding but is counted.)
 * Returns the number of records decoded. */
static size_t counting_agrees_with_decoding(const char *path, const char *what)
{
    result decoded;
    read_all(path, PROFILE_ENGINE_AUTO, ALL, &decoded);
    const char *a = decoded.error ? decoded.error : "clean";
    for (int one = 0; one < 2; one++) {
        counted c;
        count_all(path, one ? 1 : UINT64_MAX, &c);
        const char *b = c.error ? c.error : "clean";
        const char *how = one ? " one by one" : "";
        if (c.opened != decoded.opened || (!c.opened && strcmp(a, b) != 0))
            FAIL("%s: decoding opens %d (%s), counting%s %d (%s)", what,
                 decoded.opened, a, how, c.opened, b);
        if (decoded.clean && (!c.clean || c.n != decoded.n))
            FAIL("%s: decoding gives %zu records, counting%s %zu (%s)", what,
                 decoded.n, how, c.n, b);
        if (c.n < decoded.n)
            FAIL("%s: decoding gives %zu records (%s), counting%s only %zu "
                 "(%s)",
                 what, decoded.n, a, how, c.n, b);
        if (c.opened && !c.clean && strcmp(a, b) == 0 && c.n != decoded.n)
            FAIL("%s: both stop (%s), decoding after %zu records, counting%s "
                 "after %zu",
                 what, a, decoded.n, how, c.n);
        free(c.error);
    }
    size_t n = decoded.n;
    result_free(&decoded);
    return n;
}

/* Every byte of path changed in turn (one bit, or all of them). */
static void counting_agrees_on_every_flip(const char *path)
{
    size_t len;
    unsigned char *data = (unsigned char *)test_read_file(path, &len);
    CHECK(data != NULL);
    static const unsigned char masks[] = {0x01, 0xff};
    for (size_t m = 0; m < sizeof masks; m++) {
        for (size_t at = 0; at < len; at++) {
            data[at] ^= masks[m];
            test_write_file("flip.avro", data, len);
            data[at] ^= masks[m];
            char what[320];
            snprintf(what, sizeof what, "%s, byte %zu ^ 0x%02x", path, at,
                     masks[m]);
            counting_agrees_with_decoding("flip.avro", what);
        }
    }
    free(data);
}

TEST(profile_reader_counting_agrees_with_decoding)
{
    /* count(*) counts records from block frames instead of decoding
     * them, whoever wrote the file, whatever the codec, wherever it was
     * damaged: see counting_agrees_with_decoding() for how far the two
     * must agree. */
    written w;
    daglib_writes("count", "null", 6, 2, &w);
    CHECK_INT_EQ(counting_agrees_with_decoding(w.path, w.path), 6);
    counting_agrees_on_every_flip(w.path);
    daglib_writes("countz", "deflate", 6, 3, &w);
    CHECK_INT_EQ(counting_agrees_with_decoding(w.path, w.path), 6);
    counting_agrees_on_every_flip(w.path);
    static const char *const codecs[] = {"null", "deflate", "snappy"};
    for (int c = 0; c < 3; c++) {
        char path[64];
        snprintf(path, sizeof path, "avroc-%s.avro", codecs[c]);
        avroc_writes(path, codecs[c], 300);
        CHECK_INT_EQ(counting_agrees_with_decoding(path, path), 300);
    }
    avroc_writes("avroc-small.avro", "null", 4);
    counting_agrees_on_every_flip("avroc-small.avro");
    /* A nested field leaves the records to avro-c, whole only: damaged,
     * avro-c allocates what a damaged length claims (avroc_engine.c). */
    static const char *const kinds[] = {"legacy", "extra", "deflate", "nested"};
    for (int k = 0; k < 4; k++) {
        char path[64];
        snprintf(path, sizeof path, "python-%s.avro", kinds[k]);
        python_writes(kinds[k], path, 5);
        CHECK_INT_EQ(counting_agrees_with_decoding(path, path), 5);
        if (strcmp(kinds[k], "nested") != 0)
            counting_agrees_on_every_flip(path);
    }
    /* A file of many blocks, larger than a read: frames are found across
     * the reads and seeks the counting reader makes. */
    daglib_writes("countbig", "null", 3000, 700, &w);
    CHECK_INT_EQ(counting_agrees_with_decoding(w.path, w.path), 3000);
    daglib_writes("countbigz", "deflate", 3000, 700, &w);
    CHECK_INT_EQ(counting_agrees_with_decoding(w.path, w.path), 3000);
}

TEST(profile_reader_counting_trusts_a_whole_blocks_header)
{
    /* One whole block: a plain record, one whose union branch takes two
     * bytes and one whose string length takes three (valid, though no
     * writer of ours spells them so, and decoded), then one with an enum
     * index out of range, then a plain one.  Decoding stops at the
     * fourth, after three; counting reads the block's frame, not its
     * records, and gives the five its header claims.  The same with a
     * deflate block whose bytes do not inflate: counting never inflates. */
    bytes file = {0}, block = {0};
    put_header(&file, profile_schema_json(), "null");
    put_record(&block, 0, GOOD_CRAFT);
    craft padded = GOOD_CRAFT;
    padded.padded_branch = 1;
    put_record(&block, 1, padded);
    craft long_name = GOOD_CRAFT;
    long_name.long_name = 20000; /* its length a varint of 3 bytes */
    put_record(&block, 2, long_name);
    craft bad = GOOD_CRAFT;
    bad.status = 7;
    put_record(&block, 3, bad);
    put_record(&block, 4, GOOD_CRAFT);
    put_block(&file, 5, &block);
    write_crafted("damaged.avro", &file);
    free(block.p);
    result decoded;
    read_all("damaged.avro", PROFILE_ENGINE_AUTO, ALL, &decoded);
    CHECK_INT_EQ(decoded.n, 3);
    CHECK_INT_EQ(decoded.rows[1].cell[PF_STARTED_AT].kind, CELL_INT);
    CHECK_INT_EQ(decoded.rows[2].cell[PF_TASK_NAME].n, 20000);
    CHECK_CONTAINS(decoded.error, "enum index is out of range");
    result_free(&decoded);
    counted c;
    count_all("damaged.avro", UINT64_MAX, &c);
    CHECK(c.clean);
    CHECK_INT_EQ(c.n, 5);

    bytes zfile = {0}, garbage = {0};
    put_header(&zfile, profile_schema_json(), "deflate");
    unsigned char ones[40];
    memset(ones, 0xff, sizeof ones); /* a block type DEFLATE reserves */
    put(&garbage, ones, sizeof ones);
    put_block(&zfile, 4, &garbage);
    write_crafted("garbage.avro", &zfile);
    free(garbage.p);
    read_all("garbage.avro", PROFILE_ENGINE_AUTO, ALL, &decoded);
    CHECK_INT_EQ(decoded.n, 0);
    CHECK_CONTAINS(decoded.error, "does not inflate");
    result_free(&decoded);
    count_all("garbage.avro", UINT64_MAX, &c);
    CHECK(c.clean);
    CHECK_INT_EQ(c.n, 4);

    /* A count no block of these bytes could hold is refused, whatever
     * the codec: as many bytes as one record takes, stored or compressed
     * at the codec's densest, cannot hold a million. */
    static const char *const codecs[] = {"null", "deflate", "snappy"};
    for (int k = 0; k < 3; k++) {
        bytes lie = {0}, one = {0};
        put_header(&lie, profile_schema_json(), codecs[k]);
        put_record(&one, 0, GOOD_CRAFT);
        put_block(&lie, 1000000, &one);
        write_crafted("lie.avro", &lie);
        free(one.p);
        count_all("lie.avro", UINT64_MAX, &c);
        CHECK_INT_EQ(c.n, 0);
        CHECK_CONTAINS(c.error, "claims more records than its bytes can hold");
        free(c.error);
    }
}

TEST(profile_reader_counting_passes_empty_blocks_as_decoding_does)
{
    /* A block of no records and no bytes is passed over; one of no
     * records that holds bytes is refused, counting as decoding. */
    bytes file = {0}, none = {0}, three = {0};
    put_header(&file, profile_schema_json(), "null");
    put_block(&file, 0, &none);
    for (int i = 0; i < 3; i++)
        put_record(&three, i, GOOD_CRAFT);
    put_block(&file, 3, &three);
    write_crafted("empty-first.avro", &file);
    CHECK_INT_EQ(counting_agrees_with_decoding("empty-first.avro",
                                               "an empty block first"),
                 3);
    counted c;
    count_all("empty-first.avro", UINT64_MAX, &c);
    CHECK(c.clean);
    CHECK_INT_EQ(c.n, 3);

    bytes lost = {0};
    put_header(&lost, profile_schema_json(), "null");
    put_block(&lost, 0, &three);
    write_crafted("lost-count.avro", &lost);
    free(three.p);
    count_all("lost-count.avro", UINT64_MAX, &c);
    CHECK_INT_EQ(c.n, 0);
    CHECK_CONTAINS(c.error, "claims no records but holds");
    free(c.error);
    result decoded;
    read_all("lost-count.avro", PROFILE_ENGINE_AUTO, ALL, &decoded);
    CHECK_CONTAINS(decoded.error, "claims no records but holds");
    result_free(&decoded);
}

TEST(profile_reader_records_counted_are_not_decoded)
{
    /* A reader asked to count part of a block cannot then decode the
     * rest: it never read those records. */
    written w;
    daglib_writes("partly", "null", 5, 5, &w);
    profile_reader *r = NULL;
    char *why = NULL;
    CHECK_INT_EQ(profile_reader_open(w.path, PROFILE_ENGINE_AUTO, &r, &why), 0);
    uint64_t n = 0;
    CHECK_INT_EQ(profile_reader_count(r, 2, &n), 1);
    CHECK_INT_EQ(n, 2);
    profile_row row;
    CHECK_INT_EQ(profile_reader_next(r, ALL, &row), -1);
    CHECK_CONTAINS(profile_reader_error(r), "counted cannot be decoded");
    profile_reader_close(r);
}

TEST(profile_reader_counts_the_rest_of_a_block_being_decoded)
{
    /* Decoding two records of a block of five, then counting: the other
     * three, then the next block's, then the end. */
    written w;
    daglib_writes("rest", "null", 8, 5, &w);
    profile_reader *r = NULL;
    char *why = NULL;
    CHECK_INT_EQ(profile_reader_open(w.path, PROFILE_ENGINE_AUTO, &r, &why), 0);
    profile_row row;
    CHECK_INT_EQ(profile_reader_next(r, ALL, &row), 1);
    CHECK_INT_EQ(profile_reader_next(r, ALL, &row), 1);
    uint64_t n = 0;
    CHECK_INT_EQ(profile_reader_count(r, UINT64_MAX, &n), 1);
    CHECK_INT_EQ(n, 3);
    CHECK_INT_EQ(profile_reader_count(r, UINT64_MAX, &n), 1);
    CHECK_INT_EQ(n, 3);
    CHECK_INT_EQ(profile_reader_count(r, UINT64_MAX, &n), 0);
    CHECK(profile_reader_error(r) == NULL);
    CHECK_INT_EQ(profile_reader_records(r), 8);
    profile_reader_close(r);
}

/* ---- one reader, file after file ------------------------------------------------------ */

TEST(profile_reader_reopened_reads_each_file_as_a_fresh_one)
{
    /* A scan gives one reader every file in turn, keeping its buffers and
     * compiled schema: nothing of one file may leak into the next, whatever
     * the order of layouts, codecs, engines, damage and masks. */
    written a, b;
    daglib_writes("reuse", "null", 700, 100, &a);
    daglib_writes("reuse", "deflate", 300, 64, &b);
    python_writes("legacy", "legacy.avro", 7);
    python_writes("extra", "extra.avro", 9);
    python_writes("nested", "nested.avro", 5);
    python_writes("other", "other.avro", 2);
    avroc_writes("snappy.avro", "snappy", 500);
    size_t len;
    char *bytes_a = test_read_file(a.path, &len);
    CHECK(bytes_a != NULL);
    test_write_file("cut.avro", bytes_a, len - 100);
    free(bytes_a);
    test_write_file("empty.avro", "", 0);
    const char *paths[] = {a.path,        a.path,       "legacy.avro",
                           b.path,        "cut.avro",   "snappy.avro",
                           "extra.avro",  "other.avro", a.path,
                           "nested.avro", "empty.avro", "legacy.avro",
                           b.path};
    enum { N = sizeof paths / sizeof paths[0] };
    static const uint32_t masks[] = {
        ALL, PROFILE_FIELD_BIT(PF_TASK_RUNTIME),
        PROFILE_FIELD_BIT(PF_STATUS) | PROFILE_FIELD_BIT(PF_ERROR)};
    for (int e = 0; e < 2; e++) {
        profile_engine engine = e == 0 ? PROFILE_ENGINE_AUTO : PROFILE_ENGINE_AVRO_C;
        profile_reader *r = profile_reader_new(engine);
        CHECK(r != NULL);
        for (int round = 0; round < 2; round++) {
            /* Reading for a count changes how a file is read, not what
             * decoding it gives. */
            profile_reader_counting(r, round);
            for (int i = 0; i < N; i++) {
                uint32_t wanted = masks[(i + round) % 3];
                result fresh, reused = {0};
                read_all(paths[i], engine, wanted, &fresh);
                char *why = NULL;
                if (profile_reader_reopen(r, paths[i], &why) != 0) {
                    CHECK(why != NULL);
                    reused.error = why;
                    /* a reader without a file has nothing to give */
                    profile_row row;
                    CHECK_INT_EQ(profile_reader_next(r, wanted, &row), -1);
                } else {
                    CHECK(why == NULL);
                    drain(r, wanted, &reused);
                }
                char what[96];
                snprintf(what, sizeof what, "%s (%s, mask 0x%x)", paths[i],
                         e == 0 ? "auto" : "avro-c", wanted);
                if (fresh.opened != reused.opened ||
                    fresh.clean != reused.clean || fresh.n != reused.n)
                    FAIL("%s: fresh %d/%d/%zu rows, reused %d/%d/%zu rows", what,
                         fresh.opened, fresh.clean, fresh.n, reused.opened,
                         reused.clean, reused.n);
                CHECK_STR_EQ(reused.engine, fresh.engine);
                if (fresh.error != NULL || reused.error != NULL)
                    CHECK_STR_EQ(reused.error, fresh.error);
                check_same_rows(&reused, &fresh, fresh.n, wanted, what);
                result_free(&fresh);
                result_free(&reused);
            }
        }
        profile_reader_close(r);
    }
}

/* ---- several readers at once ---------------------------------------------------------- */

typedef struct reader_job {
    const char *path;
    profile_engine engine;
    size_t rows;
    int clean;
} reader_job;

static void *read_in_thread(void *arg)
{
    reader_job *job = arg;
    profile_reader *r;
    char *why;
    if (profile_reader_open(job->path, job->engine, &r, &why) != 0) {
        free(why);
        return NULL;
    }
    profile_row row;
    int rc;
    while ((rc = profile_reader_next(r, ALL, &row)) == 1)
        job->rows++;
    job->clean = rc == 0;
    profile_reader_close(r);
    return NULL;
}

TEST(profile_reader_threads_read_files_at_once)
{
    /* The virtual table reads on whatever thread SQLite gives it: readers
     * share nothing (not avro-c's error buffer either, which avro-c writes
     * when it reads past a file's last block: the last jobs read a file
     * that has none yet, as a run's file has just after it starts). */
    written a, b, fresh;
    daglib_writes("threads", "null", 2000, 500, &a);
    daglib_writes("threads", "deflate", 2000, 500, &b);
    daglib_writes("threads", "null", 0, 1, &fresh);
    craft_file("crafted.avro", NULL);
    enum { JOBS = 8, FRESH_JOBS = 4 };
    reader_job jobs[JOBS + FRESH_JOBS];
    pthread_t threads[JOBS + FRESH_JOBS];
    for (int j = 0; j < JOBS + FRESH_JOBS; j++) {
        if (j >= JOBS)
            jobs[j] = (reader_job){fresh.path, PROFILE_ENGINE_AVRO_C, 0, 0};
        else
            jobs[j] = (reader_job){j % 4 == 3 ? "crafted.avro"
                                              : j % 2 ? a.path : b.path,
                                   j % 3 == 0 ? PROFILE_ENGINE_AVRO_C
                                              : PROFILE_ENGINE_AUTO,
                                   0, 0};
        CHECK(pthread_create(&threads[j], NULL, read_in_thread, &jobs[j]) == 0);
    }
    for (int j = 0; j < JOBS + FRESH_JOBS; j++) {
        CHECK(pthread_join(threads[j], NULL) == 0);
        CHECK(jobs[j].clean);
        CHECK_INT_EQ(jobs[j].rows, j >= JOBS ? 0 : j % 4 == 3 ? 2 : 2000);
    }
}
