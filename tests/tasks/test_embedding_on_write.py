"""Creates and updates embed the task's text; a provider outage never loses a task."""

import time

import numpy as np
import pytest
from django.core.management import call_command

from linkdo.ai.vectors import embedding_hash, embedding_text
from tasks.models import Embedding, Task
from tests.fake_gemini import fake_vector

pytestmark = pytest.mark.django_db


def test_create_embeds_once_with_gemini(client_a, gemini):
    body = {"id": "t", "title": "Write report", "description": "Q3", "tags": ["work"]}
    response = client_a.post("/api/tasks", body)
    assert response.status_code == 201
    assert response.json()["embedding_status"] == "ready"
    assert gemini.calls == {"batchEmbedContents": 1}
    text = "Write report Q3 work"
    assert gemini.requests[0][1]["requests"][0]["content"]["parts"][0]["text"] == text
    task = Task.objects.get(client_id="t")
    assert np.allclose(task.embedding.vector, fake_vector(text, 768), atol=1e-5)
    assert task.embedding_hash == embedding_hash("gemini:gemini-embedding-001:768", text)


def test_updates_embed_only_when_the_text_changes(client_a, gemini):
    client_a.post("/api/tasks", {"id": "t", "title": "Write report", "tags": ["work"]})
    gemini.reset()
    for change in [{"status": "done"}, {"priority": "high"}, {"x": 5.0}, {"title": "Write report"}]:
        assert client_a.patch("/api/tasks/t", change).status_code == 200
    assert gemini.total_calls() == 0
    assert client_a.patch("/api/tasks/t", {"tags": ["work", "q3"]}).status_code == 200
    assert client_a.patch("/api/tasks/t", {"description": "now with numbers"}).status_code == 200
    assert gemini.calls == {"batchEmbedContents": 2}
    task = Task.objects.get(client_id="t")
    text = embedding_text(task.title, task.description, task.tags)
    assert np.allclose(task.embedding.vector, fake_vector(text, 768), atol=1e-5)


@pytest.mark.parametrize("mode", ["error500", "error429", "garbage", "hang"])
def test_provider_failure_keeps_the_task_pending(client_a, gemini, mode):
    gemini.mode = mode
    started = time.monotonic()
    response = client_a.post("/api/tasks", {"id": "t", "title": "Survives", "tags": ["x"]})
    elapsed = time.monotonic() - started
    assert response.status_code == 201
    assert response.json()["embedding_status"] == "pending"
    assert elapsed < 1.5 + 1.0  # LINKDO_EMBED_TIMEOUT_S plus a margin
    task = Task.objects.get(client_id="t")
    assert (task.title, task.embedding_hash) == ("Survives", None)
    assert not Embedding.objects.filter(task=task).exists()
    assert client_a.get("/api/tasks/t").json()["embedding_status"] == "pending"


def test_text_change_during_an_outage_is_saved_and_pending(client_a, gemini):
    client_a.post("/api/tasks", {"id": "t", "title": "Before"})
    gemini.mode = "error500"
    response = client_a.patch("/api/tasks/t", {"title": "After"})
    assert response.status_code == 200
    assert response.json()["title"] == "After"
    assert response.json()["embedding_status"] == "pending"
    assert Task.objects.get(client_id="t").title == "After"


def test_reembed_pending_backfills_after_recovery(client_a, client_b, gemini):
    gemini.mode = "error500"
    for i in range(5):
        client_a.post("/api/tasks", {"id": f"a{i}", "title": f"Alpha {i}"})
    client_b.post("/api/tasks", {"id": "b0", "title": "Bravo"})
    assert Task.objects.filter(embedding_hash__isnull=True).count() == 6
    gemini.reset()  # the provider recovers
    call_command("reembed", "--pending", "--workspace", "alpha")
    assert gemini.calls == {"batchEmbedContents": 1}
    assert Task.objects.filter(workspace_id="alpha", embedding_hash__isnull=True).count() == 0
    assert Task.objects.get(client_id="b0").embedding_hash is None  # other workspace untouched
    statuses = {t["embedding_status"] for t in client_a.get("/api/tasks").json()}
    assert statuses == {"ready"}
