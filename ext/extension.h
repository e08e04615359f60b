/*
 * extension.h -- the one entry into the daglib_sqlite extension from
 * outside ext/.
 *
 * Deliberately free of SQLite headers: ext/metadb.c includes it while
 * calling SQLite directly, and ext/ includes sqlite3ext.h, whose macros
 * must not leak into metadb.c (in the loadable build they turn every
 * sqlite3_* call into a call through the host's sqlite3_api table).
 */
#ifndef DAGLIB_EXTENSION_H
#define DAGLIB_EXTENSION_H

struct sqlite3;

/* Register the tables profiling and profiling_files and the functions
 * daglib_drop(), daglib_meta_dir() and daglib_version() on db.  meta_dir is
 * the connection's metadata root: NULL for the default ($DAGLIB_META_DIR
 * or "meta", read at each query), else a path made absolute now.
 * Returns an SQLite result code; on failure *errmsg (when errmsg is not
 * NULL) receives a message to free with sqlite3_free(). */
int extension_register(struct sqlite3 *db, const char *meta_dir,
                       char **errmsg);

#endif
