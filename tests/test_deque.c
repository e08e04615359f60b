/*
 * test_deque.c -- the work-stealing deque on its own: the owner's batched
 * take against thieves, every item taken exactly once.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "deque.h"
#include "test.h"

TEST(scheduler_deque_takes_batches_of_the_newest_beyond_the_thieves_reach)
{
    deque d;
    CHECK_INT_EQ(deque_init(&d), 0);
    const uint32_t count = 100;
    for (uint32_t i = 0; i < count; i++)
        CHECK(deque_push(&d, i) >= 0);
    uint32_t items[DEQUE_TAKE_BATCH];
    uint32_t expected = count; /* the newest left, plus one */
    while (expected >= DEQUE_STEAL_MAX + DEQUE_TAKE_BATCH) {
        CHECK_INT_EQ(deque_take_batch(&d, items), DEQUE_TAKE_BATCH);
        for (uint32_t i = 0; i < DEQUE_TAKE_BATCH; i++) /* oldest first */
            CHECK_INT_EQ(items[i], expected - DEQUE_TAKE_BATCH + i);
        expected -= DEQUE_TAKE_BATCH;
    }
    /* Within a batch of the thieves' reach: one at a time, oldest first,
     * as a thief would take them. */
    uint32_t oldest = 0;
    while (expected > 0) {
        CHECK_INT_EQ(deque_take_batch(&d, items), 1);
        if (expected - 1 >= DEQUE_STEAL_MAX) {
            CHECK_INT_EQ(items[0], expected - 1);
        } else {
            CHECK_INT_EQ(items[0], oldest);
            oldest++;
        }
        expected--;
    }
    CHECK_INT_EQ(deque_take_batch(&d, items), 0);
    deque_destroy(&d);
}

/* Shared by the owner and the thieves of the race below. */
typedef struct race {
    deque queue;
    _Atomic uint8_t *seen;
    uint32_t count;
    _Atomic int owner_done;
    _Atomic uint32_t taken;
} race;

static void take_once(race *rc, uint32_t item)
{
    if (item >= rc->count)
        FAIL("item %u was never pushed", item);
    if (atomic_fetch_add(&rc->seen[item], 1) != 0)
        FAIL("item %u was taken twice", item);
    atomic_fetch_add(&rc->taken, 1);
}

static void *thief(void *arg)
{
    race *rc = arg;
    uint32_t items[DEQUE_STEAL_MAX];
    while (!atomic_load(&rc->owner_done) || deque_maybe_nonempty(&rc->queue)) {
        uint32_t got = deque_steal(&rc->queue, items);
        for (uint32_t i = 0; i < got; i++)
            take_once(rc, items[i]);
    }
    return NULL;
}

/* Pushing many at once (a caller's stack dealt out when a helper joins)
 * grows the ring once, to fit them all, keeps what was there, and leaves
 * the last item newest. */
TEST(scheduler_deque_pushes_many_at_once_past_its_capacity)
{
    deque d;
    CHECK_INT_EQ(deque_init(&d), 0);
    CHECK(deque_push(&d, 7) >= 0);
    const uint32_t count = 5 * DEQUE_INITIAL_CAPACITY + 3;
    uint32_t *items = malloc(count * sizeof *items);
    CHECK(items != NULL);
    for (uint32_t i = 0; i < count; i++)
        items[i] = 100 + i;
    CHECK_INT_EQ(deque_push_all(&d, items, count), 0);
    CHECK_INT_EQ(deque_push_all(&d, items, 0), 0);
    /* The owner takes the newest first, a thief the oldest. */
    CHECK_INT_EQ(deque_take(&d), 100 + count - 1);
    uint32_t stolen[DEQUE_STEAL_MAX];
    uint32_t got = deque_steal(&d, stolen);
    CHECK(got > 0);
    CHECK_INT_EQ(stolen[0], 7);
    for (uint32_t i = 1; i < got; i++)
        CHECK_INT_EQ(stolen[i], 100 + i - 1);
    /* The rest, each once. */
    unsigned char *seen = calloc(count, 1);
    CHECK(seen != NULL);
    uint32_t item, left = 0;
    while ((item = deque_take(&d)) != DEQUE_EMPTY) {
        CHECK(item >= 100 + got - 1 && item < 100 + count - 1);
        CHECK(!seen[item - 100]);
        seen[item - 100] = 1;
        left++;
    }
    CHECK_INT_EQ(left, count - got);
    free(seen);
    deque_destroy(&d);
    free(items);
}

TEST(scheduler_deque_batched_takes_and_steals_take_each_item_once)
{
    race rc;
    rc.count = 400000;
    rc.seen = calloc(rc.count, 1);
    CHECK(rc.seen != NULL);
    atomic_init(&rc.owner_done, 0);
    atomic_init(&rc.taken, 0);
    CHECK_INT_EQ(deque_init(&rc.queue), 0);
    pthread_t thieves[2];
    for (int k = 0; k < 2; k++)
        CHECK_INT_EQ(pthread_create(&thieves[k], NULL, thief, &rc), 0);
    /* Pushes in bursts of every size, so that takes meet thieves near the
     * top as well as far from it. */
    uint32_t pushed = 0, burst = 1;
    uint32_t items[DEQUE_TAKE_BATCH];
    /* First a burst that grows the ring while thieves read it. */
    for (; pushed < 5 * DEQUE_INITIAL_CAPACITY; pushed++)
        CHECK(deque_push(&rc.queue, pushed) >= 0);
    while (pushed < rc.count) {
        for (uint32_t i = 0; i < burst && pushed < rc.count; i++)
            CHECK(deque_push(&rc.queue, pushed++) >= 0);
        burst = burst % 97 + 1;
        for (uint32_t i = 0; i < burst / 3; i++) {
            uint32_t got = deque_take_batch(&rc.queue, items);
            for (uint32_t j = 0; j < got; j++)
                take_once(&rc, items[j]);
        }
    }
    uint32_t got;
    while ((got = deque_take_batch(&rc.queue, items)) > 0)
        for (uint32_t j = 0; j < got; j++)
            take_once(&rc, items[j]);
    atomic_store(&rc.owner_done, 1);
    for (int k = 0; k < 2; k++)
        CHECK_INT_EQ(pthread_join(thieves[k], NULL), 0);
    CHECK_INT_EQ(atomic_load(&rc.taken), rc.count);
    deque_destroy(&rc.queue);
    free((void *)rc.seen);
}
