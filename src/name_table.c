/*
 * name_table.c -- see name_table.h.
 */
#include <stdlib.h>
#include <string.h>

#include "name_table.h"

/* Eight bytes at a time, multiply-xorshift mixing: names are short, and the
 * table only needs a good spread of the low bits. */
uint32_t name_hash(const char *name, size_t len)
{
    const uint64_t k = 0x9E3779B97F4A7C15ull;
    uint64_t h = len * k;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, name, 8);
        h = (h ^ w) * k;
        h ^= h >> 29;
        name += 8;
        len -= 8;
    }
    if (len > 0) {
        uint64_t w = 0;
        memcpy(&w, name, len);
        h = (h ^ w) * k;
    }
    h ^= h >> 32;
    h *= k;
    return (uint32_t)(h >> 32);
}

uint32_t name_table_find(const name_table *t, const char *name, uint32_t len,
                         uint32_t hash)
{
    if (t->slots == NULL)
        return NAME_NOT_FOUND;
    for (uint32_t i = hash & t->mask;; i = (i + 1) & t->mask) {
        const name_slot *s = &t->slots[i];
        if (s->name == NULL)
            return NAME_NOT_FOUND;
        if (s->hash == hash && s->len == len && memcmp(s->name, name, len) == 0)
            return s->value;
    }
}

static void place(name_slot *slots, uint32_t mask, const name_slot *entry)
{
    uint32_t i = entry->hash & mask;
    while (slots[i].name != NULL)
        i = (i + 1) & mask;
    slots[i] = *entry;
}

static int grow(name_table *t)
{
    uint32_t capacity = t->slots == NULL ? 64 : (t->mask + 1) * 2;
    if (capacity == 0)
        return -1;
    name_slot *slots = calloc(capacity, sizeof *slots);
    if (slots == NULL)
        return -1;
    if (t->slots != NULL) {
        for (uint32_t i = 0; i <= t->mask; i++)
            if (t->slots[i].name != NULL)
                place(slots, capacity - 1, &t->slots[i]);
        free(t->slots);
    }
    t->slots = slots;
    t->mask = capacity - 1;
    return 0;
}

int name_table_insert(name_table *t, const char *name, uint32_t len,
                      uint32_t hash, uint32_t value)
{
    if ((t->slots == NULL || t->count + 1 > (t->mask + 1) / 2) && grow(t) != 0)
        return -1;
    name_slot entry = {name, len, hash, value};
    place(t->slots, t->mask, &entry);
    t->count++;
    return 0;
}

void name_table_free(name_table *t)
{
    free(t->slots);
    t->slots = NULL;
    t->mask = 0;
    t->count = 0;
}
