"""Strict serializer fields: wrong JSON types are refused instead of coerced."""

import functools
import math
import re
import zoneinfo
from datetime import UTC, date, datetime, time

from django.core.validators import (
    MaxLengthValidator,
    MinLengthValidator,
    ProhibitNullCharactersValidator,
)
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings
from rest_framework.validators import ProhibitSurrogateCharactersValidator

_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")


def _control_characters(value: str) -> bool:
    return _CONTROL_CHARACTER.search(value) is not None


_SURROGATE = re.compile("[\ud800-\udfff]")
# What DRF's own string validators look for besides the length: NUL and lone surrogates.
_SUSPECT = re.compile("[\x00\ud800-\udfff]")
_DRF_STRING_CHECKS = (
    MaxLengthValidator, MinLengthValidator, ProhibitNullCharactersValidator,
    ProhibitSurrogateCharactersValidator,
)  # fmt: skip


class _SurrogateValidator(ProhibitSurrogateCharactersValidator):
    """DRF's check with its message, one regular expression instead of a Python generator over
    every character (run ~7,000 times by a sync push of 1,000 tasks)."""

    def __call__(self, value):
        found = _SURROGATE.search(str(value))
        if found:
            message = self.message.format(code_point=ord(found.group()))
            raise serializers.ValidationError(message, code=self.code)


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
        self.validators = [
            _SurrogateValidator() if type(v) is ProhibitSurrogateCharactersValidator else v
            for v in self.validators
        ]
        self._only_drf_checks = all(isinstance(v, _DRF_STRING_CHECKS) for v in self.validators)

    def run_validators(self, value):
        # A string that plainly passes DRF's own checks skips their calls (four per string, ten
        # strings per task: a fifth of a sync push's validation). Any other runs them all, for
        # their messages; so does a field with validators of its own.
        if (
            self._only_drf_checks
            and (self.max_length is None or len(value) <= self.max_length)
            and (self.min_length is None or len(value) >= self.min_length)
            and not _SUSPECT.search(value)
        ):
            return
        super().run_validators(value)

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


# Dates and times a person can mean, which Python and PostgreSQL both hold after any time-zone
# shift: year 1 with a positive offset is a BC timestamp in UTC (psycopg cannot read it back, and
# one such row broke every read of its workspace); 9999-12-31 with a negative one overflows Python.
MIN_YEAR, MAX_YEAR = 1900, 2999


def parse_timestamp(text) -> datetime:
    """An ISO 8601 datetime (no offset means UTC) within MIN_YEAR..MAX_YEAR, in UTC; ValueError
    with a sentence otherwise."""
    if not isinstance(text, str) or len(text) > 40:
        raise ValueError("must be an ISO 8601 datetime")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("must be an ISO 8601 datetime") from None
    return _bounded(value).astimezone(UTC)


def validate_year_range(value) -> None:
    """A date (or datetime) field's check: years MIN_YEAR..MAX_YEAR, like every date we store
    (a parse against 9999-12-31 overflowed at the first "the day after tomorrow")."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise serializers.ValidationError(f"Must be between the years {MIN_YEAR} and {MAX_YEAR}.")


def _bounded(value: datetime) -> datetime:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"must be between the years {MIN_YEAR} and {MAX_YEAR}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


@extend_schema_field(
    {"type": "string", "nullable": True, "description": "YYYY-MM-DD or an ISO 8601 date-time."}
)
class DueDateField(serializers.Field):
    """`YYYY-MM-DD` or an ISO 8601 datetime (naive means UTC) -> (aware datetime, has_time)."""

    default_error_messages = {
        "invalid": "Expected a date (YYYY-MM-DD) or an ISO 8601 datetime, got {value!r}.",
        "range": f"Expected a date between the years {MIN_YEAR} and {MAX_YEAR}, got {{value!r}}.",
    }

    def to_internal_value(self, data):
        if not isinstance(data, str) or len(data) > 40:
            self.fail("invalid", value=data if not isinstance(data, str) else data[:40])
        try:
            if len(data) == 10:
                day = date.fromisoformat(data)
                value, has_time = datetime.combine(day, time.min, tzinfo=UTC), False
            else:
                value, has_time = datetime.fromisoformat(data), True
        except ValueError:
            self.fail("invalid", value=data)
        try:
            return _bounded(value).astimezone(UTC), has_time
        except ValueError:
            self.fail("range", value=data)

    def to_representation(self, value):
        return value


class ParsedJSONField(serializers.JSONField):
    """Any value of a body that the JSON parser (the API's only one) produced, as it is. DRF's
    JSONField encodes each value again to check it is JSON: 1,000 sync items a push for nothing."""

    def to_internal_value(self, data):
        return data


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


def iso_datetime(value: datetime | None) -> str | None:
    """ISO 8601 with a `Z` for UTC, as DRF renders datetimes."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# Files of the zone database that are no zone name: "localtime" is this machine's own zone (a link
# PostgreSQL does not know, so the statistics failed on it), "posixrules" a default rule.
_NOT_ZONE_NAMES = frozenset({"localtime", "posixrules", "Factory"})


@functools.cache
def _time_zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - _NOT_ZONE_NAMES


class TimeZoneField(serializers.CharField):
    """An IANA time zone name ("Asia/Seoul"), as a ZoneInfo."""

    default_error_messages = {
        "unknown": "{value!r} is not a time zone name; use an IANA name such as 'Asia/Seoul' or 'UTC'."
    }

    def to_internal_value(self, data):
        name = super().to_internal_value(data)
        if name not in _time_zone_names():
            self.fail("unknown", value=name)
        return zoneinfo.ZoneInfo(name)

    def get_default(self):
        default = super().get_default()  # the name given as `default`, as a ZoneInfo too
        return zoneinfo.ZoneInfo(default) if isinstance(default, str) else default

    def to_representation(self, value):
        return getattr(value, "key", value)
