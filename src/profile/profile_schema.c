/*
 * profile_schema.c -- the profiling record's names, wires, symbols and
 * schema JSON, all from the field table of profile_schema.h.
 *
 * Every field after the sixth carries a default, and the header of every
 * file gets this exact text (avro-c would drop the defaults if it wrote the
 * header itself), so readers that resolve old files against the newest
 * schema -- Spark, Hive, Trino -- fill the gaps instead of failing.
 */
#include <pthread.h>
#include <string.h>

#include "profile_schema.h"

const char *const profile_field_names[PF_COUNT] = {
#define PROFILE_FIELD_NAME_(id, name, wire, type, def, sql) [PF_##id] = #name,
    PROFILE_FIELD_MAP(PROFILE_FIELD_NAME_)
#undef PROFILE_FIELD_NAME_
};

const uint8_t profile_field_wires[PF_COUNT] = {
#define PROFILE_FIELD_WIRE_(id, name, wire, type, def, sql)                  \
    [PF_##id] = PROFILE_WIRE_##wire,
    PROFILE_FIELD_MAP(PROFILE_FIELD_WIRE_)
#undef PROFILE_FIELD_WIRE_
};

const char *const profile_status_names[PROFILE_STATUS_COUNT] = {
    [PROFILE_OK] = "ok",
    [PROFILE_FAILED] = "failed",
    [PROFILE_SKIPPED] = "skipped",
};

/* ---- the schema JSON --------------------------------------------------------
 *
 * Each field's JSON is a string literal made from its row of the table;
 * the fields are joined at run time, once, because a preprocessor list
 * cannot leave out the comma before its first element. */

static const char *const field_json[PF_COUNT] = {
#define PROFILE_FIELD_JSON_(id, name, wire, type, def, sql)                   \
    [PF_##id] = "{\"name\":\"" #name "\",\"type\":" type "}",
    PROFILE_ORIGINAL_FIELDS(PROFILE_FIELD_JSON_)
#undef PROFILE_FIELD_JSON_
#define PROFILE_FIELD_JSON_(id, name, wire, type, def, sql)                   \
    [PF_##id] = "{\"name\":\"" #name "\",\"type\":" type                      \
                ",\"default\":" def "}",
    PROFILE_LATER_FIELDS(PROFILE_FIELD_JSON_)
#undef PROFILE_FIELD_JSON_
};

#define SCHEMA_HEAD                                                           \
    "{\"type\":\"record\",\"name\":\"" PROFILE_RECORD_NAME "\","              \
    "\"namespace\":\"" PROFILE_RECORD_NAMESPACE "\",\"fields\":["
#define SCHEMA_TAIL "]}"

/* Big enough for the head, every field, its comma and the tail: the sum
 * of the literals' sizes (each one byte more than its text), the default
 * counted by its spelling, which is longer than its text. */
#define PROFILE_FIELD_SIZE_(id, name, wire, type, def, sql)                   \
    + sizeof("{\"name\":\"" #name "\",\"type\":" type ",\"default\":" "}")   \
    + sizeof(#def)
static char schema_text[sizeof(SCHEMA_HEAD SCHEMA_TAIL)
                        PROFILE_FIELD_MAP(PROFILE_FIELD_SIZE_)];
#undef PROFILE_FIELD_SIZE_

static pthread_once_t schema_once = PTHREAD_ONCE_INIT;

static void build_schema_text(void)
{
    char *p = schema_text;
    size_t head = strlen(SCHEMA_HEAD);
    p = (char *)memcpy(p, SCHEMA_HEAD, head) + head;
    for (int f = 0; f < PF_COUNT; f++) {
        if (f > 0)
            *p++ = ',';
        size_t n = strlen(field_json[f]);
        p = (char *)memcpy(p, field_json[f], n) + n;
    }
    strcpy(p, SCHEMA_TAIL);
}

const char *profile_schema_json(void)
{
    pthread_once(&schema_once, build_schema_text);
    return schema_text;
}
