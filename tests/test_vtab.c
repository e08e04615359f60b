/*
 * test_vtab.c -- the profiling and profiling_files tables through the C
 * API: the page's columns, the hidden ones, reading at each query, other
 * roots, rowids across files and across the scans of an OR, pushdown that
 * gives exactly the full scan filtered, and files that cannot be read.
 *
 * Profiling files come from profiled DAG runs (libdaglib), from the file
 * writer directly where a test needs exact values, from avro-c for other
 * layouts, and by hand for broken ones.
 */
#include <avro.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "profile_file.h"
#include "sql_check.h"
#include "test_craft.h"

/* ---- fixtures ------------------------------------------------------------------- */

static void make_dirs(const char *path)
{
    CHECK(test_system("mkdir -p '%s'", path) == 0);
}

/* A profiling file written with the library's writer: records tasks
 * "t0".. with runtimes 0.5, 1.5, ..., flushed every `per_block` records.
 * The path goes to path_out (when not NULL). */
static void write_profile(const char *root, const char *dag, int records,
                          int per_block, char *path_out, size_t path_size)
{
    profile_file *f = NULL;
    error_state err = ERROR_STATE_INIT;
    CHECK_OK(profile_file_create(root, dag, "written directly", "null", &f,
                                 &err));
    for (int i = 0; i < records; i++) {
        char task[32];
        int n = snprintf(task, sizeof task, "t%d", i);
        profile_record r = {
            .task_name = task,
            .task_name_len = (size_t)n,
            .task_description = "direct",
            .runtime = i + 0.5,
            .started_at_us = PROFILE_NO_TIME,
            .ended_at_us = PROFILE_NO_TIME,
            .status = PROFILE_OK,
            .attempts = 1,
            .worker = PROFILE_NO_WORKER,
            .error = NULL,
        };
        CHECK_OK(profile_file_append(f, &r, &err));
        if ((i + 1) % per_block == 0)
            CHECK_OK(profile_file_flush(f, &err));
    }
    if (path_out != NULL)
        snprintf(path_out, path_size, "%s", profile_file_path(f));
    CHECK_OK(profile_file_close(f, &err));
}

/* An Avro file written by avro-c with schema_json; each record's fields
 * are set by fill(). */
static void write_avro(const char *path, const char *schema_json, int records,
                       void (*fill)(avro_value_t *record, int i))
{
    avro_schema_t schema;
    if (avro_schema_from_json_length(schema_json, strlen(schema_json), &schema))
        FAIL("schema: %s", avro_strerror());
    avro_file_writer_t writer;
    if (avro_file_writer_create(path, schema, &writer))
        FAIL("avro writer: %s", avro_strerror());
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    avro_value_t record;
    avro_generic_value_new(iface, &record);
    for (int i = 0; i < records; i++) {
        fill(&record, i);
        if (avro_file_writer_append_value(writer, &record))
            FAIL("append: %s", avro_strerror());
    }
    avro_file_writer_close(writer);
    avro_value_decref(&record);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
}

static void set_string(avro_value_t *record, const char *field, const char *s)
{
    avro_value_t v;
    CHECK(avro_value_get_by_name(record, field, &v, NULL) == 0);
    CHECK(avro_value_set_string(&v, s) == 0);
}

/* The Python original's layout: six fields, task_runtime a float. */
static const char legacy_schema[] =
    "{\"type\":\"record\",\"name\":\"tprofile\","
    "\"namespace\":\"daglib.profiling\",\"fields\":["
    "{\"name\":\"dag_name\",\"type\":\"string\"},"
    "{\"name\":\"dag_description\",\"type\":\"string\"},"
    "{\"name\":\"run_id\",\"type\":\"string\"},"
    "{\"name\":\"task_name\",\"type\":\"string\"},"
    "{\"name\":\"task_description\",\"type\":\"string\"},"
    "{\"name\":\"task_runtime\",\"type\":\"float\"}]}";

static void fill_legacy(avro_value_t *record, int i)
{
    set_string(record, "dag_name", "legacy");
    set_string(record, "dag_description", "From Python");
    set_string(record, "run_id", "run_5d508d060");
    set_string(record, "task_name", i == 0 ? "task_1" : "task_2");
    set_string(record, "task_description", "Old");
    avro_value_t v;
    CHECK(avro_value_get_by_name(record, "task_runtime", &v, NULL) == 0);
    CHECK(avro_value_set_float(&v, i == 0 ? 1.5f : 0.25f) == 0);
}

static void fill_other(avro_value_t *record, int i)
{
    avro_value_t v;
    CHECK(avro_value_get_by_name(record, "x", &v, NULL) == 0);
    CHECK(avro_value_set_int(&v, i) == 0);
}

/* Copy the full scan into a plain table, the reference that pushed-down
 * queries must equal. */
static void snapshot_full_scan(sqlite3 *db)
{
    exec_ok(db, "DROP TABLE IF EXISTS full_scan;"
                "CREATE TEMP TABLE full_scan AS SELECT *, started_at, "
                "ended_at, status, attempts, worker, error, path "
                "FROM profiling");
}

/* Rows of `SELECT <cols> FROM <table> <where>`, sorted. */
static char *rows_of(sqlite3 *db, const char *table, const char *cols,
                     const char *where)
{
    char *sql = sqlite3_mprintf("SELECT %s FROM %s %s ORDER BY 1, 2, 3", cols,
                                table, where);
    char *rows = query_rows(db, sql);
    sqlite3_free(sql);
    return rows;
}

/* The query on profiling gives what the same query gives on full_scan. */
static void check_like_full_scan(sqlite3 *db, const char *where)
{
    static const char cols[] = "path, task_name, dag_name, run_id, "
                               "task_runtime, status";
    char *pushed = rows_of(db, "profiling", cols, where);
    char *full = rows_of(db, "full_scan", cols, where);
    if (strcmp(pushed, full) != 0)
        FAIL("%s\nprofiling gave:\n%s\nthe full scan filtered gave:\n%s",
             where, pushed, full);
    free(pushed);
    free(full);
}

/* idxNum of the plan SQLite picks for sql (-1 for no virtual table scan). */
static int plan_index(sqlite3 *db, const char *sql)
{
    char *eqp = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql);
    char *plan = query_rows(db, eqp);
    sqlite3_free(eqp);
    const char *at = strstr(plan, "VIRTUAL TABLE INDEX ");
    int idx = at ? atoi(at + strlen("VIRTUAL TABLE INDEX ")) : -1;
    free(plan);
    return idx;
}

/* Three DAGs, a few runs each, so filters have something to prune. */
static void three_dags(void)
{
    for (int run = 0; run < 3; run++) {
        run_dag(NULL, "alpha", 3, NULL);
        run_dag(NULL, "beta", 2, NULL);
    }
    run_dag(NULL, "gamma", 4, NULL);
}

static void page_task_1(daglib_context *ctx, int argc,
                        const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_value *list = daglib_value_new_list();
    for (int i = 1; i <= 3; i++)
        daglib_list_append_int(list, i);
    daglib_result_value(ctx, list);
}

static void page_task_2(daglib_context *ctx, int argc,
                        const daglib_value *const *argv)
{
    (void)argc;
    daglib_value *list = daglib_value_new_list();
    for (size_t i = 0; i < daglib_value_count(argv[0]); i++)
        daglib_list_append_int(
            list, 2 * daglib_value_int(daglib_value_item(argv[0], i)));
    daglib_result_value(ctx, list);
}

static void failing_task(daglib_context *ctx, int argc,
                         const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_result_error(ctx, "disk on fire");
}

/* The page's DAG, run once; its run id into run_id. */
static void run_page_example(char run_id[16])
{
    daglib_dag *dag =
        daglib_dag_new("example", "This is an example DAG", DAGLIB_PROFILE);
    daglib_task_add(dag, "task_1", "Do some stuff", page_task_1, NULL);
    daglib_task *t2 = daglib_task_add(dag, "task_2", "Do some other stuff",
                                      page_task_2, NULL);
    daglib_task_input(t2, "task_1");
    daglib_task_set_final(t2);
    daglib_value *finals = NULL;
    CHECK_OK(daglib_run(dag, &finals));
    daglib_value_free(finals);
    snprintf(run_id, 16, "%s", daglib_dag_run_id(dag));
    daglib_dag_free(dag);
}

/* ---- the columns ------------------------------------------------------------------ */

TEST(vtab_select_star_gives_the_page_columns_and_rows)
{
    char run_id[16];
    run_page_example(run_id);
    sqlite3 *db = open_metadb(NULL);
    sqlite3_stmt *stmt;
    CHECK(sqlite3_prepare_v2(db, "SELECT * FROM profiling ORDER BY task_name",
                             -1, &stmt, NULL) == SQLITE_OK);
    static const char *const names[] = {"dag_name",  "dag_description",
                                        "run_id",    "task_name",
                                        "task_description", "task_runtime"};
    CHECK_INT_EQ(sqlite3_column_count(stmt), 6);
    for (int i = 0; i < 6; i++)
        CHECK_STR_EQ(sqlite3_column_name(stmt, i), names[i]);
    static const char *const tasks[][2] = {{"task_1", "Do some stuff"},
                                           {"task_2", "Do some other stuff"}};
    for (int row = 0; row < 2; row++) {
        CHECK_INT_EQ(sqlite3_step(stmt), SQLITE_ROW);
        CHECK_STR_EQ((const char *)sqlite3_column_text(stmt, 0), "example");
        CHECK_STR_EQ((const char *)sqlite3_column_text(stmt, 1),
                     "This is an example DAG");
        CHECK_STR_EQ((const char *)sqlite3_column_text(stmt, 2), run_id);
        CHECK_STR_EQ((const char *)sqlite3_column_text(stmt, 3), tasks[row][0]);
        CHECK_STR_EQ((const char *)sqlite3_column_text(stmt, 4), tasks[row][1]);
        CHECK_INT_EQ(sqlite3_column_type(stmt, 5), SQLITE_FLOAT);
        double runtime = sqlite3_column_double(stmt, 5);
        CHECK(runtime >= 0 && runtime < 5);
    }
    CHECK_INT_EQ(sqlite3_step(stmt), SQLITE_DONE);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

TEST(vtab_hidden_columns_carry_times_status_attempts_worker_error_and_path)
{
    daglib_dag *dag = daglib_dag_new("hidden", "Hidden columns", DAGLIB_PROFILE);
    daglib_task_add(dag, "fine", "Works", quick_task, NULL);
    daglib_task_add(dag, "broken", "Fails", failing_task, NULL);
    daglib_task_input(daglib_task_add(dag, "never", "Skipped", quick_task, NULL),
                      "broken");
    daglib_dag_set_workers(dag, 2);
    CHECK_CODE(daglib_run(dag, NULL), DAGLIB_TASK_FAILED);
    char path[256];
    snprintf(path, sizeof path, "%s", daglib_dag_profile_path(dag));
    daglib_dag_free(dag);

    sqlite3 *db = open_metadb(NULL);
    char *rows = query_rows(
        db, "SELECT task_name, status, attempts, worker BETWEEN 0 AND 1, "
            "error, path, length(started_at), length(ended_at) "
            "FROM profiling ORDER BY task_name");
    char expected[1024];
    snprintf(expected, sizeof expected,
             "broken|failed|1|1|disk on fire|%s|27|27\n"
             "fine|ok|1|1|NULL|%s|27|27\n"
             "never|skipped|0|NULL|NULL|%s|NULL|NULL\n",
             path, path, path);
    CHECK_STR_EQ(rows, expected);
    free(rows);
    /* The times are UTC text that SQLite's date functions read, and a
     * task ends after it starts. */
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling WHERE "
                               "started_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-"
                               "[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]."
                               "[0-9][0-9][0-9][0-9][0-9][0-9]Z' "
                               "AND julianday(ended_at) >= julianday(started_at) "
                               "AND abs(julianday(started_at) - "
                               "julianday('now')) < 1"),
                 2);
    /* Hidden: SELECT * has six columns. */
    sqlite3_stmt *stmt;
    CHECK(sqlite3_prepare_v2(db, "SELECT * FROM profiling", -1, &stmt, NULL) ==
          SQLITE_OK);
    CHECK_INT_EQ(sqlite3_column_count(stmt), 6);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

TEST(vtab_host_names_the_machine_each_run_was_on)
{
    /* Runs of this machine say so; a file written before the field
     * existed (the Python original's layout) reads as ''. */
    run_dag(NULL, "here", 2, NULL);
    make_dirs("meta/profiling/legacy");
    write_avro("meta/profiling/legacy/run_5d508d060.avro", legacy_schema, 2,
               fill_legacy);
    char host[256] = "";
    CHECK(gethostname(host, sizeof host - 1) == 0);
    sqlite3 *db = open_metadb(NULL);
    char *rows = query_rows(db, "SELECT dag_name, host, count(*) FROM profiling "
                                "GROUP BY dag_name, host ORDER BY dag_name");
    char want[600];
    snprintf(want, sizeof want, "here|%s|2\nlegacy||2\n", host);
    CHECK_STR_EQ(rows, want);
    free(rows);
    /* Hidden: not among SELECT *'s columns. */
    sqlite3_stmt *stmt;
    CHECK(sqlite3_prepare_v2(db, "SELECT * FROM profiling", -1, &stmt, NULL) ==
          SQLITE_OK);
    CHECK_INT_EQ(sqlite3_column_count(stmt), 6);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

static void plus_one(daglib_context *ctx, int argc,
                     const daglib_value *const *argv)
{
    (void)argc;
    daglib_result_int(ctx, daglib_value_int(argv[0]) + 1);
}

TEST(vtab_task_and_instance_are_recorded_not_guessed)
{
    /* A mapped task's instances and a chunked task's chunks carry their
     * task and instance; a task merely named like an instance ("step 2")
     * is its own task, with no instance. */
    daglib_dag *dag = daglib_dag_new("kinds", NULL, DAGLIB_PROFILE);
    daglib_value *items = daglib_value_new_list();
    for (int i = 0; i < 3; i++)
        daglib_list_append_int(items, i);
    CHECK_OK(daglib_task_map_values(
        daglib_task_add(dag, "work", NULL, plus_one, NULL), items));
    daglib_value_free(items);
    daglib_task_add(dag, "step 2", NULL, page_task_1, NULL);
    CHECK_OK(daglib_task_set_chunks(
        daglib_task_add(dag, "parts", NULL, page_task_1, NULL), 2));
    CHECK_OK(daglib_run(dag, NULL));
    daglib_dag_free(dag);
    sqlite3 *db = open_metadb(NULL);
    char *rows = query_rows(db, "SELECT task_name, task, instance FROM profiling "
                                "ORDER BY task_name");
    /* The chunked task runs once, then hands out its chunks. */
    CHECK_STR_EQ(rows, "parts|parts|NULL\n"
                       "parts 0|parts|0\n"
                       "parts 1|parts|1\n"
                       "step 2|step 2|NULL\n"
                       "work 0|work|0\n"
                       "work 1|work|1\n"
                       "work 2|work|2\n");
    free(rows);
    /* The views of sql/ aggregate per task: work is one row of three. */
    char *views = test_read_file(test_source_path("sql/views.sql"), NULL);
    CHECK(views != NULL);
    exec_ok(db, views);
    free(views);
    rows = query_rows(db, "SELECT task, count, ok FROM task_stats ORDER BY task");
    CHECK_STR_EQ(rows, "parts|3|3\nstep 2|1|1\nwork|3|3\n");
    free(rows);
    sqlite3_close(db);
}

TEST(vtab_timestamps_are_utc_iso8601_with_microseconds)
{
    static const struct {
        int64_t us;
        const char *text;
    } cases[] = {
        {0, "1970-01-01T00:00:00.000000Z"},
        {1, "1970-01-01T00:00:00.000001Z"},
        {-1, "1969-12-31T23:59:59.999999Z"},
        {1700000000123456, "2023-11-14T22:13:20.123456Z"},
        {951782400000000, "2000-02-29T00:00:00.000000Z"},
        {4102444799999999, "2099-12-31T23:59:59.999999Z"},
        {-62135596800000000, "0001-01-01T00:00:00.000000Z"},
    };
    const int n = (int)(sizeof cases / sizeof cases[0]);
    profile_file *f = NULL;
    error_state err = ERROR_STATE_INIT;
    CHECK_OK(profile_file_create("meta", "times", "", "null", &f, &err));
    for (int i = 0; i <= n; i++) {
        char task[16];
        snprintf(task, sizeof task, "t%d", i);
        profile_record r = {
            .task_name = task,
            .task_name_len = strlen(task),
            .task_description = "",
            .started_at_us = i < n ? cases[i].us : PROFILE_NO_TIME,
            .ended_at_us = i < n ? cases[i].us : PROFILE_NO_TIME,
            .status = PROFILE_OK,
            .attempts = 1,
            .worker = PROFILE_NO_WORKER,
        };
        CHECK_OK(profile_file_append(f, &r, &err));
    }
    CHECK_OK(profile_file_close(f, &err));

    sqlite3 *db = open_metadb(NULL);
    for (int i = 0; i <= n; i++) {
        char *sql = sqlite3_mprintf(
            "SELECT started_at, ended_at, typeof(started_at) FROM profiling "
            "WHERE task_name = 't%d'", i);
        char *rows = query_rows(db, sql);
        char expected[128];
        if (i < n)
            snprintf(expected, sizeof expected, "%s|%s|text\n", cases[i].text,
                     cases[i].text);
        else
            snprintf(expected, sizeof expected, "NULL|NULL|null\n");
        CHECK_STR_EQ(rows, expected);
        free(rows);
        sqlite3_free(sql);
    }
    /* SQLite's date functions agree with the epoch value. */
    CHECK_INT_EQ(query_int(db, "SELECT CAST(round((julianday(started_at) - "
                               "2440587.5) * 86400) AS INTEGER) FROM profiling "
                               "WHERE task_name = 't3'"),
                 1700000000);
    sqlite3_close(db);
}

TEST(vtab_declared_types_suit_odbc_clients)
{
    run_dag(NULL, "types", 1, NULL);
    sqlite3 *db = open_metadb(NULL);
    char *rows = query_rows(db, "SELECT name, type, hidden FROM "
                                "pragma_table_xinfo('profiling')");
    CHECK_STR_EQ(rows, "dag_name|VARCHAR(128)|0\n"
                       "dag_description|TEXT|0\n"
                       "run_id|VARCHAR(13)|0\n"
                       "task_name|VARCHAR(255)|0\n"
                       "task_description|TEXT|0\n"
                       "task_runtime|DOUBLE|0\n"
                       "root||1\n"
                       "started_at|TIMESTAMP|1\n"
                       "ended_at|TIMESTAMP|1\n"
                       "status|VARCHAR(7)|1\n"
                       "attempts|INTEGER|1\n"
                       "worker|INTEGER|1\n"
                       "error|TEXT|1\n"
                       "host|VARCHAR(255)|1\n"
                       "task|VARCHAR(255)|1\n"
                       "instance|INTEGER|1\n"
                       "path|TEXT|1\n");
    free(rows);
    rows = query_rows(db, "SELECT name, type, hidden FROM "
                          "pragma_table_xinfo('profiling_files')");
    CHECK_STR_EQ(rows, "path|TEXT|0\n"
                       "dag_name|VARCHAR(128)|0\n"
                       "run_id|VARCHAR(13)|0\n"
                       "bytes|INTEGER|0\n"
                       "records|INTEGER|0\n"
                       "error|TEXT|0\n"
                       "root||1\n");
    free(rows);
    /* What a report groups by is VARCHAR, not a memo type. */
    sqlite3_stmt *stmt;
    CHECK(sqlite3_prepare_v2(db, "SELECT * FROM profiling", -1, &stmt, NULL) ==
          SQLITE_OK);
    CHECK_STR_EQ(sqlite3_column_decltype(stmt, 0), "VARCHAR(128)");
    CHECK_STR_EQ(sqlite3_column_decltype(stmt, 5), "DOUBLE");
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

/* ---- when and where it reads --------------------------------------------------------- */

TEST(vtab_reads_the_tree_again_at_each_query)
{
    sqlite3 *db = open_metadb(NULL);
    sqlite3_stmt *stmt;
    CHECK(sqlite3_prepare_v2(db, "SELECT count(*) FROM profiling", -1, &stmt,
                             NULL) == SQLITE_OK);
    for (int runs = 0; runs < 3; runs++) {
        CHECK_INT_EQ(sqlite3_step(stmt), SQLITE_ROW);
        CHECK_INT_EQ(sqlite3_column_int(stmt, 0), runs * 2);
        sqlite3_reset(stmt);
        run_dag(NULL, "again", 2, NULL); /* finishes between two queries */
    }
    sqlite3_finalize(stmt);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 6);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling_files"), 3);
    sqlite3_close(db);
}

TEST(vtab_root_argument_reads_another_root)
{
    run_dag(NULL, "here", 2, NULL);
    run_dag("elsewhere", "there", 3, NULL);
    sqlite3 *db = open_metadb(NULL);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 2);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling('elsewhere')"), 3);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling "
                               "WHERE root = 'elsewhere'"),
                 3);
    char *rows = query_rows(db, "SELECT DISTINCT dag_name, root FROM "
                                "profiling('elsewhere')");
    CHECK_STR_EQ(rows, "there|elsewhere\n");
    free(rows);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling('nowhere')"), 0);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling(NULL)"), 0);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM "
                               "profiling_files('elsewhere')"),
                 1);
    /* A root taken from another table: the plan waits for its value. */
    exec_ok(db, "CREATE TEMP TABLE roots(r); INSERT INTO roots VALUES "
                "('meta'), ('elsewhere'), ('nowhere')");
    rows = query_rows(db, "SELECT r, count(p.task_name) FROM roots "
                          "LEFT JOIN profiling(roots.r) p GROUP BY r ORDER BY r");
    CHECK_STR_EQ(rows, "elsewhere|3\nmeta|2\nnowhere|0\n");
    free(rows);
    sqlite3_close(db);
}

TEST(vtab_honours_daglib_meta_dir_at_each_query)
{
    run_dag("first", "one", 1, NULL);
    run_dag("second", "two", 2, NULL);
    sqlite3 *db = open_metadb(NULL);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 0);
    setenv("DAGLIB_META_DIR", "first", 1);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 1);
    setenv("DAGLIB_META_DIR", "second", 1);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 2);
    setenv("DAGLIB_META_DIR", "", 1); /* empty: the default */
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 0);
    unsetenv("DAGLIB_META_DIR");
    sqlite3_close(db);
}

/* ---- rowids ---------------------------------------------------------------------- */

TEST(vtab_rowids_are_unique_across_files)
{
    three_dags();
    sqlite3 *db = open_metadb(NULL);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 19);
    CHECK_INT_EQ(query_int(db, "SELECT count(DISTINCT rowid) FROM profiling"),
                 19);
    /* One file number per file, one record index per row of a file. */
    CHECK_INT_EQ(query_int(db, "SELECT count(DISTINCT rowid >> 32) "
                               "FROM profiling"),
                 7);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM (SELECT path, "
                               "count(DISTINCT rowid >> 32) AS n FROM profiling "
                               "GROUP BY path) WHERE n <> 1"),
                 0);
    sqlite3_close(db);
}

TEST(vtab_or_scans_agree_on_rowids_and_return_each_row_once)
{
    three_dags();
    char beta_run[16];
    run_dag(NULL, "beta", 2, beta_run);
    sqlite3 *db = open_metadb(NULL);
    snapshot_full_scan(db);
    char where[256];
    const char *const ors[] = {
        "WHERE dag_name = 'alpha' OR dag_name = 'beta'",
        "WHERE dag_name = 'alpha' OR task_name = 't3'",
        "WHERE dag_name = 'gamma' OR dag_name = 'gamma'",
        "WHERE dag_name IN ('alpha', 'gamma') OR dag_name = 'alpha'",
        "WHERE dag_name = 'alpha' OR run_id = (SELECT min(run_id) FROM full_scan)",
    };
    for (size_t i = 0; i < sizeof ors / sizeof ors[0]; i++)
        check_like_full_scan(db, ors[i]);
    /* Two scans of different directories: each numbers its files, and
     * the numbers must not collide when SQLite merges them by rowid. */
    snprintf(where, sizeof where,
             "WHERE dag_name = 'gamma' OR run_id = '%s'", beta_run);
    char *eqp = sqlite3_mprintf("EXPLAIN QUERY PLAN SELECT * FROM profiling %s",
                                where);
    char *plan = query_rows(db, eqp);
    CHECK_CONTAINS(plan, "MULTI-INDEX OR");
    free(plan);
    sqlite3_free(eqp);
    check_like_full_scan(db, where);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling WHERE "
                               "dag_name = 'gamma' OR run_id IN (SELECT run_id "
                               "FROM full_scan WHERE dag_name = 'beta')"),
                 4 + 8);
    /* The same row found by both terms comes once. */
    snprintf(where, sizeof where,
             "WHERE run_id = '%s' OR dag_name = 'beta' OR task_name = 't0'",
             beta_run);
    check_like_full_scan(db, where);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling WHERE "
                               "dag_name = 'beta' OR dag_name = 'beta' OR "
                               "task_name = 't1'"),
                 query_int(db, "SELECT count(*) FROM full_scan WHERE "
                               "dag_name = 'beta' OR task_name = 't1'"));
    /* Rowids of one statement also agree between a subquery and the
     * outer scan. */
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling WHERE rowid IN "
                               "(SELECT rowid FROM profiling WHERE "
                               "dag_name = 'alpha')"),
                 9);
    sqlite3_close(db);
}

/* ---- pushdown ------------------------------------------------------------------------- */

TEST(vtab_pushdown_gives_the_full_scan_filtered)
{
    three_dags();
    char alpha_run[16], gamma_run[16];
    run_dag(NULL, "alpha", 1, alpha_run);
    run_dag(NULL, "gamma", 1, gamma_run);
    /* A file whose name is not a run id is read under any run filter. */
    CHECK(test_system("cp meta/profiling/gamma/%s.avro "
                      "meta/profiling/gamma/copy.avro",
                      gamma_run) == 0);
    sqlite3 *db = open_metadb(NULL);
    snapshot_full_scan(db);
    char sql[512];
    const char *const wheres[] = {
        "",
        "WHERE dag_name = 'alpha'",
        "WHERE dag_name = 'nobody'",
        "WHERE dag_name IN ('alpha', 'gamma', 'alpha', NULL, 'nobody')",
        "WHERE dag_name IN (SELECT 'beta' UNION SELECT 'gamma')",
        "WHERE dag_name IN ()",
        "WHERE dag_name NOT IN ('alpha')",
        "WHERE dag_name = 'ALPHA' COLLATE NOCASE",
        "WHERE dag_name IN ('ALPHA', 'Gamma') COLLATE NOCASE",
        "WHERE dag_name = 'ALPHA'",
        "WHERE dag_name = NULL",
        "WHERE dag_name IS NULL",
        "WHERE dag_name LIKE 'a%'",
        "WHERE dag_name > 'alpha'",
        "WHERE dag_name = 'alpha' AND dag_name = 'beta'",
        "WHERE dag_name = 'alpha' AND task_name = 't0'",
        "WHERE dag_name = 1",
        "WHERE run_id = 'run_000000000'",
        "WHERE run_id = 'not a run'",
        "WHERE run_id = 'RUN_' || substr((SELECT min(run_id) FROM full_scan), 5)",
        "WHERE run_id = 'RUN_' || substr((SELECT min(run_id) FROM full_scan), 5)"
        " COLLATE NOCASE",
        "WHERE run_id IN (SELECT run_id FROM full_scan WHERE task_name = 't2')",
        "WHERE run_id IN (SELECT run_id FROM full_scan) AND dag_name = 'beta'",
        "WHERE dag_name = 'beta' AND run_id IN (SELECT max(run_id) FROM full_scan"
        " WHERE dag_name = 'beta')",
    };
    for (size_t i = 0; i < sizeof wheres / sizeof wheres[0]; i++)
        check_like_full_scan(db, wheres[i]);
    snprintf(sql, sizeof sql, "WHERE run_id = '%s'", alpha_run);
    check_like_full_scan(db, sql);
    snprintf(sql, sizeof sql, "WHERE run_id = '%s'", gamma_run); /* 2 files */
    check_like_full_scan(db, sql);
    snprintf(sql, sizeof sql, "WHERE run_id IN ('%s', '%s', 'x') AND "
                              "dag_name IN ('alpha', 'gamma')",
             alpha_run, gamma_run);
    check_like_full_scan(db, sql);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling WHERE "
                               "dag_name = 'alpha'"),
                 10);

    /* Joins: the inner scan gets each outer value. */
    static const char join[] =
        "SELECT p.path, p.task_name, v.column1 FROM (VALUES ('alpha'), "
        "('gamma'), ('ALPHA'), (NULL)) v JOIN %s p ON p.dag_name = v.column1 "
        "ORDER BY 1, 2, 3";
    snprintf(sql, sizeof sql, join, "profiling");
    char *pushed = query_rows(db, sql);
    snprintf(sql, sizeof sql, join, "full_scan");
    char *full = query_rows(db, sql);
    CHECK_STR_EQ(pushed, full);
    CHECK(strlen(pushed) > 0);
    free(pushed);
    free(full);
    static const char join_runs[] =
        "SELECT a.run_id, b.task_name FROM %s a JOIN %s b ON b.run_id = "
        "a.run_id AND b.dag_name = a.dag_name WHERE a.task_name = 't0' "
        "ORDER BY 1, 2";
    snprintf(sql, sizeof sql, join_runs, "profiling", "profiling");
    pushed = query_rows(db, sql);
    snprintf(sql, sizeof sql, join_runs, "full_scan", "full_scan");
    full = query_rows(db, sql);
    CHECK_STR_EQ(pushed, full);
    free(pushed);
    free(full);
    sqlite3_close(db);
}

/* The Python original's layout, with a run id that is not one of ours. */
TEST(vtab_pushdown_compares_numbers_as_sqlite_does)
{
    /* Which names equal a number depends on affinities: '123' equals 123
     * in `dag_name = 123`, '0123' too when the number has integer
     * affinity, and neither when it comes from a column without one.
     * Every form gives the native table's rows. */
    const char *const dags[] = {"123", "0123", "100", "1e2", "abc", " 123"};
    for (size_t i = 0; i < sizeof dags / sizeof dags[0]; i++)
        run_dag(NULL, dags[i], 2, NULL);
    sqlite3 *db = open_metadb(NULL);
    snapshot_full_scan(db);
    exec_ok(db, "CREATE TEMP TABLE plain(x); INSERT INTO plain VALUES (123);"
                "CREATE TEMP TABLE ints(x INTEGER);"
                "INSERT INTO ints VALUES (123), ('abc');"
                "CREATE TEMP TABLE reals(x REAL); INSERT INTO reals VALUES (100);"
                "CREATE TEMP TABLE texts(x TEXT); INSERT INTO texts VALUES (123);");
    const char *const wheres[] = {
        "WHERE dag_name IN (SELECT x FROM plain)",
        "WHERE dag_name IN (SELECT x FROM ints)",
        "WHERE dag_name IN (SELECT x FROM reals)",
        "WHERE dag_name IN (SELECT x FROM texts)",
        "WHERE dag_name = (SELECT x FROM ints LIMIT 1)",
        "WHERE dag_name = (SELECT x FROM plain)",
        "WHERE dag_name = 123",
        "WHERE dag_name = 100.0",
        "WHERE dag_name = 1e2",
        "WHERE dag_name = CAST('123' AS INTEGER)",
        "WHERE dag_name = CAST(' 123' AS NUMERIC)",
        "WHERE dag_name IN (123, '0123', 1e2)",
        "WHERE dag_name IN (CAST(123 AS INTEGER), 'abc')",
        "WHERE dag_name = x'313233'",
        "WHERE dag_name = '123'",
        "WHERE dag_name IN ('123', NULL)",
        "WHERE run_id = 123",
        "WHERE run_id IN (SELECT x FROM ints)",
    };
    for (size_t i = 0; i < sizeof wheres / sizeof wheres[0]; i++)
        check_like_full_scan(db, wheres[i]);
    sqlite3_close(db);
}

static void fill_odd_run(avro_value_t *record, int i)
{
    fill_legacy(record, i);
    set_string(record, "run_id", "nightly 7");
}

TEST(vtab_pushdown_checks_each_records_own_names)
{
    char alpha_run[16];
    run_dag(NULL, "alpha", 2, alpha_run);
    run_dag(NULL, "beta", 3, NULL);
    /* Misfiled by hand: alpha's records under beta, in a file named after
     * alpha's run; and a run id no file name can carry. */
    CHECK(test_system("cp meta/profiling/alpha/%s.avro meta/profiling/beta/",
                      alpha_run) == 0);
    make_dirs("meta/profiling/legacy");
    write_avro("meta/profiling/legacy/odd.avro", legacy_schema, 2, fill_odd_run);
    sqlite3 *db = open_metadb(NULL);
    snapshot_full_scan(db);
    char sql[256];
    const char *const wheres[] = {
        "WHERE dag_name = 'beta'",
        "WHERE dag_name IN ('beta', 'legacy')",
        "WHERE run_id = 'nightly 7'",
        "WHERE run_id IN ('nightly 7', 'nightly 8') AND dag_name = 'legacy'",
        "WHERE dag_name = CAST('beta' AS BLOB)",
        "WHERE run_id = CAST('nightly 7' AS BLOB)",
    };
    for (size_t i = 0; i < sizeof wheres / sizeof wheres[0]; i++)
        check_like_full_scan(db, wheres[i]);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM profiling WHERE dag_name = 'beta' AND "
             "run_id = '%s'",
             alpha_run);
    CHECK_INT_EQ(query_int(db, sql), 0); /* the file is opened, its rows not */
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling WHERE "
                               "dag_name = 'beta'"),
                 3);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling WHERE "
                               "run_id = 'nightly 7'"),
                 2);
    sqlite3_close(db);
}

TEST(vtab_plans_push_down_only_binary_equality_and_in)
{
    run_dag(NULL, "alpha", 1, NULL);
    sqlite3 *db = open_metadb(NULL);
    const int plan_bits = 0xff;
    CHECK_INT_EQ(plan_index(db, "SELECT * FROM profiling") & plan_bits, 0);
    CHECK_INT_EQ(plan_index(db, "SELECT * FROM profiling WHERE dag_name = 'a'") &
                     plan_bits,
                 0x02);
    CHECK_INT_EQ(plan_index(db, "SELECT * FROM profiling WHERE run_id = 'a'") &
                     plan_bits,
                 0x08);
    CHECK_INT_EQ(plan_index(db, "SELECT * FROM profiling('r') WHERE "
                                "dag_name = 'a' AND run_id = 'b'") &
                     plan_bits,
                 0x0b);
    /* IN lists are read whole through sqlite3_vtab_in (SQLite >= 3.38). */
    int in_bit = sqlite3_libversion_number() >= 3038000 ? 0x04 : 0;
    CHECK_INT_EQ(plan_index(db, "SELECT * FROM profiling WHERE "
                                "dag_name IN ('a', 'b')") &
                     plan_bits,
                 0x02 | in_bit);
    CHECK_INT_EQ(plan_index(db, "SELECT * FROM profiling WHERE "
                                "run_id IN ('a', 'b')") &
                     plan_bits,
                 0x08 | (in_bit << 2));
    /* Any other collation, and any other operator, is left to SQLite. */
    CHECK_INT_EQ(plan_index(db, "SELECT * FROM profiling WHERE "
                                "dag_name = 'A' COLLATE NOCASE") &
                     plan_bits,
                 0);
    CHECK_INT_EQ(plan_index(db, "SELECT * FROM profiling WHERE "
                                "run_id = 'A' COLLATE RTRIM") &
                     plan_bits,
                 0);
    CHECK_INT_EQ(plan_index(db, "SELECT * FROM profiling WHERE "
                                "dag_name LIKE 'a%' OR dag_name > 'b'") &
                     plan_bits,
                 0);
    sqlite3_close(db);
}

TEST(vtab_plans_ask_the_reader_only_for_the_columns_used)
{
    run_dag(NULL, "alpha", 1, NULL);
    sqlite3 *db = open_metadb(NULL);
#define WANTED(sql) (plan_index(db, sql) >> 8)
    CHECK_INT_EQ(WANTED("SELECT count(*) FROM profiling"), 0);
    CHECK_INT_EQ(WANTED("SELECT avg(task_runtime) FROM profiling"), 1 << 5);
    CHECK_INT_EQ(WANTED("SELECT * FROM profiling"), 0x3f);
    CHECK_INT_EQ(WANTED("SELECT path, root FROM profiling"), 0);
    CHECK_INT_EQ(WANTED("SELECT task_name FROM profiling WHERE "
                        "dag_name = 'alpha'"),
                 (1 << 0) | (1 << 3));
    CHECK_INT_EQ(WANTED("SELECT started_at, error FROM profiling"),
                 (1 << 6) | (1 << 11));
    CHECK_INT_EQ(WANTED("SELECT started_at, ended_at, status, attempts, worker, "
                        "error FROM profiling"),
                 0xfc0);
#undef WANTED
    /* And what is not asked for is never shown stale. */
    char *rows = query_rows(db, "SELECT task_name, worker IS NOT NULL, "
                                "status FROM profiling");
    CHECK_STR_EQ(rows, "t0|1|ok\n");
    free(rows);
    sqlite3_close(db);
}

TEST(vtab_pushdown_opens_only_the_matching_directory_and_file)
{
    capture_sqlite_log();
    char alpha_run[16];
    run_dag(NULL, "alpha", 2, alpha_run);
    run_dag(NULL, "alpha", 2, NULL);
    run_dag(NULL, "beta", 2, NULL);
    /* A broken file in each DAG directory: reading it logs a warning, so
     * the log shows which files a query opened. */
    test_write_file("meta/profiling/alpha/run_000000000.avro", "junk", 4);
    test_write_file("meta/profiling/beta/run_000000000.avro", "junk", 4);
    sqlite3 *db = open_metadb(NULL);

    clear_log();
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 6);
    CHECK_INT_EQ(the_log()->warnings, 2);

    clear_log();
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling "
                               "WHERE dag_name = 'beta'"),
                 2);
    CHECK_INT_EQ(the_log()->warnings, 1);
    CHECK_CONTAINS(the_log()->text, "meta/profiling/beta/run_000000000.avro");

    char sql[256];
    clear_log();
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM profiling WHERE run_id = '%s'", alpha_run);
    CHECK_INT_EQ(query_int(db, sql), 2);
    CHECK_INT_EQ(the_log()->warnings, 0);

    clear_log();
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling "
                               "WHERE dag_name IN ('alpha', 'nobody')"),
                 4);
    CHECK_INT_EQ(the_log()->warnings, 1);
    CHECK_CONTAINS(the_log()->text, "meta/profiling/alpha/run_000000000.avro");

    clear_log();
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling "
                               "WHERE dag_name = 'BETA' COLLATE NOCASE"),
                 2);
    CHECK_INT_EQ(the_log()->warnings, 2); /* not pushed down: every file */
    sqlite3_close(db);
}

TEST(vtab_unsafe_names_and_bad_run_ids_match_nothing)
{
    capture_sqlite_log();
    run_dag(NULL, "alpha", 2, NULL);
    /* Files a path built from the value would reach. */
    CHECK(test_system("cp meta/profiling/alpha/*.avro meta/") == 0); /* .. */
    make_dirs("meta/profiling/a/b");
    CHECK(test_system("cp meta/profiling/alpha/*.avro meta/profiling/a/b/") == 0);
    CHECK(test_system("cp meta/profiling/alpha/*.avro meta/profiling/") == 0);
    make_dirs("meta/profiling/.hidden");
    CHECK(test_system("cp meta/profiling/alpha/*.avro meta/profiling/.hidden/") ==
          0);
    sqlite3 *db = open_metadb(NULL);
    clear_log();
    const char *const values[] = {"..", ".", "", "a/b", "../profiling/alpha",
                                  "alpha/", "/", ".hidden", "alpha\n"};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char *sql = sqlite3_mprintf(
            "SELECT count(*) FROM profiling WHERE dag_name = %Q", values[i]);
        CHECK_INT_EQ(query_int(db, sql), 0);
        sqlite3_free(sql);
    }
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling WHERE dag_name "
                               "= 'alpha' || char(0) || 'x'"),
                 0);
    const char *const runs[] = {"../alpha", "run_", "run_00000000g",
                                "RUN_000000000", "run_0000000000", ""};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        char *sql = sqlite3_mprintf(
            "SELECT count(*) FROM profiling WHERE run_id = %Q", runs[i]);
        CHECK_INT_EQ(query_int(db, sql), 0);
        sqlite3_free(sql);
    }
    if (the_log()->warnings != 0)
        FAIL("%s", the_log()->text);
    /* Only alpha's file is read at all; the rest is listed as unread. */
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 2);
    char *listed = query_rows(
        db, "SELECT iif(path GLOB '*/run_*', 'run_*', substr(path, 16)), "
            "dag_name, error FROM profiling_files "
            "WHERE error IS NOT NULL ORDER BY path");
    CHECK_STR_EQ(listed,
                 ".hidden|NULL|not a DAG directory: DAG name '.hidden' starts "
                 "with '.': it would be a hidden or special directory\n"
                 "a/b|a|not a profiling file: the name does not end in .avro\n"
                 "run_*|NULL|not a DAG directory: a regular file\n");
    free(listed);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling_files "
                               "WHERE error IS NULL"),
                 1);
    sqlite3_close(db);
}

/* ---- never fatal ------------------------------------------------------------------- */

TEST(vtab_missing_root_and_empty_directories_are_empty_tables)
{
    capture_sqlite_log();
    char cwd[1024];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    char expected[4096];
    sqlite3 *db = open_metadb(NULL);
    /* No root yet, the state of a new project: no rows, and one row of
     * profiling_files and one warning per query saying where it looked. */
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 0);
    CHECK_INT_EQ(the_log()->warnings, 1);
    CHECK_CONTAINS(the_log()->text, "does not exist");
    char *rows = query_rows(db, "SELECT * FROM profiling_files");
    snprintf(expected, sizeof expected,
             "%s/meta|NULL|NULL|NULL|NULL|the metadata root does not exist "
             "(no DAG has been run with it yet)\n",
             cwd);
    CHECK_STR_EQ(rows, expected);
    free(rows);
    /* A root without a profiling directory: no run recorded there yet. */
    make_dirs("meta");
    clear_log();
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 0);
    CHECK_INT_EQ(the_log()->warnings, 1);
    rows = query_rows(db, "SELECT path, error FROM profiling_files");
    snprintf(expected, sizeof expected,
             "%s/meta/profiling|no profiling directory: no profiled run has "
             "been recorded under this root yet\n",
             cwd);
    CHECK_STR_EQ(rows, expected);
    free(rows);
    /* Empty DAG directories: nothing to say. */
    make_dirs("meta/profiling/empty");
    make_dirs("meta/profiling/also_empty");
    clear_log();
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 0);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling_files"), 0);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling "
                               "WHERE dag_name = 'empty'"),
                 0);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling "
                               "WHERE run_id = 'run_000000000'"),
                 0);
    CHECK_INT_EQ(the_log()->warnings, 0);
    /* A root that is a file is reported, not fatal; so is a relative
     * root argument, by its absolute path. */
    test_write_file("not_a_dir", "x", 1);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling('not_a_dir')"), 0);
    CHECK_INT_EQ(the_log()->warnings, 1);
    rows = query_rows(db, "SELECT path, error FROM profiling_files('not_a_dir')"
                          " UNION ALL "
                          "SELECT path, error FROM profiling_files('no/root')");
    snprintf(expected, sizeof expected,
             "%s/not_a_dir|the metadata root is not a directory\n"
             "%s/no/root|the metadata root does not exist (no DAG has been "
             "run with it yet)\n",
             cwd, cwd);
    CHECK_STR_EQ(rows, expected);
    free(rows);
    sqlite3_close(db);
}

TEST(vtab_every_entry_that_is_not_a_profile_is_listed_with_its_reason)
{
    capture_sqlite_log();
    write_profile("meta", "good", 2, 2, NULL, 0);
    make_dirs("meta/profiling/good/old");
    test_write_file("meta/profiling/good/notes.txt", "x", 1);
    test_write_file("meta/profiling/good/.run_000000000.avro", "x", 1);
    test_write_file("meta/profiling/stray.avro", "x", 1);
    make_dirs("meta/profiling/.git");
    CHECK(mkfifo("meta/profiling/pipe", 0600) == 0);
    sqlite3 *db = open_metadb(NULL);
    clear_log();
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 2);
    CHECK_INT_EQ(the_log()->warnings, 6);
    char *rows = query_rows(db, "SELECT substr(path, 16), dag_name, bytes, "
                                "error FROM profiling_files "
                                "WHERE error IS NOT NULL ORDER BY path");
    CHECK_STR_EQ(rows,
                 ".git|NULL|NULL|not a DAG directory: DAG name '.git' starts "
                 "with '.': it would be a hidden or special directory\n"
                 "good/.run_000000000.avro|good|1|not a profiling file: a "
                 "hidden name\n"
                 "good/notes.txt|good|1|not a profiling file: the name does "
                 "not end in .avro\n"
                 "good/old|good|NULL|not a profiling file: the name does not "
                 "end in .avro\n"
                 "pipe|NULL|NULL|not a DAG directory: a FIFO\n"
                 "stray.avro|NULL|NULL|not a DAG directory: a regular file\n");
    free(rows);
    /* A filter asks only for what can hold its rows: nothing to report. */
    clear_log();
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling "
                               "WHERE dag_name = 'good'"),
                 2);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling "
                               "WHERE run_id = 'run_000000000'"),
                 0);
    CHECK_INT_EQ(the_log()->warnings, 0);
    sqlite3_close(db);
}

/* Run body in a child process as the user nobody when this one is root:
 * root may read whatever the permissions say, so only another user meets
 * what they deny.  The test fails with the child. */
static void as_nobody(void (*body)(void))
{
    CHECK(chmod(".", 0755) == 0); /* the test's directory, reachable */
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0 &&
            (setgroups(0, NULL) != 0 || setgid(65534) != 0 ||
             setuid(65534) != 0))
            FAIL("cannot become nobody: %s", strerror(errno));
        CHECK(geteuid() != 0);
        body();
        exit(0);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        FAIL("the child failed (wait status %d)", status);
}

static void query_unreadable_dag_directories(void)
{
    sqlite3 *db = open_metadb(NULL);
    clear_log();
    /* The query succeeds with what can be read, and logs the rest. */
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 2);
    const char *const logged[] = {"no_read", "no_search: cannot search",
                                  "no_search/run_", "no_search_empty",
                                  "secret/run_"};
    for (size_t i = 0; i < sizeof logged / sizeof logged[0]; i++)
        CHECK_CONTAINS(the_log()->text, logged[i]);
    if (the_log()->warnings != 5)
        FAIL("%d warnings, not 5:\n%s", the_log()->warnings, the_log()->text);
    char *rows = query_rows(
        db, "SELECT iif(path GLOB '*/run_*', dag_name || '/run_*', "
            "substr(path, 16)), dag_name, run_id IS NOT NULL, "
            "coalesce(error, 'ok') FROM profiling_files ORDER BY path");
    CHECK_STR_EQ(
        rows,
        "no_read|no_read|0|cannot open the directory: Permission denied\n"
        "no_search|no_search|0|cannot search the directory: Permission "
        "denied\n"
        "no_search/run_*|no_search|1|cannot stat the file: Permission denied\n"
        "no_search_empty|no_search_empty|0|cannot search the directory: "
        "Permission denied\n"
        "readable/run_*|readable|1|ok\n"
        "secret/run_*|secret|1|cannot open: Permission denied\n");
    free(rows);
    sqlite3_close(db);
}

TEST(vtab_dag_directories_and_files_a_user_cannot_read_are_listed)
{
    capture_sqlite_log();
    char secret[256];
    write_profile("meta", "readable", 2, 2, NULL, 0);
    write_profile("meta", "no_search", 2, 2, NULL, 0);
    write_profile("meta", "no_read", 2, 2, NULL, 0);
    write_profile("meta", "secret", 2, 2, secret, sizeof secret);
    make_dirs("meta/profiling/no_search_empty");
    CHECK(chmod("meta/profiling/no_search", 0644) == 0); /* r, no x */
    CHECK(chmod("meta/profiling/no_search_empty", 0644) == 0);
    CHECK(chmod("meta/profiling/no_read", 0311) == 0); /* x, no r */
    CHECK(chmod(secret, 0200) == 0);
    as_nobody(query_unreadable_dag_directories);
}

static void query_unreadable_roots(void)
{
    char cwd[1024], expected[4096];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    sqlite3 *db = open_metadb(NULL);
    const char *const roots[] = {"locked", "closed", "half_open"};
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
        char *sql = sqlite3_mprintf("SELECT count(*) FROM profiling(%Q)",
                                    roots[i]);
        clear_log();
        CHECK_INT_EQ(query_int(db, sql), 0);
        CHECK_INT_EQ(the_log()->warnings, i < 2 ? 1 : 2);
        sqlite3_free(sql);
    }
    char *rows = query_rows(
        db, "SELECT path, error FROM profiling_files('locked') UNION ALL "
            "SELECT path, error FROM profiling_files('closed') UNION ALL "
            "SELECT path, error FROM profiling_files('half_open')");
    snprintf(expected, sizeof expected,
             "%s/locked|cannot search the metadata root: Permission denied\n"
             "%s/closed/profiling|cannot open the profiling directory: "
             "Permission denied\n"
             "half_open/profiling|cannot search the directory: Permission "
             "denied\n"
             "half_open/profiling/etl|cannot open the directory: Permission "
             "denied\n",
             cwd, cwd);
    CHECK_STR_EQ(rows, expected);
    free(rows);
    sqlite3_close(db);
}

TEST(vtab_a_root_a_user_cannot_read_is_listed)
{
    capture_sqlite_log();
    write_profile("locked", "etl", 1, 1, NULL, 0);
    write_profile("closed", "etl", 1, 1, NULL, 0);
    write_profile("half_open", "etl", 1, 1, NULL, 0);
    CHECK(chmod("locked", 0644) == 0);            /* no search */
    CHECK(chmod("closed/profiling", 0) == 0);     /* nothing */
    CHECK(chmod("half_open/profiling", 0644) == 0); /* list, no search */
    as_nobody(query_unreadable_roots);
}

/* Lower the descriptor limit to `free_fds` above the lowest free one,
 * step sql once, and restore it.  The step's code; the message into msg. */
static int step_with_descriptors(sqlite3 *db, const char *sql, int free_fds,
                                 int64_t *value, char *msg, size_t msg_size)
{
    sqlite3_stmt *stmt = NULL;
    CHECK(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK);
    int lowest = dup(0);
    CHECK(lowest >= 0);
    close(lowest);
    struct rlimit saved, lowered;
    CHECK(getrlimit(RLIMIT_NOFILE, &saved) == 0);
    lowered = saved;
    lowered.rlim_cur = (rlim_t)(lowest + free_fds);
    CHECK(setrlimit(RLIMIT_NOFILE, &lowered) == 0);
    int rc = sqlite3_step(stmt);
    CHECK(setrlimit(RLIMIT_NOFILE, &saved) == 0);
    *value = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
    snprintf(msg, msg_size, "%s", sqlite3_errmsg(db));
    sqlite3_finalize(stmt);
    return rc;
}

TEST(vtab_running_out_of_descriptors_fails_the_query_never_a_directory)
{
    capture_sqlite_log();
    write_profile("meta", "alpha", 2, 2, NULL, 0);
    write_profile("meta", "beta", 3, 3, NULL, 0);
    sqlite3 *db = open_metadb(NULL);
    const char *const sql[] = {"SELECT count(*) FROM profiling",
                               "SELECT count(*) FROM profiling_files"};
    const int64_t all[] = {5, 2};
    for (size_t q = 0; q < 2; q++) {
        int failures = 0;
        /* With none, one (the profiling directory's), ... free. */
        for (int free_fds = 0; free_fds <= 6; free_fds++) {
            int64_t value;
            char msg[512];
            int rc = step_with_descriptors(db, sql[q], free_fds, &value, msg,
                                           sizeof msg);
            if (rc == SQLITE_ROW) {
                /* The walk went through; a file the reader could not
                 * open is logged and listed as such. */
                CHECK(value <= all[q]);
                continue;
            }
            if (rc != SQLITE_ERROR)
                FAIL("%s with %d free descriptors: code %d, %s", sql[q],
                     free_fds, rc, msg);
            CHECK_CONTAINS(msg, "Too many open files");
            failures++;
        }
        /* No descriptor, and one for the directory but none to list it
         * (dup) or open a DAG directory: the walk's own failures. */
        CHECK(failures >= 2);
        int64_t value;
        char msg[512];
        CHECK_INT_EQ(step_with_descriptors(db, sql[q], 16, &value, msg,
                                           sizeof msg),
                     SQLITE_ROW);
        CHECK_INT_EQ(value, all[q]);
    }
    sqlite3_close(db);
}

TEST(vtab_problem_files_are_skipped_logged_and_listed)
{
    capture_sqlite_log();
    char good[256], multi[256];
    write_profile("meta", "ok", 3, 3, good, sizeof good);
    write_profile("meta", "ok", 20, 5, multi, sizeof multi);
    /* A truncated copy: the cut falls inside the last of four blocks. */
    size_t len = 0;
    char *bytes = test_read_file(multi, &len);
    CHECK(bytes != NULL && len > 40);
    test_write_file("meta/profiling/ok/truncated.avro", bytes, len - 7);
    free(bytes);
    test_write_file("meta/profiling/ok/zero.avro", "", 0);
    char noise[4096];
    for (size_t i = 0; i < sizeof noise; i++)
        noise[i] = (char)(i * 7919 + 13);
    test_write_file("meta/profiling/ok/random.avro", noise, sizeof noise);
    write_avro("meta/profiling/ok/other.avro",
               "{\"type\":\"record\",\"name\":\"other\",\"fields\":"
               "[{\"name\":\"x\",\"type\":\"int\"}]}",
               3, fill_other);
    CHECK(mkfifo("meta/profiling/ok/pipe.avro", 0600) == 0);
    make_dirs("meta/profiling/ok/dir.avro");
    /* Links out of the root: to a directory of good files and to a file. */
    write_profile("outside", "linked", 4, 4, NULL, 0);
    CHECK(symlink("../../outside/profiling/linked", "meta/profiling/linked") == 0);
    CHECK(test_system("cp outside/profiling/linked/*.avro outside/target.avro") ==
          0);
    CHECK(symlink("../../../outside/target.avro",
                  "meta/profiling/ok/link.avro") == 0);

    sqlite3 *db = open_metadb(NULL);
    clear_log();
    int64_t rows = query_int(db, "SELECT count(*) FROM profiling");
    /* 3 + 20, and the truncated copy's three whole blocks. */
    CHECK_INT_EQ(rows, 3 + 20 + 15);
    const char *const problems[] = {"truncated.avro", "zero.avro",
                                    "random.avro",    "other.avro",
                                    "pipe.avro",      "dir.avro",
                                    "link.avro",      "profiling/linked"};
    for (size_t i = 0; i < sizeof problems / sizeof problems[0]; i++)
        CHECK_CONTAINS(the_log()->text, problems[i]);
    if (the_log()->warnings != 8)
        FAIL("%d warnings, not 8:\n%s", the_log()->warnings, the_log()->text);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling "
                               "WHERE dag_name = 'linked'"),
                 0);

    char *listed = query_rows(db, "SELECT substr(path, 16), dag_name, "
                                  "run_id IS NOT NULL, bytes IS NOT NULL, "
                                  "records, error IS NULL FROM profiling_files "
                                  "ORDER BY path");
    char expected[1024];
    snprintf(expected, sizeof expected,
             "linked|linked|0|0|NULL|0\n"
             "ok/dir.avro|ok|0|0|0|0\n"
             "ok/link.avro|ok|0|0|0|0\n"
             "ok/other.avro|ok|0|1|0|0\n"
             "ok/pipe.avro|ok|0|0|0|0\n"
             "ok/random.avro|ok|0|1|0|0\n"
             "%s|ok|1|1|%d|1\n"
             "%s|ok|1|1|%d|1\n"
             "ok/truncated.avro|ok|0|1|%lld|0\n"
             "ok/zero.avro|ok|0|1|0|0\n",
             strcmp(good, multi) < 0 ? good + 15 : multi + 15,
             strcmp(good, multi) < 0 ? 3 : 20,
             strcmp(good, multi) < 0 ? multi + 15 : good + 15,
             strcmp(good, multi) < 0 ? 20 : 3, (long long)(rows - 23));
    CHECK_STR_EQ(listed, expected);
    free(listed);
    CHECK_INT_EQ(query_int(db, "SELECT bytes FROM profiling_files "
                               "WHERE path LIKE '%zero.avro'"),
                 0);
    CHECK_INT_EQ(query_int(db, "SELECT bytes FROM profiling_files "
                               "WHERE path LIKE '%random.avro'"),
                 4096);
    char *errors = query_rows(db, "SELECT error FROM profiling_files "
                                  "WHERE error IS NOT NULL ORDER BY path");
    CHECK_CONTAINS(errors, "symbolic link");
    CHECK_CONTAINS(errors, "not a regular file");
    free(errors);
    /* Nothing outside the root was touched or read. */
    CHECK(access("outside/target.avro", F_OK) == 0);
    sqlite3_close(db);
}

TEST(vtab_tails_without_a_sync_marker_add_no_rows)
{
    /* A file of two whole blocks (runtimes 0.5 .. 9.5), then what a power
     * loss can leave: a block header claiming 5 records and zeros where
     * they should be.  The zeros would decode as 5 records with empty
     * names, runtime 0 and status ok; none of them is a row, in any
     * aggregate, and profiling_files says what follows the last block. */
    char path[256];
    write_profile("meta", "power", 10, 5, path, sizeof path);
    size_t len = 0;
    char *bytes = test_read_file(path, &len);
    CHECK(bytes != NULL);
    static const unsigned char header[] = {
        0x0a,      /* 5 records (zig-zag varint) */
        0xbe, 0x01 /* in 95 bytes */
    };
    char *longer = calloc(1, len + sizeof header + 60);
    CHECK(longer != NULL);
    memcpy(longer, bytes, len);
    memcpy(longer + len, header, sizeof header);
    test_write_file(path, longer, len + sizeof header + 60);
    free(longer);
    free(bytes);
    sqlite3 *db = open_metadb(NULL);
    char *got = query_rows(db, "SELECT count(*), sum(task_runtime), "
                               "count(*) FILTER (WHERE status = 'ok'), "
                               "count(*) FILTER (WHERE task_name = '') "
                               "FROM profiling");
    CHECK_STR_EQ(got, "10|50.0|10|0\n");
    free(got);
    char *files = query_rows(db, "SELECT records, error IS NOT NULL "
                                 "FROM profiling_files");
    CHECK_STR_EQ(files, "10|1\n");
    free(files);
    sqlite3_close(db);
}

TEST(vtab_a_schema_number_beyond_a_double_is_one_unreadable_file)
{
    /* JSON allows 1e999; jansson, and so avro-c, refuse it.  Such a
     * header once read as memory running out, which fails a scan: one
     * file failed every query over its tree.  It is one unreadable file,
     * named in profiling_files, and the others' rows come back. */
    write_profile("meta", "good", 10, 5, NULL, 0);
    make_dirs("meta/profiling/odd");
    bytes odd = {0};
    put_header(&odd,
               "{\"type\":\"record\",\"name\":\"tprofile\",\"fields\":"
               "[{\"name\":\"dag_name\",\"type\":\"string\","
               "\"default\":1e999}]}",
               "null");
    write_crafted("meta/profiling/odd/run_000000000.avro", &odd);
    sqlite3 *db = open_metadb(NULL);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 10);
    char *files = query_rows(db, "SELECT dag_name, records, error "
                                 "FROM profiling_files ORDER BY dag_name");
    CHECK_CONTAINS(files, "good|10|NULL\n");
    CHECK_CONTAINS(files, "odd|0|");
    CHECK_CONTAINS(files, "a number too large for a double");
    free(files);
    sqlite3_close(db);
}

TEST(vtab_count_trusts_whole_blocks_where_select_stops_at_a_damaged_record)
{
    /* Two blocks of 5 records; in the second, record t7's task_name gets
     * a negative length: its block still ends with the sync marker, so
     * the block is whole and its header says 5 records, but only t5 and
     * t6 decode.  A query that reads records gets the 7 rows; count(*),
     * which reads none, counts the 10 the whole blocks claim, as Avro's
     * tools count; profiling_files says the file stopped early. */
    char path[256];
    write_profile("meta", "damaged", 10, 5, path, sizeof path);
    size_t len = 0;
    char *bytes = test_read_file(path, &len);
    CHECK(bytes != NULL);
    char *name = memmem(bytes, len, "\x04t7", 3);
    CHECK(name != NULL);
    *name = 0x01; /* zig-zag -1 */
    test_write_file(path, bytes, len);
    free(bytes);
    sqlite3 *db = open_metadb(NULL);
    CHECK_INT_EQ(query_int(db, "SELECT sum(1) FROM profiling "
                               "WHERE task_runtime >= 0"),
                 7);
    CHECK_INT_EQ(query_int(db, "SELECT count(task_name) FROM profiling"), 7);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 10);
    CHECK_INT_EQ(query_int(db, "SELECT count(rowid) FROM profiling"), 10);
    char *rows = query_rows(db, "SELECT count(*), count(DISTINCT rowid), "
                                "max(rowid & 0xffffffff) FROM profiling "
                                "GROUP BY path");
    CHECK_STR_EQ(rows, "10|10|9\n");
    free(rows);
    char *damaged = query_rows(db, "SELECT records, error IS NOT NULL "
                                   "FROM profiling_files");
    CHECK_STR_EQ(damaged, "7|1\n");
    free(damaged);
    /* Cut inside the second block: neither counts a record of it. */
    bytes = test_read_file(path, &len);
    CHECK(bytes != NULL);
    test_write_file(path, bytes, len - 3);
    free(bytes);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 5);
    CHECK_INT_EQ(query_int(db, "SELECT count(task_name) FROM profiling"), 5);
    char *files = query_rows(db, "SELECT records, error IS NOT NULL "
                                 "FROM profiling_files");
    CHECK_STR_EQ(files, "5|1\n");
    free(files);
    sqlite3_close(db);
}

TEST(vtab_file_being_written_shows_what_is_flushed)
{
    capture_sqlite_log();
    profile_file *f = NULL;
    error_state err = ERROR_STATE_INIT;
    CHECK_OK(profile_file_create("meta", "live", "Running", "null", &f, &err));
    char path[256];
    snprintf(path, sizeof path, "%s", profile_file_path(f));
    sqlite3 *db = open_metadb(NULL);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 0);
    for (int i = 0; i < 5; i++) {
        char task[16];
        snprintf(task, sizeof task, "t%d", i);
        profile_record r = {.task_name = task,
                            .task_name_len = strlen(task),
                            .task_description = "",
                            .started_at_us = PROFILE_NO_TIME,
                            .ended_at_us = PROFILE_NO_TIME,
                            .attempts = 1,
                            .worker = 0};
        CHECK_OK(profile_file_append(f, &r, &err));
        if (i % 2 == 1)
            CHECK_OK(profile_file_flush(f, &err));
        CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"),
                     (i + 1) / 2 * 2);
    }
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling_files "
                               "WHERE error IS NULL"),
                 1);
    /* A torn block at the end, as a writer caught half way leaves it. */
    int fd = open(path, O_WRONLY | O_APPEND);
    CHECK(fd >= 0);
    CHECK(write(fd, "\x0a\x80\x01" "abc", 6) == 6);
    close(fd);
    clear_log();
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 4);
    CHECK_INT_EQ(the_log()->warnings, 1);
    CHECK_INT_EQ(query_int(db, "SELECT records FROM profiling_files "
                               "WHERE error IS NOT NULL"),
                 4);
    CHECK_OK(profile_file_close(f, &err));
    sqlite3_close(db);
}

TEST(vtab_reads_the_python_originals_layout_with_defaults)
{
    make_dirs("meta/profiling/legacy");
    write_avro("meta/profiling/legacy/run_5d508d060.avro", legacy_schema, 2,
               fill_legacy);
    sqlite3 *db = open_metadb(NULL);
    char *rows = query_rows(db, "SELECT * FROM profiling ORDER BY task_name");
    CHECK_STR_EQ(rows, "legacy|From Python|run_5d508d060|task_1|Old|1.5\n"
                       "legacy|From Python|run_5d508d060|task_2|Old|0.25\n");
    free(rows);
    rows = query_rows(db, "SELECT started_at, ended_at, status, attempts, "
                          "worker, error FROM profiling");
    CHECK_STR_EQ(rows, "NULL|NULL|ok|1|NULL|NULL\nNULL|NULL|ok|1|NULL|NULL\n");
    free(rows);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling_files "
                               "WHERE error IS NULL"),
                 1);
    sqlite3_close(db);
}

TEST(vtab_profiling_files_flags_records_that_disagree_with_their_path)
{
    char run_id[16];
    run_dag(NULL, "alpha", 2, run_id);
    make_dirs("meta/profiling/beta");
    CHECK(test_system("cp meta/profiling/alpha/%s.avro meta/profiling/beta/",
                      run_id) == 0);
    CHECK(test_system("cp meta/profiling/alpha/%s.avro "
                      "meta/profiling/alpha/run_000000000.avro",
                      run_id) == 0);
    CHECK(test_system("cp meta/profiling/alpha/%s.avro "
                      "meta/profiling/alpha/backup.avro",
                      run_id) == 0);
    sqlite3 *db = open_metadb(NULL);
    char *rows = query_rows(db, "SELECT substr(path, 16), records, "
                                "error LIKE 'record 1 is of DAG ''alpha''%' "
                                "FROM profiling_files ORDER BY path");
    char expected[512];
    snprintf(expected, sizeof expected,
             "alpha/backup.avro|2|NULL\n"
             "alpha/run_000000000.avro|2|1\n"
             "alpha/%s.avro|2|NULL\n"
             "beta/%s.avro|2|1\n",
             run_id, run_id);
    CHECK_STR_EQ(rows, expected);
    free(rows);
    sqlite3_close(db);
}

/* ---- values -------------------------------------------------------------------------- */

TEST(vtab_text_values_outlive_the_readers_buffers)
{
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "dag_%c", 'a' + i);
        run_dag(NULL, name, 3, NULL);
    }
    sqlite3 *db = open_metadb(NULL);
    snapshot_full_scan(db);
    /* min() and max() keep the value of an earlier row while later rows
     * (and later files) are decoded. */
    static const char *const queries[] = {
        "SELECT min(dag_name), max(dag_name), min(task_name), max(task_name), "
        "min(run_id), max(run_id), min(path), max(path) FROM %s",
        "SELECT dag_name, max(task_name), min(run_id) FROM %s GROUP BY 1",
        "SELECT group_concat(task_name, ',') FROM (SELECT task_name FROM %s "
        "ORDER BY 1)",
    };
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        char *a = sqlite3_mprintf(queries[i], "profiling");
        char *b = sqlite3_mprintf(queries[i], "full_scan");
        char *ra = query_rows(db, a), *rb = query_rows(db, b);
        CHECK_STR_EQ(ra, rb);
        free(ra);
        free(rb);
        sqlite3_free(a);
        sqlite3_free(b);
    }
    char *rows = query_rows(db, "SELECT min(dag_name), max(dag_name) "
                                "FROM profiling");
    CHECK_STR_EQ(rows, "dag_a|dag_d\n");
    free(rows);
    sqlite3_close(db);
}

TEST(vtab_two_cursors_read_at_once)
{
    three_dags();
    sqlite3 *db = open_metadb(NULL);
    /* Each run of alpha has 3 tasks, of beta 2, of gamma 4. */
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling a JOIN "
                               "profiling b USING (run_id)"),
                 3 * 9 + 3 * 4 + 16);
    sqlite3_stmt *s1, *s2;
    CHECK(sqlite3_prepare_v2(db, "SELECT task_name FROM profiling", -1, &s1,
                             NULL) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db, "SELECT task_name FROM profiling", -1, &s2,
                             NULL) == SQLITE_OK);
    int n1 = 0, n2 = 0;
    while (sqlite3_step(s1) == SQLITE_ROW) {
        n1++;
        if (sqlite3_step(s2) == SQLITE_ROW)
            n2++;
    }
    CHECK_INT_EQ(n1, 19);
    CHECK_INT_EQ(n2, 19);
    sqlite3_finalize(s1);
    sqlite3_finalize(s2);
    sqlite3_close(db);
}

TEST(vtab_large_files_keep_rowids_and_counts)
{
    write_profile("meta", "big", 100000, 4096, NULL, 0);
    write_profile("meta", "big", 3, 3, NULL, 0);
    sqlite3 *db = open_metadb(NULL);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 100003);
    CHECK_INT_EQ(query_int(db, "SELECT count(DISTINCT rowid) FROM profiling"),
                 100003);
    CHECK_INT_EQ(query_int(db, "SELECT max(rowid & 0xffffffff) FROM profiling"),
                 99999);
    /* sum(i + 0.5) for i < 100000, plus the small file's. */
    CHECK_INT_EQ(query_int(db, "SELECT CAST(sum(task_runtime) * 2 AS INTEGER) "
                               "FROM profiling"),
                 2 * (100000LL * 99999 / 2) + 100000 + 2 * (0 + 1 + 2) + 3);
    sqlite3_close(db);
}
