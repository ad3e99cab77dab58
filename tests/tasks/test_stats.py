"""GET /api/stats and the completed_at it counts from."""

import json
from datetime import UTC, datetime, time, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from tasks.models import Task, TaskCount
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

SEOUL = ZoneInfo("Asia/Seoul")


def seoul_today():
    return datetime.now(SEOUL).date()


def done_on(workspace, client_id: str, day, **fields) -> Task:
    """A task done at noon (Seoul) on `day`."""
    at = datetime.combine(day, time(12), SEOUL)
    return TaskFactory(
        workspace=workspace, client_id=client_id, status="done", completed_at=at, **fields
    )


def stats(client, query="?timezone=Asia/Seoul", status=200):
    response = client.get(f"/api/stats{query}")
    assert response.status_code == status, response.content
    return response.json()


def test_an_empty_workspace_has_zeros_a_null_rate_and_every_day(client_a):
    body = stats(client_a, "?days=7&timezone=Asia/Seoul")
    assert {
        k: body[k] for k in ("total", "open", "done", "overdue", "streak_days")
    } == dict.fromkeys(("total", "open", "done", "overdue", "streak_days"), 0)
    assert body["completion_rate"] is None
    assert body["by_category"] == [] and body["by_tag"] == []
    assert [d["date"] for d in body["daily"]] == [
        (seoul_today() - timedelta(days=6 - i)).isoformat() for i in range(7)
    ]
    assert all(d["created"] == 0 and d["completed"] == 0 for d in body["daily"])


def test_counts_rate_categories_tags_and_days(client_a, ws_a):
    today = seoul_today()
    done_on(ws_a, "d1", today, category="work", tags=["report", "q4"])
    done_on(ws_a, "d2", today - timedelta(days=1), category="work", tags=["report"])
    TaskFactory(workspace=ws_a, client_id="o1", category="home", tags=["report"])
    TaskFactory(workspace=ws_a, client_id="o2", category="work", status="in-progress")
    body = stats(client_a)
    assert (body["total"], body["open"], body["done"]) == (4, 2, 2)
    assert body["completion_rate"] == 0.5
    assert body["by_category"] == [
        {"category": "work", "total": 3, "done": 2},
        {"category": "home", "total": 1, "done": 0},
    ]
    assert body["by_tag"] == [
        {"tag": "report", "total": 3, "done": 2},
        {"tag": "q4", "total": 1, "done": 1},
    ]
    daily = {d["date"]: d for d in body["daily"]}
    assert len(body["daily"]) == 30 and body["daily"][-1]["date"] == today.isoformat()
    assert daily[today.isoformat()]["completed"] == 1
    assert daily[(today - timedelta(days=1)).isoformat()]["completed"] == 1
    assert sum(d["created"] for d in body["daily"]) == 4  # the factory creates them now


def test_the_streak_ends_today_or_yesterday_and_stops_at_a_gap(client_a, ws_a):
    today = seoul_today()
    # Done yesterday, the day before and the day before that; then a gap; then two more days.
    for n, back in enumerate([1, 2, 3, 5, 6]):
        done_on(ws_a, f"t{n}", today - timedelta(days=back))
    assert stats(client_a)["streak_days"] == 3  # nothing today yet: the run ending yesterday
    done_on(ws_a, "today", today)
    assert stats(client_a)["streak_days"] == 4
    Task.objects.filter(client_id__in=["today", "t0"]).update(
        status="todo", completed_at=None
    )  # now the latest completion is two days ago: no streak
    assert stats(client_a)["streak_days"] == 0


def test_days_are_the_users_days(client_a, ws_a):
    """Done at 16:00 UTC on one day: the next day in Seoul, the same day in UTC."""
    yesterday_utc = datetime.now(UTC).date() - timedelta(days=1)
    at = datetime.combine(yesterday_utc, time(16), UTC)
    TaskFactory(workspace=ws_a, client_id="late", status="done", completed_at=at)
    in_utc = {d["date"]: d["completed"] for d in stats(client_a, "?timezone=UTC")["daily"]}
    in_seoul = {d["date"]: d["completed"] for d in stats(client_a)["daily"]}
    assert in_utc[yesterday_utc.isoformat()] == 1
    assert in_seoul.get((yesterday_utc + timedelta(days=1)).isoformat()) == 1


def test_overdue_counts_open_tasks_past_their_due_date(client_a, ws_a):
    past = datetime.combine(seoul_today() - timedelta(days=2), time(0), UTC)
    future = datetime.combine(seoul_today() + timedelta(days=2), time(0), UTC)
    TaskFactory(workspace=ws_a, client_id="late", due_date=past)
    TaskFactory(workspace=ws_a, client_id="fine", due_date=future)
    done_on(ws_a, "done-late", seoul_today(), due_date=past)
    assert stats(client_a)["overdue"] == 1


def test_other_workspaces_and_deleted_tasks_do_not_count(client_a, client_b, ws_a, ws_b):
    done_on(ws_b, "theirs", seoul_today(), tags=["secret"], category="private")
    TaskFactory(workspace=ws_a, client_id="gone", deleted_at=datetime.now(UTC))
    body = stats(client_a)
    assert body["total"] == 0 and body["by_tag"] == [] and body["streak_days"] == 0
    assert stats(client_b)["by_tag"] == [{"tag": "secret", "total": 1, "done": 1}]


def test_stats_are_one_statement(client_a, ws_a, django_assert_num_queries):
    for n in range(20):
        done_on(ws_a, f"t{n}", seoul_today() - timedelta(days=n % 5), tags=[f"g{n % 3}"])
    with django_assert_num_queries(3):  # the secret check, the workspace seen-check, the statement
        stats(client_a)


@pytest.mark.parametrize(
    "query, field",
    [
        ("?days=0", "days"),
        ("?days=366", "days"),
        ("?days=week", "days"),
        ("?timezone=Mars/Olympus", "timezone"),
        ("?timezone=", "timezone"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_field(client_a, query, field):
    body = stats(client_a, query, status=400)
    assert field in body and body[field][0]


def test_completed_at_follows_the_status_on_every_path(client_a):
    client_a.post("/api/tasks", {"id": "a", "title": "A", "status": "done"})
    created = client_a.get("/api/tasks/a").json()
    assert created["completed_at"] is not None
    client_a.patch("/api/tasks/a", {"status": "todo"})
    assert client_a.get("/api/tasks/a").json()["completed_at"] is None
    client_a.patch("/api/tasks/a", {"title": "A again"})
    assert Task.objects.get(client_id="a").completed_at is None
    # Sync: done offline at the client's time (clamped to ours), and pulled by other devices.
    written = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    offline = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    client_a.post("/api/tasks/sync", {"tasks": [{"id": "s", "title": "S", "updated_at": written}]})
    body = client_a.post(
        "/api/tasks/sync",
        {"cursor": None, "tasks": [{"id": "s", "status": "done", "updated_at": offline}]},
    ).json()
    assert body["results"][0]["status"] == "updated"
    pulled = next(t for t in body["tasks"] if t["id"] == "s")
    stored = Task.objects.get(client_id="s").completed_at
    assert abs(stored - datetime.fromisoformat(offline)) < timedelta(seconds=1)
    assert datetime.fromisoformat(pulled["completed_at"].replace("Z", "+00:00")) == stored


def test_export_and_import_carry_completed_at(ws_a):
    done = done_on(ws_a, "d", seoul_today())
    out = StringIO()
    call_command("export_workspace", ws_a.pk, stdout=out)
    document = json.loads(out.getvalue())
    assert document["tasks"][0]["completed_at"] is not None
    path = "/tmp/linkdo-export-completed.json"
    with open(path, "w") as handle:
        json.dump(document, handle)
    call_command("import_workspace", path, workspace="copy", stdout=StringIO())
    assert Task.objects.get(workspace_id="copy", client_id="d").completed_at == done.completed_at
    # A file from before completed_at: a done task was done when it last changed.
    del document["tasks"][0]["completed_at"]
    with open(path, "w") as handle:
        json.dump(document, handle)
    call_command("import_workspace", path, workspace="older", stdout=StringIO())
    imported = Task.objects.get(workspace_id="older", client_id="d")
    assert imported.completed_at == imported.updated_at


def _counts_from_tasks() -> set[tuple]:
    """The category and tag counts recomputed from every live task (what the triggers keep)."""
    from collections import Counter

    total, done = Counter(), Counter()
    for task in Task.objects.filter(deleted_at__isnull=True):
        for key in [("category", task.category)] + [("tag", tag) for tag in task.tags]:
            total[(task.workspace_id, *key)] += 1
            done[(task.workspace_id, *key)] += task.status == "done"
    return {(*key, n, done[key]) for key, n in total.items()}


def _counts_kept() -> set[tuple]:
    rows = TaskCount.objects.filter(total__gt=0)
    return set(rows.values_list("workspace_id", "kind", "key", "total", "done"))


def test_the_kept_counts_follow_every_write_path(client_a, client_b, ws_a):
    client_a.post("/api/tasks", {"id": "a", "title": "A", "tags": ["x", "y"], "category": "work"})
    client_a.post("/api/tasks", {"id": "b", "title": "B", "tags": ["x"], "status": "done"})
    client_b.post("/api/tasks", {"id": "a", "title": "Theirs", "tags": ["x"]})
    assert _counts_kept() == _counts_from_tasks()
    client_a.patch("/api/tasks/a", {"tags": ["y", "z"], "status": "done"})
    client_a.patch("/api/tasks/b", {"x": 10.0, "y": 5.0})  # nothing counted changes
    client_a.delete("/api/tasks/b")
    assert _counts_kept() == _counts_from_tasks()
    client_a.post(
        "/api/tasks/sync",
        {"tasks": [{"id": "c", "title": "C", "tags": ["x"]}, {"id": "a", "category": "home"},
                   {"id": "b", "title": "B again", "tags": ["q"]}, {"id": "gone", "deleted": True}]},
    )  # fmt: skip
    client_a.post("/api/graph/auto-arrange")
    assert _counts_kept() == _counts_from_tasks()
    out = StringIO()
    call_command("export_workspace", "alpha", stdout=out)
    path = "/tmp/linkdo-export-counts.json"
    with open(path, "w") as handle:
        handle.write(out.getvalue())
    call_command("import_workspace", path, workspace="gamma", stdout=StringIO())
    client_a.delete("/api/tasks/c")
    call_command("purge_tombstones", "--older-than", "0d", stdout=StringIO())
    assert _counts_kept() == _counts_from_tasks()
    assert ("gamma", "tag", "z", 1, 1) in _counts_kept()
