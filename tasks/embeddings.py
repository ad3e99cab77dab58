"""Embedding tasks: one task on write (within a deadline), or many in provider batches.

A provider failure never loses a task: the task is stored with its embedding pending
(`embedding_hash` NULL) and `manage.py reembed --pending` fills it in later. Vectors live in their
own table (tasks.models.Embedding), written only when a task is really (re-)embedded.
"""

import json
import logging
from collections.abc import Iterable

import numpy as np
from django.conf import settings
from django.db import connection, transaction

from graph.pgbinary import encode_id_vectors
from linkdo.ai import AIProvider, ProviderError
from linkdo.ai.vectors import embedding_hash, embedding_text
from linkdo.db import copy, retry_on_deadlock
from tasks.models import Task
from workspaces.models import Workspace

logger = logging.getLogger("linkdo.embeddings")

_UPSERT_VECTOR_SQL = """
INSERT INTO tasks_embedding (task_id, workspace_id, vector) VALUES (%s, %s, %s::vector)
ON CONFLICT (task_id) DO UPDATE SET vector = EXCLUDED.vector
"""

# Lock order, everywhere: the workspace row first (workspace_begin_change / workspace_lock), then
# task rows. A batch that touched task rows first and then needed its workspace (the embedding's
# foreign key, the placement's change version) deadlocked with every concurrent writer.
# The batch's workspaces are locked in id order (two batches over several workspaces must not
# deadlock either) and each takes a change version: a task whose embedding becomes ready is a change
# devices pull, or they would show it pending for good.
_LOCK_WORKSPACES_SQL = """
WITH locked AS (
    SELECT id FROM workspaces_workspace
    WHERE id IN (SELECT DISTINCT workspace_id FROM tasks_task WHERE id = ANY(%s::bigint[]))
    ORDER BY id FOR UPDATE
)
UPDATE workspaces_workspace w SET change_version = w.change_version + 1 FROM locked
WHERE w.id = locked.id RETURNING w.id, w.change_version
"""

# One statement stores a whole batch. A vector is stored only for the text it was computed from:
# a task whose title, description or tags changed since it was read (edited meanwhile) is left
# alone, so a stale vector is never marked ready. Returns the stored tasks and whether each waits
# to be placed on the map.
_STORE_BATCH_SQL = """
WITH batch AS (
    SELECT v.id, t.workspace_id, v.embedding, v.hash
    FROM jsonb_to_recordset(%s::jsonb)
        AS v(id bigint, title text, description text, tags varchar[], embedding text, hash text)
    JOIN tasks_task t ON t.id = v.id AND t.title = v.title AND t.description = v.description
        AND t.tags = v.tags AND t.deleted_at IS NULL
),
hashes AS (
    UPDATE tasks_task t SET embedding_hash = batch.hash, version = w.change_version
    FROM batch, workspaces_workspace w WHERE t.id = batch.id AND w.id = t.workspace_id
    RETURNING t.id, t.workspace_id, t.place_pending
),
vectors AS (
    INSERT INTO tasks_embedding (task_id, workspace_id, vector)
    SELECT id, workspace_id, embedding::vector FROM batch
    ON CONFLICT (task_id) DO UPDATE SET vector = EXCLUDED.vector
)
SELECT id, workspace_id, place_pending FROM hashes
"""

# Project freshly embedded tasks that wait for a place; a client that moved one meanwhile cleared
# the mark, and its position stays.
_PLACE_SQL = """
UPDATE tasks_task AS t SET x = v.x, y = v.y, place_pending = false, version = %(version)s,
    field_versions = t.field_versions || jsonb_build_object('x', %(version)s, 'y', %(version)s)
FROM unnest(%(ids)s::bigint[], %(xs)s::float8[], %(ys)s::float8[]) AS v(id, x, y)
WHERE t.id = v.id AND t.workspace_id = %(ws)s AND t.place_pending AND t.deleted_at IS NULL
"""


def task_text(task: Task) -> str:
    return embedding_text(task.title, task.description, task.tags)


def vector_literal(vector) -> str:
    return "[" + ",".join(repr(float(v)) for v in np.asarray(vector).ravel()) + "]"


def embed_or_none(
    texts: list[str], *, provider: AIProvider, deadline_s: float
) -> np.ndarray | None:
    try:
        return provider.embed(texts, deadline_s=deadline_s)
    except ProviderError as exc:
        logger.warning("embedding pending for %d text(s): %s", len(texts), exc)
        return None


def task_embed(*, task: Task, provider: AIProvider) -> np.ndarray | None:
    """Embed the task's current text and set its hash (in memory); on failure mark it pending.
    Returns the vector, which the caller stores with `embedding_store` once the task is saved."""
    text = task_text(task)
    vectors = embed_or_none([text], provider=provider, deadline_s=settings.LINKDO_EMBED_TIMEOUT_S)
    if vectors is None:
        task.embedding_hash = None
        return None
    task.embedding_hash = embedding_hash(provider.embedding_model, text)
    return vectors[0]


def embedding_store(*, task: Task, vector: np.ndarray) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT_VECTOR_SQL, [task.pk, task.workspace_id, vector_literal(vector)])


# The row shape tasks_embed_batch takes.
BATCH_ROW_FIELDS = ("id", "title", "description", "tags")


def tasks_embed_batch(
    *, rows: Iterable[tuple], provider: AIProvider, deadline_s: float | None = None
) -> int:
    """Embed (id, title, description, tags) rows in one provider call, store the vectors
    and place the tasks that wait for a place, in one transaction. Returns how many were stored;
    raises ProviderError when the provider fails (nothing is stored then)."""
    rows = list(rows)
    if not rows:
        return 0
    texts = [embedding_text(title, description, tags) for _, title, description, tags in rows]
    limit = settings.LINKDO_EMBED_BATCH_TIMEOUT_S
    vectors = provider.embed(
        texts, deadline_s=limit if deadline_s is None else min(limit, deadline_s)
    )
    batch = [
        {
            "id": task_id,
            "title": title,
            "description": description,
            "tags": tags,
            "embedding": vector_literal(vector),
            "hash": embedding_hash(provider.embedding_model, text),
        }
        for (task_id, title, description, tags), text, vector in zip(
            rows, texts, vectors, strict=True
        )
    ]
    vector_of = {row[0]: vector for row, vector in zip(rows, vectors, strict=True)}
    return _store_batch(batch, vector_of)


@retry_on_deadlock
def _store_batch(batch: list[dict], vector_of: dict[int, np.ndarray]) -> int:
    """Store a computed batch in one transaction (run again if it lost a deadlock: the vectors are
    kept, the provider is not asked twice)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_LOCK_WORKSPACES_SQL, [[row["id"] for row in batch]])
            versions = dict(cursor.fetchall())
            cursor.execute(_STORE_BATCH_SQL, [json.dumps(batch)])
            stored = cursor.fetchall()
        to_place: dict[str, list[int]] = {}
        for task_id, workspace_id, place_pending in stored:
            if place_pending:
                to_place.setdefault(workspace_id, []).append(task_id)
        for workspace_id, ids in to_place.items():
            vectors = np.vstack([vector_of[i] for i in ids])
            _place(workspace_id, ids, vectors, version=versions[workspace_id])
    return len(stored)


def _place(workspace_id: str, ids: list[int], vectors: np.ndarray, *, version: int) -> None:
    """Where the workspace's map basis projects the vectors, under a new change version (other
    devices pull the new places). A workspace with no basis yet gets one once it has a few embedded
    tasks (graph.services.map_basis); before that the tasks keep their provisional places and the
    mark is dropped (an arrange places them)."""
    from graph.services import map_basis  # graph imports tasks

    workspace = Workspace(pk=workspace_id)
    basis = map_basis(workspace=workspace)
    if basis is None or basis.mean.shape[0] != vectors.shape[1]:  # no map yet, or another model
        Task.objects.filter(pk__in=ids, place_pending=True).update(place_pending=False)
        return
    coords = basis.project(vectors)
    with connection.cursor() as cursor:
        cursor.execute(
            _PLACE_SQL,
            {
                "version": version,
                "ids": ids,
                "xs": coords[:, 0].tolist(),
                "ys": coords[:, 1].tolist(),
                "ws": workspace_id,
            },
        )


def embeddings_store_many(*, workspace_id: str, vectors: dict[int, np.ndarray]) -> None:
    """Store the vectors of many tasks (task pk -> vector): one binary COPY into a temporary table,
    one upsert from it (formatting vectors as text cost more than the whole rest of the write)."""
    if not vectors:
        return
    ids = np.fromiter(vectors, dtype=np.int64, count=len(vectors))
    matrix = np.vstack([np.asarray(vectors[int(i)], dtype=np.float32) for i in ids])
    with connection.cursor() as cursor:
        # Emptied here, not only at commit: a caller may store twice in one transaction.
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS incoming_vectors (id int8, vector vector); "
            "TRUNCATE incoming_vectors"
        )
    with copy("COPY incoming_vectors FROM STDIN (FORMAT BINARY)") as stream:
        stream.write(encode_id_vectors(ids, matrix))
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tasks_embedding (task_id, workspace_id, vector) "
            "SELECT id, %s, vector FROM incoming_vectors "
            "ON CONFLICT (task_id) DO UPDATE SET vector = EXCLUDED.vector",
            [workspace_id],
        )
