"""Export and import of one workspace as JSON (manage.py export_workspace / import_workspace).

Lossless for what a user owns: task ids, every field, positions and clusters, timestamps, the
stored vectors with their hashes (so an import re-embeds nothing), edges with weight and origin,
and the map's basis. Deleted tasks are not exported; a deleted edge between two live tasks is (as
`"deleted": true`), so that a copy never links again by tags what the user unlinked. Importing
merges by id and is idempotent: a second import of the same file changes no row and takes no
change version. A malformed file is refused as a whole, naming the field.
"""

import math

from django.db import transaction
from django.utils import timezone
from rest_framework import serializers

from graph.models import Edge, Origin
from linkdo.errors import ApplicationError, errors_text
from linkdo.fields import iso_datetime
from tasks.embeddings import embeddings_store
from tasks.inputs import TaskWriteSerializer
from tasks.models import Embedding, Task
from tasks.selectors import TASK_FIELDS, task_row_to_json
from tasks.services import task_apply, task_fields_from_api, tasks_insert
from workspaces.models import Workspace
from workspaces.services import workspace_begin_change, workspace_id_problem, workspace_touch

FORMAT, FORMAT_VERSION = "linkdo-workspace", 1
LAYOUT_FIELDS = ("layout_mean", "layout_wx", "layout_wy", "layout_bx", "layout_by",
                 "layout_clusters", "arranged_at")  # fmt: skip


def _vector(value):
    return None if value is None else [float(v) for v in value]


def workspace_export(*, workspace: Workspace) -> dict:
    """The workspace's live tasks and edges, its map basis and the tasks' vectors."""
    vectors = dict(Embedding.objects.of(workspace).values_list("task_id", "vector"))
    tasks = []
    for task in Task.objects.live(workspace).order_by("id"):
        data = task_row_to_json(tuple(getattr(task, name) for name in TASK_FIELDS))
        data.pop("workspace_id")
        # A failed task travels as pending: the copy's provider is asked again.
        stored = vectors.get(task.pk) if task.embedding_hash and not task.embedding_error else None
        data["embedding_hash"] = None if stored is None else task.embedding_hash
        data["embedding"] = _vector(stored)
        tasks.append(data)
    edges = [
        {
            "source": source, "target": target, "weight": weight, "origin": origin,
            **({"chosen_by": _chosen_by(by_source, by_target)} if origin == Origin.AUTO else {}),
            **({"deleted": True} if deleted_at is not None else {}),
        }
        for source, target, weight, origin, by_source, by_target, deleted_at in Edge.objects.of(
            workspace
        )
        .filter(source__deleted_at__isnull=True, target__deleted_at__isnull=True)
        .order_by("id")
        .values_list(
            "source__client_id", "target__client_id", "weight", "origin", "chosen_by_source",
            "chosen_by_target", "deleted_at",
        )
    ]  # fmt: skip
    layout = {name: getattr(workspace, name) for name in LAYOUT_FIELDS}
    for name in ("layout_mean", "layout_wx", "layout_wy"):
        layout[name] = _vector(layout[name])
    layout["arranged_at"] = layout["arranged_at"] and iso_datetime(layout["arranged_at"])
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "workspace": workspace.pk,
        "exported_at": iso_datetime(timezone.now()),
        "layout": layout,
        "tasks": tasks,
        "edges": edges,
    }


class _ImportedTask(TaskWriteSerializer):
    """A task of an export: the API's validation plus what only an export carries."""

    echoed_fields = TaskWriteSerializer.echoed_fields - {
        "cluster",
        "created_at",
        "updated_at",
        "completed_at",
        "embedding",
    }
    cluster = serializers.IntegerField(min_value=0, max_value=32767, allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    # Files from before completed_at: a done task was done when it last changed.
    completed_at = serializers.DateTimeField(allow_null=True, required=False, default=None)
    embedding_hash = serializers.CharField(max_length=64, allow_null=True, default=None)
    embedding = serializers.ListField(
        child=serializers.FloatField(), allow_null=True, required=False, default=None
    )


def _chosen_by(by_source: bool, by_target: bool) -> list[str]:
    return [end for end, chose in (("source", by_source), ("target", by_target)) if chose]


class _ImportedEdge(serializers.Serializer):
    source = serializers.CharField()
    target = serializers.CharField()
    weight = serializers.FloatField(min_value=0.0, max_value=1.0)
    origin = serializers.ChoiceField(choices=Origin.choices)
    # Which end chose an auto edge (bounded auto-links); files from before name none: both did.
    chosen_by = serializers.ListField(
        child=serializers.ChoiceField(choices=["source", "target"]),
        max_length=2,
        default=lambda: ["source", "target"],
    )
    # A user's deletion (a tombstone): kept, so that auto-links never bring the pair back.
    deleted = serializers.BooleanField(default=False)


def _finite(name: str, values) -> None:
    """A vector the map and the neighbour reads can use: finite float32 values, not all zero."""
    if not all(
        isinstance(v, float | int) and math.isfinite(v) and abs(v) <= 3.4e38 for v in values
    ):
        raise ApplicationError(
            f"{name} holds a value that is not a finite number (NaN, an infinity or beyond "
            "float32). Nothing was imported."
        )
    if not any(values):
        raise ApplicationError(f"{name} is all zeros: it has no direction. Nothing was imported.")


class _ImportedLayout(serializers.Serializer):
    """The map basis of an export: all of it, or (a workspace never arranged) no vectors."""

    layout_mean = serializers.ListField(
        child=serializers.FloatField(), allow_null=True, default=None
    )
    layout_wx = serializers.ListField(child=serializers.FloatField(), allow_null=True, default=None)
    layout_wy = serializers.ListField(child=serializers.FloatField(), allow_null=True, default=None)
    layout_bx = serializers.FloatField(allow_null=True, default=0.0)
    layout_by = serializers.FloatField(allow_null=True, default=0.0)
    layout_clusters = serializers.ListField(
        child=serializers.DictField(), allow_null=True, default=list
    )
    arranged_at = serializers.DateTimeField(allow_null=True, default=None)


def _validated_layout(layout) -> dict:
    if layout is None:
        layout = {}
    if not isinstance(layout, dict):
        raise ApplicationError("'layout' must be an object. Nothing was imported.")
    serializer = _ImportedLayout(data=layout)
    if not serializer.is_valid():
        raise ApplicationError(f"layout: {errors_text(serializer.errors)} Nothing was imported.")
    data = dict(serializer.validated_data)
    for name in ("layout_bx", "layout_by"):
        if data[name] is None or not math.isfinite(data[name]):
            data[name] = 0.0 if data[name] is None else _not_finite(f"layout.{name}")
    for name in ("layout_mean", "layout_wx", "layout_wy"):
        if data[name] is not None and not all(math.isfinite(v) for v in data[name]):
            _not_finite(f"layout.{name}")
    return data


def _not_finite(name: str):
    raise ApplicationError(f"{name} is not a finite number. Nothing was imported.")


def _validated(serializer_class, items, kind: str) -> list[dict]:
    if not isinstance(items, list):
        raise ApplicationError(f"'{kind}s' must be a list.")
    result = []
    for index, item in enumerate(items):
        serializer = serializer_class(data=item)
        if not serializer.is_valid():
            raise ApplicationError(
                f"{kind} #{index}: {errors_text(serializer.errors)} Nothing was imported."
            )
        result.append(serializer.validated_data)
    return result


def _check_document(document) -> None:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ApplicationError(f"This is not a LinkDo workspace export (format {FORMAT!r}).")
    if document.get("version") != FORMAT_VERSION:
        raise ApplicationError(f"Export format version {document.get('version')!r} is unknown.")


def workspace_import(*, document: dict, workspace_id: str | None = None, dim: int) -> dict:
    """Merge an export into a workspace (its own, or `workspace_id`); all or nothing.

    Returns counts: tasks created/updated/unchanged, edges created/updated/unchanged.
    """
    _check_document(document)
    target = workspace_id or document.get("workspace")
    if problem := workspace_id_problem(target if isinstance(target, str) else None):
        raise ApplicationError(problem.replace("The X-Workspace-ID header", "The workspace id"))
    tasks = _validated(_ImportedTask, document.get("tasks", []), "task")
    edges = _validated(_ImportedEdge, document.get("edges", []), "edge")
    ids = [t["id"] for t in tasks]
    if len(set(ids)) != len(ids):
        raise ApplicationError("The export names a task id twice. Nothing was imported.")
    for t in tasks:
        if t["embedding"] is not None and len(t["embedding"]) != dim:
            raise ApplicationError(
                f"Task {t['id']!r} has a {len(t['embedding'])}-dimension vector; this server "
                f"stores {dim}. Nothing was imported."
            )
        if t["embedding"] is not None:
            _finite(f"Task {t['id']!r}'s embedding", t["embedding"])
    layout = _validated_layout(document.get("layout"))
    with transaction.atomic():
        workspace = workspace_touch(workspace_id=target)
        version = workspace_begin_change(workspace=workspace)
        task_counts, pks = _import_tasks(workspace, tasks, version)
        edge_counts = _import_edges(workspace, edges, pks, version)
        layout_changed = _import_layout(workspace, layout, dim)
        changes = sum(c["created"] + c["updated"] for c in (task_counts, edge_counts))
        if not changes and not layout_changed:
            transaction.set_rollback(True)  # nothing changed: not even the change version
    return {"workspace": workspace.pk, "tasks": task_counts, "edges": edge_counts}


def _import_tasks(workspace, tasks, version) -> tuple[dict, dict[str, int]]:
    existing = {t.client_id: t for t in Task.objects.of(workspace)}
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    new, changed, columns, vectors = [], [], set(), {}
    for data in tasks:
        fields = task_fields_from_api({k: v for k, v in data.items() if k != "embedding"})
        done = fields.get("status") == Task.Status.DONE
        fields["completed_at"] = (fields["completed_at"] or fields["updated_at"]) if done else None
        vector = data["embedding"]
        if vector is None:
            fields["embedding_hash"] = None  # pending: embedded later (graph.map.embed_pending)
        row = existing.get(fields["client_id"])
        if row is None:
            new.append((fields, vector))
            counts["created"] += 1
            continue
        # An exported task deleted since comes back (deleted_at is one more field to apply).
        written = task_apply(row, {**fields, "deleted_at": None}, version=version)
        if not written:
            counts["unchanged"] += 1
            continue
        changed.append(row)
        columns |= written
        counts["updated"] += 1
        if vector is not None and "embedding_hash" in written:
            vectors[row.pk] = vector
    ids = tasks_insert(
        workspace_id=workspace.pk, rows=[row for row, _ in new], version=version,
        now=timezone.now(),
    )  # fmt: skip
    vectors.update({ids[row["client_id"]]: vector for row, vector in new if vector is not None})
    if changed:
        Task.objects.of(workspace).bulk_update(changed, sorted(columns), batch_size=500)
    embeddings_store(workspace_id=workspace.pk, vectors=vectors)
    pks = dict(Task.objects.of(workspace).values_list("client_id", "pk"))
    return counts, pks


def _import_edges(workspace, edges, pks, version) -> dict:
    existing = {frozenset((e.source_id, e.target_id)): e for e in Edge.objects.of(workspace)}
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    new, changed = [], []
    for data in edges:
        source, target = pks.get(data["source"]), pks.get(data["target"])
        if source is None or target is None or source == target:
            raise ApplicationError(
                f"Edge {data['source']!r} -> {data['target']!r} does not join two tasks of the "
                "export. Nothing was imported."
            )
        edge = existing.get(frozenset((source, target)))
        # A deletion is the user's: manual, so that auto-links leave the pair alone.
        origin = Origin.MANUAL if data["deleted"] else data["origin"]
        auto = origin == Origin.AUTO
        chose = {
            pk: auto and end in data["chosen_by"]
            for pk, end in ((source, "source"), (target, "target"))
        }
        deleted_at = timezone.now() if data["deleted"] else None
        if edge is None:
            edge = Edge(workspace=workspace, source_id=source, target_id=target,
                        weight=data["weight"], origin=origin, version=version,
                        chosen_by_source=chose[source], chosen_by_target=chose[target],
                        deleted_at=deleted_at)  # fmt: skip
            existing[frozenset((source, target))] = edge
            new.append(edge)
            counts["created"] += 1
            continue
        if not auto:  # which end chose an edge only matters while it is auto
            chose = {edge.source_id: edge.chosen_by_source, edge.target_id: edge.chosen_by_target}
        if data["deleted"] and edge.deleted_at is not None:
            deleted_at = edge.deleted_at  # deleted here too: the same state
        wanted = (
            data["weight"],
            origin,
            deleted_at,
            chose[edge.source_id],
            chose[edge.target_id],
        )
        if (
            edge.weight,
            edge.origin,
            edge.deleted_at,
            edge.chosen_by_source,
            edge.chosen_by_target,
        ) != wanted:
            (edge.weight, edge.origin, edge.deleted_at, edge.chosen_by_source,
             edge.chosen_by_target) = wanted  # fmt: skip
            edge.version, edge.updated_at = version, timezone.now()
            changed.append(edge)
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    Edge.objects.bulk_create(new)
    fields = ["weight", "origin", "deleted_at", "version", "updated_at", "chosen_by_source",
              "chosen_by_target"]  # fmt: skip
    Edge.objects.of(workspace).bulk_update(changed, fields, batch_size=500)
    return counts


def _import_layout(workspace, layout: dict, dim: int) -> bool:
    """Store the export's map basis (checked by _validated_layout); whether it differed from the
    stored one."""
    vectors = [layout[name] for name in ("layout_mean", "layout_wx", "layout_wy")]
    if not all(isinstance(v, list) and len(v) == dim for v in vectors):
        return False  # no basis in the export (never arranged): the next auto-arrange makes one
    fields = {
        "layout_mean": vectors[0],
        "layout_wx": vectors[1],
        "layout_wy": vectors[2],
        "layout_bx": layout["layout_bx"],
        "layout_by": layout["layout_by"],
        "layout_clusters": layout["layout_clusters"] or [],
        "arranged_at": layout["arranged_at"],
    }
    stored = Workspace.objects.filter(pk=workspace.pk).values(*fields).get()
    stored.update(
        {name: _vector(stored[name]) for name in ("layout_mean", "layout_wx", "layout_wy")}
    )
    if stored == fields:
        return False
    Workspace.objects.filter(pk=workspace.pk).update(**fields)
    return True
