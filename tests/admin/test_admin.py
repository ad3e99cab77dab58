"""The admin: workspace list with counts, a workspace page that draws its map, actions that touch
only the selected workspace, read-only task and edge lists with filters and search."""

import re
from datetime import timedelta

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from graph.models import Edge
from tasks.models import Embedding, Task
from tests.conftest import WorkspaceClient
from tests.factories import EdgeFactory, TaskFactory


@pytest.fixture
def admin_client(client, db):
    user = get_user_model().objects.create_superuser("operator", "op@example.com", "pw-not-secret")
    client.force_login(user)
    return client


@pytest.fixture
def mapped(ws_a, ws_b):
    a1 = TaskFactory(workspace=ws_a, client_id="a1", title="Write <b>report</b>", x=0, y=0)
    a2 = TaskFactory(workspace=ws_a, client_id="a2", title="Plan trip", x=40, y=-20, cluster=1)
    a3 = TaskFactory(workspace=ws_a, client_id="a3", title="Book hotel", x=-40, y=30)
    EdgeFactory(workspace=ws_a, source=a1, target=a2, weight=0.9)
    EdgeFactory(workspace=ws_a, source=a2, target=a3, weight=0.3)
    b1 = TaskFactory(workspace=ws_b, client_id="b1", title="Bravo secret")
    b2 = TaskFactory(workspace=ws_b, client_id="b2", title="Bravo other")
    EdgeFactory(workspace=ws_b, source=b1, target=b2)
    return a1, a2, a3


def test_workspace_list_shows_counts_and_searches_by_id(admin_client, mapped):
    TaskFactory(workspace=mapped[0].workspace, client_id="gone", deleted_at="2026-01-01T00:00Z")
    response = admin_client.get("/admin/workspaces/workspace/")
    assert response.status_code == 200
    rows = {
        match[0]: match[1:]
        for match in re.findall(
            r'<th class="field-id"><a [^>]*>(\w+)</a></th><td class="field-claimed">.*?</td>'
            r'<td class="field-task_count">(\d+)</td><td class="field-edge_count">(\d+)</td>'
            r'<td class="field-pending_count">(\d+)</td>',
            response.content.decode(),
        )
    }
    # Factories store no embedding hash, so every live task is pending; the tombstone is not counted.
    assert rows == {"alpha": ("3", "2", "3"), "bravo": ("2", "1", "2")}
    found = admin_client.get("/admin/workspaces/workspace/?q=brav").content.decode()
    assert "bravo" in found and ">alpha<" not in found


def test_workspace_page_draws_its_map(admin_client, mapped):
    response = admin_client.get("/admin/workspaces/workspace/alpha/change/")
    assert response.status_code == 200
    page = response.content.decode()
    svg = re.search(r'<svg [^>]*class="linkdo-map".*?</svg>', page, re.S).group(0)
    assert svg.count('<circle class="task"') == 3
    assert svg.count('<line class="edge"') == 2
    # Titles are escaped text in tooltips, never markup; the other workspace is not drawn.
    assert "Write &lt;b&gt;report&lt;/b&gt;" in svg and "<b>report" not in page
    assert "Bravo" not in page
    # Tasks and edges are listed with links to the full, filtered lists.
    assert "/admin/tasks/task/?workspace__id__exact=alpha" in page
    assert "All 3 tasks" in page and "All 2 edges" in page
    # The node placed highest on the map (y=30) is drawn at the top (smallest SVG y).
    ys = [float(cy) for cy in re.findall(r'<circle class="task" cx="[\d.]+" cy="([\d.]+)"', svg)]
    assert ys[2] == min(ys)


def test_filtered_task_list_shows_only_that_workspace(admin_client, mapped):
    response = admin_client.get("/admin/tasks/task/?workspace__id__exact=alpha")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Plan trip" in page and "Bravo secret" not in page


def test_auto_arrange_action_changes_only_the_selected_workspace(admin_client, ws_a, ws_b):
    rng = np.random.default_rng(0)
    for ws in (ws_a, ws_b):
        for i in range(6):
            TaskFactory(workspace=ws, client_id=f"{ws.pk}-{i}", embedding=rng.normal(size=768))
    before_b = list(Task.objects.filter(workspace=ws_b).values_list("x", "y", "version"))
    response = admin_client.post(
        "/admin/workspaces/workspace/",
        {"action": "auto_arrange", "_selected_action": ["alpha"]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Workspace alpha: arranged 6 tasks" in response.content.decode()
    xs = Task.objects.filter(workspace=ws_a).values_list("x", flat=True)
    assert len(set(xs)) == 6
    assert list(Task.objects.filter(workspace=ws_b).values_list("x", "y", "version")) == before_b


def test_reembed_action_embeds_pending_tasks_of_the_selected_workspace(admin_client, ws_a, ws_b):
    TaskFactory(workspace=ws_a, client_id="p1", title="Pending alpha")
    TaskFactory(workspace=ws_b, client_id="p2", title="Pending bravo")
    response = admin_client.post(
        "/admin/workspaces/workspace/",
        {"action": "reembed", "_selected_action": ["alpha"]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Workspace alpha: Embedded 1 of 1 task(s)" in response.content.decode()
    assert Embedding.objects.filter(workspace=ws_a).count() == 1
    assert not Embedding.objects.filter(workspace=ws_b).exists()
    assert Task.objects.get(client_id="p1").embedding_hash is not None


def test_task_and_edge_lists_filter_and_search(admin_client, mapped):
    a1 = mapped[0]
    Task.objects.filter(pk=a1.pk).update(
        tags=["urgent"], status="done", completed_at=timezone.now()
    )
    by_status = admin_client.get("/admin/tasks/task/?status__exact=done").content.decode()
    assert "Write &lt;b&gt;report" in by_status and "Plan trip" not in by_status
    by_tag = admin_client.get("/admin/tasks/task/?q=urgent").content.decode()
    assert "Write &lt;b&gt;report" in by_tag and "Plan trip" not in by_tag
    pending = admin_client.get("/admin/tasks/task/?embedding=pending")
    assert pending.status_code == 200
    Edge.objects.filter(source=a1).update(origin="auto")
    auto = admin_client.get("/admin/graph/edge/?origin__exact=auto").content.decode()
    assert auto.count('<td class="field-origin">Auto</td>') == 1
    assert '<td class="field-origin">Manual</td>' not in auto


def test_task_page_shows_the_vector_read_only(admin_client, ws_a):
    task = TaskFactory(workspace=ws_a, client_id="v", embedding=[0.5] + [0.0] * 767)
    response = admin_client.get(f"/admin/tasks/task/{task.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "768 dimensions: [0.5000, 0.0000" in page
    assert 'name="title"' not in page and "<textarea" not in page


def test_admin_rows_cannot_be_added_changed_or_deleted(admin_client, mapped):
    assert admin_client.get("/admin/tasks/task/add/").status_code == 403
    assert admin_client.post(f"/admin/tasks/task/{mapped[0].pk}/delete/").status_code == 403
    assert Task.objects.filter(pk=mapped[0].pk).exists()


def test_admin_requires_login(client, db):
    response = client.get("/admin/workspaces/workspace/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_api_clients_cannot_reach_admin_data(mapped):
    response = WorkspaceClient("alpha").get("/admin/workspaces/workspace/alpha/change/")
    assert response.status_code == 302


def test_workspace_page_charts_the_last_30_days(admin_client, mapped):
    """Created vs completed per day, next to the map: this workspace's tasks only."""
    a1 = mapped[0]
    Task.objects.filter(pk=a1.pk).update(status="done", completed_at=timezone.now())
    TaskFactory(workspace=a1.workspace, client_id="old", status="done",
                completed_at=timezone.now() - timedelta(days=2))  # fmt: skip
    page = admin_client.get("/admin/workspaces/workspace/alpha/change/").content.decode()
    chart = re.search(
        r'<svg [^>]*aria-label="tasks created and completed per day".*?</svg>', page, re.S
    )
    assert chart is not None
    bars = re.findall(
        r"<title>(\d{4}-\d{2}-\d{2}): (\d+) (created|completed)</title>", chart.group(0)
    )
    assert len(bars) == 60  # 30 days, two bars each
    today = timezone.now().date().isoformat()
    assert (today, "4", "created") in bars and (today, "1", "completed") in bars
    assert "2 done of 4 (50%), streak 1 days" in page  # the day before yesterday is a gap


def test_the_admin_lists_queued_and_failed_jobs(admin_client, client_a):
    client_a.post("/api/tasks/sync", {"cursor": None, "tasks": [{"id": "q", "title": "Queued"}]})
    page = admin_client.get("/admin/procrastinate/procrastinatejob/?status__exact=todo")
    assert page.status_code == 200
    assert "flows.jobs.embed_workspace" in page.content.decode()
