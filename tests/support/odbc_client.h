/*
 * odbc_client.h -- what the small ODBC clients of tests/suites/odbc.sh
 * share: reporting a failed call with the driver's diagnostics, and a
 * connection to a DSN with one statement handle.
 */
#ifndef DAGLIB_TEST_ODBC_CLIENT_H
#define DAGLIB_TEST_ODBC_CLIENT_H

#include <stdio.h>

#include <sql.h>
#include <sqlext.h>

#define OK(rc) SQL_SUCCEEDED(rc)

typedef struct odbc_client {
    SQLHENV env;
    SQLHDBC dbc;
    SQLHSTMT stmt;
    int connected;
} odbc_client;

/* Print what failed, and the driver's diagnostics, on stderr; 1. */
static int failed(SQLSMALLINT kind, SQLHANDLE handle, const char *what)
{
    SQLCHAR state[6], text[512];
    SQLINTEGER native;
    SQLSMALLINT len;
    fprintf(stderr, "%s failed\n", what);
    for (SQLSMALLINT i = 1;
         SQLGetDiagRec(kind, handle, i, state, &native, text, sizeof text,
                       &len) == SQL_SUCCESS;
         i++)
        fprintf(stderr, "  %s: %s\n", state, text);
    return 1;
}

/* Connect to dsn (ODBC 3) and allocate a statement.  0, or 1 after
 * reporting why; odbc_disconnect() either way. */
static int odbc_connect(odbc_client *c, const char *dsn)
{
    c->connected = 0;
    c->stmt = SQL_NULL_HANDLE;
    SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &c->env);
    SQLSetEnvAttr(c->env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER)SQL_OV_ODBC3, 0);
    SQLAllocHandle(SQL_HANDLE_DBC, c->env, &c->dbc);
    char connect[512];
    snprintf(connect, sizeof connect, "DSN=%s;", dsn);
    if (!OK(SQLDriverConnect(c->dbc, NULL, (SQLCHAR *)connect, SQL_NTS, NULL,
                             0, NULL, SQL_DRIVER_NOPROMPT)))
        return failed(SQL_HANDLE_DBC, c->dbc, "SQLDriverConnect");
    c->connected = 1;
    SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &c->stmt);
    return 0;
}

static void odbc_disconnect(odbc_client *c)
{
    if (c->stmt != SQL_NULL_HANDLE)
        SQLFreeHandle(SQL_HANDLE_STMT, c->stmt);
    if (c->connected)
        SQLDisconnect(c->dbc);
    SQLFreeHandle(SQL_HANDLE_DBC, c->dbc);
    SQLFreeHandle(SQL_HANDLE_ENV, c->env);
}

#endif
