"""With the database out of reach, the service answers 503 with a sentence, never a stack trace."""

import os
import subprocess
import sys
import threading
import time

import pytest

from bench.server import gunicorn
from tests.helpers import ROOT, http_json, not_on_citus, run_django

UNREACHABLE = "postgresql://postgres@%2Fnonexistent%2Flinkdo-socket/linkdo"

PROBE = """
from django.test import Client
c = Client(HTTP_HOST="localhost", HTTP_X_WORKSPACE_ID="w")
for path in ["/health", "/api/tasks"]:
    r = c.get(path)
    print(path, r.status_code, r.content.decode())
r = c.post("/api/tasks", {"id": "t", "title": "T"}, content_type="application/json")
print("post", r.status_code, r.content.decode())
"""


@pytest.mark.slow
def test_unreachable_database_is_503_everywhere():
    result = run_django(PROBE, DATABASE_URL=UNREACHABLE, DJANGO_DEBUG="true")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith(
        '/health 503 {"status": "error", "database": {"status": "unavailable"}'
    )
    assert lines[1].startswith("/api/tasks 503 ")
    assert "database is unavailable" in lines[1]
    assert lines[2].startswith("post 503 ")
    assert "Traceback" not in result.stdout


def _call(base, method, path, body=None):
    return http_json(base, method, path, body, workspace="w")


@pytest.mark.slow
@not_on_citus("stops and starts the embedded database; the servers it starts use DATABASE_URL's")
def test_database_stop_and_restart_under_gunicorn(tmp_path):
    """The database stops under a running server with a sync in flight: 503s with a sentence,
    the sync all or nothing; the database comes back and the same workers serve again."""
    env = {**os.environ, "DJANGO_DEBUG": "true", "LINKDO_DATA_DIR": str(tmp_path / "db")}
    env.pop("DATABASE_URL", None)
    database = [sys.executable, "-m", "linkdo.embedded_db"]
    subprocess.run([sys.executable, "manage.py", "migrate"], cwd=ROOT, env=env, check=True,
                   capture_output=True)  # fmt: skip
    with gunicorn(workers=2, LINKDO_DATA_DIR=env["LINKDO_DATA_DIR"]) as (base, _):
        assert _call(base, "POST", "/api/tasks", {"id": "t1", "title": "Before"})[0] == 201
        items = [{"id": f"s{i}", "title": f"Synced {i}", "tags": ["bulk"]} for i in range(1000)]
        pushed = {}
        push = threading.Thread(
            target=lambda: pushed.update(
                answer=_call(base, "POST", "/api/tasks/sync", {"cursor": None, "tasks": items})
            )
        )
        push.start()
        time.sleep(0.3)
        subprocess.run([*database, "stop"], cwd=ROOT, env=env, check=True, capture_output=True)
        push.join()
        for method, path, body in [
            ("GET", "/health", None),
            ("GET", "/api/tasks", None),
            ("POST", "/api/tasks", {"id": "t2", "title": "During"}),
        ]:
            status, answer = _call(base, method, path, body)
            assert status == 503, (path, status, answer)
        assert "unavailable" in answer["detail"]
        sync_status = pushed["answer"][0]
        assert sync_status in (200, 503)
        subprocess.run([*database, "start"], cwd=ROOT, env=env, check=True, capture_output=True)
        assert _call(base, "GET", "/health")[0] == 200
        assert _call(base, "POST", "/api/tasks", {"id": "t3", "title": "After"})[0] == 201
        status, tasks = _call(base, "GET", "/api/tasks")
        assert status == 200
        ids = {t["id"] for t in tasks}
        # All or nothing: the push committed before the stop, or left no row behind.
        assert len([i for i in ids if i.startswith("s")]) == (1000 if sync_status == 200 else 0)
        assert {i for i in ids if i.startswith("t")} == {"t1", "t3"}
    subprocess.run([*database, "stop"], cwd=ROOT, env=env, capture_output=True)


def _pending(base: str, workspace: str) -> int | None:
    try:
        status, tasks = http_json(base, "GET", "/api/tasks", workspace=workspace)
    except OSError:
        return None
    if status != 200:
        return None
    return sum(t["embedding_status"] == "pending" for t in tasks)


@pytest.mark.slow
def test_make_run_rides_out_a_database_restart_under_load(tmp_path):
    """Issue 30, item 4: `make db-stop`, then `make db-start`, under `make run` with requests
    coming in. Afterwards requests succeed and the pending embeddings finish, with nothing run by
    hand: the worker reconnects with backoff and the supervisor kept both processes."""
    import socket
    from urllib.parse import urlparse

    from tests.workspaces.test_events_stream import Reader

    env = {**os.environ, "DJANGO_DEBUG": "true", "LINKDO_DATA_DIR": str(tmp_path / "db")}
    env.pop("DATABASE_URL", None)
    database = [sys.executable, "-m", "linkdo.embedded_db"]
    subprocess.run([sys.executable, "manage.py", "migrate"], cwd=ROOT, env=env, check=True,
                   capture_output=True)  # fmt: skip
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    serve_env = {**env, "PORT": str(port), "WEB_CONCURRENCY": "2",
                 "LINKDO_PRELOAD_KOREAN": "false", "LINKDO_PENDING_SWEEP_AFTER_S": "1"}  # fmt: skip
    log = (tmp_path / "serve.log").open("w")  # a pipe nobody reads would fill and stall the logs
    serve = subprocess.Popen(
        [sys.executable, "-m", "linkdo.serve"], cwd=ROOT, env=serve_env,
        stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    load_stop = threading.Event()
    statuses: list[int] = []

    def load() -> None:  # a client that keeps reading and writing through the outage
        n = 0
        while not load_stop.is_set():
            try:
                body = {"id": f"load{n}", "title": f"load {n}", "tags": ["load"]}
                statuses.append(http_json(base, "POST", "/api/tasks", body, workspace="w")[0])
                statuses.append(http_json(base, "GET", "/api/graph", workspace="w")[0])
            except OSError:
                statuses.append(0)
            n += 1
            time.sleep(0.05)

    try:
        deadline = time.monotonic() + 60
        while _pending(base, "w") is None:
            assert serve.poll() is None and time.monotonic() < deadline, "make run never served"
            time.sleep(0.5)
        loader = threading.Thread(target=load)
        loader.start()
        items = [{"id": f"p{i}", "title": f"pushed {i}"} for i in range(300)]
        assert http_json(base, "POST", "/api/tasks/sync", {"cursor": None, "tasks": items},
                        workspace="w")[0] == 200  # fmt: skip
        # A browser's change stream, open through the outage (issue 33).
        status, ticket = http_json(base, "POST", "/api/events/ticket", workspace="w")
        assert status == 201
        stream = Reader(base, urlparse(ticket["url"]).query)
        assert stream.status == 200
        heard = [int(e["id"]) for e in stream.events(2.0) if "id" in e]
        assert heard, "the loader's creates were not heard"
        subprocess.run([*database, "stop"], cwd=ROOT, env=env, check=True, capture_output=True)
        time.sleep(8)  # the worker's listener notices; every answer meanwhile is a 503
        assert serve.poll() is None
        subprocess.run([*database, "start"], cwd=ROOT, env=env, check=True, capture_output=True)
        time.sleep(3)
        items = [{"id": f"after{i}", "title": f"after {i}"} for i in range(100)]
        status, body = 0, None
        deadline = time.monotonic() + 30
        while status != 200 and time.monotonic() < deadline:
            status, body = http_json(base, "POST", "/api/tasks/sync",
                                     {"cursor": None, "tasks": items}, workspace="w")  # fmt: skip
        assert status == 200
        after_outage = max(r["version"] for r in body["results"])
        # The stream process listens again and pokes: the stream hears the push made after it.
        later, deadline = [], time.monotonic() + 40
        while not later or later[-1] < after_outage:
            assert time.monotonic() < deadline, (heard[-3:], later[-3:], after_outage)
            later += [int(e["id"]) for e in stream.events(5.0, first=True) if "id" in e]
        stream.close()
        deadline = time.monotonic() + 150
        while _pending(base, "w") != 0:
            assert time.monotonic() < deadline, f"{_pending(base, 'w')} embeddings still pending"
            time.sleep(1)
        load_stop.set()
        loader.join()
        assert serve.poll() is None  # both children kept (or started again) by the supervisor
        assert set(statuses) <= {200, 201, 503}, sorted(set(statuses))
        assert statuses[-2:] in ([201, 200],), statuses[-10:]
        assert 503 in statuses
    finally:
        load_stop.set()
        serve.send_signal(2)
        try:
            serve.wait(timeout=40)
        except subprocess.TimeoutExpired:
            serve.kill()
        log.close()
        output = (tmp_path / "serve.log").read_text()
        subprocess.run([*database, "stop"], cwd=ROOT, env=env, capture_output=True)
    assert serve.returncode == 0, output[-3000:]
    assert "job worker:" in output  # it said it lost the database and tried again
