"""A model of offline devices syncing against one workspace, run by hypothesis as a rule-based state
machine: devices edit offline, push and pull in pages, lose answers (and so replay pushes), run on
skewed clocks; a REST user edits, deletes and re-creates tasks meanwhile; tombstones get purged and
the map is arranged.

What must hold, whatever the order:
- no answer is a 5xx, and every item gets a result;
- once every device has pushed everything and pulled to the end, each device holds exactly the
  server's live tasks, field for field (convergence), deleted tasks included (none kept, none back);
- a task deleted on the server stays deleted unless the REST user creates its id again.

Bugs of the second adversarial pass this finds by itself: a cursor inside a purged version (S1,
devices keep deleted tasks), an edit of a deleted task rejected instead of conflicting (S2), BC
timestamps (B1, a 5xx on every later read).
"""

import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from tasks.models import Task
from tests.conftest import WorkspaceClient

FIELDS = ("title", "status", "priority", "tags")
TITLES = st.sampled_from(["Call mom", "Write report", "Buy milk", "Pay rent", "세금 신고", "빨래"])
STATUSES = st.sampled_from(["todo", "in-progress", "done"])
PRIORITIES = st.sampled_from(["low", "medium", "high"])
TAGS = st.lists(st.sampled_from(["work", "home", "urgent"]), max_size=2, unique=True)
# Device clocks: right, a day behind, a year ahead (clamped by the server), and now and then a
# timestamp no server can store (B1).
SKEWS = [timedelta(0), timedelta(days=-1), timedelta(days=365)]
BROKEN_STAMP = "0001-01-01T00:00:00+05:00"


def visible(task: dict) -> dict:
    return {name: task[name] for name in FIELDS}


class Device:
    def __init__(self, name: str, skew: timedelta):
        self.name, self.skew = name, skew
        self.tasks: dict[str, dict] = {}  # id -> fields + "version"
        self.outbox: dict[str, dict] = {}  # id -> the item to push (coalesced)
        self.cursor = None

    def clock(self) -> str:
        return (datetime.now(UTC) + self.skew).isoformat()


class SyncMachine(RuleBasedStateMachine):
    @initialize()
    def start(self):
        self.workspace = f"sm-{uuid.uuid4().hex[:12]}"
        self.client = WorkspaceClient(self.workspace)
        self.devices = [Device(f"d{i}", skew) for i, skew in enumerate(SKEWS)]
        self.counter = 0
        self.deleted_on_server: set[str] = set()  # deleted and not re-created by REST since

    # --- the HTTP layer, with the properties every answer must have ---

    def post_sync(self, body: dict) -> dict:
        response = self.client.post("/api/tasks/sync", body)
        assert response.status_code == 200, response.content
        answer = response.json()
        assert len(answer["results"]) == len(body.get("tasks", [])) + len(body.get("edges", []))
        return answer

    # --- devices ---

    @rule(device=st.integers(0, 2), title=TITLES, tags=TAGS, broken=st.integers(0, 15))
    def create_offline(self, device, title, tags, broken):
        d = self.devices[device]
        self.counter += 1
        task_id = f"{d.name}-{self.counter}"
        stamp = BROKEN_STAMP if broken == 0 else d.clock()
        fields = {"title": title, "status": "todo", "priority": "medium", "tags": tags}
        d.tasks[task_id] = {**fields, "version": None}
        d.outbox[task_id] = {"id": task_id, **fields, "updated_at": stamp}

    @precondition(lambda self: any(d.tasks for d in self.devices))
    @rule(data=st.data(), device=st.integers(0, 2), status=STATUSES, priority=PRIORITIES,
          title=TITLES)  # fmt: skip
    def edit_offline(self, data, device, status, priority, title):
        d = self.devices[device]
        if not d.tasks:
            return
        task_id = data.draw(st.sampled_from(sorted(d.tasks)))
        change = data.draw(
            st.sampled_from([{"status": status}, {"priority": priority}, {"title": title}])
        )
        local = d.tasks[task_id]
        local.update(change)
        item = d.outbox.setdefault(task_id, {"id": task_id})
        item.pop("deleted", None)
        item.update(change)
        if (
            local["version"] is not None
            and "base_version" not in item
            and "title" not in item
            or local["version"] is not None
            and "base_version" not in item
        ):
            item["base_version"] = local["version"]

    @precondition(lambda self: any(d.tasks for d in self.devices))
    @rule(data=st.data(), device=st.integers(0, 2))
    def delete_offline(self, data, device):
        d = self.devices[device]
        if not d.tasks:
            return
        task_id = data.draw(st.sampled_from(sorted(d.tasks)))
        del d.tasks[task_id]
        d.outbox[task_id] = {"id": task_id, "deleted": True}

    @rule(device=st.integers(0, 2), lose_answer=st.booleans(), limit=st.sampled_from([3, 500]))
    def sync(self, device, lose_answer, limit):
        self.sync_device(self.devices[device], lose_answer=lose_answer, limit=limit)

    def sync_device(self, d: Device, *, lose_answer=False, limit=500):
        items = list(d.outbox.values())
        answer = self.post_sync({"cursor": d.cursor, "limit": limit, "tasks": items})
        for item, result in zip(items, answer["results"], strict=True):
            if result["status"] == "deleted" or (
                item.get("deleted") and result["status"] != "rejected"
            ):
                self.deleted_on_server.add(item["id"])
        if lose_answer:
            return  # the push happened; the device will replay it
        d.outbox.clear()
        needs_reset = False
        for item, result in zip(items, answer["results"], strict=True):
            if result["status"] == "conflict":
                server = result["server"]
                # The fields the server kept are fields the item changed (never others), and an
                # arrange moves no field a device edits here.
                assert set(result.get("conflicts", [])) <= set(item) - {"id", "base_version"}
                assert not set(result.get("conflicts", [])) & {"x", "y", "cluster"}
                if server.get("deleted"):
                    d.tasks.pop(item["id"], None)
                else:
                    d.tasks[item["id"]] = {**visible(server), "version": server["version"]}
            elif result["status"] == "rejected":
                needs_reset = True  # the device's optimistic state is wrong: start over
        if needs_reset:
            d.tasks.clear()
            d.cursor = None
            answer = self.post_sync({"cursor": None, "limit": limit})
        self.apply_pages(d, answer, limit)

    def apply_pages(self, d: Device, answer: dict, limit: int):
        while True:
            if answer["reset_required"]:
                d.tasks.clear()
            for task in answer["tasks"]:
                if task.get("deleted"):
                    d.tasks.pop(task["id"], None)
                elif task["id"] not in d.outbox:
                    d.tasks[task["id"]] = {**visible(task), "version": task["version"]}
            d.cursor = answer["cursor"]
            if not answer["has_more"]:
                return
            answer = self.post_sync({"cursor": d.cursor, "limit": limit})

    # --- the REST user and the operator ---

    @precondition(lambda self: self.server_ids())
    @rule(data=st.data(), status=STATUSES, title=TITLES)
    def rest_edit(self, data, status, title):
        task_id = data.draw(st.sampled_from(sorted(self.server_ids())))
        body = data.draw(st.sampled_from([{"status": status}, {"title": title}]))
        assert self.client.patch(f"/api/tasks/{task_id}", body).status_code in (200, 404)

    @precondition(lambda self: self.server_ids())
    @rule(data=st.data())
    def rest_delete(self, data):
        task_id = data.draw(st.sampled_from(sorted(self.server_ids())))
        assert self.client.delete(f"/api/tasks/{task_id}").status_code == 200
        self.deleted_on_server.add(task_id)

    @precondition(lambda self: self.deleted_on_server)
    @rule(data=st.data(), title=TITLES)
    def rest_recreate(self, data, title):
        """The PWA's backup restore: POST a deleted id again."""
        task_id = data.draw(st.sampled_from(sorted(self.deleted_on_server)))
        response = self.client.post("/api/tasks", {"id": task_id, "title": title})
        assert response.status_code in (201, 409), response.content
        if response.status_code == 201:
            self.deleted_on_server.discard(task_id)

    @rule()
    def arrange(self):
        """An auto-arrange between the devices' edits: it moves tasks (new field versions for x
        and y only where they really moved) and must never make their other edits conflicts."""
        assert self.client.post("/api/graph/auto-arrange").status_code == 200

    @rule()
    def purge(self):
        """After a purge the server has forgotten those ids: a create replayed from then on (its
        answer was lost before the delete) is a new task, as documented."""
        tombstones = Task.objects.filter(workspace_id=self.workspace, deleted_at__isnull=False)
        self.deleted_on_server -= set(tombstones.values_list("client_id", flat=True))
        tombstones.update(deleted_at=timezone.now() - timedelta(days=2))
        call_command(
            "purge_tombstones", "--older-than", "1d", "--workspace", self.workspace,
            stdout=io.StringIO(),
        )  # fmt: skip

    # --- properties ---

    def server_ids(self) -> set[str]:
        return set(
            Task.objects.filter(workspace_id=self.workspace, deleted_at__isnull=True).values_list(
                "client_id", flat=True
            )
        )

    @invariant()
    def deleted_tasks_stay_deleted(self):
        if hasattr(self, "workspace"):
            assert not (self.deleted_on_server & self.server_ids())

    def teardown(self):
        if not hasattr(self, "workspace"):
            return
        # Everyone pushes what is left (no lost answers now), then everyone pulls to the end.
        for d in self.devices:
            self.sync_device(d)
        for d in self.devices:
            self.sync_device(d)
        response = self.client.get("/api/tasks")
        assert response.status_code == 200
        server = {t["id"]: visible(t) for t in response.json()}
        for d in self.devices:
            local = {task_id: visible(task) for task_id, task in d.tasks.items()}
            assert local == server, f"device {d.name} did not converge"


@pytest.mark.slow
@pytest.mark.django_db
def test_devices_converge_whatever_the_order_of_syncs_losses_and_purges():
    runner = SyncMachine.TestCase
    runner.settings = settings(
        max_examples=30,
        stateful_step_count=30,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    runner().runTest()
