"""What a push stores for a new task (it inserts plain rows, not model instances), and the strings
at the edges of DRF's own checks (a plainly valid string skips them: linkdo.fields)."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from tasks.models import MAX_TAG_LENGTH, MAX_TITLE_LENGTH, Task
from tests.sync.test_sync import iso, sync

pytestmark = pytest.mark.django_db


def test_a_new_task_gets_the_models_defaults_and_its_completion_time(client_a, ws_a):
    done_at = datetime.now(UTC) - timedelta(hours=3)
    answer = sync(
        client_a,
        {
            "tasks": [
                {"id": "bare", "title": "Only a title"},
                {"id": "done", "title": "Finished", "status": "done", "updated_at": iso(done_at)},
                {"id": "placed", "title": "Here", "x": 12.5, "y": -3.0, "tags": ["a", "", "a"]},
                {"id": "due", "title": "Dated", "due_date": "2026-12-24"},
            ],
            "edges": [],
            "cursor": None,
        },
    )
    assert [r["status"] for r in answer["results"]] == ["created"] * 4
    rows = {t.client_id: t for t in Task.objects.filter(workspace=ws_a)}
    bare = rows["bare"]
    assert (bare.description, bare.priority, bare.status, bare.category, bare.tags) == (
        "", "medium", "todo", "general", []
    )  # fmt: skip
    assert bare.due_date is None and bare.due_date_has_time is False
    assert bare.completed_at is None and bare.place_pending is True
    assert bare.embedding_hash is None and bare.field_versions == {}
    assert bare.version == answer["results"][0]["version"]
    assert rows["done"].completed_at == done_at == rows["done"].updated_at
    placed = rows["placed"]
    assert (placed.x, placed.y, placed.place_pending, placed.tags) == (12.5, -3.0, False, ["a"])
    due = rows["due"]
    assert due.due_date == datetime(2026, 12, 24, tzinfo=UTC) and due.due_date_has_time is False


def test_strings_at_the_limits_of_drfs_checks(client_a, ws_a):
    body = {
        "tasks": [
            {"id": "longest", "title": "t" * MAX_TITLE_LENGTH, "tags": ["g" * MAX_TAG_LENGTH]},
            {"id": "too-long", "title": "t" * (MAX_TITLE_LENGTH + 1)},
            {"id": "long-tag", "title": "T", "tags": ["g" * (MAX_TAG_LENGTH + 1)]},
            {"id": "nul", "title": "T", "description": "a\x00b"},
            {"id": "surrogate", "title": "T", "tags": ["a\ud800"]},
        ],
        "edges": [],
        "cursor": None,
    }
    # Sent as bytes: the test client's own JSON renderer cannot encode a lone surrogate.
    response = client_a.generic(
        "POST", "/api/tasks/sync", json.dumps(body).encode(), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    answer = response.json()
    results = {r["id"]: r for r in answer["results"]}
    assert results["longest"]["status"] == "created"
    assert f"no more than {MAX_TITLE_LENGTH} characters" in results["too-long"]["reason"]
    assert f"no more than {MAX_TAG_LENGTH} characters" in results["long-tag"]["reason"]
    assert "Null characters are not allowed" in results["nul"]["reason"]
    assert "Surrogate characters are not allowed: U+D800" in results["surrogate"]["reason"]
    for rejected in ("too-long", "long-tag", "nul", "surrogate"):
        assert results[rejected]["status"] == "rejected"
    assert list(Task.objects.filter(workspace=ws_a).values_list("client_id", flat=True)) == [
        "longest"
    ]
