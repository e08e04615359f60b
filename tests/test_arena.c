/*
 * test_arena.c -- the memory of a DAG: big arrays mapped on 4 KiB pages,
 * faulted in ahead of filling and kept between DAGs within bounds; short
 * strings copied exactly.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arena.h"
#include "big_array.h"
#include "test.h"

#define PAGE 4096u

/* 1 if the page holding p is resident. */
static int resident(const void *p)
{
    unsigned char in_core = 0;
    void *page = (void *)((uintptr_t)p & ~(uintptr_t)(PAGE - 1));
    CHECK_INT_EQ(mincore(page, PAGE, &in_core), 0);
    return in_core & 1;
}

/* The VmFlags line of the mapping holding p, from /proc/self/smaps. */
static void mapping_flags(const void *p, char *flags, size_t size)
{
    FILE *smaps = fopen("/proc/self/smaps", "r");
    CHECK(smaps != NULL);
    char line[512];
    int inside = 0;
    flags[0] = '\0';
    while (fgets(line, sizeof line, smaps) != NULL) {
        uintptr_t from, to;
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &from, &to) == 2 &&
            strchr(line, '-') < strchr(line, ' ')) {
            inside = (uintptr_t)p >= from && (uintptr_t)p < to;
            continue;
        }
        if (inside && strncmp(line, "VmFlags:", 8) == 0) {
            strncpy(flags, line + 8, size - 1);
            flags[size - 1] = '\0';
            break;
        }
    }
    fclose(smaps);
    CHECK(flags[0] != '\0');
}

TEST(arena_big_arrays_are_kept_off_huge_pages)
{
    /* A host that takes back free memory in 2 MiB blocks makes a fresh
     * huge page cost several times its 4 KiB pages. */
    void *whole = big_alloc(8u << 20, 1);
    void *block = big_alloc_block(8u << 20, 1);
    CHECK(whole != NULL && block != NULL);
    char flags[256];
    mapping_flags(whole, flags, sizeof flags);
    CHECK(strstr(flags, " hg") == NULL && strstr(flags, " nh") != NULL);
    mapping_flags(block, flags, sizeof flags);
    CHECK(strstr(flags, " hg") == NULL && strstr(flags, " nh") != NULL);
    /* Written whole, so faulted in at once. */
    if (test_kernel_populates())
        CHECK(resident((char *)whole + (4u << 20)));
    big_free(whole);
    big_free(block);
}

TEST(arena_block_prefault_faults_in_the_range_and_no_more)
{
    if (!test_kernel_populates())
        return;
    size_t size = 64 * PAGE;
    char *block = big_alloc_block(size, 1);
    CHECK(block != NULL);
    CHECK(!resident(block + 8 * PAGE));
    big_block_prefault(block, 8 * PAGE + 10, 3 * PAGE);
    CHECK(!resident(block + 7 * PAGE));
    for (unsigned k = 8; k <= 11; k++) /* the range's first and last pages */
        CHECK(resident(block + k * PAGE));
    CHECK(!resident(block + 12 * PAGE));
    /* A range past the block's end stops at its mapping. */
    big_block_prefault(block, size - PAGE, 100 * PAGE);
    CHECK(resident(block + size - 1));
    big_free(block);
    /* Taken again from the cache, the block asks for nothing below its
     * last fill: pages given back since then stay out. */
    char *again = big_alloc_block(size, 1);
    CHECK(again == block);
    void *page = (void *)((uintptr_t)(again + 20 * PAGE) & ~(uintptr_t)(PAGE - 1));
    CHECK_INT_EQ(madvise(page, PAGE, MADV_DONTNEED), 0);
    CHECK(!resident(again + 20 * PAGE));
    big_block_prefault(again, 20 * PAGE, PAGE);
    CHECK(!resident(again + 20 * PAGE));
    big_free(again);
}

/* A size no other test asks for, so that only this test's mappings fit. */
#define ODD_BYTES (77 * PAGE + 100)

TEST(arena_cache_keeps_every_array_of_a_big_dag)
{
    /* A DAG of a million tasks frees some 60 mappings, which its rebuild
     * asks for again. */
    enum { COUNT = 100 };
    big_cache_release();
    char *first[COUNT];
    for (int i = 0; i < COUNT; i++) {
        CHECK((first[i] = big_alloc(ODD_BYTES, 1)) != NULL);
        first[i][0] = first[i][ODD_BYTES - 1] = (char)(i + 1);
    }
    for (int i = 0; i < COUNT; i++)
        big_free(first[i]);
    size_t kept, live, peak;
    big_cache_figures(&kept, &live, &peak);
    CHECK(kept >= COUNT * (size_t)ODD_BYTES);
    /* Taken back unzeroed, each still holds what it held: kept, not
     * mapped anew. */
    char *again[COUNT];
    for (int i = 0; i < COUNT; i++) {
        CHECK((again[i] = big_alloc_raw(ODD_BYTES, 1)) != NULL);
        int j = again[i][0] - 1;
        CHECK(j >= 0 && j < COUNT && again[i] == first[j]);
        CHECK(again[i][ODD_BYTES - 1] == j + 1);
    }
    big_cache_figures(&kept, &live, &peak);
    CHECK_INT_EQ(kept, 0);
    for (int i = 0; i < COUNT; i++)
        big_free(again[i]);
    /* Taken back zeroed, they are zeroed again. */
    for (int i = 0; i < COUNT; i++) {
        CHECK((again[i] = big_alloc(ODD_BYTES, 1)) != NULL);
        CHECK(again[i][0] == 0 && again[i][ODD_BYTES - 1] == 0);
    }
    for (int i = 0; i < COUNT; i++)
        big_free(again[i]);
    big_cache_release();
}

/* 1 if the page holding p is mapped at all. */
static int mapped(const void *p)
{
    unsigned char in_core;
    void *page = (void *)((uintptr_t)p & ~(uintptr_t)(PAGE - 1));
    return mincore(page, PAGE, &in_core) == 0;
}

TEST(arena_cache_keeps_no_more_than_twice_what_was_once_in_use)
{
    big_cache_release();
    size_t kept, live, peak;
    big_cache_figures(&kept, &live, &peak);
    CHECK_INT_EQ(kept, 0);
    CHECK_INT_EQ(peak, live);
    /* The sizes below count on nothing else in use: the runner gives each
     * test a process of its own. */
    if (live != 0) {
        fprintf(stderr, "  (skipped: other arrays are in use)\n");
        return;
    }
    char *big = big_alloc(8u << 20, 1);
    CHECK(big != NULL);
    big_free(big);
    CHECK(mapped(big));
    /* Sizes the kept mappings cannot serve, each mapped anew while less
     * than the 8 MiB peak is in use, until the cache is full. */
    char *mid[2], *small[2];
    for (int i = 0; i < 2; i++)
        CHECK((mid[i] = big_alloc(3u << 20, 1)) != NULL);
    for (int i = 0; i < 2; i++)
        big_free(mid[i]);
    for (int i = 0; i < 2; i++)
        CHECK((small[i] = big_alloc(1400u << 10, 1)) != NULL);
    big_free(small[0]);
    CHECK(mapped(small[0]) && mapped(big));
    /* Over 16 MiB kept: the mapping kept longest is handed back to make
     * room, and the one freed now is kept. */
    big_free(small[1]);
    CHECK(mapped(small[1]) && !mapped(big) && mapped(mid[0]));
    big_cache_figures(&kept, &live, &peak);
    CHECK(peak >= (8u << 20) && peak < (9u << 20));
    CHECK(kept > (8u << 20) && kept <= 2 * peak);
    /* Released, nothing is kept, and the peak starts again from what is
     * in use. */
    big_cache_release();
    CHECK(!mapped(mid[0]) && !mapped(small[0]) && !mapped(small[1]));
    big_cache_figures(&kept, &live, &peak);
    CHECK_INT_EQ(kept, 0);
    CHECK_INT_EQ(peak, live);
}

TEST(arena_copies_strings_of_every_short_length_exactly)
{
    /* Short strings are copied as overlapping words: every length, from
     * sources at every alignment, and at the end of a chunk, where the
     * copy and its NUL fit exactly or go to a new chunk. */
    char source[64];
    for (int i = 0; i < 64; i++)
        source[i] = (char)('A' + i % 26);
    char filler[80000];
    memset(filler, 'f', sizeof filler);
    for (size_t len = 0; len <= 20; len++)
        for (int fits = 0; fits <= 1; fits++) {
            arena a = ARENA_INIT;
            char *copies[8];
            size_t shift[8];
            for (int k = 0; k < 4; k++) {
                shift[k] = (size_t)k + len % 3;
                CHECK((copies[k] = arena_strndup(&a, source + shift[k],
                                                 len)) != NULL);
            }
            /* Leave len + 1 bytes (fits) or len bytes in the chunk. */
            size_t room = (size_t)(a.end - a.next);
            size_t leave = fits ? len + 1 : len;
            CHECK(room > leave + 1 && room - leave - 1 <= sizeof filler);
            CHECK(arena_strndup(&a, filler, room - leave - 1) != NULL);
            CHECK_INT_EQ((size_t)(a.end - a.next), leave);
            const char *chunk_end = a.end;
            for (int k = 4; k < 8; k++) {
                shift[k] = (size_t)k % 7;
                CHECK((copies[k] = arena_strndup(&a, source + shift[k],
                                                 len)) != NULL);
                if (k == 4 && fits) /* exactly */
                    CHECK(copies[k] + len + 1 == chunk_end);
                if (k == 4 && !fits) /* a chunk of its own */
                    CHECK(a.end != chunk_end);
            }
            for (int k = 0; k < 8; k++) {
                CHECK(memcmp(copies[k], source + shift[k], len) == 0);
                CHECK(copies[k][len] == '\0');
            }
            arena_free(&a);
        }
}

/* ---- every big array refused in turn -------------------------------------- */

#define SWEEP_TASKS 20000
#define SWEEP_MODULUS 1000000007

static void count_up(daglib_context *ctx, int argc,
                     const daglib_value *const *argv)
{
    int64_t sum = 1;
    for (int i = 0; i < argc; i++)
        sum += daglib_value_int(argv[i]);
    daglib_result_int(ctx, sum % SWEEP_MODULUS);
}

/* Task i takes task i - 1 and task i / 2 (by name: the guesses and the
 * name table both), big enough that its arrays are mapped. */
static daglib_dag *sweep_dag(int workers)
{
    daglib_dag *dag = daglib_dag_new("refused", NULL, 0);
    daglib_dag_set_workers(dag, workers);
    char name[16], input[16];
    daglib_task *t = NULL;
    for (int i = 0; i < SWEEP_TASKS; i++) {
        snprintf(name, sizeof name, "t%d", i);
        t = daglib_task_add(dag, name, NULL, count_up, NULL);
        if (i >= 1) {
            snprintf(input, sizeof input, "t%d", i - 1);
            daglib_task_input(t, input);
        }
        if (i >= 4) {
            snprintf(input, sizeof input, "t%d", i / 2);
            daglib_task_input(t, input);
        }
    }
    daglib_task_set_final(t);
    return dag; /* errors are sticky: the run reports them */
}

static int64_t sweep_expected(void)
{
    static int64_t v[SWEEP_TASKS];
    for (int i = 0; i < SWEEP_TASKS; i++)
        v[i] = (1 + (i >= 1 ? v[i - 1] : 0) + (i >= 4 ? v[i / 2] : 0)) %
               SWEEP_MODULUS;
    return v[SWEEP_TASKS - 1];
}

static void check_sweep_result(daglib_dag *dag, int64_t expected)
{
    daglib_value *final = NULL;
    CHECK_CODE(daglib_run(dag, &final), DAGLIB_OK);
    CHECK(final != NULL);
    CHECK_INT_EQ(daglib_value_int(final), expected);
    daglib_value_free(final);
}

/* Refuse each big array a build and run on `workers` asks for, in turn;
 * how many there were. */
static long refuse_each_big_array(int workers, int64_t expected)
{
    long n = 1;
    for (; n < 5000; n++) {
        big_fail_arm(n);
        daglib_dag *dag = sweep_dag(workers);
        long asked_building = big_fail_disarm();
        CHECK(dag != NULL);
        if (asked_building >= n) {
            /* Refused while building: the DAG says so, and so does every
             * run. */
            CHECK_CODE(daglib_dag_errcode(dag), DAGLIB_NOMEM);
            CHECK_CONTAINS(daglib_dag_errmsg(dag), "memory");
            daglib_value *final = NULL;
            CHECK_CODE(daglib_run(dag, &final), DAGLIB_NOMEM);
            CHECK(final == NULL);
            daglib_dag_free(dag);
            continue;
        }
        big_fail_arm(n - asked_building);
        daglib_value *final = NULL;
        int rc = daglib_run(dag, &final);
        long asked_running = big_fail_disarm();
        if (asked_running < n - asked_building) {
            /* Nothing refused: the sweep is over. */
            CHECK_CODE(rc, DAGLIB_OK);
            CHECK_INT_EQ(daglib_value_int(final), expected);
            daglib_value_free(final);
            daglib_dag_free(dag);
            return n - 1;
        }
        /* Refused while running: a clean error, and the DAG runs whole
         * the next time. */
        CHECK_CODE(rc, DAGLIB_NOMEM);
        CHECK(final == NULL);
        check_sweep_result(dag, expected);
        daglib_dag_free(dag);
    }
    FAIL("the sweep did not end");
    return n;
}

TEST(arena_every_refused_big_array_ends_a_build_or_run_cleanly)
{
    /* malloc's failures are swept from outside (tests/suites/oom.sh);
     * these are the arrays it cannot reach: mapped, or kept from an
     * earlier DAG. */
    const int64_t expected = sweep_expected();
    for (int workers = 1; workers <= 2; workers++)
        CHECK(refuse_each_big_array(workers, expected) > 20);
}
