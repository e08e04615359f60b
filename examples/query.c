/*
 * query.c -- the profiling page's MetaDB queries, from C.
 *
 *   examples/query                 SELECT * FROM profiling, then the average
 *   examples/query select drop avg the page's three queries, in its order
 *   examples/query 'SELECT ...'    any query
 *
 * Each step is one of
 *   select   SELECT * FROM profiling
 *   drop     the page's db.drop(): empty the metadata root, then show that
 *            SELECT * FROM profiling is empty
 *   avg      SELECT AVG(task_runtime) AS avg_task_runtime FROM profiling
 * and anything else is run as SQL.  Results print as pandas prints a
 * DataFrame, the way the page shows them: an index column, every column
 * right-aligned, reals with up to six decimals.  The metadata root is
 * $DAGLIB_META_DIR, else ./meta, as for examples/profiling.
 */
#include <daglib.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a result held as text, column by column -------------------------------- */

typedef struct table {
    int columns;
    char **names;  /* [columns] */
    char **cells;  /* [rows * columns], formatted */
    int rows, capacity;
} table;

enum { KIND_TEXT, KIND_INT, KIND_REAL };

static void *must(void *p)
{
    if (p == NULL) {
        fputs("query: out of memory\n", stderr);
        exit(1);
    }
    return p;
}

static char *copy(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(must(malloc(n)), s, n);
}

/* Characters a UTF-8 string takes on screen (one per code point). */
static size_t width_of(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* The kind of a column: integer or real when every value is (NULLs
 * aside), else text -- as pandas infers a column's dtype. */
static int column_kind(sqlite3_value **values, int rows)
{
    int kind = KIND_INT, seen = 0;
    for (int r = 0; r < rows; r++) {
        int t = sqlite3_value_type(values[r]);
        if (t == SQLITE_NULL)
            continue;
        seen = 1;
        if (t == SQLITE_FLOAT)
            kind = KIND_REAL;
        else if (t != SQLITE_INTEGER)
            return KIND_TEXT;
    }
    return seen ? kind : KIND_TEXT;
}

/* Reals as pandas shows them: six decimals, the zeros every value ends
 * with dropped (one decimal kept); scientific notation when a value is
 * too small for six decimals. */
static void format_reals(sqlite3_value **values, int rows, char **out)
{
    int scientific = 0;
    for (int r = 0; r < rows; r++) {
        double v = sqlite3_value_double(values[r]);
        if (sqlite3_value_type(values[r]) != SQLITE_NULL && v != 0 &&
            fabs(v) < 1e-6)
            scientific = 1;
    }
    int trim = 5; /* decimals that may go: keep at least one */
    char buf[64];
    for (int r = 0; r < rows; r++) {
        if (sqlite3_value_type(values[r]) == SQLITE_NULL)
            continue;
        snprintf(buf, sizeof buf, scientific ? "%.6e" : "%.6f",
                 sqlite3_value_double(values[r]));
        int zeros = 0;
        for (size_t i = strlen(buf); i > 0 && buf[i - 1] == '0'; i--)
            zeros++;
        if (zeros < trim)
            trim = zeros;
    }
    for (int r = 0; r < rows; r++) {
        if (sqlite3_value_type(values[r]) == SQLITE_NULL) {
            out[r] = copy("NaN");
            continue;
        }
        snprintf(buf, sizeof buf, scientific ? "%.6e" : "%.6f",
                 sqlite3_value_double(values[r]));
        if (!scientific)
            buf[strlen(buf) - (size_t)trim] = '\0';
        out[r] = copy(buf);
    }
}

/* Run sql into t; returns 0, or -1 with the error printed. */
static int run_query(sqlite3 *db, const char *sql, table *t)
{
    memset(t, 0, sizeof *t);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        fprintf(stderr, "query: %s\n", sqlite3_errmsg(db));
        return -1;
    }
    t->columns = sqlite3_column_count(stmt);
    t->names = must(calloc((size_t)t->columns + 1, sizeof *t->names));
    for (int c = 0; c < t->columns; c++)
        t->names[c] = copy(sqlite3_column_name(stmt, c));

    /* Keep the values until the end: a column's format depends on all. */
    sqlite3_value **values = NULL;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (t->rows == t->capacity) {
            t->capacity = t->capacity ? t->capacity * 2 : 16;
            values = must(realloc(values, (size_t)t->capacity *
                                              (size_t)t->columns *
                                              sizeof *values));
        }
        for (int c = 0; c < t->columns; c++)
            values[t->rows * t->columns + c] =
                must(sqlite3_value_dup(sqlite3_column_value(stmt, c)));
        t->rows++;
    }
    if (rc != SQLITE_DONE)
        fprintf(stderr, "query: %s\n", sqlite3_errmsg(db));
    sqlite3_finalize(stmt);

    t->cells = must(calloc((size_t)t->rows * (size_t)t->columns + 1,
                           sizeof *t->cells));
    sqlite3_value **column = must(calloc((size_t)t->rows + 1, sizeof *column));
    char **formatted = must(calloc((size_t)t->rows + 1, sizeof *formatted));
    for (int c = 0; c < t->columns; c++) {
        for (int r = 0; r < t->rows; r++)
            column[r] = values[r * t->columns + c];
        int kind = column_kind(column, t->rows);
        if (kind == KIND_REAL) {
            format_reals(column, t->rows, formatted);
        } else {
            for (int r = 0; r < t->rows; r++) {
                const char *text = (const char *)sqlite3_value_text(column[r]);
                formatted[r] = copy(text != NULL ? text
                                    : kind == KIND_INT ? "NaN"
                                                       : "None");
            }
        }
        for (int r = 0; r < t->rows; r++)
            t->cells[r * t->columns + c] = formatted[r];
        /* Numbers leave room for a sign, as pandas does, in the header too. */
        if (kind != KIND_TEXT) {
            char *name = t->names[c];
            t->names[c] = must(malloc(strlen(name) + 2));
            sprintf(t->names[c], " %s", name);
            free(name);
        }
    }
    for (int i = 0; i < t->rows * t->columns; i++)
        sqlite3_value_free(values[i]);
    free(values);
    free(column);
    free(formatted);
    return rc == SQLITE_DONE ? 0 : -1;
}

static void print_padded(const char *s, size_t width, int right)
{
    size_t w = width_of(s);
    if (!right)
        fputs(s, stdout);
    for (; w < width; w++)
        putchar(' ');
    if (right)
        fputs(s, stdout);
}

/* Print t as pandas' DataFrame.to_string() does. */
static void print_table(const table *t)
{
    if (t->rows == 0) {
        printf("Empty DataFrame\nColumns: [");
        for (int c = 0; c < t->columns; c++)
            printf("%s%s", c ? ", " : "",
                   t->names[c][0] == ' ' ? t->names[c] + 1 : t->names[c]);
        printf("]\nIndex: []\n");
        return;
    }
    char label[32];
    size_t index_width = (size_t)snprintf(label, sizeof label, "%d", t->rows - 1);
    size_t *width = must(calloc((size_t)t->columns, sizeof *width));
    for (int c = 0; c < t->columns; c++) {
        width[c] = width_of(t->names[c]);
        for (int r = 0; r < t->rows; r++) {
            size_t w = width_of(t->cells[r * t->columns + c]) + 1;
            if (w > width[c])
                width[c] = w;
        }
    }
    print_padded("", index_width, 0);
    for (int c = 0; c < t->columns; c++) {
        putchar(' ');
        print_padded(t->names[c], width[c], 1);
    }
    putchar('\n');
    for (int r = 0; r < t->rows; r++) {
        snprintf(label, sizeof label, "%d", r);
        print_padded(label, index_width, 0);
        for (int c = 0; c < t->columns; c++) {
            putchar(' ');
            print_padded(t->cells[r * t->columns + c], width[c], 1);
        }
        putchar('\n');
    }
    free(width);
}

static void free_table(table *t)
{
    for (int c = 0; c < t->columns; c++)
        free(t->names[c]);
    free(t->names);
    if (t->cells != NULL)
        for (int i = 0; i < t->rows * t->columns; i++)
            free(t->cells[i]);
    free(t->cells);
}

/* Run and print one query; 0 or -1. */
static int show(sqlite3 *db, const char *sql)
{
    printf("%s\n\n", sql);
    table t;
    int rc = run_query(db, sql, &t);
    if (rc == 0)
        print_table(&t);
    free_table(&t);
    putchar('\n');
    return rc;
}

/* ---- the steps ------------------------------------------------------------------ */

static const char select_all[] = "SELECT *\nFROM profiling";

static int step(sqlite3 *db, const char *what)
{
    if (strcmp(what, "select") == 0)
        return show(db, select_all);
    if (strcmp(what, "avg") == 0)
        return show(db, "SELECT AVG(task_runtime) AS avg_task_runtime\n"
                        "FROM profiling");
    if (strcmp(what, "drop") == 0) {
        int64_t removed = 0;
        if (daglib_metadb_drop(db, &removed) != DAGLIB_OK) {
            fprintf(stderr, "query: drop: %s\n", sqlite3_errmsg(db));
            return -1;
        }
        printf("db.drop()  -- %lld files and directories removed\n\n",
               (long long)removed);
        return show(db, select_all);
    }
    return show(db, what);
}

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 ||
                     strcmp(argv[1], "--help") == 0)) {
        printf("usage: %s [select | drop | avg | SQL] ...\n"
               "  with no step: select avg\n",
               argv[0]);
        return 0;
    }
    sqlite3 *db = NULL;
    char *msg = NULL;
    if (daglib_metadb_open(NULL, NULL, &db, &msg) != DAGLIB_OK) {
        fprintf(stderr, "query: %s\n", msg != NULL ? msg : "cannot open");
        daglib_free(msg);
        return 1;
    }
    static const char *const default_steps[] = {"select", "avg"};
    int failed = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            failed |= step(db, argv[i]) != 0;
    } else {
        for (size_t i = 0; i < 2; i++)
            failed |= step(db, default_steps[i]) != 0;
    }
    sqlite3_close(db);
    return failed ? 1 : 0;
}
