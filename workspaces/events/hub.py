"""The open streams of a stream process, by workspace, and the coalescing of their pokes."""

import asyncio

from workspaces.changes import change_key

COALESCE_S = 0.05


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
