/*
 * error.h -- an error code with its readable message.
 *
 * Objects that can fail (a DAG, a profiling file) keep one error_state.  The
 * message is formatted once, at the failure, so the cold path pays for
 * friendliness and the hot path pays nothing.  When formatting itself runs
 * out of memory the code survives and the message falls back to the code's
 * generic text, so a caller always gets a readable string.
 */
#ifndef DAGLIB_ERROR_H
#define DAGLIB_ERROR_H

#include <stdarg.h>

#include "daglib.h"

typedef struct error_state {
    int code;      /* DAGLIB_OK when clear */
    char *message; /* malloc'd, or NULL: use daglib_errstr(code) */
} error_state;

#define ERROR_STATE_INIT {DAGLIB_OK, NULL}

/* Record code with a printf-style message; returns code so that callers can
 * write `return error_set(err, DAGLIB_INVALID, "...")`.  err may be NULL. */
int error_set(error_state *err, int code, const char *fmt, ...)
    DAGLIB_PRINTF(3, 4);
int error_setv(error_state *err, int code, const char *fmt, va_list ap);

/* Move src's error into dst (dst's old message is freed); src is cleared. */
void error_move(error_state *dst, error_state *src);

/* Back to DAGLIB_OK, freeing the message. */
void error_clear(error_state *err);

/* The message, or the code's generic text; never NULL. */
const char *error_message(const error_state *err);

/* A malloc'd printf-style string, or NULL when memory runs out. */
char *format_string(const char *fmt, ...) DAGLIB_PRINTF(1, 2);
char *format_stringv(const char *fmt, va_list ap);

#endif
