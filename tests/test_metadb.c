/*
 * test_metadb.c -- MetaDB in C: one call opens a connection with the
 * extension registered; it registers exactly what the manual lists; the
 * metadata root is set once, from C or SQL, and a relative one is
 * resolved when set; the page's three queries give the page's results.
 */
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sql_check.h"

/* Lines of b that are not in a (both sorted, '\n'-terminated). malloc'd. */
static char *lines_added(const char *a, const char *b)
{
    size_t size = strlen(b) + 1;
    char *out = malloc(size);
    CHECK(out != NULL);
    out[0] = '\0';
    const char *line = b;
    while (*line != '\0') {
        const char *end = strchr(line, '\n');
        size_t n = (size_t)(end - line) + 1;
        int found = 0;
        for (const char *p = a; *p != '\0'; p = strchr(p, '\n') + 1)
            if (strncmp(p, line, n) == 0) {
                found = 1;
                break;
            }
        if (!found)
            strncat(out, line, n);
        line = end + 1;
    }
    return out;
}

static const char functions_sql[] =
    "SELECT name || '/' || narg || '/' || (flags & 0x280800) "
    "FROM pragma_function_list ORDER BY 1";
static const char modules_sql[] =
    "SELECT name FROM pragma_module_list ORDER BY 1";

TEST(metadb_registers_exactly_the_extension_functions_and_tables)
{
    sqlite3 *plain = NULL;
    CHECK(sqlite3_open(":memory:", &plain) == SQLITE_OK);
    sqlite3 *db = open_metadb(NULL);
    char *before = query_rows(plain, functions_sql);
    char *after = query_rows(db, functions_sql);
    char *added = lines_added(before, after);
    /* DIRECTONLY | DETERMINISTIC (0x80800) for what touches or redirects
     * the tree (deterministic so that SQLite checks the flag in CHECK
     * clauses and indexes too);
     * INNOCUOUS | DETERMINISTIC (0x200800) for the version. */
    CHECK_STR_EQ(added, "daglib_drop/0/526336\n"
                        "daglib_drop/1/526336\n"
                        "daglib_meta_dir/0/526336\n"
                        "daglib_meta_dir/1/526336\n"
                        "daglib_version/0/2099200\n");
    free(added);
    char *removed = lines_added(after, before);
    CHECK_STR_EQ(removed, "");
    free(removed);
    free(before);
    free(after);

    before = query_rows(plain, modules_sql);
    after = query_rows(db, modules_sql);
    added = lines_added(before, after);
    CHECK_STR_EQ(added, "profiling\nprofiling_files\n");
    free(added);
    removed = lines_added(after, before);
    CHECK_STR_EQ(removed, "");
    free(removed);
    free(before);
    free(after);
    /* No table or view appears in the schema: the tables are eponymous. */
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM sqlite_schema"), 0);
    sqlite3_close(plain);
    sqlite3_close(db);
}

TEST(metadb_open_defaults_to_memory_and_the_meta_directory)
{
    run_dag(NULL, "example", 2, NULL);
    sqlite3 *db = NULL;
    char *msg = (char *)"untouched";
    CHECK_OK(daglib_metadb_open(NULL, NULL, &db, &msg));
    CHECK(msg == NULL);
    CHECK(db != NULL);
    CHECK_STR_EQ(sqlite3_db_filename(db, "main"), "");
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 2);
    char cwd[PATH_MAX], expected[PATH_MAX + 8];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    snprintf(expected, sizeof expected, "%s/meta\n", cwd);
    char *root = query_rows(db, "SELECT daglib_meta_dir()");
    CHECK_STR_EQ(root, expected);
    free(root);
    sqlite3_close(db);
}

TEST(metadb_open_resolves_a_relative_root_once)
{
    run_dag("project/meta", "example", 3, NULL);
    CHECK(chdir("project") == 0);
    sqlite3 *db = open_metadb("meta");
    CHECK(chdir("..") == 0); /* the root stays where it was set */
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 3);
    char cwd[PATH_MAX], expected[PATH_MAX + 16];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    snprintf(expected, sizeof expected, "%s/project/meta\n", cwd);
    char *root = query_rows(db, "SELECT daglib_meta_dir()");
    CHECK_STR_EQ(root, expected);
    free(root);
    sqlite3_close(db);
}

TEST(metadb_open_reports_errors_with_a_message)
{
    sqlite3 *db = (sqlite3 *)1;
    char *msg = NULL;
    CHECK_CODE(daglib_metadb_open("no/such/dir/x.db", NULL, &db, &msg),
               DAGLIB_SQL);
    CHECK(db == NULL);
    CHECK_CONTAINS(msg, "cannot open 'no/such/dir/x.db'");
    daglib_free(msg);
    CHECK_CODE(daglib_metadb_open(NULL, "", &db, &msg), DAGLIB_INVALID);
    CHECK(db == NULL);
    CHECK_CONTAINS(msg, "empty");
    daglib_free(msg);
    CHECK_CODE(daglib_metadb_open(NULL, NULL, NULL, &msg), DAGLIB_MISUSE);
    daglib_free(msg);
    CHECK_CODE(daglib_metadb_open("no/such/dir/x.db", NULL, &db, NULL),
               DAGLIB_SQL);
}

TEST(metadb_register_adds_the_extension_to_the_callers_connection)
{
    run_dag("mine", "example", 2, NULL);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open("own.db", &db) == SQLITE_OK);
    CHECK_OK(daglib_metadb_register(db, "mine"));
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 2);
    /* A stored table and the profiles side by side. */
    exec_ok(db, "CREATE TABLE budget(task_name, seconds);"
                "INSERT INTO budget VALUES ('t0', 60), ('t1', 0)");
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling JOIN budget "
                               "USING (task_name) WHERE task_runtime > seconds"),
                 1);
    /* Registering again replaces the root. */
    CHECK_OK(daglib_metadb_register(db, NULL));
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 0);
    CHECK_CODE(daglib_metadb_register(db, ""), DAGLIB_INVALID);
    CHECK_CODE(daglib_metadb_register(NULL, NULL), DAGLIB_MISUSE);
    sqlite3_close(db);
}

TEST(metadb_meta_dir_function_shows_and_sets_the_root)
{
    run_dag("a", "one", 1, NULL);
    run_dag("b/meta", "two", 2, NULL);
    sqlite3 *db = open_metadb(NULL);
    char cwd[PATH_MAX], expected[PATH_MAX + 16];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);

    snprintf(expected, sizeof expected, "%s/a\n", cwd);
    char *root = query_rows(db, "SELECT daglib_meta_dir('a')");
    CHECK_STR_EQ(root, expected);
    free(root);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 1);

    /* Relative to the working directory when set, "." and ".." folded. */
    CHECK(chdir("b") == 0);
    snprintf(expected, sizeof expected, "%s/b/meta\n", cwd);
    root = query_rows(db, "SELECT daglib_meta_dir('./x/../meta')");
    CHECK_STR_EQ(root, expected);
    free(root);
    CHECK(chdir("..") == 0);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 2);

    /* NULL: back to the default, looked up at each query. */
    snprintf(expected, sizeof expected, "%s/meta\n", cwd);
    root = query_rows(db, "SELECT daglib_meta_dir(NULL)");
    CHECK_STR_EQ(root, expected);
    free(root);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 0);
    setenv("DAGLIB_META_DIR", "a", 1);
    snprintf(expected, sizeof expected, "%s/a\n", cwd);
    root = query_rows(db, "SELECT daglib_meta_dir()");
    CHECK_STR_EQ(root, expected);
    free(root);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 1);
    unsetenv("DAGLIB_META_DIR");

    /* An empty root is an error, and changes nothing. */
    CHECK(query_int(db, "SELECT daglib_meta_dir('b/meta') IS NOT NULL"));
    char *err = query_error(db, "SELECT daglib_meta_dir('')");
    CHECK_CONTAINS(err, "empty");
    free(err);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 2);
    sqlite3_close(db);
}

TEST(metadb_version_function_returns_the_library_version)
{
    sqlite3 *db = open_metadb(NULL);
    char *v = query_rows(db, "SELECT daglib_version()");
    CHECK_STR_EQ(v, DAGLIB_VERSION "\n");
    free(v);
    CHECK_STR_EQ(daglib_version(), DAGLIB_VERSION);
    sqlite3_close(db);
}

/* The page: query everything, drop, query again; then the analytics loop
 * and the average. */
TEST(metadb_runs_the_pages_three_queries)
{
    char run_id[16];
    run_dag(NULL, "example", 2, run_id);
    sqlite3 *db = open_metadb(NULL);
    /* Independent tasks finish, and are recorded, in either order. */
    char *rows = query_rows(db, "SELECT dag_name, run_id, task_name, "
                                "typeof(task_runtime) FROM profiling "
                                "ORDER BY task_name");
    char expected[256];
    snprintf(expected, sizeof expected,
             "example|%s|t0|real\nexample|%s|t1|real\n", run_id, run_id);
    CHECK_STR_EQ(rows, expected);
    free(rows);

    int64_t removed = 0;
    CHECK_OK(daglib_metadb_drop(db, &removed));
    CHECK_INT_EQ(removed, 3);
    rows = query_rows(db, "SELECT * FROM profiling");
    CHECK_STR_EQ(rows, "");
    free(rows);

    for (int i = 0; i < 5; i++)
        run_dag(NULL, "example2", 2, NULL);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 10);
    rows = query_rows(db, "SELECT typeof(AVG(task_runtime)) AS "
                          "avg_task_runtime FROM profiling");
    CHECK_STR_EQ(rows, "real\n");
    free(rows);
    CHECK(query_int(db, "SELECT AVG(task_runtime) = (SELECT sum(task_runtime) "
                        "/ count(*) FROM profiling) FROM profiling"));
    sqlite3_close(db);
}
