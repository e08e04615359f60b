-- fixture: page
-- The profiling page, query by query, through the sqlite3 shell: one run
-- of `example` in meta/, SELECT *, db.drop(), then five runs of example2
-- and their average runtime.
.load ./daglib_sqlite
.headers on
.mode column

SELECT *
FROM profiling;

.print
.print "-- db.drop(): every file and directory under meta/ goes, meta/ stays"
SELECT daglib_drop();
SELECT name FROM fsdir('meta');
SELECT count(*) AS rows_after_drop FROM profiling;
SELECT * FROM profiling;

.print
.print "-- five runs of example2 finish; the next query reads them"
.system cp -R example2-runs/profiling meta/
SELECT AVG(task_runtime) AS avg_task_runtime
FROM profiling;
