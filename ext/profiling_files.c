/*
 * profiling_files.c -- the `profiling_files` table: one row per profiling
 * file under the metadata root, and whether it reads cleanly.
 *
 *   SELECT * FROM profiling_files;
 *   SELECT path, error FROM profiling_files WHERE error IS NOT NULL;
 *   SELECT dag_name, sum(records), sum(bytes) FROM profiling_files GROUP BY 1;
 *   SELECT * FROM profiling_files('/srv/etl/meta');
 *
 * An eponymous table of this shape:
 *
 *   CREATE TABLE profiling_files(
 *     path,       -- <root>/profiling/<dag>/<name>.avro, or above it
 *     dag_name,   -- the DAG directory's name
 *     run_id,     -- from the file name when it is <run id>.avro, else NULL
 *     bytes,      -- the file's size; NULL for what is not a regular file
 *     records,    -- the records that can be read; NULL for a directory
 *     error,      -- why the file (or the rest of it) cannot be read, or NULL
 *     root HIDDEN -- the argument of profiling_files(root)
 *   );
 *
 * It walks the same tree with the same rules as the profiling table
 * (profile_tree.h) and reads every file to its end, so it lists exactly
 * the files `profiling` reads and says what `profiling` could not: a
 * truncated or torn block, a file that is not Avro or not a daglib
 * profile, a link not followed, an unreadable DAG directory, anything
 * else in the tree, and a root that does not exist (yet) or cannot be
 * read -- that row's path is absolute, to show where the query looked,
 * and its other columns are NULL.  Running out of memory or file
 * descriptors fails the query rather than leave a file out.  It also
 * flags a file whose records name another DAG or run than its path does:
 * such records are in `profiling`, but a query filtered on dag_name or
 * run_id looks for them by path and will not find them.
 *
 * Like `profiling`, it reads when the query runs and caches nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "daglib_sqlite.h"
#include "profile_reader.h"
#include "profile_tree.h"

#define COLUMN_PATH 0
#define COLUMN_DAG_NAME 1
#define COLUMN_RUN_ID 2
#define COLUMN_BYTES 3
#define COLUMN_RECORDS 4
#define COLUMN_ERROR 5
#define COLUMN_ROOT 6

#define PROFILING_FILES_SCHEMA                                               \
    "CREATE TABLE x(path TEXT, dag_name VARCHAR(128), "                      \
    "run_id VARCHAR(13), bytes INTEGER, records INTEGER, "                   \
    "error TEXT, root HIDDEN)"

/* idxNum: 0x01 when root = ? is the (only) argument. */
#define PLAN_ROOT 0x01

typedef struct files_vtab {
    sqlite3_vtab base;
    meta_conn *conn;
} files_vtab;

typedef struct files_cursor {
    sqlite3_vtab_cursor base;
    tree_walk *walk;
    tree_file file;         /* the current row's entry (owned by walk) */
    profile_reader *reader; /* reads one file after another; NULL at first */
    sqlite3_int64 records;  /* read from it */
    char *error;            /* sqlite3_mprintf'd, or NULL */
    sqlite3_int64 rowid;
    int eof;
    char *root;             /* sqlite3_mprintf'd */
} files_cursor;

/* Does the cell hold exactly the text s? */
static int cell_is(const profile_cell *cell, const char *s)
{
    size_t n = strlen(s);
    return cell->kind == CELL_TEXT && cell->u.text.n == n &&
           memcmp(cell->u.text.p, s, n) == 0;
}

/* Do the record's DAG and run agree with the file's path? */
static int record_matches_path(const files_cursor *c, const profile_row *row)
{
    return cell_is(&row->cell[PF_DAG_NAME], c->file.dag) &&
           (c->file.run_id == NULL ||
            cell_is(&row->cell[PF_RUN_ID], c->file.run_id));
}

static char *describe_mismatch(const files_cursor *c, const profile_row *row)
{
    const profile_cell *dag = &row->cell[PF_DAG_NAME];
    const profile_cell *run = &row->cell[PF_RUN_ID];
    return sqlite3_mprintf(
        "record %lld is of DAG '%.*s', run '%.*s', not what its path says: "
        "queries filtered on dag_name or run_id will miss it",
        c->records, dag->kind == CELL_TEXT ? (int)dag->u.text.n : 0,
        dag->kind == CELL_TEXT ? dag->u.text.p : "",
        run->kind == CELL_TEXT ? (int)run->u.text.n : 0,
        run->kind == CELL_TEXT ? run->u.text.p : "");
}

/* Read the current file to its end: count its records and keep why it
 * stopped early, or which record first disagrees with its path.  One
 * reader serves the whole scan, keeping its buffers and compiled schema
 * from file to file. */
static int read_file(files_cursor *c)
{
    if (c->reader == NULL &&
        (c->reader = profile_reader_new(PROFILE_ENGINE_AUTO)) == NULL)
        return SQLITE_NOMEM;
    profile_reader *r = c->reader;
    char *why = NULL;
    int opened = profile_reader_reopen(r, c->file.path, &why);
    if (opened != 0) {
        /* Out of memory is not the file's fault: it ends the query. */
        c->error = opened == PROFILE_READER_NOMEM
                       ? NULL
                       : sqlite3_mprintf("%s", why ? why : "out of memory");
        free(why);
        return c->error ? SQLITE_OK : SQLITE_NOMEM;
    }
    const uint32_t wanted =
        PROFILE_FIELD_BIT(PF_DAG_NAME) | PROFILE_FIELD_BIT(PF_RUN_ID);
    profile_row row;
    char *mismatch = NULL;
    int rc;
    while ((rc = profile_reader_next(r, wanted, &row)) > 0) {
        c->records++;
        if (mismatch == NULL && !record_matches_path(c, &row) &&
            (mismatch = describe_mismatch(c, &row)) == NULL)
            return SQLITE_NOMEM;
    }
    if (rc == PROFILE_READER_NOMEM) {
        sqlite3_free(mismatch);
        return SQLITE_NOMEM;
    }
    if (rc < 0) {
        const char *stopped = profile_reader_error(r);
        c->error = mismatch ? sqlite3_mprintf("%s; %s", stopped, mismatch)
                            : sqlite3_mprintf("%s", stopped);
        sqlite3_free(mismatch);
    } else {
        c->error = mismatch;
    }
    return rc < 0 && c->error == NULL ? SQLITE_NOMEM : SQLITE_OK;
}

/* Move to the next entry of the walk and read it. */
static int next_entry(files_cursor *c)
{
    sqlite3_free(c->error);
    c->error = NULL;
    c->records = 0;
    int rc = tree_walk_next(c->walk, &c->file);
    if (rc <= 0) {
        c->eof = 1;
        if (rc == 0)
            return SQLITE_OK;
        const char *why = tree_walk_error(c->walk);
        if (why == NULL)
            return SQLITE_NOMEM;
        vtab_set_error(c->base.pVtab, "profiling_files: %s", why);
        return SQLITE_ERROR;
    }
    c->rowid++;
    if (c->file.problem != NULL) {
        c->error = sqlite3_mprintf("%s", c->file.problem);
        return c->error ? SQLITE_OK : SQLITE_NOMEM;
    }
    return read_file(c);
}

/* Forget the scan: close its walk, free its strings. */
static void reset_cursor(files_cursor *c)
{
    tree_walk_close(c->walk);
    c->walk = NULL;
    sqlite3_free(c->error);
    c->error = NULL;
    sqlite3_free(c->root);
    c->root = NULL;
    c->rowid = 0;
    c->eof = 1;
}

/* ---- the module ------------------------------------------------------------- */

/* Declare the table; the connection's root state comes as pAux. */
static int filesConnect(sqlite3 *db, void *aux, int argc,
                        const char *const *argv, sqlite3_vtab **out,
                        char **errmsg)
{
    (void)argc;
    (void)argv;
    (void)errmsg;
    *out = NULL;
    int rc = sqlite3_declare_vtab(db, PROFILING_FILES_SCHEMA);
    if (rc != SQLITE_OK)
        return rc;
    files_vtab *vtab = sqlite3_malloc(sizeof *vtab);
    if (vtab == NULL)
        return SQLITE_NOMEM;
    memset(vtab, 0, sizeof *vtab);
    vtab->conn = meta_conn_ref(aux);
    /* Default trust, as for profiling (see profiling_vtab.c). */
    *out = &vtab->base;
    return SQLITE_OK;
}

/* The only constraint used is the root argument; without a usable one
 * where one is given, the plan cannot run. */
static int filesBestIndex(sqlite3_vtab *vtab, sqlite3_index_info *info)
{
    (void)vtab;
    info->idxNum = 0;
    for (int i = 0; i < info->nConstraint; i++) {
        const struct sqlite3_index_constraint *k = &info->aConstraint[i];
        if (k->iColumn != COLUMN_ROOT || k->op != SQLITE_INDEX_CONSTRAINT_EQ)
            continue;
        if (!k->usable)
            return SQLITE_CONSTRAINT;
        info->aConstraintUsage[i].argvIndex = 1;
        info->aConstraintUsage[i].omit = 1;
        info->idxNum = PLAN_ROOT;
        break;
    }
    info->estimatedCost = 1e6;
    info->estimatedRows = 1000;
    return SQLITE_OK;
}

/* A new cursor, at its end until filtered. */
static int filesOpen(sqlite3_vtab *vtab, sqlite3_vtab_cursor **out)
{
    (void)vtab;
    files_cursor *c = sqlite3_malloc(sizeof *c);
    if (c == NULL)
        return SQLITE_NOMEM;
    memset(c, 0, sizeof *c);
    c->eof = 1;
    *out = &c->base;
    return SQLITE_OK;
}

/* Start a walk of the root (idxNum PLAN_ROOT: argv[0]; else the
 * connection's) and read its first entry. */
static int filesFilter(sqlite3_vtab_cursor *cur, int idx_num,
                       const char *idx_str, int argc, sqlite3_value **argv)
{
    (void)idx_str;
    (void)argc;
    files_cursor *c = (files_cursor *)cur;
    files_vtab *vtab = (files_vtab *)cur->pVtab;
    reset_cursor(c);
    const char *root = meta_conn_root(vtab->conn);
    if (idx_num & PLAN_ROOT) {
        root = (const char *)sqlite3_value_text(argv[0]);
        if (root == NULL)
            return sqlite3_value_type(argv[0]) == SQLITE_NULL ? SQLITE_OK
                                                               : SQLITE_NOMEM;
    }
    if ((c->root = sqlite3_mprintf("%s", root)) == NULL ||
        tree_walk_open(c->root, NULL, NULL, &c->walk) != 0)
        return SQLITE_NOMEM;
    c->eof = 0;
    return next_entry(c);
}

/* The next file (or directory problem), read to its end. */
static int filesNext(sqlite3_vtab_cursor *cur)
{
    return next_entry((files_cursor *)cur);
}

/* The value of column col for the current entry; NULL where it does
 * not apply (see the table at the top). */
static int filesColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx,
                       int col)
{
    files_cursor *c = (files_cursor *)cur;
    const tree_file *f = &c->file;
    switch (col) {
    case COLUMN_PATH:
        sqlite3_result_text(ctx, f->path, -1, SQLITE_TRANSIENT);
        break;
    case COLUMN_DAG_NAME:
        if (f->dag != NULL)
            sqlite3_result_text(ctx, f->dag, -1, SQLITE_TRANSIENT);
        break;
    case COLUMN_RUN_ID:
        if (f->run_id != NULL)
            sqlite3_result_text(ctx, f->run_id, -1, SQLITE_TRANSIENT);
        break;
    case COLUMN_BYTES:
        if (f->bytes >= 0)
            sqlite3_result_int64(ctx, f->bytes);
        break;
    case COLUMN_RECORDS:
        if (f->name != NULL)
            sqlite3_result_int64(ctx, c->records);
        break;
    case COLUMN_ERROR:
        if (c->error != NULL)
            sqlite3_result_text(ctx, c->error, -1, SQLITE_TRANSIENT);
        break;
    case COLUMN_ROOT:
        sqlite3_result_text(ctx, c->root, -1, SQLITE_TRANSIENT);
        break;
    }
    return SQLITE_OK;
}

/* The entry's position in this scan, from 1. */
static int filesRowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
    *rowid = ((files_cursor *)cur)->rowid;
    return SQLITE_OK;
}

/* True after the last entry. */
static int filesEof(sqlite3_vtab_cursor *cur)
{
    return ((files_cursor *)cur)->eof;
}

/* Free a cursor and its walk. */
static int filesClose(sqlite3_vtab_cursor *cur)
{
    files_cursor *c = (files_cursor *)cur;
    reset_cursor(c);
    profile_reader_close(c->reader);
    sqlite3_free(cur);
    return SQLITE_OK;
}

/* Free the table. */
static int filesDisconnect(sqlite3_vtab *base)
{
    files_vtab *vtab = (files_vtab *)base;
    meta_conn_unref(vtab->conn);
    sqlite3_free(vtab);
    return SQLITE_OK;
}

static const sqlite3_module files_module = {
    .iVersion = 0,
    .xCreate = NULL, /* eponymous only */
    .xConnect = filesConnect,
    .xBestIndex = filesBestIndex,
    .xDisconnect = filesDisconnect,
    .xDestroy = NULL,
    .xOpen = filesOpen,
    .xClose = filesClose,
    .xFilter = filesFilter,
    .xNext = filesNext,
    .xEof = filesEof,
    .xColumn = filesColumn,
    .xRowid = filesRowid,
};

int profiling_files_register(ext_registry *reg, meta_conn *conn)
{
    return ext_create_module(reg, "profiling_files", &files_module, conn);
}
