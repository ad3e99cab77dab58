"""What one PostgreSQL holds (docs/SCALING.md): bytes per task of every table and index, measured
on 20,000 tasks and extrapolated to 1,000,000.

The rows go into copies of the real tables (`CREATE TABLE ... (LIKE ... INCLUDING ALL)`: the same
columns, constraints and indexes, HNSW included) in a scratch schema, so that free space left in
the real tables by earlier benchmarks cannot hide in the figures. Texts are sized like a task
app's (a 20-60 character title, half the tasks with a 40-200 character description, 1-3 tags),
vectors are 768 random unit floats, and each task has the 4.1 auto edges the bounded rule left per
task in the first-sync benchmark (K = 5).
"""

import time

import numpy as np
from django.conf import settings
from django.db import connection

from bench.common import Result

TASKS = 20_000
PER = 1_000_000
EDGES_PER_TASK = 4.1
SCHEMA = "bench_scaling"
TABLES = ("tasks_task", "tasks_embedding", "graph_edge")

_TASKS_SQL = """
INSERT INTO bench_scaling.tasks_task (workspace_id, client_id, title, description, priority,
    status, category, tags, due_date, due_date_has_time, x, y, place_pending, version,
    field_versions, created_at, updated_at, completed_at, embedding_hash)
SELECT 'w' || (i %% 200), 'task-' || i, left(repeat('Call the plumber about ', 3), 20 + i %% 41),
    CASE WHEN i %% 2 = 0 THEN left(repeat('bring the invoice and ', 10), 40 + i %% 161) ELSE '' END,
    'medium', 'todo', 'category-' || (i %% 8),
    (ARRAY['tag' || (i %% 18)] || CASE WHEN i %% 3 > 0 THEN ARRAY['tag' || (i %% 7 + 18)]
        ELSE ARRAY[]::text[] END)::varchar[],
    CASE WHEN i %% 5 = 0 THEN now() END, false, (i %% 997) * 40.0, (i %% 991) * 40.0, false, i,
    '{"title": 1, "tags": 1}', now(), now(), NULL, md5(i::text) || md5(i::text)
FROM generate_series(1, %(n)s) AS i
"""

_EDGES_SQL = """
INSERT INTO bench_scaling.graph_edge (workspace_id, source_id, target_id, weight, origin, version,
    created_at, updated_at, chosen_by_source, chosen_by_target)
SELECT t.workspace_id, t.id, o.id, 0.5, 'auto', t.version, now(), now(), true, false
FROM bench_scaling.tasks_task t
JOIN LATERAL generate_series(1, 4 + (t.id % 10 = 0)::int) AS k ON true
JOIN bench_scaling.tasks_task o ON o.id = t.id + k * 200
"""


def _sizes() -> dict[str, int]:
    """Bytes of each table (heap with TOAST) and each of its indexes, in the scratch schema."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, pg_table_size(c.oid) FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = %s AND c.relkind = 'r'
            UNION ALL
            SELECT i.relname, pg_relation_size(i.oid) FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_namespace n ON n.oid = i.relnamespace WHERE n.nspname = %s
            """,
            [SCHEMA, SCHEMA],
        )
        return dict(cursor.fetchall())


def run() -> list[Result]:
    dim = settings.LINKDO_EMBEDDING_DIM
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        cursor.execute(f"CREATE SCHEMA {SCHEMA}")
        for table in TABLES:
            cursor.execute(f"CREATE TABLE {SCHEMA}.{table} (LIKE public.{table} INCLUDING ALL)")
    try:
        with connection.cursor() as cursor:
            cursor.execute(_TASKS_SQL, {"n": TASKS})
            cursor.execute(_EDGES_SQL)
            edges = cursor.rowcount
            cursor.execute(f"SELECT id, workspace_id FROM {SCHEMA}.tasks_task ORDER BY id")
            ids = cursor.fetchall()
        vectors = np.random.default_rng(7).standard_normal((len(ids), dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        started = time.perf_counter()
        with (
            connection.cursor() as cursor,
            cursor.copy(
                f"COPY {SCHEMA}.tasks_embedding (task_id, workspace_id, vector) FROM STDIN"
            ) as copy,
        ):
            for (task_id, workspace_id), vector in zip(ids, vectors, strict=True):
                copy.write_row((task_id, workspace_id, "[" + ",".join(map(str, vector)) + "]"))
        insert_s = time.perf_counter() - started
        sizes = _sizes()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    per_million = PER / TASKS
    results = []
    for name, size in sorted(sizes.items(), key=lambda item: -item[1]):
        megabytes = size * per_million / 1e6
        results.append(Result(f"per 1M tasks: {name}", megabytes, megabytes, "MB", "-", "-"))
    total = sum(sizes.values()) * per_million / 1e6
    results.append(Result("per 1M tasks: everything above", total, total, "MB", "-", "-"))
    results.append(
        Result(
            f"HNSW insert per vector ({dim} dims, m 16, ef_construction 128; {TASKS:,} rows)",
            insert_s / len(ids) * 1000,
            insert_s / len(ids) * 1000,
            "ms",
            "-",
            f"{edges / TASKS:.1f} edges per task",
        )
    )
    return results
