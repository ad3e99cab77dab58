"""The front: the stream process (workspaces.events) started with --upstream listens on the public
port, serves /api/events itself and hands every other request to gunicorn, so a browser meets the
API and its stream on one origin. `make run` runs it so; compose publishes it on 8000 before the
API; each Kubernetes API pod runs it as its door (deploy/k8s/api.yaml; there the ingress routes
/api/events to the stream Deployment).

One HTTP/1.0 request per call, with its whole body: gunicorn then answers without chunked
encoding and closes the connection when the answer ends, so the answer is passed back as it comes
(a big graph is not held in memory). gunicorn sees the request as coming from this process, with
the client's address appended to X-Forwarded-For (LINKDO_NUM_PROXIES counts this process).

Before a request goes on, a Gate admits it: at most LINKDO_FRONT_WORKSPACE requests of one
workspace (one) and LINKDO_CONCURRENCY_IP of one address are in gunicorn at once; the next ones
wait here, in their order, as idle coroutines. A flood of one workspace then holds one worker and
waits for it, instead of filling gunicorn's listen queue before everyone else's requests and
taking a worker for each refusal (docs/PERFORMANCE.md, "Flood").
"""

import asyncio
import contextlib
import json
from collections import deque

HOP_BY_HOP = {
    b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"te", b"trailer",
    b"upgrade", b"content-length",
}  # fmt: skip
MAX_HEAD = 1 << 16


def _address(upstream: str):
    if upstream.startswith("unix:"):
        return asyncio.open_unix_connection(upstream[5:], limit=MAX_HEAD)
    host, _, port = upstream.rpartition(":")
    return asyncio.open_connection(host or "127.0.0.1", int(port), limit=MAX_HEAD)


async def _unavailable(send) -> None:
    body = json.dumps({"detail": "The API is starting or restarting; try again in a moment."})
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [(b"content-type", b"application/json"), (b"retry-after", b"1")],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})


class Gate:
    """At most `limit` requests of one key in at once; the next ones wait in order, at most `queue`
    of them and for at most `wait` seconds each, else they are refused (429) at once. A slot passes
    straight from a request that ends to the first one waiting."""

    def __init__(self, limit: int | None, *, queue: int, wait: float):
        self.limit, self.queue, self.wait = limit, queue, wait
        self._held: dict[str, int] = {}
        self._waiting: dict[str, deque[asyncio.Future]] = {}

    @contextlib.asynccontextmanager
    async def admit(self, key: str | None):
        """Yields whether the request may go on (a None key always may)."""
        if self.limit is None or key is None:
            yield True
            return
        if not await self._enter(key):
            yield False
            return
        try:
            yield True
        finally:
            self._leave(key)

    async def _enter(self, key: str) -> bool:
        if self._held.get(key, 0) < self.limit and not self._waiting.get(key):
            self._held[key] = self._held.get(key, 0) + 1
            return True
        waiting = self._waiting.setdefault(key, deque())
        if len(waiting) >= self.queue:
            return False
        turn = asyncio.get_running_loop().create_future()
        waiting.append(turn)
        try:
            await asyncio.wait_for(turn, self.wait)
            return True
        except TimeoutError:
            self._forget(key, turn)
            return False
        except asyncio.CancelledError:  # the client went away while it waited
            if turn.done() and not turn.cancelled():
                self._leave(key)  # the slot had been passed to it: pass it on
            else:
                self._forget(key, turn)
            raise

    def _forget(self, key: str, turn: asyncio.Future) -> None:
        waiting = self._waiting.get(key)
        if waiting is not None:
            with contextlib.suppress(ValueError):
                waiting.remove(turn)
            if not waiting and not self._held.get(key):
                del self._waiting[key]

    def _leave(self, key: str) -> None:
        waiting = self._waiting.get(key)
        while waiting:
            turn = waiting.popleft()
            if not turn.done():
                turn.set_result(True)
                return
        self._waiting.pop(key, None)
        self._held[key] -= 1
        if not self._held[key]:
            del self._held[key]


class Admission:
    """The front's two gates: the workspace's (by X-Workspace-ID) and the address's."""

    def __init__(
        self, *, workspace: int | None, address: int | None, queue: int, wait: float,
        num_proxies: int = 0,
    ):  # fmt: skip
        self.workspace = Gate(workspace, queue=queue, wait=wait)
        self.address = Gate(address, queue=queue, wait=wait)
        self.num_proxies = num_proxies

    def _address(self, scope) -> str:
        """The client's address as the app's throttles will take it from the X-Forwarded-For this
        process passes on: LINKDO_NUM_PROXIES counts this process too (it is one proxy more)."""
        chain = forwarded_for(scope)
        return chain[-min(self.num_proxies, len(chain))] if self.num_proxies else chain[-1]

    @contextlib.asynccontextmanager
    async def admit(self, scope):
        """Yields None when the request may go on, else (who, limit) it is refused for."""
        workspace = dict(scope["headers"]).get(b"x-workspace-id")
        key = workspace.decode("latin-1") if workspace else None
        # Always the workspace's slot first, then the address's: no two requests wait in a cycle.
        async with self.workspace.admit(key) as in_workspace:
            if not in_workspace:
                yield ("this workspace", self.workspace.limit)
                return
            async with self.address.admit(self._address(scope)) as in_address:
                yield None if in_address else ("this address", self.address.limit)


def forwarded_for(scope) -> list[str]:
    """X-Forwarded-For as passed on to gunicorn: the addresses the request came with, then its
    peer's (as any proxy appends)."""
    sent = dict(scope["headers"]).get(b"x-forwarded-for", b"").decode("latin-1")
    client = scope.get("client")
    chain = [address.strip() for address in sent.split(",") if address.strip()]
    return [*chain, client[0] if client else "unknown"]


async def too_many(send, who: str, limit: int) -> None:
    """The app's own 429 (linkdo.throttling), answered here."""
    body = json.dumps({
        "detail": f"Too many requests of {who} at once (at most {limit} are served at the same "
        "time); send the next one after the previous one has been answered."
    })  # fmt: skip
    await send({
        "type": "http.response.start", "status": 429,
        "headers": [(b"content-type", b"application/json"), (b"retry-after", b"1")],
    })  # fmt: skip
    await send({"type": "http.response.body", "body": body.encode()})


async def forward(upstream: str, scope, receive, send) -> None:
    """Send the ASGI request to `upstream` (`HOST:PORT` or `unix:PATH`), its answer back."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    try:
        reader, writer = await _address(upstream)
    except OSError:
        return await _unavailable(send)
    try:
        target = scope.get("raw_path") or scope["path"].encode()
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        lines = [scope["method"].encode() + b" " + target + b" HTTP/1.0"]
        lines += [
            k + b": " + v for k, v in scope["headers"]
            if k.lower() not in HOP_BY_HOP and k.lower() != b"x-forwarded-for"
        ]  # fmt: skip
        lines.append(b"x-forwarded-for: " + ", ".join(forwarded_for(scope)).encode("latin-1"))
        lines.append(b"content-length: " + str(len(body)).encode())
        writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + bytes(body))
        await writer.drain()
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            return await _unavailable(send)
        status_line, *header_lines = head[:-4].split(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        headers = []
        for line in header_lines:
            name, _, value = line.partition(b":")
            if name.strip().lower() not in HOP_BY_HOP - {b"content-length"}:
                headers.append((name.strip().lower(), value.strip()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        while chunk := await reader.read(1 << 16):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        writer.close()
