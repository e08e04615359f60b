-- fixture: drift
-- slowdowns: ingest's parse doubled from its sixth run on; load is
-- steady, fetch's one slow run is over, audit has nothing to compare
-- with, and other's parse is another task.
.load ./daglib_sqlite
.read sql/views.sql
.headers on
.mode column

SELECT dag_name, task, latest_run, latest_s, earlier_median_s,
       earlier_runs, round(times_median, 4) AS times_median, slow,
       slow_since_run, slow_since_at, slow_runs
FROM slowdowns;

.print
.print "-- the question, directly"
SELECT dag_name, task, slow_since_run FROM slowdowns WHERE slow;
