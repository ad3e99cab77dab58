"""LinkDo on the Citus cluster (make test-citus; skipped elsewhere).

The tenant tables are distributed by workspace (tasks migration 0017). Every statement that the
main flows run against them (REST, sync, map, stats, capture, tag suggestions, the embedding job)
must be planned as one task on the node holding the workspace: each distributed table filtered by
the same workspace id or joined on it (SameWorkspaceForeignKey, the hand-written SQL). A statement
that is not would fan out to every shard (slow) or fail (a repartition join). Here each flow's
statements are captured as they run and each is explained again."""

import re

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pgvector.django import CosineDistance

from graph.map import embed_pending
from linkdo.ai import get_provider
from linkdo.db import set_local_sql
from tasks.embeddings import embeddings_store
from tasks.models import Task
from tasks.selectors import task_list, tasks_nearest
from tests.conftest import WorkspaceClient
from tests.factories import TaskFactory, WorkspaceFactory
from tests.helpers import on_citus, workspace_beside

pytestmark = [
    pytest.mark.skipif(not on_citus(), reason="needs the Citus cluster: make test-citus"),
    pytest.mark.django_db,
]

DISTRIBUTED = re.compile(
    r'"?\b(tasks_task|tasks_embedding|graph_edge|tasks_taskcount|workspaces_workspace|'
    r'workspaces_idempotentrequest)\b"?'
)
# Temporary tables a statement joins (the arrangement's positions, copied in by COPY).
COORDINATOR_TABLES = ("incoming_positions",)
NOT_PLANNED = ("SAVEPOINT", "RELEASE", "ROLLBACK", "SET ", "COPY", "SELECT PG_NOTIFY", "SHOW")


def explained(statement: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + statement)
        return "\n".join(row[0] for row in cursor.fetchall())


def distributed_statements(queries) -> list[str]:
    statements = [q["sql"] for q in queries]
    return [
        s for s in statements
        if DISTRIBUTED.search(s) and not s.lstrip().upper().startswith(NOT_PLANNED)
    ]  # fmt: skip


def task_counts(plan: str) -> list[int]:
    return [int(n) for n in re.findall(r"Task Count: (\d+)", plan)]


def assert_one_node(queries, workspace_id: str) -> int:
    """Every captured statement on a distributed table is planned as one task (Citus' router)."""
    statements = distributed_statements(queries)
    assert statements
    spread = []
    for statement in statements:
        plan = explained(statement)
        assert "Citus" in plan, plan
        counts = task_counts(plan)
        if "INSERT/SELECT method: pull to coordinator" in plan and not counts:
            # Rows made from the statement's parameters (jsonb_to_recordset, unnest: no table
            # read), each sent to the shard of its workspace_id, the one value the statement names.
            assert f"'{workspace_id}'" in statement, statement
            continue
        # One task, and one round trip: a "Distributed Subplan" is a step run on its own and its
        # rows copied back (the link statement ran as 28 of them, all on the one worker). Only a
        # table of the coordinator's session is shipped to the worker first (one subplan).
        subplans = plan.count("Distributed Subplan")
        shipped = sum(table in statement for table in COORDINATOR_TABLES)
        if not counts or any(n != 1 for n in counts) or subplans > shipped:
            spread.append((statement[:300], plan[:600]))
    assert spread == []
    return len(statements)


def drive_rest(client):
    assert (
        client.post("/api/tasks", {"id": "t1", "title": "Buy milk", "tags": ["home"]}).status_code
        == 201
    )
    assert (
        client.post("/api/tasks", {"id": "t2", "title": "Buy bread", "tags": ["home"]}).status_code
        == 201
    )
    body = {"id": "t3", "title": "Water plants", "tags": ["home"], "recurrence": "FREQ=WEEKLY",
            "due_date": "2026-12-08T09:00:00Z"}  # fmt: skip
    assert client.post("/api/tasks", body).status_code == 201
    assert (
        client.patch(
            "/api/tasks/t1", {"title": "Buy oat milk", "tags": ["home", "shop"]}
        ).status_code
        == 200
    )
    assert client.patch("/api/tasks/t3", {"status": "done"}).status_code == 200  # next occurrence
    assert client.get("/api/tasks").status_code == 200
    assert client.get("/api/tasks?tag=home&status=todo").status_code == 200
    assert client.get("/api/tasks/t1?include=embedding").status_code == 200
    assert client.get("/api/tasks/t1/similar?k=5").status_code == 200
    assert client.get("/api/tasks?q=milk").status_code == 200
    assert client.get("/api/tags").status_code == 200
    assert client.post("/api/tags/suggest-tags", {"title": "Buy eggs"}).status_code == 200
    assert client.post("/api/tasks", {"id": "t4", "title": "Call the plumber"}).status_code == 201
    edge = client.post("/api/edges", {"source": "t1", "target": "t4", "weight": 0.9})
    assert edge.status_code == 201
    assert client.get("/api/edges").status_code == 200
    assert client.delete(f"/api/edges/{edge.json()['id']}").status_code in (200, 204)
    assert client.post("/api/edges", {"source": "t2", "target": "t4"}).status_code == 201
    assert client.delete("/api/edges/t4/t2").status_code in (200, 204)
    assert client.delete("/api/tasks/t2/cascade").status_code == 200


def drive_map_and_stats(client):
    assert client.get("/api/graph").status_code == 200
    assert client.get("/api/graph?fields=compact").status_code == 200
    assert client.post("/api/graph/auto-arrange", {}).status_code == 200
    assert client.get("/api/graph/suggested-edges?min_score=0.1").status_code == 200
    assert client.get("/api/stats?days=30&timezone=Asia/Seoul").status_code == 200


def drive_sync(client):
    tasks = [
        {"id": f"s{i}", "title": f"Synced {i}", "tags": ["sync", f"g{i % 3}"]} for i in range(60)
    ]
    edges = [{"source": "s0", "target": "s1", "weight": 0.7}]
    first = client.post("/api/tasks/sync", {"tasks": tasks, "edges": edges, "cursor": None})
    assert first.status_code == 200, first.content
    cursor = first.json()["cursor"]
    again = [{"id": "s0", "base_version": 1, "title": "Synced again", "status": "done"},
             {"id": "s5", "deleted": True}]  # fmt: skip
    second = client.post("/api/tasks/sync", {"tasks": again, "edges": [], "cursor": cursor})
    assert second.status_code == 200, second.content
    assert (
        client.post("/api/tasks/sync", {"tasks": [], "edges": [], "cursor": None}).status_code
        == 200
    )


def drive_capture(client):
    body = {"text": "내일 방 청소하고 빨래하기. Call mom every Friday at 6pm !!", "create": True}
    assert client.post("/api/tasks/parse", body).status_code == 201


@pytest.mark.parametrize(
    "drive", [drive_rest, drive_map_and_stats, drive_sync, drive_capture],
    ids=["rest", "map-and-stats", "sync", "capture"],
)  # fmt: skip
def test_every_statement_of_the_main_flows_runs_on_one_node(drive):
    client = WorkspaceClient("routing")
    if drive is drive_map_and_stats:
        drive_rest(client)
    with CaptureQueriesContext(connection) as captured:
        drive(client)
    assert assert_one_node(captured.captured_queries, "routing") >= 3


def test_the_embedding_job_statements_run_on_one_node(settings):
    settings.LINKDO_EMBED_ON_WRITE = "background"
    client = WorkspaceClient("routing-job")
    for i in range(4):
        assert client.post("/api/tasks", {"id": f"j{i}", "title": f"Job {i}"}).status_code == 201
    assert Task.objects.filter(workspace_id="routing-job", embedding_hash__isnull=True).count() == 4
    with CaptureQueriesContext(connection) as captured:
        assert embed_pending(workspace_id="routing-job") == 4
    assert assert_one_node(captured.captured_queries, "routing-job") >= 3
    assert not Task.objects.filter(workspace_id="routing-job", embedding_hash__isnull=True).exists()


def _worker_of(workspace_id: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nodeport FROM pg_dist_shard_placement WHERE shardid = "
            "get_shard_id_for_distribution_column('tasks_task', %s)",
            [workspace_id],
        )
        return cursor.fetchone()[0]


def test_two_workspaces_on_different_workers_both_work():
    first = "alpha"
    second = next(f"w{i}" for i in range(1000) if _worker_of(f"w{i}") != _worker_of(first))
    for workspace_id in (first, second):
        client = WorkspaceClient(workspace_id)
        for i in range(3):
            body = {"id": f"t{i}", "title": f"{workspace_id} task {i}", "tags": ["shared"]}
            assert client.post("/api/tasks", body).status_code == 201
    for workspace_id in (first, second):
        client = WorkspaceClient(workspace_id)
        graph = client.get("/api/graph").json()
        assert sorted(t["title"] for t in graph["tasks"]) == [
            f"{workspace_id} task {i}" for i in range(3)
        ]
        assert len(graph["edges"]) == 3  # linked by their shared tag, inside the workspace only
        assert client.get("/api/stats").json()["total"] == 3
    # Each workspace's reads run on its own worker (the rows are uncommitted here, so they are
    # seen through this transaction's connections to the workers, not counted from outside).
    ports = {_worker_of(first), _worker_of(second)}
    assert len(ports) == 2
    for workspace_id in (first, second):
        count = f"SELECT count(*) FROM tasks_task WHERE workspace_id = '{workspace_id}'"
        assert f"port={_worker_of(workspace_id)} " in explained(count)


def test_the_nearest_neighbour_read_walks_the_worker_hnsw_index_and_finds_the_exact_top_ten():
    """Recall on the cluster: another workspace on the same shard fills the shard's HNSW index
    with vectors near the query; with the planner pushed to the index (on the worker, through a
    propagated SET LOCAL), the iterative scan (also propagated) still finds this workspace's exact
    top 10."""
    rng = np.random.default_rng(3)
    mine = WorkspaceFactory(id="recall")
    other = WorkspaceFactory(id=workspace_beside(mine.pk))
    dim = len(get_provider().embed(["x"], deadline_s=5)[0])
    query = rng.normal(size=dim)
    query /= np.linalg.norm(query)
    own = TaskFactory.create_batch(40, workspace=mine)
    crowd = TaskFactory.create_batch(1500, workspace=other)
    own_vectors = rng.normal(size=(40, dim))
    near = query + rng.normal(scale=0.01, size=(1500, dim))
    embeddings_store(
        workspace_id=mine.pk, vectors={t.pk: v for t, v in zip(own, own_vectors, strict=True)}
    )
    embeddings_store(
        workspace_id=other.pk, vectors={t.pk: v for t, v in zip(crowd, near, strict=True)}
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tasks_embedding")
        cursor.execute(set_local_sql({"enable_seqscan": "off", "enable_sort": "off"}))
    queryset = task_list(workspace=mine)
    nearest = queryset.filter(embedding__isnull=False).order_by(
        CosineDistance("embedding__vector", query)
    )
    plan = nearest[:10].explain()
    assert "embedding_vector_hnsw" in plan and "Task Count: 1" in plan
    found = [row[0] for row in tasks_nearest(queryset, query, limit=10, fields=("id",))]
    unit = own_vectors / np.linalg.norm(own_vectors, axis=1, keepdims=True)
    exact = [own[i].pk for i in np.argsort(-(unit @ query))[:10]]
    assert found == exact
