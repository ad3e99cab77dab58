"""The stream process (this package): GET /api/events, Server-Sent Events for one workspace.

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

Modules: `hub` (the open streams and the coalescing of pokes), `listen` (the database: one LISTEN
connection and the version reads), `app` (the ASGI application), `__main__` (uvicorn).
"""
