import io
import threading
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from graph.models import Edge
from tasks.models import Task
from tests.conftest import WorkspaceClient
from workspaces.models import Workspace


def purge(*args) -> str:
    out = io.StringIO()
    call_command("purge_tombstones", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_purge_resets_old_cursors_and_rejects_stale_writes(client_a, client_b):
    first = client_a.post(
        "/api/tasks/sync",
        {
            "tasks": [
                {"id": "old", "title": "Old", "tags": ["x"]},
                {"id": "keep", "title": "Keep", "tags": ["x"]},
            ],
            "cursor": None,
        },
    ).json()
    old_version = first["tasks"][0]["version"]
    client_a.delete("/api/tasks/old")
    client_b.post("/api/tasks/sync", {"tasks": [{"id": "b", "title": "B"}], "cursor": None})
    Task.objects.filter(client_id="old").update(deleted_at=timezone.now() - timedelta(days=100))
    Edge.objects.filter(deleted_at__isnull=False).update(
        deleted_at=timezone.now() - timedelta(days=100)
    )
    assert (
        purge("--older-than", "90d", "--dry-run")
        == "Would purge 1 task and 1 edge tombstone(s) older than 90d.\n"
    )
    assert purge("--older-than", "90d") == "Purged 1 task and 1 edge tombstone(s) older than 90d.\n"
    assert not Task.objects.filter(client_id="old").exists()
    assert Task.objects.filter(client_id="b").exists()  # the other workspace had nothing to purge
    assert Workspace.objects.get(pk="bravo").purged_version == 0
    stale = client_a.post("/api/tasks/sync", {"tasks": [], "cursor": first["cursor"]}).json()
    assert stale["reset_required"] is True
    assert [t["id"] for t in stale["tasks"]] == ["keep"]  # a full snapshot from the beginning
    revived = client_a.post(
        "/api/tasks/sync",
        {"tasks": [{"id": "old", "title": "Back", "base_version": old_version}], "cursor": None},
    ).json()
    assert revived["results"][0]["status"] == "rejected"
    assert revived["results"][0]["reason"].startswith("purged")
    assert not Task.objects.filter(client_id="old").exists()
    fresh = client_a.post("/api/tasks/sync", {"tasks": [], "cursor": stale["cursor"]}).json()
    assert fresh["reset_required"] is False


def test_bad_age_is_refused():
    with pytest.raises(CommandError, match="like 90d"):
        purge("--older-than", "ninety days")


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_pushes_make_no_duplicates_and_no_errors():
    """Two devices push overlapping tasks and the same edge at once: both succeed, one edge exists."""
    Workspace.objects.create(pk="shared")
    push = {
        "tasks": [
            {"id": "a", "title": "A", "tags": ["t"]},
            {"id": "b", "title": "B", "tags": ["t"]},
        ],
        "edges": [],
        "cursor": None,
    }
    WorkspaceClient("shared").post("/api/tasks/sync", push)
    second = {
        "tasks": [{"id": f"n{i}", "title": "N", "tags": ["t"]} for i in range(20)],
        "edges": [{"source": "a", "target": "b", "weight": 0.8}],
        "cursor": None,
    }
    statuses, barrier = [], threading.Barrier(2)

    def device():
        try:
            barrier.wait()
            statuses.append(WorkspaceClient("shared").post("/api/tasks/sync", second).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=device) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200, 200]
    assert Task.objects.filter(workspace_id="shared").count() == 22
    pairs = [
        frozenset((e.source_id, e.target_id))
        for e in Edge.objects.filter(workspace_id="shared", deleted_at__isnull=True)
    ]
    assert len(pairs) == len(set(pairs))  # no pair twice
    # Bounded auto-links: each new task chose its 5 strongest tag-mates, once, whichever push won.
    for i in range(20):
        task = Task.objects.get(workspace_id="shared", client_id=f"n{i}")
        chosen = Edge.objects.filter(deleted_at__isnull=True, origin="auto").filter(
            Q(source=task, chosen_by_source=True) | Q(target=task, chosen_by_target=True)
        )
        assert chosen.count() == 5
    assert Edge.objects.filter(workspace_id="shared", origin="auto").count() <= 5 * 22
    assert Edge.objects.get(source__client_id="a", target__client_id="b").weight == 0.8
