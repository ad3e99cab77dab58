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
from workspaces.changes import VersionStatement

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
# A batch's workspaces are taken one statement each, in id order (two batches over several
# workspaces must not deadlock either; on Citus a lock over several workspaces' rows is refused),
# and each takes a change version: a task whose embedding becomes ready is a change devices pull, or
# they would show it pending for good. The UPDATE locks the row FOR NO KEY UPDATE, which waits for
# writers (FOR UPDATE) and other marks, not for batches storing vectors (FOR KEY SHARE): in the time
# one batch inserts into the HNSW index, another marks its tasks (a FOR UPDATE here waited for that
# insert). The change is notified at commit (workspaces.changes).
_MARK_VERSION = VersionStatement(
    """
UPDATE workspaces_workspace w SET change_version = w.change_version + 1 WHERE w.id = %s
RETURNING w.change_version, {notify}
""",
    "w.id",
    "w.change_version",
)

# A batch's hashes are stored only for the text they were computed from: a task whose title,
# description or tags changed since it was read (edited meanwhile) is left alone, so a stale vector
# is never marked ready. With an error (a text the provider refused) the tasks are marked failed
# instead, for that text only, and keep their provisional place (nothing will project them; an
# arrange puts them beside their tag-mates). Returns the stored tasks and whether each waits to be
# placed on the map. One workspace per statement (on Citus: one node).
_STORE_HASHES_SQL = """
UPDATE tasks_task t SET embedding_hash = v.hash, embedding_error = %(error)s::varchar,
    place_pending = t.place_pending AND %(error)s::varchar IS NULL, version = %(version)s
FROM jsonb_to_recordset(%(batch)s::jsonb)
    AS v(id bigint, title text, description text, tags varchar[], hash text)
WHERE t.workspace_id = %(ws)s AND t.id = v.id AND t.title = v.title
    AND t.description = v.description AND t.tags = v.tags AND t.deleted_at IS NULL
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
BATCH_ROW_FIELDS = ("id", "workspace_id", "title", "description", "tags")

# A batch's vectors are written under a KEY SHARE lock of their workspaces (id order): every writer
# of a workspace's tasks takes its row FOR UPDATE first (workspace_begin_change, workspace_lock), so
# no task text changes meanwhile, while several batches of one workspace insert into the HNSW index
# at once (each on its own connection; the insert is most of a batch's time) and other batches mark
# theirs ready (FOR NO KEY UPDATE, which a KEY SHARE lock lets through).
_SHARE_WORKSPACE_SQL = "SELECT 1 FROM workspaces_workspace WHERE id = %s FOR KEY SHARE"
# Only the tasks whose text is still the one embedded get their vector. A statement of its own,
# after the lock: one that waited for a writer inside the locking statement would read the texts as
# they were before that writer committed (READ COMMITTED takes a statement's snapshot at its start).
_FRESH_ROWS_SQL = """
SELECT t.id
FROM jsonb_to_recordset(%s::jsonb) AS v(id bigint, title text, description text, tags varchar[])
JOIN tasks_task t ON t.id = v.id AND t.workspace_id = %s AND t.title = v.title
    AND t.description = v.description AND t.tags = v.tags AND t.deleted_at IS NULL
"""


def embeddings_mark_failed(*, rows: list[tuple], model: str, reason: str) -> list[int]:
    """Mark the BATCH_ROW_FIELDS rows whose text the provider refused as failed, with the reason,
    inside the caller's transaction (their workspaces locked and given a change version as
    embeddings_mark_ready does: devices pull the new state). Returns the ids marked."""
    marked = []
    with connection.cursor() as cursor:
        for workspace_id, group in _by_workspace(rows):
            version = _MARK_VERSION.run(cursor, [workspace_id], workspace_id)
            params = {"batch": json.dumps(_batch_json(group, model)), "error": reason[:300],
                      "version": version, "ws": workspace_id}  # fmt: skip
            cursor.execute(_STORE_HASHES_SQL, params)
            marked += [row[0] for row in cursor.fetchall()]
    return marked


def _by_workspace(rows: list[tuple]) -> list[tuple[str, list[tuple]]]:
    """The BATCH_ROW_FIELDS rows by workspace, in workspace id order (the lock order)."""
    groups: dict[str, list[tuple]] = {}
    for row in rows:
        groups.setdefault(row[1], []).append(row)
    return sorted(groups.items())


def _batch_json(rows: list[tuple], model: str | None = None) -> list[dict]:
    batch = [
        {"id": task_id, "title": title, "description": description, "tags": tags}
        for task_id, _, title, description, tags in rows
    ]
    if model is not None:
        for row in batch:
            text = embedding_text(row["title"], row["description"], row["tags"])
            row["hash"] = embedding_hash(model, text)
    return batch


def embeddings_store_fresh(*, rows: list[tuple], vectors: dict[int, np.ndarray]) -> list[int]:
    """Store the vectors (task pk -> vector) computed for BATCH_ROW_FIELDS rows whose task still
    has that text, inside the caller's transaction, holding their workspaces in KEY SHARE mode (see
    _SHARE_WORKSPACE_SQL). The tasks stay pending until embeddings_mark_ready, in a transaction of
    its own (the shared lock cannot be raised to the marks' lock without two batches
    deadlocking). Returns the ids whose vector was stored."""
    stored = []
    for workspace_id, group in _by_workspace(rows):
        with connection.cursor() as cursor:
            cursor.execute(_SHARE_WORKSPACE_SQL, [workspace_id])
            cursor.execute(_FRESH_ROWS_SQL, [json.dumps(_batch_json(group)), workspace_id])
            fresh = [row[0] for row in cursor.fetchall()]
        embeddings_store(workspace_id=workspace_id, vectors={i: vectors[i] for i in fresh})
        stored += fresh
    return stored


def embeddings_mark_ready(
    *, rows: list[tuple], model: str
) -> tuple[list[tuple[int, str, bool]], dict[str, int]]:
    """Mark the BATCH_ROW_FIELDS rows whose vectors embeddings_store_fresh stored as embedded,
    inside the caller's transaction: lock the rows' workspaces (each takes a change version) and
    store the hashes of the tasks whose text is still the one embedded (a task edited since its
    vector was stored stays pending). Returns the marked tasks as (id, workspace id, place
    pending) and each workspace's new change version."""
    stored, versions = [], {}
    with connection.cursor() as cursor:
        for workspace_id, group in _by_workspace(rows):
            version = versions[workspace_id] = _MARK_VERSION.run(
                cursor, [workspace_id], workspace_id
            )
            params = {"batch": json.dumps(_batch_json(group, model)), "error": None,
                      "version": version, "ws": workspace_id}  # fmt: skip
            cursor.execute(_STORE_HASHES_SQL, params)
            stored += cursor.fetchall()
    return stored, versions
