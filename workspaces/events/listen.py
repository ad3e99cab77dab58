"""The stream process's database: one connection that LISTENs for changes (reconnected with
backoff, with a catch-up poke), one for the version reads when a stream opens."""

import asyncio
import logging

import psycopg

from workspaces.changes import CHANNEL, change_key, parse_payload
from workspaces.events.hub import Hub

logger = logging.getLogger("linkdo.events")

MAX_BACKOFF_S = 30.0


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
    # A DATABASE_URL's `?host=/socket/dir&port=N` arrives in OPTIONS, like sslmode.
    keys = ("sslmode", "sslrootcert", "host", "port")
    options = {k: v for k, v in db.get("OPTIONS", {}).items() if k in keys}
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
