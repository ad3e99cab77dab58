"""What a client may send as a task: the one validation of a task's fields, shared by REST, sync
push, import and capture (the HTTP layer and the flows both use it)."""

from rest_framework import serializers

from linkdo.fields import (
    DueDateField,
    FiniteFloatField,
    RejectUnknownFieldsMixin,
    StrictCharField,
    TimeZoneField,
)
from tasks import models
from tasks.models import Priority, Status
from tasks.recurrence import RecurrenceError, recurrence_normalised

# Paths under /api/tasks/ that are not task ids.
RESERVED_TASK_IDS = frozenset({"sync", "parse"})


def _validate_task_id(value: str) -> str:
    if "/" in value:
        raise serializers.ValidationError("A task id must not contain '/'.")
    if value in RESERVED_TASK_IDS:
        raise serializers.ValidationError(f"{value!r} is reserved and cannot be a task id.")
    return value


def normalise_tags(tags: list[str]) -> list[str]:
    """Trimmed (by the field), blanks dropped, duplicates removed, first spelling and order kept."""
    return list(dict.fromkeys(tag for tag in tags if tag))


class TaskWriteSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """Validates a task body; `partial=True` for PATCH/PUT. Output is shaped by tasks.selectors."""

    echoed_fields = frozenset(
        {
            "workspace_id",
            "created_at",
            "updated_at",
            "completed_at",
            "embedding",
            "embedding_status",
            "embedding_error",
            "cluster",
        }
    )

    id = StrictCharField(
        max_length=models.MAX_ID_LENGTH, single_line=True, validators=[_validate_task_id]
    )
    title = StrictCharField(max_length=models.MAX_TITLE_LENGTH, single_line=True)
    description = StrictCharField(
        max_length=models.MAX_DESCRIPTION_LENGTH,
        allow_blank=True,
        trim_whitespace=False,
        required=False,
    )
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    category = StrictCharField(
        max_length=models.MAX_CATEGORY_LENGTH, single_line=True, required=False
    )
    tags = serializers.ListField(
        child=StrictCharField(max_length=models.MAX_TAG_LENGTH, single_line=True, allow_blank=True),
        max_length=models.MAX_TAGS,
        required=False,
    )
    due_date = DueDateField(allow_null=True, required=False)
    due_timezone = TimeZoneField(
        allow_null=True,
        required=False,
        help_text="The IANA zone the due time is read in (a recurring task's next occurrence falls "
        "at the same wall-clock time there); null: UTC.",
    )
    recurrence = StrictCharField(  # its length is checked by recurrence_normalised
        single_line=True,
        allow_null=True,
        allow_blank=True,
        required=False,
        help_text="An RFC 5545 RRULE such as FREQ=WEEKLY;BYDAY=MO; completing the task creates "
        "the next occurrence. Null or empty: the task does not recur.",
    )
    x = FiniteFloatField(
        min_value=-models.MAX_COORDINATE, max_value=models.MAX_COORDINATE, required=False
    )
    y = FiniteFloatField(
        min_value=-models.MAX_COORDINATE, max_value=models.MAX_COORDINATE, required=False
    )

    def validate_tags(self, value):
        return normalise_tags(value)

    def validate_due_timezone(self, value):
        return None if value is None else value.key

    def validate_recurrence(self, value):
        if not value:
            return None
        try:
            return recurrence_normalised(value)
        except RecurrenceError as exc:
            raise serializers.ValidationError(str(exc)) from None
