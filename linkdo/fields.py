"""Strict serializer fields: wrong JSON types are refused instead of coerced."""

import math
import re
from datetime import UTC, date, datetime, time

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings

_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")


def _control_characters(value: str) -> bool:
    return _CONTROL_CHARACTER.search(value) is not None


class StrictCharField(serializers.CharField):
    """A string and nothing else (DRF would turn 12 into "12"); NUL bytes and lone surrogates refused
    by DRF's own validators; `single_line` also refuses control characters (ids, tags, titles)."""

    default_error_messages = {
        "not_a_string": "Expected a string but got {type}.",
        "control": "This field must not contain control characters such as newlines or tabs.",
    }

    def __init__(self, *, single_line: bool = False, **kwargs):
        self.single_line = single_line
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string", type=type(data).__name__)
        value = super().to_internal_value(data)
        if self.single_line and _control_characters(value):
            self.fail("control")
        return value


class FiniteFloatField(serializers.FloatField):
    """A JSON number (not a string, not a boolean), finite, within the given bounds."""

    default_error_messages = {
        "not_a_number": "Expected a number but got {type}.",
        "not_finite": "Expected a finite number.",
    }

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("not_a_number", type=type(data).__name__)
        if isinstance(data, float) and not math.isfinite(data):
            self.fail("not_finite")
        return super().to_internal_value(data)


@extend_schema_field(
    {"type": "string", "nullable": True, "description": "YYYY-MM-DD or an ISO 8601 date-time."}
)
class DueDateField(serializers.Field):
    """`YYYY-MM-DD` or an ISO 8601 datetime (naive means UTC) -> (aware datetime, has_time)."""

    default_error_messages = {
        "invalid": "Expected a date (YYYY-MM-DD) or an ISO 8601 datetime, got {value!r}.",
    }

    def to_internal_value(self, data):
        if not isinstance(data, str) or len(data) > 40:
            self.fail("invalid", value=data if not isinstance(data, str) else data[:40])
        try:
            if len(data) == 10:
                return datetime.combine(date.fromisoformat(data), time.min, tzinfo=UTC), False
            value = datetime.fromisoformat(data)
        except ValueError:
            self.fail("invalid", value=data)
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC), True

    def to_representation(self, value):
        return value


class RejectUnknownFieldsMixin:
    """Refuse keys the serializer does not know, except the read-only ones clients echo back."""

    echoed_fields: frozenset[str] = frozenset()

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields) - self.echoed_fields)
            if unknown:
                allowed = ", ".join(sorted(self.fields))
                message = f"Unknown field(s): {', '.join(unknown)}. Allowed fields: {allowed}."
                raise serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [message]})
        return super().to_internal_value(data)
