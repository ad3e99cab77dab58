"""The rate limits' shared counters (linkdo.throttling): exact at the limit, a database round trip
only now and then below half of it. Two SharedCounts objects play two processes."""

import pytest
from django.db import connection

from linkdo.throttling import SharedCounts, rates_forget

pytestmark = pytest.mark.django_db


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def shared_hits(key: str) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT hits FROM linkdo_rate WHERE key = %s", [key])
        row = cursor.fetchone()
    return row and row[0]


def test_below_half_the_limit_a_process_reports_each_second_or_each_5_percent():
    clock = Clock(60_000.0)  # the start of a minute
    counts = SharedCounts(clock)
    assert counts.hit("k", 600, 60) is None
    assert shared_hits("k") == 1  # the first hit reports: nothing is known yet
    for _ in range(29):
        assert counts.hit("k", 600, 60) is None
    assert shared_hits("k") == 1  # 29 unreported: under 5 % of 600
    counts.hit("k", 600, 60)
    assert shared_hits("k") == 31
    clock.now += 1.5
    counts.hit("k", 600, 60)
    assert shared_hits("k") == 32  # a second has passed


def test_from_half_the_limit_every_hit_is_reported_and_the_limit_is_exact():
    clock = Clock(60_000.0)
    first, second = SharedCounts(clock), SharedCounts(clock)
    for _ in range(300):
        second.hit("k", 600, 60)
    assert shared_hits("k") == 300  # the 300th reached half the limit: reported at once
    first.hit("k", 600, 60)  # learns 301 of 600
    assert shared_hits("k") == 301
    allowed = 1
    for n in range(400):
        process = (first, second)[n % 2]
        allowed += process.hit("k", 600, 60) is None
    assert allowed == 300  # 600 in all, across both: none more
    # Each process counted the one request that told it the budget was gone.
    assert 600 < shared_hits("k") <= 602


def test_a_refused_request_waits_for_the_next_window_which_starts_afresh():
    clock = Clock(60_010.0)  # 10 s into a minute
    counts = SharedCounts(clock)
    assert [counts.hit("k", 3, 60) for _ in range(3)] == [None] * 3
    assert counts.hit("k", 3, 60) == pytest.approx(50.0)
    clock.now = 60_060.0
    assert counts.hit("k", 3, 60) is None
    assert shared_hits("k") == 1


def test_counters_of_keys_unseen_for_a_day_are_forgotten():
    SharedCounts(Clock(1_000.0)).hit("old", 10, 60)
    SharedCounts().hit("fresh", 10, 60)
    assert rates_forget() == 1
    assert shared_hits("old") is None and shared_hits("fresh") == 1


def test_concurrency_slots_are_shared_across_connections_and_freed_with_them():
    """ConcurrencyLimitMiddleware's slots: advisory locks, so every process counts them, and a
    connection that goes away (a dead worker) frees its slot."""
    import psycopg

    from linkdo.throttling import _RELEASE_SQL, _lock_base, _take_slots
    from tests.helpers import database_url

    key = [(_lock_base("workspace", "slots-test"), 2)]
    first, second, third = (psycopg.connect(database_url(), autocommit=True) for _ in range(3))
    try:
        base = key[0][0]
        (a,) = _take_slots(first.cursor(), key)[0]
        (b,) = _take_slots(second.cursor(), key)[0]
        assert {a, b} == {base, base + 1}  # one connection's first choice, then the other slot
        assert _take_slots(third.cursor(), key)[0] == [None]  # both taken: a third waits
        second.close()  # a worker that died
        assert _take_slots(third.cursor(), key)[0] == [b]
        first.cursor().execute(_RELEASE_SQL, [a, None])
        assert _take_slots(first.cursor(), key)[0] == [a]
    finally:
        for conn in (first, second, third):
            conn.close()


@pytest.mark.parametrize(
    ("workspace_limit", "address_limit"), [(1, None), (None, 1), (2, 8)], ids=["ws", "ip", "both"]
)
def test_either_concurrency_limit_may_be_off_while_the_other_holds(
    settings, workspace_limit, address_limit
):
    """One limit on and the other `off` (LINKDO_CONCURRENCY_IP=off behind a proxy that limits
    addresses itself): every request answered 500 (the off limit's None met min())."""
    from django.test import Client

    settings.LINKDO_CONCURRENCY_WORKSPACE = workspace_limit
    settings.LINKDO_CONCURRENCY_IP = address_limit
    client = Client(headers={"X-Workspace-ID": "one-limit-off"})
    created = client.post(
        "/api/tasks", {"id": "t1", "title": "Limits"}, content_type="application/json"
    )
    assert created.status_code == 201, created.content
    assert client.get("/api/tasks/t1").json()["title"] == "Limits"
