"""Embeddings of pushed tasks are computed after the push: pending at first, then embedded in
provider batches by the job worker (flows.jobs), new tasks projected onto the map under a new
version; the sweep and the purge run as periodic jobs."""

import io
import threading
import time
from datetime import timedelta
from unittest.mock import patch

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob

from flows.jobs import jobs_run_until_idle, purge_old_tombstones, sweep_pending
from graph.layout import spiral_positions
from graph.map import embed_pending
from graph.selectors import layout_basis
from linkdo.ai import ProviderError
from tasks.models import Embedding, Task
from tests.conftest import WorkspaceClient
from tests.factories import TaskFactory
from tests.sync.test_sync import sync


def empty_job_queue():
    """The queue's tables are the library's (unmanaged): a transactional test's flush keeps them."""
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE procrastinate_jobs CASCADE")


def arranged(client, count=6):
    """A workspace whose map has a basis: a few embedded tasks, then an auto-arrange."""
    for i in range(count):
        words = ["garden", "taxes", "report", "bike", "piano", "kitchen"][i % 6]
        response = client.post("/api/tasks", {"id": f"seed{i}", "title": f"{words} {i}"})
        assert response.status_code == 201
    assert client.post("/api/graph/auto-arrange").status_code == 200


@pytest.mark.django_db
def test_a_push_stores_tasks_pending_and_embed_pending_fills_them(client_a, ws_a, ws_b):
    body = sync(
        client_a,
        {"cursor": None, "tasks": [{"id": f"p{i}", "title": f"Pushed {i}"} for i in range(3)]},
    )
    assert [r["status"] for r in body["results"]] == ["created"] * 3
    tasks = Task.objects.filter(workspace=ws_a)
    assert all(t.embedding_hash is None for t in tasks)
    assert not Embedding.objects.filter(workspace=ws_a).exists()

    WorkspaceClient("bravo").post("/api/tasks", {"id": "other", "title": "Other workspace"})
    Task.objects.filter(workspace=ws_b).update(embedding_hash=None)
    assert embed_pending(workspace_id="alpha") == 3

    assert all(t.embedding_hash for t in Task.objects.filter(workspace=ws_a))
    assert Embedding.objects.filter(workspace=ws_a).count() == 3
    # only the submitted workspace is touched
    assert Task.objects.get(workspace=ws_b).embedding_hash is None
    assert embed_pending(workspace_id="alpha") == 0


@pytest.mark.django_db
def test_new_tasks_are_projected_once_embedded_and_other_devices_pull_the_place(client_a, ws_a):
    arranged(client_a)
    basis = layout_basis(workspace=ws_a)
    pushed = sync(client_a, {"cursor": None, "tasks": [{"id": "new", "title": "garden 9"}]})
    task = Task.objects.get(workspace=ws_a, client_id="new")
    assert task.place_pending
    # provisional: the first point of the waiting spiral, the map's centre (not x = i * 100)
    assert (task.x, task.y) == pytest.approx((basis.bx, basis.by))

    assert embed_pending(workspace_id="alpha") == 1

    task.refresh_from_db()
    vector = np.asarray(Embedding.objects.get(task=task).vector)
    assert (task.x, task.y) == pytest.approx(tuple(basis.project(vector[None, :])[0]))
    assert not task.place_pending
    assert task.version > pushed["results"][0]["version"]
    pulled = sync(client_a, {"cursor": pushed["cursor"], "tasks": []})
    assert [(t["id"], t["x"], t["y"]) for t in pulled["tasks"]] == [("new", task.x, task.y)]


@pytest.mark.django_db
def test_a_place_set_by_the_client_before_the_embedding_is_kept(client_a, ws_a):
    arranged(client_a)
    sync(client_a, {"cursor": None, "tasks": [{"id": "new", "title": "garden 9"}]})
    sync(client_a, {"cursor": None, "tasks": [{"id": "new", "x": 500.0, "y": -20.0}]})
    assert embed_pending(workspace_id="alpha") == 1
    task = Task.objects.get(workspace=ws_a, client_id="new")
    assert (task.x, task.y) == (500.0, -20.0) and task.embedding_hash is not None


@pytest.mark.django_db
def test_before_any_map_pushed_tasks_wait_on_a_spiral_then_get_a_map_by_themselves(client_a, ws_a):
    """Never arranged: no row of x = i * 100. Two embedded tasks are not a map yet: they keep
    their spiral places. Once three are embedded the workspace gets a basis by itself, and every
    task embedded from then on is placed by meaning."""
    sync(
        client_a, {"cursor": None, "tasks": [{"id": f"p{i}", "title": f"P {i}"} for i in range(2)]}
    )
    rows = Task.objects.filter(workspace=ws_a).order_by("client_id")
    assert [(t.x, t.y) for t in rows] == [tuple(p) for p in spiral_positions(0, 2).tolist()]
    embed_pending(workspace_id="alpha")
    assert [(t.x, t.y, t.place_pending) for t in rows.all()] == [
        (x, y, False) for x, y in spiral_positions(0, 2).tolist()
    ]
    assert layout_basis(workspace=ws_a) is None

    titles = ["garden tomatoes", "garden roses", "quarterly taxes", "tax receipts"]
    tasks = [{"id": f"n{i}", "title": title} for i, title in enumerate(titles)]
    sync(client_a, {"cursor": None, "tasks": tasks})
    embed_pending(workspace_id="alpha")
    basis = layout_basis(workspace=ws_a)
    assert basis is not None
    for task in Task.objects.filter(workspace=ws_a, client_id__startswith="n"):
        vector = np.asarray(Embedding.objects.get(task=task).vector)
        assert (task.x, task.y) == pytest.approx(tuple(basis.project(vector[None, :])[0]))
        assert not task.place_pending


@pytest.mark.django_db
def test_only_changed_texts_are_embedded_in_batches_of_100(client_a, ws_a, gemini):
    push = {"cursor": None, "tasks": [{"id": f"g{i}", "title": f"Gemini {i}"} for i in range(250)]}
    sync(client_a, push)
    assert gemini.total_calls() == 0  # the push itself calls no provider
    assert embed_pending(workspace_id="alpha") == 250
    assert gemini.calls["batchEmbedContents"] == 3  # 100 + 100 + 50
    assert [len(body["requests"]) for _, body, _ in gemini.requests] == [100, 100, 50]

    gemini.reset()
    replay = sync(client_a, push)
    assert {r["status"] for r in replay["results"]} == {"unchanged"}
    sync(client_a, {"cursor": None, "tasks": [{"id": "g1", "status": "done"}]})
    assert embed_pending(workspace_id="alpha") == 0
    sync(client_a, {"cursor": None, "tasks": [{"id": "g2", "title": "Renamed"}]})
    assert embed_pending(workspace_id="alpha") == 1
    assert gemini.calls["batchEmbedContents"] == 1


@pytest.mark.django_db
def test_a_failing_provider_leaves_the_tasks_pending_and_reembed_recovers(client_a, ws_a, gemini):
    sync(client_a, {"cursor": None, "tasks": [{"id": "f", "title": "While Gemini fails"}]})
    gemini.mode = "error500"
    with pytest.raises(ProviderError):
        embed_pending(workspace_id="alpha")
    task = Task.objects.get(workspace=ws_a, client_id="f")
    assert task.embedding_hash is None and task.title == "While Gemini fails"
    gemini.mode = "ok"
    call_command("reembed", pending=True, stdout=io.StringIO(), stderr=io.StringIO())
    task.refresh_from_db()
    assert task.embedding_hash is not None


def queued_embedding_jobs() -> list[dict]:
    return list(
        ProcrastinateJob.objects.filter(
            task_name="flows.jobs.embed_workspace", status="todo"
        ).values("args", "lock", "queueing_lock")
    )


def test_a_push_queues_one_embedding_job_per_workspace_in_its_transaction(ws_a, ws_b):
    empty_job_queue()
    client = WorkspaceClient("alpha")
    sync(client, {"cursor": None, "tasks": [{"id": "a", "title": "A"}]})
    sync(client, {"cursor": None, "tasks": [{"id": "b", "title": "B"}]})
    assert queued_embedding_jobs() == [
        {
            "args": {"workspace_id": "alpha", "attempt": 0},
            "lock": "embed:alpha",
            "queueing_lock": "embed:alpha",
        }
    ]
    # A push that is refused as a whole queues nothing.
    big = [{"id": f"x{i}", "title": "X"} for i in range(1001)]
    WorkspaceClient("bravo").post("/api/tasks/sync", {"tasks": big})
    assert [job["args"]["workspace_id"] for job in queued_embedding_jobs()] == ["alpha"]


def test_a_callers_key_is_written_nowhere_not_even_in_the_queue(client_a):
    empty_job_queue()
    response = client_a.post(
        "/api/tasks/sync",
        {"cursor": None, "tasks": [{"id": "k", "title": "Keyed"}]},
        HTTP_X_GEMINI_API_KEY="caller-key-secret",
    )
    assert response.status_code == 200
    rows = list(ProcrastinateJob.objects.values())
    assert rows and "caller-key-secret" not in str(rows)


def test_the_sweep_queues_workspaces_whose_tasks_wait_too_long(ws_a, ws_b, settings):
    empty_job_queue()
    TaskFactory(workspace=ws_a, client_id="old", embedding_hash=None)
    TaskFactory(workspace=ws_b, client_id="fresh", embedding_hash=None)
    TaskFactory(workspace=ws_b, client_id="done", embedding_hash="x" * 64)
    Task.objects.filter(client_id="old").update(updated_at=timezone.now() - timedelta(minutes=5))
    assert sweep_pending(timestamp=0) == 1
    assert [job["args"]["workspace_id"] for job in queued_embedding_jobs()] == ["alpha"]
    assert sweep_pending(timestamp=0) == 1  # already queued: still one job
    assert len(queued_embedding_jobs()) == 1


def test_the_sweep_counts_a_workspace_once_however_many_tasks_wait(ws_a, settings):
    """Task's default ordering made `.distinct()` one row per task: 5,000 waiting tasks of one
    workspace were 5,000 attempts to queue its job, 7 s every minute (found by the sync bench)."""
    empty_job_queue()
    for i in range(3):
        TaskFactory(workspace=ws_a, client_id=f"old{i}", embedding_hash=None)
    Task.objects.update(updated_at=timezone.now() - timedelta(minutes=5))
    with patch("flows.jobs.embedding_enqueue") as enqueue:
        assert sweep_pending(timestamp=0) == 1
    assert enqueue.call_count == 1


def test_the_purge_job_follows_the_setting(ws_a, settings):
    gone = TaskFactory(workspace=ws_a, client_id="gone")
    Task.objects.filter(pk=gone.pk).update(deleted_at=timezone.now() - timedelta(days=40))
    settings.LINKDO_TOMBSTONE_DAYS = 0
    assert "nothing purged" in purge_old_tombstones(timestamp=0)
    assert Task.objects.filter(pk=gone.pk).exists()
    settings.LINKDO_TOMBSTONE_DAYS = 30
    purge_old_tombstones(timestamp=0)
    assert not Task.objects.filter(pk=gone.pk).exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_worker_embeds_after_the_push_commits(ws_a):
    empty_job_queue()
    client = WorkspaceClient("alpha")
    arranged(client)
    body = sync(
        client,
        {"cursor": None, "tasks": [{"id": f"t{i}", "title": f"bike {i}"} for i in range(120)]},
    )
    jobs_run_until_idle()
    rows = Task.objects.filter(workspace=ws_a, client_id__startswith="t")
    assert rows.count() == 120
    assert all(t.embedding_hash and not t.place_pending for t in rows)
    assert Embedding.objects.filter(task__in=rows).count() == 120
    assert min(t.version for t in rows) > body["results"][0]["version"]
    assert not queued_embedding_jobs()
    assert ProcrastinateJob.objects.filter(status="succeeded").count() >= 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_failing_provider_fails_the_job_which_queues_its_next_attempt(ws_a, gemini):
    empty_job_queue()
    gemini.mode = "error500"
    sync(WorkspaceClient("alpha"), {"cursor": None, "tasks": [{"id": "a", "title": "A"}]})
    jobs_run_until_idle()
    failed = ProcrastinateJob.objects.get(task_name="flows.jobs.embed_workspace", status="failed")
    follow_up = ProcrastinateJob.objects.get(task_name="flows.jobs.embed_workspace", status="todo")
    assert follow_up.args == {"workspace_id": "alpha", "attempt": 1}
    assert follow_up.queueing_lock == follow_up.lock == "embed:alpha"
    assert follow_up.scheduled_at > timezone.now()  # 2 s of backoff
    assert failed.args["attempt"] == 0
    assert Task.objects.get(workspace=ws_a).embedding_hash is None  # pending, not lost
    gemini.mode = "ok"
    with connection.cursor() as cursor:  # the backoff is over
        cursor.execute(
            "UPDATE procrastinate_jobs SET scheduled_at = now() WHERE id = %s", [follow_up.id]
        )
    jobs_run_until_idle()
    assert Task.objects.get(workspace=ws_a).embedding_hash is not None
    assert ProcrastinateJob.objects.get(pk=follow_up.pk).status == "succeeded"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_push_during_the_backoff_joins_the_queued_attempt(ws_a, gemini):
    """procrastinate's own retry would put the failed job back under its queueing lock, which a job
    queued meanwhile already holds: the retry failed and the job stayed running for good."""
    empty_job_queue()
    gemini.mode = "error429"
    gemini.retry_delay_s = 7
    client = WorkspaceClient("alpha")
    sync(client, {"cursor": None, "tasks": [{"id": "a", "title": "A"}]})
    jobs_run_until_idle()
    sync(client, {"cursor": None, "tasks": [{"id": "b", "title": "B"}]})  # queued already
    jobs = ProcrastinateJob.objects.filter(task_name="flows.jobs.embed_workspace")
    assert sorted(jobs.values_list("status", flat=True)) == ["failed", "todo"]
    # Gemini asked for 7 s: more than the first backoff step (2 s).
    delay = jobs.get(status="todo").scheduled_at - timezone.now()
    assert timedelta(seconds=5) < delay <= timedelta(seconds=7)
    gemini.mode = "ok"
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo'")
    jobs_run_until_idle()
    assert not Task.objects.filter(workspace=ws_a, embedding_hash__isnull=True).exists()
    assert not jobs.filter(status__in=["todo", "doing"]).exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_queue_each_daily_purge_once():
    """Every worker runs procrastinate's periodic deferrer: two of them at the purge's minute
    queue one purge, as the sweep is queued once a minute (tests/test_jobs_processes.py)."""
    from asgiref.sync import async_to_sync
    from procrastinate.contrib.django import app
    from procrastinate.periodic import PeriodicDeferrer

    empty_job_queue()
    purge = next(
        task for task in app.periodic_registry.periodic_tasks.values()
        if task.periodic_id == "purge"
    )  # fmt: skip
    at = purge.croniter.get_next(float, start_time=time.time()) + 5  # 5 s after a 03:17

    async def both_workers_defer():
        async with app.open_async():
            for worker in (PeriodicDeferrer(app.periodic_registry) for _ in range(2)):
                await worker.defer_jobs(worker.get_previous_tasks(at=at))

    with app.replace_connector(app.connector.get_worker_connector()):
        async_to_sync(both_workers_defer)()
    names = list(ProcrastinateJob.objects.values_list("task_name", flat=True))
    assert names.count("flows.jobs.purge_old_tombstones") == 1
    assert names.count("flows.jobs.sweep_pending") == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_push_while_the_job_fails_leaves_no_job_running_for_good(ws_a, gemini, settings):
    """The defect: with procrastinate's own retry, a job that failed while a push had queued the
    workspace's next job could not go back to the queue (its queueing lock was taken), stayed
    "doing" for good and held the workspace's lock, so nothing was embedded any more."""
    empty_job_queue()
    gemini.mode, gemini.hang_seconds = "hang", 3
    settings.LINKDO_EMBED_BATCH_TIMEOUT_S = 1.5
    client = WorkspaceClient("alpha")
    sync(client, {"cursor": None, "tasks": [{"id": "a", "title": "A"}]})
    worker = threading.Thread(target=jobs_run_until_idle)
    worker.start()
    deadline = time.monotonic() + 10
    while not gemini.calls["batchEmbedContents"]:  # the job is inside its Gemini call
        assert time.monotonic() < deadline
        time.sleep(0.05)
    sync(client, {"cursor": None, "tasks": [{"id": "b", "title": "B"}]})  # queues the next job
    gemini.mode = "ok"
    worker.join(timeout=30)
    assert not worker.is_alive()
    jobs = ProcrastinateJob.objects.filter(task_name="flows.jobs.embed_workspace")
    assert not jobs.filter(status="doing").exists()
    assert sorted(jobs.values_list("status", flat=True)) == ["failed", "succeeded"]
    assert not Task.objects.filter(workspace=ws_a, embedding_hash__isnull=True).exists()
