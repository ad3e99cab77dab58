"""Hostile and odd requests: out-of-range times and dates, deep nesting, control bytes and
forged headers, garbled workspace ids, dropped connections, made-up ids and cursors. Each test
names the defect it guards against (found by the adversarial pass of issue 16)."""

import base64
import json
import logging
from unittest.mock import patch

import pytest
from django.core.cache import cache
from django.db import OperationalError
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from graph.models import Edge
from graph.svg import group_colour
from tasks.models import Task
from tests.conftest import WorkspaceClient
from tests.helpers import not_on_citus
from tests.sync.test_sync import sync
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db


# B1: one sync item with a BC timestamp broke its workspace for good.
@pytest.mark.parametrize(
    "stamp",
    ["0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00", "0900-01-01T00:00:00Z"],
)
def test_out_of_range_sync_timestamps_are_rejected_and_the_workspace_still_reads(client_a, stamp):
    body = sync(
        client_a, {"cursor": None, "tasks": [{"id": "bc", "title": "x", "updated_at": stamp}]}
    )
    result = body["results"][0]
    assert result["status"] == "rejected"
    assert "updated_at" in result["reason"]
    assert not Task.objects.filter(client_id="bc").exists()
    assert client_a.get("/api/tasks").status_code == 200
    assert client_a.get("/api/graph").status_code == 200
    assert sync(client_a, {"cursor": None})["tasks"] == []


# B2: extreme due dates were a 500 (OverflowError) on POST, PATCH and a whole push.
@pytest.mark.parametrize(
    "due", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00", "0001-01-01", "3000-01-01"]
)
def test_out_of_range_due_dates_are_a_400_everywhere(client_a, due):
    response = client_a.post("/api/tasks", {"id": "t", "title": "T", "due_date": due})
    assert response.status_code == 400
    assert "due_date" in response.json()
    assert "between the years" in response.json()["due_date"][0]
    assert client_a.post("/api/tasks", {"id": "t", "title": "T"}).status_code == 201
    assert client_a.patch("/api/tasks/t", {"due_date": due}).status_code == 400
    assert Task.objects.get(client_id="t").due_date is None
    body = sync(
        client_a,
        {
            "cursor": None,
            "tasks": [{"id": "u", "title": "U", "due_date": due}, {"id": "v", "title": "V"}],
        },
    )
    assert [r["status"] for r in body["results"]] == ["rejected", "created"]


# B3: deep nesting was a 500 (RecursionError).
@pytest.mark.parametrize(
    "path", ["/api/tasks", "/api/tags/suggest-tags", "/api/tasks/sync", "/api/edges"]
)
def test_deeply_nested_bodies_are_a_400(client_a, path):
    response = client_a.generic("POST", path, "[" * 100_000 + "]" * 100_000)
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]
    assert not Task.objects.exists()


def test_a_cursor_of_deep_nesting_is_a_400(client_a):
    cursor = base64.urlsafe_b64encode(b"[" * 100_000).decode()
    response = client_a.post("/api/tasks/sync", {"cursor": cursor})
    assert response.status_code == 400
    assert "cursor" in response.json()["detail"]


# B4: a NUL byte in a path id was a 500.
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/tasks/%00"),
        ("patch", "/api/tasks/%00"),
        ("delete", "/api/tasks/%00"),
        ("get", "/api/tasks/a%00b/similar"),
        ("delete", "/api/tasks/%00/cascade"),
        ("delete", "/api/edges/%00/s1"),
    ],
)
def test_control_bytes_in_path_ids_are_not_found(client_a, method, path):
    response = getattr(client_a, method)(path, {} if method == "patch" else None)
    assert response.status_code == 404
    assert response.json()["detail"]


# B5: the workspace header is UTF-8; two headers joined by a comma are refused.
def test_a_utf8_workspace_id_round_trips():
    hangul = "작업공간" * 10 + "가나다"  # 43 characters, 129 bytes
    raw = hangul.encode().decode("latin-1")  # what WSGI hands over
    client = APIClient()
    response = client.post(
        "/api/tasks/sync",
        {"cursor": None, "tasks": [{"id": "t", "title": "T", "workspace_id": hangul}]},
        format="json",
        HTTP_X_WORKSPACE_ID=raw,
    )
    assert response.status_code == 200, response.json()
    assert response.json()["results"][0]["status"] == "created"
    assert Workspace.objects.filter(pk=hangul).exists()
    listed = client.get("/api/tasks", HTTP_X_WORKSPACE_ID=raw).json()
    assert listed[0]["workspace_id"] == hangul


@pytest.mark.parametrize(
    ("raw", "words"),
    [("\xff\xfe", "UTF-8"), ("dupA,dupB", "one X-Workspace-ID header")],
)
def test_bad_or_doubled_workspace_headers_are_a_400(raw, words):
    response = APIClient().get("/api/tasks", HTTP_X_WORKSPACE_ID=raw)
    assert response.status_code == 400
    assert words in response.json()["detail"]
    assert not Workspace.objects.exists()


# X1: LINKDO_NUM_PROXIES=0 became None, and DRF then trusted X-Forwarded-For.
def test_the_address_throttle_ignores_forged_forwarded_headers(settings):
    assert api_settings.NUM_PROXIES == 0
    cache.clear()
    settings.LINKDO_THROTTLE_IP = "5/min"
    codes = [
        WorkspaceClient(f"w{i}")
        .get("/api/tags", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
        .status_code
        for i in range(12)
    ]
    assert codes == [200] * 5 + [429] * 7
    cache.clear()


# X2: a throttled request still created its workspace row.
def test_a_throttled_request_creates_no_workspace(settings):
    cache.clear()
    settings.LINKDO_THROTTLE_IP = "1/min"
    assert WorkspaceClient("first").get("/api/tags").status_code == 200
    assert WorkspaceClient("second").get("/api/tags").status_code == 429
    assert list(Workspace.objects.values_list("pk", flat=True)) == ["first"]
    cache.clear()


# X3: a path ending in %0A split the request's log line.
def test_a_newline_at_the_end_of_a_path_cannot_split_a_log_line(caplog):
    with caplog.at_level(logging.INFO, logger="linkdo.requests"):
        WorkspaceClient("alpha").get("/api/tasks/abc%0A", HTTP_X_REQUEST_ID="abc\n")
    lines = [r.getMessage() for r in caplog.records if r.name == "linkdo.requests"]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert 'path="/api/tasks/abc\\n"' in lines[0]
    assert "request_id=abc\n" not in lines[0]


# X4: a category such as "²" made the admin's map vanish (int() of a Unicode digit).
@pytest.mark.parametrize("group", ["²", "①"])
def test_unicode_digit_categories_get_a_colour(group):
    assert group_colour(group).startswith("#")


# /metrics answered 503 while the database was down: the scraper lost everything exactly then.
def test_metrics_answer_while_the_database_is_down(client):
    with patch("django.db.models.query.QuerySet.count", side_effect=OperationalError("down")):
        response = client.get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    assert "linkdo_database_up 0.0" in text
    assert "linkdo_provider_calls_total" in text or "python_info" in text
    assert "linkdo_database_up 1.0" in client.get("/metrics").content.decode()


@not_on_citus(
    "a data migration of databases from before 2026-11 moves rows to another workspace id; Citus "
    "refuses to change a distribution value, and a cluster starts from the migrated schema"
)
def test_workspaces_stored_under_a_garbled_id_are_renamed_to_their_utf8_id(client_a):
    """Before the UTF-8 reading, "브라우저-1" was stored as its latin-1 reading; the migration moves
    such a workspace, with its rows, to the id the browser really sends."""
    import importlib
    from types import SimpleNamespace

    from django.db import connection

    from graph.models import Edge
    from tasks.models import Embedding

    migration = importlib.import_module("workspaces.migrations.0004_utf8_workspace_ids")
    real = "브라우저-1"
    garbled = real.encode().decode("latin-1")
    client = WorkspaceClient("plain")
    client.post("/api/tasks", {"id": "a", "title": "A", "tags": ["x"]})
    client.post("/api/tasks", {"id": "b", "title": "B", "tags": ["x"]})
    for table in ("workspaces_workspace",):
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET id = %s WHERE id = 'plain'", [garbled])
    for model in (Task, Edge, Embedding):
        model.objects.filter(workspace_id="plain").update(workspace_id=garbled)
    migration.rename_garbled_ids(None, SimpleNamespace(connection=connection))
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred keys hold
    assert Workspace.objects.filter(pk=real).exists()
    assert not Workspace.objects.filter(pk=garbled).exists()
    assert Task.objects.filter(workspace_id=real).count() == 2
    assert Edge.objects.filter(workspace_id=real).count() == 1
    listed = APIClient().get("/api/tasks", HTTP_X_WORKSPACE_ID=real.encode().decode("latin-1"))
    assert [t["id"] for t in listed.json()] == ["a", "b"]


# F1: the vectors were read by a raw psycopg COPY that skipped Django's connection handling: after a
# database restart, the first suggested-edges read in each worker was a 500.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/graph/suggested-edges"), ("post", "/api/graph/auto-arrange")],
)
def test_a_dropped_connection_is_a_503_or_replaced_never_a_500(method, path):
    from django.db import close_old_connections, connection, connections

    client = WorkspaceClient("alpha")
    for i in range(3):
        client.post("/api/tasks", {"id": f"t{i}", "title": f"garden task {i}"})
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    killer = connections.create_connection("default")
    try:
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        killer.close()
    client.raise_request_exception = False
    first = getattr(client, method)(path)
    assert first.status_code in (200, 503), first.content
    close_old_connections()  # what the next request's start does
    assert getattr(client, method)(path).status_code == 200


# I1: edge ids and the row id inside cursors came from global sequences: a workspace could count
# another's activity from the gaps.
def test_edge_ids_and_cursors_reveal_no_global_sequence(client_a, client_b):
    for client in (client_a, client_b):
        for task_id in "abc":
            client.post("/api/tasks", {"id": task_id, "title": task_id.upper(), "tags": ["x"]})
    edges = client_a.get("/api/edges").json()
    internal = sorted(Edge.objects.filter(workspace_id="alpha").values_list("pk", flat=True))
    assert len(edges) == 3
    for edge in edges:
        assert len(edge["id"]) == 16 and int(edge["id"], 16) not in internal
        assert not any(str(pk) == edge["id"] for pk in internal)
    # The opaque id works on the API, and another workspace's edge is as unknown as any.
    assert client_a.delete(f"/api/edges/{edges[0]['id']}").status_code == 200
    theirs = client_b.get("/api/edges").json()[0]["id"]
    assert client_a.delete(f"/api/edges/{theirs}").status_code == 404
    assert client_a.delete("/api/edges/zzzz").status_code == 404
    # A cursor holds no plain row id either.
    cursor = sync(client_a, {"cursor": None, "limit": 2})["cursor"]
    decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    task_pks = set(Task.objects.values_list("pk", flat=True)) | set(internal)
    assert decoded[2] not in task_pks
    assert sync(client_a, {"cursor": cursor})["has_more"] is False


def test_cursors_from_before_opaque_ids_still_page(client_a):
    for i in range(5):
        client_a.post("/api/tasks", {"id": f"t{i}", "title": f"T{i}"})
    rows = list(Task.objects.order_by("version", "id").values_list("version", "pk"))
    version, pk = rows[1]
    old_cursor = base64.urlsafe_b64encode(json.dumps([version, 0, pk, 0]).encode()).decode()
    pulled = sync(client_a, {"cursor": old_cursor.rstrip("=")})
    assert [t["id"] for t in pulled["tasks"]] == ["t2", "t3", "t4"]


def test_public_ids_match_one_by_one_and_in_bulk():
    from linkdo.opaque import internal_id, public_id, public_ids

    values = [0, 1, 311, 2**31, 2**40 + 7, 2**63 - 1]
    assert public_ids(values, "edge") == [public_id(v, "edge") for v in values]
    assert [internal_id(public_id(v, "edge"), "edge") for v in values] == values
    assert public_id(5, "edge") != public_id(5, "cursor")


# F2: a push of 1,000 tasks sharing one tag made 499,500 auto edges and outlasted gunicorn's timeout
# (HTML 500, nothing stored, every retry the same). Links are bounded now, new tasks choose among
# each tag set's most recent tasks, and a push whose ranking of retagged tasks would still outlast
# the timeout is refused up front with a sentence saying how to split it.
def test_a_push_too_costly_to_link_is_a_413_that_says_how_to_split_it(client_a, settings):
    settings.LINKDO_SYNC_MAX_LINK_PAIRS = 1000
    seed = [{"id": f"s{i}", "title": "S", "tags": ["same"]} for i in range(30)]
    others = [{"id": f"b{i}", "title": "B", "tags": ["other"]} for i in range(40)]
    created = sync(client_a, {"cursor": None, "tasks": seed + others})["sync_stats"]
    assert created["tasks_created"] == 70
    # New tasks sharing the tag: cheap to link whatever their number, never refused.
    new = [{"id": f"n{i}", "title": "N", "tags": ["same"]} for i in range(60)]
    assert sync(client_a, {"cursor": None, "tasks": new})["sync_stats"]["tasks_created"] == 60
    retagged = [{**item, "tags": ["same"]} for item in others]  # 40 x 130 tag-mates
    response = client_a.post("/api/tasks/sync", {"cursor": None, "tasks": retagged})
    assert response.status_code == 413
    detail = response.json()["detail"]
    assert "Nothing was applied" in detail and "retagged tasks per push" in detail
    assert set(Task.objects.get(client_id="b0").tags) == {"other"}
    allowed = int(detail.split("send at most ")[1].split(" ")[0].replace(",", ""))
    part = sync(client_a, {"cursor": None, "tasks": retagged[:allowed]})
    assert part["sync_stats"]["tasks_updated"] == allowed
    # A replay changes no tags, so it costs nothing to link and is never refused.
    assert sync(client_a, {"cursor": None, "tasks": seed})["sync_stats"]["tasks_updated"] == 0


def test_made_up_opaque_ids_are_not_found_never_a_500(client_a):
    from linkdo.opaque import unscramble

    beyond = next(  # a well-formed public id whose row id would not fit PostgreSQL's bigint
        f"{n:016x}" for n in range(2**62, 2**64, 2**58) if unscramble(n, "edge") >= 2**63
    )
    for made_up in (beyond, "ffffffffffffffff", "0000000000000000", "99999999999999999999"):
        assert client_a.delete(f"/api/edges/{made_up}").status_code == 404, made_up


def test_made_up_cursors_are_a_400_never_a_500(client_a):
    def send(values):
        cursor = base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")
        return client_a.post("/api/tasks/sync", {"cursor": cursor}).status_code

    # Beyond PostgreSQL's bigint: refused like any cursor this server did not issue.
    assert send([2**64 - 1, 0, 0, 0, 1]) == 400
    assert send([2**63, 0, 1, 0]) == 400
    # Any 64-bit value in the opaque place maps to some position: an answer, never a 500.
    for hidden in (0, 2**63, 2**64 - 1):
        assert send([0, 0, hidden, 0, 1]) in (200, 400)
