/*
 * test_ticks.c -- the workers' clock (src/ticks.h): whichever source this
 * machine gives, spans measured in its ticks and converted through two
 * anchors agree with CLOCK_MONOTONIC within 1 us + 0.1%, from 1 ms to 1 s.
 */
#include <time.h>

#include "test.h"
#include "ticks.h"

static void sleep_ns(int64_t ns)
{
    struct timespec t = {ns / 1000000000, ns % 1000000000};
    while (nanosleep(&t, &t) != 0)
        ;
}

static int64_t tolerance_ns(int64_t span_ns)
{
    return 1000 + span_ns / 1000;
}

TEST(ticks_spans_agree_with_clock_gettime_from_1_ms_to_1_s)
{
    const ticks_source source = ticks_best_source();
    static const int64_t sleeps_ns[] = {1000000, 10000000, 100000000,
                                        1000000000};
    for (size_t i = 0; i < sizeof sleeps_ns / sizeof *sleeps_ns; i++) {
        ticks_anchor first, last;
        ticks_anchor_read(source, &first);
        /* The ticks around the sleep, with CLOCK_MONOTONIC inside them. */
        uint64_t t0 = ticks_now(source);
        int64_t m0 = ticks_monotonic_ns();
        sleep_ns(sleeps_ns[i]);
        int64_t m1 = ticks_monotonic_ns();
        uint64_t t1 = ticks_now(source);
        ticks_anchor_read(source, &last);
        ticks_scale scale;
        ticks_scale_set(&scale, source, &first, &last);

        int64_t by_ticks = ticks_span_ns(&scale, t1 - t0);
        int64_t by_clock = m1 - m0;
        if (by_ticks < by_clock - tolerance_ns(by_clock) ||
            by_ticks > by_clock + tolerance_ns(by_clock))
            FAIL("%s: a sleep of %lld ns took %lld ns by the ticks, %lld ns "
                 "by clock_gettime",
                 source == TICKS_TSC ? "TSC" : "CLOCK_MONOTONIC",
                 (long long)sleeps_ns[i], (long long)by_ticks,
                 (long long)by_clock);
        /* Points in time too, not just spans. */
        int64_t at = ticks_to_mono_ns(&scale, t1);
        CHECK(at >= m1 - tolerance_ns(by_clock) &&
              at <= m1 + tolerance_ns(by_clock));
    }
}

TEST(ticks_anchors_close_in_time_still_convert_within_their_error)
{
    /* The profiler converts at its first pass, perhaps microseconds after
     * the run began: the line through two close anchors is steep or flat
     * by their error, but so are the spans it converts short. */
    const ticks_source source = ticks_best_source();
    for (int i = 0; i < 1000; i++) {
        ticks_anchor first, last;
        ticks_anchor_read(source, &first);
        uint64_t t0 = ticks_now(source);
        int64_t m0 = ticks_monotonic_ns();
        int64_t m1 = ticks_monotonic_ns();
        uint64_t t1 = ticks_now(source);
        ticks_anchor_read(source, &last);
        ticks_scale scale;
        ticks_scale_set(&scale, source, &first, &last);
        int64_t span = ticks_span_ns(&scale, t1 - t0);
        CHECK(span >= 0);
        CHECK(span <= (last.mono_ns - first.mono_ns) + 1000);
        CHECK(m1 - m0 <= span + 1000);
    }
}

TEST(ticks_monotonic_source_is_nanoseconds_exactly)
{
    ticks_anchor first, last;
    ticks_anchor_read(TICKS_MONOTONIC, &first);
    sleep_ns(1000000);
    ticks_anchor_read(TICKS_MONOTONIC, &last);
    CHECK(first.ticks == (uint64_t)first.mono_ns);
    ticks_scale scale;
    ticks_scale_set(&scale, TICKS_MONOTONIC, &first, &last);
    CHECK(scale.ns_per_tick == 1.0);
    CHECK(ticks_to_mono_ns(&scale, last.ticks) == last.mono_ns);
}
