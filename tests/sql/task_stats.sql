-- fixture: stats
-- task_stats over known runtimes.  nightly's extract took 1, 2, ... 20 s
-- (once each, shuffled): mean and median 10.5, nearest-rank p95 19.
-- etl's extract_b failed once (excluded from its runtimes), transform and
-- load were skipped once; legacy's rows have the defaults (status ok).
.load ./daglib_sqlite
.read sql/views.sql
.headers on
.mode column

SELECT dag_name, task, count, ok, failed, skipped,
       round(mean_s, 6) AS mean_s, min_s, median_s, p95_s, max_s
FROM task_stats
ORDER BY dag_name, task;

.print
.print "-- one DAG, by name: the same numbers"
SELECT task, count, median_s, p95_s FROM task_stats
WHERE dag_name = 'nightly' ORDER BY task;
