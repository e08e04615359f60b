/*
 * test_drop.c -- daglib_drop(): it empties the metadata root (the page's
 * db.drop()), counts what it removed, never follows a link out of the
 * root, never empties '/' whatever the path that names it, never enters
 * another filesystem mounted under the root, and only SQL the user writes
 * may call it.
 *
 * The tests about '/' and mounts run in a private mount namespace: what
 * they mount is seen by no other process, and a drop that might reach '/'
 * runs chrooted into a fresh tmpfs, so that even a broken daglib_drop()
 * could only empty a throwaway tree.  Where no private mount namespace can
 * be made (no privilege, no user namespaces) they say so and do nothing
 * rather than risk the machine's '/'.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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
    /* profiling_files says only that no run is recorded any more. */
    CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM profiling_files "
                               "WHERE dag_name IS NOT NULL"),
                 0);
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

/* ---- '/' and other filesystems: in a private mount namespace ---------------- */

static void write_id_map(const char *file, const char *map)
{
    int fd = open(file, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = write(fd, map, strlen(map));
    (void)n;
    close(fd);
}

/* Move this test process into a mount namespace of its own, whose mounts
 * propagate nowhere: 1, or 0 after saying why it cannot be done here. */
static int private_mount_namespace(const char *test)
{
    if (unshare(CLONE_NEWNS) != 0) {
        /* Not root: a user namespace of our own may still allow it. */
        uid_t uid = getuid();
        gid_t gid = getgid();
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
            printf("    %s: skipped, no private mount namespace here "
                   "(unshare: %s)\n", test, strerror(errno));
            return 0;
        }
        char map[64];
        write_id_map("/proc/self/setgroups", "deny");
        snprintf(map, sizeof map, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
        write_id_map("/proc/self/uid_map", map);
        snprintf(map, sizeof map, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
        write_id_map("/proc/self/gid_map", map);
    }
    /* Without this a mount below could propagate to the machine's tree. */
    if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0)
        FAIL("making the mount namespace private: %s", strerror(errno));
    return 1;
}

static void mount_tmpfs(const char *dir)
{
    make_dirs(dir);
    if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m") != 0)
        FAIL("mount tmpfs on %s: %s", dir, strerror(errno));
}

static void bind_mount(const char *from, const char *to)
{
    if (mount(from, to, "none", MS_BIND, NULL) != 0)
        FAIL("bind mount %s on %s: %s", from, to, strerror(errno));
}

/* Run sql in a child process that enter() first moves into the view of
 * the file system the test wants (a chroot into a tmpfs of the private
 * namespace, so that '/' there is a throwaway tree): "removed <n>",
 * "error: <message>", or what enter() failed at.  malloc'd. */
static char *query_in_child(const char *(*enter)(const char *), const char *arg,
                            const char *sql)
{
    int out[2];
    CHECK(pipe(out) == 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(out[0]);
        char text[1024];
        const char *failed = enter(arg);
        if (failed != NULL) {
            snprintf(text, sizeof text, "%s: %s", failed, strerror(errno));
        } else {
            sqlite3 *db = open_metadb(NULL);
            sqlite3_stmt *stmt = NULL;
            int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
            if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
                snprintf(text, sizeof text, "removed %lld",
                         (long long)sqlite3_column_int64(stmt, 0));
            else
                snprintf(text, sizeof text, "error: %s", sqlite3_errmsg(db));
            sqlite3_finalize(stmt);
            sqlite3_close(db);
        }
        ssize_t n = write(out[1], text, strlen(text));
        /* _exit: no leak check where /proc may not exist */
        _exit(n == (ssize_t)strlen(text) ? 0 : 1);
    }
    close(out[1]);
    char text[1024];
    size_t used = 0;
    ssize_t n;
    while (used < sizeof text - 1 &&
           (n = read(out[0], text + used, sizeof text - 1 - used)) > 0)
        used += (size_t)n;
    text[used] = '\0';
    close(out[0]);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return strdup(text);
}

static const char *chroot_into(const char *jail)
{
    if (chroot(jail) != 0 || chdir("/") != 0)
        return "chroot";
    return NULL;
}

static char *query_in_jail(const char *jail, const char *sql)
{
    return query_in_child(chroot_into, jail, sql);
}

/* jail: a tmpfs holding keep/precious.txt and whatever the test adds. */
static void make_jail(void)
{
    mount_tmpfs("jail");
    make_dirs("jail/keep");
    test_write_file("jail/keep/precious.txt", "keep", 4);
}

static void check_jail_intact(int entries)
{
    CHECK_INT_EQ(count_entries("jail"), entries);
    char *kept = test_read_file("jail/keep/precious.txt", NULL);
    CHECK_STR_EQ(kept, "keep");
    free(kept);
}

TEST(drop_refuses_a_root_that_is_slash_by_any_name)
{
    if (!private_mount_namespace("drop_refuses_a_root_that_is_slash_by_any_name"))
        return;
    make_jail();
    CHECK(symlink("/", "jail/meta") == 0);
    CHECK(symlink("../..", "jail/keep/up") == 0);
    /* keep, precious.txt, meta, up */
    check_jail_intact(4);
    static const char *const drops[] = {
        "SELECT daglib_drop()",                /* the default root, meta */
        "SELECT daglib_drop('meta')",
        "SELECT daglib_drop('/meta/')",
        "SELECT daglib_drop('keep/up')",
        "SELECT daglib_drop('/keep/up/keep/..')",
        "SELECT daglib_drop('//')",
        "SELECT daglib_drop('/./..')",
        "SELECT daglib_drop('.')",
    };
    for (size_t i = 0; i < sizeof drops / sizeof drops[0]; i++) {
        char *result = query_in_jail("jail", drops[i]);
        CHECK_CONTAINS(result, "error: daglib_drop: refusing to empty '/'");
        free(result);
        check_jail_intact(4);
    }
    char *result = query_in_jail("jail", "SELECT daglib_drop('meta')");
    CHECK_STR_EQ(result, "error: daglib_drop: refusing to empty '/' "
                         "(the metadata root 'meta' is '/')");
    free(result);
}

TEST(drop_refuses_proc_self_root_and_a_working_directory_that_is_slash)
{
    if (!private_mount_namespace(
            "drop_refuses_proc_self_root_and_a_working_directory_that_is_slash"))
        return;
    make_jail();
    make_dirs("jail/proc");
    /* Read-only: nothing in it could be removed anyway. */
    if (mount("proc", "jail/proc", "proc",
              MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) {
        printf("    drop_refuses_proc_self_root_and_a_working_directory_that_"
               "is_slash: skipped, cannot mount /proc here (%s)\n",
               strerror(errno));
        return;
    }
    static const char *const drops[] = {
        "SELECT daglib_drop('/proc/self/root')",
        "SELECT daglib_drop('/proc/self/root/keep/..')",
        "SELECT daglib_drop('/proc/self/cwd')",
        "SELECT daglib_drop('/proc/thread-self/root')",
    };
    for (size_t i = 0; i < sizeof drops / sizeof drops[0]; i++) {
        char *result = query_in_jail("jail", drops[i]);
        CHECK_CONTAINS(result, "error: daglib_drop: refusing to empty '/'");
        free(result);
        CHECK(exists("jail/keep/precious.txt"));
    }
    CHECK(umount("jail/proc") == 0);
    /* keep, precious.txt, proc */
    check_jail_intact(3);
}

/* A mount namespace of its own whose '/' is the tmpfs newroot (the
 * machine's tree detached from it), then chrooted into /inner with the
 * working directory left at that '/': '.' is then the top of a tree that is
 * not this process's '/', as the machine's '/' is from inside a chroot. */
static const char *outside_a_chroot(const char *newroot)
{
    if (unshare(CLONE_NEWNS) != 0)
        return "unshare";
    if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0)
        return "making the namespace private";
    if (chdir(newroot) != 0 || mkdir("old", 0700) != 0)
        return "mkdir old";
    if (syscall(SYS_pivot_root, ".", "old") != 0)
        return "pivot_root";
    /* Nothing of the machine's may stay reachable from the tmpfs. */
    if (chdir("/") != 0 || umount2("/old", MNT_DETACH) != 0 ||
        rmdir("/old") != 0)
        return "detaching the old root";
    int top = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (top < 0 || chroot("/inner") != 0)
        return "chroot";
    if (fchdir(top) != 0)
        return "fchdir";
    close(top);
    return NULL;
}

TEST(drop_refuses_the_top_of_another_tree)
{
    if (!private_mount_namespace("drop_refuses_the_top_of_another_tree"))
        return;
    mount_tmpfs("newroot");
    make_dirs("newroot/keep");
    make_dirs("newroot/inner/meta");
    test_write_file("newroot/keep/precious.txt", "keep", 4);
    char *result = query_in_child(outside_a_chroot, "newroot",
                                  "SELECT daglib_drop('.')");
    CHECK_STR_EQ(result, "error: daglib_drop: refusing to empty '.': it is "
                         "the '/' of another directory tree (its '..' is itself)");
    free(result);
    /* keep, precious.txt, inner, meta */
    CHECK_INT_EQ(count_entries("newroot"), 4);
    CHECK(exists("newroot/keep/precious.txt"));
    /* The chroot's own root, by the same rule, and by being '/'. */
    result = query_in_child(outside_a_chroot, "newroot",
                            "SELECT daglib_drop('inner/meta/..')");
    CHECK_CONTAINS(result, "refusing to empty '/'");
    free(result);
    CHECK_INT_EQ(count_entries("newroot"), 4);
}

/* A tmpfs under the root is another filesystem: its files stay, and so
 * do the directories that lead to it; everything else goes. */
TEST(drop_never_enters_a_filesystem_mounted_under_the_root)
{
    if (!private_mount_namespace(
            "drop_never_enters_a_filesystem_mounted_under_the_root"))
        return;
    run_dag(NULL, "alpha", 1, NULL);
    mount_tmpfs("meta/profiling/mnt");
    make_dirs("meta/profiling/mnt/sub");
    test_write_file("meta/profiling/mnt/sub/keep.avro", "keep", 4);
    test_write_file("meta/profiling/mnt/keep.txt", "keep", 4);
    make_dirs("meta/other/deeper");
    test_write_file("meta/other/deeper/x", "x", 1);
    sqlite3 *db = open_metadb(NULL);
    char *err = query_error(db, "SELECT daglib_drop()");
    /* alpha, its file, other, deeper, x */
    CHECK_STR_EQ(err, "daglib_drop: 'meta/profiling/mnt' is another "
                      "filesystem (a mount point), which daglib_drop never "
                      "enters: it and the directories that lead to it were "
                      "kept, everything else was removed (5 entries)");
    free(err);
    CHECK_INT_EQ(count_entries("meta/profiling/mnt"), 3);
    char *kept = test_read_file("meta/profiling/mnt/sub/keep.avro", NULL);
    CHECK_STR_EQ(kept, "keep");
    free(kept);
    /* profiling and the mount point are all that is left */
    CHECK_INT_EQ(count_entries("meta") - count_entries("meta/profiling/mnt"), 2);

    /* Two of them: both stay, and the message says there are others. */
    mount_tmpfs("meta/b/mnt2");
    test_write_file("meta/b/mnt2/keep.txt", "keep", 4);
    test_write_file("meta/b/gone.txt", "x", 1);
    err = query_error(db, "SELECT daglib_drop()");
    CHECK_CONTAINS(err, "and other entries are other filesystems (mount "
                        "points), which daglib_drop never enters");
    CHECK_CONTAINS(err, "everything else was removed (1 entry)");
    free(err);
    CHECK(!exists("meta/b/gone.txt"));
    CHECK(exists("meta/b/mnt2/keep.txt"));
    CHECK_INT_EQ(count_entries("meta/profiling/mnt"), 3);

    CHECK(umount("meta/profiling/mnt") == 0);
    CHECK(umount("meta/b/mnt2") == 0);
    CHECK_INT_EQ(query_int(db, "SELECT daglib_drop()"), 4);
    CHECK_INT_EQ(count_entries("meta"), 0);
    sqlite3_close(db);
}

/* A bind mount lies on the root's own device: only its mount tells it
 * apart.  The directory or file it shows is never emptied. */
TEST(drop_never_empties_a_bind_mount_under_the_root)
{
    if (!private_mount_namespace("drop_never_empties_a_bind_mount_under_the_root"))
        return;
    make_dirs("outside/data/sub");
    test_write_file("outside/data/sub/keep.avro", "keep", 4);
    test_write_file("outside/data/keep.txt", "keep", 4);
    test_write_file("outside/file.txt", "keep", 4);
    make_dirs("meta/a/data");
    test_write_file("meta/gone.txt", "x", 1);
    bind_mount("outside/data", "meta/a/data");
    sqlite3 *db = open_metadb(NULL);
    char *err = query_error(db, "SELECT daglib_drop()");
    CHECK_STR_EQ(err, "daglib_drop: 'meta/a/data' is another filesystem "
                      "(a mount point), which daglib_drop never enters: it "
                      "and the directories that lead to it were kept, "
                      "everything else was removed (1 entry)");
    free(err);
    CHECK(!exists("meta/gone.txt"));
    CHECK_INT_EQ(count_entries("outside"), 5);
    char *kept = test_read_file("outside/data/sub/keep.avro", NULL);
    CHECK_STR_EQ(kept, "keep");
    free(kept);
    CHECK(umount("meta/a/data") == 0);

    /* A file can be a mount point too. */
    test_write_file("meta/a/file.txt", "", 0);
    bind_mount("outside/file.txt", "meta/a/file.txt");
    err = query_error(db, "SELECT daglib_drop()");
    CHECK_CONTAINS(err, "daglib_drop: 'meta/a/file.txt' is another filesystem");
    free(err);
    kept = test_read_file("outside/file.txt", NULL);
    CHECK_STR_EQ(kept, "keep");
    free(kept);
    CHECK(umount("meta/a/file.txt") == 0);
    CHECK_INT_EQ(count_entries("meta"), 2); /* a, file.txt */
    CHECK_INT_EQ(query_int(db, "SELECT daglib_drop()"), 2);
    CHECK_INT_EQ(count_entries("outside"), 5);
    sqlite3_close(db);
}

/* The root's own filesystem is whatever the root lies on. */
TEST(drop_empties_a_root_that_is_itself_a_mount_point)
{
    if (!private_mount_namespace("drop_empties_a_root_that_is_itself_a_mount_point"))
        return;
    mount_tmpfs("meta");
    run_dag(NULL, "alpha", 2, NULL);
    make_dirs("elsewhere/inner");
    test_write_file("elsewhere/inner/x", "x", 1);
    make_dirs("meta/bound");
    bind_mount("elsewhere", "meta/bound");
    sqlite3 *db = open_metadb(NULL);
    /* Through the bind mount, the root is its own filesystem's top. */
    CHECK_INT_EQ(query_int(db, "SELECT daglib_drop('meta/bound')"), 2);
    CHECK_INT_EQ(count_entries("elsewhere"), 0);
    CHECK(umount("meta/bound") == 0);
    CHECK_INT_EQ(query_int(db, "SELECT daglib_drop()"), 4);
    CHECK_INT_EQ(count_entries("meta"), 0);
    sqlite3_close(db);
}
