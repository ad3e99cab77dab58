"""The statistics counters' triggers (0011), rewritten so that Citus can run them: on a distributed
table they fire on each shard, where a query that reads a transition table and writes the
distributed tasks_taskcount fails ("executor could not find named tuplestore new_rows": Citus plans
the write as a distributed INSERT ... SELECT away from the tuplestore). Each function now first
reads the transition tables into one jsonb value (a local query), then writes the counters from
that value. The triggers stay statement-level, so a push of 1,000 tasks still updates each counter
once (row-level ones cost a first sync of 5,000 tasks 33 % more: measured, docs/SCALING.md).
"""

from django.db import migrations

# The changed rows' part of the counts, aggregated per key: +1 for new rows, -1 for old ones.
_PARTS = """
SELECT workspace_id, 'category' AS kind, category AS key, {sign} AS n,
       {sign} * (status = 'done')::int AS d
FROM {rows} WHERE deleted_at IS NULL
UNION ALL
SELECT workspace_id, 'tag', tag, {sign}, {sign} * (status = 'done')::int
FROM {rows}, unnest(tags) AS tag WHERE deleted_at IS NULL
"""
_COLLECT = """
SELECT jsonb_agg(p), array_agg(DISTINCT p.workspace_id) INTO parts, workspaces FROM (
    SELECT workspace_id, kind, key, sum(n) AS n, sum(d) AS d FROM ({parts}) x
    GROUP BY workspace_id, kind, key HAVING sum(n) <> 0 OR sum(d) <> 0
) p;
IF parts IS NULL THEN RETURN NULL; END IF;
"""
_WRITE = """
INSERT INTO tasks_taskcount (workspace_id, kind, key, total, done)
SELECT p.workspace_id, p.kind, p.key, p.n, p.d
FROM jsonb_to_recordset(parts) AS p(workspace_id varchar, kind varchar, key varchar, n int, d int)
ON CONFLICT (workspace_id, kind, key) DO UPDATE
SET total = tasks_taskcount.total + EXCLUDED.total, done = tasks_taskcount.done + EXCLUDED.done;
"""
# Keys no live task carries any more go: a tag removed everywhere leaves no row behind.
_EMPTIED = """
DELETE FROM tasks_taskcount
WHERE workspace_id = ANY(workspaces) AND total = 0 AND done = 0;
"""
# Most updates (positions, versions, embeddings, an arrange of 10,000 rows) touch nothing counted.
_UNCHANGED = """
IF NOT EXISTS (
    SELECT id, workspace_id, status, category, tags, deleted_at IS NULL FROM new_rows
    EXCEPT
    SELECT id, workspace_id, status, category, tags, deleted_at IS NULL FROM old_rows
) THEN RETURN NULL; END IF;
"""


def _function(name: str, body: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"DECLARE parts jsonb; workspaces varchar[]; BEGIN {body} RETURN NULL; END $$"
    )


_ADDED = _COLLECT.format(parts=_PARTS.format(sign=1, rows="new_rows")) + _WRITE
_REMOVED = _COLLECT.format(parts=_PARTS.format(sign=-1, rows="old_rows")) + _WRITE + _EMPTIED
_CHANGED = (
    _UNCHANGED
    + _COLLECT.format(
        parts=_PARTS.format(sign=1, rows="new_rows")
        + " UNION ALL "
        + _PARTS.format(sign=-1, rows="old_rows")
    )
    + _WRITE
    + _EMPTIED
)

FORWARD = [
    _function("tasks_count_inserted", _ADDED),
    _function("tasks_count_deleted", _REMOVED),
    _function("tasks_count_updated", _CHANGED),
]


def _before():
    import importlib

    before = importlib.import_module("tasks.migrations.0011_task_counts")
    return [statement.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
            for statement in before.FORWARD[:3]]  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0015_keys_include_workspace"),
        ("graph", "0006_keys_include_workspace"),
    ]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=_before())]
