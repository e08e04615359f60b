/*
 * name_table.h -- task name -> task index, open addressing.
 *
 * Keys are borrowed (they live in the DAG's arena) and never removed, so
 * the table is a flat array of slots probed linearly, kept at most half
 * full.  The full hash is stored in the slot so that a probe compares
 * strings only when hashes match.
 */
#ifndef DAGLIB_NAME_TABLE_H
#define DAGLIB_NAME_TABLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct name_slot {
    const char *name; /* NULL: empty slot */
    uint32_t len;
    uint32_t hash;
    uint32_t value;
} name_slot;

typedef struct name_table {
    name_slot *slots;
    uint32_t mask;  /* capacity - 1; capacity is a power of two */
    uint32_t count;
} name_table;

#define NAME_TABLE_INIT {NULL, 0, 0}
#define NAME_NOT_FOUND UINT32_MAX

uint32_t name_hash(const char *name, size_t len);

/* The value stored for name, or NAME_NOT_FOUND. */
uint32_t name_table_find(const name_table *t, const char *name, uint32_t len,
                         uint32_t hash);

/* Store name -> value; name must not be present and must outlive the table.
 * 0 on success, -1 when memory runs out. */
int name_table_insert(name_table *t, const char *name, uint32_t len,
                      uint32_t hash, uint32_t value);

void name_table_free(name_table *t);

#endif
