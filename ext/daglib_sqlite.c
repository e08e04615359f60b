/*
 * daglib_sqlite.c -- the extension's entry point: registration only.
 *
 *   sqlite> .load ./daglib_sqlite
 *   sqlite> SELECT * FROM profiling;
 *
 * Registers, on one connection:
 *   profiling          eponymous table: every task record (profiling_vtab.c)
 *   profiling_files    eponymous table: every file, and what went wrong
 *                      reading it (profiling_files.c)
 *   daglib_drop([root])      empty the metadata root (meta_drop.c)
 *   daglib_meta_dir([root])  show or set the connection's root (meta_root.c)
 *   daglib_version()         the library's version (meta_root.c)
 *
 * Loadable as ./daglib_sqlite.so through the default entry point
 * sqlite3_daglibsqlite_init, using the host's SQLite (sqlite3ext.h); built
 * into libdaglib with SQLITE_CORE, where MetaDB (src/metadb.c) calls
 * extension_register() directly.
 */
#include <stddef.h>

#include "daglib_sqlite.h"
#include "extension.h"

SQLITE_EXTENSION_INIT1

int extension_register(sqlite3 *db, const char *meta_dir, char **errmsg)
{
    char *message = NULL;
    if (sqlite3_libversion_number() < EXT_MIN_SQLITE) {
        message = sqlite3_mprintf("daglib_sqlite needs SQLite 3.31 or later; "
                                  "this is %s", sqlite3_libversion());
        if (errmsg != NULL)
            *errmsg = message;
        else
            sqlite3_free(message);
        return SQLITE_ERROR;
    }
    int code = SQLITE_OK;
    meta_conn *conn = meta_conn_new(meta_dir, &message, &code);
    if (conn == NULL) {
        if (errmsg != NULL)
            *errmsg = message;
        else
            sqlite3_free(message);
        return code;
    }
    int rc = profiling_vtab_register(db, conn);
    if (rc == SQLITE_OK)
        rc = profiling_files_register(db, conn);
    if (rc == SQLITE_OK)
        rc = meta_drop_register(db, conn);
    if (rc == SQLITE_OK)
        rc = meta_root_register(db, conn);
    meta_conn_unref(conn); /* each registration holds its own reference */
    if (rc != SQLITE_OK && errmsg != NULL)
        *errmsg = sqlite3_mprintf("daglib_sqlite: cannot register: %s",
                                  sqlite3_errstr(rc));
    return rc;
}

/* The entry point SQLite derives from the file name daglib_sqlite.so: the
 * only symbol the loadable extension exports (the build hides the rest).
 * In libdaglib it stays internal; sqlite3_auto_extension() users call
 * daglib_metadb_register() instead. */
#ifndef SQLITE_CORE
__attribute__((visibility("default")))
#endif
int sqlite3_daglibsqlite_init(sqlite3 *db, char **errmsg,
                              const sqlite3_api_routines *api)
{
    (void)api; /* used by SQLITE_EXTENSION_INIT2 outside SQLITE_CORE */
    SQLITE_EXTENSION_INIT2(api);
    return extension_register(db, NULL, errmsg);
}
