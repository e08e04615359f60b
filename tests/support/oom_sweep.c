/*
 * oom_sweep.c -- fail each allocation of a piece of work in turn, in a
 * fresh process each time, and check that every run ends either with the
 * full, correct result or with a clean out-of-memory code: never a
 * success with rows missing, never a crash.  (SQLite's own practice.)
 *
 * Run under LD_PRELOAD of failmalloc.so (tests/support/failmalloc.c),
 * whose counter this program arms just before the work and disarms after.
 *
 *   oom_sweep files ROOT            write the fixture: 8 small profiling
 *                                   files, null and deflate codecs
 *   oom_sweep query EXT ROOT        sweep SELECT count(*), sum(task_runtime)
 *                                   FROM profiling('ROOT'), through the
 *                                   loadable extension EXT
 *   oom_sweep files-query EXT ROOT  the same over profiling_files
 *   oom_sweep library DIR           sweep a profiled run through the public
 *                                   API (build, run, profile path, a MetaDB
 *                                   query), each run under DIR/<n>
 *
 * For n = 1, 2, ... a child process (fork, so that nothing is shared but
 * the unarmed set-up) fails its nth allocation and reports its outcome on
 * a pipe; the sweep ends at the first n the work never reaches.  Each run
 * is one of: ok (the full result), nomem (SQLITE_NOMEM or DAGLIB_NOMEM),
 * short (a success with a wrong result, or another error code), crash (a
 * signal, or no answer within 20 s).  The tally is printed; the exit
 * status is 0 only when there was no short and no crash.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daglib.h"

#define MAX_POINTS 20000

static void (*arm)(long);
static long (*disarm)(void);

enum outcome { OUT_OK, OUT_NOMEM, OUT_SHORT, OUT_CRASH, OUT_COUNT };
static const char *const outcome_names[OUT_COUNT] = {"ok", "nomem", "short",
                                                      "crash"};

/* What a child sends back: its outcome, whether the nth allocation was
 * reached, and the result or why it is wrong. */
typedef struct answer {
    int outcome;
    int reached;
    char text[512];
} answer;

typedef void (*work_fn)(long n, const char *const *args, answer *a);

/* ---- the work -------------------------------------------------------------- */

static void run_query(const char *ext, const char *sql, long n, answer *a)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
        sqlite3_enable_load_extension(db, 1) != SQLITE_OK ||
        sqlite3_load_extension(db, ext, NULL, NULL) != SQLITE_OK) {
        snprintf(a->text, sizeof a->text, "set-up failed: %s",
                 sqlite3_errmsg(db));
        a->outcome = OUT_SHORT;
        return;
    }
    arm(n);
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
    char result[256] = "";
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) {
            int used = 0;
            for (int i = 0; i < sqlite3_column_count(stmt) && used < 200; i++) {
                const unsigned char *t = sqlite3_column_text(stmt, i);
                used += snprintf(result + used, sizeof result - (size_t)used,
                                 "%s%s", i ? "|" : "",
                                 t ? (const char *)t : "NULL");
            }
            rc = sqlite3_step(stmt);
        }
    }
    int code = sqlite3_extended_errcode(db);
    snprintf(a->text, sizeof a->text, "%s%s",
             rc == SQLITE_DONE ? "" : "error: ",
             rc == SQLITE_DONE ? result : sqlite3_errmsg(db));
    sqlite3_finalize(stmt);
    a->reached = disarm() >= n;
    if (rc == SQLITE_DONE)
        a->outcome = OUT_OK; /* the parent compares with the reference */
    else if (code == SQLITE_NOMEM)
        a->outcome = OUT_NOMEM;
    else
        a->outcome = OUT_SHORT;
    sqlite3_close(db);
}

static void query_profiling(long n, const char *const *args, answer *a)
{
    char *sql = sqlite3_mprintf(
        "SELECT count(*), sum(task_runtime) FROM profiling(%Q)", args[1]);
    run_query(args[0], sql, n, a);
    sqlite3_free(sql);
}

static void query_files(long n, const char *const *args, answer *a)
{
    char *sql = sqlite3_mprintf(
        "SELECT count(*), sum(records), count(error) FROM profiling_files(%Q)",
        args[1]);
    run_query(args[0], sql, n, a);
    sqlite3_free(sql);
}

static void three(daglib_context *ctx, int argc, const daglib_value *const *argv)
{
    (void)argc;
    (void)argv;
    daglib_result_int(ctx, 3);
}

static void twice(daglib_context *ctx, int argc, const daglib_value *const *argv)
{
    (void)argc;
    daglib_result_int(ctx, 2 * daglib_value_int(argv[0]));
}

static void add(daglib_context *ctx, int argc, const daglib_value *const *argv)
{
    int64_t sum = 0;
    for (int i = 0; i < argc; i++)
        sum += daglib_value_int(argv[i]);
    daglib_result_int(ctx, sum);
}

/* Build the sweep's DAG: a = 3, b = 2a, c = b, and d = a + b + c = 15,
 * the final.  DAGLIB_OK with *out set, or the first error (*out NULL). */
static int sweep_dag(const char *name, const char *root, const char *codec,
                     daglib_dag **out)
{
    *out = NULL;
    daglib_dag *dag = daglib_dag_new(name, "the out-of-memory sweep",
                                     DAGLIB_PROFILE);
    if (dag == NULL)
        return DAGLIB_NOMEM;
    int rc = daglib_dag_set_meta_dir(dag, root);
    if (rc == DAGLIB_OK)
        rc = daglib_dag_set_codec(dag, codec);
    if (rc == DAGLIB_OK)
        rc = daglib_dag_set_workers(dag, 2);
    if (rc != DAGLIB_OK) {
        daglib_dag_free(dag);
        return rc;
    }
    daglib_task_add(dag, "a", "three", three, NULL);
    daglib_task_input(daglib_task_add(dag, "b", "twice a", twice, NULL), "a");
    daglib_task_input(daglib_task_add(dag, "c", "b, passed on", add, NULL),
                      "b");
    daglib_task *d = daglib_task_add(dag, "d", "the sum", add, NULL);
    daglib_task_input(d, "a");
    daglib_task_input(d, "b");
    daglib_task_input(d, "c");
    daglib_task_set_final(d);
    rc = daglib_dag_errcode(dag);
    if (rc != DAGLIB_OK) {
        daglib_dag_free(dag);
        return rc;
    }
    *out = dag;
    return DAGLIB_OK;
}

/* Whether a profiling file exists under dir (read after disarming). */
static int has_avro_file(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".avro") != NULL)
            found = 1;
    closedir(d);
    return found;
}

static int library_code(int rc, answer *a, const char *step)
{
    if (rc == DAGLIB_OK)
        return 0;
    if (rc == DAGLIB_NOMEM) {
        a->outcome = OUT_NOMEM;
        snprintf(a->text, sizeof a->text, "%s: DAGLIB_NOMEM", step);
    } else {
        a->outcome = OUT_SHORT;
        snprintf(a->text, sizeof a->text, "%s: %s", step, daglib_errname(rc));
    }
    return 1;
}

static void library_run(long n, const char *const *args, answer *a)
{
    char root[4096], dir[4200];
    snprintf(root, sizeof root, "%s/%ld", args[0], n);
    snprintf(dir, sizeof dir, "%s/profiling/oom", root);
    char path[4096] = "", msg[300] = "";
    int path_null = 1, ran = -1;
    a->outcome = OUT_OK;
    arm(n);
    daglib_dag *dag = NULL;
    if (library_code(sweep_dag("oom", root, "deflate", &dag), a, "building"))
        goto done;
    daglib_value *finals = NULL;
    ran = daglib_run(dag, &finals);
    const char *p = daglib_dag_profile_path(dag);
    path_null = p == NULL;
    snprintf(path, sizeof path, "%s", p ? p : "");
    snprintf(msg, sizeof msg, "%s", daglib_dag_errmsg(dag) ? daglib_dag_errmsg(dag) : "");
    if (library_code(ran, a, "daglib_run"))
        goto done;
    int64_t got = finals ? daglib_value_int(finals) : -1;
    daglib_value_free(finals);
    if (got != 15) {
        a->outcome = OUT_SHORT;
        snprintf(a->text, sizeof a->text, "the final result is %lld", (long long)got);
        goto done;
    }
    sqlite3 *db = NULL;
    char *why = NULL;
    int opened = daglib_metadb_open(NULL, root, &db, &why);
    snprintf(msg, sizeof msg, "daglib_metadb_open (%s)", why ? why : "no message");
    daglib_free(why);
    if (library_code(opened, a, msg))
        goto done;
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(
        db, "SELECT count(*), sum(task_runtime >= 0) FROM profiling WHERE run_id = ?",
        -1, &stmt, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(stmt, 1, daglib_dag_run_id(dag), -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        snprintf(a->text, sizeof a->text, "%d rows", sqlite3_column_int(stmt, 0));
        if (sqlite3_column_int(stmt, 0) != 4 || sqlite3_column_int(stmt, 1) != 4)
            a->outcome = OUT_SHORT;
    } else if (sqlite3_extended_errcode(db) == SQLITE_NOMEM) {
        a->outcome = OUT_NOMEM;
        snprintf(a->text, sizeof a->text, "query: SQLITE_NOMEM");
    } else {
        a->outcome = OUT_SHORT;
        snprintf(a->text, sizeof a->text, "query: %s", sqlite3_errmsg(db));
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
done:
    daglib_dag_free(dag);
    a->reached = disarm() >= n;
    /* A run that wrote its file names it, whatever its code. */
    if (ran >= 0 && has_avro_file(dir) && path_null) {
        a->outcome = OUT_SHORT;
        snprintf(a->text, sizeof a->text,
                 "daglib_run gave %s and wrote a file, but the profile path "
                 "is NULL (%s)", daglib_errname(ran), msg);
    } else if (!path_null && access(path, F_OK) != 0) {
        a->outcome = OUT_SHORT;
        snprintf(a->text, sizeof a->text, "the profile path %s does not exist",
                 path);
    }
}

/* ---- the sweep --------------------------------------------------------------- */

/* Run the work once in a child failing its nth allocation (0: none). */
static void run_child(work_fn work, long n, const char *const *args, answer *a)
{
    memset(a, 0, sizeof *a);
    int fds[2];
    if (pipe(fds) != 0) {
        perror("pipe");
        exit(2);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(2);
    }
    if (pid == 0) {
        close(fds[0]);
        alarm(20);
        answer mine;
        memset(&mine, 0, sizeof mine);
        work(n, args, &mine);
        if (write(fds[1], &mine, sizeof mine) != (ssize_t)sizeof mine)
            _exit(3);
        _exit(0);
    }
    close(fds[1]);
    ssize_t got = 0;
    while (got < (ssize_t)sizeof *a) {
        ssize_t r = read(fds[0], (char *)a + got, sizeof *a - (size_t)got);
        if (r <= 0 && !(r < 0 && errno == EINTR))
            break;
        if (r > 0)
            got += r;
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (got != (ssize_t)sizeof *a || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        a->outcome = OUT_CRASH;
        a->reached = 1;
        if (WIFSIGNALED(status))
            snprintf(a->text, sizeof a->text, "killed by signal %d (%s)",
                     WTERMSIG(status), strsignal(WTERMSIG(status)));
        else
            snprintf(a->text, sizeof a->text, "exited with status %d",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
}

static int sweep(const char *name, work_fn work, const char *const *args)
{
    answer ref;
    run_child(work, 0, args, &ref);
    if (ref.outcome != OUT_OK) {
        printf("%s: the run without failures is not ok: %s\n", name, ref.text);
        return 1;
    }
    long tally[OUT_COUNT] = {0};
    long n;
    for (n = 1; n <= MAX_POINTS; n++) {
        answer a;
        run_child(work, n, args, &a);
        if (!a.reached && a.outcome == OUT_OK && strcmp(a.text, ref.text) == 0)
            break; /* past the last allocation */
        if (a.outcome == OUT_OK && strcmp(a.text, ref.text) != 0) {
            a.outcome = OUT_SHORT;
            char wrong[sizeof a.text];
            snprintf(wrong, sizeof wrong, "%s", a.text);
            snprintf(a.text, sizeof a.text, "success with %.200s, not %.200s",
                     wrong, ref.text);
        }
        tally[a.outcome]++;
        if (a.outcome >= OUT_SHORT)
            printf("%s: allocation %ld: %s: %s\n", name, n,
                   outcome_names[a.outcome], a.text);
    }
    printf("%s: %ld allocation points: %ld ok / %ld nomem / %ld short / "
           "%ld crash (full result: %s)\n",
           name, n - 1, tally[OUT_OK], tally[OUT_NOMEM], tally[OUT_SHORT],
           tally[OUT_CRASH], ref.text);
    return n > MAX_POINTS || tally[OUT_SHORT] > 0 || tally[OUT_CRASH] > 0;
}

/* The fixture: two DAGs, four runs each, null and deflate codecs. */
static int write_files(const char *root)
{
    const char *names[2] = {"oom_small", "oom_other"};
    for (int i = 0; i < 8; i++) {
        daglib_dag *dag = NULL;
        daglib_value *finals = NULL;
        int rc = sweep_dag(names[i % 2], root, i < 4 ? "null" : "deflate", &dag);
        if (rc == DAGLIB_OK)
            rc = daglib_run(dag, &finals);
        daglib_value_free(finals);
        daglib_dag_free(dag);
        if (rc != DAGLIB_OK) {
            fprintf(stderr, "cannot write the fixture: %s\n", daglib_errname(rc));
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 3 && strcmp(argv[1], "files") == 0)
        return write_files(argv[2]);
    arm = (void (*)(long))dlsym(RTLD_DEFAULT, "failmalloc_arm");
    disarm = (long (*)(void))dlsym(RTLD_DEFAULT, "failmalloc_disarm");
    if (arm == NULL || disarm == NULL) {
        fprintf(stderr, "oom_sweep: run me with LD_PRELOAD=.../failmalloc.so\n");
        return 2;
    }
    const char *const *args = (const char *const *)argv + 2;
    if (argc == 4 && strcmp(argv[1], "query") == 0)
        return sweep("profiling", query_profiling, args);
    if (argc == 4 && strcmp(argv[1], "files-query") == 0)
        return sweep("profiling_files", query_files, args);
    if (argc == 3 && strcmp(argv[1], "library") == 0)
        return sweep("library", library_run, args);
    fprintf(stderr, "usage: oom_sweep files ROOT | query EXT ROOT | "
                    "files-query EXT ROOT | library DIR\n");
    return 2;
}
