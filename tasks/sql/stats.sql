-- GET /api/stats in one statement, whatever the workspace's size.
-- Days are the user's (in `tz`). Totals, categories and tags come from the count table (kept by
-- triggers, migration 0011); the rest reads only the rows it needs through partial indexes: tasks
-- created or completed inside the window, open tasks past their due date (a date-only due date
-- once that day has passed in `tz`, one with a time once that moment has), and the completions of
-- each day of the streak, walked back from today or yesterday until a day without one.
--
-- Parameters: ws (workspace id), tz (IANA zone), today (the date in tz), days (how many days
-- `daily` covers).
WITH RECURSIVE counts AS (
    SELECT kind, key, total, done FROM {count}
    WHERE workspace_id = %(ws)s AND total > 0
),
window_start AS (
    SELECT ((%(today)s::date - (%(days)s - 1))::timestamp AT TIME ZONE %(tz)s) AS at
),
created AS (
    SELECT (created_at AT TIME ZONE %(tz)s)::date AS day, count(*) AS n FROM {task}
    WHERE workspace_id = %(ws)s AND deleted_at IS NULL
      AND created_at >= (SELECT at FROM window_start)
    GROUP BY 1
),
completed AS (
    SELECT (completed_at AT TIME ZONE %(tz)s)::date AS day, count(*) AS n FROM {task}
    WHERE workspace_id = %(ws)s AND deleted_at IS NULL AND completed_at IS NOT NULL
      AND completed_at >= (SELECT at FROM window_start)
    GROUP BY 1
),
streak (day) AS (
    (SELECT d FROM (VALUES (%(today)s::date), (%(today)s::date - 1)) AS v(d)
     WHERE EXISTS (
         SELECT 1 FROM {task} WHERE workspace_id = %(ws)s AND deleted_at IS NULL
           AND completed_at >= (d::timestamp AT TIME ZONE %(tz)s)
           AND completed_at < ((d + 1)::timestamp AT TIME ZONE %(tz)s))
     ORDER BY d DESC LIMIT 1)
    UNION ALL
    SELECT s.day - 1 FROM streak s
    WHERE EXISTS (
        SELECT 1 FROM {task} WHERE workspace_id = %(ws)s AND deleted_at IS NULL
          AND completed_at >= ((s.day - 1)::timestamp AT TIME ZONE %(tz)s)
          AND completed_at < (s.day::timestamp AT TIME ZONE %(tz)s))
)
SELECT json_build_object(
    'total', (SELECT coalesce(sum(total), 0) FROM counts WHERE kind = 'category'),
    'done', (SELECT coalesce(sum(done), 0) FROM counts WHERE kind = 'category'),
    'overdue', (
        SELECT count(*) FROM {task}
        WHERE workspace_id = %(ws)s AND deleted_at IS NULL AND due_date IS NOT NULL
          AND status <> 'done'
          AND due_date < greatest(now(), %(today)s::date::timestamp AT TIME ZONE 'UTC')
          AND CASE WHEN due_date_has_time THEN due_date < now()
                   ELSE (due_date AT TIME ZONE 'UTC')::date < %(today)s END
    ),
    'streak_days', (SELECT count(*) FROM streak),
    'by_category', (
        SELECT coalesce(json_agg(json_build_object('category', key, 'total', total, 'done', done)
                                 ORDER BY total DESC, key), '[]')
        FROM counts WHERE kind = 'category'
    ),
    'by_tag', (
        SELECT coalesce(json_agg(json_build_object('tag', key, 'total', total, 'done', done)
                                 ORDER BY total DESC, key), '[]')
        FROM counts WHERE kind = 'tag'
    ),
    'daily', (
        SELECT json_agg(json_build_object('date', day, 'created', coalesce(c.n, 0),
                                          'completed', coalesce(d.n, 0)) ORDER BY day)
        FROM generate_series(%(today)s::date - (%(days)s - 1), %(today)s::date, '1 day') AS g(at)
        CROSS JOIN LATERAL (SELECT g.at::date AS day) AS days
        LEFT JOIN created c USING (day) LEFT JOIN completed d USING (day)
    )
)::text
