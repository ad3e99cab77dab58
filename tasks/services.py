"""The one write path of a task's fields, shared by REST, sync and import: turning API fields into
model fields, applying a change with its versions, inserting and reviving rows. Linking and placing
(graph) are added by the flows (flows.services, flows.sync, flows.transfer)."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from linkdo.errors import ConflictError
from tasks.embeddings import task_text
from tasks.models import Embedding, Task, linked_fields


def task_fields_from_api(data: dict) -> dict:
    """Validated API fields -> model fields (`id` is the client id, `due_date` is (value, has_time))."""
    fields = dict(data)
    if "id" in fields:
        fields["client_id"] = fields.pop("id")
    if "due_date" in fields:
        fields["due_date"], fields["due_date_has_time"] = fields["due_date"] or (None, False)
    return fields


def task_changed_fields(task: Task, fields: dict) -> list[str]:
    """The names among `fields` whose value differs from the task's."""
    return [name for name, value in fields.items() if getattr(task, name) != value]


def task_apply(
    task: Task, fields: dict, *, version: int, changed_at: datetime | None = None
) -> set[str]:
    """Apply the `fields` that differ to `task` (in memory) as change `version`, and return the
    columns to write (empty when nothing differs).

    The task takes the version, `changed_at` as updated_at (unless `fields` carries one), and the
    field versions of what changed (linked fields together). A new status sets or clears
    completed_at (at `changed_at`), unless `fields` carries it. A new text marks the embedding pending
    unless `fields` carries its hash; a new text or a move decides `place_pending`: the client's
    place wins over a pending projection, and a new meaning waits for a new place.
    """
    changed = task_changed_fields(task, fields)
    if not changed:
        return set()
    old_text = task_text(task)
    for name in changed:
        setattr(task, name, fields[name])
    columns = {*changed, "version", "field_versions"}
    task.version = version
    task.field_versions = {
        **task.field_versions,
        **dict.fromkeys(set(changed) | linked_fields(changed), version),
    }
    if changed_at is not None and "updated_at" not in fields:
        task.updated_at = changed_at
        columns.add("updated_at")
    if "status" in changed and "completed_at" not in fields:
        done = task.status == Task.Status.DONE
        task.completed_at = (changed_at or timezone.now()) if done else None
        columns.add("completed_at")
    text_changed = task_text(task) != old_text
    if text_changed and "embedding_hash" not in fields:
        task.embedding_hash = None
        columns.add("embedding_hash")
    if text_changed and task.embedding_error is not None:
        task.embedding_error = None  # a refusal was for the old text
        columns.add("embedding_error")
    moved = "x" in changed or "y" in changed
    if moved or text_changed:
        # Only a task whose embedding is pending waits for a projection.
        task.place_pending = not moved and task.embedding_hash is None
        columns.add("place_pending")
    return columns


def task_completed_at(
    status: str, completed_at: datetime | None, *, at: datetime
) -> datetime | None:
    """A new task's completion time: a task created as done was done `at` (when it does not say)."""
    return (completed_at or at) if status == Task.Status.DONE else None


def task_set_completion(task: Task, *, at: datetime) -> None:
    task.completed_at = task_completed_at(task.status, task.completed_at, at=at)


def task_insert(task: Task) -> None:
    """Insert a new task; a concurrent create of the same id is a 409."""
    try:
        with transaction.atomic():
            task.save(force_insert=True)
    except IntegrityError as exc:
        if "task_client_id_unique_per_workspace" in str(exc):
            raise ConflictError(
                f"A task with id {task.client_id!r} already exists in this workspace."
            ) from None
        raise


# Every field a create sets; a revived tombstone takes them all, so nothing of the deleted task
# survives but its row.
_REVIVED_FIELDS = (
    "title", "description", "priority", "status", "category", "tags", "due_date",
    "due_date_has_time", "embedding_hash", "x", "y", "cluster", "place_pending", "version",
    "field_versions", "deleted_at", "completed_at", "created_at", "updated_at",
)  # fmt: skip


def task_revive(task: Task, *, pk: int, has_vector: bool) -> None:
    """Store a new task over the tombstone row `pk` of the same id (a deleted id created again)."""
    task.pk = pk
    task.cluster = None
    task.deleted_at = None
    task.field_versions = dict.fromkeys(_REVIVED_FIELDS[:13], task.version)
    task.embedding_error = None  # a refusal was for the deleted task's text
    task.save(update_fields=(*_REVIVED_FIELDS, "embedding_error"))
    if not has_vector:  # the deleted text's vector must not stand for the new one
        Embedding.objects.filter(task_id=pk).delete()
