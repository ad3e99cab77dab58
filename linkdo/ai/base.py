"""What every AI provider offers (embeddings, tag suggestions, tasks from free text) and the one
error they raise."""

from typing import Protocol

import numpy as np


class ProviderError(Exception):
    """The provider failed, timed out or answered nonsense; callers degrade, they never crash.
    `retry_after`: the seconds the provider asked to wait before the next call, when it said.
    `rejected`: the provider refused the input itself (HTTP 400, INVALID_ARGUMENT): asking again
    with the same texts fails again, so the caller narrows the batch down instead of retrying."""

    def __init__(self, message: str, *, retry_after: float | None = None, rejected: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.rejected = rejected


class AIProvider(Protocol):
    """One small interface for embeddings and tag suggestions."""

    #: Identifies the embedding model and dimension; part of every stored embedding's hash.
    embedding_model: str

    def embed(self, texts: list[str], *, deadline_s: float) -> np.ndarray:
        """(len(texts), dim) float32, L2-normalised. Raises ProviderError."""
        ...

    def suggest_tags(
        self, text: str, vocabulary: list[str], *, deadline_s: float
    ) -> list[str] | None:
        """Tags from a language model, or None when this provider has none. Raises ProviderError."""
        ...

    def parse_tasks(
        self,
        text: str,
        *,
        today: str,
        vocabulary: list[str],
        categories: list[str],
        deadline_s: float,
    ) -> list[dict] | None:
        """Tasks found in free text by a language model ({title, description, due_date, category,
        tags, source_text}, checked against PARSE_SCHEMA), or None when this provider has none.
        Raises ProviderError."""
        ...
