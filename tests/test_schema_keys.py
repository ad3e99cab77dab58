"""Every key of a tenant's table starts with its workspace (issue 35): what Citus needs to keep a
workspace's rows on one node, checked on the migrated schema here (plain PostgreSQL serves the same
schema)."""

import pytest
from django.db import connection

from graph.models import Edge
from tasks.models import Embedding, Task, TaskCount
from workspaces.models import IdempotentRequest

TENANT_TABLES = [m._meta.db_table for m in (Task, Embedding, Edge, TaskCount, IdempotentRequest)]


@pytest.mark.django_db
def test_every_primary_key_unique_key_and_foreign_key_of_a_tenant_table_names_the_workspace():
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.conrelid::regclass::text, c.conname, c.contype,
                   array(SELECT a.attname FROM pg_attribute a
                         WHERE a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey))
            FROM pg_constraint c
            WHERE c.contype IN ('p', 'u', 'f') AND c.conrelid::regclass::text = ANY(%s)
            """,
            [TENANT_TABLES],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            """
            SELECT indrelid::regclass::text, indexrelid::regclass::text, pg_get_indexdef(indexrelid)
            FROM pg_index WHERE indisunique AND indrelid::regclass::text = ANY(%s)
            """,
            [TENANT_TABLES],
        )
        unique_indexes = cursor.fetchall()
    assert {table for table, *_ in constraints} == set(TENANT_TABLES)
    primary = {table: columns for table, _, kind, columns in constraints if kind == "p"}
    assert set(primary) == set(TENANT_TABLES)
    for table, name, kind, columns in constraints:
        assert "workspace_id" in columns, (table, name, kind, columns)
    for table, name, definition in unique_indexes:
        assert "(workspace_id" in definition, (table, name, definition)
    assert sorted(primary["tasks_task"]) == ["id", "workspace_id"]
    assert sorted(primary["tasks_embedding"]) == ["task_id", "workspace_id"]
    assert sorted(primary["graph_edge"]) == ["id", "workspace_id"]
