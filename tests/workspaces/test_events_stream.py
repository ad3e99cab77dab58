"""GET /api/events on the stream process (workspaces.events), with real processes: a write through
a web server reaches a stream opened on the stream process; pokes carry the version, coalesce,
catch up after a reconnect (of the client or of the process's LISTEN); tickets, limits and
isolation hold; shutdown ends the streams."""

import json
import signal
import socket
import time
from urllib.parse import urlparse

import psycopg
import pytest

from bench.server import events_server, gunicorn
from tests.helpers import database_url, http_json
from workspaces.changes import CHANNEL, change_key
from workspaces.models import Workspace
from workspaces.tickets import _fernet, ticket_issue

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class Reader:
    """An open stream over a plain socket, read event by event (http.client cannot go on
    reading after a timeout)."""

    def __init__(self, base: str, query: str, headers: dict | None = None):
        url = urlparse(base)
        self.sock = socket.create_connection((url.hostname, url.port), timeout=5)
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        request = f"GET /api/events?{query} HTTP/1.1\r\nHost: {url.netloc}\r\n{extra}\r\n"
        self.sock.sendall(request.encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buffer += chunk
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        self.status = int(status_line.split()[1])
        self.headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
        self.chunked = self.headers.get("transfer-encoding") == "chunked"
        self.text = ""  # decoded body not yet split into lines
        self.ended = False

    def _more(self, timeout: float) -> bool:
        """Read what arrives within `timeout`; False at the end of the stream or on timeout."""
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            return False
        if not chunk:
            self.ended = True
            return False
        self.buffer += chunk
        while self.chunked and b"\r\n" in self.buffer:  # de-chunk what is complete
            size_line, _, rest = self.buffer.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                self.ended = True
                self.buffer = b""
                break
            if len(rest) < size + 2:
                break
            self.text += rest[:size].decode()
            self.buffer = rest[size + 2 :]
        if not self.chunked:
            self.text += self.buffer.decode()
            self.buffer = b""
        return True

    def lines(self, within: float) -> list[str]:
        """The lines that arrive within `within` seconds."""
        deadline = time.monotonic() + within
        while not self.ended and (left := deadline - time.monotonic()) > 0:
            if not self._more(left):
                break
        *complete, self.text = self.text.split("\n")
        return complete

    def events(self, within: float, *, first: bool = False) -> list[dict]:
        """The events (not comments) that arrive within `within` seconds (with `first`, as soon
        as one has)."""
        if first:
            deadline = time.monotonic() + within
            while "event: changed" not in self.text and not self.ended:
                if (left := deadline - time.monotonic()) <= 0 or not self._more(left):
                    break
            within = 0.01
        found, event = [], {}
        for line in self.lines(within):
            if not line:
                if "event" in event:
                    found.append(event)
                event = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(": ")
                event[name] = value
        if self.ended:
            found.append({"ended": True})
        return found

    def body(self) -> dict:
        while not self.ended and len(self.buffer) < int(self.headers.get("content-length", 0)):
            if not self._more(2):
                break
        return json.loads(self.text or self.buffer)

    def close(self):
        self.sock.close()


def ticket_query(workspace_id: str, **extra) -> str:
    query = f"ticket={ticket_issue(workspace_id=workspace_id)}"
    return query + "".join(f"&{k}={v}" for k, v in extra.items())


def version(workspace_id: str) -> int:
    return Workspace.objects.get(pk=workspace_id).change_version


@pytest.fixture(scope="module")
def servers(django_db_setup):
    """Two web replicas and the stream process, for the whole module (the last test stops the
    stream process)."""
    from django.conf import settings

    env = {"DATABASE_URL": database_url(), "SECRET_KEY": settings.SECRET_KEY}
    with (
        gunicorn(workers=1, **env) as (api_a, _),
        gunicorn(workers=1, **env) as (api_b, _),
        events_server(LINKDO_EVENTS_PER_WORKSPACE="3", LINKDO_EVENTS_HEARTBEAT_S="1", **env) as (
            events,
            process,
        ),
    ):
        yield api_a, api_b, events, process


def create(base: str, workspace: str, task_id: str) -> None:
    status, _ = http_json(
        base, "POST", "/api/tasks", {"id": task_id, "title": f"Task {task_id}"}, workspace=workspace
    )
    assert status == 201


def test_a_write_on_either_replica_pokes_the_workspaces_streams_only(servers):
    api_a, api_b, events, _ = servers
    create(api_a, "live-a", "t0")
    create(api_a, "live-b", "t0")
    mine, other = Reader(events, ticket_query("live-a")), Reader(events, ticket_query("live-b"))
    assert mine.status == other.status == 200
    assert mine.headers["content-type"].startswith("text/event-stream")
    assert mine.headers["cache-control"] == "no-cache"
    assert mine.headers["x-accel-buffering"] == "no"
    assert mine.events(0.3) == []  # a new client pulls at open: nothing old is poked
    started = time.monotonic()
    create(api_a, "live-a", "t1")
    got = mine.events(2.0, first=True)
    assert time.monotonic() - started < 1.0, got
    assert got[:1] == [
        {"id": str(version("live-a")), "event": "changed",
         "data": json.dumps({"version": version("live-a")})}
    ]  # fmt: skip
    create(api_b, "live-a", "t2")  # the other replica
    assert mine.events(2.0)[-1]["id"] == str(version("live-a"))
    assert other.events(0.5) == []
    mine.close()
    other.close()


def test_reconnecting_with_last_event_id_gets_the_missed_poke_at_once(servers):
    api_a, _, events, _ = servers
    create(api_a, "live-c", "t0")
    seen = version("live-c")
    create(api_a, "live-c", "t1")  # while the client was away
    back = Reader(events, ticket_query("live-c"), {"Last-Event-ID": str(seen)})
    assert back.events(1.0)[:1] == [
        {"id": str(version("live-c")), "event": "changed",
         "data": json.dumps({"version": version("live-c")})}
    ]  # fmt: skip
    since = Reader(events, ticket_query("live-c", since=seen))
    assert since.events(1.0)[0]["id"] == str(version("live-c"))
    current = Reader(events, ticket_query("live-c", since=version("live-c")))
    assert current.events(0.5) == []  # nothing missed: no poke
    for reader in (back, since, current):
        reader.close()


def test_many_changes_within_the_window_are_coalesced(servers):
    _, _, events, _ = servers
    client = Reader(events, ticket_query("live-d"))
    client.events(0.2)
    with psycopg.connect(database_url(), autocommit=True) as conn:
        conn.execute("INSERT INTO workspaces_workspace (id, created_at, last_seen_at) "
                     "VALUES ('live-d', now(), now()) ON CONFLICT DO NOTHING")  # fmt: skip
        for _ in range(20):  # each change and its notification, as workspaces.changes sends them
            with conn.transaction():
                (changed,) = conn.execute(
                    "UPDATE workspaces_workspace SET change_version = change_version + 1 "
                    "WHERE id = 'live-d' RETURNING change_version"
                ).fetchone()
                conn.execute(
                    "SELECT pg_notify(%s, %s)", [CHANNEL, f"{change_key('live-d')}:{changed}"]
                )
    got = client.events(1.0)
    assert 1 <= len(got) < 10
    assert got[-1]["id"] == str(version("live-d")) == "20"
    client.close()


def test_an_idle_stream_hears_a_comment_every_heartbeat(servers):
    _, _, events, _ = servers
    client = Reader(events, ticket_query("live-h"))
    lines = client.lines(2.5)
    assert lines[0] == "retry: 2000"
    assert lines.count(": keep-alive") >= 2
    client.close()


def test_tickets_and_limits(servers):
    _, _, events, _ = servers
    assert Reader(events, "ticket=made-up").status == 401
    assert Reader(events, "").status == 401
    expired = _fernet().encrypt_at_time(json.dumps({"w": "live-e"}).encode(), int(time.time()) - 61)
    assert Reader(events, f"ticket={expired.decode()}").status == 401
    open_ones = [Reader(events, ticket_query("live-e")) for _ in range(3)]
    assert [r.status for r in open_ones] == [200, 200, 200]
    refused = Reader(events, ticket_query("live-e"))
    assert refused.status == 429
    assert "open event streams" in refused.body()["detail"]
    open_ones[0].close()
    time.sleep(0.3)
    assert Reader(events, ticket_query("live-e")).status == 200


def test_the_listen_connection_comes_back_and_catches_up(servers):
    api_a, _, events, _ = servers
    create(api_a, "live-f", "t0")
    client = Reader(events, ticket_query("live-f"))
    client.events(0.3)
    with psycopg.connect(database_url(), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE application_name = 'linkdo-events' AND query ILIKE 'LISTEN%%'")  # fmt: skip
    create(api_a, "live-f", "t1")  # while the stream process is not listening
    got = client.events(5.0)
    assert got and got[-1]["id"] == str(version("live-f"))
    client.close()


def test_shutdown_ends_the_streams(servers):
    _, _, events, process = servers
    client = Reader(events, ticket_query("live-g"))
    client.events(0.2)
    process.send_signal(signal.SIGTERM)
    assert client.events(5.0) == [{"ended": True}]
    # uvicorn stops, then raises the signal again for its parent to see (-15).
    assert process.wait(timeout=15) in (0, -signal.SIGTERM)
