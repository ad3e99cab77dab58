"""Reads of edges and of the map: edge JSON, the whole graph, embedding matrices, the stored
basis, similarity suggestions."""

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from psycopg import sql

from graph.layout import Basis
from graph.models import Edge
from linkdo.db import copy
from linkdo.opaque import internal_id, public_id, public_ids
from linkdo.pgbinary import parse_id_vectors
from tasks.models import Task
from tasks.selectors import task_list, task_list_to_json
from workspaces.models import Workspace

EDGE_FIELDS = ("id", "workspace_id", "source__client_id", "target__client_id", "weight", "origin")


# Edge ids go out opaque (linkdo.opaque): a workspace must not count others' edges from the gaps.
EDGE_ID_PURPOSE = "edge"


def edge_row_to_json(row: tuple, public: str | None = None) -> dict:
    edge_id, workspace_id, source, target, weight, origin = row
    return {
        "id": public or public_id(edge_id, EDGE_ID_PURPOSE),
        "workspace_id": workspace_id,
        "source": source,
        "target": target,
        "weight": weight,
        "origin": origin,
    }


def edge_to_json(edge: Edge) -> dict:
    return edge_row_to_json(
        (edge.pk, edge.workspace_id, edge.source.client_id, edge.target.client_id, edge.weight,
         edge.origin)
    )  # fmt: skip


def edge_list(*, workspace: Workspace) -> QuerySet[Edge]:
    """The workspace's live edges (tombstones are only for sync). Their ends join on the workspace
    too (SameWorkspaceForeignKey), so on Citus the statement runs on one node."""
    return Edge.objects.live(workspace).order_by("id")


def edge_list_to_json(queryset: QuerySet[Edge]) -> list[dict]:
    rows = list(queryset.values_list(*EDGE_FIELDS))
    ids = public_ids([row[0] for row in rows], EDGE_ID_PURPOSE)
    return [edge_row_to_json(row, public) for row, public in zip(rows, ids, strict=True)]


def edge_by_public_id(*, workspace: Workspace, public: str) -> Edge | None:
    """The workspace's live edge behind a public id, or None."""
    edge_id = internal_id(public, EDGE_ID_PURPOSE)
    if edge_id is None:
        return None
    return edge_list(workspace=workspace).filter(pk=edge_id).first()


# What `?fields=compact` leaves out: the descriptions (the bulk of a big map), the workspace id
# repeated on every row (the client sent it) and the timestamps, which the map does not draw.
COMPACT_TASK_OMITS = ("workspace_id", "description", "created_at", "updated_at", "completed_at")
COMPACT_EDGE_OMITS = ("workspace_id",)


def graph_json(*, workspace: Workspace, compact: bool = False) -> dict:
    """Tasks with their stored coordinates and all edges: two queries whatever the size.
    `compact` leaves out what the map does not draw (COMPACT_TASK_OMITS, COMPACT_EDGE_OMITS)."""
    tasks = task_list_to_json(task_list(workspace=workspace))
    edges = edge_list_to_json(edge_list(workspace=workspace))
    if compact:
        for rows, omits in ((tasks, COMPACT_TASK_OMITS), (edges, COMPACT_EDGE_OMITS)):
            for row in rows:
                for name in omits:
                    del row[name]
    return {"tasks": tasks, "edges": edges}


def embeddings_matrix(*, workspace: Workspace) -> tuple[np.ndarray, np.ndarray]:
    """(task ids, embeddings (n, dim) float32) of the workspace's embedded tasks, ordered by id,
    read with one binary COPY into numpy."""
    # Both tables by workspace: a join by id alone may hash every workspace's tasks.
    statement = sql.SQL(
        "COPY (SELECT e.task_id, e.vector FROM tasks_embedding e JOIN tasks_task t ON t.id = e.task_id "
        "AND t.workspace_id = {ws} WHERE e.workspace_id = {ws} AND t.deleted_at IS NULL "
        "ORDER BY e.task_id) TO STDOUT (FORMAT BINARY)"
    ).format(ws=sql.Literal(workspace.pk))
    with copy(statement) as stream:
        buffer = b"".join(bytes(block) for block in stream)
    return parse_id_vectors(buffer, settings.LINKDO_EMBEDDING_DIM)


_BASIS_AND_COUNTS_SQL = """
SELECT w.layout_mean::real[], w.layout_wx::real[], w.layout_wy::real[], w.layout_bx, w.layout_by,
       c.live, c.waiting
FROM workspaces_workspace w
LEFT JOIN LATERAL (
    SELECT count(*) AS live, count(*) FILTER (WHERE t.place_pending) AS waiting
    FROM tasks_task t WHERE t.workspace_id = %(ws)s AND t.deleted_at IS NULL
) c ON true
WHERE w.id = %(ws)s
"""


def _basis(row) -> Basis | None:
    if row is None or row[0] is None:
        return None
    mean, wx, wy, bx, by = row[:5]
    return Basis(
        np.asarray(mean, np.float64), np.asarray(wx, np.float64), np.asarray(wy, np.float64), bx, by
    )


def layout_basis_and_counts(*, workspace: Workspace) -> tuple[Basis | None, int, int]:
    """The stored basis (or None), the live tasks and those waiting for a place, in one read."""
    with connection.cursor() as cursor:
        cursor.execute(_BASIS_AND_COUNTS_SQL, {"ws": workspace.pk})
        row = cursor.fetchone()
    if row is None:
        return None, 0, 0
    return _basis(row), row[5], row[6]


def layout_basis(*, workspace: Workspace) -> Basis | None:
    """The basis stored by the last auto-arrange, or None before the first one."""
    row = (
        Workspace.objects.filter(pk=workspace.pk)
        .values_list("layout_mean", "layout_wx", "layout_wy", "layout_bx", "layout_by")
        .first()
    )
    return _basis(row)


SIMILARITY_CHUNK = 1024  # rows of the similarity matrix computed at once (memory stays ~40 MB)


def suggested_edges(*, workspace: Workspace, min_score: float, limit: int) -> list[dict]:
    """Unlinked pairs of embedded tasks whose cosine similarity is at least `min_score`, best first."""
    ids, vectors = embeddings_matrix(workspace=workspace)
    linked = {
        (min(a, b), max(a, b))
        for a, b in edge_list(workspace=workspace).values_list("source_id", "target_id")
    }
    # Keep more candidates than asked, so that dropping already-linked pairs still leaves `limit`.
    keep = limit + len(linked)
    best_scores = np.empty(0, dtype=np.float32)
    best_pairs = np.empty((0, 2), dtype=np.int64)
    for start in range(0, len(ids), SIMILARITY_CHUNK):
        block = vectors[start : start + SIMILARITY_CHUNK] @ vectors.T
        rows, cols = np.nonzero(block >= min_score)
        upper = cols > rows + start  # each unordered pair once, no self-pairs
        rows, cols = rows[upper] + start, cols[upper]
        best_scores = np.concatenate([best_scores, block[rows - start, cols]])
        best_pairs = np.concatenate([best_pairs, np.column_stack([ids[rows], ids[cols]])])
        if len(best_scores) > keep:
            top = np.argpartition(-best_scores, keep)[:keep]
            best_scores, best_pairs = best_scores[top], best_pairs[top]
    order = np.lexsort((best_pairs[:, 1], best_pairs[:, 0], -best_scores))
    chosen = [
        (int(a), int(b), float(best_scores[i]))
        for i in order
        for a, b in [best_pairs[i]]
        if (min(a, b), max(a, b)) not in linked
    ][:limit]
    client_ids = dict(
        Task.objects.of(workspace)
        .filter(pk__in={p for a, b, _ in chosen for p in (a, b)})
        .values_list("id", "client_id")
    )
    return [
        {"source": client_ids[a], "target": client_ids[b], "score": round(score, 6)}
        for a, b, score in chosen
    ]
