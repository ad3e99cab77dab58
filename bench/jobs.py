"""The embedding job run by a real worker process (issue 19): how long after a push's commit the
worker starts its job, and how long a first sync of 5,000 tasks takes until its last vector is
stored, with the worker (`manage.py procrastinate worker`, local provider) running beside the
pushes as in production."""

import statistics
import time

from django.db import connection

from bench import sync as first_sync
from bench.common import Result, drop_workspace, sync_push
from bench.server import job_workers
from tasks.models import Task

LATENCY_PUSHES = 30
WORKSPACE = "bench-jobs"


def _wait_embedded(workspace: str, timeout_s: float = 300) -> float:
    """time.time() when the workspace's last pending task was embedded (polled every 20 ms)."""
    deadline = time.monotonic() + timeout_s
    pending = Task.objects.filter(workspace_id=workspace, embedding_hash__isnull=True)
    while pending.exists():
        assert time.monotonic() < deadline, "the worker did not embed the tasks"
        time.sleep(0.02)
    return time.time()


def _latencies() -> list[float]:
    """Seconds from a push's job being queued to the worker starting it, for pushes of one task.
    Both are the database's clock: the `deferred` event carries the time the push's transaction
    began (before the commit, so this is an upper bound), `started` the worker's."""
    workspaces = [f"{WORKSPACE}-latency-{i}" for i in range(LATENCY_PUSHES)]
    with connection.cursor() as cursor:  # an earlier run's jobs for the same workspaces
        cursor.execute(
            "DELETE FROM procrastinate_jobs WHERE args->>'workspace_id' = ANY(%s)", [workspaces]
        )
    for i, workspace in enumerate(workspaces):
        drop_workspace(workspace)
        sync_push(workspace, {"cursor": None, "tasks": [{"id": "a", "title": f"Latency {i}"}]})
        _wait_embedded(workspace)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT extract(epoch FROM max(e.at) FILTER (WHERE e.type = 'started')
                                      - min(e.at) FILTER (WHERE e.type = 'deferred'))
            FROM procrastinate_jobs j JOIN procrastinate_events e ON e.job_id = j.id
            WHERE j.args->>'workspace_id' = ANY(%s)
            GROUP BY j.id
            """,
            [workspaces],
        )
        latencies = [float(row[0]) for row in cursor.fetchall()]
    for workspace in workspaces:
        drop_workspace(workspace)
    assert len(latencies) == LATENCY_PUSHES
    return latencies


def _least_work(pushes: list[dict]) -> tuple[float, float]:
    """The provider alone and the vectors into the HNSW table, for all the tasks, and for the last
    push's tasks only (what cannot start before the last push commits)."""
    return first_sync._least_background(pushes), first_sync._least_background(pushes[-1:])


def run() -> list[Result]:
    pushes = first_sync._pushes()
    drop_workspace(WORKSPACE)
    with job_workers(1):
        time.sleep(6)  # the worker's start-up (Django, the analyser is not loaded by workers)
        latencies = _latencies()
        started = time.time()
        for push in pushes:
            sync_push(WORKSPACE, push)
        last_answer = time.time()
        last_vector = _wait_embedded(WORKSPACE)
    drop_workspace(WORKSPACE)
    least, tail_least = _least_work(pushes)
    p50 = statistics.median(latencies)
    return [
        Result("job latency p50: job queued by a push -> worker starts it", p50 * 1000, 200, "ms",
               "< 200 ms (issue 19)", f"200 ms; p90 {sorted(latencies)[int(0.9 * len(latencies))] * 1000:.0f} ms"),
        Result("first sync of 5,000 until the last vector, worker process", (last_vector - started) * 1000,
               least * 1000, "ms", "ratio <= 2 (issue 19)",
               "the provider alone + the vectors into the HNSW table"),
        Result("  floor: the 5 pushes' own answers (the work cannot end before)",
               (last_answer - started) * 1000, least * 1000, "ms", "(reported)",
               "the provider alone + the vectors into the HNSW table"),
        Result("  after the last push's answer, until its last vector", (last_vector - last_answer) * 1000,
               tail_least * 1000, "ms", "(reported)",
               "the same least work for that push's 1,000 tasks"),
    ]  # fmt: skip
