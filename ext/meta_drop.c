/*
 * meta_drop.c -- daglib_drop([root]): empty the metadata root.
 *
 *   SELECT daglib_drop();             -- the connection's root
 *   SELECT daglib_drop('/tmp/meta');  -- another root
 *
 * Removes every file, link and directory under the root (the root itself
 * stays, as the Python original's db.drop() leaves its directory) and
 * returns how many entries it removed.  A missing root removes nothing and
 * returns 0.  After it, SELECT * FROM profiling returns no rows.
 *
 * Nothing below the root is followed.  The walk holds each directory open
 * and reaches its entries with fstatat/openat/unlinkat relative to it,
 * opening subdirectories with O_NOFOLLOW: a symbolic link, to a directory
 * or a file, inside or outside the root, is removed as a link and its
 * target is never touched, even if a directory is swapped for a link
 * while the walk runs.  (The root itself may be a link; that is where the
 * user said the metadata lives.)  The walk stops at the first entry it
 * cannot remove and reports it; what was removed before stays removed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daglib_sqlite.h"
#include "error.h"
#include "meta_path.h"

/* Deeper trees than this are refused rather than walked: each level holds
 * a descriptor, and the metadata tree is two levels deep. */
#define DROP_MAX_DEPTH 64

typedef struct drop_level {
    DIR *dir;
    char *name;    /* this directory's name in its parent; NULL for the root */
    int removed;   /* entries removed during the current readdir pass */
} drop_level;

typedef struct drop_walk {
    const char *root;
    drop_level level[DROP_MAX_DEPTH];
    int depth;
    sqlite3_int64 removed;
    char *errmsg; /* sqlite3_mprintf, or NULL */
} drop_walk;

/* "root/a/b/name": the path of an entry of the current directory, for a
 * message.  sqlite3_mprintf'd. */
static char *entry_path(const drop_walk *w, const char *name)
{
    char *path = sqlite3_mprintf("%s", w->root);
    for (int i = 1; i < w->depth && path != NULL; i++) {
        char *longer = sqlite3_mprintf("%s/%s", path, w->level[i].name);
        sqlite3_free(path);
        path = longer;
    }
    if (path != NULL && name != NULL) {
        char *longer = sqlite3_mprintf("%s/%s", path, name);
        sqlite3_free(path);
        path = longer;
    }
    return path;
}

static int fail(drop_walk *w, const char *what, const char *name, int err)
{
    char *path = entry_path(w, name);
    w->errmsg = sqlite3_mprintf("daglib_drop: %s '%s': %s", what,
                                path ? path : name, strerror(err));
    sqlite3_free(path);
    return -1;
}

static int push(drop_walk *w, int fd, const char *name)
{
    if (w->depth == DROP_MAX_DEPTH) {
        close(fd);
        char *path = entry_path(w, name);
        w->errmsg = sqlite3_mprintf(
            "daglib_drop: '%s' is nested more than %d directories deep",
            path ? path : name, DROP_MAX_DEPTH);
        sqlite3_free(path);
        return -1;
    }
    drop_level *l = &w->level[w->depth];
    memset(l, 0, sizeof *l);
    if (name != NULL && (l->name = strdup(name)) == NULL) {
        close(fd);
        return -1;
    }
    l->dir = fdopendir(fd);
    if (l->dir == NULL) {
        int err = errno;
        free(l->name);
        close(fd);
        return fail(w, "cannot read", name, err);
    }
    w->depth++;
    return 0;
}

static void pop(drop_walk *w)
{
    drop_level *l = &w->level[--w->depth];
    closedir(l->dir);
    free(l->name);
}

/* Remove one entry of the current directory: a file or a link at once, a
 * directory by descending into it (it is removed when left). */
static int remove_entry(drop_walk *w, const char *name)
{
    drop_level *top = &w->level[w->depth - 1];
    int fd = dirfd(top->dir);
    struct stat st;
    if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : fail(w, "cannot inspect", name, errno);
    if (S_ISDIR(st.st_mode)) {
        int sub = openat(fd, name,
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0)
            return push(w, sub, name);
        if (errno == ENOENT)
            return 0;
        if (errno != ELOOP && errno != ENOTDIR)
            return fail(w, "cannot open", name, errno);
        /* Replaced by a link or a file since fstatat: remove that. */
    }
    if (unlinkat(fd, name, 0) != 0)
        return errno == ENOENT ? 0 : fail(w, "cannot remove", name, errno);
    top->removed++;
    w->removed++;
    return 0;
}

/* Leave the current directory (now empty) and remove it from its parent. */
static int leave_directory(drop_walk *w)
{
    drop_level *top = &w->level[w->depth - 1];
    if (top->removed > 0) {
        /* readdir need not return entries that follow removed ones; look
         * again until a pass finds nothing left to remove. */
        top->removed = 0;
        rewinddir(top->dir);
        return 0;
    }
    char *name = top->name;
    top->name = NULL;
    pop(w);
    if (w->depth == 0)
        return 0; /* the root stays */
    drop_level *parent = &w->level[w->depth - 1];
    int rc = 0;
    if (unlinkat(dirfd(parent->dir), name, AT_REMOVEDIR) == 0) {
        parent->removed++;
        w->removed++;
    } else if (errno != ENOENT) {
        rc = fail(w, "cannot remove the directory", name, errno);
    }
    free(name);
    return rc;
}

/* Empty root.  0, or -1 with w->errmsg set (NULL: out of memory). */
static int drop_tree(drop_walk *w)
{
    char *absolute = NULL;
    error_state err = ERROR_STATE_INIT;
    if (meta_absolute_path(w->root, &absolute, &err) != DAGLIB_OK) {
        w->errmsg = sqlite3_mprintf("daglib_drop: %s", error_message(&err));
        error_clear(&err);
        return -1;
    }
    int is_slash = strcmp(absolute, "/") == 0;
    free(absolute);
    if (is_slash) {
        w->errmsg = sqlite3_mprintf(
            "daglib_drop: refusing to empty '/' (the metadata root is '%s')",
            w->root);
        return -1;
    }
    int fd = open(w->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return fail(w, "cannot open the metadata root", NULL, errno);
    }
    if (push(w, fd, NULL) != 0)
        return -1;
    int rc = 0;
    while (rc == 0 && w->depth > 0) {
        errno = 0;
        struct dirent *e = readdir(w->level[w->depth - 1].dir);
        if (e == NULL) {
            rc = errno != 0 ? fail(w, "cannot read", NULL, errno)
                            : leave_directory(w);
        } else if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            rc = remove_entry(w, e->d_name);
        }
    }
    while (w->depth > 0)
        pop(w);
    return rc;
}

/* daglib_drop([root]): empty the root (default: the connection's) and
 * return the number of entries removed. */
static void drop_func(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    meta_conn *conn = sqlite3_user_data(ctx);
    drop_walk w;
    memset(&w, 0, sizeof w);
    w.root = meta_conn_root(conn);
    if (argc == 1) {
        w.root = (const char *)sqlite3_value_text(argv[0]);
        if (w.root == NULL) {
            if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
                sqlite3_result_error(ctx, "daglib_drop: the root is NULL", -1);
            else
                sqlite3_result_error_nomem(ctx);
            return;
        }
    }
    if (drop_tree(&w) != 0) {
        if (w.errmsg == NULL)
            sqlite3_result_error_nomem(ctx);
        else
            sqlite3_result_error(ctx, w.errmsg, -1);
        sqlite3_free(w.errmsg);
        return;
    }
    sqlite3_result_int64(ctx, w.removed);
}

/* daglib_drop as registered: drop_func, unless a stored schema object
 * could be the caller (schema_guard.c). */
static void guarded_drop_func(sqlite3_context *ctx, int argc,
                              sqlite3_value **argv)
{
    if (schema_guard_allows(ctx, "daglib_drop"))
        drop_func(ctx, argc, argv);
}

int meta_drop_register(ext_registry *reg, meta_conn *conn)
{
    /* daglib_drop() deletes files: no view, trigger, CHECK, DEFAULT,
     * generated column or index of a database file someone hands you may
     * call it, or merely using that file would empty a directory of
     * yours.  SQLITE_DIRECTONLY asks SQLite to refuse such calls, but
     * SQLite's resolver marks a call in a CHECK, generated column or
     * index as coming from the schema only when the function was
     * registered before the schema was read, and before SQLite 3.50 only
     * when it is SQLITE_DETERMINISTIC (hence that flag, though a drop is
     * anything but); so the guard also refuses at run time, whenever a
     * stored schema object names the function.  Only SQL the connection's owner writes (including
     * TEMP views and triggers) can call it.  Being deterministic, a call
     * with constant arguments runs once per statement. */
    static const int flags =
        SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY;
    int rc = SQLITE_OK;
    for (int argc = 0; argc <= 1 && rc == SQLITE_OK; argc++)
        rc = ext_create_function(reg, "daglib_drop", argc, flags, conn,
                                 guarded_drop_func);
    return rc;
}
