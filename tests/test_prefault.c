/*
 * test_prefault.c -- fresh memory faulted in on a helper thread as well:
 * every page of a shared request, the steps ahead of a block's filling,
 * requests forgotten before their memory goes, and a helper made again
 * after a fork or a release.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "big_array.h"
#include "daglib.h"
#include "prefault.h"
#include "test.h"

/* ThreadSanitizer does not start threads after a fork. */
#if defined(__SANITIZE_THREAD__)
#define FORKED_THREADS 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FORKED_THREADS 0
#endif
#endif
#ifndef FORKED_THREADS
#define FORKED_THREADS 1
#endif

#define PAGE ((size_t)4096)
#define MIB ((size_t)1 << 20)

static void *fresh_mapping(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    return p;
}

/* How many of the pages of [p, p + len) are resident. */
static size_t resident_pages(const void *p, size_t len)
{
    uintptr_t from = (uintptr_t)p & ~(uintptr_t)(PAGE - 1);
    size_t pages = ((uintptr_t)p + len - from + PAGE - 1) / PAGE;
    unsigned char *in_core = malloc(pages);
    CHECK(in_core != NULL);
    CHECK_INT_EQ(mincore((void *)from, pages * PAGE, in_core), 0);
    size_t n = 0;
    for (size_t i = 0; i < pages; i++)
        n += in_core[i] & 1;
    free(in_core);
    return n;
}

/* The helper takes requests only where the process may use two CPUs. */
static int helper_can_run(void)
{
    cpu_set_t set;
    return test_kernel_populates() &&
           sched_getaffinity(0, sizeof set, &set) == 0 &&
           CPU_COUNT(&set) >= 2;
}

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Wait up to 10 s for at least `pages` of [p, p + len) to be resident. */
static int resident_soon(const void *p, size_t len, size_t pages)
{
    for (int i = 0; i < 10000; i++) {
        if (resident_pages(p, len) >= pages)
            return 1;
        nap_ms(1);
    }
    return 0;
}

/* Wait up to 10 s for *mark to reach want. */
static int mark_reaches(_Atomic size_t *mark, size_t want)
{
    for (int i = 0; i < 10000; i++) {
        if (atomic_load(mark) >= want)
            return 1;
        nap_ms(1);
    }
    return 0;
}

TEST(prefault_now_faults_in_every_page_big_or_small)
{
    if (!test_kernel_populates())
        return;
    /* Big enough to be shared with the helper, and too small to be. */
    static const size_t sizes[] = {16 * MIB + 3 * PAGE, 64 << 10};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char *p = fresh_mapping(sizes[i]);
        CHECK_INT_EQ(resident_pages(p, sizes[i]), 0);
        prefault_now(p, sizes[i]);
        CHECK_INT_EQ(resident_pages(p, sizes[i]), sizes[i] / PAGE);
        /* Contents untouched: still the zeros of a fresh mapping. */
        CHECK(p[0] == 0 && p[sizes[i] - 1] == 0);
        munmap(p, sizes[i]);
    }
    prefault_release();
}

TEST(prefault_soon_faults_in_on_the_helper_and_raises_the_mark)
{
    size_t len = 4 * MIB;
    char *p = fresh_mapping(len);
    _Atomic size_t mark = 100;
    int queued = prefault_soon(p, p, len, &mark, len);
    if (!helper_can_run()) {
        prefault_forget(p);
        CHECK_INT_EQ(atomic_load(&mark), 100);
        munmap(p, len);
        return;
    }
    /* The caller goes on at once; the helper gets there. */
    CHECK(queued);
    CHECK(mark_reaches(&mark, len));
    CHECK_INT_EQ(atomic_load(&mark), len);
    CHECK_INT_EQ(resident_pages(p, len), len / PAGE);
    /* A mark already higher is never lowered: q's request is done once a
     * later one is (oldest first). */
    prefault_forget(p);
    char *q = fresh_mapping(len);
    atomic_store(&mark, 10 * len);
    _Atomic size_t later = 0;
    CHECK(prefault_soon(q, q, len, &mark, len));
    CHECK(prefault_soon(p, p, len, &later, len));
    CHECK(mark_reaches(&later, len));
    CHECK_INT_EQ(resident_pages(q, len), len / PAGE);
    CHECK_INT_EQ(atomic_load(&mark), 10 * len);
    prefault_forget(q);
    prefault_forget(p);
    munmap(p, len);
    munmap(q, len);
    prefault_release();
}

/* A fresh mapping of len bytes, queued whole for the helper, its mark
 * raised to len when done. */
static char *queued_mapping(size_t len, _Atomic size_t *mark)
{
    char *p = fresh_mapping(len);
    atomic_store(mark, 0);
    prefault_soon(p, p, len, mark, len);
    return p;
}

/* 1 if a fresh mapping of len bytes queued for the helper gets faulted
 * in, the mark raised (the mapping forgotten and unmapped after). */
static int helper_faults_in(size_t len)
{
    _Atomic size_t mark;
    char *p = queued_mapping(len, &mark);
    int done = mark_reaches(&mark, len) &&
               resident_pages(p, len) >= len / PAGE;
    prefault_forget(p);
    munmap(p, len);
    return done;
}

/* Fork, run child(arg) in the child under a 20 s alarm, and say whether it
 * returned 1. */
static int child_passes(int (*child)(void *), void *arg)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        alarm(20);
        _exit(child(arg) ? 0 : 1);
    }
    int status = 0;
    CHECK_INT_EQ(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* A request that keeps the helper busy for a while: 256 MiB to fault in,
 * some 250 ms. */
#define BUSY_BYTES (256 * MIB)

TEST(prefault_soon_takes_no_more_requests_than_it_has_room_for)
{
    if (!helper_can_run())
        return;
    enum { TRIES = 40 };
    char *busy = fresh_mapping(BUSY_BYTES);
    char *p = fresh_mapping(TRIES * MIB);
    CHECK(prefault_soon(busy, busy, BUSY_BYTES, NULL, 0));
    int queued = 0;
    for (int i = 0; i < TRIES; i++)
        queued += prefault_soon(p + i * MIB, p + i * MIB, MIB,
                                NULL, 0);
    /* Some room, and not for all of them. */
    CHECK(queued > 0 && queued < TRIES);
    for (int i = 0; i < TRIES; i++)
        prefault_forget(p + i * MIB);
    prefault_forget(busy);
    /* Forgotten, they make room again. */
    CHECK(helper_faults_in(MIB));
    munmap(busy, BUSY_BYTES);
    munmap(p, TRIES * MIB);
    prefault_release();
}

TEST(prefault_forget_waits_for_the_helper_still_on_the_mapping)
{
    if (!helper_can_run())
        return;
    /* Big enough that the helper is still at it when forgotten. */
    size_t len = 128 * MIB;
    _Atomic size_t mark;
    char *p = queued_mapping(len, &mark);
    CHECK(resident_soon(p, 4 * MIB, 1));
    prefault_forget(p);
    /* Nothing touches the mapping or the mark from now on. */
    size_t after = atomic_load(&mark);
    CHECK(after == 0 || after == len);
    atomic_store(&mark, 1);
    size_t pages = resident_pages(p, len);
    nap_ms(100);
    CHECK_INT_EQ(resident_pages(p, len), pages);
    CHECK_INT_EQ(atomic_load(&mark), 1);
    munmap(p, len);
    prefault_release();
}

TEST(prefault_block_steps_are_faulted_in_ahead_of_the_filling)
{
    if (!helper_can_run())
        return;
    /* Steps of 4096 items of 48 bytes, as a DAG's task blocks. */
    size_t item = 48, step_items = 4096, step = item * step_items;
    char *block = big_alloc_block(64 * step_items, item);
    CHECK(block != NULL);
    CHECK_INT_EQ(resident_pages(block + PAGE, 63 * step), 0); /* past the header */
    /* A block's first step has nothing before it: no window yet, so that
     * a block barely used is not faulted in far past its use. */
    big_block_prefault(block, 0, step);
    CHECK(resident_pages(block, step) >= step / PAGE);
    nap_ms(20);
    CHECK_INT_EQ(resident_pages(block + step + PAGE, 20 * step), 0);
    /* Sixteen steps on, the window is seven or eight steps (a step's
     * pages include the header's 64 bytes): they come in on their own... */
    big_block_prefault(block, 16 * step, step);
    CHECK(resident_soon(block + 17 * step + PAGE, 6 * step, 6 * step / PAGE));
    /* ...and nothing past them, nor in the steps skipped. */
    CHECK_INT_EQ(resident_pages(block + 26 * step, 30 * step), 0);
    CHECK_INT_EQ(resident_pages(block + step + PAGE, 14 * step), 0);
    /* Nothing at all for an empty range, or one past the block. */
    big_block_prefault(block, 40 * step, 0);
    big_block_prefault(block, 100 * step, step);
    nap_ms(20);
    CHECK_INT_EQ(resident_pages(block + 40 * step, 8 * step), 0);
    big_free(block);
    big_cache_release();
    prefault_release();
}

TEST(prefault_block_steps_stop_where_the_filling_is_expected_to)
{
    if (!helper_can_run())
        return;
    /* A DAG told it will have 20,450 tasks: its task block of 65,536
     * items is faulted in ahead as it fills, but not past item 20,450,
     * by the step that holds it nor by the helper's window, which that
     * step, cut short at 64 KiB, would ask for. */
    big_cache_release(); /* a fresh mapping: nothing faulted in before */
    size_t item = 64, expected = 20450;
    void *blocks[GROW_BLOCKS] = {NULL};
    uint32_t block = 10, items = (uint32_t)block_items(block);
    for (uint32_t i = 0; i < expected; i++) {
        char *slot = block_slot_expecting(blocks, block, i, item, 10,
                                          expected);
        CHECK(slot != NULL);
        slot[0] = 1;
    }
    char *filled = blocks[block];
    nap_ms(50); /* the helper's window, had it been asked for one */
    size_t used_end = (64 + expected * item + PAGE - 1) & ~(PAGE - 1);
    char *base = filled - 64; /* the mapping starts with the header */
    CHECK_INT_EQ(resident_pages(base + used_end, items * item + 64 - used_end),
                 0);
    CHECK_INT_EQ(resident_pages(base, used_end), used_end / PAGE);
    /* Filled past what was expected: from the next step on, the steps
     * ahead come in on the helper as ever. */
    for (uint32_t i = (uint32_t)expected; i <= 20480; i++)
        ((char *)block_slot_expecting(blocks, block, i, item, 10,
                                      expected))[0] = 1;
    size_t step = 1024 * item;
    CHECK(resident_soon(base + 22 * step, 4 * step, 4 * step / PAGE));
    big_free(blocks[block]);
    big_cache_release();
    prefault_release();
}

/* In a child of a fork with the helper at work: the parent's request is
 * not the child's to wait for, and the child's requests are done. */
static int child_has_its_own_helper(void *parent_mapping)
{
    prefault_forget(parent_mapping); /* returns: nothing to wait for */
    char *q = fresh_mapping(4 * MIB);
    prefault_now(q, 4 * MIB);
    return resident_pages(q, 4 * MIB) == 4 * MIB / PAGE &&
           helper_faults_in(2 * MIB);
}

TEST(prefault_helper_is_made_again_after_a_fork_and_a_release)
{
    if (!helper_can_run())
        return;
    size_t len = 64 * MIB;
    /* A request in progress when the process forks. */
    _Atomic size_t mark;
    char *p = queued_mapping(len, &mark);
    CHECK(!FORKED_THREADS || child_passes(child_has_its_own_helper, p));
    prefault_forget(p);
    munmap(p, len);
    /* Released, the helper is made again for the next request. */
    prefault_release();
    CHECK(helper_faults_in(2 * MIB));
    prefault_release();
}

/* The process's threads once they are `want`, or after a second what they
 * are then: a joined thread leaves the count a little after its join. */
static long threads_settled(long want)
{
    long threads = test_proc_status("Threads");
    for (int tries = 0; threads != want && tries < 1000; tries++) {
        nap_ms(1);
        threads = test_proc_status("Threads");
    }
    return threads;
}

/* Three requests, the helper waiting for work between them. */
static int child_requests_three_times(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        if (!helper_faults_in(MIB))
            return 0;
        nap_ms(20);
    }
    return 1;
}

TEST(prefault_helper_idle_at_a_fork_leaves_the_child_a_helper_that_works)
{
    if (!helper_can_run() || !FORKED_THREADS)
        return;
    /* The helper waiting for work when the process forks: the child's
     * copy of its condition variable records a waiter the child has
     * not. */
    char *p = fresh_mapping(2 * MIB);
    prefault_now(p, 2 * MIB);
    nap_ms(20);
    CHECK(child_passes(child_requests_three_times, NULL));
    munmap(p, 2 * MIB);
    prefault_release();
}

static void *release_over_and_over(void *arg)
{
    (void)arg;
    for (int i = 0; i < 200; i++)
        daglib_release_memory();
    return NULL;
}

TEST(prefault_releases_from_several_threads_at_once_join_the_helper_once)
{
    if (!helper_can_run())
        return;
    /* A helper made and ended first: under ThreadSanitizer the first
     * thread made starts one of its own, which stays. */
    char *p = fresh_mapping(2 * MIB);
    prefault_now(p, 2 * MIB);
    prefault_release();
    long before = test_proc_status("Threads");
    for (long was = -1; before != was;) { /* the helper's exit seen */
        nap_ms(5);
        was = before;
        before = test_proc_status("Threads");
    }
    pthread_t releasers[2];
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&releasers[i], NULL, release_over_and_over,
                             NULL) == 0);
    /* Meanwhile, requests that make the helper again and again. */
    for (int i = 0; i < 200; i++) {
        _Atomic size_t mark = 0;
        prefault_now(p, 2 * MIB);
        prefault_soon(p, p, 2 * MIB, &mark, 2 * MIB);
        prefault_forget(p);
    }
    for (int i = 0; i < 2; i++)
        CHECK(pthread_join(releasers[i], NULL) == 0);
    prefault_release();
    /* No helper left behind. */
    CHECK_INT_EQ(threads_settled(before), before);
    CHECK_INT_EQ(resident_pages(p, 2 * MIB), 2 * MIB / PAGE);
    munmap(p, 2 * MIB);
}

TEST(prefault_helper_thread_ends_at_daglib_release_memory)
{
    if (!helper_can_run())
        return;
    long before = test_proc_status("Threads");
    size_t len = 16 * MIB;
    char *p = fresh_mapping(len);
    prefault_now(p, len);
    /* One more (and, under ThreadSanitizer, its own background thread the
     * first time a thread is made). */
    long with = test_proc_status("Threads");
    CHECK(with > before);
    daglib_release_memory();
    CHECK_INT_EQ(threads_settled(with - 1), with - 1);
    /* The next big request makes a new one. */
    munmap(p, len);
    p = fresh_mapping(len);
    prefault_now(p, len);
    CHECK_INT_EQ(resident_pages(p, len), len / PAGE);
    munmap(p, len);
    daglib_release_memory();
}
