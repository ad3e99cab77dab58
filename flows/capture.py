"""POST /api/tasks/parse: free text -> tasks. A language model when one answers (Gemini, structured
output, cached like tag suggestions), else the offline rules of tasks.capture_rules; with `create`, the
tasks are stored (embedded, placed, linked) all or nothing."""

import hashlib
import json
import logging
import unicodedata
import uuid
from datetime import date

from django.conf import settings
from django.core.cache import cache
from rest_framework import serializers

from flows.services import tasks_create
from linkdo.ai import AIProvider, ProviderError, get_tag_provider
from linkdo.errors import TooLargeError, errors_text
from tags.services import tag_vocabulary, tags_named_in
from tasks import models
from tasks.capture_rules import capture_tasks
from tasks.inputs import TaskWriteSerializer
from tasks.models import Task
from tasks.selectors import category_list, link_pairs_estimate, tag_counts
from workspaces.models import Workspace

logger = logging.getLogger("linkdo.capture")

PROMPT_VOCABULARY = 200  # most used tags and categories named in the prompt
MAX_TAGS_PER_TASK = 3


class ParsedTaskSerializer(serializers.Serializer):
    """One task as the parse answers it; an LLM's answer is checked against it too."""

    title = serializers.CharField(max_length=models.MAX_TITLE_LENGTH)
    description = serializers.CharField(allow_blank=True, default="", max_length=2000)
    due_date = serializers.DateField(allow_null=True, default=None)
    category = serializers.CharField(max_length=models.MAX_CATEGORY_LENGTH, default="general")
    tags = serializers.ListField(
        child=serializers.CharField(max_length=models.MAX_TAG_LENGTH, allow_blank=True),
        max_length=10,
        default=list,
    )
    source_text = serializers.CharField(allow_blank=True, default="")


def tasks_parse(
    *, workspace: Workspace, text: str, today: date, api_key: str | None = None
) -> dict:
    """{"tasks": [{title, description, due_date, category, tags, source_text}], "source": "llm" |
    "rules"}; never raises for a provider failure (the rules answer then)."""
    text = without_format_characters(text)
    counts = tag_counts(workspace=workspace)
    vocabulary = tag_vocabulary(counts)
    categories = category_list(workspace=workspace)
    provider = get_tag_provider(api_key=api_key)
    found = _from_llm(provider, workspace, text, today, vocabulary, categories)
    if found is not None:
        return {"tasks": found, "source": "llm"}
    return {"tasks": _from_rules(text, today, vocabulary, categories), "source": "rules"}


# Invisible characters (Unicode category Cf): bidirectional overrides (U+202E turned a title around
# on screen), byte order marks, zero-width spaces (which hid a comma's word boundary, so two tasks
# came out as one). The two joiners stay: some scripts and emoji sequences are written with them.
_KEPT_FORMAT_CHARACTERS = {"\u200c", "\u200d"}


def without_format_characters(text: str) -> str:
    return "".join(
        ch for ch in text if unicodedata.category(ch) != "Cf" or ch in _KEPT_FORMAT_CHARACTERS
    )


def _from_llm(provider: AIProvider, workspace, text, today, vocabulary, categories):
    model = getattr(provider, "text_model", None)
    if model is None:
        return None
    context = [workspace.pk, model, text, today.isoformat(), vocabulary, categories]
    key = "parse-tasks:" + hashlib.sha256(json.dumps(context).encode()).hexdigest()
    if (cached := cache.get(key)) is not None:
        return cached
    try:
        answer = provider.parse_tasks(
            text,
            today=today.isoformat(),
            vocabulary=vocabulary[:PROMPT_VOCABULARY],
            categories=categories[:PROMPT_VOCABULARY],
            deadline_s=settings.LINKDO_PARSE_TIMEOUT_S,
        )
        found = _checked(answer)
    except ProviderError as exc:
        logger.warning("task parsing falls back to the rules: %s", exc)
        return None
    cache.set(key, found, settings.LINKDO_TAG_CACHE_SECONDS)
    return found


def _checked(answer: list[dict]) -> list[dict]:
    """The LLM's tasks in the answer's shape, or ProviderError when one is off the schema."""
    serializer = ParsedTaskSerializer(data=answer, many=True)
    if not serializer.is_valid():
        raise ProviderError(
            f"Gemini task answer was off the schema: {errors_text(serializer.errors)}"
        )
    return [
        {
            **item,
            # One line each, as a task's title, category and tags must be: a model's line break
            # is no reason to refuse the person's text.
            "title": _one_line(item["title"]),
            "category": _one_line(item["category"]) or "general",
            "due_date": item["due_date"] and item["due_date"].isoformat(),
            "tags": list(dict.fromkeys(filter(None, map(_one_line, item["tags"]))))[
                :MAX_TAGS_PER_TASK
            ],
        }
        for item in serializer.validated_data
        if item["title"].strip()
    ]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _from_rules(text: str, today: date, vocabulary: list[str], categories: list[str]) -> list:
    found = []
    for task in capture_tasks(text, today=today):
        named_categories = tags_named_in(task.source_text, categories)
        found.append(
            {
                "title": task.title[: models.MAX_TITLE_LENGTH],
                "description": "",
                "due_date": task.due_date and task.due_date.isoformat(),
                "category": named_categories[0] if named_categories else "general",
                "tags": tags_named_in(task.source_text, vocabulary)[:MAX_TAGS_PER_TASK],
                "source_text": task.source_text,
            }
        )
    return found


# Up to this many parsed tasks are embedded as they are stored (answered `ready`, placed by
# meaning at once); more are stored pending and embedded by the background job, as a push's are:
# an embedded new task is ranked against every tag-mate (about 7 us a pair: 625 tasks in a
# workspace of 3,600 sharing their tag took 16 s of linking), a pending one is not.
EMBED_ON_WRITE_MAX = 50


def tasks_create_parsed(
    *, workspace: Workspace, parsed: list[dict], provider: AIProvider
) -> list[Task]:
    """Store parsed tasks under server-made ids: validated like any task, embedded in one provider
    call (or, past EMBED_ON_WRITE_MAX, in the background), placed and linked; all or nothing.
    The sync push's limits hold: more than LINKDO_SYNC_MAX_ITEMS tasks, or auto-link work over
    LINKDO_SYNC_MAX_LINK_PAIRS, is a 413 and nothing is stored."""
    if len(parsed) > settings.LINKDO_SYNC_MAX_ITEMS:
        raise TooLargeError(
            f"This text holds {len(parsed)} tasks; at most {settings.LINKDO_SYNC_MAX_ITEMS} are "
            "created at once. Nothing was stored: send the text in smaller parts."
        )
    embed = len(parsed) <= EMBED_ON_WRITE_MAX
    if embed:
        _check_link_pairs(workspace, [item["tags"] for item in parsed])
    items = []
    for item in parsed:
        data = {
            "id": f"p-{uuid.uuid4().hex}",
            **{name: item[name] for name in ("title", "description", "category", "tags")},
            "due_date": item["due_date"],
        }
        serializer = TaskWriteSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        items.append(serializer.validated_data)
    return tasks_create(workspace=workspace, items=items, provider=provider, embed=embed)


def _check_link_pairs(workspace: Workspace, tag_lists: list[list[str]]) -> None:
    """Embedded new tasks are ranked against every live tag-mate: refuse, before anything is
    stored, work over LINKDO_SYNC_MAX_LINK_PAIRS (the estimate counts a pair once per shared tag)."""
    pairs = link_pairs_estimate(workspace=workspace, tag_lists=tag_lists)
    limit = settings.LINKDO_SYNC_MAX_LINK_PAIRS
    if pairs > limit:
        raise TooLargeError(
            f"These tasks would rank {pairs:,} task pairs for auto-links; the limit is "
            f"{limit:,}. Nothing was stored: send the text in smaller parts."
        )
