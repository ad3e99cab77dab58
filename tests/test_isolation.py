"""Isolation as a property: whatever two workspaces hold, one of them, calling every endpoint with
the other's ids, tags and texts, gets none of the other's data back and changes none of it."""

import io
import json
import uuid

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import IntegrityError, InternalError, transaction
from django.forms.models import model_to_dict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.models import Edge
from tasks.models import Embedding, Task
from tests.conftest import WorkspaceClient
from tests.helpers import on_citus
from workspaces.models import Workspace

WORDS = st.sampled_from(["plan", "trip", "report", "garden", "call", "buy", "fix", "ship"])
TASKS = st.lists(
    st.tuples(
        st.text("abcdef0123._-", min_size=1, max_size=12),  # id
        st.lists(WORDS, min_size=1, max_size=3),  # title words
        st.lists(WORDS, max_size=3),  # tags
    ),
    min_size=2,
    max_size=8,
    unique_by=lambda t: t[0],
)


def snapshot(workspace_id: str) -> dict:
    workspace = Workspace.objects.get(pk=workspace_id)
    return {
        "workspace": {
            k: v for k, v in model_to_dict(workspace).items() if k not in ("last_seen_at",)
        }
        | {"layout_wx": list(workspace.layout_wx) if workspace.layout_wx is not None else None},
        "tasks": [
            model_to_dict(t) | {"updated_at": t.updated_at, "deleted_at": t.deleted_at}
            for t in Task.objects.filter(workspace_id=workspace_id).order_by("id")
        ],
        "edges": list(Edge.objects.filter(workspace_id=workspace_id).order_by("id").values()),
        "vectors": [
            (e.task_id, list(e.vector))
            for e in Embedding.objects.filter(workspace_id=workspace_id).order_by("task_id")
        ],
    }


def build(client: WorkspaceClient, tasks, marker: str) -> None:
    for ident, words, tags in tasks:
        body = {
            "id": ident,
            "title": f"{marker} {' '.join(words)}",
            "description": f"secret {marker}",
            "tags": [f"{marker}{tag}" for tag in tags] + [*tags],
        }
        assert client.post("/api/tasks", body).status_code == 201
    first, second = tasks[0][0], tasks[1][0]
    assert client.post("/api/edges", {"source": first, "target": second}).status_code in (200, 201)
    assert client.post("/api/graph/auto-arrange").status_code == 200


def attack(attacker: WorkspaceClient, victim_tasks, victim_edge_ids, marker) -> list[bytes]:
    """Every endpoint, aimed at the victim's rows; the answers' bodies."""
    ids = [ident for ident, _, _ in victim_tasks]
    title = f"{marker} {' '.join(victim_tasks[0][1])}"
    tag = f"{marker}{(victim_tasks[0][2] or ['plan'])[0]}"
    a, b = ids[0], ids[1]
    calls = [
        ("get", "/api/tasks", {}),
        ("get", f"/api/tasks?tag={tag}", {}),
        ("get", f"/api/tasks?q={title}", {}),
        ("get", f"/api/tasks/{a}", {}),
        ("get", f"/api/tasks/{a}?include=embedding", {}),
        ("get", f"/api/tasks/{a}/similar", {}),
        ("patch", f"/api/tasks/{a}", {"title": "taken over"}),
        ("put", f"/api/tasks/{b}", {"status": "done"}),
        ("delete", f"/api/tasks/{a}/cascade", None),
        ("delete", f"/api/tasks/{b}", None),
        ("get", "/api/edges", {}),
        ("post", "/api/edges", {"source": a, "target": b}),
        ("delete", f"/api/edges/{a}/{b}", None),
        *[("delete", f"/api/edges/{pk}", None) for pk in victim_edge_ids],
        ("get", "/api/tags", {}),
        ("post", "/api/tags/suggest-tags", {"title": title, "description": f"secret {marker}"}),
        ("get", "/api/graph", {}),
        ("post", "/api/graph/auto-arrange", None),
        ("get", "/api/graph/suggested-edges?min_score=-1", {}),
        (
            "post",
            "/api/tasks/sync",
            {
                "cursor": None,
                "tasks": [
                    {"id": a, "title": "mine now", "base_version": 1},
                    {"id": b, "deleted": True},
                    {"id": "x", "title": "other ws", "workspace_id": "victim-of-choice"},
                ],
                "edges": [{"source": a, "target": b}],
            },
        ),
        ("post", "/api/tasks/sync", {"tasks": [{"id": a, "title": "old protocol"}]}),
    ]
    bodies = []
    for method, path, data in calls:
        response = (
            getattr(attacker, method)(path, data)
            if data is not None
            else getattr(attacker, method)(path)
        )
        assert response.status_code < 500, (method, path, response.content)
        bodies.append(response.content)
    out = io.StringIO()
    call_command("export_workspace", attacker.workspace_id, stdout=out, stderr=io.StringIO())
    bodies.append(out.getvalue().encode())
    return bodies


@pytest.mark.slow
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(victim_tasks=TASKS, attacker_tasks=TASKS)
def test_no_workspace_reaches_another(db, victim_tasks, attacker_tasks):
    run = uuid.uuid4().hex[:10]
    marker = f"zq{run}"  # in every victim text and tag, never sent by the attacker's own rows
    victim = WorkspaceClient(f"victim-{run}")
    attacker = WorkspaceClient(f"attacker-{run}")
    build(victim, victim_tasks, marker)
    build(attacker, attacker_tasks, f"own{run}")
    before = snapshot(victim.workspace_id)
    edge_ids = [e["id"] for e in before["edges"]]
    for body in attack(attacker, victim_tasks, edge_ids, marker):
        assert marker.encode() not in body
        assert victim.workspace_id.encode() not in body
    assert snapshot(victim.workspace_id) == before
    # The victim still sees all of its own data.
    assert {t["id"] for t in victim.get("/api/tasks").json()} == {t[0] for t in victim_tasks}
    assert json.dumps(victim.get("/api/graph").json()).count(marker) >= len(victim_tasks)


@pytest.mark.parametrize("model", ["embedding", "edge"])
@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_a_row_filed_under_another_workspace_than_its_task(model):
    """Embeddings and edges carry their workspace; composite foreign keys tie it to their tasks'.
    The keys are deferred: checked when the transaction commits (on Citus, on the worker holding
    the row: a SET CONSTRAINTS on the coordinator would not reach it), so this one commits."""
    alpha, beta = Workspace.objects.create(id="alpha"), Workspace.objects.create(id="beta")
    task = Task.objects.create(workspace=alpha, client_id="a", title="A")
    other = Task.objects.create(workspace=alpha, client_id="b", title="B")
    # On Citus the worker's refusal at commit reaches the coordinator as "could not commit
    # transaction for shard ..." (an InternalError); the constraint's name stays in the worker's log.
    refused = (
        (InternalError, "could not commit") if on_citus() else (IntegrityError, "same_workspace")
    )
    with pytest.raises(refused[0], match=refused[1]), transaction.atomic():
        if model == "embedding":
            Embedding.objects.create(
                task=task, workspace=beta, vector=[0.1] * django_settings.LINKDO_EMBEDDING_DIM
            )
        else:
            Edge.objects.create(workspace=beta, source=task, target=other)
    assert not Embedding.objects.exists() and not Edge.objects.exists()
