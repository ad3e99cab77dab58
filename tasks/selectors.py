"""Reads of tasks, shaped straight from `.values()` rows: no model instances on list paths."""

import math
from collections import Counter

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, F, Func, Q, QuerySet, TextField, Value
from pgvector.django import CosineDistance

from linkdo.ai import AIProvider
from linkdo.db import set_local_sql
from linkdo.fields import iso_datetime
from tasks.embeddings import embed_or_none
from tasks.models import Embedding, Task
from tasks.task_json import EMBEDDING_KEY, TASK_JSON_KEYS
from workspaces.models import Workspace

# Measured (bench/map_layout.py, 100,000 tasks, 100 queries, two index builds): at 100 one build
# left a query with none of its true neighbours (mean recall@10 0.977); at 400 recall 0.997-0.999
# with p50 still ~10 ms. The graph differs from build to build, so the margin matters.
HNSW_EF_SEARCH = 400

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
    "due_timezone",
    "recurrence",
    "embedding_hash",
    "embedding_error",
    "x",
    "y",
    "cluster",
    "created_at",
    "updated_at",
    "completed_at",
)


def embedding_status(embedding_hash: str | None, embedding_error: str | None) -> str:
    """pending (no vector for the current text yet), failed (the provider refused this text; not
    asked again until it changes) or ready."""
    if embedding_hash is None:
        return "pending"
    return "failed" if embedding_error else "ready"


def link_pairs_estimate(*, workspace, tag_lists: list[list[str]]) -> int:
    """The task pairs auto-linking ranks when tasks with these tag lists are compared with every
    live tag-mate (and with each other): each task once per shared tag, an upper bound."""
    tagged = [tags for tags in tag_lists if tags]
    if not tagged:
        return 0
    new = Counter(tag for tags in tagged for tag in tags)
    stored = tag_counts(workspace=workspace, tags=list(new))
    return sum(stored.get(tag, 0) + new[tag] for tags in tagged for tag in tags)


def task_row_to_json(row: tuple, *, include_embedding: bool = False) -> dict:
    """The task JSON (tasks.task_json) from a TASK_FIELDS row (+ the embedding when asked).

    Rows are tuples from `values_list`: list paths build no model instances and no per-row dicts.
    """
    (
        workspace_id, client_id, title, description, priority, status, category, tags,
        due, due_has_time, due_timezone, recurrence, embedding_hash, embedding_error, x, y, cluster, created_at, updated_at,
        completed_at,
        *rest,
    ) = row  # fmt: skip
    if due is not None:
        due = iso_datetime(due) if due_has_time else due.date().isoformat()
    # In the order of TASK_JSON_KEYS (tasks.task_json); tests/tasks/test_task_json.py checks
    # every path's keys (a dict literal was 0.5 us a row faster: 5 ms of a 10,000-task graph).
    data = dict(zip(TASK_JSON_KEYS, (
        workspace_id, client_id, title, description, priority, status, category, tags, due,
        due_timezone, recurrence, embedding_status(embedding_hash, embedding_error),
        None if embedding_hash is None else embedding_error,
        x, y, cluster, iso_datetime(created_at), iso_datetime(updated_at),
        iso_datetime(completed_at),
    ), strict=False))  # fmt: skip
    if include_embedding:
        data[EMBEDDING_KEY] = None if rest[0] is None else [float(v) for v in rest[0]]
    return data


def _fields(include_embedding: bool) -> tuple[str, ...]:
    return TASK_FIELDS + (("embedding__vector",) if include_embedding else ())


def task_to_json(task: Task, *, include_embedding: bool = False) -> dict:
    row = tuple(getattr(task, name) for name in TASK_FIELDS)
    if include_embedding:
        row += (task_vector(task),)
    return task_row_to_json(row, include_embedding=include_embedding)


def task_vector(task: Task):
    """The task's stored vector (possibly stale while pending), or None."""
    return (
        Embedding.objects.of(task.workspace_id)
        .filter(task=task)
        .values_list("vector", flat=True)
        .first()
    )


def task_list_to_json(queryset: QuerySet[Task], *, include_embedding: bool = False) -> list[dict]:
    rows = queryset.values_list(*_fields(include_embedding))
    return [task_row_to_json(row, include_embedding=include_embedding) for row in rows]


def tasks_nearest(
    queryset: QuerySet[Task],
    vector,
    *,
    limit: int,
    fields: tuple[str, ...] = TASK_FIELDS,
    exclude_id: int | None = None,
) -> list[tuple]:
    """The one nearest-neighbour read (similar tasks, search, tag suggestions): `fields` + the
    cosine distance of the embedded tasks of `queryset` nearest to `vector`, nearest first.

    Small workspaces are scanned exactly (the planner picks the workspace index); big ones use the
    HNSW index, whose scan filtered by workspace only returns enough rows with pgvector 0.8's
    iterative scans, switched on for this transaction (see docs/PERFORMANCE.md).
    """
    queryset = queryset.filter(embedding__isnull=False)
    if exclude_id is not None:
        queryset = queryset.exclude(pk=exclude_id)
    rows = (
        queryset.annotate(distance=CosineDistance("embedding__vector", vector))
        .order_by("distance")
        .values_list(*fields, "distance")[:limit]
    )
    with transaction.atomic():
        _enable_iterative_hnsw_scan()
        # A zero vector (stored before imports refused them) has no cosine distance: NaN, which
        # PostgreSQL sorts last. Such a row is no neighbour of anything, and NaN is not JSON.
        return [row for row in rows if not math.isnan(row[-1])]


def tasks_by_similarity(
    queryset: QuerySet[Task], vector, *, limit: int, exclude_id: int | None = None
) -> list[dict]:
    """Task JSON of the nearest tasks (tasks_nearest), each with `score` = cosine similarity."""
    rows = tasks_nearest(queryset, vector, limit=limit, exclude_id=exclude_id)
    return [{**task_row_to_json(row[:-1]), "score": round(1.0 - row[-1], 6)} for row in rows]


def _enable_iterative_hnsw_scan() -> None:
    """pgvector >= 0.8: keep scanning the HNSW graph until enough rows pass the workspace filter.
    On 0.7 (still supported with DATABASE_URL) the settings do not exist and exact scans remain.
    On Citus the SET LOCALs are propagated to the worker that runs the read (the transaction's
    worker connections get them too)."""
    statement = set_local_sql(
        {"hnsw.iterative_scan": "strict_order", "hnsw.ef_search": str(HNSW_EF_SEARCH)}
    )
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    except DatabaseError:
        pass


def tasks_search(
    queryset: QuerySet[Task], *, q: str, limit: int, provider: AIProvider
) -> list[dict]:
    """The tasks of `queryset` ranked by similarity to the query's embedding; a plain substring
    match when the provider cannot embed it right now (the answer says so with `"score": null`)."""
    vectors = embed_or_none([q], provider=provider, deadline_s=settings.LINKDO_EMBED_TIMEOUT_S)
    if vectors is None:
        return tasks_matching_text(queryset, q, limit=limit)
    return tasks_by_similarity(queryset, vectors[0], limit=limit)


def tasks_matching_text(queryset: QuerySet[Task], text: str, *, limit: int) -> list[dict]:
    """Plain substring search, for when the query cannot be embedded (provider down)."""
    tag_text = Func(F("tags"), Value(" "), function="array_to_string", output_field=TextField())
    matches = queryset.annotate(tag_text=tag_text).filter(
        Q(title__icontains=text) | Q(description__icontains=text) | Q(tag_text__icontains=text)
    )
    return [
        {**task_row_to_json(row), "score": None}
        for row in matches.values_list(*TASK_FIELDS)[:limit]
    ]


_TASK_BY_ID_SQL = (
    "SELECT " + ", ".join(TASK_FIELDS) + " FROM tasks_task "
    "WHERE workspace_id = %s AND client_id = %s AND deleted_at IS NULL"
)


def task_json_by_id(
    *, workspace: Workspace, client_id: str, include_embedding: bool = False
) -> dict | None:
    """One live task's JSON (with its stored vector when asked), or None. Without the vector, the
    hottest read: one hand-written statement (building it with the ORM cost more than running it)."""
    if include_embedding:
        rows = task_list(workspace=workspace).filter(client_id=client_id)
        found = task_list_to_json(rows, include_embedding=True)
        return found[0] if found else None
    with connection.cursor() as cursor:
        cursor.execute(_TASK_BY_ID_SQL, [workspace.pk, client_id])
        row = cursor.fetchone()
    return None if row is None else task_row_to_json(row)


def task_list(*, workspace: Workspace) -> QuerySet[Task]:
    """The workspace's live tasks (tombstones of deleted ones are only for sync)."""
    return Task.objects.live(workspace).order_by("created_at", "id")


def tag_counts(*, workspace: Workspace, tags: list[str] | None = None) -> dict[str, int]:
    """How many live tasks of the workspace carry each tag (only `tags`, when given)."""
    only = "" if tags is None else "AND tags && %s::varchar[] AND tag = ANY(%s::varchar[]) "
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tag, count(*) FROM tasks_task, unnest(tags) AS tag "
            f"WHERE workspace_id = %s AND deleted_at IS NULL {only}GROUP BY tag",
            [workspace.pk] + ([] if tags is None else [tags, tags]),
        )
        return dict(cursor.fetchall())


def tag_list(*, workspace: Workspace) -> list[str]:
    """The workspace's distinct tags, sorted by code point (stable across database collations)."""
    return sorted(tag_counts(workspace=workspace))


def category_list(*, workspace: Workspace) -> list[str]:
    """The workspace's categories in use, most used first (ties alphabetical)."""
    rows = (
        task_list(workspace=workspace)
        .order_by()
        .values("category")
        .annotate(n=Count("id"))
        .order_by("-n", "category")
        .values_list("category", flat=True)
    )
    return list(rows)
