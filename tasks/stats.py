"""Workspace statistics (GET /api/stats): counts, completion rate, streak, per category and tag,
and created/completed per day, in one SQL statement whatever the workspace's size."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import connection

from linkdo.sqlfiles import sql_file
from tasks.models import Task, TaskCount
from workspaces.models import Workspace

STATS_SQL = sql_file(
    __file__, "stats", task=Task._meta.db_table, count=TaskCount._meta.db_table
)  # what each part computes: tasks/sql/stats.sql


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
