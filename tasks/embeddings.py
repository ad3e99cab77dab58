"""Embedding tasks: one task on write (within a deadline), or many in provider batches.

A provider failure never loses a task: the task is stored with its embedding pending
(`embedding_hash` NULL) and `manage.py reembed --pending` fills it in later.
"""

import logging
from collections.abc import Iterable

import numpy as np
from django.conf import settings
from django.db import connection

from linkdo.ai import AIProvider, ProviderError
from linkdo.ai.vectors import embedding_hash, embedding_text
from tasks.models import Task

logger = logging.getLogger("linkdo.embeddings")

# One statement stores a whole batch; a row whose updated_at moved since it was read (the user
# edited it meanwhile) is left alone, so a stale vector never overwrites a fresh edit.
_STORE_SQL = """
UPDATE tasks_task AS t SET embedding = v.embedding::vector, embedding_hash = v.hash
FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[], %s::text[]) AS v(id, updated_at, embedding, hash)
WHERE t.id = v.id AND t.updated_at = v.updated_at
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


def task_embed(*, task: Task, provider: AIProvider) -> bool:
    """Set the task's vector and hash in memory for its current text; on failure mark it pending."""
    text = task_text(task)
    vectors = embed_or_none([text], provider=provider, deadline_s=settings.LINKDO_EMBED_TIMEOUT_S)
    if vectors is None:
        task.embedding_hash = None
        return False
    task.embedding = vectors[0]
    task.embedding_hash = embedding_hash(provider.embedding_model, text)
    return True


def _vector_literal(vector: np.ndarray) -> str:
    return "[" + ",".join(repr(float(v)) for v in vector) + "]"


def tasks_embed_batch(*, rows: Iterable[tuple], provider: AIProvider) -> int:
    """Embed (id, updated_at, title, description, tags) rows in provider batches and store them with
    one statement. Returns how many rows were stored; raises ProviderError when the provider fails."""
    rows = list(rows)
    if not rows:
        return 0
    texts = [embedding_text(title, description, tags) for _, _, title, description, tags in rows]
    vectors = provider.embed(texts, deadline_s=settings.LINKDO_EMBED_BATCH_TIMEOUT_S)
    params = [
        [row[0] for row in rows],
        [row[1] for row in rows],
        [_vector_literal(vector) for vector in vectors],
        [embedding_hash(provider.embedding_model, text) for text in texts],
    ]
    with connection.cursor() as cursor:
        cursor.execute(_STORE_SQL, params)
        return cursor.rowcount
