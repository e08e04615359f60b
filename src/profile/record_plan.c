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

#include "avro_varint.h"
#include "error.h"
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

/* The wire type of a scalar Avro type; WIRE_UNION for anything else. */
static wire_type wire_type_of(avro_type_t type)
{
    switch (type) {
    case AVRO_NULL:
        return WIRE_NULL;
    case AVRO_BOOLEAN:
        return WIRE_BOOLEAN;
    case AVRO_INT32:
    case AVRO_INT64:
        return WIRE_INT;
    case AVRO_FLOAT:
        return WIRE_FLOAT;
    case AVRO_DOUBLE:
        return WIRE_DOUBLE;
    case AVRO_STRING:
    case AVRO_BYTES:
        return WIRE_BYTES;
    case AVRO_FIXED:
        return WIRE_FIXED;
    case AVRO_ENUM:
        return WIRE_ENUM;
    default:
        return WIRE_UNION;
    }
}

static avro_schema_t resolved(avro_schema_t s)
{
    while (s != NULL && avro_typeof(s) == AVRO_LINK)
        s = avro_schema_link_target(s);
    return s;
}

int record_plan_schema_delivers(avro_schema_t s, int kind)
{
    s = resolved(s);
    if (s == NULL)
        return 0;
    if (avro_typeof(s) != AVRO_UNION) {
        wire_type type = wire_type_of(avro_typeof(s));
        return type != WIRE_NULL && type != WIRE_UNION && usable_for(type, kind);
    }
    for (size_t b = 0; b < avro_schema_union_size(s); b++) {
        avro_schema_t branch = resolved(avro_schema_union_branch(s, (int)b));
        if (branch != NULL && avro_typeof(branch) != AVRO_UNION &&
            record_plan_schema_delivers(branch, kind))
            return 1;
    }
    return 0;
}

/* Fill sc from a non-union schema.  0, or 1 for a type the plan does not
 * decode (records, arrays, maps), or -1 when memory runs out. */
static int compile_scalar(avro_schema_t s, int kind, wire_scalar *sc)
{
    memset(sc, 0, sizeof *sc);
    sc->type = wire_type_of(avro_typeof(s));
    switch (sc->type) {
    case WIRE_UNION:
        return 1; /* records, arrays, maps, or a union inside a union */
    case WIRE_INT:
        sc->int32 = avro_typeof(s) == AVRO_INT32;
        break;
    case WIRE_FIXED: {
        int64_t size = avro_schema_fixed_size(s);
        if (size < 0 || size > UINT32_MAX)
            return 1;
        sc->fixed_size = (uint32_t)size;
        break;
    }
    case WIRE_ENUM: {
        int n = avro_schema_enum_number_of_symbols(s);
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
        break;
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

static int is_scalar(const field_op *op, int target, wire_type type)
{
    return op->target == target && !op->is_union && op->scalar.type == type;
}

/* ["null", type] into target */
static int is_optional(const field_op *op, int target, wire_type type)
{
    return op->target == target && op->is_union && op->n_branches == 2 &&
           op->branches[0].type == WIRE_NULL && op->branches[1].type == type;
}

/* Whether the (optional) integer field is an Avro int, not a long. */
static int is_int32(const field_op *op)
{
    return op->is_union ? op->branches[1].int32 : op->scalar.int32;
}

static plan_layout layout_of(const record_plan *plan)
{
    const field_op *op = plan->ops;
    if (plan->n_ops != PF_COUNT && plan->n_ops != PF_REQUIRED_COUNT)
        return LAYOUT_OTHER;
    for (int f = PF_DAG_NAME; f <= PF_TASK_DESCRIPTION; f++)
        if (!is_scalar(&op[f], f, WIRE_BYTES))
            return LAYOUT_OTHER;
    if (plan->n_ops == PF_REQUIRED_COUNT)
        return is_scalar(&op[PF_TASK_RUNTIME], PF_TASK_RUNTIME, WIRE_FLOAT)
                   ? LAYOUT_ORIGINAL
                   : LAYOUT_OTHER;
    if (is_scalar(&op[PF_TASK_RUNTIME], PF_TASK_RUNTIME, WIRE_DOUBLE) &&
        is_optional(&op[PF_STARTED_AT], PF_STARTED_AT, WIRE_INT) &&
        is_optional(&op[PF_ENDED_AT], PF_ENDED_AT, WIRE_INT) &&
        is_scalar(&op[PF_STATUS], PF_STATUS, WIRE_ENUM) &&
        is_scalar(&op[PF_ATTEMPTS], PF_ATTEMPTS, WIRE_INT) &&
        is_optional(&op[PF_WORKER], PF_WORKER, WIRE_INT) &&
        is_optional(&op[PF_ERROR], PF_ERROR, WIRE_BYTES) &&
        !is_int32(&op[PF_STARTED_AT]) && !is_int32(&op[PF_ENDED_AT]) &&
        is_int32(&op[PF_ATTEMPTS]) && is_int32(&op[PF_WORKER]))
        return LAYOUT_DAGLIB;
    return LAYOUT_OTHER;
}

int record_plan_compile(record_plan *plan, const char *json, size_t len,
                        char **why)
{
    memset(plan, 0, sizeof *plan);
    plan->selected_wanted = PLAN_NONE_SELECTED;
    *why = NULL;
    avro_schema_t schema = NULL;
    /* avro_strerror() is one global buffer in this avro-c: never read it,
     * another thread may be writing it. */
    if (avro_schema_from_json_length(json, len, &schema) != 0 || schema == NULL) {
        *why = format_string("the header's schema is not valid Avro schema JSON");
        return -1;
    }
    int rc = 0;
    if (avro_typeof(schema) != AVRO_RECORD) {
        *why = format_string("not a daglib profile: the schema is a %s, not a record",
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
        avro_schema_t field = avro_schema_record_field_get_by_index(schema, (int)i);
        int frc = compile_field(field, target, op, &plan->min_record_bytes);
        if (frc < 0) {
            rc = -1;
            goto done;
        }
        if (frc > 0)
            rc = 1; /* keep going: a missing required field still wins */
        else if (target >= 0 &&
                 record_plan_schema_delivers(field, profile_field_kinds[target]))
            present |= PROFILE_FIELD_BIT(target);
        else if (target >= 0)
            op->target = -1; /* unusable type: read as if absent */
    }
    for (int f = 0; f < PF_REQUIRED_COUNT; f++) {
        if (present & PROFILE_FIELD_BIT(f))
            continue;
        if (!(named & PROFILE_FIELD_BIT(f))) {
            *why = format_string("not a daglib profile: no field '%s'",
                           profile_field_names[f]);
            rc = -1;
            goto done;
        }
        if (rc != 1) { /* a type avro-c could not make usable either */
            *why = format_string("not a daglib profile: field '%s' has an "
                           "unusable type",
                           profile_field_names[f]);
            rc = -1;
            goto done;
        }
    }
    plan->missing_mask = PROFILE_ALL_FIELDS & ~present;
    plan->layout = layout_of(plan);

done:
    avro_schema_decref(schema);
    if (rc < 0) {
        if (*why == NULL)
            *why = format_string("out of memory compiling the schema");
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
    free(plan->steps);
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

/* Avro's doubles and floats are little-endian, as this machine is: then
 * one load instead of a loop over the bytes (a measured quarter of a
 * scan's decoding time). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static inline double get_double(const unsigned char *p)
{
    double d;
    memcpy(&d, p, sizeof d);
    return d;
}

static inline float get_float(const unsigned char *p)
{
    float f;
    memcpy(&f, p, sizeof f);
    return f;
}
#else
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
#endif

#define TRUNCATED "a record runs past the end of its block"

/* An Avro int or long.  An int is a varint of at most 5 bytes, of which
 * the low 32 bits count: what avro-c, the reference, reads, refusing
 * longer ones (a long takes up to 10).  0, or -1 with *why set. */
static inline int get_integer(const unsigned char **pp,
                              const unsigned char *end, int int32,
                              int64_t *out, const char **why)
{
    int rc = int32 ? varint_int(pp, end, out) : varint_long(pp, end, out);
    if (rc == VARINT_OK)
        return 0;
    *why = rc == VARINT_BAD && int32 ? "an int takes more than 5 bytes"
                                     : TRUNCATED;
    return -1;
}

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
        if (get_integer(pp, end, sc->int32, &n, why) != 0)
            return -1;
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
        if (varint_long(&p, end, &n) != 0)
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
        if (varint_long(pp, end, &n) != 0)
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

/* ---- the two layouts nearly every file has --------------------------------- */

/* Field decoders for the written-out layouts.  Each returns 0, or -1 with
 * *why set; `keep` is whether the field is wanted (a constant for a scan,
 * so the branches on it predict perfectly: no jump table per field). */

static inline int take_bytes(const unsigned char **pp, const unsigned char *end,
                             profile_cell *cell, int keep, const char **why)
{
    int64_t n;
    if (varint_long(pp, end, &n) != 0) {
        *why = TRUNCATED;
        return -1;
    }
    if (n < 0 || n > end - *pp) {
        *why = n < 0 ? "a string has a negative length" : TRUNCATED;
        return -1;
    }
    if (keep) {
        cell->kind = CELL_TEXT;
        cell->u.text.p = (const char *)*pp;
        cell->u.text.n = (size_t)n;
    }
    *pp += n;
    return 0;
}

static inline int take_long(const unsigned char **pp, const unsigned char *end,
                            profile_cell *cell, int keep, const char **why)
{
    int64_t n;
    if (!keep) {
        if (varint_skip_long(pp, end) == 0)
            return 0;
        *why = TRUNCATED;
        return -1;
    }
    if (varint_long(pp, end, &n) != 0) {
        *why = TRUNCATED;
        return -1;
    }
    if (keep) {
        cell->kind = CELL_INT;
        cell->u.i = n;
    }
    return 0;
}

/* An Avro int (attempts, worker). */
static inline int take_int(const unsigned char **pp, const unsigned char *end,
                           profile_cell *cell, int keep, const char **why)
{
    int64_t n;
    if (get_integer(pp, end, 1, &n, why) != 0)
        return -1;
    if (keep) {
        cell->kind = CELL_INT;
        cell->u.i = n;
    }
    return 0;
}

enum { OPTIONAL_LONG, OPTIONAL_TEXT, OPTIONAL_INT };

/* ["null", long], ["null", string] or ["null", int] */
static inline int take_optional(const unsigned char **pp,
                                const unsigned char *end, profile_cell *cell,
                                int keep, int type, const char **why)
{
    int64_t branch;
    if (varint_long(pp, end, &branch) != 0) {
        *why = TRUNCATED;
        return -1;
    }
    if (branch == 0) {
        if (keep)
            cell->kind = CELL_NULL;
        return 0;
    }
    if (branch != 1) {
        *why = "a union index is out of range";
        return -1;
    }
    return type == OPTIONAL_TEXT ? take_bytes(pp, end, cell, keep, why)
           : type == OPTIONAL_INT ? take_int(pp, end, cell, keep, why)
                                  : take_long(pp, end, cell, keep, why);
}

#define WANTS(f) ((wanted & PROFILE_FIELD_BIT(f)) != 0)

static int decode_known_layout(const record_plan *plan,
                               const unsigned char **pp,
                               const unsigned char *end, uint32_t wanted,
                               profile_row *row, const char **why)
{
    const unsigned char *p = *pp;
    profile_cell *cell = row->cell;
    for (int f = PF_DAG_NAME; f <= PF_TASK_DESCRIPTION; f++)
        if (take_bytes(&p, end, &cell[f], WANTS(f), why) != 0)
            return -1;
    if (plan->layout == LAYOUT_ORIGINAL) {
        if (end - p < 4)
            goto truncated;
        if (WANTS(PF_TASK_RUNTIME)) {
            cell[PF_TASK_RUNTIME].kind = CELL_REAL;
            cell[PF_TASK_RUNTIME].u.d = (double)get_float(p);
        }
        *pp = p + 4;
        return 0;
    }
    if (end - p < 8)
        goto truncated;
    if (WANTS(PF_TASK_RUNTIME)) {
        cell[PF_TASK_RUNTIME].kind = CELL_REAL;
        cell[PF_TASK_RUNTIME].u.d = get_double(p);
    }
    p += 8;
    if (take_optional(&p, end, &cell[PF_STARTED_AT], WANTS(PF_STARTED_AT),
                      OPTIONAL_LONG, why) != 0 ||
        take_optional(&p, end, &cell[PF_ENDED_AT], WANTS(PF_ENDED_AT),
                      OPTIONAL_LONG, why) != 0)
        return -1;
    int64_t symbol;
    const wire_scalar *status = &plan->ops[PF_STATUS].scalar;
    if (varint_long(&p, end, &symbol) != 0)
        goto truncated;
    if (symbol < 0 || (uint64_t)symbol >= status->n_symbols) {
        *why = "an enum index is out of range";
        return -1;
    }
    if (WANTS(PF_STATUS)) {
        cell[PF_STATUS].kind = CELL_TEXT;
        cell[PF_STATUS].u.text.p = status->symbols[symbol];
        cell[PF_STATUS].u.text.n = status->symbol_lens[symbol];
    }
    if (take_int(&p, end, &cell[PF_ATTEMPTS], WANTS(PF_ATTEMPTS), why) != 0 ||
        take_optional(&p, end, &cell[PF_WORKER], WANTS(PF_WORKER), OPTIONAL_INT,
                      why) != 0 ||
        take_optional(&p, end, &cell[PF_ERROR], WANTS(PF_ERROR), OPTIONAL_TEXT,
                      why) != 0)
        return -1;
    *pp = p;
    return 0;
truncated:
    *why = TRUNCATED;
    return -1;
}

#undef WANTS

/* ---- specialised steps -------------------------------------------------- */

enum step_code {
    STEP_NOTHING,      /* a null */
    STEP_SKIP_FIXED,   /* arg bytes: boolean, float, double, fixed */
    STEP_SKIP_VARINT,  /* int, long */
    STEP_SKIP_BYTES,   /* string, bytes */
    STEP_SKIP_ENUM,    /* an index below arg */
    STEP_UNION,        /* an index below n_branches, then steps[arg + index] */
    STEP_TEXT,         /* string or bytes into the target */
    STEP_DOUBLE,
    STEP_FLOAT,
    STEP_INT,
    STEP_INT_AS_REAL,
    STEP_ENUM          /* the symbol's name into the target */
};

/* The step for one scalar; kind is the target's cell kind, or -1. */
static plan_step step_for(const wire_scalar *sc, int target, int kind)
{
    plan_step st = {STEP_NOTHING, PLAN_NO_TARGET, 0, 0, NULL};
    int keep = kind >= 0 && sc->usable;
    if (keep)
        st.target = (uint8_t)target;
    switch (sc->type) {
    case WIRE_BOOLEAN:
        st.code = STEP_SKIP_FIXED;
        st.arg = 1;
        break;
    case WIRE_FIXED:
        st.code = STEP_SKIP_FIXED;
        st.arg = sc->fixed_size;
        break;
    case WIRE_FLOAT:
        st.code = keep ? STEP_FLOAT : STEP_SKIP_FIXED;
        st.arg = 4;
        break;
    case WIRE_DOUBLE:
        st.code = keep ? STEP_DOUBLE : STEP_SKIP_FIXED;
        st.arg = 8;
        break;
    case WIRE_INT:
        st.code = !keep ? STEP_SKIP_VARINT
                        : kind == CELL_REAL ? STEP_INT_AS_REAL : STEP_INT;
        st.arg = sc->int32;
        break;
    case WIRE_BYTES:
        st.code = keep ? STEP_TEXT : STEP_SKIP_BYTES;
        break;
    case WIRE_ENUM:
        st.code = keep ? STEP_ENUM : STEP_SKIP_ENUM;
        st.arg = sc->n_symbols;
        st.scalar = sc;
        break;
    default:
        break;
    }
    if (st.code == STEP_SKIP_FIXED || st.code == STEP_SKIP_VARINT ||
        st.code == STEP_SKIP_BYTES || st.code == STEP_SKIP_ENUM ||
        st.code == STEP_NOTHING)
        st.target = PLAN_NO_TARGET;
    return st;
}

int record_plan_select(record_plan *plan, uint32_t wanted)
{
    if (plan->selected_wanted == wanted)
        return 0;
    /* Set first: out of memory, the general path serves this mask rather
     * than a retry for every record. */
    plan->selected_wanted = wanted;
    free(plan->steps);
    plan->steps = NULL;
    if (plan->layout != LAYOUT_OTHER)
        return 0; /* decode_known_layout() needs no steps */
    uint32_t n = plan->n_ops;
    for (uint32_t i = 0; i < plan->n_ops; i++)
        n += plan->ops[i].n_branches;
    plan_step *steps = malloc((n > 0 ? n : 1) * sizeof *steps);
    if (steps == NULL)
        return -1;
    uint32_t next_branch = plan->n_ops;
    for (uint32_t i = 0; i < plan->n_ops; i++) {
        const field_op *op = &plan->ops[i];
        int target = op->target;
        int kind = target >= 0 && (wanted & PROFILE_FIELD_BIT(target))
                       ? profile_field_kinds[target]
                       : -1;
        if (!op->is_union) {
            steps[i] = step_for(&op->scalar, target, kind);
            continue;
        }
        steps[i] = (plan_step){STEP_UNION,
                               kind >= 0 ? (uint8_t)target : PLAN_NO_TARGET,
                               op->n_branches, next_branch, NULL};
        for (uint8_t b = 0; b < op->n_branches; b++)
            steps[next_branch++] = step_for(&op->branches[b], target, kind);
    }
    plan->steps = steps;
    return 0;
}

/* The specialised decoder: the same checks as the general one below, in
 * the same order, so both accept and refuse the same bytes. */
static int run_steps(const record_plan *plan, const unsigned char **pp,
                     const unsigned char *end, profile_row *row,
                     const char **why)
{
    const unsigned char *p = *pp;
    const plan_step *steps = plan->steps;
    int64_t n;
    for (uint32_t i = 0; i < plan->n_ops; i++) {
        const plan_step *st = &steps[i];
        if (st->code == STEP_UNION) {
            if (varint_long(&p, end, &n) != 0)
                goto truncated;
            if (n < 0 || n >= st->n_branches) {
                *why = "a union index is out of range";
                return -1;
            }
            if (st->target != PLAN_NO_TARGET)
                row->cell[st->target].kind = CELL_NULL;
            st = &steps[st->arg + (uint32_t)n];
        }
        /* Only the storing steps have a target, and only they use this. */
#define CELL (&row->cell[st->target])
        switch (st->code) {
        case STEP_NOTHING:
            break;
        case STEP_SKIP_FIXED:
            if ((uint64_t)(end - p) < st->arg)
                goto truncated;
            p += st->arg;
            break;
        case STEP_SKIP_VARINT:
            if (get_integer(&p, end, (int)st->arg, &n, why) != 0)
                return -1;
            break;
        case STEP_SKIP_BYTES:
        case STEP_TEXT:
            if (varint_long(&p, end, &n) != 0)
                goto truncated;
            if (n < 0 || n > end - p) {
                *why = n < 0 ? "a string has a negative length" : TRUNCATED;
                return -1;
            }
            if (st->code == STEP_TEXT) {
                CELL->kind = CELL_TEXT;
                CELL->u.text.p = (const char *)p;
                CELL->u.text.n = (size_t)n;
            }
            p += n;
            break;
        case STEP_SKIP_ENUM:
        case STEP_ENUM:
            if (varint_long(&p, end, &n) != 0)
                goto truncated;
            if (n < 0 || (uint64_t)n >= st->arg) {
                *why = "an enum index is out of range";
                return -1;
            }
            if (st->code == STEP_ENUM) {
                CELL->kind = CELL_TEXT;
                CELL->u.text.p = st->scalar->symbols[n];
                CELL->u.text.n = st->scalar->symbol_lens[n];
            }
            break;
        case STEP_DOUBLE:
            if (end - p < 8)
                goto truncated;
            CELL->kind = CELL_REAL;
            CELL->u.d = get_double(p);
            p += 8;
            break;
        case STEP_FLOAT:
            if (end - p < 4)
                goto truncated;
            CELL->kind = CELL_REAL;
            CELL->u.d = (double)get_float(p);
            p += 4;
            break;
        case STEP_INT:
            if (get_integer(&p, end, (int)st->arg, &n, why) != 0)
                return -1;
            CELL->kind = CELL_INT;
            CELL->u.i = n;
            break;
        case STEP_INT_AS_REAL:
            if (get_integer(&p, end, (int)st->arg, &n, why) != 0)
                return -1;
            CELL->kind = CELL_REAL;
            CELL->u.d = (double)n;
            break;
        default:
            *why = "unexpected step in the plan";
            return -1;
        }
    }
#undef CELL
    *pp = p;
    return 0;
truncated:
    *why = TRUNCATED;
    return -1;
}

int record_plan_decode(const record_plan *plan, const unsigned char **p,
                       const unsigned char *end, uint32_t wanted,
                       profile_row *row, const char **why)
{
    if (plan->layout != LAYOUT_OTHER)
        return decode_known_layout(plan, p, end, wanted, row, why);
    if (plan->steps != NULL && wanted == plan->selected_wanted)
        return run_steps(plan, p, end, row, why);
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
            if (varint_long(p, end, &branch) != 0) {
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
