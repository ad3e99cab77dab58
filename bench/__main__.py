"""`make bench`: run every benchmark against the configured database and print one table."""

import os
import sys

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linkdo.settings")
    django.setup()
    from django.conf import settings

    # Measure what production runs: no per-query logging.
    settings.DEBUG = False
    from bench import embeddings, graph_get, map_layout, sync
    from bench.common import print_table

    suites = {"graph": graph_get, "embeddings": embeddings, "map": map_layout, "sync": sync}
    chosen = sys.argv[1:] or list(suites)
    results = []
    for name in chosen:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results.extend(suites[name].run())
    print_table(results)


if __name__ == "__main__":
    main()
