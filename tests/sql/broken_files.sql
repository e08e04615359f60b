-- fixture: broken
-- A truncated file, 1000 random bytes named .avro, an empty file and an
-- empty DAG directory: the query succeeds with every complete record, and
-- profiling_files says which files could not be read.
.load ./daglib_sqlite
.headers on
.mode column

SELECT run_id, count(*) AS rows, sum(task_runtime) AS runtime
FROM profiling GROUP BY run_id;

.print
.print "-- profiling_files: every file, and the error of each bad one"
.mode list
SELECT path, dag_name, run_id, bytes, records, error
FROM profiling_files ORDER BY path;
.mode column
SELECT count(*) AS clean FROM profiling_files WHERE error IS NULL;

.print
.print "-- the same through profiling('<root>') and profiling_files('<root>')"
SELECT count(*) AS rows FROM profiling('broken');
SELECT count(*) AS files, count(error) AS errors
FROM profiling_files('broken');
