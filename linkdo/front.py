"""Passing a request on to gunicorn, for `make run`: the stream process (workspaces.events) listens
on the public port, serves /api/events itself and hands every other request to gunicorn on a
loopback port, so a browser meets the API and its stream on one origin. In a deployment the
ingress routes /api/events instead and nothing passes through here.

One HTTP/1.0 request per call, with its whole body: gunicorn then answers without chunked
encoding and closes the connection when the answer ends, so the answer is passed back as it comes
(a big graph is not held in memory). gunicorn sees the request as coming from 127.0.0.1.
"""

import asyncio
import json

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
        lines += [k + b": " + v for k, v in scope["headers"] if k.lower() not in HOP_BY_HOP]
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
