import logging
from dataclasses import replace

import numpy as np
from django.conf import settings
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
from linkdo.ai import AIProvider, ProviderError
from linkdo.db import copy
from linkdo.errors import ApplicationError, NotFoundError
from tasks.background import embed_pending
from tasks.models import Task
from workspaces.models import Workspace
from workspaces.services import workspace_begin_change

logger = logging.getLogger("linkdo.graph")

# Bounded auto-links, in one statement. Each task *chooses* at most K (LINKDO_AUTOLINKS_PER_TASK;
# NULL: all) of the live tasks sharing a tag with it: highest weight (|common| / max(|a|, |b|),
# rounded to 2 places) first, then the most similar by embedding, the most recently changed, the
# client id. An auto edge lives while at least one of its ends chooses it (chosen_by_source /
# chosen_by_target). Choosing again: the given tasks (created, retagged) and every task that had
# chosen one of them which is now deleted or no longer shares a tag ("refill"); a new task never
# rewires the others. Pairs with a manual edge (live, or deleted by the user) are neither linked
# nor counted. Rows whose visible state (alive, weight) changes take `version`.
_LINK_BY_TAGS_SQL = """
-- The ids as a set: `= ANY(array)` compared every row with the whole array; IN (SELECT ...) hashes.
WITH ids AS MATERIALIZED (SELECT DISTINCT unnest(%(ids)s::bigint[]) AS id),
changed AS MATERIALIZED (
    SELECT t.id, t.tags, t.deleted_at IS NOT NULL AS gone
    FROM tasks_task t JOIN ids ON ids.id = t.id WHERE t.workspace_id = %(ws)s
),
-- Auto edges of the changed tasks (those tombstoned by this very change included: a deleted task's
-- edges go first), seen from the changed end c and the other end o.
touching AS MATERIALIZED (
    SELECT e.source_id AS c_id, e.target_id AS o_id, e.chosen_by_target AS o_chose
    FROM graph_edge e JOIN changed c ON c.id = e.source_id
    WHERE e.workspace_id = %(ws)s AND e.origin = 'auto'
      AND (e.deleted_at IS NULL OR e.version = %(version)s)
    UNION ALL
    SELECT e.target_id, e.source_id, e.chosen_by_source
    FROM graph_edge e JOIN changed c ON c.id = e.target_id
    WHERE e.workspace_id = %(ws)s AND e.origin = 'auto'
      AND (e.deleted_at IS NULL OR e.version = %(version)s)
),
choosers AS MATERIALIZED (
    SELECT id FROM changed WHERE NOT gone
    UNION
    SELECT t.o_id FROM touching t
    JOIN changed c ON c.id = t.c_id JOIN tasks_task o ON o.id = t.o_id
    WHERE t.o_chose AND o.deleted_at IS NULL AND (c.gone OR NOT (o.tags && c.tags))
),
-- MATERIALIZED: inlined, the unnest ran once per chooser (a nested loop, O(n^2)).
chooser_tags AS MATERIALIZED (
    SELECT t.id, unnest(t.tags) AS tag, cardinality(t.tags) AS size
    FROM tasks_task t JOIN choosers ch ON ch.id = t.id
),
workspace_tags AS MATERIALIZED (
    SELECT id, unnest(tags) AS tag, cardinality(tags) AS size
    FROM tasks_task WHERE workspace_id = %(ws)s AND deleted_at IS NULL
),
shared AS (
    -- tags are de-duplicated per task, so the number of matching tags is |common tags|
    SELECT c.id AS chooser, o.id AS other,
           round(count(*)::numeric / GREATEST(max(c.size), max(o.size)), 2)::float8 AS weight
    FROM chooser_tags c JOIN workspace_tags o ON o.tag = c.tag AND o.id <> c.id
    GROUP BY c.id, o.id
),
manual AS MATERIALIZED (
    SELECT LEAST(source_id, target_id) AS lo, GREATEST(source_id, target_id) AS hi
    FROM graph_edge WHERE workspace_id = %(ws)s AND origin = 'manual'
),
ranked AS (
    SELECT s.chooser, s.other, row_number() OVER (
        PARTITION BY s.chooser
        ORDER BY s.weight DESC, (ec.vector <=> eo.vector) ASC NULLS LAST, o.updated_at DESC,
                 o.client_id
    ) AS rank
    FROM shared s
    JOIN tasks_task o ON o.id = s.other
    LEFT JOIN tasks_embedding ec ON ec.task_id = s.chooser
    LEFT JOIN tasks_embedding eo ON eo.task_id = s.other
    -- NOT IN over two non-null columns runs as a hashed subplan, not a loop per pair
    WHERE (LEAST(s.chooser, s.other), GREATEST(s.chooser, s.other))
          NOT IN (SELECT lo, hi FROM manual)
),
chosen AS MATERIALIZED (
    SELECT chooser, other FROM ranked WHERE %(k)s::int IS NULL OR rank <= %(k)s::int
),
-- Every pair whose choices may change: the chosen ones and the auto edges of the choosers.
pairs AS MATERIALIZED (
    SELECT LEAST(chooser, other) AS lo, GREATEST(chooser, other) AS hi FROM chosen
    UNION
    SELECT LEAST(e.source_id, e.target_id), GREATEST(e.source_id, e.target_id)
    FROM graph_edge e JOIN choosers ch ON ch.id = e.source_id
    WHERE e.workspace_id = %(ws)s AND e.origin = 'auto'
    UNION
    SELECT LEAST(e.source_id, e.target_id), GREATEST(e.source_id, e.target_id)
    FROM graph_edge e JOIN choosers ch ON ch.id = e.target_id
    WHERE e.workspace_id = %(ws)s AND e.origin = 'auto'
),
decided AS MATERIALIZED (
    SELECT p.lo, p.hi,
           coalesce(bool_or(c.chooser = p.lo), false) AS lo_chooses,
           coalesce(bool_or(c.chooser = p.hi), false) AS hi_chooses
    FROM pairs p LEFT JOIN chosen c
      ON LEAST(c.chooser, c.other) = p.lo AND GREATEST(c.chooser, c.other) = p.hi
    GROUP BY p.lo, p.hi
),
flags AS MATERIALIZED (
    SELECT d.lo, d.hi, d.lo_chooses, d.hi_chooses,
           lc.id IS NOT NULL AS lo_decides, hc.id IS NOT NULL AS hi_decides,
           round((SELECT count(*) FROM unnest(a.tags) AS tag WHERE tag = ANY(b.tags))::numeric
                 / GREATEST(cardinality(a.tags), cardinality(b.tags), 1), 2)::float8 AS weight
    FROM decided d
    -- an edge of a deleted task is never chosen nor revived (it is tombstoned with its task)
    JOIN tasks_task a ON a.id = d.lo AND a.deleted_at IS NULL
    JOIN tasks_task b ON b.id = d.hi AND b.deleted_at IS NULL
    LEFT JOIN choosers lc ON lc.id = d.lo LEFT JOIN choosers hc ON hc.id = d.hi
),
-- The new choices of each existing auto edge, in its own source/target order.
next AS MATERIALIZED (
    SELECT e.id, f.weight,
        CASE WHEN e.source_id = f.lo
             THEN CASE WHEN f.lo_decides THEN f.lo_chooses ELSE e.chosen_by_source END
             ELSE CASE WHEN f.hi_decides THEN f.hi_chooses ELSE e.chosen_by_source END
        END AS by_source,
        CASE WHEN e.target_id = f.lo
             THEN CASE WHEN f.lo_decides THEN f.lo_chooses ELSE e.chosen_by_target END
             ELSE CASE WHEN f.hi_decides THEN f.hi_chooses ELSE e.chosen_by_target END
        END AS by_target
    FROM flags f JOIN graph_edge e
      ON LEAST(e.source_id, e.target_id) = f.lo AND GREATEST(e.source_id, e.target_id) = f.hi
    WHERE e.workspace_id = %(ws)s AND e.origin = 'auto'
),
updated AS (
    UPDATE graph_edge e SET
        chosen_by_source = n.by_source, chosen_by_target = n.by_target,
        weight = CASE WHEN n.by_source OR n.by_target THEN n.weight ELSE e.weight END,
        deleted_at = CASE WHEN n.by_source OR n.by_target THEN NULL
                          ELSE coalesce(e.deleted_at, now()) END,
        version = CASE WHEN (n.by_source OR n.by_target) IS DISTINCT FROM (e.deleted_at IS NULL)
                         OR ((n.by_source OR n.by_target) AND e.weight IS DISTINCT FROM n.weight)
                       THEN %(version)s ELSE e.version END,
        updated_at = now()
    FROM next n
    WHERE e.id = n.id AND (
        (e.chosen_by_source, e.chosen_by_target) IS DISTINCT FROM (n.by_source, n.by_target)
        OR ((n.by_source OR n.by_target)
            AND (e.deleted_at IS NOT NULL OR e.weight IS DISTINCT FROM n.weight))
    )
)
INSERT INTO graph_edge (workspace_id, source_id, target_id, weight, origin, version, created_at,
                        updated_at, chosen_by_source, chosen_by_target)
-- The chooser is the source (as the PWA draws it: from the task that was linked).
SELECT %(ws)s, CASE WHEN f.flip THEN f.hi ELSE f.lo END, CASE WHEN f.flip THEN f.lo ELSE f.hi END,
       f.weight, 'auto', %(version)s, now(), now(),
       CASE WHEN f.flip THEN f.hi_chooses ELSE f.lo_chooses END,
       CASE WHEN f.flip THEN f.lo_chooses ELSE f.hi_chooses END
FROM (SELECT *, hi_chooses AND NOT lo_chooses AS flip FROM flags) f
WHERE (f.lo_chooses OR f.hi_chooses)
  AND NOT EXISTS (
      SELECT 1 FROM graph_edge e
      WHERE LEAST(e.source_id, e.target_id) = f.lo AND GREATEST(e.source_id, e.target_id) = f.hi
  )
ON CONFLICT DO NOTHING
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


# Up to this many choosers (a REST write: one), the planner's index loops are the right plan.
NESTED_LOOPS_UP_TO = 50


def edges_link_by_tags(*, workspace: Workspace, task_ids: list[int], version: int) -> None:
    """Let the given tasks (internal ids: created, retagged or deleted in this change) and the tasks
    that had chosen them choose their auto edges again, in one statement (see _LINK_BY_TAGS_SQL)."""
    if not task_ids:
        return
    params = {
        "ws": workspace.pk,
        "ids": list(task_ids),
        "version": version,
        "k": settings.LINKDO_AUTOLINKS_PER_TASK,
    }
    with connection.cursor() as cursor:
        many = len(params["ids"]) > NESTED_LOOPS_UP_TO
        if many:
            # Row estimates of a workspace that just grew (a first sync, in one transaction) are
            # far too low, and the planner then loops over CTEs row by row: 31 s instead of 0.3 s
            # for 1,000 tasks (docs/PERFORMANCE.md). Hash joins suit a big chooser set anyway.
            cursor.execute("SELECT set_config('enable_nestloop', 'off', true)")
        try:
            cursor.execute(_LINK_BY_TAGS_SQL, params)
        finally:
            if many:
                cursor.execute("SELECT set_config('enable_nestloop', 'on', true)")


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


def _basis_fields(basis: Basis | None) -> dict:
    if basis is None:
        return {"layout_mean": None, "layout_wx": None, "layout_wy": None, "layout_bx": 0.0,
                "layout_by": 0.0}  # fmt: skip
    return {"layout_mean": basis.mean, "layout_wx": basis.wx, "layout_wy": basis.wy,
            "layout_bx": basis.bx, "layout_by": basis.by}  # fmt: skip


def _store_basis(workspace: Workspace, basis: Basis | None, clusters: list[dict]) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(
        layout_clusters=clusters, arranged_at=timezone.now(), **_basis_fields(basis)
    )


def graph_auto_arrange(*, workspace: Workspace, provider: AIProvider | None = None) -> dict:
    """Lay the workspace's map out again and store it: PCA over the stored embeddings, aligned to
    the previous layout, tasks still pending an embedding placed beside related tasks, clusters.

    First the workspace's pending tasks are embedded (provider batches of 100, for at most
    LINKDO_ARRANGE_EMBED_TIMEOUT_S): an arrange pressed right after a push is the real layout, not
    one the next arrange would redo.

    Returns {"positions": [{id, x, y, cluster}], "clusters": [...]}. Moved tasks take a new change
    version (other devices pull their new places); arranges of one workspace are serialised.
    """
    try:
        embed_pending(
            workspace_id=workspace.pk,
            provider=provider,
            deadline_s=settings.LINKDO_ARRANGE_EMBED_TIMEOUT_S,
        )
    except ProviderError as exc:  # the rest stay pending and are placed beside their tag-mates
        logger.warning("auto-arrange with embeddings still pending: %s", exc)
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
    Workspace.objects.filter(pk=workspace.pk).update(**_basis_fields(basis))
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
