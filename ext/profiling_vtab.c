/*
 * profiling_vtab.c -- the `profiling` table: every task record of every
 * profiling file under the metadata root, read when the query runs.
 *
 *   SELECT * FROM profiling;
 *   SELECT task_name, avg(task_runtime) FROM profiling GROUP BY 1;
 *   SELECT * FROM profiling WHERE dag_name = 'example';      -- one directory
 *   SELECT * FROM profiling WHERE run_id IN ('run_5d508d060', 'run_0a1b2c3d4');
 *   SELECT task_name, started_at, status, error FROM profiling
 *    WHERE status <> 'ok';
 *   SELECT * FROM profiling('/srv/etl/meta');                 -- another root
 *
 * An eponymous table (no CREATE VIRTUAL TABLE) of this shape:
 *
 *   CREATE TABLE profiling(
 *     dag_name, dag_description, run_id,      -- the Python original's six
 *     task_name, task_description, task_runtime,
 *     root HIDDEN,                            -- the argument of profiling(root)
 *     started_at HIDDEN, ended_at HIDDEN,     -- UTC 'YYYY-MM-DDTHH:MM:SS.ffffffZ'
 *     status HIDDEN,                          -- 'ok', 'failed', 'skipped'
 *     attempts HIDDEN, worker HIDDEN,         -- INTEGER; worker NULL if unknown
 *     error HIDDEN,                           -- the last failure, or NULL
 *     host HIDDEN,                            -- the machine the run was on
 *     path HIDDEN                             -- the file the row comes from
 *   );
 *
 * The columns are made from the field table (profile_schema.h): the
 * original fields, the root, the later fields, the path.
 *
 * SELECT * gives the first six.  A file without the later fields (the
 * Python original's, or one written before a field was added) gives
 * their defaults: status 'ok', attempts 1, host '', the others NULL.  The declared types are for ODBC clients, which size
 * their buffers and choose their types from them (SQLite itself returns
 * every value whole, whatever is declared):
 *   - what a report groups by (dag_name, run_id, task_name, status) is
 *     VARCHAR(n): the SQLite3 ODBC driver reports a TEXT, or a VARCHAR
 *     longer than 255, as a long "memo" type BI tools refuse to group by;
 *     n is the longest value daglib writes, but a task name may be longer
 *     than 255 bytes (see README);
 *   - free text (the descriptions, error, path) is TEXT, reported with a
 *     size no value exceeds, so a client never cuts it;
 *   - started_at and ended_at are TIMESTAMP, which the driver reports as
 *     SQL_TYPE_TIMESTAMP and parses in the format the table returns, so
 *     a BI tool can plot over time.
 *
 * The files are <root>/profiling/<dag>/<name>.avro (profile_tree.h); the
 * root is profiling(root)'s argument, else the connection's
 * (daglib_meta_dir()), else $DAGLIB_META_DIR, else "meta".  Nothing is
 * cached across statements: each scan walks the tree again, so a run that
 * finished since the last query is in the next one.  A scan holds one file
 * open at a time and decodes a record per step, asking the reader only for
 * the columns the statement uses, so memory stays flat however large the
 * tree.  A statement that uses none and leaves the table nothing to check
 * (count(*), or only path) reads no record: the reader counts each
 * block's records from its header once the block is found whole (its
 * sync marker read and matched), as Avro's own tools count, and the steps
 * only count.  So a block cut short counts for nothing, as it gives no
 * row, but a record damaged inside a whole block is counted, while
 * SELECT * stops at it (and profiling_files reports it).
 *
 * Never fatal: a missing root is an empty table; a file that cannot be
 * read (truncated, being written, not Avro, another schema, a link) gives
 * the records that can be read, is reported through sqlite3_log() as
 * SQLITE_WARNING, and is listed by the profiling_files table.
 *
 * Pushdown: `dag_name = x`, `run_id = x` and IN lists of either open only
 * the matching directories and files, under BINARY collation only, and
 * the table checks each record's own dag_name and run_id against the
 * values, on the decoded bytes.  The rows must be exactly SQLite's, and
 * SQLite's comparison depends on affinities the table cannot see: the
 * integer 123 equals the name '123' in `dag_name = 123`, but also '0123'
 * in `dag_name = CAST(x AS INTEGER)`, and neither in `dag_name IN (SELECT
 * x FROM t)` when t.x has no affinity.  A text value is safe to prune by
 * (a name equals it only byte for byte, whatever the affinities), so text
 * values prune and numbers do not: a constraint with a number among its
 * values opens every directory or file.  SQLite still checks each row
 * (the constraint is not omitted) unless it is `= 'literal text'`, where
 * the table's own check is SQLite's answer.  A record is only missed when
 * it sits under another DAG's directory or another run's file name, which
 * daglib never writes; profiling_files lists such files with an error.
 *
 * Rowids: (file number << 32) | record index, the file number assigned on
 * a file's first sight and kept while any cursor of the table is open, so
 * the several scans SQLite makes for `WHERE a = x OR b = y` within one
 * statement agree on every row's rowid when it de-duplicates them.
 */
#include <stdlib.h>
#include <string.h>

#include "daglib_sqlite.h"
#include "meta_path.h"
#include "profile_reader.h"
#include "profile_tree.h"

/* Column numbers.  The root comes first of the hidden columns because
 * SQLite gives a table-valued function's arguments to the hidden columns
 * in order: profiling('/x') is root = '/x'.  The other columns are the
 * profile fields, in profile_field order, and the path last. */
#define COLUMN_ROOT PF_REQUIRED_COUNT
#define COLUMN_PATH (PF_COUNT + 1)

#define SHOWN_COLUMN_(id, name, wire, type, def, sql) #name " " sql ", "
#define HIDDEN_COLUMN_(id, name, wire, type, def, sql) #name " HIDDEN " sql ", "
#define PROFILING_SCHEMA                                                      \
    "CREATE TABLE x("                                                         \
    PROFILE_ORIGINAL_FIELDS(SHOWN_COLUMN_) "root HIDDEN, "                    \
    PROFILE_LATER_FIELDS(HIDDEN_COLUMN_) "path HIDDEN TEXT)"

_Static_assert(PF_TASK_RUNTIME == COLUMN_ROOT - 1,
               "the original fields come before the root");
_Static_assert(COLUMN_PATH < 64, "colUsed has a bit for every column");

/* The profile field of a column: the same number before the root, one
 * less after it.  Only for columns that hold a field. */
static inline int column_field(int col)
{
    return col < COLUMN_ROOT ? col : col - 1;
}

/* The reader's `wanted` mask for the columns a statement uses. */
static uint32_t fields_of_columns(sqlite3_uint64 col_used)
{
    const sqlite3_uint64 first = (1u << COLUMN_ROOT) - 1;
    return (uint32_t)((col_used & first) |
                      ((col_used >> 1) & ~first)) & PROFILE_ALL_FIELDS;
}

/* idxNum bits of a plan, and the order of xFilter's arguments.
 *
 *   0x01  root = ?           argument: the root
 *   0x02  dag_name = ?       argument: the name, or with 0x04 the IN list
 *   0x04  ... IN (...)       dag_name's list, read with sqlite3_vtab_in_first
 *   0x08  run_id = ?         argument: the run id, or with 0x10 the IN list
 *   0x10  ... IN (...)       run_id's list
 *   bits 8..19               the profile fields the statement uses (colUsed)
 *
 * The arguments come in that order: root, dag_name, run_id, each present
 * only when its bit is set. */
#define PLAN_ROOT 0x01
#define PLAN_DAG 0x02
#define PLAN_DAG_IN 0x04
#define PLAN_RUN 0x08
#define PLAN_RUN_IN 0x10
#define PLAN_WANTED_SHIFT 8

/* The low 32 bits of a rowid count the records of one file. */
#define RECORDS_PER_FILE_MASK ((sqlite3_int64)0xffffffff)
#define MAX_FILE_NUMBER 0x7fffffff

/* ---- file numbers: path -> number, for the rowids of one statement ------- */

typedef struct file_numbers {
    char **paths;    /* by number */
    size_t count;
    size_t capacity;
    sqlite3_int64 *slots; /* open addressing: number + 1, 0 when empty */
    size_t slot_count;    /* a power of two, at least twice count */
} file_numbers;

static size_t hash_path(const char *s)
{
    size_t h = 14695981039346656037u;
    while (*s != '\0')
        h = (h ^ (unsigned char)*s++) * 1099511628211u;
    return h;
}

static int grow_slots(file_numbers *m)
{
    size_t slot_count = m->slot_count ? m->slot_count * 2 : 64;
    sqlite3_int64 *slots = sqlite3_malloc64(slot_count * sizeof *slots);
    if (slots == NULL)
        return SQLITE_NOMEM;
    memset(slots, 0, slot_count * sizeof *slots);
    for (size_t n = 0; n < m->count; n++) {
        size_t i = hash_path(m->paths[n]) & (slot_count - 1);
        while (slots[i] != 0)
            i = (i + 1) & (slot_count - 1);
        slots[i] = (sqlite3_int64)n + 1;
    }
    sqlite3_free(m->slots);
    m->slots = slots;
    m->slot_count = slot_count;
    return SQLITE_OK;
}

/* The number of path, assigning the next one on its first sight. */
static int file_number(file_numbers *m, const char *path, sqlite3_int64 *out)
{
    if (2 * (m->count + 1) > m->slot_count && grow_slots(m) != SQLITE_OK)
        return SQLITE_NOMEM;
    size_t i = hash_path(path) & (m->slot_count - 1);
    for (; m->slots[i] != 0; i = (i + 1) & (m->slot_count - 1)) {
        if (strcmp(m->paths[m->slots[i] - 1], path) == 0) {
            *out = m->slots[i] - 1;
            return SQLITE_OK;
        }
    }
    if (m->count > MAX_FILE_NUMBER)
        return SQLITE_FULL;
    if (m->count == m->capacity) {
        size_t capacity = m->capacity ? m->capacity * 2 : 32;
        char **paths = sqlite3_realloc64(m->paths, capacity * sizeof *paths);
        if (paths == NULL)
            return SQLITE_NOMEM;
        m->paths = paths;
        m->capacity = capacity;
    }
    char *copy = sqlite3_mprintf("%s", path);
    if (copy == NULL)
        return SQLITE_NOMEM;
    m->paths[m->count] = copy;
    m->slots[i] = (sqlite3_int64)m->count + 1;
    *out = (sqlite3_int64)m->count++;
    return SQLITE_OK;
}

static void file_numbers_clear(file_numbers *m)
{
    for (size_t n = 0; n < m->count; n++)
        sqlite3_free(m->paths[n]);
    sqlite3_free(m->paths);
    sqlite3_free(m->slots);
    memset(m, 0, sizeof *m);
}

/* ---- the table and its cursor ------------------------------------------------ */

typedef struct profiling_vtab {
    sqlite3_vtab base;
    meta_conn *conn;
    int open_cursors;
    file_numbers numbers; /* emptied when the last cursor closes */
} profiling_vtab;

typedef struct profiling_cursor {
    sqlite3_vtab_cursor base;
    profile_reader *reader; /* reads one file after another; NULL at first */
    profile_row row;        /* the current record */
    uint32_t wanted;        /* fields to decode: the plan's colUsed */
    sqlite3_int64 rowid;    /* the current row's */
    sqlite3_int64 last_rowid; /* the current file's highest possible */
    /* A statement that uses no field and leaves the table nothing to check
     * (count(*)) steps over records without reading them: the reader
     * counts a block's records from its header, and `counted` of them,
     * not yet stepped onto, are left for the next xNext calls. */
    int count_only;
    uint64_t counted;
    int eof;
    tree_walk *walk;
    tree_file file;    /* the file being read (strings owned by walk) */
    tree_names dags;   /* dag_name values of the plan */
    tree_names runs;   /* run_id values */
    int check_dags;    /* each record's dag_name must be in dags */
    int check_runs;    /* and its run_id in runs */
    char *root;        /* the root of this scan, sqlite3_mprintf'd */
} profiling_cursor;

/* Report a file that cannot be read (or read to its end). */
static void warn_file(const char *path, const char *why)
{
    sqlite3_log(SQLITE_WARNING, "daglib: %s: %s", path,
                why != NULL ? why : "out of memory");
}

/* Stop reading the current file; rc is the last profile_reader_next()'s.
 * The reader stays, for the next file: it keeps its buffers and the
 * schema it compiled. */
static void close_file(profiling_cursor *c, int rc)
{
    if (rc < 0)
        warn_file(c->file.path, profile_reader_error(c->reader));
    else if (rc > 0)
        warn_file(c->file.path, "more than 2^32 records: the rest is skipped");
}

/* Whether a value of the current record is in set (a NULL never is). */
static int cell_in(const profile_cell *cell, const tree_names *set)
{
    return cell->kind == CELL_TEXT &&
           tree_names_contains_n(set, cell->u.text.p, cell->u.text.n);
}

/* Whether the current record passes the constraints the table took over
 * from SQLite (see "Pushdown" above). */
static int record_passes(const profiling_cursor *c)
{
    return (!c->check_dags || cell_in(&c->row.cell[PF_DAG_NAME], &c->dags)) &&
           (!c->check_runs || cell_in(&c->row.cell[PF_RUN_ID], &c->runs));
}

/* The next record of a count_only scan: one the reader has already
 * counted, or the first of the next block's, no more than the rowids
 * left for this file. */
static int next_counted_record(profiling_cursor *c)
{
    if (c->counted > 0) {
        c->counted--;
        return 1;
    }
    uint64_t n;
    int rc = profile_reader_count(
        c->reader, (uint64_t)(c->last_rowid - c->rowid) + 1, &n);
    if (rc > 0)
        c->counted = n - 1;
    return rc;
}

/* Move to the next record of the current file that passes them, counting
 * the ones passed over in the rowid.  The reader's 1, 0, -1 or
 * PROFILE_READER_NOMEM; 1 also when the file has more records than a rowid
 * can number (close_file says so). */
static int next_passing_record(profiling_cursor *c)
{
    for (;;) {
        if (c->rowid == c->last_rowid)
            return 1;
        c->rowid++;
        if (c->count_only)
            return next_counted_record(c);
        int rc = profile_reader_next(c->reader, c->wanted, &c->row);
        if (rc <= 0 || record_passes(c))
            return rc;
    }
}

/* Move to the first record of the next file that has one, or to the end.
 * Files that cannot be opened are reported and passed over. */
static int next_file(profiling_cursor *c)
{
    profiling_vtab *vtab = (profiling_vtab *)c->base.pVtab;
    for (;;) {
        int rc = tree_walk_next(c->walk, &c->file);
        if (rc <= 0) {
            c->eof = 1;
            if (rc == 0)
                return SQLITE_OK;
            if (tree_walk_error(c->walk) == NULL)
                return SQLITE_NOMEM;
            vtab_set_error(&vtab->base, "profiling: %s",
                           tree_walk_error(c->walk));
            return SQLITE_ERROR;
        }
        if (c->file.problem != NULL) {
            warn_file(c->file.path, c->file.problem);
            continue;
        }
        if (c->reader == NULL &&
            (c->reader = profile_reader_new(PROFILE_ENGINE_AUTO)) == NULL)
            return SQLITE_NOMEM;
        profile_reader_counting(c->reader, c->count_only);
        char *why = NULL;
        rc = profile_reader_reopen(c->reader, c->file.path, &why);
        if (rc != 0) {
            /* Out of memory ends the query: going on would return a
             * result without this file's rows, as if it were broken. */
            if (rc != PROFILE_READER_NOMEM)
                warn_file(c->file.path, why);
            free(why);
            if (rc == PROFILE_READER_NOMEM)
                return SQLITE_NOMEM;
            continue;
        }
        sqlite3_int64 number;
        rc = file_number(&vtab->numbers, c->file.path, &number);
        if (rc != SQLITE_OK) {
            if (rc == SQLITE_FULL)
                vtab_set_error(&vtab->base, "more than %d profiling files",
                               MAX_FILE_NUMBER);
            return rc;
        }
        c->rowid = (number << 32) - 1; /* next_passing_record counts from here */
        c->counted = 0;
        c->last_rowid = (number << 32) | RECORDS_PER_FILE_MASK;
        rc = next_passing_record(c);
        if (rc > 0 && c->rowid < c->last_rowid)
            return SQLITE_OK;
        if (rc == PROFILE_READER_NOMEM)
            return SQLITE_NOMEM;
        close_file(c, rc);
    }
}

/* Forget the scan: close its file and walk, free its filter values. */
static void reset_cursor(profiling_cursor *c)
{
    profile_reader_close(c->reader);
    c->reader = NULL;
    tree_walk_close(c->walk);
    c->walk = NULL;
    tree_names_clear(&c->dags);
    tree_names_clear(&c->runs);
    sqlite3_free(c->root);
    c->root = NULL;
    c->counted = 0;
    c->eof = 1;
}

/* Add the text of a filter value to set, unless it can equal no stored
 * text: NULL (= NULL is never true), a blob (SQLite orders every blob
 * after every text), or text with a NUL byte.  A number makes the whole
 * constraint unusable for pruning (*prunes = 0): which names equal it
 * depends on affinities only SQLite knows.  The walk only ever compares
 * names with the set: a value that is not a safe DAG name or not a run id
 * opens nothing, and records are checked against the set one by one. */
static int add_filter_value(tree_names *set, sqlite3_value *v, int *prunes)
{
    int type = sqlite3_value_type(v);
    if (type == SQLITE_INTEGER || type == SQLITE_FLOAT)
        *prunes = 0;
    if (type != SQLITE_TEXT)
        return SQLITE_OK;
    const char *s = (const char *)sqlite3_value_text(v);
    if (s == NULL)
        return SQLITE_NOMEM;
    size_t n = (size_t)sqlite3_value_bytes(v);
    if (strlen(s) != n)
        return SQLITE_OK;
    return tree_names_add(set, s, n) == 0 ? SQLITE_OK : SQLITE_NOMEM;
}

/* Collect the values of one constraint: a single one, or an IN list.
 * *prunes: whether the set may decide which names are read (1), or the
 * constraint is left to SQLite alone (0). */
static int collect_filter(tree_names *set, sqlite3_value *arg, int is_list,
                          int *prunes)
{
    int rc = SQLITE_OK;
    *prunes = 1;
    if (!is_list) {
        rc = add_filter_value(set, arg, prunes);
    } else {
        sqlite3_value *v = NULL;
        for (rc = sqlite3_vtab_in_first(arg, &v); rc == SQLITE_OK;
             rc = sqlite3_vtab_in_next(arg, &v)) {
            rc = add_filter_value(set, v, prunes);
            if (rc != SQLITE_OK)
                break;
        }
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    tree_names_finish(set);
    return rc;
}

/* ---- the module ------------------------------------------------------------- */

/* Declare the table; the connection's root state comes as pAux. */
static int profilingConnect(sqlite3 *db, void *aux, int argc,
                            const char *const *argv, sqlite3_vtab **out,
                            char **errmsg)
{
    (void)argc;
    (void)argv;
    (void)errmsg;
    *out = NULL;
    int rc = sqlite3_declare_vtab(db, PROFILING_SCHEMA);
    if (rc != SQLITE_OK)
        return rc;
    profiling_vtab *vtab = sqlite3_malloc(sizeof *vtab);
    if (vtab == NULL)
        return SQLITE_NOMEM;
    memset(vtab, 0, sizeof *vtab);
    vtab->conn = meta_conn_ref(aux);
    /* Neither SQLITE_VTAB_INNOCUOUS nor DIRECTONLY: the table only reads,
     * and only *.avro files under <root>/profiling, so stored views of it
     * may be saved in a database file; but it reads any root a query
     * names, so with PRAGMA trusted_schema=OFF SQLite keeps it out of
     * views and triggers of untrusted files (sql/ uses TEMP views). */
    *out = &vtab->base;
    return SQLITE_OK;
}

/* Whether constraint i compares with text the statement spells out
 * (`dag_name = 'x'`): then the table's own byte-for-byte check of each
 * record is what SQLite would decide, and SQLite need not check again.
 * Anything else (a parameter, an expression, an IN list) may turn out to
 * be a number, which SQLite compares by rules of affinity. */
static int table_check_is_exact(sqlite3_index_info *info, int i)
{
    sqlite3_value *rhs = NULL;
    if (sqlite3_libversion_number() < EXT_VTAB_IN_SQLITE) /* no rhs_value */
        return 0;
    return sqlite3_vtab_rhs_value(info, i, &rhs) == SQLITE_OK && rhs != NULL &&
           sqlite3_value_type(rhs) == SQLITE_TEXT &&
           !sqlite3_vtab_in(info, i, -1);
}

/* Choose a plan: the root argument, and at most one dag_name and one
 * run_id constraint (=, or IN read all at once where SQLite can).  An
 * unusable root argument means the plan cannot run. */
static int profilingBestIndex(sqlite3_vtab *vtab, sqlite3_index_info *info)
{
    (void)vtab;
    int root = -1, dag = -1, run = -1;
    for (int i = 0; i < info->nConstraint; i++) {
        const struct sqlite3_index_constraint *k = &info->aConstraint[i];
        if (k->op != SQLITE_INDEX_CONSTRAINT_EQ)
            continue;
        if (k->iColumn == COLUMN_ROOT) {
            if (!k->usable)
                return SQLITE_CONSTRAINT;
            root = i;
            continue;
        }
        if (!k->usable)
            continue;
        /* Directory and file names compare as bytes: only a BINARY
         * comparison may become a lookup by name. */
        if (sqlite3_stricmp(sqlite3_vtab_collation(info, i), "BINARY") != 0)
            continue;
        if (k->iColumn == PF_DAG_NAME && dag < 0)
            dag = i;
        else if (k->iColumn == PF_RUN_ID && run < 0)
            run = i;
    }

    int plan = 0, argv_index = 0;
    double cost = 1e6;
    sqlite3_int64 rows = 1000000;
    int can_read_lists = sqlite3_libversion_number() >= EXT_VTAB_IN_SQLITE;
    if (root >= 0) {
        plan |= PLAN_ROOT;
        info->aConstraintUsage[root].argvIndex = ++argv_index;
        info->aConstraintUsage[root].omit = 1; /* an argument, not a filter */
    }
    if (dag >= 0) {
        plan |= PLAN_DAG;
        info->aConstraintUsage[dag].argvIndex = ++argv_index;
        info->aConstraintUsage[dag].omit = table_check_is_exact(info, dag);
        if (can_read_lists && sqlite3_vtab_in(info, dag, -1)) {
            sqlite3_vtab_in(info, dag, 1);
            plan |= PLAN_DAG_IN;
        }
        cost /= (plan & PLAN_DAG_IN) ? 10 : 20;
        rows /= 20;
    }
    if (run >= 0) {
        plan |= PLAN_RUN;
        info->aConstraintUsage[run].argvIndex = ++argv_index;
        info->aConstraintUsage[run].omit = table_check_is_exact(info, run);
        if (can_read_lists && sqlite3_vtab_in(info, run, -1)) {
            sqlite3_vtab_in(info, run, 1);
            plan |= PLAN_RUN_IN;
        }
        cost /= (plan & PLAN_RUN_IN) ? 500 : 1000;
        rows /= 1000;
    }
    uint32_t wanted = fields_of_columns(info->colUsed);
    info->idxNum = plan | (int)(wanted << PLAN_WANTED_SHIFT);
    info->estimatedCost = cost;
    info->estimatedRows = rows > 0 ? rows : 1;
    return SQLITE_OK;
}

/* A new cursor; numbering of files lives as long as any cursor. */
static int profilingOpen(sqlite3_vtab *base, sqlite3_vtab_cursor **out)
{
    profiling_cursor *c = sqlite3_malloc(sizeof *c);
    if (c == NULL)
        return SQLITE_NOMEM;
    memset(c, 0, sizeof *c);
    c->eof = 1;
    ((profiling_vtab *)base)->open_cursors++;
    *out = &c->base;
    return SQLITE_OK;
}

/* Start a scan with the plan idxNum (see the bits above) and its
 * arguments, and move to its first row. */
static int profilingFilter(sqlite3_vtab_cursor *cur, int idx_num,
                           const char *idx_str, int argc, sqlite3_value **argv)
{
    (void)idx_str;
    (void)argc;
    profiling_cursor *c = (profiling_cursor *)cur;
    profiling_vtab *vtab = (profiling_vtab *)cur->pVtab;
    reset_cursor(c);
    c->wanted = ((uint32_t)idx_num >> PLAN_WANTED_SHIFT) & PROFILE_ALL_FIELDS;
    int arg = 0, rc = SQLITE_OK;
    const char *root = meta_conn_root(vtab->conn);
    if (idx_num & PLAN_ROOT) {
        root = (const char *)sqlite3_value_text(argv[arg]);
        if (root == NULL) /* profiling(NULL): like = NULL, nothing */
            return sqlite3_value_type(argv[arg]) == SQLITE_NULL ? SQLITE_OK
                                                                : SQLITE_NOMEM;
        arg++;
    }
    if ((c->root = sqlite3_mprintf("%s", root)) == NULL)
        return SQLITE_NOMEM;
    if (idx_num & PLAN_DAG)
        rc = collect_filter(&c->dags, argv[arg++], idx_num & PLAN_DAG_IN,
                            &c->check_dags);
    if (rc == SQLITE_OK && (idx_num & PLAN_RUN))
        rc = collect_filter(&c->runs, argv[arg++], idx_num & PLAN_RUN_IN,
                            &c->check_runs);
    if (rc != SQLITE_OK)
        return rc;
    c->count_only = c->wanted == 0 && !c->check_dags && !c->check_runs;
    if (c->check_dags)
        c->wanted |= PROFILE_FIELD_BIT(PF_DAG_NAME);
    if (c->check_runs)
        c->wanted |= PROFILE_FIELD_BIT(PF_RUN_ID);
    if (tree_walk_open(c->root, c->check_dags ? &c->dags : NULL,
                       c->check_runs ? &c->runs : NULL, &c->walk) != 0)
        return SQLITE_NOMEM;
    c->eof = 0;
    return next_file(c);
}

/* The next record: in the same file while it has one, else in the next
 * file.  This and xColumn are the per-row cost of every scan. */
static int profilingNext(sqlite3_vtab_cursor *cur)
{
    profiling_cursor *c = (profiling_cursor *)cur;
    int rc = next_passing_record(c);
    if (rc > 0 && c->rowid < c->last_rowid)
        return SQLITE_OK;
    if (rc == PROFILE_READER_NOMEM)
        return SQLITE_NOMEM;
    close_file(c, rc);
    return next_file(c);
}

/* started_at / ended_at: epoch microseconds as ISO 8601 UTC text, the
 * form SQLite's date functions read.  Days to civil date by Howard
 * Hinnant's algorithm, exact for every int64. */
static void result_timestamp(sqlite3_context *ctx, int64_t us)
{
    int64_t secs = us / 1000000, micros = us % 1000000;
    if (micros < 0) {
        micros += 1000000;
        secs--;
    }
    int64_t days = secs / 86400, day_secs = secs % 86400;
    if (day_secs < 0) {
        day_secs += 86400;
        days--;
    }
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t day = doy - (153 * mp + 2) / 5 + 1;
    int64_t month = mp < 10 ? mp + 3 : mp - 9;
    int64_t year = yoe + era * 400 + (month <= 2);
    char text[64];
    sqlite3_snprintf((int)sizeof text, text,
                     "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%06lldZ",
                     (long long)year, (long long)month, (long long)day,
                     (long long)(day_secs / 3600),
                     (long long)(day_secs / 60 % 60),
                     (long long)(day_secs % 60), (long long)micros);
    sqlite3_result_text(ctx, text, -1, SQLITE_TRANSIENT);
}

/* The value of column col of the current row.  Text is copied
 * (SQLITE_TRANSIENT): the reader's buffers change at the next record, and
 * SQLite may keep a value longer than that (min(), max()). */
static int profilingColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx,
                           int col)
{
    profiling_cursor *c = (profiling_cursor *)cur;
    if (col != COLUMN_ROOT && col < COLUMN_PATH) {
        int field = column_field(col);
        if (!(c->wanted & PROFILE_FIELD_BIT(field)))
            return SQLITE_OK; /* not decoded: never asked for by the plan */
        const profile_cell *cell = &c->row.cell[field];
        switch (cell->kind) {
        case CELL_TEXT:
            sqlite3_result_text64(ctx, cell->u.text.p, cell->u.text.n,
                                  SQLITE_TRANSIENT, SQLITE_UTF8);
            break;
        case CELL_REAL:
            sqlite3_result_double(ctx, cell->u.d);
            break;
        case CELL_INT:
            if (field == PF_STARTED_AT || field == PF_ENDED_AT)
                result_timestamp(ctx, cell->u.i);
            else
                sqlite3_result_int64(ctx, cell->u.i);
            break;
        default:
            break; /* NULL */
        }
    } else if (col == COLUMN_PATH) {
        sqlite3_result_text(ctx, c->file.path, -1, SQLITE_TRANSIENT);
    } else if (col == COLUMN_ROOT) {
        sqlite3_result_text(ctx, c->root, -1, SQLITE_TRANSIENT);
    }
    return SQLITE_OK;
}

/* (file number << 32) | record index; see the top of the file. */
static int profilingRowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
    *rowid = ((profiling_cursor *)cur)->rowid;
    return SQLITE_OK;
}

/* True after the last row of the scan. */
static int profilingEof(sqlite3_vtab_cursor *cur)
{
    return ((profiling_cursor *)cur)->eof;
}

/* Free a cursor; the last one to close ends the statement's numbering. */
static int profilingClose(sqlite3_vtab_cursor *cur)
{
    profiling_vtab *vtab = (profiling_vtab *)cur->pVtab;
    reset_cursor((profiling_cursor *)cur);
    sqlite3_free(cur);
    if (--vtab->open_cursors == 0)
        file_numbers_clear(&vtab->numbers);
    return SQLITE_OK;
}

/* Free the table. */
static int profilingDisconnect(sqlite3_vtab *base)
{
    profiling_vtab *vtab = (profiling_vtab *)base;
    file_numbers_clear(&vtab->numbers);
    meta_conn_unref(vtab->conn);
    sqlite3_free(vtab);
    return SQLITE_OK;
}

static const sqlite3_module profiling_module = {
    .iVersion = 0,
    .xCreate = NULL, /* eponymous only: no CREATE VIRTUAL TABLE */
    .xConnect = profilingConnect,
    .xBestIndex = profilingBestIndex,
    .xDisconnect = profilingDisconnect,
    .xDestroy = NULL,
    .xOpen = profilingOpen,
    .xClose = profilingClose,
    .xFilter = profilingFilter,
    .xNext = profilingNext,
    .xEof = profilingEof,
    .xColumn = profilingColumn,
    .xRowid = profilingRowid,
};

int profiling_vtab_register(ext_registry *reg, meta_conn *conn)
{
    return ext_create_module(reg, "profiling", &profiling_module, conn);
}
