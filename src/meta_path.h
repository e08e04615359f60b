/*
 * meta_path.h -- the metadata root and the names that become paths under it.
 *
 * Layout: <root>/profiling/<dag name>/<run id>.avro.  A DAG name is checked
 * here, once, before it is ever joined into a path; nothing is mangled.
 * The same rules serve the writer (libdaglib) and the reader (the SQLite
 * extension), so both agree on what a valid tree looks like.
 */
#ifndef DAGLIB_META_PATH_H
#define DAGLIB_META_PATH_H

#include <stddef.h>

#include "error.h"

#define META_DIR_ENV "DAGLIB_META_DIR"
#define META_DIR_DEFAULT "meta"
#define META_PROFILING_DIR "profiling"

/* "run_" + 9 lowercase hex digits. */
#define META_RUN_ID_LEN 13
#define META_RUN_ID_SIZE (META_RUN_ID_LEN + 1)

/* The root to use: explicit_root when not NULL, else $DAGLIB_META_DIR when
 * set and non-empty, else "meta".  Borrowed (from the argument, the
 * environment, or a literal). */
const char *meta_root_effective(const char *explicit_root);

/* DAGLIB_OK when name can be a DAG name (a single safe path component:
 * non-empty, at most DAGLIB_MAX_NAME_BYTES bytes, valid UTF-8, no '/', no
 * control character, not starting with '.'); else DAGLIB_INVALID with a
 * message saying which rule it breaks, quoting the name safely. */
int meta_check_dag_name(const char *name, error_state *err);

/* 1 when s is a run id ("run_" + 9 lowercase hex digits), else 0. */
int meta_is_run_id(const char *s, size_t len);

/* A fresh random run id into out (NUL-terminated). */
void meta_new_run_id(char out[META_RUN_ID_SIZE]);

/* A generated DAG name, "dag_" + 12 lowercase hex digits, into out. */
#define META_GENERATED_NAME_SIZE 17
void meta_generated_dag_name(char out[META_GENERATED_NAME_SIZE]);

/* path made absolute against the working directory, lexically ("." and ".."
 * components folded, no symbolic link resolved, the path need not exist).
 * *out is malloc'd.  DAGLIB_OK, DAGLIB_INVALID (empty path), DAGLIB_IO
 * (no working directory) or DAGLIB_NOMEM. */
int meta_absolute_path(const char *path, char **out, error_state *err);

/* Fill buf with n random bytes from the kernel (getrandom, falling back to
 * /dev/urandom, then to a clock-seeded mix).  Never touches rand(). */
void meta_random_bytes(void *buf, size_t n);

#endif
