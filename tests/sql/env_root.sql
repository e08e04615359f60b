-- env: DAGLIB_META_DIR=stats
-- fixture: page
-- $DAGLIB_META_DIR overrides meta/; daglib_meta_dir() overrides both.
.load ./daglib_sqlite
.headers on
.mode list

SELECT daglib_meta_dir() AS root;
SELECT dag_name, count(*) AS rows FROM profiling GROUP BY 1;
SELECT daglib_meta_dir('meta') AS root;
SELECT dag_name, count(*) AS rows FROM profiling GROUP BY 1;
SELECT daglib_meta_dir(NULL) AS root;
SELECT count(*) AS rows FROM profiling;
