"""Bounded auto-links (LINKDO_AUTOLINKS_PER_TASK): each task chooses at most K of its tag-mates,
strongest first; an auto edge lives while one of its ends chooses it."""

import io
from unittest.mock import patch

import pytest
from django.core.management import call_command
from django.db.models import Q

from graph.models import Edge
from linkdo.ai import ProviderError
from tasks.models import Task
from tests.helpers import run_django
from tests.sync.test_sync import sync

pytestmark = pytest.mark.django_db


def live_pairs(workspace_id="alpha") -> set[frozenset]:
    return {
        frozenset((e.source.client_id, e.target.client_id))
        for e in Edge.objects.filter(
            workspace_id=workspace_id, deleted_at__isnull=True, origin="auto"
        ).select_related("source", "target")
    }


def choices(client_id: str, workspace_id="alpha") -> set[str]:
    """The tasks `client_id` chose (its live auto edges flagged on its end)."""
    task = Task.objects.get(workspace_id=workspace_id, client_id=client_id)
    edges = Edge.objects.filter(deleted_at__isnull=True, origin="auto").filter(
        Q(source=task, chosen_by_source=True) | Q(target=task, chosen_by_target=True)
    )
    return {
        (e.target if e.source_id == task.pk else e.source).client_id
        for e in edges.select_related("source", "target")
    }


@pytest.fixture
def k3(settings):
    settings.LINKDO_AUTOLINKS_PER_TASK = 3


def create(client, task_id, tags, title=None):
    body = {"id": task_id, "title": title or f"Task {task_id}", "tags": tags}
    assert client.post("/api/tasks", body).status_code == 201


@pytest.fixture
def no_embeddings(settings):
    """Embeddings pending: ties between equal weights go to the most recently changed."""
    settings.LINKDO_EMBED_TIMEOUT_S = 0.1
    with patch("linkdo.ai.local.LocalProvider.embed", side_effect=ProviderError("down")):
        yield


def test_a_new_task_chooses_its_k_strongest_tag_mates_and_rewires_nobody(
    client_a, k3, no_embeddings
):
    for i in range(6):
        create(client_a, f"w{i}", ["work"])
    create(client_a, "strong", ["work", "report"])
    before = live_pairs()
    create(client_a, "new", ["work", "report"])
    # "strong" shares two tags (weight 1.0); the others share one (0.5): the most recent win ties.
    assert choices("new") == {"strong", "w5", "w4"}
    added = live_pairs() - before
    assert len(added) == 3 and all("new" in pair for pair in added)
    assert live_pairs() >= before  # nobody else was rewired


def test_ties_go_to_the_most_similar_by_embedding(client_a, k3):
    create(client_a, "garden1", ["home"], "Plant tomatoes in the garden")
    create(client_a, "garden2", ["home"], "Water the garden tomatoes")
    create(client_a, "bills", ["home"], "Pay the electricity bill")
    create(client_a, "taxes", ["home"], "File the tax return")
    create(client_a, "new", ["home"], "Garden tomatoes need water")
    mine = choices("new")
    assert {"garden1", "garden2"} <= mine and len(mine) == 3


def test_every_task_with_the_same_tag_stays_within_k_times_n(client_a, k3):
    for i in range(30):
        create(client_a, f"t{i}", ["same"])
    count = Edge.objects.filter(deleted_at__isnull=True, origin="auto").count()
    assert count <= 3 * 30
    for i in range(3, 30):
        assert len(choices(f"t{i}")) == 3
    assert len(choices("t0")) == 0 and len(choices("t2")) == 2  # fewer mates when they came


def test_a_retag_chooses_again_and_the_tasks_that_chose_it_refill(client_a, k3, no_embeddings):
    for i in range(4):
        create(client_a, f"a{i}", ["alpha"])
    create(client_a, "x", ["alpha"])  # chooses a1, a2, a3
    create(client_a, "y", ["alpha"])  # chooses x, a3, a2 (most recent first)
    assert "x" in choices("y")
    client_a.patch("/api/tasks/x", {"tags": ["other"]})
    assert choices("x") == set()
    assert "x" not in choices("y") and len(choices("y")) == 3  # y refilled from a0..a3
    assert not any("x" in pair for pair in live_pairs())


def test_deleting_a_chosen_task_refills_those_that_chose_it(client_a, k3, no_embeddings):
    for i in range(5):
        create(client_a, f"a{i}", ["alpha"])
    create(client_a, "y", ["alpha"])
    assert choices("y") == {"a4", "a3", "a2"}
    response = client_a.delete("/api/tasks/a4")
    assert response.status_code == 200
    assert choices("y") == {"a3", "a2", "a1"}
    assert not any("a4" in pair for pair in live_pairs())
    # Another device pulls the removed edge and the new one.
    pulled = sync(client_a, {"cursor": None})
    assert {
        frozenset((e["source"], e["target"])) for e in pulled["edges"] if not e.get("deleted")
    } >= {frozenset({"y", "a1"})}


def test_manual_edges_stay_and_do_not_count(client_a, k3):
    for i in range(5):
        create(client_a, f"a{i}", ["alpha"])
    assert client_a.post("/api/edges", {"source": "a4", "target": "a0", "weight": 0.9}).status_code
    create(client_a, "y", ["alpha"])
    client_a.post("/api/edges", {"source": "y", "target": "a4", "weight": 0.2})
    client_a.patch("/api/tasks/y", {"tags": ["alpha", "z"]})  # y chooses again
    assert len(choices("y")) == 3 and "a4" not in choices("y")
    manual = Edge.objects.filter(origin="manual", deleted_at__isnull=True).count()
    assert manual == 2


def test_a_sync_push_follows_the_rule_and_answers_with_its_edges(client_a, k3):
    tasks = [{"id": f"p{i}", "title": f"P{i}", "tags": ["work"]} for i in range(10)]
    body = sync(client_a, {"cursor": None, "tasks": tasks})
    assert len(body["edges"]) == Edge.objects.filter(deleted_at__isnull=True).count()
    assert len(body["edges"]) <= 3 * 10
    for i in range(10):
        assert len(choices(f"p{i}")) == 3  # one push: every task chose among all the others


@pytest.mark.parametrize(("bound", "expected"), [(0, 0), (None, 15)])
def test_zero_means_no_auto_links_and_all_the_old_rule(client_a, settings, bound, expected):
    settings.LINKDO_AUTOLINKS_PER_TASK = bound
    for i in range(6):
        create(client_a, f"t{i}", ["same"])
    assert len(live_pairs()) == expected  # all: 6 * 5 / 2


def test_with_zero_a_retag_takes_back_choices_made_under_an_earlier_bound(
    client_a, settings, no_embeddings
):
    settings.LINKDO_AUTOLINKS_PER_TASK = 3
    for i in range(4):
        create(client_a, f"t{i}", ["same"])
    assert choices("t3") == {"t0", "t1", "t2"}
    settings.LINKDO_AUTOLINKS_PER_TASK = 0
    assert client_a.patch("/api/tasks/t3", {"tags": ["same", "x"]}).status_code == 200
    assert choices("t3") == set()  # t3 chose again, and with 0 chooses nobody
    assert live_pairs() == {frozenset(p) for p in (("t1", "t0"), ("t2", "t0"), ("t2", "t1"))}


def test_relink_prunes_stored_edges_and_devices_pull_the_removal(client_a, client_b, settings):
    settings.LINKDO_AUTOLINKS_PER_TASK = None  # the old, unbounded rule made these
    for i in range(8):
        create(client_a, f"t{i}", ["same"])
        create(client_b, f"t{i}", ["same"])
    assert len(live_pairs()) == 28
    cursor = sync(client_a, {"cursor": None})["cursor"]
    settings.LINKDO_AUTOLINKS_PER_TASK = 2
    out = io.StringIO()
    call_command("relink", "--workspace", "alpha", "--dry-run", stdout=out)
    assert "28 before" in out.getvalue() and "dry run" in out.getvalue()
    assert len(live_pairs()) == 28
    call_command("relink", "--workspace", "alpha", stdout=io.StringIO())
    pairs = live_pairs()
    assert len(pairs) <= 2 * 8
    for i in range(8):
        assert len(choices(f"t{i}")) == 2
    pulled = sync(client_a, {"cursor": cursor})
    removed = [e for e in pulled["edges"] if e.get("deleted")]
    assert len(removed) == 28 - len(pairs)
    assert len(live_pairs("bravo")) == 28  # --workspace: the other workspace is untouched


def test_import_keeps_who_chose_each_edge(client_a, k3, tmp_path):
    for i in range(6):
        create(client_a, f"t{i}", ["same"])
    out = io.StringIO()
    call_command("export_workspace", "alpha", stdout=out)
    path = tmp_path / "export.json"
    path.write_text(out.getvalue())
    call_command("import_workspace", str(path), "--workspace", "copy", stdout=io.StringIO())
    assert live_pairs("copy") == live_pairs("alpha")
    for i in range(6):
        assert choices(f"t{i}", "copy") == choices(f"t{i}", "alpha")
    again = io.StringIO()
    call_command("import_workspace", str(path), "--workspace", "copy", stdout=again)
    assert "edges 0 created, 0 updated" in again.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize("raw", ["-1", "five", "2.5"])
def test_a_malformed_bound_stops_the_process_and_names_the_variable(raw):
    result = run_django("", LINKDO_AUTOLINKS_PER_TASK=raw, DJANGO_DEBUG="true")
    assert result.returncode != 0
    assert "LINKDO_AUTOLINKS_PER_TASK" in result.stderr
