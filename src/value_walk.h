/*
 * value_walk.h -- an explicit stack for walking nested lists without
 * recursion, so that how deep lists nest is limited by memory, never by
 * the C stack.  Used by copying and comparing (value.c) and printing
 * (value_print.c).
 *
 * The first WALK_INLINE_FRAMES frames live inside the walk_stack, on the
 * caller's C stack: walking ordinary data allocates nothing.  Deeper
 * nesting moves the frames to the heap.  A walk_stack points into itself,
 * so it must not be moved between walk_init() and walk_free().
 */
#ifndef DAGLIB_VALUE_WALK_H
#define DAGLIB_VALUE_WALK_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "value.h"

#define WALK_INLINE_FRAMES 32

typedef struct walk_frame {
    const daglib_value *list; /* the list being walked */
    size_t next;              /* index of its next item to visit */
    union {
        const daglib_value *other; /* comparing: the list it is compared to */
        daglib_value *copy;        /* copying: the list being filled */
    } with;
} walk_frame;

typedef struct walk_stack {
    walk_frame *frames;
    size_t depth;
    size_t capacity;
    walk_frame inline_frames[WALK_INLINE_FRAMES];
} walk_stack;

static inline void walk_init(walk_stack *w)
{
    w->frames = w->inline_frames;
    w->depth = 0;
    w->capacity = WALK_INLINE_FRAMES;
}

static inline void walk_free(walk_stack *w)
{
    if (w->frames != w->inline_frames)
        free(w->frames);
    walk_init(w);
}

static inline int walk_grow(walk_stack *w)
{
    if (w->capacity > SIZE_MAX / 2 / sizeof(walk_frame))
        return 0;
    size_t capacity = w->capacity * 2;
    walk_frame *frames;
    if (w->frames == w->inline_frames) {
        frames = malloc(capacity * sizeof *frames);
        if (frames != NULL)
            memcpy(frames, w->inline_frames, w->depth * sizeof *frames);
    } else {
        frames = realloc(w->frames, capacity * sizeof *frames);
    }
    if (frames == NULL)
        return 0;
    w->frames = frames;
    w->capacity = capacity;
    return 1;
}

/* A new top frame for list, its walk starting at item 0; NULL when memory
 * runs out.  Pushing may move the frames: pointers to older ones die. */
static inline walk_frame *walk_push(walk_stack *w, const daglib_value *list)
{
    if (w->depth == w->capacity && !walk_grow(w))
        return NULL;
    walk_frame *f = &w->frames[w->depth++];
    f->list = list;
    f->next = 0;
    f->with.other = NULL;
    return f;
}

static inline walk_frame *walk_top(walk_stack *w)
{
    return &w->frames[w->depth - 1];
}

static inline void walk_pop(walk_stack *w)
{
    w->depth--;
}

#endif
