"""Workspace statistics (GET /api/stats): counts, completion rate, streak, per category and tag,
and created/completed per day, in one SQL statement whatever the workspace's size."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import connection

from workspaces.models import Workspace

# Days are the user's (in `tz`); a date-only due date is overdue once that day has passed there, a
# due date with a time once that moment has. The streak is the run of consecutive days with a
# completion that ends today or yesterday (a day without one yet today does not break it).
_STATS_SQL = """
WITH live AS MATERIALIZED (
    SELECT status = 'done' AS done, category, tags,
           (created_at AT TIME ZONE %(tz)s)::date AS created_day,
           (completed_at AT TIME ZONE %(tz)s)::date AS completed_day,
           CASE WHEN due_date IS NULL OR status = 'done' THEN false
                WHEN due_date_has_time THEN due_date < now()
                ELSE (due_date AT TIME ZONE 'UTC')::date < %(today)s END AS overdue
    FROM tasks_task WHERE workspace_id = %(ws)s AND deleted_at IS NULL
),
done_days AS (
    SELECT DISTINCT completed_day AS day FROM live
    WHERE completed_day IS NOT NULL AND completed_day <= %(today)s
),
runs AS (SELECT day, day + row_number() OVER (ORDER BY day DESC)::int AS run FROM done_days),
latest AS (SELECT max(day) AS day FROM done_days),
days AS (
    SELECT generate_series(%(today)s::date - (%(days)s - 1), %(today)s::date, '1 day')::date AS day
)
SELECT json_build_object(
    'total', (SELECT count(*) FROM live),
    'done', (SELECT count(*) FILTER (WHERE done) FROM live),
    'overdue', (SELECT count(*) FILTER (WHERE overdue) FROM live),
    'streak_days', (
        SELECT count(*) FROM runs, latest
        WHERE latest.day >= %(today)s::date - 1 AND runs.run = latest.day + 1
    ),
    'by_category', (
        SELECT coalesce(json_agg(json_build_object('category', category, 'total', total,
                                                   'done', done) ORDER BY total DESC, category), '[]')
        FROM (SELECT category, count(*) AS total, count(*) FILTER (WHERE done) AS done
              FROM live GROUP BY category) c
    ),
    'by_tag', (
        SELECT coalesce(json_agg(json_build_object('tag', tag, 'total', total, 'done', done)
                                 ORDER BY total DESC, tag), '[]')
        FROM (SELECT tag, count(*) AS total, count(*) FILTER (WHERE done) AS done
              FROM live, unnest(tags) AS tag GROUP BY tag) t
    ),
    'daily', (
        SELECT json_agg(json_build_object('date', days.day, 'created', coalesce(c.n, 0),
                                          'completed', coalesce(d.n, 0)) ORDER BY days.day)
        FROM days
        LEFT JOIN (SELECT created_day AS day, count(*) AS n FROM live GROUP BY 1) c USING (day)
        LEFT JOIN (SELECT completed_day AS day, count(*) AS n FROM live GROUP BY 1) d USING (day)
    )
)::text
"""


def workspace_stats(*, workspace: Workspace, days: int, tz: ZoneInfo) -> dict:
    """{"total", "open", "done", "overdue", "completion_rate", "streak_days", "by_category",
    "by_tag", "daily"} over the workspace's live tasks; `daily` has `days` entries, today last."""
    today = datetime.now(tz).date()
    params = {"ws": workspace.pk, "tz": tz.key, "today": today, "days": days}
    with connection.cursor() as cursor:
        cursor.execute(_STATS_SQL, params)
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
