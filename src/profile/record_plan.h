/*
 * record_plan.h -- decode daglib profiling records straight from block
 * bytes, following a plan compiled once per file from its header schema.
 *
 * The plan lists the writer's fields in the writer's order, each with how
 * to decode (or skip) it and which profile_field it fills, matched by name.
 * That is what lets every layout read: the Python original's six fields
 * with a float runtime, daglib's twelve, or a later writer's extra fields,
 * which are skipped.  Fields the file lacks keep their defaults.
 */
#ifndef DAGLIB_RECORD_PLAN_H
#define DAGLIB_RECORD_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "profile_row.h"

/* What one field (or union branch) is on the wire. */
typedef enum wire_type {
    WIRE_NULL,
    WIRE_BOOLEAN,
    WIRE_INT, /* int and long: a zig-zag varint */
    WIRE_FLOAT,
    WIRE_DOUBLE,
    WIRE_BYTES, /* string and bytes */
    WIRE_FIXED,
    WIRE_ENUM,
    WIRE_UNION
} wire_type;

#define PLAN_MAX_BRANCHES 8

/* One scalar: a field's type, or a union branch's. */
typedef struct wire_scalar {
    uint8_t type;       /* wire_type, never WIRE_UNION */
    uint8_t usable;     /* the value can fill the field's target */
    uint8_t int32;      /* WIRE_INT: an Avro int, at most 5 bytes */
    uint32_t fixed_size;
    char **symbols; /* WIRE_ENUM: the symbol names */
    size_t *symbol_lens;
    uint32_t n_symbols;
} wire_scalar;

typedef struct field_op {
    int8_t target;   /* profile_field, or -1: skipped */
    uint8_t is_union;
    uint8_t n_branches;
    wire_scalar scalar; /* when not a union */
    wire_scalar branches[PLAN_MAX_BRANCHES];
} field_op;

/* One step of a plan specialised for one `wanted` mask (see
 * record_plan_select): what to do with the next bytes, nothing else. */
typedef struct plan_step {
    uint8_t code;   /* step_code in record_plan.c */
    uint8_t target; /* the cell it fills, or PLAN_NO_TARGET */
    uint16_t n_branches;
    uint32_t arg; /* bytes to skip, symbols' count, first branch step,
                     or, for an integer, 1 when it is an Avro int */
    const wire_scalar *scalar; /* enum symbols */
} plan_step;

#define PLAN_NO_TARGET 0xff
/* No `wanted` mask has all bits set: none was selected yet. */
#define PLAN_NONE_SELECTED UINT32_MAX

/* Layouts with a decoder of their own, written out field by field: the
 * ones daglib and the Python original write, i.e. nearly every file. */
typedef enum plan_layout {
    LAYOUT_OTHER,   /* the steps, or the general path */
    LAYOUT_DAGLIB,  /* src/profile/profile_schema.c's twelve fields */
    LAYOUT_ORIGINAL /* the Python original's six, runtime a float */
} plan_layout;

typedef struct record_plan {
    field_op *ops;
    uint32_t n_ops;
    plan_layout layout;
    /* The steps for selected_wanted (PLAN_NONE_SELECTED at first): one
     * per field, then the union branches' steps; NULL for the layouts
     * with a decoder of their own. */
    plan_step *steps;
    uint32_t selected_wanted;
    /* Fields the file does not have, with their defaults. */
    uint32_t missing_mask;
    /* Smallest size of a record on the wire, to bound a block's count. */
    size_t min_record_bytes;
} record_plan;

/* The cell kind each field is delivered as. */
extern const uint8_t profile_field_kinds[PF_COUNT];

/* record_plan_compile()'s answer when memory ran out. */
#define RECORD_PLAN_NOMEM (-2)

/* Compile the plan from the writer's schema JSON (parsed with jansson,
 * never avro-c).  0 on success; 1 when the schema is a valid daglib
 * profile this plan cannot decode (the caller may then give it to
 * avro-c); -1 when it is not a daglib profile or not a valid schema, with
 * *why (malloc'd) saying so; RECORD_PLAN_NOMEM when memory ran out
 * (*why NULL). */
int record_plan_compile(record_plan *plan, const char *json, size_t len,
                        char **why);

void record_plan_free(record_plan *plan);

/* Whether a field of Avro schema s can fill a field delivered as `kind`
 * (a union: with one of its non-null branches).  The rule both engines
 * match fields by: the first field of a name that can is read, a field
 * that cannot reads as absent, with its default. */
struct avro_obj_t;
int record_plan_schema_delivers(struct avro_obj_t *s, int kind);

/* Set the fields in the `missing` mask to the defaults of a file that
 * lacks them (the field table's: status "ok", attempts 1, host "", the
 * others NULL), but task to the row's task_name, which must be decoded:
 * a task that was not mapped is its own name. */
void profile_row_fill_defaults(uint32_t missing, profile_row *row);

/* Specialise the plan for the fields in `wanted`, so that decoding with
 * that mask runs straight-line steps instead of asking, field by field,
 * whether and how to keep it.  0, or -1 when memory runs out (decoding
 * then takes the general path, with the same results). */
int record_plan_select(record_plan *plan, uint32_t wanted);

/* Decode one record from *p (advanced past it), not beyond end.  0, or -1
 * when the record runs past end or holds something malformed (*why points
 * to a static message).  Fastest with the mask last selected. */
int record_plan_decode(const record_plan *plan, const unsigned char **p,
                       const unsigned char *end, uint32_t wanted,
                       profile_row *row, const char **why);

#endif
