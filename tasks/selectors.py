"""Reads of tasks, shaped straight from `.values()` rows: no model instances on list paths."""

from collections.abc import Iterable

from django.db import connection
from django.db.models import QuerySet

from linkdo.jsonshape import iso_datetime
from tasks.models import Task
from workspaces.models import Workspace

TASK_FIELDS = (
    "workspace_id",
    "client_id",
    "title",
    "description",
    "priority",
    "status",
    "category",
    "tags",
    "due_date",
    "due_date_has_time",
    "embedding_hash",
    "x",
    "y",
    "created_at",
    "updated_at",
)


def task_json(row: tuple, *, include_embedding: bool = False) -> dict:
    """The task JSON of the API contract from a TASK_FIELDS row (+ the embedding when asked).

    Rows are tuples from `values_list`: list paths build no model instances and no per-row dicts.
    """
    (
        workspace_id, client_id, title, description, priority, status, category, tags,
        due, due_has_time, embedding_hash, x, y, created_at, updated_at, *rest,
    ) = row  # fmt: skip
    if due is not None:
        due = iso_datetime(due) if due_has_time else due.date().isoformat()
    data = {
        "workspace_id": workspace_id,
        "id": client_id,
        "title": title,
        "description": description,
        "priority": priority,
        "status": status,
        "category": category,
        "tags": tags,
        "due_date": due,
        "embedding_status": "pending" if embedding_hash is None else "ready",
        "x": x,
        "y": y,
        "created_at": iso_datetime(created_at),
        "updated_at": iso_datetime(updated_at),
    }
    if include_embedding:
        data["embedding"] = None if rest[0] is None else [float(v) for v in rest[0]]
    return data


def _fields(include_embedding: bool) -> tuple[str, ...]:
    return TASK_FIELDS + (("embedding",) if include_embedding else ())


def task_instance_json(task: Task, *, include_embedding: bool = False) -> dict:
    row = tuple(getattr(task, name) for name in _fields(include_embedding))
    return task_json(row, include_embedding=include_embedding)


def tasks_json(queryset: QuerySet[Task], *, include_embedding: bool = False) -> list[dict]:
    rows = queryset.values_list(*_fields(include_embedding))
    return [task_json(row, include_embedding=include_embedding) for row in rows]


def task_list(*, workspace: Workspace) -> QuerySet[Task]:
    return Task.objects.filter(workspace=workspace).order_by("created_at", "id")


def tag_list(*, workspace: Workspace) -> list[str]:
    """The workspace's distinct tags, sorted by code point (stable across database collations)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT unnest(tags) FROM tasks_task WHERE workspace_id = %s", [workspace.pk]
        )
        return sorted(tag for (tag,) in cursor.fetchall())


def task_ids_by_client_id(*, workspace: Workspace, client_ids: Iterable[str]) -> dict[str, int]:
    return dict(
        Task.objects.filter(workspace=workspace, client_id__in=list(client_ids)).values_list(
            "client_id", "id"
        )
    )
