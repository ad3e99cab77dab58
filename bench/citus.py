"""Issue 35: the same reads and writes on the three-node Citus cluster against one node, in one run.

Each side runs in a process of its own, with a fresh database of its own (`python -m bench.citus
one` on `bench_linkdo` of the embedded PostgreSQL, or DATABASE_URL's database when one is set;
`python -m bench.citus cluster` on `bench_linkdo` of the cluster that `make citus-up` starts,
switched to the one node's durability for the run), and prints its seconds as JSON; run() starts
both, one after the other, and compares. The rows: GET /api/graph of 10,000 tasks and 50,000 edges, a first sync of 1,000
tasks (one push, answered before the embeddings, as the PWA waits for it) and similar tasks in a
workspace of 10,000 embedded tasks (the HTTP request, median of 30 tasks)."""

import json
import os
import random
import subprocess
import sys
import time

BENCH_DATABASE = "bench_linkdo"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOAL = "<= 1.5"


def run() -> list:
    from bench.common import Result

    one = _side("one")
    cluster = _side("cluster")
    return [
        Result(f"citus: {name}", cluster[name] * 1000, one[name] * 1000, "ms", GOAL, "one node")
        for name in one
    ]


def _side(side: str) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LINKDO_CITUS")}
    if side == "cluster":
        cluster = [sys.executable, os.path.join(ROOT, "deploy", "citus", "cluster.py")]
        subprocess.run([*cluster, "start"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([*cluster, "drop", BENCH_DATABASE], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(
            [*cluster, "database", BENCH_DATABASE], check=True, stdout=subprocess.DEVNULL
        )
        url = subprocess.run(
            [*cluster, "url", BENCH_DATABASE], check=True, capture_output=True, text=True
        ).stdout.strip()
        env.update(DATABASE_URL=url, LINKDO_CITUS="true")
        # The cluster runs the tests without flushing anything; the one node flushes every commit.
        subprocess.run([*cluster, "durable", "on"], check=True, stdout=subprocess.DEVNULL)
    elif "DATABASE_URL" in os.environ:
        env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    else:  # a fresh database on the embedded server too: both sides start without history
        env["DATABASE_URL"] = _fresh_embedded_database()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.citus", side],
            cwd=ROOT, env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
    finally:
        if side == "cluster":
            subprocess.run([*cluster, "durable", "off"], check=True, stdout=subprocess.DEVNULL)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fresh_embedded_database() -> str:
    import psycopg
    from django.conf import settings

    host = settings.DATABASES["default"]["HOST"]
    with psycopg.connect(host=host, user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}")
        conn.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    return f"postgresql://postgres@{host.replace('/', '%2F')}/{BENCH_DATABASE}"


def _measure() -> dict[str, float]:
    import numpy as np
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client

    from bench import graph_get
    from bench.common import drop_workspace, median_seconds, sync_push
    from bench.fixtures import clustered_vectors, create_embedded_workspace
    from bench.sync import TAG_POOL
    from tasks.models import Task

    call_command("migrate", verbosity=0)
    client = Client(HTTP_HOST="localhost")
    results = {}

    def analyze() -> None:
        # Fresh statistics on both sides: a cluster database made for the run has none, and the
        # first sync's pull then joined edges to the 10,000 dead task rows the graph row left
        # behind by sequential scans (48 s instead of 0.6, one run of two).
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE tasks_task, graph_edge, tasks_embedding")

    drop_workspace(graph_get.WORKSPACE)
    graph_get._populate(random.Random(7))
    analyze()
    headers = {"X-Workspace-ID": graph_get.WORKSPACE}
    results["GET /api/graph (10,000 tasks, 50,000 edges)"] = median_seconds(
        lambda: client.get("/api/graph", headers=headers), repeat=5
    )
    drop_workspace(graph_get.WORKSPACE)
    analyze()

    rng = random.Random(3)
    tasks = [
        {"id": f"t{i}", "title": f"Task {i} {rng.choice(['call', 'write', 'buy', 'fix'])}",
         "description": "Offline words " * 3, "tags": sorted(set(rng.sample(TAG_POOL, rng.randint(1, 3))))}
        for i in range(1000)
    ]  # fmt: skip
    samples = []
    for i in range(9):  # the median of 9: of 5, one run's medians moved by a third from the next's
        workspace = f"bench-citus-sync-{i}"
        drop_workspace(workspace)
        started = time.perf_counter()
        sync_push(workspace, {"tasks": tasks, "edges": [], "cursor": None, "limit": 1})
        samples.append(time.perf_counter() - started)
        drop_workspace(workspace)
    results["first sync of 1,000 tasks (one push)"] = sorted(samples)[len(samples) // 2]

    workspace = "bench-citus-similar"
    drop_workspace(workspace)
    with transaction.atomic():
        create_embedded_workspace(workspace, clustered_vectors(10_000, 768, seed=2))
    analyze()
    ids = list(Task.objects.filter(workspace_id=workspace).values_list("client_id", flat=True)[:30])
    headers = {"X-Workspace-ID": workspace}
    timings = []
    for client_id in ids:
        timings.append(
            median_seconds(
                lambda c=client_id: client.get(f"/api/tasks/{c}/similar?k=10", headers=headers),
                repeat=3,
            )
        )
    results["similar tasks (10,000 tasks, k=10)"] = float(np.median(timings))
    drop_workspace(workspace)
    return results


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linkdo.settings")
    django.setup()
    from django.conf import settings

    settings.DEBUG = False
    settings.LINKDO_THROTTLE_WORKSPACE = None
    settings.LINKDO_THROTTLE_IP = None
    print(json.dumps(_measure()))
