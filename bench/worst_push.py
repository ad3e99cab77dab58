"""The worst sync push for auto-links (issue 16, F2): pushes of 1,000 new tasks that all share one
tag, into a workspace where more and more tasks share it. Every new task is a chooser with every
other task as a candidate, so this is the most work one push can ask of the link statement. The
old unbounded rule is measured beside it (it made 499,500 edges for the first push alone)."""

import json
import time

from django.conf import settings
from django.test import Client

from bench.common import Result, drop_workspace
from flows.jobs import jobs_run_until_idle
from graph.models import Edge

WORKSPACE = "bench-worst-push"
PUSH, PUSHES = 1_000, 5


def _push_seconds(bound: int | None, pushes: int) -> list[float]:
    drop_workspace(WORKSPACE)
    settings.LINKDO_AUTOLINKS_PER_TASK = bound
    # The raw cost, which the default LINKDO_SYNC_MAX_LINK_PAIRS is set from.
    settings.LINKDO_SYNC_MAX_LINK_PAIRS = 10**12
    client = Client(HTTP_HOST="localhost", HTTP_X_WORKSPACE_ID=WORKSPACE)
    seconds = []
    try:
        for p in range(pushes):
            tasks = [
                {"id": f"p{p}-{i}", "title": f"Task {p} {i}", "tags": ["same"]} for i in range(PUSH)
            ]
            body = json.dumps({"cursor": None, "limit": 1, "tasks": tasks})
            started = time.perf_counter()
            response = client.post("/api/tasks/sync", body, content_type="application/json")
            seconds.append(time.perf_counter() - started)
            assert response.status_code == 200, response.content[:300]
            print(f"  bound={bound}: push {p + 1} took {seconds[-1]:.2f} s", flush=True)
        edges = Edge.objects.filter(workspace_id=WORKSPACE, deleted_at__isnull=True).count()
        print(f"  bound={bound}: {edges} live edges after {pushes} pushes", flush=True)
    finally:
        jobs_run_until_idle()  # the job worker embeds the pushed tasks, in this process
        drop_workspace(WORKSPACE)
        settings.LINKDO_AUTOLINKS_PER_TASK = 5
    return seconds


def run() -> list[Result]:
    bounded = _push_seconds(5, PUSHES)
    unbounded = _push_seconds(None, 1)
    return [
        Result(
            metric=f"worst push: 1,000 sharing one tag, push {p + 1} (K = 5)",
            value=seconds * 1000,
            baseline=unbounded[0] * 1000,
            unit="ms",
            goal="(raw cost; over 4M pairs: 413)",
            baseline_name="the first such push, unbounded rule",
        )
        for p, seconds in enumerate(bounded)
    ]
