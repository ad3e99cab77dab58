"""Concurrent writers, pullers and arranges on one workspace, under gunicorn with several workers
(issue 16, C1): no answer may be a 5xx, no background embedding may die, and a deadlock that
PostgreSQL still picks a victim for is run again, never answered as an outage."""

import random
import threading
import time
from unittest.mock import patch

import psycopg
import pytest
from django.db import OperationalError

from bench.server import gunicorn, job_workers
from tasks.models import Task
from tests.conftest import WorkspaceClient
from tests.helpers import database_url, http_call

WORKSPACE = "concurrent"
CLIENTS, REQUESTS_EACH, TIME_LIMIT_S = 4, 30, 120


def call(base: str, method: str, path: str, body=None) -> int:
    return http_call(base, method, path, body, workspace=WORKSPACE)


def client_loop(base: str, seed: int, statuses: list, deadline: float) -> None:
    rng = random.Random(seed)
    tags = ["work", "home", "errand", "music", "sport"]
    for n in range(REQUESTS_EACH):
        if time.monotonic() > deadline:
            return
        kind = rng.choice(["push", "push", "patch", "arrange", "pull", "delete"])
        if kind == "push":
            tasks = [
                {"id": f"c{seed}-{n}-{i}", "title": f"task {seed} {n} {i} {rng.choice(tags)}",
                 "tags": rng.sample(tags, 2)}
                for i in range(20)
            ]  # fmt: skip
            statuses.append(
                (kind, call(base, "POST", "/api/tasks/sync", {"cursor": None, "tasks": tasks}))
            )
        elif kind == "patch":
            target = f"c{rng.randrange(CLIENTS)}-{rng.randrange(max(n, 1))}-{rng.randrange(20)}"
            body = {"title": f"renamed {n}", "tags": rng.sample(tags, 2)}
            statuses.append((kind, call(base, "PATCH", f"/api/tasks/{target}", body)))
        elif kind == "arrange":
            statuses.append((kind, call(base, "POST", "/api/graph/auto-arrange")))
        elif kind == "pull":
            statuses.append(
                (kind, call(base, "POST", "/api/tasks/sync", {"cursor": None, "limit": 200}))
            )
        else:
            target = f"c{rng.randrange(CLIENTS)}-{rng.randrange(max(n, 1))}-{rng.randrange(20)}"
            statuses.append((kind, call(base, "DELETE", f"/api/tasks/{target}")))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_pushes_patches_pulls_and_arranges_under_gunicorn():
    url = database_url()
    with (
        gunicorn(workers=3, DATABASE_URL=url) as (base, process),
        job_workers(2, DATABASE_URL=url) as job_processes,
    ):
        statuses: list = []
        deadline = time.monotonic() + TIME_LIMIT_S
        threads = [
            threading.Thread(target=client_loop, args=(base, seed, statuses, deadline))
            for seed in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # The background embeddings of every push finish, none dies.
        waited = time.monotonic() + 60
        while Task.objects.filter(workspace_id=WORKSPACE, embedding_hash__isnull=True,
                                  deleted_at__isnull=True).exists():  # fmt: skip
            assert time.monotonic() < waited, "background embeddings did not finish"
            time.sleep(0.5)
        assert all(worker.poll() is None for worker in job_processes)  # no job worker died
    errors = process.stderr.read()
    job_errors = "".join(worker.stderr.read() for worker in job_processes)
    assert "Traceback" not in job_errors, job_errors[-3000:]
    assert len(statuses) >= CLIENTS * 10
    server_errors = [(kind, code) for kind, code in statuses if code >= 500]
    assert server_errors == [], server_errors
    assert {code for _, code in statuses} <= {200, 201, 404}
    assert "background embedding of workspace" not in errors, errors[-3000:]
    assert "Traceback" not in errors, errors[-3000:]


@pytest.mark.django_db(transaction=True)  # retried only outside a transaction, as in production
def test_a_deadlock_victim_is_run_again_not_answered_503():
    from flows import api

    real_create = api.task_create
    calls = []

    def deadlocked_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("deadlock detected") from psycopg.errors.DeadlockDetected()
        return real_create(**kwargs)

    with patch.object(api, "task_create", deadlocked_once):
        response = WorkspaceClient("alpha").post("/api/tasks", {"id": "a", "title": "A"})
    assert response.status_code == 201
    assert len(calls) == 2
    assert Task.objects.filter(client_id="a").count() == 1


@pytest.mark.django_db
def test_a_real_outage_is_still_a_503():
    from flows import api

    with patch.object(api, "task_create", side_effect=OperationalError("connection refused")):
        response = WorkspaceClient("alpha").post("/api/tasks", {"id": "a", "title": "A"})
    assert response.status_code == 503
