"""Sync conflicts and their edge cases: purged cursors, edits of deleted tasks, due-date merges,
edges over auto edges, vectors of stale texts, concurrent patches, arranges, the fields a conflict
kept; each with the sequence that showed the defect (issue 16)."""

import io
import threading
from datetime import timedelta
from unittest.mock import patch

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from graph.map import embed_pending, tasks_embed_batch
from graph.models import Edge
from linkdo.ai import get_provider
from tasks.models import Task
from tests.conftest import WorkspaceClient
from tests.sync.test_sync import sync

pytestmark = pytest.mark.django_db


# S1: a cursor that stopped inside the purged version resumed with nothing: 7 deletions lost.
def test_a_cursor_inside_the_purged_version_is_reset(client_a):
    tasks = [{"id": f"t{i}", "title": f"T{i}"} for i in range(10)]
    cursor = sync(client_a, {"cursor": None, "tasks": tasks})["cursor"]
    sync(client_a, {"cursor": None, "tasks": [{"id": f"t{i}", "deleted": True} for i in range(10)]})
    page = sync(client_a, {"cursor": cursor, "limit": 3})
    assert page["has_more"] and len(page["tasks"]) == 3
    Task.objects.update(deleted_at=timezone.now() - timedelta(hours=1))
    call_command("purge_tombstones", "--older-than", "0m", stdout=io.StringIO())
    resumed = sync(client_a, {"cursor": page["cursor"]})
    assert resumed["reset_required"] is True
    assert resumed["tasks"] == []  # the snapshot: nothing lives, so the device drops all 10


# S2: an edit of a task deleted on the server was "rejected: title required", not a conflict.
@pytest.mark.parametrize("delta", [True, False], ids=["delta", "old-protocol"])
@pytest.mark.parametrize("with_base", [True, False], ids=["base_version", "no-base"])
def test_an_edit_of_a_deleted_task_is_a_conflict_with_the_tombstone(client_a, delta, with_base):
    version = sync(client_a, {"cursor": None, "tasks": [{"id": "a", "title": "A"}]})["results"][0][
        "version"
    ]
    client_a.delete("/api/tasks/a")
    item = {"id": "a", "status": "done"}
    if with_base:
        item["base_version"] = version
    body = {"tasks": [item], **({"cursor": None} if delta else {})}
    result = sync(client_a, body)["results"][0]
    assert result["status"] == "conflict", result
    assert result["server"]["deleted"] is True and result["server"]["id"] == "a"
    assert not Task.objects.filter(client_id="a", deleted_at__isnull=True).exists()


# S3: the date and its "has a time" flag were merged as two fields, corrupting the value.
def test_a_due_date_conflict_keeps_the_servers_value_whole(client_a):
    created = sync(
        client_a, {"cursor": None, "tasks": [{"id": "a", "title": "A", "due_date": "2027-01-15"}]}
    )
    v1 = created["results"][0]["version"]
    first = sync(
        client_a,
        {"cursor": None, "tasks": [{"id": "a", "due_date": "2026-12-24", "base_version": v1}]},
    )
    assert first["results"][0]["status"] == "updated"
    second = sync(
        client_a,
        {
            "cursor": None,
            "tasks": [
                {
                    "id": "a",
                    "due_date": "2026-05-01T10:00:00Z",
                    "priority": "high",
                    "base_version": v1,
                }
            ],
        },
    )
    assert second["results"][0]["status"] == "conflict"
    task = client_a.get("/api/tasks/a").json()
    assert task["due_date"] == "2026-12-24"  # the server's value, whole
    assert task["priority"] == "high"  # the field nobody else changed is merged


# S4: a pushed edge over an auto edge of the same weight stayed auto.
def test_a_pushed_edge_over_an_auto_edge_becomes_manual(client_a):
    client_a.post("/api/tasks", {"id": "a", "title": "A", "tags": ["x"]})
    client_a.post("/api/tasks", {"id": "b", "title": "B", "tags": ["x"]})
    edge = Edge.objects.get()
    assert (edge.origin, edge.weight) == ("auto", 1.0)
    body = sync(
        client_a, {"cursor": None, "edges": [{"source": "a", "target": "b", "weight": 1.0}]}
    )
    assert body["results"][0]["status"] == "updated"
    assert Edge.objects.get().origin == "manual"
    client_a.patch("/api/tasks/a", {"tags": ["y"]})  # no shared tag any more
    assert Edge.objects.get().deleted_at is None  # the user's link stays


# S5: an embedding that finished changed embedding_status without a version.
def test_a_finished_embedding_is_a_change_devices_pull(client_a):
    pushed = sync(client_a, {"cursor": None, "tasks": [{"id": "a", "title": "A"}]})
    assert pushed["tasks"][0]["embedding_status"] == "pending"
    assert embed_pending(workspace_id="alpha") == 1
    pulled = sync(client_a, {"cursor": pushed["cursor"]})
    assert [(t["id"], t["embedding_status"]) for t in pulled["tasks"]] == [("a", "ready")]


# C3: a vector computed for the old text was stored and marked ready after a re-title.
def test_a_vector_is_stored_only_for_the_text_it_was_computed_from(client_a, ws_a):
    sync(client_a, {"cursor": None, "tasks": [{"id": "a", "title": "Old words"}]})
    task = Task.objects.get(client_id="a")
    stale_row = (task.pk, task.workspace_id, "Old words", "", [])
    # Re-titled while the batch was at the provider; the clock did not move (same updated_at).
    Task.objects.filter(pk=task.pk).update(title="New words")
    assert tasks_embed_batch(rows=[stale_row], provider=get_provider()) == 0
    task.refresh_from_db()
    assert task.embedding_hash is None  # still pending, for the new text
    assert embed_pending(workspace_id="alpha") == 1
    task.refresh_from_db()
    assert task.embedding_hash is not None


# C2: task_update read the row before the lock and wrote field_versions whole.
@pytest.mark.django_db(transaction=True)
def test_concurrent_patches_keep_every_field_version():
    client = WorkspaceClient("alpha")
    client.post("/api/tasks", {"id": "a", "title": "Start"})
    base = sync(client, {"cursor": None})["tasks"][0]["version"]
    from flows import services

    real_begin = services.workspace_begin_change
    both_read = threading.Barrier(2, timeout=10)

    def begin_after_both_read(**kwargs):
        both_read.wait()  # both requests have read the row before either takes the lock
        return real_begin(**kwargs)

    def patch_in_thread(body):
        try:
            assert WorkspaceClient("alpha").patch("/api/tasks/a", body).status_code == 200
        finally:
            connection.close()

    with patch.object(services, "workspace_begin_change", begin_after_both_read):
        threads = [
            threading.Thread(target=patch_in_thread, args=(body,))
            for body in ({"title": "Newer title"}, {"status": "done"})
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    task = Task.objects.get(client_id="a")
    assert (task.title, task.status) == ("Newer title", "done")
    assert task.field_versions["title"] > base and task.field_versions["status"] > base
    # An offline title edit made against the old version must not overwrite the newer title.
    stale = sync(
        client, {"cursor": None, "tasks": [{"id": "a", "title": "Offline", "base_version": base}]}
    )
    assert stale["results"][0]["status"] == "conflict"
    assert Task.objects.get(client_id="a").title == "Newer title"


# Issue 30, item 9: an arrange that renumbered a task's cluster without moving it gave x and y a
# new field version, so a device's later move of the task (against an older base) came back as a
# conflict with its y dropped; and a conflict did not say which fields the server kept.
@pytest.mark.django_db
def test_an_arrange_that_moves_nothing_does_not_make_a_devices_move_a_conflict(client_a, ws_a):
    from tasks.models import Task

    tasks = [{"id": f"t{i}", "title": f"{w} {i}"} for i, w in enumerate(["garden", "taxes",
             "report", "bike", "piano", "kitchen"])]  # fmt: skip
    client_a.post("/api/tasks/sync", {"cursor": None, "tasks": tasks})
    assert client_a.post("/api/graph/auto-arrange").status_code == 200
    first = Task.objects.get(workspace=ws_a, client_id="t0")
    base = first.version
    # The stored cluster numbers differ from what the next arrange computes; places do not.
    Task.objects.filter(workspace=ws_a).update(cluster=None)
    assert client_a.post("/api/graph/auto-arrange").status_code == 200
    row = Task.objects.get(workspace=ws_a, client_id="t0")
    assert row.version > base and row.field_versions["cluster"] > base
    assert (row.x, row.y) == (first.x, first.y), (first.field_versions, row.field_versions)
    assert row.field_versions["y"] <= base
    item = {"id": "t0", "base_version": base, "y": -250.29, "description": "  padded  "}
    result = client_a.post("/api/tasks/sync", {"cursor": None, "tasks": [item]}).json()
    assert result["results"][0]["status"] == "updated", result["results"][0]
    row.refresh_from_db()
    assert (row.y, row.description) == (-250.29, "  padded  ")


@pytest.mark.django_db
def test_a_conflict_names_the_fields_the_server_kept(client_a, ws_a):
    client_a.post("/api/tasks/sync", {"cursor": None, "tasks": [{"id": "c", "title": "A"}]})
    base = client_a.get("/api/tasks/c").json()
    from tasks.models import Task

    base_version = Task.objects.get(client_id="c").version
    assert client_a.patch("/api/tasks/c", {"title": "B"}).status_code == 200
    item = {"id": "c", "base_version": base_version, "title": "C", "priority": "high"}
    result = client_a.post("/api/tasks/sync", {"cursor": None, "tasks": [item]}).json()
    assert result["results"][0]["status"] == "conflict"
    assert result["results"][0]["conflicts"] == ["title"]
    stored = client_a.get("/api/tasks/c").json()
    assert (stored["title"], stored["priority"]) == ("B", "high")
    assert base["title"] == "A"
