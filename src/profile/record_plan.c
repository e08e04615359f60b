/*
 * record_plan.c -- compile a file's schema into field operations, and
 * decode records from block bytes with them.
 *
 * This is the scan's hot path: avro-c's generic reader makes a function
 * call per byte of every varint and builds a value tree per record, which
 * measured about 8x slower than a native SQLite table; a loop over a flat
 * plan reading the bytes in place runs at native speed.  The schema's
 * JSON is read into jansson values by json_text.c, not by avro-c, which
 * crashes when an allocation of its own parser fails: that would turn out
 * of memory into a crash (see "the writer's schema" below).
 *
 * Trust nothing from the file: every length is checked against the end of
 * the block before it is used, every union index and enum index against
 * the schema.
 */
#include <avro.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_varint.h"
#include "error.h"
#include "json_text.h"
#include "record_plan.h"

/* The cell kind each wire is delivered as. */
#define KIND_OF_STRING CELL_TEXT
#define KIND_OF_ENUM CELL_TEXT
#define KIND_OF_OPTIONAL_STRING CELL_TEXT
#define KIND_OF_DOUBLE CELL_REAL
#define KIND_OF_INT CELL_INT
#define KIND_OF_OPTIONAL_INT CELL_INT
#define KIND_OF_OPTIONAL_LONG CELL_INT

const uint8_t profile_field_kinds[PF_COUNT] = {
#define FIELD_KIND_(id, name, wire, type, def, sql) [PF_##id] = KIND_OF_##wire,
    PROFILE_FIELD_MAP(FIELD_KIND_)
#undef FIELD_KIND_
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

/* ---- the writer's schema --------------------------------------------------------
 *
 * avro-c 1.11 dereferences NULL when one of its own allocations fails
 * while it parses a schema, so the scan never hands it a schema it has not
 * checked: the JSON is read into jansson values (the library avro-c
 * itself keeps JSON in; its constructors return NULL when memory runs
 * out), and the rules of Avro's schema grammar that matter are checked
 * here -- every type known, named types defined once with valid names,
 * field names valid identifiers, enum symbols strings, "type" a string:
 * what avro-c refuses too (tests/test_profile_reader.c compares them).  Only
 * a schema that passed is ever given to avro-c (for what the plan does
 * not decode: an lzma codec, nested types).
 *
 * Internal codes: 0, NEEDS_AVROC (a type the plan does not decode),
 * INVALID (with cx->why), NOMEM. */
#define NEEDS_AVROC 1
#define INVALID (-1)
#define NOMEM (-2)
#define MAX_SCHEMA_DEPTH 64
#define MAX_NAME_BYTES 1024

typedef struct schema_cx {
    json_t *named; /* full name -> its definition (borrowed from the tree) */
    char *why;     /* why the schema is invalid, malloc'd */
} schema_cx;

__attribute__((format(printf, 2, 3))) static int invalid(schema_cx *cx,
                                                         const char *fmt, ...)
{
    if (cx->why != NULL)
        return INVALID;
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    cx->why = format_string("the header's schema is not valid Avro schema "
                            "JSON: %s", text);
    return cx->why != NULL ? INVALID : NOMEM;
}

static const char *const primitive_names[] = {
    "null", "boolean", "int", "long", "float", "double", "bytes", "string"};
static const wire_type primitive_wire[] = {
    WIRE_NULL, WIRE_BOOLEAN, WIRE_INT, WIRE_INT,
    WIRE_FLOAT, WIRE_DOUBLE, WIRE_BYTES, WIRE_BYTES};

static int primitive_index(const char *word)
{
    for (size_t i = 0; i < sizeof primitive_names / sizeof *primitive_names; i++)
        if (strcmp(word, primitive_names[i]) == 0)
            return (int)i;
    return -1;
}

static int is_keyword(const char *word)
{
    static const char *const keywords[] = {"record", "error", "enum",
                                           "fixed",  "array", "map"};
    for (size_t i = 0; i < sizeof keywords / sizeof *keywords; i++)
        if (strcmp(word, keywords[i]) == 0)
            return 1;
    return primitive_index(word) >= 0;
}

/* [A-Za-z_][A-Za-z0-9_]*, or dotted parts of that when dots is set. */
static int is_avro_name(const char *s, int dots)
{
    int start = 1;
    for (; *s != '\0'; s++) {
        char c = *s;
        if (dots && c == '.' && !start) {
            start = 1;
            continue;
        }
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
              (!start && c >= '0' && c <= '9')))
            return 0;
        start = 0;
    }
    return !start;
}

/* The word saying what s is: a primitive or keyword, a name, "union";
 * NULL when s cannot be a schema. */
static const char *type_word(const json_t *s)
{
    if (json_is_string(s))
        return json_string_value(s);
    if (json_is_array(s))
        return "union";
    if (json_is_object(s))
        return json_string_value(json_object_get(s, "type"));
    return NULL;
}

/* The full name of `name` in namespace ns, into buf. */
static int full_name(schema_cx *cx, const char *name, const char *ns,
                     char *buf)
{
    int n = strchr(name, '.') != NULL || ns == NULL || ns[0] == '\0'
                ? snprintf(buf, MAX_NAME_BYTES, "%s", name)
                : snprintf(buf, MAX_NAME_BYTES, "%s.%s", ns, name);
    if (n < 0 || n >= MAX_NAME_BYTES)
        return invalid(cx, "a name of more than %d bytes", MAX_NAME_BYTES - 1);
    return 0;
}

/* The definition a name refers to (looked up in ns, then as it is), or
 * NULL. */
static json_t *lookup(schema_cx *cx, const char *name, const char *ns)
{
    char full[MAX_NAME_BYTES];
    if (strchr(name, '.') == NULL && ns != NULL && ns[0] != '\0' &&
        snprintf(full, sizeof full, "%s.%s", ns, name) < (int)sizeof full) {
        json_t *def = json_object_get(cx->named, full);
        if (def != NULL)
            return def;
    }
    return json_object_get(cx->named, name);
}

/* Define the named type def (in ns): full name into full, and the
 * namespace its own definitions live in into *inner. */
static int define_named(schema_cx *cx, json_t *def, const char *ns,
                        char *full, const char **inner)
{
    const char *name = json_string_value(json_object_get(def, "name"));
    if (name == NULL || !is_avro_name(name, 1))
        return invalid(cx, "a %s without a valid name", type_word(def));
    json_t *space = json_object_get(def, "namespace");
    if (space != NULL && !json_is_string(space))
        return invalid(cx, "the namespace of '%s' is not a string", name);
    const char *own = json_string_value(space);
    if (own != NULL && own[0] != '\0' && !is_avro_name(own, 1))
        return invalid(cx, "the namespace '%s' is not a valid name", own);
    int rc = full_name(cx, name, strchr(name, '.') ? NULL : own ? own : ns, full);
    if (rc != 0)
        return rc;
    if (primitive_index(full) >= 0)
        return invalid(cx, "'%s' redefines a primitive type", full);
    if (json_object_get(cx->named, full) != NULL)
        return invalid(cx, "'%s' is defined twice", full);
    if (json_object_set(cx->named, full, def) != 0)
        return NOMEM;
    char *dot = strrchr(full, '.');
    *inner = dot != NULL ? full : NULL; /* the caller cuts at the dot */
    return 0;
}

static int check_schema(schema_cx *cx, json_t *s, const char *ns, int depth);

static int check_record(schema_cx *cx, json_t *s, const char *ns, int depth)
{
    char full[MAX_NAME_BYTES];
    const char *inner = NULL;
    int rc = define_named(cx, s, ns, full, &inner);
    if (rc != 0)
        return rc;
    if (inner != NULL)
        *strrchr(full, '.') = '\0'; /* full is now the fields' namespace */
    json_t *fields = json_object_get(s, "fields");
    if (!json_is_array(fields))
        return invalid(cx, "record '%s' has no array of fields", full);
    for (size_t i = 0; i < json_array_size(fields); i++) {
        json_t *field = json_array_get(fields, i);
        const char *name = json_string_value(json_object_get(field, "name"));
        if (name == NULL || !is_avro_name(name, 0))
            return invalid(cx, "a field without a valid name");
        json_t *type = json_object_get(field, "type");
        if (type == NULL)
            return invalid(cx, "field '%s' has no type", name);
        rc = check_schema(cx, type, inner != NULL ? full : NULL, depth + 1);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Check s, and define the named types it defines. */
static int check_schema(schema_cx *cx, json_t *s, const char *ns, int depth)
{
    if (depth > MAX_SCHEMA_DEPTH)
        return invalid(cx, "types nested more than %d deep", MAX_SCHEMA_DEPTH);
    const char *word = type_word(s);
    if (word == NULL)
        return invalid(cx, json_is_object(s) ? "a \"type\" that is not a string"
                                             : "a type that is not a string, "
                                               "an object or an array");
    if (json_is_array(s)) {
        for (size_t b = 0; b < json_array_size(s); b++) {
            /* A union directly inside a union is not Avro, but avro-c
             * reads it; the plan leaves it to avro-c. */
            int rc = check_schema(cx, json_array_get(s, b), ns, depth + 1);
            if (rc != 0)
                return rc;
        }
        return 0;
    }
    if (primitive_index(word) >= 0)
        return 0;
    if (json_is_string(s) || !is_keyword(word))
        return lookup(cx, word, ns) != NULL
                   ? 0
                   : invalid(cx, "the type '%s' is not defined", word);
    if (strcmp(word, "record") == 0 || strcmp(word, "error") == 0)
        return check_record(cx, s, ns, depth);
    if (strcmp(word, "array") == 0 || strcmp(word, "map") == 0) {
        json_t *inner = json_object_get(s, word[0] == 'a' ? "items" : "values");
        if (inner == NULL)
            return invalid(cx, "an %s without its %s", word,
                           word[0] == 'a' ? "items" : "values");
        return check_schema(cx, inner, ns, depth + 1);
    }
    char full[MAX_NAME_BYTES];
    const char *unused;
    int rc = define_named(cx, s, ns, full, &unused);
    if (rc != 0)
        return rc;
    if (strcmp(word, "fixed") == 0) {
        json_t *size = json_object_get(s, "size");
        if (!json_is_integer(size) || json_integer_value(size) < 0)
            return invalid(cx, "fixed '%s' has no valid size", full);
        return 0;
    }
    json_t *symbols = json_object_get(s, "symbols"); /* an enum */
    if (!json_is_array(symbols))
        return invalid(cx, "enum '%s' has no array of symbols", full);
    /* Symbols need only be strings: avro-c reads any, as files have it. */
    for (size_t i = 0; i < json_array_size(symbols); i++)
        if (!json_is_string(json_array_get(symbols, i)))
            return invalid(cx, "enum '%s' has a symbol that is not a string",
                           full);
    return 0;
}

/* The definition of a checked schema: what a name refers to, or s. */
static json_t *definition(schema_cx *cx, json_t *s, const char *ns)
{
    const char *word = type_word(s);
    if (word != NULL && !json_is_array(s) && !is_keyword(word)) {
        json_t *def = lookup(cx, word, ns);
        if (def != NULL)
            return def;
    }
    return s;
}

static avro_schema_t resolved(avro_schema_t s)
{
    while (s != NULL && avro_typeof(s) == AVRO_LINK)
        s = avro_schema_link_target(s);
    return s;
}

/* The wire type of a scalar avro-c type; WIRE_UNION for anything else. */
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

/* Fill sc from a checked, non-union definition.  0, NEEDS_AVROC for a
 * type the plan does not decode (records, arrays, maps), or NOMEM. */
static int compile_scalar(json_t *def, int kind, wire_scalar *sc)
{
    memset(sc, 0, sizeof *sc);
    const char *word = type_word(def);
    int p = primitive_index(word);
    if (p >= 0) {
        sc->type = primitive_wire[p];
        sc->int32 = strcmp(word, "int") == 0;
    } else if (strcmp(word, "fixed") == 0) {
        json_int_t size = json_integer_value(json_object_get(def, "size"));
        if (size > UINT32_MAX)
            return NEEDS_AVROC;
        sc->type = WIRE_FIXED;
        sc->fixed_size = (uint32_t)size;
    } else if (strcmp(word, "enum") == 0) {
        sc->type = WIRE_ENUM;
        json_t *symbols = json_object_get(def, "symbols");
        size_t n = json_array_size(symbols);
        if (n > INT32_MAX)
            return NEEDS_AVROC;
        if (n > 0) {
            sc->symbols = calloc(n, sizeof *sc->symbols);
            sc->symbol_lens = calloc(n, sizeof *sc->symbol_lens);
            if (sc->symbols == NULL || sc->symbol_lens == NULL)
                return NOMEM;
            sc->n_symbols = (uint32_t)n;
        }
        for (size_t i = 0; i < n; i++) {
            const char *sym = json_string_value(json_array_get(symbols, i));
            size_t len = strlen(sym);
            sc->symbols[i] = malloc(len + 1);
            if (sc->symbols[i] == NULL)
                return NOMEM;
            memcpy(sc->symbols[i], sym, len + 1);
            sc->symbol_lens[i] = len;
        }
    } else {
        sc->type = WIRE_UNION;
        return NEEDS_AVROC; /* records, arrays, maps */
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

static int compile_field(schema_cx *cx, json_t *type, const char *ns,
                         int target, field_op *op, size_t *min_bytes)
{
    int kind = target >= 0 ? profile_field_kinds[target] : -1;
    op->target = (int8_t)target;
    json_t *def = definition(cx, type, ns);
    if (!json_is_array(def)) {
        int rc = compile_scalar(def, kind, &op->scalar);
        *min_bytes += scalar_min_bytes(&op->scalar);
        return rc;
    }
    size_t n = json_array_size(def);
    if (n == 0 || n > PLAN_MAX_BRANCHES)
        return NEEDS_AVROC;
    op->is_union = 1;
    op->n_branches = (uint8_t)n;
    size_t smallest = SIZE_MAX;
    for (size_t b = 0; b < n; b++) {
        json_t *branch = definition(cx, json_array_get(def, b), ns);
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

/* Whether a compiled field can fill its target (a union: with one of its
 * non-null branches): record_plan_schema_delivers() for the plan. */
static int op_delivers(const field_op *op)
{
    if (!op->is_union)
        return op->scalar.type != WIRE_NULL && op->scalar.usable;
    for (uint8_t b = 0; b < op->n_branches; b++)
        if (op->branches[b].type != WIRE_NULL && op->branches[b].usable)
            return 1;
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

/* Whether op is field f as the table writes it. */
static int is_table_field(const field_op *op, int f)
{
    switch ((profile_wire)profile_field_wires[f]) {
    case PROFILE_WIRE_STRING:
        return is_scalar(op, f, WIRE_BYTES);
    case PROFILE_WIRE_DOUBLE:
        return is_scalar(op, f, WIRE_DOUBLE);
    case PROFILE_WIRE_INT:
        return is_scalar(op, f, WIRE_INT) && is_int32(op);
    case PROFILE_WIRE_ENUM:
        return is_scalar(op, f, WIRE_ENUM);
    case PROFILE_WIRE_OPTIONAL_LONG:
        return is_optional(op, f, WIRE_INT) && !is_int32(op);
    case PROFILE_WIRE_OPTIONAL_INT:
        return is_optional(op, f, WIRE_INT) && is_int32(op);
    case PROFILE_WIRE_OPTIONAL_STRING:
        return is_optional(op, f, WIRE_BYTES);
    }
    return 0;
}

/* The fast layouts: the Python original's six fields (a float runtime),
 * or daglib's -- the field table's first n fields, for any n from the
 * first C files' twelve on, so that files written before a field was
 * added keep the fast path. */
static plan_layout layout_of(const record_plan *plan)
{
    const field_op *op = plan->ops;
    if (plan->n_ops == PF_REQUIRED_COUNT) {
        for (int f = PF_DAG_NAME; f <= PF_TASK_DESCRIPTION; f++)
            if (!is_scalar(&op[f], f, WIRE_BYTES))
                return LAYOUT_OTHER;
        return is_scalar(&op[PF_TASK_RUNTIME], PF_TASK_RUNTIME, WIRE_FLOAT)
                   ? LAYOUT_ORIGINAL
                   : LAYOUT_OTHER;
    }
    if (plan->n_ops < PF_FIRST_DAGLIB_COUNT || plan->n_ops > PF_COUNT)
        return LAYOUT_OTHER;
    for (uint32_t f = 0; f < plan->n_ops; f++)
        if (!is_table_field(&op[f], (int)f))
            return LAYOUT_OTHER;
    return LAYOUT_DAGLIB;
}

int record_plan_compile(record_plan *plan, const char *json, size_t len,
                        char **why)
{
    memset(plan, 0, sizeof *plan);
    plan->selected_wanted = PLAN_NONE_SELECTED;
    *why = NULL;
    schema_cx cx = {NULL, NULL};
    int nomem = 0;
    const char *bad = NULL;
    json_t *schema = json_text_read(json, len, &nomem, &bad);
    int rc = 0;
    if (schema == NULL) {
        rc = nomem ? NOMEM : invalid(&cx, "%s", bad);
        goto done;
    }
    if ((cx.named = json_object()) == NULL) {
        rc = NOMEM;
        goto done;
    }
    const char *word = type_word(schema);
    if (word != NULL && strcmp(word, "record") != 0) {
        rc = check_schema(&cx, schema, NULL, 0);
        if (rc == 0) {
            cx.why = format_string(
                "not a daglib profile: the schema is a%s %s",
                strchr("aeiou", word[0]) ? "n" : "", word);
            rc = cx.why != NULL ? INVALID : NOMEM;
        }
        goto done;
    }
    if ((rc = check_schema(&cx, schema, NULL, 0)) != 0)
        goto done;
    /* The fields' namespace: the record's full name up to its last dot. */
    char ns[MAX_NAME_BYTES] = "";
    {
        const char *name = json_string_value(json_object_get(schema, "name"));
        const char *own = json_string_value(json_object_get(schema, "namespace"));
        if (strchr(name, '.') == NULL && own != NULL)
            snprintf(ns, sizeof ns, "%s", own);
        else if (strrchr(name, '.') != NULL)
            snprintf(ns, sizeof ns, "%.*s", (int)(strrchr(name, '.') - name), name);
    }
    json_t *fields = json_object_get(schema, "fields");
    size_t n = json_array_size(fields);
    plan->ops = calloc(n > 0 ? n : 1, sizeof *plan->ops);
    if (plan->ops == NULL) {
        rc = NOMEM;
        goto done;
    }
    plan->n_ops = (uint32_t)n;
    uint32_t present = 0, named = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *field = json_array_get(fields, i);
        const char *name = json_string_value(json_object_get(field, "name"));
        int target = target_of(name);
        if (target >= 0 && (present & PROFILE_FIELD_BIT(target)))
            target = -1; /* a repeated name: the first one counts */
        if (target >= 0)
            named |= PROFILE_FIELD_BIT(target);
        field_op *op = &plan->ops[i];
        int frc = compile_field(&cx, json_object_get(field, "type"), ns, target,
                                op, &plan->min_record_bytes);
        if (frc < 0) {
            rc = frc;
            goto done;
        }
        if (frc > 0)
            rc = 1; /* keep going: a missing required field still wins */
        else if (target >= 0 && op_delivers(op))
            present |= PROFILE_FIELD_BIT(target);
        else if (target >= 0)
            op->target = -1; /* unusable type: read as if absent */
    }
    for (int f = 0; f < PF_REQUIRED_COUNT; f++) {
        if (present & PROFILE_FIELD_BIT(f))
            continue;
        if (!(named & PROFILE_FIELD_BIT(f))) {
            cx.why = format_string("not a daglib profile: no field '%s'",
                                   profile_field_names[f]);
            rc = cx.why != NULL ? INVALID : NOMEM;
            goto done;
        }
        if (rc != 1) { /* a type avro-c could not make usable either */
            cx.why = format_string("not a daglib profile: field '%s' has an "
                                   "unusable type",
                                   profile_field_names[f]);
            rc = cx.why != NULL ? INVALID : NOMEM;
            goto done;
        }
    }
    plan->missing_mask = PROFILE_ALL_FIELDS & ~present;
    plan->layout = layout_of(plan);

done:
    json_decref(cx.named);
    json_decref(schema);
    if (rc < 0) {
        record_plan_free(plan);
        if (rc == NOMEM) {
            free(cx.why);
            cx.why = NULL;
        }
        *why = cx.why;
        return rc == NOMEM ? RECORD_PLAN_NOMEM : -1;
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

/* Each field's default as its schema JSON spells it, from the table:
 * null, a number, or a string without escapes; NULL for the original
 * fields, which have none (a file without them is refused). */
static const char *const field_defaults[PF_COUNT] = {
#define FIELD_DEFAULT_(id, name, wire, type, def, sql) [PF_##id] = def,
    PROFILE_FIELD_MAP(FIELD_DEFAULT_)
#undef FIELD_DEFAULT_
};

void profile_row_fill_defaults(uint32_t missing, profile_row *row)
{
    for (int f = 0; f < PF_COUNT; f++) {
        if (!(missing & PROFILE_FIELD_BIT(f)))
            continue;
        profile_cell *c = &row->cell[f];
        const char *def = field_defaults[f];
        if (f == PF_TASK) {
            *c = row->cell[PF_TASK_NAME]; /* the task is its own name */
        } else if (def == NULL || strcmp(def, "null") == 0) {
            c->kind = CELL_NULL;
        } else if (def[0] == '"') {
            c->kind = CELL_TEXT;
            c->u.text.p = def + 1;
            c->u.text.n = strlen(def) - 2;
        } else if (profile_field_kinds[f] == CELL_REAL) {
            c->kind = CELL_REAL;
            c->u.d = strtod(def, NULL);
        } else {
            c->kind = CELL_INT;
            c->u.i = strtoll(def, NULL, 10);
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

/* ["null", ...]: the branch; 1 when the value follows, 0 for a null. */
static inline int take_branch(const unsigned char **pp, const unsigned char *end,
                              profile_cell *cell, int keep, const char **why)
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
    return 1;
}

/* One field of daglib's layout, by its wire in the field table. */
static inline int take_STRING(const record_plan *plan, int f,
                              const unsigned char **pp, const unsigned char *end,
                              profile_cell *cell, int keep, const char **why)
{
    (void)plan, (void)f;
    return take_bytes(pp, end, cell, keep, why);
}

static inline int take_DOUBLE(const record_plan *plan, int f,
                              const unsigned char **pp, const unsigned char *end,
                              profile_cell *cell, int keep, const char **why)
{
    (void)plan, (void)f;
    if (end - *pp < 8) {
        *why = TRUNCATED;
        return -1;
    }
    if (keep) {
        cell->kind = CELL_REAL;
        cell->u.d = get_double(*pp);
    }
    *pp += 8;
    return 0;
}

static inline int take_INT(const record_plan *plan, int f,
                           const unsigned char **pp, const unsigned char *end,
                           profile_cell *cell, int keep, const char **why)
{
    (void)plan, (void)f;
    return take_int(pp, end, cell, keep, why);
}

static inline int take_ENUM(const record_plan *plan, int f,
                            const unsigned char **pp, const unsigned char *end,
                            profile_cell *cell, int keep, const char **why)
{
    const wire_scalar *sc = &plan->ops[f].scalar;
    int64_t symbol;
    if (varint_long(pp, end, &symbol) != 0) {
        *why = TRUNCATED;
        return -1;
    }
    if (symbol < 0 || (uint64_t)symbol >= sc->n_symbols) {
        *why = "an enum index is out of range";
        return -1;
    }
    if (keep) {
        cell->kind = CELL_TEXT;
        cell->u.text.p = sc->symbols[symbol];
        cell->u.text.n = sc->symbol_lens[symbol];
    }
    return 0;
}

/* ["null", x]: the branch, then x when it is there. */
#define TAKE_OPTIONAL_(wire, take_value)                                      \
    static inline int take_##wire(const record_plan *plan, int f,             \
                                  const unsigned char **pp,                   \
                                  const unsigned char *end,                   \
                                  profile_cell *cell, int keep,               \
                                  const char **why)                           \
    {                                                                         \
        (void)plan, (void)f;                                                  \
        int rc = take_branch(pp, end, cell, keep, why);                       \
        return rc <= 0 ? rc : take_value(pp, end, cell, keep, why);           \
    }
TAKE_OPTIONAL_(OPTIONAL_LONG, take_long)
TAKE_OPTIONAL_(OPTIONAL_INT, take_int)
TAKE_OPTIONAL_(OPTIONAL_STRING, take_bytes)
#undef TAKE_OPTIONAL_

#define WANTS(f) ((wanted & PROFILE_FIELD_BIT(f)) != 0)

/* daglib's layout (the field table's first n_ops fields) and the Python
 * original's: straight-line code made from the table, one call per
 * field, no per-field dispatch. */
static int decode_known_layout(const record_plan *plan,
                               const unsigned char **pp,
                               const unsigned char *end, uint32_t wanted,
                               profile_row *row, const char **why)
{
    const unsigned char *p = *pp;
    profile_cell *cell = row->cell;
    if (plan->layout == LAYOUT_ORIGINAL) {
        for (int f = PF_DAG_NAME; f <= PF_TASK_DESCRIPTION; f++)
            if (take_bytes(&p, end, &cell[f], WANTS(f), why) != 0)
                return -1;
        if (end - p < 4) {
            *why = TRUNCATED;
            return -1;
        }
        if (WANTS(PF_TASK_RUNTIME)) {
            cell[PF_TASK_RUNTIME].kind = CELL_REAL;
            cell[PF_TASK_RUNTIME].u.d = (double)get_float(p);
        }
        *pp = p + 4;
        return 0;
    }
    const uint32_t n = plan->n_ops;
#define TAKE_FIELD_(id, name, wire, type, def, sql)                           \
    if (PF_##id < n &&                                                        \
        take_##wire(plan, PF_##id, &p, end, &cell[PF_##id], WANTS(PF_##id),   \
                    why) != 0)                                                \
        return -1;
    PROFILE_FIELD_MAP(TAKE_FIELD_)
#undef TAKE_FIELD_
    *pp = p;
    return 0;
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
