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
    "x",
    "y",
    "created_at",
    "updated_at",
)


def task_json(row: dict, *, include_embedding: bool = False) -> dict:
    """The task JSON of the API contract from a row holding TASK_FIELDS (and `embedding` if asked)."""
    due = row["due_date"]
    if due is not None:
        due = iso_datetime(due) if row["due_date_has_time"] else due.date().isoformat()
    data = {
        "workspace_id": row["workspace_id"],
        "id": row["client_id"],
        "title": row["title"],
        "description": row["description"],
        "priority": row["priority"],
        "status": row["status"],
        "category": row["category"],
        "tags": row["tags"],
        "due_date": due,
        "x": row["x"],
        "y": row["y"],
        "created_at": iso_datetime(row["created_at"]),
        "updated_at": iso_datetime(row["updated_at"]),
    }
    if include_embedding:
        embedding = row["embedding"]
        data["embedding"] = None if embedding is None else [float(v) for v in embedding]
    return data


def task_instance_json(task: Task, *, include_embedding: bool = False) -> dict:
    fields = TASK_FIELDS + (("embedding",) if include_embedding else ())
    return task_json({f: getattr(task, f) for f in fields}, include_embedding=include_embedding)


def tasks_json(queryset: QuerySet[Task], *, include_embedding: bool = False) -> list[dict]:
    fields = TASK_FIELDS + (("embedding",) if include_embedding else ())
    return [task_json(row, include_embedding=include_embedding) for row in queryset.values(*fields)]


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
