"""Writes of edges: the auto-link rule (each task chooses its strongest tag-mates), manual edges,
and tombstones. Every function takes the workspace explicitly; callers hold its change lock."""

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from graph.models import Edge, Origin
from linkdo.db import set_local_sql
from linkdo.errors import NotFoundError
from linkdo.sqlfiles import sql_file
from tasks.models import Embedding, Task
from workspaces.changes import on_citus
from workspaces.models import Workspace
from workspaces.services import workspace_begin_change

# Bounded auto-links: graph/sql/link_by_tags.sql says what each step computes, down to the new
# edges (`new_edges`); the statement ends here. On one PostgreSQL the new edges are inserted by the
# statement itself. On Citus an INSERT ... SELECT into a distributed table is never sent whole to
# the worker (the edge id's sequence is read on the coordinator): every one of the statement's
# steps became a round trip to the worker with its result copied back (28 of them, 270-380 ms
# against 110 for the same work). There, the statement selects the new edges (sent whole to the
# workspace's worker) and a second one inserts them.
_LINK_STEPS = sql_file(
    __file__, "link_by_tags", task=Task._meta.db_table, edge=Edge._meta.db_table,
    embedding=Embedding._meta.db_table,
)  # fmt: skip
# The new auto edges' insert, from the statement's own `new_edges` or (Citus) from arrays of them.
_INSERT_NEW_EDGES = """INSERT INTO graph_edge (workspace_id, source_id, target_id, weight, origin,
    version, created_at, updated_at, chosen_by_source, chosen_by_target)
SELECT %(ws)s, source_id, target_id, weight, 'auto', %(version)s, %(now)s, %(now)s,
       chosen_by_source, chosen_by_target
FROM {rows}"""
_LINK_BY_TAGS_SQL = _LINK_STEPS + _INSERT_NEW_EDGES.format(rows="new_edges")
_LINK_BY_TAGS_CITUS_SQL = _LINK_STEPS + (
    "SELECT source_id, target_id, weight, chosen_by_source, chosen_by_target FROM new_edges"
)
_INSERT_AUTO_EDGES_SQL = _INSERT_NEW_EDGES.format(
    rows="""unnest(%(sources)s::bigint[], %(targets)s::bigint[], %(weights)s::float8[],
            %(by_source)s::bool[], %(by_target)s::bool[])
     AS new_edges(source_id, target_id, weight, chosen_by_source, chosen_by_target)"""
)

_UPSERT_MANUAL_SQL = """
INSERT INTO graph_edge (workspace_id, source_id, target_id, weight, origin, version, created_at, updated_at)
SELECT %(ws)s, v.source, v.target, v.weight, 'manual', %(version)s, now(), now()
FROM unnest(%(sources)s::bigint[], %(targets)s::bigint[], %(weights)s::float8[]) AS v(source, target, weight)
ON CONFLICT (workspace_id, LEAST(source_id, target_id), GREATEST(source_id, target_id))
DO UPDATE SET weight = EXCLUDED.weight, origin = 'manual', deleted_at = NULL,
              version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
RETURNING id
"""


# Up to this many choosers (a REST write: one), the planner's index loops are the right plan.
NESTED_LOOPS_UP_TO = 50
LINK_WORK_MEM = "32MB"


def edges_link_by_tags(
    *, workspace: Workspace, task_ids: list[int], version: int, exact: bool = False
) -> None:
    """Let the given tasks (internal ids: created, retagged or deleted in this change) and the tasks
    that had chosen them choose their auto edges again, in one statement (see _LINK_BY_TAGS_SQL).
    `exact` ranks every chooser against all its tag-mates (the tests compare the two paths)."""
    if not task_ids:
        return
    k = settings.LINKDO_AUTOLINKS_PER_TASK
    if k == 0 and not _has_auto_edges(workspace):
        return  # nothing to choose and no choice to take back: the statement would change nothing
    params = {
        "ws": workspace.pk,
        "ids": list(task_ids),
        "version": version,
        "k": k,
        "exact": exact,
        # The time as a parameter: Citus runs the statement on a worker and refuses now() (not
        # immutable) in its CASE and COALESCE.
        "now": timezone.now(),
    }
    with connection.cursor() as cursor:
        many = len(params["ids"]) > NESTED_LOOPS_UP_TO
        if many:
            # Row estimates of a workspace that just grew (a first sync, in one transaction) are
            # far too low, and the planner then loops over CTEs row by row: 31 s instead of 0.3 s
            # for 1,000 tasks (docs/PERFORMANCE.md). Hash joins suit a big chooser set anyway.
            # The tag-set pairs of 1,000 choosers (tens of thousands) spilled to disk in 4 MB.
            cursor.execute(set_local_sql({"enable_nestloop": "off", "work_mem": LINK_WORK_MEM}))
        try:
            if on_citus():
                cursor.execute(_LINK_BY_TAGS_CITUS_SQL, params)
                _insert_auto_edges(cursor, params, cursor.fetchall())
            else:
                cursor.execute(_LINK_BY_TAGS_SQL, params)
        finally:
            if many:
                cursor.execute(set_local_sql({"enable_nestloop": "DEFAULT", "work_mem": "DEFAULT"}))


def _insert_auto_edges(cursor, params: dict, rows: list[tuple]) -> None:
    """Store the new edges that _LINK_BY_TAGS_CITUS_SQL selected (one array per column)."""
    if rows:
        sources, targets, weights, by_source, by_target = map(list, zip(*rows, strict=True))
        cursor.execute(_INSERT_AUTO_EDGES_SQL, {
            **params, "sources": sources, "targets": targets, "weights": weights,
            "by_source": by_source, "by_target": by_target,
        })  # fmt: skip


def _has_auto_edges(workspace: Workspace) -> bool:
    return Edge.objects.live(workspace).filter(origin=Origin.AUTO).exists()


def _pair(source, target) -> Q:
    return Q(source=source, target=target) | Q(source=target, target=source)


def edge_create(
    *, workspace: Workspace, source: str, target: str, weight: float
) -> tuple[Edge, bool]:
    """Link two live tasks of the workspace by client id; an existing pair becomes manual with the
    new weight. Returns the edge and whether it is new (or revived from a deletion).
    Upserting keeps a retried offline POST from failing. A live auto edge posted again with the
    weight it has is left as it is, auto (a backup restore posts every edge of its file, and the
    auto-links must go on maintaining the ones they made).
    Two different tasks: checked by graph.inputs.EdgeWriteSerializer, backed by edge_no_self_loop."""
    with transaction.atomic():
        version = workspace_begin_change(workspace=workspace)
        found = dict(
            Task.objects.live(workspace)
            .filter(client_id__in=[source, target])
            .values_list("client_id", "id")
        )
        for client_id in (source, target):
            if client_id not in found:  # another workspace's task is unknown here, like any other
                raise NotFoundError(f"Task {client_id!r} does not exist in this workspace.")
        existing = Edge.objects.of(workspace).filter(_pair(found[source], found[target])).first()
        if _same_auto_edge(existing, weight):
            return _edge_with_ends(workspace, existing.pk), False
        (edge_id,) = edges_upsert_manual(
            workspace=workspace, links=[(found[source], found[target], weight)], version=version
        )
    created = existing is None or existing.deleted_at is not None
    return _edge_with_ends(workspace, edge_id), created


def _edge_with_ends(workspace: Workspace, edge_id: int) -> Edge:
    return Edge.objects.of(workspace).select_related("source", "target").get(pk=edge_id)


def _same_auto_edge(edge: Edge | None, weight: float) -> bool:
    return (
        edge is not None
        and edge.deleted_at is None
        and edge.origin == Edge.Origin.AUTO
        and abs(edge.weight - weight) < 1e-9
    )


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
        edges_tombstone(Edge.objects.of(workspace).filter(pk=edge.pk), version, origin="manual")


def edge_delete_pair(*, workspace: Workspace, source: str, target: str) -> int:
    """Tombstone the edge between two tasks, in either direction; 404 when there is none."""

    # The ends by subquery, not by join: an UPDATE through a join becomes `id IN (SELECT ...)`
    # with the workspace filter inside only (on Citus: every shard).
    def task_ids(client_id: str):
        return Task.objects.live(workspace).filter(client_id=client_id).values("id")

    pair = Q(source_id__in=task_ids(source), target_id__in=task_ids(target)) | Q(
        source_id__in=task_ids(target), target_id__in=task_ids(source)
    )
    with transaction.atomic():
        version = workspace_begin_change(workspace=workspace)
        deleted = edges_tombstone(Edge.objects.of(workspace).filter(pair), version, origin="manual")
        if not deleted:
            raise NotFoundError(f"No edge between {source!r} and {target!r} in this workspace.")
    return deleted


def edges_delete_for_tasks(*, workspace: Workspace, task_ids: list[int], version: int) -> int:
    """Tombstone every live edge touching the given tasks; return how many there were."""
    touching = Edge.objects.of(workspace).filter(
        Q(source_id__in=task_ids) | Q(target_id__in=task_ids)
    )
    return edges_tombstone(touching, version)
