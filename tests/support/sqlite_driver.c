/*
 * sqlite_driver.c -- a minimal stand-in for the sqlite3 shell, built
 * against any SQLite (the system's, or an amalgamation of another
 * version: tests/suites/untrusted_schema.sh), since amalgamations come
 * without shell.c.
 *
 *   sqlite_driver DATABASE ARG...
 *
 * Opens DATABASE with loading extensions enabled (C API and SQL), then
 * takes each ARG in turn:
 *
 *   .load PATH        sqlite3_load_extension(PATH), default entry point
 *   .stub NAME NARG   register a do-nothing function NAME of NARG args
 *   .hold SQL         step SQL once and keep it running (an active statement)
 *   .release          finalize the held statement
 *   .fail-allocation N  fail SQLite's N-th allocation during the next ARG
 *                     (printing "allocation failed" when it came to that)
 *   SQL               run every statement of SQL, printing each row as
 *                     values joined by '|', and "error: MESSAGE" on error
 *
 * Ends by closing the connection and printing "closed: RC"; exits 0
 * unless it could not open the database.  Errors are output, not
 * failures: the caller compares what was printed.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SQLite's allocator, failing the n-th allocation while armed. */
static sqlite3_mem_methods real_methods;
static int countdown; /* > 0: allocations left before one fails */
static int failed;

static void *failing_malloc(int n)
{
    if (countdown > 0 && --countdown == 0) {
        failed = 1;
        return NULL;
    }
    return real_methods.xMalloc(n);
}

static void *failing_realloc(void *p, int n)
{
    if (countdown > 0 && --countdown == 0) {
        failed = 1;
        return NULL;
    }
    return real_methods.xRealloc(p, n);
}

static void install_failing_allocator(void)
{
    sqlite3_mem_methods methods;
    if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real_methods) != SQLITE_OK)
        return;
    methods = real_methods;
    methods.xMalloc = failing_malloc;
    methods.xRealloc = failing_realloc;
    sqlite3_config(SQLITE_CONFIG_MALLOC, &methods);
}

static void stub(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    sqlite3_result_int(ctx, 0);
}

static void run_sql(sqlite3 *db, const char *sql)
{
    while (sql != NULL && *sql != '\0') {
        sqlite3_stmt *stmt = NULL;
        const char *tail = NULL;
        if (sqlite3_prepare_v2(db, sql, -1, &stmt, &tail) != SQLITE_OK) {
            printf("error: %s\n", sqlite3_errmsg(db));
            return;
        }
        if (stmt == NULL) { /* whitespace or a comment */
            sql = tail;
            continue;
        }
        int rc;
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            for (int i = 0; i < sqlite3_column_count(stmt); i++) {
                const unsigned char *text = sqlite3_column_text(stmt, i);
                printf("%s%s", i > 0 ? "|" : "",
                       text != NULL ? (const char *)text : "");
            }
            printf("\n");
        }
        if (rc != SQLITE_DONE)
            printf("error: %s\n", sqlite3_errmsg(db));
        sqlite3_finalize(stmt);
        sql = tail;
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: sqlite_driver DATABASE ARG...\n");
        return 2;
    }
    install_failing_allocator();
    sqlite3 *db = NULL;
    if (sqlite3_open(argv[1], &db) != SQLITE_OK) {
        fprintf(stderr, "cannot open %s: %s\n", argv[1], sqlite3_errmsg(db));
        sqlite3_close(db);
        return 2;
    }
    sqlite3_enable_load_extension(db, 1);
    sqlite3_stmt *held = NULL;
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (failed) {
            printf("allocation failed\n");
            failed = 0;
        }
        if (strcmp(arg, ".fail-allocation") == 0 && i + 1 < argc) {
            countdown = atoi(argv[++i]);
            continue;
        }
        if (strcmp(arg, ".load") == 0 && i + 1 < argc) {
            char *err = NULL;
            if (sqlite3_load_extension(db, argv[++i], NULL, &err) != SQLITE_OK)
                printf("error: %s\n", err != NULL ? err : "(no message)");
            sqlite3_free(err);
        } else if (strcmp(arg, ".stub") == 0 && i + 2 < argc) {
            const char *name = argv[++i];
            int narg = atoi(argv[++i]);
            if (sqlite3_create_function(db, name, narg, SQLITE_UTF8, NULL,
                                        stub, NULL, NULL) != SQLITE_OK)
                printf("error: %s\n", sqlite3_errmsg(db));
        } else if (strcmp(arg, ".hold") == 0 && i + 1 < argc) {
            sqlite3_finalize(held);
            held = NULL;
            if (sqlite3_prepare_v2(db, argv[++i], -1, &held, NULL) != SQLITE_OK ||
                sqlite3_step(held) != SQLITE_ROW)
                printf("error: %s\n", sqlite3_errmsg(db));
        } else if (strcmp(arg, ".release") == 0) {
            sqlite3_finalize(held);
            held = NULL;
        } else {
            run_sql(db, arg);
        }
        countdown = 0;
    }
    if (failed)
        printf("allocation failed\n");
    countdown = 0;
    sqlite3_finalize(held);
    printf("closed: %d\n", sqlite3_close(db));
    return 0;
}
