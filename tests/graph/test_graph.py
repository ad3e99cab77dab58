import pytest

from linkdo.opaque import public_id
from tests.factories import EdgeFactory, TaskFactory

pytestmark = pytest.mark.django_db


def test_graph_returns_tasks_with_coordinates_and_edges(client_a, ws_a, slash):
    a = TaskFactory(workspace=ws_a, client_id="a", x=1.5, y=-2.0)
    b = TaskFactory(workspace=ws_a, client_id="b", x=3.0, y=4.0)
    edge = EdgeFactory(source=a, target=b, weight=0.25)
    response = client_a.get(f"/api/graph{slash}")
    assert response.status_code == 200
    body = response.json()
    assert [(t["id"], t["x"], t["y"]) for t in body["tasks"]] == [("a", 1.5, -2.0), ("b", 3.0, 4.0)]
    assert body["edges"] == [
        {
            "id": public_id(edge.pk, "edge"),
            "workspace_id": "alpha",
            "source": "a",
            "target": "b",
            "weight": 0.25,
            "origin": "manual",
        }
    ]


def test_graph_shows_only_the_callers_workspace(client_a, client_b, ws_a):
    a = TaskFactory(workspace=ws_a, client_id="a", title="Alpha secret")
    EdgeFactory(source=a, target=TaskFactory(workspace=ws_a))
    assert client_b.get("/api/graph").json() == {"tasks": [], "edges": []}


def test_graph_query_count_does_not_grow(client_a, ws_a, django_assert_num_queries):
    tasks = TaskFactory.create_batch(5, workspace=ws_a)
    EdgeFactory(source=tasks[0], target=tasks[1])
    # The secret check, the workspace (inside the test's transaction the process never remembers
    # it), tasks, edges.
    with django_assert_num_queries(4):
        client_a.get("/api/graph")
    more = TaskFactory.create_batch(40, workspace=ws_a)
    for left, right in zip(more, more[1:], strict=False):
        EdgeFactory(source=left, target=right)
    with django_assert_num_queries(4):
        body = client_a.get("/api/graph").json()
    assert (len(body["tasks"]), len(body["edges"])) == (45, 40)
