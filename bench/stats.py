"""GET /api/stats for a workspace of 100,000 tasks (a year of history, 1-3 tags of 30, 8
categories, 60 % done), against the raw SQL of the same aggregates run by itself."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import connection
from django.test import Client

from bench.common import Result, drop_workspace, median_seconds
from tasks.stats import STATS_SQL
from workspaces.models import Workspace

WORKSPACE = "bench-stats"
TASKS = 100_000

# Set-based, so the fixture costs seconds; completed_at follows the task_completed_at_iff_done rule.
_POPULATE_SQL = """
INSERT INTO tasks_task (workspace_id, client_id, title, description, priority, status, category,
    tags, due_date, due_date_has_time, x, y, place_pending, version, field_versions, created_at,
    updated_at, completed_at)
SELECT %(ws)s, 'task-' || i, 'Task ' || i, '', 'medium', CASE WHEN done THEN 'done' ELSE 'todo' END,
    'category-' || (i %% 8),
    (ARRAY['tag' || (i %% 30)] || CASE WHEN i %% 2 = 0 THEN ARRAY['tag' || (i %% 7 + 30)]
                                       ELSE ARRAY[]::text[] END)::varchar[],
    CASE WHEN i %% 5 = 0 THEN created + interval '7 days' END, false, 0, 0, false, 1, '{}',
    created, created, CASE WHEN done THEN created + interval '2 days' END
FROM (
    SELECT i, i %% 5 < 3 AS done, now() - (i %% 365) * interval '1 day' - interval '3 days' AS created
    FROM generate_series(1, %(n)s) AS i
) rows
"""


def run() -> list[Result]:
    drop_workspace(WORKSPACE)
    Workspace.objects.create(id=WORKSPACE)
    with connection.cursor() as cursor:
        cursor.execute(_POPULATE_SQL, {"ws": WORKSPACE, "n": TASKS})
        cursor.execute("ANALYZE tasks_task")
    client = Client(HTTP_HOST="localhost", HTTP_X_WORKSPACE_ID=WORKSPACE)
    path = "/api/stats?days=30&timezone=Asia/Seoul"
    assert client.get(path).json()["total"] == TASKS

    def raw():
        with connection.cursor() as cursor:
            params = {"ws": WORKSPACE, "tz": "Asia/Seoul", "today": _today(), "days": 30}
            cursor.execute(STATS_SQL, params)
            cursor.fetchone()

    try:
        api = median_seconds(lambda: client.get(path), repeat=15)
        baseline = median_seconds(raw, repeat=15)
    finally:
        drop_workspace(WORKSPACE)
    return [
        Result(
            f"GET /api/stats p50, {TASKS:,} tasks",
            api * 1000,
            baseline * 1000,
            "ms",
            "< 50 ms",
            "the same aggregates' raw SQL",
        ),  # fmt: skip
    ]


def _today():
    return datetime.now(ZoneInfo("Asia/Seoul")).date()
