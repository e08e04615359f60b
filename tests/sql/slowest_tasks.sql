-- fixture: stats
-- slowest_tasks: slowest first, ranked overall, with the runtime over its
-- task's mean ok runtime; failed instances are listed, skipped ones not.
.load ./daglib_sqlite
.read sql/views.sql
.headers on
.mode column

SELECT rank, dag_name, task_name, run_id, task_runtime,
       round(times_its_mean, 6) AS times_its_mean
FROM slowest_tasks LIMIT 3;

.print
.print "-- etl's instances, ranked among all 52 that ran"
SELECT rank, task_name, run_id, task_runtime, status, attempts,
       round(times_its_mean, 6) AS times_its_mean
FROM slowest_tasks WHERE dag_name = 'etl'
ORDER BY rank, task_name, run_id;
SELECT count(*) AS listed, sum(status = 'skipped') AS skipped
FROM slowest_tasks;
