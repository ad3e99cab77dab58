"""The front process's admission gate (linkdo.front): requests of one workspace over its limit wait
in the front, in order, instead of taking a gunicorn worker each (issue 30: a flood of one
workspace must leave the others' latency alone)."""

import asyncio
import threading

import pytest
from django.conf import settings

from bench.server import events_server, gunicorn
from linkdo.front import Admission, Gate, forwarded_for
from tests.helpers import database_url, http_json


def run(coroutine):
    return asyncio.run(coroutine)


async def _request(gate: Gate, key: str, hold: float, log: list, name) -> bool:
    async with gate.admit(key) as admitted:
        if admitted:
            log.append(("in", name))
            await asyncio.sleep(hold)
            log.append(("out", name))
        return admitted


def test_requests_over_the_limit_wait_and_go_in_their_order():
    async def scenario():
        gate, log = Gate(2, queue=10, wait=5), []
        tasks = []
        for n in range(6):
            tasks.append(asyncio.create_task(_request(gate, "w", 0.05, log, n)))
            await asyncio.sleep(0)  # each arrives after the one before
        await asyncio.sleep(0.01)
        assert len(gate._waiting["w"]) == 4
        admitted = await asyncio.gather(*tasks)
        return gate, log, admitted

    gate, log, admitted = run(scenario())
    assert admitted == [True] * 6
    assert [name for event, name in log if event == "in"] == [0, 1, 2, 3, 4, 5]
    inside, most = 0, 0
    for event, _ in log:
        inside += 1 if event == "in" else -1
        most = max(most, inside)
    assert most == 2
    assert gate._held == {} and gate._waiting == {}


def test_other_keys_never_wait_for_a_full_one():
    async def scenario():
        gate, log = Gate(1, queue=10, wait=5), []
        flood = [asyncio.create_task(_request(gate, "flood", 0.2, log, f"f{n}")) for n in range(5)]
        await asyncio.sleep(0.01)
        started = asyncio.get_running_loop().time()
        assert await _request(gate, "quiet", 0, log, "q")
        waited = asyncio.get_running_loop().time() - started
        await asyncio.gather(*flood)
        return waited

    assert run(scenario()) < 0.05


def test_a_full_queue_and_a_wait_past_the_limit_are_refused():
    async def scenario():
        gate, log = Gate(1, queue=2, wait=0.1), []
        holder = asyncio.create_task(_request(gate, "w", 0.3, log, "holder"))
        await asyncio.sleep(0.01)
        waiters = [asyncio.create_task(_request(gate, "w", 0, log, n)) for n in range(2)]
        await asyncio.sleep(0.01)
        over_the_queue = await _request(gate, "w", 0, log, "third")
        timed_out = await asyncio.gather(*waiters)
        await holder
        return over_the_queue, timed_out, gate

    over_the_queue, timed_out, gate = run(scenario())
    assert over_the_queue is False
    assert timed_out == [False, False]  # the holder kept its slot longer than they could wait
    assert gate._held == {} and gate._waiting == {}


def test_a_client_that_leaves_while_it_waits_gives_its_turn_to_the_next():
    async def scenario():
        gate, log = Gate(1, queue=10, wait=5), []
        holder = asyncio.create_task(_request(gate, "w", 0.05, log, "holder"))
        await asyncio.sleep(0)
        leaving = asyncio.create_task(_request(gate, "w", 0, log, "leaving"))
        await asyncio.sleep(0)
        staying = asyncio.create_task(_request(gate, "w", 0, log, "staying"))
        await asyncio.sleep(0.01)
        leaving.cancel()
        await holder
        assert await staying
        with pytest.raises(asyncio.CancelledError):
            await leaving
        return log, gate

    log, gate = run(scenario())
    assert ("in", "leaving") not in log and ("in", "staying") in log
    assert gate._held == {} and gate._waiting == {}


def test_the_address_is_read_as_the_apps_throttles_will_read_it():
    """The front appends its peer to X-Forwarded-For; LINKDO_NUM_PROXIES counts the front."""
    scope = {
        "headers": [(b"x-forwarded-for", b"203.0.113.9, 10.0.0.2")],
        "client": ("10.0.0.1", 5000),
    }
    assert forwarded_for(scope) == ["203.0.113.9", "10.0.0.2", "10.0.0.1"]
    assert forwarded_for({"headers": [], "client": ("10.0.0.1", 1)}) == ["10.0.0.1"]

    def address(num_proxies: int) -> str:
        return Admission(workspace=2, address=8, queue=1, wait=1, num_proxies=num_proxies)._address(
            scope
        )

    assert address(0) == address(1) == "10.0.0.1"  # the front alone: its peer, never a header
    assert address(2) == "10.0.0.2"  # one proxy (an ingress) before the front
    assert address(3) == "203.0.113.9"


def _post_at_once(base: str, workspace: str, count: int) -> list[tuple[int, dict]]:
    """`count` creates of one workspace sent together (threads released by one barrier)."""
    barrier, answers = threading.Barrier(count), [None] * count

    def post(n: int) -> None:
        body = {"id": f"t{n}", "title": f"Task {n}", "tags": ["burst"]}
        barrier.wait()
        answers[n] = http_json(base, "POST", "/api/tasks", body, workspace=workspace)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_burst_through_the_front_waits_its_turn_and_every_task_is_stored():
    """The front passes on one request of a workspace at a time: 12 sent together through it all
    succeed (they wait in the front, not in gunicorn); with no room to wait, the front answers the
    app's 429 at once and stores nothing for those."""
    from tasks.models import Task

    env = {
        "DATABASE_URL": database_url(), "SECRET_KEY": settings.SECRET_KEY,
        # The app refuses a second request of the workspace: only the front's waiting avoids it.
        "LINKDO_CONCURRENCY_WORKSPACE": "1", "LINKDO_FRONT_WORKSPACE": "1",
    }  # fmt: skip
    with gunicorn(workers=3, **env) as (upstream, _):
        upstream = upstream.removeprefix("http://")
        with events_server(upstream=upstream, **env) as (front, _):
            answers = _post_at_once(front, "burst-wait", 12)
        assert [status for status, _ in answers] == [201] * 12
        assert Task.objects.filter(workspace_id="burst-wait").count() == 12

        with events_server(upstream=upstream, LINKDO_FRONT_QUEUE="0", **env) as (front, _):
            answers = _post_at_once(front, "burst-refused", 12)
    refused = [body for status, body in answers if status == 429]
    assert refused and all("at most 1 are served at the same time" in b["detail"] for b in refused)
    assert {status for status, _ in answers} <= {201, 429}
    stored = Task.objects.filter(workspace_id="burst-refused").count()
    assert stored == sum(status == 201 for status, _ in answers) == 12 - len(refused)
