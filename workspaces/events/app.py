"""The stream process's ASGI application: GET /api/events, /health, and (with an upstream) every
other request passed to gunicorn."""

import asyncio
import json
from urllib.parse import parse_qs

import psycopg

from workspaces.events.hub import Hub, Stream
from workspaces.events.listen import Database

RETRY_MS = 2000  # what the browser waits before reconnecting a dropped stream


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
        if upstream:
            from linkdo.front import Admission

            self.admission = Admission(
                workspace=settings.LINKDO_FRONT_WORKSPACE,
                address=settings.LINKDO_CONCURRENCY_IP,
                queue=settings.LINKDO_FRONT_QUEUE,
                wait=settings.LINKDO_FRONT_WAIT_S,
                num_proxies=settings.REST_FRAMEWORK["NUM_PROXIES"],
            )
        self._listener: asyncio.Task | None = None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            return await self._lifespan(receive, send)
        if scope["type"] != "http":
            return None
        if scope["path"].rstrip("/") == "/api/events":
            return await self._stream(scope, receive, send)
        if self.upstream:
            from linkdo.front import forward, too_many

            async with self.admission.admit(scope) as refused:
                if refused:
                    return await too_many(send, *refused)
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
