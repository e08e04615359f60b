/*
 * schema_guard.c -- refuse a call that a database file's schema could
 * have made.
 *
 * daglib_drop() empties a directory and daglib_meta_dir(root) points it
 * elsewhere; only SQL that the connection's owner writes may call them.
 * A database file is not such SQL: its views, triggers, CHECK and DEFAULT
 * clauses, generated columns and index expressions run when the person
 * who opened it reads or writes its tables.  SQLITE_DIRECTONLY is meant
 * to keep such calls out, but it relies on SQLite's resolver marking a
 * call as coming from the schema, and before 3.50 the resolver marks one
 * in a CHECK, generated column or index only when the function is
 * deterministic -- and in every version only when the function was
 * registered before the schema was read: a file opened, queried, and
 * only then given the extension keeps its CHECK constraints unmarked
 * (tests/suites/untrusted_schema.sh shows both, up to SQLite 3.54).
 *
 * So the functions also check at run time, without the resolver: a call
 * is refused while any stored schema object of any attached database
 * (temp, which only the owner writes, aside) names the function.  Every
 * schema object SQLite runs is parsed from the `sql` text of the schema
 * table, read here in the same transaction, and an SQL identifier is
 * spelled by its own characters (quoting adds only quote characters;
 * names compare ASCII case-insensitively), so a call from the schema
 * always shows as the name, as a whole token, in that text.  The check
 * errs only towards refusing: a table, column or string that happens to
 * be named daglib_drop blocks daglib_drop() too, with a message saying
 * which database to look at.  Cost: one read of each schema table per
 * call, and these functions are called rarely.
 */
#include <string.h>

#include "daglib_sqlite.h"

/* Characters that continue an SQL identifier (SQLite's IdChar). */
static int is_identifier_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '$' || c >= 0x80;
}

/* sql holds name as a whole token, ASCII case-insensitively. */
static int names_token(const char *sql, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = sql; *p != '\0'; p++) {
        if (sqlite3_strnicmp(p, name, (int)n) != 0)
            continue;
        int starts = p == sql || !is_identifier_char((unsigned char)p[-1]);
        int ends = !is_identifier_char((unsigned char)p[n]);
        if (starts && ends)
            return 1;
    }
    return 0;
}

/* Whether the schema table of database `schema` names `function`:
 * SQLITE_OK with *named set, or an error code. */
static int schema_names(sqlite3 *db, const char *schema, const char *function,
                        int *named)
{
    char *sql = sqlite3_mprintf(
        "SELECT sql FROM \"%w\".sqlite_master WHERE sql IS NOT NULL", schema);
    if (sql == NULL)
        return SQLITE_NOMEM;
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
    sqlite3_free(sql);
    *named = 0;
    while (rc == SQLITE_OK && !*named) {
        int step = sqlite3_step(stmt);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            rc = step;
            break;
        }
        const char *text = (const char *)sqlite3_column_text(stmt, 0);
        if (text == NULL)
            rc = SQLITE_NOMEM;
        else
            *named = names_token(text, function);
    }
    sqlite3_finalize(stmt);
    return rc;
}

int schema_guard_allows(sqlite3_context *ctx, const char *function)
{
    sqlite3 *db = sqlite3_context_db_handle(ctx);
    sqlite3_stmt *list = NULL;
    int named = 0;
    char *schema = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA database_list", -1, &list, NULL);
    while (rc == SQLITE_OK && !named) {
        int step = sqlite3_step(list);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            rc = step;
            break;
        }
        const char *name = (const char *)sqlite3_column_text(list, 1);
        if (name == NULL) {
            rc = SQLITE_NOMEM;
            break;
        }
        if (strcmp(name, "temp") == 0)
            continue;
        rc = schema_names(db, name, function, &named);
        if (rc == SQLITE_OK && named) {
            schema = sqlite3_mprintf("%s", name);
            if (schema == NULL)
                rc = SQLITE_NOMEM;
        }
    }
    sqlite3_finalize(list);
    if (rc == SQLITE_NOMEM) {
        sqlite3_result_error_nomem(ctx);
        return 0;
    }
    if (rc != SQLITE_OK) {
        char *msg = sqlite3_mprintf("%s: refused: cannot read the schema to "
                                    "check who calls it: %s",
                                    function, sqlite3_errmsg(db));
        sqlite3_result_error(ctx, msg != NULL ? msg : function, -1);
        sqlite3_free(msg);
        return 0;
    }
    if (named) {
        char *msg = sqlite3_mprintf(
            "%s: refused: the schema of database '%s' names %s, and a call "
            "from a view, trigger, CHECK, DEFAULT, generated column or index "
            "of a database file is never allowed",
            function, schema, function);
        sqlite3_result_error(ctx, msg != NULL ? msg : function, -1);
        sqlite3_free(msg);
        sqlite3_free(schema);
        return 0;
    }
    return 1;
}
