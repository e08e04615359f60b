-- views.sql -- ready views over the profiling table.
--
--   sqlite> .load ./daglib_sqlite
--   sqlite> .read sql/views.sql
--   sqlite> SELECT * FROM task_stats;
--   sqlite> SELECT * FROM runs ORDER BY started_at DESC LIMIT 5;
--   sqlite> SELECT * FROM timeline WHERE run_id = 'run_5d508d060';
--   sqlite> SELECT * FROM slowdowns WHERE slow;
--
-- All are TEMP views: they belong to this connection only, leave nothing
-- in a database file, and work with PRAGMA trusted_schema=OFF (SQLite
-- refuses virtual tables in stored views then, not in TEMP ones).  Like
-- the table, they read the files when queried: nothing goes stale.
--
-- Times: started_at/ended_at are UTC text with microseconds; the views turn
-- them into microseconds since the epoch with strftime('%s') plus the
-- fraction's digits, because julianday() would round them to milliseconds.

DROP VIEW IF EXISTS temp.task_stats;
DROP VIEW IF EXISTS temp.runs;
DROP VIEW IF EXISTS temp.slowest_tasks;
DROP VIEW IF EXISTS temp.failures;
DROP VIEW IF EXISTS temp.timeline;
DROP VIEW IF EXISTS temp.slowdowns;

-- task_stats: one row per DAG and task as declared (a mapped task's
-- instances "work 0", "work 1", ... count as task work; per instance:
-- the same statistics with task_name in place of task), over every run.
-- count is every record, ok/failed/skipped split it by status; the
-- runtime statistics are over the ok records only.  median and p95 are nearest-rank (the
-- median of an even count is the mean of the middle two).
--
-- Window functions rather than GROUP BY, so that `WHERE dag_name = ...`
-- on the view reaches the profiling table and opens one DAG's directory:
-- SQLite pushes a filter on the PARTITION BY columns down into window
-- subqueries, not through an aggregate.  ranked sorts each task's
-- instances once, ok ones first, fastest first, so that positions 1..n
-- are the ok runtimes' ranks, and counts over the whole partition (count,
-- sum and avg cost one pass there; min and max would be recomputed for
-- every row).  picked keeps the few rows whose rank is wanted -- first,
-- median, p95, last ok -- and reads the statistics off them.
CREATE TEMP VIEW task_stats AS
WITH ranked AS (
    SELECT dag_name, task, task_runtime,
           row_number() OVER by_runtime AS pos,
           count(*) OVER whole AS count,
           sum(status = 'ok') OVER whole AS n,
           sum(status = 'failed') OVER whole AS failed,
           sum(status = 'skipped') OVER whole AS skipped,
           avg(CASE WHEN status = 'ok' THEN task_runtime END) OVER whole
               AS mean_s
    FROM profiling
    WINDOW by_runtime AS (PARTITION BY dag_name, task
                          ORDER BY status <> 'ok', task_runtime),
           whole AS (by_runtime ROWS BETWEEN UNBOUNDED PRECEDING
                     AND UNBOUNDED FOLLOWING)
),
picked AS (
    SELECT dag_name, task, pos, count, n, failed, skipped, mean_s,
           max(CASE WHEN pos = 1 AND n > 0 THEN task_runtime END) OVER per_task
               AS min_s,
           avg(CASE WHEN pos <= n AND pos IN ((n + 1) / 2, (n + 2) / 2)
                    THEN task_runtime END) OVER per_task AS median_s,
           max(CASE WHEN pos = (95 * n + 99) / 100 THEN task_runtime END)
               OVER per_task AS p95_s,
           max(CASE WHEN pos = n THEN task_runtime END) OVER per_task AS max_s
    FROM ranked
    WHERE pos IN (1, (n + 1) / 2, (n + 2) / 2, (95 * n + 99) / 100, n)
    WINDOW per_task AS (PARTITION BY dag_name, task)
)
SELECT dag_name, task, count, n AS ok, failed, skipped,
       mean_s, min_s, median_s, p95_s, max_s
FROM picked
WHERE pos = 1;

-- runs: one row per run.  wall_s spans the first start to the last end;
-- task_s adds up the tasks' run times (more than wall_s when they ran in
-- parallel).  A run is 'failed' when any task failed.
CREATE TEMP VIEW runs AS
WITH timed AS (
    SELECT dag_name, run_id, status, task_runtime, started_at, ended_at,
           strftime('%s', started_at) * 1000000
               + CAST(substr(started_at, 21, 6) AS INTEGER) AS start_us,
           strftime('%s', ended_at) * 1000000
               + CAST(substr(ended_at, 21, 6) AS INTEGER) AS end_us
    FROM profiling
)
SELECT dag_name, run_id,
       min(started_at) AS started_at,
       max(ended_at) AS ended_at,
       (max(end_us) - min(start_us)) / 1e6 AS wall_s,
       CASE WHEN sum(status = 'failed') > 0 THEN 'failed' ELSE 'ok' END
           AS status,
       count(*) AS tasks,
       sum(status = 'failed') AS failed_tasks,
       sum(status = 'skipped') AS skipped_tasks,
       sum(task_runtime) AS task_s
FROM timed
GROUP BY dag_name, run_id;

-- slowest_tasks: every task instance that ran (failed ones too), slowest
-- first, with its rank and its runtime over its task's mean ok runtime
-- (the mean_s of task_stats).  Add a LIMIT.
CREATE TEMP VIEW slowest_tasks AS
SELECT rank() OVER (ORDER BY task_runtime DESC) AS rank,
       dag_name, task_name, run_id, task_runtime, status, attempts,
       started_at,
       task_runtime / avg(CASE WHEN status = 'ok' THEN task_runtime END)
           OVER (PARTITION BY dag_name, task) AS times_its_mean
FROM profiling
WHERE status <> 'skipped'
ORDER BY task_runtime DESC;

-- failures: tasks that failed, and tasks that succeeded only after a
-- failed try (their last error is kept), newest first.
CREATE TEMP VIEW failures AS
SELECT dag_name, run_id, task_name, status, attempts, error, started_at,
       ended_at
FROM profiling
WHERE status = 'failed' OR error IS NOT NULL
ORDER BY started_at DESC;

-- timeline: what each worker did in each run, in microseconds (and
-- seconds) from the run's first start; duration is the wall time from the
-- first try's start to the last try's end.  Skipped tasks never started
-- and are left out, and so are the rows of files too old to carry times.
CREATE TEMP VIEW timeline AS
WITH timed AS (
    SELECT dag_name, run_id, task_name, worker, status, attempts,
           task_runtime, error,
           strftime('%s', started_at) * 1000000
               + CAST(substr(started_at, 21, 6) AS INTEGER) AS start_us,
           strftime('%s', ended_at) * 1000000
               + CAST(substr(ended_at, 21, 6) AS INTEGER) AS end_us
    FROM profiling
    WHERE started_at IS NOT NULL
)
SELECT dag_name, run_id, task_name, worker, status, attempts,
       start_us - min(start_us) OVER run AS offset_us,
       end_us - start_us AS duration_us,
       (start_us - min(start_us) OVER run) / 1e6 AS offset_s,
       (end_us - start_us) / 1e6 AS duration_s,
       task_runtime, error
FROM timed
WINDOW run AS (PARTITION BY dag_name, run_id)
ORDER BY dag_name, run_id, offset_us, worker;

-- slowdowns: which task is slow, since when.  One row per DAG and task
-- as declared with an ok run: its latest run's runtime (a mapped task's
-- instances added up; runs where any of them failed left out) against
-- the median of its earlier runs, slow when at least twice that median,
-- and then the run where the slowness began: the oldest of the latest
-- runs that were all at least twice that median.  Runs are ordered by
-- when the task started; records without times (the Python original's
-- files) are left out, and a task with one run has no median to compare.
-- A slowness that lasts becomes the new median: once more than half of
-- the earlier runs are slow, the latest is no longer flagged.
CREATE TEMP VIEW slowdowns AS
WITH per_run AS (
    SELECT dag_name, task, run_id, sum(task_runtime) AS task_runtime,
           min(started_at) AS started_at
    FROM profiling
    GROUP BY dag_name, task, run_id
    HAVING sum(status <> 'ok') = 0 AND count(started_at) = count(*)
),
timed AS (
    SELECT dag_name, task, run_id, task_runtime, started_at,
           row_number() OVER (PARTITION BY dag_name, task
                              ORDER BY started_at DESC, run_id DESC) AS age
    FROM per_run
),
earlier AS (
    SELECT dag_name, task, task_runtime,
           row_number() OVER task_runtimes AS pos,
           count(*) OVER (PARTITION BY dag_name, task) AS n
    FROM timed
    WHERE age > 1
    WINDOW task_runtimes AS (PARTITION BY dag_name, task
                             ORDER BY task_runtime)
),
baseline AS (
    SELECT dag_name, task, avg(task_runtime) AS median_s,
           max(n) AS earlier_runs
    FROM earlier
    WHERE pos IN ((n + 1) / 2, (n + 2) / 2)
    GROUP BY dag_name, task
),
judged AS (
    SELECT t.*, b.median_s, b.earlier_runs,
           b.median_s > 0 AND t.task_runtime >= 2 * b.median_s AS slow
    FROM timed t LEFT JOIN baseline b USING (dag_name, task)
),
streak AS (
    -- the age of the newest run that was not slow; the streak is younger
    SELECT dag_name, task, min(age) AS newest_fast_age
    FROM judged
    WHERE NOT slow
    GROUP BY dag_name, task
)
SELECT latest.dag_name, latest.task,
       latest.run_id AS latest_run, latest.started_at AS latest_at,
       latest.task_runtime AS latest_s,
       latest.median_s AS earlier_median_s,
       coalesce(latest.earlier_runs, 0) AS earlier_runs,
       latest.task_runtime / latest.median_s AS times_median,
       coalesce(latest.slow, 0) AS slow,
       first.run_id AS slow_since_run,
       first.started_at AS slow_since_at,
       CASE WHEN latest.slow THEN coalesce(streak.newest_fast_age - 1,
                                           latest.earlier_runs + 1) END
           AS slow_runs
FROM judged AS latest
LEFT JOIN streak USING (dag_name, task)
LEFT JOIN judged AS first
       ON latest.slow
      AND first.dag_name = latest.dag_name
      AND first.task = latest.task
      AND first.age = coalesce(streak.newest_fast_age - 1,
                               latest.earlier_runs + 1)
WHERE latest.age = 1
ORDER BY slow DESC, times_median DESC, latest.dag_name, latest.task;
