from django.db.models import QuerySet

from graph.models import Edge
from tasks.selectors import task_list, tasks_json
from workspaces.models import Workspace

EDGE_FIELDS = ("id", "workspace_id", "source__client_id", "target__client_id", "weight", "origin")


def edge_json(row: tuple) -> dict:
    edge_id, workspace_id, source, target, weight, origin = row
    return {
        "id": str(edge_id),
        "workspace_id": workspace_id,
        "source": source,
        "target": target,
        "weight": weight,
        "origin": origin,
    }


def edge_instance_json(edge: Edge) -> dict:
    return edge_json(
        (edge.pk, edge.workspace_id, edge.source.client_id, edge.target.client_id, edge.weight,
         edge.origin)
    )  # fmt: skip


def edge_list(*, workspace: Workspace) -> QuerySet[Edge]:
    return Edge.objects.filter(workspace=workspace).order_by("id")


def edges_json(queryset: QuerySet[Edge]) -> list[dict]:
    return [edge_json(row) for row in queryset.values_list(*EDGE_FIELDS)]


def graph_json(*, workspace: Workspace) -> dict:
    """Tasks with their stored coordinates and all edges: two queries whatever the size."""
    return {
        "tasks": tasks_json(task_list(workspace=workspace)),
        "edges": edges_json(edge_list(workspace=workspace)),
    }
