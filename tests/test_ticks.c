/*
 * test_ticks.c -- the workers' clock (src/ticks.h): whichever source this
 * machine gives, spans measured in its ticks and converted through two
 * anchors agree with CLOCK_MONOTONIC within 1 us + 0.1%, from 1 ms to 1 s.
 */
#include <math.h>
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

/* A span measured both ways: ticks read around a pause of pause_ns (0:
 * none) with CLOCK_MONOTONIC read inside them, converted through anchors
 * read around all of it, as the profiler does. */
typedef struct measured {
    int64_t by_ticks, by_clock; /* the span */
    int64_t end_by_ticks, end_by_clock; /* its end, as CLOCK_MONOTONIC */
    int64_t anchors_apart;      /* ns between the two anchors */
} measured;

/* The ticks and CLOCK_MONOTONIC at one moment: the clock read between
 * two reads of the ticks, the closest pair of a few.  Read once, a thread
 * preempted between the two reads (the other suites run beside this one)
 * would have the span disagree by as long as it waited. */
static void read_both(ticks_source source, uint64_t *ticks, int64_t *mono)
{
    uint64_t narrowest = UINT64_MAX;
    for (int i = 0; i < 8; i++) {
        uint64_t before = ticks_now(source);
        int64_t clock = ticks_monotonic_ns();
        uint64_t after = ticks_now(source);
        if (after - before < narrowest) {
            narrowest = after - before;
            *ticks = before + (after - before) / 2;
            *mono = clock;
        }
    }
}

static measured measure_span(ticks_source source, int64_t pause_ns)
{
    ticks_anchor first, last;
    ticks_anchor_read(source, &first);
    uint64_t t0, t1;
    int64_t m0, m1;
    read_both(source, &t0, &m0);
    if (pause_ns > 0)
        sleep_ns(pause_ns);
    read_both(source, &t1, &m1);
    ticks_anchor_read(source, &last);
    ticks_scale scale;
    ticks_scale_set(&scale, source, &first, &last);
    return (measured){
        .by_ticks = llround(ticks_span_seconds(&scale, t1 - t0) * 1e9),
        .by_clock = m1 - m0,
        .end_by_ticks = ticks_to_mono_ns(&scale, t1),
        .end_by_clock = m1,
        .anchors_apart = last.mono_ns - first.mono_ns,
    };
}

TEST(ticks_spans_agree_with_clock_gettime_from_1_ms_to_1_s)
{
    const ticks_source source = ticks_best_source();
    static const int64_t sleeps_ns[] = {1000000, 10000000, 100000000,
                                        1000000000};
    for (size_t i = 0; i < sizeof sleeps_ns / sizeof *sleeps_ns; i++) {
        measured m = measure_span(source, sleeps_ns[i]);
        int64_t tolerance = tolerance_ns(m.by_clock);
        if (m.by_ticks < m.by_clock - tolerance ||
            m.by_ticks > m.by_clock + tolerance)
            FAIL("%s: a sleep of %lld ns took %lld ns by the ticks, %lld ns "
                 "by clock_gettime",
                 source == TICKS_TSC ? "TSC" : "CLOCK_MONOTONIC",
                 (long long)sleeps_ns[i], (long long)m.by_ticks,
                 (long long)m.by_clock);
        /* Points in time too, not just spans. */
        CHECK(m.end_by_ticks >= m.end_by_clock - tolerance &&
              m.end_by_ticks <= m.end_by_clock + tolerance);
    }
}

TEST(ticks_anchors_close_in_time_still_convert_within_their_error)
{
    /* The profiler converts at its first pass, perhaps microseconds after
     * the run began: the line through two close anchors is steep or flat
     * by their error, but so are the spans it converts short. */
    const ticks_source source = ticks_best_source();
    for (int i = 0; i < 1000; i++) {
        measured m = measure_span(source, 0);
        CHECK(m.by_ticks >= 0);
        CHECK(m.by_ticks <= m.anchors_apart + 1000);
        CHECK(m.by_clock <= m.by_ticks + 1000);
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
