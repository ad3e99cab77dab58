"""Pure numeric helpers for embeddings (no Django imports)."""

import hashlib

import numpy as np


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero); float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def embedding_text(title: str, description: str, tags: list[str]) -> str:
    """The text a task is embedded from: title, description and tags joined by spaces (as before)."""
    return " ".join([title, description, " ".join(tags)])


def embedding_hash(model: str, text: str) -> str:
    """Identifies the (model, text) a stored vector was computed from: equal hash, no new call."""
    return hashlib.sha256(f"{model}\n{text}".encode()).hexdigest()
