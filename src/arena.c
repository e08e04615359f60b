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

/* size bytes at an address that is a multiple of align (a power of two). */
static void *arena_carve(arena *a, size_t size, size_t align)
{
    if (a->next != NULL) {
        uintptr_t at =
            ((uintptr_t)a->next + align - 1) & ~(uintptr_t)(align - 1);
        if (at <= (uintptr_t)a->end &&
            size <= (size_t)((uintptr_t)a->end - at)) {
            a->next = (char *)at + size;
            return (void *)at;
        }
    }
    /* A new chunk; its data is aligned for anything. */
    size_t data_bytes = size > ARENA_CHUNK_BYTES ? size : ARENA_CHUNK_BYTES;
    if (data_bytes > SIZE_MAX - sizeof(struct arena_chunk))
        return NULL;
    struct arena_chunk *c = malloc(sizeof *c + data_bytes);
    if (c == NULL)
        return NULL;
    c->next = a->chunks;
    a->chunks = c;
    a->next = c->data + size;
    a->end = c->data + data_bytes;
    return c->data;
}

void *arena_alloc(arena *a, size_t size)
{
    return arena_carve(a, size == 0 ? 1 : size, ARENA_ALIGN);
}

char *arena_strndup_any(arena *a, const char *s, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    char *copy = arena_carve(a, len + 1, 1); /* strings need no alignment */
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
