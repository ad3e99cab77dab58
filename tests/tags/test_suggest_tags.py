import numpy as np
import pytest
from django.core.cache import cache
from django.db import connection
from pgvector.django import CosineDistance

from linkdo.ai import get_provider
from linkdo.db import set_local_sql
from tasks.embeddings import embeddings_store
from tasks.selectors import task_list, tasks_nearest
from tests.factories import TaskFactory, WorkspaceFactory
from tests.helpers import workspace_beside

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()


def groceries_workspace(client):
    for i, (title, tags) in enumerate(
        [
            ("Buy milk and eggs at the grocery store", ["groceries", "errand"]),
            ("Grocery shopping: bread, milk, cheese", ["groceries"]),
            ("Fix the login bug in the backend API", ["code", "bug"]),
            ("Write unit tests for the API", ["code"]),
        ]
    ):
        assert (
            client.post("/api/tasks", {"id": f"t{i}", "title": title, "tags": tags}).status_code
            == 201
        )


def test_offline_votes_among_similar_tasks(client_a, slash):
    groceries_workspace(client_a)
    response = client_a.post(f"/api/tags/suggest-tags{slash}", {"title": "Buy milk and bread"})
    assert response.status_code == 200
    body = response.json()
    assert body["source"] == "similar"
    assert body["tags"][0] == "groceries"
    assert "code" not in body["tags"][:2]
    assert len(body["tags"]) <= 5


def test_existing_tags_found_in_the_text_are_suggested(client_a, ws_a):
    TaskFactory(workspace=ws_a, tags=["taxes", "family"])
    body = client_a.post("/api/tags/suggest-tags", {"title": "Send the taxes form"}).json()
    assert body == {"tags": ["taxes"], "source": "similar"}


def test_empty_workspace_gets_an_empty_list_not_an_error(client_a):
    response = client_a.post("/api/tags/suggest-tags", {"title": "Anything", "description": ""})
    assert response.status_code == 200
    assert response.json() == {"tags": [], "source": "similar"}


@pytest.mark.parametrize(
    ("body", "field"),
    [({"title": ""}, "title"), ({"title": "  "}, "title"), ({}, "title"), ({"title": 5}, "title")],
)
def test_empty_or_bad_title_is_400(client_a, body, field):
    response = client_a.post("/api/tags/suggest-tags", body)
    assert response.status_code == 400
    assert field in response.json()


def test_other_workspaces_tags_never_appear(client_a, client_b):
    groceries_workspace(client_a)
    body = client_b.post("/api/tags/suggest-tags", {"title": "Buy milk and bread groceries"}).json()
    assert body == {"tags": [], "source": "similar"}


def test_gemini_suggests_with_the_workspace_vocabulary_and_caches(client_a, gemini):
    groceries_workspace(client_a)
    gemini.reset()
    body = {"title": "Plan the week", "description": "shopping list"}
    first = client_a.post("/api/tags/suggest-tags", body)
    assert first.status_code == 200
    assert first.json() == {"tags": ["planning", "work", "writing"], "source": "llm"}
    prompt = gemini.requests[-1][1]["contents"][0]["parts"][0]["text"]
    assert '"code", "groceries"' in prompt  # most used first, then alphabetical
    assert client_a.post("/api/tags/suggest-tags", body).json() == first.json()
    assert gemini.calls["generateContent"] == 1  # the repeat came from the cache
    client_a.post("/api/tasks", {"id": "new", "title": "N", "tags": ["fresh-tag"]})
    client_a.post("/api/tags/suggest-tags", body)
    assert gemini.calls["generateContent"] == 2  # the vocabulary changed


def test_llm_tags_are_cleaned_and_topped_up_to_three(client_a, gemini):
    groceries_workspace(client_a)
    gemini.tags_answer = ["  groceries ", "groceries", "x" * 80]
    # The fake's vectors carry no meaning; the third tag comes from the text naming an existing tag.
    body = client_a.post("/api/tags/suggest-tags", {"title": "Milk, then the bug"}).json()
    assert body == {"tags": ["groceries", "x" * 50, "bug"], "source": "llm"}


@pytest.mark.parametrize("mode", ["error500", "hang", "garbage"])
def test_gemini_failure_falls_back_to_similar_tasks(client_a, gemini, mode):
    groceries_workspace(client_a)
    gemini.mode = mode
    response = client_a.post("/api/tags/suggest-tags", {"title": "Buy milk and bread"})
    assert response.status_code == 200
    assert response.json()["source"] == "similar"


def test_neighbours_are_found_when_another_workspace_fills_the_vector_index(client_a, ws_a):
    """Tag suggestions read neighbours through the one nearest-neighbour selector: when the planner
    walks the HNSW index (as on a database holding a large other workspace), the workspace filter
    must not leave them with too few. The other workspace's 1,500 tasks carry the very text asked
    about (nearly), so a plain HNSW scan (40 candidates) meets none of this workspace's tasks."""
    groceries_workspace(client_a)
    same_text = "Buy milk and bread"
    other = WorkspaceFactory(id=workspace_beside(ws_a.pk))  # on Citus: in the same shard's index
    tasks = TaskFactory.create_batch(1500, workspace=other, title=same_text, tags=["other"])
    vector = get_provider().embed([same_text], deadline_s=5)[0]
    # Near the asked text, each a little apart (identical vectors make a degenerate HNSW graph).
    noise = np.random.default_rng(7).normal(scale=0.01, size=(len(tasks), len(vector)))
    near = (vector + noise) / np.linalg.norm(vector + noise, axis=1, keepdims=True)
    embeddings_store(
        workspace_id=other.pk, vectors=dict(zip([t.pk for t in tasks], near, strict=True))
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tasks_embedding")
        # The planner's choice on a big database, made here: walk the index in distance order.
        # (SET LOCAL: on Citus it reaches the worker that runs the read.)
        cursor.execute(set_local_sql({"enable_seqscan": "off", "enable_sort": "off"}))
    try:
        query = task_list(workspace=ws_a).filter(embedding__isnull=False)
        ordered = query.annotate(distance=CosineDistance("embedding__vector", vector))
        assert "embedding_vector_hnsw" in ordered.order_by("distance")[:10].explain()
        neighbours = tasks_nearest(task_list(workspace=ws_a), vector, limit=10, fields=("tags",))
        body = client_a.post("/api/tags/suggest-tags", {"title": same_text}).json()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(set_local_sql({"enable_seqscan": "DEFAULT", "enable_sort": "DEFAULT"}))
    assert len(neighbours) == 4  # every embedded task of this workspace
    assert body["source"] == "similar"
    assert body["tags"][0] == "groceries"
    assert "other" not in body["tags"]
