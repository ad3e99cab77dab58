"""Pulling changes: every task and edge change in (version, kind, id) order, paged by an opaque cursor.

Each page is a prefix of that order, so a client may store the cursor after any page and resume.
"""

import base64
import json

from django.db.models import OuterRef, Q, Subquery

from graph.models import Edge
from graph.selectors import EDGE_FIELDS, edge_row_to_json
from linkdo.errors import ApplicationError
from linkdo.opaque import scramble, unscramble
from tasks.models import Task
from tasks.selectors import TASK_FIELDS, task_row_to_json
from workspaces.models import Workspace

TASK_KIND, EDGE_KIND, END_KIND = 0, 1, 2  # END: after everything of that version


MAX_CURSOR_LENGTH = 200


# The row id inside a cursor is opaque (linkdo.opaque), like edge ids: a global sequence would tell
# a workspace how busy the others are. The fifth element marks the format; four-element cursors
# from before hold the plain id and are still understood.
CURSOR_ID_PURPOSE, CURSOR_FORMAT = "cursor", 1


def encode_cursor(version: int, kind: int, row_id: int, epoch: int) -> str:
    """`epoch`: the workspace's purge horizon when the cursor was issued. A cursor below the horizon
    but issued after the purge (paging a reset snapshot) stays valid."""
    hidden = scramble(row_id, CURSOR_ID_PURPOSE)
    raw = json.dumps([version, kind, hidden, epoch, CURSOR_FORMAT], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value) -> tuple[int, int, int, int] | None:
    if value is None:
        return None
    try:
        if len(value) > MAX_CURSOR_LENGTH:  # ours are ~30 characters; a long one is no cursor
            raise ValueError
        padded = value + "=" * (-len(value) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) not in (4, 5):
            raise ValueError
        if not all(isinstance(v, int) and 0 <= v < 2**64 for v in values) or values[1] > END_KIND:
            raise ValueError
        version, kind, row_id, epoch = values[:4]
        if len(values) == 5:
            if values[4] != CURSOR_FORMAT:
                raise ValueError
            row_id = unscramble(row_id, CURSOR_ID_PURPOSE)
        if row_id >= 2**63 or version >= 2**63 or epoch >= 2**63:  # PostgreSQL bigints
            raise ValueError
    except (ValueError, TypeError, AttributeError, RecursionError):
        raise ApplicationError(
            "The cursor is not one this server issued; send null to start from the beginning."
        ) from None
    return version, kind, row_id, epoch


def _after(version: int, kind: int, row_id: int, own_kind: int) -> Q:
    """Rows of `own_kind` that come after the cursor position in (version, kind, id) order."""
    later = Q(version__gt=version)
    if own_kind > kind:
        return later | Q(version=version)
    if own_kind == kind:
        return later | Q(version=version, id__gt=row_id)
    return later


# An edge's ends by one index lookup each (a subquery per row of the page), not by joins: the
# planner of a workspace that has just grown (its first sync, statistics from before it) took the
# workspace's tasks for 1 row and joined them with each other before the edges: 47 s for the pull
# after a first push of 1,000 tasks on a fresh database instead of 0.6 (docs/PERFORMANCE.md).
_PULLED_EDGE_FIELDS = tuple(
    {"source__client_id": "source_client_id", "target__client_id": "target_client_id"}.get(f, f)
    for f in EDGE_FIELDS
)


def _client_id(workspace: Workspace, end: str) -> Subquery:
    # The workspace by value (on Citus, what keeps the statement on the workspace's node).
    ends = Task.objects.of(workspace).filter(id=OuterRef(end)).order_by()
    return Subquery(ends.values("client_id")[:1])


def pull_changes(*, workspace: Workspace, cursor: tuple | None, limit: int, epoch: int) -> dict:
    """The next `limit` changes after the cursor: tasks and edges with their versions (tombstones
    as {"id", "deleted": true, "version"}), the new cursor and whether more remain."""
    position = cursor[:3] if cursor else (0, TASK_KIND, 0)
    tasks = (
        Task.objects.of(workspace)
        .filter(_after(*position, TASK_KIND))
        .order_by("version", "id")
        .values_list("id", "version", "deleted_at", *TASK_FIELDS)[: limit + 1]
    )
    edges = (
        Edge.objects.of(workspace)
        .filter(_after(*position, EDGE_KIND))
        .order_by("version", "id")
        .annotate(
            source_client_id=_client_id(workspace, "source_id"),
            target_client_id=_client_id(workspace, "target_id"),
        )
        .values_list("version", "deleted_at", *_PULLED_EDGE_FIELDS)[: limit + 1]
    )
    merged = [(row[1], TASK_KIND, row[0], row) for row in tasks]
    merged += [(row[0], EDGE_KIND, row[2], row) for row in edges]
    merged.sort(key=lambda entry: entry[:3])
    page, has_more = merged[:limit], len(merged) > limit
    body = {"tasks": [], "edges": []}
    for _version, kind, _, row in page:
        if kind == TASK_KIND:
            body["tasks"].append(_task_change(row))
        else:
            body["edges"].append(_edge_change(row))
    if page:
        last = page[-1]
        next_cursor = encode_cursor(last[0], last[1], last[2], epoch)
    else:
        next_cursor = encode_cursor(*position, epoch) if cursor else _end_cursor(workspace, epoch)
    return {**body, "cursor": next_cursor, "has_more": has_more}


def _task_change(row) -> dict:
    _, version, deleted_at, *fields = row
    if deleted_at is not None:
        return {"id": fields[1], "deleted": True, "version": version}
    return {**task_row_to_json(tuple(fields)), "version": version}


def _edge_change(row) -> dict:
    version, deleted_at, *fields = row
    data = edge_row_to_json(tuple(fields))
    if deleted_at is not None:
        return {
            "id": data["id"],
            "source": data["source"],
            "target": data["target"],
            "deleted": True,
            "version": version,
        }
    return {**data, "version": version}


def _end_cursor(workspace: Workspace, epoch: int) -> str:
    """A cursor after every change so far: what a client with nothing to pull should keep."""
    version = (
        Workspace.objects.filter(pk=workspace.pk).values_list("change_version", flat=True).first()
    )
    return encode_cursor(version or 0, END_KIND, 0, epoch)
