"""Parse PostgreSQL's binary COPY output of (int8 id, vector embedding) rows straight into numpy.

With no NULLs and one dimension, every row has the same size, so the whole stream is one structured
array: no per-row Python. Text-format reads are several times slower.
"""

import numpy as np

HEADER = b"PGCOPY\n\xff\r\n\x00"
HEADER_SIZE = len(HEADER) + 4 + 4  # signature, flags, header extension length


def row_dtype(dim: int) -> np.dtype:
    return np.dtype(
        [
            ("fields", ">i2"),
            ("id_len", ">i4"),
            ("id", ">i8"),
            ("vec_len", ">i4"),
            ("dim", ">i2"),
            ("unused", ">i2"),
            ("values", ">f4", (dim,)),
        ]
    )


def parse_id_vectors(buffer: bytes, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(ids int64, vectors float32 (n, dim)) from a binary COPY of `SELECT id, embedding`."""
    if not buffer.startswith(HEADER):
        raise ValueError("not a PostgreSQL binary COPY stream")
    extension = int.from_bytes(buffer[len(HEADER) + 4 : HEADER_SIZE], "big")
    body = memoryview(buffer)[HEADER_SIZE + extension : len(buffer) - 2]  # trailer: int16 -1
    dtype = row_dtype(dim)
    if len(body) % dtype.itemsize:
        raise ValueError("binary COPY rows do not match the expected vector dimension")
    rows = np.frombuffer(body, dtype=dtype)
    if len(rows) and ((rows["fields"] != 2).any() or (rows["dim"] != dim).any()):
        raise ValueError("binary COPY rows do not match the expected vector dimension")
    return rows["id"].astype(np.int64), rows["values"].astype(np.float32)


def encode_id_vectors(ids: np.ndarray, vectors: np.ndarray) -> bytes:
    """The binary COPY stream of (int8 id, vector) rows: the inverse of parse_id_vectors."""
    dim = vectors.shape[1]
    rows = np.zeros(len(ids), dtype=row_dtype(dim))
    rows["fields"], rows["id_len"], rows["id"] = 2, 8, ids
    rows["vec_len"], rows["dim"], rows["values"] = 4 + 4 * dim, dim, vectors
    return HEADER + b"\x00" * 8 + rows.tobytes() + b"\xff\xff"


def encode_positions(ids: np.ndarray, coords: np.ndarray, clusters: np.ndarray) -> bytes:
    """The binary COPY stream of (int8 id, float8 x, float8 y, int2 cluster) rows."""
    dtype = np.dtype(
        [("fields", ">i2"), ("id_len", ">i4"), ("id", ">i8"), ("x_len", ">i4"), ("x", ">f8"),
         ("y_len", ">i4"), ("y", ">f8"), ("cluster_len", ">i4"), ("cluster", ">i2")]
    )  # fmt: skip
    rows = np.zeros(len(ids), dtype=dtype)
    rows["fields"], rows["id_len"], rows["id"] = 4, 8, ids
    rows["x_len"], rows["x"], rows["y_len"], rows["y"] = 8, coords[:, 0], 8, coords[:, 1]
    rows["cluster_len"], rows["cluster"] = 2, clusters
    return HEADER + b"\x00" * 8 + rows.tobytes() + b"\xff\xff"
