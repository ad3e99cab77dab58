"""What a request's rate-limit check costs (issue 19): LinkDo's shared counters (linkdo.throttling)
against DRF's SimpleRateThrottle over Django's database cache (the library's way to share counts
across processes), per check, for one workspace (DRF: a 600/min limit, its history up to 500 entries). Not timed against HTTP: make
load measures GET task with the shared counters on."""

import time

from django.core.cache import caches
from django.db import connection
from django.test import RequestFactory
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from bench.common import Result
from linkdo.throttling import SharedCounts

CHECKS = 500


class DatabaseCacheThrottle(SimpleRateThrottle):
    cache = caches["default"]  # DatabaseCache on linkdo_cache
    rate = "600/min"

    def get_cache_key(self, request, view):
        return "throttle_bench_workspace"


def _per_check(check) -> float:
    started = time.perf_counter()
    for _ in range(CHECKS):
        assert check()
    return (time.perf_counter() - started) / CHECKS


def _concurrency_slot_costs() -> tuple[float, float]:
    """ConcurrencyLimitMiddleware's two statements per request, against the floor any limit held
    in the database across processes pays: one round trip to take a slot, one to give it back."""
    from linkdo.throttling import _RELEASE_SQL, _lock_base, _take_slots

    keys = [(_lock_base("workspace", "bench"), 2), (_lock_base("address", "127.0.0.1"), 8)]

    def take_and_give_back() -> bool:
        with connection.cursor() as cursor:
            held, _ = _take_slots(cursor, keys)
            cursor.execute(_RELEASE_SQL, held)
        return None not in held

    def two_round_trips() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.execute("SELECT 1")
        return True

    return _per_check(take_and_give_back), _per_check(two_round_trips)


def run() -> list[Result]:
    request = Request(RequestFactory().get("/api/tasks"))
    caches["default"].delete("throttle_bench_workspace")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM linkdo_rate WHERE key LIKE 'bench:%'")
    library = _per_check(lambda: DatabaseCacheThrottle().allow_request(request, None))
    limit = 10**6  # far above the checks: no refusal
    below = SharedCounts()
    shared = _per_check(lambda: below.hit("bench:below", limit, 60) is None)
    # From half the limit on, every check is reported at once.
    window = int(time.time() // 60) * 60
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO linkdo_rate (key, window_start, hits) VALUES ('bench:exact', %s, %s)",
            [window, limit // 2],
        )
    exact = SharedCounts()
    exact.hit("bench:exact", limit, 60)  # learns that half the limit is gone
    exact_cost = _per_check(lambda: exact.hit("bench:exact", limit, 60) is None)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM linkdo_rate WHERE key LIKE 'bench:%'")
    caches["default"].delete("throttle_bench_workspace")
    name = "DRF SimpleRateThrottle + database cache"
    slots, floor = _concurrency_slot_costs()
    return [
        Result("concurrency slots (take and give back, workspace + address)", slots * 1e6,
               floor * 1e6, "us", "-", "two SELECT 1 round trips (the least: one each way)"),
        Result("rate check, shared counters below half the limit", shared * 1e6, library * 1e6,
               "us", "-", name),
        Result("rate check, shared counters from half the limit (exact)", exact_cost * 1e6,
               library * 1e6, "us", "-", name),
    ]  # fmt: skip
