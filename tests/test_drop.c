/*
 * test_drop.c -- daglib_drop(): it empties the metadata root (the page's
 * db.drop()), counts what it removed, never follows a link out of the
 * root, and only SQL the user writes may call it.
 */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sql_check.h"

static void make_dirs(const char *path)
{
    CHECK(test_system("mkdir -p '%s'", path) == 0);
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Entries under dir, dir itself excluded (-1 when dir is missing). */
static int count_entries(const char *dir)
{
    if (!exists(dir))
        return -1;
    char command[512];
    snprintf(command, sizeof command, "find '%s' -mindepth 1 | wc -l", dir);
    FILE *p = popen(command, "r");
    CHECK(p != NULL);
    int n = -1;
    CHECK(fscanf(p, "%d", &n) == 1);
    pclose(p);
    return n;
}

TEST(drop_removes_every_file_and_directory_under_the_root_and_counts_them)
{
    run_dag(NULL, "alpha", 2, NULL);
    run_dag(NULL, "alpha", 2, NULL);
    run_dag(NULL, "beta", 1, NULL);
    /* Not only profiling files: everything under the root goes. */
    make_dirs("meta/other/deep/er");
    test_write_file("meta/other/deep/er/notes.txt", "x", 1);
    test_write_file("meta/top.txt", "x", 1);
    int before = count_entries("meta");
    /* profiling, alpha, 2 files, beta, 1 file, other, deep, er, notes, top */
    CHECK_INT_EQ(before, 11);
    sqlite3 *db = open_metadb(NULL);
    CHECK_INT_EQ(query_int(db, "SELECT daglib_drop()"), before);
    CHECK_INT_EQ(count_entries("meta"), 0); /* the root itself stays */
    CHECK_INT_EQ(query_int(db, "SELECT daglib_drop()"), 0);
    sqlite3_close(db);
}

TEST(drop_then_profiling_returns_no_rows_and_no_error)
{
    run_dag(NULL, "example", 2, NULL);
    sqlite3 *db = open_metadb(NULL);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 2);
    CHECK_INT_EQ(query_int(db, "SELECT daglib_drop()"), 3);
    char *rows = query_rows(db, "SELECT * FROM profiling");
    CHECK_STR_EQ(rows, "");
    free(rows);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling_files"), 0);
    /* The next run writes again, and is seen. */
    run_dag(NULL, "example", 1, NULL);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 1);
    sqlite3_close(db);
}

TEST(drop_removes_links_but_never_what_they_point_to)
{
    make_dirs("outside/dir/sub");
    test_write_file("outside/dir/keep.txt", "keep", 4);
    test_write_file("outside/dir/sub/keep.avro", "keep", 4);
    test_write_file("outside/file.txt", "keep", 4);
    make_dirs("meta/profiling/alpha");
    run_dag(NULL, "alpha", 1, NULL);
    /* Links to an outside directory and file, at the top and deeper, a
     * link inside the root, and a dangling one. */
    CHECK(symlink("../outside/dir", "meta/dir_link") == 0);
    CHECK(symlink("../outside/file.txt", "meta/file_link") == 0);
    CHECK(symlink("../../../outside/dir", "meta/profiling/alpha/deep_link") == 0);
    CHECK(symlink("alpha", "meta/profiling/inner_link") == 0);
    CHECK(symlink("/nonexistent/nowhere", "meta/dangling") == 0);
    sqlite3 *db = open_metadb(NULL);
    /* profiling, alpha, the run's file, and five links */
    CHECK_INT_EQ(query_int(db, "SELECT daglib_drop()"), 8);
    CHECK_INT_EQ(count_entries("meta"), 0);
    CHECK_INT_EQ(count_entries("outside"), 5);
    char *kept = test_read_file("outside/dir/keep.txt", NULL);
    CHECK_STR_EQ(kept, "keep");
    free(kept);
    CHECK(exists("outside/dir/sub/keep.avro"));
    CHECK(exists("outside/file.txt"));
    sqlite3_close(db);
}

TEST(drop_follows_a_root_that_is_itself_a_link)
{
    make_dirs("real_meta/profiling/alpha");
    test_write_file("real_meta/profiling/alpha/x.avro", "x", 1);
    CHECK(symlink("real_meta", "meta") == 0);
    sqlite3 *db = open_metadb(NULL);
    CHECK_INT_EQ(query_int(db, "SELECT daglib_drop()"), 3);
    CHECK(exists("meta"));
    CHECK_INT_EQ(count_entries("real_meta"), 0);
    sqlite3_close(db);
}

TEST(drop_of_a_missing_root_removes_nothing)
{
    sqlite3 *db = open_metadb(NULL);
    CHECK_INT_EQ(query_int(db, "SELECT daglib_drop()"), 0);
    CHECK(!exists("meta"));
    CHECK_INT_EQ(query_int(db, "SELECT daglib_drop('no/such/root')"), 0);
    sqlite3_close(db);
}

TEST(drop_with_a_root_argument_empties_that_root_only)
{
    run_dag(NULL, "here", 1, NULL);
    run_dag("elsewhere", "there", 1, NULL);
    sqlite3 *db = open_metadb(NULL);
    CHECK_INT_EQ(query_int(db, "SELECT daglib_drop('elsewhere')"), 3);
    CHECK_INT_EQ(count_entries("elsewhere"), 0);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling"), 1);
    /* The connection's root, set from SQL. */
    run_dag("third", "t", 1, NULL);
    CHECK(query_int(db, "SELECT daglib_meta_dir('third') IS NOT NULL"));
    CHECK_INT_EQ(query_int(db, "SELECT daglib_drop()"), 3);
    CHECK_INT_EQ(count_entries("third"), 0);
    CHECK_INT_EQ(count_entries("meta"), 3);
    sqlite3_close(db);
}

TEST(drop_refuses_a_null_root_and_a_root_that_is_not_a_directory)
{
    test_write_file("a_file", "x", 1);
    sqlite3 *db = open_metadb(NULL);
    char *err = query_error(db, "SELECT daglib_drop(NULL)");
    CHECK_CONTAINS(err, "NULL");
    free(err);
    err = query_error(db, "SELECT daglib_drop('a_file')");
    CHECK_CONTAINS(err, "daglib_drop: cannot open the metadata root 'a_file'");
    free(err);
    CHECK(exists("a_file"));
    sqlite3_close(db);
}

TEST(drop_empties_deep_and_wide_trees)
{
    char path[2048] = "meta";
    for (int depth = 0; depth < 40; depth++) {
        size_t n = strlen(path);
        snprintf(path + n, sizeof path - n, "/d%d", depth);
    }
    make_dirs(path);
    make_dirs("meta/wide");
    for (int i = 0; i < 500; i++) {
        char file[64];
        snprintf(file, sizeof file, "meta/wide/f%03d", i);
        test_write_file(file, "x", 1);
    }
    sqlite3 *db = open_metadb(NULL);
    CHECK_INT_EQ(query_int(db, "SELECT daglib_drop()"), 40 + 1 + 500);
    CHECK_INT_EQ(count_entries("meta"), 0);
    sqlite3_close(db);
}

TEST(drop_is_refused_in_stored_views_and_triggers)
{
    run_dag(NULL, "precious", 1, NULL);
    sqlite3 *db = NULL;
    CHECK_OK(daglib_metadb_open("schema.db", NULL, &db, NULL));
    /* A database file handed to us could carry these. */
    exec_ok(db, "CREATE VIEW wipe AS SELECT daglib_drop() AS n;"
                "CREATE VIEW redirect AS SELECT daglib_meta_dir('elsewhere') AS d;"
                "CREATE TABLE t(x);"
                "CREATE TRIGGER wipe_on_insert AFTER INSERT ON t "
                "BEGIN SELECT daglib_drop(); END;");
    char *err = query_error(db, "SELECT * FROM wipe");
    CHECK_CONTAINS(err, "unsafe use of daglib_drop()");
    free(err);
    err = query_error(db, "INSERT INTO t VALUES (1)");
    CHECK_CONTAINS(err, "unsafe use of daglib_drop()");
    free(err);
    err = query_error(db, "SELECT * FROM redirect");
    CHECK_CONTAINS(err, "unsafe use of daglib_meta_dir()");
    free(err);
    CHECK_INT_EQ(count_entries("meta"), 3);
    sqlite3_close(db);

    /* Opened again, the file's schema still cannot call it. */
    CHECK_OK(daglib_metadb_open("schema.db", NULL, &db, NULL));
    err = query_error(db, "SELECT * FROM wipe");
    CHECK_CONTAINS(err, "unsafe use of daglib_drop()");
    free(err);
    CHECK_INT_EQ(count_entries("meta"), 3);

    /* The connection's own TEMP view may (SQLite allows that), once no
     * stored object names daglib_drop: until then the run-time guard
     * cannot tell its calls from the file's. */
    exec_ok(db, "CREATE TEMP VIEW my_wipe AS SELECT daglib_drop() AS n");
    err = query_error(db, "SELECT n FROM my_wipe");
    CHECK_CONTAINS(err, "the schema of database 'main' names daglib_drop");
    free(err);
    CHECK_INT_EQ(count_entries("meta"), 3);
    exec_ok(db, "DROP VIEW wipe; DROP TRIGGER wipe_on_insert");
    CHECK_INT_EQ(query_int(db, "SELECT n FROM my_wipe"), 3);
    CHECK_INT_EQ(count_entries("meta"), 0);
    sqlite3_close(db);
}

TEST(drop_is_refused_while_any_attached_schema_names_it)
{
    run_dag(NULL, "precious", 1, NULL);
    /* A file whose CHECK calls it, written where no daglib_drop exists
     * (SQLite accepts an unknown function in a schema it reads), and
     * read before the extension is registered: SQLite's resolver then
     * cannot mark the call, and only the run-time guard stands. */
    sqlite3 *db = NULL;
    CHECK(sqlite3_open("hostile.db", &db) == SQLITE_OK);
    exec_ok(db, "CREATE TABLE t(x);"
                "PRAGMA writable_schema = ON;"
                "UPDATE sqlite_master SET sql = "
                "'CREATE TABLE t(x CHECK (\"DAGLIB_DROP\" /* */ () >= 0))' "
                "WHERE name = 't';"
                "PRAGMA writable_schema = OFF;");
    sqlite3_close(db);
    CHECK(sqlite3_open("hostile.db", &db) == SQLITE_OK);
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM sqlite_master"), 1);
    CHECK_OK(daglib_metadb_register(db, NULL));
    char *err = query_error(db, "INSERT INTO t VALUES (1)");
    CHECK_CONTAINS(err, "the schema of database 'main' names daglib_drop");
    free(err);
    CHECK_INT_EQ(count_entries("meta"), 3);
    sqlite3_close(db);

    db = open_metadb(NULL);
    /* Longer names that merely contain it do not count... */
    exec_ok(db, "CREATE TABLE daglib_drop_log(x_daglib_drop, \"daglib_drops\");"
                "CREATE VIEW v AS SELECT daglib_version() AS daglib_dropped;"
                "ATTACH 'other.db' AS other;"
                "CREATE VIEW other.w AS SELECT daglib_drop() AS n");
    /* ...but a view of any attached database naming it does. */
    err = query_error(db, "SELECT daglib_drop()");
    CHECK_CONTAINS(err, "the schema of database 'other' names daglib_drop");
    free(err);
    CHECK_INT_EQ(count_entries("meta"), 3);
    exec_ok(db, "DETACH other");
    CHECK_INT_EQ(query_int(db, "SELECT daglib_drop()"), 3);
    sqlite3_close(db);
}

TEST(drop_from_c_is_daglib_metadb_drop)
{
    run_dag(NULL, "alpha", 2, NULL);
    sqlite3 *db = open_metadb(NULL);
    int64_t removed = -1;
    CHECK_OK(daglib_metadb_drop(db, &removed));
    CHECK_INT_EQ(removed, 3);
    CHECK_OK(daglib_metadb_drop(db, &removed));
    CHECK_INT_EQ(removed, 0);
    CHECK_OK(daglib_metadb_drop(db, NULL));
    CHECK_CODE(daglib_metadb_drop(NULL, &removed), DAGLIB_MISUSE);
    test_write_file("meta_file", "x", 1);
    CHECK(query_int(db, "SELECT daglib_meta_dir('meta_file') IS NOT NULL"));
    CHECK_CODE(daglib_metadb_drop(db, &removed), DAGLIB_SQL);
    CHECK_CONTAINS(sqlite3_errmsg(db), "cannot open the metadata root");
    sqlite3_close(db);

    /* A connection without MetaDB has no daglib_drop(). */
    sqlite3 *plain = NULL;
    CHECK(sqlite3_open(":memory:", &plain) == SQLITE_OK);
    CHECK_CODE(daglib_metadb_drop(plain, &removed), DAGLIB_SQL);
    CHECK_CONTAINS(sqlite3_errmsg(plain), "no such function: daglib_drop");
    sqlite3_close(plain);
}
