"""Embedding tasks and storing their vectors: one task on write (within a deadline), or a batch.

A provider failure never loses a task: the task is stored with its embedding pending
(`embedding_hash` NULL) and filled in later (graph.map.embed_pending). Vectors live in their own
table (tasks.models.Embedding), written only here and only when a task is really (re-)embedded.
Placing embedded tasks on the map is graph.map's part.
"""

import json
import logging

import numpy as np
from django.conf import settings
from django.db import connection
from pgvector import Vector

from linkdo.ai import AIProvider, ProviderError
from linkdo.ai.vectors import embedding_hash, embedding_text
from linkdo.db import copy_into_temp_table
from linkdo.pgbinary import encode_id_vectors
from tasks.models import Task
from workspaces.changes import notify_on_coordinator, on_citus, with_and_without_notify

logger = logging.getLogger("linkdo.embeddings")

# Every vector write: rows (task id, workspace id, vector) from `{rows}`.
_UPSERT_SQL = """
INSERT INTO tasks_embedding (task_id, workspace_id, vector) {rows}
ON CONFLICT (workspace_id, task_id) DO UPDATE SET vector = EXCLUDED.vector
"""
# Up to this many vectors go as pgvector's text in one statement; more as one binary COPY
# (formatting thousands of vectors as text cost more than the whole rest of an import).
COPY_ABOVE = 200

# Lock order, everywhere: the workspace row first (workspace_begin_change / workspace_lock), then
# task rows. A batch that touched task rows first and then needed its workspace (the embedding's
# foreign key, the placement's change version) deadlocked with every concurrent writer.
# The batch's workspaces are locked in id order (two batches over several workspaces must not
# deadlock either) and each takes a change version: a task whose embedding becomes ready is a change
# devices pull, or they would show it pending for good. FOR NO KEY UPDATE waits for writers (FOR
# UPDATE) and other marks, not for batches storing vectors (FOR KEY SHARE): in the time one batch
# inserts into the HNSW index, another marks its tasks (a FOR UPDATE here waited for that insert).
# Each bumped workspace's change is notified at commit (workspaces.changes).
_LOCK_WORKSPACES_SQL = with_and_without_notify(
    """
WITH locked AS (
    SELECT id FROM workspaces_workspace
    WHERE id IN (SELECT DISTINCT workspace_id FROM tasks_task WHERE id = ANY(%s::bigint[]))
    ORDER BY id FOR NO KEY UPDATE
), bumped AS (
    UPDATE workspaces_workspace w SET change_version = w.change_version + 1 FROM locked
    WHERE w.id = locked.id RETURNING w.id, w.change_version
)
SELECT b.id, b.change_version, {notify} FROM bumped b
""",
    "b.id",
    "b.change_version",
)

# A batch's hashes are stored only for the text they were computed from: a task whose title,
# description or tags changed since it was read (edited meanwhile) is left alone, so a stale vector
# is never marked ready. With an error (a text the provider refused) the tasks are marked failed
# instead, for that text only, and keep their provisional place (nothing will project them; an
# arrange puts them beside their tag-mates). Returns the stored tasks and whether each waits to be
# placed on the map.
_STORE_HASHES_SQL = """
WITH batch AS (
    SELECT v.id, v.hash
    FROM jsonb_to_recordset(%(batch)s::jsonb)
        AS v(id bigint, title text, description text, tags varchar[], hash text)
    JOIN tasks_task t ON t.id = v.id AND t.title = v.title AND t.description = v.description
        AND t.tags = v.tags AND t.deleted_at IS NULL
)
UPDATE tasks_task t SET embedding_hash = batch.hash, embedding_error = %(error)s::varchar,
    place_pending = t.place_pending AND %(error)s::varchar IS NULL, version = w.change_version
FROM batch, workspaces_workspace w WHERE t.id = batch.id AND w.id = t.workspace_id
RETURNING t.id, t.workspace_id, t.place_pending
"""


def task_text(task: Task) -> str:
    return embedding_text(task.title, task.description, task.tags)


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
    Returns the vector, which the caller stores with `embeddings_store` once the task is saved."""
    text = task_text(task)
    vectors = embed_or_none([text], provider=provider, deadline_s=settings.LINKDO_EMBED_TIMEOUT_S)
    if vectors is None:
        task.embedding_hash = None
        return None
    task.embedding_hash = embedding_hash(provider.embedding_model, text)
    return vectors[0]


def embeddings_store(*, workspace_id: str, vectors: dict[int, np.ndarray]) -> None:
    """Insert or replace the vectors of the workspace's tasks (task pk -> vector)."""
    if not vectors:
        return
    if len(vectors) <= COPY_ABOVE:
        rows = "SELECT v.id, %s, v.vector::vector FROM unnest(%s::bigint[], %s::text[]) AS v(id, vector)"
        texts = [Vector(np.asarray(v, dtype=np.float32)).to_text() for v in vectors.values()]
        with connection.cursor() as cursor:
            cursor.execute(_UPSERT_SQL.format(rows=rows), [workspace_id, list(vectors), texts])
        return
    ids = np.fromiter(vectors, dtype=np.int64, count=len(vectors))
    matrix = np.vstack([np.asarray(vectors[int(i)], dtype=np.float32) for i in ids])
    copy_into_temp_table(
        "incoming_vectors", "id int8, vector vector", encode_id_vectors(ids, matrix)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT_SQL.format(rows="SELECT id, %s, vector FROM incoming_vectors"), [workspace_id]
        )


# The row shape embeddings_store_fresh and embeddings_mark_ready take.
BATCH_ROW_FIELDS = ("id", "title", "description", "tags")

# A batch's vectors are written under a KEY SHARE lock of their workspaces (id order): every writer
# of a workspace's tasks takes its row FOR UPDATE first (workspace_begin_change, workspace_lock), so
# no task text changes meanwhile, while several batches of one workspace insert into the HNSW index
# at once (each on its own connection; the insert is most of a batch's time) and other batches mark
# theirs ready (FOR NO KEY UPDATE, which a KEY SHARE lock lets through).
_SHARE_WORKSPACES_SQL = """
SELECT id FROM workspaces_workspace
WHERE id IN (SELECT DISTINCT workspace_id FROM tasks_task WHERE id = ANY(%s::bigint[]))
ORDER BY id FOR KEY SHARE
"""
# Only the tasks whose text is still the one embedded get their vector. A statement of its own,
# after the lock: one that waited for a writer inside the locking statement would read the texts as
# they were before that writer committed (READ COMMITTED takes a statement's snapshot at its start).
_FRESH_ROWS_SQL = """
SELECT t.id, t.workspace_id
FROM jsonb_to_recordset(%s::jsonb) AS v(id bigint, title text, description text, tags varchar[])
JOIN tasks_task t ON t.id = v.id AND t.title = v.title AND t.description = v.description
    AND t.tags = v.tags AND t.deleted_at IS NULL
"""


def embeddings_mark_failed(*, rows: list[tuple], model: str, reason: str) -> list[int]:
    """Mark the (id, title, description, tags) rows whose text the provider refused as failed, with
    the reason, inside the caller's transaction (their workspaces locked and given a change version
    as embeddings_mark_ready does: devices pull the new state). Returns the ids marked."""
    batch = _batch_json(rows, model)
    with connection.cursor() as cursor:
        _lock_workspaces(cursor, batch)
        cursor.execute(_STORE_HASHES_SQL, {"batch": json.dumps(batch), "error": reason[:300]})
        return [row[0] for row in cursor.fetchall()]


def _lock_workspaces(cursor, batch: list[dict]) -> dict[str, int]:
    """Lock and bump the batch's workspaces (_LOCK_WORKSPACES_SQL); their new versions by id."""
    cursor.execute(_LOCK_WORKSPACES_SQL[on_citus()], [[row["id"] for row in batch]])
    versions = {workspace_id: version for workspace_id, version, _ in cursor.fetchall()}
    if on_citus():
        notify_on_coordinator(cursor, list(versions.items()))
    return versions


def _batch_json(rows: list[tuple], model: str | None = None) -> list[dict]:
    batch = [
        {"id": task_id, "title": title, "description": description, "tags": tags}
        for task_id, title, description, tags in rows
    ]
    if model is not None:
        for row in batch:
            text = embedding_text(row["title"], row["description"], row["tags"])
            row["hash"] = embedding_hash(model, text)
    return batch


def embeddings_store_fresh(*, rows: list[tuple], vectors: dict[int, np.ndarray]) -> list[int]:
    """Store the vectors (task pk -> vector) computed for (id, title, description, tags) rows whose
    task still has that text, inside the caller's transaction, holding their workspaces in KEY
    SHARE mode (see _SHARE_WORKSPACES_SQL). The tasks stay pending until embeddings_mark_ready, in
    a transaction of its own (the shared lock cannot be raised to the marks' lock without two
    batches deadlocking). Returns the ids whose vector was stored."""
    with connection.cursor() as cursor:
        cursor.execute(_SHARE_WORKSPACES_SQL, [[row[0] for row in rows]])
        cursor.execute(_FRESH_ROWS_SQL, [json.dumps(_batch_json(rows))])
        fresh = cursor.fetchall()
    by_workspace: dict[str, dict[int, np.ndarray]] = {}
    for task_id, workspace_id in fresh:
        by_workspace.setdefault(workspace_id, {})[task_id] = vectors[task_id]
    for workspace_id, workspace_vectors in by_workspace.items():
        embeddings_store(workspace_id=workspace_id, vectors=workspace_vectors)
    return [task_id for task_id, _ in fresh]


def embeddings_mark_ready(
    *, rows: list[tuple], model: str
) -> tuple[list[tuple[int, str, bool]], dict[str, int]]:
    """Mark the (id, title, description, tags) rows whose vectors embeddings_store_fresh stored as
    embedded, inside the caller's transaction: lock the rows' workspaces (each takes a change
    version) and store the hashes of the tasks whose text is still the one embedded (a task edited
    since its vector was stored stays pending). Returns the marked tasks as (id, workspace id,
    place pending) and each workspace's new change version."""
    batch = _batch_json(rows, model)
    with connection.cursor() as cursor:
        versions = _lock_workspaces(cursor, batch)
        cursor.execute(_STORE_HASHES_SQL, {"batch": json.dumps(batch), "error": None})
        stored = cursor.fetchall()
    return stored, versions
