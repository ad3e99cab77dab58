"""Every committed change of a workspace is notified on workspaces.changes.CHANNEL with the
workspace's key and its new version, on every write path; a rolled-back change is not."""

import psycopg
import pytest
from django.db import transaction

from graph.map import embed_pending
from tests.conftest import WorkspaceClient
from tests.helpers import database_url, not_on_citus
from workspaces.changes import CHANNEL, change_key, parse_payload
from workspaces.models import Workspace
from workspaces.services import workspace_begin_change


@pytest.fixture
def listener():
    with psycopg.connect(database_url(), autocommit=True) as conn:
        conn.execute(f"LISTEN {CHANNEL}")
        yield conn


def heard(conn, timeout: float = 2.0) -> list[tuple[str, int]]:
    """The notifications that arrive within `timeout` seconds of quiet."""
    return [parse_payload(n.payload) for n in conn.notifies(timeout=timeout)]


def version(workspace_id: str) -> int:
    return Workspace.objects.get(pk=workspace_id).change_version


@pytest.mark.parametrize(
    "citus",
    [
        pytest.param(
            False,
            id="in-statement",
            marks=not_on_citus("Citus refuses pg_notify in a distributed statement's RETURNING"),
        ),
        pytest.param(True, id="from-coordinator"),
    ],
)
@pytest.mark.django_db(transaction=True)
def test_rest_sync_and_embedding_writes_notify_their_version(listener, settings, citus):
    # LINKDO_CITUS: the notification is a statement of its own after the version statement (as on
    # a Citus coordinator, which refuses pg_notify inside a distributed statement); same result.
    settings.LINKDO_CITUS = citus
    client = WorkspaceClient("notify-a")
    assert client.post("/api/tasks", {"id": "t1", "title": "One", "tags": ["x"]}).status_code == 201
    key = change_key("notify-a")
    assert heard(listener, 0.5) == [(key, version("notify-a"))]
    items = [{"id": "s1", "title": "Pushed"}, {"id": "s2", "title": "Pushed too"}]
    assert client.post("/api/tasks/sync", {"tasks": items, "cursor": None}).status_code == 200
    after_push = version("notify-a")
    assert heard(listener, 0.5) == [(key, after_push)]
    embed_pending(workspace_id="notify-a")  # the job's marks take a version of their own
    assert version("notify-a") > after_push
    assert heard(listener, 0.5)[-1] == (key, version("notify-a"))


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_and_other_workspaces_notify_nothing_of_it(listener):
    WorkspaceClient("notify-b").get("/api/tasks")
    workspace = Workspace.objects.get(pk="notify-b")
    with pytest.raises(RuntimeError), transaction.atomic():
        workspace_begin_change(workspace=workspace)
        raise RuntimeError("rolled back")
    assert heard(listener, 0.5) == []
    WorkspaceClient("notify-c").post("/api/tasks", {"id": "t1", "title": "Other"})
    assert [key for key, _ in heard(listener, 0.5)] == [change_key("notify-c")]


def test_the_key_never_carries_the_id():
    key = change_key("secret-workspace-id")
    assert len(key) == 16 and "secret" not in key
    assert parse_payload(f"{key}:12") == (key, 12)
    assert parse_payload("not ours") is None
