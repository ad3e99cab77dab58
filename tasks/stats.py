"""Workspace statistics (GET /api/stats): counts, completion rate, streak, per category and tag,
and created/completed per day, in one SQL statement whatever the workspace's size."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import connection

from workspaces.models import Workspace

# Days are the user's (in `tz`). Totals, categories and tags come from tasks_taskcount (kept by
# triggers, migration 0011); the rest reads only the rows it needs through partial indexes: tasks
# created or completed inside the window, open tasks past their due date (a date-only due date
# once that day has passed in `tz`, one with a time once that moment has), and the completions of
# each day of the streak, walked back from today or yesterday until a day without one.
STATS_SQL = """
WITH RECURSIVE counts AS (
    SELECT kind, key, total, done FROM tasks_taskcount
    WHERE workspace_id = %(ws)s AND total > 0
),
window_start AS (
    SELECT ((%(today)s::date - (%(days)s - 1))::timestamp AT TIME ZONE %(tz)s) AS at
),
created AS (
    SELECT (created_at AT TIME ZONE %(tz)s)::date AS day, count(*) AS n FROM tasks_task
    WHERE workspace_id = %(ws)s AND deleted_at IS NULL
      AND created_at >= (SELECT at FROM window_start)
    GROUP BY 1
),
completed AS (
    SELECT (completed_at AT TIME ZONE %(tz)s)::date AS day, count(*) AS n FROM tasks_task
    WHERE workspace_id = %(ws)s AND deleted_at IS NULL AND completed_at IS NOT NULL
      AND completed_at >= (SELECT at FROM window_start)
    GROUP BY 1
),
streak (day) AS (
    (SELECT d FROM (VALUES (%(today)s::date), (%(today)s::date - 1)) AS v(d)
     WHERE EXISTS (
         SELECT 1 FROM tasks_task WHERE workspace_id = %(ws)s AND deleted_at IS NULL
           AND completed_at >= (d::timestamp AT TIME ZONE %(tz)s)
           AND completed_at < ((d + 1)::timestamp AT TIME ZONE %(tz)s))
     ORDER BY d DESC LIMIT 1)
    UNION ALL
    SELECT s.day - 1 FROM streak s
    WHERE EXISTS (
        SELECT 1 FROM tasks_task WHERE workspace_id = %(ws)s AND deleted_at IS NULL
          AND completed_at >= ((s.day - 1)::timestamp AT TIME ZONE %(tz)s)
          AND completed_at < (s.day::timestamp AT TIME ZONE %(tz)s))
)
SELECT json_build_object(
    'total', (SELECT coalesce(sum(total), 0) FROM counts WHERE kind = 'category'),
    'done', (SELECT coalesce(sum(done), 0) FROM counts WHERE kind = 'category'),
    'overdue', (
        SELECT count(*) FROM tasks_task
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
"""


def workspace_stats(*, workspace: Workspace, days: int, tz: ZoneInfo) -> dict:
    """{"total", "open", "done", "overdue", "completion_rate", "streak_days", "by_category",
    "by_tag", "daily"} over the workspace's live tasks; `daily` has `days` entries, today last."""
    today = datetime.now(tz).date()
    params = {"ws": workspace.pk, "tz": tz.key, "today": today, "days": days}
    with connection.cursor() as cursor:
        cursor.execute(STATS_SQL, params)
        stats = json.loads(cursor.fetchone()[0])
    total, done = stats["total"], stats["done"]
    return {
        "total": total,
        "open": total - done,
        "done": done,
        "overdue": stats["overdue"],
        "completion_rate": round(done / total, 4) if total else None,
        "streak_days": stats["streak_days"],
        "by_category": stats["by_category"],
        "by_tag": stats["by_tag"],
        "daily": stats["daily"],
    }
