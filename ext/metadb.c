/*
 * metadb.c -- MetaDB: a SQLite connection with the daglib_sqlite extension
 * built in, the C counterpart of the Python original's MetaDB().
 *
 * Nothing of its own: the connection is the caller's ordinary sqlite3
 * handle, the tables and functions are the extension's, registered through
 * extension_register() (the same code the loadable ./daglib_sqlite.so
 * runs, built here with SQLITE_CORE), and drop is SELECT daglib_drop().
 * So a C program, the sqlite3 shell and an ODBC client see exactly the
 * same SQL.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "daglib.h"
#include "error.h"
#include "extension.h"

/* Hand a message to the caller (malloc'd, for daglib_free). */
static void give_message(char **msg, const char *text)
{
    if (msg != NULL)
        *msg = format_string("%s", text);
}

static int code_of(int sqlite_rc)
{
    return sqlite_rc == SQLITE_NOMEM ? DAGLIB_NOMEM : DAGLIB_SQL;
}

int daglib_metadb_open(const char *filename, const char *meta_dir,
                       struct sqlite3 **db, char **msg)
{
    if (msg != NULL)
        *msg = NULL;
    if (db == NULL) {
        give_message(msg, "daglib_metadb_open: db is NULL");
        return DAGLIB_MISUSE;
    }
    *db = NULL;
    if (meta_dir != NULL && meta_dir[0] == '\0') {
        give_message(msg, "the metadata root is empty");
        return DAGLIB_INVALID;
    }
    if (filename == NULL)
        filename = ":memory:";
    sqlite3 *conn = NULL;
    int rc = sqlite3_open_v2(filename, &conn,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                 SQLITE_OPEN_URI,
                             NULL);
    if (rc != SQLITE_OK) {
        if (conn == NULL) {
            give_message(msg, "out of memory");
            return DAGLIB_NOMEM;
        }
        if (msg != NULL)
            *msg = format_string("cannot open '%s': %s", filename,
                                 sqlite3_errmsg(conn));
        sqlite3_close(conn);
        return code_of(rc);
    }
    char *why = NULL;
    rc = extension_register(conn, meta_dir, &why);
    if (rc != SQLITE_OK) {
        give_message(msg, why != NULL ? why : sqlite3_errstr(rc));
        sqlite3_free(why);
        sqlite3_close(conn);
        return code_of(rc);
    }
    *db = conn;
    return DAGLIB_OK;
}

int daglib_metadb_register(struct sqlite3 *db, const char *meta_dir)
{
    if (db == NULL)
        return DAGLIB_MISUSE;
    if (meta_dir != NULL && meta_dir[0] == '\0')
        return DAGLIB_INVALID;
    char *why = NULL;
    int rc = extension_register(db, meta_dir, &why);
    sqlite3_free(why);
    return rc == SQLITE_OK ? DAGLIB_OK : code_of(rc);
}

int daglib_metadb_drop(struct sqlite3 *db, int64_t *removed)
{
    if (removed != NULL)
        *removed = 0;
    if (db == NULL)
        return DAGLIB_MISUSE;
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT daglib_drop()", -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return code_of(rc);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW && removed != NULL)
        *removed = sqlite3_column_int64(stmt, 0);
    int final = sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW)
        return code_of(final != SQLITE_OK ? final : rc);
    return DAGLIB_OK;
}
