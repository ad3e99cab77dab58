from django.db.models import QuerySet

from graph.models import Edge
from tasks.selectors import task_list, tasks_json
from workspaces.models import Workspace


def edge_json(row: dict) -> dict:
    return {
        "id": str(row["id"]),
        "workspace_id": row["workspace_id"],
        "source": row["source"],
        "target": row["target"],
        "weight": row["weight"],
        "origin": row["origin"],
    }


def edge_instance_json(edge: Edge) -> dict:
    return edge_json(
        {
            "id": edge.pk,
            "workspace_id": edge.workspace_id,
            "source": edge.source.client_id,
            "target": edge.target.client_id,
            "weight": edge.weight,
            "origin": edge.origin,
        }
    )


def edge_list(*, workspace: Workspace) -> QuerySet[Edge]:
    return Edge.objects.filter(workspace=workspace).order_by("id")


def edges_json(queryset: QuerySet[Edge]) -> list[dict]:
    rows = queryset.values(
        "id", "workspace_id", "weight", "origin", "source__client_id", "target__client_id"
    )
    return [
        edge_json({**row, "source": row["source__client_id"], "target": row["target__client_id"]})
        for row in rows
    ]


def graph_json(*, workspace: Workspace) -> dict:
    """Tasks with their stored coordinates and all edges: two queries whatever the size."""
    return {
        "tasks": tasks_json(task_list(workspace=workspace)),
        "edges": edges_json(edge_list(workspace=workspace)),
    }
