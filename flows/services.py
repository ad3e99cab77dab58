"""A task's REST writes as whole flows: the task's fields (tasks.services), its embedding
(tasks.embeddings), its auto-links (graph.services) and its place on the map (graph.map), in one
transaction under the workspace's change lock. Each change takes the workspace's next change
version (see workspaces.services.workspace_begin_change)."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from flows.jobs import embedding_enqueue
from flows.recurrence import is_recurring_completion, occurrences_create
from graph.map import provisional_positions, task_project_on_map
from graph.services import edges_delete_for_tasks, edges_link_by_tags
from linkdo.ai import AIProvider, get_provider
from linkdo.ai.vectors import embedding_hash
from linkdo.errors import ApplicationError, ConflictError, NotFoundError
from tasks.embeddings import embed_or_none, embeddings_store, task_embed, task_text
from tasks.models import Task
from tasks.services import (
    task_apply,
    task_changed_fields,
    task_fields_from_api,
    task_insert,
    task_revive,
    task_set_completion,
)
from workspaces.models import Workspace
from workspaces.services import workspace_begin_change


def embeds_inline(provider: AIProvider) -> bool:
    """Whether a REST write embeds before it answers (settings.LINKDO_EMBED_ON_WRITE)."""
    mode = settings.LINKDO_EMBED_ON_WRITE
    if mode == "auto":
        return provider.embedding_model.startswith("local:")
    return mode == "inline"


def task_create(*, workspace: Workspace, data: dict, provider: AIProvider | None = None) -> Task:
    """Create a task from validated data, embed it, place it and link it to its tag-mates.

    The embedding call happens before the transaction (no lock is held while the provider thinks);
    if it fails the task is still stored, with its embedding pending. With a remote provider
    (embeds_inline) the task is stored pending at once; then, as after a failure, the job queued
    with the change embeds and places it, and the workspace's streams hear of it.

    An id that was deleted in this workspace is created again (a person's explicit intent, e.g. a
    backup restored after deleting): the tombstone row comes back to life with the new content under
    a new change version, so other devices pull it. A live id is a 409.
    """
    task = Task(workspace=workspace, **task_fields_from_api(data))
    provider = provider or get_provider()
    vector = task_embed(task=task, provider=provider) if embeds_inline(provider) else None
    with transaction.atomic():
        version = workspace_begin_change(workspace=workspace)
        _create(
            workspace, task, vector, version=version, placed_by_client="x" in data or "y" in data
        )
        if task.tags:
            edges_link_by_tags(workspace=workspace, task_ids=[task.pk], version=version)
        if vector is None:  # queued with the change: committed with it, or not at all
            embedding_enqueue(workspace_id=workspace.pk)
    return task


def tasks_create(
    *, workspace: Workspace, items: list[dict], provider: AIProvider, embed: bool = True
) -> list[Task]:
    """Create several tasks (validated data) as one change, all or nothing: embedded in one
    provider call before the transaction (pending if it fails), then each placed and linked.
    With `embed=False` they are stored pending and the background job embeds them (queued with
    the change), as a sync push does: new tasks without a vector choose their auto-links among
    their tag sets' most recent tasks instead of being ranked against every tag-mate."""
    tasks = [Task(workspace=workspace, **task_fields_from_api(data)) for data in items]
    texts = [task_text(task) for task in tasks]
    vectors = (
        embed_or_none(texts, provider=provider, deadline_s=settings.LINKDO_EMBED_TIMEOUT_S)
        if embed
        else None
    )
    for task, text in zip(tasks, texts, strict=True):
        task.embedding_hash = (
            None if vectors is None else embedding_hash(provider.embedding_model, text)
        )
    with transaction.atomic():
        version = workspace_begin_change(workspace=workspace)
        for index, (task, data) in enumerate(zip(tasks, items, strict=True)):
            vector = None if vectors is None else vectors[index]
            _create(
                workspace,
                task,
                vector,
                version=version,
                placed_by_client="x" in data or "y" in data,
            )
        # One set-based statement for all of them, as for a sync push.
        linked = [task.pk for task in tasks if task.tags]
        edges_link_by_tags(workspace=workspace, task_ids=linked, version=version)
        if vectors is None:  # queued with the change: committed with it, or not at all
            embedding_enqueue(workspace_id=workspace.pk)
    return tasks


def _create(workspace, task: Task, vector, *, version: int, placed_by_client: bool) -> None:
    """Insert (or revive) one task under the change lock: place it and store its vector (the
    caller links it)."""
    task.created_at = task.updated_at = timezone.now()
    task_set_completion(task, at=task.created_at)
    task.version = version
    tombstone = (
        Task.objects.of(workspace)
        .select_for_update()
        .filter(client_id=task.client_id)
        .values_list("pk", "deleted_at")
        .first()
    )
    if tombstone is not None and tombstone[1] is None:
        raise ConflictError(f"A task with id {task.client_id!r} already exists in this workspace.")
    placed = placed_by_client or task_project_on_map(workspace=workspace, task=task, vector=vector)
    task.place_pending = False
    if not placed:
        task.x, task.y = provisional_positions(workspace=workspace, count=1)[0].tolist()
        # Embedding pending: placed on the map once the background embedding embeds it.
        task.place_pending = vector is None
    if tombstone is None:
        task_insert(task)
    else:
        task_revive(task, pk=tombstone[0], has_vector=vector is not None)
    if vector is not None:
        embeddings_store(workspace_id=workspace.pk, vectors={task.pk: vector})


def task_update(
    *, workspace: Workspace, task: Task, data: dict, provider: AIProvider | None = None
) -> Task:
    """Apply a partial update; re-embed and re-place when the text changed, re-link auto edges when
    the tags changed, create the next occurrence when a recurring task is completed
    (flows.recurrence). An update that changes nothing writes nothing and calls no provider.

    The provider is asked before the transaction, from the row as read; the changes are then applied
    to the row read under the workspace's change lock, so a concurrent write is never overwritten
    (field versions included), and a vector computed for a text that changed meanwhile is dropped
    (the task stays pending) rather than stored for the wrong text.
    """
    fields = task_fields_from_api(data)
    if fields.pop("client_id", task.client_id) != task.client_id:
        raise ApplicationError("A task's id cannot be changed; create a new task instead.")
    if not task_changed_fields(task, fields):
        return task
    vector, embedded = _embed_if_text_changes(task, fields, provider)
    with transaction.atomic():
        version = workspace_begin_change(workspace=workspace)
        # The latest row: writers hold the lock taken above.
        task = Task.objects.of(workspace).get(pk=task.pk)
        if task.deleted_at is not None:
            raise NotFoundError(f"No task with id {task.client_id!r} in this workspace.")
        old_text = task_text(task)
        columns = task_apply(task, fields, version=version, changed_at=timezone.now())
        if not columns:
            transaction.set_rollback(True)  # nothing to write: not even the version
            return task
        text_changed = task_text(task) != old_text
        if text_changed:
            vector = _keep_if_current(task, vector, embedded)
            moved = "x" in fields or "y" in fields
            if not moved and task_project_on_map(workspace=workspace, task=task, vector=vector):
                columns |= {"x", "y"}
                task.field_versions.update({"x": version, "y": version})
            task.place_pending = not moved and vector is None
        else:
            vector = None
        task.save(update_fields=sorted(columns))
        if vector is not None:
            embeddings_store(workspace_id=workspace.pk, vectors={task.pk: vector})
        elif text_changed:  # the new text waits: the job embeds and places it
            embedding_enqueue(workspace_id=workspace.pk)
        if "tags" in columns:
            edges_link_by_tags(workspace=workspace, task_ids=[task.pk], version=version)
        if is_recurring_completion(task, columns):
            occurrences_create(
                workspace=workspace, tasks=[task], version=version, now=task.updated_at
            )
    return task


def _keep_if_current(task: Task, vector, embedded):
    """The vector computed before the lock if it is for the task's text now (its hash is set),
    else None (the task stays pending)."""
    if embedded is not None and embedded[0] == task_text(task):
        task.embedding_hash = embedded[1]
        return vector
    task.embedding_hash = None
    return None


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
    provider = provider or get_provider()
    if not embeds_inline(provider):
        return None, None
    vector = task_embed(task=preview, provider=provider)
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
        Task.objects.of(workspace).filter(pk=task.pk).update(
            deleted_at=now, updated_at=now, version=version
        )
        # The tasks that had chosen this one choose again among their other tag-mates.
        edges_link_by_tags(workspace=workspace, task_ids=[task.pk], version=version)
    return deleted_edges
