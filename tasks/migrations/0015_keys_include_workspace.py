"""Every key of a tenant's table starts with its workspace (issue 35): Citus keeps a workspace's
rows on one node only if each primary key, unique constraint and foreign key of a distributed table
includes the distribution column, and the same schema must serve plain PostgreSQL.

- tasks_task, tasks_embedding, tasks_taskcount, workspaces_idempotentrequest: primary key
  (workspace_id, id) (the embedding's: (workspace_id, task_id)); Django keeps `id` as the models' key.
- The edges' and embeddings' composite foreign keys now point at the task's primary key; the unique
  (workspace_id, id) they pointed at is gone (it was the same index twice).
- Plain indexes on tasks_task(id) and tasks_embedding(task_id) serve the statements that name a row by
  id alone (graph/migrations/0006 does the edges' part).
"""

from django.db import migrations, models

FOREIGN_KEYS_DROPPED = [
    "ALTER TABLE tasks_embedding DROP CONSTRAINT embedding_task_same_workspace",
    "ALTER TABLE graph_edge DROP CONSTRAINT edge_source_same_workspace",
    "ALTER TABLE graph_edge DROP CONSTRAINT edge_target_same_workspace",
]
FOREIGN_KEYS_BEFORE = [
    "ALTER TABLE tasks_embedding ADD CONSTRAINT embedding_task_same_workspace FOREIGN KEY "
    "(workspace_id, task_id) REFERENCES tasks_task (workspace_id, id) ON DELETE CASCADE "
    "DEFERRABLE INITIALLY DEFERRED",
    "ALTER TABLE graph_edge ADD CONSTRAINT edge_source_same_workspace FOREIGN KEY "
    "(workspace_id, source_id) REFERENCES tasks_task (workspace_id, id) ON DELETE CASCADE "
    "DEFERRABLE INITIALLY DEFERRED",
    "ALTER TABLE graph_edge ADD CONSTRAINT edge_target_same_workspace FOREIGN KEY "
    "(workspace_id, target_id) REFERENCES tasks_task (workspace_id, id) ON DELETE CASCADE "
    "DEFERRABLE INITIALLY DEFERRED",
]


def _primary_key(table: str, columns: str, old: str) -> tuple[str, str]:
    forward = (
        f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey, "
        f"ADD CONSTRAINT {table}_pkey PRIMARY KEY ({columns})"
    )
    backward = (
        f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey, "
        f"ADD CONSTRAINT {table}_pkey PRIMARY KEY ({old})"
    )
    return forward, backward


KEYS = [
    _primary_key("tasks_task", "workspace_id, id", "id"),
    _primary_key("tasks_embedding", "workspace_id, task_id", "task_id"),
    _primary_key("tasks_taskcount", "workspace_id, id", "id"),
    _primary_key("workspaces_idempotentrequest", "workspace_id, id", "id"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0014_recurrence"),
        ("graph", "0005_workspace_index_dropped"),
        ("workspaces", "0007_workspace_secret"),
    ]

    operations = [
        migrations.RunSQL(FOREIGN_KEYS_DROPPED, reverse_sql=FOREIGN_KEYS_BEFORE),
        migrations.RemoveConstraint(model_name="task", name="task_workspace_id_unique"),
        migrations.RunSQL(
            [forward for forward, _ in KEYS] + [FOREIGN_KEYS_BEFORE[0]],
            reverse_sql=[FOREIGN_KEYS_DROPPED[0]] + [backward for _, backward in reversed(KEYS)],
        ),
        migrations.AddIndex(model_name="task", index=models.Index(fields=["id"], name="task_id")),
        migrations.AddIndex(
            model_name="embedding", index=models.Index(fields=["task"], name="embedding_task")
        ),
    ]
