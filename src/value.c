/*
 * value.c -- daglib values: building, owning, copying, comparing.
 *
 * A value is the 24-byte struct of value.h.  Scalars live inline; the only
 * allocations are text and blob bytes, list item arrays (items are inline
 * values, so a list of n integers is one array) and the box of a pointer.
 * Heap shells (the daglib_value * of the public API) exist only where a
 * value is handed to or from a caller: value_box() / value_unbox().
 *
 * Text and blob bytes follow SQLite's destructor rules (value_set_text()):
 * they are borrowed (DAGLIB_STATIC, flag VALUE_STATIC), adopted (free) or
 * copied, and a destructor the caller passed runs exactly once, whatever
 * the outcome.  A pointer's box is shared by every copy of the value and
 * counts them atomically, so copies may die on different threads.
 *
 * Lists nest as deep as memory allows: copying and comparing walk them
 * with an explicit stack (value_walk.h), and clearing keeps its way back
 * up in the slots it is about to free, so nothing recurses on the C stack.
 *
 * Invariants: TEXT bytes are valid UTF-8 and NUL-terminated; an owned LIST
 * has count <= capacity <= UINT32_MAX; a value owns its payload unless
 * VALUE_STATIC or VALUE_SHALLOW says otherwise.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "value.h"
#include "value_walk.h"

struct pointer_box {
    void *pointer;
    daglib_destructor destroy; /* NULL: nothing to do */
    atomic_size_t copies;      /* values sharing the box */
};

/* ---- UTF-8 -------------------------------------------------------------- */

/* The well-formed byte sequences of Unicode 15, table 3-7: the second byte
 * of a sequence has a narrower range after E0, ED, F0 and F4, which is what
 * rules out overlong forms, surrogates and code points above U+10FFFF. */
int utf8_valid(const char *s, size_t n)
{
    if (s == NULL)
        return n == 0;
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + n;
    while (p < end) {
        /* ASCII runs, the common case, eight bytes at a time. */
        while (end - p >= 8) {
            uint64_t chunk;
            memcpy(&chunk, p, sizeof chunk);
            if (chunk & UINT64_C(0x8080808080808080))
                break;
            p += 8;
        }
        if (p == end)
            break;
        unsigned c = *p;
        if (c < 0x80) {
            p++;
            continue;
        }
        size_t need;
        unsigned lo = 0x80, hi = 0xBF; /* range of the second byte */
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0; /* below: overlong */
            else if (c == 0xED)
                hi = 0x9F; /* above: surrogates U+D800..U+DFFF */
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90; /* below: overlong */
            else if (c == 0xF4)
                hi = 0x8F; /* above: beyond U+10FFFF */
        } else {
            return 0; /* a continuation byte, C0/C1 (overlong) or F5..FF */
        }
        if ((size_t)(end - p) <= need)
            return 0; /* truncated */
        if (p[1] < lo || p[1] > hi)
            return 0;
        for (size_t k = 2; k <= need; k++)
            if ((p[k] & 0xC0) != 0x80)
                return 0;
        p += need + 1;
    }
    return 1;
}

/* ---- clearing ----------------------------------------------------------- */

static void pointer_retain(struct pointer_box *box)
{
    atomic_fetch_add_explicit(&box->copies, 1, memory_order_relaxed);
}

static void pointer_release(struct pointer_box *box)
{
    /* acq_rel: whoever destroys the pointer must see what every other copy
     * did with it before letting go. */
    if (atomic_fetch_sub_explicit(&box->copies, 1, memory_order_acq_rel) == 1) {
        if (box->destroy != NULL)
            box->destroy(box->pointer);
        free(box);
    }
}

/* Free what v holds, provided it holds no items that need clearing: a
 * scalar, an empty list or a shallow one. */
static void clear_payload(daglib_value *v)
{
    switch (v->type) {
    case DAGLIB_TEXT:
    case DAGLIB_BLOB:
        if (!(v->flags & VALUE_STATIC))
            free(v->u.str.bytes);
        break;
    case DAGLIB_LIST:
        free(v->u.list.items);
        break;
    case DAGLIB_POINTER:
        pointer_release(v->u.box);
        break;
    default:
        break;
    }
}

/* Free the items of an owned, non-empty list, however deep they nest,
 * without recursion and without memory.  Entering item i of a list, the
 * walk is done with that slot (only its children remain), so the slot
 * keeps the way back up: the slot it came down through (items), the
 * parent's item count (count) and i (capacity, which fits: i < count <=
 * UINT32_MAX).  The parent's array is then the slot's address minus i. */
static void clear_items(daglib_value *root)
{
    daglib_value *items = root->u.list.items;
    size_t count = root->u.list.count, i = 0;
    daglib_value *up = NULL;
    for (;;) {
        if (i < count) {
            daglib_value *item = &items[i];
            if (item->type != DAGLIB_LIST || (item->flags & VALUE_SHALLOW) ||
                item->u.list.count == 0) {
                clear_payload(item);
                i++;
                continue;
            }
            daglib_value *child_items = item->u.list.items;
            size_t child_count = item->u.list.count;
            item->u.list.items = up;
            item->u.list.count = count;
            item->capacity = (uint32_t)i;
            up = item;
            items = child_items;
            count = child_count;
            i = 0;
            continue;
        }
        free(items);
        if (up == NULL)
            return;
        daglib_value *slot = up;
        items = slot - slot->capacity;
        i = (size_t)slot->capacity + 1;
        count = slot->u.list.count;
        up = slot->u.list.items;
    }
}

void value_clear(daglib_value *v)
{
    if (v->type == DAGLIB_LIST && !(v->flags & VALUE_SHALLOW) &&
        v->u.list.count > 0)
        clear_items(v);
    else
        clear_payload(v);
    value_init(v);
}

/* ---- setting text, blobs and pointers ------------------------------------ */

static int is_destructor(daglib_destructor destroy)
{
    return destroy != DAGLIB_STATIC && destroy != DAGLIB_TRANSIENT;
}

/* Honour destroy for bytes the value did not keep. */
static void release_bytes(const void *p, daglib_destructor destroy)
{
    if (p != NULL && is_destructor(destroy))
        destroy((void *)p);
}

/* A private, NUL-terminated copy of p[0..n) as v's payload. */
static int set_copied_bytes(daglib_value *v, daglib_type type, const void *p,
                            size_t n)
{
    char *bytes = n < SIZE_MAX ? malloc(n + 1) : NULL;
    if (bytes == NULL)
        return DAGLIB_NOMEM;
    memcpy(bytes, p, n);
    bytes[n] = '\0';
    v->type = (uint8_t)type;
    v->flags = 0;
    v->u.str.bytes = bytes;
    v->u.str.len = n;
    return DAGLIB_OK;
}

static void set_kept_bytes(daglib_value *v, daglib_type type, const void *p,
                           size_t n, int is_static)
{
    v->type = (uint8_t)type;
    v->flags = is_static ? VALUE_STATIC : 0;
    v->u.str.bytes = (char *)p;
    v->u.str.len = n;
}

/* The bytes of TEXT may be borrowed only when they are NUL-terminated
 * where the value says: with n >= 0, reading s[n] to check could run past
 * the caller's buffer, so such text is copied even for DAGLIB_STATIC.
 * free adopts NUL-terminated text for the same reason. */
int value_set_text(daglib_value *v, const char *s, ptrdiff_t n,
                   daglib_destructor destroy)
{
    value_init(v);
    if (s == NULL)
        return DAGLIB_MISUSE;
    size_t len = n < 0 ? strlen(s) : (size_t)n;
    if (!utf8_valid(s, len)) {
        release_bytes(s, destroy);
        return DAGLIB_INVALID;
    }
    if (n < 0 && (destroy == DAGLIB_STATIC || destroy == free)) {
        set_kept_bytes(v, DAGLIB_TEXT, s, len, destroy == DAGLIB_STATIC);
        return DAGLIB_OK;
    }
    int rc = DAGLIB_OK;
    if (len == 0)
        set_kept_bytes(v, DAGLIB_TEXT, "", 0, 1); /* no allocation */
    else
        rc = set_copied_bytes(v, DAGLIB_TEXT, s, len);
    release_bytes(s, destroy);
    return rc;
}

/* Blobs need no terminator, so DAGLIB_STATIC borrows and free adopts them
 * whatever their length. */
int value_set_blob(daglib_value *v, const void *p, size_t n,
                   daglib_destructor destroy)
{
    value_init(v);
    if (p == NULL && n > 0)
        return DAGLIB_MISUSE;
    if (n == 0) {
        set_kept_bytes(v, DAGLIB_BLOB, NULL, 0, 0);
        release_bytes(p, destroy);
        return DAGLIB_OK;
    }
    if (destroy == DAGLIB_STATIC || destroy == free) {
        set_kept_bytes(v, DAGLIB_BLOB, p, n, destroy == DAGLIB_STATIC);
        return DAGLIB_OK;
    }
    int rc = set_copied_bytes(v, DAGLIB_BLOB, p, n);
    release_bytes(p, destroy);
    return rc;
}

int value_set_pointer(daglib_value *v, void *p, daglib_destructor destroy)
{
    value_init(v);
    if (destroy == DAGLIB_TRANSIENT)
        return DAGLIB_MISUSE; /* an opaque pointer cannot be copied */
    struct pointer_box *box = malloc(sizeof *box);
    if (box == NULL) {
        if (destroy != NULL)
            destroy(p);
        return DAGLIB_NOMEM;
    }
    box->pointer = p;
    box->destroy = destroy;
    atomic_init(&box->copies, 1);
    v->type = DAGLIB_POINTER;
    v->u.box = box;
    return DAGLIB_OK;
}

/* ---- lists ------------------------------------------------------------- */

void value_set_list(daglib_value *v)
{
    value_init(v);
    v->type = DAGLIB_LIST;
    v->u.list.items = NULL;
    v->u.list.count = 0;
}

static int list_resize(daglib_value *list, size_t capacity)
{
    if (capacity > UINT32_MAX || capacity > SIZE_MAX / sizeof(daglib_value))
        return DAGLIB_NOMEM;
    daglib_value *items =
        realloc(list->u.list.items, capacity * sizeof *items);
    if (items == NULL)
        return DAGLIB_NOMEM;
    list->u.list.items = items;
    list->capacity = (uint32_t)capacity;
    return DAGLIB_OK;
}

/* Exactly the room asked for: callers reserve when they know the size. */
int value_list_reserve(daglib_value *list, size_t n)
{
    size_t count = list->u.list.count;
    if (n <= list->capacity - count)
        return DAGLIB_OK;
    if (n > UINT32_MAX - count)
        return DAGLIB_NOMEM;
    return list_resize(list, count + n);
}

int value_list_push(daglib_value *list, daglib_value *item)
{
    size_t count = list->u.list.count;
    if (count == list->capacity) {
        /* Doubling keeps appends amortised O(1). */
        size_t capacity = count < 4 ? 4 : count * 2;
        if (capacity > UINT32_MAX)
            capacity = UINT32_MAX;
        if (capacity == count || list_resize(list, capacity) != DAGLIB_OK)
            return DAGLIB_NOMEM;
    }
    value_move(&list->u.list.items[count], item);
    list->u.list.count = count + 1;
    return DAGLIB_OK;
}

int value_shallow_list(daglib_value *out, const daglib_value *const *items,
                       size_t n)
{
    value_set_list(out);
    out->flags = VALUE_SHALLOW;
    if (n == 0)
        return DAGLIB_OK;
    if (list_resize(out, n) != DAGLIB_OK) {
        value_init(out);
        return DAGLIB_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (items[i] != NULL)
            out->u.list.items[i] = *items[i]; /* a view: no ownership */
        else
            value_init(&out->u.list.items[i]);
    }
    out->u.list.count = n;
    return DAGLIB_OK;
}

/* ---- heap shells -------------------------------------------------------- */

daglib_value *value_box(daglib_value *v)
{
    daglib_value *shell = malloc(sizeof *shell);
    if (shell != NULL)
        value_move(shell, v);
    return shell;
}

void value_unbox(daglib_value *dst, daglib_value *shell)
{
    if (shell == NULL) {
        value_init(dst);
        return;
    }
    value_move(dst, shell);
    free(shell);
}

/* ---- copying ------------------------------------------------------------ */

/* Copy a value that is not a list.  Borrowed (static) bytes stay borrowed:
 * they outlive every use of the value, so of its copies too. */
static int copy_scalar(daglib_value *dst, const daglib_value *src)
{
    *dst = *src;
    if ((src->type == DAGLIB_TEXT || src->type == DAGLIB_BLOB) &&
        !(src->flags & VALUE_STATIC) && src->u.str.bytes != NULL) {
        if (set_copied_bytes(dst, (daglib_type)src->type, src->u.str.bytes,
                             src->u.str.len) != DAGLIB_OK) {
            value_init(dst);
            return DAGLIB_NOMEM;
        }
    } else if (src->type == DAGLIB_POINTER) {
        pointer_retain(src->u.box);
    }
    return DAGLIB_OK;
}

/* Make *dst an empty list with room for all of src's items.  A copy owns
 * its items, so it is never shallow; a tuple stays a tuple. */
static int start_list_copy(daglib_value *dst, const daglib_value *src)
{
    value_set_list(dst);
    dst->flags = src->flags & VALUE_TUPLE;
    if (value_list_reserve(dst, src->u.list.count) != DAGLIB_OK) {
        value_init(dst);
        return DAGLIB_NOMEM;
    }
    return DAGLIB_OK;
}

/* Every copied list gets its whole item array up front, so the pointers
 * the walk keeps into those arrays never move. */
int value_copy_into(daglib_value *dst, const daglib_value *src)
{
    if (src->type != DAGLIB_LIST)
        return copy_scalar(dst, src);
    if (start_list_copy(dst, src) != DAGLIB_OK)
        return DAGLIB_NOMEM;
    walk_stack stack;
    walk_init(&stack);
    walk_push(&stack, src)->with.copy = dst;
    int rc = DAGLIB_OK;
    while (stack.depth > 0 && rc == DAGLIB_OK) {
        walk_frame *f = walk_top(&stack);
        if (f->next == f->list->u.list.count) {
            walk_pop(&stack);
            continue;
        }
        const daglib_value *item = &f->list->u.list.items[f->next++];
        daglib_value *copy = f->with.copy;
        daglib_value *out = &copy->u.list.items[copy->u.list.count];
        if (item->type != DAGLIB_LIST) {
            rc = copy_scalar(out, item);
            if (rc == DAGLIB_OK)
                copy->u.list.count++;
            continue;
        }
        rc = start_list_copy(out, item);
        if (rc != DAGLIB_OK)
            continue;
        copy->u.list.count++;
        f = walk_push(&stack, item);
        if (f != NULL)
            f->with.copy = out;
        else
            rc = DAGLIB_NOMEM;
    }
    walk_free(&stack);
    if (rc != DAGLIB_OK)
        value_clear(dst); /* every copied item is counted, so it is freed */
    return rc;
}

/* ---- comparing ---------------------------------------------------------- */

/* Same type and, for a scalar, the same data; for lists, the same count. */
static int equal_on_top(const daglib_value *a, const daglib_value *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case DAGLIB_INTEGER:
        return a->u.i == b->u.i;
    case DAGLIB_REAL:
        return a->u.d == b->u.d;
    case DAGLIB_TEXT:
    case DAGLIB_BLOB:
        return a->u.str.len == b->u.str.len &&
               (a->u.str.len == 0 ||
                memcmp(a->u.str.bytes, b->u.str.bytes, a->u.str.len) == 0);
    case DAGLIB_LIST:
        return a->u.list.count == b->u.list.count;
    case DAGLIB_POINTER:
        return a->u.box->pointer == b->u.box->pointer;
    default:
        return 1;
    }
}

static const daglib_value null_value = {DAGLIB_NULL, 0, 0, {0}};

int daglib_value_equal(const daglib_value *a, const daglib_value *b)
{
    a = a != NULL ? a : &null_value;
    b = b != NULL ? b : &null_value;
    if (!equal_on_top(a, b))
        return 0;
    if (a->type != DAGLIB_LIST || a->u.list.count == 0)
        return 1;
    walk_stack stack;
    walk_init(&stack);
    walk_push(&stack, a)->with.other = b;
    int equal = 1;
    while (stack.depth > 0 && equal) {
        walk_frame *f = walk_top(&stack);
        if (f->next == f->list->u.list.count) {
            walk_pop(&stack);
            continue;
        }
        size_t i = f->next++;
        const daglib_value *x = &f->list->u.list.items[i];
        const daglib_value *y = &f->with.other->u.list.items[i];
        if (!equal_on_top(x, y)) {
            equal = 0;
        } else if (x->type == DAGLIB_LIST && x->u.list.count > 0) {
            f = walk_push(&stack, x);
            if (f != NULL)
                f->with.other = y;
            else
                equal = 0; /* out of memory: documented as "not equal" */
        }
    }
    walk_free(&stack);
    return equal;
}

/* ---- the public API: accessors ------------------------------------------ */

daglib_type daglib_value_type(const daglib_value *v)
{
    return v != NULL ? (daglib_type)v->type : DAGLIB_NULL;
}

int64_t daglib_value_int(const daglib_value *v)
{
    if (v == NULL)
        return 0;
    if (v->type == DAGLIB_INTEGER)
        return v->u.i;
    if (v->type != DAGLIB_REAL || isnan(v->u.d))
        return 0;
    /* 2^63 is exact as a double; INT64_MAX is not. */
    if (v->u.d >= 9223372036854775808.0)
        return INT64_MAX;
    if (v->u.d <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)v->u.d;
}

double daglib_value_double(const daglib_value *v)
{
    if (v == NULL)
        return 0.0;
    if (v->type == DAGLIB_REAL)
        return v->u.d;
    if (v->type == DAGLIB_INTEGER)
        return (double)v->u.i;
    return 0.0;
}

const char *daglib_value_text(const daglib_value *v)
{
    return v != NULL && v->type == DAGLIB_TEXT ? v->u.str.bytes : NULL;
}

const void *daglib_value_blob(const daglib_value *v)
{
    if (v == NULL || (v->type != DAGLIB_TEXT && v->type != DAGLIB_BLOB))
        return NULL;
    return v->u.str.bytes;
}

size_t daglib_value_bytes(const daglib_value *v)
{
    if (v == NULL || (v->type != DAGLIB_TEXT && v->type != DAGLIB_BLOB))
        return 0;
    return v->u.str.len;
}

void *daglib_value_pointer(const daglib_value *v)
{
    return v != NULL && v->type == DAGLIB_POINTER ? v->u.box->pointer : NULL;
}

size_t daglib_value_count(const daglib_value *v)
{
    return v != NULL && v->type == DAGLIB_LIST ? v->u.list.count : 0;
}

const daglib_value *daglib_value_item(const daglib_value *v, size_t i)
{
    if (v == NULL || v->type != DAGLIB_LIST || i >= v->u.list.count)
        return NULL;
    return &v->u.list.items[i];
}

/* ---- the public API: constructors, copy, free --------------------------- */

static daglib_value *new_shell(void)
{
    daglib_value *v = malloc(sizeof *v);
    if (v != NULL)
        value_init(v);
    return v;
}

daglib_value *daglib_value_new_null(void)
{
    return new_shell();
}

daglib_value *daglib_value_new_int(int64_t i)
{
    daglib_value *v = new_shell();
    if (v != NULL) {
        v->type = DAGLIB_INTEGER;
        v->u.i = i;
    }
    return v;
}

daglib_value *daglib_value_new_double(double d)
{
    daglib_value *v = new_shell();
    if (v != NULL) {
        v->type = DAGLIB_REAL;
        v->u.d = d;
    }
    return v;
}

daglib_value *daglib_value_new_text(const char *s, ptrdiff_t n)
{
    daglib_value item;
    if (value_set_text(&item, s, n, DAGLIB_TRANSIENT) != DAGLIB_OK)
        return NULL;
    daglib_value *v = value_box(&item);
    if (v == NULL)
        value_clear(&item);
    return v;
}

daglib_value *daglib_value_new_blob(const void *p, size_t n)
{
    daglib_value item;
    if (value_set_blob(&item, p, n, DAGLIB_TRANSIENT) != DAGLIB_OK)
        return NULL;
    daglib_value *v = value_box(&item);
    if (v == NULL)
        value_clear(&item);
    return v;
}

daglib_value *daglib_value_new_pointer(void *p, daglib_destructor destroy)
{
    daglib_value *v = new_shell();
    if (v == NULL) {
        if (is_destructor(destroy))
            destroy(p);
        return NULL;
    }
    if (value_set_pointer(v, p, destroy) != DAGLIB_OK) {
        free(v);
        return NULL;
    }
    return v;
}

daglib_value *daglib_value_new_list(void)
{
    daglib_value *v = new_shell();
    if (v != NULL)
        value_set_list(v);
    return v;
}

daglib_value *daglib_value_copy(const daglib_value *v)
{
    if (v == NULL)
        return NULL;
    daglib_value *copy = malloc(sizeof *copy);
    if (copy != NULL && value_copy_into(copy, v) != DAGLIB_OK) {
        free(copy);
        copy = NULL;
    }
    return copy;
}

void daglib_value_free(daglib_value *v)
{
    if (v != NULL) {
        value_clear(v);
        free(v);
    }
}

/* ---- the public API: appending ------------------------------------------ */

/* Task arguments are shallow views of other tasks' results: appending to
 * one would mix owned and borrowed items. */
static int is_appendable(const daglib_value *list)
{
    return list != NULL && list->type == DAGLIB_LIST &&
           !(list->flags & VALUE_SHALLOW);
}

/* Push an inline item, clearing it when that fails. */
static int append_inline(daglib_value *list, daglib_value *item)
{
    int rc = is_appendable(list) ? value_list_push(list, item) : DAGLIB_MISUSE;
    if (rc != DAGLIB_OK)
        value_clear(item);
    return rc;
}

int daglib_list_append(daglib_value *list, daglib_value *item)
{
    if (item == NULL)
        return DAGLIB_MISUSE;
    if (item == list)
        return DAGLIB_MISUSE; /* freeing it would free the caller's list */
    int rc = append_inline(list, item);
    free(item);
    return rc;
}

int daglib_list_append_null(daglib_value *list)
{
    daglib_value item;
    value_init(&item);
    return append_inline(list, &item);
}

int daglib_list_append_int(daglib_value *list, int64_t i)
{
    daglib_value item;
    value_init(&item);
    item.type = DAGLIB_INTEGER;
    item.u.i = i;
    return append_inline(list, &item);
}

int daglib_list_append_double(daglib_value *list, double d)
{
    daglib_value item;
    value_init(&item);
    item.type = DAGLIB_REAL;
    item.u.d = d;
    return append_inline(list, &item);
}

int daglib_list_append_text(daglib_value *list, const char *s, ptrdiff_t n)
{
    if (!is_appendable(list))
        return DAGLIB_MISUSE;
    daglib_value item;
    int rc = value_set_text(&item, s, n, DAGLIB_TRANSIENT);
    if (rc != DAGLIB_OK)
        return rc;
    return append_inline(list, &item);
}
