"""A text the embedding provider refuses (HTTP 400, INVALID_ARGUMENT) costs only its own task:
the batch is split until that text is alone, the task is marked failed with the reason and asked
again only when its text changes (or `reembed --failed`), every other task is embedded (issue 30,
item 2)."""

import io

import pytest
from django.core.management import call_command
from django.test import Client

from flows.jobs import _sweep
from graph.map import embed_pending
from tasks.models import Embedding, Task
from tests.sync.test_sync import sync

MARKER = "poison-text"


def push(client, prefix: str, count: int, marked: int | None = None) -> None:
    tasks = [
        {
            "id": f"{prefix}{i}",
            "title": f"{prefix} task {i}" + (f" {MARKER}" if i == marked else ""),
        }
        for i in range(count)
    ]
    body = sync(client, {"cursor": None, "tasks": tasks})
    assert {r["status"] for r in body["results"]} == {"created"}


@pytest.mark.django_db
def test_one_refused_text_among_1100_fails_alone_and_every_other_task_is_embedded(
    gemini, client_a, ws_a
):
    push(client_a, "a", 600, marked=437)
    push(client_a, "b", 500)
    gemini.reject_marker = MARKER
    assert Task.objects.live(ws_a).filter(embedding_hash__isnull=True).count() == 1100

    assert embed_pending(workspace_id="alpha") == 1099

    rejected_calls = gemini.calls["batchEmbedContents"]
    assert rejected_calls < 40  # split by halves, not one call per text
    assert Embedding.objects.filter(workspace=ws_a).count() == 1099
    assert Task.objects.live(ws_a).filter(embedding_hash__isnull=True).count() == 0
    failed = client_a.get("/api/tasks/a437").json()
    assert failed["embedding_status"] == "failed"
    assert "HTTP 400" in failed["embedding_error"]
    assert client_a.get("/api/tasks/a436").json()["embedding_status"] == "ready"
    assert client_a.get("/api/tasks/a436").json()["embedding_error"] is None
    assert not Embedding.objects.filter(task__client_id="a437").exists()

    # Not asked again: neither by the next job nor by the sweep.
    assert embed_pending(workspace_id="alpha") == 0
    assert _sweep() == 0
    assert gemini.calls["batchEmbedContents"] == rejected_calls


@pytest.mark.django_db
def test_a_failed_task_is_asked_again_when_its_text_changes(gemini, client_a, ws_a):
    push(client_a, "t", 5, marked=2)
    gemini.reject_marker = MARKER
    embed_pending(workspace_id="alpha")
    assert client_a.get("/api/tasks/t2").json()["embedding_status"] == "failed"

    response = client_a.patch("/api/tasks/t2", {"tags": ["still", "refused"]})
    assert response.json()["embedding_status"] in ("pending", "failed")
    embed_pending(workspace_id="alpha")
    assert client_a.get("/api/tasks/t2").json()["embedding_status"] == "failed"

    response = client_a.patch("/api/tasks/t2", {"title": "a text the provider takes"})
    assert response.status_code == 200
    embed_pending(workspace_id="alpha")
    task = client_a.get("/api/tasks/t2").json()
    assert (task["embedding_status"], task["embedding_error"]) == ("ready", None)
    assert Embedding.objects.filter(task__client_id="t2").exists()


@pytest.mark.django_db
def test_reembed_failed_asks_again_and_metrics_count_the_failed(gemini, client_a, ws_a):
    push(client_a, "r", 3, marked=1)
    gemini.reject_marker = MARKER
    embed_pending(workspace_id="alpha")
    metrics = Client().get("/metrics").content.decode()
    assert "linkdo_failed_embeddings 1.0" in metrics
    assert (
        'linkdo_provider_calls_total{kind="embed",outcome="http_400",provider="gemini"}' in metrics
    )

    calls = gemini.calls["batchEmbedContents"]
    out = io.StringIO()
    call_command("reembed", "--pending", stdout=out)
    assert gemini.calls["batchEmbedContents"] == calls  # a failed task is not pending

    gemini.reject_marker = None  # the provider accepts it now (a new model, a fixed bug)
    call_command("reembed", "--failed", stdout=out)
    assert "Embedded 1 of 1" in out.getvalue()
    assert Task.objects.get(client_id="r1").embedding_error is None
    assert "linkdo_failed_embeddings 0.0" in Client().get("/metrics").content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["error500", "error429"])
def test_provider_outages_still_leave_tasks_pending_for_a_retry(gemini, client_a, ws_a, mode):
    push(client_a, "o", 3)
    gemini.mode, gemini.retry_delay_s = mode, 0.1
    with pytest.raises(Exception, match="HTTP"):
        embed_pending(workspace_id="alpha")
    assert Task.objects.live(ws_a).filter(embedding_hash__isnull=True).count() == 3
    assert not Task.objects.filter(embedding_error__isnull=False).exists()
