/*
 * test_registration.c -- registering the extension either adds all of it
 * or nothing: a failure at any step (every allocation SQLite makes while
 * registering is failed in turn) takes back what was registered, and the
 * connection goes on working; a statement running while a name is taken,
 * which SQLite would refuse half way, is refused before anything is
 * registered.
 */
#include "sql_check.h"

/* ---- SQLite's allocator, failing the n-th allocation when armed ------------ */

static sqlite3_mem_methods real_methods;
static int countdown; /* > 0: allocations left before one fails */
static int failures;  /* allocations failed so far */

static void *failing_malloc(int n)
{
    if (countdown > 0 && --countdown == 0) {
        failures++;
        return NULL;
    }
    return real_methods.xMalloc(n);
}

static void *failing_realloc(void *p, int n)
{
    if (countdown > 0 && --countdown == 0) {
        failures++;
        return NULL;
    }
    return real_methods.xRealloc(p, n);
}

static void install_failing_allocator(void)
{
    CHECK(sqlite3_shutdown() == SQLITE_OK);
    CHECK(sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real_methods) == SQLITE_OK);
    sqlite3_mem_methods methods = real_methods;
    methods.xMalloc = failing_malloc;
    methods.xRealloc = failing_realloc;
    CHECK(sqlite3_config(SQLITE_CONFIG_MALLOC, &methods) == SQLITE_OK);
    CHECK(sqlite3_initialize() == SQLITE_OK);
}

/* What a connection has registered: functions, then modules. */
static char *registered(sqlite3 *db)
{
    char *functions = query_rows(
        db, "SELECT name || '/' || narg FROM pragma_function_list "
            "WHERE name LIKE 'daglib%' ORDER BY 1");
    char *modules = query_rows(
        db, "SELECT name FROM pragma_module_list "
            "WHERE name LIKE 'profiling%' ORDER BY 1");
    size_t size = strlen(functions) + strlen(modules) + 2;
    char *both = malloc(size);
    CHECK(both != NULL);
    snprintf(both, size, "%s;%s", functions, modules);
    free(functions);
    free(modules);
    return both;
}

static void stub(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    sqlite3_result_int(ctx, 0);
}

/* The connection answers ordinary queries and, registered again, the
 * extension's. */
static void check_connection_works(sqlite3 *db)
{
    CHECK_INT_EQ(query_int(db, "SELECT 6 * 7"), 42);
    CHECK_OK(daglib_metadb_register(db, NULL));
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 0);
    CHECK_INT_EQ(query_int(db, "SELECT daglib_drop()"), 0);
}

TEST(registration_failing_at_any_step_leaves_nothing_behind)
{
    install_failing_allocator();
    int points = 0;
    for (int n = 1;; n++) {
        sqlite3 *db = NULL;
        CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
        char *before = registered(db);
        CHECK_STR_EQ(before, ";");
        failures = 0;
        countdown = n;
        int rc = daglib_metadb_register(db, NULL);
        countdown = 0;
        char *after = registered(db);
        if (rc == DAGLIB_OK) {
            CHECK_STR_EQ(after, "daglib_drop/0\ndaglib_drop/1\n"
                                "daglib_meta_dir/0\ndaglib_meta_dir/1\n"
                                "daglib_version/0\n;"
                                "profiling\nprofiling_files\n");
        } else {
            CHECK_INT_EQ(failures, 1);
            CHECK_STR_EQ(after, before);
            points++;
        }
        free(before);
        free(after);
        check_connection_works(db);
        CHECK(sqlite3_close(db) == SQLITE_OK);
        if (failures == 0)
            break; /* registered without reaching allocation n: all tried */
    }
    /* Two modules and five functions, each at least one allocation. */
    CHECK(points >= 7);
}

TEST(registration_failing_while_a_statement_runs_keeps_the_connection_working)
{
    /* Functions cannot be removed while a statement runs: what was
     * registered before the failure may stay, and must stay usable and
     * be released at close (the sanitizer run checks for leaks). */
    install_failing_allocator();
    for (int n = 1;; n++) {
        sqlite3 *db = NULL;
        CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
        sqlite3_stmt *running = NULL;
        CHECK(sqlite3_prepare_v2(db, "SELECT 1 UNION ALL SELECT 2", -1,
                                 &running, NULL) == SQLITE_OK);
        CHECK(sqlite3_step(running) == SQLITE_ROW);
        failures = 0;
        countdown = n;
        int rc = daglib_metadb_register(db, NULL);
        countdown = 0;
        CHECK(rc == DAGLIB_OK || failures == 1);
        char *modules = query_rows(db, "SELECT name FROM pragma_module_list "
                                       "WHERE name LIKE 'profiling%' ORDER BY 1");
        CHECK_STR_EQ(modules, rc == DAGLIB_OK ? "profiling\nprofiling_files\n"
                                              : "");
        free(modules);
        CHECK(sqlite3_finalize(running) == SQLITE_OK);
        CHECK_INT_EQ(query_int(db, "SELECT 6 * 7"), 42);
        CHECK(sqlite3_close(db) == SQLITE_OK);
        if (failures == 0)
            break;
    }
}

TEST(registration_is_refused_before_any_step_when_it_would_fail_half_way)
{
    static const char *const names[] = {"daglib_drop", "daglib_meta_dir",
                                        "daglib_version"};
    for (int i = 0; i < 3; i++) {
        sqlite3 *db = NULL;
        CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
        CHECK(sqlite3_create_function(db, names[i], 0, SQLITE_UTF8, NULL,
                                      stub, NULL, NULL) == SQLITE_OK);
        char *before = registered(db);
        sqlite3_stmt *running = NULL;
        CHECK(sqlite3_prepare_v2(db, "SELECT 1 UNION ALL SELECT 2", -1,
                                 &running, NULL) == SQLITE_OK);
        CHECK(sqlite3_step(running) == SQLITE_ROW);
        CHECK(daglib_metadb_register(db, NULL) != DAGLIB_OK);
        char *after = registered(db);
        CHECK_STR_EQ(after, before);
        free(before);
        free(after);
        CHECK(sqlite3_finalize(running) == SQLITE_OK);
        /* With no statement running, the extension replaces the stub. */
        check_connection_works(db);
        CHECK(sqlite3_close(db) == SQLITE_OK);
    }
}

TEST(registration_from_sql_twice_keeps_the_first)
{
    sqlite3 *db = open_metadb(NULL);
    /* A second registration from inside a statement (as SELECT
     * load_extension(...) does) finds its names taken. */
    sqlite3_stmt *running = NULL;
    CHECK(sqlite3_prepare_v2(db, "SELECT 1 UNION ALL SELECT 2", -1, &running,
                             NULL) == SQLITE_OK);
    CHECK(sqlite3_step(running) == SQLITE_ROW);
    CHECK(daglib_metadb_register(db, NULL) != DAGLIB_OK);
    CHECK(sqlite3_finalize(running) == SQLITE_OK);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 0);
    CHECK_INT_EQ(query_int(db, "SELECT daglib_version() IS NOT NULL"), 1);
    sqlite3_close(db);
}
