"""Offline sync: POST /api/tasks/sync.

Without a `cursor` key, the old backend's exchange (push, then every live task and edge). With
`"cursor": null | "<opaque>"`, the delta protocol: push with per-item results, then the changes since
the cursor in server-version order, paged. See README "Offline sync" for the protocol.
Embeddings of pushed tasks are computed after the push commits, by the job worker (flows.jobs).
"""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from flows.jobs import embedding_enqueue
from flows.sync.pull import decode_cursor, pull_changes
from flows.sync.push import apply_push, parse_push
from graph.selectors import edge_list, edge_list_to_json
from linkdo.errors import TooLargeError
from linkdo.fields import iso_datetime
from linkdo.observability import record_sync_results
from tasks.selectors import link_pairs_estimate, task_list, task_list_to_json
from workspaces.models import Workspace

DEFAULT_LIMIT, MAX_LIMIT = 500, 2000


PushTooLarge = TooLargeError


def _check_link_work(workspace: Workspace, parsed) -> None:
    """Refuse, before anything is written, a push whose auto-links would compare more task pairs
    than LINKDO_SYNC_MAX_LINK_PAIRS. A new task has no embedding yet, so it chooses among the few
    most recent tasks of each tag set (graph.services), whatever their number; a stored task whose
    tags change is ranked by similarity against every live task sharing a tag with it, so that
    work is (retagged tasks) x (their tag-mates), and 1,000 of them in a workspace where 10,000
    share their tag would outlast the worker's timeout (measured in docs/PERFORMANCE.md). The
    estimate counts a task once per shared tag (an upper bound)."""
    # Only stored tasks whose tags change (a replay costs nothing, a new task little).
    tagged = [
        item.fields["tags"]
        for item in parsed.tasks
        if item.fields.get("tags")
        and (row := parsed.rows.get(item.client_id)) is not None
        and row.tags != item.fields["tags"]
    ]
    if not tagged:
        return
    pairs = link_pairs_estimate(workspace=workspace, tag_lists=tagged)
    limit = settings.LINKDO_SYNC_MAX_LINK_PAIRS
    if pairs > limit:
        per_task = max(pairs // len(tagged), 1)
        raise PushTooLarge(
            f"This push would rank {pairs:,} task pairs for auto-links ({len(tagged)} retagged "
            f"tasks against their tag-mates); the limit is {limit:,}. Nothing was applied: send "
            f"at most {max(limit // per_task, 1):,} retagged tasks per push."
        )


def sync_exchange(*, workspace: Workspace, request: dict) -> dict:
    """Apply a push and answer with what the client should pull; all or nothing. `request` is the
    envelope validated by flows.api.SyncRequestSerializer; its items are checked one by one."""
    raw_tasks, raw_edges = request["tasks"], request["edges"]
    items = len(raw_tasks) + len(raw_edges)
    if items > settings.LINKDO_SYNC_MAX_ITEMS:
        raise PushTooLarge(
            f"This push has {items} items; the limit is {settings.LINKDO_SYNC_MAX_ITEMS}. "
            "Nothing was applied: send it in smaller pushes."
        )
    delta = "cursor" in request
    cursor = decode_cursor(request["cursor"]) if delta else None
    limit = request["limit"]
    parsed = parse_push(workspace=workspace, raw_tasks=raw_tasks, raw_edges=raw_edges)
    _check_link_work(workspace, parsed)
    with transaction.atomic():
        outcome = apply_push(workspace=workspace, parsed=parsed)
        if outcome.embeddings_pending:  # queued with the push: committed with it, or not at all
            embedding_enqueue(workspace_id=workspace.pk)
        body = {"results": outcome.results, "sync_stats": dict(outcome.stats)}
        if delta:
            purged = outcome.purged  # read under the lock the push still holds
            # A cursor from before a purge, at or below its horizon, may have missed deletions: start
            # over. At the horizon too: a cursor that stopped inside the purged version (a page
            # limit) would otherwise skip the rest of that version's deletions for good.
            reset = cursor is not None and cursor[0] <= purged and cursor[3] < purged
            start = None if reset else cursor
            body.update(pull_changes(workspace=workspace, cursor=start, limit=limit, epoch=purged))
            body["reset_required"] = reset
        else:
            body["tasks"] = task_list_to_json(task_list(workspace=workspace))
            body["edges"] = edge_list_to_json(edge_list(workspace=workspace))
    record_sync_results(outcome.results)
    body["synced_at"] = iso_datetime(timezone.now())
    return body
