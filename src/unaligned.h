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

#endif
