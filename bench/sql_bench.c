/*
 * sql_bench.c -- the profiling table against a native SQLite table holding
 * the same rows: scan speed, memory, and what dag_name pruning saves.
 *
 *   sql_bench [-r REPS] [-o RAW.csv] DATA_DIR
 *
 * DATA_DIR holds trees written by bench/sql_gen (bench/sql.mk makes them):
 *   null-1m, deflate-1m    20 DAGs x 50 runs x 1000 records: 1,000,000 rows
 *                          in 1,000 files, null and deflate codecs, written
 *                          by libdaglib (blocks of 1000 records)
 *   avroc-deflate-1m, avroc-snappy-1m  the same rows written by avro-c, in
 *                          its default 16 KiB blocks, as other Avro
 *                          writers make them
 *   null-100k, deflate-100k  20 DAGs x 5 runs x 1000 records
 *
 * For each 1M tree a MetaDB connection (daglib_metadb_open, libdaglib's
 * built-in copy of the extension, the same code as ./daglib_sqlite.so)
 * copies every row of `profiling` into a table `native` of an in-memory
 * database, then runs each query on both, alternating, REPS times (after
 * one warm-up each), and reports the medians: seconds, rows/s and the
 * ratio profiling / native, then count(*) against AVG on the profiling
 * table.  The two sides' answers are compared; a mismatch fails the
 * benchmark.  Queries:
 *   SELECT count(*) FROM t
 *   SELECT avg(task_runtime) FROM t
 *   SELECT task_name, avg(task_runtime) FROM t GROUP BY 1
 *
 * Memory: a fresh process (this program re-run as `--rss ROOT SQL`) runs
 * one query over a tree and reports its peak RSS (getrusage ru_maxrss)
 * and its RSS before the query; flat memory means the 1M tree's peak is
 * the 100k tree's.  A fresh process, because a fork of this one would
 * count the native tables' pages.
 *
 * Pruning: `count(*) ... WHERE dag_name = 'dag_07'` (one DAG of 20)
 * against `count(dag_name)` over all of them, both on the profiling table
 * and both reading dag_name (a plain count(*) reads no record); about
 * 1/20 is the goal.
 *
 * Output: markdown tables on stdout; every timing to RAW.csv when -o.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "daglib.h"

#define MAX_REPS 101
#define GROUPS_MAX 1000

static int reps = 7;
static FILE *raw;

/* ---- small helpers ---------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, compare_doubles);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what, sqlite3 *db)
{
    fprintf(stderr, "sql_bench: %s: %s\n", what, db ? sqlite3_errmsg(db) : "");
    exit(1);
}

static sqlite3 *open_metadb(const char *root)
{
    sqlite3 *db;
    char *msg = NULL;
    if (daglib_metadb_open(":memory:", root, &db, &msg) != DAGLIB_OK) {
        fprintf(stderr, "sql_bench: cannot open a MetaDB on %s: %s\n", root,
                msg ? msg : "?");
        daglib_free(msg);
        exit(1);
    }
    return db;
}

/* What a query returned, to compare the two sides: the row count, and the
 * sum over rows of every numeric column and of every text's length, with
 * the first column of each row as text (GROUP BY keys) hashed in. */
typedef struct answer {
    long rows;
    double sum;
    unsigned long hash;
} answer;

/* Run sql to completion; its answer into *out; the seconds it took. */
static double run_query(sqlite3 *db, const char *sql, answer *out)
{
    double t0 = now_s();
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
        die(sql, db);
    answer a = {0, 0.0, 5381};
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        a.rows++;
        for (int i = 0; i < sqlite3_column_count(stmt); i++) {
            if (sqlite3_column_type(stmt, i) == SQLITE_TEXT) {
                const unsigned char *s = sqlite3_column_text(stmt, i);
                for (; *s; s++)
                    a.hash = a.hash * 33 + *s;
            } else {
                a.sum += sqlite3_column_double(stmt, i);
            }
        }
    }
    if (rc != SQLITE_DONE)
        die(sql, db);
    sqlite3_finalize(stmt);
    double t = now_s() - t0;
    if (out != NULL)
        *out = a;
    return t;
}

static void exec_or_die(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "sql_bench: %s: %s\n", sql, err);
        exit(1);
    }
}

static long count_rows(sqlite3 *db, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK ||
        sqlite3_step(stmt) != SQLITE_ROW)
        die(sql, db);
    long n = (long)sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
}

static int same_answer(const answer *a, const answer *b)
{
    return a->rows == b->rows && a->hash == b->hash &&
           fabs(a->sum - b->sum) <= 1e-9 * fmax(1.0, fabs(a->sum));
}

/* ---- side by side ----------------------------------------------------------- */

typedef struct query {
    const char *label;
    const char *sql; /* with %s for the table */
} query;

static const query queries[] = {
    {"count(*)", "SELECT count(*) FROM %s"},
    {"avg(task_runtime)", "SELECT avg(task_runtime) FROM %s"},
    {"task_name, avg GROUP BY 1",
     "SELECT task_name, avg(task_runtime) FROM %s GROUP BY 1"},
};
#define QUERY_COUNT (sizeof queries / sizeof queries[0])

typedef struct result {
    double profiling_s, native_s;
} result;

static result side_by_side(sqlite3 *db, const char *codec, const query *q)
{
    char on_profiling[256], on_native[256];
    snprintf(on_profiling, sizeof on_profiling, q->sql, "profiling");
    snprintf(on_native, sizeof on_native, q->sql, "native");
    double tp[MAX_REPS], tn[MAX_REPS];
    answer ap, an;
    run_query(db, on_profiling, &ap); /* warm-up: page cache, plans */
    run_query(db, on_native, &an);
    if (!same_answer(&ap, &an)) {
        fprintf(stderr, "sql_bench: %s differs: profiling %ld rows sum %.17g "
                        "hash %lu, native %ld rows sum %.17g hash %lu\n",
                on_profiling, ap.rows, ap.sum, ap.hash, an.rows, an.sum,
                an.hash);
        exit(1);
    }
    for (int i = 0; i < reps; i++) {
        tp[i] = run_query(db, on_profiling, NULL);
        tn[i] = run_query(db, on_native, NULL);
        if (raw != NULL) {
            fprintf(raw, "%s,%s,profiling,%d,%.6f\n", codec, q->label, i, tp[i]);
            fprintf(raw, "%s,%s,native,%d,%.6f\n", codec, q->label, i, tn[i]);
        }
    }
    result r = {median(tp, reps), median(tn, reps)};
    return r;
}

/* ---- peak memory, in a fresh process ------------------------------------------ */

static long rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* The child: `sql_bench --rss ROOT SQL` prints "BEFORE PEAK" in KiB. */
static int rss_child(const char *root, const char *sql)
{
    sqlite3 *db = open_metadb(root);
    run_query(db, "SELECT 1", NULL);
    long before = rss_kib();
    run_query(db, sql, NULL);
    printf("%ld %ld\n", before, rss_kib());
    sqlite3_close(db);
    return 0;
}

static void measure_rss(const char *root, const char *sql, long *before,
                        long *peak)
{
    char command[4096];
    snprintf(command, sizeof command, "'/proc/%d/exe' --rss '%s' '%s'",
             (int)getpid(), root, sql);
    FILE *p = popen(command, "r");
    if (p == NULL || fscanf(p, "%ld %ld", before, peak) != 2) {
        fprintf(stderr, "sql_bench: the memory probe failed: %s\n", command);
        exit(1);
    }
    if (pclose(p) != 0) {
        fprintf(stderr, "sql_bench: the memory probe failed: %s\n", command);
        exit(1);
    }
}

/* ---- the trees ---------------------------------------------------------------- */

typedef struct tree {
    const char *dir;   /* under DATA_DIR */
    const char *label; /* codec, and writer when not libdaglib */
    double avg_target; /* AVG's ceiling, profiling / native; 0: none */
} tree;

static const tree trees[] = {
    {"null-1m", "null", 0},
    {"deflate-1m", "deflate", 1.4},
    {"avroc-deflate-1m", "deflate, avro-c", 2.0},
    {"avroc-snappy-1m", "snappy, avro-c", 0},
};
#define TREE_COUNT (sizeof trees / sizeof trees[0])
/* count(*)'s ceiling, against AVG on the same files. */
#define COUNT_TARGET 0.3

/* ---- main -------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: sql_bench [-r REPS] [-o RAW.csv] DATA_DIR\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--rss") == 0)
        return rss_child(argv[2], argv[3]);
    const char *raw_path = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "r:o:")) != -1) {
        if (opt == 'r')
            reps = atoi(optarg);
        else if (opt == 'o')
            raw_path = optarg;
        else
            usage();
    }
    if (optind != argc - 1 || reps < 1 || reps > MAX_REPS)
        usage();
    const char *data = argv[optind];
    if (raw_path != NULL) {
        if ((raw = fopen(raw_path, "w")) == NULL) {
            perror(raw_path);
            return 1;
        }
        fprintf(raw, "codec,query,side,rep,seconds\n");
    }

    /* The 100k trees, for memory: libdaglib's, null and deflate. */
    static const char *const codecs[] = {"null", "deflate"};
    char root[TREE_COUNT][4096], small[2][4096];
    for (size_t t = 0; t < TREE_COUNT; t++)
        snprintf(root[t], sizeof root[t], "%s/%s", data, trees[t].dir);
    for (int c = 0; c < 2; c++)
        snprintf(small[c], sizeof small[c], "%s/%s-100k", data, codecs[c]);

    /* Memory first, while this process is small (the probes are fresh
     * processes anyway). */
    long before[2][2][2], peak[2][2][2]; /* codec, size, query */
    static const char *const rss_queries[] = {
        "SELECT avg(task_runtime) FROM profiling",
        "SELECT task_name, avg(task_runtime) FROM profiling GROUP BY 1"};
    for (int c = 0; c < 2; c++)
        for (int q = 0; q < 2; q++) {
            measure_rss(small[c], rss_queries[q], &before[c][0][q], &peak[c][0][q]);
            measure_rss(root[c], rss_queries[q], &before[c][1][q], &peak[c][1][q]);
        }

    printf("## SQL: the profiling table against a native table\n\n");
    printf("1,000,000 rows in 1,000 files (20 DAGs x 50 runs x 1,000 tasks), "
           "written by libdaglib (blocks of 1,000 records) or by avro-c (its "
           "default 16 KiB blocks); native: the same rows in an in-memory "
           "SQLite table; medians of %d runs each, alternating; SQLite "
           "%s.\n\n",
           reps, sqlite3_libversion());
    printf("| codec | query | profiling s | native s | profiling rows/s | "
           "native rows/s | profiling / native |\n");
    printf("|---|---|---:|---:|---:|---:|---:|\n");
    double avg_ratio[TREE_COUNT], count_s[TREE_COUNT], avg_s[TREE_COUNT];
    double prune[TREE_COUNT][2];
    long rows = 0, dag_rows = 0;
    for (size_t c = 0; c < TREE_COUNT; c++) {
        sqlite3 *db = open_metadb(root[c]);
        double t0 = now_s();
        exec_or_die(db, "CREATE TABLE native AS SELECT dag_name, "
                        "dag_description, run_id, task_name, task_description, "
                        "task_runtime, started_at, ended_at, status, attempts, "
                        "worker, error FROM profiling");
        double load_s = now_s() - t0;
        rows = count_rows(db, "native");
        fprintf(stderr, "sql_bench: %s: %ld rows copied into the native "
                        "table in %.2f s\n", trees[c].label, rows, load_s);
        for (size_t q = 0; q < QUERY_COUNT; q++) {
            result r = side_by_side(db, trees[c].label, &queries[q]);
            double ratio = r.profiling_s / r.native_s;
            if (q == 0)
                count_s[c] = r.profiling_s;
            if (q == 1) {
                avg_ratio[c] = ratio;
                avg_s[c] = r.profiling_s;
            }
            printf("| %s | %s | %.3f | %.3f | %.2fM | %.2fM | %.2f |\n",
                   trees[c].label, queries[q].label, r.profiling_s, r.native_s,
                   (double)rows / r.profiling_s / 1e6,
                   (double)rows / r.native_s / 1e6, ratio);
        }
        /* Pruning: one DAG of twenty. */
        const char *one = "SELECT count(*) FROM profiling WHERE dag_name = 'dag_07'";
        const char *all = "SELECT count(dag_name) FROM profiling";
        double t1[MAX_REPS], t20[MAX_REPS];
        answer a;
        run_query(db, one, &a);
        dag_rows = (long)a.sum;
        for (int i = 0; i < reps; i++) {
            t1[i] = run_query(db, one, NULL);
            t20[i] = run_query(db, all, NULL);
        }
        prune[c][0] = median(t1, reps);
        prune[c][1] = median(t20, reps);
        sqlite3_close(db);
    }

    printf("\nA native count(*) reads no row: SQLite counts the b-tree's "
           "cells page by page (OP_Count), so its ratio measures the "
           "table's scan, not a like-for-like cost.\n");

    printf("\n## Against the targets\n\n");
    printf("| files | AVG / native | target | count(*) / AVG | target |\n"
           "|---|---:|---|---:|---|\n");
    for (size_t c = 0; c < TREE_COUNT; c++) {
        char target[32] = "";
        if (trees[c].avg_target > 0)
            snprintf(target, sizeof target, "<= %.1f: %s", trees[c].avg_target,
                     avg_ratio[c] <= trees[c].avg_target ? "met" : "missed");
        double count_ratio = count_s[c] / avg_s[c];
        printf("| %s | %.2f | %s | %.2f | <= %.1f: %s |\n", trees[c].label,
               avg_ratio[c], target, count_ratio, COUNT_TARGET,
               count_ratio <= COUNT_TARGET ? "met" : "missed");
    }

    printf("\n## Pruning: WHERE dag_name = 'dag_07' (1 DAG of 20, %ld of %ld rows)\n\n",
           dag_rows, rows);
    printf("| codec | one DAG s | all DAGs s | one / all |\n|---|---:|---:|---:|\n");
    for (size_t c = 0; c < TREE_COUNT; c++)
        printf("| %s | %.4f | %.4f | %.3f (1/%.0f) |\n", trees[c].label,
               prune[c][0], prune[c][1], prune[c][0] / prune[c][1],
               prune[c][1] / prune[c][0]);

    printf("\n## Peak memory of one query, in a fresh process (RSS, MiB)\n\n");
    printf("| codec | query | before, 100k rows | peak, 100k rows | before, 1M rows | "
           "peak, 1M rows |\n|---|---|---:|---:|---:|---:|\n");
    for (int c = 0; c < 2; c++)
        for (int q = 0; q < 2; q++)
            printf("| %s | %s | %.1f | %.1f | %.1f | %.1f |\n", codecs[c],
                   q == 0 ? "avg(task_runtime)" : "GROUP BY task_name",
                   before[c][0][q] / 1024.0, peak[c][0][q] / 1024.0,
                   before[c][1][q] / 1024.0, peak[c][1][q] / 1024.0);
    if (raw != NULL)
        fclose(raw);
    return 0;
}
