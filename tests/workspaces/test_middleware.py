import pytest
from rest_framework.test import APIClient

from tasks.models import Task
from tests.conftest import WorkspaceClient
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db

API_PATHS = ["/api/tasks", "/api/edges", "/api/tags", "/api/graph", "/api/tasks/x"]


@pytest.mark.parametrize("path", API_PATHS)
def test_missing_header_is_400_naming_the_header(path):
    response = APIClient().get(path)
    assert response.status_code == 400
    assert "X-Workspace-ID" in response.json()["detail"]
    assert Workspace.objects.count() == 0


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("w" * 129, "at most 128 characters"),
        ("abc\tdef", "control characters"),
        ("abc\x7f", "control characters"),
        (" padded", "start or end with spaces"),
    ],
)
def test_malformed_header_is_400_and_creates_nothing(value, reason):
    response = APIClient(HTTP_X_WORKSPACE_ID=value).post(
        "/api/tasks", {"id": "t1", "title": "x"}, format="json"
    )
    assert response.status_code == 400
    assert reason in response.json()["detail"]
    assert "X-Workspace-ID" in response.json()["detail"]
    assert Workspace.objects.count() == 0
    assert Task.objects.count() == 0


def test_unknown_workspace_is_created_empty_on_first_use():
    response = APIClient(HTTP_X_WORKSPACE_ID="new-browser-42").get("/api/tasks")
    assert response.status_code == 200
    assert response.json() == []
    workspace = Workspace.objects.get(pk="new-browser-42")
    assert workspace.created_at is not None
    assert workspace.last_seen_at >= workspace.created_at


def test_longest_allowed_id_and_unicode_work():
    for value in ["w" * 128, "브라우저-1"]:
        # HTTP headers travel as latin-1; the client sends what a browser would for UTF-8.
        raw = value.encode("utf-8").decode("latin-1")
        response = APIClient(HTTP_X_WORKSPACE_ID=raw).get("/api/tags/")
        assert response.status_code == 200, value
        assert Workspace.objects.filter(pk=value).exists()  # decoded as the UTF-8 it is


def test_health_needs_no_header():
    response = APIClient().get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok"
    assert body["database"]["pgvector"]
    assert APIClient().get("/health/").status_code == 200


def test_cors_preflight_allows_the_workspace_header(settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example"]
    response = APIClient().options(
        "/api/tasks",
        HTTP_ORIGIN="https://app.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-workspace-id,content-type",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://app.example"
    assert "x-workspace-id" in response["Access-Control-Allow-Headers"]


def test_a_workspace_seen_recently_costs_no_query(
    db, django_assert_num_queries, django_capture_on_commit_callbacks, monkeypatch
):
    from workspaces.models import Workspace
    from workspaces.services import recently_seen

    client = WorkspaceClient("fresh-one")
    # Every request reads the workspace's secret hash (workspaces.auth: a claim or a rotation
    # holds at once on every process), then: seen recently? no: create; the tags.
    with django_assert_num_queries(4), django_capture_on_commit_callbacks(execute=True):
        assert client.get("/api/tags").status_code == 200
    assert Workspace.objects.filter(pk="fresh-one").exists()
    with django_assert_num_queries(2):  # remembered after the commit: the secret check, the tags
        assert client.get("/api/tags").status_code == 200
    # After the minute, the next request reads the workspace row again.
    later = recently_seen.clock() + 61
    monkeypatch.setattr(recently_seen, "clock", lambda: later)
    with django_assert_num_queries(3):
        assert client.get("/api/tags").status_code == 200


def test_a_rolled_back_workspace_is_not_remembered(db, django_capture_on_commit_callbacks):
    """An import that fails takes its new workspace with it; the process must not think it exists."""
    from django.db import transaction

    from workspaces.services import recently_seen, workspace_touch

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                workspace_touch(workspace_id="doomed")
                raise RuntimeError("the import failed")
        except RuntimeError:
            pass
    assert callbacks == [] and "doomed" not in recently_seen
