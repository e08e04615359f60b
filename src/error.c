/*
 * error.c -- error codes, their names and messages, and error_state.
 *
 * The codes, names and generic messages all come from DAGLIB_ERRNO_MAP in
 * daglib.h, so they cannot drift apart.
 */
#include <stdio.h>
#include <stdlib.h>

#include "error.h"

const char *daglib_errstr(int code)
{
    switch (code) {
#define ERRSTR_CASE_(name, value, msg) \
    case DAGLIB_##name:                \
        return msg;
        DAGLIB_ERRNO_MAP(ERRSTR_CASE_)
#undef ERRSTR_CASE_
    default:
        return "unknown error";
    }
}

const char *daglib_errname(int code)
{
    switch (code) {
#define ERRNAME_CASE_(name, value, msg) \
    case DAGLIB_##name:                 \
        return #name;
        DAGLIB_ERRNO_MAP(ERRNAME_CASE_)
#undef ERRNAME_CASE_
    default:
        return "UNKNOWN";
    }
}

char *format_stringv(const char *fmt, va_list ap)
{
    va_list measure;
    va_copy(measure, ap);
    int n = vsnprintf(NULL, 0, fmt, measure);
    va_end(measure);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s != NULL)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

char *format_string(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = format_stringv(fmt, ap);
    va_end(ap);
    return s;
}

int error_setv(error_state *err, int code, const char *fmt, va_list ap)
{
    if (err == NULL)
        return code;
    free(err->message);
    err->code = code;
    err->message = fmt != NULL ? format_stringv(fmt, ap) : NULL;
    return code;
}

int error_set(error_state *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_setv(err, code, fmt, ap);
    va_end(ap);
    return code;
}

void error_move(error_state *dst, error_state *src)
{
    free(dst->message);
    *dst = *src;
    src->code = DAGLIB_OK;
    src->message = NULL;
}

void error_clear(error_state *err)
{
    free(err->message);
    err->code = DAGLIB_OK;
    err->message = NULL;
}

const char *error_message(const error_state *err)
{
    return err->message != NULL ? err->message : daglib_errstr(err->code);
}
