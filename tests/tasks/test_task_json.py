"""Every path that answers tasks answers exactly the keys declared in tasks.task_json, in order
(plus what that path adds: `score`, `version`, `embedding`), and the OpenAPI schema describes
exactly those keys."""

import pytest

from graph.selectors import COMPACT_TASK_OMITS
from tasks.openapi import TaskSerializer
from tasks.task_json import EMBEDDING_KEY, TASK_JSON_KEYS

DECLARED = list(TASK_JSON_KEYS)


@pytest.fixture
def filled(client_a):
    for i, title in enumerate(["Water the plants", "Water the garden", "Call the plumber"]):
        body = {"id": f"t{i}", "title": title, "tags": ["home"], "due_date": "2026-12-24"}
        assert client_a.post("/api/tasks", body).status_code == 201
    return client_a


def keys(task: dict) -> list[str]:
    return list(task)


def test_writes_answer_the_declared_keys(client_a):
    created = client_a.post("/api/tasks", {"id": "w1", "title": "Write", "tags": ["a"]})
    assert created.status_code == 201
    assert keys(created.json()) == DECLARED
    updated = client_a.patch("/api/tasks/w1", {"title": "Write more"})
    assert updated.status_code == 200
    assert keys(updated.json()) == DECLARED
    parsed = client_a.post("/api/tasks/parse", {"text": "buy milk tomorrow", "create": True})
    assert parsed.status_code == 201
    assert parsed.json()["tasks"]
    assert all(keys(task) == DECLARED for task in parsed.json()["tasks"])


def test_reads_answer_the_declared_keys(filled):
    one = filled.get("/api/tasks/t0")
    assert one.status_code == 200 and keys(one.json()) == DECLARED
    with_vector = filled.get("/api/tasks/t0?include=embedding").json()
    assert keys(with_vector) == [*DECLARED, EMBEDDING_KEY]
    listed = filled.get("/api/tasks").json()
    assert len(listed) == 3 and all(keys(task) == DECLARED for task in listed)
    searched = filled.get("/api/tasks?q=water").json()
    assert searched and all(keys(task) == [*DECLARED, "score"] for task in searched)
    similar = filled.get("/api/tasks/t0/similar").json()
    assert similar and all(keys(task) == [*DECLARED, "score"] for task in similar)


def test_graph_answers_the_declared_keys(filled):
    graph = filled.get("/api/graph").json()
    assert len(graph["tasks"]) == 3 and all(keys(task) == DECLARED for task in graph["tasks"])
    compact = filled.get("/api/graph?fields=compact").json()
    expected = [key for key in DECLARED if key not in COMPACT_TASK_OMITS]
    assert all(keys(task) == expected for task in compact["tasks"])


def test_sync_answers_the_declared_keys(filled):
    pulled = filled.post("/api/tasks/sync", {"cursor": None}).json()
    assert len(pulled["tasks"]) == 3
    assert all(keys(task) == [*DECLARED, "version"] for task in pulled["tasks"])
    old = filled.post("/api/tasks/sync", {"tasks": []}).json()
    assert all(keys(task) == DECLARED for task in old["tasks"])
    # A conflict's server copy is the task JSON too.
    item = {"id": "t0", "title": "Edited offline", "base_version": 1}
    filled.patch("/api/tasks/t0", {"title": "Edited online"})
    answer = filled.post("/api/tasks/sync", {"tasks": [item], "cursor": None}).json()
    conflict = answer["results"][0]
    assert conflict["status"] == "conflict"
    assert keys(conflict["server"]) == [*DECLARED, "version"]


def test_the_schema_describes_the_declared_keys():
    assert list(TaskSerializer().fields) == [*DECLARED, EMBEDDING_KEY]
