-- fixture: page
-- Which tree a query reads: meta/ by default, profiling('<root>') for
-- another, daglib_meta_dir('<root>') for the connection from now on.
.load ./daglib_sqlite
.headers on
.mode list

SELECT daglib_meta_dir() AS root;
SELECT dag_name, count(*) AS rows FROM profiling GROUP BY 1;

.print
.print "-- profiling('<root>'): another tree, this query only"
SELECT dag_name, count(*) AS rows FROM profiling('stats') GROUP BY 1;
SELECT count(*) AS rows FROM profiling('no/such/root');
SELECT path, error FROM profiling_files('no/such/root');
SELECT dag_name, count(*) AS rows FROM profiling GROUP BY 1;

.print
.print "-- daglib_meta_dir('stats'): made absolute once, when set"
SELECT daglib_meta_dir('stats') AS root;
.cd broken
SELECT daglib_meta_dir() AS root;
SELECT dag_name, count(*) AS rows FROM profiling GROUP BY 1;
SELECT count(*) AS files FROM profiling_files;
.cd ..

.print
.print "-- daglib_meta_dir(NULL): back to meta/"
SELECT daglib_meta_dir(NULL) AS root;
SELECT dag_name, count(*) AS rows FROM profiling GROUP BY 1;

.print
.print "-- the default is relative to the working directory of each query"
.cd stats
SELECT daglib_meta_dir() AS root;
SELECT count(*) AS rows FROM profiling;
.cd ..
SELECT daglib_version() GLOB '[0-9]*.[0-9]*.[0-9]*' AS has_a_version;
