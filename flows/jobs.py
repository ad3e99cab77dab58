"""Background work, held by PostgreSQL (procrastinate) and run by `manage.py jobs_worker`:
a crash or a second replica loses and repeats nothing.

- `embed_workspace`: a workspace's pending embeddings, in provider calls of 100 stored 500 at a
  time, placed on the map. Deferred by a push in the push's own transaction (a rolled-back push queues nothing); at most
  one queued per workspace (queueing lock) and never two running for one (lock). When the provider
  fails the job fails (the admin lists it) and queues its follow-up: 2, 4, 8 ... seconds later, at
  most a minute, or as long as Gemini asked; ten in a row, then the sweep takes over.
- `sweep_pending` (every minute): any task pending its embedding for longer than
  LINKDO_PENDING_SWEEP_AFTER_S gets its workspace a job, so nothing waits for a push that never
  comes (a deploy, an OOM kill, Gemini down for an hour).
- `recover_stalled` (every 30 seconds): a job whose worker died (SIGKILL, OOM: no heartbeat for 30
  seconds) is marked failed, which frees its workspace's lock, and an embedding job is queued again.
- `purge_old_tombstones` (daily): `purge_tombstones` with LINKDO_TOMBSTONE_DAYS (0: never), and
  the rate counters of keys unseen for a day and Idempotency-Key answers older than a day;
  `forget_old_jobs` (daily): finished jobs older than a
  week.

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
from procrastinate import JobContext
from procrastinate.contrib.django import app
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Status

from graph.map import embed_pending
from linkdo.ai import ProviderError
from linkdo.throttling import rates_forget
from tasks.models import Task
from workspaces.idempotency import idempotency_forget

EMBEDDINGS_QUEUE = "embeddings"
MAINTENANCE_QUEUE = "maintenance"
EMBED_ATTEMPTS = 10  # in a row, while the provider fails; then the sweep queues the next
BACKOFF_CAP_S = 60
FINISHED_JOBS_KEPT_HOURS = 7 * 24
# A worker sends a heartbeat every 10 s (procrastinate's default); 30 s without one: it is gone.
STALLED_AFTER_S = 30


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


@app.task(queue=EMBEDDINGS_QUEUE)
def embed_workspace(workspace_id: str, attempt: int = 0) -> int:
    """Embed and place the workspace's pending tasks. A provider failure fails the job (the tasks
    stay pending, nothing stored is lost) after queueing the next attempt with backoff.

    procrastinate's own retry is not used: it puts the failed job back in the queue, and with its
    queueing lock that is refused whenever a push has queued the workspace's next job meanwhile."""
    with _job_connection():
        try:
            return embed_pending(workspace_id=workspace_id)
        except ProviderError as error:
            if attempt + 1 < EMBED_ATTEMPTS:
                wait = min(BACKOFF_CAP_S, 2 ** (attempt + 1))
                embedding_enqueue(
                    workspace_id=workspace_id,
                    attempt=attempt + 1,
                    delay_s=max(wait, error.retry_after or 0),
                )
            raise


def _embed_job(workspace_id: str, delay_s: float = 0):
    """The workspace's embedding job, with its queueing lock and its lock."""
    lock = f"embed:{workspace_id}"
    schedule = {"seconds": delay_s} if delay_s else None
    return embed_workspace.configure(lock=lock, queueing_lock=lock, schedule_in=schedule)


def embedding_enqueue(*, workspace_id: str, attempt: int = 0, delay_s: float = 0) -> None:
    """Queue the workspace's embedding job, unless one is queued already (it will see these tasks
    too). Inside a transaction, the job is queued only if the transaction commits."""
    # A savepoint: the queueing lock refuses a second job with a unique violation, which must not
    # abort the caller's transaction.
    with contextlib.suppress(AlreadyEnqueued), transaction.atomic():
        _embed_job(workspace_id, delay_s).defer(workspace_id=workspace_id, attempt=attempt)


async def _embedding_enqueue_async(workspace_id: str) -> None:
    with contextlib.suppress(AlreadyEnqueued):
        await _embed_job(workspace_id).defer_async(workspace_id=workspace_id)


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
        .order_by()  # else Task's default ordering joins the DISTINCT: one row per task
        .values_list("workspace_id", flat=True)
        .distinct()
    )
    for workspace_id in workspaces:
        embedding_enqueue(workspace_id=workspace_id)
    return len(workspaces)


@app.periodic(cron="* * * * * */30", periodic_id="recover")
@app.task(queue=MAINTENANCE_QUEUE, queueing_lock="recover-stalled", pass_context=True)
async def recover_stalled(context: JobContext, timestamp: int) -> int:
    """Jobs left running by a worker that died: failed (their lock is freed), and each embedding
    job queued again. Returns how many."""
    manager = context.app.job_manager
    stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_S)
    for job in stalled:
        await manager.finish_job_by_id_async(job.id, status=Status.FAILED, delete_job=False)
        if job.task_name == embed_workspace.name:
            await _embedding_enqueue_async(job.task_kwargs["workspace_id"])
    return len(stalled)


@app.periodic(cron="17 3 * * *", periodic_id="purge")
@app.task(queue=MAINTENANCE_QUEUE, queueing_lock="purge-tombstones", pass_context=False)
def purge_old_tombstones(timestamp: int) -> str:
    """Once a day: tombstones older than LINKDO_TOMBSTONE_DAYS go (0: kept for good), and the rate
    counters of keys unseen for a day."""
    days = settings.LINKDO_TOMBSTONE_DAYS
    output = StringIO()
    with _job_connection():
        rates_forget()
        idempotency_forget()
        if not days:
            return "LINKDO_TOMBSTONE_DAYS is 0: nothing purged"
        call_command("purge_tombstones", older_than=f"{days}d", stdout=output)
    return output.getvalue().strip()


@app.periodic(cron="47 3 * * *", periodic_id="forget-jobs")
@app.task(queue=MAINTENANCE_QUEUE, queueing_lock="forget-jobs", pass_context=True)
async def forget_old_jobs(context: JobContext, timestamp: int) -> None:
    """Once a day: finished jobs (succeeded, failed, cancelled) older than a week leave the queue's
    table (a periodic job alone adds 2,880 rows a day)."""
    await context.app.job_manager.delete_old_jobs(
        nb_hours=FINISHED_JOBS_KEPT_HOURS, include_failed=True, include_cancelled=True
    )


def jobs_run_until_idle(*, queues: list[str] | None = None) -> None:
    """Run a worker in this process until no job is ready, then return (benchmarks, tests, and
    anything that must see the work done). Needs the jobs committed: it reads the queue through
    its own connections."""
    with app.replace_connector(app.connector.get_worker_connector()):
        app.run_worker(
            queues=queues, wait=False, install_signal_handlers=False, listen_notify=False
        )
