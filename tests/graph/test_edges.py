import pytest
from django.db import IntegrityError, connection, transaction

from graph.models import Edge
from linkdo.opaque import public_id
from tests.factories import EdgeFactory, TaskFactory
from tests.helpers import on_citus

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(ws_a):
    return TaskFactory(workspace=ws_a, client_id="a"), TaskFactory(workspace=ws_a, client_id="b")


def test_create_lists_and_stores_a_manual_edge(client_a, pair, slash):
    response = client_a.post(f"/api/edges{slash}", {"source": "a", "target": "b", "weight": 0.8})
    assert response.status_code == 201, response.json()
    data = response.json()
    assert {k: data[k] for k in ("source", "target", "weight", "origin", "workspace_id")} == {
        "source": "a",
        "target": "b",
        "weight": 0.8,
        "origin": "manual",
        "workspace_id": "alpha",
    }
    edge = Edge.objects.get()
    assert (edge.source.client_id, edge.target.client_id, edge.weight) == ("a", "b", 0.8)
    assert data["id"] == public_id(edge.pk, "edge")
    assert client_a.get(f"/api/edges{slash}").json() == [data]


def test_weight_defaults_to_half(client_a, pair):
    assert client_a.post("/api/edges", {"source": "a", "target": "b"}).json()["weight"] == 0.5


def test_posting_an_existing_pair_updates_it_in_either_direction(client_a, pair):
    first = client_a.post("/api/edges", {"source": "a", "target": "b", "weight": 0.2}).json()
    again = client_a.post("/api/edges", {"source": "b", "target": "a", "weight": 0.7})
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert Edge.objects.count() == 1
    assert Edge.objects.get().weight == 0.7


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"source": "a", "target": "a"}, "non_field_errors", "two different tasks"),
        ({"source": "a", "target": "b", "weight": 1.5}, "weight", "less than or equal to 1"),
        ({"source": "a", "target": "b", "weight": -0.1}, "weight", "greater than or equal to 0"),
        ({"source": "a", "target": "b", "weight": "0.5"}, "weight", "number"),
        ({"source": "a", "target": "b", "weight": None}, "weight", "null"),
        ({"source": "a"}, "target", "required"),
        ({"source": "a", "target": 7}, "target", "string"),
        ({"source": "a", "target": "b", "kind": "x"}, "non_field_errors", "Unknown field(s): kind"),
    ],
)
def test_bad_edge_is_400_and_stores_nothing(client_a, pair, body, field, message):
    response = client_a.post("/api/edges", body)
    assert response.status_code == 400
    assert message in str(response.json()[field])
    assert Edge.objects.count() == 0


def test_nan_and_infinity_weights_are_refused(client_a, pair):
    for raw in [
        b'{"source":"a","target":"b","weight":NaN}',
        b'{"source":"a","target":"b","weight":Infinity}',
    ]:
        assert client_a.generic("POST", "/api/edges", raw).status_code == 400
    assert Edge.objects.count() == 0


def test_edge_to_missing_or_foreign_task_is_404(client_a, pair, ws_b):
    TaskFactory(workspace=ws_b, client_id="foreign")
    for target in ["ghost", "foreign"]:
        response = client_a.post("/api/edges", {"source": "a", "target": target})
        assert response.status_code == 404
        assert f"Task '{target}' does not exist in this workspace." == response.json()["detail"]
    assert Edge.objects.count() == 0


def test_delete_by_id(client_a, pair, slash):
    edge = EdgeFactory(source=pair[0], target=pair[1])
    opaque = public_id(edge.pk, "edge")
    response = client_a.delete(f"/api/edges/{opaque}{slash}")
    assert response.status_code == 200
    assert response.json() == {"deleted": True, "id": opaque}
    assert client_a.get("/api/edges").json() == []
    tombstone = Edge.objects.get(pk=edge.pk)  # kept, so that other devices learn of the deletion
    assert tombstone.deleted_at is not None and tombstone.version > 0
    assert tombstone.origin == "manual"  # auto-linking never brings back what the user removed
    assert client_a.delete(f"/api/edges/{opaque}").status_code == 404
    assert client_a.delete(f"/api/edges/{edge.pk}").status_code == 404  # a plain id: older clients
    assert client_a.delete("/api/edges/99999999999999999999999").status_code == 404


@pytest.mark.parametrize(("source", "target"), [("a", "b"), ("b", "a")])
def test_delete_by_pair_matches_either_direction(client_a, pair, source, target, slash):
    EdgeFactory(source=pair[0], target=pair[1])
    response = client_a.delete(f"/api/edges/{source}/{target}{slash}")
    assert response.status_code == 200
    assert not Edge.objects.filter(deleted_at__isnull=True).exists()
    assert client_a.get("/api/edges").json() == []
    assert client_a.delete(f"/api/edges/{source}/{target}").status_code == 404


def test_other_workspace_cannot_see_or_delete_edges(client_a, client_b, pair, ws_b):
    edge = EdgeFactory(source=pair[0], target=pair[1])
    TaskFactory(workspace=ws_b, client_id="a")
    TaskFactory(workspace=ws_b, client_id="b")
    assert client_b.get("/api/edges").json() == []
    assert client_b.delete(f"/api/edges/{edge.pk}").status_code == 404
    assert client_b.delete("/api/edges/a/b").status_code == 404
    assert Edge.objects.filter(pk=edge.pk).exists()
    # Bravo linking its own "a" and "b" makes bravo's edge, not a change to alpha's.
    assert (
        client_b.post("/api/edges", {"source": "a", "target": "b", "weight": 1}).status_code == 201
    )
    assert Edge.objects.get(pk=edge.pk).weight == 0.5
    assert client_a.get("/api/edges").json()[0]["id"] == public_id(edge.pk, "edge")


def test_database_refuses_cross_workspace_self_and_duplicate_edges(pair, ws_b):
    a, b = pair
    foreign = TaskFactory(workspace=ws_b)
    bad = [
        {"workspace": a.workspace, "source": a, "target": a},
        {"workspace": a.workspace, "source": a, "target": b, "weight": 2.0},
    ]
    if not on_citus():
        # The workspace check is a deferred foreign key, fired here by SET CONSTRAINTS; on Citus it
        # fires on the worker at commit (tests/test_isolation.py checks it there).
        bad.append({"workspace": a.workspace, "source": a, "target": foreign})
    for fields in bad:
        with pytest.raises(IntegrityError), transaction.atomic():
            Edge.objects.create(**fields)
            # The workspace check is a deferred foreign key: make it fire now, not at commit.
            connection.check_constraints()
    Edge.objects.create(workspace=a.workspace, source=a, target=b)
    with pytest.raises(IntegrityError), transaction.atomic():
        Edge.objects.create(workspace=a.workspace, source=b, target=a)
    assert Edge.objects.count() == 1


# Issue 30, item 1: a backup restore posts every edge of its file, auto ones included.
def test_a_reposted_auto_edge_with_its_weight_stays_auto(client_a):
    for i, tags in enumerate([["a", "b"], ["a", "b"], ["a"]]):
        assert (
            client_a.post("/api/tasks", {"id": f"t{i}", "title": f"T{i}", "tags": tags}).status_code
            == 201
        )
    auto = {
        (e.source.client_id, e.target.client_id): e
        for e in Edge.objects.select_related("source", "target")
    }
    assert auto and all(e.origin == "auto" for e in auto.values())
    for (source, target), edge in auto.items():
        response = client_a.post(
            "/api/edges", {"source": source, "target": target, "weight": edge.weight}
        )
        assert response.status_code == 200, response.json()
    after = {e.pk: (e.origin, e.version) for e in Edge.objects.all()}
    assert after == {e.pk: ("auto", e.version) for e in auto.values()}
    # Another weight is the user's own choice: the edge becomes manual.
    (source, target), edge = next(iter(auto.items()))
    assert (
        client_a.post("/api/edges", {"source": source, "target": target, "weight": 0.3}).status_code
        == 200
    )
    assert Edge.objects.get(pk=edge.pk).origin == "manual"
