"""The auto-link statement's fast path (choosers without an embedding rank only each tag set's most
recent tasks) must choose exactly what ranking every tag-mate chooses."""

import random

import pytest
from django.db import connection, transaction

from graph.models import Edge
from graph.services import edges_link_by_tags, edges_upsert_manual
from tasks.models import Embedding, Task
from workspaces.services import workspace_begin_change

pytestmark = pytest.mark.django_db

TAGS = ["work"] * 5 + ["home"] * 3 + ["errand", "a", "b", "c", "d", "e", "f"]


def edges_state(workspace) -> set[tuple]:
    """Each edge's ends, choices, weight and whether it is deleted (the time is the caller's clock
    at each call, passed to the statement: the two paths run at different moments)."""
    return {
        (source, target, by_source, by_target, deleted_at is not None, weight)
        for source, target, by_source, by_target, deleted_at, weight in Edge.objects.of(
            workspace
        ).values_list(
            "source_id", "target_id", "chosen_by_source", "chosen_by_target", "deleted_at", "weight"
        )
    }


def both_paths(workspace, ids: list[int]) -> tuple[set, set]:
    """The edges after the fast statement and after the exact one, from the same state."""
    results = []
    for exact in (False, True):
        with transaction.atomic():
            version = workspace_begin_change(workspace=workspace)
            edges_link_by_tags(workspace=workspace, task_ids=ids, version=version, exact=exact)
            results.append(edges_state(workspace))
            transaction.set_rollback(True)
    return results[0], results[1]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 3, 5])
def test_the_fast_path_chooses_what_ranking_every_tag_mate_chooses(ws_a, settings, seed, k):
    settings.LINKDO_AUTOLINKS_PER_TASK = k
    rng = random.Random(seed)
    tasks = Task.objects.bulk_create(
        Task(workspace=ws_a, client_id=f"t{i:03}", title=f"Task {i}",
             tags=sorted(set(rng.sample(TAGS, rng.randint(0, 3)))))
        for i in range(120)
    )  # fmt: skip
    # Varied recency, with ties (equal times go to the client id).
    with connection.cursor() as cursor:
        for task in tasks:
            cursor.execute(
                "UPDATE tasks_task SET updated_at = now() - %s * interval '1 minute' WHERE id = %s",
                [rng.randint(0, 30), task.pk],
            )
    existing, new = tasks[:80], tasks[80:]
    version = workspace_begin_change(workspace=ws_a)
    edges_link_by_tags(workspace=ws_a, task_ids=[t.pk for t in existing], version=version)
    # Manual edges: excluded from the choices and not counted, some on the new tasks.
    links = {tuple(sorted(rng.sample([t.pk for t in tasks], 2))) for _ in range(25)}
    edges_upsert_manual(workspace=ws_a, links=[(a, b, 0.5) for a, b in links], version=version)
    # Half the existing tasks have embeddings: those choose by similarity (the exact path).
    vectors = {t.pk: [rng.random() for _ in range(settings.LINKDO_EMBEDDING_DIM)] for t in existing}
    Embedding.objects.bulk_create(
        Embedding(task=t, workspace=ws_a, vector=vectors[t.pk]) for t in existing[::2]
    )
    retagged = rng.sample(existing, 10)
    for task in retagged:
        task.tags = sorted(set(rng.sample(TAGS, rng.randint(1, 3))))
        task.save(update_fields=["tags"])
    ids = [t.pk for t in [*new, *retagged]]
    fast, exact = both_paths(ws_a, ids)
    assert fast == exact
    assert sum(1 for e in fast if e[2] or e[3]) > 40  # the scenario did choose edges
