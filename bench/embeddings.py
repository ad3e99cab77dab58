"""Provider cost: Gemini calls per task on the write and batch paths (counted by the fake Gemini
server, reached by the real google-genai client), and local-provider throughput."""

import io
import time

from django.conf import settings
from django.core.management import call_command
from django.test import Client

from bench.common import Result, drop_workspace, fake_gemini, use_gemini
from linkdo.ai.local import LocalProvider
from tests.fake_gemini import FakeGemini

WORKSPACE = "bench-embeddings"
TASKS = 1_000


def _call_counts(server: FakeGemini) -> list[Result]:
    client = Client(HTTP_HOST="localhost", HTTP_X_WORKSPACE_ID=WORKSPACE)
    server.reset()
    for i in range(TASKS):
        body = {
            "id": f"t{i}",
            "title": f"Task {i}",
            "description": "words",
            "tags": [f"tag{i % 50}"],
        }
        assert client.post("/api/tasks", body, content_type="application/json").status_code == 201
    creates = server.total_calls()
    server.reset()
    for i in range(TASKS):
        change = {"status": "done", "priority": "high", "x": float(i)}
        assert (
            client.patch(f"/api/tasks/t{i}", change, content_type="application/json").status_code
            == 200
        )
    updates = server.total_calls()
    server.reset()
    call_command(
        "reembed", "--force", "--workspace", WORKSPACE, stdout=io.StringIO(), stderr=io.StringIO()
    )
    batch = server.total_calls()
    per_task = "calls / tasks"
    return [
        Result(f"Gemini calls: {TASKS:,} task creates", creates, TASKS, "", "ratio = 1", per_task),
        Result(
            f"Gemini calls: {TASKS:,} updates, text unchanged",
            updates,
            TASKS,
            "",
            "ratio = 0",
            per_task,
        ),
        Result(
            f"Gemini calls: batch path (reembed) over {TASKS:,} tasks",
            batch,
            TASKS,
            "",
            "ratio <= 0.01",
            per_task,
        ),
    ]


def _local_throughput() -> Result:
    provider = LocalProvider(dim=settings.LINKDO_EMBEDDING_DIM)
    texts = [f"Task {i}: buy milk, fix the API bug, 공원에서 달리기 {i}" for i in range(5_000)]
    started = time.perf_counter()
    provider.embed(texts)
    batched = len(texts) / (time.perf_counter() - started)
    started = time.perf_counter()
    for text in texts[:500]:
        provider.embed([text])
    single = 500 / (time.perf_counter() - started)
    return Result(
        "local provider: texts embedded per second (batch of 5,000)",
        batched, single, "texts/s", "(throughput)", "one text per call, as on the write path",
    )  # fmt: skip


def run() -> list[Result]:
    with fake_gemini() as server:
        drop_workspace(WORKSPACE)
        try:
            # Calls per create are the inline path's (the default with Gemini answers first and
            # lets the job embed: python -m bench events measures that one).
            use_gemini(server, embed_on_write="inline")
            results = _call_counts(server)
        finally:
            drop_workspace(WORKSPACE)
    return [*results, _local_throughput()]
