"""Flood protection under gunicorn with the default limits (issue 30, item 1): 32 clients flooding
one workspace with creates, while one quiet client of another workspace reads its tasks one at a
time. Reports the quiet client's p50/p99 when the server is otherwise idle and during the flood,
their ratio (goal <= 2), and what the flood got (201s, 429s). Then the same flood with the
concurrency limits off, to show what they hold back.

    python -m bench.flood [--seconds 15]
"""

import argparse
import statistics
import threading
import time
import uuid
from collections import Counter

from bench.load import Client
from bench.server import gunicorn

DEFAULT_LIMITS = {
    "LINKDO_THROTTLE_WORKSPACE": "",
    "LINKDO_THROTTLE_IP": "",
    "LINKDO_CONCURRENCY_WORKSPACE": "",
    "LINKDO_CONCURRENCY_IP": "",
}
FLOODERS = 32


def _quiet(base: str, workspace: str, seconds: float) -> list[float]:
    client, latencies = Client(base), []
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at:
        status, took = client.call("GET", "/api/tasks/quiet-1", workspace)
        assert status == 200, status
        latencies.append(took)
        time.sleep(0.01)  # a person's client, not a second flood
    return latencies


def _percentiles(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    return 1000 * statistics.median(ordered), 1000 * ordered[int(0.99 * (len(ordered) - 1))]


def measure(seconds: float, limits: dict) -> dict:
    quiet_ws, flood_ws = f"quiet-{uuid.uuid4().hex[:6]}", f"flood-{uuid.uuid4().hex[:6]}"
    with gunicorn(workers=3, **limits) as (base, _):
        client = Client(base)
        for i in range(50):
            body = {"id": f"quiet-{i}", "title": f"quiet {i}", "tags": ["home"]}
            assert client.call("POST", "/api/tasks", quiet_ws, body)[0] == 201
        _quiet(base, quiet_ws, 3)  # warm up every worker
        idle = _quiet(base, quiet_ws, seconds)
        statuses: Counter = Counter()
        lock, stop = threading.Lock(), threading.Event()

        def flood(n: int) -> None:
            flooder, i, local = Client(base), 0, Counter()
            while not stop.is_set():
                body = {"id": f"f{n}-{i}", "title": f"flood {n} {i}", "tags": ["flood"]}
                local[flooder.call("POST", "/api/tasks", flood_ws, body)[0]] += 1
                i += 1
            with lock:
                statuses.update(local)

        threads = [threading.Thread(target=flood, args=(n,)) for n in range(FLOODERS)]
        for thread in threads:
            thread.start()
        time.sleep(1)
        flooded = _quiet(base, quiet_ws, seconds)
        stop.set()
        for thread in threads:
            thread.join()
    return {"idle": _percentiles(idle), "flooded": _percentiles(flooded), "flood": statuses}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    runs = {
        "default limits": measure(args.seconds, DEFAULT_LIMITS),
        "concurrency off": measure(
            args.seconds,
            {
                **DEFAULT_LIMITS,
                "LINKDO_CONCURRENCY_WORKSPACE": "off",
                "LINKDO_CONCURRENCY_IP": "off",
            },
        ),  # fmt: skip
    }
    print(f"{'run':<18}{'idle p50':>10}{'idle p99':>10}{'flood p50':>11}{'flood p99':>11}"
          f"{'p99 ratio':>11}{'flood 201':>11}{'flood 429':>11}")  # fmt: skip
    for name, run in runs.items():
        (ip50, ip99), (fp50, fp99) = run["idle"], run["flooded"]
        print(f"{name:<18}{ip50:>10.1f}{ip99:>10.1f}{fp50:>11.1f}{fp99:>11.1f}{fp99 / ip99:>11.2f}"
              f"{run['flood'][201]:>11}{run['flood'][429]:>11}")  # fmt: skip
    print(
        f"\nquiet client: GET /api/tasks/{{id}} of its own workspace, one at a time; flood: "
        f"{FLOODERS} clients POSTing tasks to one workspace; gunicorn 3 workers (ms); "
        "goal: p99 ratio <= 2"
    )


if __name__ == "__main__":
    main()
