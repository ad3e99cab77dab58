"""The auto-link statement reads only the workspace's rows. A push of more than NESTED_LOOPS_UP_TO
tasks runs it with nested loops off, so a join by id alone hashes the whole table, every
workspace's rows: with 300,000 tasks of another workspace in tasks_task, a push's statement took
669 ms instead of 363 (docs/PERFORMANCE.md). The plan shows each table read with its conditions,
whichever scan the planner picks, so this holds on the tests' tiny tables too."""

import pytest
from django.db import connection

from graph.services import _LINK_BY_TAGS_SQL
from tasks.models import Task
from tests.helpers import not_on_citus

pytestmark = [
    pytest.mark.django_db,
    not_on_citus(
        "the plan is the coordinator's (one Citus custom scan); tests/test_citus.py checks there "
        "that the statement runs as one task on the workspace's node"
    ),
]

TABLES = {"tasks_task", "tasks_embedding", "graph_edge"}


def nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def reads(exact: bool, workspace, ids) -> list[dict]:
    params = {"ws": workspace.pk, "ids": ids, "version": 2, "k": 5, "exact": exact, "now": None}
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute("EXPLAIN (FORMAT JSON) " + _LINK_BY_TAGS_SQL, params)
        ((explained,),) = cursor.fetchall()
    return [
        node
        for node in nodes(explained[0]["Plan"])
        if node.get("Relation Name") in TABLES and node["Node Type"] != "ModifyTable"
    ]


@pytest.mark.parametrize("exact", [False, True])
def test_every_read_of_a_table_is_limited_to_the_workspace(ws_a, ws_b, exact):
    for workspace in (ws_a, ws_b):
        Task.objects.bulk_create(
            Task(workspace=workspace, client_id=f"t{i}", title="t", tags=["work"], x=0, y=0)
            for i in range(3)
        )
    ids = list(Task.objects.of(ws_a).values_list("id", flat=True))
    found = reads(exact, ws_a, ids)
    assert {node["Relation Name"] for node in found} == TABLES
    unscoped = [
        (node["Relation Name"], node.get("Alias"), node["Node Type"])
        for node in found
        if "workspace_id"
        not in " ".join(node.get(key, "") for key in ("Index Cond", "Recheck Cond", "Filter"))
    ]
    assert unscoped == []
