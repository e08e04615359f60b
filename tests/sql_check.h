/*
 * sql_check.h -- helpers for the tests that query MetaDB (test_vtab.c,
 * test_drop.c, test_metadb.c): open a connection, run SQL and get its rows
 * as text, capture what the extension reports through sqlite3_log, and
 * make profiling files by running DAGs.
 */
#ifndef DAGLIB_SQL_CHECK_H
#define DAGLIB_SQL_CHECK_H

#include <sqlite3.h>
#include <stdint.h>
#include <string.h>

#include "test.h"

/* A MetaDB on :memory: whose root is root (NULL: the default). */
static inline sqlite3 *open_metadb(const char *root)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    int rc = daglib_metadb_open(NULL, root, &db, &msg);
    if (rc != DAGLIB_OK)
        FAIL("daglib_metadb_open: %s: %s", daglib_errname(rc),
             msg ? msg : "(no message)");
    return db;
}

/* Every row of sql as text, a line per row, columns joined by '|', NULL
 * as "NULL"; a failing statement fails the test.  malloc'd. */
static inline char *query_rows(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
        FAIL("prepare %s: %s", sql, sqlite3_errmsg(db));
    sqlite3_str *out = sqlite3_str_new(NULL);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(stmt); i++) {
            const char *v = (const char *)sqlite3_column_text(stmt, i);
            sqlite3_str_appendf(out, "%s%s", i ? "|" : "", v ? v : "NULL");
        }
        sqlite3_str_appendchar(out, 1, '\n');
    }
    if (rc != SQLITE_DONE)
        FAIL("step %s: %s", sql, sqlite3_errmsg(db));
    sqlite3_finalize(stmt);
    char *text = sqlite3_str_finish(out);
    char *copy = strdup(text ? text : "");
    sqlite3_free(text);
    return copy;
}

/* The first column of the first row of sql, as an integer. */
static inline int64_t query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
        FAIL("prepare %s: %s", sql, sqlite3_errmsg(db));
    if (sqlite3_step(stmt) != SQLITE_ROW)
        FAIL("no row from %s: %s", sql, sqlite3_errmsg(db));
    int64_t v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

/* Run sql (several statements allowed); fail the test on error. */
static inline void exec_ok(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        FAIL("%s: %s", sql, err ? err : "?");
}

/* The error message sql fails with (malloc'd), or NULL when it succeeds. */
static inline char *query_error(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK)
        return NULL;
    char *copy = strdup(err ? err : "?");
    sqlite3_free(err);
    return copy;
}

/* ---- sqlite3_log ------------------------------------------------------------ */

typedef struct captured_log {
    char text[16384]; /* the extension's warnings, one per line */
    int warnings;
} captured_log;

static inline captured_log *the_log(void)
{
    static captured_log log;
    return &log;
}

static inline void log_callback(void *arg, int code, const char *msg)
{
    (void)arg;
    captured_log *log = the_log();
    if (code != SQLITE_WARNING || strncmp(msg, "daglib: ", 8) != 0)
        return;
    log->warnings++;
    size_t used = strlen(log->text);
    snprintf(log->text + used, sizeof log->text - used, "%s\n", msg);
}

/* Capture sqlite3_log from now on (before any connection is opened). */
static inline void capture_sqlite_log(void)
{
    sqlite3_shutdown(); /* config is refused once SQLite is initialised */
    if (sqlite3_config(SQLITE_CONFIG_LOG, log_callback, NULL) != SQLITE_OK)
        FAIL("sqlite3_config(SQLITE_CONFIG_LOG) refused");
    sqlite3_initialize();
}

static inline void clear_log(void)
{
    memset(the_log(), 0, sizeof *the_log());
}

/* ---- profiling files ---------------------------------------------------------- */

static inline void quick_task(daglib_context *ctx, int argc,
                              const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_result_int(ctx, 1);
}

/* Run a profiled DAG called name with tasks tasks t0, t1, ... under root
 * (NULL: the default root); its run id goes to run_id. */
static inline void run_dag(const char *root, const char *name, int tasks,
                           char run_id[16])
{
    daglib_dag *dag = daglib_dag_new(name, "a test DAG", DAGLIB_PROFILE);
    if (root != NULL)
        CHECK_OK(daglib_dag_set_meta_dir(dag, root));
    for (int i = 0; i < tasks; i++) {
        char task[32];
        snprintf(task, sizeof task, "t%d", i);
        daglib_task_add(dag, task, "a test task", quick_task, NULL);
    }
    daglib_dag_set_workers(dag, 2);
    CHECK_OK(daglib_run(dag, NULL));
    if (run_id != NULL)
        snprintf(run_id, 16, "%s", daglib_dag_run_id(dag));
    daglib_dag_free(dag);
}

#endif
