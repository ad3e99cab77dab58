from dataclasses import replace

import numpy as np
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from graph.layout import (
    Basis,
    cluster,
    describe_clusters,
    fit_layout,
    place_without_embedding,
    spiral_positions,
)
from graph.models import Edge
from graph.pgbinary import encode_positions
from graph.selectors import embeddings_matrix, layout_basis
from linkdo.db import copy
from linkdo.errors import ApplicationError, NotFoundError
from tasks.models import Task
from workspaces.models import Workspace
from workspaces.services import workspace_begin_change

# Recompute the auto edges of a set of tasks in one statement: every other live task of the workspace
# that shares a tag gets weight = |common tags| / max(|tags a|, |tags b|) rounded to 2 places; auto
# edges whose tasks no longer share a tag are tombstoned; manual edges, and edges the user deleted
# (which become manual), are never touched (the WHERE of the upsert). Changed rows take `version`.
_LINK_BY_TAGS_SQL = """
-- The ids as a set: `= ANY(array)` compared every row with the whole array (a push of 1,000
-- tasks into a map of 25,000 edges spent 0.24 s there); IN (SELECT ...) is a hash lookup.
WITH ids AS MATERIALIZED (SELECT DISTINCT unnest(%(ids)s::bigint[]) AS id),
changed AS (
    SELECT t.id, t.tags FROM tasks_task t JOIN ids ON ids.id = t.id
    WHERE t.workspace_id = %(ws)s AND t.deleted_at IS NULL
),
-- MATERIALIZED: inlined, the unnest ran once per changed task (a nested loop, O(n^2)).
changed_tags AS MATERIALIZED (
    SELECT id, unnest(tags) AS tag, cardinality(tags) AS size FROM changed
),
workspace_tags AS MATERIALIZED (
    SELECT id, unnest(tags) AS tag, cardinality(tags) AS size
    FROM tasks_task WHERE workspace_id = %(ws)s AND deleted_at IS NULL
),
shared AS (
    -- tags are de-duplicated per task, so the number of matching tags is |common tags|
    SELECT c.id AS source_id, o.id AS target_id, count(*) AS common,
           GREATEST(max(c.size), max(o.size)) AS larger
    FROM changed_tags c JOIN workspace_tags o ON o.tag = c.tag AND o.id <> c.id
    GROUP BY c.id, o.id
),
pairs AS MATERIALIZED (
    SELECT DISTINCT ON (LEAST(source_id, target_id), GREATEST(source_id, target_id))
        source_id, target_id, round(common::numeric / larger, 2)::float8 AS weight,
        LEAST(source_id, target_id) AS lo, GREATEST(source_id, target_id) AS hi
    FROM shared
    ORDER BY LEAST(source_id, target_id), GREATEST(source_id, target_id), source_id
),
stale AS (
    UPDATE graph_edge e SET deleted_at = now(), version = %(version)s, updated_at = now()
    WHERE e.workspace_id = %(ws)s AND e.origin = 'auto' AND e.deleted_at IS NULL
      AND (e.source_id IN (SELECT id FROM ids) OR e.target_id IN (SELECT id FROM ids))
      -- NOT IN over two non-null columns runs as a hashed subplan, not a loop per edge
      AND (LEAST(e.source_id, e.target_id), GREATEST(e.source_id, e.target_id))
          NOT IN (SELECT lo, hi FROM pairs)
)
INSERT INTO graph_edge (workspace_id, source_id, target_id, weight, origin, version, created_at, updated_at)
SELECT %(ws)s, source_id, target_id, weight, 'auto', %(version)s, now(), now() FROM pairs
ON CONFLICT (LEAST(source_id, target_id), GREATEST(source_id, target_id))
DO UPDATE SET weight = EXCLUDED.weight, deleted_at = NULL, version = EXCLUDED.version, updated_at = now()
WHERE graph_edge.origin = 'auto'
  AND (graph_edge.weight IS DISTINCT FROM EXCLUDED.weight OR graph_edge.deleted_at IS NOT NULL)
"""

_UPSERT_MANUAL_SQL = """
INSERT INTO graph_edge (workspace_id, source_id, target_id, weight, origin, version, created_at, updated_at)
SELECT %(ws)s, v.source, v.target, v.weight, 'manual', %(version)s, now(), now()
FROM unnest(%(sources)s::bigint[], %(targets)s::bigint[], %(weights)s::float8[]) AS v(source, target, weight)
ON CONFLICT (LEAST(source_id, target_id), GREATEST(source_id, target_id))
DO UPDATE SET weight = EXCLUDED.weight, origin = 'manual', deleted_at = NULL,
              version = EXCLUDED.version, updated_at = now()
RETURNING id
"""


def edges_link_by_tags(*, workspace: Workspace, task_ids: list[int], version: int) -> None:
    """Create, re-weigh or tombstone the auto edges of the given tasks (internal ids) in one statement."""
    if not task_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _LINK_BY_TAGS_SQL, {"ws": workspace.pk, "ids": list(task_ids), "version": version}
        )


def _pair(source, target) -> Q:
    return Q(source=source, target=target) | Q(source=target, target=source)


def edge_create(
    *, workspace: Workspace, source: str, target: str, weight: float
) -> tuple[Edge, bool]:
    """Link two live tasks of the workspace by client id; an existing pair becomes manual with the
    new weight. Returns the edge and whether it is new (or revived from a deletion).
    Upserting keeps a retried offline POST from failing."""
    if source == target:
        raise ApplicationError("An edge needs two different tasks; source and target are the same.")
    with transaction.atomic():
        version = workspace_begin_change(workspace=workspace)
        found = dict(
            Task.objects.filter(
                workspace=workspace, client_id__in=[source, target], deleted_at__isnull=True
            ).values_list("client_id", "id")
        )
        for client_id in (source, target):
            if client_id not in found:  # another workspace's task is unknown here, like any other
                raise NotFoundError(f"Task {client_id!r} does not exist in this workspace.")
        existing = Edge.objects.filter(_pair(found[source], found[target])).first()
        (edge_id,) = edges_upsert_manual(
            workspace=workspace, links=[(found[source], found[target], weight)], version=version
        )
    created = existing is None or existing.deleted_at is not None
    return Edge.objects.select_related("source", "target").get(pk=edge_id), created


def edges_upsert_manual(
    *, workspace: Workspace, links: list[tuple[int, int, float]], version: int
) -> list[int]:
    """Create, re-weigh or revive manual edges (task pk, task pk, weight) in one statement; an
    existing pair in either direction becomes manual. Returns the edge ids."""
    if not links:
        return []
    sources, targets, weights = (list(column) for column in zip(*links, strict=True))
    params = {
        "ws": workspace.pk,
        "version": version,
        "sources": sources,
        "targets": targets,
        "weights": weights,
    }
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT_MANUAL_SQL, params)
        return [row[0] for row in cursor.fetchall()]


def edges_tombstone(queryset, version: int, **changes) -> int:
    return queryset.filter(deleted_at__isnull=True).update(
        deleted_at=timezone.now(), updated_at=timezone.now(), version=version, **changes
    )


def edge_delete(*, workspace: Workspace, edge: Edge) -> None:
    """Tombstone an edge. It becomes manual, so that auto-linking never brings back what the user
    removed."""
    with transaction.atomic():
        version = workspace_begin_change(workspace=workspace)
        edges_tombstone(Edge.objects.filter(pk=edge.pk), version, origin="manual")


def edge_delete_pair(*, workspace: Workspace, source: str, target: str) -> int:
    """Tombstone the edge between two tasks, in either direction; 404 when there is none."""
    pair = Q(source__client_id=source, target__client_id=target) | Q(
        source__client_id=target, target__client_id=source
    )
    with transaction.atomic():
        version = workspace_begin_change(workspace=workspace)
        deleted = edges_tombstone(
            Edge.objects.filter(pair, workspace=workspace), version, origin="manual"
        )
        if not deleted:
            raise NotFoundError(f"No edge between {source!r} and {target!r} in this workspace.")
    return deleted


def edges_delete_for_tasks(*, workspace: Workspace, task_ids: list[int], version: int) -> int:
    """Tombstone every live edge touching the given tasks; return how many there were."""
    touching = Edge.objects.filter(workspace=workspace).filter(
        Q(source_id__in=task_ids) | Q(target_id__in=task_ids)
    )
    return edges_tombstone(touching, version)


# Rows whose place did not change are not written: a re-arrange of an unchanged map writes nothing.
_SET_POSITIONS_SQL = """
UPDATE tasks_task AS t SET x = v.x, y = v.y, cluster = NULLIF(v.cluster, -1), version = %(version)s,
    field_versions = t.field_versions
        || jsonb_build_object('x', %(version)s, 'y', %(version)s, 'cluster', %(version)s)
FROM incoming_positions v
WHERE t.id = v.id AND t.workspace_id = %(ws)s
  AND (t.x, t.y, t.cluster) IS DISTINCT FROM (v.x, v.y, NULLIF(v.cluster, -1))
"""


def _store_positions(workspace: Workspace, ids, coords: np.ndarray, clusters, version: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS incoming_positions "
            "(id int8, x float8, y float8, cluster int2) ON COMMIT DELETE ROWS; "
            "TRUNCATE incoming_positions"
        )
    labels = np.array([-1 if c is None else c for c in clusters], dtype=np.int16)
    with copy("COPY incoming_positions FROM STDIN (FORMAT BINARY)") as stream:
        stream.write(encode_positions(np.asarray(ids, dtype=np.int64), coords, labels))
    with connection.cursor() as cursor:
        cursor.execute(_SET_POSITIONS_SQL, {"ws": workspace.pk, "version": version})


def _store_basis(workspace: Workspace, basis: Basis | None, clusters: list[dict]) -> None:
    fields = {"layout_clusters": clusters, "arranged_at": timezone.now()}
    if basis is None:
        fields.update(
            layout_mean=None, layout_wx=None, layout_wy=None, layout_bx=0.0, layout_by=0.0
        )
    else:
        fields.update(
            layout_mean=basis.mean, layout_wx=basis.wx, layout_wy=basis.wy,
            layout_bx=basis.bx, layout_by=basis.by,
        )  # fmt: skip
    Workspace.objects.filter(pk=workspace.pk).update(**fields)


def graph_auto_arrange(*, workspace: Workspace) -> dict:
    """Lay the workspace's map out again and store it: PCA over the stored embeddings, aligned to
    the previous layout, tasks still pending an embedding placed beside related tasks, clusters.

    Returns {"positions": [{id, x, y, cluster}], "clusters": [...]}. Moved tasks take a new change
    version (other devices pull their new places); arranges of one workspace are serialised.
    """
    with transaction.atomic():
        version = workspace_begin_change(workspace=workspace)
        tasks = list(
            Task.objects.filter(workspace=workspace, deleted_at__isnull=True)
            .order_by("created_at", "id")
            .values_list("id", "client_id", "tags")
        )
        ids, embeddings = embeddings_matrix(workspace=workspace)
        if len(ids) < 2:
            coords = spiral_positions(0, len(tasks))
            labels = [None] * len(tasks)
            basis, clusters = None, []
        else:
            coords, labels, basis, clusters = _arrange_embedded(workspace, tasks, ids, embeddings)
        _store_positions(workspace, [t[0] for t in tasks], coords, labels, version)
        _store_basis(workspace, basis, clusters)
    positions = [
        {"id": client_id, "x": x, "y": y, "cluster": label}
        for (_, client_id, _), (x, y), label in zip(tasks, coords.tolist(), labels, strict=True)
    ]
    return {"positions": positions, "clusters": clusters}


def _arrange_embedded(workspace, tasks, ids, embeddings):
    """Coordinates and cluster labels in `tasks` order, the new basis and the cluster list."""
    embedded_coords, basis = fit_layout(embeddings, layout_basis(workspace=workspace))
    row_of = {int(task_id): row for row, task_id in enumerate(ids)}
    tags_of = {task_id: tags for task_id, _, tags in tasks}
    embedded_tags = [tags_of[int(task_id)] for task_id in ids]
    labels_embedded = cluster(embedded_coords)
    pending = [
        (task_id, client_id, tags) for task_id, client_id, tags in tasks if task_id not in row_of
    ]
    pending_coords = place_without_embedding(
        [client_id for _, client_id, _ in pending],
        [tags for _, _, tags in pending],
        embedded_coords,
        embedded_tags,
    )
    pending_row = {task_id: i for i, (task_id, _, _) in enumerate(pending)}
    coords = np.zeros((len(tasks), 2))
    labels: list[int | None] = []
    for index, (task_id, _, _) in enumerate(tasks):
        if task_id in row_of:
            coords[index] = embedded_coords[row_of[task_id]]
            labels.append(int(labels_embedded[row_of[task_id]]))
        else:
            coords[index] = pending_coords[pending_row[task_id]]
            labels.append(None)
    clusters = describe_clusters(labels_embedded, embedded_coords, embedded_tags)
    return coords, labels, basis, clusters


# A workspace never arranged gets a map basis by itself once this many tasks are embedded, so new
# tasks land by meaning from then on (before, the old backend laid them out in an endless row).
AUTO_BASIS_MIN_TASKS = 3


def map_basis(*, workspace: Workspace) -> Basis | None:
    """The workspace's map basis: the stored one, or, for a workspace never arranged with at least
    AUTO_BASIS_MIN_TASKS embedded tasks, a fitted one, stored, and shifted so that it projects those
    tasks around where they are now (nothing already on the map moves). Called by writers that
    hold the workspace's change lock, so two never fit one each."""
    basis = layout_basis(workspace=workspace)
    if basis is not None:
        return basis
    ids, embeddings = embeddings_matrix(workspace=workspace)
    if len(ids) < AUTO_BASIS_MIN_TASKS:
        return None
    coords, basis = fit_layout(embeddings)
    where = np.array(Task.objects.filter(pk__in=ids.tolist()).values_list("x", "y"), dtype=float)
    shift = where.mean(axis=0) - coords.mean(axis=0)
    basis = replace(basis, bx=basis.bx + float(shift[0]), by=basis.by + float(shift[1]))
    Workspace.objects.filter(pk=workspace.pk).update(
        layout_mean=basis.mean, layout_wx=basis.wx, layout_wy=basis.wy,
        layout_bx=basis.bx, layout_by=basis.by,
    )  # fmt: skip
    return basis


def task_place(*, workspace: Workspace, task: Task, vector: np.ndarray | None) -> bool:
    """Put a freshly embedded task where the workspace's map basis projects its vector (in
    memory). False when there is no vector or the workspace has no basis yet."""
    if vector is None:
        return False
    basis = map_basis(workspace=workspace)
    if basis is None or basis.mean.shape[0] != np.asarray(vector).shape[-1]:
        return False
    task.x, task.y = (float(v) for v in basis.project(np.asarray(vector)[None, :])[0])
    return True


def unplaced_positions(*, workspace: Workspace, count: int) -> np.ndarray:
    """Provisional places for `count` new tasks the map cannot place (no embedding yet): the next
    points of a spiral around the map's centre, after the tasks already waiting there (or, before
    the workspace has a map, after all its tasks). Never a row wider than the map."""
    basis = layout_basis(workspace=workspace)
    live = Task.objects.filter(workspace=workspace, deleted_at__isnull=True)
    if basis is None:
        return spiral_positions(live.count(), count)
    waiting = live.filter(place_pending=True).count()
    return spiral_positions(waiting, count, centre=(basis.bx, basis.by))
