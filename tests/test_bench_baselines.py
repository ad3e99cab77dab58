"""The benchmarks' least-work helpers, on a few tasks: `python -m bench jobs` once called one of
them with the wrong shape and could not finish (issue 18)."""

import pytest

from bench import jobs
from bench import sync as first_sync
from graph.models import Edge
from tasks.models import Task
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db


def _small_pushes() -> list[dict]:
    return [
        {"tasks": push["tasks"][:3], "edges": [], "cursor": None}
        for push in first_sync._pushes()[:2]
    ]


def test_the_least_background_work_is_timed_and_leaves_nothing():
    least, tail = jobs._least_work(_small_pushes())
    assert least > 0 and tail > 0
    assert not Workspace.objects.filter(pk=first_sync.LEAST).exists()
    assert not Task.objects.filter(workspace_id=first_sync.LEAST).exists()


def test_the_paired_copy_maps_edges_across_pushes():
    pushes = _small_pushes()
    Workspace.objects.create(pk=first_sync.LEAST)
    pks: dict[str, int] = {}
    first_sync._copy_tasks_and_edges(first_sync.LEAST, pushes[:1], [], pks)
    earlier, later = pushes[0]["tasks"][0]["id"], pushes[1]["tasks"][0]["id"]
    # An edge of the second push may reach a task of the first: its id is kept from that call.
    first_sync._copy_tasks_and_edges(first_sync.LEAST, pushes[1:], [(later, earlier, 0.5)], pks)
    assert set(pks) == {t["id"] for p in pushes for t in p["tasks"]}
    edge = Edge.objects.get(workspace_id=first_sync.LEAST)
    assert (edge.source.client_id, edge.target.client_id, edge.weight) == (later, earlier, 0.5)
