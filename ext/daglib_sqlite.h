/*
 * daglib_sqlite.h -- what the parts of the daglib_sqlite extension share:
 * the SQLite API, the connection's metadata root, each part's registration
 * function and the error helper.
 *
 * Every ext/ file that calls SQLite includes this header instead of
 * sqlite3.h.  The extension is built twice from the same sources: into
 * libdaglib with -DSQLITE_CORE, where sqlite3ext.h is plain sqlite3.h, and
 * as the loadable ./daglib_sqlite.so without it, where every sqlite3_*
 * call goes through the host's API table (sqlite3_api, defined once by
 * SQLITE_EXTENSION_INIT1 in daglib_sqlite.c), so the .so never carries a
 * SQLite of its own.
 *
 * Interfaces newer than what the host may have are called only after
 * checking sqlite3_libversion_number() at run time: in the loadable build
 * an older host's API table simply ends before them.
 */
#ifndef DAGLIB_SQLITE_H
#define DAGLIB_SQLITE_H

#include <stdarg.h>

#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

/* The oldest SQLite the extension loads into: 3.31 has SQLITE_DIRECTONLY
 * and SQLITE_INNOCUOUS, which daglib_drop() and friends need. */
#define EXT_MIN_SQLITE 3031000
/* sqlite3_vtab_in() and friends, for IN (...) pushdown. */
#define EXT_VTAB_IN_SQLITE 3038000

/* ---- the connection's metadata root (meta_root.c) ---------------------- */

/* State shared by everything the extension registers on one connection:
 * the metadata root set for it.  Reference counted, one reference per
 * registration holding it (SQLite calls meta_conn_unref as each one's
 * destructor).  Only touched under the connection's mutex. */
typedef struct meta_conn {
    int refs;
    char *root; /* absolute, malloc'd; NULL: $DAGLIB_META_DIR or "meta" */
} meta_conn;

/* A new state with one reference.  root (or NULL) as for
 * daglib_meta_dir(root).  NULL on error, with *errmsg (sqlite3_mprintf)
 * and *code (SQLITE_NOMEM when memory ran out, else SQLITE_ERROR). */
meta_conn *meta_conn_new(const char *root, char **errmsg, int *code);
meta_conn *meta_conn_ref(meta_conn *conn);
void meta_conn_unref(void *conn);

/* The root a query reads now (the one set, else the environment's, else
 * "meta"); borrowed until the next meta_conn_set_root(). */
const char *meta_conn_root(const meta_conn *conn);

/* Set the root (NULL: back to the default); a relative path is made
 * absolute now.  SQLITE_OK, or an error code with *errmsg
 * (sqlite3_mprintf). */
int meta_conn_set_root(meta_conn *conn, const char *root, char **errmsg);

/* ---- registration: one function per part ------------------------------- */

int meta_root_register(sqlite3 *db, meta_conn *conn);       /* meta_root.c */
int meta_drop_register(sqlite3 *db, meta_conn *conn);       /* meta_drop.c */
int profiling_vtab_register(sqlite3 *db, meta_conn *conn);  /* profiling_vtab.c */
int profiling_files_register(sqlite3 *db, meta_conn *conn); /* profiling_files.c */

/* ---- errors --------------------------------------------------------------- */

/* Set a virtual table's error message, freeing the one before. */
static inline void vtab_set_error(sqlite3_vtab *vtab, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_free(vtab->zErrMsg);
    vtab->zErrMsg = sqlite3_vmprintf(fmt, ap);
    va_end(ap);
}

#endif
