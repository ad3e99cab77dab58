from django.db import connection, transaction
from django.db.models import Q

from graph.models import Edge
from linkdo.errors import ApplicationError, NotFoundError
from tasks.models import Task
from workspaces.models import Workspace

# Recompute the auto edges of a set of tasks in one statement: every other task of the workspace that
# shares a tag gets weight = |common tags| / max(|tags a|, |tags b|) rounded to 2 places; auto edges whose
# tasks no longer share a tag go away; manual edges are never touched (the WHERE of the upsert).
_LINK_BY_TAGS_SQL = """
WITH changed AS (
    SELECT id, tags FROM tasks_task WHERE workspace_id = %(ws)s AND id = ANY(%(ids)s)
),
pairs AS (
    SELECT DISTINCT ON (LEAST(c.id, o.id), GREATEST(c.id, o.id))
        c.id AS source_id,
        o.id AS target_id,
        round(
            (SELECT count(*) FROM (SELECT unnest(c.tags) INTERSECT SELECT unnest(o.tags)) common)::numeric
            / GREATEST(cardinality(c.tags), cardinality(o.tags)),
            2
        )::float8 AS weight
    FROM changed c
    JOIN tasks_task o ON o.workspace_id = %(ws)s AND o.id <> c.id AND o.tags && c.tags
    ORDER BY LEAST(c.id, o.id), GREATEST(c.id, o.id), c.id
),
stale AS (
    DELETE FROM graph_edge e
    WHERE e.workspace_id = %(ws)s AND e.origin = 'auto'
      AND (e.source_id = ANY(%(ids)s) OR e.target_id = ANY(%(ids)s))
      AND NOT EXISTS (
          SELECT 1 FROM pairs p
          WHERE LEAST(p.source_id, p.target_id) = LEAST(e.source_id, e.target_id)
            AND GREATEST(p.source_id, p.target_id) = GREATEST(e.source_id, e.target_id)
      )
)
INSERT INTO graph_edge (workspace_id, source_id, target_id, weight, origin, created_at, updated_at)
SELECT %(ws)s, source_id, target_id, weight, 'auto', now(), now() FROM pairs
ON CONFLICT (LEAST(source_id, target_id), GREATEST(source_id, target_id))
DO UPDATE SET weight = EXCLUDED.weight, updated_at = now()
WHERE graph_edge.origin = 'auto' AND graph_edge.weight IS DISTINCT FROM EXCLUDED.weight
"""

_UPSERT_MANUAL_SQL = """
INSERT INTO graph_edge (workspace_id, source_id, target_id, weight, origin, created_at, updated_at)
VALUES (%(ws)s, %(source)s, %(target)s, %(weight)s, 'manual', now(), now())
ON CONFLICT (LEAST(source_id, target_id), GREATEST(source_id, target_id))
DO UPDATE SET weight = EXCLUDED.weight, origin = 'manual', updated_at = now()
RETURNING id, (xmax = 0) AS inserted
"""


def edges_link_by_tags(*, workspace: Workspace, task_ids: list[int]) -> None:
    """Create, re-weigh or remove the auto edges of the given tasks (internal ids) in one statement."""
    if not task_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(_LINK_BY_TAGS_SQL, {"ws": workspace.pk, "ids": list(task_ids)})


def edge_create(
    *, workspace: Workspace, source: str, target: str, weight: float
) -> tuple[Edge, bool]:
    """Link two tasks of the workspace by client id; an existing pair becomes manual with the new weight.

    Returns the edge and whether it is new. Upserting keeps a retried offline POST from failing.
    """
    if source == target:
        raise ApplicationError("An edge needs two different tasks; source and target are the same.")
    with transaction.atomic():
        found = dict(
            Task.objects.filter(workspace=workspace, client_id__in=[source, target]).values_list(
                "client_id", "id"
            )
        )
        for client_id in (source, target):
            if client_id not in found:
                raise ApplicationError(f"Task {client_id!r} does not exist in this workspace.")
        with connection.cursor() as cursor:
            cursor.execute(
                _UPSERT_MANUAL_SQL,
                {
                    "ws": workspace.pk,
                    "source": found[source],
                    "target": found[target],
                    "weight": weight,
                },
            )
            edge_id, inserted = cursor.fetchone()
    return Edge.objects.select_related("source", "target").get(pk=edge_id), inserted


def edge_delete(*, edge: Edge) -> None:
    edge.delete()


def edge_delete_pair(*, workspace: Workspace, source: str, target: str) -> int:
    """Delete the edge between two tasks, in either direction; 404 when there is none."""
    pair = Q(source__client_id=source, target__client_id=target) | Q(
        source__client_id=target, target__client_id=source
    )
    deleted, _ = Edge.objects.filter(pair, workspace=workspace).delete()
    if not deleted:
        raise NotFoundError(f"No edge between {source!r} and {target!r} in this workspace.")
    return deleted


def edges_delete_for_task(*, task: Task) -> int:
    """Delete every edge touching a task; return how many there were."""
    deleted, _ = Edge.objects.filter(Q(source=task) | Q(target=task)).delete()
    return deleted
