/*
 * test_value.c -- values: constructors and accessors, ownership and
 * destructors, copies, UTF-8 checking, equality, and the printed form that
 * must match Python's repr().
 *
 * Expected printed forms come from Python in two ways: the table of
 * value_prints_like_python_repr was produced and checked with
 * /usr/bin/python3's repr(); the *_print_as_python_repr tests ask Python
 * at run time about many generated values.
 */
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/resource.h>
#include <unistd.h>

#include "test.h"
#include "value.h"

/* ---- helpers ------------------------------------------------------------- */

/* Counts calls; the argument must be the address of counted_object. */
static atomic_int destructor_calls;
static char counted_object[] = "counted";

static void count_destroy(void *p)
{
    CHECK(p == counted_object);
    atomic_fetch_add(&destructor_calls, 1);
}

/* A heap buffer whose destructor counts calls and frees it. */
static atomic_int freeing_calls;

static void count_and_free(void *p)
{
    atomic_fetch_add(&freeing_calls, 1);
    free(p);
}

/* The counters start at zero in every test, also with run --no-fork. */
static void reset_counters(void)
{
    atomic_store(&destructor_calls, 0);
    atomic_store(&freeing_calls, 0);
}

/* Print, compare, free. */
static void check_prints(const daglib_value *v, const char *want)
{
    char *got = daglib_value_to_string(v);
    CHECK_STR_EQ(got, want);
    daglib_free(got);
}

/* Take a new value, check its printed form, free it. */
static void check_prints_and_free(daglib_value *v, const char *want)
{
    CHECK(v != NULL);
    check_prints(v, want);
    daglib_value_free(v);
}

static daglib_value *int_list(int n, ...)
{
    daglib_value *list = daglib_value_new_list();
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        CHECK_OK(daglib_list_append_int(list, va_arg(ap, int)));
    va_end(ap);
    return list;
}

/* A list turned into a tuple, as daglib_run() returns several finals. */
static daglib_value *as_tuple(daglib_value *list)
{
    list->flags |= VALUE_TUPLE;
    return list;
}

static uint64_t random_state = 0x9E3779B97F4A7C15u;

/* splitmix64: repeatable, and no change to the process's rand() state. */
static uint64_t next_random(void)
{
    uint64_t z = (random_state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static void put_hex(FILE *f, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", s[i]);
}

/* ---- constructors and accessors ------------------------------------------ */

TEST(value_scalars_round_trip_through_constructors_and_accessors)
{
    daglib_value *v = daglib_value_new_null();
    CHECK_INT_EQ(daglib_value_type(v), DAGLIB_NULL);
    daglib_value_free(v);

    v = daglib_value_new_int(INT64_MIN);
    CHECK_INT_EQ(daglib_value_type(v), DAGLIB_INTEGER);
    CHECK(daglib_value_int(v) == INT64_MIN);
    daglib_value_free(v);

    v = daglib_value_new_double(-0.1);
    CHECK_INT_EQ(daglib_value_type(v), DAGLIB_REAL);
    CHECK(daglib_value_double(v) == -0.1);
    daglib_value_free(v);

    char text[] = "h\xc3\xa9llo";
    v = daglib_value_new_text(text, -1);
    CHECK_INT_EQ(daglib_value_type(v), DAGLIB_TEXT);
    CHECK_STR_EQ(daglib_value_text(v), "h\xc3\xa9llo");
    CHECK(daglib_value_text(v) != text); /* copied */
    CHECK_INT_EQ(daglib_value_bytes(v), 6);
    CHECK(daglib_value_blob(v) == daglib_value_text(v));
    daglib_value_free(v);

    v = daglib_value_new_text("abcdef", 3);
    CHECK_STR_EQ(daglib_value_text(v), "abc"); /* terminated at n */
    CHECK_INT_EQ(daglib_value_bytes(v), 3);
    daglib_value_free(v);

    v = daglib_value_new_text("", -1);
    CHECK_STR_EQ(daglib_value_text(v), "");
    CHECK_INT_EQ(daglib_value_bytes(v), 0);
    daglib_value_free(v);

    const unsigned char bytes[] = {0, 1, 0xff, 0};
    v = daglib_value_new_blob(bytes, sizeof bytes);
    CHECK_INT_EQ(daglib_value_type(v), DAGLIB_BLOB);
    CHECK_INT_EQ(daglib_value_bytes(v), 4);
    CHECK(daglib_value_blob(v) != bytes);
    CHECK(memcmp(daglib_value_blob(v), bytes, 4) == 0);
    CHECK(daglib_value_text(v) == NULL);
    daglib_value_free(v);

    v = daglib_value_new_blob(NULL, 0);
    CHECK_INT_EQ(daglib_value_type(v), DAGLIB_BLOB);
    CHECK(daglib_value_blob(v) == NULL);
    CHECK_INT_EQ(daglib_value_bytes(v), 0);
    daglib_value_free(v);

    v = daglib_value_new_pointer(counted_object, NULL);
    CHECK_INT_EQ(daglib_value_type(v), DAGLIB_POINTER);
    CHECK(daglib_value_pointer(v) == counted_object);
    daglib_value_free(v);

    v = daglib_value_new_list();
    CHECK_INT_EQ(daglib_value_type(v), DAGLIB_LIST);
    CHECK_INT_EQ(daglib_value_count(v), 0);
    CHECK(daglib_value_item(v, 0) == NULL);
    CHECK_OK(daglib_list_append_null(v));
    CHECK_OK(daglib_list_append_int(v, 7));
    CHECK_OK(daglib_list_append_double(v, 2.5));
    CHECK_OK(daglib_list_append_text(v, "x", -1));
    CHECK_OK(daglib_list_append(v, daglib_value_new_blob("b", 1)));
    CHECK_INT_EQ(daglib_value_count(v), 5);
    CHECK_INT_EQ(daglib_value_type(daglib_value_item(v, 0)), DAGLIB_NULL);
    CHECK_INT_EQ(daglib_value_int(daglib_value_item(v, 1)), 7);
    CHECK(daglib_value_double(daglib_value_item(v, 2)) == 2.5);
    CHECK_STR_EQ(daglib_value_text(daglib_value_item(v, 3)), "x");
    CHECK_INT_EQ(daglib_value_type(daglib_value_item(v, 4)), DAGLIB_BLOB);
    CHECK(daglib_value_item(v, 5) == NULL);
    daglib_value_free(v);
}

TEST(value_int_and_double_convert_truncating_and_saturating)
{
    static const struct {
        double real;
        int64_t want;
    } cases[] = {
        {2.9, 2},
        {-2.9, -2},
        {0.5, 0},
        {-0.0, 0},
        {9007199254740993.0, 9007199254740992},
        {9223372036854774784.0, INT64_C(9223372036854774784)},
        {9223372036854775808.0, INT64_MAX},
        {1e300, INT64_MAX},
        {INFINITY, INT64_MAX},
        {-9223372036854775808.0, INT64_MIN},
        {-1e300, INT64_MIN},
        {-INFINITY, INT64_MIN},
        {NAN, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        daglib_value *v = daglib_value_new_double(cases[i].real);
        if (daglib_value_int(v) != cases[i].want)
            FAIL("daglib_value_int(%g) = %" PRId64 ", want %" PRId64,
                 cases[i].real, daglib_value_int(v), cases[i].want);
        daglib_value_free(v);
    }
    daglib_value *v = daglib_value_new_int(-42);
    CHECK(daglib_value_double(v) == -42.0);
    daglib_value_free(v);
    v = daglib_value_new_int(INT64_MAX);
    CHECK(daglib_value_double(v) == 9223372036854775808.0);
    daglib_value_free(v);
}

TEST(value_accessors_give_defaults_for_null_and_other_types)
{
    CHECK_INT_EQ(daglib_value_type(NULL), DAGLIB_NULL);
    CHECK_INT_EQ(daglib_value_int(NULL), 0);
    CHECK(daglib_value_double(NULL) == 0.0);
    CHECK(daglib_value_text(NULL) == NULL);
    CHECK(daglib_value_blob(NULL) == NULL);
    CHECK_INT_EQ(daglib_value_bytes(NULL), 0);
    CHECK(daglib_value_pointer(NULL) == NULL);
    CHECK_INT_EQ(daglib_value_count(NULL), 0);
    CHECK(daglib_value_item(NULL, 0) == NULL);

    daglib_value *values[] = {
        daglib_value_new_null(),
        daglib_value_new_text("12", -1),
        daglib_value_new_list(),
        daglib_value_new_pointer(counted_object, NULL),
    };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        const daglib_value *v = values[i];
        CHECK_INT_EQ(daglib_value_int(v), 0); /* no parsing of "12" */
        CHECK(daglib_value_double(v) == 0.0);
        if (daglib_value_type(v) != DAGLIB_TEXT) {
            CHECK(daglib_value_text(v) == NULL);
            CHECK(daglib_value_blob(v) == NULL);
            CHECK_INT_EQ(daglib_value_bytes(v), 0);
        }
        if (daglib_value_type(v) != DAGLIB_POINTER)
            CHECK(daglib_value_pointer(v) == NULL);
        CHECK_INT_EQ(daglib_value_count(v), 0);
        CHECK(daglib_value_item(v, 0) == NULL);
        daglib_value_free(values[i]);
    }
}

/* ---- lists and ownership ------------------------------------------------- */

TEST(value_lists_grow_past_many_reallocations_and_keep_order)
{
    daglib_value *list = daglib_value_new_list();
    enum { N = 100000 };
    for (int i = 0; i < N; i++) {
        if (i % 3 == 0)
            CHECK_OK(daglib_list_append_int(list, i));
        else if (i % 3 == 1)
            CHECK_OK(daglib_list_append_double(list, i + 0.5));
        else
            CHECK_OK(daglib_list_append(list, int_list(1, i)));
    }
    CHECK_INT_EQ(daglib_value_count(list), N);
    CHECK(list->capacity >= N && list->capacity < 2 * N);
    for (int i = 0; i < N; i++) {
        const daglib_value *item = daglib_value_item(list, (size_t)i);
        if (i % 3 == 0)
            CHECK_INT_EQ(daglib_value_int(item), i);
        else if (i % 3 == 1)
            CHECK(daglib_value_double(item) == i + 0.5);
        else
            CHECK_INT_EQ(daglib_value_int(daglib_value_item(item, 0)), i);
    }
    daglib_value_free(list);
}

TEST(value_lists_refuse_more_than_uint32_max_items)
{
    daglib_value list;
    value_set_list(&list);
    CHECK_CODE(value_list_reserve(&list, (size_t)UINT32_MAX + 1), DAGLIB_NOMEM);
    CHECK_INT_EQ(list.capacity, 0);
    CHECK(list.u.list.items == NULL);
    CHECK_OK(value_list_reserve(&list, 3));
    CHECK_INT_EQ(list.capacity, 3); /* exactly what was asked */
    CHECK_OK(value_list_reserve(&list, 2));
    CHECK_INT_EQ(list.capacity, 3);
    value_clear(&list);

    /* A list already holding UINT32_MAX items cannot take one more: the
     * check comes before any allocation, so fake the count. */
    value_set_list(&list);
    list.capacity = UINT32_MAX;
    list.u.list.count = UINT32_MAX;
    daglib_value item;
    value_init(&item);
    item.type = DAGLIB_INTEGER;
    CHECK_CODE(value_list_push(&list, &item), DAGLIB_NOMEM);
    CHECK_INT_EQ(item.type, DAGLIB_INTEGER); /* untouched */
    CHECK_CODE(value_list_reserve(&list, 1), DAGLIB_NOMEM);
    CHECK(list.u.list.items == NULL);

    daglib_value shallow;
    const daglib_value *one = &item;
    CHECK_CODE(value_shallow_list(&shallow, &one, (size_t)UINT32_MAX + 1),
               DAGLIB_NOMEM);
    CHECK_INT_EQ(shallow.type, DAGLIB_NULL);
}

TEST(value_append_takes_ownership_even_on_misuse)
{
    reset_counters();
    daglib_value *list = daglib_value_new_list();
    daglib_value *number = daglib_value_new_int(1);

    /* Every refused append frees its item: the destructor says so. */
    CHECK_CODE(daglib_list_append(NULL, daglib_value_new_pointer(
                                            counted_object, count_destroy)),
               DAGLIB_MISUSE);
    CHECK_INT_EQ(destructor_calls, 1);
    CHECK_CODE(daglib_list_append(number, daglib_value_new_pointer(
                                              counted_object, count_destroy)),
               DAGLIB_MISUSE);
    CHECK_INT_EQ(destructor_calls, 2);

    /* So does a task's argument list, a shallow view of other values. */
    daglib_value shallow;
    const daglib_value *items[] = {number};
    CHECK_OK(value_shallow_list(&shallow, items, 1));
    CHECK_CODE(daglib_list_append(&shallow, daglib_value_new_pointer(
                                                counted_object, count_destroy)),
               DAGLIB_MISUSE);
    CHECK_INT_EQ(destructor_calls, 3);
    CHECK_CODE(daglib_list_append_int(&shallow, 5), DAGLIB_MISUSE);
    CHECK_CODE(daglib_list_append_text(&shallow, "x", -1), DAGLIB_MISUSE);
    CHECK_INT_EQ(daglib_value_count(&shallow), 1);
    value_clear(&shallow);

    /* Shorthands refuse what is not a list, and bad text. */
    CHECK_CODE(daglib_list_append_null(NULL), DAGLIB_MISUSE);
    CHECK_CODE(daglib_list_append_int(number, 1), DAGLIB_MISUSE);
    CHECK_CODE(daglib_list_append_double(NULL, 1.0), DAGLIB_MISUSE);
    CHECK_CODE(daglib_list_append_text(list, NULL, -1), DAGLIB_MISUSE);
    CHECK_CODE(daglib_list_append_text(list, "\xff", -1), DAGLIB_INVALID);
    CHECK_CODE(daglib_list_append(list, NULL), DAGLIB_MISUSE);

    /* A list cannot hold itself; the caller keeps it, intact. */
    CHECK_OK(daglib_list_append_int(list, 9));
    CHECK_CODE(daglib_list_append(list, list), DAGLIB_MISUSE);
    CHECK_INT_EQ(daglib_value_count(list), 1);
    check_prints(list, "[9]");

    /* An accepted item is the list's: freed with it, once. */
    CHECK_OK(daglib_list_append(
        list, daglib_value_new_pointer(counted_object, count_destroy)));
    CHECK_INT_EQ(destructor_calls, 3);
    daglib_value_free(list);
    CHECK_INT_EQ(destructor_calls, 4);
    daglib_value_free(number);
}

TEST(value_copies_are_deep_and_independent)
{
    daglib_value *inner = int_list(2, 1, 2);
    daglib_value *original = daglib_value_new_list();
    CHECK_OK(daglib_list_append(original, inner));
    CHECK_OK(daglib_list_append_text(original, "text", -1));
    CHECK_OK(daglib_list_append(original, daglib_value_new_blob("\0b", 2)));
    CHECK_OK(daglib_list_append(original, daglib_value_new_list()));
    CHECK_OK(daglib_list_append_double(original, 0.5));

    daglib_value *copy = daglib_value_copy(original);
    CHECK(copy != NULL && copy != original);
    CHECK(daglib_value_equal(copy, original));
    check_prints(copy, "[[1, 2], 'text', b'\\x00b', [], 0.5]");

    /* Nothing is shared: not the item arrays, not the bytes. */
    CHECK(daglib_value_item(copy, 0) != daglib_value_item(original, 0));
    CHECK(daglib_value_text(daglib_value_item(copy, 1)) !=
          daglib_value_text(daglib_value_item(original, 1)));
    CHECK(daglib_value_blob(daglib_value_item(copy, 2)) !=
          daglib_value_blob(daglib_value_item(original, 2)));

    /* Changing the original leaves the copy as it was, and the other way
     * round. */
    daglib_value *original_inner =
        (daglib_value *)daglib_value_item(original, 0);
    CHECK_OK(daglib_list_append_int(original_inner, 3));
    CHECK_OK(daglib_list_append_null(original));
    check_prints(copy, "[[1, 2], 'text', b'\\x00b', [], 0.5]");
    daglib_value *copy_empty = (daglib_value *)daglib_value_item(copy, 3);
    CHECK_OK(daglib_list_append_int(copy_empty, 4));
    check_prints(original, "[[1, 2, 3], 'text', b'\\x00b', [], 0.5, None]");
    CHECK(!daglib_value_equal(copy, original));

    /* Freeing one leaves the other whole (ASan and valgrind watch). */
    daglib_value_free(original);
    check_prints(copy, "[[1, 2], 'text', b'\\x00b', [4], 0.5]");

    /* A copy of a copy, and of each scalar kind. */
    daglib_value *again = daglib_value_copy(copy);
    CHECK(daglib_value_equal(again, copy));
    daglib_value_free(copy);
    daglib_value_free(again);

    daglib_value *scalars[] = {
        daglib_value_new_null(), daglib_value_new_int(-3),
        daglib_value_new_double(NAN), daglib_value_new_text("t", -1),
        daglib_value_new_blob(NULL, 0),
    };
    for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; i++) {
        daglib_value *c = daglib_value_copy(scalars[i]);
        CHECK_INT_EQ(daglib_value_type(c), daglib_value_type(scalars[i]));
        char *want = daglib_value_to_string(scalars[i]);
        check_prints(c, want);
        daglib_free(want);
        daglib_value_free(c);
        daglib_value_free(scalars[i]);
    }
    CHECK(daglib_value_copy(NULL) == NULL);
}

TEST(value_pointer_is_destroyed_once_after_the_last_copy)
{
    reset_counters();
    daglib_value *v = daglib_value_new_pointer(counted_object, count_destroy);
    daglib_value *list = daglib_value_new_list();
    CHECK_OK(daglib_list_append(list, daglib_value_copy(v)));
    daglib_value *copies[10];
    for (int i = 0; i < 10; i++) {
        copies[i] = daglib_value_copy(i % 2 == 0 ? v : copies[i - 1]);
        CHECK(daglib_value_pointer(copies[i]) == counted_object);
        CHECK(daglib_value_equal(copies[i], v));
    }
    daglib_value *list_copy = daglib_value_copy(list);
    daglib_value_free(v);
    daglib_value_free(list);
    for (int i = 0; i < 10; i++) {
        daglib_value_free(copies[i]);
        CHECK_INT_EQ(destructor_calls, 0);
    }
    CHECK(daglib_value_pointer(daglib_value_item(list_copy, 0)) ==
          counted_object);
    daglib_value_free(list_copy);
    CHECK_INT_EQ(destructor_calls, 1);

    /* A NULL destructor means nothing to do; DAGLIB_TRANSIENT is refused,
     * since an opaque pointer cannot be copied. */
    v = daglib_value_new_pointer(counted_object, DAGLIB_STATIC);
    daglib_value_free(v);
    CHECK(daglib_value_new_pointer(counted_object, DAGLIB_TRANSIENT) == NULL);
    daglib_value inline_value;
    CHECK_CODE(value_set_pointer(&inline_value, counted_object,
                                 DAGLIB_TRANSIENT),
               DAGLIB_MISUSE);
    CHECK_INT_EQ(inline_value.type, DAGLIB_NULL);
    CHECK_INT_EQ(destructor_calls, 1);
}

/* Each thread marks the shared object (a plain write) and then frees its
 * copies; the destructor, on whichever thread lets go last, reads every
 * mark.  Without acquire/release on the count TSan reports a race here. */
enum { SHARING_THREADS = 4, COPIES_PER_THREAD = 2000 };

struct shared_object {
    int marks[SHARING_THREADS];
    atomic_int destroyed;
    int marks_seen;
};

struct sharer {
    daglib_value *copies[COPIES_PER_THREAD];
    int index;
    pthread_barrier_t *start;
};

static struct shared_object shared;

static void destroy_shared(void *p)
{
    struct shared_object *object = p;
    for (int t = 0; t < SHARING_THREADS; t++)
        object->marks_seen += object->marks[t];
    atomic_fetch_add(&object->destroyed, 1);
}

static void *free_copies(void *arg)
{
    struct sharer *s = arg;
    struct shared_object *object = daglib_value_pointer(s->copies[0]);
    object->marks[s->index] = 1;
    pthread_barrier_wait(s->start);
    for (int i = 0; i < COPIES_PER_THREAD; i++) {
        CHECK(daglib_value_pointer(s->copies[i]) == object);
        daglib_value_free(s->copies[i]);
    }
    return NULL;
}

TEST(value_pointer_copies_freed_on_four_threads_destroy_it_once)
{
    for (int round = 0; round < 20; round++) {
        memset(shared.marks, 0, sizeof shared.marks);
        atomic_store(&shared.destroyed, 0);
        shared.marks_seen = 0;
        daglib_value *v = daglib_value_new_pointer(&shared, destroy_shared);
        static struct sharer sharers[SHARING_THREADS];
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, SHARING_THREADS + 1);
        pthread_t threads[SHARING_THREADS];
        for (int t = 0; t < SHARING_THREADS; t++) {
            sharers[t].index = t;
            sharers[t].start = &start;
            for (int i = 0; i < COPIES_PER_THREAD; i++)
                sharers[t].copies[i] = daglib_value_copy(v);
            CHECK(pthread_create(&threads[t], NULL, free_copies,
                                 &sharers[t]) == 0);
        }
        pthread_barrier_wait(&start);
        daglib_value_free(v); /* the original goes while the copies do */
        for (int t = 0; t < SHARING_THREADS; t++)
            pthread_join(threads[t], NULL);
        pthread_barrier_destroy(&start);
        CHECK_INT_EQ(atomic_load(&shared.destroyed), 1);
        CHECK_INT_EQ(shared.marks_seen, SHARING_THREADS);
    }
}

/* ---- destructors of text and blobs --------------------------------------- */

TEST(value_static_bytes_are_used_in_place)
{
    static const char text[] = "static text";
    daglib_value v;
    CHECK_OK(value_set_text(&v, text, -1, DAGLIB_STATIC));
    CHECK(daglib_value_text(&v) == text); /* zero copy */
    CHECK_INT_EQ(daglib_value_bytes(&v), strlen(text));
    CHECK(v.flags & VALUE_STATIC);

    /* A copy borrows too: the bytes outlive every use of the value. */
    daglib_value copy;
    CHECK_OK(value_copy_into(&copy, &v));
    CHECK(daglib_value_text(&copy) == text);
    value_clear(&copy);
    value_clear(&v); /* frees nothing: ASan would see a bad free */

    /* With an explicit length the bytes need not be NUL-terminated there,
     * and a TEXT value always is: copied. */
    CHECK_OK(value_set_text(&v, text, 6, DAGLIB_STATIC));
    CHECK(daglib_value_text(&v) != text);
    CHECK_STR_EQ(daglib_value_text(&v), "static");
    CHECK(!(v.flags & VALUE_STATIC));
    value_clear(&v);

    /* Blobs need no terminator: borrowed whatever their length. */
    static const unsigned char blob[] = {1, 2, 3};
    CHECK_OK(value_set_blob(&v, blob, sizeof blob, DAGLIB_STATIC));
    CHECK(daglib_value_blob(&v) == blob);
    CHECK(v.flags & VALUE_STATIC);
    value_clear(&v);
}

TEST(value_transient_bytes_are_copied)
{
    char text[] = "transient";
    daglib_value v;
    CHECK_OK(value_set_text(&v, text, -1, DAGLIB_TRANSIENT));
    CHECK(daglib_value_text(&v) != text);
    text[0] = 'T'; /* the caller may reuse its buffer at once */
    CHECK_STR_EQ(daglib_value_text(&v), "transient");
    value_clear(&v);

    CHECK_OK(value_set_text(&v, text, 5, DAGLIB_TRANSIENT));
    CHECK_STR_EQ(daglib_value_text(&v), "Trans");
    value_clear(&v);

    unsigned char blob[] = {9, 8, 7};
    CHECK_OK(value_set_blob(&v, blob, sizeof blob, DAGLIB_TRANSIENT));
    CHECK(daglib_value_blob(&v) != blob);
    blob[0] = 0;
    CHECK(memcmp(daglib_value_blob(&v), "\x09\x08\x07", 3) == 0);
    value_clear(&v);
}

TEST(value_free_adopts_terminated_text_and_blobs)
{
    /* No copy: the very buffer is kept, and freed with the value (ASan and
     * valgrind would report a leak or a double free otherwise). */
    char *text = strdup("adopted");
    daglib_value v;
    CHECK_OK(value_set_text(&v, text, -1, free));
    CHECK(daglib_value_text(&v) == text);
    CHECK(!(v.flags & VALUE_STATIC));
    value_clear(&v);

    unsigned char *blob = malloc(3);
    memcpy(blob, "abc", 3);
    CHECK_OK(value_set_blob(&v, blob, 3, free));
    CHECK(daglib_value_blob(&v) == blob);
    value_clear(&v);

    /* Text with a length may lack the NUL at n: copied, then freed. */
    text = strdup("adopted");
    CHECK_OK(value_set_text(&v, text, 3, free));
    CHECK(daglib_value_text(&v) != text);
    CHECK_STR_EQ(daglib_value_text(&v), "ado");
    value_clear(&v);
}

TEST(value_other_destructors_run_once_after_copying)
{
    reset_counters();
    daglib_value v;
    char *text = strdup("custom");
    CHECK_OK(value_set_text(&v, text, -1, count_and_free));
    CHECK_INT_EQ(freeing_calls, 1); /* at once: the value has its copy */
    CHECK_STR_EQ(daglib_value_text(&v), "custom");
    value_clear(&v);
    CHECK_INT_EQ(freeing_calls, 1);

    char *blob = strdup("xyz");
    CHECK_OK(value_set_blob(&v, blob, 3, count_and_free));
    CHECK_INT_EQ(freeing_calls, 2);
    CHECK(memcmp(daglib_value_blob(&v), "xyz", 3) == 0);
    value_clear(&v);

    /* Empty text and blobs hold nothing, but the destructor still runs. */
    CHECK_OK(value_set_text(&v, strdup(""), -1, count_and_free));
    CHECK_INT_EQ(freeing_calls, 3);
    CHECK_STR_EQ(daglib_value_text(&v), "");
    value_clear(&v);
    CHECK_OK(value_set_blob(&v, strdup("abc"), 0, count_and_free));
    CHECK_INT_EQ(freeing_calls, 4);
    CHECK(daglib_value_blob(&v) == NULL);
    value_clear(&v);
}

TEST(value_destructor_runs_once_when_text_is_refused)
{
    reset_counters();
    daglib_value v;
    CHECK_CODE(value_set_text(&v, strdup("bad \xc0\xaf"), -1, count_and_free),
               DAGLIB_INVALID);
    CHECK_INT_EQ(freeing_calls, 1);
    CHECK_INT_EQ(v.type, DAGLIB_NULL);
    CHECK_CODE(value_set_text(&v, strdup("bad \xed\xa0\x80"), -1, free),
               DAGLIB_INVALID); /* adopted-to-be, freed instead (ASan) */
    CHECK_INT_EQ(v.type, DAGLIB_NULL);
    CHECK_CODE(value_set_text(&v, strdup("ok \xe2\x82"), 5, count_and_free),
               DAGLIB_INVALID);
    CHECK_INT_EQ(freeing_calls, 2);

    /* NULL is no text; nothing to destroy, nothing called. */
    CHECK_CODE(value_set_text(&v, NULL, -1, count_and_free), DAGLIB_MISUSE);
    CHECK_CODE(value_set_blob(&v, NULL, 4, count_and_free), DAGLIB_MISUSE);
    CHECK_INT_EQ(freeing_calls, 2);
    CHECK_INT_EQ(v.type, DAGLIB_NULL);
}

/* ---- UTF-8 --------------------------------------------------------------- */

TEST(value_invalid_utf8_is_refused)
{
    static const struct {
        const char *bytes;
        const char *why;
    } bad[] = {
        {"\x80", "stray continuation byte"},
        {"a\xbf", "stray continuation byte after ASCII"},
        {"\xc3\xa9\xa9", "continuation byte after a complete sequence"},
        {"\xc0\x80", "overlong NUL"},
        {"\xc1\xbf", "overlong U+007F"},
        {"\xe0\x80\xaf", "overlong 3-byte /"},
        {"\xe0\x9f\xbf", "overlong U+07FF"},
        {"\xf0\x80\x80\xaf", "overlong 4-byte /"},
        {"\xf0\x8f\xbf\xbf", "overlong U+FFFF"},
        {"\xed\xa0\x80", "surrogate U+D800"},
        {"\xed\xbf\xbf", "surrogate U+DFFF"},
        {"\xed\xa0\xbd\xed\xb8\x80", "surrogate pair (CESU-8)"},
        {"\xf4\x90\x80\x80", "U+110000"},
        {"\xf5\x80\x80\x80", "lead byte F5"},
        {"\xf8\x88\x80\x80\x80", "5-byte form"},
        {"\xfe", "byte FE"},
        {"\xff", "byte FF"},
        {"\xc3", "truncated 2-byte at the end"},
        {"\xe2\x82", "truncated 3-byte at the end"},
        {"\xf0\x9f\x98", "truncated 4-byte at the end"},
        {"\xe2\x82x", "truncated 3-byte before ASCII"},
        {"\xc3\xc3\xa9", "lead byte where a continuation belongs"},
        {"0123456789abcdef\xe9", "Latin-1 after a long ASCII run"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *s = bad[i].bytes;
        if (utf8_valid(s, strlen(s)))
            FAIL("utf8_valid accepted %s", bad[i].why);
        daglib_value *v = daglib_value_new_text(s, -1);
        if (v != NULL)
            FAIL("daglib_value_new_text accepted %s", bad[i].why);
        daglib_value *list = daglib_value_new_list();
        CHECK_CODE(daglib_list_append_text(list, s, -1), DAGLIB_INVALID);
        CHECK_INT_EQ(daglib_value_count(list), 0);
        daglib_value_free(list);
    }
    /* A valid prefix does not excuse what follows it within n. */
    CHECK(daglib_value_new_text("ok\xff", 3) == NULL);
    CHECK(utf8_valid("ok\xff", 2));
    CHECK(!utf8_valid(NULL, 1));
}

TEST(value_valid_utf8_is_accepted_up_to_each_boundary)
{
    static const char *const good[] = {
        "",
        "plain ASCII, long enough for the eight-byte fast path",
        "\x7f",             /* U+007F, last 1-byte */
        "\xc2\x80",         /* U+0080, first 2-byte */
        "\xdf\xbf",         /* U+07FF, last 2-byte */
        "\xe0\xa0\x80",     /* U+0800, first 3-byte */
        "\xed\x9f\xbf",     /* U+D7FF, below the surrogates */
        "\xee\x80\x80",     /* U+E000, above them */
        "\xef\xbf\xbf",     /* U+FFFF */
        "\xf0\x90\x80\x80", /* U+10000, first 4-byte */
        "\xf4\x8f\xbf\xbf", /* U+10FFFF, the last code point */
        "0123456\303\2510123456789", /* \303\251 is U+00E9 */
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        CHECK(utf8_valid(good[i], strlen(good[i])));
        daglib_value *v = daglib_value_new_text(good[i], -1);
        CHECK(v != NULL);
        CHECK_STR_EQ(daglib_value_text(v), good[i]);
        daglib_value_free(v);
    }
    CHECK(utf8_valid(NULL, 0));
}

TEST(value_text_may_hold_nul_bytes_with_an_explicit_length)
{
    daglib_value *v = daglib_value_new_text("a\0b", 3);
    CHECK(v != NULL);
    CHECK_INT_EQ(daglib_value_bytes(v), 3);
    CHECK(memcmp(daglib_value_text(v), "a\0b", 4) == 0); /* NUL-terminated */
    CHECK_STR_EQ(daglib_value_text(v), "a");
    check_prints(v, "'a\\x00b'"); /* Python: repr('a\x00b') */
    daglib_value *shorter = daglib_value_new_text("a", -1);
    CHECK(!daglib_value_equal(v, shorter));
    daglib_value_free(shorter);
    daglib_value_free(v);
}

/* ---- printed form -------------------------------------------------------- */

TEST(value_prints_like_python_repr)
{
    /* The page's example. */
    check_prints_and_free(int_list(3, 2, 4, 6), "[2, 4, 6]");

    check_prints(NULL, "None");
    check_prints_and_free(daglib_value_new_null(), "None");
    check_prints_and_free(daglib_value_new_int(42), "42");
    check_prints_and_free(daglib_value_new_int(-7), "-7");
    check_prints_and_free(daglib_value_new_int(0), "0");
    check_prints_and_free(daglib_value_new_int(INT64_MIN),
                          "-9223372036854775808");
    check_prints_and_free(daglib_value_new_int(INT64_MAX),
                          "9223372036854775807");

    /* Reals: hexadecimal literals are the exact doubles Python printed. */
    static const struct {
        double real;
        const char *repr;
    } reals[] = {
        {0x1p+0, "1.0"},
        {0x1.999999999999ap-4, "0.1"},
        {0x1.1c37937e08000p+53, "1e+16"},
        {0x1.b69b4ba630f35p+56, "1.2345678901234568e+17"},
        {0x1.a36e2eb1c432dp-14, "0.0001"},
        {0x1.4f8b588e368f1p-17, "1e-05"},
        {0x1.3a92a30553262p-13, "0.00015000000000000001"},
        {0x1.a36e2eb1c432dp-16, "2.5e-05"},
        {INFINITY, "inf"},
        {-INFINITY, "-inf"},
        {NAN, "nan"},
        {-NAN, "nan"},
        {-0.0, "-0.0"},
        {0.0, "0.0"},
        {0x1.8p+0, "1.5"},
        {-0x1.4p+1, "-2.5"},
        {0x1.0f0cf064dd592p+73, "1e+22"},
        {0x1.c6bf526340000p+49, "1000000000000000.0"},
        {0x1.1c37937e07fffp+53, "9999999999999998.0"},
        {0x0.0000000000001p-1022, "5e-324"},
        {0x0.0000000000003p-1022, "1.5e-323"},
        {0x1.fffffffffffffp+1023, "1.7976931348623157e+308"},
        {0x1.5555555555555p-1, "0.6666666666666666"},
        {0x1.9p+6, "100.0"},
        {0x1.249ad2594c37dp+332, "1e+100"},
        {0x1p+63, "9.223372036854776e+18"},
        {0x1.3333333333334p-2, "0.30000000000000004"},
        {0x1.e240c9fbe76c9p+16, "123456.789"},
        /* Powers of two where the nearest 16-digit decimal misses but the
         * other neighbour reads back. */
        {0x1p+172, "5.986310706507379e+51"},
        {0x1p+976, "6.386688990511104e+293"},
    };
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++)
        check_prints_and_free(daglib_value_new_double(reals[i].real),
                              reals[i].repr);

    static const struct {
        const char *text;
        const char *repr;
    } texts[] = {
        {"hello", "'hello'"},
        {"", "''"},
        {"it's", "\"it's\""},
        {"say \"hi\"", "'say \"hi\"'"},
        {"both ' and \"", "'both \\' and \"'"},
        {"tab\there\n", "'tab\\there\\n'"},
        {"\r", "'\\r'"},
        {"\x01\x1f\x7f", "'\\x01\\x1f\\x7f'"},
        {"back\\slash", "'back\\\\slash'"},
        {"h\xc3\xa9llo \xe2\x82\xac", "'h\xc3\xa9llo \xe2\x82\xac'"},
        {"\xe4\xb8\xad\xe6\x96\x87\xf0\x9f\x98\x80",
         "'\xe4\xb8\xad\xe6\x96\x87\xf0\x9f\x98\x80'"},
        /* C1 controls, NBSP and soft hyphen are escaped; U+00A1 is not. */
        {"\xc2\x85\xc2\xa0\xc2\xad\xc2\xa1\xc3\xbf",
         "'\\x85\\xa0\\xad\xc2\xa1\xc3\xbf'"},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        check_prints_and_free(daglib_value_new_text(texts[i].text, -1),
                              texts[i].repr);

    static const struct {
        const char *bytes;
        size_t n;
        const char *repr;
    } blobs[] = {
        {"", 0, "b''"},
        {"\x00\x01" "abc\xff", 6, "b'\\x00\\x01abc\\xff'"},
        {"it's", 4, "b\"it's\""},
        {"\\", 1, "b'\\\\'"},
        {"\t\n\r", 3, "b'\\t\\n\\r'"},
        {"\"'", 2, "b'\"\\''"},
        {"\xc3\xa9", 2, "b'\\xc3\\xa9'"},
    };
    for (size_t i = 0; i < sizeof blobs / sizeof blobs[0]; i++)
        check_prints_and_free(daglib_value_new_blob(blobs[i].bytes, blobs[i].n),
                              blobs[i].repr);

    /* Containers: [1, [2, [3, (4,)]], (), []], ((1,),), ([1, 2], [3]). */
    daglib_value *deep = int_list(1, 3);
    CHECK_OK(daglib_list_append(deep, as_tuple(int_list(1, 4))));
    daglib_value *middle = int_list(1, 2);
    CHECK_OK(daglib_list_append(middle, deep));
    daglib_value *outer = int_list(1, 1);
    CHECK_OK(daglib_list_append(outer, middle));
    CHECK_OK(daglib_list_append(outer, as_tuple(daglib_value_new_list())));
    CHECK_OK(daglib_list_append(outer, daglib_value_new_list()));
    check_prints_and_free(outer, "[1, [2, [3, (4,)]], (), []]");

    daglib_value *nested = as_tuple(daglib_value_new_list());
    CHECK_OK(daglib_list_append(nested, as_tuple(int_list(1, 1))));
    check_prints_and_free(nested, "((1,),)");

    daglib_value *finals = as_tuple(daglib_value_new_list());
    CHECK_OK(daglib_list_append(finals, int_list(2, 1, 2)));
    CHECK_OK(daglib_list_append(finals, int_list(1, 3)));
    check_prints_and_free(finals, "([1, 2], [3])");

    check_prints_and_free(as_tuple(int_list(3, 3, 4, 5)), "(3, 4, 5)");
    check_prints_and_free(as_tuple(int_list(1, 3)), "(3,)");
    check_prints_and_free(as_tuple(daglib_value_new_list()), "()");
    check_prints_and_free(daglib_value_new_list(), "[]");

    daglib_value *mixed = daglib_value_new_list();
    CHECK_OK(daglib_list_append_text(mixed, "a", -1));
    CHECK_OK(daglib_list_append_null(mixed));
    CHECK_OK(daglib_list_append_double(mixed, 1.5));
    check_prints_and_free(mixed, "['a', None, 1.5]");

    /* A pointer prints its address. */
    char want[64];
    snprintf(want, sizeof want, "<pointer 0x%" PRIxPTR ">",
             (uintptr_t)counted_object);
    check_prints_and_free(daglib_value_new_pointer(counted_object, NULL), want);
    check_prints_and_free(daglib_value_new_pointer(NULL, NULL),
                          "<pointer 0x0>");
}

/* Python reads each line "<%a of a double>\t<our repr>" and checks that its
 * repr() of the double is ours; it also checks the line count. */
static const char reals_checker[] =
    "import sys\n"
    "n, bad = 0, 0\n"
    "for line in open('reals.txt'):\n"
    "    exact, ours = line.rstrip('\\n').split('\\t')\n"
    "    n += 1\n"
    "    want = repr(float.fromhex(exact))\n"
    "    if want != ours:\n"
    "        bad += 1\n"
    "        if bad <= 10:\n"
    "            print(f'{exact}: Python {want}, daglib {ours}',"
    " file=sys.stderr)\n"
    "if n != int(sys.argv[1]):\n"
    "    sys.exit(f'read {n} lines, want {sys.argv[1]}')\n"
    "sys.exit(1 if bad else 0)\n";

static void write_real(FILE *f, double d)
{
    daglib_value *v = daglib_value_new_double(d);
    char *s = daglib_value_to_string(v);
    CHECK(s != NULL);
    fprintf(f, "%a\t%s\n", d, s);
    daglib_free(s);
    daglib_value_free(v);
}

TEST(value_reals_print_as_python_repr_for_many_doubles)
{
    FILE *f = fopen("reals.txt", "w");
    CHECK(f != NULL);
    int n = 0;
    /* Every power of two, where shortest-digit search is hardest. */
    for (int e = -1074; e <= 1023; e++, n++)
        write_real(f, ldexp(1.0, e));
    /* Random bit patterns: every exponent, subnormals, NaN payloads. */
    for (int i = 0; i < 20000; i++, n++) {
        uint64_t bits = next_random();
        double d;
        memcpy(&d, &bits, sizeof d);
        write_real(f, d);
    }
    /* Short decimals at every scale, and neighbours of the boundaries
     * where Python switches to exponent form. */
    for (int i = 0; i < 20000; i++, n++) {
        double d = (double)(next_random() % 100000) *
                   pow(10.0, (int)(next_random() % 60) - 30);
        write_real(f, i % 2 ? d : -d);
    }
    static const double edges[] = {1e16, 1e-4, 1e-5, 9007199254740992.0,
                                   0.1, 1.0, 1e23};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        double d = edges[i];
        for (int k = 0; k < 8; k++, n += 2) {
            write_real(f, d);
            write_real(f, -d);
            d = nextafter(d, k < 4 ? 0.0 : INFINITY);
        }
    }
    CHECK(fclose(f) == 0);
    test_write_file("check.py", reals_checker, strlen(reals_checker));
    CHECK_INT_EQ(test_system("%s check.py %d", TEST_PYTHON, n), 0);
}

/* Python decodes each line "<hex of the data>\t<hex of our repr>" and
 * compares its own repr() of the str (kind t) or bytes (kind b). */
static const char quoted_checker[] =
    "import sys\n"
    "n, bad = 0, 0\n"
    "for line in open('quoted.txt'):\n"
    "    kind, data, ours = line.rstrip('\\n').split(' ')\n"
    "    n += 1\n"
    "    data = bytes.fromhex(data)\n"
    "    if kind == 't':\n"
    "        data = data.decode('utf-8')\n"
    "    ours = bytes.fromhex(ours).decode('utf-8')\n"
    "    if repr(data) != ours:\n"
    "        bad += 1\n"
    "        if bad <= 10:\n"
    "            print(f'Python {data!r}, daglib {ours}', file=sys.stderr)\n"
    "if n != int(sys.argv[1]):\n"
    "    sys.exit(f'read {n} lines, want {sys.argv[1]}')\n"
    "sys.exit(1 if bad else 0)\n";

/* Append the UTF-8 of code point c. */
static size_t put_utf8(unsigned char *out, uint32_t c)
{
    if (c < 0x80) {
        out[0] = (unsigned char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (unsigned char)(0xC0 | c >> 6);
        out[1] = (unsigned char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (unsigned char)(0xE0 | c >> 12);
        out[1] = (unsigned char)(0x80 | (c >> 6 & 0x3F));
        out[2] = (unsigned char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | c >> 18);
    out[1] = (unsigned char)(0x80 | (c >> 12 & 0x3F));
    out[2] = (unsigned char)(0x80 | (c >> 6 & 0x3F));
    out[3] = (unsigned char)(0x80 | (c & 0x3F));
    return 4;
}

static void write_quoted(FILE *f, daglib_value *v)
{
    CHECK(v != NULL);
    char *s = daglib_value_to_string(v);
    CHECK(s != NULL);
    fputs(daglib_value_type(v) == DAGLIB_TEXT ? "t " : "b ", f);
    put_hex(f, daglib_value_blob(v), daglib_value_bytes(v));
    fputc(' ', f);
    put_hex(f, s, strlen(s));
    fputc('\n', f);
    daglib_free(s);
    daglib_value_free(v);
}

TEST(value_text_and_blobs_print_as_python_repr)
{
    /* Characters Python prints as they are beyond Latin-1, and quotes and
     * backslashes often, so that every quoting rule is met. */
    static const uint32_t others[] = {'\'', '"', '\\', 0x100,  0x394, 0x20AC,
                                      0x4E2D, 0xFFFD, 0x1F600, '\'', '"'};
    FILE *f = fopen("quoted.txt", "w");
    CHECK(f != NULL);
    int n = 0;
    for (int i = 0; i < 5000; i++, n++) {
        unsigned char text[16 * 4];
        size_t len = 0, chars = next_random() % 16;
        for (size_t k = 0; k < chars; k++) {
            uint64_t r = next_random();
            uint32_t c = r % 3 == 0 ? (uint32_t)(r >> 8) % 0x100
                                    : r % 3 == 1 ? (uint32_t)(r >> 8) % 0x80
                                                 : others[(r >> 8) % 11];
            len += put_utf8(text + len, c);
        }
        write_quoted(f, daglib_value_new_text((char *)text, (ptrdiff_t)len));
    }
    for (int i = 0; i < 5000; i++, n++) {
        unsigned char blob[16];
        size_t len = next_random() % 16;
        for (size_t k = 0; k < len; k++) {
            uint64_t r = next_random();
            blob[k] = r % 4 == 0 ? (unsigned char)"'\"\\"[(r >> 8) % 3]
                                 : (unsigned char)(r >> 8);
        }
        write_quoted(f, daglib_value_new_blob(blob, len));
    }
    CHECK(fclose(f) == 0);
    test_write_file("check.py", quoted_checker, strlen(quoted_checker));
    CHECK_INT_EQ(test_system("%s check.py %d", TEST_PYTHON, n), 0);
}

TEST(value_reals_print_the_same_in_any_locale)
{
    /* A German locale writes 1,5; build one here, as the machine may have
     * none installed, and make sure it is really in force. */
    if (test_system("mkdir locales && localedef -i de_DE -f UTF-8 "
                    "locales/de_DE.UTF-8 >/dev/null 2>&1") != 0)
        FAIL("localedef -i de_DE failed (Debian package: locales)");
    char dir[4096];
    CHECK(getcwd(dir, sizeof dir - 16) != NULL);
    strcat(dir, "/locales");
    CHECK(setenv("LOCPATH", dir, 1) == 0);
    CHECK(setlocale(LC_NUMERIC, "de_DE.UTF-8") != NULL);
    char probe[16];
    snprintf(probe, sizeof probe, "%.1f", 1.5);
    CHECK_STR_EQ(probe, "1,5");

    check_prints_and_free(daglib_value_new_double(1.5), "1.5");
    check_prints_and_free(daglib_value_new_double(0.1), "0.1");
    check_prints_and_free(daglib_value_new_double(1e16), "1e+16");
    check_prints_and_free(daglib_value_new_double(-1.2345678901234568e-17),
                          "-1.2345678901234568e-17");
    daglib_value *list = daglib_value_new_list();
    CHECK_OK(daglib_list_append_double(list, 2.25));
    CHECK_OK(daglib_list_append_double(list, 1e300));
    check_prints_and_free(list, "[2.25, 1e+300]");
    setlocale(LC_NUMERIC, "C");
}

TEST(value_print_writes_the_form_and_reports_failing_streams)
{
    daglib_value *list = int_list(3, 2, 4, 6);
    FILE *f = fopen("printed.txt", "w");
    CHECK(f != NULL);
    CHECK_OK(daglib_value_print(list, f));
    CHECK_OK(daglib_value_print(NULL, f));
    CHECK(fclose(f) == 0);
    char *printed = test_read_file("printed.txt", NULL);
    CHECK_STR_EQ(printed, "[2, 4, 6]None"); /* no newline, as fputs */
    free(printed);

    /* /dev/full refuses every write; unbuffered, fwrite sees it at once. */
    FILE *full = fopen("/dev/full", "w");
    CHECK(full != NULL);
    setvbuf(full, NULL, _IONBF, 0);
    CHECK_CODE(daglib_value_print(list, full), DAGLIB_IO);
    fclose(full);

    /* A stream already in error is reported too. */
    FILE *read_only = fopen("printed.txt", "r");
    CHECK(read_only != NULL);
    CHECK_CODE(daglib_value_print(list, read_only), DAGLIB_IO);
    fclose(read_only);

    CHECK_CODE(daglib_value_print(list, NULL), DAGLIB_MISUSE);
    daglib_value_free(list);
}

TEST(value_million_int_list_prints_and_frees)
{
    enum { N = 1000000 };
    daglib_value *list = daglib_value_new_list();
    for (int i = 0; i < N; i++)
        CHECK_OK(daglib_list_append_int(list, i % 2 ? i : -i));
    char *s = daglib_value_to_string(list);
    CHECK(s != NULL);
    /* Rebuild the expected text with printf, item by item. */
    size_t len = strlen(s), at = 1;
    CHECK(s[0] == '[' && s[len - 1] == ']');
    for (int i = 0; i < N; i++) {
        char item[32];
        int n = snprintf(item, sizeof item, i + 1 < N ? "%d, " : "%d]",
                         i % 2 ? i : -i);
        if (strncmp(s + at, item, (size_t)n) != 0)
            FAIL("item %d: want \"%s\" at offset %zu", i, item, at);
        at += (size_t)n;
    }
    CHECK_INT_EQ(at, len);
    daglib_free(s);
    daglib_value_free(list);
}

TEST(value_deep_nesting_prints_copies_compares_and_frees_without_recursion)
{
    /* Deeper than any C stack would take one frame per level. */
    enum { DEPTH = 500000 };
    daglib_value *v = int_list(1, 7);
    for (int i = 1; i < DEPTH; i++) {
        daglib_value *outer = daglib_value_new_list();
        CHECK_OK(daglib_list_append(outer, v));
        v = outer;
    }
    char *s = daglib_value_to_string(v);
    CHECK(s != NULL);
    CHECK_INT_EQ(strlen(s), 2 * DEPTH + 1);
    CHECK(s[DEPTH - 1] == '[' && s[DEPTH] == '7' && s[DEPTH + 1] == ']');
    daglib_free(s);

    daglib_value *copy = daglib_value_copy(v);
    CHECK(copy != NULL);
    CHECK(daglib_value_equal(copy, v));

    /* Change the copy's innermost item: no longer equal. */
    daglib_value *inner = copy;
    while (daglib_value_type(daglib_value_item(inner, 0)) == DAGLIB_LIST)
        inner = (daglib_value *)daglib_value_item(inner, 0);
    CHECK_OK(daglib_list_append_int(inner, 8));
    CHECK(!daglib_value_equal(copy, v));
    daglib_value_free(copy);
    daglib_value_free(v);
}

TEST(value_equal_compares_type_and_contents)
{
    daglib_value *a = int_list(3, 1, 2, 3), *b = int_list(3, 1, 2, 3);
    CHECK(daglib_value_equal(a, b));
    CHECK(daglib_value_equal(a, a));
    CHECK_OK(daglib_list_append_int(b, 4));
    CHECK(!daglib_value_equal(a, b)); /* a prefix is not enough */
    daglib_value_free(b);
    b = as_tuple(int_list(3, 1, 2, 3));
    CHECK(daglib_value_equal(a, b)); /* a tuple equals the list */
    daglib_value_free(b);
    b = int_list(3, 1, 2, 4);
    CHECK(!daglib_value_equal(a, b));
    daglib_value_free(a);
    daglib_value_free(b);

    /* Same number, other type. */
    a = daglib_value_new_int(1);
    b = daglib_value_new_double(1.0);
    CHECK(!daglib_value_equal(a, b));
    daglib_value_free(a);
    daglib_value_free(b);

    /* Reals with ==. */
    a = daglib_value_new_double(NAN);
    CHECK(!daglib_value_equal(a, a));
    daglib_value_free(a);
    a = daglib_value_new_double(0.0);
    b = daglib_value_new_double(-0.0);
    CHECK(daglib_value_equal(a, b));
    daglib_value_free(a);
    daglib_value_free(b);

    /* Text and blob: bytes and length; the same bytes of both types differ. */
    a = daglib_value_new_text("ab", -1);
    b = daglib_value_new_text("abc", 2);
    CHECK(daglib_value_equal(a, b));
    daglib_value_free(b);
    b = daglib_value_new_blob("ab", 2);
    CHECK(!daglib_value_equal(a, b));
    daglib_value_free(a);
    a = daglib_value_new_blob("ab", 2);
    CHECK(daglib_value_equal(a, b));
    daglib_value_free(a);
    daglib_value_free(b);
    a = daglib_value_new_blob(NULL, 0);
    b = daglib_value_new_blob("", 0);
    CHECK(daglib_value_equal(a, b));
    daglib_value_free(a);
    daglib_value_free(b);

    /* Pointers by address, whatever the destructor. */
    a = daglib_value_new_pointer(counted_object, NULL);
    b = daglib_value_new_pointer(counted_object, count_destroy);
    CHECK(daglib_value_equal(a, b));
    daglib_value_free(b);
    b = daglib_value_new_pointer(&shared, NULL);
    CHECK(!daglib_value_equal(a, b));
    daglib_value_free(a);
    daglib_value_free(b);

    /* Nested lists, compared all the way down. */
    a = daglib_value_new_list();
    b = daglib_value_new_list();
    CHECK_OK(daglib_list_append(a, int_list(2, 1, 2)));
    CHECK_OK(daglib_list_append(b, int_list(2, 1, 2)));
    CHECK_OK(daglib_list_append(a, daglib_value_new_list()));
    CHECK_OK(daglib_list_append(b, daglib_value_new_list()));
    CHECK(daglib_value_equal(a, b));
    CHECK_OK(daglib_list_append_null((daglib_value *)daglib_value_item(b, 1)));
    CHECK(!daglib_value_equal(a, b));
    daglib_value_free(a);
    daglib_value_free(b);

    /* NULL pointers read as NULL values. */
    a = daglib_value_new_null();
    CHECK(daglib_value_equal(NULL, NULL));
    CHECK(daglib_value_equal(a, NULL));
    CHECK(daglib_value_equal(NULL, a));
    daglib_value_free(a);
    a = daglib_value_new_int(0);
    CHECK(!daglib_value_equal(a, NULL));
    daglib_value_free(a);
}

/* ---- the scheduler's helpers --------------------------------------------- */

TEST(value_shallow_list_views_items_and_frees_only_its_array)
{
    reset_counters();
    /* Results owned elsewhere, as the scheduler keeps them. */
    daglib_value results[3];
    CHECK_OK(value_set_text(&results[0], "first", -1, DAGLIB_TRANSIENT));
    CHECK_OK(value_set_pointer(&results[1], counted_object, count_destroy));
    value_set_list(&results[2]);
    CHECK_OK(daglib_list_append_int(&results[2], 3));
    const daglib_value *views[] = {&results[0], &results[1], &results[2], NULL};

    daglib_value join;
    CHECK_OK(value_shallow_list(&join, views, 4));
    CHECK(join.flags & VALUE_SHALLOW);
    CHECK_INT_EQ(daglib_value_count(&join), 4);
    CHECK(daglib_value_text(daglib_value_item(&join, 0)) ==
          daglib_value_text(&results[0])); /* a view, not a copy */
    CHECK_INT_EQ(daglib_value_type(daglib_value_item(&join, 3)), DAGLIB_NULL);
    char want[96];
    snprintf(want, sizeof want,
             "['first', <pointer 0x%" PRIxPTR ">, [3], None]",
             (uintptr_t)counted_object);
    check_prints(&join, want);

    /* A deep copy is an ordinary list, owning its items. */
    daglib_value copy;
    CHECK_OK(value_copy_into(&copy, &join));
    CHECK(!(copy.flags & VALUE_SHALLOW));
    CHECK(daglib_value_equal(&copy, &join));
    CHECK(daglib_value_text(daglib_value_item(&copy, 0)) !=
          daglib_value_text(&results[0]));
    CHECK_OK(daglib_list_append_int(&copy, 4));

    value_clear(&join); /* frees the array only */
    CHECK_INT_EQ(join.type, DAGLIB_NULL);
    CHECK_STR_EQ(daglib_value_text(&results[0]), "first");
    CHECK_INT_EQ(daglib_value_int(daglib_value_item(&results[2], 0)), 3);
    for (int i = 0; i < 3; i++)
        value_clear(&results[i]);
    CHECK_INT_EQ(destructor_calls, 0); /* the copy still holds the pointer */
    value_clear(&copy);
    CHECK_INT_EQ(destructor_calls, 1);

    CHECK_OK(value_shallow_list(&join, NULL, 0));
    check_prints(&join, "[]");
    value_clear(&join);
}

TEST(value_box_and_unbox_move_a_value_in_and_out_of_a_shell)
{
    daglib_value inline_value;
    value_set_list(&inline_value);
    inline_value.flags |= VALUE_TUPLE;
    CHECK_OK(daglib_list_append_int(&inline_value, 5));
    daglib_value *shell = value_box(&inline_value);
    CHECK(shell != NULL);
    CHECK_INT_EQ(inline_value.type, DAGLIB_NULL); /* moved out */
    check_prints(shell, "(5,)");

    daglib_value back;
    value_unbox(&back, shell); /* the shell is freed (ASan, valgrind) */
    check_prints(&back, "(5,)");
    value_clear(&back);

    value_unbox(&back, NULL);
    CHECK_INT_EQ(back.type, DAGLIB_NULL);
}

TEST(value_null_arguments_never_crash)
{
    daglib_value_free(NULL);
    CHECK(daglib_value_new_text(NULL, -1) == NULL);
    CHECK(daglib_value_new_text(NULL, 4) == NULL);
    CHECK(daglib_value_new_blob(NULL, 4) == NULL);
    CHECK(daglib_value_copy(NULL) == NULL);
    check_prints(NULL, "None");
    CHECK_CODE(daglib_list_append(NULL, NULL), DAGLIB_MISUSE);
    CHECK_CODE(daglib_list_append_text(NULL, "x", -1), DAGLIB_MISUSE);
    CHECK(daglib_value_equal(NULL, NULL));
    daglib_free(NULL);

    daglib_value *v = daglib_value_new_pointer(NULL, NULL);
    CHECK(v != NULL);
    CHECK(daglib_value_pointer(v) == NULL);
    daglib_value_free(v);
}

/* ---- running out of memory ----------------------------------------------- */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif

#ifndef UNDER_SANITIZER
/* Cap the address space a few MiB above what the process uses now, so
 * that the next large allocation fails (this test runs in its own child). */
static void limit_memory_growth(size_t headroom)
{
    long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    CHECK(f != NULL && fscanf(f, "%ld", &pages) == 1);
    fclose(f);
    struct rlimit limit;
    CHECK(getrlimit(RLIMIT_AS, &limit) == 0);
    limit.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + headroom;
    CHECK(setrlimit(RLIMIT_AS, &limit) == 0);
}
#endif

TEST(value_running_out_of_memory_keeps_every_contract)
{
    reset_counters();
#ifdef UNDER_SANITIZER
    /* Sanitizer allocators abort rather than return NULL, and need far
     * more address space than they use: the plain and valgrind runs
     * cover this test. */
    printf("    (skipped under a sanitizer)\n");
#else
    enum { BIG = 64 << 20, LIST_ITEMS = 1 << 21, TEXTS = 64 };
    /* Everything large is made before the limit. */
    char *big = malloc(BIG);
    CHECK(big != NULL);
    memset(big, 'a', BIG);
    char *big_too = malloc(BIG);
    CHECK(big_too != NULL);
    memset(big_too, 'b', BIG);

    daglib_value *list = daglib_value_new_list();
    CHECK_OK(value_list_reserve(list, LIST_ITEMS));
    for (int i = 0; i < LIST_ITEMS; i++)
        CHECK_OK(daglib_list_append_int(list, i));
    CHECK_INT_EQ(list->capacity, LIST_ITEMS); /* full: the next one grows */

    daglib_value *texts = daglib_value_new_list();
    for (int i = 0; i < TEXTS; i++)
        CHECK_OK(daglib_list_append_text(texts, big, 1 << 20));

    limit_memory_growth(8 << 20);
    CHECK(malloc(16 << 20) == NULL); /* the limit is in force */

    /* Copying text fails; the destructor still runs, once. */
    daglib_value v;
    CHECK_CODE(value_set_text(&v, big, BIG, count_and_free), DAGLIB_NOMEM);
    CHECK_INT_EQ(freeing_calls, 1);
    CHECK_INT_EQ(v.type, DAGLIB_NULL);
    limit_memory_growth(8 << 20); /* big is gone: lower the cap again */
    CHECK_CODE(value_set_blob(&v, big_too, BIG, count_and_free), DAGLIB_NOMEM);
    CHECK_INT_EQ(freeing_calls, 2);
    CHECK_INT_EQ(v.type, DAGLIB_NULL);

    limit_memory_growth(8 << 20);

    /* A full list cannot grow: the item is freed, the list is intact. */
    CHECK_CODE(daglib_list_append(list, daglib_value_new_pointer(
                                            counted_object, count_destroy)),
               DAGLIB_NOMEM);
    CHECK_INT_EQ(destructor_calls, 1);
    CHECK_CODE(daglib_list_append_int(list, -1), DAGLIB_NOMEM);
    CHECK_INT_EQ(daglib_value_count(list), LIST_ITEMS);
    CHECK_INT_EQ(daglib_value_int(daglib_value_item(list, LIST_ITEMS - 1)),
                 LIST_ITEMS - 1);

    /* Copies and printed forms that do not fit give NULL, and leave the
     * original alone; what was half built is freed (valgrind checks). */
    CHECK(daglib_value_copy(list) == NULL);
    CHECK(daglib_value_copy(texts) == NULL);
    CHECK_INT_EQ(daglib_value_count(texts), TEXTS);
    CHECK(daglib_value_to_string(list) == NULL);
    CHECK_CODE(daglib_value_print(list, stdout), DAGLIB_NOMEM);

    daglib_value_free(texts); /* big and big_too went to their destructor */
    daglib_value_free(list);
    /* With the memory back, all works again. */
    check_prints_and_free(int_list(2, 1, 2), "[1, 2]");
#endif
}
