"""On a Citus coordinator, distribute the tenant's tables by workspace, co-located: each
workspace's workspace row, tasks, embeddings, edges, counts and idempotency answers live on one
node, and a statement filtered by one workspace runs there whole. The job queue (procrastinate),
the cache and rate counters, and Django's own tables stay local on the coordinator.

On plain PostgreSQL (no `citus` extension) it does nothing. The counters' triggers (0016) need
`citus.enable_unsafe_triggers` while the tables are distributed (set here) and on the cluster:
Citus then runs them on each shard. The application needs LINKDO_CITUS=true (workspaces.changes).
"""

from django.db import migrations

WORKSPACE_TABLE = "workspaces_workspace"
CO_LOCATED = ["tasks_task", "tasks_embedding", "graph_edge", "tasks_taskcount",
              "workspaces_idempotentrequest"]  # fmt: skip


def _on_citus(cursor) -> bool:
    cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")
    return cursor.fetchone()[0]


def _distributed(cursor) -> set[str]:
    cursor.execute("SELECT logicalrelid::regclass::text FROM pg_dist_partition")
    return {name for (name,) in cursor.fetchall()}


def distribute(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        if not _on_citus(cursor):
            return
        cursor.execute("SET citus.enable_unsafe_triggers = on")
        done = _distributed(cursor)
        if WORKSPACE_TABLE not in done:
            cursor.execute("SELECT create_distributed_table(%s, 'id')", [WORKSPACE_TABLE])
        for table in CO_LOCATED:
            if table not in done:
                cursor.execute(
                    "SELECT create_distributed_table(%s, 'workspace_id', colocate_with => %s)",
                    [table, WORKSPACE_TABLE],
                )


def undistribute(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        if not _on_citus(cursor):
            return
        done = _distributed(cursor)
        for table in [*reversed(CO_LOCATED), WORKSPACE_TABLE]:
            if table in done:
                cursor.execute("SELECT undistribute_table(%s, cascade_via_foreign_keys => true)",
                               [table])  # fmt: skip


class Migration(migrations.Migration):
    atomic = False  # create_distributed_table copies the rows to the shards in its own steps

    dependencies = [
        ("tasks", "0016_task_counts_for_citus"),
        ("graph", "0006_keys_include_workspace"),
        ("workspaces", "0007_workspace_secret"),
    ]

    operations = [migrations.RunPython(distribute, undistribute, elidable=False)]
