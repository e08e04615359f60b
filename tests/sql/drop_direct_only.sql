-- fixture: page
-- daglib_drop() deletes files, so a view or trigger stored in a database
-- file may not call it (SQLITE_DIRECTONLY, and a run-time guard that
-- refuses while a stored object names it); the connection's own SQL,
-- TEMP triggers included, may.
.load ./daglib_sqlite
.headers on
.mode column

CREATE VIEW drop_everything AS SELECT daglib_drop() AS removed;
SELECT * FROM drop_everything;
CREATE TABLE audit(x);
CREATE TRIGGER drop_on_insert AFTER INSERT ON audit
BEGIN
    SELECT daglib_drop();
END;
INSERT INTO audit VALUES (1);
CREATE VIEW where_is_meta AS SELECT daglib_meta_dir('/tmp') AS root;
SELECT * FROM where_is_meta;
SELECT count(*) AS rows_still_there FROM profiling;

.print
.print "-- a TEMP trigger is the connection's own SQL"
DROP TRIGGER drop_on_insert;
CREATE TEMP TRIGGER temp_drop AFTER INSERT ON audit
BEGIN
    SELECT daglib_drop();
END;
.print "-- refused while a stored view still names daglib_drop"
INSERT INTO audit VALUES (2);
DROP VIEW drop_everything;
INSERT INTO audit VALUES (3);
SELECT count(*) AS rows_after_the_temp_trigger FROM profiling;
SELECT name FROM fsdir('meta');

.print
.print "-- daglib_drop('<root>'): another root; a missing root removes nothing"
SELECT daglib_drop('stats') AS removed;
SELECT count(*) AS rows FROM profiling('stats');
SELECT daglib_drop('no/such/root') AS removed;
