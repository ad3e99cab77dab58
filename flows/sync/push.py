"""Applying a sync push: per-item decisions, bulk writes, one transaction, one change version.

The SQL statements of a push do not grow with its size: rows are read with one query per kind,
written with bulk inserts and updates, auto-links computed by one set-based statement. Tasks whose
text changed are stored with their embedding pending; the embedding job (flows.jobs)
embeds them in provider batches after the push commits, so no push waits for a provider.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from flows.recurrence import is_recurring_completion, occurrences_create
from flows.sync.items import (
    EdgeItem,
    Rejected,
    TaskItem,
    TaskValidator,
    parse_edge,
    parse_task,
)
from graph.map import provisional_positions
from graph.models import Edge, Origin
from graph.services import (
    edges_delete_for_tasks,
    edges_link_by_tags,
    edges_tombstone,
    edges_upsert_manual,
)
from tasks.models import Task, linked_fields
from tasks.selectors import task_to_json
from tasks.services import task_apply, task_completed_at, tasks_insert
from workspaces.models import Workspace
from workspaces.services import workspace_lock, workspace_set_version

# A new task's fields that a push item may leave out: the model's defaults.
_DEFAULTS = {
    name: Task._meta.get_field(name).get_default()
    for name in ("description", "priority", "status", "category", "tags", "due_date",
                 "due_date_has_time", "due_timezone", "recurrence", "x", "y")
}  # fmt: skip


@dataclass
class ParsedPush:
    """What a push needs before taking the workspace lock: parsed items and their rejections."""

    tasks: list[TaskItem] = field(default_factory=list)
    edges: list[EdgeItem] = field(default_factory=list)
    task_results: dict[int, dict] = field(default_factory=dict)
    edge_results: dict[int, dict] = field(default_factory=dict)
    rows: dict[str, Task] = field(default_factory=dict)  # as read before the lock, by client id


@dataclass
class Outcome:
    results: list[dict]
    stats: Counter
    version: int
    embeddings_pending: bool = False
    purged: int = 0  # the workspace's purge horizon, read under its lock


def _rows(workspace: Workspace, client_ids) -> dict[str, Task]:
    # The ids as one array parameter, unsorted: 1,000 placeholders took longer to send and plan.
    ids = RawSQL("SELECT unnest(%s::text[])", [list(client_ids)])
    return {t.client_id: t for t in Task.objects.of(workspace).filter(client_id__in=ids).order_by()}


def _rejected(kind: str, ident, reason: str) -> dict:
    return {"kind": kind, "id": ident, "status": "rejected", "reason": reason}


def parse_push(*, workspace: Workspace, raw_tasks: list, raw_edges: list) -> ParsedPush:
    parsed = ParsedPush()
    seen: set[str] = set()
    for index, raw in enumerate(raw_tasks):
        try:
            item = parse_task(index, raw, workspace.pk)
            if item.client_id in seen:
                raise Rejected("duplicate: this task id appears earlier in the same push")
            seen.add(item.client_id)
            parsed.tasks.append(item)
        except Rejected as exc:
            ident = raw.get("id") if isinstance(raw, dict) else None
            parsed.task_results[index] = _rejected("task", ident, exc.reason)
    rows = parsed.rows = _rows(workspace, seen)
    validate_task_fields = TaskValidator()
    for item in parsed.tasks:
        if item.deleted:
            continue
        row = rows.get(item.client_id)
        try:
            # An edit of a task deleted on the server is checked as the edit it is: it answers
            # `conflict` with the tombstone, not "title: This field is required".
            validate_task_fields(item, creating=row is None)
        except Rejected as exc:
            parsed.task_results[item.index] = _rejected("task", item.client_id, exc.reason)
    parsed.tasks = [item for item in parsed.tasks if item.index not in parsed.task_results]
    pairs: set[frozenset] = set()
    for index, raw in enumerate(raw_edges):
        try:
            edge = parse_edge(index, raw, workspace.pk)
            pair = frozenset((edge.source, edge.target))
            if pair in pairs:
                raise Rejected("duplicate: this edge appears earlier in the same push")
            pairs.add(pair)
            parsed.edges.append(edge)
        except Rejected as exc:
            ident = f"{raw.get('source')}/{raw.get('target')}" if isinstance(raw, dict) else None
            parsed.edge_results[index] = _rejected("edge", ident, exc.reason)
    return parsed


class _TaskWriter:
    """Decides every task item against the locked rows and collects the bulk writes."""

    def __init__(self, workspace: Workspace, parsed: ParsedPush, version: int, purged: int):
        self.workspace, self.parsed, self.version, self.purged = (
            workspace,
            parsed,
            version,
            purged,
        )
        self.now = timezone.now()
        self.creates: list[dict] = []  # rows for tasks_insert
        self.unplaced: list[dict] = []
        self.updates: dict[int, Task] = {}
        self.update_fields: set[str] = set()
        self.deletes: list[Task] = []
        self.relink: list[Task] = []
        self.completed_recurring: list[Task] = []
        self.results: dict[int, dict] = {}

    def decide(self, item: TaskItem, row: Task | None) -> None:
        if item.deleted:
            return self._delete(item, row)
        if row is None:
            if item.base_version and item.base_version <= self.purged:
                reason = "purged: this task was deleted long ago and cannot be written again"
                self.results[item.index] = _rejected("task", item.client_id, reason)
                return None
            return self._create(item)
        if row.deleted_at is not None:  # a delete wins over a concurrent edit
            return self._result(
                item,
                "conflict",
                row.version,
                server={"id": row.client_id, "deleted": True, "version": row.version},
            )
        return self._update(item, row)

    def _result(self, item: TaskItem, status: str, version: int, **extra) -> None:
        self.results[item.index] = {
            "kind": "task",
            "id": item.client_id,
            "status": status,
            "version": version,
            **extra,
        }

    def _delete(self, item: TaskItem, row: Task | None) -> None:
        if row is None or row.deleted_at is not None:
            return self._result(item, "unchanged", row.version if row else 0)
        self.deletes.append(row)
        return self._result(item, "deleted", self.version)

    def _create(self, item: TaskItem) -> None:
        client_time = min(item.updated_at or self.now, self.now)
        row = {**_DEFAULTS, **item.fields, "client_id": item.client_id, "updated_at": client_time}
        row["completed_at"] = task_completed_at(row["status"], None, at=client_time)
        row["place_pending"] = "x" not in item.fields and "y" not in item.fields
        self.creates.append(row)
        if row["place_pending"]:
            self.unplaced.append(row)
        return self._result(item, "created", self.version)

    def _update(self, item: TaskItem, row: Task) -> None:
        diff = {name: value for name, value in item.fields.items() if getattr(row, name) != value}
        if not diff:
            return self._result(item, "unchanged", row.version)
        status, server_side = "updated", set()
        if item.base_version is not None:
            if item.base_version < row.version:
                server_side = {n for n in diff if row.field_versions.get(n, 0) > item.base_version}
                server_side |= linked_fields(server_side)
                diff = {n: v for n, v in diff.items() if n not in server_side}
                status = "conflict" if server_side else "updated"
            changed_at = self.now
        else:  # last writer wins on the client's clock, clamped to ours (a clock in 2099 must not win forever)
            changed_at = min(item.updated_at or self.now, self.now)
            if changed_at < row.updated_at:
                server_side, diff, status = set(diff), {}, "conflict"
        if diff:
            self._apply(row, diff, changed_at)
        version = self.version if diff else row.version
        if status == "conflict":
            # The fields whose server value was kept, by their API names.
            conflicts = sorted({"due_date" if n == "due_date_has_time" else n for n in server_side})
            return self._result(
                item, status, version, conflicts=conflicts,
                server={**task_to_json(row), "version": version},
            )  # fmt: skip
        return self._result(item, status, version)

    def _apply(self, row: Task, diff: dict, changed_at: datetime) -> None:
        self.update_fields |= task_apply(row, diff, version=self.version, changed_at=changed_at)
        if "tags" in diff:
            self.relink.append(row)
        if is_recurring_completion(row, set(diff)):
            self.completed_recurring.append(row)
        self.updates[row.pk] = row

    def write(self) -> None:
        if self.creates:
            self._place(self.unplaced)
            ids = tasks_insert(
                workspace_id=self.workspace.pk,
                rows=self.creates,
                version=self.version,
                now=self.now,
            )
            for row in self.creates:
                row["id"] = ids[row["client_id"]]
        if self.updates:
            Task.objects.of(self.workspace).bulk_update(
                list(self.updates.values()), sorted(self.update_fields)
            )
        if self.completed_recurring:  # the next occurrences, which clients pull
            occurrences_create(
                workspace=self.workspace, tasks=self.completed_recurring, version=self.version,
                now=self.now,
            )  # fmt: skip
        if self.deletes:
            ids = [row.pk for row in self.deletes]
            edges_delete_for_tasks(workspace=self.workspace, task_ids=ids, version=self.version)
            Task.objects.of(self.workspace).filter(pk__in=ids).update(
                deleted_at=self.now, updated_at=self.now, version=self.version
            )
        # Deleted tasks too: the tasks that had chosen them choose again.
        linked = [row["id"] for row in self.creates if row["tags"]] + [t.pk for t in self.relink]
        linked += [row.pk for row in self.deletes]
        edges_link_by_tags(workspace=self.workspace, task_ids=linked, version=self.version)

    @property
    def embeddings_pending(self) -> bool:
        return bool(self.creates) or any(
            row.embedding_hash is None for row in self.updates.values()
        )

    def _place(self, rows: list[dict]) -> None:
        """Provisional places for new tasks without coordinates, until their embedding is
        projected: a spiral around the map's centre (see graph.map.provisional_positions)."""
        if not rows:
            return
        positions = provisional_positions(workspace=self.workspace, count=len(rows))
        for row, (x, y) in zip(rows, positions.tolist(), strict=True):
            row["x"], row["y"] = x, y


def _apply_edges(
    workspace: Workspace, parsed: ParsedPush, version: int, stats: Counter
) -> dict[int, dict]:
    results: dict[int, dict] = {}
    if not parsed.edges:
        return results
    names = {name for e in parsed.edges for name in (e.source, e.target)}
    live = dict(
        Task.objects.live(workspace).filter(client_id__in=names).values_list("client_id", "id")
    )
    touching = Edge.objects.of(workspace).filter(
        Q(source_id__in=live.values()) | Q(target_id__in=live.values())
    )
    existing = {frozenset((e.source_id, e.target_id)): e for e in touching}
    upserts, tombstones = [], []
    for item in parsed.edges:
        ident = f"{item.source}/{item.target}"
        missing = [name for name in (item.source, item.target) if name not in live]
        if missing:
            results[item.index] = _rejected(
                "edge", ident, f"unknown task: {missing[0]!r} does not exist in this workspace"
            )
            continue
        edge = existing.get(frozenset((live[item.source], live[item.target])))
        status, edge_version = _edge_decision(item, edge, version)
        if status in ("created", "updated"):
            upserts.append((live[item.source], live[item.target], item.weight))
        elif status == "deleted":
            tombstones.append(edge.pk)
        results[item.index] = {
            "kind": "edge",
            "id": ident,
            "source": item.source,
            "target": item.target,
            "status": status,
            "version": edge_version,
        }
        if status in ("created", "updated", "deleted"):
            stats[f"edges_{status}"] += 1
    edges_upsert_manual(workspace=workspace, links=upserts, version=version)
    if tombstones:
        edges_tombstone(
            Edge.objects.of(workspace).filter(pk__in=tombstones), version, origin="manual"
        )
    return results


def _edge_decision(item: EdgeItem, edge: Edge | None, version: int) -> tuple[str, int]:
    alive = edge is not None and edge.deleted_at is None
    if item.deleted:
        return ("deleted", version) if alive else ("unchanged", edge.version if edge else 0)
    if alive:
        # A pushed edge is the user's: an auto edge with the same weight still becomes manual, or
        # a later tag change would silently remove the link the user made.
        same = edge.weight == item.weight and edge.origin == Origin.MANUAL
        return ("unchanged", edge.version) if same else ("updated", version)
    if edge is not None and item.base_version is not None and item.base_version < edge.version:
        return "conflict", edge.version  # deleted on the server after the client last saw it
    return "created", version


def apply_push(*, workspace: Workspace, parsed: ParsedPush) -> Outcome:
    """Run inside a transaction: lock the workspace, decide, write, take one version if anything changed."""
    current, purged = workspace_lock(workspace=workspace)
    version = current + 1
    writer = _TaskWriter(workspace, parsed, version, purged)
    rows = _rows(workspace, [item.client_id for item in parsed.tasks])
    for item in parsed.tasks:
        writer.decide(item, rows.get(item.client_id))
    writer.write()
    stats = Counter(
        tasks_created=len(writer.creates),
        tasks_updated=len(writer.updates),
        tasks_deleted=len(writer.deletes),
    )
    edge_results = _apply_edges(workspace, parsed, version, stats)
    changed = (
        writer.creates
        or writer.updates
        or writer.deletes
        or any(r["status"] in ("created", "updated", "deleted") for r in edge_results.values())
    )
    if changed:
        workspace_set_version(workspace=workspace, version=version)
    task_results = {**parsed.task_results, **writer.results}
    all_edges = {**parsed.edge_results, **edge_results}
    results = [task_results[i] for i in sorted(task_results)] + [
        all_edges[i] for i in sorted(all_edges)
    ]
    for key in (
        "tasks_created",
        "tasks_updated",
        "tasks_deleted",
        "edges_created",
        "edges_updated",
        "edges_deleted",
    ):
        stats.setdefault(key, 0)
    return Outcome(
        results, stats, version if changed else current, writer.embeddings_pending, purged
    )
