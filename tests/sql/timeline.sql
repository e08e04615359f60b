-- fixture: stats
-- timeline: offsets from each run's first start and durations, exact to
-- the microsecond; skipped tasks and the Python original's rows (which
-- carry no times) are left out.
.load ./daglib_sqlite
.read sql/views.sql
.headers on
.mode column

SELECT * FROM timeline WHERE dag_name = 'etl';

.print
.print "-- nightly: load starts 0.25 s after extract ends"
SELECT run_id, task_name, offset_us, duration_us, offset_s, duration_s
FROM timeline WHERE run_id IN ('run_100000001', 'run_100000020');
SELECT count(*) AS rows, count(DISTINCT dag_name) AS dags FROM timeline;
