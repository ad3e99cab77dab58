"""What the real PWA met in a browser: CORS on every answer it can get, a backup restore that
deletes and re-creates the same ids, a compressed graph, and a map spaced for its nodes."""

import gzip
import json
from unittest.mock import patch

import numpy as np
import pytest
from django.core.cache import cache
from django.db import OperationalError
from rest_framework.test import APIClient

from graph.layout import MIN_NEIGHBOUR_DISTANCE, median_neighbour_distance
from graph.models import Edge
from tasks.models import Task
from tests.conftest import WorkspaceClient
from tests.helpers import random_titles
from tests.sync.test_sync import sync

ORIGIN = "https://pwa.example"
OTHER_ORIGIN = "https://evil.example"


@pytest.fixture
def cors(settings):
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]


def error_answers(client: APIClient) -> dict[int, object]:
    """One request per status a browser can get, each sent with the given client's Origin."""
    cache.clear()
    alpha = WorkspaceClient("alpha")
    alpha.post("/api/tasks", {"id": "dup", "title": "Dup"})
    answers = {
        200: lambda h: client.get("/health", **h),
        400: lambda h: client.get("/api/tasks", **h),  # no X-Workspace-ID
        404: lambda h: alpha.get("/api/tasks/missing", **h),
        409: lambda h: alpha.post("/api/tasks", {"id": "dup", "title": "Again"}, **h),
        413: lambda h: alpha.generic(
            "POST", "/api/tasks", "x", CONTENT_LENGTH=str(10 * 1024 * 1024), **h
        ),
    }
    return answers


@pytest.mark.django_db
@pytest.mark.parametrize("status", [200, 400, 404, 409, 413])
def test_every_answer_carries_cors_for_an_allowed_origin_only(cors, status):
    answers = error_answers(APIClient())
    allowed = answers[status]({"HTTP_ORIGIN": ORIGIN})
    assert allowed.status_code == status
    assert allowed["Access-Control-Allow-Origin"] == ORIGIN
    assert "retry-after" in allowed["Access-Control-Expose-Headers"].lower()
    refused = answers[status]({"HTTP_ORIGIN": OTHER_ORIGIN})
    assert refused.status_code == status
    assert "Access-Control-Allow-Origin" not in refused


@pytest.mark.django_db
def test_unknown_paths_carry_cors(cors):
    response = APIClient().get("/nothing-here", HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 404
    assert response["Access-Control-Allow-Origin"] == ORIGIN


@pytest.mark.django_db
def test_a_throttled_answer_carries_cors_and_exposes_retry_after(cors, settings):
    cache.clear()
    settings.LINKDO_THROTTLE_WORKSPACE = "1/min"
    client = WorkspaceClient("alpha")
    assert client.get("/api/tasks", HTTP_ORIGIN=ORIGIN).status_code == 200
    response = client.get("/api/tasks", HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 429
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert int(response["Retry-After"]) >= 1
    assert "retry-after" in response["Access-Control-Expose-Headers"].lower()
    cache.clear()


@pytest.mark.django_db
def test_a_database_outage_carries_cors(cors):
    with patch("workspaces.api.workspace_touch", side_effect=OperationalError("down")):
        response = WorkspaceClient("alpha").get("/api/tasks", HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 503
    assert response["Access-Control-Allow-Origin"] == ORIGIN


@pytest.mark.django_db
def test_the_health_preflight_is_answered(cors):
    response = APIClient().options(
        "/health", HTTP_ORIGIN=ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN


@pytest.mark.django_db
def test_backup_restore_brings_every_task_and_edge_back(client_a, client_b):
    """The PWA's restore ("덮어쓰기"): DELETE .../cascade for each task, then POST each task and edge
    again with the same ids. It used to end with an empty workspace (409 on every task)."""
    backup = [
        {"id": "a", "title": "Write report", "tags": ["work"], "status": "done"},
        {"id": "b", "title": "Call mom", "tags": ["home"], "priority": "high"},
        {"id": "c", "title": "Budget", "tags": ["work", "money"], "due_date": "2026-12-01"},
    ]
    for task in backup:
        assert client_a.post("/api/tasks", task).status_code == 201
    assert client_a.post("/api/edges", {"source": "a", "target": "b", "weight": 0.7}).status_code
    cursor = sync(client_a, {"cursor": None})["cursor"]
    edges_before = {(e["source"], e["target"], e["weight"], e["origin"]) for e in graph(client_a)}

    for task in backup:
        assert client_a.delete(f"/api/tasks/{task['id']}/cascade").status_code == 200
    assert client_a.get("/api/tasks").json() == []
    for task in backup:
        response = client_a.post("/api/tasks", task)
        assert response.status_code == 201, response.json()
    response = client_a.post("/api/edges", {"source": "a", "target": "b", "weight": 0.7})
    assert response.status_code in (200, 201)

    restored = {t["id"]: t for t in client_a.get("/api/tasks").json()}
    assert set(restored) == {"a", "b", "c"}
    for task in backup:
        for field, value in task.items():
            assert restored[task["id"]][field] == value
    assert {(e["source"], e["target"], e["weight"], e["origin"]) for e in graph(client_a)} == (
        edges_before
    )
    assert Task.objects.filter(workspace_id="alpha", deleted_at__isnull=True).count() == 3
    assert Edge.objects.filter(workspace_id="alpha", deleted_at__isnull=True).count() == len(
        edges_before
    )
    # Another device that synced before the restore pulls the tasks back as live rows.
    pulled = sync(client_a, {"cursor": cursor})
    live = {t["id"] for t in pulled["tasks"] if not t.get("deleted")}
    assert live == {"a", "b", "c"}
    assert client_b.get("/api/tasks").json() == []


def test_a_stale_sync_update_to_a_deleted_id_stays_rejected(client_a):
    client_a.post("/api/tasks", {"id": "a", "title": "A"})
    version = sync(client_a, {"cursor": None})["tasks"][0]["version"]
    client_a.delete("/api/tasks/a")
    result = sync(
        client_a, {"cursor": None, "tasks": [{"id": "a", "title": "B", "base_version": version}]}
    )["results"][0]
    assert result["status"] in ("conflict", "rejected")
    assert not Task.objects.filter(client_id="a", deleted_at__isnull=True).exists()


def graph(client, **query):
    return client.get("/api/graph", query).json()["edges"]


def test_the_graph_is_compressed_for_clients_that_accept_gzip(client_a):
    for i in range(30):
        client_a.post("/api/tasks", {"id": f"t{i}", "title": f"Task {i}", "tags": ["work"]})
    plain = client_a.get("/api/graph")
    assert "Content-Encoding" not in plain
    zipped = client_a.get("/api/graph", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert zipped.status_code == 200
    assert zipped["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped["Vary"]
    assert json.loads(gzip.decompress(zipped.content)) == plain.json()
    assert len(zipped.content) * 5 < len(plain.content)


def test_compact_graph_leaves_out_what_the_map_does_not_draw(client_a):
    for i in range(20):
        client_a.post(
            "/api/tasks",
            {"id": f"t{i}", "title": f"Task {i}", "description": "d" * 200, "tags": ["work"]},
        )
    full = client_a.get("/api/graph")
    compact = client_a.get("/api/graph", {"fields": "compact"})
    task, edge = compact.json()["tasks"][0], compact.json()["edges"][0]
    assert not {"workspace_id", "description", "created_at", "updated_at"} & set(task)
    assert "workspace_id" not in edge
    assert {"id", "title", "x", "y", "tags", "status"} <= set(task)
    assert {"id", "source", "target", "weight", "origin"} <= set(edge)
    assert len(compact.content) < 0.7 * len(full.content)


def test_two_hundred_creates_are_placed_by_meaning_not_in_a_row(client_a):
    """The old rule put 200 tasks at x = 0, 100, ..., 19,900. Now the workspace gets a map basis by
    itself once 3 tasks are embedded, and every later task is placed where its meaning projects."""
    for i, title in enumerate(random_titles(200, seed=7)):
        assert client_a.post("/api/tasks", {"id": f"t{i}", "title": title}).status_code == 201
    coords = np.array([(t["x"], t["y"]) for t in client_a.get("/api/tasks").json()])
    extent = np.ptp(coords, axis=0)
    assert extent.max() < 2000
    assert extent.min() > 0.1 * extent.max()  # a map, not a line
    # Arranging spaces them for the PWA's nodes.
    client_a.post("/api/graph/auto-arrange")
    coords = np.array([(t["x"], t["y"]) for t in client_a.get("/api/tasks").json()])
    assert median_neighbour_distance(coords) >= MIN_NEIGHBOUR_DISTANCE


def test_an_edge_to_another_workspaces_task_is_not_found(client_a, client_b):
    client_a.post("/api/tasks", {"id": "mine", "title": "Mine"})
    client_b.post("/api/tasks", {"id": "theirs", "title": "Theirs"})
    response = client_a.post("/api/edges", {"source": "mine", "target": "theirs"})
    assert response.status_code == 404
    assert "'theirs' does not exist in this workspace" in response.json()["detail"]
    assert not Edge.objects.exists()
