/*
 * profile_tree.c -- the walk over <root>/profiling/<dag>/<file>.avro.
 *
 * Two levels, each a sorted listing: the DAG directories (from readdir, or
 * from the caller's set of names when a query filters on dag_name) and the
 * files of the current DAG directory.  Directories are held open as
 * descriptors and everything below them is reached with openat/fstatat
 * relative to them, without following links, so a link planted in the
 * tree cannot lead the walk (or the file it reports) out of the root.
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
    int profiling_fd;        /* <root>/profiling, or -1 */
    tree_names own_dags;     /* the listing, when not filtered */
    const tree_names *dags;  /* what to visit: the filter or own_dags */
    size_t next_dag;
    DIR *dag_dir;            /* the current DAG directory, or NULL */
    const char *dag;         /* its name */
    tree_names files;        /* its profiling files, sorted */
    size_t next_file;
    char *path;              /* the entry reported last */
    size_t path_capacity;
    char problem[160];
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

/* Fill *file with a problem entry for the current path. */
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

/* List the DAG directories of the profiling directory into own_dags.
 * Entries whose type readdir already knows to be something else are left
 * out; links stay in, to be reported when opened. */
static int list_dags(tree_walk *w)
{
    int fd = dup(w->profiling_fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return 0; /* unreadable: treated as empty, like a missing one */
    }
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_type != DT_DIR && e->d_type != DT_LNK &&
            e->d_type != DT_UNKNOWN)
            continue;
        if (!is_dag_directory_name(e->d_name))
            continue;
        if (tree_names_add(&w->own_dags, e->d_name, strlen(e->d_name)) != 0) {
            rc = -1;
            break;
        }
    }
    closedir(d);
    tree_names_finish(&w->own_dags);
    w->dags = &w->own_dags;
    return rc;
}

/* Open <root>/profiling.  1 with a problem entry, 0 when done (the walk
 * may be empty), -1 for memory. */
static int start(tree_walk *w, tree_file *file)
{
    w->started = 1;
    int root_fd = open(w->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) {
        if (errno == ENOENT)
            return 0;
        if (build_path(w, NULL, NULL) != 0)
            return -1;
        return report_problem(w, file, NULL, "cannot open the metadata root",
                              errno);
    }
    w->profiling_fd = openat(root_fd, META_PROFILING_DIR,
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int err = errno;
    close(root_fd);
    if (w->profiling_fd < 0) {
        if (err == ENOENT)
            return 0;
        if (build_path(w, NULL, NULL) != 0)
            return -1;
        return report_problem(w, file, NULL,
                              err == ELOOP || err == ENOTDIR
                                  ? "not a directory (links are not followed)"
                                  : "cannot open the profiling directory",
                              err == ELOOP || err == ENOTDIR ? 0 : err);
    }
    if (w->dags == NULL && list_dags(w) != 0)
        return -1;
    return 0;
}

/* List the current DAG directory's profiling files into w->files. */
static int list_files(tree_walk *w)
{
    struct dirent *e;
    while ((e = readdir(w->dag_dir)) != NULL) {
        size_t len = strlen(e->d_name);
        if (!is_profile_name(e->d_name, len))
            continue;
        size_t stem = len - AVRO_SUFFIX_LEN;
        if (w->runs != NULL && meta_is_run_id(e->d_name, stem)) {
            char id[META_RUN_ID_SIZE];
            memcpy(id, e->d_name, stem);
            id[stem] = '\0';
            if (!tree_names_contains(w->runs, id))
                continue;
        }
        if (tree_names_add(&w->files, e->d_name, len) != 0)
            return -1;
    }
    tree_names_finish(&w->files);
    return 0;
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

/* Open the next DAG directory.  1 with a problem entry in *file, 0 with
 * w->dag_dir set or, when none is left, w->dag NULL; -1 for memory. */
static int open_next_dag(tree_walk *w, tree_file *file)
{
    while (w->next_dag < w->dags->count) {
        const char *dag = w->dags->names[w->next_dag++];
        if (!is_dag_directory_name(dag))
            continue; /* a filter value that names no DAG: matches nothing */
        int fd = openat(w->profiling_fd, dag,
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            struct stat st;
            if (err == ENOENT)
                continue;
            if (err == ELOOP || err == ENOTDIR) {
                if (fstatat(w->profiling_fd, dag, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
                    !S_ISLNK(st.st_mode))
                    continue; /* a plain file: not a DAG directory */
                if (build_path(w, dag, NULL) != 0)
                    return -1;
                return report_problem(w, file, dag,
                                      "a symbolic link: not followed", 0);
            }
            if (build_path(w, dag, NULL) != 0)
                return -1;
            return report_problem(w, file, dag, "cannot open the directory",
                                  err);
        }
        w->dag_dir = fdopendir(fd);
        if (w->dag_dir == NULL) {
            close(fd);
            return -1;
        }
        w->dag = dag;
        if (list_files(w) != 0)
            return -1;
        return 0;
    }
    return 0;
}

int tree_walk_next(tree_walk *w, tree_file *file)
{
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
            const char *name = w->files.names[w->next_file++];
            struct stat st;
            if (fstatat(dirfd(w->dag_dir), name, &st, AT_SYMLINK_NOFOLLOW) != 0)
                continue; /* gone since the listing */
            if (build_path(w, w->dag, name) != 0)
                return -1;
            size_t stem = strlen(name) - AVRO_SUFFIX_LEN;
            if (S_ISLNK(st.st_mode))
                report_problem(w, file, w->dag, "a symbolic link: not followed",
                               0);
            else if (!S_ISREG(st.st_mode))
                report_problem(w, file, w->dag, "not a regular file", 0);
            else {
                memset(file, 0, sizeof *file);
                file->path = w->path;
                file->dag = w->dag;
                file->bytes = (int64_t)st.st_size;
            }
            file->name = name;
            if (meta_is_run_id(name, stem)) {
                memcpy(w->run_id, name, stem);
                w->run_id[stem] = '\0';
                file->run_id = w->run_id;
            }
            return 1;
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
    free(w->root);
    free(w);
}
