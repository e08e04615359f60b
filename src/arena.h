/*
 * arena.h -- a bump allocator for what lives exactly as long as its DAG
 * (big_array.h has the DAG's big arrays).
 *
 * Task names, descriptions and task extras are many, small, and all freed
 * together with the DAG; one malloc per 64 KiB instead of one per string
 * keeps building a big graph cheap.  Pointers stay valid until
 * arena_free().
 */
#ifndef DAGLIB_ARENA_H
#define DAGLIB_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "unaligned.h"

struct arena_chunk;

typedef struct arena {
    struct arena_chunk *chunks; /* newest first */
    char *next;                 /* free space in the newest chunk */
    char *end;
} arena;

#define ARENA_INIT {NULL, NULL, NULL}

/* size bytes aligned for any object, or NULL when memory runs out. */
void *arena_alloc(arena *a, size_t size);

/* arena_strndup() for any string; see below. */
char *arena_strndup_any(arena *a, const char *s, size_t len);

/* A NUL-terminated copy of s[0..len), or NULL when memory runs out.  Most
 * strings (task names) are short and fit the newest chunk: copied as two
 * overlapping words, without a call. */
static inline char *arena_strndup(arena *a, const char *s, size_t len)
{
    if (a->next == NULL || len >= (size_t)(a->end - a->next))
        return arena_strndup_any(a, s, len);
    char *copy = a->next;
    a->next += len + 1;
    copy_short(copy, s, len);
    copy[len] = '\0';
    return copy;
}

/* Free every chunk; the arena is empty and usable again. */
void arena_free(arena *a);

#endif
