"""Completing a recurring task creates its next occurrence, in the completion's own change (REST
update or sync push): the same title, description, priority, category, tags, place, time zone and
vector (the text is the same, so no provider is asked), due at the rule's next date
(tasks.recurrence). The occurrence's id is derived from the completed task's id and the next date,
and an id the workspace already holds (live or deleted) is left alone: a completion replayed, made
on two devices, or undone and made again creates the next occurrence once."""

from datetime import datetime

from django.db import connection

from flows.jobs import embedding_enqueue
from graph.services import edges_link_by_tags
from tasks.models import Embedding, Task
from tasks.recurrence import next_due, occurrence_id
from tasks.services import tasks_insert
from workspaces.models import Workspace


def is_recurring_completion(task: Task, changed: set[str]) -> bool:
    """Whether this change completed a recurring task (status became done)."""
    return "status" in changed and task.status == Task.Status.DONE and bool(task.recurrence)


def occurrences_create(
    *, workspace: Workspace, tasks: list[Task], version: int, now: datetime
) -> dict[str, int]:
    """Create the next occurrence of each completed recurring task; returns the new ids by client
    id. Runs under the workspace's change lock, inside the completing transaction."""
    rows, sources = [], {}
    for task in tasks:
        following = next_due(
            task.recurrence,
            due=task.due_date,
            has_time=task.due_date_has_time,
            zone=task.due_timezone,
            after=task.completed_at or now,
        )
        if following is None:  # COUNT reached or past UNTIL: the series ends here
            continue
        due, rule = following
        client_id = occurrence_id(task.client_id, due)
        sources[client_id] = task
        rows.append(
            {
                "client_id": client_id,
                **{name: getattr(task, name) for name in _COPIED},
                "due_date": due,
                "recurrence": rule,
                "status": Task.Status.TODO,
                "completed_at": None,
            }
        )
    taken = set(
        Task.objects.of(workspace)
        .filter(client_id__in=[row["client_id"] for row in rows])
        .values_list("client_id", flat=True)
    )
    rows = [row for row in rows if row["client_id"] not in taken]
    if not rows:
        return {}
    ids = tasks_insert(workspace_id=workspace.pk, rows=rows, version=version, now=now)
    _copy_vectors(
        workspace,
        {sources[cid].pk: pk for cid, pk in ids.items() if _has_vector(sources[cid])},
    )
    edges_link_by_tags(
        workspace=workspace, task_ids=[ids[row["client_id"]] for row in rows if row["tags"]],
        version=version,
    )  # fmt: skip
    if any(row["embedding_hash"] is None for row in rows):
        embedding_enqueue(workspace_id=workspace.pk)
    return ids


# What the next occurrence takes from the completed one as it is.
_COPIED = (
    "title", "description", "priority", "category", "tags", "due_date_has_time", "due_timezone",
    "x", "y", "place_pending", "embedding_hash", "embedding_error",
)  # fmt: skip


def _has_vector(task: Task) -> bool:
    return task.embedding_hash is not None and task.embedding_error is None


def _copy_vectors(workspace: Workspace, new_for_old: dict[int, int]) -> None:
    """The completed tasks' stored vectors, for their occurrences (one statement)."""
    if not new_for_old:
        return
    table = Embedding._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (task_id, workspace_id, vector) "  # noqa: S608 - a model's table
            f"SELECT n.new, e.workspace_id, e.vector FROM {table} e "
            "JOIN unnest(%s::bigint[], %s::bigint[]) AS n(old, new) ON e.task_id = n.old "
            "WHERE e.workspace_id = %s",
            [list(new_for_old), list(new_for_old.values()), workspace.pk],
        )
