"""With the database out of reach, the service answers 503 with a sentence, never a stack trace."""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from bench.server import gunicorn
from tests.helpers import ROOT, run_django

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
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("X-Workspace-ID", "w")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.slow
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
