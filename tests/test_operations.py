"""Running LinkDo: request logs with ids, /metrics for the scraper only, throttling, production
settings that pass `check --deploy`, /health for probes, static files served by the app."""

import logging
import secrets

import pytest
from django.core.cache import cache

from linkdo.observability import workspace_ref
from tests.conftest import WorkspaceClient
from tests.helpers import run_django
from tests.test_settings import UNREACHABLE

PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "DATABASE_URL": UNREACHABLE,
    "ALLOWED_HOSTS": "api.linkdo.example",
}


def test_one_structured_line_per_request_with_a_request_id(ws_a, caplog):
    client = WorkspaceClient("alpha")
    with caplog.at_level(logging.INFO, logger="linkdo.requests"):
        response = client.post("/api/tasks", {"id": "t", "title": "Log me"})
    assert response.status_code == 201
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    lines = [r.getMessage() for r in caplog.records if r.name == "linkdo.requests"]
    assert len(lines) == 1
    line = lines[0]
    assert line.startswith("request method=POST path=/api/tasks status=201 duration_ms=")
    # The workspace's keyed reference, never its id (issue 32).
    assert f"request_id={request_id} workspace={workspace_ref('alpha')}" in line
    assert "alpha" not in line


def test_a_proxy_request_id_is_kept_and_a_forged_one_replaced(db, caplog):
    client = WorkspaceClient("alpha")
    assert client.get("/api/tags", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    with caplog.at_level(logging.INFO, logger="linkdo.requests"):
        forged = client.get("/api/tags%0Afake=1", HTTP_X_REQUEST_ID="x y\nrequest status=200")
    assert forged["X-Request-ID"] != "x y\nrequest status=200"
    line = caplog.records[-1].getMessage()
    assert "\n" not in line and 'path="/api/tags\\nfake=1"' in line


def test_api_keys_never_reach_the_logs(ws_a, gemini, caplog):
    with caplog.at_level(logging.DEBUG):
        WorkspaceClient("alpha").post(
            "/api/tasks", {"id": "k", "title": "Keyed"}, HTTP_X_GEMINI_API_KEY="user-key-secret"
        )
    assert "provider_call provider=gemini kind=embed items=1" in caplog.text
    assert "user-key-secret" not in caplog.text and "server-key-not-secret" not in caplog.text


def test_metrics_answer_the_local_scraper_with_linkdo_counters(ws_a, client):
    WorkspaceClient("alpha").post("/api/tasks", {"id": "m", "title": "Counted"})
    WorkspaceClient("alpha").post("/api/tasks/sync", {"cursor": None, "tasks": [{"id": "s"}]})
    response = client.get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    assert 'linkdo_provider_calls_total{kind="embed",outcome="ok",provider="local"}' in text
    assert 'linkdo_sync_items_total{kind="task",status="rejected"}' in text
    assert "linkdo_pending_embeddings 0.0" in text
    assert "django_http_requests_total_by_method_total" in text
    types = [line for line in text.splitlines() if line.startswith("# TYPE")]
    assert len(types) == len(set(types))  # each family once, or Prometheus drops the scrape


@pytest.mark.parametrize(
    ("extra", "settings_change"),
    [
        ({"REMOTE_ADDR": "203.0.113.9"}, {}),  # the internet
        ({"HTTP_X_FORWARDED_FOR": "203.0.113.9"}, {}),  # came through the ingress
        ({"HTTP_AUTHORIZATION": "Bearer wrong"}, {"LINKDO_METRICS_TOKEN": "right"}),
        ({}, {"LINKDO_METRICS_TOKEN": "right"}),  # a token replaces the address rule
    ],
)
def test_metrics_refuse_everyone_else(db, client, settings, extra, settings_change):
    for name, value in settings_change.items():
        setattr(settings, name, value)
    response = client.get("/metrics", **extra)
    assert response.status_code == 403
    assert b"linkdo_" not in response.content


def test_metrics_with_the_right_token(db, client, settings):
    settings.LINKDO_METRICS_TOKEN = "right"
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer right", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 200


@pytest.fixture
def throttled(settings):
    cache.clear()
    settings.LINKDO_THROTTLE_WORKSPACE = "3/min"
    settings.LINKDO_THROTTLE_IP = "5/min"
    yield
    cache.clear()


def test_throttle_per_workspace_answers_429_with_retry_after(db, throttled):
    alpha, bravo = WorkspaceClient("alpha"), WorkspaceClient("bravo")
    assert [alpha.get("/api/tasks").status_code for _ in range(3)] == [200, 200, 200]
    response = alpha.get("/api/tasks")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "throttled" in response.json()["detail"]
    # Another workspace from another address has its own budget.
    assert bravo.get("/api/tasks", REMOTE_ADDR="198.51.100.7").status_code == 200


def test_throttle_per_address_spans_workspaces(db, throttled):
    codes = [WorkspaceClient(f"w{i}").get("/api/tags").status_code for i in range(6)]
    assert codes == [200] * 5 + [429]


def test_throttled_writes_store_nothing(db, throttled, settings):
    settings.LINKDO_THROTTLE_WORKSPACE = "1/min"
    client = WorkspaceClient("alpha")
    assert client.post("/api/tasks", {"id": "a", "title": "A"}).status_code == 201
    assert client.post("/api/tasks", {"id": "b", "title": "B"}).status_code == 429
    from tasks.models import Task

    assert list(Task.objects.values_list("client_id", flat=True)) == ["a"]


@pytest.mark.slow
def test_check_deploy_is_clean_under_production_settings():
    result = run_django(
        "from django.core.management import call_command\n"
        "call_command('check', deploy=True, fail_level='WARNING')",
        **PRODUCTION,
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.slow
def test_production_behind_the_proxy():
    """HTTPS redirect for plain requests, none for ones the proxy marks https; /health answers
    probes by pod address over plain HTTP; the admin's static files are served by the app."""
    code = """
from django.core.management import call_command
from django.test import Client
import tempfile, io
from django.conf import settings
settings.STATIC_ROOT = tempfile.mkdtemp()
call_command('collectstatic', interactive=False, verbosity=0)
from whitenoise.middleware import WhiteNoiseMiddleware
c = Client(raise_request_exception=False)
plain = c.get('/api/tags', HTTP_HOST='api.linkdo.example')
print('plain', plain.status_code, plain.get('Location'))
proxied = c.get('/admin/login/', HTTP_HOST='api.linkdo.example', HTTP_X_FORWARDED_PROTO='https')
print('proxied', proxied.status_code, proxied.get('Strict-Transport-Security'))
probe = c.get('/health', HTTP_HOST='10.42.0.17:8000')
print('probe', probe.status_code)
css = c.get('/static/admin/css/base.css', HTTP_HOST='api.linkdo.example', HTTP_X_FORWARDED_PROTO='https')
print('static', css.status_code)
"""
    result = run_django(code, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    out = dict(line.split(" ", 1) for line in result.stdout.strip().splitlines())
    assert out["plain"] == "301 https://api.linkdo.example/api/tags"
    assert out["proxied"] == "200 max-age=31536000; includeSubDomains"
    assert out["probe"] == "503"  # answered (the database is unreachable here), not a 400
    assert out["static"] == "200"


# Issue 30, item 11: a lock someone holds on the rate counters must not stall the requests.
def test_a_lock_on_the_rate_counters_lets_requests_through_at_once(db, throttled, settings):
    import threading
    import time

    import psycopg

    from tests.helpers import database_url

    settings.LINKDO_THROTTLE_WORKSPACE = "1000/min"
    settings.LINKDO_THROTTLE_IP = "1000/min"
    locked, release = threading.Event(), threading.Event()

    def hold_lock():
        with psycopg.connect(database_url()) as conn:
            conn.execute("LOCK TABLE linkdo_rate IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(20)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert locked.wait(10)
        client = WorkspaceClient("alpha")
        started = time.monotonic()
        codes = [client.get("/api/tasks").status_code for _ in range(4)]
        health = client.get("/health").status_code
        elapsed = time.monotonic() - started
    finally:
        release.set()
        holder.join()
    assert codes == [200] * 4 and health == 200
    assert elapsed < 3  # each counter statement waits 200 ms at most


# Issue 30, item 17: every answer under /api/ is JSON, in debug mode too.
@pytest.mark.parametrize("debug", [True, False])
def test_api_errors_are_json_in_every_mode(db, settings, debug):
    settings.DEBUG = debug
    unknown = WorkspaceClient("alpha").get("/api/no-such-thing")
    assert unknown.status_code == 404
    assert unknown["Content-Type"] == "application/json"
    assert "No such path" in unknown.json()["detail"]
    bad_host = WorkspaceClient("alpha").get("/api/tasks", HTTP_HOST="evil.example")
    assert bad_host.status_code == 400
    assert bad_host["Content-Type"] == "application/json"
    assert "Host header" in bad_host.json()["detail"]


# Issue 30, item 12: ids put in admin links are encoded.
def test_admin_links_encode_the_workspace_id(admin_client, db):
    from urllib.parse import parse_qs, urlsplit

    from django.urls import reverse

    from workspaces.models import Workspace

    poison = "plain&workspace__id__exact=poison"
    Workspace.objects.create(id=poison)
    Workspace.objects.create(id="poison")
    page = admin_client.get(reverse("admin:workspaces_workspace_change", args=[poison]))
    assert page.status_code == 200
    html = page.content.decode()
    import re

    links = re.findall(r"href=['\"]([^'\"]*\?workspace__id__exact[^'\"]*)['\"]", html)
    queries = [
        parse_qs(urlsplit(link.replace("&amp;", "&")).query) for link in links if "?" in link
    ]
    assert len(queries) == 2, html[:2000]
    assert all(q["workspace__id__exact"] == [poison] for q in queries)


@pytest.mark.parametrize(
    ("forwarded", "status"),
    [("127.0.0.1", 200), ("203.0.113.9", 403), ("127.0.0.1, 203.0.113.9", 403)],
    ids=["local-through-the-front", "internet-through-the-front", "forged-local"],
)
def test_metrics_behind_the_front_judge_the_client_it_names(
    db, client, settings, forwarded, status
):
    """The front (make run, compose) appends its client to X-Forwarded-For and is counted in
    LINKDO_NUM_PROXIES: the scraper on the host is let in, the internet is not, and an address
    the client wrote itself is never taken."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    response = client.get("/metrics", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="127.0.0.1")
    assert response.status_code == status
