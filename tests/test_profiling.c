/*
 * test_profiling.c -- profiled runs, read back with avro-c (the reference
 * reader, independent of ours): one file per run in the right place, a
 * record per task with every field, records visible while the run goes
 * on, and complete blocks readable after the process is killed.
 */
#include <avro.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "avro_container.h"
#include "big_array.h"
#include "profile_reader.h"
#include "profile_schema.h"
#include "profiler.h"
#include "test.h"

/* ---- reading a file back with avro-c -------------------------------------- */

typedef struct record {
    char dag_name[64], dag_description[64], run_id[16];
    char task_name[64], task_description[64], status[16], error[128];
    double runtime;
    int64_t started_at, ended_at; /* INT64_MIN: null */
    int attempts, worker;         /* worker -1: null */
    int has_error;
} record;

static void copy_string_field(avro_value_t *rec, const char *field, char *out,
                              size_t size)
{
    avro_value_t v;
    const char *s = NULL;
    size_t len = 0;
    if (avro_value_get_by_name(rec, field, &v, NULL) != 0 ||
        avro_value_get_string(&v, &s, &len) != 0)
        FAIL("field %s is not a string", field);
    snprintf(out, size, "%s", s);
}

/* A [null, T] union: 1 and *branch set when not null. */
static int union_branch(avro_value_t *rec, const char *field,
                        avro_value_t *branch)
{
    avro_value_t v;
    int discriminant;
    if (avro_value_get_by_name(rec, field, &v, NULL) != 0 ||
        avro_value_get_discriminant(&v, &discriminant) != 0)
        FAIL("field %s is not a union", field);
    if (discriminant == 0)
        return 0;
    avro_value_get_current_branch(&v, branch);
    return 1;
}

static void decode_record(avro_value_t *rec, record *out)
{
    memset(out, 0, sizeof *out);
    copy_string_field(rec, "dag_name", out->dag_name, sizeof out->dag_name);
    copy_string_field(rec, "dag_description", out->dag_description,
                      sizeof out->dag_description);
    copy_string_field(rec, "run_id", out->run_id, sizeof out->run_id);
    copy_string_field(rec, "task_name", out->task_name, sizeof out->task_name);
    copy_string_field(rec, "task_description", out->task_description,
                      sizeof out->task_description);
    avro_value_t v, branch;
    avro_value_get_by_name(rec, "task_runtime", &v, NULL);
    if (avro_value_get_double(&v, &out->runtime) != 0)
        FAIL("task_runtime is not a double");
    out->started_at = out->ended_at = INT64_MIN;
    if (union_branch(rec, "started_at", &branch))
        avro_value_get_long(&branch, &out->started_at);
    if (union_branch(rec, "ended_at", &branch))
        avro_value_get_long(&branch, &out->ended_at);
    int symbol;
    avro_value_get_by_name(rec, "status", &v, NULL);
    if (avro_value_get_enum(&v, &symbol) != 0)
        FAIL("status is not an enum");
    static const char *const statuses[] = {"ok", "failed", "skipped"};
    snprintf(out->status, sizeof out->status, "%s",
             symbol >= 0 && symbol < 3 ? statuses[symbol] : "?");
    int32_t i32 = 0;
    avro_value_get_by_name(rec, "attempts", &v, NULL);
    avro_value_get_int(&v, &i32);
    out->attempts = i32;
    out->worker = -1;
    if (union_branch(rec, "worker", &branch)) {
        avro_value_get_int(&branch, &i32);
        out->worker = i32;
    }
    if (union_branch(rec, "error", &branch)) {
        const char *s;
        size_t len;
        avro_value_get_string(&branch, &s, &len);
        snprintf(out->error, sizeof out->error, "%s", s);
        out->has_error = 1;
    }
}

/* Read up to max records of path; returns how many, or -1 when the file
 * cannot be opened as Avro.  *clean is set to whether the whole file read
 * without error. */
static int read_records(const char *path, record *out, int max, int *clean)
{
    avro_file_reader_t reader;
    if (avro_file_reader(path, &reader) != 0)
        return -1;
    avro_schema_t schema = avro_file_reader_get_writer_schema(reader);
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    avro_value_t value;
    avro_generic_value_new(iface, &value);
    int n = 0, rc;
    while ((rc = avro_file_reader_read_value(reader, &value)) == 0) {
        if (n < max)
            decode_record(&value, &out[n]);
        n++;
    }
    if (clean != NULL)
        *clean = rc == EOF;
    avro_value_decref(&value);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
    avro_file_reader_close(reader);
    return n;
}

static const record *find_task(const record *records, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(records[i].task_name, name) == 0)
            return &records[i];
    FAIL("no record for task '%s'", name);
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- tasks ------------------------------------------------------------------- */

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&t, NULL);
}

static _Atomic int task_calls;

static void napper(daglib_context *ctx, int argc,
                   const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    atomic_fetch_add(&task_calls, 1);
    sleep_ms((long)(intptr_t)daglib_user_data(ctx));
    daglib_result_int(ctx, 1);
}

static void failer(daglib_context *ctx, int argc,
                   const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_result_error(ctx, "disk on fire");
}

static void quick(daglib_context *ctx, int argc,
                  const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_result_null(ctx);
}

/* ---- tests ------------------------------------------------------------------- */

TEST(profiling_writes_one_new_file_per_run_under_the_dag_directory)
{
    daglib_dag *dag = daglib_dag_new("example", "This is an example DAG",
                                     DAGLIB_PROFILE);
    daglib_task_add(dag, "task_1", "Do some stuff", quick, NULL);
    CHECK_OK(daglib_run(dag, NULL));
    const char *path = daglib_dag_profile_path(dag);
    CHECK(path != NULL);
    char expected[64];
    snprintf(expected, sizeof expected, "meta/profiling/example/%s.avro",
             daglib_dag_run_id(dag));
    CHECK_STR_EQ(path, expected);
    const char *id = daglib_dag_run_id(dag);
    CHECK(strncmp(id, "run_", 4) == 0 && strlen(id) == 13);
    CHECK(strspn(id + 4, "0123456789abcdef") == 9);
    char first[64];
    snprintf(first, sizeof first, "%s", path);
    CHECK_OK(daglib_run(dag, NULL)); /* the same DAG object runs again */
    CHECK(strcmp(first, daglib_dag_profile_path(dag)) != 0);
    CHECK_INT_EQ(count_files("meta/profiling/example"), 2);
    daglib_dag_free(dag);
}

TEST(profiling_records_every_task_with_every_field)
{
    daglib_dag *dag = daglib_dag_new("fields", "Fields DAG", DAGLIB_PROFILE);
    daglib_task_add(dag, "sleepy", "Sleeps 50 ms", napper, (void *)50);
    daglib_task_input(daglib_task_add(dag, "broken", "Fails", failer, NULL),
                      "sleepy");
    daglib_task_input(daglib_task_add(dag, "never", "Skipped", quick, NULL),
                      "broken");
    daglib_task_add(dag, "ünïcode", "Déscription ✓", quick, NULL);
    daglib_dag_set_workers(dag, 2);
    int64_t before = now_us();
    CHECK_CODE(daglib_run(dag, NULL), DAGLIB_TASK_FAILED);
    int64_t after = now_us();

    record records[8];
    int clean = 0;
    int n = read_records(daglib_dag_profile_path(dag), records, 8, &clean);
    CHECK_INT_EQ(n, 4);
    CHECK(clean);
    for (int i = 0; i < n; i++) {
        CHECK_STR_EQ(records[i].dag_name, "fields");
        CHECK_STR_EQ(records[i].dag_description, "Fields DAG");
        CHECK_STR_EQ(records[i].run_id, daglib_dag_run_id(dag));
    }
    const record *sleepy = find_task(records, n, "sleepy");
    CHECK_STR_EQ(sleepy->task_description, "Sleeps 50 ms");
    CHECK_STR_EQ(sleepy->status, "ok");
    CHECK(sleepy->runtime >= 0.045 && sleepy->runtime < 5.0);
    CHECK(sleepy->started_at >= before - 1000 && sleepy->ended_at <= after + 1000);
    CHECK(sleepy->ended_at - sleepy->started_at >= 45000);
    CHECK_INT_EQ(sleepy->attempts, 1);
    CHECK(sleepy->worker >= 0 && sleepy->worker < 2);
    CHECK(!sleepy->has_error);

    const record *broken = find_task(records, n, "broken");
    CHECK_STR_EQ(broken->status, "failed");
    CHECK_STR_EQ(broken->error, "disk on fire");
    CHECK_INT_EQ(broken->attempts, 1);
    CHECK(broken->started_at >= sleepy->ended_at);

    const record *never = find_task(records, n, "never");
    CHECK_STR_EQ(never->status, "skipped");
    CHECK_INT_EQ(never->attempts, 0);
    CHECK_INT_EQ(never->worker, -1);
    CHECK(never->started_at == INT64_MIN && never->ended_at == INT64_MIN);
    CHECK(never->runtime == 0.0);

    const record *uni = find_task(records, n, "ünïcode");
    CHECK_STR_EQ(uni->task_description, "Déscription ✓");
    daglib_dag_free(dag);
}

TEST(profiling_honours_the_metadata_root_settings)
{
    setenv("DAGLIB_META_DIR", "from_env", 1);
    daglib_dag *dag = daglib_dag_new("rooted", NULL, DAGLIB_PROFILE);
    daglib_task_add(dag, "t", NULL, quick, NULL);
    CHECK_OK(daglib_run(dag, NULL));
    CHECK(strncmp(daglib_dag_profile_path(dag), "from_env/profiling/rooted/",
                  26) == 0);
    CHECK_OK(daglib_dag_set_meta_dir(dag, "explicit/root"));
    CHECK_OK(daglib_run(dag, NULL));
    CHECK(strncmp(daglib_dag_profile_path(dag),
                  "explicit/root/profiling/rooted/", 31) == 0);
    CHECK_INT_EQ(count_files("explicit/root/profiling/rooted"), 1);
    CHECK_OK(daglib_dag_set_meta_dir(dag, NULL)); /* back to the variable */
    CHECK_OK(daglib_run(dag, NULL));
    CHECK_INT_EQ(count_files("from_env/profiling/rooted"), 2);
    unsetenv("DAGLIB_META_DIR");
    daglib_dag_free(dag);
}

TEST(profiling_that_cannot_start_runs_no_task)
{
    test_write_file("not_a_directory", "x", 1);
    atomic_store(&task_calls, 0);
    daglib_dag *dag = daglib_dag_new("blocked", NULL, DAGLIB_PROFILE);
    daglib_task_add(dag, "t", NULL, napper, (void *)0);
    CHECK_OK(daglib_dag_set_meta_dir(dag, "not_a_directory/meta"));
    CHECK_CODE(daglib_run(dag, NULL), DAGLIB_IO);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "not_a_directory");
    CHECK_INT_EQ(atomic_load(&task_calls), 0);
    daglib_dag_free(dag);
}

TEST(profiling_never_follows_a_symlinked_dag_directory)
{
    CHECK(mkdir("outside", 0700) == 0);
    CHECK(mkdir("meta", 0700) == 0);
    CHECK(mkdir("meta/profiling", 0700) == 0);
    CHECK(symlink("../../outside", "meta/profiling/linked") == 0);
    atomic_store(&task_calls, 0);
    daglib_dag *dag = daglib_dag_new("linked", NULL, DAGLIB_PROFILE);
    daglib_task_add(dag, "t", NULL, napper, (void *)0);
    CHECK_CODE(daglib_run(dag, NULL), DAGLIB_IO);
    CHECK_INT_EQ(atomic_load(&task_calls), 0);
    CHECK_INT_EQ(count_files("outside"), 0);
    daglib_dag_free(dag);
}

/* The id of this process's thread called `name` (/proc), or 0. */
static pid_t thread_named(const char *name)
{
    DIR *tasks = opendir("/proc/self/task");
    if (tasks == NULL)
        return 0;
    pid_t found = 0;
    struct dirent *e;
    while (found == 0 && (e = readdir(tasks)) != NULL) {
        char path[300], comm[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        if (fgets(comm, sizeof comm, f) != NULL) {
            comm[strcspn(comm, "\n")] = '\0';
            if (strcmp(comm, name) == 0)
                found = (pid_t)atoi(e->d_name);
        }
        fclose(f);
    }
    closedir(tasks);
    return found;
}

/* What a task saw of the profiler's thread. */
static struct {
    int caller_cpu, task_cpu;
    int found, allowed, on_caller_cpu;
} profiler_seen;

static void look_at_the_profiler(daglib_context *ctx, int argc,
                                 const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    profiler_seen.task_cpu = sched_getcpu();
    /* The thread names itself once it starts: give it a second. */
    pid_t tid = 0;
    for (int tries = 0; tid == 0 && tries < 200; tries++) {
        tid = thread_named("daglib profiler");
        if (tid == 0)
            sleep_ms(5);
    }
    cpu_set_t set;
    if (tid > 0 && sched_getaffinity(tid, sizeof set, &set) == 0) {
        profiler_seen.found = 1;
        profiler_seen.allowed = CPU_COUNT(&set);
        profiler_seen.on_caller_cpu =
            profiler_seen.caller_cpu >= 0 &&
            CPU_ISSET(profiler_seen.caller_cpu, &set);
    }
    daglib_result_null(ctx);
}

TEST(profiling_thread_is_named_and_kept_off_the_callers_cpu)
{
    /* Woken on its caller's CPU, the profiler's thread would take it from
     * the only worker (own_threads.h). */
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
        return; /* more CPUs than a cpu_set_t holds: placed as it comes */
    daglib_dag *dag = daglib_dag_new("placed", NULL, DAGLIB_PROFILE);
    daglib_task_add(dag, "look", NULL, look_at_the_profiler, NULL);
    CHECK_OK(daglib_dag_set_workers(dag, 1));
    profiler_seen.found = 0;
    profiler_seen.caller_cpu = sched_getcpu();
    CHECK_OK(daglib_run(dag, NULL));
    CHECK(profiler_seen.found);
    if (CPU_COUNT(&allowed) < 2) {
        CHECK_INT_EQ(profiler_seen.allowed, CPU_COUNT(&allowed));
    } else {
        CHECK_INT_EQ(profiler_seen.allowed, CPU_COUNT(&allowed) - 1);
        /* Unless the caller moved meanwhile: then which CPU is unknown. */
        if (profiler_seen.task_cpu == profiler_seen.caller_cpu &&
            sched_getcpu() == profiler_seen.caller_cpu)
            CHECK(!profiler_seen.on_caller_cpu);
    }
    daglib_dag_free(dag);
}

/* A profiled DAG of a source and `tasks` tasks t0, t1, ... taking it. */
static daglib_dag *profiled_fan_out(const char *name, int tasks, int workers)
{
    daglib_dag *dag = daglib_dag_new(name, NULL, DAGLIB_PROFILE);
    daglib_task_add(dag, "source", NULL, quick, NULL);
    for (int i = 0; i < tasks; i++) {
        char task[16];
        snprintf(task, sizeof task, "t%d", i);
        daglib_task_input(daglib_task_add(dag, task, NULL, quick, NULL),
                          "source");
    }
    daglib_dag_set_workers(dag, workers);
    return dag;
}

TEST(profiling_records_every_task_of_a_large_parallel_run)
{
    enum { TASKS = 20000 };
    daglib_dag *dag = profiled_fan_out("large", TASKS, 4);
    CHECK_OK(daglib_dag_set_codec(dag, "deflate"));
    CHECK_OK(daglib_run(dag, NULL));
    record *records = calloc(TASKS + 1, sizeof *records);
    int clean = 0;
    CHECK_INT_EQ(read_records(daglib_dag_profile_path(dag), records, TASKS + 1,
                              &clean),
                 TASKS + 1);
    CHECK(clean);
    /* Every task exactly once. */
    char *seen = calloc(TASKS, 1);
    for (int i = 0; i < TASKS + 1; i++) {
        if (strcmp(records[i].task_name, "source") == 0)
            continue;
        int id = atoi(records[i].task_name + 1);
        CHECK(id >= 0 && id < TASKS && !seen[id]);
        seen[id] = 1;
    }
    free(seen);
    free(records);
    daglib_dag_free(dag);
}

/* The largest block of path, in bytes as stored, and how many blocks and
 * records the file holds; the file must read cleanly to its end. */
static size_t largest_block(const char *path, int *blocks, int64_t *records)
{
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    avro_container c;
    CHECK(avro_container_open(&c, fd) == 0);
    avro_block block;
    size_t largest = 0;
    off_t start = c.consumed;
    int rc;
    *blocks = 0;
    *records = 0;
    while ((rc = avro_container_next_block(&c, &block)) == 1) {
        size_t stored = (size_t)(c.consumed - start);
        if (stored > largest)
            largest = stored;
        start = c.consumed;
        (*blocks)++;
        *records += block.count;
    }
    if (rc != 0)
        FAIL("%s does not read to its end: %s", path, c.error);
    avro_container_close(&c);
    return largest;
}

TEST(profiling_keeps_blocks_small_whatever_the_descriptions)
{
    /* Every record repeats the DAG's description: 400 records of 20 KB
     * are 8 MB, which must go out as blocks of about
     * PROFILE_BLOCK_TARGET_BYTES, never as one block a reader would
     * refuse, whatever the pace of the run. */
    enum { TASKS = 400, DESCRIPTION = 20000 };
    char *description = malloc(DESCRIPTION + 1);
    CHECK(description != NULL);
    memset(description, 'd', DESCRIPTION);
    description[DESCRIPTION] = '\0';
    for (int k = 0; k < 2; k++) {
        daglib_dag *dag = daglib_dag_new("wordy", description, DAGLIB_PROFILE);
        for (int i = 0; i < TASKS; i++) {
            char name[16];
            snprintf(name, sizeof name, "t%d", i);
            daglib_task_add(dag, name, NULL, quick, NULL);
        }
        CHECK_OK(daglib_dag_set_codec(dag, k == 0 ? "null" : "deflate"));
        CHECK_OK(daglib_run(dag, NULL));
        int blocks = 0;
        int64_t records = 0;
        size_t largest = largest_block(daglib_dag_profile_path(dag), &blocks,
                                       &records);
        CHECK_INT_EQ(records, TASKS);
        CHECK(largest <= PROFILE_BLOCK_TARGET_BYTES + 2 * DESCRIPTION);
        if (k == 0)
            CHECK(blocks >= (int)(TASKS * DESCRIPTION / PROFILE_BLOCK_TARGET_BYTES));
        daglib_dag_free(dag);
    }
    free(description);
}

TEST(profiling_refuses_a_record_too_large_to_read_back)
{
    /* A record no reader would take (a description past
     * PROFILE_RECORD_MAX_BYTES) fails the run with a message naming the
     * task; the file holds whole blocks only, and reads to its end. */
    size_t size = PROFILE_RECORD_MAX_BYTES + 1;
    char *description = malloc(size + 1);
    CHECK(description != NULL);
    memset(description, 'x', size);
    description[size] = '\0';
    daglib_dag *dag = daglib_dag_new("huge", NULL, DAGLIB_PROFILE);
    daglib_task_add(dag, "small", NULL, quick, NULL);
    daglib_task_add(dag, "verbose", description, quick, NULL);
    CHECK_INT_EQ(daglib_run(dag, NULL), DAGLIB_INVALID);
    CHECK_CONTAINS(daglib_dag_errmsg(dag), "verbose");
    const char *path = daglib_dag_profile_path(dag);
    CHECK(path != NULL);
    int blocks = 0;
    int64_t records = 0;
    largest_block(path, &blocks, &records);
    CHECK(records <= 1);
    daglib_dag_free(dag);
    free(description);
}

/* A child process runs a chain of slow tasks, profiled; the parent finds
 * the file it creates. */
static pid_t start_slow_chain(int tasks, long ms_each, char *path, size_t size)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        daglib_dag *dag = daglib_dag_new("slow", NULL, DAGLIB_PROFILE);
        char name[16], previous[16] = "";
        for (int i = 0; i < tasks; i++) {
            snprintf(name, sizeof name, "step %d", i);
            daglib_task *t =
                daglib_task_add(dag, name, NULL, napper, (void *)ms_each);
            if (i > 0)
                daglib_task_input(t, previous);
            memcpy(previous, name, sizeof name);
        }
        daglib_dag_set_workers(dag, 1);
        int rc = daglib_run(dag, NULL);
        daglib_dag_free(dag);
        _exit(rc == DAGLIB_OK ? 0 : 1);
    }
    /* Find the file the child created. */
    for (int tries = 0; tries < 200; tries++) {
        DIR *d = opendir("meta/profiling/slow");
        if (d != NULL) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (e->d_name[0] != '.') {
                    snprintf(path, size, "meta/profiling/slow/%s", e->d_name);
                    closedir(d);
                    return pid;
                }
            }
            closedir(d);
        }
        sleep_ms(10);
    }
    kill(pid, SIGKILL);
    FAIL("the child never created its profiling file");
}

TEST(profiling_records_are_readable_while_the_run_goes_on)
{
    char path[512];
    pid_t child = start_slow_chain(12, 250, path, sizeof path); /* 3 s */
    record records[16];
    int seen = 0, still_running = 1;
    for (int tries = 0; tries < 300 && seen < 2; tries++) {
        int n = read_records(path, records, 16, NULL);
        if (n > seen)
            seen = n;
        int status;
        if (waitpid(child, &status, WNOHANG) == child) {
            still_running = 0;
            break;
        }
        sleep_ms(20);
    }
    /* Records of finished tasks showed up before the run was over. */
    CHECK(still_running);
    CHECK(seen >= 2);
    CHECK(seen < 12);
    int status;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    int clean = 0;
    CHECK_INT_EQ(read_records(path, records, 16, &clean), 12);
    CHECK(clean);
}

TEST(profiling_killed_run_leaves_a_file_whose_blocks_read)
{
    char path[512];
    pid_t child = start_slow_chain(40, 100, path, sizeof path); /* 4 s */
    record records[64];
    for (int tries = 0; tries < 300; tries++) {
        if (read_records(path, records, 64, NULL) >= 3)
            break;
        sleep_ms(20);
    }
    kill(child, SIGKILL);
    int status;
    waitpid(child, &status, 0);
    CHECK(WIFSIGNALED(status));
    int clean = 0;
    int n = read_records(path, records, 64, &clean);
    CHECK(n >= 3 && n < 40);
    CHECK(clean); /* only whole blocks were ever written */
    for (int i = 0; i < n; i++) {
        CHECK_STR_EQ(records[i].status, "ok");
        CHECK(strncmp(records[i].task_name, "step ", 5) == 0);
    }
}

/* ---- what the task kinds leave in the file ---------------------------------- */

static _Atomic int flaky_tries;

/* Fails until its third try, waiting long enough each time that the
 * waits (excluded) would show in the runtime if they were counted. */
static void flaky(daglib_context *ctx, int argc,
                  const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    int try = atomic_fetch_add(&flaky_tries, 1) + 1;
    sleep_ms(10);
    if (try < 3)
        daglib_result_error(ctx, "flaky, try %d", try);
    else
        daglib_result_int(ctx, try);
}

TEST(profiling_records_retries_with_their_attempts_and_last_error)
{
    atomic_store(&flaky_tries, 0);
    daglib_dag *dag = daglib_dag_new("retried", NULL, DAGLIB_PROFILE);
    daglib_task *t = daglib_task_add(dag, "flaky", "Fails twice", flaky, NULL);
    daglib_retry policy = {.attempts = 5, .delay = 0.1, .backoff = 1.0};
    CHECK_OK(daglib_task_set_retry(t, &policy));
    daglib_task *hopeless = daglib_task_add(dag, "hopeless", NULL, failer, NULL);
    daglib_retry twice = {.attempts = 2, .delay = 0.0, .backoff = 1.0};
    CHECK_OK(daglib_task_set_retry(hopeless, &twice));
    daglib_task_input(daglib_task_add(dag, "after", NULL, quick, NULL),
                      "hopeless");
    CHECK_CODE(daglib_run(dag, NULL), DAGLIB_TASK_FAILED);

    record records[4];
    int clean = 0;
    CHECK_INT_EQ(read_records(daglib_dag_profile_path(dag), records, 4, &clean),
                 3);
    CHECK(clean);
    const record *f = find_task(records, 3, "flaky");
    CHECK_STR_EQ(f->status, "ok");
    CHECK_INT_EQ(f->attempts, 3);
    CHECK(f->has_error); /* the retry stays visible */
    CHECK_STR_EQ(f->error, "flaky, try 2");
    /* Three tries of 10 ms; the two waits of 100 ms are not run time. */
    CHECK(f->runtime >= 0.029 && f->runtime < 0.15);
    CHECK(f->ended_at - f->started_at >= 200000);
    const record *h = find_task(records, 3, "hopeless");
    CHECK_STR_EQ(h->status, "failed");
    CHECK_INT_EQ(h->attempts, 2);
    CHECK_STR_EQ(h->error, "disk on fire");
    CHECK_STR_EQ(find_task(records, 3, "after")->status, "skipped");
    daglib_dag_free(dag);
}

/* A profiled DAG: add_two mapped over 1, 2, 3, times_3 mapped over
 * add_two, sum_all joining times_3. */
static daglib_dag *mapped_and_joined(const char *name,
                                     const char *add_two_description,
                                     const char *sum_all_description)
{
    daglib_dag *dag = daglib_dag_new(name, NULL, DAGLIB_PROFILE);
    daglib_value *items = daglib_value_new_list();
    for (int i = 1; i <= 3; i++)
        daglib_list_append_int(items, i);
    CHECK_OK(daglib_task_map_values(
        daglib_task_add(dag, "add_two", add_two_description, quick, NULL),
        items));
    daglib_value_free(items);
    CHECK_OK(daglib_task_map(daglib_task_add(dag, "times_3", NULL, quick, NULL),
                             "add_two"));
    CHECK_OK(daglib_task_join(
        daglib_task_add(dag, "sum_all", sum_all_description, quick, NULL),
        "times_3"));
    return dag;
}

TEST(profiling_records_every_instance_of_mapped_and_joined_tasks)
{
    daglib_dag *dag = mapped_and_joined("kinds", NULL, NULL);
    CHECK_OK(daglib_run(dag, NULL));

    static const char *const expected[] = {
        "add_two 0", "add_two 1", "add_two 2", "times_3 0",
        "times_3 1", "times_3 2", "sum_all"};
    enum { N = sizeof expected / sizeof expected[0] };
    record records[N + 1];
    int clean = 0;
    CHECK_INT_EQ(read_records(daglib_dag_profile_path(dag), records, N + 1,
                              &clean),
                 N);
    CHECK(clean);
    for (int i = 0; i < N; i++)
        CHECK_STR_EQ(find_task(records, N, expected[i])->status, "ok");
    daglib_dag_free(dag);
}

static int compare_lines(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A run's task fields, a line "task_name|task_description|task|instance"
 * per record, in name order: malloc'd. */
static char *task_fields(const char *path)
{
    profile_reader *reader;
    char *why;
    CHECK(profile_reader_open(path, PROFILE_ENGINE_AVRO_C, &reader, &why) == 0);
    char *lines[64];
    int n = 0;
    size_t total = 1;
    profile_row row;
    while (profile_reader_next(reader, PROFILE_ALL_FIELDS, &row) == 1) {
        CHECK(n < 64);
        const profile_cell *c = row.cell;
        CHECK_INT_EQ(c[PF_TASK_NAME].kind, CELL_TEXT);
        CHECK_INT_EQ(c[PF_TASK_DESCRIPTION].kind, CELL_TEXT);
        CHECK_INT_EQ(c[PF_TASK].kind, CELL_TEXT);
        char instance[16] = "null";
        if (c[PF_INSTANCE].kind == CELL_INT)
            snprintf(instance, sizeof instance, "%lld",
                     (long long)c[PF_INSTANCE].u.i);
        lines[n] = format_string(
            "%.*s|%.*s|%.*s|%s\n", (int)c[PF_TASK_NAME].u.text.n,
            c[PF_TASK_NAME].u.text.p, (int)c[PF_TASK_DESCRIPTION].u.text.n,
            c[PF_TASK_DESCRIPTION].u.text.p, (int)c[PF_TASK].u.text.n,
            c[PF_TASK].u.text.p, instance);
        CHECK(lines[n] != NULL);
        total += strlen(lines[n++]);
    }
    profile_reader_close(reader);
    qsort(lines, (size_t)n, sizeof *lines, compare_lines);
    char *text = malloc(total);
    CHECK(text != NULL);
    text[0] = '\0';
    for (int i = 0; i < n; i++) {
        strcat(text, lines[i]);
        free(lines[i]);
    }
    return text;
}

TEST(profiling_task_fields_are_right_in_every_run_of_a_dag)
{
    /* Names, descriptions, tasks and instances, the same in every run of
     * a plan, in a run of the DAG changed, and in runs to a step (a plan
     * of their own). */
    daglib_dag *dag = mapped_and_joined(
        "fields", "adds two ✓", "a description longer than sixteen bytes");
    static const char expected[] =
        "add_two 0|adds two ✓|add_two|0\n"
        "add_two 1|adds two ✓|add_two|1\n"
        "add_two 2|adds two ✓|add_two|2\n"
        "sum_all|a description longer than sixteen bytes|sum_all|null\n"
        "times_3 0||times_3|0\n"
        "times_3 1||times_3|1\n"
        "times_3 2||times_3|2\n";
    for (int run = 0; run < 3; run++) {
        CHECK_OK(daglib_run(dag, NULL));
        char *fields = task_fields(daglib_dag_profile_path(dag));
        CHECK_STR_EQ(fields, expected);
        free(fields);
    }
    CHECK(daglib_task_add(dag, "alone", "added later", quick, NULL) != NULL);
    CHECK_OK(daglib_run(dag, NULL));
    char *fields = task_fields(daglib_dag_profile_path(dag));
    CHECK_STR_EQ(fields, "add_two 0|adds two ✓|add_two|0\n"
                         "add_two 1|adds two ✓|add_two|1\n"
                         "add_two 2|adds two ✓|add_two|2\n"
                         "alone|added later|alone|null\n"
                         "sum_all|a description longer than sixteen "
                         "bytes|sum_all|null\n"
                         "times_3 0||times_3|0\n"
                         "times_3 1||times_3|1\n"
                         "times_3 2||times_3|2\n");
    free(fields);
    for (int run = 0; run < 2; run++) {
        daglib_value *result = NULL;
        CHECK_OK(daglib_run_to_step(dag, "times_3", &result));
        daglib_value_free(result);
        fields = task_fields(daglib_dag_profile_path(dag));
        CHECK_STR_EQ(fields, "add_two 0|adds two ✓|add_two|0\n"
                             "add_two 1|adds two ✓|add_two|1\n"
                             "add_two 2|adds two ✓|add_two|2\n"
                             "times_3 0||times_3|0\n"
                             "times_3 1||times_3|1\n"
                             "times_3 2||times_3|2\n");
        free(fields);
    }
    daglib_dag_free(dag);
}

/* ---- one clock reading a task ------------------------------------------------
 *
 * A task's start is its worker's previous task's end when the worker went
 * straight on to it (scheduler.c); never when something that is not the
 * scheduler's hand-over ran in between.  Each test below makes one such
 * thing slow and checks that the empty task after it does not take it in:
 * the task's run time stays small, and the gap before its start shows
 * where the time went. */

static void nap_ms(long ms)
{
    struct timespec nap = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&nap, &nap) != 0)
        ;
}

/* The records of the tasks named in names, wherever they are in path. */
static void read_named(const char *path, const char *const *names, int n,
                       record *out)
{
    avro_file_reader_t reader;
    CHECK(avro_file_reader(path, &reader) == 0);
    avro_schema_t schema = avro_file_reader_get_writer_schema(reader);
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    avro_value_t value;
    avro_generic_value_new(iface, &value);
    int found = 0;
    while (avro_file_reader_read_value(reader, &value) == 0) {
        char name[64];
        copy_string_field(&value, "task_name", name, sizeof name);
        for (int i = 0; i < n; i++)
            if (strcmp(name, names[i]) == 0) {
                decode_record(&value, &out[i]);
                found++;
            }
    }
    avro_value_decref(&value);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
    avro_file_reader_close(reader);
    CHECK_INT_EQ(found, n);
}

/* `after` ran empty right after `before` on the same worker, with
 * something slow between them, slow_us at least: its run time leaves
 * that out. */
static void check_left_out(const record *before, const record *after,
                           int64_t slow_us)
{
    CHECK_INT_EQ(before->worker, after->worker);
    int64_t gap_us = after->started_at - before->ended_at;
    if (gap_us < slow_us || after->runtime * 1e6 > (double)slow_us / 2)
        FAIL("%s started %lld us after %s ended and ran %.0f us: what ran "
             "between them (%lld us at least) went into its run time",
             after->task_name, (long long)gap_us, before->task_name,
             after->runtime * 1e6, (long long)slow_us);
}

/* The same where how long the work between them takes depends on the
 * machine: whatever it took, the empty task's run time is not most of
 * it (nor more than 2 us, which an empty task never takes). */
static void check_gap_left_out(const record *before, const record *after)
{
    CHECK_INT_EQ(before->worker, after->worker);
    double gap_us = (double)(after->started_at - before->ended_at);
    double ran_us = after->runtime * 1e6;
    if (ran_us > 2 && ran_us > gap_us / 2)
        FAIL("%s started %.0f us after %s ended and ran %.0f us: what ran "
             "between them went into its run time",
             after->task_name, gap_us, before->task_name, ran_us);
}

/* Run dag (expecting code), then check that the run time of task `after`
 * leaves out what ran between `before` and it: slow_us at least, or
 * whatever it took when slow_us is 0 (check_gap_left_out). */
static void check_run_leaves_out(daglib_dag *dag, int code, const char *before,
                                 const char *after, int64_t slow_us)
{
    CHECK_CODE(daglib_run(dag, NULL), code);
    const char *const names[] = {before, after};
    record r[2];
    read_named(daglib_dag_profile_path(dag), names, 2, r);
    if (slow_us > 0)
        check_left_out(&r[0], &r[1], slow_us);
    else
        check_gap_left_out(&r[0], &r[1]);
    daglib_dag_free(dag);
}

static void on_finish_napping(void *user_data, const daglib_task_event *event)
{
    (void)user_data;
    if (strcmp(event->task_name, "observed") == 0)
        nap_ms(20);
}

TEST(profiling_runtimes_leave_out_an_observers_callbacks)
{
    daglib_dag *dag = daglib_dag_new("between", NULL, DAGLIB_PROFILE);
    daglib_dag_set_workers(dag, 1);
    daglib_task_add(dag, "observed", NULL, quick, NULL);
    daglib_task_input(daglib_task_add(dag, "next", NULL, quick, NULL),
                      "observed");
    daglib_observer observer = {NULL, on_finish_napping, NULL};
    CHECK_OK(daglib_dag_set_observer(dag, &observer));
    check_run_leaves_out(dag, DAGLIB_OK, "observed", "next", 20000);
}

static void destroy_slowly(void *p)
{
    (void)p;
    nap_ms(20);
}

static void slow_to_free(daglib_context *ctx, int argc,
                         const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_result_pointer(ctx, ctx, destroy_slowly);
}

TEST(profiling_runtimes_leave_out_freeing_a_result)
{
    /* "reader" is the last reader of "made": its result is freed as
     * "reader" finishes, before "next" starts. */
    daglib_dag *dag = daglib_dag_new("between", NULL, DAGLIB_PROFILE);
    daglib_dag_set_workers(dag, 1);
    daglib_task_add(dag, "made", NULL, slow_to_free, NULL);
    daglib_task_input(daglib_task_add(dag, "reader", NULL, quick, NULL), "made");
    daglib_task_input(daglib_task_add(dag, "next", NULL, quick, NULL), "reader");
    check_run_leaves_out(dag, DAGLIB_OK, "reader", "next", 20000);
}

TEST(profiling_runtimes_leave_out_skipping_nodes)
{
    /* "boom" fails first.  Then "fine" runs, and makes ready "s0", which
     * waited for both: it and the nodes after it are skipped one after
     * the other, then the worker takes "last", a source of its own.
     * Fewer nodes than a chunk of the worker's log holds: starting a new
     * chunk reads the clock afresh too. */
    enum { SKIPPED = 1000 };
    daglib_dag *dag = daglib_dag_new("between", NULL, DAGLIB_PROFILE);
    daglib_dag_set_workers(dag, 1);
    daglib_task_add(dag, "boom", NULL, failer, NULL);
    daglib_task_add(dag, "fine", NULL, quick, NULL);
    char name[32], previous[32] = "boom";
    for (int i = 0; i < SKIPPED; i++) {
        snprintf(name, sizeof name, "s%d", i);
        daglib_task *t = daglib_task_add(dag, name, NULL, quick, NULL);
        daglib_task_input(t, previous);
        if (i == 0)
            daglib_task_depends_on(t, "fine");
        memcpy(previous, name, sizeof name);
    }
    daglib_task_add(dag, "last", NULL, quick, NULL);
    check_run_leaves_out(dag, DAGLIB_TASK_FAILED, "fine", "last", 0);
}

TEST(profiling_runtimes_leave_out_handing_on_many_successors)
{
    /* "src" hands on 50,000 successors; the worker keeps the first and
     * pushes the others before running it. */
    enum { WIDE = 50000 };
    daglib_dag *dag = daglib_dag_new("between", NULL, DAGLIB_PROFILE);
    daglib_dag_set_workers(dag, 1);
    daglib_task_add(dag, "src", NULL, quick, NULL);
    char name[32];
    for (int i = 0; i < WIDE; i++) {
        snprintf(name, sizeof name, "d%d", i);
        daglib_task_input(daglib_task_add(dag, name, NULL, quick, NULL), "src");
    }
    check_run_leaves_out(dag, DAGLIB_OK, "src", "d0", 0);
}

TEST(profiling_runtimes_leave_out_freeing_a_joins_arguments)
{
    /* "sum" joins 20,000 instances: their list and argument array are
     * allocated before it runs and freed after. */
    enum { INSTANCES = 20000 };
    daglib_dag *dag = daglib_dag_new("between", NULL, DAGLIB_PROFILE);
    daglib_dag_set_workers(dag, 1);
    daglib_value *items = daglib_value_new_list();
    for (int i = 0; i < INSTANCES; i++)
        daglib_list_append_int(items, i);
    CHECK_OK(daglib_task_map_values(
        daglib_task_add(dag, "each", NULL, quick, NULL), items));
    daglib_value_free(items);
    CHECK_OK(daglib_task_join(daglib_task_add(dag, "sum", NULL, quick, NULL),
                              "each"));
    daglib_task_input(daglib_task_add(dag, "next", NULL, quick, NULL), "sum");
    check_run_leaves_out(dag, DAGLIB_OK, "sum", "next", 0);
}

static void fail_then_keep_slowly(daglib_context *ctx, int argc,
                                  const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_result_error(ctx, "no");
    daglib_result_pointer(ctx, ctx, destroy_slowly);
}

TEST(profiling_runtimes_leave_out_a_failed_tasks_result)
{
    /* "bad" fails but leaves a result; it is freed once "bad" is over,
     * before "other", a source of its own, starts. */
    daglib_dag *dag = daglib_dag_new("between", NULL, DAGLIB_PROFILE);
    daglib_dag_set_workers(dag, 1);
    daglib_task_add(dag, "bad", NULL, fail_then_keep_slowly, NULL);
    daglib_task_add(dag, "other", NULL, quick, NULL);
    check_run_leaves_out(dag, DAGLIB_TASK_FAILED, "bad", "other", 20000);
}

/* How long each sleeper's sleep took by its own clock_gettime(). */
enum { SLEEPERS = 4, EMPTY_SLEEPERS = 3 };
static int64_t slept_ns[SLEEPERS + EMPTY_SLEEPERS];

static void measured_sleeper(daglib_context *ctx, int argc,
                             const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    intptr_t i = (intptr_t)daglib_user_data(ctx);
    static const long sleeps_us[] = {1000, 10000, 100000, 1000000};
    long us = i < SLEEPERS ? sleeps_us[i] : 0;
    struct timespec a, b, nap = {us / 1000000, (us % 1000000) * 1000};
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (us > 0)
        while (nanosleep(&nap, &nap) != 0)
            ;
    clock_gettime(CLOCK_MONOTONIC, &b);
    slept_ns[i] = (int64_t)(b.tv_sec - a.tv_sec) * 1000000000 +
                  (b.tv_nsec - a.tv_nsec);
}

static const char *const sleeper_names[SLEEPERS + EMPTY_SLEEPERS] = {
    "ms1", "ms10", "ms100", "s1", "empty1", "empty2", "empty3"};

/* Run dag once more and compare each sleeper's recorded run time with its
 * own measure of itself; 1 when all agree, else 0 with why. */
static int clocks_agree(daglib_dag *dag, char *why, size_t size)
{
    enum { ALL = SLEEPERS + EMPTY_SLEEPERS };
    int64_t before_us = now_us();
    CHECK_OK(daglib_run(dag, NULL));
    int64_t after_us = now_us();
    record records[ALL];
    CHECK_INT_EQ(read_records(daglib_dag_profile_path(dag), records, ALL, NULL),
                 ALL);
    double call_ns = 0; /* the most calling a task added to its own span */
    for (int i = SLEEPERS; i < ALL; i++) {
        const record *r = find_task(records, ALL, sleeper_names[i]);
        CHECK(r != NULL);
        double extra = r->runtime * 1e9 - (double)slept_ns[i];
        if (extra > call_ns)
            call_ns = extra;
    }
    for (int i = 0; i < SLEEPERS; i++) {
        const record *r = find_task(records, ALL, sleeper_names[i]);
        CHECK(r != NULL);
        double recorded_ns = r->runtime * 1e9;
        double own_ns = (double)slept_ns[i];
        double tolerance = 1000 + own_ns / 1000;
        /* whole microseconds on either side */
        double wall_ns = (double)(r->ended_at - r->started_at) * 1000;
        if (recorded_ns < own_ns - tolerance ||
            recorded_ns > own_ns + call_ns + tolerance) {
            snprintf(why, size,
                     "task %s: recorded %.0f ns, measured itself at %.0f ns "
                     "(calling a task adds up to %.0f ns)",
                     sleeper_names[i], recorded_ns, own_ns, call_ns);
            return 0;
        }
        if (r->started_at < before_us || r->ended_at > after_us ||
            wall_ns < recorded_ns - tolerance - 2000 ||
            wall_ns > recorded_ns + tolerance + 2000) {
            snprintf(why, size,
                     "task %s: ran from %lld to %lld us, outside the run "
                     "(%lld to %lld) or unlike its run time of %.0f ns",
                     sleeper_names[i], (long long)r->started_at,
                     (long long)r->ended_at, (long long)before_us,
                     (long long)after_us, recorded_ns);
            return 0;
        }
    }
    return 1;
}

/* Whatever clock the workers read (ticks.h), a task's recorded run time is
 * its own measure of itself within 1 us + 0.1%, plus what calling it
 * costs (measured on tasks that only read the clock twice), and its start
 * and end are wall time to the microsecond.  A thread preempted between
 * the worker's clock and the task's own adds to one run only, where a
 * wrong conversion would show in every run: three runs, one must agree. */
TEST(profiling_runtimes_agree_with_clock_gettime_from_1_ms_to_1_s)
{
    daglib_dag *dag = daglib_dag_new("clock", NULL, DAGLIB_PROFILE);
    for (intptr_t i = 0; i < SLEEPERS + EMPTY_SLEEPERS; i++) {
        daglib_task *t = daglib_task_add(dag, sleeper_names[i], NULL,
                                         measured_sleeper, (void *)i);
        if (i > 0)
            daglib_task_depends_on(t, sleeper_names[i - 1]);
    }
    daglib_dag_set_workers(dag, 1);
    /* The first call of a task pays for what it first touches (symbols
     * bound, pages mapped) outside its own clock: later runs compare the
     * clocks alone. */
    CHECK_OK(daglib_run(dag, NULL));
    char why[512] = "";
    int agreed = 0;
    for (int attempt = 0; attempt < 3 && !agreed; attempt++)
        agreed = clocks_agree(dag, why, sizeof why);
    if (!agreed)
        FAIL("%s", why);
    daglib_dag_free(dag);
}

/* ---- the workers' logs ------------------------------------------------------ */

/* Chunks in the first three blocks of a log (big_array.h's block_items). */
#define LOG_CHUNKS_IN_THREE_BLOCKS                                            \
    (int)(block_items(0) + block_items(1) + block_items(2))

/* A worker far ahead of the profiler's thread: chunks added, none read. */
static void fill_log(profile_log *log, int chunks)
{
    for (int i = 1; i < chunks; i++)
        CHECK(profile_log_extend(log) == 0);
}

TEST(profiling_log_chunks_are_aligned_apart_and_from_growing_blocks)
{
    const int chunks = LOG_CHUNKS_IN_THREE_BLOCKS;
    profile_log log;
    CHECK(profile_log_init(&log) == 0);
    memset(log.tail->events, 0, sizeof log.tail->events);
    for (int i = 1; i < chunks; i++) {
        CHECK(profile_log_extend(&log) == 0);
        CHECK(((uintptr_t)log.tail & 63) == 0);
        memset(log.tail->events, i & 0xff, sizeof log.tail->events);
    }
    CHECK(log.blocks[2] != NULL && log.blocks[3] == NULL);
    /* Each chunk still holds what was written into it: none overlap. */
    int i = 0;
    for (profile_log_chunk *c = log.head; c != NULL;
         c = atomic_load(&c->next), i++) {
        const unsigned char *bytes = (const unsigned char *)c->events;
        CHECK(bytes[0] == (i & 0xff) &&
              bytes[sizeof c->events - 1] == (i & 0xff));
    }
    CHECK_INT_EQ(i, chunks);
    profile_log_release(&log);
}

TEST(profiling_log_out_of_memory_loses_events_not_the_log)
{
    profile_log log;
    big_fail_arm(1);
    CHECK(profile_log_init(&log) == -1);
    big_fail_disarm();
    profile_log_release(&log);

    CHECK(profile_log_init(&log) == 0);
    fill_log(&log, (int)block_items(0)); /* block 0 full */
    profile_log_chunk *full = log.tail;
    big_fail_arm(1);
    CHECK(profile_log_extend(&log) == -1);
    CHECK(big_fail_disarm() == 1);
    CHECK(atomic_load(&log.lost) == 1);
    CHECK(log.tail == full && atomic_load(&full->next) == NULL);
    /* The next event tries again, and gets a chunk. */
    CHECK(profile_log_extend(&log) == 0);
    CHECK(atomic_load(&full->next) == log.tail);
    CHECK(log.blocks[1] != NULL);
    profile_log_release(&log);
}

/* Every outcome a worker notes reads back as it was noted: one slot for a
 * node that ran once, succeeded and took under 2^32 ticks, three for the
 * rest, and three at the end of a chunk start the next. */
TEST(profiling_log_events_read_back_as_noted)
{
    profile_log log;
    CHECK(profile_log_init(&log) == 0);
    profiler pr = {.logs = &log, .n_logs = 1};
    const uint64_t t0 = UINT64_C(1) << 40;
    static const struct {
        uint8_t status;
        uint16_t attempts;
        int message;
        uint64_t started, ended, runtime;
        uint32_t slots;
    } cases[] = {
        {NODE_OK, 1, 0, t0, t0 + 900, 900, 1},
        {NODE_OK, 1, 0, t0, t0 + UINT32_MAX, UINT32_MAX, 1},
        {NODE_OK, 1, 0, t0, t0 + UINT32_MAX + 1ull, UINT32_MAX + 1ull, 3},
        {NODE_OK, 1, 1, t0, t0 + 5, 5, 3},      /* a message kept */
        {NODE_OK, 3, 0, t0, t0 + 5000, 700, 3}, /* retried */
        {NODE_FAILED, 1, 1, t0, t0 + 80, 80, 3},
        {NODE_FAILED, 1, 0, t0, t0 + 80, 80, 3}, /* out of memory */
        {NODE_SKIPPED, 0, 0, 0, 0, 0, 3},
        {NODE_OK, 1, 0, 0, 0, 0, 1},
    };
    const int n_cases = (int)(sizeof cases / sizeof *cases);
    char message[] = "noted";
    uint32_t node = 0, chunks = 1;
    /* Round after round, till the log has moved to a few more chunks. */
    for (int round = 0; chunks < 4; round++) {
        for (int c = 0; c < n_cases; c++, node++) {
            node_state st = {.status = cases[c].status,
                             .attempts = cases[c].attempts};
            node_output out = {.error = cases[c].message ? message : NULL};
            task_times times = {cases[c].started + (uint64_t)round,
                                cases[c].ended + (uint64_t)round,
                                cases[c].runtime};
            uint32_t before = log.tail_count;
            profile_log_chunk *tail = log.tail;
            int moved = profiler_task_done(&pr, 0, node,
                                           &st, &out, &times);
            CHECK_INT_EQ(moved, log.tail != tail);
            if (moved) {
                chunks++;
                /* The old chunk ends where its count says. */
                CHECK(atomic_load(&tail->count) == before);
                CHECK(before + cases[c].slots > PROFILE_LOG_CHUNK);
                before = 0;
            }
            CHECK_INT_EQ(log.tail_count, before + cases[c].slots);
            CHECK_INT_EQ(atomic_load(&log.tail->count), log.tail_count);
            profile_note note;
            CHECK_INT_EQ(profile_event_read(&log.tail->events[before], &note),
                         cases[c].slots);
            CHECK_INT_EQ(note.node, node);
            CHECK_INT_EQ(note.status, cases[c].status);
            CHECK_INT_EQ(note.attempts, cases[c].attempts);
            CHECK_INT_EQ(note.has_message, cases[c].message);
            CHECK(note.times.started == times.started);
            CHECK(note.times.ended == times.ended);
            CHECK(note.times.runtime == times.runtime);
        }
    }
    CHECK(atomic_load(&log.lost) == 0);
    profile_log_release(&log);
}

static long log_faults(void)
{
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    profile_log log;
    CHECK(profile_log_init(&log) == 0);
    fill_log(&log, LOG_CHUNKS_IN_THREE_BLOCKS);
    for (profile_log_chunk *c = log.head; c != NULL; c = atomic_load(&c->next))
        memset(c->events, 1, sizeof c->events);
    profile_log_release(&log);
    getrusage(RUSAGE_SELF, &after);
    return after.ru_minflt - before.ru_minflt;
}

TEST(profiling_log_memory_is_kept_for_the_next_run)
{
    daglib_release_memory();
    long fresh = log_faults();
    /* Megabytes, a page fault per 4 KiB... */
    CHECK(fresh > (long)(LOG_CHUNKS_IN_THREE_BLOCKS *
                         sizeof(profile_log_chunk) / 8192));
    /* ...which the next log finds kept. */
    long again = log_faults();
    CHECK(again < fresh / 10);
    daglib_release_memory();
}

/* Refuse each big array a profiled run asks for, in turn: the run ends
 * with an error saying so or without one, never a crash; a file it leaves
 * reads cleanly, with no more records than tasks; the next run is whole. */
TEST(profiling_every_refused_big_array_ends_the_run_cleanly)
{
    enum { TASKS = 6000 };
    for (int workers = 1; workers <= 2; workers++) {
        daglib_dag *dag = profiled_fan_out("refused", TASKS, workers);
        CHECK_OK(daglib_run(dag, NULL)); /* compiled: runs ask for less */
        record *records = calloc(TASKS + 2, sizeof *records);
        long n = 1;
        for (; n < 1000; n++) {
            big_fail_arm(n);
            int rc = daglib_run(dag, NULL);
            long asked = big_fail_disarm();
            if (asked < n) {
                CHECK_OK(rc);
                break;
            }
            CHECK_CODE(rc, DAGLIB_NOMEM);
            CHECK_CONTAINS(daglib_dag_errmsg(dag), "memory");
            const char *path = daglib_dag_profile_path(dag);
            if (path != NULL && access(path, F_OK) == 0) {
                int clean = 0;
                CHECK(read_records(path, records, TASKS + 2, &clean) <=
                      TASKS + 1);
                CHECK(clean);
            }
            CHECK_OK(daglib_run(dag, NULL));
            int clean = 0;
            CHECK_INT_EQ(read_records(daglib_dag_profile_path(dag), records,
                                      TASKS + 2, &clean),
                         TASKS + 1);
            CHECK(clean);
        }
        CHECK(n > 1 && n < 1000); /* some refused, then none */
        free(records);
        daglib_dag_free(dag);
    }
}
