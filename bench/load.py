"""`make load`: gunicorn (2 workers) driven from this second process on loopback.

Phases: seed 4 workspaces of 200 tasks; warm up; a mixed run (graph reads, creates, updates,
syncs) for --seconds; then GET /api/tasks/{id} and a trivial Django view on the same server, in
interleaved slices; then the same two on a server whose rate limits and concurrency slots count
(shared in PostgreSQL).
Reports requests per second, p50/p99 latency, errors (goal 0), the workers' memory growth over the
mixed run, at rest (goal < 10 %) and the GET task / trivial view throughput ratio (goal >= 0.5).

    python -m bench.load [--seconds 30] [--connections 8]
"""

import argparse
import http.client
import json
import random
import statistics
import threading
import time
import uuid

from bench.server import asgi_server, gunicorn, rss_bytes, worker_pids

WORKSPACES = [f"load-{uuid.uuid4().hex[:8]}-{i}" for i in range(4)]
TASKS_PER_WORKSPACE = 200
ROUNDS, SLICE_S = 6, 2.0
TAGS = ["home", "work", "garden", "travel", "health", "money", "study", "music"]


class Client:
    """One keep-alive connection; returns (status, seconds) per request."""

    def __init__(self, base: str):
        host, port = base.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)

    def call(self, method: str, path: str, workspace: str | None = None, body=None):
        headers = {"Content-Type": "application/json"}
        if workspace:
            headers["X-Workspace-ID"] = workspace
        payload = None if body is None else json.dumps(body)
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=payload, headers=headers)
            response = self.connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            self.connection.close()
            status = 0
        return status, time.perf_counter() - started


def _task(rng: random.Random, ident: str) -> dict:
    return {
        "id": ident,
        "title": f"Task {ident} {rng.choice(['plan', 'write', 'call', 'buy', 'fix'])}",
        "description": "load test " * rng.randint(0, 20),
        "tags": rng.sample(TAGS, rng.randint(1, 3)),
    }


def seed(base: str) -> None:
    client, rng = Client(base), random.Random(1)
    for workspace in WORKSPACES:
        tasks = [_task(rng, f"seed-{i}") for i in range(TASKS_PER_WORKSPACE)]
        for start in range(0, len(tasks), 100):
            status, _ = client.call(
                "POST",
                "/api/tasks/sync",
                workspace,
                {"cursor": None, "tasks": tasks[start : start + 100]},
            )
            assert status == 200, status
        status, _ = client.call("POST", "/api/graph/auto-arrange", workspace)
        assert status == 200, status


def mixed_request(client: Client, rng: random.Random) -> tuple[str, int, float]:
    workspace = rng.choice(WORKSPACES)
    roll = rng.random()
    if roll < 0.5:
        return ("graph", *client.call("GET", "/api/graph?fields=compact", workspace))
    if roll < 0.7:
        # A quick-add without tags: the run's data stays the same size, so memory growth shows
        # leaks, not a map that grew (each tagged task adds ~100 auto-links here).
        body = {**_task(rng, f"new-{uuid.uuid4().hex}"), "tags": []}
        return ("create", *client.call("POST", "/api/tasks", workspace, body))
    if roll < 0.9:
        ident = f"seed-{rng.randrange(TASKS_PER_WORKSPACE)}"
        body = {"status": rng.choice(["todo", "in-progress", "done"]), "priority": "high"}
        if rng.random() < 0.3:
            body["title"] = f"Renamed {rng.randrange(10**6)}"
        return ("update", *client.call("PATCH", f"/api/tasks/{ident}", workspace, body))
    items = [_task(rng, f"seed-{rng.randrange(TASKS_PER_WORKSPACE)}") for _ in range(5)]
    return (
        "sync",
        *client.call(
            "POST", "/api/tasks/sync", workspace, {"cursor": None, "limit": 50, "tasks": items}
        ),
    )


def drive(
    base: str, seconds: float, connections: int, make_request
) -> list[tuple[str, int, float]]:
    results: list = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def loop(seed_value: int) -> None:
        client, rng, local = Client(base), random.Random(seed_value), []
        while time.monotonic() < stop_at:
            local.append(make_request(client, rng))
        with lock:
            results.extend(local)

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _quiet_rss(workers: list[int]) -> float:
    """The workers' RSS with no request in flight (a big answer being built would swing one
    sample by 20 %): the median of five samples a quarter second apart, after a second of rest."""
    time.sleep(1.0)
    samples = []
    for _ in range(5):
        samples.append(sum(rss_bytes(pid) for pid in workers))
        time.sleep(0.25)
    return statistics.median(samples)


def summarise(name: str, results, seconds: float) -> dict:
    latencies = sorted(r[2] for r in results)
    errors = sum(1 for r in results if not 200 <= r[1] < 300)
    return {
        "name": name,
        "requests": len(results),
        "rps": len(results) / seconds,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "errors": errors,
    }


def get_task_and_trivial(base: str, connections: int, label: str) -> list[dict]:
    """GET /api/tasks/{id} and the trivial view in interleaved 2 s slices, so both see the same
    machine (client and server share 2 cores)."""
    task_path = f"/api/tasks/seed-{TASKS_PER_WORKSPACE // 2}"
    ws = WORKSPACES[0]
    get_task, trivial = [], []
    for _ in range(ROUNDS):
        get_task += drive(
            base, SLICE_S, connections, lambda c, r: ("get", *c.call("GET", task_path, ws))
        )
        trivial += drive(
            base, SLICE_S, connections, lambda c, r: ("trivial", *c.call("GET", "/bench/trivial"))
        )
    seconds = ROUNDS * SLICE_S
    return [
        summarise(f"GET task{label}", get_task, seconds),
        summarise(f"trivial view{label}", trivial, seconds),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=20)
    args = parser.parse_args()
    with gunicorn(workers=2, DJANGO_SETTINGS_MODULE="bench.load_settings") as (base, server):
        seed(base)
        # Warm-up with the same mix: imports, caches, connections and the allocator's arenas.
        drive(base, args.warmup, args.connections, mixed_request)
        workers = worker_pids(server)
        rss_before = _quiet_rss(workers)
        mixed = drive(base, args.seconds, args.connections, mixed_request)
        rss_after = _quiet_rss(workers)
        rows = [summarise("mixed", mixed, args.seconds)]
        for kind in ("graph", "create", "update", "sync"):
            subset = [r for r in mixed if r[0] == kind]
            rows.append(summarise(f"  {kind}", subset, args.seconds))
        rows += get_task_and_trivial(base, args.connections, "")
    # The same on a server that counts the rate limits (shared in PostgreSQL), with limits no
    # request reaches: what the counting costs the hottest read.
    # The concurrency slots are taken and given back too (two statements a request), with limits
    # above the connections so that none is refused.
    limits = {"LINKDO_THROTTLE_WORKSPACE": "1000000/min", "LINKDO_THROTTLE_IP": "1000000/min",
              "LINKDO_CONCURRENCY_WORKSPACE": "1000", "LINKDO_CONCURRENCY_IP": "1000"}  # fmt: skip
    with gunicorn(workers=2, DJANGO_SETTINGS_MODULE="bench.load_settings", **limits) as (base, _):
        rows += get_task_and_trivial(base, args.connections, " +limits")
    # The whole app under ASGI (uvicorn, 2 workers), the alternative to a stream process beside
    # gunicorn (issue 33): Django runs each sync view in a thread.
    with asgi_server(workers=2, DJANGO_SETTINGS_MODULE="bench.load_settings") as (base, _):
        asgi_rows = get_task_and_trivial(base, args.connections, " ASGI")
    print(f"{'run':<14}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for row in [*rows, *asgi_rows]:
        print(
            f"{row['name']:<14}{row['requests']:>10}{row['rps']:>10.1f}{row['p50_ms']:>10.1f}{row['p99_ms']:>10.1f}{row['errors']:>8}"
        )
    growth = (rss_after - rss_before) / rss_before
    ratio = rows[-4]["rps"] / rows[-3]["rps"]
    limited = rows[-2]["rps"] / rows[-1]["rps"]
    print(
        f"\nworker RSS (2 workers, at rest before/after the mixed run) {rss_before / 2**20:.0f} MiB -> {rss_after / 2**20:.0f} MiB: growth {growth:+.1%} (goal < 10 %)"
    )
    print(f"GET task / trivial view throughput: {ratio:.2f} (goal >= 0.5)")
    print(f"  the same with the shared rate limits counting: {limited:.2f} (goal >= 0.5)")
    print(
        f"GET task under ASGI / under gunicorn: {asgi_rows[0]['rps'] / rows[-4]['rps']:.2f} "
        f"(trivial view {asgi_rows[1]['rps'] / rows[-3]['rps']:.2f})"
    )
    print(f"errors in the mixed run: {rows[0]['errors']} (goal 0)")
    print(f"load: {args.connections} connections from one client process, gunicorn 2 workers")


if __name__ == "__main__":
    main()
