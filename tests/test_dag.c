/*
 * test_dag.c -- building a DAG: names, settings, and every kind of bad
 * input, each ending in a clear error and never in a file on disk.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "big_array.h"
#include "dag.h"
#include "test.h"

static void nothing(daglib_context *ctx, int argc,
                    const daglib_value *const *argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
}

static int path_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

TEST(dag_keeps_its_name_and_description)
{
    daglib_dag *dag = daglib_dag_new("example", "This is an example DAG", 0);
    CHECK(dag != NULL);
    CHECK_STR_EQ(daglib_dag_name(dag), "example");
    CHECK_CODE(daglib_dag_errcode(dag), DAGLIB_OK);
    CHECK_STR_EQ(daglib_dag_errmsg(dag), "not an error");
    CHECK(daglib_dag_run_id(dag) == NULL);
    CHECK(daglib_dag_profile_path(dag) == NULL);
    daglib_dag_free(dag);
}

TEST(dag_without_a_name_gets_a_safe_generated_one)
{
    daglib_dag *a = daglib_dag_new(NULL, NULL, 0);
    daglib_dag *b = daglib_dag_new(NULL, NULL, 0);
    CHECK_CODE(daglib_dag_errcode(a), DAGLIB_OK);
    const char *name = daglib_dag_name(a);
    CHECK_INT_EQ(strlen(name), 16);
    CHECK(strncmp(name, "dag_", 4) == 0);
    CHECK(strspn(name + 4, "0123456789abcdef") == 12);
    CHECK(strcmp(name, daglib_dag_name(b)) != 0);
    daglib_dag_free(a);
    daglib_dag_free(b);
}

TEST(dag_refuses_unsafe_names_and_writes_nothing)
{
    static const char *const unsafe[] = {
        "", ".", "..", "../escape", "a/b", "/abs", ".hidden", "tab\there",
        "bad\xff" "utf8",
        "12345678901234567890123456789012345678901234567890123456789012345"
        "678901234567890123456789012345678901234567890123456789012345678901",
    };
    for (size_t i = 0; i < sizeof unsafe / sizeof unsafe[0]; i++) {
        daglib_dag *dag = daglib_dag_new(unsafe[i], "d", DAGLIB_PROFILE);
        CHECK(dag != NULL);
        CHECK_CODE(daglib_dag_errcode(dag), DAGLIB_INVALID);
        CHECK(strlen(daglib_dag_errmsg(dag)) > 10);
        /* Sticky: nothing can be added, and the run refuses too. */
        CHECK(daglib_task_add(dag, "t", NULL, nothing, NULL) == NULL);
        CHECK_CODE(daglib_run(dag, NULL), DAGLIB_INVALID);
        daglib_dag_free(dag);
    }
    CHECK(!path_exists("meta"));
    CHECK(!path_exists("escape"));
}

TEST(dag_name_message_says_what_is_wrong)
{
    daglib_dag *dag = daglib_dag_new("../up", NULL, 0);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "../up");
    daglib_dag_free(dag);
    dag = daglib_dag_new("a/b", NULL, 0);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "/");
    daglib_dag_free(dag);
}

TEST(dag_refuses_unknown_flags)
{
    daglib_dag *dag = daglib_dag_new("flags", NULL, 0x80);
    CHECK_CODE(daglib_dag_errcode(dag), DAGLIB_INVALID);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "0x80");
    daglib_dag_free(dag);
}

TEST(dag_refuses_a_duplicate_task_name)
{
    daglib_dag *dag = daglib_dag_new("dups", NULL, 0);
    CHECK(daglib_task_add(dag, "task_1", NULL, nothing, NULL) != NULL);
    CHECK(daglib_task_add(dag, "task_1", NULL, nothing, NULL) == NULL);
    CHECK_CODE(daglib_dag_errcode(dag), DAGLIB_DUPLICATE);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "task_1");
    CHECK_CODE(daglib_run(dag, NULL), DAGLIB_DUPLICATE);
    daglib_dag_free(dag);
}

TEST(dag_refuses_bad_task_names)
{
    static const char *const bad[] = {"", "new\nline", "bell\a", "del\x7f",
                                      "\xc0\xaf"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        daglib_dag *dag = daglib_dag_new("names", NULL, 0);
        CHECK(daglib_task_add(dag, bad[i], NULL, nothing, NULL) == NULL);
        CHECK_CODE(daglib_dag_errcode(dag), DAGLIB_INVALID);
        daglib_dag_free(dag);
    }
    daglib_dag *dag = daglib_dag_new("names", NULL, 0);
    CHECK(daglib_task_add(dag, "add_two 0", "spaces and ünïcode are fine",
                          nothing, NULL) != NULL);
    CHECK(daglib_task_add(dag, "t", "bad \xff description", nothing, NULL) ==
          NULL);
    CHECK_CODE(daglib_dag_errcode(dag), DAGLIB_INVALID);
    daglib_dag_free(dag);
}

/* text[0..len] in a block of just that size: ASan catches a load past its
 * end. */
static char *exact_copy(const char *text, size_t len)
{
    char *copy = malloc(len + 1);
    if (copy != NULL)
        memcpy(copy, text, len + 1);
    return copy;
}

/* Whether a DAG of its own refuses name as a task's and as an input's,
 * with a message that contains `why`. */
static int refused_both_ways(const char *name, const char *why)
{
    daglib_dag *dag = daglib_dag_new("bytes", NULL, 0);
    int refused = daglib_task_add(dag, name, NULL, nothing, NULL) == NULL &&
                  daglib_dag_errcode(dag) == DAGLIB_INVALID &&
                  strstr(daglib_dag_errmsg(dag), why) != NULL;
    daglib_dag_free(dag);
    dag = daglib_dag_new("bytes", NULL, 0);
    daglib_task *reader = daglib_task_add(dag, "reader", NULL, nothing, NULL);
    refused = refused && daglib_task_input(reader, name) == DAGLIB_INVALID &&
              strstr(daglib_dag_errmsg(dag), why) != NULL;
    daglib_dag_free(dag);
    return refused;
}

TEST(dag_task_names_are_checked_at_every_byte_and_length)
{
    /* Names are looked at eight bytes at a time: each length up to three
     * words, each position, bytes either side of the printable range, and
     * UTF-8, whole or cut. */
    static const unsigned char control[] = {0x01, '\t', 0x1f, 0x7f};
    static const unsigned char printable[] = {' ', '!', '0', '~', 'z'};
    for (size_t len = 1; len <= 24; len++) {
        daglib_dag *dag = daglib_dag_new("bytes", NULL, 0);
        daglib_task *reader =
            daglib_task_add(dag, "reader", NULL, nothing, NULL);
        char text[32];
        for (size_t at = 0; at < len; at++) {
            memset(text, 'a' + (int)(len % 26), len);
            text[len] = '\0';
            for (size_t b = 0; b < sizeof printable + 1; b++) {
                if (b < sizeof printable) {
                    text[at] = (char)printable[b];
                } else if (at + 1 < len) { /* "é", two bytes of UTF-8 */
                    text[at] = (char)0xc3;
                    text[at + 1] = (char)0xa9;
                }
                char *name = exact_copy(text, len);
                CHECK(name != NULL);
                if (daglib_dag_task(dag, name) == NULL) {
                    CHECK(daglib_task_add(dag, name, NULL, nothing, NULL) !=
                          NULL);
                    CHECK_OK(daglib_task_input(reader, name));
                }
                free(name);
            }
            memset(text, 'a' + (int)(len % 26), len);
            for (size_t b = 0; b < sizeof control + 1; b++) {
                const char *why = "control character";
                if (b < sizeof control) {
                    text[at] = (char)control[b];
                } else { /* a lone continuation byte */
                    text[at] = (char)0xa9;
                    why = "UTF-8";
                }
                char *name = exact_copy(text, len);
                CHECK(name != NULL);
                if (!refused_both_ways(name, why))
                    FAIL("byte 0x%02x at %zu of %zu was not refused",
                         (unsigned char)text[at], at, len);
                free(name);
            }
        }
        CHECK_INT_EQ(daglib_dag_errcode(dag), DAGLIB_OK);
        CHECK_OK(daglib_run(dag, NULL));
        daglib_dag_free(dag);
    }
}

TEST(dag_task_names_may_take_4096_bytes_and_no_more)
{
    static char name[4098];
    memset(name, 'n', 4097);
    daglib_dag *dag = daglib_dag_new("long", NULL, 0);
    daglib_task *longest = daglib_task_add(dag, name + 1, NULL, nothing, NULL);
    CHECK(longest != NULL);
    CHECK(daglib_task_add(dag, name, NULL, nothing, NULL) == NULL);
    CHECK_CODE(daglib_dag_errcode(dag), DAGLIB_INVALID);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "longer than 4096 bytes");
    daglib_dag_free(dag);
    /* As an input's name too. */
    dag = daglib_dag_new("long", NULL, 0);
    daglib_task *t = daglib_task_add(dag, "t", NULL, nothing, NULL);
    CHECK_CODE(daglib_task_input(t, name), DAGLIB_INVALID);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "longer than 4096 bytes");
    daglib_dag_free(dag);
}

TEST(dag_null_arguments_are_misuse_not_crashes)
{
    CHECK_CODE(daglib_run(NULL, NULL), DAGLIB_MISUSE);
    CHECK(daglib_task_add(NULL, "t", NULL, nothing, NULL) == NULL);
    CHECK_CODE(daglib_task_input(NULL, "t"), DAGLIB_MISUSE);
    CHECK_CODE(daglib_task_depends_on(NULL, "t"), DAGLIB_MISUSE);
    CHECK_CODE(daglib_task_set_final(NULL), DAGLIB_MISUSE);
    CHECK_CODE(daglib_dag_set_workers(NULL, 2), DAGLIB_MISUSE);
    CHECK_CODE(daglib_dag_set_meta_dir(NULL, "x"), DAGLIB_MISUSE);
    CHECK_CODE(daglib_dag_errcode(NULL), DAGLIB_MISUSE);
    CHECK(daglib_dag_errmsg(NULL) != NULL);
    CHECK(daglib_dag_name(NULL) == NULL);
    CHECK(daglib_task_name(NULL) == NULL);
    CHECK(daglib_dag_task(NULL, "t") == NULL);
    daglib_dag_free(NULL);

    daglib_dag *dag = daglib_dag_new("nulls", NULL, 0);
    CHECK(daglib_task_add(dag, NULL, NULL, nothing, NULL) == NULL);
    CHECK_CODE(daglib_dag_errcode(dag), DAGLIB_MISUSE);
    daglib_dag_free(dag);

    dag = daglib_dag_new("nulls", NULL, 0);
    CHECK(daglib_task_add(dag, "t", NULL, NULL, NULL) == NULL);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "without a function");
    daglib_dag_free(dag);

    dag = daglib_dag_new("nulls", NULL, 0);
    daglib_task *t = daglib_task_add(dag, "t", NULL, nothing, NULL);
    CHECK_CODE(daglib_task_input(t, NULL), DAGLIB_MISUSE);
    CHECK_CODE(daglib_run(dag, NULL), DAGLIB_MISUSE);
    daglib_dag_free(dag);
}

TEST(dag_worker_counts_must_be_sane)
{
    daglib_dag *dag = daglib_dag_new("workers", NULL, 0);
    CHECK_OK(daglib_dag_set_workers(dag, 1));
    CHECK_OK(daglib_dag_set_workers(dag, DAGLIB_MAX_WORKERS));
    CHECK(daglib_task_add(dag, "t", NULL, nothing, NULL) != NULL);
    CHECK_OK(daglib_run(dag, NULL));
    daglib_dag_free(dag);
    const int bad[] = {0, -3, DAGLIB_MAX_WORKERS + 1};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        /* A build error: sticky, so an unchecked call still stops the
         * run, and a good value afterwards does not hide it. */
        dag = daglib_dag_new("workers", NULL, 0);
        CHECK_CODE(daglib_dag_set_workers(dag, bad[i]), DAGLIB_INVALID);
        CHECK_CONTAINS(daglib_dag_errmsg(dag), "workers");
        CHECK_CODE(daglib_dag_set_workers(dag, 1), DAGLIB_INVALID);
        CHECK(daglib_task_add(dag, "t", NULL, nothing, NULL) == NULL);
        CHECK_CODE(daglib_run(dag, NULL), DAGLIB_INVALID);
        CHECK_CONTAINS(daglib_dag_errmsg(dag), "workers");
        daglib_dag_free(dag);
    }
}

TEST(dag_codec_must_be_known)
{
    daglib_dag *dag = daglib_dag_new("codec", NULL, 0);
    CHECK_OK(daglib_dag_set_codec(dag, "deflate"));
    CHECK_OK(daglib_dag_set_codec(dag, "null"));
    daglib_dag_free(dag);
    /* Each bad setting is a sticky build error: a program that does not
     * check the call still gets it from daglib_run(), and never a run
     * without the compression it asked for. */
    const char *const bad[] = {"zstandard", NULL, "meta:"};
    for (int i = 0; i < 3; i++) {
        dag = daglib_dag_new("codec", NULL, DAGLIB_PROFILE);
        CHECK(daglib_task_add(dag, "t", NULL, nothing, NULL) != NULL);
        if (i < 2)
            CHECK_CODE(daglib_dag_set_codec(dag, bad[i]), DAGLIB_INVALID);
        else
            CHECK_CODE(daglib_dag_set_meta_dir(dag, ""), DAGLIB_INVALID);
        CHECK_CODE(daglib_dag_set_codec(dag, "null"), DAGLIB_INVALID);
        CHECK_CODE(daglib_run(dag, NULL), DAGLIB_INVALID);
        CHECK(daglib_dag_profile_path(dag) == NULL);
        if (i == 0)
            CHECK_CONTAINS(daglib_dag_errmsg(dag), "zstandard");
        daglib_dag_free(dag);
    }
}

TEST(dag_unknown_input_is_reported_when_it_runs)
{
    daglib_dag *dag = daglib_dag_new("unknown", NULL, 0);
    daglib_task *t = daglib_task_add(dag, "task_2", NULL, nothing, NULL);
    CHECK_OK(daglib_task_input(t, "task_one"));
    CHECK_CODE(daglib_run(dag, NULL), DAGLIB_NOTFOUND);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "task_2");
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "task_one");
    /* Adding the missing task fixes it: the error was not sticky. */
    CHECK(daglib_task_add(dag, "task_one", NULL, nothing, NULL) != NULL);
    CHECK_OK(daglib_run(dag, NULL));
    daglib_dag_free(dag);
}

TEST(dag_cycle_is_reported_with_the_tasks_on_it)
{
    daglib_dag *dag = daglib_dag_new("cycle", NULL, DAGLIB_PROFILE);
    daglib_task *start = daglib_task_add(dag, "start", NULL, nothing, NULL);
    (void)start;
    daglib_task *a = daglib_task_add(dag, "a", NULL, nothing, NULL);
    daglib_task *b = daglib_task_add(dag, "b", NULL, nothing, NULL);
    daglib_task *c = daglib_task_add(dag, "c", NULL, nothing, NULL);
    daglib_task *after = daglib_task_add(dag, "after", NULL, nothing, NULL);
    CHECK_OK(daglib_task_input(a, "start"));
    CHECK_OK(daglib_task_input(a, "c"));
    CHECK_OK(daglib_task_input(b, "a"));
    CHECK_OK(daglib_task_input(c, "b"));
    CHECK_OK(daglib_task_input(after, "c"));
    CHECK_CODE(daglib_run(dag, NULL), DAGLIB_CYCLE);
    const char *msg = daglib_dag_errmsg(dag);
    CHECK(strstr(msg, "a -> b -> c -> a") || strstr(msg, "b -> c -> a -> b") ||
          strstr(msg, "c -> a -> b -> c"));
    CHECK(strstr(msg, "start") == NULL);
    CHECK(strstr(msg, "after") == NULL);
    CHECK(!path_exists("meta")); /* refused before the profiling file */
    daglib_dag_free(dag);
}

TEST(dag_task_that_needs_itself_is_a_cycle)
{
    daglib_dag *dag = daglib_dag_new("self", NULL, 0);
    daglib_task *t = daglib_task_add(dag, "ouroboros", NULL, nothing, NULL);
    CHECK_OK(daglib_task_depends_on(t, "ouroboros"));
    CHECK_CODE(daglib_run(dag, NULL), DAGLIB_CYCLE);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "ouroboros -> ouroboros");
    daglib_dag_free(dag);
}

TEST(dag_finds_tasks_by_name)
{
    daglib_dag *dag = daglib_dag_new("lookup", NULL, 0);
    char name[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "task %d", i);
        CHECK(daglib_task_add(dag, name, NULL, nothing, NULL) != NULL);
    }
    for (int i = 0; i < 5000; i += 7) {
        snprintf(name, sizeof name, "task %d", i);
        daglib_task *t = daglib_dag_task(dag, name);
        CHECK(t != NULL);
        CHECK_STR_EQ(daglib_task_name(t), name);
    }
    CHECK(daglib_dag_task(dag, "task 5000") == NULL);
    daglib_dag_free(dag);
}

/* ---- room made ahead ----------------------------------------------------- */

/* Add tasks "r<from>" .. "r<to - 1>". */
static void add_numbered(daglib_dag *dag, int from, int to)
{
    char name[32];
    for (int i = from; i < to; i++) {
        snprintf(name, sizeof name, "r%d", i);
        CHECK(daglib_task_add(dag, name, NULL, nothing, NULL) != NULL);
    }
}

TEST(dag_reserve_makes_room_for_the_tasks_to_come)
{
    /* The name table is made once, big enough: adding the tasks reserved
     * for moves no name, and every one is found. */
    daglib_dag *dag = daglib_dag_new("roomy", NULL, 0);
    add_numbered(dag, 0, 1000);
    CHECK_OK(daglib_dag_reserve(dag, 0));
    CHECK_INT_EQ(dag->task_names.count, 1000);
    CHECK_OK(daglib_dag_reserve(dag, 99000));
    const name_slot *slots = dag->task_names.slots;
    const uint32_t mask = dag->task_names.mask;
    CHECK((uint64_t)mask + 1 >= 2 * 100000);
    CHECK((uint64_t)mask + 1 < 4 * 100000);
    CHECK_OK(daglib_dag_reserve(dag, 50000)); /* fewer than made room for */
    CHECK(dag->task_names.slots == slots);
    add_numbered(dag, 1000, 100000);
    CHECK(dag->task_names.slots == slots);
    CHECK_INT_EQ(dag->task_names.mask, mask);
    char name[32];
    for (int i = 0; i < 100000; i += 37) {
        snprintf(name, sizeof name, "r%d", i);
        daglib_task *t = daglib_dag_task(dag, name);
        CHECK(t != NULL);
        CHECK_STR_EQ(daglib_task_name(t), name);
    }
    /* Past the room made (a power of two), the table grows as before. */
    const int room = (int)((mask + 1) / 2);
    add_numbered(dag, 100000, room);
    CHECK_INT_EQ(dag->task_names.mask, mask);
    add_numbered(dag, room, room + 1);
    CHECK(dag->task_names.mask > mask);
    snprintf(name, sizeof name, "r%d", room);
    CHECK(daglib_dag_task(dag, name) != NULL);
    CHECK(daglib_dag_task(dag, "r99999") != NULL);
    CHECK_OK(daglib_run(dag, NULL));
    daglib_dag_free(dag);
}

static void reserve_while_running(daglib_context *ctx, int argc,
                                  const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_dag *dag = daglib_user_data(ctx);
    daglib_result_int(ctx, daglib_dag_reserve(dag, 10));
}

TEST(dag_reserve_refuses_what_it_cannot_and_leaves_the_dag_as_it_was)
{
    CHECK_INT_EQ(daglib_dag_reserve(NULL, 10), DAGLIB_MISUSE);
    daglib_dag *dag = daglib_dag_new("modest", NULL, 0);
    add_numbered(dag, 0, 10);
    const uint32_t mask = dag->task_names.mask;
    CHECK_INT_EQ(daglib_dag_reserve(dag, (size_t)1 << 31), DAGLIB_INVALID);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "'modest'");
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "has 10");
    CHECK_INT_EQ(daglib_dag_reserve(dag, SIZE_MAX), DAGLIB_INVALID);
    CHECK_INT_EQ(daglib_dag_reserve(dag, DAG_MAX_TASKS - 10 + 1),
                 DAGLIB_INVALID);
    /* The most a DAG may hold passes the check, and asks for its table. */
    big_fail_arm(1);
    CHECK_INT_EQ(daglib_dag_reserve(dag, DAG_MAX_TASKS - 10), DAGLIB_NOMEM);
    CHECK_INT_EQ(big_fail_disarm(), 1);
    big_fail_arm(1);
    CHECK_INT_EQ(daglib_dag_reserve(dag, 100000), DAGLIB_NOMEM);
    CHECK_INT_EQ(big_fail_disarm(), 1);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "out of memory");
    CHECK_INT_EQ(dag->task_names.mask, mask);
    CHECK_OK(daglib_dag_reserve(dag, 5)); /* a success clears the message */
    CHECK_STR_EQ(daglib_dag_errmsg(dag), daglib_errstr(DAGLIB_OK));
    /* None of it sticks: the DAG builds and runs on. */
    add_numbered(dag, 10, 20);
    CHECK(daglib_dag_task(dag, "r5") != NULL);
    CHECK(daglib_dag_task(dag, "r15") != NULL);
    daglib_task *t = daglib_task_add(dag, "reserver", NULL,
                                     reserve_while_running, dag);
    CHECK_OK(daglib_task_set_final(t));
    daglib_value *result = NULL;
    CHECK_OK(daglib_run(dag, &result));
    CHECK_INT_EQ(daglib_value_int(result), DAGLIB_MISUSE);
    daglib_value_free(result);
    daglib_dag_free(dag);

    /* A DAG with a sticky build error answers with it, and stays so. */
    dag = daglib_dag_new("broken", NULL, 0);
    add_numbered(dag, 0, 1);
    CHECK(daglib_task_add(dag, "r0", NULL, nothing, NULL) == NULL);
    CHECK_INT_EQ(daglib_dag_reserve(dag, 10), DAGLIB_DUPLICATE);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "already has a task named 'r0'");
    CHECK_INT_EQ(daglib_run(dag, NULL), DAGLIB_DUPLICATE);
    daglib_dag_free(dag);
}

TEST(dag_names_ask_for_the_next_groups_block_at_each_groups_first)
{
    /* Adding "r0" asks for the block "r64" .. "r127" go to, and so on; no
     * other name asks for anything. */
    daglib_dag *dag = daglib_dag_new("ahead", NULL, 0);
    CHECK_OK(daglib_dag_reserve(dag, 4096));
    add_numbered(dag, 0, 4096);
    const name_table *t = &dag->task_names;
    char name[32], next_name[32];
    int asked = 0;
    for (int i = 0; i + 64 < 4096; i++) {
        snprintf(name, sizeof name, "r%d", i);
        uint32_t hash = name_hash(name, strlen(name));
        const name_slot *next =
            name_table_next_group(t, name, strlen(name), hash);
        if (i % 64 != 0) {
            CHECK(next == NULL);
            continue;
        }
        asked++;
        snprintf(next_name, sizeof next_name, "r%d", i + 64);
        uint32_t next_hash = name_hash(next_name, strlen(next_name));
        CHECK(next == &t->slots[next_hash & ~(NAME_GROUP - 1) & t->mask]);
        CHECK(daglib_dag_task(dag, next_name) != NULL);
    }
    CHECK_INT_EQ(asked, 4096 / 64 - 1); /* once a group */
    /* A name without a number, even with the hash of a group's first. */
    static const char *const plain[] = {"alpha", "beta", ""};
    for (size_t k = 0; k < sizeof plain / sizeof *plain; k++) {
        size_t len = strlen(plain[k]);
        uint32_t h = name_hash(plain[k], len);
        uint32_t hash = (h & ~(NAME_GROUP - 1)) | name_hash_turn(h);
        CHECK(name_hash_is_groups_first(hash));
        CHECK(name_table_next_group(t, plain[k], len, hash) == NULL);
    }
    daglib_dag_free(dag);
}

/* ---- numbered names and task handles ------------------------------------ */

TEST(dag_numbered_names_are_told_apart_by_every_digit)
{
    /* Numbered names share hash blocks by their number; names alike but
     * for leading zeros, long numbers or the text before them must still
     * be different tasks. */
    static const char *const names[] = {
        "n1", "n01", "n001", "1", "01", "n", "m1", "n65", "n129",
        "x1234567890123", "x234567890123", "x1234567890124", "a 1 2", "a 12"};
    const size_t count = sizeof names / sizeof names[0];
    daglib_dag *dag = daglib_dag_new("numbered", NULL, 0);
    for (size_t i = 0; i < count; i++)
        CHECK(daglib_task_add(dag, names[i], NULL, nothing, NULL) != NULL);
    char name[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(name, sizeof name, "cell %d %d", i / 100, i % 100);
        CHECK(daglib_task_add(dag, name, NULL, nothing, NULL) != NULL);
    }
    for (size_t i = 0; i < count; i++)
        CHECK_STR_EQ(daglib_task_name(daglib_dag_task(dag, names[i])),
                     names[i]);
    for (int i = 0; i < 20000; i += 13) {
        snprintf(name, sizeof name, "cell %d %d", i / 100, i % 100);
        CHECK_STR_EQ(daglib_task_name(daglib_dag_task(dag, name)), name);
    }
    CHECK(daglib_dag_task(dag, "n0001") == NULL);
    CHECK(daglib_dag_task(dag, "cell 200 0") == NULL);
    CHECK(daglib_task_add(dag, "cell 7 7", NULL, nothing, NULL) == NULL);
    CHECK_CODE(daglib_dag_errcode(dag), DAGLIB_DUPLICATE);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "'cell 7 7'");
    daglib_dag_free(dag);
}

/* "slot " and i written in letters, a name without a number: its hash is
 * the name's alone, not its group's. */
static void lettered(char *out, size_t size, uint32_t i)
{
    size_t at = (size_t)snprintf(out, size, "slot ");
    do
        out[at++] = (char)('a' + i % 26);
    while ((i /= 26) > 0 && at + 1 < size);
    out[at] = '\0';
}

/* Whether number n of the form and the one next to it in its group of
 * 64 fill two slots side by side of one block: name_table.h. */
static int side_by_side(const char *form, const char *prefix, uint32_t n)
{
    if (n % 64 == 63)
        n--;
    char a[64], b[64];
    int len = snprintf(a, sizeof a, form, prefix, n);
    int next_len = snprintf(b, sizeof b, form, prefix, n + 1);
    uint32_t h = name_hash(a, (size_t)len), next = name_hash(b, (size_t)next_len);
    return next >> 6 == h >> 6 && next % 64 == (h + 1) % 64;
}

TEST(dag_numbered_names_hash_into_blocks_by_their_number)
{
    /* name_table.h: a name ending in a number n (its last 9 digits) lands
     * at offset (n + turn) % 64 of a block chosen by the rest of the name
     * and n / 64, so consecutive names fill consecutive slots.  Whatever
     * the bytes before the number (text, UTF-8, ':' and '/' which lie
     * either side of the digits), and whatever the name's length. */
    static const char *const prefixes[] = {"", "t", "task_", "cell 3 ",
                                           "\xc3\xa9", "a:", "z/", "long prefix of a name "};
    static const uint32_t numbers[] = {0,     1,        9,        10,    63,
                                       64,    65,       99,       100,   127,
                                       128,   999,      1000,     4095,  4096,
                                       65535, 99999,    100000,   999999,
                                       1000000, 9999999, 10000000, 12345678,
                                       99999999, 123456789, 999999999};
    for (size_t p = 0; p < sizeof prefixes / sizeof prefixes[0]; p++)
        for (size_t k = 0; k < sizeof numbers / sizeof numbers[0]; k++)
            if (!side_by_side("%s%u", prefixes[p], numbers[k]))
                FAIL("'%s%u' and the next number are not side by side",
                     prefixes[p], numbers[k]);
    /* Nine digits make the number, leading zeros included; a tenth goes
     * with the rest of the name. */
    CHECK(name_hash("ab00000005", 10) == name_hash("ab000000005", 11));
    CHECK(name_hash("ab000000005", 11) != name_hash("ab0000000005", 12));
}

/* The number a name is grouped by is its last one, followed by up to 16
 * bytes: "step 17.out" and "step 18.out" share a block, side by side, and
 * the bytes after the number choose the block as the ones before do. */
TEST(dag_names_with_bytes_after_their_number_hash_into_blocks_too)
{
    static const char *const forms[] = {"%sstep %u.out", "%st%u_x",
                                        "%scell 7 %u a", "%s%u!",
                                        "%sn%u sixteen bytes!!"};
    for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++)
        for (uint32_t n = 0; n < 300; n++)
            if (!side_by_side(forms[f], "", n))
                FAIL("'%s' of %u and of the next number are not side by side",
                     forms[f], n);
    /* The bytes after the number count: other bytes, another block. */
    CHECK(name_hash("t5_x", 4) >> 6 != name_hash("t5_y", 4) >> 6);
    CHECK(name_hash("t5_x", 4) >> 6 != name_hash("t5", 2) >> 6);
    /* A number followed by a letter is no number: hex digits. */
    int hex_paired = 0;
    for (uint32_t n = 0; n < 64; n++)
        hex_paired += side_by_side("%sn%ub", "", n);
    CHECK(hex_paired < 8);
    /* Seventeen bytes after the number: hashed whole, so two such names
     * one number apart are not put side by side (grouped, nearly all
     * would be; hashed whole, hardly any). */
    int paired = 0;
    for (uint32_t n = 0; n < 64; n++)
        paired += side_by_side("%sn%u seventeen bytes!", "", n);
    CHECK(paired < 8);
}

/* Names of one number and different text ("slot ba_2024") land at
 * different offsets of their blocks, and their probes stay short: all at
 * one offset, or each block's offset one further than the block's before
 * (as a probe's next slot is), every probe would go on where the others
 * went, a cache miss a step in a big table. */
static void one_number_name(char *name, size_t size, uint32_t i)
{
    lettered(name, size, i);
    size_t len = strlen(name);
    snprintf(name + len, size - len, "_2024");
}

TEST(dag_names_of_one_number_spread_over_the_offsets)
{
    enum { NAMES = 4096 };
    int at_offset[64] = {0}, used = 0;
    daglib_dag *dag = daglib_dag_new("one_number", NULL, 0);
    for (uint32_t i = 0; i < NAMES; i++) {
        char name[32];
        one_number_name(name, sizeof name, i);
        uint32_t hash = name_hash(name, strlen(name));
        used += i < 256 && at_offset[hash % 64]++ == 0;
        CHECK(daglib_task_add(dag, name, NULL, nothing, NULL) != NULL);
    }
    CHECK(used > 48); /* 256 at random leave about one offset empty */
    /* Each name's probe, from its hash's slot to its own. */
    const name_table *t = &dag->task_names;
    uint64_t steps = 0;
    for (uint32_t i = 0; i < NAMES; i++) {
        char name[32];
        one_number_name(name, sizeof name, i);
        uint32_t at = name_hash(name, strlen(name)) & t->mask;
        while (t->slots[at].value != i + 1)
            at = (at + NAME_PROBE_STEP) & t->mask, steps++;
    }
    if (steps > NAMES) /* at random, at most half full: about 0.4 a name */
        FAIL("%.1f probe steps a name", (double)steps / NAMES);
    daglib_dag_free(dag);
}

static void number_task(daglib_context *ctx, int argc,
                        const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_result_int(ctx, (int64_t)(intptr_t)daglib_user_data(ctx));
}

/* The arguments as digits, in order: (1, 2, 3) gives 123. */
static void digits_task(daglib_context *ctx, int argc,
                        const daglib_value *const *argv)
{
    int64_t v = 0;
    for (int i = 0; i < argc; i++)
        v = v * 10 + daglib_value_int(argv[i]);
    daglib_result_int(ctx, v);
}

/* Run dag, free it, and give its one final's integer, or -1. */
static int64_t run_for_int(daglib_dag *dag)
{
    daglib_value *result = NULL;
    int64_t v = daglib_run(dag, &result) == DAGLIB_OK
                    ? daglib_value_int(result)
                    : -1;
    daglib_value_free(result);
    daglib_dag_free(dag);
    return v;
}

/* a, b, c give 1, 2, 3; d takes inputs c then a and depends on b. */
static int64_t run_digits(int by_handle)
{
    daglib_dag *dag = daglib_dag_new("handles", NULL, 0);
    daglib_task *d = daglib_task_add(dag, "d", NULL, digits_task, NULL);
    daglib_task *a = daglib_task_add(dag, "a", NULL, number_task, (void *)1);
    daglib_task *b = daglib_task_add(dag, "b", NULL, number_task, (void *)2);
    daglib_task *c = daglib_task_add(dag, "c", NULL, number_task, (void *)3);
    if (by_handle) {
        daglib_task_depends_on_task(d, b);
        daglib_task_input_task(d, c);
        daglib_task_input_task(d, a);
    } else {
        daglib_task_depends_on(d, "b");
        daglib_task_input(d, "c");
        daglib_task_input(d, "a");
    }
    daglib_task_set_final(d);
    return run_for_int(dag);
}

TEST(dag_task_handles_make_the_same_references_as_names)
{
    CHECK_INT_EQ(run_digits(0), 312);
    CHECK_INT_EQ(run_digits(1), 312);
}

/* A grid of tasks "g r c", each taking the cell above and the one to its
 * left, and a common source "seed": the ways big DAGs are built in loops,
 * where references are resolved by guessing from the last ones.  Each
 * cell folds its id and its arguments, in order, into its result, so a
 * wrong or reordered argument changes the last cell's result. */
#define GRID 24
#define FOLD(v, x) (((v) * 31 + (x)) % 1000003)

static void fold_task(daglib_context *ctx, int argc,
                      const daglib_value *const *argv)
{
    int64_t v = (int64_t)(intptr_t)daglib_user_data(ctx);
    for (int i = 0; i < argc; i++)
        v = FOLD(v, daglib_value_int(argv[i]));
    daglib_result_int(ctx, v);
}

/* The ways to build the grid: 0 row by row taking (above, left, seed);
 * 1 the same, odd rows taking (left, above, seed); 2 the rows from the
 * last one up, so every "above" names a task not added yet; 3 row by row,
 * the seed a dependency declared first (it still comes last); 4 as 0, but
 * the references made after all tasks, column by column. */
static int64_t grid_by_hand(int way)
{
    int64_t cell[GRID][GRID];
    for (int r = 0; r < GRID; r++)
        for (int c = 0; c < GRID; c++) {
            int64_t v = 1000 + r * GRID + c, up = -1, left = -1;
            if (r > 0)
                up = cell[r - 1][c];
            if (c > 0)
                left = cell[r][c - 1];
            int left_first = way == 1 && r % 2 == 1;
            if (left_first && left >= 0)
                v = FOLD(v, left);
            if (up >= 0)
                v = FOLD(v, up);
            if (!left_first && left >= 0)
                v = FOLD(v, left);
            cell[r][c] = FOLD(v, 5);
        }
    return cell[GRID - 1][GRID - 1];
}

static void grid_name(char *buf, size_t size, int r, int c)
{
    snprintf(buf, size, "g %d %d", r, c);
}

static void grid_refer(daglib_task *t, int way, int r, int c)
{
    char up[32], left[32];
    grid_name(up, sizeof up, r - 1, c);
    grid_name(left, sizeof left, r, c - 1);
    if (way == 3)
        daglib_task_depends_on(t, "seed");
    int left_first = way == 1 && r % 2 == 1;
    if (left_first && c > 0)
        daglib_task_input(t, left);
    if (r > 0)
        daglib_task_input(t, up);
    if (!left_first && c > 0)
        daglib_task_input(t, left);
    if (way != 3)
        daglib_task_input(t, "seed");
}

static int64_t grid_by_dag(int way, int workers)
{
    daglib_dag *dag = daglib_dag_new("grid", NULL, 0);
    daglib_dag_set_workers(dag, workers);
    daglib_task_add(dag, "seed", NULL, number_task, (void *)5);
    for (int i = 0; i < GRID; i++) {
        int r = way == 2 ? GRID - 1 - i : i;
        for (int c = 0; c < GRID; c++) {
            char name[32];
            grid_name(name, sizeof name, r, c);
            daglib_task *t =
                daglib_task_add(dag, name, NULL, fold_task,
                                (void *)(intptr_t)(1000 + r * GRID + c));
            if (way != 4)
                grid_refer(t, way, r, c);
            if (r == GRID - 1 && c == GRID - 1)
                daglib_task_set_final(t);
        }
    }
    /* Way 4: every task first, then the references column by column,
     * so that they are not made in task order. */
    for (int c = 0; c < GRID && way == 4; c++)
        for (int r = 0; r < GRID; r++) {
            char name[32];
            grid_name(name, sizeof name, r, c);
            grid_refer(daglib_dag_task(dag, name), way, r, c);
        }
    return run_for_int(dag);
}

TEST(dag_references_made_in_patterns_reach_the_named_tasks)
{
    for (int way = 0; way < 5; way++)
        for (int workers = 1; workers <= 2; workers++)
            CHECK_INT_EQ(grid_by_dag(way, workers), grid_by_hand(way));
}

/* Task "zzzz" gives 1, then a name one letter off the target gives 2,
 * then the target 3; a last task takes "zzzz" and the target.  Its
 * first guess at the target is the task after "zzzz": the name one letter
 * off, which a compare skipping that letter would take for it. */
static int64_t one_letter_off(const char *target, const char *off)
{
    daglib_dag *dag = daglib_dag_new("short_names", NULL, 0);
    daglib_task_add(dag, "zzzz", NULL, number_task, (void *)1);
    daglib_task_add(dag, off, NULL, number_task, (void *)2);
    daglib_task_add(dag, target, NULL, number_task, (void *)3);
    daglib_task *both = daglib_task_add(dag, "both", NULL, digits_task, NULL);
    daglib_task_input(both, "zzzz");
    daglib_task_input(both, target);
    daglib_task_set_final(both);
    return run_for_int(dag);
}

/* Names of one to three bytes are compared byte by byte, without a call:
 * each byte of them must count. */
TEST(dag_short_names_one_letter_apart_are_told_apart)
{
    for (size_t len = 1; len <= 3; len++)
        for (size_t at = 0; at < len; at++) {
            char a[4] = "aaa", b[4] = "aaa";
            a[len] = b[len] = '\0';
            b[at] = 'b';
            if (one_letter_off(a, b) != 13 || one_letter_off(b, a) != 13)
                FAIL("'%s' and '%s' taken for each other", a, b);
        }
}

/* Tasks "r 0" .. "r 399": task i takes, first, a task picked at random
 * among the earlier ones while i < 200 and task i - 2 after; second, task
 * i - 1.  Where the first reference goes at random its guesses stop, and
 * start again once it follows a pattern; the second reference's guesses
 * go on all along.  Every argument must still reach its named task.
 * With room reserved for `reserve` tasks; how many of the random part's
 * references were past guessing, and how many were put off to compiling. */
#define RANDOM_REFS 400
#define RANDOM_UNTIL 200

static uint32_t random_earlier(uint32_t i)
{
    return (i * 2654435761u >> 7) % i;
}

static uint32_t first_ref(uint32_t i)
{
    return i < RANDOM_UNTIL ? random_earlier(i) : i - 2;
}

static void random_refs(size_t reserve, int *stopped, int *put_off)
{
    int64_t by_hand[RANDOM_REFS];
    daglib_dag *dag = daglib_dag_new("random_refs", NULL, 0);
    daglib_dag_set_workers(dag, 1);
    if (reserve > 0)
        CHECK_OK(daglib_dag_reserve(dag, reserve));
    *stopped = *put_off = 0;
    for (uint32_t i = 0; i < RANDOM_REFS; i++) {
        char name[16], first[16], second[16];
        snprintf(name, sizeof name, "r %u", i);
        int64_t v = 1000 + i;
        daglib_task *t = daglib_task_add(dag, name, NULL, fold_task,
                                         (void *)(intptr_t)v);
        if (i >= 2) {
            snprintf(first, sizeof first, "r %u", first_ref(i));
            snprintf(second, sizeof second, "r %u", i - 1);
            uint32_t pending = dag->n_pending;
            CHECK_OK(daglib_task_input(t, first));
            *put_off += i < RANDOM_UNTIL && dag->n_pending > pending;
            CHECK_OK(daglib_task_input(t, second));
            v = FOLD(FOLD(v, by_hand[first_ref(i)]), by_hand[i - 1]);
            CHECK(dag->guesses_missed[1] == 0);
            if (dag->guesses_missed[0] == REF_GUESS_GIVE_UP)
                *stopped += i < RANDOM_UNTIL;
        }
        by_hand[i] = v;
    }
    CHECK(dag->guesses_missed[0] == 0); /* i - 2 guessed again */
    daglib_task_set_final(daglib_dag_task(dag, "r 399"));
    CHECK_INT_EQ(run_for_int(dag), by_hand[RANDOM_REFS - 1]);
}

TEST(dag_guesses_stop_where_references_go_at_random_and_start_again)
{
    int stopped, put_off;
    random_refs(0, &stopped, &put_off);
    CHECK(stopped > RANDOM_UNTIL / 2); /* the random part mostly unguessed */
    CHECK_INT_EQ(put_off, 0); /* a small table: looked up at once */
}

/* In a name table too big for the caches, a lookup put off is one done
 * with others, when compiling, where their cache misses overlap: all but
 * two in REF_LOOKUP_EVERY of the references that stopped guessing (and
 * the one that stopped them).  The two in a row still looked up tell
 * when the pattern is back. */
TEST(dag_references_at_random_into_a_big_table_are_looked_up_when_compiling)
{
    int stopped, put_off;
    random_refs(REF_PUT_OFF_FROM_SLOTS / 2, &stopped, &put_off);
    CHECK(stopped > RANDOM_UNTIL / 2);
    int made = stopped - put_off;
    if (made < 1 || made > 1 + 2 * (stopped / REF_LOOKUP_EVERY + 1))
        FAIL("%d of %d references past guessing looked up at once", made,
             stopped);
}

/* A DAG with room for enough tasks that references stop being looked up
 * when made, tasks "p 0" .. "p 63" giving 0, 10, ..., 630, and a task
 * "sink" that refers to p tasks out of order until its guesses stop. */
#define GUESSED_AT 64

static daglib_task *sink_past_guessing(daglib_dag *dag, int64_t *by_hand)
{
    CHECK_OK(daglib_dag_reserve(dag, REF_PUT_OFF_FROM_SLOTS / 2));
    for (int i = 0; i < GUESSED_AT; i++) {
        char name[16];
        snprintf(name, sizeof name, "p %d", i);
        daglib_task_add(dag, name, NULL, number_task, (void *)(intptr_t)(i * 10));
    }
    daglib_task *sink = daglib_task_add(dag, "sink", NULL, fold_task, NULL);
    *by_hand = 0;
    const uint32_t k = REF_GUESS_POSITIONS - 1; /* the sink's later refs */
    for (int i = 0; i < GUESSED_AT &&
                    (i < (int)k || dag->guesses_missed[k] < REF_GUESS_GIVE_UP);
         i++) {
        char name[16];
        int p = (i * 5 + 3) % GUESSED_AT;
        snprintf(name, sizeof name, "p %d", p);
        CHECK_OK(daglib_task_input(sink, name));
        *by_hand = FOLD(*by_hand, p * 10);
    }
    CHECK(dag->guesses_missed[k] == REF_GUESS_GIVE_UP);
    return sink;
}

/* Two lettered names whose hashes differ and whose probes start at the
 * same slot of a table of mask + 1 slots. */
static void one_slot_names(uint32_t mask, char *a, char *b, size_t size)
{
    enum { TRIED = 2000 };
    static uint32_t hashes[TRIED];
    for (uint32_t j = 0; j < TRIED; j++) {
        lettered(b, size, j);
        hashes[j] = name_hash(b, strlen(b));
        for (uint32_t i = 0; i < j; i++)
            if (((hashes[i] ^ hashes[j]) & mask) == 0 && hashes[i] != hashes[j]) {
                lettered(a, size, i);
                return;
            }
    }
    FAIL("no two names of %d share a slot", TRIED);
}

/* A lookup put off takes as a candidate the first task met on the
 * name's probe that has the name's hash: past a slot holding another
 * hash, and only once it compared the name, as two names of one hash
 * ("task hzcn of a kind", "task ahpp of a kind") have different tasks.
 * (Should the hash change, another such pair is found by hashing names of
 * this form, with no digit, and sorting.) */
TEST(dag_names_of_one_hash_or_one_slot_are_told_apart_when_looked_up_late)
{
    const char *first = "task hzcn of a kind", *second = "task ahpp of a kind";
    CHECK(name_hash(first, strlen(first)) == name_hash(second, strlen(second)));
    daglib_dag *dag = daglib_dag_new("one_hash", NULL, 0);
    int64_t by_hand;
    daglib_task *sink = sink_past_guessing(dag, &by_hand);
    char slot_a[16], slot_b[16];
    one_slot_names(dag->task_names.mask, slot_a, slot_b, sizeof slot_a);
    daglib_task_add(dag, first, NULL, number_task, (void *)1);
    daglib_task_add(dag, second, NULL, number_task, (void *)2);
    daglib_task_add(dag, slot_a, NULL, number_task, (void *)3);
    daglib_task_add(dag, slot_b, NULL, number_task, (void *)4);
    uint32_t pending = dag->n_pending;
    CHECK_OK(daglib_task_input(sink, second));
    CHECK_OK(daglib_task_input(sink, first));
    CHECK_OK(daglib_task_input(sink, slot_b));
    CHECK_OK(daglib_task_input(sink, slot_a));
    CHECK_INT_EQ(dag->n_pending - pending, 4); /* all put off */
    daglib_task_set_final(sink);
    const int64_t expected = FOLD(FOLD(FOLD(FOLD(by_hand, 2), 1), 4), 3);
    for (int run = 0; run < 2; run++) {
        daglib_value *result = NULL;
        CHECK_OK(daglib_run(dag, &result));
        CHECK_INT_EQ(daglib_value_int(result), expected);
        daglib_value_free(result);
        /* Resolved in place, the names handed back. */
        CHECK_INT_EQ(dag->n_pending, 0);
        CHECK(dag->pending_blocks[0] == NULL);
    }
    daglib_dag_free(dag);
}

/* Past guessing, a task's references go to tasks in order, q 0 .. q 299:
 * the two references in a row looked up at once see the pattern (the
 * task after the one last referred to) and guessing starts again. */
TEST(dag_references_in_order_after_random_ones_are_guessed_again)
{
    enum { IN_ORDER = 300 };
    daglib_dag *dag = daglib_dag_new("back_in_order", NULL, 0);
    int64_t by_hand;
    daglib_task *sink = sink_past_guessing(dag, &by_hand);
    char name[16];
    for (int i = 0; i < IN_ORDER; i++) {
        snprintf(name, sizeof name, "q %d", i);
        daglib_task_add(dag, name, NULL, number_task, (void *)(intptr_t)i);
    }
    const uint32_t k = REF_GUESS_POSITIONS - 1, pending = dag->n_pending;
    int guessing_at = -1;
    for (int i = 0; i < IN_ORDER; i++) {
        snprintf(name, sizeof name, "q %d", i);
        CHECK_OK(daglib_task_input(sink, name));
        by_hand = FOLD(by_hand, i);
        if (guessing_at < 0 && dag->guesses_missed[k] == 0)
            guessing_at = i;
    }
    if (guessing_at < 0 || guessing_at > REF_LOOKUP_EVERY)
        FAIL("guessing started again at reference %d", guessing_at);
    CHECK(dag->guesses_missed[k] == 0);
    CHECK((int)(dag->n_pending - pending) <= guessing_at);
    daglib_task_set_final(sink);
    CHECK_INT_EQ(run_for_int(dag), by_hand);
}

/* A name put off that is no task's is the same error when compiling as a
 * name that was looked up and not found: the first such reference named. */
TEST(dag_unknown_name_put_off_is_reported_when_compiling)
{
    daglib_dag *dag = daglib_dag_new("put_off", NULL, 0);
    int64_t by_hand;
    daglib_task *sink = sink_past_guessing(dag, &by_hand);
    uint32_t pending = dag->n_pending;
    CHECK_OK(daglib_task_input(sink, "p 1"));
    CHECK_OK(daglib_task_input(sink, "nowhere"));
    CHECK_OK(daglib_task_depends_on(sink, "nothing either"));
    CHECK_INT_EQ(dag->n_pending - pending, 3);
    for (int run = 0; run < 2; run++) { /* the names kept for the next */
        CHECK_CODE(daglib_run(dag, NULL), DAGLIB_NOTFOUND);
        CHECK_CONTAINS(daglib_dag_errmsg(dag),
                       "task 'sink' of DAG 'put_off' takes the input "
                       "'nowhere', which is not a task of the DAG");
    }
    daglib_task_add(dag, "nowhere", NULL, number_task, (void *)7);
    CHECK_CODE(daglib_run(dag, NULL), DAGLIB_NOTFOUND);
    CHECK_CONTAINS(daglib_dag_errmsg(dag),
                   "task 'sink' of DAG 'put_off' depends on 'nothing either'");
    daglib_task_add(dag, "nothing either", NULL, number_task, (void *)8);
    daglib_task_set_final(sink);
    CHECK_INT_EQ(run_for_int(dag), FOLD(FOLD(FOLD(by_hand, 10), 7), 8));
}

/* A run resolves the references put off and hands their names back;
 * references put off after it start the pending names again, and the
 * next run resolves them. */
TEST(dag_references_put_off_after_a_run_are_resolved_at_the_next)
{
    daglib_dag *dag = daglib_dag_new("again", NULL, 0);
    int64_t by_hand;
    daglib_task *sink = sink_past_guessing(dag, &by_hand);
    daglib_task_set_final(sink);
    daglib_value *result = NULL;
    CHECK_OK(daglib_run(dag, &result));
    CHECK_INT_EQ(daglib_value_int(result), by_hand);
    daglib_value_free(result);
    CHECK_INT_EQ(dag->n_pending, 0);
    CHECK_OK(daglib_task_input(sink, "p 7"));
    CHECK_OK(daglib_task_input(sink, "p 3"));
    CHECK_INT_EQ(dag->n_pending, 2);
    CHECK_INT_EQ(run_for_int(dag), FOLD(FOLD(by_hand, 70), 30));
}

/* A DAG whose references are put off, still pending, merged into
 * another: the names are read from the pending ones. */
TEST(dag_with_references_put_off_merges_into_another)
{
    daglib_dag *other = daglib_dag_new("other", NULL, 0);
    int64_t by_hand;
    daglib_task *sink = sink_past_guessing(other, &by_hand);
    CHECK_OK(daglib_task_input(sink, "p 7"));
    CHECK(other->n_pending > 0);
    daglib_task_set_final(sink);
    daglib_dag *dag = daglib_dag_new("merged", NULL, 0);
    CHECK_OK(daglib_dag_add_subdag(dag, other, 1));
    CHECK_INT_EQ(run_for_int(dag), FOLD(by_hand, 70));
    CHECK_INT_EQ(run_for_int(other), FOLD(by_hand, 70));
}

/* Every big array a DAG with references put off asks for, refused in
 * turn while it is built: a clean, sticky out-of-memory error, and once
 * none is refused the right result. */
TEST(dag_references_put_off_refused_memory_end_in_a_clean_error)
{
    int64_t expected = -1;
    for (long n = 1; n < 1000 && expected < 0; n++) {
        big_fail_arm(n);
        daglib_dag *dag = daglib_dag_new("refused", NULL, 0);
        int reserved = daglib_dag_reserve(dag, REF_PUT_OFF_FROM_SLOTS / 2);
        int64_t by_hand = 0;
        daglib_task *sink = daglib_task_add(dag, "sink", NULL, fold_task, NULL);
        for (int i = 0; i < 2 * GUESSED_AT; i++) {
            char name[16];
            int p = (i * 5 + 3) % GUESSED_AT;
            snprintf(name, sizeof name, "p %d", p);
            daglib_task_input(sink, name); /* ahead, then put off */
            by_hand = FOLD(by_hand, p);
        }
        for (int i = 0; i < GUESSED_AT; i++) {
            char name[16];
            snprintf(name, sizeof name, "p %d", i);
            daglib_task_add(dag, name, NULL, number_task, (void *)(intptr_t)i);
        }
        daglib_task_set_final(sink);
        long asked = big_fail_disarm();
        if (reserved != DAGLIB_OK) {
            /* Not sticky: the DAG grows its table as it goes, and puts
             * nothing off in a small one. */
            CHECK_CODE(reserved, DAGLIB_NOMEM);
            CHECK_INT_EQ(run_for_int(dag), by_hand);
            continue;
        }
        if (asked >= n) {
            CHECK_CODE(daglib_dag_errcode(dag), DAGLIB_NOMEM);
            CHECK_CONTAINS(daglib_dag_errmsg(dag), "out of memory");
            CHECK_CODE(daglib_run(dag, NULL), DAGLIB_NOMEM);
            daglib_dag_free(dag);
            continue;
        }
        CHECK(dag->n_pending > GUESSED_AT); /* the path under test */
        expected = by_hand;
        CHECK_INT_EQ(run_for_int(dag), expected);
    }
    CHECK(expected >= 0);
}

/* Compiling tries task guess + i for the i-th pending name of a group,
 * and takes it only when the name is the task's.  Names given a wrong
 * hash, which the table cannot find, show which way each was found. */
TEST(dag_pending_names_in_order_are_found_by_the_guess)
{
    daglib_dag *dag = daglib_dag_new("guessed", NULL, 0);
    add_numbered(dag, 0, 10); /* "r0" .. "r9" */
    static const char *const names[] = {"r3", "r4", "r5", "r6"};
    pending_name kept[4];
    const pending_name *group[4];
    for (int i = 0; i < 4; i++) {
        kept[i] = (pending_name){names[i], 2, name_hash(names[i], 2) + 1};
        group[i] = &kept[i];
    }
    uint32_t found[4];
    dag_find_pending(dag, group, 4, 3, found);
    for (uint32_t i = 0; i < 4; i++)
        CHECK_INT_EQ(found[i], 3 + i);
    dag_find_pending(dag, group, 4, 2, found); /* each one off */
    for (int i = 0; i < 4; i++)
        CHECK(found[i] == NAME_NOT_FOUND);
    dag_find_pending(dag, group, 4, NAME_NOT_FOUND, found);
    for (int i = 0; i < 4; i++)
        CHECK(found[i] == NAME_NOT_FOUND);
    /* With their hashes, the table finds them whatever the guess. */
    for (int i = 0; i < 4; i++)
        kept[i].hash--;
    dag_find_pending(dag, group, 4, 7, found);
    for (uint32_t i = 0; i < 4; i++)
        CHECK_INT_EQ(found[i], 3 + i);
    daglib_dag_free(dag);
}

/* References to tasks not added yet, resolved when the DAG compiles.
 * Tasks "f 0" .. "f 199": f i takes "f i+1", the names in the order of
 * the tasks, so each group of them looked up together after the first is
 * guessed to follow on from the one before.  Then "g 0" .. "g 99": g i
 * takes "h j" for a j picked at random, found through the hash table
 * with the hash kept then (the guesses tried first must not take them),
 * and g 0 also SUMMER, a name not in ASCII (checked, then hashed, on a
 * path of its own).  Then the h tasks and SUMMER.  Every task folds its
 * id and its arguments into its result, and a last one takes f 0 and the
 * g tasks: an argument resolved to the wrong task changes its result. */
#define AHEAD_CHAIN 200
#define AHEAD_RANDOM 100
#define SUMMER "\xc3\xa9t\xc3\xa9"

static daglib_task *add_folding(daglib_dag *dag, const char *name, int64_t id)
{
    return daglib_task_add(dag, name, NULL, fold_task, (void *)(intptr_t)id);
}

TEST(dag_names_referred_to_ahead_resolve_to_the_named_tasks)
{
    int64_t f[AHEAD_CHAIN], h[AHEAD_RANDOM], summer = FOLD(5000, 5);
    for (int i = 0; i < AHEAD_RANDOM; i++)
        h[i] = FOLD(3000 + i, 5);
    f[AHEAD_CHAIN - 1] = FOLD(1000 + AHEAD_CHAIN - 1, 5);
    for (int i = AHEAD_CHAIN - 1; i-- > 0;)
        f[i] = FOLD(FOLD(1000 + i, f[i + 1]), 5);
    daglib_dag *dag = daglib_dag_new("ahead", NULL, 0);
    daglib_task_add(dag, "five", NULL, number_task, (void *)5);
    char name[16], upstream[16];
    for (int i = 0; i < AHEAD_CHAIN; i++) {
        snprintf(name, sizeof name, "f %d", i);
        daglib_task *t = add_folding(dag, name, 1000 + i);
        snprintf(upstream, sizeof upstream, "f %d", i + 1);
        if (i + 1 < AHEAD_CHAIN)
            CHECK_OK(daglib_task_input(t, upstream));
        CHECK_OK(daglib_task_input(t, "five"));
    }
    daglib_task *all = add_folding(dag, "all", 0);
    CHECK_OK(daglib_task_input(all, "f 0"));
    int64_t by_hand = FOLD(0, f[0]);
    for (int i = 0; i < AHEAD_RANDOM; i++) {
        uint32_t j = random_earlier(AHEAD_RANDOM + (uint32_t)i) % AHEAD_RANDOM;
        snprintf(name, sizeof name, "g %d", i);
        daglib_task *t = add_folding(dag, name, 2000 + i);
        snprintf(upstream, sizeof upstream, "h %u", j);
        CHECK_OK(daglib_task_input(t, upstream));
        int64_t g = FOLD(2000 + i, h[j]);
        if (i == 0) {
            CHECK_OK(daglib_task_input(t, SUMMER));
            g = FOLD(g, summer);
        }
        CHECK_OK(daglib_task_input(all, name));
        by_hand = FOLD(by_hand, g);
    }
    for (int i = 0; i < AHEAD_RANDOM; i++) {
        snprintf(name, sizeof name, "h %d", i);
        CHECK_OK(daglib_task_input(add_folding(dag, name, 3000 + i), "five"));
    }
    CHECK_OK(daglib_task_input(add_folding(dag, SUMMER, 5000), "five"));
    daglib_task_set_final(all);
    CHECK_INT_EQ(run_for_int(dag), by_hand);
}

/* Compiling trusts the counts each task keeps of its references; were
 * they ever wrong, the run must stop with a message, not write past the
 * plan's lists. */
TEST(dag_with_miscounted_references_is_refused_not_run)
{
    daglib_dag *dag = daglib_dag_new("miscounted", NULL, 0);
    daglib_task *a = daglib_task_add(dag, "a", NULL, nothing, NULL);
    daglib_task *b = daglib_task_add(dag, "b", NULL, nothing, NULL);
    CHECK_OK(daglib_task_input_task(b, a));
    dag_task_links(dag, a->index)->n_refs_in++;
    CHECK_CODE(daglib_run(dag, NULL), DAGLIB_INVALID);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "inconsistent");
    daglib_dag_free(dag);
}

TEST(dag_task_handle_must_be_of_the_same_dag)
{
    daglib_dag *one = daglib_dag_new("one", NULL, 0);
    daglib_dag *other = daglib_dag_new("other", NULL, 0);
    daglib_task *mine = daglib_task_add(one, "mine", NULL, nothing, NULL);
    daglib_task *theirs = daglib_task_add(other, "theirs", NULL, nothing, NULL);
    CHECK_CODE(daglib_task_input_task(NULL, mine), DAGLIB_MISUSE);
    CHECK_CODE(daglib_task_input_task(mine, theirs), DAGLIB_MISUSE);
    CHECK_CONTAINS(daglib_dag_errmsg(one), "another DAG");
    CHECK_CODE(daglib_run(one, NULL), DAGLIB_MISUSE); /* sticky */
    CHECK_CODE(daglib_dag_errcode(other), DAGLIB_OK);
    CHECK_CODE(daglib_task_depends_on_task(theirs, NULL), DAGLIB_MISUSE);
    CHECK_CONTAINS(daglib_dag_errmsg(other), "NULL");
    daglib_dag_free(one);
    daglib_dag_free(other);
}
