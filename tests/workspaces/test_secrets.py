"""Workspace secrets (issue 32): claiming, using, rotating and removing a workspace's secret,
required mode, short ids, guessing, and every path honouring it; unclaimed workspaces unchanged."""

import io
import json
import statistics
import time

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.urls import reverse

from tests.conftest import WorkspaceClient
from workspaces.models import Workspace
from workspaces.secrets import PREFIX, secret_hash, secret_well_formed

pytestmark = pytest.mark.django_db

REFUSED_DETAIL = "This workspace needs its secret"


def claim(client) -> str:
    response = client.post("/api/workspace/claim")
    assert response.status_code == 201, response.content
    return response.json()["secret"]


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def forget_guesses():
    """Refusals are counted against guessing (10 a minute); tests that refuse more start over."""
    from django.db import connection

    from linkdo.throttling import shared_counts

    shared_counts.clear()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM linkdo_rate WHERE key LIKE 'guess:%%'")


def assert_refused(response):
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["detail"].startswith(REFUSED_DETAIL)


def test_claim_answers_a_recognisable_secret_stored_only_as_its_hash(client_a, ws_a):
    assert client_a.get("/api/workspace").json()["claimed"] is False
    secret = claim(client_a)
    assert secret.startswith(PREFIX) and len(secret) == len(PREFIX) + 43 + 6
    assert secret_well_formed(secret)
    assert not secret_well_formed(secret[:-1] + ("A" if secret[-1] != "A" else "B"))
    stored = Workspace.objects.get(pk="alpha")
    assert stored.secret_hash == secret_hash(secret)
    assert secret not in json.dumps(
        list(Workspace.objects.filter(pk="alpha").values()), default=str
    )
    state = client_a.get("/api/workspace", **bearer(secret)).json()
    assert state["claimed"] is True and secret not in json.dumps(state)
    assert stored.secret_hash not in json.dumps(state)


def test_a_claimed_workspace_needs_its_secret_on_every_path(client_a, ws_a):
    client_a.post("/api/tasks", {"id": "t1", "title": "Before the claim"})
    secret = claim(client_a)
    wrong = PREFIX + "x" * 49
    calls = [
        ("get", "/api/tasks", None),
        ("post", "/api/tasks", {"id": "t2", "title": "After"}),
        ("post", "/api/tasks/sync", {"cursor": None, "tasks": []}),
        ("post", "/api/tasks/parse", {"text": "내일 청소"}),
        ("get", "/api/stats", None),
        ("get", "/api/graph", None),
        ("get", "/api/tags", None),
        ("get", "/api/edges", None),
    ]
    for method, path, body in calls:
        send = getattr(client_a, method)
        args = (path, body) if body is not None else (path,)
        for headers in ({}, bearer(wrong), bearer("not-a-secret"), {"HTTP_AUTHORIZATION": secret}):
            assert_refused(send(*args, **headers))
        forget_guesses()
        assert send(*args, **bearer(secret)).status_code in (200, 201), path
    # Refused requests stored nothing.
    assert sorted(client_a.get("/api/tasks", **bearer(secret)).json(), key=str) and {
        t["id"] for t in client_a.get("/api/tasks", **bearer(secret)).json()
    } == {"t1", "t2"}


def test_claiming_again_is_401_without_the_secret_and_409_with_it(client_a, ws_a):
    secret = claim(client_a)
    assert_refused(client_a.post("/api/workspace/claim"))
    again = client_a.post("/api/workspace/claim", **bearer(secret))
    assert again.status_code == 409
    assert Workspace.objects.get(pk="alpha").secret_hash == secret_hash(secret)


def test_rotation_replaces_the_secret_at_once(client_a, ws_a):
    old = claim(client_a)
    rotated = client_a.post("/api/workspace/secret/rotate", **bearer(old))
    assert rotated.status_code == 200
    new = rotated.json()["secret"]
    assert new != old and secret_well_formed(new)
    assert_refused(client_a.get("/api/tasks", **bearer(old)))
    assert client_a.get("/api/tasks", **bearer(new)).status_code == 200
    assert client_a.post("/api/workspace/secret/rotate").status_code == 401
    unclaimed = WorkspaceClient("bravo").post("/api/workspace/secret/rotate")
    assert unclaimed.status_code == 409


def test_an_unclaimed_workspace_is_served_as_before(client_a, client_b, ws_a):
    claim(client_b)
    assert client_a.post("/api/tasks", {"id": "a", "title": "A"}).status_code == 201
    assert client_a.get("/api/tasks").status_code == 200
    # A secret sent to an unclaimed workspace is ignored, not refused.
    assert client_a.get("/api/tasks", **bearer(PREFIX + "y" * 49)).status_code == 200


def test_required_mode_refuses_unclaimed_workspaces_and_creates_no_row(db, settings):
    settings.LINKDO_REQUIRE_WORKSPACE_SECRET = True
    client = WorkspaceClient("required-mode-workspace")
    for path in ("/api/tasks", "/api/workspace", "/api/graph"):
        assert_refused(client.get(path))
    assert_refused(client.post("/api/tasks", {"id": "t", "title": "T"}))
    assert not Workspace.objects.filter(pk="required-mode-workspace").exists()
    secret = claim(client)
    assert Workspace.objects.filter(pk="required-mode-workspace").exists()
    assert client.get("/api/tasks", **bearer(secret)).status_code == 200


def test_short_ids_are_refused_naming_the_rule(db, settings):
    settings.LINKDO_MIN_WORKSPACE_ID_LENGTH = 22
    response = WorkspaceClient("demo").get("/api/tasks")
    assert response.status_code == 400
    assert "at least 22 characters" in response.json()["detail"]
    assert "LINKDO_MIN_WORKSPACE_ID_LENGTH" in response.json()["detail"]
    assert not Workspace.objects.filter(pk="demo").exists()
    assert WorkspaceClient("k" * 22).get("/api/tasks").status_code == 200


def test_guessing_is_throttled_without_touching_the_workspace(client_a, ws_a, settings):
    secret = claim(client_a)
    seen = Workspace.objects.get(pk="alpha").last_seen_at
    codes = [
        client_a.get("/api/tasks", **bearer(PREFIX + f"{i:049d}")).status_code for i in range(12)
    ]
    assert codes == [401] * 10 + [429] * 2
    blocked = client_a.get("/api/tasks", **bearer(secret))
    assert blocked.status_code == 429 and 1 <= int(blocked["Retry-After"]) <= 60
    assert Workspace.objects.get(pk="alpha").last_seen_at == seen


def test_the_operator_removes_a_lost_secret_in_the_admin(admin_client, admin_user, client_a, ws_a):
    secret = claim(client_a)
    url = reverse("admin:workspaces_workspace_changelist")
    response = admin_client.post(
        url, {"action": "remove_secret", "_selected_action": ["alpha"]}, follow=True
    )
    assert response.status_code == 200
    assert Workspace.objects.get(pk="alpha").secret_hash is None
    entry = LogEntry.objects.get(object_id="alpha")
    assert entry.user == admin_user and "secret" in entry.get_change_message()
    # The owner claims again; the lost secret no longer opens it.
    new = claim(client_a)
    assert_refused(client_a.get("/api/tasks", **bearer(secret)))
    assert client_a.get("/api/tasks", **bearer(new)).status_code == 200


def test_a_preflight_lets_authorization_through_without_a_secret(client_a, ws_a, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://pwa.example"]
    claim(client_a)
    response = client_a.options(
        "/api/tasks",
        HTTP_ORIGIN="https://pwa.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, x-workspace-id",
    )
    assert response.status_code == 200
    assert "authorization" in response["Access-Control-Allow-Headers"].lower()


def test_an_export_carries_no_secret(client_a, ws_a):
    secret = claim(client_a)
    client_a.post("/api/tasks", {"id": "t", "title": "T"}, **bearer(secret))
    out = io.StringIO()
    call_command("export_workspace", "alpha", stdout=out, stderr=io.StringIO())
    assert secret_hash(secret) not in out.getvalue() and secret not in out.getvalue()


def test_refusals_take_the_same_time_whatever_was_wrong(db, settings):
    claimed = WorkspaceClient("timed-claimed")
    claim(claimed)
    settings.LINKDO_REQUIRE_WORKSPACE_SECRET = True
    unknown = WorkspaceClient("timed-unknown")
    cases = {
        "missing": lambda: claimed.get("/api/tags"),
        "wrong": lambda: claimed.get("/api/tags", **bearer(PREFIX + "z" * 49)),
        "malformed": lambda: claimed.get("/api/tags", **bearer("garbage")),
        "unknown workspace": lambda: unknown.get("/api/tags"),
    }
    medians = {}
    for name, call in cases.items():
        times = []
        for _ in range(60):
            forget_guesses()  # stay below the guessing limit
            started = time.perf_counter()
            assert call().status_code == 401
            times.append(time.perf_counter() - started)
        medians[name] = statistics.median(times)
    spread = max(medians.values()) - min(medians.values())
    print({name: round(value * 1000, 3) for name, value in medians.items()})
    assert spread < 0.5 * min(medians.values()), medians  # a generous bound; figures in README


def test_workspace_ref_prints_the_reference_the_logs_carry(client_a, ws_a, caplog):
    import logging

    out = io.StringIO()
    call_command("workspace_ref", "alpha", stdout=out)
    ref = out.getvalue().strip()
    assert len(ref) == 12 and int(ref, 16) >= 0
    with caplog.at_level(logging.INFO, logger="linkdo.requests"):
        client_a.get("/api/tasks")
    line = next(r.getMessage() for r in caplog.records if r.name == "linkdo.requests")
    assert f"workspace={ref}" in line and "alpha" not in line


def test_full_workspace_ids_are_for_admin_users_only(client, db, ws_a):
    from django.contrib.auth.models import Permission, User

    from linkdo.observability import workspace_ref

    staff = User.objects.create_user("staff", password="pw", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_workspace"))
    Workspace.objects.create(id="visible-only-to-admins")
    client.force_login(staff)
    page = client.get(reverse("admin:workspaces_workspace_changelist")).content.decode()
    assert "visible-only-to-admins" not in page
    assert workspace_ref("visible-only-to-admins") in page
    # Found by its exact id only.
    url = reverse("admin:workspaces_workspace_changelist")
    assert (
        workspace_ref("visible-only-to-admins")
        in client.get(url, {"q": "visible-only-to-admins"}).content.decode()
    )
    assert (
        workspace_ref("visible-only-to-admins")
        not in client.get(url, {"q": "visible"}).content.decode()
    )


@pytest.mark.parametrize("workspace_id", ["slots-on-workspace", "할일-공간-비밀"])
def test_with_the_concurrency_slots_on_the_secret_read_with_them_holds(db, settings, workspace_id):
    """In production the secret hash comes with the slots' statement (no query of its own); for
    a non-ASCII id the raw header differs from the id, and the check must still hold."""
    settings.LINKDO_CONCURRENCY_WORKSPACE = 2
    settings.LINKDO_CONCURRENCY_IP = 8
    client = WorkspaceClient(workspace_id.encode().decode("latin-1"))  # what WSGI hands over
    secret = claim(client)
    assert Workspace.objects.get(pk=workspace_id).secret_hash == secret_hash(secret)
    assert_refused(client.get("/api/tags"))
    forget_guesses()
    assert_refused(client.get("/api/tags", **bearer(PREFIX + "q" * 49)))
    forget_guesses()
    assert client.get("/api/tags", **bearer(secret)).status_code == 200
