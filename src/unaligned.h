/*
 * unaligned.h -- loads and stores of 4 and 8 bytes at any address.
 *
 * Short strings (task names, most Avro strings) are compared, hashed and
 * copied as one or two overlapping words instead of byte by byte or
 * through a call; memcpy of a constant size compiles to one move.
 */
#ifndef DAGLIB_UNALIGNED_H
#define DAGLIB_UNALIGNED_H

#include <stdint.h>
#include <string.h>

static inline uint64_t load_u64(const void *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

static inline uint32_t load_u32(const void *p)
{
    uint32_t w;
    memcpy(&w, p, 4);
    return w;
}

static inline void store_u64(void *p, uint64_t w) { memcpy(p, &w, 8); }

static inline void store_u32(void *p, uint32_t w) { memcpy(p, &w, 4); }

/* memcpy for the few bytes of a name, without a call: two overlapping
 * loads and stores cover any length from 4 to 16. */
static inline void copy_short(void *to, const void *from, size_t n)
{
    unsigned char *d = to;
    const unsigned char *s = from;
    if (n > 16) {
        memcpy(d, s, n);
    } else if (n >= 8) { /* both loads before the stores: they overlap */
        uint64_t head = load_u64(s), tail = load_u64(s + n - 8);
        store_u64(d, head);
        store_u64(d + n - 8, tail);
    } else if (n >= 4) {
        uint32_t head = load_u32(s), tail = load_u32(s + n - 4);
        store_u32(d, head);
        store_u32(d + n - 4, tail);
    } else {
        for (size_t i = 0; i < n; i++)
            d[i] = s[i];
    }
}

#endif
