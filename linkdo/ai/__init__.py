"""The AI provider layer: `get_provider()` returns the configured provider, built once per process."""

import functools

from django.conf import settings

from linkdo.ai.base import AIProvider, ProviderError
from linkdo.ai.local import LocalProvider

__all__ = ["AIProvider", "ProviderError", "get_provider", "get_tag_provider", "reset_providers"]


@functools.cache
def _local(dim: int) -> LocalProvider:
    return LocalProvider(dim=dim)


@functools.lru_cache(maxsize=16)
def _gemini(
    api_key: str,
    dim: int,
    embedding_model: str,
    text_model: str,
    base_url: str,
    max_retries: int,
):
    from linkdo.ai.gemini import GeminiProvider

    return GeminiProvider(
        api_key=api_key,
        dim=dim,
        embedding_model=embedding_model,
        text_model=text_model,
        base_url=base_url,
        max_retries=max_retries,
    )


def _gemini_with(api_key: str):
    return _gemini(
        api_key,
        settings.LINKDO_EMBEDDING_DIM,
        settings.GEMINI_EMBEDDING_MODEL,
        settings.GEMINI_TEXT_MODEL,
        settings.GEMINI_BASE_URL,
        settings.LINKDO_AI_MAX_RETRIES,
    )


def get_provider(*, api_key: str | None = None) -> AIProvider:
    """The embedding provider of this deployment. A caller's own Gemini key (X-Gemini-API-Key)
    replaces the server's key when the deployment uses Gemini; it never switches a local deployment
    to Gemini, because a workspace's vectors must all come from one model."""
    if settings.LINKDO_AI_PROVIDER == "gemini":
        return _gemini_with(api_key or settings.GEMINI_API_KEY)
    return _local(settings.LINKDO_EMBEDDING_DIM)


def get_tag_provider(*, api_key: str | None = None) -> AIProvider:
    """The provider for tag suggestions: the caller's own key may use Gemini even on a local deployment."""
    if api_key and settings.LINKDO_AI_PROVIDER != "gemini":
        return _gemini_with(api_key)
    return get_provider(api_key=api_key)


def reset_providers() -> None:
    """Forget built clients (tests change settings between cases)."""
    _local.cache_clear()
    _gemini.cache_clear()
