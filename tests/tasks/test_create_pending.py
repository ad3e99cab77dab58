"""With a remote provider (LINKDO_EMBED_ON_WRITE=auto, the default), a REST create or text change
answers at once with the task pending and placed provisionally; the job queued with it embeds the
workspace's new texts in one provider call, places them by meaning and takes a change version
(which the workspace's streams hear)."""

import pytest
from django.db import connection

from graph.map import embed_pending
from tasks.models import Task
from workspaces.models import Workspace


@pytest.fixture
def remote(gemini, settings):
    settings.LINKDO_EMBED_ON_WRITE = "auto"
    return gemini


def queued_jobs(workspace_id: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo' AND queueing_lock = %s",
            [f"embed:{workspace_id}"],
        )
        return cursor.fetchone()[0]


def test_creates_answer_pending_without_a_call_and_one_job_embeds_them_together(client_a, remote):
    for i, title in enumerate(["Water the plants", "Water the garden", "Call the plumber"]):
        answer = client_a.post("/api/tasks", {"id": f"t{i}", "title": title, "tags": ["home"]})
        assert answer.status_code == 201
        assert answer.json()["embedding_status"] == "pending"
    assert remote.total_calls() == 0
    assert queued_jobs("alpha") == 1
    before = Workspace.objects.get(pk="alpha").change_version
    assert embed_pending(workspace_id="alpha") == 3  # what the queued job runs
    assert remote.calls["batchEmbedContents"] == 1  # the three texts in one call
    tasks = Task.objects.filter(workspace_id="alpha")
    assert {t.embedding_hash is not None for t in tasks} == {True}
    assert {t.place_pending for t in tasks} == {False}
    assert Workspace.objects.get(pk="alpha").change_version > before
    assert client_a.get("/api/tasks/t0").json()["embedding_status"] == "ready"


def test_a_text_change_answers_pending_and_the_job_embeds_it(client_a, remote):
    client_a.post("/api/tasks", {"id": "t1", "title": "Draft"})
    embed_pending(workspace_id="alpha")
    calls = remote.total_calls()
    answer = client_a.patch("/api/tasks/t1", {"title": "Draft the report"})
    assert answer.status_code == 200 and answer.json()["embedding_status"] == "pending"
    assert remote.total_calls() == calls
    assert queued_jobs("alpha") == 1
    embed_pending(workspace_id="alpha")
    assert client_a.get("/api/tasks/t1").json()["embedding_status"] == "ready"
    # A change that keeps the text queues nothing and calls nothing.
    client_a.patch("/api/tasks/t1", {"status": "done"})
    assert remote.total_calls() == calls + 1


def test_the_local_provider_still_embeds_before_the_answer(client_a, settings):
    settings.LINKDO_EMBED_ON_WRITE = "auto"
    answer = client_a.post("/api/tasks", {"id": "t1", "title": "Local"})
    assert answer.json()["embedding_status"] == "ready"
    assert queued_jobs("alpha") == 0


def test_inline_keeps_embedding_before_the_answer_with_gemini(client_a, gemini):
    answer = client_a.post("/api/tasks", {"id": "t1", "title": "Inline"})
    assert answer.json()["embedding_status"] == "ready"
    assert gemini.total_calls() == 1
