"""export_workspace / import_workspace: lossless (ids, fields, positions, vectors, edges, basis),
all or nothing, idempotent, and scoped to one workspace."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from graph.models import Edge
from tasks.models import Embedding, Task
from tests.conftest import WorkspaceClient
from tests.factories import TaskFactory
from workspaces.models import Workspace

TASK_COLUMNS = ("client_id", "title", "description", "priority", "status", "category", "tags",
                "due_date", "due_date_has_time", "x", "y", "cluster", "embedding_hash",
                "created_at", "updated_at")  # fmt: skip


@pytest.fixture
def filled(ws_a, ws_b):
    client = WorkspaceClient("alpha")
    for i, tags in enumerate([["home", "garden"], ["home"], ["work"], ["work", "home"]]):
        body = {"id": f"t{i}", "title": f"Task {i} 할 일", "tags": tags, "priority": "high"}
        assert client.post("/api/tasks", body).status_code == 201
    client.patch("/api/tasks/t0", {"due_date": "2026-12-24", "description": "with\nlines"})
    client.patch("/api/tasks/t1", {"due_date": "2026-12-24T09:30:00+09:00", "status": "done"})
    client.post("/api/edges", {"source": "t0", "target": "t2", "weight": 0.25})
    client.post("/api/tasks", {"id": "gone", "title": "Deleted", "tags": ["home"]})
    client.delete("/api/tasks/gone")
    assert client.post("/api/graph/auto-arrange").status_code == 200
    TaskFactory(workspace=ws_b, client_id="b-secret", title="Bravo secret", tags=["home"])
    return client


def export(workspace_id: str) -> dict:
    out = io.StringIO()
    call_command("export_workspace", workspace_id, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def import_file(tmp_path, document, *args) -> str:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    out = io.StringIO()
    call_command("import_workspace", str(path), *args, stdout=out)
    return out.getvalue()


def rows(workspace_id):
    tasks = Task.objects.filter(workspace_id=workspace_id, deleted_at__isnull=True)
    return {r[0]: r for r in tasks.values_list(*TASK_COLUMNS)}


def edges(workspace_id):
    live = Edge.objects.filter(workspace_id=workspace_id, deleted_at__isnull=True)
    return {
        (frozenset((s, t)), w, o)
        for s, t, w, o in live.values_list(
            "source__client_id", "target__client_id", "weight", "origin"
        )
    }


def vectors(workspace_id):
    return {
        cid: list(v)
        for cid, v in Embedding.objects.filter(
            workspace_id=workspace_id, task__deleted_at__isnull=True
        ).values_list("task__client_id", "vector")
    }


def test_export_holds_the_live_workspace_and_nothing_else(filled):
    document = export("alpha")
    ids = [t["id"] for t in document["tasks"]]
    assert ids == ["t0", "t1", "t2", "t3"]
    assert "gone" not in json.dumps(document) and "Bravo" not in json.dumps(document)
    t0 = document["tasks"][0]
    assert t0["due_date"] == "2026-12-24" and t0["description"] == "with\nlines"
    assert len(t0["embedding"]) == 768 and t0["embedding_hash"]
    assert {"source": "t0", "target": "t2", "weight": 0.25, "origin": "manual"} in document["edges"]
    assert len(document["layout"]["layout_mean"]) == 768


def test_import_into_another_workspace_is_lossless(filled, tmp_path):
    document = export("alpha")
    message = import_file(tmp_path, document, "--workspace", "copy")
    assert "tasks 4 created" in message and "edges" in message
    assert rows("copy") == rows("alpha")
    assert edges("copy") == edges("alpha")
    assert vectors("copy") == vectors("alpha")
    original, copy = Workspace.objects.get(pk="alpha"), Workspace.objects.get(pk="copy")
    assert list(copy.layout_wx) == list(original.layout_wx)
    assert copy.layout_clusters == original.layout_clusters
    # The API shows the same map.
    a = WorkspaceClient("alpha").get("/api/graph").json()
    c = WorkspaceClient("copy").get("/api/graph").json()
    for task in a["tasks"] + c["tasks"]:
        del task["workspace_id"]
    assert a["tasks"] == c["tasks"]
    assert len(a["edges"]) == len(c["edges"])


def test_reimport_changes_nothing(filled, tmp_path):
    document = export("alpha")
    before = (rows("alpha"), edges("alpha"), Workspace.objects.get(pk="alpha").change_version)
    versions = list(Task.objects.order_by("id").values_list("version", flat=True))
    message = import_file(tmp_path, document)
    assert "tasks 0 created, 0 updated, 4 unchanged" in message
    assert "edges 0 created, 0 updated" in message
    after = (rows("alpha"), edges("alpha"), Workspace.objects.get(pk="alpha").change_version)
    assert after == before
    assert list(Task.objects.order_by("id").values_list("version", flat=True)) == versions


def test_import_restores_edited_and_deleted_rows_with_new_versions(filled, tmp_path):
    document = export("alpha")
    expected = rows("alpha")
    filled.patch("/api/tasks/t2", {"title": "Changed after the export"})
    filled.delete("/api/tasks/t3")
    version = Workspace.objects.get(pk="alpha").change_version
    message = import_file(tmp_path, document)
    assert "tasks 0 created, 2 updated, 2 unchanged" in message
    assert rows("alpha") == expected
    # Other devices pull the restored rows: they carry a new change version.
    restored = Task.objects.filter(workspace_id="alpha", client_id__in=["t2", "t3"])
    assert {t.version for t in restored} == {version + 1}
    assert Embedding.objects.get(task__client_id="t2").vector is not None


def _add_bad_edge(document):
    document["edges"].append({"source": "t0", "target": "nope", "weight": 0.5, "origin": "manual"})


@pytest.mark.parametrize(
    ("damage", "workspace", "message"),
    [
        (lambda d: d.update(format="something-else"), "fresh", "not a LinkDo workspace export"),
        (lambda d: d["tasks"].append(dict(d["tasks"][0])), "fresh", "names a task id twice"),
        (_add_bad_edge, "fresh", "does not join two tasks"),
        (lambda d: d["tasks"][1].update(title="\x00"), "fresh", "task #1"),
        (lambda d: d["tasks"][2].update(embedding=[0.1, 0.2]), "fresh", "2-dimension vector"),
        (lambda d: None, "x" * 200, "at most 128 characters"),
    ],
)
def test_a_bad_file_imports_nothing(filled, tmp_path, damage, workspace, message):
    document = export("alpha")
    damage(document)
    before = Task.objects.count(), Edge.objects.count(), Workspace.objects.count()
    with pytest.raises(CommandError, match=message):
        import_file(tmp_path, document, "--workspace", workspace)
    assert (Task.objects.count(), Edge.objects.count(), Workspace.objects.count()) == before


def test_unreadable_inputs_are_clear_errors(db, tmp_path):
    with pytest.raises(CommandError, match="No workspace with id 'missing'"):
        call_command("export_workspace", "missing", stdout=io.StringIO())
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(CommandError, match="is not JSON"):
        call_command("import_workspace", str(bad))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_workspace", str(tmp_path / "absent.json"))


def test_import_touches_only_its_workspace(filled, tmp_path):
    bravo_before = rows("bravo")
    import_file(tmp_path, export("alpha"), "--workspace", "copy")
    assert rows("bravo") == bravo_before
    assert Workspace.objects.get(pk="bravo").change_version == 0


# Issue 30, items 6, 10 and 15: what an import must refuse, and what must travel.
@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: d["tasks"][0].update(embedding=[0.0] * 768), "all zeros"),
        (
            lambda d: d["tasks"][0].update(embedding=[float("nan")] + [0.1] * 767),
            "task #0: embedding: 0: A valid number",
        ),
        (
            lambda d: d["tasks"][0].update(embedding=[float("inf")] + [0.1] * 767),
            "task #0: embedding: 0: A valid number",
        ),
        (lambda d: d["tasks"][0].update(embedding=[1e300] + [0.1] * 767), "not a finite"),
        (lambda d: d["layout"].update(layout_bx="abc"), "layout: layout_bx"),
        (lambda d: d["layout"].update(arranged_at="yesterday"), "layout: arranged_at"),
        (lambda d: d["layout"].update(layout_clusters="garbage"), "layout: layout_clusters"),
        (lambda d: d.update(layout="garbage"), "'layout' must be an object"),
    ],
)
def test_a_malformed_file_is_one_error_naming_the_field(filled, tmp_path, damage, message):
    document = export("alpha")
    damage(document)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document), encoding="utf-8")  # NaN and Infinity as JSON allows
    before = Task.objects.count(), Edge.objects.count(), Workspace.objects.count()
    with pytest.raises(CommandError, match=message):
        call_command("import_workspace", str(path), "--workspace", "fresh", stdout=io.StringIO())
    assert (Task.objects.count(), Edge.objects.count(), Workspace.objects.count()) == before


def test_reads_skip_a_stored_zero_vector_instead_of_failing(filled):
    # A zero vector stored before imports refused them: no cosine distance (NaN).
    Embedding.objects.filter(task__client_id="t0").update(vector=[0.0] * 768)
    client = WorkspaceClient("alpha")
    similar = client.get("/api/tasks/t1/similar")
    assert similar.status_code == 200
    assert "t0" not in [t["id"] for t in similar.json()]
    assert client.get("/api/tasks/t0/similar").json() == []
    search = client.get("/api/tasks", {"q": "Task"})
    assert search.status_code == 200
    assert all(t["score"] is not None for t in search.json())


def test_an_export_imported_back_changes_nothing_after_a_post_made_an_auto_edge_manual(
    filled, tmp_path
):
    auto = Edge.objects.filter(workspace_id="alpha", origin="auto", deleted_at__isnull=True)
    edge = auto.select_related("source", "target").first()
    body = {"source": edge.source.client_id, "target": edge.target.client_id, "weight": 0.6}
    assert filled.post("/api/edges", body).status_code == 200
    before = Workspace.objects.get(pk="alpha").change_version
    message = import_file(tmp_path, export("alpha"))
    assert "edges 0 created, 0 updated" in message
    assert Workspace.objects.get(pk="alpha").change_version == before


def test_a_deleted_auto_edge_travels_and_relink_does_not_bring_it_back(filled, tmp_path):
    auto = Edge.objects.filter(workspace_id="alpha", origin="auto", deleted_at__isnull=True)
    edge = auto.select_related("source", "target").first()
    pair = (edge.source.client_id, edge.target.client_id)
    assert filled.delete(f"/api/edges/{pair[0]}/{pair[1]}").status_code == 200
    document = export("alpha")
    assert {"source": pair[0], "target": pair[1], "weight": edge.weight, "origin": "manual",
            "deleted": True} in document["edges"]  # fmt: skip
    import_file(tmp_path, document, "--workspace", "copy")
    # A second import of the same file changes nothing.
    assert "edges 0 created, 0 updated" in import_file(tmp_path, document, "--workspace", "copy")
    call_command("relink", "--workspace", "copy", stdout=io.StringIO())
    assert edges("copy") == edges("alpha")
    assert pair not in edges("copy") and pair[::-1] not in edges("copy")
