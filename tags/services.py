"""Tag suggestions: Gemini with the workspace's own vocabulary, or a vote among similar tasks."""

import hashlib
import json
import logging
import re
from collections import Counter

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from pgvector.django import CosineDistance

from linkdo.ai import ProviderError, get_provider, get_tag_provider
from linkdo.ai.vectors import embedding_text
from tasks.models import MAX_TAG_LENGTH, Task
from workspaces.models import Workspace

logger = logging.getLogger("linkdo.tags")

MAX_SUGGESTIONS = 5
MIN_LLM_SUGGESTIONS = 3
PROMPT_VOCABULARY = 100  # the most used tags go into the prompt when the vocabulary is large
NEIGHBOURS = 10


def tag_vocabulary(*, workspace: Workspace, limit: int = 500) -> list[str]:
    """The workspace's tags, most used first (ties alphabetical)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tag FROM tasks_task, unnest(tags) AS tag "
            "WHERE workspace_id = %s AND deleted_at IS NULL "
            "GROUP BY tag ORDER BY count(*) DESC, tag LIMIT %s",
            [workspace.pk, limit],
        )
        return [tag for (tag,) in cursor.fetchall()]


def _clean(tags: list[str]) -> list[str]:
    cleaned = (" ".join(tag.split())[:MAX_TAG_LENGTH] for tag in tags)
    return list(dict.fromkeys(tag for tag in cleaned if tag))


def _similar_tags(*, workspace: Workspace, text: str, vocabulary: list[str]) -> list[str]:
    """Vote among the tags of the most similar tasks (cosine distance) and the existing tags that
    appear in the text. Works offline; an embedding failure leaves only the text matches."""
    votes: Counter[str] = Counter()
    try:
        query = get_provider().embed([text], deadline_s=settings.LINKDO_EMBED_TIMEOUT_S)[0]
    except ProviderError as exc:
        logger.warning("similar-tag vote without embeddings: %s", exc)
        query = None
    if query is not None:
        neighbours = (
            Task.objects.filter(
                workspace=workspace, deleted_at__isnull=True, embedding__isnull=False
            )
            .annotate(distance=CosineDistance("embedding__vector", query))
            .order_by("distance")
            .values_list("tags", "distance")[:NEIGHBOURS]
        )
        for tags, distance in neighbours:
            for tag in tags:
                votes[tag] += max(0.0, 1.0 - distance)
    lowered = text.lower()
    for tag in vocabulary:
        if re.search(r"(?<!\w)" + re.escape(tag.lower()), lowered):
            votes[tag] += 1.0
    return [tag for tag, score in votes.most_common(MAX_SUGGESTIONS) if score > 0]


def _cache_key(workspace: Workspace, text: str, vocabulary: list[str], model: str) -> str:
    payload = json.dumps([workspace.pk, model, text, vocabulary], ensure_ascii=False)
    return "suggest-tags:" + hashlib.sha256(payload.encode()).hexdigest()


def tags_suggest(
    *, workspace: Workspace, title: str, description: str, api_key: str | None = None
) -> dict:
    """{"tags": [...], "source": "llm" | "similar"}; never raises for a provider failure.

    LLM answers are cached per (workspace, text, vocabulary): asking again costs no new call until
    the vocabulary changes. Similar-task votes are cheap and always fresh.
    """
    text = embedding_text(title, description, [])
    vocabulary = tag_vocabulary(workspace=workspace)
    provider = get_tag_provider(api_key=api_key)
    key = _cache_key(workspace, text, vocabulary, getattr(provider, "text_model", "none"))
    if (cached := cache.get(key)) is not None:
        return cached
    try:
        llm_tags = provider.suggest_tags(
            text, vocabulary[:PROMPT_VOCABULARY], deadline_s=settings.LINKDO_TAGS_TIMEOUT_S
        )
    except ProviderError as exc:
        logger.warning("tag suggestion falls back to similar tasks: %s", exc)
        llm_tags = None
    if llm_tags is not None and (tags := _clean(llm_tags)[:MAX_SUGGESTIONS]):
        if len(tags) < MIN_LLM_SUGGESTIONS:
            similar = _similar_tags(workspace=workspace, text=text, vocabulary=vocabulary)
            tags = _clean(tags + similar)[:MIN_LLM_SUGGESTIONS]
        result = {"tags": tags, "source": "llm"}
        cache.set(key, result, settings.LINKDO_TAG_CACHE_SECONDS)
        return result
    return {
        "tags": _similar_tags(workspace=workspace, text=text, vocabulary=vocabulary),
        "source": "similar",
    }
