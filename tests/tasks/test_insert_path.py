"""One insert path: REST create, sync push, import and parse create store the same task as the
same row (tasks.services.tasks_insert), and the statement covers every column of the model."""

import pytest
from django.db import connection

from flows.transfer import workspace_import
from tasks.models import Task
from tasks.services import _insert_columns, _insert_sql
from tests.conftest import WorkspaceClient
from workspaces.models import Workspace

BODY = {
    "title": "Water the plants",
    "description": "the ferns first",
    "priority": "high",
    "status": "done",
    "category": "home",
    "tags": ["garden", "home"],
    "due_date": "2026-12-24T09:00:00+09:00",
    "due_timezone": "Asia/Seoul",
    "recurrence": "FREQ=WEEKLY;BYDAY=TH",
    "x": 3.5,
    "y": -2.0,
}
# What a create decides the same way on every path (times, ids and the version differ).
COMPARED = ("title", "description", "priority", "status", "category", "tags", "due_date",
            "due_date_has_time", "due_timezone", "recurrence", "x", "y", "place_pending", "cluster", "deleted_at",
            "embedding_error", "field_versions")  # fmt: skip


def stored(workspace_id: str) -> dict:
    task = Task.objects.get(workspace_id=workspace_id, client_id="t1")
    row = {name: getattr(task, name) for name in COMPARED}
    row["has_completed_at"] = task.completed_at is not None
    row["version"] = task.version == Workspace.objects.get(pk=workspace_id).change_version
    return row


@pytest.mark.django_db
def test_every_create_path_stores_the_same_row():
    rest = WorkspaceClient("via-rest")
    assert rest.post("/api/tasks", {"id": "t1", **BODY}).status_code == 201
    push = WorkspaceClient("via-push")
    answer = push.post("/api/tasks/sync", {"tasks": [{"id": "t1", **BODY}], "cursor": None})
    assert answer.status_code == 200
    assert answer.json()["results"][0]["status"] == "created"
    exported = WorkspaceClient("via-rest").get("/api/tasks/t1").json()
    document = {
        "format": "linkdo-workspace",
        "version": 1,
        "workspace": "via-import",
        "tasks": [
            {**BODY, "id": "t1", "created_at": exported["created_at"],
             "updated_at": exported["updated_at"], "embedding": None, "embedding_hash": None}
        ],
        "edges": [],
    }  # fmt: skip
    workspace_import(document=document, dim=len(exported.get("embedding") or []) or 64)
    rows = {name: stored(name) for name in ("via-rest", "via-push", "via-import")}
    assert rows["via-rest"] == rows["via-push"] == rows["via-import"]
    assert rows["via-rest"]["tags"] == ["garden", "home"]
    assert rows["via-rest"]["field_versions"] == {}


@pytest.mark.django_db
def test_a_row_without_a_column_takes_the_models_default():
    """The push's rows carry what the client sent; a column none of them carries is the model's
    default, and one a row leaves out while others carry it is too."""
    client = WorkspaceClient("defaults")
    items = [{"id": "a", "title": "A", "category": "work"}, {"id": "b", "title": "B"}]
    assert client.post("/api/tasks/sync", {"tasks": items, "cursor": None}).status_code == 200
    a, b = (Task.objects.get(workspace_id="defaults", client_id=c) for c in "ab")
    assert (a.category, b.category) == ("work", "general")
    assert (b.priority, b.status, b.description, b.tags) == ("medium", "todo", "", [])
    assert a.created_at == b.created_at


def test_the_insert_names_every_column_of_the_model():
    """A new column of Task is written by every create path without touching a field list."""
    table = {
        field.column
        for field in Task._meta.concrete_fields
        if not field.primary_key and field.name != "workspace"
    }
    assert {column for column, *_ in _insert_columns()} == table
    statement = _insert_sql(frozenset({"client_id", "title"})).as_string(connection.connection)
    assert all(f'"{column}"' in statement for column in table)
