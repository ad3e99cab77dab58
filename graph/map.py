"""The map: where tasks sit. Fitting and keeping the map's basis, placing tasks as they are embedded,
auto-arrange, and provisional places for tasks waiting for an embedding. The numbers are
graph.layout's; this module reads and writes them.
"""

import json
import logging
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from graph.layout import (
    Basis,
    cluster,
    describe_clusters,
    fit_layout,
    place_without_embedding,
    spiral_positions,
)
from graph.selectors import embeddings_matrix, layout_basis, layout_basis_and_counts
from linkdo.ai import AIProvider, ProviderError, get_provider
from linkdo.ai.gemini import EMBED_BATCH
from linkdo.ai.vectors import embedding_text
from linkdo.db import copy_into_temp_table, retry_on_deadlock
from linkdo.pgbinary import encode_positions
from linkdo.sqlfiles import sql_file
from tasks.embeddings import (
    BATCH_ROW_FIELDS,
    embeddings_mark_failed,
    embeddings_mark_ready,
    embeddings_store_fresh,
)
from tasks.models import Task
from workspaces.models import Workspace
from workspaces.services import workspace_begin_change

logger = logging.getLogger("linkdo.graph")

# Rows whose place did not change are not written: a re-arrange of an unchanged map writes nothing.
# A move below POSITION_TOLERANCE is no move: the same map fitted again lands its tasks a few
# millionths of a unit away (floating-point noise), and writing that gave x and y a new field
# version, so a device's later move of the task, made against an older version, came back as a
# conflict with its y dropped. Only the fields that changed take the new field version.
POSITION_TOLERANCE = 1e-4
_SET_POSITIONS_SQL = sql_file(__file__, "set_positions", task=Task._meta.db_table)


def _store_positions(workspace: Workspace, ids, coords: np.ndarray, clusters, version: int) -> None:
    labels = np.array([-1 if c is None else c for c in clusters], dtype=np.int16)
    copy_into_temp_table(
        "incoming_positions",
        "id int8, x float8, y float8, cluster int2",
        encode_positions(np.asarray(ids, dtype=np.int64), coords, labels),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _SET_POSITIONS_SQL,
            {
                "ws": workspace.pk,
                "version": version,
                "tol": POSITION_TOLERANCE,
                **{
                    f"{name}_version": json.dumps({name: version}) for name in ("x", "y", "cluster")
                },
            },  # fmt: skip
        )


def _keep_unmoved(workspace: Workspace, ids: list[int], coords: np.ndarray) -> np.ndarray:
    """The new coordinates, with the stored value kept wherever it moved by no more than
    POSITION_TOLERANCE (so the answer is what _SET_POSITIONS_SQL stores)."""
    stored = dict(
        (pk, (x, y)) for pk, x, y in Task.objects.live(workspace).values_list("id", "x", "y")
    )
    old = np.array([stored.get(pk, (np.nan, np.nan)) for pk in ids], dtype=float).reshape(-1, 2)
    keep = np.abs(old - coords) <= POSITION_TOLERANCE
    return np.where(keep, old, coords)


def _basis_fields(basis: Basis | None) -> dict:
    if basis is None:
        return {"layout_mean": None, "layout_wx": None, "layout_wy": None, "layout_bx": 0.0,
                "layout_by": 0.0}  # fmt: skip
    return {"layout_mean": basis.mean, "layout_wx": basis.wx, "layout_wy": basis.wy,
            "layout_bx": basis.bx, "layout_by": basis.by}  # fmt: skip


def _store_basis(workspace: Workspace, basis: Basis | None, clusters: list[dict]) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(
        layout_clusters=clusters, arranged_at=timezone.now(), **_basis_fields(basis)
    )


def graph_auto_arrange(*, workspace: Workspace, provider: AIProvider | None = None) -> dict:
    """Lay the workspace's map out again and store it: PCA over the stored embeddings, aligned to
    the previous layout, tasks still pending an embedding placed beside related tasks, clusters.

    First the workspace's pending tasks are embedded (provider batches of 100, for at most
    LINKDO_ARRANGE_EMBED_TIMEOUT_S): an arrange pressed right after a push is the real layout, not
    one the next arrange would redo.

    Returns {"positions": [{id, x, y, cluster}], "clusters": [...]}. Moved tasks take a new change
    version (other devices pull their new places); arranges of one workspace are serialised.
    """
    try:
        embed_pending(
            workspace_id=workspace.pk,
            provider=provider,
            deadline_s=settings.LINKDO_ARRANGE_EMBED_TIMEOUT_S,
        )
    except ProviderError as exc:  # the rest stay pending and are placed beside their tag-mates
        logger.warning("auto-arrange with embeddings still pending: %s", exc)
    with transaction.atomic():
        version = workspace_begin_change(workspace=workspace)
        tasks = list(
            Task.objects.live(workspace)
            .order_by("created_at", "id")
            .values_list("id", "client_id", "tags")
        )
        ids, embeddings = embeddings_matrix(workspace=workspace)
        if len(ids) < 2:
            coords = spiral_positions(0, len(tasks))
            labels = [None] * len(tasks)
            basis, clusters = None, []
        else:
            coords, labels, basis, clusters = _arrange_embedded(workspace, tasks, ids, embeddings)
        coords = _keep_unmoved(workspace, [t[0] for t in tasks], coords)
        _store_positions(workspace, [t[0] for t in tasks], coords, labels, version)
        _store_basis(workspace, basis, clusters)
    positions = [
        {"id": client_id, "x": x, "y": y, "cluster": label}
        for (_, client_id, _), (x, y), label in zip(tasks, coords.tolist(), labels, strict=True)
    ]
    return {"positions": positions, "clusters": clusters}


def _arrange_embedded(workspace, tasks, ids, embeddings):
    """Coordinates and cluster labels in `tasks` order, the new basis and the cluster list."""
    embedded_coords, basis = fit_layout(embeddings, layout_basis(workspace=workspace))
    row_of = {int(task_id): row for row, task_id in enumerate(ids)}
    tags_of = {task_id: tags for task_id, _, tags in tasks}
    embedded_tags = [tags_of[int(task_id)] for task_id in ids]
    labels_embedded = cluster(embedded_coords)
    pending = [
        (task_id, client_id, tags) for task_id, client_id, tags in tasks if task_id not in row_of
    ]
    pending_coords = place_without_embedding(
        [client_id for _, client_id, _ in pending],
        [tags for _, _, tags in pending],
        embedded_coords,
        embedded_tags,
    )
    pending_row = {task_id: i for i, (task_id, _, _) in enumerate(pending)}
    coords = np.zeros((len(tasks), 2))
    labels: list[int | None] = []
    for index, (task_id, _, _) in enumerate(tasks):
        if task_id in row_of:
            coords[index] = embedded_coords[row_of[task_id]]
            labels.append(int(labels_embedded[row_of[task_id]]))
        else:
            coords[index] = pending_coords[pending_row[task_id]]
            labels.append(None)
    clusters = describe_clusters(labels_embedded, embedded_coords, embedded_tags)
    return coords, labels, basis, clusters


# A workspace never arranged gets a map basis by itself once this many tasks are embedded, so new
# tasks land by meaning from then on (before, the old backend laid them out in an endless row).
AUTO_BASIS_MIN_TASKS = 3


def map_basis(*, workspace: Workspace) -> Basis | None:
    """The workspace's map basis: the stored one, or, for a workspace never arranged with at least
    AUTO_BASIS_MIN_TASKS embedded tasks, a fitted one, stored, and shifted so that it projects those
    tasks around where they are now (nothing already on the map moves). Called by writers that
    hold the workspace's change lock, so two never fit one each."""
    basis = layout_basis(workspace=workspace)
    if basis is not None:
        return basis
    ids, embeddings = embeddings_matrix(workspace=workspace)
    if len(ids) < AUTO_BASIS_MIN_TASKS:
        return None
    coords, basis = fit_layout(embeddings)
    where = np.array(
        Task.objects.of(workspace).filter(pk__in=ids.tolist()).values_list("x", "y"), dtype=float
    )
    shift = where.mean(axis=0) - coords.mean(axis=0)
    basis = replace(basis, bx=basis.bx + float(shift[0]), by=basis.by + float(shift[1]))
    Workspace.objects.filter(pk=workspace.pk).update(**_basis_fields(basis))
    return basis


def task_project_on_map(*, workspace: Workspace, task: Task, vector: np.ndarray | None) -> bool:
    """Put a freshly embedded task where the workspace's map basis projects its vector (in
    memory). False when there is no vector or the workspace has no basis yet."""
    if vector is None:
        return False
    basis = map_basis(workspace=workspace)
    if basis is None or basis.mean.shape[0] != np.asarray(vector).shape[-1]:
        return False
    task.x, task.y = (float(v) for v in basis.project(np.asarray(vector)[None, :])[0])
    return True


def provisional_positions(*, workspace: Workspace, count: int) -> np.ndarray:
    """Provisional places for `count` new tasks the map cannot place (no embedding yet): the next
    points of a spiral around the map's centre, after the tasks already waiting there (or, before
    the workspace has a map, after all its tasks). Never a row wider than the map."""
    basis, live, waiting = layout_basis_and_counts(workspace=workspace)
    if basis is None:
        return spiral_positions(live, count)
    return spiral_positions(waiting, count, centre=(basis.bx, basis.by))


# Project freshly embedded tasks that wait for a place; a client that moved one meanwhile cleared
# the mark, and its position stays.
_PLACE_SQL = """
UPDATE tasks_task AS t SET x = v.x, y = v.y, place_pending = false, version = %(version)s,
    field_versions = t.field_versions || jsonb_build_object('x', %(version)s, 'y', %(version)s)
FROM unnest(%(ids)s::bigint[], %(xs)s::float8[], %(ys)s::float8[]) AS v(id, x, y)
WHERE t.id = v.id AND t.workspace_id = %(ws)s AND t.place_pending AND t.deleted_at IS NULL
"""


def tasks_embed_batch(
    *, rows: list[tuple], provider: AIProvider, deadline_s: float | None = None
) -> int:
    """Embed (id, workspace id, title, description, tags) rows (tasks.embeddings.BATCH_ROW_FIELDS)
    with the provider (one call per 100 texts), store the vectors (one transaction, beside other
    batches of the workspace), then mark the tasks embedded and place those that wait for a place
    (a second, short one, serialised with the workspace's writers).
    Returns how many were marked; raises ProviderError when the provider fails (nothing is stored
    then). When the provider refuses the input itself (ProviderError.rejected), the batch is split
    in halves until the refused text is alone: that task is marked failed with the reason and every
    other one is embedded."""
    rows = list(rows)
    if not rows:
        return 0
    texts = [embedding_text(title, description, tags) for _, _, title, description, tags in rows]
    limit = settings.LINKDO_EMBED_BATCH_TIMEOUT_S
    ends = time.monotonic() + (limit if deadline_s is None else min(limit, deadline_s))
    try:
        vectors = provider.embed(texts, deadline_s=ends - time.monotonic())
    except ProviderError as error:
        if not error.rejected:
            raise
        if len(rows) == 1:
            _mark_failed(rows, provider.embedding_model, str(error))
            return 0
        half = len(rows) // 2
        return sum(
            tasks_embed_batch(rows=part, provider=provider, deadline_s=ends - time.monotonic())
            for part in (rows[:half], rows[half:])
        )
    vector_of = {row[0]: vector for row, vector in zip(rows, vectors, strict=True)}
    fresh = set(_store_fresh(rows, vector_of))
    return _mark_and_place(
        [row for row in rows if row[0] in fresh], vector_of, provider.embedding_model
    )


@retry_on_deadlock
def _mark_failed(rows: list[tuple], model: str, reason: str) -> list[int]:
    logger.warning("embedding refused by the provider for task %s: %s", rows[0][0], reason)
    with transaction.atomic():
        return embeddings_mark_failed(rows=rows, model=model, reason=reason)


@retry_on_deadlock
def _store_fresh(rows: list[tuple], vectors: dict[int, np.ndarray]) -> list[int]:
    with transaction.atomic():
        return embeddings_store_fresh(rows=rows, vectors=vectors)


@retry_on_deadlock
def _mark_and_place(rows: list[tuple], vector_of: dict[int, np.ndarray], model: str) -> int:
    """One transaction (run again if it lost a deadlock: the vectors are kept, the provider is not
    asked twice)."""
    if not rows:
        return 0
    with transaction.atomic():
        stored, versions = embeddings_mark_ready(rows=rows, model=model)
        to_place: dict[str, list[int]] = {}
        for task_id, workspace_id, place_pending in stored:
            if place_pending:
                to_place.setdefault(workspace_id, []).append(task_id)
        for workspace_id, ids in to_place.items():
            matrix = np.vstack([vector_of[i] for i in ids])
            _place_embedded(workspace_id, ids, matrix, version=versions[workspace_id])
    return len(stored)


def _place_embedded(
    workspace_id: str, ids: list[int], vectors: np.ndarray, *, version: int
) -> None:
    """Where the workspace's map basis projects the vectors, under a new change version (other
    devices pull the new places). A workspace with no basis yet gets one once it has a few embedded
    tasks (map_basis); before that the tasks keep their provisional places and the mark is dropped
    (an arrange places them)."""
    workspace = Workspace(pk=workspace_id)
    basis = map_basis(workspace=workspace)
    if basis is None or basis.mean.shape[0] != vectors.shape[1]:  # no map yet, or another model
        Task.objects.of(workspace).filter(pk__in=ids, place_pending=True).update(
            place_pending=False
        )
        return
    coords = basis.project(vectors)
    params = {"version": version, "ids": ids, "xs": coords[:, 0].tolist(),
              "ys": coords[:, 1].tolist(), "ws": workspace_id}  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(_PLACE_SQL, params)


# Vectors stored per transaction by embed_pending: the provider is still asked 100 texts at a time
# (EMBED_BATCH, Gemini's limit), but one HNSW insert statement of 500 costs 14 % less per vector
# than five of 100 (docs/PERFORMANCE.md, "Decisions the figures led to").
STORE_BATCH = 5 * EMBED_BATCH


def embed_pending(
    *,
    workspace_id: str,
    provider: AIProvider | None = None,
    batch_size: int = STORE_BATCH,
    deadline_s: float | None = None,
) -> int:
    """Embed the workspace's live tasks whose embedding is pending, `batch_size` at a time (the
    provider asks Gemini 100 texts per call), each batch stored and placed in its own transactions.
    Outside a transaction, LINKDO_EMBED_CONCURRENCY batches are worked on at once, each in a thread
    with its own database connection: one batch's provider call or HNSW insert runs beside
    another's (the insert is most of the time, and one PostgreSQL backend uses one core).
    Returns how many were stored. Stops at the first provider failure (the rest stay pending; the
    batches already started finish) and raises ProviderError; with `deadline_s`, also when that
    much time has passed (each call's deadline is what is left)."""
    provider = provider or get_provider()
    ends = None if deadline_s is None else time.monotonic() + deadline_s

    def left() -> float | None:
        return None if ends is None else ends - time.monotonic()

    batches = _pending_batches(workspace_id, batch_size, left)
    # Inside a transaction (the tests' database), other connections would not see its rows.
    workers = 1 if connection.in_atomic_block else settings.LINKDO_EMBED_CONCURRENCY
    if workers == 1:
        return sum(
            tasks_embed_batch(rows=rows, provider=provider, deadline_s=left()) for rows in batches
        )
    stored, failure = 0, None
    with ThreadPoolExecutor(workers, thread_name_prefix="embed") as pool:
        running: set[Future] = set()
        for rows in batches:
            running.add(pool.submit(_embed_batch_in_thread, rows, provider, left()))
            if len(running) < workers:
                continue
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            done, failure = _collect(finished)
            stored += done
            if failure is not None:
                break
        done, later_failure = _collect(wait(running).done)
        stored += done
    if failure is not None or later_failure is not None:
        raise failure or later_failure
    return stored


def _pending_batches(workspace_id: str, batch_size: int, left):
    """The workspace's pending tasks in rows of BATCH_ROW_FIELDS, `batch_size` at a time by id,
    until none is left or the deadline (`left()` <= 0) has passed."""
    pending = Task.objects.live(workspace_id).filter(embedding_hash__isnull=True).order_by("id")
    last_id = 0
    while True:
        rows = list(pending.filter(id__gt=last_id).values_list(*BATCH_ROW_FIELDS)[:batch_size])
        remaining = left()
        if not rows or (remaining is not None and remaining <= 0):
            return
        last_id = rows[-1][0]
        yield rows


def _embed_batch_in_thread(rows: list[tuple], provider: AIProvider, deadline_s) -> int:
    try:
        return tasks_embed_batch(rows=rows, provider=provider, deadline_s=deadline_s)
    finally:
        connection.close()  # this thread's own connection


def _collect(finished) -> tuple[int, BaseException | None]:
    """Vectors stored by the finished batches, and the first failure among them."""
    stored, failure = 0, None
    for future in finished:
        if future.exception() is None:
            stored += future.result()
        elif failure is None:
            failure = future.exception()
    return stored, failure
