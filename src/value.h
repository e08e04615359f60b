/*
 * value.h -- the layout of daglib_value and the in-place operations the
 * scheduler uses on it.
 *
 * A value is 24 bytes: a type tag, flags, and a 16-byte payload.  The
 * scheduler keeps each task's result inline in the task's run state, so a
 * task returning an integer allocates nothing; heap-allocated daglib_value
 * shells exist only at the public API edge (daglib_value_new_*).  List items
 * are inline values too, so a list of n integers is one allocation.
 *
 * Invariant: a value is either NULL-typed with no payload, or owns its
 * payload unless a flag says otherwise (VALUE_STATIC, VALUE_SHALLOW).
 */
#ifndef DAGLIB_VALUE_H
#define DAGLIB_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "daglib.h"

struct pointer_box; /* refcounted pointer + destructor, defined in value.c */

struct daglib_value {
    uint8_t type;      /* daglib_type */
    uint8_t flags;     /* VALUE_* below */
    uint32_t capacity; /* allocated items of a LIST */
    union {
        int64_t i;
        double d;
        struct {
            char *bytes; /* TEXT: always NUL-terminated; BLOB: may be NULL */
            size_t len;
        } str;
        struct {
            daglib_value *items;
            size_t count;
        } list;
        struct pointer_box *box;
    } u;
};

/* The bytes of a TEXT/BLOB belong to someone else and outlive the value
 * (DAGLIB_STATIC): clearing does not free them. */
#define VALUE_STATIC 0x01u
/* A LIST whose items are shallow views of values owned elsewhere (the
 * argument of a joining task): clearing frees the item array only. */
#define VALUE_SHALLOW 0x02u
/* A LIST that prints as a tuple, "(a, b)": several finals of a run. */
#define VALUE_TUPLE 0x04u

/* Make *v a NULL value without looking at what it held. */
static inline void value_init(daglib_value *v)
{
    v->type = DAGLIB_NULL;
    v->flags = 0;
    v->capacity = 0;
    v->u.list.items = NULL; /* the whole payload, both words */
    v->u.list.count = 0;
}

/* Release what *v owns and leave it NULL. */
void value_clear(daglib_value *v);

/* Move *src into *dst (which must hold nothing) and leave *src NULL. */
static inline void value_move(daglib_value *dst, daglib_value *src)
{
    *dst = *src;
    value_init(src);
}

/* Deep-copy *src into *dst (which must hold nothing).  Returns DAGLIB_OK or
 * DAGLIB_NOMEM (dst is then NULL). */
int value_copy_into(daglib_value *dst, const daglib_value *src);

/* Set a cleared *v.  Each returns DAGLIB_OK, or DAGLIB_NOMEM with *v left
 * NULL; whatever destroy says to free is freed even then (the rules are
 * those of daglib_destructor in daglib.h: exactly one call, never on NULL).
 * Text must be UTF-8; value_set_text() checks it and returns DAGLIB_INVALID
 * otherwise.  DAGLIB_MISUSE, with *v NULL and nothing called: NULL text, a
 * NULL blob with n > 0, DAGLIB_TRANSIENT for a pointer (it cannot be
 * copied).  An empty text is a static "" (no allocation); an empty blob
 * has NULL bytes.  Borrowed bytes (DAGLIB_STATIC with NUL-terminated text,
 * or any blob) are flagged VALUE_STATIC. */
int value_set_text(daglib_value *v, const char *s, ptrdiff_t n,
                   daglib_destructor destroy);
int value_set_blob(daglib_value *v, const void *p, size_t n,
                   daglib_destructor destroy);
int value_set_pointer(daglib_value *v, void *p, daglib_destructor destroy);
void value_set_list(daglib_value *v); /* an empty list; never fails */

/* Move *item to the end of the list *list (item is left NULL), growing the
 * array geometrically.  Returns DAGLIB_OK or DAGLIB_NOMEM (item is then
 * untouched; also past UINT32_MAX items). */
int value_list_push(daglib_value *list, daglib_value *item);

/* Make room for exactly n more items (when there is less).  DAGLIB_OK or
 * DAGLIB_NOMEM. */
int value_list_reserve(daglib_value *list, size_t n);

/* Make *out (cleared) a VALUE_SHALLOW list viewing items[0..n): the join
 * argument of a task, built without copying (items are bitwise views, a
 * NULL item reads as a NULL value).  Clearing it frees only its array; a
 * deep copy of it is an ordinary list.  DAGLIB_OK or DAGLIB_NOMEM (also for
 * n > UINT32_MAX). */
int value_shallow_list(daglib_value *out, const daglib_value *const *items,
                       size_t n);

/* A new heap shell holding *v's contents (moved: *v is left NULL), for
 * handing an inline value to a caller.  NULL when memory runs out (*v is
 * then untouched). */
daglib_value *value_box(daglib_value *v);

/* Move the contents of a heap shell into *dst (cleared) and free the shell. */
void value_unbox(daglib_value *dst, daglib_value *shell);

/* 1 when s[0..n) is valid UTF-8 (no overlongs, no surrogates, nothing
 * above U+10FFFF, no truncated sequence; NUL bytes are valid), else 0.
 * s may be NULL when n is 0. */
int utf8_valid(const char *s, size_t n);

#endif
