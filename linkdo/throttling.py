"""Request rates per workspace and per client address (DRF throttling; 429 with Retry-After),
counted in PostgreSQL so that the limit holds across every gunicorn worker and replica.

Rates come from settings at request time (LINKDO_THROTTLE_WORKSPACE, LINKDO_THROTTLE_IP); `None`
turns a limit off. Each limit counts fixed windows (a minute for `600/min`) in the UNLOGGED table
`linkdo_rate` (workspaces migration 0005), one row per key.

DRF's own throttle over Django's database cache costs 1.2 ms a check, more than GET task itself
(docs/PERFORMANCE.md, "Issue 19"); even one upsert a request costs 0.2 ms. So each process
reports its hits the way Kong's cluster rate limiting does with a sync rate: it adds its own hits
to the last total it read and reports them in one statement when a second has passed or it holds
5 % of the limit unreported.
Once the total it knows reaches half the limit it reports every request, so the limit itself is
exact; below half, several processes together can exceed what they know by at most 5 % of the limit
each, which only lets a workspace reach the exact half sooner.
"""

import hashlib
import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

REPORT_EVERY_S = 1.0
REPORT_SHARE = 0.05  # of the limit, held unreported at most
EXACT_FROM = 0.5  # of the limit: from here on every hit is reported at once

_ADD_HITS_SQL = """
INSERT INTO linkdo_rate AS r (key, window_start, hits) VALUES (%(key)s, %(window)s, %(hits)s)
ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN r.window_start = EXCLUDED.window_start THEN r.hits + EXCLUDED.hits
                WHEN r.window_start > EXCLUDED.window_start THEN r.hits
                ELSE EXCLUDED.hits END,
    window_start = GREATEST(r.window_start, EXCLUDED.window_start)
RETURNING window_start, hits
"""


@dataclass
class _Count:
    window: int  # start of the window, in seconds since the epoch
    known: int = 0  # the shared total when this process last reported
    unreported: int = 0  # this process's hits since then
    reported_at: float = 0.0


class SharedCounts:
    """This process's view of the shared counters; `clear()` forgets it (tests roll rows back)."""

    def __init__(self, clock=time.time):
        self.clock = clock
        self._counts: dict[str, _Count] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()

    def hit(self, key: str, limit: int, duration: int) -> float | None:
        """Count one request; None when it is allowed, else the seconds until the window ends."""
        now = self.clock()
        window = int(now // duration) * duration
        with self._lock:
            count = self._counts.get(key)
            if count is None or count.window != window:
                count = self._counts[key] = _Count(window=window)
            if count.known + count.unreported >= limit:
                return window + duration - now
            count.unreported += 1
            if not (
                count.known + count.unreported >= limit * EXACT_FROM
                or count.unreported >= max(1, math.floor(limit * REPORT_SHARE))
                or now - count.reported_at >= REPORT_EVERY_S
            ):
                return None
            hits, count.unreported = count.unreported, 0
        with connection.cursor() as cursor:
            cursor.execute(_ADD_HITS_SQL, {"key": key, "window": window, "hits": hits})
            shared_window, total = cursor.fetchone()
        with self._lock:
            count.reported_at = now
            count.known = total if shared_window == window else 0
            if shared_window == window and total > limit:
                # Others took the last of the budget first: this request is over the limit. It
                # stays counted, as a request over the limit counts on a single process too.
                return window + duration - now
        return None


shared_counts = SharedCounts()


def rates_forget(*, older_than_s: int = 86400) -> int:
    """Delete the counters of keys not seen for a day (the daily purge job)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM linkdo_rate WHERE window_start < extract(epoch FROM now()) - %s",
            [older_than_s],
        )
        return cursor.rowcount


class SharedRateThrottle(BaseThrottle):
    setting = ""
    scope = ""
    parse_rate = SimpleRateThrottle.parse_rate

    def key(self, request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        self._wait = None
        limit, duration = self.parse_rate(getattr(settings, self.setting))
        if limit is None or (ident := self.key(request)) is None:
            return True
        self._wait = shared_counts.hit(f"{self.scope}:{ident}", limit, duration)
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


class WorkspaceRateThrottle(SharedRateThrottle):
    scope = "workspace"
    setting = "LINKDO_THROTTLE_WORKSPACE"

    def key(self, request):
        workspace_id = getattr(request, "workspace_id", None)
        if workspace_id is None:
            return None
        return hashlib.sha256(workspace_id.encode()).hexdigest()  # any id makes a safe key


class AddressRateThrottle(SharedRateThrottle):
    """Per client address; behind a proxy set NUM_PROXIES so X-Forwarded-For names the client."""

    scope = "address"
    setting = "LINKDO_THROTTLE_IP"

    def key(self, request):
        return self.get_ident(request)
