/*
 * odbc_columns.c -- what an ODBC client is told about a table's columns.
 *
 *   odbc_columns DSN TABLE [SQL]
 *
 * Prints one line per column, "name|type|size", as SQLColumns reports
 * them for TABLE (the catalog call BI tools make when they list a table),
 * then, when SQL is given, a line per result column of SQL as
 * SQLDescribeCol reports them (what they see of a custom query).  The type
 * is the ODBC SQL type's name (VARCHAR, LONGVARCHAR, DOUBLE, ...).  isql
 * can run queries but not SQLColumns; tests/suites/odbc.sh builds this.
 * Exit status 0, or 1 with the driver's diagnostics on stderr.
 */
#include <stdio.h>
#include <string.h>

#include "odbc_client.h"

static const char *type_name(SQLSMALLINT type)
{
    switch (type) {
    case SQL_CHAR: return "CHAR";
    case SQL_VARCHAR: return "VARCHAR";
    case SQL_LONGVARCHAR: return "LONGVARCHAR";
    case SQL_WCHAR: return "WCHAR";
    case SQL_WVARCHAR: return "WVARCHAR";
    case SQL_WLONGVARCHAR: return "WLONGVARCHAR";
    case SQL_INTEGER: return "INTEGER";
    case SQL_BIGINT: return "BIGINT";
    case SQL_SMALLINT: return "SMALLINT";
    case SQL_TINYINT: return "TINYINT";
    case SQL_DOUBLE: return "DOUBLE";
    case SQL_FLOAT: return "FLOAT";
    case SQL_REAL: return "REAL";
    case SQL_NUMERIC: return "NUMERIC";
    case SQL_DECIMAL: return "DECIMAL";
    case SQL_TYPE_TIMESTAMP: return "TIMESTAMP";
    case SQL_BINARY: return "BINARY";
    case SQL_VARBINARY: return "VARBINARY";
    case SQL_LONGVARBINARY: return "LONGVARBINARY";
    default: return "OTHER";
    }
}



static int print_catalog(SQLHSTMT stmt, const char *table)
{
    if (!OK(SQLColumns(stmt, NULL, 0, NULL, 0, (SQLCHAR *)table, SQL_NTS,
                       (SQLCHAR *)"%", SQL_NTS)))
        return failed(SQL_HANDLE_STMT, stmt, "SQLColumns");
    SQLCHAR name[256];
    SQLSMALLINT type;
    SQLINTEGER size;
    SQLLEN name_len, type_len, size_len;
    SQLBindCol(stmt, 4, SQL_C_CHAR, name, sizeof name, &name_len);
    SQLBindCol(stmt, 5, SQL_C_SSHORT, &type, 0, &type_len);
    SQLBindCol(stmt, 7, SQL_C_SLONG, &size, 0, &size_len);
    SQLRETURN rc;
    while (OK(rc = SQLFetch(stmt)))
        printf("%s|%s|%ld\n", name, type_name(type),
               size_len == SQL_NULL_DATA ? -1L : (long)size);
    if (rc != SQL_NO_DATA)
        return failed(SQL_HANDLE_STMT, stmt, "SQLFetch");
    SQLCloseCursor(stmt);
    return 0;
}

static int print_result_columns(SQLHSTMT stmt, const char *sql)
{
    if (!OK(SQLPrepare(stmt, (SQLCHAR *)sql, SQL_NTS)))
        return failed(SQL_HANDLE_STMT, stmt, "SQLPrepare");
    SQLSMALLINT count;
    if (!OK(SQLNumResultCols(stmt, &count)))
        return failed(SQL_HANDLE_STMT, stmt, "SQLNumResultCols");
    for (SQLUSMALLINT i = 1; i <= (SQLUSMALLINT)count; i++) {
        SQLCHAR name[256];
        SQLSMALLINT name_len, type, digits, nullable;
        SQLULEN size;
        if (!OK(SQLDescribeCol(stmt, i, name, sizeof name, &name_len, &type,
                               &size, &digits, &nullable)))
            return failed(SQL_HANDLE_STMT, stmt, "SQLDescribeCol");
        printf("%s|%s|%lu\n", name, type_name(type), (unsigned long)size);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: odbc_columns DSN TABLE [SQL]\n");
        return 2;
    }
    odbc_client c;
    int status = odbc_connect(&c, argv[1]);
    if (status == 0)
        status = print_catalog(c.stmt, argv[2]);
    if (status == 0 && argc == 4) {
        printf("--\n");
        status = print_result_columns(c.stmt, argv[3]);
    }
    odbc_disconnect(&c);
    return status;
}
