"""Background work across real processes (issue 19): gunicorn web servers and `manage.py
procrastinate worker` processes on the test database, Gemini played by the fake server in this
process. Crashes are SIGKILLs; nothing is run by hand between them."""

import os
import signal
import threading
import time

import pytest
from django.db import connection
from procrastinate.contrib.django.models import ProcrastinateJob

from bench.server import gunicorn, job_workers, worker_pids
from tasks.models import Embedding, Task
from tests.helpers import database_url, http_call

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WORKSPACE = "jobs"


def gemini_env(fake) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url(),
        "LINKDO_AI_PROVIDER": "gemini",
        "GEMINI_API_KEY": "server-key-not-secret",
        "GEMINI_BASE_URL": fake.base_url,
        "LINKDO_EMBED_BATCH_TIMEOUT_S": "4",
        "LINKDO_AI_MAX_RETRIES": "0",
    }


def call(base: str, method: str, path: str, body=None, workspace=WORKSPACE) -> int:
    return http_call(base, method, path, body, workspace=workspace)


def push(base: str, prefix: str, count: int) -> int:
    tasks = [{"id": f"{prefix}{i}", "title": f"{prefix} task {i}"} for i in range(count)]
    return call(base, "POST", "/api/tasks/sync", {"cursor": None, "tasks": tasks})


def pending() -> int:
    return Task.objects.live(WORKSPACE).filter(embedding_hash__isnull=True).count()


def wait_until_embedded(timeout_s: float) -> float:
    """Seconds until no task of the workspace is pending; fails after timeout_s."""
    started = time.monotonic()
    while pending():
        assert time.monotonic() - started < timeout_s, f"{pending()} tasks still pending"
        time.sleep(0.5)
    return time.monotonic() - started


def embedded_texts(fake) -> int:
    """Texts the fake Gemini was asked to embed (each batch call lists its texts)."""
    return sum(
        len(body.get("requests", []))
        for path, body, _ in fake.requests
        if path.endswith(":batchEmbedContents")
    )


def kill(process) -> None:
    """SIGKILL a process and, for gunicorn, its workers first (they would outlive the master)."""
    pids = worker_pids(process) if process.args[0].endswith("gunicorn") else []
    for pid in [*pids, process.pid]:
        os.kill(pid, signal.SIGKILL)
    process.wait(timeout=10)


def test_gemini_down_a_minute_then_every_process_killed_then_restarted(fake_gemini_server):
    fake = fake_gemini_server
    fake.reset()
    fake.hang_seconds = 10
    env = gemini_env(fake)
    fake.mode = "error500"
    with gunicorn(workers=2, **env) as (base, web), job_workers(2, **env) as workers:
        assert push(base, "t", 500) == 200
        outage_started = time.monotonic()
        # The first minute: 500s, then 429s asking for 5 s, then answers that never come.
        for mode in ("error500", "error429", "hang"):
            fake.mode, fake.retry_delay_s = mode, 5
            time.sleep(outage_started + {"error500": 20, "error429": 40, "hang": 60}[mode]
                       - time.monotonic())  # fmt: skip
        assert pending() == 500  # nothing embedded while Gemini failed
        for process in [web, *workers]:
            kill(process)
    fake.mode = "ok"
    recovered, calls_before = time.monotonic(), fake.total_calls()
    # A restart, and nobody runs anything by hand.
    with gunicorn(workers=2, **env), job_workers(2, **env):
        wait_until_embedded(timeout_s=120 - (time.monotonic() - recovered))
    assert time.monotonic() - recovered < 120
    assert fake.total_calls() - calls_before <= 7
    assert Embedding.objects.filter(workspace_id=WORKSPACE).count() == 500
    # Two workers ran the periodic jobs of the same minutes: each was queued once.
    periodic = ProcrastinateJob.objects.exclude(task_name="flows.jobs.embed_workspace")
    runs = list(periodic.values_list("task_name", "args"))
    assert runs and len(runs) == len(set(map(str, runs)))


def test_two_web_servers_and_two_workers_embed_each_task_once(fake_gemini_server):
    fake = fake_gemini_server
    fake.reset()
    env = gemini_env(fake)
    with (
        gunicorn(workers=1, **env) as (first, _),
        gunicorn(workers=1, **env) as (second, _),
        job_workers(2, **env) as workers,
    ):
        statuses: list[int] = []
        pushes = [
            threading.Thread(target=lambda b=b, p=p: statuses.append(push(b, p, 250)))
            for b, p in [(first, "a"), (second, "b"), (first, "c"), (second, "d")]
        ]
        for thread in pushes:
            thread.start()
        for thread in pushes:
            thread.join()
        assert statuses == [200] * 4
        wait_until_embedded(timeout_s=120)
        assert all(worker.poll() is None for worker in workers)
    errors = "".join(worker.stderr.read() for worker in workers)
    assert "deadlock" not in errors.lower() and "Traceback" not in errors, errors[-3000:]
    assert Embedding.objects.filter(workspace_id=WORKSPACE).count() == 1000
    # Each task embedded once: at most one batch more than the tasks (a batch read by a job while
    # a push was still committing can be asked again by the next job).
    assert 1000 <= embedded_texts(fake) <= 1000 + 100


def test_a_worker_killed_mid_batch_leaves_its_batch_to_be_retried(fake_gemini_server):
    fake = fake_gemini_server
    fake.reset()
    fake.mode, fake.hang_seconds = "hang", 30
    env = {**gemini_env(fake), "LINKDO_EMBED_BATCH_TIMEOUT_S": "30"}
    with gunicorn(workers=1, **env) as (base, _):
        assert push(base, "k", 150) == 200
        with job_workers(1, **env) as (worker,):
            deadline = time.monotonic() + 30
            while not fake.calls["batchEmbedContents"]:  # the worker is inside its first batch
                assert time.monotonic() < deadline, "the worker never called Gemini"
                time.sleep(0.2)
            kill(worker)
        killed = ProcrastinateJob.objects.get(task_name="flows.jobs.embed_workspace")
        assert killed.status == "doing"  # left running by a dead worker
        fake.mode = "ok"
        with job_workers(1, **env):
            # The dead worker's heartbeat is 30 s stale, then the next half-minute check acts.
            wait_until_embedded(timeout_s=90)
    assert ProcrastinateJob.objects.get(pk=killed.pk).status == "failed"
    assert ProcrastinateJob.objects.filter(
        task_name="flows.jobs.embed_workspace", status="succeeded"
    ).exists()
    assert Embedding.objects.filter(workspace_id=WORKSPACE).count() == 150
    assert pending() == 0


def test_the_rate_limit_holds_across_two_web_servers():
    env = {"DATABASE_URL": database_url(), "LINKDO_THROTTLE_WORKSPACE": "10/min"}
    with gunicorn(workers=1, **env) as (first, _), gunicorn(workers=1, **env) as (second, _):
        codes = [call([first, second][i % 2], "GET", "/api/tasks") for i in range(16)]
        other = call(first, "GET", "/api/tasks", workspace="another")
    # Each server alone would have allowed 10: together they allow 10.
    assert codes == [200] * 10 + [429] * 6
    assert other == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT hits FROM linkdo_rate WHERE key LIKE 'workspace:%%'")
        hits = sorted(row[0] for row in cursor.fetchall())
    # The other workspace's one; then 10 allowed, and each server counted the one request that
    # taught it the limit was reached (it refuses the next ones without asking).
    assert hits[0] == 1 and 11 <= hits[1] <= 12
