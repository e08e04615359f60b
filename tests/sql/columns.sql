-- fixture: stats
-- SELECT * gives the page's six columns; the others are hidden and come
-- when named.  Declared types are VARCHAR(n), DOUBLE, INTEGER (for ODBC).
.load ./daglib_sqlite
.headers on
.mode column

SELECT cid, name, type, hidden FROM pragma_table_xinfo('profiling');

.print
.print "-- SELECT *: six columns"
SELECT * FROM profiling WHERE run_id = 'run_200000002';

.print
.print "-- the hidden columns, named"
SELECT task_name, started_at, ended_at, status, attempts, worker, error,
       path
FROM profiling WHERE run_id = 'run_200000002';

.print
.print "-- a file in the Python original's layout: the later fields' defaults"
SELECT task_name, typeof(task_runtime), task_runtime, started_at, ended_at,
       status, attempts, worker, error
FROM profiling WHERE dag_name = 'legacy';

.print
.print "-- the timestamps are what SQLite's date functions read"
SELECT started_at, julianday(ended_at) > julianday(started_at) AS later,
       strftime('%Y-%m-%d %H:%M:%f', started_at) AS parsed
FROM profiling WHERE run_id = 'run_200000001' AND task_name = 'extract_b';

.print
.print "-- a rowid per row, unique across the 24 files"
SELECT count(*) AS rows, count(DISTINCT rowid) AS rowids,
       count(DISTINCT path) AS files
FROM profiling;
SELECT count(*) AS rows_of_an_or FROM profiling
WHERE dag_name = 'legacy' OR task_name = 'transform';
