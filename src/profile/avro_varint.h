/*
 * avro_varint.h -- Avro's zig-zag varints, encoded and decoded in memory.
 *
 * One place for the rule the writer (profile_file.c) writes numbers by
 * and both the container framing (avro_container.c) and the record
 * decoder (record_plan.c) read them by: a long takes at most 10 bytes, an
 * int at most 5 (as avro-c reads them, keeping the low 32 bits), and
 * nothing is read at or past `end`.  The encoder needs room for
 * VARINT_LONG_BYTES whatever the number, ints too.
 *
 * The decoders return VARINT_OK with *pp advanced past the number,
 * VARINT_SHORT when the bytes end inside it, or VARINT_BAD when it is
 * longer than its type allows; *pp is left alone unless it is VARINT_OK.
 */
#ifndef DAGLIB_AVRO_VARINT_H
#define DAGLIB_AVRO_VARINT_H

#include <stdint.h>

#include "unaligned.h"

enum { VARINT_OK = 0, VARINT_SHORT = 1, VARINT_BAD = -1 };

#define VARINT_LONG_BYTES 10
#define VARINT_INT_BYTES 5

/* z's first eight groups of seven bits, one to a byte of a word (bytes
 * in the little-endian order), at once rather than one dependent shift
 * and store per byte. */
static inline uint64_t varint_spread(uint64_t z)
{
    return (z & 0x7f) | (z << 1 & 0x7f00) | (z << 2 & 0x7f0000) |
           (z << 3 & 0x7f000000) | (z << 4 & 0x7f00000000) |
           (z << 5 & 0x7f0000000000) | (z << 6 & 0x7f000000000000) |
           (z << 7 & 0x7f00000000000000);
}

/* Write v at p, which has room for VARINT_LONG_BYTES (bytes past the
 * number's own may be written too); returns the end of the number. */
static inline unsigned char *varint_put_long(unsigned char *p, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (0 - ((uint64_t)v >> 63));
    if (z < 0x80) {
        *p = (unsigned char)z;
        return p + 1;
    }
#if defined(__GNUC__) && defined(__BYTE_ORDER__) &&                          \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (z < (uint64_t)1 << 56) {
        /* Up to eight groups of seven bits (a timestamp takes eight). */
        unsigned bytes = (unsigned)(64 - __builtin_clzll(z) + 6) / 7;
        uint64_t more = 0x8080808080808080u &
                        (((uint64_t)1 << (8 * (bytes - 1))) - 1);
        store_u64(p, varint_spread(z) | more);
        return p + bytes;
    }
#endif
    while (z >= 0x80) {
        *p++ = (unsigned char)(z | 0x80);
        z >>= 7;
    }
    *p++ = (unsigned char)z;
    return p;
}

/* The 8 bytes of v's varint as a word to store in the machine's order,
 * when it takes exactly 8 (zig-zagged, from 2^49 to 2^56): 1 then, else
 * 0 (always on a big-endian machine). */
static inline int varint_word8(int64_t v, uint64_t *word)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t z = ((uint64_t)v << 1) ^ (0 - ((uint64_t)v >> 63));
    if (z >> 49 == 0 || z >> 56 != 0)
        return 0;
    *word = varint_spread(z) | 0x0080808080808080u;
    return 1;
#else
    (void)v, (void)word;
    return 0;
#endif
}

static inline int varint_long(const unsigned char **pp, const unsigned char *end,
                              int64_t *out)
{
    const unsigned char *p = *pp;
    if (p < end && *p < 0x80) { /* most numbers in a profile fit in a byte */
        *out = (int64_t)(*p >> 1) ^ -(int64_t)(*p & 1);
        *pp = p + 1;
        return VARINT_OK;
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < VARINT_LONG_BYTES; i++) {
        if (p == end)
            return VARINT_SHORT;
        unsigned char b = *p++;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
            *pp = p;
            return VARINT_OK;
        }
    }
    return VARINT_BAD;
}

static inline int varint_int(const unsigned char **pp, const unsigned char *end,
                             int64_t *out)
{
    const unsigned char *p = *pp;
    uint32_t v = 0;
    for (unsigned i = 0; i < VARINT_INT_BYTES; i++) {
        if (p == end)
            return VARINT_SHORT;
        unsigned char b = *p++;
        v |= (uint32_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = (int32_t)((v >> 1) ^ (0u - (v & 1)));
            *pp = p;
            return VARINT_OK;
        }
    }
    return VARINT_BAD;
}

/* Step over a long whose value nobody wants: the bytes varint_long()
 * accepts, without assembling them. */
static inline int varint_skip_long(const unsigned char **pp,
                                   const unsigned char *end)
{
    const unsigned char *p = *pp;
    for (unsigned i = 0; i < VARINT_LONG_BYTES; i++) {
        if (p == end)
            return VARINT_SHORT;
        if (!(*p++ & 0x80)) {
            *pp = p;
            return VARINT_OK;
        }
    }
    return VARINT_BAD;
}

#endif
