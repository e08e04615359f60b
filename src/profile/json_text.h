/*
 * json_text.h -- read a JSON document into a jansson tree (json_text.c).
 */
#ifndef DAGLIB_JSON_TEXT_H
#define DAGLIB_JSON_TEXT_H

#include <stddef.h>

#include <jansson.h>

/* The JSON document in [json, json + len): its tree (the caller's, to
 * json_decref), or NULL with *nomem set when memory ran out, else with
 * *error (static text) saying what is wrong with the text. */
json_t *json_text_read(const char *json, size_t len, int *nomem,
                       const char **error);

#endif
