"""Big benchmark workspaces, written with set-based SQL and binary COPY (the ORM would take minutes)."""

import numpy as np
from django.db import connection

from linkdo.pgbinary import encode_id_vectors


def clustered_vectors(
    n: int, dim: int, *, topics: int = 200, latent: int = 24, seed: int = 0
) -> np.ndarray:
    """Unit vectors shaped like text embeddings: low intrinsic dimension (topics and subtopics in a
    small latent space, rotated into `dim`) plus a little isotropic noise. Pure isotropic noise would
    make every distance nearly equal, which no real embedding model does."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((topics, latent))
    points = centres[rng.integers(0, topics, n)] + 0.35 * rng.standard_normal((n, latent))
    rotation, _ = np.linalg.qr(rng.standard_normal((dim, latent)))
    vectors = points @ rotation.T + 0.01 * rng.standard_normal((n, dim))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32)


def create_embedded_workspace(workspace_id: str, vectors: np.ndarray) -> np.ndarray:
    """A workspace with one task per vector (tagged by a few words); returns the task ids in order."""
    n = len(vectors)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO workspaces_workspace (id) VALUES (%s)", [workspace_id])
        cursor.execute(
            """
            INSERT INTO tasks_task (workspace_id, client_id, title, description, priority, status,
                                    category, tags, due_date_has_time, embedding_hash, x, y,
                                    created_at, updated_at)
            SELECT %s, 'task-' || i, 'Task ' || i, '', 'medium', 'todo', 'general',
                   ARRAY['tag' || (i %% 300)], false, 'bench', 0, 0, now(), now()
            FROM generate_series(1, %s) AS i
            """,
            [workspace_id, n],
        )
        cursor.execute(
            "SELECT id FROM tasks_task WHERE workspace_id = %s ORDER BY id", [workspace_id]
        )
        ids = np.array([row[0] for row in cursor.fetchall()], dtype=np.int64)
        cursor.execute("CREATE TEMP TABLE bench_vectors (id int8, embedding vector) ON COMMIT DROP")
    raw = connection.connection
    with (
        raw.cursor() as cursor,
        cursor.copy("COPY bench_vectors FROM STDIN (FORMAT BINARY)") as copy,
    ):
        payload = encode_id_vectors(ids, vectors)
        for start in range(0, len(payload), 1 << 24):
            copy.write(payload[start : start + (1 << 24)])
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tasks_embedding (task_id, workspace_id, vector) "
            "SELECT id, %s, embedding FROM bench_vectors",
            [workspace_id],
        )
        cursor.execute("DROP TABLE bench_vectors")
        cursor.execute("ANALYZE tasks_task")
        cursor.execute("ANALYZE tasks_embedding")
    return ids
