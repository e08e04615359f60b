/*
 * arena.h -- a bump allocator for what lives exactly as long as its DAG.
 *
 * Task names, descriptions and task structs are many, small, and all freed
 * together with the DAG; one malloc per 64 KiB instead of one per string
 * keeps building a 100,000-task graph cheap.  Pointers stay valid until
 * arena_free().
 */
#ifndef DAGLIB_ARENA_H
#define DAGLIB_ARENA_H

#include <stddef.h>

struct arena_chunk;

typedef struct arena {
    struct arena_chunk *chunks; /* newest first */
    char *next;                 /* free space in the newest chunk */
    char *end;
} arena;

#define ARENA_INIT {NULL, NULL, NULL}

/* size bytes aligned for any object, or NULL when memory runs out. */
void *arena_alloc(arena *a, size_t size);

/* A NUL-terminated copy of s[0..len), or NULL when memory runs out. */
char *arena_strndup(arena *a, const char *s, size_t len);

/* Free every chunk; the arena is empty and usable again. */
void arena_free(arena *a);

#endif
