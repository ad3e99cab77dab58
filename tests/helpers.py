import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def on_citus() -> bool:
    """Whether the suite runs against the Citus cluster (make test-citus sets LINKDO_CITUS)."""
    from django.conf import settings

    return settings.LINKDO_CITUS


def workspace_beside(workspace_id: str) -> str:
    """An id for another workspace whose rows share the shards of `workspace_id`'s: on Citus each
    shard has its own indexes, so a test of one workspace's reads "among another's rows" needs the
    other one there. On plain PostgreSQL any other id."""
    from django.db import connection

    if not on_citus():
        return f"{workspace_id}-beside"
    with connection.cursor() as cursor:
        shard = "SELECT get_shard_id_for_distribution_column('tasks_task', %s)"
        cursor.execute(shard, [workspace_id])
        (target,) = cursor.fetchone()
        for i in range(10_000):
            cursor.execute(shard, [f"{workspace_id}-beside-{i}"])
            if cursor.fetchone()[0] == target:
                return f"{workspace_id}-beside-{i}"
    raise AssertionError("no workspace id found on the same shard")


def not_on_citus(reason: str):
    """Skip a test on the Citus cluster, saying why (make test-citus lists every reason)."""
    import pytest

    return pytest.mark.skipif(on_citus(), reason=f"not on Citus: {reason}")


def run_django(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run Python code in a fresh process with Django set up under the given environment."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    full_env.update(env)
    full_env.setdefault("DJANGO_SETTINGS_MODULE", "linkdo.settings")
    script = "import django\ndjango.setup()\n" + code
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def database_url() -> str:
    """The test database as a DATABASE_URL, for server and worker processes the test starts."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    # A DATABASE_URL's `?host=/socket/dir&port=N` arrives in OPTIONS (the Citus cluster's URL).
    host = db.get("HOST") or db.get("OPTIONS", {}).get("host", "")
    port = db.get("PORT") or db.get("OPTIONS", {}).get("port", "")
    url = f"postgresql://{db['USER']}@{str(host).replace('/', '%2F')}/{db['NAME']}"
    return url + (f"?port={port}" if port else "")


def http_json(base: str, method: str, path: str, body=None, *, workspace: str) -> tuple:
    """One JSON request to a server the test started: (status, parsed body or None), errors
    included."""
    request = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"X-Workspace-ID": workspace, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def http_call(base: str, method: str, path: str, body=None, *, workspace: str) -> int:
    """One JSON request to a server the test started; returns the status (errors included)."""
    return http_json(base, method, path, body, workspace=workspace)[0]


TITLE_WORDS = [
    "garden",
    "taxes",
    "report",
    "piano",
    "kitchen",
    "bike",
    "doctor",
    "trip",
    "invoice",
    "laundry",
    "email",
    "budget",
    "flight",
    "hotel",
    "dentist",
    "groceries",
    "vacuum",
    "meeting",
    "slides",
    "review",
    "deploy",
    "server",
    "backup",
    "painting",
    "birthday",
    "gift",
    "recipe",
    "bakery",
    "running",
    "swimming",
    "guitar",
    "novel",
    "museum",
    "insurance",
    "passport",
]


def random_titles(count: int, seed: int) -> list[str]:
    """Titles of three different words each: varied texts, as a real workspace has."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(TITLE_WORDS, size=3, replace=False)) for _ in range(count)]
