/*
 * avroc_engine.c -- profiling records through avro-c's generic values.
 *
 * Slow (a value tree per record, a call per varint byte) but written by
 * other people: it is what the block decoder must agree with.  Two avro-c
 * traps are avoided here: avro_strerror() is one global buffer in Debian's
 * build, so messages are our own; and a block of zero records ends its
 * reader as if the file were over, which daglib never writes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avroc_engine.h"
#include "record_plan.h"

static char *copy_message(const char *s)
{
    size_t n = strlen(s) + 1;
    char *m = malloc(n);
    if (m != NULL)
        memcpy(m, s, n);
    return m;
}

int avroc_engine_open(avroc_engine *e, const char *path, char **why)
{
    memset(e, 0, sizeof *e);
    *why = NULL;
    if (avro_file_reader(path, &e->file) != 0) {
        e->file = NULL;
        *why = copy_message("avro-c cannot read the file's header or first block");
        return -1;
    }
    e->schema = avro_file_reader_get_writer_schema(e->file);
    if (e->schema == NULL || avro_typeof(e->schema) != AVRO_RECORD) {
        *why = copy_message("not a daglib profile: the schema is not a record");
        avroc_engine_close(e);
        return -1;
    }
    for (int f = 0; f < PF_COUNT; f++)
        e->field_index[f] = -1;
    size_t n = avro_schema_record_size(e->schema);
    for (size_t i = 0; i < n; i++) {
        const char *name = avro_schema_record_field_name(e->schema, (int)i);
        for (int f = 0; name != NULL && f < PF_COUNT; f++)
            if (e->field_index[f] < 0 && strcmp(profile_field_names[f], name) == 0)
                e->field_index[f] = (int)i;
    }
    for (int f = 0; f < PF_REQUIRED_COUNT; f++) {
        if (e->field_index[f] < 0) {
            char buf[96];
            snprintf(buf, sizeof buf, "not a daglib profile: no field '%s'",
                     profile_field_names[f]);
            *why = copy_message(buf);
            avroc_engine_close(e);
            return -1;
        }
    }
    e->iface = avro_generic_class_from_schema(e->schema);
    if (e->iface == NULL || avro_generic_value_new(e->iface, &e->value) != 0) {
        *why = copy_message("out of memory");
        avroc_engine_close(e);
        return -1;
    }
    e->have_value = 1;
    return 0;
}

/* One value into a cell of the given kind; NULL when it does not fit, as
 * the block decoder does. */
static void cell_from_value(avro_value_t *v, int kind, profile_cell *cell)
{
    cell->kind = CELL_NULL;
    const char *s;
    const void *b;
    size_t size;
    int32_t i32;
    int64_t i64;
    float f;
    double d;
    switch (avro_value_get_type(v)) {
    case AVRO_UNION: {
        avro_value_t branch;
        if (avro_value_get_current_branch(v, &branch) == 0)
            cell_from_value(&branch, kind, cell);
        return;
    }
    case AVRO_STRING:
        if (kind == CELL_TEXT && avro_value_get_string(v, &s, &size) == 0) {
            cell->kind = CELL_TEXT;
            cell->u.text.p = s != NULL ? s : "";
            cell->u.text.n = size > 0 ? size - 1 : 0; /* size counts the NUL */
        }
        return;
    case AVRO_BYTES:
        if (kind == CELL_TEXT && avro_value_get_bytes(v, &b, &size) == 0) {
            cell->kind = CELL_TEXT;
            cell->u.text.p = b != NULL ? b : "";
            cell->u.text.n = size;
        }
        return;
    case AVRO_ENUM: {
        int symbol;
        avro_schema_t schema = avro_value_get_schema(v);
        const char *name = NULL;
        if (kind == CELL_TEXT && avro_value_get_enum(v, &symbol) == 0)
            name = avro_schema_enum_get(schema, symbol);
        if (name != NULL) {
            cell->kind = CELL_TEXT;
            cell->u.text.p = name;
            cell->u.text.n = strlen(name);
        }
        return;
    }
    case AVRO_INT32:
        if (avro_value_get_int(v, &i32) != 0)
            return;
        i64 = i32;
        goto integer;
    case AVRO_INT64:
        if (avro_value_get_long(v, &i64) != 0)
            return;
    integer:
        if (kind == CELL_INT) {
            cell->kind = CELL_INT;
            cell->u.i = i64;
        } else if (kind == CELL_REAL) {
            cell->kind = CELL_REAL;
            cell->u.d = (double)i64;
        }
        return;
    case AVRO_FLOAT:
        if (kind == CELL_REAL && avro_value_get_float(v, &f) == 0) {
            cell->kind = CELL_REAL;
            cell->u.d = (double)f;
        }
        return;
    case AVRO_DOUBLE:
        if (kind == CELL_REAL && avro_value_get_double(v, &d) == 0) {
            cell->kind = CELL_REAL;
            cell->u.d = d;
        }
        return;
    default:
        return;
    }
}

int avroc_engine_next(avroc_engine *e, uint32_t wanted, profile_row *row,
                      const char **why)
{
    if (e->ended)
        return 0;
    int rc = avro_file_reader_read_value(e->file, &e->value);
    if (rc == EOF) {
        e->ended = 1;
        return 0;
    }
    if (rc != 0) {
        *why = "avro-c cannot read the rest of the file (cut short or damaged)";
        return -1;
    }
    for (int f = 0; f < PF_COUNT; f++) {
        profile_cell *cell = &row->cell[f];
        if (!(wanted & PROFILE_FIELD_BIT(f)))
            continue;
        if (e->field_index[f] < 0) {
            cell->kind = CELL_NULL; /* the defaults are filled by the caller */
            continue;
        }
        avro_value_t field;
        if (avro_value_get_by_index(&e->value, (size_t)e->field_index[f], &field,
                                    NULL) != 0) {
            cell->kind = CELL_NULL;
            continue;
        }
        cell_from_value(&field, profile_field_kinds[f], cell);
    }
    return 1;
}

void avroc_engine_close(avroc_engine *e)
{
    if (e->have_value)
        avro_value_decref(&e->value);
    if (e->iface != NULL)
        avro_value_iface_decref(e->iface);
    if (e->schema != NULL)
        avro_schema_decref(e->schema);
    if (e->file != NULL)
        avro_file_reader_close(e->file);
    memset(e, 0, sizeof *e);
}
