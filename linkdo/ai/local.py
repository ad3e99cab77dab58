"""The offline provider: feature hashing of character n-grams and words. No network, no model files,
deterministic, fast.

Character n-grams carry meaning in English and in Korean (where a syllable block, with its particles,
already does); whole words (English stop words removed) sharpen the topic. Both are hashed into the
same `dim` buckets, so nothing needs fitting. Texts in different languages share almost no n-grams,
so this provider relates tasks written in one language, which is what a workspace usually holds.
"""

import time

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer

from linkdo.ai.base import ProviderError
from linkdo.ai.vectors import l2_normalise
from linkdo.observability import record_provider_call

VERSION = "char2-4+words-hash-v1"


class LocalProvider:
    def __init__(self, *, dim: int):
        self.dim = dim
        self.embedding_model = f"local:{VERSION}:{dim}"
        common = {"n_features": dim, "alternate_sign": True, "norm": "l2", "dtype": np.float32}
        self._chars = HashingVectorizer(analyzer="char_wb", ngram_range=(2, 4), **common)
        self._words = HashingVectorizer(analyzer="word", stop_words="english", **common)

    def embed(self, texts: list[str], *, deadline_s: float = 0) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        started = time.monotonic()
        try:
            summed = self._chars.transform(texts) + self._words.transform(texts)
        except (ValueError, UnicodeError) as exc:
            record_provider_call("local", "embed", len(texts), started, type(exc).__name__)
            raise ProviderError(f"local embedding failed: {exc}") from exc
        record_provider_call("local", "embed", len(texts), started, "ok")
        return l2_normalise(summed.toarray())

    def suggest_tags(self, text: str, vocabulary: list[str], *, deadline_s: float = 0) -> None:
        return None

    def parse_tasks(self, text: str, **context) -> None:
        return None
