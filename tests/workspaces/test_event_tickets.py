"""POST /api/events/ticket: a short-lived ticket that opens one workspace's stream; the workspace
id never shows in the ticket or the URL."""

import json
import time
from urllib.parse import parse_qs, urlparse

from tests.conftest import WorkspaceClient
from workspaces.tickets import _fernet, ticket_issue, ticket_workspace


def test_a_ticket_and_the_url_that_opens_the_stream(client_a):
    answer = client_a.post("/api/events/ticket")
    assert answer.status_code == 201
    body = answer.json()
    assert set(body) == {"ticket", "url", "expires_in"} and body["expires_in"] == 60
    url = urlparse(body["url"])
    assert url.path == "/api/events" and url.scheme == "http" and url.netloc == "testserver"
    assert parse_qs(url.query) == {"ticket": [body["ticket"]]}
    assert "alpha" not in body["url"]
    assert ticket_workspace(body["ticket"]) == "alpha"


def test_the_stream_url_can_be_configured(client_a, settings):
    settings.LINKDO_EVENTS_URL = "https://events.example.com/api/events"
    url = client_a.post("/api/events/ticket").json()["url"]
    assert url.startswith("https://events.example.com/api/events?ticket=")


def test_expired_tampered_and_foreign_tickets_open_nothing(settings):
    ticket = ticket_issue(workspace_id="alpha")
    assert ticket_workspace(ticket) == "alpha"
    old = _fernet().encrypt_at_time(json.dumps({"w": "alpha"}).encode(), int(time.time()) - 61)
    assert ticket_workspace(old.decode()) is None
    assert ticket_workspace(ticket[:-4] + "AAAA") is None
    assert ticket_workspace("") is None and ticket_workspace(None) is None
    settings.SECRET_KEY = "another server's key, at least fifty characters long for django"
    assert ticket_workspace(ticket) is None


def test_a_claimed_workspace_needs_its_secret_for_a_ticket(client_a):
    secret = client_a.post("/api/workspace/claim").json()["secret"]
    assert client_a.post("/api/events/ticket").status_code == 401
    owner = WorkspaceClient("alpha")
    owner.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert owner.post("/api/events/ticket").status_code == 201


def test_the_api_process_does_not_serve_the_stream(client_a):
    answer = client_a.get("/api/events")
    assert answer.status_code == 404
    assert "stream process" in answer.json()["detail"]
