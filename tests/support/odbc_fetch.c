/*
 * odbc_fetch.c -- fetch a query's rows as a BI tool does: each column in
 * the C type its SQL type calls for, into a buffer of the size the driver
 * reports for it.
 *
 *   odbc_fetch DSN SQL
 *
 * Timestamps (SQL_TYPE_TIMESTAMP) are fetched as SQL_C_TYPE_TIMESTAMP and
 * printed as YYYY-MM-DD HH:MM:SS.ffffff; everything else as text, into a
 * buffer of the column size SQLDescribeCol gives plus one.  Prints one
 * line per row, the columns joined by '|', NULL as "NULL".  A value cut to
 * fit its buffer (SQLSTATE 01004) is a failure: the column's reported size
 * was too small for it.  Exit status 0, or 1 with the driver's
 * diagnostics on stderr.  Built by tests/suites/odbc.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "odbc_client.h"

#define MAX_COLUMNS 16


typedef struct column {
    SQLSMALLINT type;
    SQLULEN size;
    char *text; /* size + 1 bytes, for the columns fetched as text */
    SQL_TIMESTAMP_STRUCT when;
    SQLLEN indicator;
} column;

static void print_column(const column *c)
{
    if (c->indicator == SQL_NULL_DATA)
        fputs("NULL", stdout);
    else if (c->type == SQL_TYPE_TIMESTAMP)
        printf("%04d-%02u-%02u %02u:%02u:%02u.%06lu", c->when.year,
               c->when.month, c->when.day, c->when.hour, c->when.minute,
               c->when.second, (unsigned long)(c->when.fraction / 1000));
    else
        fputs(c->text, stdout);
}

static int fetch_all(SQLHSTMT stmt, const char *sql)
{
    if (!OK(SQLExecDirect(stmt, (SQLCHAR *)sql, SQL_NTS)))
        return failed(SQL_HANDLE_STMT, stmt, "SQLExecDirect");
    SQLSMALLINT count;
    if (!OK(SQLNumResultCols(stmt, &count)) || count > MAX_COLUMNS)
        return failed(SQL_HANDLE_STMT, stmt, "SQLNumResultCols");
    column cols[MAX_COLUMNS];
    memset(cols, 0, sizeof cols);
    int status = 0;
    for (SQLUSMALLINT i = 0; i < (SQLUSMALLINT)count && status == 0; i++) {
        column *c = &cols[i];
        SQLCHAR name[256];
        SQLSMALLINT name_len, digits, nullable;
        if (!OK(SQLDescribeCol(stmt, i + 1, name, sizeof name, &name_len,
                               &c->type, &c->size, &digits, &nullable))) {
            status = failed(SQL_HANDLE_STMT, stmt, "SQLDescribeCol");
        } else if (c->type == SQL_TYPE_TIMESTAMP) {
            SQLBindCol(stmt, i + 1, SQL_C_TYPE_TIMESTAMP, &c->when,
                       sizeof c->when, &c->indicator);
        } else if ((c->text = malloc(c->size + 1)) == NULL) {
            status = 1;
        } else {
            SQLBindCol(stmt, i + 1, SQL_C_CHAR, c->text,
                       (SQLLEN)(c->size + 1), &c->indicator);
        }
    }
    SQLRETURN rc;
    while (status == 0 && OK(rc = SQLFetch(stmt))) {
        if (rc == SQL_SUCCESS_WITH_INFO) {
            status = failed(SQL_HANDLE_STMT, stmt, "SQLFetch (a value cut)");
            break;
        }
        for (SQLSMALLINT i = 0; i < count; i++) {
            if (i > 0)
                putchar('|');
            print_column(&cols[i]);
        }
        putchar('\n');
    }
    if (status == 0 && rc != SQL_NO_DATA)
        status = failed(SQL_HANDLE_STMT, stmt, "SQLFetch");
    for (SQLSMALLINT i = 0; i < count; i++)
        free(cols[i].text);
    return status;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: odbc_fetch DSN SQL\n");
        return 2;
    }
    odbc_client c;
    int status = odbc_connect(&c, argv[1]);
    if (status == 0)
        status = fetch_all(c.stmt, argv[2]);
    odbc_disconnect(&c);
    return status;
}
