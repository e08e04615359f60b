/*
 * name_table.c -- see name_table.h.
 */
#include <stdlib.h>
#include <string.h>

#include "big_array.h"
#include "name_table.h"
#include "unaligned.h"

/* MurmurHash3's 64-bit finaliser: every input bit reaches every output
 * bit, so the low bits the table uses are well spread. */
static uint64_t fmix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ull;
    x ^= x >> 33;
    return x;
}

/* Names of up to eight bytes (most are) are packed exactly into one word
 * with at most two overlapping loads, no byte loop; longer names are
 * folded eight bytes at a time. */
static uint32_t hash_bytes(const char *name, size_t len, uint64_t seed)
{
    uint64_t h = (len + seed) * 0x9E3779B97F4A7C15ull;
    if (len > 8) {
        const char *p = name;
        size_t left = len;
        while (left > 8) {
            h = fmix64(h ^ load_u64(p));
            p += 8;
            left -= 8;
        }
        return (uint32_t)fmix64(h ^ load_u64(name + len - 8));
    }
    uint64_t word;
    if (len >= 4) {
        word = load_u32(name) | (uint64_t)load_u32(name + len - 4) << 32;
    } else if (len > 0) {
        word = (uint64_t)(unsigned char)name[0] << 16 |
               (uint64_t)(unsigned char)name[len / 2] << 8 |
               (unsigned char)name[len - 1];
    } else {
        word = 0;
    }
    return (uint32_t)fmix64(h ^ word);
}

/* Names with a number are hashed as (the rest, number / GROUP), the
 * number's low bits, turned, the offset in the block (see name_table.h). */
#define GROUP_BITS NAME_GROUP_BITS
/* From a taken slot a probe moves to the next block, one slot further on:
 * two groups landing on one block then fill two blocks side by side, where
 * a step of one would make the second group walk through the first.  The
 * step is odd, so a probe visits every slot of the (power-of-two) table. */
_Static_assert(NAME_PROBE_STEP == (1u << GROUP_BITS) + 1,
               "a probe steps one block and one slot");
#define NUMBER_DIGITS_MAX 9 /* below 10^9: fits in 30 bits */
/* A name's number is its last one, within this many bytes of its end and
 * followed by a byte that is not a letter: "t17", "cell 3 17", "step
 * 17.out", "t17_x", not the "9e3" of "n9e3b" (hex, hashed whole). */
#define NUMBER_SUFFIX_MAX 16

/* Where a name's number is: name[at, at + digits) makes `value` (digits
 * 0: the name has none). */
typedef struct name_number {
    size_t at, digits;
    uint32_t value;
} name_number;

static int is_digit(char c)
{
    return (unsigned)((unsigned char)c - '0') <= 9;
}

/* The number that ends name[0..end) (its last NUMBER_DIGITS_MAX digits
 * at most). */
static name_number number_ending(const char *name, size_t end)
{
    size_t digits = 0;
    uint32_t value = 0, scale = 1;
    while (digits < end && digits < NUMBER_DIGITS_MAX) {
        unsigned d = (unsigned char)name[end - 1 - digits] - '0';
        if (d > 9)
            break;
        value += d * scale;
        scale *= 10;
        digits++;
    }
    return (name_number){end - digits, digits, value};
}

static int is_letter(char c)
{
    return (unsigned)(((unsigned char)c | 0x20) - 'a') < 26;
}

/* The same for a name that does not end in a digit: its last number, if
 * no more than NUMBER_SUFFIX_MAX bytes follow it, the first not a letter.
 * Apart, so that the names ending in their numbers, most, take no more
 * than a look at their last byte for it. */
static __attribute__((noinline)) name_number
number_before_suffix(const char *name, size_t len)
{
    size_t end = len;
    while (end > 0 && !is_digit(name[end - 1])) {
        if (len - end == NUMBER_SUFFIX_MAX)
            return (name_number){0, 0, 0};
        end--;
    }
    if (end == 0 || is_letter(name[end]))
        return (name_number){0, 0, 0};
    return number_ending(name, end);
}

static name_number last_number(const char *name, size_t len)
{
    if (len > 0 && is_digit(name[len - 1]))
        return number_ending(name, len);
    return number_before_suffix(name, len);
}

static __attribute__((noinline)) uint64_t suffix_seed(const char *suffix,
                                                      size_t len)
{
    return (uint64_t)hash_bytes(suffix, len, 0) << 32;
}

/* The hash of group `group` of the names that are the name's bytes
 * around its number and a number: it chooses the group's block, and
 * GROUP_BITS of its top bits the turn of the offsets in it
 * (name_table.h). */
static uint32_t group_hash(const char *name, size_t len, const name_number *n,
                           uint32_t group)
{
    size_t after = n->at + n->digits;
    uint64_t seed = group; /* a name ending in its number: the rest alone */
    if (after < len)
        seed ^= suffix_seed(name + after, len - after);
    return hash_bytes(name, n->at, seed);
}

const name_slot *name_table_next_group(const name_table *t, const char *name,
                                       size_t len, uint32_t hash)
{
    if (!name_hash_is_groups_first(hash) || t->slots == NULL)
        return NULL;
    name_number n = last_number(name, len);
    if (n.digits == 0)
        return NULL;
    uint32_t next = group_hash(name, len, &n, (n.value >> GROUP_BITS) + 1);
    return &t->slots[(next << GROUP_BITS) & t->mask];
}

/* name_hash() of a numbered name: in line in name_hash(), where a call
 * took 25 instructions a name more. */
static inline __attribute__((always_inline)) uint32_t
numbered_hash(const char *name, size_t len, const name_number *n)
{
    uint32_t group = group_hash(name, len, n, n->value >> GROUP_BITS) << GROUP_BITS;
    return group | ((n->value + name_hash_turn(group)) & (NAME_GROUP - 1));
}

static __attribute__((noinline)) uint32_t
hash_not_ending_in_a_digit(const char *name, size_t len)
{
    name_number n = number_before_suffix(name, len);
    return n.digits > 0 ? numbered_hash(name, len, &n) : hash_bytes(name, len, 0);
}

uint32_t name_hash(const char *name, size_t len)
{
    if (len == 0 || !is_digit(name[len - 1]))
        return hash_not_ending_in_a_digit(name, len);
    name_number n = number_ending(name, len);
    return numbered_hash(name, len, &n);
}

void name_table_candidates(const name_table *t, const uint32_t hashes[],
                           uint32_t n, uint32_t candidates[])
{
    if (t->slots == NULL) {
        for (uint32_t i = 0; i < n; i++)
            candidates[i] = NAME_NOT_FOUND;
        return;
    }
    for (uint32_t i = 0; i < n; i++)
        __builtin_prefetch(&t->slots[hashes[i] & t->mask]);
    /* A probe that goes on past its first slot (a quarter of them, in a
     * table a quarter full) goes on one block further. */
    for (uint32_t i = 0; i < n; i++) {
        const name_slot *first = &t->slots[hashes[i] & t->mask];
        if (first->value != 0 && first->hash != hashes[i])
            __builtin_prefetch(
                &t->slots[((hashes[i] & t->mask) + NAME_PROBE_STEP) & t->mask]);
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t at = hashes[i] & t->mask;
        while (t->slots[at].value != 0 && t->slots[at].hash != hashes[i])
            at = (at + NAME_PROBE_STEP) & t->mask;
        candidates[i] = t->slots[at].value - 1; /* 0: NAME_NOT_FOUND */
    }
}

/* Move the names into a table of `capacity` slots (a power of two, at
 * least twice the names). */
static int resize(name_table *t, uint32_t capacity)
{
    name_slot *slots = big_alloc(capacity, sizeof *slots);
    if (slots == NULL)
        return -1;
    if (t->slots != NULL) {
        for (uint32_t i = 0; i <= t->mask; i++) {
            if (t->slots[i].value == 0)
                continue;
            uint32_t j = t->slots[i].hash & (capacity - 1);
            while (slots[j].value != 0)
                j = (j + NAME_PROBE_STEP) & (capacity - 1);
            slots[j] = t->slots[i];
        }
        big_free(t->slots);
    }
    t->slots = slots;
    t->mask = capacity - 1;
    return 0;
}

int name_table_grow(name_table *t)
{
    uint32_t capacity = t->slots == NULL ? 64 : (t->mask + 1) * 2;
    return capacity == 0 ? -1 : resize(t, capacity);
}

int name_table_reserve(name_table *t, uint32_t more)
{
    uint64_t names = (uint64_t)t->count + more;
    uint64_t capacity = t->slots == NULL ? 64 : (uint64_t)t->mask + 1;
    while (capacity / 2 < names)
        capacity *= 2;
    if (capacity > (uint64_t)1 << 31)
        return -1;
    if (t->slots != NULL && capacity == (uint64_t)t->mask + 1)
        return 0;
    return resize(t, (uint32_t)capacity);
}

void name_table_free(name_table *t)
{
    big_free(t->slots);
    t->slots = NULL;
    t->mask = 0;
    t->count = 0;
}
