/*
 * test_craft.h -- Avro container files written byte by byte, for tests
 * that need what no writer makes: damaged blocks, odd headers, schemas
 * avro-c would refuse to write.  Independent of the library's writer.
 */
#ifndef DAGLIB_TEST_CRAFT_H
#define DAGLIB_TEST_CRAFT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

typedef struct bytes {
    unsigned char *p;
    size_t n, cap;
} bytes;

static inline void put(bytes *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (b->cap - b->n < n) {
        b->cap = (b->cap + n) * 2;
        b->p = realloc(b->p, b->cap);
        CHECK(b->p != NULL);
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static inline void put_long(bytes *b, int64_t v)
{
    unsigned char buf[10];
    put(b, buf, test_avro_varint(buf, v));
}

static inline void put_str(bytes *b, const char *s)
{
    put_long(b, (int64_t)strlen(s));
    put(b, s, strlen(s));
}

static inline void put_double(bytes *b, double d)
{
    unsigned char le[8];
    uint64_t bits;
    memcpy(&bits, &d, 8);
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)(bits >> (8 * i));
    put(b, le, 8);
}

static const unsigned char crafted_sync[16] = "0123456789abcdef";

static inline void put_header(bytes *b, const char *schema, const char *codec)
{
    put(b, "Obj\x01", 4);
    put_long(b, 2);
    put_str(b, "avro.schema");
    put_str(b, schema);
    put_str(b, "avro.codec");
    put_str(b, codec);
    put_long(b, 0);
    put(b, crafted_sync, 16);
}

/* Write a crafted file to path, and free its bytes. */
static inline void write_crafted(const char *path, bytes *file)
{
    test_write_file(path, file->p, file->n);
    free(file->p);
    file->p = NULL;
}

#endif
