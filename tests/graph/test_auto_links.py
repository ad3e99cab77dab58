"""Auto-links: weight = |common tags| / max(|tags a|, |tags b|), rounded to 2 places."""

import pytest

from graph.models import Edge
from tests.factories import EdgeFactory, TaskFactory

pytestmark = pytest.mark.django_db


def edges_by_pair(workspace_id="alpha"):
    return {
        frozenset((e.source.client_id, e.target.client_id)): (e.weight, e.origin)
        for e in Edge.objects.filter(
            workspace_id=workspace_id, deleted_at__isnull=True
        ).select_related("source", "target")
    }


def test_create_links_to_every_task_sharing_a_tag(client_a, ws_a):
    TaskFactory(workspace=ws_a, client_id="one", tags=["a"])
    TaskFactory(workspace=ws_a, client_id="two", tags=["a", "b", "c"])
    TaskFactory(workspace=ws_a, client_id="three", tags=["x"])
    response = client_a.post("/api/tasks", {"id": "new", "title": "N", "tags": ["a", "b"]})
    assert response.status_code == 201
    assert edges_by_pair() == {
        frozenset({"new", "one"}): (0.5, "auto"),  # 1 / max(2, 1)
        frozenset({"new", "two"}): (0.67, "auto"),  # 2 / max(2, 3), rounded
    }
    edge = Edge.objects.get(target__client_id="two")
    assert edge.source.client_id == "new"


def test_no_tags_no_links(client_a, ws_a):
    TaskFactory(workspace=ws_a, client_id="one", tags=["a"])
    client_a.post("/api/tasks", {"id": "new", "title": "N"})
    assert Edge.objects.count() == 0


def test_changing_tags_reweighs_adds_and_removes_auto_edges(client_a, ws_a):
    TaskFactory(workspace=ws_a, client_id="one", tags=["a"])
    TaskFactory(workspace=ws_a, client_id="two", tags=["b"])
    client_a.post("/api/tasks", {"id": "t", "title": "T", "tags": ["a", "z"]})
    assert edges_by_pair() == {frozenset({"t", "one"}): (0.5, "auto")}
    client_a.patch("/api/tasks/t", {"tags": ["a"]})
    assert edges_by_pair() == {frozenset({"t", "one"}): (1.0, "auto")}
    client_a.patch("/api/tasks/t", {"tags": ["b"]})
    assert edges_by_pair() == {frozenset({"t", "two"}): (1.0, "auto")}
    client_a.patch("/api/tasks/t", {"tags": []})
    assert edges_by_pair() == {}


def test_manual_edges_are_never_touched(client_a, ws_a):
    one = TaskFactory(workspace=ws_a, client_id="one", tags=["a"])
    t = TaskFactory(workspace=ws_a, client_id="t", tags=["a"])
    EdgeFactory(source=t, target=one, weight=0.9, origin="manual")
    client_a.patch("/api/tasks/t", {"tags": ["a", "b", "c"]})
    assert edges_by_pair() == {frozenset({"t", "one"}): (0.9, "manual")}
    client_a.patch("/api/tasks/t", {"tags": ["q"]})
    assert edges_by_pair() == {frozenset({"t", "one"}): (0.9, "manual")}


def test_other_fields_do_not_relink(client_a, ws_a):
    TaskFactory(workspace=ws_a, client_id="one", tags=["a"])
    client_a.post("/api/tasks", {"id": "t", "title": "T", "tags": ["a"]})
    Edge.objects.update(weight=0.3)  # would be reset to 1.0 by a relink
    client_a.patch("/api/tasks/t", {"title": "Renamed"})
    assert edges_by_pair() == {frozenset({"t", "one"}): (0.3, "auto")}


def test_never_links_across_workspaces(client_a, ws_b):
    TaskFactory(workspace=ws_b, client_id="theirs", tags=["shared"])
    client_a.post("/api/tasks", {"id": "mine", "title": "M", "tags": ["shared"]})
    assert Edge.objects.count() == 0


def test_linking_is_one_statement_whatever_the_candidates(
    client_a, ws_a, django_assert_max_num_queries
):
    TaskFactory.create_batch(40, workspace=ws_a, tags=["common"])
    # upsert workspace, change version, id check, map basis (for the vector: the stored one, then
    # the embedded tasks' COPY; then for a place), count, savepoint + insert + release,
    # vector row, link statement: a constant, whatever the number of candidates
    with django_assert_max_num_queries(15):  # 14 + the workspace secret check
        assert (
            client_a.post("/api/tasks", {"id": "n", "title": "N", "tags": ["common"]}).status_code
            == 201
        )
    assert Edge.objects.filter(deleted_at__isnull=True).count() == 5  # K, of 40 candidates
