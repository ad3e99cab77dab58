"""The edges' part of tasks/migrations/0015: primary key (workspace_id, id), one edge per pair of
tasks within a workspace (the pair's unique key starts with the workspace), the composite foreign
keys to the task's new primary key, and a plain index on id."""

import importlib

import django.db.models.functions.comparison
from django.db import migrations, models

tasks_keys = importlib.import_module("tasks.migrations.0015_keys_include_workspace")

PRIMARY_KEY = (
    "ALTER TABLE graph_edge DROP CONSTRAINT graph_edge_pkey, "
    "ADD CONSTRAINT graph_edge_pkey PRIMARY KEY (workspace_id, id)"
)
PRIMARY_KEY_BEFORE = (
    "ALTER TABLE graph_edge DROP CONSTRAINT graph_edge_pkey, "
    "ADD CONSTRAINT graph_edge_pkey PRIMARY KEY (id)"
)


class Migration(migrations.Migration):
    dependencies = [
        ("graph", "0005_workspace_index_dropped"),
        ("tasks", "0015_keys_include_workspace"),
    ]

    operations = [
        migrations.RunSQL(
            [PRIMARY_KEY, *tasks_keys.FOREIGN_KEYS_BEFORE[1:]],
            reverse_sql=[*tasks_keys.FOREIGN_KEYS_DROPPED[1:], PRIMARY_KEY_BEFORE],
        ),
        migrations.RemoveConstraint(model_name="edge", name="edge_unique_pair"),
        migrations.AddConstraint(
            model_name="edge",
            constraint=models.UniqueConstraint(
                models.F("workspace"),
                django.db.models.functions.comparison.Least("source", "target"),
                django.db.models.functions.comparison.Greatest("source", "target"),
                name="edge_unique_pair",
            ),
        ),
        migrations.AddIndex(model_name="edge", index=models.Index(fields=["id"], name="edge_id")),
    ]
