/*
 * profile_tree.c -- the walk over <root>/profiling/<dag>/<file>.avro.
 *
 * Two levels, each a sorted listing: the DAG directories (from readdir, or
 * from the caller's set of names when a query filters on dag_name) and the
 * files of the current DAG directory.  Directories are held open as
 * descriptors and everything below them is reached with openat/fstatat
 * relative to them, without following links, so a link planted in the
 * tree cannot lead the walk (or the file it reports) out of the root.
 * Whatever the walk meets that is not a readable profiling file it hands
 * back as an entry with a problem rather than pass over it, so that the
 * tables can say what they did not read; what fails for want of memory
 * or descriptors ends the walk instead, since going on would leave a gap
 * that nobody is told about.
 * The report of a file is a path, because readers open paths; between
 * the check and the open a writer of the tree could still swap the name,
 * which only someone who may write the tree anyway can do.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meta_path.h"
#include "profile_tree.h"

#define AVRO_SUFFIX ".avro"
#define AVRO_SUFFIX_LEN 5

/* ---- name sets ------------------------------------------------------------ */

int tree_names_add(tree_names *set, const char *s, size_t n)
{
    if (set->count == set->capacity) {
        size_t capacity = set->capacity ? set->capacity * 2 : 8;
        char **grown = realloc(set->names, capacity * sizeof *grown);
        if (grown == NULL)
            return -1;
        set->names = grown;
        set->capacity = capacity;
    }
    char *copy = malloc(n + 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, s, n);
    copy[n] = '\0';
    set->names[set->count++] = copy;
    return 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void tree_names_finish(tree_names *set)
{
    if (set->count < 2)
        return;
    qsort(set->names, set->count, sizeof *set->names, compare_names);
    size_t kept = 1;
    for (size_t i = 1; i < set->count; i++) {
        if (strcmp(set->names[i], set->names[kept - 1]) == 0)
            free(set->names[i]);
        else
            set->names[kept++] = set->names[i];
    }
    set->count = kept;
}

int tree_names_contains_n(const tree_names *set, const char *s, size_t n)
{
    size_t lo = 0, hi = set->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *name = set->names[mid];
        size_t len = strlen(name);
        int c = memcmp(s, name, n < len ? n : len);
        if (c == 0)
            c = n < len ? -1 : n > len;
        if (c == 0)
            return 1;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

int tree_names_contains(const tree_names *set, const char *s)
{
    return tree_names_contains_n(set, s, strlen(s));
}

void tree_names_clear(tree_names *set)
{
    for (size_t i = 0; i < set->count; i++)
        free(set->names[i]);
    free(set->names);
    memset(set, 0, sizeof *set);
}

/* ---- the walk --------------------------------------------------------------- */

struct tree_walk {
    char *root;
    const tree_names *runs;  /* borrowed filter, or NULL */
    int started;             /* the profiling directory has been opened */
    int failed;              /* tree_walk_next() gave -1: it stays so */
    int profiling_fd;        /* <root>/profiling, or -1 */
    tree_names own_dags;     /* its listing, when not filtered */
    const tree_names *dags;  /* what to visit: the filter or own_dags */
    size_t next_dag;
    DIR *dag_dir;            /* the current DAG directory, or NULL */
    const char *dag;         /* its name */
    tree_names files;        /* its entries to report, sorted */
    size_t next_file;
    char *path;              /* the entry reported last */
    size_t path_capacity;
    char *error;             /* why the walk failed; NULL: memory */
    char problem[320];
    char run_id[META_RUN_ID_SIZE];
};

int tree_walk_open(const char *root, const tree_names *dags,
                   const tree_names *runs, tree_walk **out)
{
    *out = NULL;
    tree_walk *w = calloc(1, sizeof *w);
    if (w == NULL || (w->root = strdup(root)) == NULL) {
        free(w);
        return -1;
    }
    w->profiling_fd = -1;
    w->dags = dags;
    w->runs = runs;
    *out = w;
    return 0;
}

const char *tree_walk_error(const tree_walk *w)
{
    return w->error;
}

/* Set w->path to <root>/profiling[/<dag>[/<name>]]; 0 or -1 (memory). */
static int build_path(tree_walk *w, const char *dag, const char *name)
{
    size_t need = strlen(w->root) + sizeof "/" META_PROFILING_DIR "//" +
                  (dag ? strlen(dag) : 0) + (name ? strlen(name) : 0);
    if (need > w->path_capacity) {
        char *grown = realloc(w->path, need);
        if (grown == NULL)
            return -1;
        w->path = grown;
        w->path_capacity = need;
    }
    int n = snprintf(w->path, need, "%s/" META_PROFILING_DIR, w->root);
    if (dag != NULL)
        n += snprintf(w->path + n, need - (size_t)n, "/%s", dag);
    if (name != NULL)
        snprintf(w->path + n, need - (size_t)n, "/%s", name);
    return 0;
}

/* Set w->path to the root itself, or to the profiling directory, made
 * absolute: a report that the tree is missing has to say where the
 * query looked.  0 or -1 (memory). */
static int build_absolute_path(tree_walk *w, int profiling)
{
    const char *path = w->root;
    if (profiling) {
        if (build_path(w, NULL, NULL) != 0)
            return -1;
        path = w->path;
    }
    char *absolute = NULL;
    int rc = meta_absolute_path(path, &absolute, NULL);
    if (rc == DAGLIB_NOMEM)
        return -1;
    if (rc != DAGLIB_OK && (absolute = strdup(path)) == NULL)
        return -1; /* an empty root, or no working directory: as given */
    free(w->path);
    w->path = absolute;
    w->path_capacity = strlen(absolute) + 1;
    return 0;
}

/* Errors that say nothing about the tree but about this process (out of
 * descriptors or memory): the walk cannot go on without a silent gap, so
 * they end it. */
static int is_resource_error(int err)
{
    return err == EMFILE || err == ENFILE || err == ENOMEM;
}

/* End the walk: what failed on w->path (or the root), err its errno.
 * Always -1. */
static int fail(tree_walk *w, const char *what, int err)
{
    w->failed = 1;
    free(w->error);
    w->error = NULL;
    if (err != ENOMEM)
        w->error = format_string("%s '%s': %s", what,
                                 w->path != NULL ? w->path : w->root,
                                 strerror(err));
    return -1;
}

static int fail_memory(tree_walk *w)
{
    return fail(w, NULL, ENOMEM);
}

/* Fill *file with a problem entry for the current path.  Always 1. */
static int report_problem(tree_walk *w, tree_file *file, const char *dag,
                          const char *what, int err)
{
    if (err != 0)
        snprintf(w->problem, sizeof w->problem, "%s: %s", what, strerror(err));
    else
        snprintf(w->problem, sizeof w->problem, "%s", what);
    memset(file, 0, sizeof *file);
    file->path = w->path;
    file->dag = dag;
    file->bytes = -1;
    file->problem = w->problem;
    return 1;
}

static int is_dag_directory_name(const char *name)
{
    return meta_check_dag_name(name, NULL) == DAGLIB_OK;
}

static int is_profile_name(const char *name, size_t len)
{
    return name[0] != '.' && len > AVRO_SUFFIX_LEN &&
           memcmp(name + len - AVRO_SUFFIX_LEN, AVRO_SUFFIX,
                  AVRO_SUFFIX_LEN) == 0;
}

static int is_dot_or_dot_dot(const char *name)
{
    return name[0] == '.' &&
           (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

/* What an entry that is not what its place calls for is instead. */
static const char *kind_of(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISREG(mode))
        return "a regular file";
    if (S_ISLNK(mode))
        return "a symbolic link";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISSOCK(mode))
        return "a socket";
    return "a device";
}

/* 0 when the open directory fd may be searched (its entries opened),
 * else why not.  Reading a directory needs r, reaching into it x: with r
 * alone it lists its names and then every one of them fails. */
static int search_error(int fd)
{
    if (faccessat(fd, ".", X_OK, AT_EACCESS) == 0)
        return 0;
    return errno == EACCES || errno == EPERM ? errno : 0;
}

/* Read every entry of d but "." and ".." that keep() accepts into names,
 * sorted; *list_err gets readdir's errno if the listing stopped early (a
 * directory removed meanwhile just ends it).  0, or -1 for memory. */
static int list_directory(tree_walk *w, DIR *d, tree_names *names,
                          int (*keep)(const tree_walk *, const char *),
                          int *list_err)
{
    *list_err = 0;
    for (;;) {
        errno = 0; /* readdir's NULL is the end unless it sets errno */
        struct dirent *e = readdir(d);
        if (e == NULL)
            break;
        if (is_dot_or_dot_dot(e->d_name) ||
            (keep != NULL && !keep(w, e->d_name)))
            continue;
        if (tree_names_add(names, e->d_name, strlen(e->d_name)) != 0)
            return -1;
    }
    if (errno != 0 && errno != ENOENT)
        *list_err = errno;
    tree_names_finish(names);
    return 0;
}

/* Report why the tree could not be opened at all (open's errno err):
 * the root missing, not a directory or not searchable, or the profiling
 * directory missing or not one.  Nothing here is an error of the query:
 * a root no DAG has run with yet is the normal state of a new project,
 * so that row says so plainly.  1, or -1. */
static int report_missing_tree(tree_walk *w, tree_file *file, int err)
{
    struct stat st;
    if (w->root[0] == '\0' || stat(w->root, &st) != 0) {
        int root_err = w->root[0] == '\0' ? ENOENT : errno;
        if (root_err == ENOMEM)
            return fail_memory(w);
        if (build_absolute_path(w, 0) != 0)
            return fail_memory(w);
        if (root_err == ENOENT)
            return report_problem(w, file, NULL,
                                  "the metadata root does not exist "
                                  "(no DAG has been run with it yet)",
                                  0);
        return report_problem(w, file, NULL, "cannot reach the metadata root",
                              root_err);
    }
    if (!S_ISDIR(st.st_mode)) {
        if (build_absolute_path(w, 0) != 0)
            return fail_memory(w);
        return report_problem(w, file, NULL,
                              "the metadata root is not a directory", 0);
    }
    if (err == EACCES && faccessat(AT_FDCWD, w->root, X_OK, AT_EACCESS) != 0) {
        if (build_absolute_path(w, 0) != 0)
            return fail_memory(w);
        return report_problem(w, file, NULL,
                              "cannot search the metadata root", EACCES);
    }
    if (build_absolute_path(w, 1) != 0)
        return fail_memory(w);
    if (err == ENOENT)
        return report_problem(w, file, NULL,
                              "no profiling directory: no profiled run has "
                              "been recorded under this root yet",
                              0);
    if (err == ELOOP)
        return report_problem(w, file, NULL, "a symbolic link: not followed",
                              0);
    if (err == ENOTDIR)
        return report_problem(w, file, NULL, "not a directory", 0);
    return report_problem(w, file, NULL, "cannot open the profiling directory",
                          err);
}

/* Open <root>/profiling and, unless a filter names the DAGs, list it.
 * The root may be a link (the user's choice), the profiling directory may
 * not.  1 with a problem entry (the tree is missing, or cannot be listed
 * or searched), 0 when done, -1 when the walk failed. */
static int start(tree_walk *w, tree_file *file)
{
    w->started = 1;
    if (build_path(w, NULL, NULL) != 0)
        return fail_memory(w);
    if (w->root[0] != '\0')
        w->profiling_fd = open(w->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                            O_CLOEXEC);
    if (w->profiling_fd < 0) {
        int err = w->root[0] == '\0' ? ENOENT : errno;
        if (is_resource_error(err))
            return fail(w, "cannot open", err);
        return report_missing_tree(w, file, err);
    }
    int list_err = 0;
    if (w->dags == NULL) {
        /* A descriptor of its own for readdir: profiling_fd stays for
         * openat, and closedir closes only the copy. */
        int fd = dup(w->profiling_fd);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (d == NULL) {
            int err = errno;
            if (fd >= 0)
                close(fd);
            return fail(w, "cannot read the directory", err);
        }
        int rc = list_directory(w, d, &w->own_dags, NULL, &list_err);
        closedir(d);
        if (rc != 0)
            return fail_memory(w);
        w->dags = &w->own_dags;
    }
    int search_err = search_error(w->profiling_fd);
    if (list_err != 0)
        return report_problem(w, file, NULL, "cannot list the directory",
                              list_err);
    if (search_err != 0)
        return report_problem(w, file, NULL, "cannot search the directory",
                              search_err);
    return 0;
}

/* Whether a filter limits the walk: then what is no DAG directory or
 * profiling file is passed over, since it holds no row the filter asks
 * for. */
static int filtered(const tree_walk *w)
{
    return w->dags != &w->own_dags || w->runs != NULL;
}

/* Whether a DAG directory's entry is to be reported: profiling files,
 * except those a run filter rules out by name, and, without a filter,
 * everything else there too. */
static int keep_file(const tree_walk *w, const char *name)
{
    size_t len = strlen(name);
    if (!is_profile_name(name, len))
        return !filtered(w);
    size_t stem = len - AVRO_SUFFIX_LEN;
    if (w->runs == NULL || !meta_is_run_id(name, stem))
        return 1;
    char id[META_RUN_ID_SIZE];
    memcpy(id, name, stem);
    id[stem] = '\0';
    return tree_names_contains(w->runs, id);
}

static void close_dag(tree_walk *w)
{
    if (w->dag_dir != NULL)
        closedir(w->dag_dir);
    w->dag_dir = NULL;
    w->dag = NULL;
    tree_names_clear(&w->files);
    w->next_file = 0;
}

/* Report an entry of the profiling directory that is no DAG directory:
 * its name is not a DAG name.  1, 0 when it is gone, or -1. */
static int report_not_a_dag(tree_walk *w, tree_file *file, const char *name)
{
    struct stat st;
    if (fstatat(w->profiling_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        int err = errno;
        if (err == ENOENT)
            return 0;
        if (build_path(w, name, NULL) != 0)
            return fail_memory(w);
        if (err == ENOMEM)
            return fail_memory(w);
        return report_problem(w, file, NULL, "cannot stat the entry", err);
    }
    if (build_path(w, name, NULL) != 0)
        return fail_memory(w);
    char what[sizeof w->problem];
    if (!S_ISDIR(st.st_mode)) {
        snprintf(what, sizeof what, "not a DAG directory: %s",
                 kind_of(st.st_mode));
    } else {
        error_state why = ERROR_STATE_INIT;
        if (meta_check_dag_name(name, &why) == DAGLIB_NOMEM) {
            error_clear(&why);
            return fail_memory(w);
        }
        snprintf(what, sizeof what, "not a DAG directory: %s",
                 error_message(&why));
        error_clear(&why);
    }
    return report_problem(w, file, NULL, what, 0);
}

/* Open the next DAG directory.  1 with a problem entry in *file (with
 * w->dag_dir set when its files are still to come), 0 with w->dag_dir
 * set or, when none is left, NULL; -1 when the walk failed. */
static int open_next_dag(tree_walk *w, tree_file *file)
{
    while (w->next_dag < w->dags->count) {
        const char *dag = w->dags->names[w->next_dag++];
        if (!is_dag_directory_name(dag)) {
            /* A filter value that names no DAG matches nothing; under a
             * run filter, this entry is passed over (see filtered()). */
            if (filtered(w))
                continue;
            int rc = report_not_a_dag(w, file, dag);
            if (rc != 0)
                return rc;
            continue;
        }
        int fd = openat(w->profiling_fd, dag,
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            if (err == ENOENT)
                continue;
            if (build_path(w, dag, NULL) != 0)
                return fail_memory(w);
            if (is_resource_error(err))
                return fail(w, "cannot open", err);
            if (err == ELOOP || err == ENOTDIR) {
                struct stat st;
                if (fstatat(w->profiling_fd, dag, &st,
                            AT_SYMLINK_NOFOLLOW) != 0)
                    continue; /* gone since the listing */
                if (S_ISLNK(st.st_mode))
                    return report_problem(w, file, dag,
                                          "a symbolic link: not followed", 0);
                if (filtered(w))
                    continue; /* no DAG directory, as above */
                char what[64];
                snprintf(what, sizeof what, "not a DAG directory: %s",
                         kind_of(st.st_mode));
                return report_problem(w, file, NULL, what, 0);
            }
            return report_problem(w, file, dag, "cannot open the directory",
                                  err);
        }
        w->dag_dir = fdopendir(fd);
        if (w->dag_dir == NULL) {
            int err = errno;
            close(fd);
            if (build_path(w, dag, NULL) != 0)
                return fail_memory(w);
            return fail(w, "cannot read the directory", err);
        }
        w->dag = dag;
        int list_err = 0;
        if (list_directory(w, w->dag_dir, &w->files, keep_file, &list_err) != 0)
            return fail_memory(w);
        int search_err = search_error(fd);
        if (list_err == 0 && search_err == 0)
            return 0;
        if (build_path(w, dag, NULL) != 0)
            return fail_memory(w);
        /* Reported, then its files, each with what stops it. */
        return report_problem(w, file, dag,
                              list_err ? "cannot list the directory"
                                       : "cannot search the directory",
                              list_err ? list_err : search_err);
    }
    return 0;
}

/* Fill *file for the DAG directory's entry name.  1, 0 when it is gone
 * since the listing, or -1. */
static int report_file(tree_walk *w, tree_file *file, const char *name)
{
    struct stat st;
    int err = 0;
    if (fstatat(dirfd(w->dag_dir), name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        err = errno;
    if (err == ENOENT)
        return 0;
    if (build_path(w, w->dag, name) != 0 || err == ENOMEM)
        return fail_memory(w);
    size_t len = strlen(name);
    int profile_name = is_profile_name(name, len);
    if (err != 0) {
        report_problem(w, file, w->dag, "cannot stat the file", err);
    } else if (!profile_name) {
        report_problem(w, file, w->dag,
                       name[0] == '.'
                           ? "not a profiling file: a hidden name"
                           : "not a profiling file: the name does not end "
                             "in " AVRO_SUFFIX,
                       0);
        if (S_ISREG(st.st_mode))
            file->bytes = (int64_t)st.st_size;
    } else if (S_ISLNK(st.st_mode)) {
        report_problem(w, file, w->dag, "a symbolic link: not followed", 0);
    } else if (!S_ISREG(st.st_mode)) {
        report_problem(w, file, w->dag, "not a regular file", 0);
    } else {
        memset(file, 0, sizeof *file);
        file->path = w->path;
        file->dag = w->dag;
        file->bytes = (int64_t)st.st_size;
    }
    file->name = name;
    size_t stem = len - AVRO_SUFFIX_LEN;
    if (profile_name && meta_is_run_id(name, stem)) {
        memcpy(w->run_id, name, stem);
        w->run_id[stem] = '\0';
        file->run_id = w->run_id;
    }
    return 1;
}

int tree_walk_next(tree_walk *w, tree_file *file)
{
    if (w->failed)
        return -1;
    if (!w->started) {
        int rc = start(w, file);
        if (rc != 0)
            return rc;
    }
    if (w->profiling_fd < 0)
        return 0;
    for (;;) {
        if (w->dag_dir == NULL) {
            int rc = open_next_dag(w, file);
            if (rc != 0)
                return rc;
            if (w->dag_dir == NULL)
                return 0;
        }
        while (w->next_file < w->files.count) {
            int rc = report_file(w, file, w->files.names[w->next_file++]);
            if (rc != 0)
                return rc;
        }
        close_dag(w);
    }
}

void tree_walk_close(tree_walk *w)
{
    if (w == NULL)
        return;
    close_dag(w);
    if (w->profiling_fd >= 0)
        close(w->profiling_fd);
    tree_names_clear(&w->own_dags);
    free(w->path);
    free(w->error);
    free(w->root);
    free(w);
}
