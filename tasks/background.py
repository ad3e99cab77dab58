"""Embedding in the background: a sync push stores its tasks with their embeddings pending and
answers at once; this process's embedding thread then embeds the workspace's pending tasks in
provider batches, stores the vectors and places new tasks on the map.

One daemon thread per process, started on first use, works through the queued workspaces (a
workspace submitted twice while queued is embedded once). A caller's own Gemini key (same model
as the server's) is held in memory for its workspace's job only, never stored. Nothing is lost if
the process dies first: the tasks stay pending, the workspace's next push picks them up again, and
`manage.py reembed --pending` embeds every pending task.
"""

import logging
import threading
import time

from django.db import close_old_connections, connection

from linkdo.ai import AIProvider, ProviderError, get_provider
from linkdo.ai.gemini import EMBED_BATCH
from tasks.embeddings import BATCH_ROW_FIELDS, tasks_embed_batch
from tasks.models import Task

logger = logging.getLogger("linkdo.embeddings")


def embed_pending(
    *,
    workspace_id: str,
    provider: AIProvider | None = None,
    batch_size: int = EMBED_BATCH,
    deadline_s: float | None = None,
) -> int:
    """Embed the workspace's live tasks whose embedding is pending, one provider call per batch,
    each batch committed on its own. Returns how many were stored. Stops at the first provider
    failure (the rest stay pending) and raises ProviderError; with `deadline_s`, also when that
    much time has passed (each call's deadline is what is left)."""
    provider = provider or get_provider()
    ends = None if deadline_s is None else time.monotonic() + deadline_s
    pending = Task.objects.filter(
        workspace_id=workspace_id, embedding_hash__isnull=True, deleted_at__isnull=True
    ).order_by("id")
    stored, last_id = 0, 0
    while True:
        rows = list(pending.filter(id__gt=last_id).values_list(*BATCH_ROW_FIELDS)[:batch_size])
        if not rows:
            return stored
        last_id = rows[-1][0]
        left = None if ends is None else ends - time.monotonic()
        if left is not None and left <= 0:
            return stored
        stored += tasks_embed_batch(rows=rows, provider=provider, deadline_s=left)


class EmbeddingWorker:
    """A daemon thread embedding the pending tasks of the workspaces submitted to it."""

    def __init__(self):
        self._queued: dict[str, AIProvider | None] = {}
        self._busy = False
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, workspace_id: str, provider: AIProvider | None = None) -> None:
        with self._changed:
            self._queued[workspace_id] = provider
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="linkdo-embeddings", daemon=True
                )
                self._thread.start()
            self._changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or running; False on timeout (for tests and benchmarks)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._queued or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
        return True

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._queued:
                    self._changed.wait()
                workspace_id = next(iter(self._queued))
                provider = self._queued.pop(workspace_id)
                self._busy = True
            try:
                self._embed(workspace_id, provider)
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()

    @staticmethod
    def _embed(workspace_id: str, provider: AIProvider | None) -> None:
        close_old_connections()
        try:
            embed_pending(workspace_id=workspace_id, provider=provider)
        except ProviderError as exc:
            logger.warning("embeddings of workspace %s stay pending: %s", workspace_id, exc)
        except Exception:  # the thread must outlive any one job; the tasks stay pending
            logger.exception("background embedding of workspace %s failed", workspace_id)
        finally:
            connection.close()


embedding_worker = EmbeddingWorker()
