"""Workspace secrets across real processes (issue 32): a rotation refuses the old secret at once
on another gunicorn too, and nothing a deployment logs or exposes at /metrics names a workspace
or carries a secret."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from bench.server import free_port, gunicorn
from tests.helpers import ROOT, database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WORKSPACE = "grep-me-workspace-7f3a9c1e"


def call(base, method, path, body=None, secret=None, workspace=WORKSPACE, headers=None):
    request = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"X-Workspace-ID": workspace, "Content-Type": "application/json",
                 **({"Authorization": f"Bearer {secret}"} if secret else {}), **(headers or {})},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_a_rotation_refuses_the_old_secret_at_once_on_another_server():
    env = {"DATABASE_URL": database_url()}
    with gunicorn(workers=1, **env) as (first, _), gunicorn(workers=1, **env) as (second, _):
        status, body = call(first, "POST", "/api/workspace/claim")
        assert status == 201
        old = body["secret"]
        assert call(second, "GET", "/api/tasks", secret=old)[0] == 200
        status, body = call(second, "POST", "/api/workspace/secret/rotate", secret=old)
        assert status == 200
        new = body["secret"]
        for base in (first, second):
            assert call(base, "GET", "/api/tasks", secret=old)[0] == 401
            assert call(base, "GET", "/api/tasks", secret=new)[0] == 200


def test_no_log_line_or_metric_names_a_workspace_or_carries_a_secret(tmp_path):
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))},
        "DJANGO_DEBUG": "true", "DATABASE_URL": database_url(), "PORT": str(port),
        "WEB_CONCURRENCY": "1", "LINKDO_PRELOAD_KOREAN": "false", "LOG_LEVEL": "DEBUG",
    }  # fmt: skip
    log = (tmp_path / "serve.log").open("w")
    serve = subprocess.Popen(
        [sys.executable, "-m", "linkdo.serve"], cwd=ROOT, env=env, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if call(base, "GET", "/api/workspace")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "make run did not serve"
            time.sleep(0.5)
        secret = call(base, "POST", "/api/workspace/claim")[1]["secret"]
        tasks = [{"id": f"g{i}", "title": f"grep task {i}", "tags": ["grep"]} for i in range(30)]
        assert call(base, "POST", "/api/tasks/sync", {"cursor": None, "tasks": tasks},
                    secret=secret)[0] == 200  # fmt: skip
        assert call(base, "POST", "/api/tasks", {"id": "one", "title": "one"}, secret)[0] == 201
        assert call(base, "POST", "/api/tasks/parse", {"text": "내일 청소", "create": True},
                    secret)[0] == 201  # fmt: skip
        assert call(base, "GET", "/api/stats", secret=secret)[0] == 200
        assert call(base, "GET", "/api/tasks", secret="ldw_" + "w" * 49)[0] == 401
        deadline = time.monotonic() + 60
        while any(t["embedding_status"] == "pending"
                  for t in call(base, "GET", "/api/tasks", secret=secret)[1]):  # fmt: skip
            assert time.monotonic() < deadline, "the worker never embedded the push"
            time.sleep(1)
        with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
            metrics = response.read().decode()
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        serve.wait(timeout=60)
        log.close()
    output = (tmp_path / "serve.log").read_text()
    assert "Starting job flows.jobs.embed_workspace" in output  # the job lines are there
    assert "request method=POST path=/api/tasks/sync" in output
    for text in (output, metrics):
        assert WORKSPACE not in text
        assert secret not in text and secret[4:20] not in text
