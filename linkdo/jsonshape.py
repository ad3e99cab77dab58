"""Tiny helpers shared by the JSON shapers of every app."""

from datetime import datetime


def iso_datetime(value: datetime | None) -> str | None:
    """ISO 8601 with a `Z` for UTC, as DRF renders datetimes."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
