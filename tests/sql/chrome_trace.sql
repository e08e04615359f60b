-- fixture: stats
-- chrome_trace.sql: one run as Chrome trace JSON, the newest by default.
-- (tests/suites/sql.sh also parses it with Python's json module.)
.load ./daglib_sqlite
.read sql/views.sql

.print "-- no $run_id: the newest run"
.read sql/chrome_trace.sql

.print
.print "-- $run_id: that run, a failed one"
.parameter set $run_id 'run_200000002'
.read sql/chrome_trace.sql

.print
.print "-- written to a file: valid JSON, an X event per task that ran"
.parameter set $run_id 'run_100000007'
.output trace.json
.read sql/chrome_trace.sql
.output stdout
SELECT json_valid(readfile('trace.json')) AS valid,
       json_array_length(readfile('trace.json'), '$.traceEvents') AS events,
       (SELECT count(*) FROM json_each(readfile('trace.json'), '$.traceEvents')
        WHERE json_extract(value, '$.ph') = 'X') AS tasks,
       (SELECT group_concat(json_extract(value, '$.name') || '@'
                            || json_extract(value, '$.ts'), ' ')
        FROM json_each(readfile('trace.json'), '$.traceEvents')
        WHERE json_extract(value, '$.ph') = 'X') AS starts;

.print
.print "-- a run id that matches nothing: no events, still valid"
.parameter set $run_id 'run_000000000'
.read sql/chrome_trace.sql
