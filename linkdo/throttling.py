"""Protections against floods, never against a client that waits for each answer (the PWA sends one
request at a time, and a backup restore of 2,000 tasks and 8,000 edges is 12,000 requests in a row):

- Concurrency (ConcurrencyLimitMiddleware): at most LINKDO_CONCURRENCY_WORKSPACE requests of one
  workspace, and LINKDO_CONCURRENCY_IP of one client address, are served at once, across every
  gunicorn worker and replica; one more answers 429 at once. A sequential client has one request
  in flight and is never refused; 32 clients flooding one workspace hold at most that many workers.
- Rates (DRF throttling; 429 with Retry-After): a cap per workspace and per address over an hour,
  high enough for the largest honest journey, counted in PostgreSQL.

Rates come from settings at request time (LINKDO_THROTTLE_WORKSPACE, LINKDO_THROTTLE_IP); `None`
turns a limit off. Each limit counts fixed windows (an hour for `20000/hour`) in the UNLOGGED table
`linkdo_rate` (workspaces migration 0005), one row per key. The counter's statements wait at most
COUNTER_LOCK_TIMEOUT for a lock on that table: a request is let through (and a line logged) rather
than stalled behind a lock someone else holds.

DRF's own throttle over Django's database cache costs about 1 ms a check, more than GET task
itself (docs/PERFORMANCE.md, "Limits"); even one upsert a request costs 0.2 ms. So each process
reports its hits the way Kong's cluster rate limiting does with a sync rate: it adds its own hits
to the last total it read and reports them in one statement when a second has passed or it holds
5 % of the limit unreported.
Once the total it knows reaches half the limit it reports every request, so the limit itself is
exact; below half, several processes together can exceed what they know by at most 5 % of the limit
each, which only lets a workspace reach the exact half sooner.
"""

import hashlib
import logging
import math
import os
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, OperationalError, connection, transaction
from django.http import JsonResponse
from psycopg.errors import LockNotAvailable
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

logger = logging.getLogger("linkdo.throttling")

REPORT_EVERY_S = 1.0
REPORT_SHARE = 0.05  # of the limit, held unreported at most
EXACT_FROM = 0.5  # of the limit: from here on every hit is reported at once
COUNTER_LOCK_TIMEOUT = "200ms"

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

    def over(self, key: str, limit: int, duration: int) -> float | None:
        """Whether the key's count this process knows has reached the limit, without counting:
        None when not, else the seconds until the window ends. (Every hit of a small limit is
        reported at once, so a process knows the shared total as of its last hit of the key.)"""
        now = self.clock()
        window = int(now // duration) * duration
        with self._lock:
            count = self._counts.get(key)
            if count is None or count.window != window or count.known + count.unreported < limit:
                return None
        return window + duration - now

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
        try:
            shared_window, total = _add_hits(key, window, hits)
        except OperationalError as error:
            if not isinstance(error.__cause__, LockNotAvailable):
                raise  # the database went away: the request answers 503
            # A lock held on linkdo_rate: the request goes on, the hits stay counted here and
            # are reported with the next ones.
            logger.warning("rate counter busy (a lock on linkdo_rate), request let through")
            with self._lock:
                count.unreported += hits
            return None
        with self._lock:
            count.reported_at = now
            count.known = total if shared_window == window else 0
            if shared_window == window and total > limit:
                # Others took the last of the budget first: this request is over the limit. It
                # stays counted, as a request over the limit counts on a single process too.
                return window + duration - now
        return None


shared_counts = SharedCounts()


def _add_hits(key: str, window: int, hits: int) -> tuple[int, int]:
    """Add hits to the shared counter within COUNTER_LOCK_TIMEOUT (in a savepoint when the caller
    is inside a transaction, so a timeout cannot abort it)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{COUNTER_LOCK_TIMEOUT}'")
        cursor.execute(_ADD_HITS_SQL, {"key": key, "window": window, "hits": hits})
        row = cursor.fetchone()
        cursor.execute("SET LOCAL lock_timeout = DEFAULT")  # an outer transaction goes on as it was
    return row


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


# Each key owns 256 consecutive advisory lock ids, one per slot (a slot is one request being
# served): a limit above 256 counts as 256.
# Each key's first slot for this process is tried in one plain statement (what nearly every
# request needs); only a key whose first slot is taken searches the others. Two round trips a
# request in all, the least a limit kept across processes pays (docs/PERFORMANCE.md,
# "Limits").
_SLOTS = 256
_TRY_OTHERS_SQL = """
SELECT %(base)s::bigint + s FROM generate_series(0, %(n)s - 1) s
WHERE pg_try_advisory_lock(%(base)s::bigint + s) LIMIT 1
"""
_RELEASE_SQL = "SELECT pg_advisory_unlock(%s), pg_advisory_unlock(%s)"
# What workspaces.auth reads for every /api/ request: the workspace's secret hash (NULL when
# unclaimed or new). Read here, in the slots' statement, to save a round trip.
_SECRET_HASH_SQL = "(SELECT secret_hash FROM workspaces_workspace WHERE id = %s)"


def _take_slots(
    cursor, keys: list[tuple[int | None, int]], *, also: tuple[str, list] | None = None
) -> tuple[list[int | None], tuple]:
    """The advisory lock held for each (base, limit) key: a slot id, or None when every slot of
    that key is taken (or the key is off: base None). `also`: (SQL expression, parameters) read
    in the same round trip, answered as the second element (the request's workspace secret)."""
    # Each process tries "its own" slot first: a sync worker serves one request at a time, so
    # with the processes spread over the slots the first try nearly always succeeds, even while
    # other workers serve the same workspace; the search over all slots is the exception.
    # A key that is off (base None) has no limit either: 1 stands in for it, never used.
    keys = [(base, min(limit or 1, _SLOTS)) for base, limit in keys]
    firsts = [None if base is None else base + os.getpid() % limit for base, limit in keys]
    extra_sql, extra_params = also or (None, [])
    apart = ()
    if extra_sql and settings.LINKDO_CITUS:
        # On Citus a statement that reads a distributed table (the workspace's secret) runs on a
        # worker, its advisory locks with it: taken there, never released here. A round trip more.
        cursor.execute("SELECT " + extra_sql, extra_params)
        apart, extra_sql, extra_params = tuple(cursor.fetchone()), None, []
    columns = ["pg_try_advisory_lock(%s)"] * len(keys) + ([extra_sql] if extra_sql else [])
    cursor.execute("SELECT " + ", ".join(columns), firsts + extra_params)
    row = cursor.fetchone()
    got_first, extra = row[: len(keys)], apart or tuple(row[len(keys) :])
    held: list[int | None] = []
    for (base, limit), first, got in zip(keys, firsts, got_first, strict=True):
        if base is None or got:
            held.append(first)
            continue
        slot = None
        if limit > 1:
            cursor.execute(_TRY_OTHERS_SQL, {"base": base, "n": limit})
            row = cursor.fetchone()
            slot = row and row[0]
        held.append(slot)
    return held, extra


def _lock_base(scope: str, ident: str) -> int:
    """The first advisory lock id of a key: 64 bits of its hash with the slot bits cleared."""
    digest = hashlib.sha256(f"linkdo-concurrency:{scope}:{ident}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True) & ~(_SLOTS - 1)


class ConcurrencyLimitMiddleware:
    """At most LINKDO_CONCURRENCY_WORKSPACE requests of a workspace and LINKDO_CONCURRENCY_IP of an
    address in flight at once, counted with PostgreSQL session advisory locks (one per request
    being served), so the limit holds across processes and replicas, and a process that dies
    frees its slots with its connection. A request over a limit answers 429 with Retry-After: 1
    at once; a client that waits for each answer never meets the limit."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/") or request.method == "OPTIONS":
            return self.get_response(request)
        ws_limit = settings.LINKDO_CONCURRENCY_WORKSPACE
        ip_limit = settings.LINKDO_CONCURRENCY_IP
        # The header as sent: WorkspaceMiddleware (later) checks it and refuses a malformed one;
        # here it only names the slots.
        workspace_id = request.META.get("HTTP_X_WORKSPACE_ID")
        ws_key = _lock_base("workspace", workspace_id) if ws_limit and workspace_id else None
        address = AddressRateThrottle().get_ident(request) or ""
        ip_key = _lock_base("address", address) if ip_limit else None
        if ws_key is None and ip_key is None:
            return self.get_response(request)
        # The workspace's secret hash comes in the same round trip (workspaces.auth reads it from
        # the request instead of asking again): the secret check costs no statement of its own.
        also = (_SECRET_HASH_SQL, [workspace_id]) if workspace_id else None
        try:
            with connection.cursor() as cursor:
                (ws_slot, ip_slot), extra = _take_slots(
                    cursor, [(ws_key, ws_limit), (ip_key, ip_limit)], also=also
                )
            if also:  # with the header as read here: the auth uses it for that id only
                request.workspace_secret_hash = (workspace_id, extra[0])
        except DatabaseError:
            from linkdo.errors import database_unavailable_response  # errors imports DRF's views

            # Unreachable: answered at once, rather than by a view that would try to connect
            # again for each of its statements (each waits up to the connect timeout).
            return database_unavailable_response()
        try:
            if ws_key is not None and ws_slot is None:
                return _too_many("this workspace", ws_limit)
            if ip_key is not None and ip_slot is None:
                return _too_many("this address", ip_limit)
            return self.get_response(request)
        finally:
            if ws_slot is not None or ip_slot is not None:
                try:
                    with connection.cursor() as cursor:
                        cursor.execute(_RELEASE_SQL, [ws_slot, ip_slot])
                except DatabaseError:  # a lost connection took its locks with it
                    pass


def _too_many(who: str, limit: int) -> JsonResponse:
    return JsonResponse(
        {
            "detail": f"Too many requests of {who} at once (at most {limit} are served at the "
            "same time); send the next one after the previous one has been answered."
        },
        status=429,
        headers={"Retry-After": "1"},
    )
