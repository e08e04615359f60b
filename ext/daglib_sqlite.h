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

/* Everything extension_register() has registered so far on one
 * connection, so that a failure half way can take it all back
 * (daglib_sqlite.c).  Each part registers through ext_create_function()
 * and ext_create_module(), never sqlite3_create_* directly. */
#define EXT_MAX_REGISTRATIONS 8
typedef struct ext_registry {
    sqlite3 *db;
    int count;
    struct {
        const char *name;
        int narg; /* EXT_MODULE for a module */
    } done[EXT_MAX_REGISTRATIONS];
} ext_registry;
#define EXT_MODULE (-100)

/* sqlite3_create_function_v2() for a scalar function, recorded in reg.
 * conn (or NULL) is the function's user data; the function holds its own
 * reference, which SQLite releases when the function goes, even when
 * registering it fails. */
int ext_create_function(ext_registry *reg, const char *name, int narg,
                        int flags, meta_conn *conn,
                        void (*func)(sqlite3_context *, int, sqlite3_value **));
/* sqlite3_create_module_v2(), recorded in reg; the module holds its own
 * reference to conn, as above. */
int ext_create_module(ext_registry *reg, const char *name,
                      const sqlite3_module *module, meta_conn *conn);

int meta_root_register(ext_registry *reg, meta_conn *conn);      /* meta_root.c */
int meta_drop_register(ext_registry *reg, meta_conn *conn);      /* meta_drop.c */
int profiling_vtab_register(ext_registry *reg, meta_conn *conn); /* profiling_vtab.c */
int profiling_files_register(ext_registry *reg, meta_conn *conn); /* profiling_files.c */

/* ---- calls that only the connection's owner may make (schema_guard.c) ---- */

/* 1 when no stored schema object of any database attached to the
 * context's connection (temp aside) names the SQL function `function`,
 * so that the call cannot come from one; else 0, with an error set on
 * ctx.  For functions that touch the filesystem or redirect the
 * metadata root. */
int schema_guard_allows(sqlite3_context *ctx, const char *function);

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
