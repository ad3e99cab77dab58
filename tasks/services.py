"""Writes of tasks. Every function takes the workspace explicitly, and every change takes the
workspace's next change version (see workspaces.services.workspace_begin_change)."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from graph.services import edges_delete_for_tasks, edges_link_by_tags, task_place
from linkdo.ai import AIProvider, get_provider
from linkdo.errors import ApplicationError, ConflictError
from tasks.embeddings import embedding_store, task_embed, task_text
from tasks.models import Task
from workspaces.models import Workspace
from workspaces.services import workspace_begin_change

# Where a task arriving without coordinates goes before the workspace's first auto-arrange
# (afterwards, the stored basis places it): the old backend's "x = i * 100, y = 0".
UNPLACED_SPACING = 100.0


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
    """
    task = Task(workspace=workspace, **model_fields(data))
    vector = task_embed(task=task, provider=provider or get_provider())
    task.created_at = task.updated_at = timezone.now()
    with transaction.atomic():
        task.version = workspace_begin_change(workspace=workspace)
        if Task.objects.filter(workspace=workspace, client_id=task.client_id).exists():
            raise ConflictError(_exists_message(workspace, task.client_id))
        placed = (
            "x" in data or "y" in data or task_place(workspace=workspace, task=task, vector=vector)
        )
        if not placed:
            live = Task.objects.filter(workspace=workspace, deleted_at__isnull=True)
            task.x = UNPLACED_SPACING * live.count()
            # Embedding pending: placed on the map once `reembed` or a push's embedding embeds it.
            task.place_pending = vector is None
        try:
            with transaction.atomic():
                task.save(force_insert=True)
        except IntegrityError as exc:
            if "task_client_id_unique_per_workspace" in str(exc):
                raise ConflictError(_exists_message(workspace, task.client_id)) from None
            raise
        if vector is not None:
            embedding_store(task=task, vector=vector)
        if task.tags:
            edges_link_by_tags(workspace=workspace, task_ids=[task.pk], version=task.version)
    return task


def _exists_message(workspace: Workspace, client_id: str) -> str:
    deleted = Task.objects.filter(
        workspace=workspace, client_id=client_id, deleted_at__isnull=False
    ).exists()
    if deleted:
        return f"A task with id {client_id!r} was deleted in this workspace; use a new id."
    return f"A task with id {client_id!r} already exists in this workspace."


def task_update(
    *, workspace: Workspace, task: Task, data: dict, provider: AIProvider | None = None
) -> Task:
    """Apply a partial update; re-embed when the text changed and re-link auto edges when the tags
    changed. An update that changes nothing writes nothing and calls no provider."""
    fields = model_fields(data)
    if fields.pop("client_id", task.client_id) != task.client_id:
        raise ApplicationError("A task's id cannot be changed; create a new task instead.")
    changed = [name for name, value in fields.items() if getattr(task, name) != value]
    if not changed:
        return task
    old_text = task_text(task)
    for name in changed:
        setattr(task, name, fields[name])
    vector = None
    if task_text(task) != old_text:
        vector = task_embed(task=task, provider=provider or get_provider())
        changed.append("embedding_hash")
        # New meaning, new place on the map, unless the client moved the task itself.
        moved = "x" in fields or "y" in fields
        if not moved and task_place(workspace=workspace, task=task, vector=vector):
            changed += ["x", "y"]
        task.place_pending = not moved and vector is None
        changed.append("place_pending")
    elif "x" in changed or "y" in changed:
        task.place_pending = False  # the user's place wins over a pending projection
        changed.append("place_pending")
    task.updated_at = timezone.now()
    with transaction.atomic():
        task.version = workspace_begin_change(workspace=workspace)
        changed = list(dict.fromkeys(changed))
        task.field_versions = {**task.field_versions, **dict.fromkeys(changed, task.version)}
        task.save(update_fields=[*changed, "updated_at", "version", "field_versions"])
        if vector is not None:
            embedding_store(task=task, vector=vector)
        if "tags" in changed:
            edges_link_by_tags(workspace=workspace, task_ids=[task.pk], version=task.version)
    return task


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
    return deleted_edges
