-- fixture: stats
-- PRAGMA trusted_schema=OFF: the TEMP views of sql/ work; a view stored
-- in a database file over the same table is refused.
.load ./daglib_sqlite
PRAGMA trusted_schema = OFF;
.read sql/views.sql
.output trace.json
.read sql/chrome_trace.sql
.output stdout
.headers on
.mode column

SELECT count(*) AS task_stats FROM task_stats;
SELECT count(*) AS runs FROM runs;
SELECT count(*) AS slowest_tasks FROM slowest_tasks;
SELECT count(*) AS failures FROM failures;
SELECT count(*) AS timeline FROM timeline;
SELECT json_valid(readfile('trace.json')) AS chrome_trace_valid,
       json_array_length(readfile('trace.json'), '$.traceEvents') AS events;
SELECT name FROM sqlite_temp_master WHERE type = 'view' ORDER BY name;

.print
.print "-- the same view, stored: refused while the schema is untrusted"
CREATE VIEW stored_runs AS SELECT run_id FROM profiling;
SELECT count(*) FROM stored_runs;
PRAGMA trusted_schema = ON;
SELECT count(*) AS stored_runs_when_trusted FROM stored_runs;

.print
.print "-- reading views.sql again replaces the views"
.read sql/views.sql
SELECT count(*) AS views FROM sqlite_temp_master WHERE type = 'view';
