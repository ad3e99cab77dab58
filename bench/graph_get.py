"""GET /api/graph for 10,000 tasks and 50,000 edges, against raw SQL + json.dumps of the same rows."""

import json
import random

from django.test import Client
from django.utils import timezone

from bench.common import Result, drop_workspace, median_seconds
from graph.models import Edge
from tasks.models import Task
from workspaces.models import Workspace

WORKSPACE = "bench-graph"
TASKS = 10_000
EDGES = 50_000

RAW_TASKS_SQL = """
SELECT workspace_id, client_id, title, description, priority, status, category, tags, due_date,
       x, y, created_at, updated_at, completed_at
FROM tasks_task WHERE workspace_id = %s ORDER BY created_at, id
"""
RAW_EDGES_SQL = """
SELECT e.id, e.workspace_id, s.client_id, t.client_id, e.weight, e.origin
FROM graph_edge e JOIN tasks_task s ON s.id = e.source_id JOIN tasks_task t ON t.id = e.target_id
WHERE e.workspace_id = %s ORDER BY e.id
"""


def _populate(rng: random.Random) -> None:
    workspace = Workspace.objects.create(id=WORKSPACE)
    vocabulary = [f"tag{i}" for i in range(300)]
    now = timezone.now()
    tasks = Task.objects.bulk_create(
        [
            Task(
                workspace=workspace,
                client_id=f"task-{i}",
                title=f"Task {i} about {rng.choice(vocabulary)}",
                description="Some words describing the task. " * 3,
                tags=rng.sample(vocabulary, 3),
                x=rng.uniform(-80, 80),
                y=rng.uniform(-80, 80),
                created_at=now,
                updated_at=now,
            )
            for i in range(TASKS)
        ],
        batch_size=2000,
    )
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < EDGES:
        a, b = rng.sample(range(TASKS), 2)
        pairs.add((min(a, b), max(a, b)))
    Edge.objects.bulk_create(
        [
            Edge(workspace=workspace, source=tasks[a], target=tasks[b], weight=rng.random())
            for a, b in pairs
        ],
        batch_size=5000,
    )


def _raw(connection, workspace: str = WORKSPACE) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute(RAW_TASKS_SQL, [workspace])
        tasks = cursor.fetchall()
        cursor.execute(RAW_EDGES_SQL, [workspace])
        edges = cursor.fetchall()
    return json.dumps({"tasks": tasks, "edges": edges}, default=str).encode()


# A realistic small workspace, made through the API (its auto-links by the tag rule): 200 tasks,
# tags drawn from 18 with a few common ones, 1-3 each, as the PWA's user would have them.
SMALL_WORKSPACE, SMALL_TASKS = "bench-graph-small", 200
TAG_POOL = ["work"] * 6 + ["home"] * 3 + ["errand"] * 2 + [f"topic{i}" for i in range(15)]


def _populate_small(rng: random.Random) -> None:
    client = Client(HTTP_HOST="localhost", HTTP_X_WORKSPACE_ID=SMALL_WORKSPACE)
    for i in range(SMALL_TASKS):
        tags = sorted(set(rng.sample(TAG_POOL, rng.randint(1, 3))))
        body = {"id": f"t{i}", "title": f"Task {i} {' '.join(tags)}", "tags": tags}
        assert client.post("/api/tasks", body, content_type="application/json").status_code == 201


# 10,000 tasks linked by the rule itself (issue 18): realistic tags, pushed by sync in pushes of 500.
RULE_WORKSPACE, RULE_TASKS, RULE_PUSH = "bench-graph-rule", 10_000, 500


def _populate_by_rule(rng: random.Random) -> None:
    client = Client(HTTP_HOST="localhost", HTTP_X_WORKSPACE_ID=RULE_WORKSPACE)
    for start in range(0, RULE_TASKS, RULE_PUSH):
        tasks = [
            {"id": f"r{i}", "title": f"Task {i}", "description": "Some words describing it.",
             "tags": sorted(set(rng.sample(TAG_POOL, rng.randint(1, 3))))}
            for i in range(start, start + RULE_PUSH)
        ]  # fmt: skip
        body = json.dumps({"cursor": None, "limit": 1, "tasks": tasks})
        response = client.post("/api/tasks/sync", body, content_type="application/json")
        assert response.status_code == 200, response.content[:300]


def _by_rule(connection) -> list[Result]:
    from flows.jobs import jobs_run_until_idle

    drop_workspace(RULE_WORKSPACE)
    try:
        _populate_by_rule(random.Random(5))
        jobs_run_until_idle()
        client = Client(HTTP_HOST="localhost", HTTP_X_WORKSPACE_ID=RULE_WORKSPACE)
        size = len(client.get("/api/graph").content)
        edges = Edge.objects.filter(workspace_id=RULE_WORKSPACE, deleted_at__isnull=True).count()
        api = median_seconds(lambda: client.get("/api/graph"))
        raw = median_seconds(lambda: _raw(connection, RULE_WORKSPACE))
    finally:
        drop_workspace(RULE_WORKSPACE)
    return [
        Result(f"GET /api/graph ({RULE_TASKS:,} tasks, {edges:,} edges by the rule, K = 5)",
               api * 1000, raw * 1000, "ms", "ratio <= 2 (issue 18)",
               "raw SQL fetch of the same rows + json.dumps"),
        Result(f"graph bytes/task ({RULE_TASKS:,} tasks by the rule, K = 5)", size / RULE_TASKS,
               1000, "B", "ratio <= 1 (issue 18)", "1,000 bytes per task"),
    ]  # fmt: skip


def graph_bytes(workspace_id: str, tasks: int) -> list[Result]:
    """Bytes of GET /api/graph per task: plain and gzip, full and compact (fields=compact)."""
    client = Client(HTTP_HOST="localhost", HTTP_X_WORKSPACE_ID=workspace_id)
    results = []
    for label, query in (("", {}), (" compact", {"fields": "compact"})):
        plain = len(client.get("/api/graph", query).content)
        zipped = client.get("/api/graph", query, HTTP_ACCEPT_ENCODING="gzip")
        assert zipped["Content-Encoding"] == "gzip"
        results.append(
            Result(
                metric=f"graph bytes/task{label}, gzip ({tasks:,} tasks)",
                value=len(zipped.content) / tasks,
                baseline=plain / tasks,
                unit="B",
                goal="(compression)",
                baseline_name="the same answer uncompressed",
            )
        )
    return results


def run() -> list[Result]:
    from django.db import connection

    drop_workspace(WORKSPACE)
    drop_workspace(SMALL_WORKSPACE)
    _populate(random.Random(7))
    try:
        client = Client(HTTP_HOST="localhost", HTTP_X_WORKSPACE_ID=WORKSPACE)
        response = client.get("/api/graph")
        body = response.json()
        assert response.status_code == 200
        assert (len(body["tasks"]), len(body["edges"])) == (TASKS, EDGES)
        api = median_seconds(lambda: client.get("/api/graph"))
        raw = median_seconds(lambda: _raw(connection))
        zipped = median_seconds(lambda: client.get("/api/graph", HTTP_ACCEPT_ENCODING="gzip"))
        sizes = graph_bytes(WORKSPACE, TASKS)
        _populate_small(random.Random(11))
        sizes += graph_bytes(SMALL_WORKSPACE, SMALL_TASKS)
    finally:
        drop_workspace(WORKSPACE)
        drop_workspace(SMALL_WORKSPACE)
    sizes += _by_rule(connection)
    return sizes + [
        Result(
            metric=f"GET /api/graph gzip ({TASKS:,} tasks, {EDGES:,} edges)",
            value=zipped * 1000,
            baseline=api * 1000,
            unit="ms",
            goal="(cost of compressing)",
            baseline_name="the same GET uncompressed",
        ),
        Result(
            metric=f"GET /api/graph ({TASKS:,} tasks, {EDGES:,} edges)",
            value=api * 1000,
            baseline=raw * 1000,
            unit="ms",
            goal="ratio <= 2",
            baseline_name="raw SQL fetch of the same rows + json.dumps",
        ),
    ]
