"""Writes of tasks. Every function takes the workspace explicitly, and every change takes the
workspace's next change version (see workspaces.services.workspace_begin_change)."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from graph.services import (
    edges_delete_for_tasks,
    edges_link_by_tags,
    task_place,
    unplaced_positions,
)
from linkdo.ai import AIProvider, get_provider
from linkdo.errors import ApplicationError, ConflictError, NotFoundError
from tasks.embeddings import embedding_store, task_embed, task_text
from tasks.models import Embedding, Task, linked_fields
from workspaces.models import Workspace
from workspaces.services import workspace_begin_change


def model_fields(data: dict) -> dict:
    """Validated API fields -> model fields (`id` is the client id, `due_date` is (value, has_time))."""
    fields = dict(data)
    if "id" in fields:
        fields["client_id"] = fields.pop("id")
    if "due_date" in fields:
        fields["due_date"], fields["due_date_has_time"] = fields["due_date"] or (None, False)
    return fields


def task_create(*, workspace: Workspace, data: dict, provider: AIProvider | None = None) -> Task:
    """Create a task from validated data, embed it, and link it to the tasks it shares tags with.

    The embedding call happens before the transaction (no lock is held while the provider thinks);
    if it fails the task is still stored, with its embedding pending.

    An id that was deleted in this workspace is created again (a person's explicit intent, e.g. a
    backup restored after deleting): the tombstone row comes back to life with the new content under
    a new change version, so other devices pull it. A live id is a 409.
    """
    task = Task(workspace=workspace, **model_fields(data))
    vector = task_embed(task=task, provider=provider or get_provider())
    task.created_at = task.updated_at = timezone.now()
    with transaction.atomic():
        task.version = workspace_begin_change(workspace=workspace)
        tombstone = (
            Task.objects.select_for_update()
            .filter(workspace=workspace, client_id=task.client_id)
            .values_list("pk", "deleted_at")
            .first()
        )
        if tombstone is not None and tombstone[1] is None:
            raise ConflictError(
                f"A task with id {task.client_id!r} already exists in this workspace."
            )
        placed = (
            "x" in data or "y" in data or task_place(workspace=workspace, task=task, vector=vector)
        )
        task.place_pending = False
        if not placed:
            task.x, task.y = unplaced_positions(workspace=workspace, count=1)[0].tolist()
            # Embedding pending: placed on the map once the background embedding embeds it.
            task.place_pending = vector is None
        if tombstone is None:
            _insert(task)
        else:
            _revive(task, pk=tombstone[0], has_vector=vector is not None)
        if vector is not None:
            embedding_store(task=task, vector=vector)
        if task.tags:
            edges_link_by_tags(workspace=workspace, task_ids=[task.pk], version=task.version)
    return task


def _insert(task: Task) -> None:
    try:
        with transaction.atomic():
            task.save(force_insert=True)
    except IntegrityError as exc:
        if "task_client_id_unique_per_workspace" in str(exc):  # a concurrent create of the same id
            raise ConflictError(
                f"A task with id {task.client_id!r} already exists in this workspace."
            ) from None
        raise


# Every field a create sets; a revived tombstone takes them all, so nothing of the deleted task
# survives but its row.
_REVIVED_FIELDS = (
    "title", "description", "priority", "status", "category", "tags", "due_date",
    "due_date_has_time", "embedding_hash", "x", "y", "cluster", "place_pending", "version",
    "field_versions", "deleted_at", "created_at", "updated_at",
)  # fmt: skip


def _revive(task: Task, *, pk: int, has_vector: bool) -> None:
    task.pk = pk
    task.cluster = None
    task.deleted_at = None
    task.field_versions = dict.fromkeys(_REVIVED_FIELDS[:13], task.version)
    task.save(update_fields=_REVIVED_FIELDS)
    if not has_vector:  # the deleted text's vector must not stand for the new one
        Embedding.objects.filter(task_id=pk).delete()


def task_update(
    *, workspace: Workspace, task: Task, data: dict, provider: AIProvider | None = None
) -> Task:
    """Apply a partial update; re-embed when the text changed and re-link auto edges when the tags
    changed. An update that changes nothing writes nothing and calls no provider.

    The provider is asked before the transaction, from the row as read; the changes are then worked
    out again on the row read under the workspace's change lock, so a concurrent write is never
    overwritten (field versions included), and a vector computed for a text that changed meanwhile
    is dropped (the task stays pending) rather than stored for the wrong text.
    """
    fields = model_fields(data)
    if fields.pop("client_id", task.client_id) != task.client_id:
        raise ApplicationError("A task's id cannot be changed; create a new task instead.")
    if not _changed_fields(task, fields):
        return task
    vector, embedded = _embed_if_text_changes(task, fields, provider)
    with transaction.atomic():
        version = workspace_begin_change(workspace=workspace)
        task = Task.objects.get(pk=task.pk)  # the latest row: writers hold the lock taken above
        if task.deleted_at is not None:
            raise NotFoundError(f"No task with id {task.client_id!r} in this workspace.")
        changed = _changed_fields(task, fields)
        if not changed:
            transaction.set_rollback(True)  # nothing to write: not even the version
            return task
        old_text = task_text(task)
        for name in changed:
            setattr(task, name, fields[name])
        if task_text(task) != old_text:
            if embedded is not None and embedded[0] == task_text(task):
                task.embedding_hash = embedded[1]
            else:
                vector, task.embedding_hash = None, None
            changed.append("embedding_hash")
            # New meaning, new place on the map, unless the client moved the task itself.
            moved = "x" in fields or "y" in fields
            if not moved and task_place(workspace=workspace, task=task, vector=vector):
                changed += ["x", "y"]
            task.place_pending = not moved and vector is None
            changed.append("place_pending")
        else:
            vector = None
            if "x" in changed or "y" in changed:
                task.place_pending = False  # the user's place wins over a pending projection
                changed.append("place_pending")
        task.updated_at = timezone.now()
        task.version = version
        changed = list(dict.fromkeys(changed))
        versioned = set(changed) | linked_fields(changed)
        task.field_versions = {**task.field_versions, **dict.fromkeys(versioned, version)}
        task.save(update_fields=[*changed, "updated_at", "version", "field_versions"])
        if vector is not None:
            embedding_store(task=task, vector=vector)
        if "tags" in changed:
            edges_link_by_tags(workspace=workspace, task_ids=[task.pk], version=version)
    return task


def _changed_fields(task: Task, fields: dict) -> list[str]:
    return [name for name, value in fields.items() if getattr(task, name) != value]


def _embed_if_text_changes(task: Task, fields: dict, provider: AIProvider | None):
    """(vector, (text, hash)) for the text the update gives the task as read; (None, None) when
    the text does not change or the provider failed (the task is then stored pending)."""
    preview = Task(
        title=fields.get("title", task.title),
        description=fields.get("description", task.description),
        tags=fields.get("tags", task.tags),
    )
    if task_text(preview) == task_text(task):
        return None, None
    vector = task_embed(task=preview, provider=provider or get_provider())
    if vector is None:
        return None, None
    return vector, (task_text(preview), preview.embedding_hash)


def task_delete(*, workspace: Workspace, task: Task) -> int:
    """Delete a task and every edge touching it (tombstones, so other devices learn of it);
    return the number of edges deleted."""
    with transaction.atomic():
        version = workspace_begin_change(workspace=workspace)
        deleted_edges = edges_delete_for_tasks(
            workspace=workspace, task_ids=[task.pk], version=version
        )
        now = timezone.now()
        Task.objects.filter(pk=task.pk).update(deleted_at=now, updated_at=now, version=version)
        # The tasks that had chosen this one choose again among their other tag-mates.
        edges_link_by_tags(workspace=workspace, task_ids=[task.pk], version=version)
    return deleted_edges
