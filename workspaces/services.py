"""Workspace rows: creating on first use, change versions and the change lock."""

import time
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from linkdo.errors import ConflictError
from workspaces.changes import VersionStatement
from workspaces.models import Workspace
from workspaces.secrets import secret_hash, secret_new

MAX_WORKSPACE_ID_LENGTH = 128

# Create the workspace on first use, and refresh last_seen_at at most once a minute so that reads
# do not turn into a write per request.
_RECENTLY_SEEN_SQL = """
SELECT 1 FROM workspaces_workspace WHERE id = %s AND last_seen_at >= now() - interval '1 minute'
"""
# Times as parameters, not now(), in the DO UPDATE and its WHERE: Citus runs them on the worker
# and accepts only immutable functions there.
_TOUCH_SQL = """
INSERT INTO workspaces_workspace (id, created_at, last_seen_at) VALUES (%(id)s, %(now)s, %(now)s)
ON CONFLICT (id) DO UPDATE SET last_seen_at = EXCLUDED.last_seen_at
WHERE workspaces_workspace.last_seen_at < %(stale)s
"""


# A writer's lock is FOR UPDATE, not the FOR NO KEY UPDATE a plain UPDATE takes: only FOR UPDATE
# waits for the FOR KEY SHARE under which background batches store vectors (tasks.embeddings), while
# a batch's mark (FOR NO KEY UPDATE) does not, so one batch's mark never waits for another's insert.
# The change is notified at commit (workspaces.changes).
_BEGIN_CHANGE = VersionStatement(
    """
WITH locked AS (SELECT id FROM workspaces_workspace WHERE id = %(ws)s FOR UPDATE)
UPDATE workspaces_workspace w SET change_version = w.change_version + 1 FROM locked
WHERE w.id = %(ws)s AND w.id = locked.id RETURNING w.change_version, {notify}
""",
    "w.id",
    "w.change_version",
)
_SET_VERSION = VersionStatement(
    """
UPDATE workspaces_workspace w SET change_version = %s WHERE w.id = %s
RETURNING w.change_version, {notify}
""",
    "w.id",
    "w.change_version",
)


def workspace_id_problem(value: str | None) -> str | None:
    """Why a raw X-Workspace-ID value is unusable, or None when it is fine."""
    if value is None:
        return "The X-Workspace-ID header is required on /api/ paths."
    if not value.strip():
        return "The X-Workspace-ID header must not be empty."
    if len(value) > MAX_WORKSPACE_ID_LENGTH:
        return f"The X-Workspace-ID header must be at most {MAX_WORKSPACE_ID_LENGTH} characters."
    if len(value) < (shortest := settings.LINKDO_MIN_WORKSPACE_ID_LENGTH):
        return (
            f"The X-Workspace-ID header must be at least {shortest} characters on this server "
            "(LINKDO_MIN_WORKSPACE_ID_LENGTH): use a long random id, such as a random UUID."
        )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "The X-Workspace-ID header must not contain control characters."
    if value != value.strip():
        return "The X-Workspace-ID header must not start or end with spaces."
    if "\ufffd" in value:
        return "The X-Workspace-ID header must be UTF-8 text."
    if "," in value:
        # Two X-Workspace-ID headers arrive joined by a comma: which one was meant is unknown.
        return "Send one X-Workspace-ID header, without commas."
    return None


class RecentlySeen:
    """The workspaces this process saw within `ttl_s`: they exist (workspaces are never deleted),
    and their last_seen_at is at most that old, so most requests need no query at all for them."""

    def __init__(self, ttl_s: float = 60.0, max_size: int = 10_000, clock=time.monotonic):
        self.ttl_s, self.max_size, self.clock = ttl_s, max_size, clock
        self._seen_at: dict[str, float] = {}

    def __contains__(self, workspace_id: str) -> bool:
        seen_at = self._seen_at.get(workspace_id)
        return seen_at is not None and self.clock() - seen_at < self.ttl_s

    def remember(self, workspace_id: str, seen_at: float) -> None:
        if len(self._seen_at) >= self.max_size:
            self._seen_at.clear()
        self._seen_at[workspace_id] = seen_at

    def forget(self, workspace_id: str) -> None:
        self._seen_at.pop(workspace_id, None)

    def clear(self) -> None:
        self._seen_at.clear()


recently_seen = RecentlySeen()


def workspace_touch(*, workspace_id: str) -> Workspace:
    """Ensure the workspace exists (creating it on first use) and return a handle to it."""
    if workspace_id not in recently_seen:
        seen_at = recently_seen.clock()
        _workspace_upsert(workspace_id)
        # Only a committed row may be remembered: an import that rolls back takes its new
        # workspace with it. (Outside a transaction this runs at once.)
        transaction.on_commit(lambda: recently_seen.remember(workspace_id, seen_at))
    workspace = Workspace(id=workspace_id)
    workspace._state.adding = False
    workspace._state.db = "default"
    return workspace


def workspace_forget(workspace_id: str) -> None:
    """Drop the process's memory of a workspace whose row was deleted (benchmarks and tools do;
    the app never deletes workspaces), so its next use creates the row again."""
    recently_seen.forget(workspace_id)


def _workspace_upsert(workspace_id: str) -> None:
    with connection.cursor() as cursor:
        # Most requests come from a workspace seen within the minute: one read, no write (an
        # upsert takes a row lock, and so a transaction id and a WAL flush, even when it changes
        # nothing).
        cursor.execute(_RECENTLY_SEEN_SQL, [workspace_id])
        if cursor.fetchone() is None:
            now = timezone.now()
            cursor.execute(
                _TOUCH_SQL, {"id": workspace_id, "now": now, "stale": now - timedelta(minutes=1)}
            )


def workspace_claim(*, workspace: Workspace) -> str:
    """Give an unclaimed workspace its secret; answers the secret, shown this once (only its
    hash is kept). A claimed workspace is a 409, also when two claims race."""
    return _set_secret(
        workspace, claimed=False,
        refusal="This workspace is claimed already; rotate its secret instead.",
    )  # fmt: skip


def workspace_rotate_secret(*, workspace: Workspace) -> str:
    """A new secret for a claimed workspace; the old one stops working at once, on every process
    (each request reads the stored hash)."""
    return _set_secret(
        workspace, claimed=True, refusal="This workspace has no secret to rotate; claim it first."
    )


def _set_secret(workspace: Workspace, *, claimed: bool, refusal: str) -> str:
    """A new secret for a workspace that has one (`claimed`) or has none; a 409 otherwise."""
    secret = secret_new()
    changed = Workspace.objects.filter(pk=workspace.pk, secret_hash__isnull=not claimed).update(
        secret_hash=secret_hash(secret), secret_set_at=timezone.now()
    )
    if not changed:
        raise ConflictError(refusal)
    return secret


def workspace_remove_secret(*, workspace_id: str) -> bool:
    """The operator's recovery for an owner who lost the secret: the workspace is unclaimed again
    (its owner claims it anew). Whether it had one."""
    removed = Workspace.objects.filter(pk=workspace_id, secret_hash__isnull=False).update(
        secret_hash=None, secret_set_at=None
    )
    return bool(removed)


def workspace_begin_change(*, workspace: Workspace) -> int:
    """Take the workspace's next change version, locking its row until the transaction ends.

    Every write to a workspace's tasks or edges calls this first, inside its transaction: writers of
    one workspace are serialised, so commit order equals version order and a sync cursor (the last
    version seen) never skips a change that commits late.
    """
    with connection.cursor() as cursor:
        return _BEGIN_CHANGE.run(cursor, {"ws": workspace.pk}, workspace.pk)


def workspace_lock(*, workspace: Workspace) -> tuple[int, int]:
    """Lock the workspace row until the transaction ends, without taking a version yet (a push
    that changes nothing must change no version). Returns (change_version, purged_version)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT change_version, purged_version FROM workspaces_workspace WHERE id = %s FOR UPDATE",
            [workspace.pk],
        )
        return cursor.fetchone()


def workspace_set_version(*, workspace: Workspace, version: int) -> None:
    """Set the workspace's change version (taken under workspace_lock) and notify the change."""
    with connection.cursor() as cursor:
        _SET_VERSION.run(cursor, [version, workspace.pk], workspace.pk)
