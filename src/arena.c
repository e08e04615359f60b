/*
 * arena.c -- chunks of at least ARENA_CHUNK_BYTES, carved front to back.
 * A request larger than a chunk gets a chunk of its own.
 */
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define ARENA_CHUNK_BYTES (64 * 1024)
#define ARENA_ALIGN alignof(max_align_t)

struct arena_chunk {
    struct arena_chunk *next;
    alignas(max_align_t) char data[];
};

static size_t round_up(size_t n)
{
    return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

void *arena_alloc(arena *a, size_t size)
{
    size = round_up(size == 0 ? 1 : size);
    if (size > (size_t)(a->end - a->next) || a->next == NULL) {
        size_t data_bytes = size > ARENA_CHUNK_BYTES ? size : ARENA_CHUNK_BYTES;
        if (data_bytes > SIZE_MAX - sizeof(struct arena_chunk))
            return NULL;
        struct arena_chunk *c = malloc(sizeof *c + data_bytes);
        if (c == NULL)
            return NULL;
        c->next = a->chunks;
        a->chunks = c;
        a->next = c->data;
        a->end = c->data + data_bytes;
    }
    void *p = a->next;
    a->next += size;
    return p;
}

char *arena_strndup(arena *a, const char *s, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    char *copy = arena_alloc(a, len + 1);
    if (copy != NULL) {
        memcpy(copy, s, len);
        copy[len] = '\0';
    }
    return copy;
}

void arena_free(arena *a)
{
    struct arena_chunk *c = a->chunks;
    while (c != NULL) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->chunks = NULL;
    a->next = a->end = NULL;
}
