"""The stream process: GET /api/events, Server-Sent Events for one workspace.

`python -m workspaces.events` serves it with uvicorn, beside gunicorn (which serves the rest of
the API): a stream holds no sync worker, only a coroutine. The process keeps ONE PostgreSQL
connection listening on workspaces.changes.CHANNEL and fans every notification out, in memory,
to the open streams of its workspace as a poke: `id: <version>`, `event: changed`,
`data: {"version": N}`, never the rows (the client pulls with its sync cursor). Pokes of one
workspace within COALESCE_S of the last one are sent once, with the latest version.

- A stream is opened with a ticket (workspaces.tickets) from POST /api/events/ticket.
  `Last-Event-ID` (or `?since=`) gets one poke at once when the workspace moved on meanwhile.
- A comment line every LINKDO_EVENTS_HEARTBEAT_S keeps proxies from closing an idle stream.
- At most LINKDO_EVENTS_PER_WORKSPACE streams per workspace and LINKDO_EVENTS_MAX_STREAMS per
  process (429 beyond).
- The listening connection is opened again with backoff when the database goes away; once back,
  every open stream whose workspace moved on meanwhile gets one poke.
- On SIGTERM or SIGINT every stream ends cleanly (its client reconnects with Last-Event-ID,
  elsewhere), then the server stops.
- With `--upstream` (`make run`) every other request is passed to gunicorn, so a browser meets
  the API and its stream on one origin.

Django is configured (settings) but not set up: the process loads no app, no ORM.
"""

import argparse
import asyncio
import json
import logging
import os
import time
from urllib.parse import parse_qs

import psycopg

from workspaces.changes import CHANNEL, change_key, parse_payload

logger = logging.getLogger("linkdo.events")

COALESCE_S = 0.05
RETRY_MS = 2000  # what the browser waits before reconnecting a dropped stream
MAX_BACKOFF_S = 30.0


class Stream:
    """One open stream: the last version its client knows, and an event to wake its coroutine."""

    def __init__(self, workspace_id: str, since: int | None):
        self.workspace_id = workspace_id
        self.key = change_key(workspace_id)
        self.known = since  # None until the workspace's version is read at open
        self.latest = 0
        self.wake = asyncio.Event()
        self.gone = False

    def poke(self, version: int) -> None:
        if self.known is None or version > self.known:
            self.latest = max(self.latest, version)
            self.wake.set()


class Hub:
    """The open streams of this process by workspace key, and the coalescing of their pokes."""

    def __init__(self, *, per_workspace: int, max_streams: int):
        self.per_workspace, self.max_streams = per_workspace, max_streams
        self.streams: dict[str, set[Stream]] = {}
        self.total = 0
        self.closing = False
        self.listening = asyncio.Event()
        self._last_sent: dict[str, float] = {}
        self._pending: dict[str, int] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def add(self, stream: Stream) -> str | None:
        """Register a stream; the reason it is refused (429), or None."""
        if self.total >= self.max_streams:
            return "This server holds as many event streams as it can; try again in a minute."
        mates = self.streams.setdefault(stream.key, set())
        if len(mates) >= self.per_workspace:
            return (
                f"This workspace has {len(mates)} open event streams, the most allowed; close one "
                "(a browser needs one stream, shared by its tabs)."
            )
        mates.add(stream)
        self.total += 1
        return None

    def remove(self, stream: Stream) -> None:
        mates = self.streams.get(stream.key)
        if mates and stream in mates:
            mates.discard(stream)
            self.total -= 1
            if not mates:
                del self.streams[stream.key]

    def changed(self, key: str, version: int) -> None:
        """A notification: poke the workspace's streams now, or once at the end of the window
        when the last poke was less than COALESCE_S ago."""
        if key not in self.streams:
            return
        self._pending[key] = max(self._pending.get(key, 0), version)
        if key in self._timers:
            return
        loop = asyncio.get_running_loop()
        wait = self._last_sent.get(key, -COALESCE_S) + COALESCE_S - loop.time()
        if wait <= 0:
            self._flush(key)
        else:
            self._timers[key] = loop.call_later(wait, self._flush, key)

    def _flush(self, key: str) -> None:
        self._timers.pop(key, None)
        version = self._pending.pop(key, None)
        if version is None:
            return
        self._last_sent[key] = asyncio.get_running_loop().time()
        if len(self._last_sent) > 4 * self.max_streams:  # forget workspaces long quiet
            self._last_sent = {k: t for k, t in self._last_sent.items() if k in self.streams}
        for stream in self.streams.get(key, ()):
            stream.poke(version)

    def open_workspaces(self) -> list[str]:
        return list({s.workspace_id for mates in self.streams.values() for s in mates})

    def close_all(self) -> None:
        self.closing = True
        for mates in self.streams.values():
            for stream in mates:
                stream.wake.set()


def connection_kwargs() -> dict:
    """psycopg.connect() arguments for the configured database (settings.DATABASES)."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    kwargs = {
        "dbname": db.get("NAME"),
        "user": db.get("USER"),
        "password": db.get("PASSWORD"),
        "host": db.get("HOST"),
        "port": db.get("PORT"),
        "connect_timeout": 5,
        "application_name": "linkdo-events",
    }
    options = {k: v for k, v in db.get("OPTIONS", {}).items() if k in ("sslmode", "sslrootcert")}
    return {k: v for k, v in {**kwargs, **options}.items() if v not in (None, "")}


class Database:
    """The process's two connections: one that listens, one for the version reads at open."""

    def __init__(self, hub: Hub):
        self.hub = hub
        self._reader: psycopg.AsyncConnection | None = None
        self._reader_lock = asyncio.Lock()

    async def versions(self, workspace_ids: list[str]) -> dict[str, int]:
        """The workspaces' change versions (a workspace not stored yet: absent)."""
        if not workspace_ids:
            return {}
        async with self._reader_lock:
            for attempt in (1, 2):
                try:
                    if self._reader is None or self._reader.closed:
                        self._reader = await psycopg.AsyncConnection.connect(
                            **connection_kwargs(), autocommit=True
                        )
                    cursor = await self._reader.execute(
                        "SELECT id, change_version FROM workspaces_workspace WHERE id = ANY(%s)",
                        [workspace_ids],
                    )
                    return dict(await cursor.fetchall())
                except psycopg.OperationalError:
                    self._reader = None
                    if attempt == 2:
                        raise
        return {}

    async def listen(self) -> None:
        """Listen for changes for as long as the process runs, reconnecting with backoff."""
        delay = 1.0
        while not self.hub.closing:
            try:
                async with await psycopg.AsyncConnection.connect(
                    **connection_kwargs(), autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    delay = 1.0
                    self.hub.listening.set()
                    await self._catch_up()
                    async for note in conn.notifies():
                        parsed = parse_payload(note.payload)
                        if parsed is not None:
                            self.hub.changed(*parsed)
            except psycopg.OperationalError as error:
                first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
                logger.warning("events_listen_lost error=%r retry_in_s=%.0f", first_line, delay)
            self.hub.listening.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_S)

    async def _catch_up(self) -> None:
        """After (re)connecting: one poke to each open stream whose workspace moved on."""
        for workspace_id, version in (await self.versions(self.hub.open_workspaces())).items():
            for stream in self.hub.streams.get(change_key(workspace_id), ()):
                stream.poke(version)


def _event(version: int) -> bytes:
    data = json.dumps({"version": version})
    return f"id: {version}\nevent: changed\ndata: {data}\n\n".encode()


def _first(query: dict, name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _version(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


class EventsApp:
    """The ASGI application of the stream process."""

    def __init__(self, *, upstream: str | None = None):
        from django.conf import settings

        self.settings = settings
        self.hub = Hub(
            per_workspace=settings.LINKDO_EVENTS_PER_WORKSPACE,
            max_streams=settings.LINKDO_EVENTS_MAX_STREAMS,
        )
        self.database = Database(self.hub)
        self.upstream = upstream
        self._listener: asyncio.Task | None = None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            return await self._lifespan(receive, send)
        if scope["type"] != "http":
            return None
        if scope["path"].rstrip("/") == "/api/events":
            return await self._stream(scope, receive, send)
        if self.upstream:
            from linkdo.front import forward

            return await forward(self.upstream, scope, receive, send)
        if scope["path"].rstrip("/") == "/health":  # the probes of a stream-only process
            listening = self.hub.listening.is_set()
            body = json.dumps(
                {"status": "ok" if listening else "unavailable", "streams": self.hub.total}
            )
            return await self._send_json(send, 200 if listening else 503, body)
        return await self._answer(send, 404, "Not found: this process serves /api/events only.")

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._listener = asyncio.create_task(self.database.listen())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.hub.close_all()
                if self._listener is not None:
                    self._listener.cancel()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _cors(self, headers: dict) -> list[tuple[bytes, bytes]]:
        origin = headers.get("origin")
        allowed = self.settings.CORS_ALLOW_ALL_ORIGINS or origin in set(
            self.settings.CORS_ALLOWED_ORIGINS
        )
        if not origin or not allowed:
            return []
        return [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"origin")]

    async def _answer(self, send, status: int, detail: str, headers=()) -> None:
        await self._send_json(send, status, json.dumps({"detail": detail}), headers)

    async def _send_json(self, send, status: int, text: str, headers=()) -> None:
        body = text.encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _stream(self, scope, receive, send) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        cors = self._cors(headers)
        if scope["method"] != "GET":
            return await self._answer(send, 405, "Open the stream with GET.", cors)
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        from workspaces.tickets import ticket_workspace

        workspace_id = ticket_workspace(_first(query, "ticket"))
        if workspace_id is None:
            return await self._answer(
                send, 401, "This stream needs a fresh ticket: POST /api/events/ticket.", cors
            )
        since = _version(headers.get("last-event-id")) or _version(_first(query, "since"))
        stream = Stream(workspace_id, since)
        refusal = self.hub.add(stream)
        if refusal is not None:
            return await self._answer(send, 429, refusal, [*cors, (b"retry-after", b"60")])
        watcher = asyncio.create_task(self._watch_disconnect(receive, stream))
        try:
            await self._serve(send, stream, cors)
        finally:
            watcher.cancel()
            self.hub.remove(stream)

    async def _watch_disconnect(self, receive, stream: Stream) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                stream.gone = True
                stream.wake.set()
                return

    async def _serve(self, send, stream: Stream, cors) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                    (b"x-accel-buffering", b"no"),
                    *cors,
                ],
            }
        )
        await send(
            {
                "type": "http.response.body",
                "body": f"retry: {RETRY_MS}\n\n".encode(),
                "more_body": True,
            }
        )
        try:
            versions = await self.database.versions([stream.workspace_id])
        except psycopg.Error:  # the database is away: the LISTEN's catch-up pokes once it is back
            versions = {}
        current = versions.get(stream.workspace_id)
        if stream.known is None:
            stream.known = current or 0  # a new client pulls at open; later changes are poked
        elif current is not None:
            stream.poke(current)
        heartbeat = self.settings.LINKDO_EVENTS_HEARTBEAT_S
        while True:
            try:
                await asyncio.wait_for(stream.wake.wait(), timeout=heartbeat)
            except TimeoutError:
                await send(
                    {"type": "http.response.body", "body": b": keep-alive\n\n", "more_body": True}
                )
                continue
            stream.wake.clear()
            if stream.gone:
                return
            if self.hub.closing:
                break
            if stream.latest > stream.known:
                stream.known = stream.latest
                await send(
                    {"type": "http.response.body", "body": _event(stream.known), "more_body": True}
                )
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def main() -> None:
    parser = argparse.ArgumentParser(description="LinkDo's stream process (GET /api/events).")
    parser.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a server's port
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--upstream", default=None, help="unix:PATH or HOST:PORT of gunicorn")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linkdo.settings")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    import uvicorn

    app = EventsApp(upstream=args.upstream)

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame) -> None:
            # End every stream first: uvicorn waits for open responses before it stops.
            loop = asyncio.get_event_loop()
            loop.call_soon_threadsafe(app.hub.close_all)
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        app, host=args.host, port=args.port, lifespan="on", log_level="warning",
        access_log=False, timeout_graceful_shutdown=10, proxy_headers=False,
    )  # fmt: skip
    started = time.monotonic()
    Server(config).run()
    logger.info("events_stopped after_s=%.0f", time.monotonic() - started)


if __name__ == "__main__":
    main()
