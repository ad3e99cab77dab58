"""POST /api/tasks/sync: the old contract, the delta protocol, conflicts, idempotency, limits."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from graph.models import Edge
from tasks.models import Task
from tests.factories import TaskFactory
from tests.helpers import on_citus

pytestmark = pytest.mark.django_db

STATS_KEYS = {
    "tasks_created",
    "tasks_updated",
    "tasks_deleted",
    "edges_created",
    "edges_updated",
    "edges_deleted",
}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def sync(client, body, status=200):
    response = client.post("/api/tasks/sync", body)
    assert response.status_code == status, response.content
    return response.json()


def pull_all(client, cursor=None, limit=500):
    """Follow the cursor until has_more is false; returns (tasks by id, edges by pair, cursor)."""
    tasks, edges = {}, {}
    while True:
        body = sync(client, {"tasks": [], "edges": [], "cursor": cursor, "limit": limit})
        for task in body["tasks"]:
            tasks[task["id"]] = task
        for edge in body["edges"]:
            edges[frozenset((edge["source"], edge["target"]))] = edge
        cursor = body["cursor"]
        if not body["has_more"]:
            return tasks, edges, cursor


def live_state(client):
    graph = client.get("/api/graph").json()
    tasks = {
        t["id"]: {k: t[k] for k in ("title", "description", "status", "priority", "tags")}
        for t in graph["tasks"]
    }
    edges = {frozenset((e["source"], e["target"])): e["weight"] for e in graph["edges"]}
    return tasks, edges


# The old contract ---------------------------------------------------------------------------------


def test_old_clients_get_the_old_response(client_a, ws_a, slash):
    TaskFactory(workspace=ws_a, client_id="server-side", x=5.0, y=6.0)
    body = {
        "tasks": [
            {
                "id": "n1",
                "title": "New",
                "description": "",
                "priority": "high",
                "status": "todo",
                "category": "work",
                "tags": ["x"],
                "due_date": "2026-12-01",
                "updated_at": iso(datetime.now(UTC)),
                "deleted": False,
            },
            {
                "id": "server-side",
                "title": "Gone",
                "deleted": True,
                "updated_at": iso(datetime.now(UTC)),
            },
        ],
        "edges": [],
        "last_sync_at": None,
    }
    response = client_a.post(f"/api/tasks/sync{slash}", body)
    assert response.status_code == 200
    data = response.json()
    assert {"tasks", "edges", "sync_stats", "synced_at"} <= set(data)
    assert "cursor" not in data
    assert set(data["sync_stats"]) == STATS_KEYS
    assert data["sync_stats"]["tasks_created"] == 1 and data["sync_stats"]["tasks_deleted"] == 1
    assert [(t["id"], t["due_date"], t["priority"]) for t in data["tasks"]] == [
        ("n1", "2026-12-01", "high")
    ]
    assert {"x", "y"} <= set(data["tasks"][0])
    assert Task.objects.get(client_id="server-side").deleted_at is not None


def test_untitled_items_are_rejected_out_loud_not_skipped(client_a):
    data = sync(
        client_a,
        {
            "tasks": [
                {"id": "ok", "title": "Fine"},
                {"id": "bad", "title": "  "},
                {"id": "worse", "title": "T", "priority": "urgent"},
                "not an object",
            ],
            "edges": [],
        },
    )
    statuses = [(r["id"], r["status"]) for r in data["results"]]
    assert statuses == [
        ("ok", "created"),
        ("bad", "rejected"),
        ("worse", "rejected"),
        (None, "rejected"),
    ]
    assert "title" in data["results"][1]["reason"] and "priority" in data["results"][2]["reason"]
    assert list(Task.objects.values_list("client_id", flat=True)) == ["ok"]


def test_last_writer_wins_on_the_clients_clock_clamped_to_ours(client_a, ws_a):
    now = datetime.now(UTC)
    sync(
        client_a,
        {"tasks": [{"id": "t", "title": "v1", "updated_at": iso(now - timedelta(hours=2))}]},
    )
    older = sync(
        client_a,
        {"tasks": [{"id": "t", "title": "older", "updated_at": iso(now - timedelta(hours=3))}]},
    )
    assert older["results"][0]["status"] == "conflict"
    assert older["results"][0]["server"]["title"] == "v1"
    future = sync(
        client_a,
        {"tasks": [{"id": "t", "title": "from 2099", "updated_at": "2099-01-01T00:00:00Z"}]},
    )
    assert future["results"][0]["status"] == "updated"
    assert Task.objects.get(client_id="t").updated_at <= datetime.now(UTC)  # clamped
    later = client_a.patch("/api/tasks/t", {"title": "edited on the web"})
    assert later.status_code == 200
    stale = sync(
        client_a,
        {"tasks": [{"id": "t", "title": "from 2099 again", "updated_at": "2099-01-01T00:00:01Z"}]},
    )
    assert stale["results"][0]["status"] == "updated"  # clamped to now: newest write wins, once
    assert Task.objects.get(client_id="t").title == "from 2099 again"


# The delta protocol ---------------------------------------------------------------------------------


def test_delta_pull_returns_exactly_the_changes_since_the_cursor(client_a, client_b):
    first = sync(
        client_a,
        {
            "tasks": [
                {"id": "a", "title": "A", "tags": ["x"]},
                {"id": "b", "title": "B", "tags": ["x"]},
            ],
            "edges": [],
            "cursor": None,
        },
    )
    assert {t["id"] for t in first["tasks"]} == {"a", "b"}
    assert len(first["edges"]) == 1 and first["edges"][0]["origin"] == "auto"  # shared tag
    cursor = first["cursor"]
    assert sync(client_a, {"cursor": cursor})["tasks"] == []
    client_a.patch("/api/tasks/a", {"status": "done"})
    client_a.delete("/api/tasks/b")
    delta = sync(client_a, {"cursor": cursor})
    assert [(t["id"], t.get("status"), t.get("deleted", False)) for t in delta["tasks"]] == [
        ("a", "done", False),
        ("b", None, True),
    ]
    assert delta["edges"][0]["deleted"] is True
    assert delta["tasks"][0]["version"] < delta["tasks"][1]["version"]
    assert sync(client_a, {"cursor": delta["cursor"]})["tasks"] == []
    assert sync(client_b, {"cursor": None})["tasks"] == []  # other workspace: nothing


def test_paging_10000_tasks_resumes_after_an_interruption(client_a, ws_a):
    TaskFactory.create_batch(10_000, workspace=ws_a)
    seen, cursor, pages = [], None, 0
    while True:
        body = sync(client_a, {"cursor": cursor, "limit": 500})
        seen += [t["id"] for t in body["tasks"]]
        pages += 1
        if pages == 7:  # the app is closed here; it kept the cursor of page 7 and resumes later
            saved = body["cursor"]
            cursor = saved
            continue
        cursor = body["cursor"]
        if not body["has_more"]:
            break
    assert len(seen) == len(set(seen)) == 10_000
    assert pages == 20
    # Replaying from the stored cursor gives exactly the rest, in the same order.
    rest, _, _ = pull_all(client_a, cursor=saved)
    assert list(rest) == seen[3500:]


def test_bad_cursor_or_limit_is_400_and_applies_nothing(client_a):
    for body in [
        {"cursor": "not-a-cursor"},
        {"cursor": None, "limit": 0},
        {"cursor": None, "limit": 5000},
        {"limit": 0},  # found by the schema fuzzer: the old exchange ignored a bad limit
        {"limit": "ten"},
    ]:
        body["tasks"] = [{"id": "x", "title": "X"}]
        response = client_a.post("/api/tasks/sync", body)
        assert response.status_code == 400
        assert response.json()["detail"]
    assert not Task.objects.exists()


# Conflicts between devices --------------------------------------------------------------------------


@pytest.fixture
def shared_task(client_a):
    body = sync(
        client_a,
        {
            "tasks": [{"id": "t", "title": "Plan", "description": "d0", "status": "todo"}],
            "cursor": None,
        },
    )
    return body["tasks"][0]["version"]


def test_different_fields_edited_offline_are_merged(client_a, shared_task):
    phone = sync(
        client_a,
        {"tasks": [{"id": "t", "title": "Plan trip", "base_version": shared_task}], "cursor": None},
    )
    assert phone["results"][0]["status"] == "updated"
    laptop = sync(
        client_a,
        {"tasks": [{"id": "t", "status": "done", "base_version": shared_task}], "cursor": None},
    )
    assert laptop["results"][0]["status"] == "updated"
    task = Task.objects.get(client_id="t")
    assert (task.title, task.status, task.description) == ("Plan trip", "done", "d0")


def test_same_field_edited_offline_is_a_conflict_the_server_wins(client_a, shared_task):
    sync(
        client_a,
        {
            "tasks": [{"id": "t", "title": "Phone title", "base_version": shared_task}],
            "cursor": None,
        },
    )
    laptop = sync(
        client_a,
        {
            "tasks": [
                {"id": "t", "title": "Laptop title", "status": "done", "base_version": shared_task}
            ],
            "cursor": None,
        },
    )
    result = laptop["results"][0]
    assert result["status"] == "conflict"
    assert (
        result["server"]["title"] == "Phone title" and result["server"]["status"] == "done"
    )  # merged the rest
    assert Task.objects.get(client_id="t").title == "Phone title"


def test_delete_wins_over_a_concurrent_edit(client_a, shared_task):
    sync(
        client_a,
        {"tasks": [{"id": "t", "deleted": True, "base_version": shared_task}], "cursor": None},
    )
    edit = sync(
        client_a,
        {
            "tasks": [{"id": "t", "title": "Edited offline", "base_version": shared_task}],
            "cursor": None,
        },
    )
    assert edit["results"][0]["status"] == "conflict"
    assert edit["results"][0]["server"] == {
        "id": "t",
        "deleted": True,
        "version": edit["results"][0]["version"],
    }
    assert client_a.get("/api/tasks/t").status_code == 404


def test_two_skewed_clients_converge(client_a):
    """Phone clock +1 h, laptop -1 h, both offline, then both sync (edit/edit, edit/delete, new edge
    vs deleted task); each then pulls from its cursor: both end with the server's state."""
    base = sync(
        client_a,
        {
            "tasks": [
                {"id": "a", "title": "A"},
                {"id": "b", "title": "B"},
                {"id": "c", "title": "C"},
            ],
            "cursor": None,
        },
    )
    version = max(t["version"] for t in base["tasks"])
    now = datetime.now(UTC)
    phone = {
        "tasks": [
            {
                "id": "a",
                "title": "A phone",
                "base_version": version,
                "updated_at": iso(now + timedelta(hours=1)),
            },
            {"id": "b", "deleted": True, "base_version": version},
        ],
        "edges": [{"source": "a", "target": "c", "weight": 0.4}],
        "cursor": base["cursor"],
    }
    laptop = {
        "tasks": [
            {
                "id": "a",
                "title": "A laptop",
                "status": "done",
                "base_version": version,
                "updated_at": iso(now - timedelta(hours=1)),
            },
            {"id": "b", "title": "B laptop", "base_version": version},
        ],
        "edges": [{"source": "b", "target": "c", "weight": 0.9}],
        "cursor": base["cursor"],
    }
    phone_answer = sync(client_a, phone)
    laptop_answer = sync(client_a, laptop)
    assert [r["status"] for r in phone_answer["results"]] == ["updated", "deleted", "created"]
    assert [r["status"] for r in laptop_answer["results"]] == ["conflict", "conflict", "rejected"]
    assert "unknown task" in laptop_answer["results"][2]["reason"]
    server_tasks, server_edges = live_state(client_a)
    assert server_tasks["a"]["title"] == "A phone" and server_tasks["a"]["status"] == "done"
    assert "b" not in server_tasks
    assert server_edges == {frozenset({"a", "c"}): 0.4}
    # Each device kept the base state and its cursor; applying what it pulls gives the server's state.
    for _device in ("phone", "laptop"):
        local = {t["id"]: t for t in base["tasks"]}
        local_edges = {frozenset((e["source"], e["target"])): e for e in base["edges"]}
        tasks, edges, _ = pull_all(client_a, cursor=base["cursor"])
        for task_id, change in tasks.items():
            if change.get("deleted"):
                local.pop(task_id, None)
            else:
                local[task_id] = change
        for pair, change in edges.items():
            if change.get("deleted"):
                local_edges.pop(pair, None)
            else:
                local_edges[pair] = change
        assert {k: v["title"] for k, v in local.items()} == {
            k: v["title"] for k, v in server_tasks.items()
        }
        assert {k: v["weight"] for k, v in local_edges.items()} == server_edges


# Idempotency, limits, isolation ---------------------------------------------------------------------


def test_a_replayed_push_changes_nothing(client_a):
    push = {
        "tasks": [
            {"id": "a", "title": "A", "tags": ["x"]},
            {"id": "b", "title": "B", "tags": ["x"]},
            {"id": "gone", "title": "G"},
            {"id": "bad", "title": ""},
        ],
        "edges": [{"source": "a", "target": "b", "weight": 0.7}],
        "cursor": None,
    }
    first = sync(client_a, push)
    sync(client_a, {"tasks": [{"id": "gone", "deleted": True}], "cursor": None})
    push["tasks"][2] = {"id": "gone", "deleted": True}
    snapshot = sorted(Task.objects.values_list("client_id", "version", "updated_at"))
    edges = sorted(Edge.objects.values_list("id", "version", "weight"))
    from workspaces.models import Workspace

    counter = Workspace.objects.get(pk="alpha").change_version
    replay = sync(client_a, push)
    assert [r["status"] for r in replay["results"]] == [
        "unchanged",
        "unchanged",
        "unchanged",
        "rejected",
        "unchanged",
    ]
    assert first["results"][3]["reason"] == replay["results"][3]["reason"]
    assert sorted(Task.objects.values_list("client_id", "version", "updated_at")) == snapshot
    assert sorted(Edge.objects.values_list("id", "version", "weight")) == edges
    assert Workspace.objects.get(pk="alpha").change_version == counter


def test_too_many_items_is_413_with_nothing_applied(client_a, settings):
    tasks = [{"id": f"t{i}", "title": "T"} for i in range(1001)]
    response = client_a.post("/api/tasks/sync", {"tasks": tasks, "edges": []})
    assert response.status_code == 413
    assert "limit is 1000" in response.json()["detail"]
    assert not Task.objects.exists()
    settings.LINKDO_SYNC_MAX_ITEMS = 2
    assert (
        client_a.post(
            "/api/tasks/sync", {"tasks": tasks[:2], "edges": [{"source": "t0", "target": "t1"}]}
        ).status_code
        == 413
    )


def test_items_cannot_reach_another_workspace(client_a, client_b, ws_b):
    TaskFactory(workspace=ws_b, client_id="theirs", title="Bravo's")
    data = sync(
        client_a,
        {
            "tasks": [
                {"id": "x", "title": "X", "workspace_id": "bravo"},
                {"id": "theirs", "deleted": True},
            ],
            "edges": [{"source": "theirs", "target": "x"}],
            "cursor": None,
        },
    )
    assert [r["status"] for r in data["results"]] == ["rejected", "unchanged", "rejected"]
    assert "other workspace" in data["results"][0]["reason"]
    assert Task.objects.get(client_id="theirs").deleted_at is None
    assert "Bravo" not in json.dumps(data)


def test_sync_statements_do_not_grow_with_the_push(client_a, django_assert_max_num_queries):
    def push(n, offset):
        return {
            "tasks": [
                {"id": f"t{offset + i}", "title": f"Task {i}", "tags": [f"g{i % 3}"]}
                for i in range(n)
            ],
            "edges": [
                {"source": f"t{offset}", "target": f"t{offset + i}"} for i in range(1, min(n, 5))
            ],
            "cursor": None,
        }

    with django_assert_max_num_queries(25) as small:
        sync(client_a, push(5, 0))
    with django_assert_max_num_queries(25) as large:
        sync(client_a, push(300, 1000))
    # Two planner settings frame the link statement past 50 choosers; the small push queued the
    # workspace's embedding job, and the large one's refused duplicate costs one statement more.
    assert len(large.captured_queries) <= len(small.captured_queries) + 3


def test_old_sync_stats_keep_their_six_keys_whatever_the_edges(client_a):
    push = {"tasks": [{"id": "a", "title": "A"}, {"id": "b", "title": "B"}],
            "edges": [{"source": "a", "target": "b", "weight": 0.5}]}  # fmt: skip
    assert sync(client_a, push)["sync_stats"]["edges_created"] == 1
    replay = sync(client_a, push)  # the edge comes back unchanged
    assert set(replay["sync_stats"]) == STATS_KEYS
    assert replay["results"][-1]["status"] == "unchanged"
    assert sum(replay["sync_stats"].values()) == 0


def _push_body(count: int, prefix: str) -> dict:
    tasks = [
        {"id": f"{prefix}{i}", "title": f"Task {i}", "tags": ["work", f"t{i % 7}"]}
        for i in range(count)
    ]
    edges = [
        {"source": f"{prefix}{i}", "target": f"{prefix}{i + 1}"} for i in range(0, count - 1, 2)
    ]
    return {"tasks": tasks, "edges": edges, "cursor": None}


def test_a_push_costs_the_same_statements_whatever_its_size(
    client_a, django_assert_num_queries, django_capture_on_commit_callbacks
):
    """The push's query budget: a fixed number of statements (reads per kind, bulk writes, the one
    auto-link statement, queueing the embedding job, the page of changes), whatever its size.
    COPYs would count too. Past 50 choosing tasks the link statement is framed by two planner
    settings (graph.services); a job already queued costs one statement more (its refused insert
    is rolled back to a savepoint). New tasks need no tag count for the push's link-work limit
    (only retagged stored tasks are ranked against every tag-mate)."""
    # +1 each: the workspace secret check (workspaces.auth). -2 each (issue 31): the purge
    # horizon comes from the push's own lock, the map's basis and the task counts in one read.
    # On Citus the change's NOTIFY is a statement of its own, on the coordinator, and so is the
    # insert of the new auto edges (graph.services): +2.
    for size, prefix, budget in ((10, "a", 19), (300, "b", 22), (600, "c", 22)):
        with (
            django_assert_num_queries(budget + 2 * on_citus()),
            django_capture_on_commit_callbacks(execute=False),
        ):
            body = sync(client_a, {**_push_body(size, prefix), "limit": 2000})
        assert body["sync_stats"]["tasks_created"] == size
        stats = body["sync_stats"]
        # A pushed edge over a pair the auto-links joined already makes it manual: "updated".
        assert stats["edges_created"] + stats["edges_updated"] == size // 2
    assert Task.objects.filter(workspace_id="alpha").count() == 910


def test_a_pull_reads_an_edges_ends_by_lookup_never_by_a_join(client_a):
    """The page of edge changes names each end by an index lookup (a subquery per edge). Joined to
    the tasks, the pull after a first push on a fresh database took 47 s for 1,000 tasks: with
    statistics from before the push, the planner took the workspace's tasks for one row and joined
    them with each other before the edges (docs/PERFORMANCE.md, "Sync")."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    tasks = [{"id": f"t{i}", "title": f"T{i}", "tags": ["shared"]} for i in range(4)]
    sync(client_a, {"tasks": tasks, "edges": [], "cursor": None})
    with CaptureQueriesContext(connection) as captured:
        body = sync(client_a, {"tasks": [], "edges": [], "cursor": None, "limit": 100})
    assert len(body["edges"]) == Edge.objects.count() > 0
    assert {(e["source"], e["target"]) for e in body["edges"]} == {
        (e.source.client_id, e.target.client_id) for e in Edge.objects.all()
    }
    edge_reads = [q["sql"] for q in captured.captured_queries if 'FROM "graph_edge"' in q["sql"]]
    assert edge_reads
    assert all("JOIN" not in statement for statement in edge_reads)
