/*
 * name_table.h -- task name -> task index, open addressing.
 *
 * Slots are 8 bytes (the hash and the index) so that the table of a
 * 100,000-task DAG stays around 2 MiB; the names themselves live with the
 * tasks, and a probe asks the caller to compare only when hashes match.
 * Names are never removed; the table is kept at most half full and probed
 * in steps of 65 slots (name_table.c says why).
 *
 * The hash keeps numbered names together.  A big DAG's names are mostly
 * generated -- "t0", "t1", ..., "cell 3 17", "step 17.out" -- and added
 * and referred to in order; with a hash spreading them at random every
 * insert and every lookup of a million-task DAG would be a cache miss in
 * a 16 MiB table.  So a name whose last number n ends it, or is followed
 * by at most 16 bytes, the first not a letter (a name of hex digits is
 * hashed whole), hashes to a random block of 64 slots, chosen by the
 * rest of the name and n / 64, at offset (n + turn) % 64, the turn chosen
 * with the block: names 64 apart share a block, and a run of consecutive
 * names walks through a few cache lines instead of a cache line each.
 * Blocks land at random, so unrelated names still spread; the turn
 * spreads names of one number and different text ("load users 2024",
 * "load orders 2024") over the offsets, which would otherwise all start
 * their probes at the same one, each probe going on where the others
 * went.
 */
#ifndef DAGLIB_NAME_TABLE_H
#define DAGLIB_NAME_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "cpu_hints.h"

typedef struct name_slot {
    uint32_t hash;
    uint32_t value; /* index + 1; 0 marks an empty slot */
} name_slot;

typedef struct name_table {
    name_slot *slots;
    uint32_t mask; /* capacity - 1; capacity is a power of two */
    uint32_t count;
} name_table;

/* Does the entry stored as value have this name? */
typedef int (*name_matches_fn)(const void *owner, uint32_t value,
                               const char *name, uint32_t len);

#define NAME_TABLE_INIT {NULL, 0, 0}
#define NAME_NOT_FOUND UINT32_MAX

uint32_t name_hash(const char *name, size_t len);

/* See name_table.c. */
#define NAME_PROBE_STEP 65u

/* Names whose numbers n have the same n / NAME_GROUP, and the rest of
 * the name the same, share a block of NAME_GROUP slots. */
#define NAME_GROUP_BITS 6
#define NAME_GROUP (1u << NAME_GROUP_BITS)

/* The turn of the offsets in a group's block: the hash's top bits, which
 * a table of up to 2^26 slots does not index by, so that the turn of one
 * block tells nothing of the next one's.  (Were it the block's number,
 * each block's first offset would be one further than the block's before,
 * as a probe's next slot is: the probes of all of one number would join
 * in one.) */
static inline uint32_t name_hash_turn(uint32_t hash)
{
    return hash >> (32 - NAME_GROUP_BITS);
}

/* Whether a name of this hash (name_hash()) can be the first of its
 * group: a numbered one is exactly when its offset is its block's turn. */
static inline int name_hash_is_groups_first(uint32_t hash)
{
    return (hash & (NAME_GROUP - 1)) == name_hash_turn(hash);
}

/* Names are mostly added in the order of their numbers, and the block of
 * the next group is a cache miss away.  For the first name of a group
 * (hash: name_hash(name, len)), the first slot of the next group's block,
 * to ask for NAME_GROUP names ahead; else NULL. */
const name_slot *name_table_next_group(const name_table *t, const char *name,
                                       size_t len, uint32_t hash);

/* After inserting name (hash: name_hash(name, len)): at the first name of
 * a group, ask for the next group's block, which the caller fills next. */
static inline void name_table_prefetch_next_group(const name_table *t,
                                                  const char *name,
                                                  size_t len, uint32_t hash)
{
    if (!name_hash_is_groups_first(hash)) /* without a call, 63 times in 64 */
        return;
    const name_slot *block = name_table_next_group(t, name, len, hash);
    if (block == NULL)
        return;
    for (size_t at = 0; at < sizeof *block * NAME_GROUP; at += 64)
        prefetch_for_writing((const char *)block + at);
}

/* Double the table (or make it); 0, or -1 when memory runs out. */
int name_table_grow(name_table *t);

/* Make room for `more` names beyond those stored, so that inserting them
 * grows nothing; 0, or -1 when memory runs out or the table would pass
 * 2^31 slots. */
int name_table_reserve(name_table *t, uint32_t more);

/* The two probes are inline, so that the caller's `matches` is inlined
 * into them: a call per compared name costs more than the compare. */

/* The value stored for name, or NAME_NOT_FOUND. */
static inline uint32_t name_table_find(const name_table *t, const char *name,
                                       uint32_t len, uint32_t hash,
                                       name_matches_fn matches,
                                       const void *owner)
{
    if (t->slots == NULL)
        return NAME_NOT_FOUND;
    for (uint32_t i = hash & t->mask;; i = (i + NAME_PROBE_STEP) & t->mask) {
        const name_slot *s = &t->slots[i];
        if (s->value == 0)
            return NAME_NOT_FOUND;
        if (s->hash == hash && matches(owner, s->value - 1, name, len))
            return s->value - 1;
    }
}

/* name_table_find() without its compares, for n names at once: for each
 * hash, the value stored in the first slot of its probe that holds the
 * hash -- a candidate for the caller to compare, and on a mismatch to
 * look up with name_table_find() -- or NAME_NOT_FOUND where the probe
 * ends first.  The first slot of every probe is asked of the memory
 * before any is read, and then the second of every probe that goes on,
 * so that in a table far bigger than the caches the lookups' misses
 * overlap instead of following one another. */
void name_table_candidates(const name_table *t, const uint32_t hashes[],
                           uint32_t n, uint32_t candidates[]);

/* Store name -> value unless name is present.  Returns value when stored,
 * the present value when name was there already, or NAME_NOT_FOUND when
 * memory runs out. */
static inline uint32_t name_table_insert(name_table *t, const char *name,
                                         uint32_t len, uint32_t hash,
                                         uint32_t value,
                                         name_matches_fn matches,
                                         const void *owner)
{
    if ((t->slots == NULL || t->count + 1 > (t->mask + 1) / 2) &&
        name_table_grow(t) != 0)
        return NAME_NOT_FOUND;
    uint32_t i = hash & t->mask;
    for (; t->slots[i].value != 0; i = (i + NAME_PROBE_STEP) & t->mask) {
        const name_slot *s = &t->slots[i];
        if (s->hash == hash && matches(owner, s->value - 1, name, len))
            return s->value - 1;
    }
    t->slots[i].hash = hash;
    t->slots[i].value = value + 1;
    t->count++;
    return value;
}

void name_table_free(name_table *t);

#endif
