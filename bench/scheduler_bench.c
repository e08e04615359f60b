/*
 * scheduler_bench.c -- `make bench`: daglib's scheduler against oneTBB's
 * flow graph and OpenMP's depend clauses, in one process, and against
 * Taskflow when built with TASKFLOW=DIR (bench/bench.mk).
 *
 * Four parts, each printed as a Markdown table, in this order:
 *   1. overhead: the four shapes of ~100,000 empty tasks, 1 and 2 workers,
 *      ns per task to build the graph and to run it, daglib against the
 *      best peer (also daglib with tasks that return an integer);
 *   2. speed-up: the shapes with tasks that spin ~1 us, 2 workers against 1;
 *   3. scaling: daglib, oneTBB (and Taskflow) at 10k, 100k and 1M tasks,
 *      each measurement in a fresh process of its own (this program run
 *      with -x): build, run, the graph built and run once as a program
 *      does it, and the peak memory it took, per task;
 *   4. profiling: what DAGLIB_PROFILE adds per task on the fan-out shape,
 *      the Avro file written and closed included.
 * Every figure is the median of the repetitions (-r, at least 7).  Within a
 * repetition the sides take turns in a rotating order, with a pause
 * between them so that a peer's spinning threads have gone to sleep before
 * the next one starts.  The speed-up part also runs the spinning tasks on
 * bare threads, without any graph: what this machine's two cores give at
 * best.  The closing line says how much of the CPUs other processes (and
 * the hypervisor) took meanwhile, since that moves every figure.  Nothing
 * here fails on slow numbers: a benchmark measures, tests judge.
 *
 *   scheduler_bench [-r REPS] [-n TASKS] [-o RAW.csv] [-p PARTS]
 *   scheduler_bench -x SIDE,SHAPE,TASKS,WORKERS
 *
 * PARTS is a comma-separated subset of overhead,profiling,speedup,scaling.
 * -x is one measurement in this process (SIDE daglib, tbb, taskflow or
 * none: the shape only; SHAPE 0 fan-out, 1 chain, 2 tree, 3 wavefront),
 * printed as "build_ns run_ns first_ns"; the scaling part runs it as a
 * child.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daglib.h"
#include "peers.h"
#include "profiler.h"

#define MIN_REPS 7
#define PAUSE_NS 20000000L /* between two measurements */
#define SPIN_TASK_NS 1000.0

#ifdef BENCH_TASKFLOW
#define HAVE_TASKFLOW 1
#else
#define HAVE_TASKFLOW 0
/* Built without TASKFLOW=DIR (bench/bench.mk): never called. */
int bench_taskflow(const shape *s, int workers, const bench_task *task,
                   bench_time *out)
{
    (void)s, (void)workers, (void)task, (void)out;
    fprintf(stderr, "Taskflow is not in this build (TASKFLOW=DIR)\n");
    return -1;
}

const char *bench_taskflow_version(void)
{
    return "absent";
}
#endif

/* Without Taskflow in the build: Taskflow 4.1 on this machine kind, one
 * thread, run only, as issue 2 measured it. */
static const double taskflow_anchor[SHAPE_COUNT] = {
    [SHAPE_FAN_OUT] = 46, [SHAPE_CHAIN] = 21, [SHAPE_TREE] = 32,
    [SHAPE_WAVEFRONT] = 40};

typedef enum side {
    SIDE_DAGLIB,
    SIDE_DAGLIB_INT, /* daglib, tasks returning an integer */
    SIDE_TBB,
    SIDE_OPENMP,
    SIDE_TASKFLOW, /* only when built with it */
    SIDE_BARE, /* spinning tasks split over bare threads, no graph */
    SIDE_COUNT
} side;

static const char *const side_names[SIDE_COUNT] = {
    "daglib", "daglib-int", "tbb", "openmp", "taskflow", "bare-threads"};

static int reps = 11;
static FILE *raw; /* every measurement, or NULL */

static void pause_briefly(void)
{
    struct timespec pause = {0, PAUSE_NS};
    while (nanosleep(&pause, &pause) != 0 && errno == EINTR)
        ;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
    double sorted[n];
    memcpy(sorted, v, sizeof sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, compare_doubles);
    return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

/* ---- the machine's own ceiling ------------------------------------------- */

typedef struct bare_share {
    const shape *s;
    uint64_t iterations;
    _Atomic uint32_t *next; /* the first task no thread has claimed */
} bare_share;

/* Tasks are claimed BARE_CLAIM at a time from a shared counter: a thread
 * that starts late or is held up does less, as under any scheduler that
 * balances, instead of the run waiting for its fixed half. */
#define BARE_CLAIM 16

static void *run_bare_share(void *arg)
{
    const bare_share *share = arg;
    uint32_t n = share->s->n;
    for (;;) {
        uint32_t first = atomic_fetch_add(share->next, BARE_CLAIM);
        if (first >= n)
            return NULL;
        uint32_t end = n - first < BARE_CLAIM ? n : first + BARE_CLAIM;
        for (uint32_t i = first; i < end; i++)
            bench_spin(share->iterations);
    }
}

/* The spinning tasks dealt out to `workers` threads (the calling thread
 * included), no dependencies, no scheduler: the best any scheduler can do. */
static int bench_bare(const shape *s, int workers, const bench_task *task,
                      bench_time *out)
{
    pthread_t threads[workers];
    _Atomic uint32_t next = 0;
    bare_share share = {s, task->spin_iterations, &next};
    int64_t t0 = bench_now_ns();
    int started = 1;
    while (started < workers &&
           pthread_create(&threads[started], NULL, run_bare_share, &share) == 0)
        started++;
    run_bare_share(&share); /* the threads that started share the tasks */
    for (int k = 1; k < started; k++)
        pthread_join(threads[k], NULL);
    if (started < workers)
        return -1;
    out->build_ns = -1;
    out->run_ns = (double)(bench_now_ns() - t0);
    out->first_ns = out->run_ns;
    return 0;
}

/* ---- measuring ------------------------------------------------------------ */

/* One measurement of one side; exits on failure (a broken side would
 * make every figure after it meaningless). */
static bench_time measure(const char *part, side sd, const shape *s,
                          int workers, const bench_task *task, int rep)
{
    bench_time t = {0};
    int rc;
    switch (sd) {
    case SIDE_TBB:
        rc = bench_tbb(s, workers, task, &t);
        break;
    case SIDE_OPENMP:
        rc = bench_openmp(s, workers, task, &t);
        break;
    case SIDE_TASKFLOW:
        rc = bench_taskflow(s, workers, task, &t);
        break;
    case SIDE_BARE:
        rc = bench_bare(s, workers, task, &t);
        break;
    default:
        rc = bench_daglib(s, workers, task, &t);
        break;
    }
    if (rc != 0) {
        fprintf(stderr, "%s failed on %s\n", side_names[sd], s->name);
        exit(1);
    }
    if (raw != NULL && rep >= 0)
        fprintf(raw, "%s,%s,%u,%d,%s,%d,%.0f,%.0f,,\n", part, s->name, s->n,
                workers, side_names[sd], rep, t.build_ns, t.run_ns);
    pause_briefly();
    return t;
}

/* Medians, in ns per task, of the sides measured in turns: build[k] and
 * run[k] belong to sides[k] of the call. */
typedef struct cell {
    double build[SIDE_COUNT];
    double run[SIDE_COUNT];
} cell;

static cell measure_cell(const char *part, const shape *s, int workers,
                         const side *sides, const bench_task *tasks,
                         int n_sides)
{
    double build[SIDE_COUNT][reps], run[SIDE_COUNT][reps];
    for (int k = 0; k < n_sides; k++) /* warm-up: threads, caches, pools */
        measure(part, sides[k], s, workers, &tasks[k], -1);
    for (int rep = 0; rep < reps; rep++)
        for (int j = 0; j < n_sides; j++) {
            int k = (rep + j) % n_sides;
            bench_time t =
                measure(part, sides[k], s, workers, &tasks[k], rep);
            build[k][rep] = t.build_ns / s->n;
            run[k][rep] = t.run_ns / s->n;
        }
    cell c = {{0}, {0}};
    for (int k = 0; k < n_sides; k++) {
        c.build[k] = median(build[k], reps);
        c.run[k] = median(run[k], reps);
    }
    return c;
}

static double min2(double a, double b)
{
    return a < b ? a : b;
}

/* ---- 1. overhead ------------------------------------------------------------ */

/* A figure of a peer that may not be in this build, or "–". */
static const char *peer_figure(char *out, size_t size, int present,
                               double value, const char *format)
{
    if (present)
        snprintf(out, size, format, value);
    else
        snprintf(out, size, "–");
    return out;
}

static void print_taskflow_note(void)
{
    if (HAVE_TASKFLOW)
        printf("Taskflow %s, built with `TASKFLOW=DIR`: its executor has "
               "`workers` threads of its own, while the caller waits.  \n",
               bench_taskflow_version());
    else
        printf("Taskflow is not in this build (`make bench TASKFLOW=DIR` "
               "puts it in).  \n");
}

static void overhead(shape *shapes)
{
    /* In enum order, so that c->run[SIDE_TBB] is oneTBB's. */
    const side sides[] = {SIDE_DAGLIB, SIDE_DAGLIB_INT, SIDE_TBB, SIDE_OPENMP,
                          SIDE_TASKFLOW};
    const bench_task tasks[] = {
        {BODY_EMPTY, 0, 0}, {BODY_INT, 0, 0}, {BODY_EMPTY, 0, 0},
        {BODY_EMPTY, 0, 0}, {BODY_EMPTY, 0, 0}};
    cell cells[SHAPE_COUNT][2];
    for (int k = 0; k < SHAPE_COUNT; k++)
        for (int w = 1; w <= 2; w++) {
            fprintf(stderr, "  overhead: %s, %d worker%s\n", shapes[k].name, w,
                    w > 1 ? "s" : "");
            cells[k][w - 1] = measure_cell("overhead", &shapes[k], w, sides,
                                           tasks, 4 + HAVE_TASKFLOW);
        }

    char tf[32];
    printf("### Run: ns per task (empty tasks, median of %d)\n\n", reps);
    printf("| shape | tasks | workers | daglib | daglib, int results | oneTBB "
           "| OpenMP¹ | Taskflow² | daglib / best peer |\n");
    printf("|---|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for (int k = 0; k < SHAPE_COUNT; k++)
        for (int w = 1; w <= 2; w++) {
            const cell *c = &cells[k][w - 1];
            double best = min2(c->run[SIDE_TBB], c->run[SIDE_OPENMP]);
            if (HAVE_TASKFLOW) {
                best = min2(best, c->run[SIDE_TASKFLOW]);
                snprintf(tf, sizeof tf, "%.1f", c->run[SIDE_TASKFLOW]);
            } else {
                peer_figure(tf, sizeof tf, w == 1, taskflow_anchor[k], "%.0f");
                if (w == 1)
                    strcat(tf, " (quoted)");
            }
            printf("| %s | %u | %d | %.1f | %.1f | %.1f | %.1f | %s | "
                   "%.2f |\n",
                   shapes[k].name, shapes[k].n, w, c->run[SIDE_DAGLIB],
                   c->run[SIDE_DAGLIB_INT], c->run[SIDE_TBB],
                   c->run[SIDE_OPENMP], tf, c->run[SIDE_DAGLIB] / best);
        }
    printf("\n¹ OpenMP creates its tasks while they run: its run includes "
           "building.  \n² ");
    print_taskflow_note();
    if (!HAVE_TASKFLOW)
        printf("Quoted: Taskflow 4.1 on this machine kind, one thread, run "
               "only, measured for issue 2.\n");
    printf("\n");

    printf("### Build, and build + run: ns per task (median of %d)\n\n", reps);
    printf("| shape | workers | build: daglib | oneTBB | Taskflow | total: "
           "daglib | oneTBB | OpenMP | Taskflow | daglib / oneTBB | daglib / "
           "Taskflow | daglib / best peer |\n");
    printf("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for (int k = 0; k < SHAPE_COUNT; k++)
        for (int w = 1; w <= 2; w++) {
            const cell *c = &cells[k][w - 1];
            double total = c->build[SIDE_DAGLIB] + c->run[SIDE_DAGLIB];
            double tbb = c->build[SIDE_TBB] + c->run[SIDE_TBB];
            double omp = c->run[SIDE_OPENMP];
            double flow = c->build[SIDE_TASKFLOW] + c->run[SIDE_TASKFLOW];
            double best = min2(tbb, omp);
            if (HAVE_TASKFLOW)
                best = min2(best, flow);
            char build_tf[32], total_tf[32], ratio_tf[32];
            printf("| %s | %d | %.1f | %.1f | %s | %.1f | %.1f | %.1f | %s | "
                   "%.2f | %s | %.2f |\n",
                   shapes[k].name, w, c->build[SIDE_DAGLIB], c->build[SIDE_TBB],
                   peer_figure(build_tf, sizeof build_tf, HAVE_TASKFLOW,
                               c->build[SIDE_TASKFLOW], "%.1f"),
                   total, tbb, omp,
                   peer_figure(total_tf, sizeof total_tf, HAVE_TASKFLOW, flow,
                               "%.1f"),
                   total / tbb,
                   peer_figure(ratio_tf, sizeof ratio_tf, HAVE_TASKFLOW,
                               total / flow, "%.2f"),
                   total / best);
        }
    printf("\ndaglib's build is the API calls plus the plan compiled at the "
           "first run (first run minus a second one); its run is the second "
           "run.\n\n");
}

/* ---- 2. profiling ------------------------------------------------------------ */

static int remove_entry(const char *path, const struct stat *st, int type,
                        struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

/* Per task, the medians of one profiling cell: the run off and on, and
 * where the added time went (profiler_last_costs). */
typedef struct profiling_cell {
    double off, on, create, encode, encode_after, write, write_after, stop,
        sync, disk, bytes, workers_cpu;
} profiling_cell;

/* The cell's figures, each a median of one series of measurements. */
#define PROFILING_FIGURES (sizeof(profiling_cell) / sizeof(double))

/* What the disk alone takes for n bytes: written to a new file in dir in
 * 1 MiB write()s, then fdatasync() and close(), as a plain program would;
 * in ns. */
static double disk_floor_ns(const char *dir, uint64_t n)
{
    static char chunk[1 << 20];
    memset(chunk, 'x', sizeof chunk);
    char path[4200];
    snprintf(path, sizeof path, "%s/disk-floor", dir);
    int64_t t0 = bench_now_ns();
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror(path);
        exit(1);
    }
    for (uint64_t done = 0; done < n;) {
        size_t part = n - done < sizeof chunk ? (size_t)(n - done) : sizeof chunk;
        if (write(fd, chunk, part) != (ssize_t)part) {
            perror(path);
            exit(1);
        }
        done += part;
    }
    fdatasync(fd);
    close(fd);
    int64_t t1 = bench_now_ns();
    unlink(path);
    return (double)(t1 - t0);
}

static profiling_cell measure_profiling(const shape *s, int workers,
                                        const char *root)
{
    const bench_task off = {BODY_EMPTY, 0, 0};
    const bench_task on = {BODY_EMPTY, 0, DAGLIB_PROFILE};
    double v[PROFILING_FIGURES][reps];
    measure("profiling", SIDE_DAGLIB, s, workers, &off, -1);
    measure("profiling", SIDE_DAGLIB, s, workers, &on, -1);
    for (int rep = 0; rep < reps; rep++) {
        /* alternate which one goes first */
        bench_time t_off, t_on;
        if (rep % 2 == 0)
            t_off = measure("profiling", SIDE_DAGLIB, s, workers, &off, rep);
        t_on = measure("profiling", SIDE_DAGLIB, s, workers, &on, rep);
        profile_costs c;
        profiler_last_costs(&c);
        if (rep % 2 != 0)
            t_off = measure("profiling", SIDE_DAGLIB, s, workers, &off, rep);
        double n = s->n;
        v[0][rep] = t_off.run_ns / n;
        v[1][rep] = t_on.run_ns / n;
        v[2][rep] = (double)c.create_ns / n;
        v[3][rep] = (double)c.encode_ns / n;
        v[4][rep] = (double)c.encode_after_ns / n;
        v[5][rep] = (double)c.write_ns / n;
        v[6][rep] = (double)c.write_after_ns / n;
        v[7][rep] = (double)c.stop_ns / n;
        v[8][rep] = (double)c.sync_ns / n;
        v[9][rep] = disk_floor_ns(root, c.bytes) / n;
        v[10][rep] = (double)c.bytes / n;
        /* The CPU the process spent on the run beyond an unprofiled one,
         * less the profiler's thread and the caller's starting and
         * finishing it: the workers' clock reads and notes. */
        v[11][rep] = (t_on.run_cpu_ns - t_off.run_cpu_ns -
                      (double)c.thread_cpu_ns - (double)c.caller_cpu_ns) /
                     n;
    }
    profiling_cell cell;
    double *fields[] = {&cell.off,    &cell.on,    &cell.create,
                        &cell.encode, &cell.encode_after, &cell.write,
                        &cell.write_after, &cell.stop, &cell.sync,
                        &cell.disk, &cell.bytes, &cell.workers_cpu};
    _Static_assert(sizeof fields / sizeof *fields == PROFILING_FIGURES,
                   "one series per figure");
    for (size_t k = 0; k < PROFILING_FIGURES; k++)
        *fields[k] = median(v[k], reps);
    return cell;
}

/* ---- whether the CPUs slow each other -------------------------------------- */

static atomic_int neighbour_stop;
static atomic_int neighbour_pinned; /* 1 pinned, -1 could not be */

static int pin_to_cpu(pthread_t thread, int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(thread, sizeof set, &set);
}

static void *busy_neighbour(void *arg)
{
    if (pin_to_cpu(pthread_self(), *(const int *)arg) != 0) {
        atomic_store(&neighbour_pinned, -1);
        return NULL;
    }
    atomic_store(&neighbour_pinned, 1);
    volatile uint64_t x = 1;
    while (!atomic_load_explicit(&neighbour_stop, memory_order_relaxed))
        for (int i = 0; i < 1000; i++)
            x = x * 6364136223846793005ull + 1442695040888963407ull;
    return NULL;
}

/* ns for a fixed run of integer work on this thread. */
static double integer_work_ns(void)
{
    int64_t t0 = bench_now_ns();
    uint64_t a = 1, b = 2, c = 3, d = 4;
    for (long i = 0; i < 50000000; i++) {
        a += (uint64_t)i;
        b ^= a;
        c += b >> 3;
        d += c;
    }
    __asm__ volatile("" : : "r"(d));
    return (double)(bench_now_ns() - t0);
}

/* How much longer integer work on one CPU takes while another is busy
 * with the same kind of work (1.0: not at all), or 0 when it cannot be
 * told (fewer than two CPUs to run on, or a thread not pinned). */
static double shared_core_slowdown(void)
{
    cpu_set_t saved;
    if (pthread_getaffinity_np(pthread_self(), sizeof saved, &saved) != 0)
        return 0;
    int cpus[2], found = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && found < 2; cpu++)
        if (CPU_ISSET(cpu, &saved))
            cpus[found++] = cpu;
    if (found < 2 || pin_to_cpu(pthread_self(), cpus[0]) != 0)
        return 0;
    double ratios[5], slowdown = 0;
    int k = 0;
    for (; k < 5; k++) {
        double alone = integer_work_ns();
        atomic_store(&neighbour_stop, 0);
        atomic_store(&neighbour_pinned, 0);
        pthread_t neighbour;
        if (pthread_create(&neighbour, NULL, busy_neighbour, &cpus[1]) != 0)
            break;
        pause_briefly();
        double beside = integer_work_ns();
        atomic_store(&neighbour_stop, 1);
        pthread_join(neighbour, NULL);
        if (atomic_load(&neighbour_pinned) != 1)
            break;
        ratios[k] = beside / alone;
    }
    if (k == 5)
        slowdown = median(ratios, 5);
    pthread_setaffinity_np(pthread_self(), sizeof saved, &saved);
    return slowdown;
}

static void profiling(const shape *fan_out)
{
    const char *tmp = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
    char root[4096];
    snprintf(root, sizeof root, "%s/daglib-bench-XXXXXX", tmp);
    if (mkdtemp(root) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
    setenv("DAGLIB_META_DIR", root, 1);
    shape big;
    if (shape_build(&big, SHAPE_FAN_OUT, 10 * fan_out->n) != 0) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    const shape *sizes[] = {fan_out, &big};
    profiling_cell cells[2][2];
    for (int k = 0; k < 2; k++)
        for (int w = 1; w <= 2; w++) {
            fprintf(stderr, "  profiling: %u tasks, %d worker%s\n", sizes[k]->n,
                    w, w > 1 ? "s" : "");
            cells[k][w - 1] = measure_profiling(sizes[k], w, root);
            nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        }
    unsetenv("DAGLIB_META_DIR");

    printf("### Profiling: ns per task on the fan-out shape (median of %d)\n\n",
           reps);
    printf("| tasks | workers | off | on (DAGLIB_PROFILE) | added | creating "
           "| on the workers¹ | the workers' CPU² | encoding: all / after the "
           "tasks | writing: all / after | waiting for the profiler | syncing "
           "| the disk alone³ |\n");
    printf("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for (int k = 0; k < 2; k++)
        for (int w = 1; w <= 2; w++) {
            const profiling_cell *c = &cells[k][w - 1];
            double added = c->on - c->off;
            double after = c->create + c->encode_after + c->write_after +
                           c->stop + c->sync;
            printf("| %u | %d | %.1f | %.1f | **%.1f** | %.1f | %.1f | %.1f | "
                   "%.1f / %.1f | %.1f / %.1f | %.1f | %.1f | %.1f |\n",
                   sizes[k]->n, w, c->off, c->on, added, c->create,
                   added - after, c->workers_cpu, c->encode, c->encode_after,
                   c->write,
                   c->write_after, c->stop, c->sync, c->disk);
        }
    printf("\nThe run with profiling on includes creating, writing, syncing "
           "(`fdatasync`) and closing its Avro file (in %s; %.0f bytes per "
           "task).  Encoding and writing mostly happen on the profiler's "
           "thread while the tasks run; \"after\" is the part left when the "
           "last task finished, which the run's caller waits for, like "
           "creating, waiting for the profiler's last pass and syncing.  \n"
           "¹ What is left of the added time: the workers' clock reads and "
           "notes, and the CPU the profiler's thread took from them.  \n"
           "² The process's CPU time for the run beyond an unprofiled "
           "run's, less all of the profiler thread's and what starting and "
           "finishing the profiler took on the caller's: what the workers' "
           "own path costs, whoever shares their cores, with the idle "
           "spinning it causes.  \n"
           "³ The same number of bytes written by a plain program (1 MiB "
           "`write()`s, `fdatasync`, `close`) right after each profiled run: "
           "what durability alone costs on this disk.\n\n",
           tmp, cells[1][0].bytes);
    double slowdown = shared_core_slowdown();
    if (slowdown > 0)
        printf("Integer work on one CPU ran %.2f× as long while the other "
               "CPU was busy with the same: %s\n\n",
               slowdown,
               slowdown > 1.2 ? "the CPUs slow each other (a shared core, "
                                "or the host's load), so the profiler's "
                                "thread slows the workers it runs beside, "
                                "and the workers' CPU above includes that."
                              : "the CPUs did not slow each other.");
    shape_free(&big);
}

/* ---- 3. speed-up with ~1 us tasks -------------------------------------------- */

/* Spin iterations that take SPIN_TASK_NS; the fastest of a few tries, as
 * interruptions only ever make a try slower. */
static uint64_t calibrate_spin(double *task_ns)
{
    const uint64_t probe = 1u << 24;
    double best = 1e30;
    for (int i = 0; i < 5; i++) {
        int64_t t0 = bench_now_ns();
        bench_spin(probe);
        double ns = (double)(bench_now_ns() - t0);
        if (ns < best)
            best = ns;
    }
    uint64_t iterations = (uint64_t)(SPIN_TASK_NS * (double)probe / best);
    /* Check: one task's spin, timed over many. */
    const int n = 100000;
    int64_t t0 = bench_now_ns();
    for (int i = 0; i < n; i++)
        bench_spin(iterations);
    *task_ns = (double)(bench_now_ns() - t0) / n;
    return iterations;
}

/* Each repetition runs a side on 1 and on 2 workers back to back (in
 * alternating order), and the speed-up is the median of those pairs'
 * ratios: a neighbour's load then slows both halves of a pair alike. */
static void speed_up(shape *shapes)
{
    double task_ns;
    uint64_t iterations = calibrate_spin(&task_ns);
    enum { N_SIDES = 4, N_KINDS = 3 };
    const side sides[N_SIDES] = {SIDE_DAGLIB, SIDE_TBB, SIDE_OPENMP,
                                 SIDE_BARE};
    const bench_task spin = {BODY_SPIN, iterations, 0};
    const shape_kind kinds[N_KINDS] = {SHAPE_FAN_OUT, SHAPE_TREE,
                                       SHAPE_WAVEFRONT};
    double ratio[N_KINDS][N_SIDES], one_ms[N_KINDS], two_ms[N_KINDS];
    for (int k = 0; k < N_KINDS; k++) {
        const shape *s = &shapes[kinds[k]];
        fprintf(stderr, "  speed-up: %s\n", s->name);
        double ratios[N_SIDES][reps], one[reps], two[reps];
        for (int i = 0; i < N_SIDES; i++) /* warm-up */
            measure("speed-up", sides[i], s, 2, &spin, -1);
        for (int rep = 0; rep < reps; rep++)
            for (int j = 0; j < N_SIDES; j++) {
                int i = (rep + j) % N_SIDES;
                bench_time t1, t2;
                if (rep % 2 == 0) {
                    t1 = measure("speed-up", sides[i], s, 1, &spin, rep);
                    t2 = measure("speed-up", sides[i], s, 2, &spin, rep);
                } else {
                    t2 = measure("speed-up", sides[i], s, 2, &spin, rep);
                    t1 = measure("speed-up", sides[i], s, 1, &spin, rep);
                }
                ratios[i][rep] = t1.run_ns / t2.run_ns;
                if (i == 0) {
                    one[rep] = t1.run_ns / 1e6;
                    two[rep] = t2.run_ns / 1e6;
                }
            }
        for (int i = 0; i < N_SIDES; i++)
            ratio[k][i] = median(ratios[i], reps);
        one_ms[k] = median(one, reps);
        two_ms[k] = median(two, reps);
    }

    printf("### Speed-up with ~1 µs tasks (each spins %.0f ns; median of "
           "%d)\n\n",
           task_ns, reps);
    printf("| shape | daglib, 1 worker | daglib, 2 workers | daglib "
           "speed-up | oneTBB | OpenMP | bare threads³ | daglib / bare |\n");
    printf("|---|--:|--:|--:|--:|--:|--:|--:|\n");
    for (int k = 0; k < N_KINDS; k++)
        printf("| %s | %.1f ms | %.1f ms | %.2f× | %.2f× | %.2f× | %.2f× | "
               "%.2f |\n",
               shapes[kinds[k]].name, one_ms[k], two_ms[k], ratio[k][0],
               ratio[k][1], ratio[k][2], ratio[k][3],
               ratio[k][0] / ratio[k][3]);
    printf("\nSpeed-up: a run on 1 worker over the same run on 2, paired "
           "within each repetition.  Goal for daglib: at least 1.9×.  \n³ "
           "The same spinning dealt out to two threads, with no graph and no "
           "scheduler: the ceiling this machine gives.\n\n");
}

/* ---- 4. scaling: fresh processes at 10k, 100k and 1M tasks ---------------- */

/* This process's peak resident memory in KiB (VmHWM).  Not getrusage's
 * ru_maxrss: after exec that still counts the parent's pages the child
 * shared before it, which would hide a small graph's memory. */
static long peak_kb(void)
{
    char line[256];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return kb;
}

/* One measurement in this process, for -x.  Returns the exit status. */
static int measure_here(const char *spec)
{
    char side_name[16];
    int kind, workers;
    unsigned size;
    if (sscanf(spec, "%15[^,],%d,%u,%d", side_name, &kind, &size, &workers) !=
            4 ||
        kind < 0 || kind >= SHAPE_COUNT || workers < 1) {
        fprintf(stderr, "-x SIDE,SHAPE,TASKS,WORKERS: bad '%s'\n", spec);
        return 2;
    }
    shape s;
    if (shape_build(&s, (shape_kind)kind, size) != 0)
        return 1;
    const bench_task empty = {BODY_EMPTY, 0, 0};
    bench_time t = {0};
    int rc = 0;
    if (strcmp(side_name, "daglib") == 0)
        rc = bench_daglib(&s, workers, &empty, &t);
    else if (strcmp(side_name, "tbb") == 0)
        rc = bench_tbb(&s, workers, &empty, &t);
    else if (strcmp(side_name, "taskflow") == 0)
        rc = bench_taskflow(&s, workers, &empty, &t);
    printf("%.0f %.0f %.0f %u %ld\n", t.build_ns, t.run_ns, t.first_ns, s.n,
           peak_kb());
    shape_free(&s);
    return rc != 0;
}

static const char *const shape_labels[SHAPE_COUNT] = {
    "fan-out", "chain", "binary tree", "wavefront"};

typedef struct fresh {
    double build, run, first; /* ns per task */
    double peak_kb;           /* the child's peak resident memory, KiB */
} fresh;

/* Run `-x side,kind,size,workers` in a child and read what it measured. */
static fresh measure_fresh(const char *side_name, int kind, uint32_t size,
                           int workers)
{
    char spec[64];
    snprintf(spec, sizeof spec, "%s,%d,%u,%d", side_name, kind, size, workers);
    int fds[2];
    if (pipe(fds) != 0) {
        perror("pipe");
        exit(1);
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl("/proc/self/exe", "scheduler_bench", "-x", spec, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    fresh f = {0, 0, 0, 0};
    unsigned n = 0;
    FILE *in = fdopen(fds[0], "r");
    int got = in != NULL ? fscanf(in, "%lf %lf %lf %u %lf", &f.build, &f.run,
                                  &f.first, &n, &f.peak_kb)
                         : 0;
    if (in != NULL)
        fclose(in);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0 || got != 5 || n == 0 || f.peak_kb < 0) {
        fprintf(stderr, "measuring %s in a child failed\n", spec);
        exit(1);
    }
    if (raw != NULL)
        fprintf(raw, "scaling,%s,%u,%d,%s,-,%.0f,%.0f,%.0f,%.0f\n",
                shape_labels[kind], n, workers, side_name, f.build, f.run,
                f.first, f.peak_kb);
    f.build /= n;
    f.run /= n;
    f.first /= n;
    return f;
}

static void scaling(void)
{
    enum { N_SIZES = 3, N_SIDES = 2 + HAVE_TASKFLOW };
    static const uint32_t sizes[N_SIZES] = {10000, 100000, 1000000};
    static const char *const names[] = {"daglib", "tbb", "taskflow"};
    /* [shape][size][workers - 1][side] */
    static fresh cells[SHAPE_COUNT][N_SIZES][2][N_SIDES];
    static double base_kb[SHAPE_COUNT][N_SIZES];
    static uint32_t tasks[SHAPE_COUNT][N_SIZES];
    for (int k = 0; k < SHAPE_COUNT; k++)
        for (int z = 0; z < N_SIZES; z++) {
            shape s; /* for its task count */
            if (shape_build(&s, (shape_kind)k, sizes[z]) != 0)
                exit(1);
            tasks[k][z] = s.n;
            shape_free(&s);
            fprintf(stderr, "  scaling: shape %d, %u tasks\n", k, sizes[z]);
            double base[reps];
            for (int rep = 0; rep < reps; rep++)
                base[rep] = measure_fresh("none", k, sizes[z], 1).peak_kb;
            base_kb[k][z] = median(base, reps);
            for (int w = 1; w <= 2; w++) {
                double v[N_SIDES][4][reps];
                for (int rep = 0; rep < reps; rep++)
                    for (int j = 0; j < N_SIDES; j++) {
                        int i = (rep + j) % N_SIDES;
                        fresh f = measure_fresh(names[i], k, sizes[z], w);
                        v[i][0][rep] = f.build;
                        v[i][1][rep] = f.run;
                        v[i][2][rep] = f.first;
                        v[i][3][rep] = f.peak_kb;
                    }
                for (int i = 0; i < N_SIDES; i++)
                    cells[k][z][w - 1][i] = (fresh){
                        median(v[i][0], reps), median(v[i][1], reps),
                        median(v[i][2], reps), median(v[i][3], reps)};
            }
        }

    printf("### Scaling: a fresh process builds the graph and runs it, ns "
           "and bytes per task (median of %d)\n\n",
           reps);
    printf("| shape | tasks | workers | build: daglib | oneTBB | Taskflow "
           "| run: daglib | oneTBB | Taskflow | build + run: daglib | oneTBB "
           "| Taskflow | daglib / oneTBB | daglib / Taskflow | daglib / 10k "
           "| peak memory: daglib | oneTBB | Taskflow |\n");
    printf("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
           "--:|--:|\n");
    for (int k = 0; k < SHAPE_COUNT; k++)
        for (int z = 0; z < N_SIZES; z++)
            for (int w = 1; w <= 2; w++) {
                const fresh *d = &cells[k][z][w - 1][0];
                const fresh *t = &cells[k][z][w - 1][1];
                const fresh *f = &cells[k][z][w - 1][N_SIDES - 1];
                double n = tasks[k][z];
                char fb[32], fr[32], ff[32], ratio[32], mem[32];
                printf("| %s | %u | %d | %.1f | %.1f | %s | %.1f | %.1f | %s "
                       "| %.1f | %.1f | %s | %.2f | %s | %.2f | %.0f B "
                       "| %.0f B | %s |\n",
                       shape_labels[k], tasks[k][z], w, d->build, t->build,
                       peer_figure(fb, sizeof fb, HAVE_TASKFLOW, f->build,
                                   "%.1f"),
                       d->run, t->run,
                       peer_figure(fr, sizeof fr, HAVE_TASKFLOW, f->run,
                                   "%.1f"),
                       d->first, t->first,
                       peer_figure(ff, sizeof ff, HAVE_TASKFLOW, f->first,
                                   "%.1f"),
                       d->first / t->first,
                       peer_figure(ratio, sizeof ratio, HAVE_TASKFLOW,
                                   d->first / f->first, "%.2f"),
                       d->first / cells[k][0][w - 1][0].first,
                       (d->peak_kb - base_kb[k][z]) * 1024 / n,
                       (t->peak_kb - base_kb[k][z]) * 1024 / n,
                       peer_figure(mem, sizeof mem, HAVE_TASKFLOW,
                                   (f->peak_kb - base_kb[k][z]) * 1024 / n,
                                   "%.0f B"));
            }
    printf("\nEach figure is one process: the shape's edge list made, then "
           "the graph built and run once (daglib: and once more, for its "
           "run alone).  daglib's build is its API calls -- tasks named by "
           "strings, inputs by name -- plus the plan compiled at the first "
           "run (first run minus second); \"build + run\" is the API calls "
           "plus the first run, what a program that runs its graph once "
           "pays.  Peak memory is the process's peak resident set less that "
           "of a process making the edge list only.  daglib / 10k: build + "
           "run per task against its value at 10k tasks.  ");
    print_taskflow_note();
    printf("\n");
}

/* ---- the machine's load ---------------------------------------------------- */

/* CPU time of the whole machine, in seconds, from /proc/stat: busy (user,
 * nice, system, irq, softirq) and stolen by the hypervisor; and this
 * process's own, to tell the others' apart. */
typedef struct machine_time {
    double busy, steal, wall, own;
} machine_time;

static machine_time machine_now(void)
{
    machine_time m = {0, 0, (double)bench_now_ns() / 1e9, 0};
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    if (f != NULL) {
        if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
                   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
            double tick = (double)sysconf(_SC_CLK_TCK);
            m.busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6]) / tick;
            m.steal = (double)v[7] / tick;
        }
        fclose(f);
    }
    /* Our own, with the scaling part's children (waited for). */
    for (int who = 0; who < 2; who++) {
        struct rusage ru;
        getrusage(who == 0 ? RUSAGE_SELF : RUSAGE_CHILDREN, &ru);
        m.own += (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    }
    return m;
}

static void report_load(machine_time start)
{
    machine_time end = machine_now();
    double capacity =
        (end.wall - start.wall) * (double)sysconf(_SC_NPROCESSORS_ONLN);
    double others = (end.busy - start.busy) - (end.own - start.own);
    if (others < 0)
        others = 0;
    printf("While this ran (%.0f s), other processes used %.0f%% of the "
           "CPUs' time and the hypervisor stole %.0f%%.\n",
           end.wall - start.wall, 100 * others / capacity,
           100 * (end.steal - start.steal) / capacity);
}

int main(int argc, char **argv)
{
    uint32_t size = 100000;
    const char *raw_path = NULL;
    const char *parts = "overhead,profiling,speedup,scaling";
    int opt;
    while ((opt = getopt(argc, argv, "r:n:o:p:x:")) != -1) {
        switch (opt) {
        case 'x':
            return measure_here(optarg);
        case 'r':
            reps = atoi(optarg);
            break;
        case 'n':
            size = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'o':
            raw_path = optarg;
            break;
        case 'p':
            parts = optarg;
            break;
        default:
            fprintf(stderr,
                    "usage: %s [-r REPS] [-n TASKS] [-o RAW.csv] [-p PARTS]\n",
                    argv[0]);
            return 2;
        }
    }
    if (reps < MIN_REPS)
        reps = MIN_REPS;
    if (size < 16)
        size = 16;
    if (raw_path != NULL) {
        if ((raw = fopen(raw_path, "w")) == NULL) {
            perror(raw_path);
            return 1;
        }
        fprintf(raw, "part,shape,tasks,workers,side,rep,build_ns,run_ns,"
                     "first_ns,peak_kb\n");
    }

    shape shapes[SHAPE_COUNT];
    for (int k = 0; k < SHAPE_COUNT; k++)
        if (shape_build(&shapes[k], (shape_kind)k, size) != 0) {
            fprintf(stderr, "out of memory building the shapes\n");
            return 1;
        }

    machine_time start = machine_now();
    double load[3] = {0, 0, 0};
    if (getloadavg(load, 3) < 0)
        load[0] = -1;
    printf("## daglib %s: scheduler benchmark\n\n", daglib_version());
    printf("%ld CPUs online, load average %.2f at the start.\n\n",
           sysconf(_SC_NPROCESSORS_ONLN), load[0]);
    if (strstr(parts, "overhead") != NULL)
        overhead(shapes);
    if (strstr(parts, "speedup") != NULL)
        speed_up(shapes);
    if (strstr(parts, "scaling") != NULL)
        scaling();
    /* Last: it writes and syncs gigabytes, which leave the page cache
     * churning and, on a rate-limited virtual disk, the disk slow for a
     * while; no other part writes. */
    if (strstr(parts, "profiling") != NULL)
        profiling(&shapes[SHAPE_FAN_OUT]);
    report_load(start);

    for (int k = 0; k < SHAPE_COUNT; k++)
        shape_free(&shapes[k]);
    if (raw != NULL)
        fclose(raw);
    return 0;
}
