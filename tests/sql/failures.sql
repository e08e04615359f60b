-- fixture: stats
-- failures: the task that failed, and the one that succeeded only after a
-- failed try (its last error kept), newest first.
.load ./daglib_sqlite
.read sql/views.sql
.headers on
.mode column

SELECT * FROM failures;
