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

from graph.map import embed_pending
from linkdo.ai import AIProvider, ProviderError

logger = logging.getLogger("linkdo.embeddings")


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
