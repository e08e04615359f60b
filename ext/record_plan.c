/*
 * record_plan.c -- compile a file's schema into field operations, and
 * decode records from block bytes with them.
 *
 * This is the scan's hot path: avro-c's generic reader makes a function
 * call per byte of every varint and builds a value tree per record, which
 * measured about 8x slower than a native SQLite table; a loop over a flat
 * plan reading the bytes in place runs at native speed.  The schema itself
 * is still parsed by avro-c, once per file.
 *
 * Trust nothing from the file: every length is checked against the end of
 * the block before it is used, every union index and enum index against
 * the schema.
 */
#include <avro.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record_plan.h"

const uint8_t profile_field_kinds[PF_COUNT] = {
    [PF_DAG_NAME] = CELL_TEXT,   [PF_DAG_DESCRIPTION] = CELL_TEXT,
    [PF_RUN_ID] = CELL_TEXT,     [PF_TASK_NAME] = CELL_TEXT,
    [PF_TASK_DESCRIPTION] = CELL_TEXT, [PF_TASK_RUNTIME] = CELL_REAL,
    [PF_STARTED_AT] = CELL_INT,  [PF_ENDED_AT] = CELL_INT,
    [PF_STATUS] = CELL_TEXT,     [PF_ATTEMPTS] = CELL_INT,
    [PF_WORKER] = CELL_INT,      [PF_ERROR] = CELL_TEXT,
};

/* ---- compiling ------------------------------------------------------------ */

static char *message(const char *fmt, const char *arg)
{
    size_t n = strlen(fmt) + (arg != NULL ? strlen(arg) : 0) + 1;
    char *s = malloc(n);
    if (s != NULL)
        snprintf(s, n, fmt, arg != NULL ? arg : "");
    return s;
}

static int target_of(const char *name)
{
    for (int f = 0; f < PF_COUNT; f++)
        if (strcmp(profile_field_names[f], name) == 0)
            return f;
    return -1;
}

/* Whether a wire type can fill a field delivered as `kind`. */
static int usable_for(wire_type type, int kind)
{
    switch (type) {
    case WIRE_NULL:
        return 1;
    case WIRE_BYTES:
    case WIRE_ENUM:
        return kind == CELL_TEXT;
    case WIRE_INT:
        return kind == CELL_INT || kind == CELL_REAL;
    case WIRE_FLOAT:
    case WIRE_DOUBLE:
        return kind == CELL_REAL;
    default:
        return 0;
    }
}

static avro_schema_t resolved(avro_schema_t s)
{
    while (s != NULL && avro_typeof(s) == AVRO_LINK)
        s = avro_schema_link_target(s);
    return s;
}

/* Fill sc from a non-union schema.  0, or 1 for a type the plan does not
 * decode (records, arrays, maps), or -1 when memory runs out. */
static int compile_scalar(avro_schema_t s, int kind, wire_scalar *sc)
{
    memset(sc, 0, sizeof *sc);
    switch (avro_typeof(s)) {
    case AVRO_NULL:
        sc->type = WIRE_NULL;
        break;
    case AVRO_BOOLEAN:
        sc->type = WIRE_BOOLEAN;
        break;
    case AVRO_INT32:
    case AVRO_INT64:
        sc->type = WIRE_INT;
        break;
    case AVRO_FLOAT:
        sc->type = WIRE_FLOAT;
        break;
    case AVRO_DOUBLE:
        sc->type = WIRE_DOUBLE;
        break;
    case AVRO_STRING:
    case AVRO_BYTES:
        sc->type = WIRE_BYTES;
        break;
    case AVRO_FIXED: {
        int64_t size = avro_schema_fixed_size(s);
        if (size < 0 || size > UINT32_MAX)
            return 1;
        sc->type = WIRE_FIXED;
        sc->fixed_size = (uint32_t)size;
        break;
    }
    case AVRO_ENUM: {
        int n = avro_schema_enum_number_of_symbols(s);
        sc->type = WIRE_ENUM;
        if (n <= 0)
            break;
        sc->symbols = calloc((size_t)n, sizeof *sc->symbols);
        sc->symbol_lens = calloc((size_t)n, sizeof *sc->symbol_lens);
        if (sc->symbols == NULL || sc->symbol_lens == NULL)
            return -1;
        sc->n_symbols = (uint32_t)n;
        for (int i = 0; i < n; i++) {
            const char *sym = avro_schema_enum_get(s, i);
            size_t len = sym != NULL ? strlen(sym) : 0;
            sc->symbols[i] = malloc(len + 1);
            if (sc->symbols[i] == NULL)
                return -1;
            memcpy(sc->symbols[i], sym != NULL ? sym : "", len + 1);
            sc->symbol_lens[i] = len;
        }
        break;
    }
    default:
        return 1;
    }
    sc->usable = kind >= 0 && usable_for((wire_type)sc->type, kind);
    return 0;
}

static size_t scalar_min_bytes(const wire_scalar *sc)
{
    switch (sc->type) {
    case WIRE_NULL:
        return 0;
    case WIRE_FLOAT:
        return 4;
    case WIRE_DOUBLE:
        return 8;
    case WIRE_FIXED:
        return sc->fixed_size;
    default:
        return 1;
    }
}

static int compile_field(avro_schema_t s, int target, field_op *op,
                         size_t *min_bytes)
{
    int kind = target >= 0 ? profile_field_kinds[target] : -1;
    op->target = (int8_t)target;
    s = resolved(s);
    if (s == NULL)
        return 1;
    if (avro_typeof(s) != AVRO_UNION) {
        int rc = compile_scalar(s, kind, &op->scalar);
        *min_bytes += scalar_min_bytes(&op->scalar);
        return rc;
    }
    size_t n = avro_schema_union_size(s);
    if (n == 0 || n > PLAN_MAX_BRANCHES)
        return 1;
    op->is_union = 1;
    op->n_branches = (uint8_t)n;
    size_t smallest = SIZE_MAX;
    for (size_t b = 0; b < n; b++) {
        avro_schema_t branch = resolved(avro_schema_union_branch(s, (int)b));
        if (branch == NULL || avro_typeof(branch) == AVRO_UNION)
            return 1;
        int rc = compile_scalar(branch, kind, &op->branches[b]);
        if (rc != 0)
            return rc;
        size_t m = scalar_min_bytes(&op->branches[b]);
        if (m < smallest)
            smallest = m;
    }
    *min_bytes += 1 + smallest;
    return 0;
}

/* Whether the field can deliver a real value (not only NULL). */
static int delivers_values(const field_op *op)
{
    if (!op->is_union)
        return op->scalar.usable && op->scalar.type != WIRE_NULL;
    for (uint8_t b = 0; b < op->n_branches; b++)
        if (op->branches[b].usable && op->branches[b].type != WIRE_NULL)
            return 1;
    return 0;
}

int record_plan_compile(record_plan *plan, const char *json, size_t len,
                        char **why)
{
    memset(plan, 0, sizeof *plan);
    *why = NULL;
    avro_schema_t schema = NULL;
    /* avro_strerror() is one global buffer in this avro-c: never read it,
     * another thread may be writing it. */
    if (avro_schema_from_json_length(json, len, &schema) != 0 || schema == NULL) {
        *why = message("the header's schema is not valid Avro schema JSON", NULL);
        return -1;
    }
    int rc = 0;
    if (avro_typeof(schema) != AVRO_RECORD) {
        *why = message("not a daglib profile: the schema is a %s, not a record",
                       avro_schema_type_name(schema));
        rc = -1;
        goto done;
    }
    size_t n = avro_schema_record_size(schema);
    plan->ops = calloc(n > 0 ? n : 1, sizeof *plan->ops);
    if (plan->ops == NULL) {
        rc = -1;
        goto done;
    }
    plan->n_ops = (uint32_t)n;
    uint32_t present = 0, named = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = avro_schema_record_field_name(schema, (int)i);
        int target = name != NULL ? target_of(name) : -1;
        if (target >= 0 && (present & PROFILE_FIELD_BIT(target)))
            target = -1; /* a repeated name: the first one counts */
        if (target >= 0)
            named |= PROFILE_FIELD_BIT(target);
        field_op *op = &plan->ops[i];
        int frc = compile_field(
            avro_schema_record_field_get_by_index(schema, (int)i), target, op,
            &plan->min_record_bytes);
        if (frc < 0) {
            rc = -1;
            goto done;
        }
        if (frc > 0)
            rc = 1; /* keep going: a missing required field still wins */
        else if (target >= 0 && delivers_values(op))
            present |= PROFILE_FIELD_BIT(target);
        else if (target >= 0)
            op->target = -1; /* unusable type: read as if absent */
    }
    for (int f = 0; f < PF_REQUIRED_COUNT; f++) {
        if (present & PROFILE_FIELD_BIT(f))
            continue;
        if (!(named & PROFILE_FIELD_BIT(f))) {
            *why = message("not a daglib profile: no field '%s'",
                           profile_field_names[f]);
            rc = -1;
            goto done;
        }
        if (rc != 1) { /* a type avro-c could not make usable either */
            *why = message("not a daglib profile: field '%s' has an "
                           "unusable type",
                           profile_field_names[f]);
            rc = -1;
            goto done;
        }
    }
    plan->missing_mask = PROFILE_ALL_FIELDS & ~present;

done:
    avro_schema_decref(schema);
    if (rc < 0) {
        if (*why == NULL)
            *why = message("out of memory compiling the schema", NULL);
        record_plan_free(plan);
    }
    return rc;
}

static void scalar_free(wire_scalar *sc)
{
    for (uint32_t i = 0; i < sc->n_symbols; i++)
        free(sc->symbols[i]);
    free(sc->symbols);
    free(sc->symbol_lens);
}

void record_plan_free(record_plan *plan)
{
    if (plan->ops != NULL) {
        for (uint32_t i = 0; i < plan->n_ops; i++) {
            scalar_free(&plan->ops[i].scalar);
            for (uint8_t b = 0; b < plan->ops[i].n_branches; b++)
                scalar_free(&plan->ops[i].branches[b]);
        }
    }
    free(plan->ops);
    memset(plan, 0, sizeof *plan);
}

void profile_row_fill_defaults(uint32_t missing, profile_row *row)
{
    for (int f = 0; f < PF_COUNT; f++) {
        if (!(missing & PROFILE_FIELD_BIT(f)))
            continue;
        profile_cell *c = &row->cell[f];
        if (f == PF_STATUS) {
            c->kind = CELL_TEXT;
            c->u.text.p = profile_status_names[PROFILE_OK];
            c->u.text.n = strlen(profile_status_names[PROFILE_OK]);
        } else if (f == PF_ATTEMPTS) {
            c->kind = CELL_INT;
            c->u.i = 1;
        } else {
            c->kind = CELL_NULL;
        }
    }
}

/* ---- decoding --------------------------------------------------------------- */

static inline int get_long(const unsigned char **pp, const unsigned char *end,
                           int64_t *out)
{
    const unsigned char *p = *pp;
    if (p < end && *p < 0x80) { /* most numbers here fit in one byte */
        *out = (int64_t)(*p >> 1) ^ -(int64_t)(*p & 1);
        *pp = p + 1;
        return 0;
    }
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70 && p < end; shift += 7) {
        unsigned char b = *p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
            *pp = p;
            return 0;
        }
    }
    return -1;
}

static inline double get_double(const unsigned char *p)
{
    uint64_t bits = 0;
    for (int i = 7; i >= 0; i--)
        bits = bits << 8 | p[i];
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static inline float get_float(const unsigned char *p)
{
    uint32_t bits = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
                    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

#define TRUNCATED "a record runs past the end of its block"

/* Decode one scalar; store it in *cell when cell is not NULL (the field is
 * wanted and the type usable), converting to the field's kind. */
static inline int decode_scalar(const wire_scalar *sc, const unsigned char **pp,
                                const unsigned char *end, profile_cell *cell,
                                int kind, const char **why)
{
    const unsigned char *p = *pp;
    int64_t n;
    switch (sc->type) {
    case WIRE_NULL:
        if (cell != NULL)
            cell->kind = CELL_NULL;
        return 0;
    case WIRE_BOOLEAN:
        if (p >= end)
            goto truncated;
        *pp = p + 1;
        return 0;
    case WIRE_INT:
        if (get_long(pp, end, &n) != 0)
            goto truncated;
        if (cell != NULL) {
            if (kind == CELL_REAL) {
                cell->kind = CELL_REAL;
                cell->u.d = (double)n;
            } else {
                cell->kind = CELL_INT;
                cell->u.i = n;
            }
        }
        return 0;
    case WIRE_FLOAT:
        if (end - p < 4)
            goto truncated;
        if (cell != NULL) {
            cell->kind = CELL_REAL;
            cell->u.d = (double)get_float(p);
        }
        *pp = p + 4;
        return 0;
    case WIRE_DOUBLE:
        if (end - p < 8)
            goto truncated;
        if (cell != NULL) {
            cell->kind = CELL_REAL;
            cell->u.d = get_double(p);
        }
        *pp = p + 8;
        return 0;
    case WIRE_BYTES:
        if (get_long(&p, end, &n) != 0)
            goto truncated;
        if (n < 0 || n > end - p) {
            *why = n < 0 ? "a string has a negative length" : TRUNCATED;
            return -1;
        }
        if (cell != NULL) {
            cell->kind = CELL_TEXT;
            cell->u.text.p = (const char *)p;
            cell->u.text.n = (size_t)n;
        }
        *pp = p + n;
        return 0;
    case WIRE_FIXED:
        if ((uint64_t)(end - p) < sc->fixed_size)
            goto truncated;
        *pp = p + sc->fixed_size;
        return 0;
    case WIRE_ENUM:
        if (get_long(pp, end, &n) != 0)
            goto truncated;
        if (n < 0 || (uint64_t)n >= sc->n_symbols) {
            *why = "an enum index is out of range";
            return -1;
        }
        if (cell != NULL) {
            cell->kind = CELL_TEXT;
            cell->u.text.p = sc->symbols[n];
            cell->u.text.n = sc->symbol_lens[n];
        }
        return 0;
    default:
        *why = "unexpected type in the plan";
        return -1;
    }
truncated:
    *why = TRUNCATED;
    return -1;
}

int record_plan_decode(const record_plan *plan, const unsigned char **p,
                       const unsigned char *end, uint32_t wanted,
                       profile_row *row, const char **why)
{
    for (uint32_t i = 0; i < plan->n_ops; i++) {
        const field_op *op = &plan->ops[i];
        int target = op->target;
        profile_cell *cell = NULL;
        int kind = -1;
        if (target >= 0 && (wanted & PROFILE_FIELD_BIT(target))) {
            cell = &row->cell[target];
            kind = profile_field_kinds[target];
        }
        const wire_scalar *sc = &op->scalar;
        if (op->is_union) {
            int64_t branch;
            if (get_long(p, end, &branch) != 0) {
                *why = TRUNCATED;
                return -1;
            }
            if (branch < 0 || branch >= op->n_branches) {
                *why = "a union index is out of range";
                return -1;
            }
            sc = &op->branches[branch];
        }
        if (cell != NULL && !sc->usable) {
            cell->kind = CELL_NULL;
            cell = NULL;
        }
        if (decode_scalar(sc, p, end, cell, kind, why) != 0)
            return -1;
    }
    return 0;
}
