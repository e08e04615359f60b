/*
 * meta_root.c -- the connection's metadata root, and the SQL functions
 * that show it: daglib_meta_dir() and daglib_version().
 *
 *   SELECT daglib_meta_dir();                -- the root queries read now
 *   SELECT daglib_meta_dir('/srv/etl/meta'); -- read that root from now on
 *   SELECT daglib_meta_dir(NULL);            -- back to the default
 *   SELECT daglib_version();                 -- '0.1.0'
 *
 * The default root is $DAGLIB_META_DIR when set and non-empty, else "meta",
 * looked up at each query relative to the working directory of that
 * moment, as libdaglib does for each run.  A root set here is made
 * absolute once, when set: GUI and ODBC clients rarely run in the
 * project's directory, and a root that moved with the working directory
 * would make the same query read different trees.  daglib_meta_dir()
 * returns the root as an absolute path, so a user can see where the
 * tables look.
 */
#include <stdlib.h>
#include <string.h>

#include "daglib.h"
#include "daglib_sqlite.h"
#include "error.h"
#include "meta_path.h"

/* ---- the state ------------------------------------------------------------ */

meta_conn *meta_conn_new(const char *root, char **errmsg, int *code)
{
    meta_conn *conn = calloc(1, sizeof *conn);
    if (conn == NULL) {
        *errmsg = sqlite3_mprintf("out of memory");
        *code = SQLITE_NOMEM;
        return NULL;
    }
    conn->refs = 1;
    if ((*code = meta_conn_set_root(conn, root, errmsg)) != SQLITE_OK) {
        free(conn);
        return NULL;
    }
    return conn;
}

meta_conn *meta_conn_ref(meta_conn *conn)
{
    conn->refs++;
    return conn;
}

void meta_conn_unref(void *p)
{
    meta_conn *conn = p;
    if (conn == NULL || --conn->refs > 0)
        return;
    free(conn->root);
    free(conn);
}

const char *meta_conn_root(const meta_conn *conn)
{
    return meta_root_effective(conn->root);
}

int meta_conn_set_root(meta_conn *conn, const char *root, char **errmsg)
{
    char *absolute = NULL;
    if (root != NULL) {
        error_state err = ERROR_STATE_INIT;
        int code = meta_absolute_path(root, &absolute, &err);
        if (code != DAGLIB_OK) {
            *errmsg = sqlite3_mprintf("%s", error_message(&err));
            error_clear(&err);
            return code == DAGLIB_NOMEM ? SQLITE_NOMEM : SQLITE_ERROR;
        }
    }
    free(conn->root);
    conn->root = absolute;
    return SQLITE_OK;
}

/* ---- SQL functions ---------------------------------------------------------- */

/* Return the root queries read now, as an absolute path. */
static void result_root(sqlite3_context *ctx, meta_conn *conn)
{
    char *absolute = NULL;
    error_state err = ERROR_STATE_INIT;
    if (meta_absolute_path(meta_conn_root(conn), &absolute, &err) != DAGLIB_OK) {
        sqlite3_result_error(ctx, error_message(&err), -1);
        error_clear(&err);
        return;
    }
    sqlite3_result_text(ctx, absolute, -1, SQLITE_TRANSIENT);
    free(absolute);
}

/* daglib_meta_dir([root]): with an argument, set the connection's root
 * (NULL restores the default); either way return the root in effect. */
static void meta_dir_func(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    meta_conn *conn = sqlite3_user_data(ctx);
    if (argc == 1) {
        if (!schema_guard_allows(ctx, "daglib_meta_dir"))
            return;
        const char *root = (const char *)sqlite3_value_text(argv[0]);
        if (root == NULL && sqlite3_value_type(argv[0]) != SQLITE_NULL) {
            sqlite3_result_error_nomem(ctx);
            return;
        }
        char *errmsg = NULL;
        int rc = meta_conn_set_root(conn, root, &errmsg);
        if (rc != SQLITE_OK) {
            if (rc == SQLITE_NOMEM)
                sqlite3_result_error_nomem(ctx);
            else
                sqlite3_result_error(ctx, errmsg, -1);
            sqlite3_free(errmsg);
            return;
        }
    }
    result_root(ctx, conn);
}

/* daglib_version(): the library's version, DAGLIB_VERSION. */
static void version_func(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    sqlite3_result_text(ctx, DAGLIB_VERSION, -1, SQLITE_STATIC);
}

int meta_root_register(ext_registry *reg, meta_conn *conn)
{
    /* daglib_meta_dir decides which directory daglib_drop() empties: a
     * stored view, trigger, CHECK, DEFAULT, generated column or index of
     * an untrusted database file must not be able to point it elsewhere
     * (or probe where it points).  SQLITE_DIRECTONLY and
     * SQLITE_DETERMINISTIC, and a guard when setting the root, for the
     * reasons given in meta_drop_register().  TEMP views may still use
     * it. */
    static const int meta_dir_flags =
        SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY;
    int rc = SQLITE_OK;
    for (int argc = 0; argc <= 1 && rc == SQLITE_OK; argc++)
        rc = ext_create_function(reg, "daglib_meta_dir", argc, meta_dir_flags,
                                 conn, meta_dir_func);
    if (rc == SQLITE_OK)
        rc = ext_create_function(
            reg, "daglib_version", 0,
            SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
            version_func);
    return rc;
}
