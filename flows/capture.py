"""POST /api/tasks/parse: free text -> tasks. A language model when one answers (Gemini, structured
output, cached like tag suggestions), else the offline rules of tasks.capture_rules; with `create`, the
tasks are stored (embedded, placed, linked) all or nothing."""

import hashlib
import json
import logging
import unicodedata
import uuid
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from rest_framework import serializers

from flows.services import tasks_create
from linkdo.ai import AIProvider, ProviderError, get_tag_provider
from linkdo.errors import TooLargeError, errors_text
from linkdo.fields import iso_datetime, validate_year_range
from tags.services import tag_vocabulary, tags_named_in
from tasks import models
from tasks.capture_rules import capture_tasks, phrases_in
from tasks.inputs import TaskWriteSerializer
from tasks.models import Priority, Task
from tasks.recurrence import RecurrenceError, recurrence_normalised
from tasks.selectors import category_list, link_pairs_estimate, tag_counts
from workspaces.models import Workspace

logger = logging.getLogger("linkdo.capture")

PROMPT_VOCABULARY = 200  # most used tags and categories named in the prompt
MAX_TAGS_PER_TASK = 3


class ParsedTaskSerializer(serializers.Serializer):
    """One task as the language model answers it (linkdo.ai.gemini.PARSE_SCHEMA); checked before
    it becomes a draft."""

    title = serializers.CharField(max_length=models.MAX_TITLE_LENGTH)
    description = serializers.CharField(allow_blank=True, default="", max_length=2000)
    due_date = serializers.DateField(
        allow_null=True, default=None, validators=[validate_year_range]
    )
    due_time = serializers.RegexField(
        r"^([01]?\d|2[0-3]):[0-5]\d$", allow_null=True, required=False, default=None
    )
    recurrence = serializers.CharField(allow_null=True, allow_blank=True, default=None)
    priority = serializers.ChoiceField(choices=Priority.choices, allow_null=True, default=None)
    category = serializers.CharField(max_length=models.MAX_CATEGORY_LENGTH, default="general")
    tags = serializers.ListField(
        child=serializers.CharField(max_length=models.MAX_TAG_LENGTH, allow_blank=True),
        max_length=10,
        default=list,
    )
    source_text = serializers.CharField(allow_blank=True, default="")

    def validate_recurrence(self, value):
        try:
            return recurrence_normalised(value) if value else None
        except RecurrenceError as exc:
            raise serializers.ValidationError(str(exc)) from None


def tasks_parse(
    *,
    workspace: Workspace,
    text: str,
    today: date,
    zone: ZoneInfo | None = None,
    api_key: str | None = None,
) -> dict:
    """{"tasks": [draft], "source": "llm" | "rules"}, a draft being {title, description, due_date,
    due_timezone, recurrence, priority, category, tags, source_text, matches}; a time makes
    due_date a UTC date-time read in `zone`. Never raises for a provider failure (the rules
    answer then)."""
    zone = zone or ZoneInfo("UTC")
    text = without_format_characters(text)
    counts = tag_counts(workspace=workspace)
    vocabulary = tag_vocabulary(counts)
    categories = category_list(workspace=workspace)
    provider = get_tag_provider(api_key=api_key)
    found = _from_llm(provider, workspace, text, today, zone, vocabulary, categories)
    if found is not None:
        return {"tasks": found, "source": "llm"}
    return {"tasks": _from_rules(text, today, zone, vocabulary, categories), "source": "rules"}


# Invisible characters (Unicode category Cf): bidirectional overrides (U+202E turned a title around
# on screen), byte order marks, zero-width spaces (which hid a comma's word boundary, so two tasks
# came out as one). The two joiners stay: some scripts and emoji sequences are written with them.
_KEPT_FORMAT_CHARACTERS = {"\u200c", "\u200d"}


def without_format_characters(text: str) -> str:
    return "".join(
        ch for ch in text if unicodedata.category(ch) != "Cf" or ch in _KEPT_FORMAT_CHARACTERS
    )


def _from_llm(provider: AIProvider, workspace, text, today, zone, vocabulary, categories):
    model = getattr(provider, "text_model", None)
    if model is None:
        return None
    context = [workspace.pk, model, text, today.isoformat(), zone.key, vocabulary, categories]
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
        found = _checked(answer, text, zone)
    except ProviderError as exc:
        logger.warning("task parsing falls back to the rules: %s", exc)
        return None
    cache.set(key, found, settings.LINKDO_TAG_CACHE_SECONDS)
    return found


def _checked(answer: list[dict], text: str, zone: ZoneInfo) -> list[dict]:
    """The LLM's tasks as drafts, or ProviderError when one is off the schema. Its `matches` are
    the phrases the rules read in the task's source text (a model gives no offsets)."""
    serializer = ParsedTaskSerializer(data=answer, many=True)
    if not serializer.is_valid():
        raise ProviderError(
            f"Gemini task answer was off the schema: {errors_text(serializer.errors)}"
        )
    drafts = []
    for item in serializer.validated_data:
        if not item["title"].strip():
            continue
        hour_minute = item["due_time"] and time.fromisoformat(item["due_time"].zfill(5))
        drafts.append(
            _draft(
                # One line each, as a task's title, category and tags must be: a model's line
                # break is no reason to refuse the person's text.
                title=_one_line(item["title"]),
                description=item["description"],
                due=item["due_date"],
                due_time=hour_minute,
                zone=zone,
                recurrence=item["recurrence"],
                priority=item["priority"],
                category=_one_line(item["category"]) or "general",
                tags=list(dict.fromkeys(filter(None, map(_one_line, item["tags"]))))[
                    :MAX_TAGS_PER_TASK
                ],
                source_text=item["source_text"],
                matches=phrases_in(text, item["source_text"]),
            )
        )
    return drafts


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _draft(*, due: date | None, due_time: time | None, zone: ZoneInfo, **fields) -> dict:
    """A draft in the answer's key order; with a time, due_date is the UTC date-time of that wall
    clock time in `zone`, and due_timezone names the zone."""
    if due is not None and due_time is not None:
        moment = datetime.combine(due, due_time, zone).astimezone(UTC)
        due_text, due_zone = iso_datetime(moment), zone.key
    else:
        due_text, due_zone = due and due.isoformat(), None
    return {
        "title": fields["title"][: models.MAX_TITLE_LENGTH],
        "description": fields["description"],
        "due_date": due_text,
        "due_timezone": due_zone,
        "recurrence": fields["recurrence"],
        "priority": fields["priority"],
        "category": fields["category"],
        "tags": fields["tags"],
        "source_text": fields["source_text"],
        "matches": fields["matches"],
    }


def _from_rules(text: str, today: date, zone, vocabulary: list[str], categories: list[str]):
    found = []
    for task in capture_tasks(text, today=today):
        named_categories = tags_named_in(task.source_text, categories)
        named_tags = tags_named_in(task.source_text, vocabulary)
        tags = list(dict.fromkeys([*task.tags, *named_tags]))
        found.append(
            _draft(
                title=task.title,
                description="",
                due=task.due_date,
                due_time=task.due_time,
                zone=zone,
                recurrence=task.recurrence,
                priority=task.priority,
                category=task.category or (named_categories[0] if named_categories else "general"),
                tags=tags[: max(MAX_TAGS_PER_TASK, len(task.tags))],
                source_text=task.source_text,
                matches=task.matches,
            )
        )
    return found


# Up to this many parsed tasks are embedded as they are stored (answered `ready`, placed by
# meaning at once); more are stored pending and embedded by the background job, as a push's are:
# an embedded new task is ranked against every tag-mate (about 7 us a pair: 625 tasks in a
# workspace of 3,600 sharing their tag took 16 s of linking), a pending one is not.
EMBED_ON_WRITE_MAX = 50


# The draft's fields a created task takes (a draft without a marker leaves the default priority).
_STORED = ("title", "description", "category", "tags", "priority", "recurrence", "due_timezone")


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
            **{name: item[name] for name in _STORED if item.get(name) is not None},
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
