"""The protections against floods never cost a real client its data: the PWA's backup restore,
sent one request at a time under the default limits, puts every task and edge back, while 32
clients flooding one workspace at once are held back (issue 30, item 1)."""

import threading
import time
from collections import Counter

import pytest

from bench.server import gunicorn
from tasks.models import Task
from tests.helpers import database_url, http_json, random_titles

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# The default limits: what a deployment gets when it sets none of them.
DEFAULT_LIMITS = {
    "LINKDO_THROTTLE_WORKSPACE": "",
    "LINKDO_THROTTLE_IP": "",
    "LINKDO_CONCURRENCY_WORKSPACE": "",
    "LINKDO_CONCURRENCY_IP": "",
}
TAGS = ["home", "work", "health", "money", "family", "study", "errand", "garden"]


def pwa_backup(count: int) -> dict:
    """What the PWA's export holds: tasks (no due date, no place) and edges (no origin)."""
    titles = random_titles(count, seed=30)
    tasks = [
        {
            "id": f"task-{i}",
            "title": title,
            "description": f"note {i}",
            "priority": "high" if i % 3 == 0 else "medium",
            "status": "done" if i % 5 == 0 else "todo",
            "category": "general",
            "tags": [TAGS[i % len(TAGS)], TAGS[(i * 7 + 3) % len(TAGS)]],
        }
        for i, title in enumerate(titles)
    ]
    return {"tasks": tasks}


def test_the_pwa_backup_restore_of_600_tasks_under_the_default_limits_loses_nothing():
    workspace = "restore-600"
    env = {"DATABASE_URL": database_url(), **DEFAULT_LIMITS}
    with gunicorn(workers=2, **env) as (base, _):
        # The workspace the user had: 600 tasks made one by one (auto-linked by their tags), and
        # a few edges of their own.
        backup = pwa_backup(600)
        for task in backup["tasks"]:
            assert http_json(base, "POST", "/api/tasks", task, workspace=workspace)[0] == 201
        for i in range(0, 40, 2):
            body = {"source": f"task-{i}", "target": f"task-{i + 301}", "weight": 0.9}
            assert http_json(base, "POST", "/api/edges", body, workspace=workspace)[0] == 201
        _, graph = http_json(base, "GET", "/api/graph", workspace=workspace)
        backup["edges"] = [
            {"source": e["source"], "target": e["target"], "weight": e["weight"]}
            for e in graph["edges"]
        ]
        assert len(backup["edges"]) > 2000
        before = {(e["source"], e["target"]): e["weight"] for e in backup["edges"]}

        # The PWA's "replace", as its code sends it: one request at a time, errors ignored.
        statuses = Counter()
        status, current = http_json(base, "GET", "/api/tasks", workspace=workspace)
        statuses[status] += 1
        for task in current:
            path = f"/api/tasks/{task['id']}/cascade"
            statuses[http_json(base, "DELETE", path, workspace=workspace)[0]] += 1
        for task in backup["tasks"]:
            statuses[http_json(base, "POST", "/api/tasks", task, workspace=workspace)[0]] += 1
        for edge in backup["edges"]:
            statuses[http_json(base, "POST", "/api/edges", edge, workspace=workspace)[0]] += 1
        assert http_json(base, "GET", "/health", workspace=workspace)[0] == 200
        status, restored = http_json(base, "GET", "/api/graph", workspace=workspace)

    assert 429 not in statuses, statuses
    assert status == 200
    assert {t["id"] for t in restored["tasks"]} == {t["id"] for t in backup["tasks"]}
    pairs = {(e["source"], e["target"]): e["weight"] for e in restored["edges"]}
    assert {pair: pairs.get(pair, pairs.get(pair[::-1])) for pair in before} == before
    assert Task.objects.live(workspace).count() == 600


def test_32_clients_flooding_one_workspace_are_held_back_while_another_is_served():
    flooded, other = "flooded", "quiet"
    env = {"DATABASE_URL": database_url(), **DEFAULT_LIMITS}
    with gunicorn(workers=3, **env) as (base, _):
        assert http_json(base, "POST", "/api/tasks", {"id": "q", "title": "quiet one"},
                       workspace=other)[0] == 201  # fmt: skip
        flood_statuses: Counter = Counter()
        lock = threading.Lock()
        stop = threading.Event()

        def flood(n: int) -> None:
            i = 0
            while not stop.is_set():
                body = {"id": f"f{n}-{i}", "title": f"flood {n} {i}", "tags": ["flood"]}
                status = http_json(base, "POST", "/api/tasks", body, workspace=flooded)[0]
                with lock:
                    flood_statuses[status] += 1
                i += 1

        threads = [threading.Thread(target=flood, args=(n,)) for n in range(32)]
        for thread in threads:
            thread.start()
        try:
            quiet = [http_json(base, "GET", "/api/tasks/q", workspace=other)[0] for _ in range(20)]
            # The flood goes on until it meets the limit (on a slower database, such as the Citus
            # cluster, the 20 quiet reads end before the flood has used up its burst).
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not flood_statuses[429]:
                time.sleep(0.1)
        finally:
            stop.set()
            for thread in threads:
                thread.join()

    assert quiet == [200] * 20
    assert flood_statuses[429] > 0, flood_statuses  # held back
    assert flood_statuses[201] > 0  # but served up to the limit
    assert set(flood_statuses) <= {201, 429}
    assert Task.objects.live(flooded).count() == flood_statuses[201]
