"""Background embedding with several batches at once (LINKDO_EMBED_CONCURRENCY): each batch's
vectors are stored under a KEY SHARE lock of the workspace, beside the other batches, and the tasks
are marked embedded in a second, short transaction whose lock waits for writers but not for
batches. Transactional tests: the
batches run in threads with their own connections, which see only committed rows."""

import threading
import time

import numpy as np
import pytest
from django.db import OperationalError, connection, transaction

from graph.map import embed_pending
from linkdo.ai import ProviderError, get_provider
from linkdo.ai.vectors import embedding_hash, embedding_text
from linkdo.db import set_local_sql
from tasks.embeddings import BATCH_ROW_FIELDS, embeddings_mark_ready, embeddings_store_fresh
from tasks.models import Embedding, Task
from tests.sync.test_sync import sync
from workspaces.models import Workspace
from workspaces.services import workspace_begin_change, workspace_lock


def push(client, count, prefix="p"):
    for start in range(0, count, 500):
        items = [
            {"id": f"{prefix}{i}", "title": f"Task {i}", "tags": ["work"] if i % 3 else []}
            for i in range(start, min(count, start + 500))
        ]
        sync(client, {"cursor": None, "tasks": items})


class Recording:
    """The local provider, slowed a little, counting how many of its calls overlap."""

    def __init__(self, fail_on_call=None, during_call=None):
        self.inner = get_provider()
        self.embedding_model = self.inner.embedding_model
        self.lock = threading.Lock()
        self.calls = self.running = self.most = 0
        self.fail_on_call, self.during_call = fail_on_call, during_call

    def embed(self, texts, *, deadline_s):
        with self.lock:
            self.calls += 1
            call = self.calls
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(0.05)
            if call == self.fail_on_call:
                raise ProviderError("the provider is down")
            if self.during_call:
                self.during_call(call, texts)
            return self.inner.embed(texts, deadline_s=deadline_s)
        finally:
            with self.lock:
                self.running -= 1


@pytest.mark.django_db(transaction=True)
def test_batches_run_side_by_side_and_every_task_is_embedded_once(client_a, ws_a, settings):
    settings.LINKDO_EMBED_CONCURRENCY = 2
    push(client_a, 1050)
    version_before = Workspace.objects.get(pk=ws_a.pk).change_version
    provider = Recording()

    assert embed_pending(workspace_id=ws_a.pk, provider=provider, batch_size=100) == 1050

    assert provider.calls == 11
    assert provider.most == 2
    assert Embedding.objects.filter(workspace=ws_a).count() == 1050
    assert not Task.objects.filter(workspace=ws_a, embedding_hash__isnull=True).exists()
    task = Task.objects.get(workspace=ws_a, client_id="p7")
    text = embedding_text(task.title, task.description, task.tags)
    assert task.embedding_hash == embedding_hash(provider.embedding_model, text)
    stored = np.asarray(Embedding.objects.get(task=task).vector)
    assert np.allclose(stored, provider.inner.embed([text], deadline_s=5)[0], atol=1e-6)
    # each batch took its own change version: devices pull the tasks now embedded
    assert Workspace.objects.get(pk=ws_a.pk).change_version == version_before + 11
    assert connection.in_atomic_block is False


@pytest.mark.django_db(transaction=True)
def test_one_at_a_time_when_the_setting_says_so(client_a, ws_a, settings):
    settings.LINKDO_EMBED_CONCURRENCY = 1
    push(client_a, 300)
    provider = Recording()
    assert embed_pending(workspace_id=ws_a.pk, provider=provider, batch_size=100) == 300
    assert provider.most == 1


@pytest.mark.django_db(transaction=True)
def test_a_task_edited_while_its_batch_is_embedded_keeps_its_new_text_and_vector(
    client_a, ws_a, settings
):
    settings.LINKDO_EMBED_CONCURRENCY = 2
    push(client_a, 400)

    def edit(call, texts):
        if embedding_text("Task 250", "", ["work"]) in texts:
            response = client_a.patch("/api/tasks/p250", {"title": "Renamed meanwhile"})
            assert response.status_code == 200, response.content

    provider = Recording(during_call=edit)
    stored = embed_pending(workspace_id=ws_a.pk, provider=provider, batch_size=100)

    task = Task.objects.get(workspace=ws_a, client_id="p250")
    assert task.title == "Renamed meanwhile"
    assert stored == 399  # the edited one was embedded by its own write, not by the batch
    text = embedding_text(task.title, task.description, task.tags)
    assert task.embedding_hash == embedding_hash(provider.embedding_model, text)
    vector = np.asarray(Embedding.objects.get(task=task).vector)
    assert np.allclose(vector, provider.inner.embed([text], deadline_s=5)[0], atol=1e-6)


@pytest.mark.django_db(transaction=True)
def test_a_failing_batch_stops_the_run_and_the_others_stay_stored(client_a, ws_a, settings):
    settings.LINKDO_EMBED_CONCURRENCY = 2
    push(client_a, 600)
    provider = Recording(fail_on_call=3)

    with pytest.raises(ProviderError):
        embed_pending(workspace_id=ws_a.pk, provider=provider, batch_size=100)

    embedded = Task.objects.filter(workspace=ws_a, embedding_hash__isnull=False)
    pending = Task.objects.filter(workspace=ws_a, embedding_hash__isnull=True)
    assert embedded.count() % 100 == 0 and 200 <= embedded.count() <= 400
    assert pending.count() == 600 - embedded.count()
    assert Embedding.objects.filter(task__in=embedded).count() == embedded.count()
    # the next run finishes the job
    left = pending.count()
    assert embed_pending(workspace_id=ws_a.pk, provider=Recording()) == left
    assert not Task.objects.filter(workspace=ws_a, embedding_hash__isnull=True).exists()


def within(lock_timeout, work):
    """`work` in a transaction of this thread's own connection, waiting at most lock_timeout."""
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    set_local_sql({"lock_timeout": lock_timeout})
                )  # Citus: on workers too
            return work()
    finally:
        connection.close()


def lock_timeout_of(work, outcome, name):
    """Run `work` (within) and keep its lock timeout's message under `name`, if it timed out."""
    try:
        work()
    except OperationalError as exc:
        outcome[name] = str(exc)


def _rows(workspace, client_ids):
    return list(
        Task.objects.filter(workspace=workspace, client_id__in=client_ids)
        .order_by("id")
        .values_list(*BATCH_ROW_FIELDS)
    )


@pytest.mark.django_db(transaction=True)
def test_storing_vectors_shares_the_workspace_with_other_batches_but_not_with_writers(
    client_a, ws_a
):
    """While a batch stores its vectors, another batch stores its own and a third marks its tasks
    ready (the marks do not wait for HNSW inserts), but writers wait: no task's text changes
    between the batch's check and its insert."""
    push(client_a, 6)
    provider = get_provider()
    first, second = _rows(ws_a, ["p0", "p1"]), _rows(ws_a, ["p2", "p3"])
    third = _rows(ws_a, ["p4", "p5"])
    pair = provider.embed(["a", "b"], deadline_s=5)
    vectors = {row[0]: pair[i % 2] for i, row in enumerate(first + second + third)}
    with transaction.atomic():
        embeddings_store_fresh(rows=third, vectors=vectors)  # stored before, not yet marked
    holding, release = threading.Event(), threading.Event()
    outcome = {}

    def first_batch():
        try:
            with transaction.atomic():
                outcome["first"] = embeddings_store_fresh(rows=first, vectors=vectors)
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    def second_batch():
        outcome["second"] = within(
            "2s", lambda: embeddings_store_fresh(rows=second, vectors=vectors)
        )

    def third_mark():
        outcome["marked"] = within(
            "2s", lambda: embeddings_mark_ready(rows=third, model=provider.embedding_model)
        )

    def writer():
        lock_timeout_of(
            lambda: within("300ms", lambda: workspace_begin_change(workspace=ws_a)),
            outcome, "writer",
        )  # fmt: skip

    def pusher():  # a sync push locks its workspace before it knows whether it changes anything
        lock_timeout_of(
            lambda: within("300ms", lambda: workspace_lock(workspace=ws_a)), outcome, "pusher"
        )

    holder = threading.Thread(target=first_batch)
    holder.start()
    assert holding.wait(10)
    for target in (second_batch, third_mark, writer, pusher):
        thread = threading.Thread(target=target)
        thread.start()
        thread.join(10)
    release.set()
    holder.join(10)

    assert sorted(outcome["first"]) == [row[0] for row in first]
    assert sorted(outcome["second"]) == [row[0] for row in second]  # not blocked by the first
    assert "lock timeout" in outcome["writer"]  # a writer waits for the stored vectors
    assert "lock timeout" in outcome["pusher"]
    stored, versions = outcome["marked"]  # not blocked by the batches storing theirs
    assert sorted(task_id for task_id, _, _ in stored) == [row[0] for row in third]
    assert list(versions) == [ws_a.pk]
    assert Embedding.objects.filter(workspace=ws_a).count() == 6
    # the third batch is marked; the others stay pending until embeddings_mark_ready
    pending = Task.objects.filter(workspace=ws_a, embedding_hash__isnull=True)
    assert sorted(pending.values_list("client_id", flat=True)) == ["p0", "p1", "p2", "p3"]


@pytest.mark.django_db(transaction=True)
def test_marking_a_batch_ready_waits_for_writers(client_a, ws_a):
    """A mark takes a change version: it waits for a writer of the workspace (versions commit in
    order) and a writer waits for it."""
    push(client_a, 2)
    provider = get_provider()
    rows = _rows(ws_a, ["p0", "p1"])
    pair = provider.embed(["a", "b"], deadline_s=5)
    vectors = dict(zip([row[0] for row in rows], pair, strict=True))
    with transaction.atomic():
        embeddings_store_fresh(rows=rows, vectors=vectors)
    holding, release = threading.Event(), threading.Event()
    outcome = {}

    def writer():
        try:
            with transaction.atomic():
                outcome["version"] = workspace_begin_change(workspace=ws_a)
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    def mark():
        lock_timeout_of(
            lambda: within(
                "300ms", lambda: embeddings_mark_ready(rows=rows, model=provider.embedding_model)
            ),
            outcome, "mark",
        )  # fmt: skip

    holder = threading.Thread(target=writer)
    holder.start()
    assert holding.wait(10)
    marker = threading.Thread(target=mark)
    marker.start()
    marker.join(10)
    release.set()
    holder.join(10)

    assert "lock timeout" in outcome["mark"]
    assert Task.objects.filter(workspace=ws_a, embedding_hash__isnull=True).count() == 2
    stored, versions = embeddings_mark_ready(rows=rows, model=provider.embedding_model)
    assert len(stored) == 2
    assert versions == {ws_a.pk: outcome["version"] + 1}


@pytest.mark.django_db(transaction=True)
def test_a_batch_waiting_for_a_writer_checks_the_text_the_writer_committed(client_a, ws_a):
    """The texts are read after the KEY SHARE lock is granted: a batch that waited for a writer's
    transaction must see its edit (a check in the locking statement itself read the rows as they
    were when it started waiting, and stored the old text's vector)."""
    push(client_a, 2)
    rows = _rows(ws_a, ["p0", "p1"])
    vectors = dict(
        zip(
            [row[0] for row in rows],
            get_provider().embed(["old 0", "old 1"], deadline_s=5),
            strict=True,
        )
    )
    editing, commit = threading.Event(), threading.Event()
    outcome = {}

    def writer():
        try:
            with transaction.atomic():
                workspace_begin_change(workspace=ws_a)
                Task.objects.filter(workspace=ws_a, client_id="p0").update(title="Edited")
                editing.set()
                commit.wait(10)
        finally:
            connection.close()

    def batch():
        try:
            with transaction.atomic():
                outcome["stored"] = embeddings_store_fresh(rows=rows, vectors=vectors)
        finally:
            connection.close()

    editor = threading.Thread(target=writer)
    editor.start()
    assert editing.wait(10)
    storer = threading.Thread(target=batch)
    storer.start()
    time.sleep(0.5)  # the batch now waits for the writer's lock
    assert "stored" not in outcome
    commit.set()
    for thread in (editor, storer):
        thread.join(10)

    p1 = Task.objects.get(workspace=ws_a, client_id="p1")
    assert outcome["stored"] == [p1.pk]
    assert list(Embedding.objects.filter(workspace=ws_a).values_list("task_id", flat=True)) == [
        p1.pk
    ]
