/*
 * profile_tree.h -- walk the profiling files under a metadata root.
 *
 * The tree is <root>/profiling/<dag name>/<anything>.avro.  The walk gives
 * one file at a time, DAG directories in byte order and the files of each
 * in byte order, so its memory is one directory listing, never the tree.
 *
 * Rules, shared by the profiling and profiling_files tables:
 *   - Nothing is skipped in silence.  Every entry of the tree that is not
 *     a readable profiling file comes back as an entry with `problem` set,
 *     to be reported, never opened: a root or profiling directory that is
 *     missing, not a directory or not searchable (one entry, with the
 *     absolute path looked at; a root no DAG has run with yet is no error,
 *     and its entry says so), a directory that cannot be opened, listed or
 *     searched (then its files follow, each with its own problem), a name
 *     in the profiling directory that is not a DAG name, a name in a DAG
 *     directory that is not <something>.avro, a symbolic link, a FIFO.
 *   - Only directories whose names pass meta_check_dag_name() are DAG
 *     directories; only names ending in ".avro" and not starting with '.'
 *     are profiling files.
 *   - Below the root nothing is followed: directories are opened with
 *     O_NOFOLLOW relative to their parent's descriptor, files are checked
 *     with fstatat(AT_SYMLINK_NOFOLLOW).  (The root itself may be a link:
 *     that is the user's choice.)
 *   - What says nothing about the tree but about the process -- out of
 *     memory or of file descriptors -- ends the walk with -1 rather than
 *     leave a gap in it.
 *   - Filters prune by name only where the name proves the contents: a DAG
 *     directory is named after the DAG of its records, and a file named
 *     <run id>.avro holds that run.  A file of any other .avro name is
 *     kept under a run filter, since only its records can say which run
 *     it holds; the caller re-checks every row.  What a filter prunes is
 *     not reported: a DAG filter visits only its DAGs' directories, and
 *     under any filter what is no DAG directory or profiling file is
 *     left out, since it can hold no row asked for.
 *
 * Pure C, no SQLite: the walk is testable on its own.
 */
#ifndef DAGLIB_PROFILE_TREE_H
#define DAGLIB_PROFILE_TREE_H

#include <stddef.h>
#include <stdint.h>

/* A set of names: add, then finish (sorts and removes duplicates), then
 * look up.  Zero-initialised is empty. */
typedef struct tree_names {
    char **names; /* malloc'd copies */
    size_t count;
    size_t capacity;
} tree_names;

/* Add a copy of [s, s + n).  0, or -1 when memory runs out. */
int tree_names_add(tree_names *set, const char *s, size_t n);
void tree_names_finish(tree_names *set);
int tree_names_contains(const tree_names *set, const char *s);
/* The same for [s, s + n), which need not end in a NUL. */
int tree_names_contains_n(const tree_names *set, const char *s, size_t n);
void tree_names_clear(tree_names *set);

typedef struct tree_file {
    const char *path;    /* <root>/profiling[/<dag>[/<name>]], or the root */
    const char *dag;     /* the DAG directory's name, or NULL above it */
    const char *name;    /* the entry's name in its DAG directory; NULL
                            for a directory or what is above one */
    const char *run_id;  /* the run id of a <run id>.avro name, else NULL */
    int64_t bytes;       /* the file's size; -1 unless a regular file */
    const char *problem; /* why this entry cannot be read, or NULL */
} tree_file;

typedef struct tree_walk tree_walk;

/* Start a walk of root.  dags (or NULL for all) limits the DAG directories
 * to those names; runs (or NULL for all) limits files named after a run id
 * to those runs.  Both are finished sets, borrowed for the walk's life.
 * 0 with *out set, or -1 when memory runs out. */
int tree_walk_open(const char *root, const tree_names *dags,
                   const tree_names *runs, tree_walk **out);

/* The next entry into *file (its strings are valid until the next call):
 * 1, 0 at the end, -1 when the walk failed (and fails from then on). */
int tree_walk_next(tree_walk *w, tree_file *file);

/* Why tree_walk_next() gave -1: a message naming the path and the
 * system's error (say, too many open files), owned by the walk; NULL when
 * memory ran out. */
const char *tree_walk_error(const tree_walk *w);

/* Close and free.  NULL is a no-op. */
void tree_walk_close(tree_walk *w);

#endif
