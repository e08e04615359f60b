-- chrome_trace.sql -- one run's timeline as Chrome trace JSON, to open in
-- Perfetto (ui.perfetto.dev) or chrome://tracing.
--
--   sqlite3 -cmd '.load ./daglib_sqlite' -cmd '.read sql/views.sql' \
--       -cmd ".parameter set \$run_id 'run_5d508d060'" \
--       :memory: '.read sql/chrome_trace.sql' > trace.json
--
-- Without $run_id it traces the newest run (the latest started_at).  Needs
-- views.sql read first.  The result is one row, one column (trace), a JSON
-- object in the trace event format:
--   - each task instance that ran is a complete event ("ph": "X") on the
--     thread of the worker that ran it, "ts" its start in microseconds
--     from the run's first start, "dur" its wall time including the waits
--     between retries; args carry its status, attempts, task_runtime (the
--     tries' run time) and error;
--   - metadata events ("ph": "M") name the process after the DAG and run,
--     and each thread "worker N".
-- A run id that matches nothing gives an empty traceEvents array.
-- Two branches, so that a given $run_id reaches the profiling table as a
-- plain value and only that run's file is read (SQLite does not push a
-- filter holding a subquery down into the view); the second branch runs
-- only without $run_id, and reads everything to find the newest run.
WITH tasks AS (
    SELECT * FROM timeline
    WHERE run_id = $run_id
    UNION ALL
    SELECT * FROM timeline
    WHERE $run_id IS NULL
      AND run_id = (SELECT run_id FROM runs
                    WHERE started_at IS NOT NULL
                    ORDER BY started_at DESC LIMIT 1)
),
events AS (
    SELECT 0 AS kind, 0 AS ts, -1 AS tid,
           json_object('name', 'process_name', 'ph', 'M', 'pid', 1,
                       'args', json_object('name', dag_name || ' ' || run_id))
               AS event
    FROM (SELECT DISTINCT dag_name, run_id FROM tasks)
    UNION ALL
    SELECT 0, 0, tid,
           json_object('name', 'thread_name', 'ph', 'M', 'pid', 1,
                       'tid', tid,
                       'args', json_object('name', 'worker ' || tid))
    FROM (SELECT DISTINCT coalesce(worker, 0) AS tid FROM tasks)
    UNION ALL
    SELECT 1, offset_us, coalesce(worker, 0),
           json_object('name', task_name, 'cat', dag_name, 'ph', 'X',
                       'ts', offset_us, 'dur', duration_us,
                       'pid', 1, 'tid', coalesce(worker, 0),
                       'args', json_object('run_id', run_id,
                                           'status', status,
                                           'attempts', attempts,
                                           'task_runtime', task_runtime,
                                           'error', error))
    FROM tasks
    ORDER BY kind, ts, tid
)
SELECT json_object('displayTimeUnit', 'ms',
                   'traceEvents', json_group_array(json(event))) AS trace
FROM events;
