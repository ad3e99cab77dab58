"""manage.py jobs_worker: the job worker (flows.jobs), riding out database outages.

`manage.py procrastinate worker` stops for good, with exit status 0, when its listening connection
loses the database (procrastinate stops the worker when a side task fails), and with status 1 when
a fetch fails. This command runs the same worker and, whenever it stops without being asked to,
waits (1, 2, 4 ... seconds, at most MAX_BACKOFF_S) and starts it again on a new connection pool,
logging each attempt. Nothing is lost meanwhile: jobs live in PostgreSQL, a job left running by
the lost worker is failed and queued again by `recover_stalled`, and the minute's sweep queues the
embeddings still pending. SIGTERM or SIGINT stops it (status 0) after the running job, as the
library's own command does.
"""

import asyncio
import contextlib
import logging
import os
import signal
import time

from django.core.management.base import BaseCommand
from procrastinate.contrib.django import app

logger = logging.getLogger("linkdo.worker")

FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
# A worker that ran this long before it stopped was healthy: the next wait starts from the first.
HEALTHY_RUN_S = 60.0


class Command(BaseCommand):
    help = "Run the job worker; reconnects with backoff when the database goes away."

    def add_arguments(self, parser):
        parser.add_argument("--queue", action="append", dest="queues", help="only these queues")
        parser.add_argument(
            "--metrics-port",
            type=int,
            help="serve this process's Prometheus counters (provider calls) on this port, for a "
            "worker that shares no PROMETHEUS_MULTIPROC_DIR with a web server (Kubernetes)",
        )

    def handle(self, *args, queues=None, metrics_port=None, **options):
        if metrics_port:
            serve_metrics(metrics_port)
        asyncio.run(run_forever(queues=queues))


def serve_metrics(port: int) -> None:
    """The worker's counters over HTTP (prometheus_client's own server, in a thread)."""
    from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, start_http_server

    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    start_http_server(port, registry=registry)
    logger.info("job worker: metrics on port %d", port)


async def run_forever(*, queues: list[str] | None = None) -> None:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    running: asyncio.Task | None = None

    def request_stop() -> None:
        stopping.set()
        if running is not None:
            running.cancel()  # procrastinate stops gracefully: the running job finishes first

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, request_stop)
    backoff = FIRST_BACKOFF_S
    while not stopping.is_set():
        started = time.monotonic()
        try:
            with app.replace_connector(app.connector.get_worker_connector()):
                async with app.open_async():
                    running = asyncio.create_task(
                        app.run_worker_async(queues=queues, install_signal_handlers=False)
                    )
                    await running
            problem = "the worker stopped (its database connection was lost)"
        except asyncio.CancelledError:
            if stopping.is_set():
                break
            raise
        except Exception as error:  # the database is unreachable, or went away mid-run
            problem = f"{type(error).__name__}: {str(error).strip().splitlines()[0][:200]}"
        finally:
            running = None
        if stopping.is_set():
            break
        if time.monotonic() - started > HEALTHY_RUN_S:
            backoff = FIRST_BACKOFF_S
        logger.warning("job worker: %s; starting again in %.0f s", problem, backoff)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=backoff)
        backoff = min(backoff * 2, MAX_BACKOFF_S)
    logger.info("job worker stopped")
