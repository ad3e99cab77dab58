"""Tag suggestions: Gemini with the workspace's own vocabulary, or a vote among similar tasks."""

import hashlib
import json
import logging
import re
from collections import Counter

from django.conf import settings
from django.core.cache import cache

from linkdo.ai import ProviderError, get_provider, get_tag_provider
from linkdo.ai.vectors import embedding_text
from tasks.models import MAX_TAG_LENGTH
from tasks.selectors import tag_counts, task_list, tasks_nearest
from workspaces.models import Workspace

logger = logging.getLogger("linkdo.tags")

MAX_SUGGESTIONS = 5
MIN_LLM_SUGGESTIONS = 3
PROMPT_VOCABULARY = 100  # the most used tags go into the prompt when the vocabulary is large
NEIGHBOURS = 10
# Offline support rules, chosen on tests/tags/labelled_tasks.py (precision@3 0.29 -> see
# docs/PERFORMANCE.md): a neighbour counts from this cosine similarity (the local provider's
# unrelated texts score below it), a tag needs this share of the neighbours' weighted votes, and
# this many times its share of the workspace.
MIN_SIMILARITY = 0.2
MIN_SHARE = 0.4
MIN_LIFT = 2.0


def _tag_counts_and_live(workspace: Workspace) -> tuple[dict[str, int], int]:
    """How many live tasks carry each tag, and how many live tasks there are (at least 1)."""
    live = task_list(workspace=workspace).count()
    return tag_counts(workspace=workspace), max(live, 1)


def tag_vocabulary(counts: dict[str, int], limit: int = 500) -> list[str]:
    """The workspace's tags (from their counts), most used first (ties alphabetical)."""
    return sorted(counts, key=lambda tag: (-counts[tag], tag))[:limit]


def tags_named_in(text: str, vocabulary: list[str]) -> list[str]:
    """The tags of `vocabulary` that the text names (at a word start, any case), in its order."""
    lowered = text.lower()
    return [tag for tag in vocabulary if re.search(r"(?<!\w)" + re.escape(tag.lower()), lowered)]


def _clean(tags: list[str]) -> list[str]:
    cleaned = (" ".join(tag.split())[:MAX_TAG_LENGTH] for tag in tags)
    return list(dict.fromkeys(tag for tag in cleaned if tag))


def _similar_tags(
    *, workspace: Workspace, text: str, counts: dict[str, int], live: int
) -> list[str]:
    """Tags with real support, offline: the workspace's tags named in the text, then the tags
    carried by the text's close neighbours (cosine similarity at least MIN_SIMILARITY) that hold at
    least MIN_SHARE of those neighbours' similarity-weighted votes and at least MIN_LIFT times the
    tag's share of the whole workspace (a tag on every third task is no evidence). Fewer than five,
    or none, when unsure: the old vote always named five, mostly the workspace's commonest tags.
    An embedding failure leaves only the tags named in the text."""
    named = tags_named_in(text, tag_vocabulary(counts))
    try:
        query = get_provider().embed([text], deadline_s=settings.LINKDO_EMBED_TIMEOUT_S)[0]
    except ProviderError as exc:
        logger.warning("similar-tag vote without embeddings: %s", exc)
        return named[:MAX_SUGGESTIONS]
    neighbours = [
        (tags, 1.0 - distance)
        for tags, distance in tasks_nearest(
            task_list(workspace=workspace), query, limit=NEIGHBOURS, fields=("tags",)
        )
        if 1.0 - distance >= MIN_SIMILARITY
    ]
    weight = sum(similarity for _, similarity in neighbours)
    votes: Counter[str] = Counter()
    for tags, similarity in neighbours:
        for tag in tags:
            votes[tag] += similarity
    supported = [
        tag
        for tag, vote in votes.most_common()
        if vote >= MIN_SHARE * weight and vote / weight >= MIN_LIFT * counts.get(tag, 0) / live
    ]
    return list(dict.fromkeys(named + supported))[:MAX_SUGGESTIONS]


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
    counts, live = _tag_counts_and_live(workspace)
    vocabulary = tag_vocabulary(counts)
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
            similar = _similar_tags(workspace=workspace, text=text, counts=counts, live=live)
            tags = _clean(tags + similar)[:MIN_LLM_SUGGESTIONS]
        result = {"tags": tags, "source": "llm"}
        cache.set(key, result, settings.LINKDO_TAG_CACHE_SECONDS)
        return result
    return {
        "tags": _similar_tags(workspace=workspace, text=text, counts=counts, live=live),
        "source": "similar",
    }
