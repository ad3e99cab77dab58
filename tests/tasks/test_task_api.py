from unittest.mock import patch

import pytest

from graph.layout import spiral_positions
from graph.models import Edge
from linkdo.ai import ProviderError
from tasks.models import Task
from tests.factories import EdgeFactory, TaskFactory

pytestmark = pytest.mark.django_db

TASK_KEYS = {
    "workspace_id",
    "id",
    "title",
    "description",
    "priority",
    "status",
    "category",
    "tags",
    "due_date",
    "due_timezone",
    "recurrence",
    "embedding_status",
    "embedding_error",
    "cluster",
    "x",
    "y",
    "created_at",
    "updated_at",
    "completed_at",
}


def test_create_returns_the_task_and_stores_it(client_a, slash):
    body = {
        "id": "t-1",
        "title": "  Write report ",
        "description": "Q3 numbers\n",
        "priority": "high",
        "status": "in-progress",
        "category": "work",
        "tags": [" work", "writing", "work", ""],
        "due_date": "2026-12-24",
    }
    response = client_a.post(f"/api/tasks{slash}", body)
    assert response.status_code == 201, response.json()
    data = response.json()
    assert set(data) == TASK_KEYS
    assert data["workspace_id"] == "alpha"
    assert data["id"] == "t-1"
    assert data["title"] == "Write report"
    assert data["description"] == "Q3 numbers\n"
    assert data["tags"] == ["work", "writing"]
    assert data["due_date"] == "2026-12-24"
    assert data["created_at"].endswith("Z")
    task = Task.objects.get(workspace_id="alpha", client_id="t-1")
    assert (task.priority, task.status, task.category) == ("high", "in-progress", "work")
    assert task.tags == ["work", "writing"]
    assert data["embedding_status"] == "ready"
    assert len(task.embedding.vector) == 768
    assert task.embedding_hash is not None


def test_create_applies_defaults(client_a):
    data = client_a.post("/api/tasks", {"id": "t", "title": "Plain"}).json()
    assert data["priority"] == "medium"
    assert data["status"] == "todo"
    assert data["category"] == "general"
    assert data["tags"] == []
    assert data["due_date"] is None
    assert data["description"] == ""


def test_create_without_coordinates_places_tasks_on_a_spiral(client_a, settings):
    settings.LINKDO_EMBED_TIMEOUT_S = 0.1
    with patch("linkdo.ai.local.LocalProvider.embed", side_effect=ProviderError("down")):
        bodies = [
            client_a.post("/api/tasks", {"id": f"t{i}", "title": "T"}).json() for i in range(3)
        ]
    places = [(body["x"], body["y"]) for body in bodies]
    assert places == [tuple(p) for p in spiral_positions(0, 3).tolist()]


def test_create_keeps_client_coordinates(client_a):
    data = client_a.post("/api/tasks", {"id": "t", "title": "T", "x": 12.5, "y": -3}).json()
    assert (data["x"], data["y"]) == (12.5, -3.0)


def test_due_date_accepts_datetimes_and_keeps_their_time(client_a):
    data = client_a.post(
        "/api/tasks", {"id": "t", "title": "T", "due_date": "2026-12-24T18:30:00+09:00"}
    ).json()
    assert data["due_date"] == "2026-12-24T09:30:00Z"
    naive = client_a.post(
        "/api/tasks", {"id": "u", "title": "U", "due_date": "2026-12-24T18:30:00"}
    ).json()
    assert naive["due_date"] == "2026-12-24T18:30:00Z"


def test_duplicate_id_is_409_and_keeps_the_first(client_a):
    client_a.post("/api/tasks", {"id": "dup", "title": "First"})
    response = client_a.post("/api/tasks", {"id": "dup", "title": "Second"})
    assert response.status_code == 409
    assert "dup" in response.json()["detail"]
    assert Task.objects.get(client_id="dup").title == "First"


def test_same_id_in_two_workspaces_are_two_tasks(client_a, client_b):
    assert client_a.post("/api/tasks", {"id": "same", "title": "A"}).status_code == 201
    assert client_b.post("/api/tasks", {"id": "same", "title": "B"}).status_code == 201
    assert client_a.get("/api/tasks/same").json()["title"] == "A"
    assert client_b.get("/api/tasks/same").json()["title"] == "B"


def test_retrieve_and_404(client_a, ws_a, slash):
    TaskFactory(workspace=ws_a, client_id="here", title="Here")
    response = client_a.get(f"/api/tasks/here{slash}")
    assert response.status_code == 200
    assert response.json()["title"] == "Here"
    missing = client_a.get(f"/api/tasks/nope{slash}")
    assert missing.status_code == 404
    assert "nope" in missing.json()["detail"]


def test_ids_with_dots_and_unicode_are_addressable(client_a):
    for task_id in ["1700000000.123", "할일-1", "a b"]:
        assert client_a.post("/api/tasks", {"id": task_id, "title": "T"}).status_code == 201
        assert client_a.get(f"/api/tasks/{task_id}").json()["id"] == task_id


def test_list_is_in_creation_order_and_filters(client_a, ws_a):
    TaskFactory(workspace=ws_a, client_id="a", tags=["home"], status="done", priority="low")
    TaskFactory(workspace=ws_a, client_id="b", tags=["work", "home"], category="job")
    TaskFactory(workspace=ws_a, client_id="c", tags=["work"], priority="critical")
    ids = lambda r: [t["id"] for t in r.json()]  # noqa: E731
    assert ids(client_a.get("/api/tasks")) == ["a", "b", "c"]
    assert ids(client_a.get("/api/tasks?tag=home")) == ["a", "b"]
    assert ids(client_a.get("/api/tasks/?tag=work&priority=critical")) == ["c"]
    assert ids(client_a.get("/api/tasks?status=done")) == ["a"]
    assert ids(client_a.get("/api/tasks?category=job")) == ["b"]
    assert ids(client_a.get("/api/tasks?tag=nothing")) == []
    # Empty values are a form's "any": no filter, no search (unranked, no score).
    assert ids(client_a.get("/api/tasks?status=&priority=&q=")) == ["a", "b", "c"]
    assert "score" not in client_a.get("/api/tasks?q=%20%20").json()[0]


@pytest.mark.parametrize(
    "query",
    ["include=vectors", "limit=0&q=x", "q=x&limit=", "q=" + "x" * 501],
)
def test_bad_query_parameters_are_400(client_a, query):
    # Found by the schema fuzzer: unknown `include` values and empty numbers were ignored.
    response = client_a.get(f"/api/tasks?{query}")
    assert response.status_code == 400
    field = query.split("=")[0] if "limit" not in query else "limit"
    assert field in response.json()


def test_bad_filter_value_is_400(client_a):
    response = client_a.get("/api/tasks?status=finished")
    assert response.status_code == 400
    assert "status" in response.json()


def test_embedding_only_when_asked(client_a, ws_a):
    TaskFactory(workspace=ws_a, client_id="e", embedding=[0.5] * 768)
    assert "embedding" not in client_a.get("/api/tasks").json()[0]
    listed = client_a.get("/api/tasks?include=embedding").json()[0]
    assert listed["embedding"][:2] == [0.5, 0.5]
    assert len(listed["embedding"]) == 768
    single = client_a.get("/api/tasks/e?include=embedding").json()
    assert len(single["embedding"]) == 768


@pytest.mark.parametrize("method", ["patch", "put"])
def test_patch_and_put_are_partial(client_a, ws_a, method, slash):
    TaskFactory(workspace=ws_a, client_id="p", title="Old", description="keep", priority="low")
    response = getattr(client_a, method)(f"/api/tasks/p{slash}", {"title": "New"})
    assert response.status_code == 200, response.json()
    assert response.json()["title"] == "New"
    task = Task.objects.get(client_id="p")
    assert (task.title, task.description, task.priority) == ("New", "keep", "low")
    assert task.updated_at > task.created_at


def test_patch_accepts_the_whole_echoed_task(client_a):
    created = client_a.post("/api/tasks", {"id": "echo", "title": "T"}).json()
    created["status"] = "done"
    response = client_a.patch("/api/tasks/echo", created)
    assert response.status_code == 200, response.json()
    assert Task.objects.get(client_id="echo").status == "done"


def test_patch_cannot_change_the_id(client_a, ws_a):
    TaskFactory(workspace=ws_a, client_id="fixed")
    response = client_a.patch("/api/tasks/fixed", {"id": "other"})
    assert response.status_code == 400
    assert "id cannot be changed" in response.json()["detail"]
    assert Task.objects.filter(client_id="fixed").exists()


def test_patch_without_changes_writes_nothing(client_a, ws_a):
    task = TaskFactory(workspace=ws_a, client_id="same", title="Same")
    before = Task.objects.get(pk=task.pk).updated_at
    assert client_a.patch("/api/tasks/same", {"title": "Same"}).status_code == 200
    assert Task.objects.get(pk=task.pk).updated_at == before


def test_delete_removes_the_task_and_its_edges(client_a, ws_a, slash):
    a = TaskFactory(workspace=ws_a, client_id="a")
    b = TaskFactory(workspace=ws_a, client_id="b")
    c = TaskFactory(workspace=ws_a, client_id="c")
    EdgeFactory(source=a, target=b)
    EdgeFactory(source=c, target=a)
    EdgeFactory(source=b, target=c)
    response = client_a.delete(f"/api/tasks/a{slash}")
    assert response.status_code == 200
    assert response.json() == {"deleted": True, "id": "a", "deleted_edges": 2}
    assert client_a.get("/api/tasks/a").status_code == 404
    assert [t["id"] for t in client_a.get("/api/tasks").json()] == ["b", "c"]
    assert len(client_a.get("/api/edges").json()) == 1
    assert Task.objects.get(client_id="a").deleted_at is not None  # tombstone for sync
    assert Edge.objects.filter(deleted_at__isnull=True).count() == 1
    assert client_a.delete("/api/tasks/a").status_code == 404


def test_cascade_delete_reports_edge_count(client_a, ws_a, slash):
    a = TaskFactory(workspace=ws_a, client_id="a")
    EdgeFactory(source=a, target=TaskFactory(workspace=ws_a))
    response = client_a.delete(f"/api/tasks/a/cascade{slash}")
    assert response.status_code == 200
    assert response.json()["deleted_edges"] == 1
    assert client_a.get("/api/edges").json() == []
    assert "a" not in [t["id"] for t in client_a.get("/api/graph").json()["tasks"]]
    assert Task.objects.filter(client_id="a", deleted_at__isnull=True).count() == 0


def test_other_workspace_sees_404_and_changes_nothing(client_a, client_b, ws_a):
    TaskFactory(workspace=ws_a, client_id="secret", title="Alpha's", tags=["private"])
    assert client_b.get("/api/tasks").json() == []
    assert client_b.get("/api/tasks?tag=private").json() == []
    for response in [
        client_b.get("/api/tasks/secret"),
        client_b.patch("/api/tasks/secret", {"title": "Stolen"}),
        client_b.put("/api/tasks/secret", {"title": "Stolen"}),
        client_b.delete("/api/tasks/secret"),
        client_b.delete("/api/tasks/secret/cascade"),
    ]:
        assert response.status_code == 404
        assert "Alpha" not in response.content.decode()
    task = Task.objects.get(client_id="secret")
    assert (task.title, task.workspace_id) == ("Alpha's", "alpha")


def test_list_query_count_does_not_grow(client_a, ws_a, django_assert_num_queries):
    TaskFactory.create_batch(3, workspace=ws_a)
    with django_assert_num_queries(3):  # the secret check, the workspace, one select
        assert len(client_a.get("/api/tasks").json()) == 3
    TaskFactory.create_batch(30, workspace=ws_a, tags=["x"])
    with django_assert_num_queries(3):
        assert len(client_a.get("/api/tasks").json()) == 33


def test_a_deleted_id_is_created_again_with_a_new_version(client_a, ws_a):
    """A REST create is a person's explicit intent (the PWA's backup restore deletes, then posts the
    same ids): the tombstone comes back with the new content and a version devices pull."""
    TaskFactory(workspace=ws_a, client_id="gone", title="Old", tags=["old"], status="done")
    client_a.delete("/api/tasks/gone")
    deleted_version = Task.objects.get(client_id="gone").version
    response = client_a.post("/api/tasks", {"id": "gone", "title": "Back", "tags": ["new"]})
    assert response.status_code == 201
    body = response.json()
    assert (body["title"], body["tags"], body["status"]) == ("Back", ["new"], "todo")
    row = Task.objects.get(client_id="gone")
    assert row.deleted_at is None and row.version > deleted_version
    assert Task.objects.filter(client_id="gone").count() == 1
    assert client_a.post("/api/tasks", {"id": "gone", "title": "Again"}).status_code == 409
