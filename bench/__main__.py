"""`make bench`: run every benchmark against the configured database and print one table."""

import os
import sys

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linkdo.settings")
    django.setup()
    from django.conf import settings

    # Measure what production runs: no per-query logging. The benchmarks send thousands of
    # requests a minute from one workspace: the rate limits would answer most of them 429.
    settings.DEBUG = False
    settings.LINKDO_THROTTLE_WORKSPACE = None
    settings.LINKDO_THROTTLE_IP = None
    from bench import (
        capture,
        citus,
        embeddings,
        events,
        graph_get,
        jobs,
        map_layout,
        scaling,
        stats,
        sync,
        throttle,
        worst_push,
    )
    from bench.common import print_table, settle
    from linkdo.heap import freeze_loaded_objects

    # What gunicorn's master does before it forks the workers (deploy/gunicorn.conf.py).
    freeze_loaded_objects()

    suites = {
        "graph": graph_get,
        "embeddings": embeddings,
        "map": map_layout,
        "sync": sync,
        "worst-push": worst_push,
        "stats": stats,
        "capture": capture,
        "scaling": scaling,
        "throttle": throttle,
        "jobs": jobs,
        "events": events,
        # Only when named: builds Citus and starts the cluster on first use (make citus-up).
        "citus": citus,
    }
    chosen = sys.argv[1:] or [name for name in suites if name != "citus"]
    results = []
    for name in chosen:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        settle()
        results.extend(suites[name].run())
    print_table(results)


if __name__ == "__main__":
    main()
