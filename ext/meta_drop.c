/*
 * meta_drop.c -- daglib_drop([root]): empty the metadata root.
 *
 *   SELECT daglib_drop();             -- the connection's root
 *   SELECT daglib_drop('/tmp/meta');  -- another root
 *
 * Removes every file, link and directory under the root that lies on the
 * root's own filesystem (the root itself stays, as the Python original's
 * db.drop() leaves its directory) and returns how many entries it removed.
 * A missing root removes nothing and returns 0.  After it, SELECT * FROM
 * profiling returns no rows.
 *
 * What the root is, is decided by identity, not by its spelling.  The root
 * is opened once (it may be a link: that is where the user said the
 * metadata lives) and everything after works from that descriptor:
 *
 *   - A root that is '/' -- the same device and inode as stat("/"),
 *     whatever the path: a link to '/', /proc/self/root, "//", "/./.." --
 *     is refused before anything is removed.  So is a root whose '..' is
 *     itself: the top of a mount namespace or of a chroot, such as the
 *     machine's '/' seen from inside a chroot through /proc.
 *   - The walk never leaves the root's filesystem.  An entry on another
 *     device, or on another mount of the same device (a bind mount, told
 *     apart by statx's mount id where the kernel reports it), is neither
 *     entered nor removed, and neither are the directories that lead to
 *     it; the rest of the tree is still emptied, and the call then fails
 *     naming that mount point, like rm --one-file-system.  A directory is
 *     checked again once opened, on its descriptor, so that a mount made
 *     while the walk runs is not entered either.
 *   - Nothing below the root is followed.  The walk holds each directory
 *     open and reaches its entries with statx/openat/unlinkat relative to
 *     it, opening subdirectories with O_NOFOLLOW: a symbolic link, to a
 *     directory or a file, inside or outside the root, is removed as a link
 *     and its target is never touched, even if a directory is swapped for a
 *     link while the walk runs.
 *
 * Any other entry that cannot be removed stops the walk there and is
 * reported; what was removed before stays removed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "daglib_sqlite.h"

/* Deeper trees than this are refused rather than walked: each level holds
 * a descriptor, and the metadata tree is two levels deep. */
#define DROP_MAX_DEPTH 64

/* Where an entry lies: its filesystem, told by device and, where statx
 * reports it, by mount (a bind mount shares its source's device). */
typedef struct drop_place {
    mode_t mode;
    dev_t dev;
    ino_t ino;
    uint64_t mnt_id;
    int has_mnt_id;
} drop_place;

typedef struct drop_level {
    DIR *dir;
    char *name;    /* this directory's name in its parent; NULL for the root */
    int removed;   /* entries removed during the current readdir pass */
    int kept;      /* entries kept during it: mount points, or lead to one */
} drop_level;

typedef struct drop_walk {
    const char *root;
    drop_place fs; /* the root's */
    drop_level level[DROP_MAX_DEPTH];
    int depth;
    sqlite3_int64 removed;
    char *mount_path;  /* the first mount point met (sqlite3_mprintf) */
    int other_mounts;  /* and others after it */
    char *errmsg;      /* sqlite3_mprintf, or NULL */
} drop_walk;

/* statx(dirfd, name, flags), or fstatat where the kernel has no statx
 * (the mount then goes untold: the device alone decides).  0 or -1. */
static int place_of(int dirfd, const char *name, int flags, drop_place *p)
{
    memset(p, 0, sizeof *p);
    struct statx stx;
    if (statx(dirfd, name, flags, STATX_TYPE | STATX_INO | STATX_MNT_ID,
              &stx) == 0) {
        p->mode = stx.stx_mode;
        p->dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
        p->ino = (ino_t)stx.stx_ino;
        p->mnt_id = stx.stx_mnt_id;
        p->has_mnt_id = (stx.stx_mask & STATX_MNT_ID) != 0;
        return 0;
    }
    if (errno != ENOSYS && errno != EPERM) /* EPERM: an old seccomp filter */
        return -1;
    struct stat st;
    if (fstatat(dirfd, name, &st, flags) != 0)
        return -1;
    p->mode = st.st_mode;
    p->dev = st.st_dev;
    p->ino = st.st_ino;
    return 0;
}

static int same_filesystem(const drop_place *a, const drop_place *b)
{
    if (a->dev != b->dev)
        return 0;
    return !a->has_mnt_id || !b->has_mnt_id || a->mnt_id == b->mnt_id;
}

static int same_file(const drop_place *a, const drop_place *b)
{
    return a->dev == b->dev && a->ino == b->ino;
}

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

/* name, an entry of the current directory, is another filesystem: leave
 * it (and so the directories above it) in place and remember it. */
static int keep_mount_point(drop_walk *w, const char *name)
{
    w->level[w->depth - 1].kept++;
    char *path = entry_path(w, name);
    if (path == NULL)
        return -1;
    if (w->mount_path == NULL) {
        w->mount_path = path;
        return 0;
    }
    /* Met again when a directory is read a second time: not another. */
    if (strcmp(path, w->mount_path) != 0)
        w->other_mounts = 1;
    sqlite3_free(path);
    return 0;
}

/* Remove one entry of the current directory: a file or a link at once, a
 * directory by descending into it (it is removed when left). */
static int remove_entry(drop_walk *w, const char *name)
{
    drop_level *top = &w->level[w->depth - 1];
    int fd = dirfd(top->dir);
    drop_place at;
    if (place_of(fd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, &at) != 0)
        return errno == ENOENT ? 0 : fail(w, "cannot inspect", name, errno);
    if (!same_filesystem(&at, &w->fs))
        return keep_mount_point(w, name);
    if (S_ISDIR(at.mode)) {
        int sub = openat(fd, name,
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0) {
            /* What is entered is the opened directory: check it, not the
             * name, which a mount may have covered since. */
            if (place_of(sub, "", AT_EMPTY_PATH, &at) != 0) {
                int err = errno;
                close(sub);
                return fail(w, "cannot inspect", name, err);
            }
            if (!same_filesystem(&at, &w->fs)) {
                close(sub);
                return keep_mount_point(w, name);
            }
            return push(w, sub, name);
        }
        if (errno == ENOENT)
            return 0;
        if (errno != ELOOP && errno != ENOTDIR)
            return fail(w, "cannot open", name, errno);
        /* Replaced by a link or a file since inspected: remove that. */
    }
    if (unlinkat(fd, name, 0) != 0)
        return errno == ENOENT ? 0 : fail(w, "cannot remove", name, errno);
    top->removed++;
    w->removed++;
    return 0;
}

/* Leave the current directory, now empty but for mount points and what
 * leads to them, and remove it from its parent unless it holds such. */
static int leave_directory(drop_walk *w)
{
    drop_level *top = &w->level[w->depth - 1];
    if (top->removed > 0) {
        /* readdir need not return entries that follow removed ones; look
         * again until a pass finds nothing left to remove. */
        top->removed = 0;
        top->kept = 0;
        rewinddir(top->dir);
        return 0;
    }
    char *name = top->name;
    int kept = top->kept;
    top->name = NULL;
    pop(w);
    if (w->depth == 0)
        return 0; /* the root stays */
    drop_level *parent = &w->level[w->depth - 1];
    int rc = 0;
    if (kept > 0) {
        parent->kept++; /* it leads to a mount point: it stays */
    } else if (unlinkat(dirfd(parent->dir), name, AT_REMOVEDIR) == 0) {
        parent->removed++;
        w->removed++;
    } else if (errno != ENOENT) {
        rc = fail(w, "cannot remove the directory", name, errno);
    }
    free(name);
    return rc;
}

/* Refuse a root that is '/' or the top of another tree: 0, or -1 with
 * w->errmsg set.  fd is the opened root. */
static int refuse_a_slash(drop_walk *w, int fd)
{
    drop_place slash, up;
    if (place_of(AT_FDCWD, "/", 0, &slash) != 0)
        return fail(w, "cannot inspect '/' to compare it with", NULL, errno);
    if (same_file(&w->fs, &slash)) {
        w->errmsg = sqlite3_mprintf(
            "daglib_drop: refusing to empty '/' (the metadata root '%s' is '/')",
            w->root);
        return -1;
    }
    if (place_of(fd, "..", 0, &up) != 0)
        return fail(w, "cannot inspect the parent of", NULL, errno);
    if (same_file(&w->fs, &up)) {
        w->errmsg = sqlite3_mprintf(
            "daglib_drop: refusing to empty '%s': it is the '/' of another "
            "directory tree (its '..' is itself)", w->root);
        return -1;
    }
    return 0;
}

/* Empty root.  0, or -1 with w->errmsg set (NULL: out of memory). */
static int drop_tree(drop_walk *w)
{
    int fd = open(w->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return fail(w, "cannot open the metadata root", NULL, errno);
    }
    if (place_of(fd, "", AT_EMPTY_PATH, &w->fs) != 0) {
        int err = errno;
        close(fd);
        return fail(w, "cannot inspect the metadata root", NULL, err);
    }
    if (refuse_a_slash(w, fd) != 0) {
        close(fd);
        return -1;
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
    if (rc == 0 && w->mount_path != NULL) {
        if (w->other_mounts)
            w->errmsg = sqlite3_mprintf(
                "daglib_drop: '%s' and other entries are other filesystems "
                "(mount points), which daglib_drop never enters: they and the "
                "directories that lead to them were kept, everything else was "
                "removed (%lld %s)", w->mount_path, (long long)w->removed,
                w->removed == 1 ? "entry" : "entries");
        else
            w->errmsg = sqlite3_mprintf(
                "daglib_drop: '%s' is another filesystem (a mount point), "
                "which daglib_drop never enters: it and the directories that "
                "lead to it were kept, everything else was removed (%lld %s)",
                w->mount_path, (long long)w->removed,
                w->removed == 1 ? "entry" : "entries");
        rc = -1;
    }
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
    int rc = drop_tree(&w);
    sqlite3_free(w.mount_path);
    if (rc != 0) {
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
