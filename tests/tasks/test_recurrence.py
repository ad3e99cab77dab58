"""Recurring tasks end to end: the rule's validation, the next occurrence on completion (REST and
sync, once however often the completion arrives), time zones, COUNT and UNTIL, export/import and
the statistics."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from flows.transfer import workspace_export, workspace_import
from graph.models import Edge
from tasks.models import Embedding, Task
from tasks.recurrence import occurrence_id
from tests.conftest import WorkspaceClient
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db


def create(client, **fields):
    body = {"id": "w1", "title": "Water the plants", "tags": ["home"], **fields}
    response = client.post("/api/tasks", body)
    assert response.status_code == 201, response.json()
    return response.json()


def complete(client, task_id="w1", status=200):
    response = client.patch(f"/api/tasks/{task_id}", {"status": "done"})
    assert response.status_code == status, response.json()
    return response.json()


def live(workspace_id="alpha"):
    return list(
        Task.objects.filter(workspace_id=workspace_id, deleted_at__isnull=True).order_by("due_date")
    )


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("every monday", "FREQ is required"),
        ("FREQ=WEEKLY;BYDAY=XX", "not an RFC 5545 RRULE"),
        ("FREQ=SECONDLY", "at most once a minute"),
        ("FREQ=MINUTELY;BYSECOND=0,30", "at most once a minute"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "never occurs"),
        ("FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=31", "never occurs"),
        ("FREQ=DAILY;" + "BYHOUR=1;" * 100, "at most 500 characters"),
        (7, "Expected a string"),
    ],
)
def test_a_rule_that_is_no_rrule_or_too_often_is_a_400_naming_the_field(client_a, rule, words):
    response = client_a.post("/api/tasks", {"id": "w1", "title": "Water", "recurrence": rule})
    assert response.status_code == 400
    assert words in json.dumps(response.json()["recurrence"])
    assert not Task.objects.filter(client_id="w1").exists()


def test_a_rule_is_stored_normalised_and_answered_with_the_task(client_a):
    data = create(client_a, recurrence="rrule:freq=weekly;byday=mo", due_date="2026-12-07")
    assert data["recurrence"] == "FREQ=WEEKLY;BYDAY=MO"
    assert data["due_timezone"] is None
    assert Task.objects.get(client_id="w1").recurrence == "FREQ=WEEKLY;BYDAY=MO"
    cleared = client_a.patch("/api/tasks/w1", {"recurrence": ""}).json()
    assert cleared["recurrence"] is None
    bad_zone = client_a.patch("/api/tasks/w1", {"due_timezone": "Mars/Olympus"})
    assert bad_zone.status_code == 400 and "due_timezone" in bad_zone.json()


def test_completing_creates_the_next_occurrence_with_the_same_content_and_vector(client_a):
    first = create(
        client_a, recurrence="FREQ=WEEKLY;BYDAY=MO", due_date="2026-12-07", priority="high",
        category="home", description="the ferns first", x=12.5, y=-3.0,
    )  # fmt: skip
    create(client_a, id="other", title="Buy plant food", tags=["home"])
    done = complete(client_a)
    assert done["status"] == "done" and done["id"] == "w1"
    following = Task.objects.get(
        workspace_id="alpha", client_id=occurrence_id("w1", _utc("2026-12-14"))
    )
    assert following.due_date.date().isoformat() == "2026-12-14"
    assert following.status == "todo" and following.completed_at is None
    assert (following.title, following.description, following.priority, following.category) == (
        first["title"], "the ferns first", "high", "home",
    )  # fmt: skip
    assert (following.tags, following.x, following.y) == (["home"], 12.5, -3.0)
    assert following.recurrence == "FREQ=WEEKLY;BYDAY=MO"
    assert following.version == Workspace.objects.get(pk="alpha").change_version
    # The same text: the vector is copied, no provider is asked, the task is ready at once.
    old, new = (
        Embedding.objects.get(task__client_id=i).vector for i in ("w1", following.client_id)
    )
    assert list(old) == list(new)
    answer = client_a.get(f"/api/tasks/{following.client_id}").json()
    assert answer["embedding_status"] == "ready" and answer["due_date"] == "2026-12-14"
    # Linked to its tag-mates like any task with tags.
    assert (
        Edge.objects.filter(workspace_id="alpha", deleted_at__isnull=True)
        .filter(source=following)
        .exists()
        or Edge.objects.filter(workspace_id="alpha", target=following).exists()
    )


def _utc(day: str):
    from datetime import UTC, datetime

    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def test_undoing_and_redoing_a_completion_creates_the_next_occurrence_once(client_a):
    create(client_a, recurrence="FREQ=DAILY", due_date="2026-12-07")
    complete(client_a)
    assert client_a.patch("/api/tasks/w1", {"status": "todo"}).status_code == 200
    complete(client_a)
    complete(client_a)  # already done: nothing changes
    assert [t.due_date.date().isoformat() for t in live()] == ["2026-12-07", "2026-12-08"]


def test_the_occurrence_deleted_by_the_user_is_not_brought_back(client_a):
    create(client_a, recurrence="FREQ=DAILY", due_date="2026-12-07")
    complete(client_a)
    following = live()[1].client_id
    assert client_a.delete(f"/api/tasks/{following}").status_code == 200
    client_a.patch("/api/tasks/w1", {"status": "todo"})
    complete(client_a)
    assert [t.client_id for t in live()] == ["w1"]


def test_count_counts_down_and_until_ends_the_series(client_a):
    create(client_a, recurrence="FREQ=DAILY;COUNT=3", due_date="2026-12-07")
    complete(client_a)
    second = live()[1]
    assert second.recurrence == "FREQ=DAILY;COUNT=2"
    complete(client_a, second.client_id)
    third = live()[2]
    assert third.recurrence == "FREQ=DAILY;COUNT=1"
    complete(client_a, third.client_id)
    assert len(live()) == 3  # the third of three was the last
    create(client_a, id="u1", recurrence="FREQ=WEEKLY;UNTIL=20261210", due_date="2026-12-07")
    complete(client_a, "u1")
    assert not Task.objects.filter(client_id__startswith="r-", due_date__gt=_utc("2026-12-10"))


def test_a_timed_task_recurs_at_the_same_wall_clock_time_in_its_zone(client_a):
    # Monday 08:00 in Seoul is Sunday 23:00 in UTC: the weekday is Seoul's.
    data = create(
        client_a, recurrence="FREQ=WEEKLY;BYDAY=MO", due_date="2026-12-07T08:00:00+09:00",
        due_timezone="Asia/Seoul",
    )  # fmt: skip
    assert data["due_date"] == "2026-12-06T23:00:00Z"
    complete(client_a)
    following = client_a.get(f"/api/tasks/{live()[1].client_id}").json()
    assert following["due_date"] == "2026-12-13T23:00:00Z"
    assert following["due_timezone"] == "Asia/Seoul"
    # Across a daylight-saving change the wall-clock time stays (New York: EDT -> EST).
    create(
        client_a, id="ny", recurrence="FREQ=WEEKLY", due_date="2026-10-26T09:00:00-04:00",
        due_timezone="America/New_York",
    )  # fmt: skip
    complete(client_a, "ny")
    after = Task.objects.get(client_id=occurrence_id("ny", _utc("2026-11-02T14:00:00")))
    assert after.due_date.isoformat() == "2026-11-02T14:00:00+00:00"  # 09:00 EST


def test_a_task_without_a_due_date_recurs_from_its_completion(client_a):
    create(client_a, recurrence="FREQ=DAILY;INTERVAL=2")
    complete(client_a)
    done_day = Task.objects.get(client_id="w1").completed_at.date()
    assert (live()[0].due_date.date() - done_day).days == 2


def test_two_devices_completing_offline_create_the_next_occurrence_once(client_a):
    create(client_a, recurrence="FREQ=WEEKLY;BYDAY=MO", due_date="2026-12-07")
    seen = client_a.post("/api/tasks/sync", {"tasks": [], "cursor": None}).json()
    base = seen["tasks"][0]["version"]
    item = {"id": "w1", "status": "done", "base_version": base}
    phone = client_a.post("/api/tasks/sync", {"tasks": [item], "cursor": seen["cursor"]})
    laptop = client_a.post("/api/tasks/sync", {"tasks": [item], "cursor": seen["cursor"]})
    replay = client_a.post("/api/tasks/sync", {"tasks": [item], "cursor": seen["cursor"]})
    assert [r.json()["results"][0]["status"] for r in (phone, laptop, replay)] == [
        "updated", "unchanged", "unchanged",
    ]  # fmt: skip
    assert [t.due_date.date().isoformat() for t in live()] == ["2026-12-07", "2026-12-14"]
    # Both devices pull the new occurrence with the completion.
    pulled = {t["id"]: t for t in laptop.json()["tasks"]}
    following = occurrence_id("w1", _utc("2026-12-14"))
    assert pulled["w1"]["status"] == "done"
    assert pulled[following]["due_date"] == "2026-12-14"
    assert pulled[following]["recurrence"] == "FREQ=WEEKLY;BYDAY=MO"


def test_a_push_creates_a_task_with_a_rule_and_refuses_a_bad_one_alone(client_a):
    body = {
        "cursor": None,
        "tasks": [
            {"id": "a", "title": "Standup", "recurrence": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"},
            {"id": "b", "title": "Bad", "recurrence": "FREQ=SECONDLY"},
        ],
    }
    results = client_a.post("/api/tasks/sync", body).json()["results"]
    assert [r["status"] for r in results] == ["created", "rejected"]
    assert "recurrence" in results[1]["reason"]
    assert Task.objects.get(client_id="a").recurrence == "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"


def test_export_and_import_carry_the_rule_and_the_zone(client_a):
    create(
        client_a, recurrence="FREQ=MONTHLY;BYMONTHDAY=5", due_date="2026-12-05T09:00:00Z",
        due_timezone="Europe/Berlin",
    )  # fmt: skip
    document = workspace_export(workspace=Workspace.objects.get(pk="alpha"))
    assert document["tasks"][0]["recurrence"] == "FREQ=MONTHLY;BYMONTHDAY=5"
    workspace_import(document=document, workspace_id="copy", dim=768)
    copied = Task.objects.get(workspace_id="copy", client_id="w1")
    assert (copied.recurrence, copied.due_timezone) == (
        "FREQ=MONTHLY;BYMONTHDAY=5",
        "Europe/Berlin",
    )
    document["tasks"][0]["recurrence"] = "FREQ=SECONDLY"
    with pytest.raises(Exception, match="recurrence"):
        workspace_import(document=document, workspace_id="copy2", dim=768)


def test_each_completed_occurrence_counts_as_one_completion(client_a):
    create(client_a, recurrence="FREQ=DAILY", due_date="2026-12-07")
    task_id = "w1"
    for _ in range(3):
        complete(client_a, task_id)
        task_id = live()[-1].client_id
    body = client_a.get("/api/stats?timezone=UTC").json()
    assert body["done"] == 3 and body["open"] == 1 and body["total"] == 4
    assert sum(day["completed"] for day in body["daily"]) == 3


def test_another_workspace_never_sees_the_occurrence(client_a, client_b):
    create(client_a, recurrence="FREQ=DAILY", due_date="2026-12-07")
    complete(client_a)
    assert client_b.get("/api/tasks").json() == []
    assert Task.objects.filter(workspace_id="beta").count() == 0


def test_the_management_export_command_writes_the_rule():
    client = WorkspaceClient("gamma")
    create(client, recurrence="FREQ=YEARLY")
    out = StringIO()
    call_command("export_workspace", "gamma", stdout=out)
    assert json.loads(out.getvalue())["tasks"][0]["recurrence"] == "FREQ=YEARLY"


@pytest.mark.django_db(transaction=True)
def test_completions_racing_on_devices_create_the_next_occurrence_once():
    import threading

    from django.db import connection

    from tests.conftest import WorkspaceClient

    setup = WorkspaceClient("racing")
    create(setup, recurrence="FREQ=DAILY", due_date="2026-12-07")
    barrier, statuses = threading.Barrier(8), []

    def device(n: int) -> None:
        try:
            client = WorkspaceClient("racing")
            barrier.wait()
            if n % 2:
                response = client.patch("/api/tasks/w1", {"status": "done"})
            else:
                item = {"id": "w1", "status": "done", "base_version": 1}
                response = client.post("/api/tasks/sync", {"tasks": [item], "cursor": None})
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=device, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 8
    rows = Task.objects.filter(workspace_id="racing").order_by("due_date")
    assert [(t.due_date.date().isoformat(), t.status) for t in rows] == [
        ("2026-12-07", "done"), ("2026-12-08", "todo"),
    ]  # fmt: skip
