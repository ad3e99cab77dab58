"""Flood protection under gunicorn with the default limits (issue 30, item 1): 32 clients flooding
one workspace with creates, while one quiet client of another workspace reads its tasks one at a
time. Reports the quiet client's p50/p99 when the server is otherwise idle and during the flood,
their ratio (goal <= 2), and what the flood got (201s, 429s). Then the same flood with the
concurrency limits off, to show what they hold back.

    python -m bench.flood [--seconds 15]
"""

import argparse
import contextlib
import multiprocessing
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

from bench.load import Client
from bench.server import events_server, free_port, gunicorn

DEFAULT_LIMITS = {
    "LINKDO_THROTTLE_WORKSPACE": "",
    "LINKDO_THROTTLE_IP": "",
    "LINKDO_CONCURRENCY_WORKSPACE": "",
    "LINKDO_CONCURRENCY_IP": "",
}
FLOODERS = 32
FLOOD_PROCESSES = 4
# The flood is another machine's: its processes run on one core, the server (gunicorn, nginx) and
# the quiet client on the other, in every run, idle phase included. Without this the flood's own
# client loops, spinning on refusals answered in microseconds, took the server's CPU and the
# figure measured the load generator (docs/PERFORMANCE.md, "Flood").
SERVER_CORE, FLOOD_CORE = 0, 1


def _flood_process(base: str, workspace: str, number: int, stop, results) -> None:
    """FLOODERS // FLOOD_PROCESSES clients POSTing tasks as fast as answers come."""
    os.sched_setaffinity(0, {FLOOD_CORE})  # the attacker's machine
    statuses, lock = Counter(), threading.Lock()

    def flood(n: int) -> None:
        flooder, i, local = Client(base), 0, Counter()
        while not stop.is_set():
            body = {"id": f"f{n}-{i}", "title": f"flood {n} {i}", "tags": ["flood"]}
            local[flooder.call("POST", "/api/tasks", workspace, body)[0]] += 1
            i += 1
        with lock:
            statuses.update(local)

    per_process = FLOODERS // FLOOD_PROCESSES
    threads = [
        threading.Thread(target=flood, args=(number * per_process + n,)) for n in range(per_process)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(statuses)


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


# An edge limiter in front of gunicorn, as Traefik's inFlightReq is in deploy/k8s/ingress.yaml:
# nginx's limit_conn per X-Workspace-ID (Debian's nginx-light; the row is skipped without it).
NGINX_CONF = """
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp};
    proxy_temp_path {tmp};
    limit_conn_zone $http_x_workspace_id zone=workspace:10m;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            limit_conn workspace {limit};
            limit_conn_status 429;
            proxy_pass {upstream};
            proxy_set_header Host $http_host;
        }}
    }}
}}
"""


@contextlib.contextmanager
def edge(upstream: str, limit: int):
    """nginx on a free port in front of `upstream`; yields its base URL."""
    tmp, port = Path(tempfile.mkdtemp(prefix="linkdo-nginx-")), free_port()
    (tmp / "nginx.conf").write_text(
        NGINX_CONF.format(tmp=tmp, port=port, upstream=upstream, limit=limit)
    )
    subprocess.run(["nginx", "-c", str(tmp / "nginx.conf")], check=True)
    try:
        time.sleep(0.5)
        yield f"http://127.0.0.1:{port}"
    finally:
        subprocess.run(["nginx", "-c", str(tmp / "nginx.conf"), "-s", "stop"], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def measure(
    seconds: float, limits: dict, *, edge_limit: int | None = None, in_front: bool = False
) -> dict:
    quiet_ws, flood_ws = f"quiet-{uuid.uuid4().hex[:6]}", f"flood-{uuid.uuid4().hex[:6]}"
    with contextlib.ExitStack() as stack:
        upstream, _ = stack.enter_context(gunicorn(workers=3, **limits))
        base = upstream
        if edge_limit:
            base = stack.enter_context(edge(upstream, edge_limit))
        elif in_front:
            # `make run`'s front process (linkdo.front): its gate holds what is over the limits
            base, _ = stack.enter_context(
                events_server(upstream=upstream.removeprefix("http://"), **limits)
            )
        client = Client(base)
        for i in range(50):
            body = {"id": f"quiet-{i}", "title": f"quiet {i}", "tags": ["home"]}
            assert client.call("POST", "/api/tasks", quiet_ws, body)[0] == 201
        _quiet(base, quiet_ws, 3)  # warm up every worker
        idle = _quiet(base, quiet_ws, seconds)
        # The flood runs in processes of its own: 32 threads in the quiet client's process would
        # take its interpreter lock and show their own contention as the server's latency.
        stop, results = multiprocessing.Event(), multiprocessing.Queue()
        flooders = [
            multiprocessing.Process(target=_flood_process, args=(base, flood_ws, p, stop, results))
            for p in range(FLOOD_PROCESSES)
        ]
        for process in flooders:
            process.start()
        time.sleep(1)
        flooded = _quiet(base, quiet_ws, seconds)
        stop.set()
        statuses: Counter = Counter()
        for _ in flooders:
            statuses.update(results.get(timeout=60))
        for process in flooders:
            process.join()
    return {"idle": _percentiles(idle), "flooded": _percentiles(flooded), "flood": statuses}


def main() -> None:
    os.sched_setaffinity(0, {SERVER_CORE})  # inherited by gunicorn and nginx
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--only", default="", help="run names, comma-separated (default: all)")
    args = parser.parse_args()
    off = {**DEFAULT_LIMITS, "LINKDO_CONCURRENCY_WORKSPACE": "off", "LINKDO_CONCURRENCY_IP": "off"}
    one = {**DEFAULT_LIMITS, "LINKDO_CONCURRENCY_WORKSPACE": "1"}
    planned = {
        "front + app": lambda: measure(args.seconds, DEFAULT_LIMITS, in_front=True),
        "app only": lambda: measure(args.seconds, DEFAULT_LIMITS),
        "concurrency off": lambda: measure(args.seconds, off),
        "edge 2 + app": lambda: measure(args.seconds, DEFAULT_LIMITS, edge_limit=2),
        "edge 1 + app 1": lambda: measure(args.seconds, one, edge_limit=1),
    }
    chosen = [name.strip() for name in args.only.split(",") if name.strip()] or list(planned)
    if not shutil.which("nginx"):
        print("nginx not installed (apt-get install nginx-light): the edge rows are skipped")
        chosen = [name for name in chosen if not name.startswith("edge")]
    runs = {name: planned[name]() for name in chosen}
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
