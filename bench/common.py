"""Shared pieces of the benchmarks: timing, a throwaway workspace, and the result table."""

import contextlib
import functools
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.test import Client

from workspaces.services import workspace_forget


@dataclass
class Result:
    metric: str
    value: float
    baseline: float
    unit: str
    goal: str
    baseline_name: str

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("inf")


def median_seconds(func: Callable[[], object], *, repeat: int = 7, warmup: int = 1) -> float:
    for _ in range(warmup):
        func()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def drop_workspace(workspace_id: str) -> None:
    """Remove a benchmark workspace with set-based SQL (the ORM collector would load every row)."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM graph_edge WHERE workspace_id = %s", [workspace_id])
        cursor.execute("DELETE FROM tasks_embedding WHERE workspace_id = %s", [workspace_id])
        cursor.execute("DELETE FROM tasks_task WHERE workspace_id = %s", [workspace_id])
        cursor.execute("DELETE FROM tasks_taskcount WHERE workspace_id = %s", [workspace_id])
        cursor.execute("DELETE FROM workspaces_workspace WHERE id = %s", [workspace_id])
    workspace_forget(workspace_id)  # or this process would take the deleted row for existing


@functools.cache
def _client() -> Client:
    # One for every push: a test client loads the middleware once per instance, and WhiteNoise's
    # scan of the static files then cost each push tens of ms that a server pays once per process.
    return Client(HTTP_HOST="localhost")


def sync_push(workspace: str, body: dict) -> dict:
    """One sync push through the whole Django stack (in this process); its answer."""
    response = _client().post(
        "/api/tasks/sync",
        json.dumps(body),
        content_type="application/json",
        headers={"X-Workspace-ID": workspace},
    )
    assert response.status_code == 200, response.content[:300]
    return response.json()


def settle() -> None:
    """Start from a steady database. The suites drop what they made (100,000 vectors for similar
    tasks), and autovacuum then cleans the HNSW graph for minutes on one of the machine's two
    cores, in the middle of the next timings (arrange ratios of 1.16 and 1.78 in two runs of the
    same code). Rebuilding the index over the rows left and vacuuming now costs seconds and leaves
    autovacuum nothing to do."""
    with connection.cursor() as cursor:
        cursor.execute("REINDEX INDEX embedding_vector_hnsw")
        cursor.execute("VACUUM (ANALYZE) tasks_embedding, tasks_task, graph_edge")
        # And the dirty pages written out now, not by a checkpoint in the middle of a timing. Only
        # a superuser or (PostgreSQL 15+) a member of pg_checkpoint may: a managed database's
        # role often is neither, and the bench then runs without it.
        cursor.execute(
            "SELECT rolsuper OR EXISTS (SELECT FROM pg_roles WHERE rolname = 'pg_checkpoint'"
            " AND pg_has_role(current_user, oid, 'MEMBER')) FROM pg_roles"
            " WHERE rolname = current_user"
        )
        if cursor.fetchone()[0]:
            cursor.execute("CHECKPOINT")


def print_table(results: list[Result]) -> None:
    header = ("metric", "value", "baseline", "ratio", "goal", "baseline is")
    rows = [
        (
            r.metric,
            f"{r.value:.4g} {r.unit}".strip(),
            f"{r.baseline:.4g} {r.unit}".strip(),
            f"{r.ratio:.3g}",
            r.goal,
            r.baseline_name,
        )
        for r in results
    ]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))


# The provider settings a suite switches to the fake Gemini server (use_gemini).
GEMINI_SETTINGS = (
    "LINKDO_AI_PROVIDER", "GEMINI_API_KEY", "GEMINI_BASE_URL", "LINKDO_EMBED_ON_WRITE",
)  # fmt: skip


@contextlib.contextmanager
def fake_gemini():
    """A running fake Gemini server (tests/fake_gemini.py, reached by the real google-genai
    client); the provider settings are restored and the server stopped on exit."""
    from linkdo.ai import reset_providers
    from tests.fake_gemini import FakeGemini

    saved = {name: getattr(settings, name) for name in GEMINI_SETTINGS}
    server = FakeGemini().start()
    try:
        yield server
    finally:
        server.stop()
        for name, value in saved.items():
            setattr(settings, name, value)
        reset_providers()


def use_gemini(server, *, embed_on_write: str = "inline") -> None:
    """Make this process embed with the fake server; `embed_on_write` as LINKDO_EMBED_ON_WRITE."""
    from linkdo.ai import reset_providers

    settings.LINKDO_AI_PROVIDER = "gemini"
    settings.GEMINI_API_KEY = "bench-key"
    settings.GEMINI_BASE_URL = server.base_url
    settings.LINKDO_EMBED_ON_WRITE = embed_on_write
    reset_providers()
