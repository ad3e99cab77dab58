"""Background work, held by PostgreSQL (procrastinate) and run by `manage.py procrastinate worker`:
a crash or a second replica loses and repeats nothing.

- `embed_workspace`: a workspace's pending embeddings, in provider batches of 100, placed on the
  map. Deferred by a push in the push's own transaction (a rolled-back push queues nothing); at most
  one queued per workspace (queueing lock) and never two running for one (lock); retried with
  exponential backoff when the provider fails.
- `sweep_pending` (every minute): any task pending its embedding for longer than
  LINKDO_PENDING_SWEEP_AFTER_S gets its workspace a job, so nothing waits for a push that never
  comes (a deploy, an OOM kill, Gemini down for an hour).
- `purge_old_tombstones` (daily): `purge_tombstones` with LINKDO_TOMBSTONE_DAYS (0: never).

A caller's own Gemini key (X-Gemini-API-Key) is never written anywhere, the queue included: it
serves that request's own calls, and the background embedding of what the request stored uses the
server's provider.
"""

import contextlib
from datetime import timedelta
from io import StringIO

from django.conf import settings
from django.core.management import call_command
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app
from procrastinate.exceptions import AlreadyEnqueued

from graph.map import embed_pending
from tasks.models import Task

EMBEDDINGS_QUEUE = "embeddings"
MAINTENANCE_QUEUE = "maintenance"


@contextlib.contextmanager
def _job_connection():
    """Jobs run in the worker's threads: a usable Django connection, closed after the job, so the
    thread holds none between jobs. Inside a caller's transaction (a job called directly) the
    caller's connection is left alone."""
    if connection.in_atomic_block:
        yield
        return
    close_old_connections()
    try:
        yield
    finally:
        connection.close()


@app.task(
    queue=EMBEDDINGS_QUEUE,
    # 2, 4, 8 ... seconds: about 34 minutes over 10 attempts; after that the sweep queues it again.
    retry=RetryStrategy(max_attempts=10, exponential_wait=2),
)
def embed_workspace(workspace_id: str) -> int:
    """Embed and place the workspace's pending tasks; a provider failure fails the job, which is
    retried (the tasks stay pending meanwhile, and nothing stored is lost)."""
    with _job_connection():
        return embed_pending(workspace_id=workspace_id)


def embedding_enqueue(*, workspace_id: str) -> None:
    """Queue the workspace's embedding job, unless one is queued already (it will see these tasks
    too). Inside a transaction, the job is queued only if the transaction commits."""
    lock = f"embed:{workspace_id}"
    # A savepoint: the queueing lock refuses a second job with a unique violation, which must not
    # abort the caller's transaction.
    with contextlib.suppress(AlreadyEnqueued), transaction.atomic():
        embed_workspace.configure(lock=lock, queueing_lock=lock).defer(workspace_id=workspace_id)


@app.periodic(cron="* * * * *", periodic_id="sweep")
@app.task(queue=MAINTENANCE_QUEUE, queueing_lock="sweep-pending", pass_context=False)
def sweep_pending(timestamp: int) -> int:
    """Queue an embedding job for every workspace with a task pending for too long; returns how
    many workspaces."""
    with _job_connection():
        return _sweep()


def _sweep() -> int:
    since = timezone.now() - timedelta(seconds=settings.LINKDO_PENDING_SWEEP_AFTER_S)
    workspaces = list(
        Task.objects.filter(
            deleted_at__isnull=True, embedding_hash__isnull=True, updated_at__lt=since
        )
        .values_list("workspace_id", flat=True)
        .distinct()
    )
    for workspace_id in workspaces:
        embedding_enqueue(workspace_id=workspace_id)
    return len(workspaces)


@app.periodic(cron="17 3 * * *", periodic_id="purge")
@app.task(queue=MAINTENANCE_QUEUE, queueing_lock="purge-tombstones", pass_context=False)
def purge_old_tombstones(timestamp: int) -> str:
    """Once a day: tombstones older than LINKDO_TOMBSTONE_DAYS go (0: kept for good)."""
    days = settings.LINKDO_TOMBSTONE_DAYS
    if not days:
        return "LINKDO_TOMBSTONE_DAYS is 0: nothing purged"
    output = StringIO()
    with _job_connection():
        call_command("purge_tombstones", older_than=f"{days}d", stdout=output)
    return output.getvalue().strip()


def jobs_run_until_idle(*, queues: list[str] | None = None) -> None:
    """Run a worker in this process until no job is ready, then return (benchmarks, tests, and
    anything that must see the work done). Needs the jobs committed: it reads the queue through
    its own connections."""
    with app.replace_connector(app.connector.get_worker_connector()):
        app.run_worker(
            queues=queues, wait=False, install_signal_handlers=False, listen_notify=False
        )
