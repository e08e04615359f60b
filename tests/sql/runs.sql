-- fixture: stats
-- runs: wall time from the first start to the last end (the timestamps
-- are microsecond-exact), status failed when a task failed, task_s the
-- tasks' run times added up (more than wall_s when they ran in parallel).
.load ./daglib_sqlite
.read sql/views.sql
.headers on
.mode column

SELECT * FROM runs WHERE dag_name <> 'nightly' ORDER BY run_id;

.print
.print "-- nightly: wall_s = extract + 0.25 s wait + 0.5 s load"
SELECT count(*) AS runs, min(wall_s), max(wall_s), sum(wall_s),
       sum(wall_s = task_s + 0.25) AS wall_is_tasks_plus_the_wait
FROM runs WHERE dag_name = 'nightly';
SELECT run_id, started_at, ended_at, wall_s FROM runs
ORDER BY started_at DESC LIMIT 3;
