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
 * A failure leaves nothing behind.  SQLite refuses to replace a function
 * while a statement runs (SELECT load_extension(...) is one), and when an
 * entry point fails it unloads the library: anything left registered
 * would then point into unmapped code.  So before registering anything,
 * the entry point refuses when a statement runs and one of its names is
 * taken; after that only running out of memory can stop it half way, and
 * then it takes back what it registered, in reverse.  Should even that
 * fail (a function cannot be removed either while a statement runs), the
 * loadable library stays mapped, so that what remains is working code.
 *
 * Loadable as ./daglib_sqlite.so through the default entry point
 * sqlite3_daglibsqlite_init, using the host's SQLite (sqlite3ext.h); built
 * into libdaglib with SQLITE_CORE, where MetaDB (ext/metadb.c) calls
 * extension_register() directly.
 */
#include <stddef.h>
#include <string.h>
#ifndef SQLITE_CORE
#include <dlfcn.h>
#endif

#include "daglib_sqlite.h"
#include "extension.h"

SQLITE_EXTENSION_INIT1

/* The SQL functions the extension registers, each of every arity. */
static const char *const function_names[] = {"daglib_drop", "daglib_meta_dir",
                                             "daglib_version"};

/* ---- the registry: what was registered, to take it back ---------------- */

static int record(ext_registry *reg, const char *name, int narg)
{
    if (reg->count == EXT_MAX_REGISTRATIONS)
        return SQLITE_INTERNAL; /* raise EXT_MAX_REGISTRATIONS */
    reg->done[reg->count].name = name;
    reg->done[reg->count].narg = narg;
    reg->count++;
    return SQLITE_OK;
}

int ext_create_function(ext_registry *reg, const char *name, int narg,
                        int flags, meta_conn *conn,
                        void (*func)(sqlite3_context *, int, sqlite3_value **))
{
    if (reg->count == EXT_MAX_REGISTRATIONS)
        return SQLITE_INTERNAL;
    /* On failure SQLite calls the destructor itself, releasing the
     * reference taken here. */
    int rc = sqlite3_create_function_v2(
        reg->db, name, narg, flags, conn != NULL ? meta_conn_ref(conn) : NULL,
        func, NULL, NULL, conn != NULL ? meta_conn_unref : NULL);
    return rc == SQLITE_OK ? record(reg, name, narg) : rc;
}

int ext_create_module(ext_registry *reg, const char *name,
                      const sqlite3_module *module, meta_conn *conn)
{
    if (reg->count == EXT_MAX_REGISTRATIONS)
        return SQLITE_INTERNAL;
    int rc = sqlite3_create_module_v2(reg->db, name, module,
                                      meta_conn_ref(conn), meta_conn_unref);
    return rc == SQLITE_OK ? record(reg, name, EXT_MODULE) : rc;
}

/* Take back everything recorded, newest first.  Removing a module cannot
 * fail; removing a function fails while a statement runs.  0 when all
 * is gone.  SQLite releases each one's reference to the state as it goes. */
static int undo(ext_registry *reg)
{
    int left = 0;
    while (reg->count > 0) {
        reg->count--;
        const char *name = reg->done[reg->count].name;
        int narg = reg->done[reg->count].narg;
        int rc = narg == EXT_MODULE
                     ? sqlite3_create_module_v2(reg->db, name, NULL, NULL, NULL)
                     : sqlite3_create_function_v2(reg->db, name, narg,
                                                  SQLITE_UTF8, NULL, NULL,
                                                  NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            left++;
    }
    return left;
}

/* After an undo that could not remove everything: keep the loadable
 * library mapped when SQLite closes its handle, since functions still
 * registered call into it (and their destructors run at close). */
static void keep_library_loaded(void)
{
#ifndef SQLITE_CORE
    Dl_info info;
    if (dladdr((void *)&extension_register, &info) != 0 &&
        info.dli_fname != NULL)
        (void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
#endif
}

/* ---- before registering: what would fail half way ---------------------- */

static int statement_running(sqlite3 *db)
{
    for (sqlite3_stmt *s = sqlite3_next_stmt(db, NULL); s != NULL;
         s = sqlite3_next_stmt(db, s))
        if (sqlite3_stmt_busy(s))
            return 1;
    return 0;
}

/* 1 when a function of one of our names exists (or cannot be ruled out:
 * the pragma may be compiled out or refused). */
static int name_taken(sqlite3 *db)
{
    sqlite3_stmt *stmt = NULL;
    int taken = 1;
    if (sqlite3_prepare_v2(db,
                           "SELECT count(*) FROM pragma_function_list "
                           "WHERE name COLLATE NOCASE IN (?1, ?2, ?3)",
                           -1, &stmt, NULL) == SQLITE_OK) {
        for (int i = 0; i < 3; i++)
            sqlite3_bind_text(stmt, i + 1, function_names[i], -1,
                              SQLITE_STATIC);
        if (sqlite3_step(stmt) == SQLITE_ROW)
            taken = sqlite3_column_int(stmt, 0) != 0;
    }
    sqlite3_finalize(stmt);
    return taken;
}

/* ---- the entry --------------------------------------------------------------- */

/* Hand message to the caller (or free it) and return code. */
static int fail_with(char **errmsg, char *message, int code)
{
    if (errmsg != NULL)
        *errmsg = message;
    else
        sqlite3_free(message);
    return code;
}

static int fail(char **errmsg, char *message)
{
    return fail_with(errmsg, message, SQLITE_ERROR);
}

int extension_register(sqlite3 *db, const char *meta_dir, char **errmsg)
{
    char *message = NULL;
    if (sqlite3_libversion_number() < EXT_MIN_SQLITE)
        return fail(errmsg,
                    sqlite3_mprintf("daglib_sqlite needs SQLite 3.31 or later; "
                                    "this is %s", sqlite3_libversion()));
    /* SQLite would refuse to replace an existing function half way, and
     * what was registered before could then not be removed. */
    if (statement_running(db) && name_taken(db))
        return fail(errmsg,
                    sqlite3_mprintf(
                        "daglib_sqlite: cannot register while a statement "
                        "runs: a function named daglib_drop, "
                        "daglib_meta_dir or daglib_version exists already "
                        "(load the extension with sqlite3_load_extension() "
                        "or the shell's .load, with no statement running)"));
    int code = SQLITE_OK;
    meta_conn *conn = meta_conn_new(meta_dir, &message, &code);
    if (conn == NULL)
        return fail_with(errmsg, message, code);
    ext_registry reg;
    memset(&reg, 0, sizeof reg);
    reg.db = db;
    int rc = profiling_vtab_register(&reg, conn);
    if (rc == SQLITE_OK)
        rc = profiling_files_register(&reg, conn);
    if (rc == SQLITE_OK)
        rc = meta_drop_register(&reg, conn);
    if (rc == SQLITE_OK)
        rc = meta_root_register(&reg, conn);
    if (rc != SQLITE_OK && undo(&reg) != 0)
        keep_library_loaded();
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
