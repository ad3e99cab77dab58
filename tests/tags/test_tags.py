import pytest

from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


def test_tags_are_distinct_and_sorted(client_a, ws_a, slash):
    TaskFactory(workspace=ws_a, tags=["work", "Zeta", "가족"])
    TaskFactory(workspace=ws_a, tags=["alpha", "work"])
    TaskFactory(workspace=ws_a, tags=[])
    response = client_a.get(f"/api/tags{slash}")
    assert response.status_code == 200
    assert response.json() == ["Zeta", "alpha", "work", "가족"]


def test_tags_of_other_workspaces_stay_hidden(client_a, client_b, ws_a):
    TaskFactory(workspace=ws_a, tags=["alpha-only"])
    assert client_b.get("/api/tags").json() == []
    assert client_a.get("/api/tags").json() == ["alpha-only"]
